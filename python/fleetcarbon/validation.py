"""Validate job records and turn them into the core's :class:`_core.Jobs` handle.

All row checks are Polars expressions evaluated in a single aggregate pass;
details (counts, first examples) are only computed for checks that fail. Key
columns are resolved to table rows by the factor tables' own
:class:`~fleetcarbon.factors.keys.KeyIndex`.
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from fleetcarbon import _core
from fleetcarbon.conventions import Convention, resolve_convention
from fleetcarbon.errors import (
    AbsurdValueWarning,
    ColumnNameWarning,
    DroppedRowsWarning,
    DuplicateJobError,
    InvalidValueError,
    MissingColumnError,
    SchemaError,
    UnknownKeyError,
)
from fleetcarbon.factors import MISSING, Factors
from fleetcarbon.factors.mixes import with_job_mixes
from fleetcarbon.grid_windows import GridColumns, Windows, apply_grid_time
from fleetcarbon.grid_years import GridYear
from fleetcarbon.parameters import OnInvalid, check_on_invalid
from fleetcarbon.plausibility import warn_hardware_dates, warn_unit_mistakes
from fleetcarbon.power_profiles import Profiles, job_profiles
from fleetcarbon.schema import (
    ACCELERATOR,
    ACCELERATOR_COUNT,
    AVG_POWER_W,
    CPU,
    CPU_CORES,
    CPU_TIME_H,
    DATACENTER,
    DURATION_H,
    END,
    ENERGY_KWH,
    FACTOR_DOMAINS,
    FACTOR_NAMES,
    JOB_ID,
    KEY_COLUMNS,
    MEMORY_GB,
    QUANTITY_COLUMNS,
    QUANTITY_PLAUSIBLE_HIGH,
    REGION,
    START,
)

#: Internal column names of the working frame (never collide with user columns).
ROW = "__fc_row_{}"
HOURS = "__fc_duration_h"
N_EXAMPLES = 5


@dataclass
class PreparedJobs:
    """Validated jobs: the (possibly filtered) input frame and the core's handle."""

    frame: pl.DataFrame
    jobs: _core.Jobs
    duration_h: pl.Series
    #: The numpy buffers behind ``jobs`` (the keyword arguments of ``_core.Jobs``).
    buffers: dict[str, Any]
    #: The tables the jobs' rows index: the ones given, plus a row per mix key
    #: (:mod:`fleetcarbon.factors.mixes`) the jobs name.
    factors: Factors
    #: What the jobs met of the factors' grid series (None without series).
    grid: GridColumns | None = None
    #: The jobs' power profiles (None when no job gives one).
    profiles: Profiles | None = None
    #: Each job's run window, grid series and annual value (None without series).
    windows: Windows | None = None


@dataclass(frozen=True)
class _Check:
    column: str
    bad: pl.Expr
    problem: str
    #: Covered by the fast path (null counts and the Rust domain scan).
    scanned: bool = False


def _is_numeric(dtype: pl.DataType) -> bool:
    return dtype.is_numeric() or dtype == pl.Null


def _is_key(dtype: pl.DataType) -> bool:
    return dtype in (pl.String, pl.Null) or isinstance(dtype, (pl.Categorical, pl.Enum))


def check_schema(frame: pl.DataFrame) -> None:
    """Check that required columns exist and that every canonical column has a usable dtype."""
    cols = set(frame.columns)
    misses = near_misses(frame.columns)
    hint = "".join(f"; column '{c}' looks like '{t}'" for c, t in misses.items())
    if JOB_ID not in cols:
        raise MissingColumnError(f"missing required column '{JOB_ID}'{hint}")
    if DURATION_H not in cols and not {START, END} <= cols:
        raise MissingColumnError(
            f"missing duration: give '{DURATION_H}' or both '{START}' and '{END}'{hint}"
        )
    if not cols & {REGION, DATACENTER, "grid_kgco2e_per_kwh"}:
        raise MissingColumnError(
            f"missing location: give '{REGION}', '{DATACENTER}' or 'grid_kgco2e_per_kwh'{hint}"
        )
    if not cols & {ACCELERATOR_COUNT, CPU_CORES, MEMORY_GB, ENERGY_KWH, AVG_POWER_W}:
        raise MissingColumnError(
            "no hardware or energy column: give accelerator_count (with accelerator), "
            f"cpu_cores, memory_gb, energy_kwh or avg_power_w{hint}"
        )
    if ACCELERATOR in cols and ACCELERATOR_COUNT not in cols:
        raise MissingColumnError(f"'{ACCELERATOR}' is given without '{ACCELERATOR_COUNT}'")
    schema = frame.schema
    if not (schema[JOB_ID].is_integer() or _is_key(schema[JOB_ID])) or schema[JOB_ID] == pl.Null:
        raise SchemaError(
            f"column '{JOB_ID}' must be an integer or string id, not {schema[JOB_ID]}"
        )
    for c in (*QUANTITY_COLUMNS, *FACTOR_NAMES):
        if c in cols and not _is_numeric(schema[c]):
            raise SchemaError(f"column '{c}' must be numeric, got {schema[c]}")
    for c in KEY_COLUMNS:
        if c in cols and not _is_key(schema[c]):
            raise SchemaError(f"column '{c}' must hold string keys, got {schema[c]}")
    for c in (START, END):
        if c in cols and not isinstance(schema[c], pl.Datetime):
            raise SchemaError(f"column '{c}' must be a Datetime, got {schema[c]}")
    if {START, END} <= cols:
        tz = {_time_zone(schema[START]) is None, _time_zone(schema[END]) is None}
        if len(tz) == 2:
            raise SchemaError(f"'{START}' and '{END}' must both be time-zone aware, or both naive")
    _warn_near_miss_columns(frame.columns)


#: Every column name the engine reads.
CANONICAL_COLUMNS = frozenset(
    {JOB_ID, START, END, *QUANTITY_COLUMNS, *KEY_COLUMNS, ACCELERATOR_COUNT, *FACTOR_NAMES}
)


#: Unit words written out, and the abbreviation the canonical names use.
_UNIT_WORDS = {
    "hours": "h",
    "hour": "h",
    "hrs": "h",
    "hr": "h",
    "watts": "w",
    "watt": "w",
    "kilowatthours": "kwh",
    "gigabytes": "gb",
    "gib": "gb",
}


def _fold(name: str) -> str:
    """Lower case, ``_`` for separators, and unit words abbreviated as the schema does."""
    words = re.split(r"[\s\-_./]+", name.strip().lower())
    return "_".join(_UNIT_WORDS.get(w, w) for w in words if w)


def near_misses(columns: Sequence[str]) -> dict[str, str]:
    """Map each column that looks like a misspelt canonical column to that column.

    A column matches when it differs from a canonical name only by case,
    separators or a unit written out (``Duration_H``, ``duration_hours``), or
    is a close misspelling (``duraton_h``), and that canonical column is
    absent. Bounds columns of a factor (``pue_low``) are not misspellings.
    """
    canonical = {_fold(c): c for c in CANONICAL_COLUMNS}
    present = set(columns)
    bounds = {f"{f}_{side}" for f in FACTOR_NAMES for side in ("low", "high")}
    out = {}
    for c in columns:
        if c in CANONICAL_COLUMNS or c in bounds:
            continue
        folded = _fold(c)
        target = canonical.get(folded)
        if target is None:
            close = difflib.get_close_matches(folded, list(canonical), n=1, cutoff=0.88)
            target = canonical[close[0]] if close else None
        if target is not None and target not in present:
            out[c] = target
    return out


def _warn_near_miss_columns(columns: Sequence[str]) -> None:
    """Warn about columns that look like a misspelt canonical column and are ignored."""
    for c, target in near_misses(columns).items():
        warnings.warn(
            f"column '{c}' is passed through unused; did you mean '{target}'? "
            "(rename it to use it)",
            ColumnNameWarning,
            stacklevel=4,
        )


def _time_zone(dtype: pl.DataType) -> str | None:
    return dtype.time_zone if isinstance(dtype, pl.Datetime) else None


def window_hours(schema: pl.Schema | dict[str, pl.DataType]) -> pl.Expr:
    """Hours from ``start`` to ``end``, comparing time-zone aware values in UTC."""
    start, end = pl.col(START), pl.col(END)
    if _time_zone(schema[START]) is not None:
        start, end = start.dt.convert_time_zone("UTC"), end.dt.convert_time_zone("UTC")
    return (end - start).dt.total_microseconds() / 3.6e9


def duration_hours(frame: pl.DataFrame) -> pl.Expr:
    """Each job's hours: ``duration_h`` where given, else ``end − start``."""
    cols = set(frame.columns)
    from_window = window_hours(frame.schema) if {START, END} <= cols else None
    if DURATION_H in cols:
        given = pl.col(DURATION_H).cast(pl.Float64)
        return given if from_window is None else pl.coalesce(given, from_window)
    if from_window is None:
        raise MissingColumnError(f"give '{DURATION_H}' or both '{START}' and '{END}'")
    return from_window


def _not_finite_or_negative(c: str) -> pl.Expr:
    x = pl.col(c).cast(pl.Float64)
    return x.is_nan() | x.is_infinite() | (x < 0)


def _checks(frame: pl.DataFrame, factors: Factors) -> list[_Check]:
    cols = set(frame.columns)
    checks = [_Check(JOB_ID, pl.col(JOB_ID).is_null(), "null values", scanned=True)]
    duration_label = DURATION_H if DURATION_H in cols else f"{START}/{END}"
    checks.append(
        _Check(duration_label, pl.col(HOURS).is_null(), "no duration (null)", scanned=True)
    )
    if {START, END} <= cols:
        checks.append(_Check(END, window_hours(frame.schema) < 0, f"end before '{START}'"))
    checks.append(
        _Check(
            duration_label,
            pl.col(HOURS).is_nan() | pl.col(HOURS).is_infinite() | (pl.col(HOURS) < 0),
            "negative, NaN or infinite duration",
            scanned=True,
        )
    )
    if ACCELERATOR_COUNT in cols:
        n = pl.col(ACCELERATOR_COUNT).cast(pl.Float64)
        with_key = pl.col(ACCELERATOR).is_not_null() if ACCELERATOR in cols else pl.lit(False)
        checks.append(
            _Check(ACCELERATOR_COUNT, n.is_null() & with_key, "null values next to an accelerator")
        )
        # Fractional counts are shares of an accelerator (MIG slices, Kubernetes gpu_milli).
        checks.append(
            _Check(
                ACCELERATOR_COUNT,
                _not_finite_or_negative(ACCELERATOR_COUNT),
                "values that are not finite and >= 0",
                scanned=True,
            )
        )
    for c in (CPU_CORES, MEMORY_GB, ENERGY_KWH, AVG_POWER_W):
        if c in cols:
            checks.append(
                _Check(c, _not_finite_or_negative(c), "values that are not finite and >= 0", True)
            )
    if CPU_TIME_H in cols:
        # Read only under cpu_attribution="used", but a broken value is a broken record either way.
        checks.append(
            _Check(
                CPU_TIME_H,
                _not_finite_or_negative(CPU_TIME_H),
                "values that are not finite and >= 0",
            )
        )
    for f in FACTOR_NAMES:
        if f in cols:
            d = FACTOR_DOMAINS[f]
            x = pl.col(f).cast(pl.Float64)
            below = (x < d.low) if d.low_inclusive else (x <= d.low)
            checks.append(
                _Check(
                    f,
                    x.is_nan() | x.is_infinite() | below | (x > d.high),
                    f"values not {d.describe()}",
                    scanned=True,
                )
            )
    if ACCELERATOR_COUNT in cols:
        count = pl.col(ACCELERATOR_COUNT).cast(pl.Float64)
        no_row = pl.col(ROW.format(ACCELERATOR)).is_null() if ACCELERATOR in cols else pl.lit(True)

        def given(c: str) -> pl.Expr:
            return pl.col(c).is_not_null() if c in cols else pl.lit(False)

        power_known = (
            given(ENERGY_KWH) | given(AVG_POWER_W) | (given("tdp_w") & given("host_power_w"))
        )
        checks.append(
            _Check(
                ACCELERATOR,
                (count > 0) & no_row & ~(given("accelerator_embodied_kgco2e") & power_known),
                "accelerator_count > 0 but no accelerator key (nor tdp_w, host_power_w "
                "and accelerator_embodied_kgco2e overrides)",
            )
        )
    has_grid = (
        pl.col("grid_kgco2e_per_kwh").is_not_null() if "grid_kgco2e_per_kwh" in cols else None
    )
    has_region = pl.col(ROW.format(REGION)).is_not_null() if REGION in cols else None
    if DATACENTER in cols:
        regionless = np.flatnonzero(factors.links.datacenter_region == MISSING)
        dc_has_region = pl.col(ROW.format(DATACENTER)).is_not_null() & ~pl.col(
            ROW.format(DATACENTER)
        ).is_in(regionless.tolist())
        has_region = dc_has_region if has_region is None else has_region | dc_has_region
    located = [e for e in (has_grid, has_region) if e is not None]
    any_located = located[0] if len(located) == 1 else located[0] | located[1]
    checks.append(
        _Check(
            REGION
            if REGION in cols
            else DATACENTER
            if DATACENTER in cols
            else "grid_kgco2e_per_kwh",
            ~any_located,
            "no grid intensity (give a region, a datacenter with a region, or grid_kgco2e_per_kwh)",
        )
    )

    def positive(c: str) -> pl.Expr:
        return (pl.col(c).cast(pl.Float64) > 0).fill_null(False) if c in cols else pl.lit(False)

    def present(c: str) -> pl.Expr:
        return pl.col(c).is_not_null() if c in cols else pl.lit(False)

    describes_something = (
        positive(ACCELERATOR_COUNT)
        | positive(CPU_CORES)
        | positive(MEMORY_GB)
        | present(ENERGY_KWH)
        | present(AVG_POWER_W)
    )
    # A job that never ran (zero duration) has nothing to describe, and costs nothing.
    ran = (pl.col(HOURS) > 0).fill_null(True)
    checks.append(
        _Check(
            JOB_ID,
            ~describes_something & ran,
            "no hardware and no energy (accelerator_count, cpu_cores and memory_gb "
            "are all 0 or null, and energy_kwh and avg_power_w are null)",
        )
    )
    return checks


def _examples(work: pl.DataFrame, bad: pl.Expr, column: str) -> list[tuple[object, object]]:
    shown = column if column in work.columns else HOURS
    shown_columns = [JOB_ID] if shown == JOB_ID else [JOB_ID, shown]
    rows = work.filter(bad.fill_null(False)).select(shown_columns).head(N_EXAMPLES)
    return list(rows.iter_rows())


def prepare_jobs(
    frame: pl.DataFrame,
    factors: Factors,
    *,
    on_invalid: OnInvalid = "raise",
    convention: Convention | None = None,
    grid_year: GridYear = "job",
    threads: int | None = None,
) -> PreparedJobs:
    """Validate ``frame`` and build the core's handle of its jobs, charged by ``convention``.

    Each job with a ``start`` also gets the grid of its time: its year's annual
    value (``grid_year="job"``) and, with grid series in ``factors``, the series'
    mean over its window (:func:`fleetcarbon.grid_windows.apply_grid_time`, on
    ``threads``).
    """
    on_invalid = check_on_invalid(on_invalid)
    convention = resolve_convention(convention)
    check_schema(frame)
    cols = set(frame.columns)
    keys = [c for c in KEY_COLUMNS if c in cols]
    factors, rows = _resolve_keys(frame, factors, keys, raise_unknown=on_invalid == "raise")
    work = frame.with_columns(
        duration_hours(frame).alias(HOURS),
        *[rows[c].alias(ROW.format(c)) for c in keys],
    )
    checks = _checks(frame, factors)
    unknown_checks = [
        _Check(c, pl.col(ROW.format(c)).is_null() & pl.col(c).is_not_null(), "unknown keys")
        for c in keys
    ]
    checks = unknown_checks + checks
    buffers = _buffers(work, cols, keys, factors)
    clean, implausible = _fast_scan(work, cols, buffers, [c for c in checks if not c.scanned])
    if not clean:
        work, frame = _apply_checks(work, frame, checks, on_invalid)
        buffers = _buffers(work, cols, keys, factors)
        implausible = True

    if work.height and work[JOB_ID].n_unique() != work.height:
        dup = work.filter(pl.col(JOB_ID).is_duplicated())[JOB_ID]
        raise DuplicateJobError(
            JOB_ID,
            len(dup),
            "duplicated job_id values",
            dup.unique(maintain_order=True).head(N_EXAMPLES).to_list(),
        )
    if implausible:
        _warn_absurd(work, cols)
    buffers = _apply_convention(buffers, work, convention)
    handle = _core.Jobs(**buffers)
    warn_unit_mistakes(work, buffers, handle, factors.engine)
    warn_hardware_dates(work, buffers, {CPU: factors.cpus, ACCELERATOR: factors.accelerators})
    # Checked with or without series, so that a bad profile never passes silently.
    profiles = job_profiles(frame, factors.power_profiles, frame[JOB_ID])
    prepared = PreparedJobs(
        frame=frame,
        jobs=handle,
        duration_h=work[HOURS],
        buffers=buffers,
        factors=factors,
        profiles=profiles,
    )
    return apply_grid_time(prepared, grid_year=grid_year, profiles=profiles, threads=threads)


def _resolve_keys(
    frame: pl.DataFrame, factors: Factors, keys: list[str], *, raise_unknown: bool
) -> tuple[Factors, dict[str, pl.Series]]:
    """Resolve the key columns, adding rows for the mix keys among the unknown keys.

    Mix keys (``mix:A=0.7,B=0.3``) are looked for only when some key is unknown, so
    that runs without them pay nothing.
    """
    columns = {c: KEY_COLUMNS[c] for c in keys}
    try:
        rows = factors.keys.resolve(frame, columns, raise_unknown=raise_unknown)
    except UnknownKeyError:
        extended = with_job_mixes(factors, frame)
        if extended is factors:
            raise
        return extended, extended.keys.resolve(frame, columns, raise_unknown=True)
    if any(rows[c].null_count() > frame[c].null_count() for c in keys):
        extended = with_job_mixes(factors, frame, strict=False)
        if extended is not factors:
            return extended, extended.keys.resolve(frame, columns, raise_unknown=False)
    return factors, rows


def _fast_scan(
    work: pl.DataFrame,
    cols: set[str],
    kwargs: dict[str, Any],
    relational: list[_Check],
) -> tuple[bool, bool]:
    """Check the common, clean case cheaply: ``(clean, any implausible value)``.

    Null counts are O(1); numeric domains are one Rust pass over the buffers
    already built for the kernel; only checks that relate columns run in Polars.
    A False answer sends the caller through the detailed Polars checks.
    """
    if work[JOB_ID].null_count() or work[HOURS].null_count():
        return False, True
    inf = float("inf")
    # (buffer, domain, NaNs that stand for nulls)
    scans: list[tuple[object, tuple[float, float, bool, bool, float], int]] = [
        (kwargs["duration_h"], (0.0, inf, True, False, QUANTITY_PLAUSIBLE_HIGH[DURATION_H]), 0)
    ]
    for c, whole in ((ACCELERATOR_COUNT, False), (CPU_CORES, False), (MEMORY_GB, False)):
        if kwargs.get(c) is not None:
            scans.append((kwargs[c], (0.0, inf, True, whole, QUANTITY_PLAUSIBLE_HIGH[c]), 0))
    for c in (ENERGY_KWH, AVG_POWER_W):
        if kwargs.get(c) is not None:
            scans.append(
                (
                    kwargs[c],
                    (0.0, inf, True, False, QUANTITY_PLAUSIBLE_HIGH[c]),
                    work[c].null_count(),
                )
            )
    overrides: dict[str, np.ndarray] = kwargs["overrides"]
    for f, values in overrides.items():
        d = FACTOR_DOMAINS[f]
        domain = (d.low, d.high, d.low_inclusive, False, d.plausible_high)
        scans.append((values, domain, work[f].null_count()))
    counts = _core.scan_domains([s[0] for s in scans], [s[1] for s in scans])  # type: ignore[misc]
    clean = all(
        invalid == 0 and nan == nulls
        for (_, _, nulls), (nan, invalid, _) in zip(scans, counts, strict=True)
    )
    implausible = any(c[2] for c in counts)
    if clean and relational:
        sums = work.select(
            [chk.bad.fill_null(False).sum().alias(str(i)) for i, chk in enumerate(relational)]
        ).row(0)
        clean = not any(sums)
    return clean, implausible


def _apply_checks(
    work: pl.DataFrame, frame: pl.DataFrame, checks: list[_Check], on_invalid: OnInvalid
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Run every check in Polars; raise on the first failing one, or drop failing rows."""
    counts = work.select(
        [chk.bad.fill_null(False).sum().alias(str(i)) for i, chk in enumerate(checks)]
    ).row(0)
    failing = [(chk, n) for chk, n in zip(checks, counts, strict=True) if n]
    if not failing:
        return work, frame
    if on_invalid == "raise":
        chk, n = failing[0]
        raise InvalidValueError(chk.column, n, chk.problem, _examples(work, chk.bad, chk.column))
    any_bad = pl.any_horizontal([chk.bad.fill_null(False) for chk, _ in failing])
    keep = ~work.select(any_bad).to_series()
    summary = "; ".join(f"{n} with {chk.column}: {chk.problem}" for chk, n in failing)
    warnings.warn(
        f"dropped {int((~keep).sum())} invalid rows ({summary})",
        DroppedRowsWarning,
        stacklevel=4,
    )
    return work.filter(keep), frame.filter(keep)


def _warn_absurd(work: pl.DataFrame, cols: set[str]) -> None:
    limits = {c: QUANTITY_PLAUSIBLE_HIGH[c] for c in QUANTITY_COLUMNS if c in cols}
    limits[HOURS] = QUANTITY_PLAUSIBLE_HIGH[DURATION_H]
    limits.pop(DURATION_H, None)
    limits.update({f: FACTOR_DOMAINS[f].plausible_high for f in FACTOR_NAMES if f in cols})
    limits = {c: v for c, v in limits.items() if v != float("inf")}
    if not limits or not work.height:
        return
    counts = work.select(
        [(pl.col(c).cast(pl.Float64) > v).sum().alias(c) for c, v in limits.items()]
    ).row(0)
    for (c, v), n in zip(limits.items(), counts, strict=True):
        if n:
            label = DURATION_H if c == HOURS else c
            ex = _examples(work, pl.col(c).cast(pl.Float64) > v, c)
            warnings.warn(
                f"column '{label}': {n} rows exceed {v:g}, which is implausible; first: {ex}",
                AbsurdValueWarning,
                stacklevel=4,
            )


def _apply_convention(
    buffers: dict[str, Any], work: pl.DataFrame, convention: Convention
) -> dict[str, Any]:
    """Add the convention's core usage and host rule, and its factors where a job gives none."""
    hours = buffers["duration_h"]
    overrides = dict(buffers["overrides"])
    for name, value in convention.factors.items():
        given = overrides.get(name)
        if given is None:
            overrides[name] = np.full(len(hours), value, dtype=np.float64)
        else:
            overrides[name] = np.where(np.isnan(given), value, given)
    return {
        **buffers,
        "overrides": overrides,
        "core_usage": convention.core_usage(work, hours),
        "accelerator_host": convention.accelerator_host,
    }


def _float_array(s: pl.Series, *, null: float = float("nan")) -> np.ndarray:
    """Contiguous float64 buffer of ``s``, nulls replaced by ``null``."""
    return np.ascontiguousarray(s.cast(pl.Float64).fill_null(null).to_numpy(), dtype=np.float64)


def _buffers(
    work: pl.DataFrame, cols: set[str], keys: Sequence[str], factors: Factors
) -> dict[str, Any]:
    """Build the keyword arguments of :class:`_core.Jobs`: contiguous float64 and uint32 arrays."""

    def optional(c: str, *, null: float = float("nan")) -> np.ndarray | None:
        # NaN tells the core "not given"; a missing quantity (cores, memory) is 0.
        return _float_array(work[c], null=null) if c in cols else None

    def rows(c: str, default: int) -> object:
        """Row of each job in the table of key column ``c``; a null key means ``default``."""
        if c not in keys:
            return default
        return np.ascontiguousarray(
            work[ROW.format(c)].fill_null(default).to_numpy(), dtype=np.uint32
        )

    return {
        "duration_h": _float_array(work[HOURS]),
        "accelerator_count": optional(ACCELERATOR_COUNT, null=0.0),
        "cpu_cores": optional(CPU_CORES, null=0.0),
        "memory_gb": optional(MEMORY_GB, null=0.0),
        "energy_kwh": optional(ENERGY_KWH),
        "avg_power_w": optional(AVG_POWER_W),
        "accelerator": rows(ACCELERATOR, MISSING),
        "cpu": rows(CPU, factors.links.generic_cpu),
        "region": rows(REGION, MISSING),
        "datacenter": rows(DATACENTER, MISSING),
        "overrides": {f: _float_array(work[f]) for f in FACTOR_NAMES if f in cols},
    }
