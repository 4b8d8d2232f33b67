"""load_factors() and Factors.with_rows(): overriding and extending the tables."""

from __future__ import annotations

import polars as pl
import pytest

import fleetcarbon as fc
from fleetcarbon.errors import MissingColumnError


def test_load_factors_returns_cited_tables():
    f = fc.load_factors()
    assert f.version and "+" not in f.version
    for name in ("accelerators", "cpus", "regions", "datacenters"):
        table = f.table(name)
        assert table.height > 0
        assert {"key", "licence"} <= set(table.columns)
    assert f.accelerators.filter(key="nvidia-h100-sxm5-80gb")["tdp_w"].item() == 700.0
    history = f.table("grid_history")
    assert set(history["key"].unique()) <= set(f.regions["key"])
    latest = history.sort("year").group_by("key").last().join(f.regions, on="key")
    assert (latest["grid_kgco2e_per_kwh"] == latest["grid_kgco2e_per_kwh_right"]).all()
    assert f.regions.filter(key="CA-MB").height == 1


def test_with_rows_adds_and_updates(factors):
    new = factors.with_rows(
        accelerators=pl.DataFrame(
            {
                "key": ["gpu-new"],
                "tdp_w": [1000.0],
                "host_power_w": [200.0],
                "embodied_kgco2e": [900.0],
            }
        ),
        datacenters=pl.DataFrame({"key": ["hyper"], "pue": [1.05]}),
        defaults=pl.DataFrame({"parameter": ["lifetime_years"], "value": [6.0]}),
    )
    assert new.version == "test+user"
    assert factors.accelerators.height + 1 == new.accelerators.height
    hyper = new.datacenters.filter(key="hyper").row(0, named=True)
    assert hyper["pue"] == 1.05
    assert hyper["facility_embodied_fraction"] == 0.1, "columns not given keep their old value"
    job = pl.DataFrame(
        {
            "job_id": [1],
            "duration_h": [1.0],
            "region": ["cloud:east"],
            "accelerator": ["gpu-new"],
            "accelerator_count": [1],
        }
    )
    row = fc.estimate(job, new).row(0, named=True)
    assert row["it_energy_kwh"] == pytest.approx((1000 * 0.8 + 200) / 1000)
    assert row["facility_energy_kwh"] == pytest.approx(row["it_energy_kwh"] * 1.05)
    assert row["embodied_hardware_kgco2e"] == pytest.approx(900 / (6 * 8760))
    # The original is untouched.
    assert factors.datacenters.filter(key="hyper")["pue"].item() == 1.1


def test_unknown_table_name(factors):
    with pytest.raises(fc.errors.SchemaError):
        factors.table("gpus")
    with pytest.raises(fc.errors.SchemaError, match="no 'grid_history'"):
        factors.table("grid_history")


@pytest.mark.parametrize(
    ("table", "row", "named"),
    [
        ("accelerators", {"key": ["acme-x1"], "tdp_w": [350.0]}, "no 'host_power_w' column"),
        (
            "accelerators",
            {
                "key": ["a", "b"],
                "tdp_w": [1.0, 2.0],
                "host_power_w": [1.0, None],
                "embodied_kgco2e": [1.0, 2.0],
            },
            "1 new accelerators row(s) ('b') have a null 'host_power_w'",
        ),
        ("cpus", {"key": ["old-xeon"], "core_power_w": [12.0]}, "'core_embodied_kgco2e'"),
        ("datacenters", {"key": ["my-dc"], "pue": [1.2]}, "'facility_embodied_fraction'"),
        ("regions", {"key": ["XX"], "grid_kgco2e_per_kwh": [0.3]}, "'default_datacenter'"),
    ],
)
def test_an_incomplete_new_row_names_what_a_row_needs(table, row, named):
    with pytest.raises(MissingColumnError) as info:
        fc.load_factors().with_rows(**{table: pl.DataFrame(row)})
    message = str(info.value)
    assert named in message and "a new " + table + " row needs key" in message
    assert "Adding your own rows" in message


def test_an_update_of_an_existing_row_needs_only_its_changes():
    factors = fc.load_factors()
    row = factors.datacenters.filter(pl.col("key") == "generic")
    pue = row["pue"].item()
    updated = factors.with_rows(datacenters=pl.DataFrame({"key": ["generic"], "pue": [pue]}))
    assert updated.datacenters.height == factors.datacenters.height


def test_keys_match_ignoring_case_and_padding():
    # /proc/cpuinfo pads model names; sacct exports and CSVs keep the padding.
    padded = ["Intel(R) Xeon(R) CPU           X5650  @ 2.67GHz ", "  GENERIC", "generic"]
    jobs = pl.DataFrame(
        {
            "job_id": [1, 2, 3],
            "duration_h": [1.0] * 3,
            "region": ["FR"] * 3,
            "cpu": padded,
            "cpu_cores": [4] * 3,
        }
    )
    out = fc.estimate(jobs)["it_energy_kwh"].to_list()
    exact = fc.estimate(jobs.with_columns(cpu=pl.Series(["intel-xeon-x5650", None, None])))
    assert out == exact["it_energy_kwh"].to_list()
