"""Property tests of simulate(): invariants that hold for any fleet and seed."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from conftest import make_factors
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_properties import job_frames

import fleetcarbon as fc
from fleetcarbon.quantiles import quantiles as core_quantiles
from fleetcarbon.simulate import METRICS
from fleetcarbon.uncertainty import Normal, Pert, Triangular

pytestmark = pytest.mark.filterwarnings("ignore::fleetcarbon.errors.AbsurdValueWarning")

#: Tables without bounds: every factor row is Fixed, so each draw is the estimate.
FIXED = make_factors()
#: The same tables with a spread on every factor a job can use.
UNCERTAIN = {
    "pue": Pert(1.0, 1.3, 2.0),
    "grid_kgco2e_per_kwh": Pert(0.0, 0.3, 1.2),
    "tdp_w": Triangular(100.0, 400.0, 900.0),
    "accelerator_embodied_kgco2e": Pert(100.0, 600.0, 2000.0),
    "lifetime_years": Pert(2.0, 4.0, 7.0),
}
NOISE = {"power_fraction": Triangular(0.3, 0.7, 1.0), "energy_kwh": Normal(1.0, 0.05)}
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
seeds = st.integers(0, 2**64 - 1)


def labelled(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(team=pl.col("job_id") % 3)


@SETTINGS
@given(job_frames(max_size=25), seeds)
def test_fixed_factors_give_the_estimate_in_every_draw(frame, seed):
    jobs = labelled(frame)
    result = fc.simulate_detailed(jobs, FIXED, draws=5, seed=seed, by="team", per_job=True)
    summary = result.summary
    for m in METRICS:
        # A draw of fixed factors is the estimate: the draws' mean is the group sum.
        np.testing.assert_allclose(summary[f"{m}_mean"], summary[m], rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(summary[f"{m}_p50"], summary[m], rtol=1e-12, atol=1e-300)
    # Per job, the same equations: every quantile is the job's estimate, bit for bit.
    per_job = result.per_job
    for q in ("p05", "p50", "p95"):
        assert per_job[f"total_kgco2e_{q}"].to_list() == per_job["total_kgco2e"].to_list()


@SETTINGS
@given(job_frames(max_size=25), seeds, st.randoms(use_true_random=False))
def test_row_order_and_per_job_output_change_no_bit(frame, seed, rng):
    jobs = labelled(frame)
    options = {"draws": 40, "seed": seed, "by": "team", "distributions": UNCERTAIN}
    base = fc.simulate(jobs, FIXED, **options, noise=NOISE)
    order = list(range(jobs.height))
    rng.shuffle(order)
    shuffled = fc.simulate(jobs[order], FIXED, **options, noise=NOISE)
    assert shuffled.equals(base)
    detailed = fc.simulate_detailed(jobs, FIXED, **options, noise=NOISE, per_job=True)
    assert detailed.summary.equals(base)


@SETTINGS
@given(job_frames(max_size=25), seeds)
def test_shards_add_up_and_quantiles_are_ordered(frame, seed):
    jobs = labelled(frame)
    options = {"draws": 60, "seed": seed, "distributions": UNCERTAIN, "noise": NOISE}
    whole = fc.simulate_detailed(jobs, FIXED, **options, return_draws=True)
    parts = [jobs.filter(pl.col("job_id") % 2 == k) for k in (0, 1)]
    sums = np.zeros(60)
    for part in parts:
        if part.height:
            sums += (
                fc.simulate_detailed(part, FIXED, **options, return_draws=True)
                .draws["total_kgco2e"]
                .to_numpy()
            )
    total = whole.draws["total_kgco2e"].to_numpy()
    np.testing.assert_allclose(sums, total, rtol=1e-12, atol=1e-300)
    row = whole.summary.row(0, named=True)
    assert row["total_kgco2e_p05"] <= row["total_kgco2e_p50"] <= row["total_kgco2e_p95"]
    assert total.min() <= row["total_kgco2e_p05"] and row["total_kgco2e_p95"] <= total.max()
    assert row["total_kgco2e_p50"] == core_quantiles(total, [0.5])[0]


@SETTINGS
@given(job_frames(max_size=15), seeds, st.integers(2, 40), st.integers(1, 40))
def test_extending_a_run_keeps_its_draws(frame, seed, first, more):
    jobs = labelled(frame)
    options = {"seed": seed, "distributions": UNCERTAIN, "noise": NOISE}
    short = fc.simulate_detailed(jobs, FIXED, draws=first, **options, return_draws=True).draws
    long = fc.simulate_detailed(jobs, FIXED, draws=first + more, **options, return_draws=True)
    assert long.draws.head(first).equals(short)
