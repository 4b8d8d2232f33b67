"""Hardware refresh: keep the old accelerators or replace them (fleetcarbon.refresh)."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import polars as pl
import pytest

import fleetcarbon as fc
from fleetcarbon.errors import FleetcarbonError, ParameterError
from fleetcarbon.uncertainty import Fixed

A100, H100 = "nvidia-a100-sxm4-80gb", "nvidia-h100-sxm5-80gb"
FACTORS = fc.load_factors()
T0 = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
JOBS = pl.DataFrame(
    {
        "job_id": list(range(1, 13)),
        "start": [T0 + dt.timedelta(days=30 * i) for i in range(12)],
        "duration_h": [200.0] * 12,
        "accelerator": [A100] * 12,
        "accelerator_count": [8] * 12,
        "region": ["DE"] * 12,
    }
).with_columns(end=pl.col("start") + pl.duration(hours=pl.col("duration_h")))


def certain() -> dict:
    """Every factor these jobs use, fixed at its table value: no uncertainty."""
    row = lambda table, key: FACTORS.table(table).filter(pl.col("key") == key).row(0, named=True)  # noqa: E731
    out: dict = {}
    for key in (A100, H100):
        r = row("accelerators", key)
        out[("tdp_w", key)] = Fixed(r["tdp_w"])
        out[("host_power_w", key)] = Fixed(r["host_power_w"])
        out[("accelerator_embodied_kgco2e", key)] = Fixed(r["embodied_kgco2e"])
    out[("grid_kgco2e_per_kwh", "DE")] = Fixed(row("regions", "DE")["grid_kgco2e_per_kwh"])
    generic = row("datacenters", "generic")
    out["pue"] = Fixed(generic["pue"])
    out["facility_embodied_fraction"] = Fixed(generic["facility_embodied_fraction"])
    for p, v in zip(FACTORS.defaults["parameter"], FACTORS.defaults["value"], strict=True):
        out[p] = Fixed(v)
    return out


def run(**options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fc.refresh(JOBS, old=A100, new=H100, **options)


def test_without_uncertainty_the_break_even_is_the_closed_form() -> None:
    r = run(
        count=16,
        speedup=2.5,
        years=1.0,
        draws=50,
        seed=1,
        distributions=certain(),
        horizon_years=30,
    )
    s = r.summary.row(0, named=True)
    keep = fc.estimate(JOBS)["operational_kgco2e"].sum()
    replaced = JOBS.with_columns(accelerator=pl.lit(H100), duration_h=pl.col("duration_h") / 2.5)
    new = fc.estimate(replaced.drop("end"))["operational_kgco2e"].sum()
    embodied = 16 * FACTORS.accelerators.filter(pl.col("key") == H100)["embodied_kgco2e"][0]
    assert s["operational_keep_kgco2e_per_year"] == pytest.approx(keep, rel=1e-12)
    assert s["operational_replace_kgco2e_per_year"] == pytest.approx(new, rel=1e-12)
    assert s["embodied_new_kgco2e"] == pytest.approx(embodied, rel=1e-12)
    closed = embodied / (keep - new)
    assert s["break_even_years"] == pytest.approx(closed, rel=1e-12)
    # Every draw is the same: the quantiles are the closed form too.
    for q in ("p05", "p50", "p95"):
        assert s[f"break_even_years_{q}"] == pytest.approx(closed, rel=1e-9)
    assert s["p_break_even_within_lifetime"] == float(closed <= s["lifetime_years"])
    curve = r.curve
    assert closed < curve["years"].max()
    at = np.interp(closed, curve["years"], curve["replace_minus_keep_kgco2e"])
    assert abs(at) < 1e-6 * embodied
    assert curve["replace_kgco2e"][0] == pytest.approx(embodied)
    assert curve["keep_kgco2e"][0] == 0.0


def test_the_span_of_the_jobs_is_the_default_period_and_no_saving_never_pays_back() -> None:
    r = run(count=16, speedup=2.5, draws=50, seed=1)
    span_h = (JOBS["end"].max() - JOBS["start"].min()).total_seconds() / 3600
    assert r.summary["years_of_work"][0] == pytest.approx(span_h / 8760)
    slow = run(count=16, speedup=0.5, years=1.0, draws=50, seed=1, distributions=certain())
    assert slow.summary["break_even_years"][0] == float("inf")
    assert slow.summary["p_break_even_within_lifetime"][0] == 0.0


def test_uncertainty_gives_a_probability_between_0_and_1() -> None:
    r = run(count=16, speedup=2.5, years=1.0, draws=400, seed=3)
    s = r.summary.row(0, named=True)
    assert s["break_even_years_p05"] < s["break_even_years_p50"] < s["break_even_years_p95"]
    assert 0.0 <= s["p_break_even_within_lifetime"] <= 1.0
    again = run(count=16, speedup=2.5, years=1.0, draws=400, seed=3)
    assert again.summary.equals(r.summary)


def test_bad_arguments() -> None:
    with pytest.raises(ParameterError, match="count"):
        run(count=0, years=1.0)
    with pytest.raises(ParameterError, match="not a key"):
        fc.refresh(JOBS, old=A100, new="nope", count=1, years=1.0)
    with pytest.raises(FleetcarbonError, match="no job runs"):
        fc.refresh(JOBS, old=H100, new=A100, count=1, years=1.0)
    with pytest.raises(ParameterError, match="years"):
        fc.refresh(JOBS.drop("start", "end"), old=A100, new=H100, count=1)
