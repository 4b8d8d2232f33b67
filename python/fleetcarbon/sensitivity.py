"""Which assumption matters: Sobol indices and a tornado of the factor rows' uncertainty.

Each uncertain input is a group of shared factor rows (a region's grid
intensity, a datacenter's PUE, an accelerator's embodied carbon, a global
default such as the lifetime), or every row of one factor with
``groups="factor"``, or a kind of per-job noise. The Monte Carlo core
evaluates the model on Saltelli's design: matrix A is the draws of every row
under its own stream, matrix B the draws under a second, independent stream
per row, and AB_i is A with input i's rows taken from B. That is
``inputs + 2`` runs of ``draws`` draws on the same jobs, sharing one reduction
of the jobs (:func:`_core.simulate_scenarios`).
First-order indices use Saltelli et al. (2010)'s estimator, total indices
Jansen's (1999); bootstrap intervals resample the base draws. The tornado
sets each input to its 5th and 95th percentile with every other input at its
mean (docs/scenarios.md, "Sensitivity").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl

from fleetcarbon import _core
from fleetcarbon.conventions import Convention, CpuAttribution, resolve_convention
from fleetcarbon.errors import FleetcarbonError, MissingColumnError, ParameterError
from fleetcarbon.estimate import strip_outputs
from fleetcarbon.factors import MISSING, Factors, resolve_factors
from fleetcarbon.frames import collect_jobs, group_index
from fleetcarbon.grid_years import GridYear, check_grid_year
from fleetcarbon.parameters import check_by, check_int, check_threads
from fleetcarbon.schema import FACTOR_NAMES, FACTOR_TABLE
from fleetcarbon.simulate import (
    NOISE_KINDS,
    _job_keys,
    _mixtures,
    _noise_args,
    _override_bounds,
    _seed,
)
from fleetcarbon.simulation_frames import METRICS
from fleetcarbon.uncertainty import Distribution, Fixed, RowDistributions, row_distributions
from fleetcarbon.validation import PreparedJobs, prepare_jobs

__all__ = ["sensitivity"]

#: Stream keys of matrix B: every row key with these bits flipped (a bijection,
#: so B's rows are as independent of each other, and of A's, as A's are).
_B_KEYS = np.uint64(0xA5A5_5A5A_C3C3_3C3C)
#: Factors that are not simulated (the metrics are location-based).
_NOT_SIMULATED = {"market_kgco2e_per_kwh"}


@dataclass(frozen=True)
class _Input:
    """One uncertain input: a label and the (factor, row) pairs or the noise kind it draws."""

    label: str
    factor: str
    row: str | None
    cells: tuple[tuple[str, int], ...]
    #: Index of a per-job noise kind in ``NOISE_KINDS`` (None: factor rows).
    noise: int | None = None


#: A design: the (factor, row) pairs on matrix B's streams, and the noise kinds re-drawn.
_Design = tuple[list[tuple[str, int]], tuple[bool, bool, bool]]
_NONE: tuple[bool, bool, bool] = (False, False, False)


def sensitivity(
    jobs: pl.DataFrame | pl.LazyFrame,
    factors: Factors | None = None,
    *,
    by: str | Sequence[str] | None = None,
    draws: int = 1_024,
    seed: int | None = None,
    metric: str = "total_kgco2e",
    groups: Literal["row", "factor"] = "row",
    inputs: Sequence[str] | None = None,
    bootstrap: int = 200,
    confidence: float = 0.95,
    distributions: Mapping[str | tuple[str, str], Distribution] | None = None,
    noise: Mapping[str, Distribution] | None = None,
    convention: str | Convention = "fleetcarbon",
    cpu_attribution: CpuAttribution | None = None,
    grid_year: GridYear = "job",
    threads: int | None = None,
) -> pl.DataFrame:
    """Sobol indices and a one-at-a-time tornado of each uncertain input.

    Parameters
    ----------
    jobs : pl.DataFrame or pl.LazyFrame
        Valid job records, as for :func:`fleetcarbon.estimate`.
    factors : Factors, optional
        Factor tables (default: the bundled ones).
    by : str or sequence of str, optional
        Grouping columns: indices per group (default: the fleet).
    draws : int, default 1024
        Base samples N: the run costs ``(inputs + 2) × N`` draws.
    seed : int, optional
        Seed (default: random, and reported).
    metric : str, default "total_kgco2e"
        One of ``it_energy_kwh``, ``operational_kgco2e``, ``embodied_kgco2e``,
        ``total_kgco2e``.
    groups : {"row", "factor"}, default "row"
        One input per factor row the jobs use (``grid_kgco2e_per_kwh[FR]``,
        ``pue[generic]``, ``accelerator_embodied_kgco2e[nvidia-h100-sxm5-80gb]``,
        ``lifetime_years``), or one per factor (all its rows together).
    inputs : sequence of str, optional
        Analyse only these inputs (labels as in the ``input`` column, or
        factor names for all their inputs); the others still vary.
    bootstrap : int, default 200
        Bootstrap resamples for the intervals (0: none).
    confidence : float, default 0.95
        Level of the intervals.
    distributions : mapping, optional
        As for :func:`fleetcarbon.simulate`.
    noise : mapping, optional
        Per-job noise, as for :func:`fleetcarbon.simulate`: each kind given is
        one more input (``noise:power_fraction``, ``noise:energy_kwh``,
        ``noise:avg_power_w``), its B matrix every job's second stream of
        that kind. The tornado is not defined for them (null): setting every
        job's noise to one percentile at once is not a percentile of anything.
    convention, cpu_attribution, grid_year, threads
        As for :func:`fleetcarbon.simulate`.

    Returns
    -------
    pl.DataFrame
        One row per group × input, inputs by total index (largest first):
        the group columns, ``input``, ``factor``, ``row`` (null for a whole
        factor or a global default), ``S1`` and ``ST`` with their interval
        (``S1_low``, ``S1_high``, ``ST_low``, ``ST_high``), the tornado's
        ``<metric>`` at the input's 5th and 95th percentile with the others at
        their means (``at_p05``, ``at_p95``) and their difference ``swing``;
        and per group ``at_means`` (every input at its mean), ``std`` (of
        the metric over the A and B draws), ``draws`` and ``seed``.

    Notes
    -----
    The indices assume independent inputs: ``correlation`` is not offered
    (see docs/scenarios.md).

    Examples
    --------
    >>> import fleetcarbon as fc
    >>> out = fc.sensitivity(fc.synthetic_fleet(500, seed=1), draws=128, seed=1,
    ...     groups="factor", bootstrap=0)
    >>> out.columns[:4]
    ['input', 'factor', 'row', 'S1']
    >>> bool(out["ST"].is_between(-0.1, 1.1).all())
    True
    """
    frame = strip_outputs(collect_jobs(jobs))
    factors = resolve_factors(factors)
    threads = check_threads(threads)
    n = check_int("draws", draws, low=8)
    n_boot = check_int("bootstrap", bootstrap, low=0)
    if metric not in METRICS:
        raise ParameterError(f"metric must be one of {list(METRICS)}, not {metric!r}")
    if groups not in ("row", "factor"):
        raise ParameterError(f"groups must be 'row' or 'factor', not {groups!r}")
    if not 0 < confidence < 1:
        raise ParameterError(f"confidence must lie in (0, 1), not {confidence!r}")
    by_columns = check_by(by)
    missing = [c for c in by_columns if c not in frame.columns]
    if missing:
        raise MissingColumnError(f"sensitivity: grouping column(s) {missing} are not in the jobs")
    if frame.height == 0:
        raise FleetcarbonError("sensitivity() needs at least one job")
    kinds = _noise_kinds(noise)
    prepared = prepare_jobs(
        frame,
        factors,
        on_invalid="raise",
        convention=resolve_convention(convention, cpu_attribution),
        grid_year=check_grid_year(grid_year),
        threads=threads,
    )
    dists = row_distributions(prepared.factors, distributions)
    every = _inputs(prepared, dists, groups) + [
        _Input(f"noise:{kind}", f"noise:{kind}", None, (), noise=k)
        for k, kind in enumerate(NOISE_KINDS)
        if kind in kinds
    ]
    chosen = _chosen(every, inputs)
    if not chosen:
        raise FleetcarbonError("sensitivity: no factor row the jobs use is uncertain")
    group, keys = group_index(frame, by_columns)
    n_groups = max(keys.height, 1) if by_columns else 1
    run = _Runner(prepared, dists, group, n_groups, _seed(seed), threads, dict(noise or {}))
    k = METRICS.index(metric)
    # B re-draws every uncertain input, analysed or not, so that the others vary too.
    everything = ([c for i in every for c in i.cells], _flags(every))
    designs: list[_Design] = [
        ([], _NONE),
        everything,
        *[(list(i.cells), _flags([i])) for i in chosen],
    ]
    a, b, *ab = run.samples(n, designs)
    settings: list[tuple[_Input, float] | None] = [None]
    settings += [(i, q) for i in chosen if i.noise is None for q in (0.05, 0.95)]
    means, *tornado = run.fixed(every, settings)
    rows = []
    for g in range(n_groups):
        ya, yb = a[g, k], b[g, k]
        std = float(np.std(np.concatenate([ya, yb]), ddof=1))
        swung = iter(range(len(tornado)))
        for i, inp in enumerate(chosen):
            first, total = _indices(ya, yb, ab[i][g, k], n_boot, confidence, run.seed + i)
            if inp.noise is None:
                low, high = tornado[next(swung)][g, k], tornado[next(swung)][g, k]
            else:
                low = high = float("nan")
            rows.append(
                {
                    "__group": g,
                    "input": inp.label,
                    "factor": inp.factor,
                    "row": inp.row,
                    **first,
                    **total,
                    "at_p05": low,
                    "at_p95": high,
                    "swing": high - low,
                    "at_means": means[g, k],
                    "std": std,
                }
            )
    out = pl.DataFrame(rows).with_columns(
        pl.col("at_p05", "at_p95", "swing", "S1", "S1_low", "S1_high").fill_nan(None),
        pl.col("ST", "ST_low", "ST_high").fill_nan(None),
        metric=pl.lit(metric),
        draws=pl.lit(n, dtype=pl.Int64),
        seed=pl.lit(run.seed, dtype=pl.UInt64),
    )
    out = out.sort(["__group", "ST", "input"], descending=[False, True, False])
    if by_columns:
        labels = keys.with_row_index("__group").with_columns(pl.col("__group").cast(pl.Int64))
        out = labels.join(out, on="__group", how="right").select(
            *by_columns, pl.exclude(by_columns)
        )
    return out.drop("__group")


def _chosen(found: list[_Input], wanted: Sequence[str] | None) -> list[_Input]:
    """Return the inputs ``wanted`` names (labels or factors), all without a list."""
    if wanted is None:
        return found
    if isinstance(wanted, str) or not isinstance(wanted, Sequence):
        raise ParameterError("inputs must be a list of input labels or factor names")
    names = set(wanted)
    unknown = sorted(names - {i.label for i in found} - {i.factor for i in found})
    if unknown:
        known = sorted({i.factor for i in found})
        raise ParameterError(
            f"inputs {unknown} are not uncertain inputs of these jobs; their factors are {known} "
            "(or a factor's row, e.g. 'grid_kgco2e_per_kwh[FR]')"
        )
    return [i for i in found if i.label in names or i.factor in names]


def _inputs(prepared: PreparedJobs, dists: RowDistributions, groups: str) -> list[_Input]:
    """Return the uncertain (factor, row) pairs the jobs use, grouped into inputs."""
    used = _used_rows(prepared)
    cells: dict[str, list[tuple[str, int, str | None]]] = {}
    for factor in FACTOR_NAMES:
        if factor in _NOT_SIMULATED:
            continue
        table = FACTOR_TABLE[factor]
        if table == "defaults":
            candidates = [(0, None)]
        else:
            keys = prepared.factors.table(table)["key"].to_list()
            candidates = [(r, keys[r]) for r in sorted(used[table])]
        for row, key in candidates:
            dist = dists.described.get((factor, key if key is not None else factor))
            if dist is None or isinstance(dist, Fixed):
                continue
            cells.setdefault(factor, []).append((factor, row, key))
    out = []
    for factor, pairs in cells.items():
        if groups == "factor":
            out.append(_Input(factor, factor, None, tuple((f, r) for f, r, _ in pairs)))
        else:
            out += [
                _Input(factor if key is None else f"{factor}[{key}]", factor, key, ((f, r),))
                for f, r, key in pairs
            ]
    return out


def _used_rows(prepared: PreparedJobs) -> dict[str, set[int]]:
    """Return the rows of each keyed table some job reaches, as the engine resolves them.

    A job without a region takes its datacenter's; a job without a datacenter
    its region's default, else the generic one; a job without a CPU the
    generic CPU. Mix rows stand for their parts, which are listed instead.
    """
    f, buffers = prepared.factors, prepared.buffers
    n = prepared.frame.height
    links = f.links

    def per_job(name: str) -> np.ndarray:
        return np.broadcast_to(np.asarray(buffers[name], dtype=np.uint32), (n,))

    region, datacenter, cpu = per_job("region"), per_job("datacenter"), per_job("cpu")
    known_dc = np.where(datacenter == MISSING, 0, datacenter)
    region = np.where(region == MISSING, links.datacenter_region[known_dc], region)
    from_region = links.region_default_datacenter[np.where(region == MISSING, 0, region)]
    fallback = np.where(region == MISSING, links.default_datacenter, from_region)
    datacenter = np.where(datacenter == MISSING, fallback, datacenter)
    cpu = np.where(cpu == MISSING, links.generic_cpu, cpu)
    used = {
        "accelerators": set(np.unique(per_job("accelerator")).tolist()),
        "cpus": set(np.unique(cpu).tolist()),
        "regions": set(np.unique(region).tolist()),
        "datacenters": set(np.unique(datacenter).tolist()),
    }
    for table in used:
        used[table].discard(MISSING)
    for mix in f.mixes:
        keys = f.table(mix.table)["key"].to_list()
        row = keys.index(mix.key)
        if row in used[mix.table]:
            used[mix.table].discard(row)
            used[mix.table] |= {keys.index(k) for k, _ in mix.parts}
    return used


@dataclass
class _Runner:
    """Runs of the Monte Carlo core on one set of prepared jobs."""

    prepared: PreparedJobs
    dists: RowDistributions
    group: np.ndarray
    n_groups: int
    seed: int
    threads: int | None
    noise: dict[str, Distribution]

    def _uncertainty(
        self,
        families: dict,
        params: dict,
        keys: dict,
        resample: tuple[bool, bool, bool] = _NONE,
        *,
        noise_at_means: bool = False,
    ) -> _core.Uncertainty:
        pool = [float(x) for x in self.dists.pool]
        given = self.noise
        if noise_at_means:
            given = {kind: Fixed(d.mean()) for kind, d in given.items()}
        noise = _noise_args(given, pool)
        return _core.Uncertainty(
            families=families,
            params=params,
            keys=keys,
            pool=pool,
            copula=None,
            # At means (the tornado), per-job overrides take their given value.
            override_bounds={} if noise_at_means else _override_bounds(self.prepared.frame),
            mixtures=_mixtures(self.prepared.factors),
            resample_noise=resample,
            **noise,
        )

    def _run(self, handles: list[_core.Uncertainty], draws: int) -> list[np.ndarray]:
        engine = self.prepared.factors.engine
        flats, _ = _core.simulate_scenarios(
            self.prepared.jobs,
            [engine] * len(handles),
            handles,
            job_keys=_job_keys(self.prepared.frame),
            group=self.group,
            n_groups=self.n_groups,
            seed=self.seed,
            draws=draws,
            threads=self.threads,
        )
        return [np.asarray(f).reshape(self.n_groups, len(METRICS), draws) for f in flats]

    def samples(self, draws: int, designs: list[_Design]) -> list[np.ndarray]:
        """One run per design, its inputs on matrix B's streams: each (groups, metrics, draws)."""
        handles = []
        for from_b, resample in designs:
            keys = {f: k.copy() for f, k in self.dists.keys.items()}
            for factor, row in from_b:
                keys[factor][row] ^= _B_KEYS
            handles.append(
                self._uncertainty(self.dists.families, self.dists.params, keys, resample)
            )
        return self._run(handles, draws)

    def fixed(
        self, inputs: list[_Input], settings: list[tuple[_Input, float] | None]
    ) -> list[np.ndarray]:
        """Evaluate every input at its mean, but each setting's input at its quantile.

        One (groups, metrics) array per setting (None: all at their means).
        """
        values = {
            (f, r): (self._dist(f, r).mean(), *_tails(self._dist(f, r)))
            for inp in inputs
            for f, r in inp.cells
        }
        level = {None: 0, 0.05: 1, 0.95: 2}
        handles = []
        for at in settings:
            families = {f: v.copy() for f, v in self.dists.families.items()}
            params = {f: v.copy().reshape(-1, 4) for f, v in self.dists.params.items()}
            for inp in inputs:
                for factor, row in inp.cells:
                    which = level[at[1]] if at is not None and at[0] is inp else 0
                    code, p = Fixed(float(values[(factor, row)][which])).encode([])
                    families[factor][row], params[factor][row] = code, p
            flat = {f: v.reshape(-1) for f, v in params.items()}
            handles.append(self._uncertainty(families, flat, self.dists.keys, noise_at_means=True))
        return [out[:, :, 0] for out in self._run(handles, 1)]

    def _dist(self, factor: str, row: int) -> Distribution:
        table = FACTOR_TABLE[factor]
        key = factor if table == "defaults" else self.prepared.factors.table(table)["key"][row]
        return self.dists.described[(factor, key)]


def _noise_kinds(noise: Mapping[str, Distribution] | None) -> list[str]:
    """Return the noise kinds given, refusing unknown ones as simulate does."""
    if noise is None:
        return []
    _noise_args(noise, [])  # the same checks and messages as simulate's
    return list(noise)


def _flags(inputs: list[_Input]) -> tuple[bool, bool, bool]:
    """Return which noise kinds ``inputs`` re-draw."""
    kinds = {i.noise for i in inputs if i.noise is not None}
    return (0 in kinds, 1 in kinds, 2 in kinds)


def _tails(dist: Distribution) -> list[float]:
    """Return the distribution's 5th and 95th percentiles."""
    levels = dist.quantile([0.05, 0.95])
    return levels if isinstance(levels, list) else [levels]


def _indices(
    ya: np.ndarray, yb: np.ndarray, yab: np.ndarray, n_boot: int, confidence: float, seed: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """First-order (Saltelli 2010) and total (Jansen 1999) indices, with bootstrap intervals."""

    def estimate(a: np.ndarray, b: np.ndarray, ab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        both = np.concatenate([a, b], axis=-1)
        variance = np.var(both, axis=-1, ddof=1)
        # Centred: the estimators' noise then scales with the spread, not the mean.
        centre = np.mean(both, axis=-1, keepdims=True)
        a, b, ab = a - centre, b - centre, ab - centre
        with np.errstate(divide="ignore", invalid="ignore"):
            first = np.mean(b * (ab - a), axis=-1) / variance
            total = 0.5 * np.mean((a - ab) ** 2, axis=-1) / variance
        return first, total

    first, total = (float(x) for x in estimate(ya, yb, yab))
    low = high = {"S1": (np.nan, np.nan), "ST": (np.nan, np.nan)}
    if n_boot:
        rng = np.random.default_rng(seed)
        pick = rng.integers(0, len(ya), size=(n_boot, len(ya)))
        boot_first, boot_total = estimate(ya[pick], yb[pick], yab[pick])
        tail = 100 * (1 - confidence) / 2
        low = {
            "S1": tuple(np.nanpercentile(boot_first, [tail, 100 - tail])),
            "ST": tuple(np.nanpercentile(boot_total, [tail, 100 - tail])),
        }
        high = low
    return (
        {"S1": first, "S1_low": low["S1"][0], "S1_high": high["S1"][1]},
        {"ST": total, "ST_low": low["ST"][0], "ST_high": high["ST"][1]},
    )
