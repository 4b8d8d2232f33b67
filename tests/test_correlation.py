"""Rank correlation between factors (Gaussian copula): realized correlations,
unchanged marginals, reproducibility, and errors."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

import fleetcarbon as fc
from fleetcarbon.correlation import CorrelationError, copula_arguments
from fleetcarbon.errors import FleetcarbonError
from fleetcarbon.uncertainty import (
    Empirical,
    Fixed,
    LogNormal,
    Triangular,
    TruncatedNormal,
    Uniform,
)

REGIONS = ["FR", "PL", "DE", "US-CA", "IN", "BR"]
# Only grid intensity and accelerator embodied carbon vary, so each job's
# operational or embodied carbon is a fixed multiple of one factor row.
FIXED = {
    "pue": Fixed(1.5),
    "lifetime_years": Fixed(4.0),
    "use_rate": Fixed(1.0),
    "facility_embodied_fraction": Fixed(0.15),
}


def region_jobs() -> pl.DataFrame:
    """One metered 1 kWh job per region: its operational carbon is 1.5 × that grid."""
    n = len(REGIONS)
    return pl.DataFrame(
        {
            "job_id": list(range(n)),
            "region": REGIONS,
            "datacenter": ["generic"] * n,
            "duration_h": [1.0] * n,
            "energy_kwh": [1.0] * n,
        }
    )


def gpu_job() -> pl.DataFrame:
    """One H100 job: its embodied carbon is a fixed multiple of the H100 row."""
    return pl.DataFrame(
        {
            "job_id": [100],
            "region": ["FR"],
            "datacenter": ["generic"],
            "duration_h": [10.0],
            "energy_kwh": [5.0],
            "accelerator": ["nvidia-h100-sxm5-80gb"],
            "accelerator_count": [8],
        }
    )


def job_draws(
    jobs: pl.DataFrame, metric: str, correlation, *, draws=20_000, seed=3, distributions=None
):
    """``draws × jobs`` matrix of one metric, columns in job order."""
    out = fc.simulate_detailed(
        jobs,
        draws=draws,
        by="job_id",
        seed=seed,
        return_draws=True,
        distributions={**FIXED, **(distributions or {})},
        correlation=correlation,
    ).draws
    wide = out.pivot(on="job_id", index="draw", values=metric).sort("draw")
    return wide.select([str(j) for j in jobs["job_id"]]).to_numpy()


def spearman(x: np.ndarray) -> np.ndarray:
    """Spearman rank correlation matrix of the columns of ``x``."""
    ranks = np.argsort(np.argsort(x, axis=0), axis=0)
    return np.corrcoef(ranks.T)


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    both = np.sort(np.concatenate([a, b]))
    cdf_a = np.searchsorted(np.sort(a), both, side="right") / len(a)
    cdf_b = np.searchsorted(np.sort(b), both, side="right") / len(b)
    return float(np.abs(cdf_a - cdf_b).max())


def off_diagonal(m: np.ndarray) -> np.ndarray:
    return m[~np.eye(len(m), dtype=bool)]


def test_rows_of_one_factor_get_the_requested_rank_correlation():
    jobs = region_jobs()
    independent = spearman(job_draws(jobs, "operational_kgco2e", None))
    assert np.abs(off_diagonal(independent)).max() < 0.03
    for rho in (0.3, 0.8):
        tied = spearman(job_draws(jobs, "operational_kgco2e", {"grid_kgco2e_per_kwh": rho}))
        # Sample Spearman of 20,000 draws has a standard error below 0.007.
        np.testing.assert_allclose(off_diagonal(tied), rho, atol=0.025)


def test_marginals_and_means_are_unchanged():
    jobs = region_jobs()
    plain = job_draws(jobs, "operational_kgco2e", None, seed=4)
    tied = job_draws(jobs, "operational_kgco2e", {"grid_kgco2e_per_kwh": 0.8}, seed=5)
    crit = 1.949 * math.sqrt(2 / len(plain))  # two-sample KS, alpha = 0.001
    for k in range(len(REGIONS)):
        assert ks_statistic(plain[:, k], tied[:, k]) < crit, REGIONS[k]
        se = math.sqrt((plain[:, k].var() + tied[:, k].var()) / len(plain))
        assert abs(plain[:, k].mean() - tied[:, k].mean()) < 4 * se


def test_correlation_widens_the_fleet_interval_as_theory_says():
    jobs = region_jobs()
    plain = job_draws(jobs, "operational_kgco2e", None)
    tied = job_draws(jobs, "operational_kgco2e", {"grid_kgco2e_per_kwh": 0.8})
    # var(sum) = sum of variances + the covariances, which correlation makes
    # positive: the fleet's spread grows although every job's spread is unchanged.
    np.testing.assert_allclose(tied.var(axis=0), plain.var(axis=0), rtol=0.05)
    assert tied.sum(axis=1).var() > 2.0 * plain.sum(axis=1).var()


def test_pairs_of_factors_correlate_their_rows():
    jobs = pl.concat([region_jobs(), gpu_job()], how="diagonal_relaxed")
    spec = {
        "grid_kgco2e_per_kwh": 0.6,
        "accelerator_embodied_kgco2e": 0.6,
        ("grid_kgco2e_per_kwh", "accelerator_embodied_kgco2e"): 0.4,
    }
    grid = job_draws(jobs, "operational_kgco2e", spec)[:, : len(REGIONS)]
    embodied = job_draws(jobs, "embodied_kgco2e", spec)[:, -1:]
    between = spearman(np.hstack([grid, embodied]))[-1, :-1]
    np.testing.assert_allclose(between, 0.4, atol=0.025)
    flipped = {**spec, ("accelerator_embodied_kgco2e", "grid_kgco2e_per_kwh"): -0.4}
    del flipped[("grid_kgco2e_per_kwh", "accelerator_embodied_kgco2e")]
    grid = job_draws(jobs, "operational_kgco2e", flipped)[:, : len(REGIONS)]
    embodied = job_draws(jobs, "embodied_kgco2e", flipped)[:, -1:]
    np.testing.assert_allclose(spearman(np.hstack([grid, embodied]))[-1, :-1], -0.4, atol=0.025)


def test_correlated_runs_reproduce_and_shard():
    jobs = fc.synthetic_fleet(3000, seed=4)
    spec = {"grid_kgco2e_per_kwh": 0.5, "pue": 0.5, ("pue", "grid_kgco2e_per_kwh"): 0.3}
    whole = fc.simulate_detailed(
        jobs, draws=200, by="phase", seed=8, correlation=spec, return_draws=True
    ).draws
    again = fc.simulate_detailed(
        jobs.sample(fraction=1.0, shuffle=True, seed=1),
        draws=200,
        by="phase",
        seed=8,
        correlation=spec,
        return_draws=True,
        threads=1,
    ).draws
    assert again.sort("phase", "draw").equals(whole.sort("phase", "draw"))
    parts = [
        fc.simulate_detailed(
            jobs[i::3], draws=200, by="phase", seed=8, correlation=spec, return_draws=True
        ).draws
        for i in range(3)
    ]
    summed = pl.concat(parts).group_by("phase", "draw").agg(pl.col("total_kgco2e").sum())
    joined = whole.join(summed, on=["phase", "draw"], suffix="_shards")
    assert joined.height == whole.height
    np.testing.assert_allclose(joined["total_kgco2e_shards"], joined["total_kgco2e"], rtol=1e-12)
    plain = fc.simulate_detailed(jobs, draws=200, by="phase", seed=8, return_draws=True).draws
    empty = fc.simulate_detailed(
        jobs, draws=200, by="phase", seed=8, correlation={}, return_draws=True
    ).draws
    assert empty.equals(plain)
    assert not whole.equals(plain)


def test_single_value_factors_pair_directly():
    names, ranks = copula_arguments(fc.load_factors(), {("use_rate", "lifetime_years"): -0.5})
    assert names == ["lifetime_years", "use_rate"]
    assert ranks == [1.0, -0.5, -0.5, 1.0]
    names, ranks = copula_arguments(fc.load_factors(), {"pue": 0.4, ("pue", "lifetime_years"): 0.2})
    assert names == ["pue", "lifetime_years"] or names == ["lifetime_years", "pue"]
    assert sorted(ranks) == [0.2, 0.2, 0.4, 1.0]


@pytest.mark.parametrize(
    "dist",
    [
        LogNormal.from_interval(0.05, 0.8),
        TruncatedNormal(0.3, 0.2, 0.01, 0.9),
        Uniform(0.05, 0.6),
        Triangular(0.05, 0.1, 0.7),
    ],
)
def test_every_continuous_family_meets_the_rank_correlation(dist):
    spec = {"grid_kgco2e_per_kwh": 0.7}
    draws = fc.simulate_detailed(
        region_jobs(),
        draws=20_000,
        by="job_id",
        seed=6,
        return_draws=True,
        distributions={**FIXED, "grid_kgco2e_per_kwh": dist},
        correlation=spec,
    ).draws
    wide = draws.pivot(on="job_id", index="draw", values="operational_kgco2e").drop("draw")
    np.testing.assert_allclose(off_diagonal(spearman(wide.to_numpy())), 0.7, atol=0.025)


def test_empirical_rows_correlate_whatever_the_order_of_their_samples():
    samples = [0.3, 0.1, 0.5, 0.2, 0.4]
    runs = [
        job_draws(
            region_jobs(),
            "operational_kgco2e",
            {"grid_kgco2e_per_kwh": 0.7},
            distributions={"grid_kgco2e_per_kwh": Empirical(order)},
        )
        for order in (samples, sorted(samples))
    ]
    np.testing.assert_array_equal(runs[0], runs[1])
    # Five values tie a lot, which lowers the realized rank correlation below 0.7.
    assert off_diagonal(spearman(runs[0])).min() > 0.55


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"not_a_factor": 0.5}, "unknown factor 'not_a_factor'"),
        ({"market_kgco2e_per_kwh": 0.5}, "not simulated"),
        ({"pue": 1.5}, r"must be in \[0, 1\]"),
        ({"pue": "high"}, "not a number"),
        ({"lifetime_years": 0.5}, "single value"),
        ({("pue", "pue"): 0.5}, "use the key 'pue'"),
        ({("pue", "grid_kgco2e_per_kwh"): 0.3}, "give their correlation too"),
        ({"pue": 0.0, ("pue", "grid_kgco2e_per_kwh"): 0.3}, "are independent"),
        (
            {"pue": 0.2, "grid_kgco2e_per_kwh": 0.2, ("pue", "grid_kgco2e_per_kwh"): 0.5},
            r"less than 0\.2000",
        ),
        ({"pue": True}, "not a number"),
        ({("lifetime_years", "use_rate"): 1.0}, r"must be in \(-1, 1\)"),
        (
            {
                ("lifetime_years", "use_rate"): -0.9,
                ("use_rate", "power_fraction"): -0.9,
                ("lifetime_years", "power_fraction"): -0.9,
            },
            "contradict each other",
        ),
        ({("lifetime_years", "use_rate"): 0.3, ("use_rate", "lifetime_years"): 0.2}, "twice"),
        ({("pue",): 0.3}, "tuple of two factor names"),
    ],
)
def test_bad_specifications_are_specific_errors(spec, message):
    with pytest.raises(CorrelationError, match=message) as caught:
        fc.simulate(region_jobs(), draws=10, seed=1, correlation=spec)
    assert isinstance(caught.value, FleetcarbonError) and isinstance(caught.value, ValueError)
