"""Scenario sweeps with common random numbers: what each what-if changes, and how surely.

Every scenario is simulated with the same seed, so each shared factor row and
each job's noise take the same random numbers in every scenario (their streams
are keyed by row and job, docs/uncertainty.md). The differences to the
baseline are then taken draw by draw: a scenario equal to the baseline differs
by exactly 0 in every draw, and the interval of a difference is that of the
difference, not of two independent runs' noise (docs/scenarios.md).

Scenarios that change only factor values (not the jobs, nor the grid a job
meets) share one reduction of the jobs in the core
(:func:`fleetcarbon._core.simulate_scenarios`); the others are run one by one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypedDict, overload

import numpy as np
import polars as pl

from fleetcarbon import _core
from fleetcarbon.conventions import Convention, CpuAttribution, resolve_convention
from fleetcarbon.errors import FleetcarbonError, MissingColumnError, ParameterError
from fleetcarbon.estimate import strip_outputs
from fleetcarbon.factors import Factors, resolve_factors
from fleetcarbon.frames import collect_jobs, group_index
from fleetcarbon.grid_years import GridYear, check_grid_year
from fleetcarbon.parameters import check_by, check_int, check_quantiles, check_threads
from fleetcarbon.quantiles import quantile_name
from fleetcarbon.scenarios import Scenario
from fleetcarbon.schema import FACTOR_TABLE, table_column
from fleetcarbon.simulate import _job_keys, _seed, _uncertainty
from fleetcarbon.simulation_frames import METRICS
from fleetcarbon.uncertainty import Distribution
from fleetcarbon.validation import PreparedJobs, prepare_jobs

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["SweepResult", "sweep"]

BASELINE = "baseline"


@dataclass(frozen=True)
class SweepResult:
    """A sweep's summary and its paired draws (:func:`sweep` with ``return_draws=True``).

    Attributes
    ----------
    summary : pl.DataFrame
        One row per scenario × group, as :func:`sweep` returns it.
    draws : pl.DataFrame
        ``scenario``, the group columns, ``draw``, each metric and its
        ``<metric>_diff`` to the baseline in that draw, and ``seed``.
    """

    summary: pl.DataFrame
    draws: pl.DataFrame


@dataclass(frozen=True)
class _Arrays:
    """The per-job arrays every core call of a sweep takes."""

    job_keys: np.ndarray
    group: np.ndarray
    n_groups: int


@dataclass(frozen=True)
class _Run:
    """One scenario's results: group sums of the estimate and the group draws."""

    name: str
    changes: str
    version: str
    point: np.ndarray  # (groups, metrics)
    draws: np.ndarray  # (groups, metrics, draws)


class SweepOptions(TypedDict, total=False):
    """The keyword options of :func:`sweep` (all optional)."""

    by: str | Sequence[str] | None
    draws: int
    seed: int | None
    quantiles: Sequence[float]
    baseline: str | Scenario
    distributions: Mapping[str | tuple[str, str], Distribution] | None
    correlation: Mapping[str | tuple[str, str], float] | None
    noise: Mapping[str, Distribution] | None
    convention: str | Convention
    cpu_attribution: CpuAttribution | None
    grid_year: GridYear
    threads: int | None


#: The default of every option.
DEFAULTS: dict[str, Any] = {
    "by": None,
    "draws": 1_000,
    "seed": None,
    "quantiles": (0.05, 0.5, 0.95),
    "baseline": BASELINE,
    "distributions": None,
    "correlation": None,
    "noise": None,
    "convention": "fleetcarbon",
    "cpu_attribution": None,
    "grid_year": "job",
    "threads": None,
}
assert set(DEFAULTS) == set(SweepOptions.__annotations__), "one entry per option"


@overload
def sweep(
    jobs: pl.DataFrame | pl.LazyFrame,
    scenarios: Sequence[Scenario],
    factors: Factors | None = ...,
    *,
    return_draws: Literal[False] = ...,
    **options: Unpack[SweepOptions],
) -> pl.DataFrame: ...
@overload
def sweep(
    jobs: pl.DataFrame | pl.LazyFrame,
    scenarios: Sequence[Scenario],
    factors: Factors | None = ...,
    *,
    return_draws: Literal[True],
    **options: Unpack[SweepOptions],
) -> SweepResult: ...
def sweep(
    jobs: pl.DataFrame | pl.LazyFrame,
    scenarios: Sequence[Scenario],
    factors: Factors | None = None,
    *,
    return_draws: bool = False,
    **options: Unpack[SweepOptions],
) -> pl.DataFrame | SweepResult:
    """Run scenarios side by side, with common random numbers, against a baseline.

    Parameters
    ----------
    jobs : pl.DataFrame or pl.LazyFrame
        Job records, as for :func:`fleetcarbon.estimate`. They must all be
        valid (a sweep compares the same jobs in every scenario).
    scenarios : sequence of Scenario
        The what-ifs (:class:`fleetcarbon.Scenario`), with unique names.
    factors : Factors, optional
        The baseline factor tables (default: the bundled ones).
    by : str or sequence of str, optional
        Grouping columns, read from the jobs as given: a scenario that moves
        jobs to another region keeps them in their group.
    draws : int, default 1000
        Monte Carlo draws, the same in every scenario.
    seed : int, optional
        Seed (default: random, and reported in the ``seed`` column).
    quantiles : sequence of float, default (0.05, 0.5, 0.95)
        Quantiles of each metric and of each difference.
    baseline : str or Scenario, default "baseline"
        The scenario the others are compared with: the name of one of
        ``scenarios``, or a Scenario. The default ``"baseline"``, when no
        scenario has that name, is the jobs and factors as given.
    return_draws : bool, default False
        Also return the paired draws (a :class:`SweepResult`).
    distributions, correlation, noise
        As for :func:`fleetcarbon.simulate`, the same in every scenario.
    convention, cpu_attribution, grid_year, threads
        As for :func:`fleetcarbon.simulate`.

    Returns
    -------
    pl.DataFrame or SweepResult
        One row per scenario × group (the baseline first, then ``scenarios``
        in order): ``scenario``, the group columns, ``changes`` (what the
        scenario changes, one line each: :meth:`Scenario.describe`), ``jobs``, ``draws``,
        ``seed``, ``factors_version``, and for each of ``it_energy_kwh``,
        ``operational_kgco2e``, ``embodied_kgco2e`` and ``total_kgco2e``: the
        deterministic value (``<metric>``), ``<metric>_mean``, ``_std``,
        ``_se_mean`` and a column per quantile (``<metric>_p05``); the
        difference to the baseline, deterministic (``<metric>_diff``) and over
        the paired draws (``_diff_mean``, ``_diff_std``, ``_diff_se_mean``,
        ``_diff_p05``...); and ``<metric>_p_lower``, the share of draws in
        which the scenario is lower than the baseline.

    Examples
    --------
    >>> import fleetcarbon as fc
    >>> jobs = fc.synthetic_fleet(1000, seed=1)
    >>> out = fc.sweep(jobs, [fc.Scenario("PUE 1.1", pue=1.1)], draws=200, seed=3)
    >>> out["scenario"].to_list()
    ['baseline', 'PUE 1.1']
    >>> out["total_kgco2e_diff_std"][0]
    0.0
    """
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise TypeError(f"unexpected keyword argument(s) {unknown}; options are {list(DEFAULTS)}")
    o: dict[str, Any] = {**DEFAULTS, **options}
    frame = strip_outputs(collect_jobs(jobs))
    factors = resolve_factors(factors)
    threads = check_threads(o["threads"])
    n_draws = check_int("draws", o["draws"], low=2)
    qs = check_quantiles(o["quantiles"])
    by_columns = check_by(o["by"])
    missing = [c for c in by_columns if c not in frame.columns]
    if missing:
        raise MissingColumnError(f"sweep: grouping column(s) {missing} are not in the jobs")
    if frame.height == 0:
        raise FleetcarbonError("sweep() needs at least one job")
    runs_of = _scenario_list(scenarios, o["baseline"])
    context = _Context(
        frame=frame,
        factors=factors,
        convention=resolve_convention(o["convention"], o["cpu_attribution"]),
        grid_year=check_grid_year(o["grid_year"]),
        threads=threads,
        options={k: o[k] for k in ("distributions", "correlation", "noise")},
        seed=_seed(o["seed"]),
        draws=n_draws,
    )
    group, keys = group_index(frame, by_columns)
    n_groups = max(keys.height, 1) if by_columns else 1
    runs = context.run(runs_of, group, n_groups)
    summary = _summary(runs, keys, by_columns, group, n_groups, qs, context.seed)
    if not return_draws:
        return summary
    return SweepResult(summary=summary, draws=_draws(runs, keys, by_columns, context.seed))


def _scenario_list(scenarios: Sequence[Scenario], baseline: str | Scenario) -> list[Scenario]:
    """Return the baseline first, then the other scenarios; names must be unique."""
    if isinstance(scenarios, Scenario) or not isinstance(scenarios, Sequence):
        raise ParameterError("scenarios must be a sequence of Scenario")
    listed = list(scenarios)
    bad = [s for s in listed if not isinstance(s, Scenario)]
    if bad:
        raise ParameterError(f"scenarios must be Scenario objects, got {bad[0]!r}")
    if isinstance(baseline, Scenario):
        listed = [baseline, *[s for s in listed if s is not baseline]]
    elif isinstance(baseline, str):
        named = [s for s in listed if s.name == baseline]
        if named:
            listed = [named[0], *[s for s in listed if s is not named[0]]]
        elif baseline == BASELINE:
            listed = [Scenario(BASELINE), *listed]
        else:
            raise ParameterError(f"baseline {baseline!r} is not the name of a scenario")
    else:
        raise ParameterError(f"baseline must be a scenario name or a Scenario, not {baseline!r}")
    names = [s.name for s in listed]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ParameterError(f"scenario names must be unique; repeated: {duplicated}")
    return listed


@dataclass(frozen=True)
class _Context:
    """What every scenario of a sweep shares."""

    frame: pl.DataFrame
    factors: Factors
    convention: Convention
    grid_year: GridYear
    threads: int | None
    options: dict[str, Any]
    seed: int
    draws: int

    def prepare(self, frame: pl.DataFrame, factors: Factors, name: str) -> PreparedJobs:
        try:
            return prepare_jobs(
                frame,
                factors,
                on_invalid="raise",
                convention=self.convention,
                grid_year=self.grid_year,
                threads=self.threads,
            )
        except FleetcarbonError as exc:
            raise _in_scenario(exc, name) from None

    def run(self, scenarios: list[Scenario], group: np.ndarray, n_groups: int) -> list[_Run]:
        base = self.prepare(self.frame, self.factors, scenarios[0].name)
        job_keys = _job_keys(self.frame)
        applied = [
            (s, *s.apply(self.frame, self.factors, grid_year=self.grid_year)) for s in scenarios
        ]
        for s, _, f in applied:
            _refuse_overridden_changes(s, self.factors, f, self.options["distributions"])
        # The shared reduction needs the same rows for every job: no new keys, no new links.
        same = [
            not (s.changes_jobs or s.changes_grid) and self.factors.has_same_rows(f)
            for s, _, f in applied
        ]
        shared = [(s, f) for (s, _, f), ok in zip(applied, same, strict=True) if ok]
        own = [(s, j, f) for (s, j, f), ok in zip(applied, same, strict=True) if not ok]
        runs: dict[str, _Run] = {}
        arrays = _Arrays(job_keys, group, n_groups)
        if shared:
            # The baseline's job buffers serve every factor-only scenario: same rows.
            mixes = list(base.factors.mixes)
            tables = [f.with_mixes(mixes) if mixes else f for _, f in shared]
            runs.update(self._simulate(base, tables, [s for s, _ in shared], arrays))
        for s, jobs_s, factors_s in own:
            prepared = self.prepare(jobs_s, factors_s, s.name)
            if prepared.frame.height != self.frame.height:
                raise FleetcarbonError(f"scenario {s.name!r} changed the number of jobs")
            # The same core path as the shared scenarios, so that differences
            # of deterministic totals are as exact as those of the draws.
            runs.update(self._simulate(prepared, [prepared.factors], [s], arrays))
        return [runs[s.name] for s in scenarios]

    def _simulate(
        self,
        prepared: PreparedJobs,
        tables: list[Factors],
        scenarios: list[Scenario],
        arrays: _Arrays,
    ) -> dict[str, _Run]:
        """Run ``scenarios`` (factors ``tables``) on ``prepared``'s jobs in one core call."""
        flats, points = _core.simulate_scenarios(
            prepared.jobs,
            [t.engine for t in tables],
            [_uncertainty(t, prepared.frame, self.options) for t in tables],
            job_keys=arrays.job_keys,
            group=arrays.group,
            n_groups=arrays.n_groups,
            seed=self.seed,
            draws=self.draws,
            points=True,
            threads=self.threads,
        )
        assert points is not None
        shape = (arrays.n_groups, len(METRICS))
        return {
            s.name: _Run(
                s.name,
                s.describe(),
                t.version,
                np.asarray(point).reshape(shape),
                np.asarray(flat).reshape(*shape, self.draws),
            )
            for s, t, flat, point in zip(scenarios, tables, flats, points, strict=True)
        }


def _refuse_overridden_changes(
    scenario: Scenario,
    base: Factors,
    other: Factors,
    distributions: Mapping[str | tuple[str, str], Distribution] | None,
) -> None:
    """Refuse a scenario that changes a factor whose distribution ``distributions`` fixes.

    The given distribution would replace the scenario's new value in every
    draw, so the draws would not see the change.
    """
    if not distributions:
        return
    for target in distributions:
        factor, row = (target, None) if isinstance(target, str) else target
        table = FACTOR_TABLE.get(factor)
        if table is None:
            continue
        if table == "defaults":
            pick = pl.col("parameter") == factor
            old, new = base.defaults.filter(pick)["value"], other.defaults.filter(pick)["value"]
        else:
            column = table_column(factor)
            old_t, new_t = base.table(table), other.table(table)
            if row is not None:
                old_t, new_t = old_t.filter(key=row), new_t.filter(key=row)
            joined = old_t.select("key", column).join(
                new_t.select("key", column), on="key", how="full", suffix="_new"
            )
            old, new = joined[column], joined[f"{column}_new"]
        if not old.equals(new):
            raise ParameterError(
                f"scenario {scenario.name!r} changes {factor!r}, whose distribution "
                f"distributions={{{target!r}: ...}} replaces in every draw: the draws would "
                "not see the change; leave that distribution out of the sweep (the table's "
                "bounds then give the changed value its uncertainty)"
            )


def _in_scenario(exc: FleetcarbonError, name: str) -> FleetcarbonError:
    """``exc`` with the scenario's name in front of its message."""
    exc.args = (f"scenario {name!r}: {exc.args[0] if exc.args else exc}", *exc.args[1:])
    return exc


def _summary(
    runs: list[_Run],
    keys: pl.DataFrame,
    by: list[str],
    group: np.ndarray,
    n_groups: int,
    qs: list[float],
    seed: int,
) -> pl.DataFrame:
    base = runs[0]
    counts = np.bincount(group, minlength=n_groups).astype(np.int64)
    frames = []
    for run in runs:
        out: dict[str, Any] = {
            "scenario": [run.name] * n_groups,
            "changes": [run.changes] * n_groups,
            "jobs": counts,
            "draws": np.full(n_groups, base.draws.shape[-1], dtype=np.int64),
            "seed": pl.Series([seed] * n_groups, dtype=pl.UInt64),
            "factors_version": [run.version] * n_groups,
        }
        diff = run.draws - base.draws
        level_stats, diff_stats = _stats(run.draws, qs), _stats(diff, qs)
        for k, m in enumerate(METRICS):
            out[m] = run.point[:, k]
            out.update({f"{m}_{s}": v[:, k] for s, v in level_stats.items()})
            out[f"{m}_diff"] = run.point[:, k] - base.point[:, k]
            out.update({f"{m}_diff_{s}": v[:, k] for s, v in diff_stats.items()})
            out[f"{m}_p_lower"] = (diff[:, k, :] < 0).mean(axis=-1)
        summary = pl.DataFrame(out)
        frames.append(keys.hstack(summary) if by else summary)
    result = pl.concat(frames)
    order = ["scenario", *by]
    return result.select(*order, pl.exclude(order))


def _stats(draws: np.ndarray, qs: list[float]) -> dict[str, np.ndarray]:
    """Mean, std, standard error of the mean and quantiles of each (group, metric) row."""
    n_groups, n_metrics, n = draws.shape
    flat = np.ascontiguousarray(draws, dtype=np.float64).reshape(-1)
    means, stds, quantiles, _ = _core.summarize_draws(flat, n, qs)
    shape = (n_groups, n_metrics)
    std = np.asarray(stds).reshape(shape)
    out = {"mean": np.asarray(means).reshape(shape), "std": std, "se_mean": std / math.sqrt(n)}
    levels = np.asarray(quantiles).reshape(*shape, len(qs))
    for j, q in enumerate(qs):
        out[quantile_name(q)] = levels[:, :, j]
    return out


def _draws(runs: list[_Run], keys: pl.DataFrame, by: list[str], seed: int) -> pl.DataFrame:
    base = runs[0].draws
    n_groups, _, n = base.shape
    frames = []
    for run in runs:
        columns: dict[str, Any] = {
            "scenario": [run.name] * (n_groups * n),
            "draw": np.tile(np.arange(n, dtype=np.int64), n_groups),
        }
        for k, m in enumerate(METRICS):
            columns[m] = run.draws[:, k, :].reshape(-1)
            columns[f"{m}_diff"] = (run.draws[:, k, :] - base[:, k, :]).reshape(-1)
        frame = pl.DataFrame(columns).with_columns(seed=pl.lit(seed, dtype=pl.UInt64))
        if by:
            rows = keys.select(pl.all().gather(np.repeat(np.arange(n_groups), n)))
            frame = frame.select("scenario").hstack(rows).hstack(frame.drop("scenario"))
        frames.append(frame)
    return pl.concat(frames)
