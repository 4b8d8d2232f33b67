"""Monte Carlo uncertainty of group totals: shared factor rows, per-job noise."""

from __future__ import annotations

import inspect
import math
import numbers
import os
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np
import polars as pl

from fleetcarbon import _core
from fleetcarbon.conventions import Convention, CpuAttribution, resolve_convention
from fleetcarbon.correlation import copula_arguments
from fleetcarbon.errors import (
    DistributionError,
    FleetcarbonError,
    InvalidValueError,
    MissingColumnError,
    ParameterError,
)
from fleetcarbon.estimate import run_estimate, strip_outputs
from fleetcarbon.factors import Factors, resolve_factors
from fleetcarbon.frames import collect_jobs, group_index
from fleetcarbon.grid_years import GridYear, check_grid_year
from fleetcarbon.parameters import (
    OnInvalid,
    QuantileMethod,
    check_by,
    check_int,
    check_on_invalid,
    check_progress,
    check_quantile_method,
    check_quantiles,
    check_threads,
)
from fleetcarbon.schema import FACTOR_DOMAINS, FACTOR_NAMES, JOB_ID, RESULT_COLUMNS
from fleetcarbon.simulation_frames import (
    METRICS,
    OUTPUT_NAMES,
    draws_frame,
    per_job_frame,
    summary_frame,
)
from fleetcarbon.uncertainty import Distribution, check_support, row_distributions
from fleetcarbon.validation import prepare_jobs

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "METRICS",
    "SimulateOptions",
    "SimulationResult",
    "peak_memory",
    "simulate",
    "simulate_detailed",
]

#: Per-job noise that can be declared, and the core argument that carries it.
NOISE_KINDS = {
    "power_fraction": "power_fraction_noise",
    "energy_kwh": "energy_noise",
    "avg_power_w": "power_noise",
}


class SimulateOptions(TypedDict, total=False):
    """The options of :func:`simulate` and :func:`simulate_detailed` (all keyword-only).

    Their meanings and defaults are in :func:`simulate`'s docstring and in
    :data:`DEFAULTS`.
    """

    draws: int
    by: str | Sequence[str] | None
    quantiles: Sequence[float]
    quantile_method: QuantileMethod
    seed: int | None
    distributions: Mapping[str | tuple[str, str], Distribution] | None
    correlation: Mapping[str | tuple[str, str], float] | None
    noise: Mapping[str, Distribution] | None
    rel_error: float | None
    max_draws: int
    on_invalid: OnInvalid
    convention: str | Convention
    cpu_attribution: CpuAttribution | None
    grid_year: GridYear
    threads: int | None
    progress: Callable[[int, int], object] | None


#: The default of every option.
DEFAULTS: dict[str, Any] = {
    "draws": 10_000,
    "by": None,
    "quantiles": (0.05, 0.5, 0.95),
    "quantile_method": "linear",
    "seed": None,
    "distributions": None,
    "correlation": None,
    "noise": None,
    "rel_error": None,
    "max_draws": 200_000,
    "on_invalid": "raise",
    "convention": "fleetcarbon",
    "cpu_attribution": None,
    "grid_year": "job",
    "threads": None,
    "progress": None,
}
assert set(DEFAULTS) == set(SimulateOptions.__annotations__), "one entry per option"


def simulate(
    jobs: pl.DataFrame | pl.LazyFrame,
    factors: Factors | None = None,
    **options: Unpack[SimulateOptions],
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
        Number of draws (the first batch, with ``rel_error``); at least 2.
    by : str or sequence of str, optional
        Grouping columns; none gives one fleet-wide row.
    quantiles : sequence of float, default (0.05, 0.5, 0.95)
        Quantiles to report, in [0, 1].
    quantile_method : {"linear", "inverted_cdf"}, default "linear"
        How a quantile is read from the draws (:mod:`fleetcarbon.quantiles`):
        linear interpolation (Hyndman–Fan type 7, numpy's default) or the
        inverse empirical CDF (type 1). Every output uses the same method.
    seed : int, optional
        Seed in [0, 2**64). None picks one at random; it is reported in the
        ``seed`` column either way, so that the run can be replayed.
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
    on_invalid : {"raise", "drop"}, default "raise"
        What to do with invalid job rows, as for :func:`fleetcarbon.estimate`.
    convention : str or Convention, default "fleetcarbon"
        The accounting convention, as for :func:`fleetcarbon.estimate`. The
        factors a convention fixes (``"ga4hpc"``: ``power_fraction`` 1 and
        ``host_power_w`` 0) are fixed in every draw.
    cpu_attribution : {"reserved", "used"}, optional
        Replace the convention's core attribution, as for :func:`fleetcarbon.estimate`.
    grid_year : {"job", "latest"}, default "job"
        The annual grid intensity of each job's year, or the latest, as for
        :func:`fleetcarbon.estimate`. A year's value scales the region row's
        draws (its relative uncertainty carries over).
    threads : int, optional
        Threads for the Rust core. Results do not depend on it.
    progress : callable, optional
        Called as ``progress(done, total)`` in draws, about every 50 ms while
        the core runs and at the end of each batch. Reporting redoes no work.

    Returns
    -------
    pl.DataFrame
        One row per group: the group columns, ``jobs``, ``draws``, ``seed``,
        ``factors_version``, and for each of ``it_energy_kwh``,
        ``operational_kgco2e``, ``embodied_kgco2e`` and ``total_kgco2e``: the
        deterministic estimate (``<metric>``), ``<metric>_mean``,
        ``<metric>_std``, ``<metric>_se_mean``, and per quantile
        ``<metric>_p05`` and its MC standard error ``<metric>_se_p05``.
        :func:`simulate_detailed` also returns per-job statistics and the draws.

    Notes
    -----
    Reproducibility: draws are keyed by (seed, factor row key, draw) and
    (seed, job_id, noise kind, draw), so the same seed gives bit-identical
    results for any thread count, row order and chunking, and summing the
    draws of shards of the jobs reproduces a single run to rounding. See
    ``docs/uncertainty.md``.

    Examples
    --------
    >>> import fleetcarbon as fc
    >>> out = fc.simulate(fc.synthetic_fleet(1000, seed=1), draws=200, seed=7, by="phase")
    >>> out.columns[:4]
    ['phase', 'jobs', 'draws', 'seed']
    """
    return _run(jobs, factors, per_job=False, return_draws=False, options=options).summary


@dataclass(frozen=True)
class SimulationResult:
    """Everything one Monte Carlo pass produced (see :func:`simulate_detailed`).

    Attributes
    ----------
    summary : pl.DataFrame
        The group summary, as :func:`simulate` returns it.
    seed : int
        The seed used.
    n_draws : int
        The number of draws (more than asked for when ``rel_error`` added some).
    """

    summary: pl.DataFrame
    seed: int
    n_draws: int
    _per_job: pl.DataFrame | None = None
    _draws: pl.DataFrame | None = None

    @property
    def per_job(self) -> pl.DataFrame:
        """One row per job (input order): ``job_id``, the ``by`` columns, ``total_kgco2e``,
        ``total_kgco2e_mean``, a column per quantile, ``draws`` and ``seed``.
        """  # noqa: D205
        if self._per_job is None:
            raise FleetcarbonError("per-job statistics were not computed: pass per_job=True")
        return self._per_job

    @property
    def draws(self) -> pl.DataFrame:
        """The draws: group columns, ``draw``, the simulated metrics and ``seed``, long form."""
        if self._draws is None:
            raise FleetcarbonError("the draws were not kept: pass return_draws=True")
        return self._draws


def simulate_detailed(
    jobs: pl.DataFrame | pl.LazyFrame,
    factors: Factors | None = None,
    *,
    per_job: bool = False,
    return_draws: bool = False,
    **options: Unpack[SimulateOptions],
) -> SimulationResult:
    """Run the Monte Carlo once and keep every output of the pass.

    Parameters
    ----------
    jobs, factors, **options
        As for :func:`simulate`.
    per_job : bool, default False
        Also compute each job's mean and quantiles of ``total_kgco2e``
        (:attr:`SimulationResult.per_job`).
    return_draws : bool, default False
        Also keep the group draws (:attr:`SimulationResult.draws`).

    Returns
    -------
    SimulationResult
        ``summary`` always; ``per_job`` and ``draws`` when asked for.

    Examples
    --------
    >>> import fleetcarbon as fc
    >>> r = fc.simulate_detailed(fc.synthetic_fleet(500, seed=1), draws=100, seed=3, per_job=True)
    >>> r.per_job.height, r.n_draws
    (500, 100)
    """
    return _run(jobs, factors, per_job=per_job, return_draws=return_draws, options=options)


def _signature_with_options(function: Callable[..., object]) -> inspect.Signature:
    """Return the signature of ``function`` with ``**options`` spelled out (for ``help()``)."""
    signature = inspect.signature(function)
    parameters = [p for p in signature.parameters.values() if p.kind != p.VAR_KEYWORD]
    parameters += [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
        for name, default in DEFAULTS.items()
    ]
    return signature.replace(parameters=parameters)


simulate.__signature__ = _signature_with_options(simulate)  # type: ignore[attr-defined]
simulate_detailed.__signature__ = _signature_with_options(simulate_detailed)  # type: ignore[attr-defined]


def _options(options: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise TypeError(f"unexpected keyword argument(s) {unknown}; options are {list(DEFAULTS)}")
    return {**DEFAULTS, **options}


def _seed(seed: object) -> int:
    if seed is None:
        return secrets.randbits(63)
    return check_int("seed", seed, low=0, high=2**64 - 1)


@dataclass
class _Setup:
    """A validated simulation, ready to run: everything but the draws themselves."""

    frame: pl.DataFrame
    factors: Factors
    jobs: _core.Jobs
    point: dict[str, np.ndarray]
    group: np.ndarray
    keys: pl.DataFrame
    by: list[str]
    n_groups: int
    uncertainty: _core.Uncertainty
    job_keys: np.ndarray
    seed: int

    def core_arguments(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Return the handles and arrays every core call of this simulation takes."""
        handles = (self.jobs, self.factors.engine, self.uncertainty)
        arrays = {"job_keys": self.job_keys, "group": self.group, "n_groups": self.n_groups}
        return handles, arrays


def _setup(
    jobs: pl.DataFrame | pl.LazyFrame, factors: Factors | None, o: Mapping[str, Any]
) -> _Setup:
    frame = collect_jobs(jobs)
    threads = check_threads(o["threads"])
    on_invalid = check_on_invalid(o["on_invalid"])
    by = check_by(o["by"])
    _check_group_names(by)
    factors = resolve_factors(factors)
    seed = _seed(o["seed"])
    frame = strip_outputs(frame)
    missing = [c for c in by if c not in frame.columns]
    if missing:
        raise MissingColumnError(f"simulate: grouping column(s) {missing} are not in the jobs")
    if frame.height == 0:
        raise FleetcarbonError("simulate() needs at least one job")
    convention = resolve_convention(o["convention"], o["cpu_attribution"])
    prepared = prepare_jobs(
        frame,
        factors,
        on_invalid=on_invalid,
        convention=convention,
        grid_year=check_grid_year(o["grid_year"]),
        threads=threads,
    )
    frame, factors = prepared.frame, prepared.factors
    _, point_columns = run_estimate(prepared, factors, threads)
    group, keys = group_index(frame, by)
    return _Setup(
        frame=frame,
        factors=factors,
        jobs=prepared.jobs,
        point=dict(zip(RESULT_COLUMNS, point_columns, strict=True)),
        group=group,
        keys=keys,
        by=by,
        n_groups=max(keys.height, 1) if by else 1,
        uncertainty=_uncertainty(factors, frame, o),
        job_keys=_job_keys(frame),
        seed=seed,
    )


def _run(
    jobs: pl.DataFrame | pl.LazyFrame,
    factors: Factors | None,
    *,
    per_job: bool,
    return_draws: bool,
    options: Mapping[str, Any],
) -> SimulationResult:
    o = _options(options)
    threads = check_threads(o["threads"])
    progress = check_progress(o["progress"])
    draws = check_int("draws", o["draws"], low=2)
    max_draws = check_int("max_draws", o["max_draws"], low=draws if o["rel_error"] else 2)
    qs = check_quantiles(o["quantiles"])
    method = check_quantile_method(o["quantile_method"])
    rel_error = _rel_error(o["rel_error"])
    s = _setup(jobs, factors, o)
    frame, point, group, keys, by, n_groups, seed = (
        s.frame,
        s.point,
        s.group,
        s.keys,
        s.by,
        s.n_groups,
        s.seed,
    )
    job_q_levels = qs if per_job else None
    _check_memory(s, draws, job_q_levels, return_draws, batches=1)
    run_core = _core_runner(s)

    def batch(first: int, count: int, job_q: list[float] | None, planned: int):
        report = None if progress is None else _draw_progress(progress, first, count, planned)
        flat, means, quantiles = run_core(first, count, job_q, method, threads, report)
        return flat.reshape(n_groups, len(METRICS), count), means, quantiles

    batches = []
    first_batch, means, job_q = batch(0, draws, qs if per_job else None, draws)
    batches.append(first_batch)
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
        # In floats: a tiny rel_error asks for more draws than an int can hold.
        ratio = worst / rel_error
        needed = total_draws * ratio * ratio * 1.1
        wanted = max_draws if not needed < max_draws else math.ceil(needed)
        extra = min(max(wanted - total_draws, draws), max_draws - total_draws)
        _check_memory(s, total_draws + extra, job_q_levels, return_draws, batches=2)
        batches.append(batch(total_draws, extra, None, total_draws + extra)[0])
        total_draws += extra
    group_draws = batches[0] if len(batches) == 1 else np.concatenate(batches, axis=-1)
    _check_finite(group_draws, keys, by)

    per_job_out = None
    if per_job:
        if total_draws != draws:  # more batches were added: recompute over all draws
            _, means, job_q = batch(0, total_draws, qs, total_draws)
        per_job_out = per_job_frame(
            frame, point, by, means, job_q.reshape(-1, len(qs)), qs, seed, total_draws
        )
    return SimulationResult(
        summary=summary_frame(
            point, group, keys, by, n_groups, group_draws, qs, method, seed, s.factors.version
        ),
        seed=seed,
        n_draws=total_draws,
        _per_job=per_job_out,
        _draws=draws_frame(keys, by, group_draws, seed) if return_draws else None,
    )


def _rel_error(value: object) -> float | None:
    """Return ``rel_error`` as a float, refusing anything but a finite number > 0."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(f"rel_error must be a finite number > 0, got {value!r}")
    number = float(value)
    if not 0 < number < math.inf:
        raise ParameterError(f"rel_error must be a finite number > 0, got {value!r}")
    return number


def _check_group_names(by: list[str]) -> None:
    clash = sorted(
        c for c in by if c in OUTPUT_NAMES or c.startswith(tuple(f"{m}_" for m in METRICS))
    )
    if clash:
        raise FleetcarbonError(
            f"by column(s) {clash} clash with output columns of simulate(); rename them first"
        )


def _draw_progress(
    progress: Callable[[int, int], object], first: int, count: int, planned: int
) -> Callable[[int, int], None]:
    """Report the core's ``(done, total)`` work units as draws done of ``planned``."""

    def report(done: int, total: int) -> None:
        fraction = done / total if total else 0.0
        progress(first + round(count * fraction), planned)

    return report


def _core_runner(
    s: _Setup,
) -> Callable[..., tuple[np.ndarray, np.ndarray | None, np.ndarray | None]]:
    """Return a call of ``_core.simulate`` on handles built once for every batch."""
    handles, arrays = s.core_arguments()

    def run(first, count, per_job_quantiles, method, threads, progress):
        return _core.simulate(
            *handles,
            **arrays,
            seed=s.seed,
            draws=count,
            first_draw=first,
            per_job_quantiles=per_job_quantiles,
            quantile_method=method,
            threads=threads,
            progress=progress,
        )

    return run


def _uncertainty(factors: Factors, frame: pl.DataFrame, o: Mapping[str, Any]) -> _core.Uncertainty:
    """Build the core's handle of the run's distributions, copula and per-job noise."""
    dists = row_distributions(factors, o["distributions"])
    pool = [float(x) for x in dists.pool]
    noise = _noise_args(o["noise"], pool)
    return _core.Uncertainty(
        families=dists.families,
        params=dists.params,
        keys=dists.keys,
        pool=pool,
        copula=copula_arguments(factors, o["correlation"]),
        override_bounds=_override_bounds(frame),
        power_fraction_noise=noise.get("power_fraction_noise"),
        energy_noise=noise.get("energy_noise"),
        power_noise=noise.get("power_noise"),
        mixtures=_mixtures(factors),
    )


def _mixtures(factors: Factors) -> list[tuple[str, int, list[int], list[float]]]:
    """Give the core the mix rows: ``(table, row, part rows, weights)``."""
    out = []
    for table in sorted({m.table for m in factors.mixes}):
        row_of = {k: i for i, k in enumerate(factors.table(table)["key"].to_list())}
        for m in factors.mixes:
            if m.table == table:
                rows = [row_of[k] for k, _ in m.parts]
                out.append((table, row_of[m.key], rows, [w for _, w in m.parts]))
    return out


def _noise_args(
    noise: Mapping[str, Distribution] | None, pool: list[float]
) -> dict[str, tuple[int, tuple[float, float, float, float]]]:
    """Encode the per-job noise for the core, extending ``pool`` with empirical samples."""
    if noise is not None and not isinstance(noise, Mapping):
        raise DistributionError(
            f"noise must be a mapping of noise kinds to Distributions, got {noise!r}"
        )
    noise = dict(noise or {})
    unknown = sorted(set(noise) - set(NOISE_KINDS))
    if unknown:
        raise DistributionError(f"unknown per-job noise {unknown}; choose from {list(NOISE_KINDS)}")
    out = {}
    for kind, argument in NOISE_KINDS.items():
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
        out[argument] = dist.encode(pool)
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
            outside = (lo < d.low) | (hi > d.high) | ~lo.is_finite() | ~hi.is_finite()
            bad = ((lo > value) | (hi < value) | outside).fill_null(False)
            if bad.any():
                examples = frame.filter(bad).select(JOB_ID, low, f, high).head(5).rows()
                raise InvalidValueError(
                    f"{low}/{high}",
                    int(bad.sum()),
                    f"per-job bounds that do not bracket '{f}' with finite values "
                    f"{d.describe()} (shown as (job_id, low, value, high))",
                    examples,
                )
            out[f] = (
                np.ascontiguousarray(lo.fill_null(float("nan")).to_numpy(), dtype=np.float64),
                np.ascontiguousarray(hi.fill_null(float("nan")).to_numpy(), dtype=np.float64),
            )
    return out


def _job_keys(frame: pl.DataFrame) -> np.ndarray:
    """Stable keys of the jobs' ids: integers by their 64-bit pattern, strings hashed."""
    ids = frame[JOB_ID]
    if ids.dtype == pl.UInt64:
        # Ids of 2**63 and above do not fit Int64: reuse their bits (the same
        # pattern as the Int64 of every smaller id), so no id is refused.
        return np.asarray(_core.record_keys(ids.to_numpy().view(np.int64)), dtype=np.uint64)
    if ids.dtype.is_integer():
        return np.asarray(_core.record_keys(ids.cast(pl.Int64).to_numpy()), dtype=np.uint64)
    return np.asarray(_core.record_keys(ids.cast(pl.String).to_list()), dtype=np.uint64)


def peak_memory(
    jobs: pl.DataFrame | pl.LazyFrame,
    factors: Factors | None = None,
    *,
    per_job: bool = False,
    return_draws: bool = False,
    **options: Unpack[SimulateOptions],
) -> int:
    """Estimate the peak memory, in bytes, of the process running this simulation.

    The same arguments as :func:`simulate_detailed`. ``simulate`` refuses a
    run whose estimate exceeds the machine's memory; this says how much a run
    would need before starting it (without ``rel_error``'s extra batches).

    Returns
    -------
    int
        The process's resident memory now plus what the run would add at its
        peak: the core's buffers (every shared factor row's draws, the group
        draws, the streamed blocks, per-job outputs) and the frames returned.
    """
    o = _options(options)
    draws = check_int("draws", o["draws"], low=2)
    qs = check_quantiles(o["quantiles"])
    return _peak_bytes(_setup(jobs, factors, o), draws, qs if per_job else None, return_draws, 1)


def _peak_bytes(
    s: _Setup, draws: int, job_q: list[float] | None, return_draws: bool, batches: int
) -> int:
    handles, arrays = s.core_arguments()
    core = _core.simulation_bytes(*handles, **arrays, draws=draws, per_job_quantiles=job_q)
    cells = s.n_groups * draws  # one value per group and draw
    # After the core returns, its buffers are freed; what stays is its output
    # (the group draws, per-job statistics) and what Python builds from it.
    output = len(METRICS) * cells * 8
    python = output + 2 * len(METRICS) * cells  # the finiteness check's two boolean arrays
    if batches > 1:
        python += output  # the batches' concatenation
    if return_draws:
        # draw, seed and the metrics as numpy arrays, then as frame columns, and
        # the gathered group keys.
        python += (2 + len(METRICS)) * cells * 8 * 2 + cells * 8 * len(s.by)
    if job_q is not None:
        python += 3 * s.frame.height * (1 + len(job_q)) * 8
    return _resident_bytes() + max(core, python)


def _resident_bytes() -> int:
    """Return the process's resident memory now (0 where it cannot be read)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return 0


def _check_memory(
    s: _Setup, draws: int, job_q: list[float] | None, return_draws: bool, *, batches: int
) -> None:
    """Refuse, before starting, a run whose peak cannot fit in this machine's memory."""
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not POSIX: no check
        return
    needed = _peak_bytes(s, draws, job_q, return_draws, batches)
    if needed > physical:
        raise FleetcarbonError(
            f"{draws:,} draws for {s.n_groups:,} groups would need about "
            f"{needed / 2**30:,.1f} GiB at their peak (estimated), more than this machine's "
            f"{physical / 2**30:,.1f} GiB: use fewer draws (or max_draws), coarser groups, "
            "or leave out per-job output and the draws"
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
