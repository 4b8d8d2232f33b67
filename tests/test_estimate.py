"""Per-job estimate: hand-computed cases, schema of the output, edge cases."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl
import pytest

import fleetcarbon as fc
from fleetcarbon.reference import estimate_python
from fleetcarbon.schema import OUTPUT_COLUMNS, RESULT_COLUMNS


def one(factors, **job):
    row = {"job_id": 1, "duration_h": 10.0, "region": "FR", **job}
    frame = pl.DataFrame({k: [v] for k, v in row.items()})
    return fc.estimate(frame, factors).row(0, named=True)


def test_modelled_gpu_job_by_hand(factors):
    r = one(factors, accelerator="gpu-a", accelerator_count=8)
    it = 8 * (700 * 0.8 + 150) * 10 / 1000  # 56.8 kWh
    assert r["power_basis"] == "modelled"
    assert r["it_energy_kwh"] == pytest.approx(it, rel=1e-12)
    assert r["facility_energy_kwh"] == pytest.approx(it * 1.5, rel=1e-12)  # FR -> generic PUE 1.5
    assert r["operational_kgco2e"] == pytest.approx(it * 1.5 * 0.05, rel=1e-12)
    assert r["operational_market_kgco2e"] == pytest.approx(it * 1.5 * 0.05, rel=1e-12)
    hw = 8 * 800 * 10 / (4 * 8760)
    assert r["embodied_hardware_kgco2e"] == pytest.approx(hw, rel=1e-12)
    assert r["embodied_facility_kgco2e"] == pytest.approx(hw * 0.15, rel=1e-12)
    assert r["embodied_kgco2e"] == pytest.approx(hw * 1.15, rel=1e-12)
    assert r["total_kgco2e"] == pytest.approx(it * 1.5 * 0.05 + hw * 1.15, rel=1e-12)


def test_cpu_only_job_by_hand(factors):
    r = one(factors, cpu="cpu-x", cpu_cores=32, memory_gb=128.0)
    assert r["it_energy_kwh"] == pytest.approx((32 * 5 + 128 * 0.375) * 10 / 1000, rel=1e-12)
    hw = (32 * 12 + 128 * 0.5) * 10 / (4 * 8760)
    assert r["embodied_hardware_kgco2e"] == pytest.approx(hw, rel=1e-12)


def test_cpu_only_defaults_to_generic_cpu(factors):
    r = one(factors, cpu_cores=4)
    assert r["it_energy_kwh"] == pytest.approx(4 * 10 * 10 / 1000, rel=1e-12)


def test_power_basis_precedence(factors):
    frame = pl.DataFrame(
        {
            "job_id": [1, 2, 3],
            "duration_h": [2.0] * 3,
            "region": ["FR"] * 3,
            "accelerator": ["gpu-b"] * 3,
            "accelerator_count": [4] * 3,
            "energy_kwh": [5.0, None, None],
            "avg_power_w": [999.0, 250.0, None],
        }
    )
    out = fc.estimate(frame, factors)
    assert out["power_basis"].cast(pl.String).to_list() == ["metered", "measured", "modelled"]
    assert out["it_energy_kwh"].to_list() == pytest.approx(
        [5.0, 250 * 4 * 2 / 1000, 4 * (300 * 0.8 + 60) * 2 / 1000], rel=1e-12
    )


def test_measured_power_for_cpu_only_job_is_per_job(factors):
    r = one(factors, cpu_cores=8, avg_power_w=200.0)
    assert r["it_energy_kwh"] == pytest.approx(200 * 10 / 1000, rel=1e-12)


def test_market_based_defaults_to_location_and_reads_table(factors):
    east = one(factors, region="cloud:east", accelerator="gpu-a", accelerator_count=1)
    assert east["operational_market_kgco2e"] == 0.0
    assert east["operational_kgco2e"] > 0
    assert east["facility_energy_kwh"] == pytest.approx(east["it_energy_kwh"] * 1.1)  # hyper
    over = one(factors, accelerator="gpu-a", accelerator_count=1, grid_kgco2e_per_kwh=0.3)
    assert over["operational_market_kgco2e"] == pytest.approx(over["operational_kgco2e"])
    mk = one(factors, accelerator="gpu-a", accelerator_count=1, market_kgco2e_per_kwh=0.01)
    assert mk["operational_market_kgco2e"] == pytest.approx(mk["facility_energy_kwh"] * 0.01)


def test_datacenter_gives_region_and_pue(factors):
    r = one(factors, region=None, datacenter="site-pl", accelerator="gpu-a", accelerator_count=1)
    assert r["facility_energy_kwh"] == pytest.approx(r["it_energy_kwh"] * 1.3)
    assert r["operational_kgco2e"] == pytest.approx(r["facility_energy_kwh"] * 0.7)
    assert r["embodied_facility_kgco2e"] == pytest.approx(r["embodied_hardware_kgco2e"] * 0.2)


def test_explicit_region_wins_over_datacenter_region(factors):
    r = one(factors, region="FR", datacenter="site-pl", accelerator="gpu-a", accelerator_count=1)
    assert r["operational_kgco2e"] == pytest.approx(r["facility_energy_kwh"] * 0.05)


def test_every_override_applies(factors):
    base = dict(accelerator="gpu-a", accelerator_count=2, cpu_cores=0)
    r = one(
        factors,
        **base,
        tdp_w=100.0,
        host_power_w=0.0,
        power_fraction=1.0,
        pue=1.0,
        grid_kgco2e_per_kwh=1.0,
        accelerator_embodied_kgco2e=876.0,
        lifetime_years=1.0,
        use_rate=0.5,
        facility_embodied_fraction=0.0,
    )
    assert r["it_energy_kwh"] == pytest.approx(2.0)
    assert r["operational_kgco2e"] == pytest.approx(2.0)
    assert r["embodied_hardware_kgco2e"] == pytest.approx(2 * 876 * 10 / (8760 * 0.5))
    assert r["embodied_facility_kgco2e"] == 0.0


def test_gpu_without_key_but_with_full_overrides(factors):
    r = one(
        factors,
        accelerator_count=1,
        tdp_w=400.0,
        host_power_w=0.0,
        accelerator_embodied_kgco2e=100.0,
    )
    assert r["it_energy_kwh"] == pytest.approx(400 * 0.8 * 10 / 1000)


def test_output_appends_columns_and_keeps_order_and_passthrough(factors):
    frame = pl.DataFrame(
        {
            "team": ["b", "a", "c"],
            "job_id": ["x", "y", "z"],
            "duration_h": [1.0, 2.0, 3.0],
            "accelerator": ["gpu-a", "gpu-b", "gpu-a"],
            "accelerator_count": [1, 2, 4],
            "region": ["FR", "PL", "FR"],
        }
    )
    out = fc.estimate(frame, factors)
    assert out.columns == [*frame.columns, *OUTPUT_COLUMNS]
    assert out.select(frame.columns).equals(frame)
    assert out["power_basis"].dtype == pl.Enum(["metered", "measured", "modelled"])


def test_results_carry_the_factors_version(factors):
    frame = pl.DataFrame({"job_id": [1, 2], "duration_h": [1.0, 2.0], "region": ["FR", "PL"]})
    out = fc.estimate(frame.with_columns(cpu_cores=pl.lit(2)), factors)
    assert out["factors_version"].cast(pl.String).to_list() == ["test", "test"]
    assert fc.summarize(out)["factors_version"].item() == "test"
    bundled = fc.estimate(fc.synthetic_fleet(10, seed=1))
    assert bundled["factors_version"].cast(pl.String).unique().to_list() == [
        fc.load_factors().version
    ]
    custom = factors.with_rows(datacenters=pl.DataFrame({"key": ["hyper"], "pue": [1.2]}))
    mixed = pl.concat([out, fc.estimate(out.select([*frame.columns, "cpu_cores"]), custom)])
    assert fc.summarize(mixed)["factors_version"].item() == "test, test+user"


def test_input_frame_is_not_modified(factors):
    frame = pl.DataFrame({"job_id": [1], "duration_h": [1.0], "region": ["FR"], "cpu_cores": [2]})
    before = frame.clone()
    fc.estimate(frame, factors)
    assert frame.equals(before)


def test_rerunning_replaces_previous_outputs(factors):
    frame = pl.DataFrame({"job_id": [1], "duration_h": [1.0], "region": ["FR"], "cpu_cores": [2]})
    first = fc.estimate(frame, factors)
    again = fc.estimate(first.with_columns(pue=pl.lit(1.0)), factors)
    assert again.columns == [*frame.columns, "pue", *OUTPUT_COLUMNS]
    assert again["facility_energy_kwh"][0] == pytest.approx(again["it_energy_kwh"][0])


def test_lazyframe_input(factors):
    frame = pl.DataFrame({"job_id": [1], "duration_h": [1.0], "region": ["FR"], "cpu_cores": [2]})
    assert fc.estimate(frame.lazy(), factors).equals(fc.estimate(frame, factors))


def test_empty_frame_gives_empty_result(factors):
    frame = pl.DataFrame(
        schema={
            "job_id": pl.Int64,
            "duration_h": pl.Float64,
            "region": pl.String,
            "cpu_cores": pl.Int64,
        }
    )
    out = fc.estimate(frame, factors)
    assert out.height == 0
    assert out.columns == [*frame.columns, *OUTPUT_COLUMNS]


def test_start_end_give_duration_with_time_zones(factors):
    t0 = datetime(2025, 3, 30, 0, 0, tzinfo=timezone.utc)
    frame = pl.DataFrame(
        {
            "job_id": [1, 2],
            "start": [t0, t0],
            "end": [t0 + timedelta(hours=5), t0 + timedelta(minutes=90)],
            "region": ["FR", "FR"],
            "accelerator": ["gpu-b", "gpu-b"],
            "accelerator_count": [1, 1],
        }
    ).with_columns(pl.col("start", "end").dt.convert_time_zone("Europe/Paris"))
    out = fc.estimate(frame, factors)
    per_hour = (300 * 0.8 + 60) / 1000
    assert out["it_energy_kwh"].to_list() == pytest.approx([5 * per_hour, 1.5 * per_hour])


def test_duration_h_wins_over_start_end_where_given(factors):
    t0 = datetime(2025, 1, 1)
    frame = pl.DataFrame(
        {
            "job_id": [1, 2],
            "start": [t0, t0],
            "end": [t0 + timedelta(hours=5)] * 2,
            "duration_h": [1.0, None],
            "region": ["FR", "FR"],
            "cpu_cores": [10, 10],
        }
    )
    out = fc.estimate(frame, factors)
    assert out["it_energy_kwh"].to_list() == pytest.approx([0.1, 0.5])


def test_categorical_and_enum_keys(factors):
    frame = pl.DataFrame(
        {
            "job_id": [1, 2],
            "duration_h": [1.0, 2.0],
            "region": ["FR", "PL"],
            "accelerator": ["gpu-a", "gpu-b"],
            "accelerator_count": [1, 1],
        }
    )
    expected = fc.estimate(frame, factors)
    cat = frame.with_columns(pl.col("region").cast(pl.Categorical))
    enum = frame.with_columns(pl.col("accelerator").cast(pl.Enum(["gpu-b", "gpu-a", "unused"])))
    for variant in (cat, enum):
        got = fc.estimate(variant, factors)
        assert got["total_kgco2e"].to_list() == expected["total_kgco2e"].to_list()


def test_thread_count_does_not_change_results():
    jobs = fc.synthetic_fleet(50_000, seed=3)
    one_thread = fc.estimate(jobs, threads=1)
    two_threads = fc.estimate(jobs, threads=2)
    assert one_thread.equals(two_threads)


def test_row_order_does_not_change_per_job_results():
    jobs = fc.synthetic_fleet(20_000, seed=4)
    out = fc.estimate(jobs)
    shuffled = fc.estimate(jobs.sample(fraction=1.0, shuffle=True, seed=1)).sort("job_id")
    assert shuffled.equals(out.sort("job_id"))


def test_bundled_factors_cover_the_synthetic_fleet_and_agree_with_reference():
    jobs = fc.synthetic_fleet(3_000, seed=11)
    out = fc.estimate(jobs)
    ref = estimate_python(jobs)
    for c in RESULT_COLUMNS:
        np.testing.assert_allclose(out[c].to_numpy(), ref[c].to_numpy(), rtol=1e-9, atol=0)
    assert all(math.isfinite(v) for v in out["total_kgco2e"])
    assert out["total_kgco2e"].min() >= 0


def test_output_carries_the_hours_derived_from_start_and_end():
    t0 = datetime(2025, 3, 1, tzinfo=timezone.utc)
    jobs = pl.DataFrame(
        {
            "job_id": [1, 2],
            "start": [t0, t0],
            "end": [t0 + timedelta(hours=2, minutes=15), t0],
            "region": ["FR", "FR"],
            "cpu_cores": [4, 4],
        }
    )
    out = fc.estimate(jobs)
    assert out.columns.index("duration_h") == len(jobs.columns)
    assert out["duration_h"].to_list() == [2.25, 0.0]
    assert fc.estimate(jobs.clear())["duration_h"].dtype == pl.Float64
    # A given duration_h is the input's own column, not repeated.
    given = jobs.with_columns(duration_h=pl.Series([1.0, None]))
    assert fc.estimate(given).columns.count("duration_h") == 1
    assert fc.estimate(given)["duration_h"].to_list() == [1.0, None]
