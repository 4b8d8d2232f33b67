"""Monte Carlo uncertainty of group totals: shared factor rows, per-job noise."""

from __future__ import annotations

import itertools
import math
import os
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from fleetcarbon import _core
from fleetcarbon.correlation import copula_arguments
from fleetcarbon.errors import FleetcarbonError
from fleetcarbon.estimate import run_estimate, strip_outputs
from fleetcarbon.factors import Factors, bundled_factors
from fleetcarbon.schema import FACTOR_DOMAINS, FACTOR_NAMES, JOB_ID, RESULT_COLUMNS
from fleetcarbon.summarize import group_index
from fleetcarbon.uncertainty import (
    Distribution,
    DistributionError,
    check_support,
    row_distributions,
)
from fleetcarbon.validation import check_threads, prepare_jobs

__all__ = ["METRICS", "SimulationResult", "simulate", "simulate_detailed"]

#: Metrics whose uncertainty is simulated, in the core's order.
METRICS: tuple[str, ...] = tuple(_core.SIMULATED_METRICS)
#: Per-job noise that can be declared, and what it multiplies or replaces.
NOISE_KINDS = ("power_fraction", "energy_kwh", "avg_power_w")


def _quantile_name(q: float) -> str:
    pct = f"{q * 100:.6g}".replace(".", "_")
    return f"p{pct.zfill(2)}" if "_" not in pct else f"p{pct}"


def _sorted_quantile(sorted_draws: np.ndarray, q: float) -> np.ndarray:
    """Return the ``q``-quantile of sorted draws, interpolated as ``numpy.quantile`` does."""
    n = sorted_draws.shape[-1]
    h = (n - 1) * q
    lo = math.floor(h)
    hi = min(lo + 1, n - 1)
    return sorted_draws[..., lo] + (h - lo) * (sorted_draws[..., hi] - sorted_draws[..., lo])


def _quantile_se(sorted_draws: np.ndarray, q: float) -> np.ndarray:
    """MC standard error of a quantile from the order statistics around it.

    The ranks ``n q ± sqrt(n q (1 − q))`` bracket the quantile with about 68%
    probability (binomial), so half the gap between those order statistics
    estimates one standard error, whatever the distribution.
    """
    n = sorted_draws.shape[-1]
    half = math.sqrt(n * q * (1 - q))
    lo, hi = math.floor(n * q - half), math.ceil(n * q + half)
    if lo < 0 or hi > n - 1 or half == 0:
        # Too few draws beyond the quantile to bracket it: no estimate.
        return np.full(sorted_draws.shape[:-1], np.nan)
    return (sorted_draws[..., hi] - sorted_draws[..., lo]) / 2


def _seed(seed: int | None) -> int:
    if seed is None:
        return secrets.randbits(63)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed < 2**64:
        raise ValueError(f"seed must be an integer in [0, 2**64), got {seed!r}")
    return int(seed)


def _noise_args(noise: Mapping[str, Distribution] | None, pool: np.ndarray) -> dict[str, object]:
    """Encode the per-job noise for the core.

    The returned ``pool`` is the factor rows' empirical samples (``pool``)
    extended by those of empirical noise.
    """
    noise = dict(noise or {})
    samples = [float(x) for x in pool]
    unknown = sorted(set(noise) - set(NOISE_KINDS))
    if unknown:
        raise DistributionError(f"unknown per-job noise {unknown}; choose from {NOISE_KINDS}")
    out: dict[str, object] = {}
    for kind, arg in (
        ("power_fraction", "power_fraction_noise"),
        ("energy_kwh", "energy_noise"),
        ("avg_power_w", "power_noise"),
    ):
        dist = noise.get(kind)
        if dist is None:
            continue
        if not isinstance(dist, Distribution):
            raise DistributionError(f"noise {kind!r} must be a Distribution, got {dist!r}")
        if kind == "power_fraction":
            check_support(dist, "power_fraction")
        elif (low := dist.drawn_range()[0]) < 0:
            raise DistributionError(
                f"noise {kind!r} multiplies each job's {kind}, so its draws must be >= 0, but "
                f"{dist} can draw {low:.3g}; bound it, e.g. TruncatedNormal(mu, sd, 0.0)"
            )
        family, params = dist.encode(samples)
        out[arg] = (family, params)
    out["pool"] = np.asarray(samples, dtype=np.float64)
    return out


def _override_bounds(frame: pl.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{factor: (low, high)}`` from ``<factor>_low`` / ``<factor>_high`` job columns."""
    out = {}
    for f in FACTOR_NAMES:
        low, high = f"{f}_low", f"{f}_high"
        if f in frame.columns and low in frame.columns and high in frame.columns:
            lo = frame[low].cast(pl.Float64)
            hi = frame[high].cast(pl.Float64)
            value = frame[f].cast(pl.Float64)
            d = FACTOR_DOMAINS[f]
            bad = (lo > value) | (hi < value) | (lo < d.low) | (hi > d.high)
            if bad.fill_null(False).any():
                raise DistributionError(
                    f"per-job bounds '{low}'/'{high}' must bracket '{f}' within {d.describe()}"
                )
            out[f] = (
                np.ascontiguousarray(lo.fill_null(float("nan")).to_numpy(), dtype=np.float64),
                np.ascontiguousarray(hi.fill_null(float("nan")).to_numpy(), dtype=np.float64),
            )
    return out


def _job_keys(frame: pl.DataFrame) -> np.ndarray:
    ids = frame[JOB_ID]
    if ids.dtype.is_integer():
        return np.asarray(_core.record_keys(ids.cast(pl.Int64).to_numpy()), dtype=np.uint64)
    return np.asarray(_core.record_keys(ids.cast(pl.String).to_list()), dtype=np.uint64)


def simulate(
    jobs: pl.DataFrame | pl.LazyFrame,
    factors: Factors | None = None,
    *,
    draws: int = 10_000,
    by: str | Sequence[str] | None = None,
    quantiles: Sequence[float] = (0.05, 0.5, 0.95),
    seed: int | None = None,
    per_job: bool = False,
    return_draws: bool = False,
    distributions: Mapping[str | tuple[str, str], Distribution] | None = None,
    correlation: Mapping[str | tuple[str, str], float] | None = None,
    noise: Mapping[str, Distribution] | None = None,
    rel_error: float | None = None,
    max_draws: int = 200_000,
    threads: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pl.DataFrame:
    """Monte Carlo uncertainty of energy and carbon, per group.

    Each factor row (an accelerator's embodied carbon, a region's grid
    intensity, a datacenter's PUE, a global default) is **one** uncertain
    quantity shared by all jobs that use it: in a draw, they all see the same
    value. Declared per-job noise is independent from job to job.

    Parameters
    ----------
    jobs : pl.DataFrame or pl.LazyFrame
        Job records, as for :func:`fleetcarbon.estimate`. Where a job gives an
        override ``<factor>`` and also ``<factor>_low`` and ``<factor>_high``,
        its value is drawn per job from ``Pert(low, override, high)``.
    factors : Factors, optional
        Factor tables; defaults to the bundled ones.
    draws : int, default 10_000
        Number of draws (the first batch, with ``rel_error``).
    by : str or sequence of str, optional
        Grouping columns; none gives one fleet-wide row.
    quantiles : sequence of float, default (0.05, 0.5, 0.95)
        Quantiles to report, in [0, 1].
    seed : int, optional
        Seed in [0, 2**64). None picks one at random; it is reported in the
        ``seed`` column either way, so that the run can be replayed.
    per_job : bool, default False
        Return one row per job instead: mean and quantiles of its
        ``total_kgco2e`` (quantiles by the inverse empirical CDF).
    return_draws : bool, default False
        Return the draws instead: a long frame of group columns, ``draw`` and
        the simulated metrics, one row per group and draw.
    distributions : mapping, optional
        Override the default ``Pert(low, value, high)`` of factor rows:
        ``{"pue": Triangular(1.1, 1.2, 1.5)}`` (every row of that factor) or
        ``{("accelerator_embodied_kgco2e", "nvidia-h100-sxm5-80gb"): LogNormal(...)}``.
    correlation : mapping, optional
        Spearman rank correlation between factor rows, by a Gaussian copula
        (marginals unchanged): ``{"accelerator_embodied_kgco2e": 0.8}`` between
        any two rows of a factor, ``{("pue", "grid_kgco2e_per_kwh"): 0.3}``
        between a row of one factor and a row of another (a factor of several
        rows named in a pair needs its within-factor value too). Without it,
        distinct rows are independent. Per-job noise and per-job overrides are
        never correlated. See :mod:`fleetcarbon.correlation`.
    noise : mapping, optional
        Per-job noise, independent between jobs: ``"power_fraction"`` (each
        modelled accelerator job draws its own power fraction, replacing the
        shared default; its support must lie in [0, 1]), ``"energy_kwh"`` and
        ``"avg_power_w"`` (multipliers of metered energy and measured power,
        e.g. ``Normal(1.0, 0.05)`` or ``TruncatedNormal(1.0, 0.05, 0.0)``;
        they must not be able to draw a negative value).
    rel_error : float, optional
        Keep adding draws until the MC standard error of every group's mean
        ``total_kgco2e`` is at most this fraction of the mean, or ``max_draws``
        is reached. Each extra batch is sized from the current standard error
        (it falls as 1/sqrt(draws)), and is at least ``draws``.
    max_draws : int, default 200_000
        Cap on draws under ``rel_error``.
    threads : int, optional
        Threads for the Rust core. Results do not depend on it.
    progress : callable, optional
        Called as ``progress(done, total)`` as draws complete (the draws then
        run in slices; the results are the same).

    Returns
    -------
    pl.DataFrame
        By default one row per group: the group columns, ``jobs``, ``draws``,
        ``seed``, ``factors_version``, and for each of ``it_energy_kwh``,
        ``operational_kgco2e``, ``embodied_kgco2e`` and ``total_kgco2e``: the
        deterministic estimate (``<metric>``), ``<metric>_mean``,
        ``<metric>_std``, ``<metric>_se_mean``, and per quantile
        ``<metric>_p05`` and its MC standard error ``<metric>_se_p05``.

    Notes
    -----
    Reproducibility: draws are keyed by (seed, factor row key, draw) and
    (seed, job_id, noise kind, draw), so the same seed gives bit-identical
    results for any thread count, row order and chunking, and summing the
    ``return_draws`` frames of shards of the jobs reproduces a single run to
    rounding. See ``docs/uncertainty.md``.
    """
    if per_job and return_draws:
        raise ValueError("per_job and return_draws each return a different frame: choose one")
    result = simulate_detailed(
        jobs,
        factors,
        draws=draws,
        by=by,
        quantiles=quantiles,
        seed=seed,
        per_job=per_job,
        return_draws=return_draws,
        distributions=distributions,
        correlation=correlation,
        noise=noise,
        rel_error=rel_error,
        max_draws=max_draws,
        threads=threads,
        progress=progress,
    )
    if per_job:
        assert result.per_job is not None
        return result.per_job
    if return_draws:
        assert result.draws is not None
        return result.draws
    return result.summary


@dataclass(frozen=True)
class SimulationResult:
    """Everything one Monte Carlo pass produced (see :func:`simulate_detailed`)."""

    summary: pl.DataFrame
    per_job: pl.DataFrame | None
    draws: pl.DataFrame | None
    seed: int
    n_draws: int


def simulate_detailed(
    jobs: pl.DataFrame | pl.LazyFrame,
    factors: Factors | None = None,
    *,
    draws: int = 10_000,
    by: str | Sequence[str] | None = None,
    quantiles: Sequence[float] = (0.05, 0.5, 0.95),
    seed: int | None = None,
    per_job: bool = False,
    return_draws: bool = False,
    distributions: Mapping[str | tuple[str, str], Distribution] | None = None,
    correlation: Mapping[str | tuple[str, str], float] | None = None,
    noise: Mapping[str, Distribution] | None = None,
    rel_error: float | None = None,
    max_draws: int = 200_000,
    threads: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SimulationResult:
    """Run the Monte Carlo once and keep every output of the pass.

    Parameters are those of :func:`simulate`; ``per_job`` and ``return_draws``
    may both be set. Use this when you need the group summary and per-job
    statistics together: one pass computes both.

    Returns
    -------
    SimulationResult
        ``summary`` (always), ``per_job`` and ``draws`` (when asked for),
        ``seed`` and ``n_draws``.
    """
    frame = jobs.collect() if isinstance(jobs, pl.LazyFrame) else jobs
    if not isinstance(frame, pl.DataFrame):
        raise TypeError(f"jobs must be a polars DataFrame or LazyFrame, got {type(jobs).__name__}")
    check_threads(threads)
    if not isinstance(draws, int) or draws < 2:
        raise ValueError(f"draws must be an integer >= 2, got {draws!r}")
    qs = [float(q) for q in quantiles]
    if not all(0.0 <= q <= 1.0 for q in qs):
        raise ValueError(f"quantiles must be in [0, 1], got {list(quantiles)}")
    if rel_error is not None and not (rel_error > 0 and max_draws >= draws):
        raise ValueError("rel_error must be > 0, with max_draws >= draws")
    by = [by] if isinstance(by, str) else list(by or [])
    factors = bundled_factors() if factors is None else factors
    seed = _seed(seed)
    frame = strip_outputs(frame)
    if frame.height == 0:
        raise FleetcarbonError("simulate() needs at least one job")

    prepared = prepare_jobs(frame, factors)
    _, point_columns = run_estimate(prepared, factors, threads)
    point = dict(zip(RESULT_COLUMNS, point_columns, strict=True))
    group, keys = group_index(frame, by)
    n_groups = max(keys.height, 1) if by else 1
    _check_memory(n_groups, draws)
    dists = row_distributions(factors, distributions)
    copula = copula_arguments(factors, correlation)
    common = {
        **prepared.core_kwargs,
        **factors.engine_tables,
        "dist_families": dists.families,
        "dist_params": dists.params,
        "row_keys": dists.keys,
        "job_keys": _job_keys(frame),
        "group": group,
        "n_groups": n_groups,
        "seed": seed,
        "override_bounds": _override_bounds(frame),
        "copula": copula,
        "threads": threads,
        **_noise_args(noise, dists.pool),
    }

    def run(first: int, count: int, per_job_q: list[float] | None):
        flat, means, job_q = _core.simulate(
            **common, draws=count, first_draw=first, per_job_quantiles=per_job_q
        )
        return flat.reshape(n_groups, len(METRICS), count), means, job_q

    # With per-job output the first batch also yields each job's statistics, so it
    # runs whole; otherwise a progress callback gets the draws in ~20 slices (the
    # draws are keyed by number, so slicing changes nothing in the results).
    slices = 1 if per_job or progress is None else min(20, draws)
    edges = [round(draws * k / slices) for k in range(slices + 1)]
    batches = []
    means = job_q = None
    for lo, hi in itertools.pairwise(edges):
        batch, means, job_q = run(lo, hi - lo, qs if per_job else None)
        batches.append(batch)
        if progress is not None:
            progress(hi, draws)
    total_draws = draws
    while rel_error is not None and total_draws < max_draws:
        current = np.concatenate(batches, axis=-1)[:, METRICS.index("total_kgco2e"), :]
        mean = current.mean(axis=-1)
        se = current.std(axis=-1, ddof=1) / math.sqrt(current.shape[-1])
        rel = np.divide(se, np.abs(mean), out=np.zeros_like(se), where=mean != 0)
        worst = float(rel.max(initial=0.0))
        if worst <= rel_error:
            break
        # The standard error falls as 1/sqrt(draws): aim 10% past what the worst
        # group needs, in at least one more batch of `draws`.
        needed = math.ceil(total_draws * (worst / rel_error) ** 2 * 1.1)
        extra = min(max(needed - total_draws, draws), max_draws - total_draws)
        _check_memory(n_groups, total_draws + extra)
        batches.append(run(total_draws, extra, None)[0])
        total_draws += extra
        if progress is not None:
            progress(total_draws, total_draws)
    group_draws = np.concatenate(batches, axis=-1)
    _check_finite(group_draws, keys, by)

    per_job_frame = None
    if per_job:
        if total_draws != draws:  # more batches were added: recompute over all draws
            _, means, job_q = run(0, total_draws, qs)
        job_q = job_q.reshape(-1, len(qs))
        per_job_frame = _per_job_frame(frame, point, by, means, job_q, qs, seed, total_draws)
    return SimulationResult(
        summary=_summary_frame(
            point, group, keys, by, n_groups, group_draws, qs, seed, factors.version
        ),
        per_job=per_job_frame,
        draws=_draws_frame(keys, by, group_draws, seed) if return_draws else None,
        seed=seed,
        n_draws=total_draws,
    )


def _check_memory(n_groups: int, draws: int) -> None:
    """Refuse, before starting, runs whose draws cannot fit in this machine's memory.

    The group draws take groups × 4 metrics × draws × 8 bytes, and the summary
    sorts a copy of them.
    """
    needed = n_groups * len(METRICS) * draws * 8 * 2
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not POSIX: no check
        return
    if needed > physical:
        raise FleetcarbonError(
            f"{draws:,} draws for {n_groups:,} groups need about {needed / 2**30:,.1f} GiB, "
            f"more than this machine's {physical / 2**30:,.1f} GiB: use fewer draws "
            "(or max_draws) or coarser groups"
        )


def _check_finite(group_draws: np.ndarray, keys: pl.DataFrame, by: list[str]) -> None:
    """Refuse draws that overflowed, e.g. from an unbounded distribution reaching 0 or below."""
    bad = ~np.isfinite(group_draws)
    if bad.any():
        g, k, d = (int(x[0]) for x in np.nonzero(bad))
        where = f" in group {keys.row(g)}" if by else ""
        raise FleetcarbonError(
            f"{METRICS[k]} is not finite in draw {d}{where}: a distribution drew a value the "
            "model cannot use (e.g. a lifetime or use rate of 0); use bounded distributions"
        )


def _summary_frame(
    point: dict[str, np.ndarray],
    group: np.ndarray,
    keys: pl.DataFrame,
    by: list[str],
    n_groups: int,
    group_draws: np.ndarray,
    qs: list[float],
    seed: int,
    version: str,
) -> pl.DataFrame:
    columns = [np.ascontiguousarray(point[m], dtype=np.float64) for m in METRICS]
    columns.append(np.ones(len(group), dtype=np.float64))
    sums = _core.grouped_sums(group, n_groups, columns)
    n = group_draws.shape[-1]
    ordered = np.sort(group_draws, axis=-1)
    out: dict[str, object] = {
        "jobs": sums[-1].astype(np.int64),
        "draws": np.full(n_groups, n, dtype=np.int64),
        "seed": pl.Series([seed] * n_groups, dtype=pl.UInt64),
        "factors_version": [version] * n_groups,
    }
    for k, m in enumerate(METRICS):
        x = group_draws[:, k, :]
        std = x.std(axis=-1, ddof=1)
        out[m] = sums[k]
        out[f"{m}_mean"] = x.mean(axis=-1)
        out[f"{m}_std"] = std
        out[f"{m}_se_mean"] = std / math.sqrt(n)
        for q in qs:
            name = _quantile_name(q)
            out[f"{m}_{name}"] = _sorted_quantile(ordered[:, k, :], q)
            out[f"{m}_se_{name}"] = _quantile_se(ordered[:, k, :], q)
    summary = pl.DataFrame(out)
    return keys.hstack(summary) if by else summary


def _draws_frame(
    keys: pl.DataFrame, by: list[str], group_draws: np.ndarray, seed: int
) -> pl.DataFrame:
    n_groups, _, n = group_draws.shape
    frame = pl.DataFrame(
        {
            "draw": np.tile(np.arange(n, dtype=np.int64), n_groups),
            **{m: group_draws[:, k, :].reshape(-1) for k, m in enumerate(METRICS)},
            "seed": pl.Series([seed], dtype=pl.UInt64).new_from_index(0, n_groups * n),
        }
    )
    if not by:
        return frame
    rows = keys.select(pl.all().gather(np.repeat(np.arange(n_groups), n)))
    return rows.hstack(frame)


def _per_job_frame(
    frame: pl.DataFrame,
    point: dict[str, np.ndarray],
    by: list[str],
    means: np.ndarray,
    job_q: np.ndarray,
    qs: list[float],
    seed: int,
    n: int,
) -> pl.DataFrame:
    out = frame.select(JOB_ID, *[c for c in by if c != JOB_ID]).with_columns(
        total_kgco2e=pl.Series(point["total_kgco2e"]),
        total_kgco2e_mean=pl.Series(means),
        **{f"total_kgco2e_{_quantile_name(q)}": pl.Series(job_q[:, k]) for k, q in enumerate(qs)},
    )
    return out.with_columns(
        draws=pl.lit(n, dtype=pl.Int64),
        seed=pl.lit(seed, dtype=pl.UInt64),
    )
