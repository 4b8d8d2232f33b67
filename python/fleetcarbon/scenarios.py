"""What-if scenarios: named, composable changes of the factors or of the jobs.

A :class:`Scenario` is a list of steps, each a change of the factor tables (a
PUE, a lifetime, a grid intensity, any table row) or of the job records (moving
jobs to other regions or datacenters, replacing accelerators with a speedup,
shifting start times). :func:`fleetcarbon.sweep` runs scenarios side by side
with common random numbers (docs/scenarios.md).

Changing a factor's value keeps its relative uncertainty: the row's
``_low``/``_high`` bounds are scaled by the same ratio (clipped to the factor's
domain), unless ``(value, low, high)`` is given.
"""

from __future__ import annotations

import contextvars
import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from fleetcarbon.errors import FleetcarbonError, ParameterError
from fleetcarbon.factors import MISSING, Factors
from fleetcarbon.schema import (
    ACCELERATOR,
    DATACENTER,
    DURATION_H,
    END,
    FACTOR_DOMAINS,
    REGION,
    START,
)

__all__ = ["Scenario", "Value"]

#: A factor value: a number (bounds scaled to it) or ``(value, low, high)``.
Value = float | tuple[float, float, float]
#: A value for every row, or values by row key.
Values = Value | Mapping[str, Value]


@dataclass(frozen=True)
class _Step:
    """One change: a function of (jobs, factors), and what it may change."""

    describe: str
    apply: Callable[[pl.DataFrame, Factors], tuple[pl.DataFrame, Factors]]
    #: Changes the job records (so the jobs must be validated again).
    jobs: bool = False
    #: Changes the regions table or the grid series (so each job's grid scale may move).
    grid: bool = False


@dataclass(frozen=True, init=False)
class Scenario:
    """A named what-if: changes of the factors and of the jobs, applied in order.

    Parameters
    ----------
    name : str
        The scenario's name, unique within a sweep.
    pue : number, (value, low, high), or mapping of datacenter key to either
        The PUE of every datacenter, or of the datacenters named.
    lifetime_years, use_rate, power_fraction : number or (value, low, high)
        The global defaults of these parameters (docs/model.md §4.4).
    grid : mapping of region key to value, or pl.DataFrame
        Annual grid intensity by region (kgCO2e/kWh; the region's history is
        dropped, so the value holds for every year), or a grid series for
        :meth:`Factors.with_grid_series`.
    rows : mapping of table name to pl.DataFrame
        Rows for :meth:`Factors.with_rows` (any factor of any row).
    region, datacenter : mapping of old key to new key, or pl.Expr
        Move jobs: replace the jobs' ``region`` (``datacenter``) values, or
        compute the new value with an expression over the job columns.
    accelerator : mapping of old key to new key
        Replace accelerators. Replaced jobs are modelled (their metered
        ``energy_kwh`` and ``avg_power_w`` no longer apply, and are cleared).
    speedup : number or mapping of old key to number, default 1
        How much faster the new accelerator runs the same work: a replaced
        job's duration is divided by it (``counts="kept"``) or its
        accelerator count is (``counts="scaled"``).
    counts : {"kept", "scaled"}, default "kept"
    power_cap_w : number or mapping of accelerator key to number, optional
        Cap each accelerator's power at this many watts (every accelerator
        job, or those of the keys given). Where the cap binds (``tdp_w ×
        power_fraction`` above it), the card draws the cap and the job runs
        longer: duration × (uncapped ÷ cap) ** ``slowdown_exponent``.
        Metered energies of capped jobs are cleared (modelled instead).
    slowdown_exponent : float, default 1/3
        How runtime grows as the cap binds: 1/3 is the compute-bound limit of
        dynamic voltage and frequency scaling (power ∝ f³, so speed ∝
        power^(1/3)); memory-bound work slows less (towards 0).
    shift_h : number
        Move every job's ``start`` and ``end`` by this many hours (with grid
        series, the job then meets other hours of the grid).
    shift : {"cleanest"}, optional
        Move each job to the start within ``window_h`` hours after its own
        that gives its window the least carbon under the factors' grid series
        (found exactly, power flat over the window). Capacity is unlimited:
        every job may move to the same hour.
    window_h : number, default 24
        How far ``shift="cleanest"`` may delay a job; 0 leaves it in place.

    Examples
    --------
    >>> from fleetcarbon import Scenario
    >>> efficient = Scenario("PUE 1.1", pue=1.1)
    >>> longer = Scenario("6-year servers", lifetime_years=6)
    >>> both = efficient + longer
    >>> both.name
    'PUE 1.1 + 6-year servers'
    """

    name: str
    steps: tuple[_Step, ...] = field(default=(), repr=False)

    def __init__(
        self,
        name: str,
        *,
        pue: Values | None = None,
        lifetime_years: Value | None = None,
        use_rate: Value | None = None,
        power_fraction: Value | None = None,
        grid: Mapping[str, Value] | pl.DataFrame | None = None,
        rows: Mapping[str, pl.DataFrame] | None = None,
        region: Mapping[str, str] | pl.Expr | None = None,
        datacenter: Mapping[str, str] | pl.Expr | None = None,
        accelerator: Mapping[str, str] | None = None,
        speedup: float | Mapping[str, float] = 1.0,
        counts: str = "kept",
        power_cap_w: float | Mapping[str, float] | None = None,
        slowdown_exponent: float = 1 / 3,
        shift_h: float | None = None,
        shift: str | None = None,
        window_h: float = 24.0,
        _steps: tuple[_Step, ...] = (),
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ParameterError(f"a scenario needs a non-empty name, not {name!r}")
        steps = list(_steps)
        if pue is not None:
            steps.append(_factor_step("datacenters", "pue", pue))
        defaults = {"lifetime_years": lifetime_years, "use_rate": use_rate}
        defaults["power_fraction"] = power_fraction
        for parameter, value in defaults.items():
            if value is not None:
                steps.append(_default_step(parameter, value))
        if grid is not None:
            steps.append(_grid_step(grid))
        if rows is not None:
            steps.append(_rows_step(rows))
        for column, mapping in ((REGION, region), (DATACENTER, datacenter)):
            if mapping is not None:
                steps.append(_move_step(column, mapping))
        if accelerator is not None:
            steps.append(_hardware_step(accelerator, speedup, counts))
        elif speedup != 1.0 or counts != "kept":
            raise ParameterError(
                "speedup and counts apply to replaced accelerators: give accelerator"
            )
        if power_cap_w is not None:
            steps.append(_power_cap_step(power_cap_w, slowdown_exponent))
        elif slowdown_exponent != 1 / 3:
            raise ParameterError("slowdown_exponent applies to power_cap_w: give power_cap_w")
        if shift_h is not None:
            steps.append(_shift_step(shift_h))
        if shift is not None:
            steps.append(_cleanest_step(shift, window_h))
        elif window_h != 24.0:
            raise ParameterError("window_h applies to shift='cleanest': give shift")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "steps", tuple(steps))

    def __add__(self, other: Scenario) -> Scenario:
        """Return the scenario that applies this one's changes, then ``other``'s."""
        if not isinstance(other, Scenario):
            return NotImplemented
        return Scenario(f"{self.name} + {other.name}", _steps=self.steps + other.steps)

    @property
    def changes_jobs(self) -> bool:
        """Whether the scenario changes the job records (not only the factors)."""
        return any(s.jobs for s in self.steps)

    @property
    def changes_grid(self) -> bool:
        """Whether the scenario changes the regions table or the grid series."""
        return any(s.grid for s in self.steps)

    def describe(self) -> str:
        """Return the changes, one per line (``"no change"`` for a baseline)."""
        return "\n".join(s.describe for s in self.steps) or "no change"

    def apply(
        self, jobs: pl.DataFrame, factors: Factors, *, grid_year: str = "job"
    ) -> tuple[pl.DataFrame, Factors]:
        """Return the jobs and factors with the scenario's changes, in order.

        Neither input is modified. ``grid_year`` is the rule the jobs will be
        estimated under (``shift="cleanest"`` prices hours without series data
        by it).
        """
        token = _GRID_YEAR.set(grid_year)
        try:
            return self._apply(jobs, factors)
        finally:
            _GRID_YEAR.reset(token)

    def _apply(self, jobs: pl.DataFrame, factors: Factors) -> tuple[pl.DataFrame, Factors]:
        for step in self.steps:
            try:
                jobs, factors = step.apply(jobs, factors)
            except FleetcarbonError as exc:
                exc.args = (
                    f"scenario {self.name!r}: {exc.args[0] if exc.args else exc}",
                    *exc.args[1:],
                )
                raise
        return jobs, factors


# -- factor steps ----------------------------------------------------------------------


def _factor_step(table: str, factor: str, values: Values) -> _Step:
    def apply(jobs: pl.DataFrame, factors: Factors) -> tuple[pl.DataFrame, Factors]:
        frame = factors.table(table)
        keys = frame["key"].to_list()
        chosen = values if isinstance(values, Mapping) else dict.fromkeys(keys, values)
        unknown = sorted(set(chosen) - set(keys))
        if unknown:
            raise ParameterError(f"{factor}: no {table} row(s) {unknown}")
        old = frame.filter(pl.col("key").is_in(list(chosen)))
        rows = _with_values(old, factor, [chosen[k] for k in old["key"]])
        return jobs, factors.with_rows(**{table: rows})

    return _Step(f"{table}.{factor} = {_show(values)}", apply)


def _default_step(parameter: str, value: Value) -> _Step:
    def apply(jobs: pl.DataFrame, factors: Factors) -> tuple[pl.DataFrame, Factors]:
        old = factors.defaults.filter(pl.col("parameter") == parameter)
        rows = _with_values(
            old.rename(
                {"value": parameter, "low": f"{parameter}_low", "high": f"{parameter}_high"}
            ),
            parameter,
            [value],
        )
        rows = rows.rename(
            {parameter: "value", f"{parameter}_low": "low", f"{parameter}_high": "high"}
        )
        return jobs, factors.with_rows(defaults=rows.select("parameter", "value", "low", "high"))

    return _Step(f"defaults.{parameter} = {_show(value)}", apply)


def _grid_step(grid: Mapping[str, Value] | pl.DataFrame) -> _Step:
    if isinstance(grid, pl.DataFrame):
        series = grid

        def with_series(jobs: pl.DataFrame, factors: Factors) -> tuple[pl.DataFrame, Factors]:
            return jobs, factors.with_grid_series(series)

        return _Step(
            f"grid series of {series['region'].n_unique()} region(s)", with_series, grid=True
        )
    if not isinstance(grid, Mapping):
        raise ParameterError("grid must map region keys to values, or be a grid series frame")
    step = _factor_step("regions", "grid_kgco2e_per_kwh", dict(grid))
    return _Step(step.describe, step.apply, grid=True)


def _rows_step(rows: Mapping[str, pl.DataFrame]) -> _Step:
    tables = {"accelerators", "cpus", "regions", "datacenters", "defaults"}
    unknown = sorted(set(rows) - tables)
    if unknown:
        raise ParameterError(f"rows: no table(s) {unknown}; tables are {sorted(tables)}")
    given = dict(rows)

    def apply(jobs: pl.DataFrame, factors: Factors) -> tuple[pl.DataFrame, Factors]:
        return jobs, factors.with_rows(**given)

    listed = ", ".join(f"{t} ({f.height} rows)" for t, f in given.items())
    return _Step(f"rows of {listed}", apply, grid="regions" in given)


def _with_values(old: pl.DataFrame, factor: str, values: list[Value]) -> pl.DataFrame:
    """``old``'s key column with ``factor`` and its bounds set to ``values``."""
    domain = FACTOR_DOMAINS[factor]
    new_values, lows, highs = [], [], []
    low_col, high_col = f"{factor}_low", f"{factor}_high"
    for value, before, low, high in zip(
        values, old[factor], old[low_col], old[high_col], strict=True
    ):
        if isinstance(value, tuple):
            v, lo, hi = (_number(factor, x) for x in value)
        else:
            v = _number(factor, value)
            if low is None or high is None:  # a row without bounds keeps none
                new_values.append(v)
                lows.append(low)
                highs.append(high)
                continue
            ratio = v / before if before else math.nan
            lo = low * ratio if math.isfinite(ratio) else v
            hi = high * ratio if math.isfinite(ratio) else v
            lo, hi = max(min(lo, v), domain.low), min(max(hi, v), domain.high)
        new_values.append(v)
        lows.append(lo)
        highs.append(hi)
    return old.select(old.columns[0]).with_columns(
        pl.Series(factor, new_values, dtype=pl.Float64),
        pl.Series(low_col, lows, dtype=pl.Float64),
        pl.Series(high_col, highs, dtype=pl.Float64),
    )


def _number(what: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ParameterError(f"{what}: {value!r} is not a finite number")
    return float(value)


def _show(values: object) -> str:
    if isinstance(values, Mapping):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in values.items()) + "}"
    return repr(values)


# -- job steps -------------------------------------------------------------------------


#: The grid_year of the run a scenario is applied for (see Scenario.apply).
_GRID_YEAR: contextvars.ContextVar[str] = contextvars.ContextVar("grid_year", default="job")

_TABLE_OF = {REGION: "regions", DATACENTER: "datacenters", ACCELERATOR: "accelerators"}


def _canonical_jobs(jobs: pl.DataFrame, factors: Factors, column: str) -> pl.Series:
    """Return the jobs' keys in ``column`` as the table names them (aliases, case resolved).

    Keys the table does not know (``mix:`` keys, typos) are kept as written.
    """
    written = jobs[column].cast(pl.String)
    table = _TABLE_OF[column]
    rows = factors.keys.resolve(jobs.select(column), {column: table}, raise_unknown=False)[column]
    keys = factors.table(table)["key"]
    named = keys.gather(rows.fill_null(0)).set(rows.is_null(), None)
    return pl.Series(column, named).fill_null(written)


def _canonical_keys(factors: Factors, table: str, names: list[str]) -> dict[str, str]:
    """Each of ``names`` as the table names it (an unknown name is kept)."""
    column = {v: k for k, v in _TABLE_OF.items()}[table]
    frame = pl.DataFrame({column: names}, schema={column: pl.String})
    return dict(zip(names, _canonical_jobs(frame, factors, column).to_list(), strict=True))


def _move_step(column: str, mapping: Mapping[str, str] | pl.Expr) -> _Step:
    if isinstance(mapping, pl.Expr):
        expr = mapping

        def by_rule(jobs: pl.DataFrame, factors: Factors) -> tuple[pl.DataFrame, Factors]:
            return jobs.with_columns(expr.cast(pl.String).alias(column)), factors

        return _Step(f"{column} by a rule", by_rule, jobs=True)
    if not isinstance(mapping, Mapping):
        raise ParameterError(f"{column} must map old keys to new ones, or be a polars expression")
    pairs = {str(k): str(v) for k, v in mapping.items()}

    def by_map(jobs: pl.DataFrame, factors: Factors) -> tuple[pl.DataFrame, Factors]:
        if column not in jobs.columns:
            raise ParameterError(f"the jobs have no {column!r} column to move")
        # Matched as the engine matches keys: aliases and case resolved on both sides.
        canonical = _canonical_keys(factors, _TABLE_OF[column], list(pairs))
        wanted = {canonical[k]: v for k, v in pairs.items()}
        keys = _canonical_jobs(jobs, factors, column)
        moved = pl.when(pl.lit(keys.is_in(list(wanted)))).then(pl.lit(keys.replace(wanted)))
        return jobs.with_columns(
            moved.otherwise(pl.col(column).cast(pl.String)).alias(column)
        ), factors

    return _Step(f"{column} {_show(pairs)}", by_map, jobs=True)


#: Per-job columns that describe the card a job ran on: cleared when it is replaced.
_OLD_CARD_COLUMNS = tuple(
    f"{c}{suffix}"
    for c in ("energy_kwh", "avg_power_w", "tdp_w", "host_power_w", "accelerator_embodied_kgco2e")
    for suffix in ("", "_low", "_high")
)


def _hardware_step(
    accelerator: Mapping[str, str], speedup: float | Mapping[str, float], counts: str
) -> _Step:
    if counts not in ("kept", "scaled"):
        raise ParameterError(f"counts must be 'kept' or 'scaled', not {counts!r}")
    pairs = {str(k): str(v) for k, v in accelerator.items()}
    speedups = dict(speedup) if isinstance(speedup, Mapping) else dict.fromkeys(pairs, speedup)
    unknown = sorted(set(speedups) - set(pairs))
    if unknown:
        raise ParameterError(f"speedup for accelerator(s) {unknown} that are not replaced")
    for old, s in speedups.items():
        if _number(f"speedup of {old}", s) <= 0:
            raise ParameterError(f"speedup of {old} must be > 0, not {s}")

    def apply(jobs: pl.DataFrame, factors: Factors) -> tuple[pl.DataFrame, Factors]:
        if ACCELERATOR not in jobs.columns:
            raise ParameterError("the jobs have no 'accelerator' column to replace")
        canonical = _canonical_keys(factors, "accelerators", list(pairs))
        new_of = {canonical[k]: v for k, v in pairs.items()}
        speed_of = {canonical[k]: float(v) for k, v in speedups.items()}
        keys = _canonical_jobs(jobs, factors, ACCELERATOR)
        hit = keys.is_in(list(new_of)).fill_null(False)
        replaced = pl.lit(hit)
        # Each job's speedup, read before its accelerator is replaced.
        speed = keys.replace_strict(speed_of, default=1.0, return_dtype=pl.Float64).fill_null(1.0)
        changes = [
            pl.when(replaced)
            .then(pl.lit(keys.replace(new_of)))
            .otherwise(pl.col(ACCELERATOR).cast(pl.String))
            .alias(ACCELERATOR)
        ]
        # The old card's measured values and per-job figures do not carry over.
        changes += [
            pl.when(replaced).then(None).otherwise(pl.col(c)).alias(c)
            for c in _OLD_CARD_COLUMNS
            if c in jobs.columns
        ]
        if counts == "scaled":
            changes.append((pl.col("accelerator_count") / pl.lit(speed)).alias("accelerator_count"))
            return jobs.with_columns(changes), factors
        hours = jobs.select(_hours(jobs)).to_series() / speed
        return _with_hours(jobs.with_columns(changes), pl.lit(hours)), factors

    return _Step(
        f"accelerator {_show(pairs)}, speedup {_show(speedups)}, counts {counts}", apply, jobs=True
    )


def _power_cap_step(cap: float | Mapping[str, float], exponent: float) -> _Step:
    caps = dict(cap) if isinstance(cap, Mapping) else None
    for where, value in (caps or {"every accelerator": cap}).items():  # type: ignore[dict-item]
        if _number(f"power_cap_w of {where}", value) <= 0:
            raise ParameterError(f"power_cap_w of {where} must be > 0, not {value}")
    alpha = _number("slowdown_exponent", exponent)
    if not 0 <= alpha <= 1:
        raise ParameterError(f"slowdown_exponent must lie in [0, 1], not {exponent}")

    def apply(jobs: pl.DataFrame, factors: Factors) -> tuple[pl.DataFrame, Factors]:
        if ACCELERATOR not in jobs.columns:
            raise ParameterError("power_cap_w needs an 'accelerator' column")
        table = factors.accelerators.select("key", "tdp_w")
        if caps is not None:
            unknown = sorted(set(caps) - set(table["key"]))
            if unknown:
                raise ParameterError(f"power_cap_w: no accelerators row(s) {unknown}")
            table = table.filter(pl.col("key").is_in(list(caps))).with_columns(
                cap=pl.col("key").replace_strict(caps, return_dtype=pl.Float64)
            )
        else:
            table = table.with_columns(cap=pl.lit(float(cap)))  # type: ignore[arg-type]
        defaults = factors.defaults.filter(pl.col("parameter") == "power_fraction")
        fraction = pl.col("power_fraction") if "power_fraction" in jobs.columns else None
        default_fraction = float(defaults["value"][0])
        keyed = pl.DataFrame({"key": _canonical_jobs(jobs, factors, ACCELERATOR)}).join(
            table, on="key", how="left", maintain_order="left"
        )
        tdp = keyed["tdp_w"]
        if "tdp_w" in jobs.columns:  # a per-job TDP override is the job's TDP
            tdp = jobs["tdp_w"].cast(pl.Float64).fill_null(tdp)
        pf = jobs.select(
            (fraction.cast(pl.Float64) if fraction is not None else pl.lit(None, pl.Float64))
            .fill_null(default_fraction)
            .alias("pf")
        )["pf"]
        uncapped = tdp * pf
        # Only modelled accelerator jobs: a metered or measured draw is what it was.
        modelled = pl.Series(np.ones(jobs.height, dtype=bool))
        for c in ("energy_kwh", "avg_power_w"):
            if c in jobs.columns:
                modelled &= jobs[c].is_null()
        if "accelerator_count" in jobs.columns:
            modelled &= (jobs["accelerator_count"].cast(pl.Float64) > 0).fill_null(False)
        binds = (keyed["cap"].is_not_null() & (uncapped > keyed["cap"])).fill_null(False) & modelled
        slowdown = (uncapped / keyed["cap"]).pow(alpha)
        capped_fraction = keyed["cap"] / tdp
        changes = [
            pl.when(pl.lit(binds))
            .then(pl.lit(capped_fraction))
            .otherwise(pl.col("power_fraction") if fraction is not None else None)
            .alias("power_fraction")
        ]
        # A binding cap fixes the draw: per-job bounds of the old fraction no longer apply.
        changes += [
            pl.when(pl.lit(binds)).then(None).otherwise(pl.col(c)).alias(c)
            for c in ("power_fraction_low", "power_fraction_high")
            if c in jobs.columns
        ]
        hours = jobs.select(_hours(jobs)).to_series()
        longer = pl.Series(binds).cast(pl.Float64) * (slowdown.fill_null(1.0) - 1.0) + 1.0
        return _with_hours(jobs.with_columns(changes), pl.lit(hours * longer)), factors

    shown = _show(caps) if caps is not None else f"{cap} W"
    return _Step(f"power cap {shown}, slowdown exponent {alpha:.3g}", apply, jobs=True)


def _shift_step(hours: float) -> _Step:
    shift = _number("shift_h", hours)

    def apply(jobs: pl.DataFrame, factors: Factors) -> tuple[pl.DataFrame, Factors]:
        by = pl.duration(microseconds=round(shift * 3.6e9))
        moved = [pl.col(c) + by for c in (START, END) if c in jobs.columns]
        if not moved:
            raise ParameterError("shift_h needs a 'start' column")
        return jobs.with_columns(moved), factors

    return _Step(f"start and end shifted by {shift:+g} h", apply, jobs=True)


def _cleanest_step(shift: str, window_h: float) -> _Step:
    if shift != "cleanest":
        raise ParameterError(f"shift must be 'cleanest', not {shift!r} (shift_h moves by hours)")
    window = _number("window_h", window_h)
    if window < 0:
        raise ParameterError(f"window_h must be >= 0, not {window_h}")

    def apply(jobs: pl.DataFrame, factors: Factors) -> tuple[pl.DataFrame, Factors]:
        from fleetcarbon.validation import prepare_jobs  # validation imports the factors

        grid = factors.grid_series
        if grid is None:
            raise ParameterError("shift='cleanest' needs factors with grid series")
        if START not in jobs.columns:
            raise ParameterError("shift='cleanest' needs a 'start' column")
        windows = prepare_jobs(jobs, factors, grid_year=_GRID_YEAR.get()).windows  # type: ignore[arg-type]
        if windows is None:
            return jobs, factors
        delay = np.where(windows.series != MISSING, round(window * 3.6e9), 0).astype(np.int64)
        best = grid.engine.cleanest_starts(
            windows.series, windows.start_us, windows.end_us, windows.annual, delay
        )
        by = pl.duration(microseconds=pl.lit(pl.Series(best - windows.start_us)))
        moved = [pl.col(c) + by for c in (START, END) if c in jobs.columns]
        return jobs.with_columns(moved), factors

    described = f"cleanest start within {window:g} h (power flat, capacity unlimited)"
    return _Step(described, apply, jobs=True)


def _hours(jobs: pl.DataFrame) -> pl.Expr:
    """Each job's hours, as ``estimate`` reads them: ``duration_h``, else end − start."""
    from_window = (
        (pl.col(END) - pl.col(START)).dt.total_microseconds() / 3.6e9
        if START in jobs.columns and END in jobs.columns
        else pl.lit(None, dtype=pl.Float64)
    )
    if DURATION_H in jobs.columns:
        return pl.coalesce(pl.col(DURATION_H).cast(pl.Float64), from_window)
    return from_window


def _with_hours(jobs: pl.DataFrame, hours: pl.Expr) -> pl.DataFrame:
    """Set each job's hours, keeping ``end = start + hours`` where the job has a window."""
    out = jobs.with_columns(hours.alias("__fc_hours"))
    changes = []
    if DURATION_H in jobs.columns or START not in jobs.columns:
        changes.append(pl.col("__fc_hours").alias(DURATION_H))
    if START in jobs.columns and END in jobs.columns:
        micros = (pl.col("__fc_hours") * 3.6e9).round().cast(pl.Int64)
        end = pl.col(START) + pl.duration(microseconds=micros)
        changes.append(
            pl.when(pl.col(END).is_not_null()).then(end).otherwise(pl.col(END)).alias(END)
        )
    return out.with_columns(changes).drop("__fc_hours")
