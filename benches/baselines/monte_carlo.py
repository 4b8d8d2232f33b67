"""Monte Carlo baselines: pure Python and numpy, with numpy's own random numbers.

They implement the same uncertainty model as :func:`fleetcarbon.simulate`
(one draw per factor row per draw, shared by the jobs that use it; per-job
power-fraction and meter noise) but not its keyed generator, so comparisons
with the engine are statistical: means within MC error, and a two-sample KS
test. They take valid jobs without per-job overrides. The pure-Python one
evaluates :func:`fleetcarbon.reference.footprint` per job and draw.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import polars as pl

from fleetcarbon.factors import Factors, load_factors
from fleetcarbon.reference import HOURS_PER_YEAR, activity, job_table_rows, lookups
from fleetcarbon.reference import footprint as reference_footprint
from fleetcarbon.schema import FACTOR_NAMES, FACTOR_TABLE
from fleetcarbon.uncertainty import Distribution, Fixed, row_distributions

__all__ = ["simulate_numpy", "simulate_python"]

#: The table whose row key names each factor's row (the defaults table: the factor itself).
_ROW_OF = {"accelerators": "acc", "cpus": "cpu", "regions": "region", "datacenters": "dc"}


def _sampler(dist: Distribution, rng: np.random.Generator):
    """``size -> samples`` with numpy's generator (the same families as the engine)."""
    name = type(dist).__name__
    if name == "Fixed":
        return lambda size: np.full(size, dist.value)
    if name == "Uniform":
        return lambda size: rng.uniform(dist.low, dist.high, size)
    if name == "Triangular":
        if dist.low == dist.high:
            return lambda size: np.full(size, dist.mode)
        return lambda size: rng.triangular(dist.low, dist.mode, dist.high, size)
    if name == "Normal":
        return lambda size: rng.normal(dist.mu, dist.sd, size)
    if name == "LogNormal":
        return lambda size: rng.lognormal(math.log(dist.median), math.log(dist.gsd), size)
    if name == "Pert":
        span = dist.high - dist.low
        if span == 0:
            return lambda size: np.full(size, dist.mode)
        a = 1 + 4 * (dist.mode - dist.low) / span
        b = 1 + 4 * (dist.high - dist.mode) / span
        return lambda size: dist.low + span * rng.beta(a, b, size)
    if name == "Empirical":
        values = np.asarray(dist.samples)
        return lambda size: rng.choice(values, size)
    raise ValueError(f"no numpy sampler for {dist!r}")


def _job_rows(jobs: pl.DataFrame, factors: Factors) -> list[dict]:
    """Each job's activity and the keys of its table rows, by the reference's rules."""
    lk = lookups(factors)
    out = []
    for job in jobs.iter_rows(named=True):
        a = activity(job)
        acc, cpu, region, dc = job_table_rows(job, lk, a.accelerators)
        k = a.given_kwh
        out.append(
            {
                "activity": a,
                "h": a.hours,
                "n": a.accelerators,
                "cores": a.cores,
                "gb": a.memory_gb,
                "k": k,
                "modelled": a.basis == "modelled",
                "metered": a.basis == "metered",
                "acc": acc["key"] if acc else None,
                "cpu": cpu["key"],
                "region": region["key"] if region else None,
                "dc": dc["key"] if dc else None,
            }
        )
    return out


def _draw_tables(factors: Factors, draws: int, rng: np.random.Generator, distributions=None):
    """``{(factor, row key): samples}`` for every factor row."""
    described = row_distributions(factors, distributions).described
    return {key: _sampler(dist, rng)(draws) for key, dist in described.items()}


def _row_key(job: dict, factor: str) -> str | None:
    table = FACTOR_TABLE[factor]
    return factor if table == "defaults" else job[_ROW_OF[table]]


def simulate_python(
    jobs: pl.DataFrame,
    factors: Factors | None = None,
    *,
    draws: int = 1000,
    seed: int = 0,
    power_fraction_noise: Distribution | None = None,
    energy_noise: Distribution | None = None,
    distributions=None,
) -> np.ndarray:
    """Fleet ``total_kgco2e`` per draw, one job and one draw at a time.

    ``power_fraction_noise`` is drawn per modelled accelerator job and
    ``energy_noise`` multiplies each metered job's energy, as ``simulate``'s
    ``noise={"power_fraction": ..., "energy_kwh": ...}`` do.

    Returns
    -------
    np.ndarray
        ``draws`` values of the fleet total.
    """
    factors = load_factors() if factors is None else factors
    rng = np.random.default_rng(seed)
    theta = _draw_tables(factors, draws, rng, distributions)
    noise = _sampler(power_fraction_noise, rng) if power_fraction_noise else None
    meter = _sampler(energy_noise, rng) if energy_noise else None
    simulated = [f for f in FACTOR_NAMES if f != "market_kgco2e_per_kwh"]
    totals = [0.0] * draws
    for job in _job_rows(jobs, factors):
        pf_draws = noise(draws) if noise is not None and job["modelled"] and job["n"] else None
        k_draws = meter(draws) if meter is not None and job["metered"] else None
        keys = {f: _row_key(job, f) for f in simulated}
        for d in range(draws):
            f = {
                name: float(theta[(name, key)][d]) if key is not None else math.nan
                for name, key in keys.items()
            }
            f["market_kgco2e_per_kwh"] = f["grid_kgco2e_per_kwh"]
            if pf_draws is not None:
                f["power_fraction"] = float(pf_draws[d])
            a = job["activity"]
            if k_draws is not None:
                a = dataclasses.replace(a, given_kwh=a.given_kwh * float(k_draws[d]))
            totals[d] += reference_footprint(a, f)["total_kgco2e"]
    return np.asarray(totals)


def simulate_numpy(
    jobs: pl.DataFrame,
    factors: Factors | None = None,
    *,
    draws: int = 1000,
    seed: int = 0,
    power_fraction_noise: Distribution | None = None,
    energy_noise: Distribution | None = None,
    per_job_quantiles: tuple[float, ...] | None = None,
    distributions=None,
    chunk: int = 2000,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Fleet ``total_kgco2e`` per draw, vectorized over chunks of jobs × draws.

    The noises are those of :func:`simulate_python`. Per-job quantiles are the
    inverse empirical CDF, as ``simulate`` reports them.

    Returns
    -------
    np.ndarray
        ``draws`` values of the fleet total; with ``per_job_quantiles``, also a
        ``jobs × (1 + quantiles)`` array of each job's mean and quantiles.
    """
    factors = load_factors() if factors is None else factors
    rng = np.random.default_rng(seed)
    theta = _draw_tables(factors, draws, rng, distributions)
    rows = pl.DataFrame(_job_rows(jobs, factors))

    def table(factor: str, keys: pl.Series) -> np.ndarray:
        """``len(keys) × draws`` samples of ``factor`` for each job's row key."""
        names = keys.fill_null("").to_list()
        uniq = sorted(set(names))
        stack = np.stack([theta.get((factor, k), np.zeros(draws)) for k in uniq])
        index = np.searchsorted(np.asarray(uniq), np.asarray(names))
        return stack[index]

    def param(factor: str) -> np.ndarray:
        return theta[(factor, factor)]

    noise = _sampler(power_fraction_noise or Fixed(0.0), rng)
    meter = _sampler(energy_noise or Fixed(1.0), rng)
    totals = np.zeros(draws)
    per_job = []
    for start in range(0, rows.height, chunk):
        r = rows[start : start + chunk]
        h, n = r["h"].to_numpy()[:, None], r["n"].to_numpy().astype(float)[:, None]
        cores, gb = r["cores"].to_numpy().astype(float)[:, None], r["gb"].to_numpy()[:, None]
        modelled, k = r["modelled"].to_numpy()[:, None], r["k"].to_numpy()[:, None]
        metered = r["metered"].to_numpy()[:, None]
        pf = np.broadcast_to(param("power_fraction"), (r.height, draws))
        if power_fraction_noise is not None:
            noisy = (modelled & (n > 0)).ravel()
            pf = np.where(noisy[:, None], noise((r.height, draws)), pf)
        acc_w = table("tdp_w", r["acc"]) * pf + table("host_power_w", r["acc"])
        cpu_w = cores * table("core_power_w", r["cpu"]) + gb * param("memory_power_w_per_gb")
        if energy_noise is not None:
            k = np.where(metered, k * meter((r.height, draws)), k)
        it = k + np.where(modelled, np.where(n > 0, n * acc_w, cpu_w) * h / 1000, 0.0)
        op = it * table("pue", r["dc"]) * table("grid_kgco2e_per_kwh", r["region"])
        hw = np.where(
            n > 0,
            n * table("accelerator_embodied_kgco2e", r["acc"]),
            cores * table("core_embodied_kgco2e", r["cpu"])
            + gb * param("memory_embodied_kgco2e_per_gb"),
        )
        life = param("lifetime_years") * HOURS_PER_YEAR * param("use_rate")
        emb = hw * h / life * (1 + table("facility_embodied_fraction", r["dc"]))
        job_totals = op + emb
        totals += job_totals.sum(axis=0)
        if per_job_quantiles is not None:
            quantiles = np.quantile(job_totals, per_job_quantiles, axis=1, method="inverted_cdf").T
            per_job.append(np.column_stack([job_totals.mean(axis=1), quantiles]))
    if per_job_quantiles is not None:
        return totals, np.vstack(per_job)
    return totals
