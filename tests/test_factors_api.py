"""load_factors() and Factors.with_rows(): overriding and extending the tables."""

from __future__ import annotations

import polars as pl
import pytest

import fleetcarbon as fc


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
