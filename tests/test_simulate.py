"""Monte Carlo: analytic cases, shared vs independent uncertainty, reproducibility, baselines."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from baselines import simulate_numpy, simulate_python

import fleetcarbon as fc
from fleetcarbon.simulate import METRICS
from fleetcarbon.uncertainty import (
    DistributionError,
    Empirical,
    Fixed,
    LogNormal,
    Normal,
    Pert,
    Triangular,
    TruncatedNormal,
    Uniform,
    row_distributions,
)

Z = {0.05: -1.6448536269514722, 0.5: 0.0, 0.95: 1.6448536269514722}


def fixed_everywhere(factors):
    """Every factor row fixed at its central value (the mode of its default)."""
    out = {}
    for (f, key), dist in row_distributions(factors).described.items():
        value = dist.mode if hasattr(dist, "mode") else dist.mean()
        out[(f, key) if f != key else f] = Fixed(value)
    return out


def metered_job(n=1, energy=100.0):
    return pl.DataFrame(
        {
            "job_id": list(range(n)),
            "duration_h": [1.0] * n,
            "energy_kwh": [energy] * n,
            "region": ["FR"] * n,
        }
    )


def test_single_job_lognormal_matches_closed_form(factors):
    # total = 100 kWh x meter error x PUE x grid, with a lognormal meter error (per-job
    # noise) and a lognormal grid intensity (shared): the product is lognormal.
    dists = fixed_everywhere(factors)
    dists[("grid_kgco2e_per_kwh", "FR")] = LogNormal(0.05, 1.3)
    noise = {"energy_kwh": LogNormal(1.0, 1.1)}
    out = fc.simulate(
        metered_job(), factors, draws=40_000, seed=3, distributions=dists, noise=noise
    )
    row = out.row(0, named=True)
    mu = math.log(100 * 1.5 * 0.05)
    sigma = math.hypot(math.log(1.1), math.log(1.3))
    mean = math.exp(mu + sigma**2 / 2)
    assert abs(row["total_kgco2e_mean"] - mean) < 4 * row["total_kgco2e_se_mean"]
    for q, name in ((0.05, "p05"), (0.5, "p50"), (0.95, "p95")):
        exact = math.exp(mu + sigma * Z[q])
        assert abs(row[f"total_kgco2e_{name}"] - exact) < 4 * row[f"total_kgco2e_se_{name}"], q
    assert row["embodied_kgco2e_std"] == 0.0


def test_shared_factor_does_not_average_out(factors):
    dists = fixed_everywhere(factors)
    dists[("grid_kgco2e_per_kwh", "FR")] = Uniform(0.02, 0.08)
    one = fc.simulate(metered_job(1), factors, draws=4000, seed=1, distributions=dists).row(
        0, named=True
    )
    many = fc.simulate(metered_job(400), factors, draws=4000, seed=1, distributions=dists).row(
        0, named=True
    )
    rel_one = one["total_kgco2e_std"] / one["total_kgco2e_mean"]
    rel_many = many["total_kgco2e_std"] / many["total_kgco2e_mean"]
    assert rel_many == pytest.approx(rel_one, rel=1e-9)  # shared: identical relative spread


def test_independent_noise_shrinks_as_one_over_sqrt_n(factors):
    dists = fixed_everywhere(factors)
    jobs = metered_job(400)
    noise = {"energy_kwh": Normal(1.0, 0.1)}
    one = fc.simulate(jobs[:1], factors, draws=4000, seed=2, distributions=dists, noise=noise)
    many = fc.simulate(jobs, factors, draws=4000, seed=2, distributions=dists, noise=noise)
    rel = lambda r: r["total_kgco2e_std"][0] / r["total_kgco2e_mean"][0]  # noqa: E731
    assert rel(one) == pytest.approx(0.1, rel=0.05)
    assert rel(many) == pytest.approx(0.1 / math.sqrt(400), rel=0.1)


def test_draws_centre_on_the_estimate_when_symmetric(factors):
    jobs = fc.synthetic_fleet(2000, seed=5).with_columns(
        pl.col("team", "phase", "accelerator", "region", "datacenter").cast(pl.String)
    )
    bundled = fc.load_factors()
    point = fc.summarize(fc.estimate(jobs))["total_kgco2e"].item()
    sym = {}
    for (f, key), dist in row_distributions(bundled).described.items():
        if isinstance(dist, Pert) and f not in ("lifetime_years", "use_rate"):
            half = min(dist.mode - dist.low, dist.high - dist.mode)
            sym[(f, key) if f != key else f] = Triangular(
                dist.mode - half, dist.mode, dist.mode + half
            )
    sym["lifetime_years"] = Fixed(4.0)
    sym["use_rate"] = Fixed(1.0)
    out = fc.simulate(jobs, draws=4000, seed=4, distributions=sym).row(0, named=True)
    # Products of independent factors centred on their values: the mean is the estimate.
    assert abs(out["total_kgco2e_mean"] - point) < 4 * out["total_kgco2e_se_mean"]
    assert out["total_kgco2e"] == pytest.approx(point, rel=1e-12)


def test_skewed_defaults_centre_on_the_estimate_at_factor_means(factors):
    # Default PERT rows are skewed: the draws centre on the estimate evaluated at
    # each factor's mean (products of independent factors), not at its mode.
    dists = {"lifetime_years": Fixed(4.0), "use_rate": Fixed(1.0)}
    jobs = pl.DataFrame(
        {
            "job_id": [1, 2],
            "duration_h": [10.0, 5.0],
            "accelerator": ["gpu-a", "gpu-b"],
            "accelerator_count": [8, 2],
            "region": ["FR", "PL"],
        }
    )
    with_bounds = factors.with_rows(
        datacenters=pl.DataFrame({"key": ["generic"], "pue": [1.5]}),
    )
    # Give the test tables skewed bounds through overrides of the distributions.
    dists[("pue", "generic")] = Pert(1.2, 1.5, 2.4)
    dists[("grid_kgco2e_per_kwh", "FR")] = Pert(0.03, 0.05, 0.12)
    dists[("grid_kgco2e_per_kwh", "PL")] = Pert(0.6, 0.7, 1.0)
    dists["power_fraction"] = Pert(0.4, 0.8, 0.9)
    out = fc.simulate(jobs, with_bounds, draws=20_000, seed=8, distributions=dists).row(
        0, named=True
    )
    at_means = with_bounds.with_rows(
        datacenters=pl.DataFrame({"key": ["generic"], "pue": [Pert(1.2, 1.5, 2.4).mean()]}),
        regions=pl.DataFrame(
            {
                "key": ["FR", "PL"],
                "grid_kgco2e_per_kwh": [Pert(0.03, 0.05, 0.12).mean(), Pert(0.6, 0.7, 1.0).mean()],
            }
        ),
        defaults=pl.DataFrame(
            {"parameter": ["power_fraction"], "value": [Pert(0.4, 0.8, 0.9).mean()]}
        ),
    )
    expected = fc.summarize(fc.estimate(jobs, at_means))["total_kgco2e"].item()
    assert abs(out["total_kgco2e_mean"] - expected) < 4 * out["total_kgco2e_se_mean"]
    assert abs(out["total_kgco2e_mean"] - out["total_kgco2e"]) > 4 * out["total_kgco2e_se_mean"]


def test_all_fixed_reproduces_the_estimate_per_group():
    jobs = fc.synthetic_fleet(5000, seed=6)
    bundled = fc.load_factors()
    fixed = fixed_everywhere(bundled)
    out = fc.simulate(jobs, draws=3, by="team", seed=1, distributions=fixed)
    point = fc.summarize(fc.estimate(jobs), by="team")
    joined = out.join(point, on="team", suffix="_point")
    for m in METRICS:
        np.testing.assert_allclose(joined[f"{m}_mean"], joined[f"{m}_point"], rtol=1e-9)
        assert (joined[f"{m}_std"] <= 1e-9 * joined[f"{m}_mean"]).all()


@pytest.fixture(scope="module")
def fleet():
    return fc.synthetic_fleet(20_000, seed=9)


NOISE = {"power_fraction": Triangular(0.4, 0.75, 1.0), "energy_kwh": Normal(1.0, 0.05)}


def test_identical_for_any_thread_count(fleet):
    one = fc.simulate(fleet, draws=300, by="phase", seed=5, noise=NOISE, threads=1)
    two = fc.simulate(fleet, draws=300, by="phase", seed=5, noise=NOISE, threads=2)
    assert one.equals(two)


def test_identical_for_any_row_order_and_chunking(fleet):
    base = fc.simulate(fleet, draws=300, by="phase", seed=5, noise=NOISE)
    shuffled = fleet.sample(fraction=1.0, shuffle=True, seed=3)
    chunked = pl.concat([shuffled[:7000], shuffled[7000:]], rechunk=False)
    again = fc.simulate(chunked, draws=300, by="phase", seed=5, noise=NOISE)
    assert again.equals(base)
    per_job = fc.simulate_detailed(fleet, draws=200, seed=5, noise=NOISE, per_job=True).per_job
    per_job_shuffled = fc.simulate_detailed(
        shuffled, draws=200, seed=5, noise=NOISE, per_job=True
    ).per_job
    assert per_job_shuffled.sort("job_id").equals(per_job.sort("job_id"))


def test_shards_add_up_to_the_single_run(fleet):
    whole = fc.simulate_detailed(
        fleet, draws=300, by="phase", seed=5, noise=NOISE, return_draws=True
    ).draws
    shards = [fleet[i::3] for i in range(3)]
    parts = [
        fc.simulate_detailed(s, draws=300, by="phase", seed=5, noise=NOISE, return_draws=True).draws
        for s in shards
    ]
    summed = pl.concat(parts).group_by("phase", "draw").agg(pl.col("total_kgco2e").sum())
    joined = whole.join(summed, on=["phase", "draw"], suffix="_shards")
    assert joined.height == whole.height
    np.testing.assert_allclose(joined["total_kgco2e_shards"], joined["total_kgco2e"], rtol=1e-12)


def test_seed_is_reported_and_replays():
    jobs = fc.synthetic_fleet(500, seed=1)
    first = fc.simulate(jobs, draws=100)
    seed = first["seed"].item()
    assert fc.simulate(jobs, draws=100, seed=seed).equals(first)
    assert not fc.simulate(jobs, draws=100, seed=seed + 1).equals(first)


def test_extending_draws_keeps_earlier_draws(fleet):
    short = fc.simulate_detailed(fleet[:2000], draws=100, seed=1, return_draws=True).draws
    long = fc.simulate_detailed(fleet[:2000], draws=250, seed=1, return_draws=True).draws
    assert long.filter(pl.col("draw") < 100).equals(short)


def test_rel_error_adds_draws_until_met():
    jobs = fc.synthetic_fleet(2000, seed=2)
    out = fc.simulate(jobs, draws=50, seed=1, rel_error=0.002, max_draws=50_000, by="phase")
    assert (out["draws"] > 50).all()
    # Met well before the cap: the batches are sized from the standard error.
    assert (out["draws"] < 50_000).all()
    assert (out["total_kgco2e_se_mean"] / out["total_kgco2e_mean"] <= 0.002).all()
    capped = fc.simulate(jobs, draws=50, seed=1, rel_error=1e-6, max_draws=400, by="phase")
    assert (capped["draws"] == 400).all()


def test_per_job_output_leaves_the_group_sums_unchanged(fleet):
    # More than three blocks of 4,096 streamed jobs, so that block boundaries matter.
    jobs = fleet[:15_000]
    plain = fc.simulate(jobs, draws=300, by="phase", seed=3, noise=NOISE)
    detailed = fc.simulate_detailed(jobs, draws=300, by="phase", seed=3, noise=NOISE, per_job=True)
    assert detailed.summary.equals(plain)
    quiet = fc.simulate(jobs, draws=300, by="phase", seed=3)
    assert fc.simulate_detailed(jobs, draws=300, by="phase", seed=3, per_job=True).summary.equals(
        quiet
    )


def test_noise_multipliers_cannot_draw_negative_values(factors):
    jobs = metered_job()
    with pytest.raises(DistributionError, match="must be >= 0"):
        fc.simulate(jobs, factors, draws=10, noise={"energy_kwh": Normal(1.0, 0.8)})
    with pytest.raises(DistributionError, match="must be >= 0"):
        fc.simulate(jobs, factors, draws=10, noise={"avg_power_w": Uniform(-0.1, 2.0)})
    # 5% error is 20 sd from zero, beyond anything the sampler can draw.
    fc.simulate(jobs, factors, draws=10, noise={"energy_kwh": Normal(1.0, 0.05)})
    # A bounded error far in one tail still draws finite values inside its bounds.
    tail = TruncatedNormal(1.0, 0.01, 1.08)
    out = fc.simulate_detailed(
        jobs, factors, draws=500, seed=2, noise={"energy_kwh": tail}, return_draws=True
    ).draws
    deterministic = fc.estimate(jobs, factors)["it_energy_kwh"].item()
    ratio = out["it_energy_kwh"].to_numpy() / deterministic
    assert ratio.min() >= 1.08 and ratio.max() < 1.09
    assert abs(ratio.mean() - tail.mean()) < 1e-3


def test_empirical_noise_shares_the_pool_with_empirical_rows(factors):
    jobs = metered_job(n=2)
    out = fc.simulate_detailed(
        jobs,
        factors,
        draws=3000,
        seed=1,
        by="job_id",
        return_draws=True,
        noise={"energy_kwh": Empirical([0.9, 1.0, 1.1])},
        distributions={**fixed_everywhere(factors), "pue": Empirical([1.1, 1.3])},
    ).draws
    energy = out.pivot(on="job_id", index="draw", values="it_energy_kwh").drop("draw")
    assert set(np.unique(energy.to_numpy().round(9))) == {90.0, 100.0, 110.0}
    # Independent per job: the two jobs differ in about two draws of three.
    differ = (energy["0"] != energy["1"]).mean()
    assert 0.6 < differ < 0.73
    # The rows' own samples are intact: operational / energy is PUE x a fixed grid.
    ratio = np.unique((out["operational_kgco2e"] / out["it_energy_kwh"]).to_numpy().round(12))
    assert len(ratio) == 2 and ratio[1] / ratio[0] == pytest.approx(1.3 / 1.1)


def test_quantile_standard_errors_need_draws_beyond_the_quantile(factors):
    noise = {"energy_kwh": Normal(1.0, 0.05)}
    run = lambda draws: fc.simulate(  # noqa: E731
        metered_job(), factors, draws=draws, seed=1, quantiles=(0.5, 0.95), noise=noise
    )
    assert run(2)["total_kgco2e_se_p95"].is_nan().all()
    assert (run(400)["total_kgco2e_se_p95"] > 0).all()


def test_per_job_quantiles_are_ordered_and_bracket_the_mean(fleet):
    out = fc.simulate_detailed(
        fleet[:3000], draws=400, seed=1, noise=NOISE, per_job=True, quantiles=(0.05, 0.5, 0.95)
    ).per_job
    assert out.height == 3000
    assert out["job_id"].to_list() == fleet[:3000]["job_id"].to_list()
    assert (out["total_kgco2e_p05"] <= out["total_kgco2e_p50"]).all()
    assert (out["total_kgco2e_p50"] <= out["total_kgco2e_p95"]).all()
    assert (
        (out["total_kgco2e_mean"] >= out["total_kgco2e_p05"])
        & (out["total_kgco2e_mean"] <= out["total_kgco2e_p95"])
    ).all()


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    both = np.sort(np.concatenate([a, b]))
    cdf_a = np.searchsorted(np.sort(a), both, side="right") / len(a)
    cdf_b = np.searchsorted(np.sort(b), both, side="right") / len(b)
    return float(np.abs(cdf_a - cdf_b).max())


def test_engine_agrees_with_numpy_and_python_baselines_statistically():
    jobs = fc.synthetic_fleet(300, seed=12).with_columns(pl.col(pl.Categorical).cast(pl.String))
    pf, meter = Triangular(0.4, 0.75, 1.0), Normal(1.0, 0.05)
    noise = {"power_fraction": pf, "energy_kwh": meter}
    n = 2000
    engine = (
        fc.simulate_detailed(jobs, draws=n, seed=11, noise=noise, return_draws=True)
        .draws["total_kgco2e"]
        .to_numpy()
    )
    numpy_draws = simulate_numpy(
        jobs, draws=n, seed=12, power_fraction_noise=pf, energy_noise=meter
    )
    python_draws = simulate_python(
        jobs[:60], draws=300, seed=13, power_fraction_noise=pf, energy_noise=meter
    )
    engine_small = (
        fc.simulate_detailed(jobs[:60], draws=300, seed=14, noise=noise, return_draws=True)
        .draws["total_kgco2e"]
        .to_numpy()
    )
    for a, b in ((engine, numpy_draws), (engine_small, python_draws)):
        se = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
        assert abs(a.mean() - b.mean()) < 4 * se
        # Two-sample KS at alpha = 0.001: c(alpha) sqrt((m + n) / (m n)).
        crit = 1.949 * math.sqrt((len(a) + len(b)) / (len(a) * len(b)))
        assert ks_statistic(a, b) < crit


def test_per_job_quantiles_agree_with_numpy_baseline():
    jobs = fc.synthetic_fleet(300, seed=12).with_columns(pl.col(pl.Categorical).cast(pl.String))
    pf, meter = Triangular(0.4, 0.75, 1.0), Normal(1.0, 0.05)
    # The fleet-mean gap is common-mode (shared rows), so it does not average out
    # over jobs: 20,000 draws put it near 0.05% (2,000 gave up to 0.7%).
    n, qs = 20_000, (0.05, 0.5, 0.95)
    engine = fc.simulate_detailed(
        jobs, draws=n, seed=11, noise={"power_fraction": pf, "energy_kwh": meter}, per_job=True
    ).per_job
    _, baseline = simulate_numpy(
        jobs, draws=n, seed=12, power_fraction_noise=pf, energy_noise=meter, per_job_quantiles=qs
    )
    columns = ["total_kgco2e_mean", "total_kgco2e_p05", "total_kgco2e_p50", "total_kgco2e_p95"]
    for k, column in enumerate(columns):
        relative = engine[column].to_numpy() / baseline[:, k] - 1
        # Independent runs: per-job quantiles differ by well under 1%, never by 6%.
        assert abs(relative.mean()) < 0.005, column
        assert np.abs(relative).max() < 0.06, column
    # Metered jobs' intervals widen by the meter error (p95/p05 ~1.43 -> ~1.47):
    # the engine and the baseline must agree on that width.
    metered = jobs["energy_kwh"].is_not_null().to_numpy()
    width = (engine["total_kgco2e_p95"] / engine["total_kgco2e_p05"]).to_numpy()[metered]
    baseline_width = (baseline[:, 3] / baseline[:, 1])[metered]
    without_meter = fc.simulate_detailed(
        jobs, draws=n, seed=11, noise={"power_fraction": pf}, per_job=True
    ).per_job
    narrow = (without_meter["total_kgco2e_p95"] / without_meter["total_kgco2e_p05"]).to_numpy()
    assert abs(width.mean() / baseline_width.mean() - 1) < 0.01
    assert width.mean() / narrow[metered].mean() - 1 > 0.02


def test_support_must_fit_the_factor_domain(factors):
    jobs = metered_job()
    for dist, factor in (
        (LogNormal(1.5, 1.1), "pue"),
        (Uniform(0.5, 1.2), "use_rate"),
        (Normal(0.75, 0.1), "power_fraction"),
    ):
        with pytest.raises(DistributionError, match=factor):
            fc.simulate(jobs, factors, draws=10, distributions={factor: dist})
    with pytest.raises(DistributionError, match="power_fraction"):
        fc.simulate(jobs, factors, draws=10, noise={"power_fraction": Uniform(0.5, 1.5)})
    fc.simulate(jobs, factors, draws=10, distributions={"pue": TruncatedNormal(1.5, 0.2, 1.0)})


def test_distribution_classes_validate_and_report_means():
    assert Pert(1, 2, 6).mean() == pytest.approx(2.5)
    assert Triangular(0, 1, 2).mean() == 1
    assert LogNormal.from_interval(1, 4).median == pytest.approx(2)
    assert TruncatedNormal(0, 1, 0).mean() == pytest.approx(math.sqrt(2 / math.pi))
    assert Empirical([1, 2, 3]).mean() == 2
    for bad in (
        lambda: Pert(3, 2, 1),
        lambda: Uniform(2, 1),
        lambda: LogNormal(1, 0.5),
        lambda: Empirical([]),
    ):
        with pytest.raises(DistributionError):
            bad()


def test_empirical_and_truncated_distributions_run(factors):
    dists = fixed_everywhere(factors)
    dists[("pue", "generic")] = Empirical([1.2, 1.4, 1.6])
    dists[("grid_kgco2e_per_kwh", "FR")] = TruncatedNormal(0.05, 0.02, 0.0)
    out = fc.simulate_detailed(
        metered_job(), factors, draws=4000, seed=1, distributions=dists, return_draws=True
    ).draws
    assert (out["total_kgco2e"] >= 0).all()
    assert out["draw"].n_unique() == 4000
    # 100 kWh x PUE x grid, independent: the mean is the product of the means.
    pue, grid = dists[("pue", "generic")], dists[("grid_kgco2e_per_kwh", "FR")]
    total = out["total_kgco2e"].to_numpy()
    expected = 100.0 * pue.mean() * grid.mean()
    assert abs(total.mean() - expected) < 4 * total.std() / math.sqrt(len(total))


def test_bad_arguments(factors):
    jobs = metered_job()
    with pytest.raises(ValueError, match="draws"):
        fc.simulate(jobs, factors, draws=1)
    with pytest.raises(ValueError, match="quantiles"):
        fc.simulate(jobs, factors, draws=10, quantiles=(1.5,))
    with pytest.raises(TypeError, match="unexpected keyword"):
        fc.simulate(jobs, factors, draws=10, per_job=True)
    with pytest.raises(DistributionError, match="unknown factor"):
        fc.simulate(jobs, factors, draws=10, distributions={"watts": Fixed(1.0)})
    with pytest.raises(DistributionError, match="no row"):
        fc.simulate(jobs, factors, draws=10, distributions={("pue", "nowhere"): Fixed(1.2)})
    with pytest.raises(DistributionError, match="unknown per-job noise"):
        fc.simulate(jobs, factors, draws=10, noise={"pue": Fixed(1.0)})
    fc.simulate(jobs, factors, draws=10, seed=np.int64(3))
    with pytest.raises(ValueError, match="seed"):
        fc.simulate(jobs, factors, draws=10, seed=True)
    with pytest.raises(ValueError, match="seed"):
        fc.simulate(jobs, factors, draws=10, seed=-1)
    with pytest.raises(DistributionError, match="domain of 'lifetime_years'"):
        fc.simulate(
            jobs.with_columns(accelerator_count=pl.lit(0), cpu_cores=pl.lit(4)).drop("energy_kwh"),
            factors,
            draws=200,
            seed=1,
            distributions={"lifetime_years": Normal(0.0, 1.0)},
        )


def test_progress_is_reported_while_running_without_changing_results(fleet):
    seen = []
    with_progress = fc.simulate(
        fleet[:3000], draws=120, by="phase", seed=4, progress=lambda d, t: seen.append((d, t))
    )
    plain = fc.simulate(fleet[:3000], draws=120, by="phase", seed=4)
    assert with_progress.equals(plain)
    assert seen[-1] == (120, 120)
    # A run long enough to be polled reports along the way, in order.
    seen.clear()
    big = fc.synthetic_fleet(300_000, seed=2)
    fc.simulate(big, draws=400, seed=4, noise=NOISE, progress=lambda d, t: seen.append((d, t)))
    assert len(seen) >= 2 and seen[0][0] < 400
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert seen[-1] == (400, 400)
