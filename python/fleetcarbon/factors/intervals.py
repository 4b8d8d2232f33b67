"""Checks shared by the time series that :class:`~fleetcarbon.Factors` carries.

A grid series (:mod:`fleetcarbon.factors.grid_series`) and a CFE supply
(:mod:`fleetcarbon.factors.cfe_supply`) are both long frames of intervals
``[start, end)`` per key of a factor table, with one value each. They are
checked the same way: time-zone-aware times converted to UTC µs, no nulls,
finite values ≥ 0, keys resolved to table rows, sorted, no duplicated or
overlapping intervals, missing ends filled with the key's regular step (5
minutes to 1 day), and gaps listed in a warning. :class:`IntervalSpec` says
which columns and which words the messages use.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from fleetcarbon import _core
from fleetcarbon.errors import InvalidValueError, MissingColumnError, NotAFrameError, SchemaError

if TYPE_CHECKING:
    from fleetcarbon.factors.tables import Factors

__all__ = ["EXAMPLES", "MAX_STEP_US", "MIN_STEP_US", "IntervalSpec", "checked_intervals"]

#: The steps a series may have when it gives no ``end`` (µs): 5 minutes to 1 day.
MIN_STEP_US, MAX_STEP_US = 5 * 60 * 1_000_000, 24 * 3600 * 1_000_000
#: Rows shown in messages.
EXAMPLES = 5
#: The working column that holds each row's table row.
ROW = "__row"


@dataclass(frozen=True)
class IntervalSpec:
    """The columns of one kind of interval series, and the words its messages use."""

    #: What the messages call the series (``"grid series"``).
    label: str
    #: The key column (``"region"``) and the table its keys name (``"regions"``).
    key: str
    table: str
    #: The value column (``"kgco2e_per_kwh"``) and its values, in the plural.
    value: str
    values_noun: str
    #: What a gap means for jobs, after "where" (``"jobs get their region's annual value"``).
    gap_meaning: str
    #: The warning class of gaps.
    gap_warning: type[Warning]
    #: The argument's name, for a non-frame (``"series"``).
    argument: str = "series"
    #: Whether examples of bad values give the interval's start too.
    examples_with_start: bool = False

    def keys_noun(self) -> str:
        """Return the key in the plural (``"regions"``)."""
        return f"{self.key}s"


def collect(series: object, spec: IntervalSpec, needed: list[str], hint: str) -> pl.DataFrame:
    """Collect a LazyFrame; refuse a non-frame, missing columns and an empty series."""
    if isinstance(series, pl.LazyFrame):
        series = series.collect()
    if not isinstance(series, pl.DataFrame):
        raise NotAFrameError(
            f"{spec.argument} must be a polars DataFrame or LazyFrame, got {type(series).__name__}"
        )
    missing = [c for c in needed if c not in series.columns]
    if missing:
        raise MissingColumnError(
            f"{spec.label}: no column(s) {missing}; {hint}; got {series.columns}"
        )
    if series.height == 0:
        raise InvalidValueError(spec.value, 0, f"an empty {spec.label}")
    return series


def checked_intervals(
    frame: pl.DataFrame, spec: IntervalSpec, factors: Factors, old: pl.DataFrame | None
) -> pl.DataFrame:
    """Check ``frame`` and merge it after ``old`` (already checked, or None).

    Returns the rows sorted by table row and start, with canonical keys, UTC µs
    ``start`` and ``end`` (missing ends filled) and the working column ``__row``.
    Raises :class:`~fleetcarbon.errors.FleetcarbonError` naming the key and
    time of the first bad rows; warns (``spec.gap_warning``) about gaps.
    """
    frame = _utc(frame, spec)
    _check_values(frame, spec)
    rows = factors.keys.resolve(frame, {spec.key: spec.table}, raise_unknown=True)[spec.key]
    keys = factors.table(spec.table)["key"]
    frame = frame.with_columns(keys.gather(rows).alias(spec.key), rows.alias(ROW))
    if old is not None:
        old_rows = factors.keys.resolve(old, {spec.key: spec.table}, raise_unknown=True)[spec.key]
        frame = pl.concat([old.with_columns(old_rows.alias(ROW)), frame], how="diagonal_relaxed")
    frame = frame.sort(ROW, "start")
    _raise_if(
        frame,
        pl.struct(ROW, "start").is_duplicated(),
        spec,
        "start",
        f"duplicated ({spec.key}, start) rows",
    )
    frame = _with_ends(frame, spec)
    next_start = pl.col("start").shift(-1).over(ROW)
    _raise_if(
        frame,
        next_start.is_not_null() & (pl.col("end") > next_start),
        spec,
        "end",
        f"intervals that overlap the next one of their {spec.key}",
    )
    _warn_gaps(frame, spec)
    return frame


def offsets(frame: pl.DataFrame) -> np.ndarray:
    """Offsets of each key's run of rows in a frame of :func:`checked_intervals`."""
    counts = frame.group_by(ROW, maintain_order=True).len()["len"].to_numpy()
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.uint64)


def positions(keys: tuple[str, ...], table_keys: pl.Series) -> np.ndarray:
    """Index in ``keys`` of every row of a table (``MISSING`` where absent), uint32."""
    position = {k: i for i, k in enumerate(keys)}
    return np.array([position.get(k, _core.MISSING) for k in table_keys.to_list()], dtype=np.uint32)


def micros(column: pl.Series) -> np.ndarray:
    """Return times as µs since the epoch, int64."""
    return np.ascontiguousarray(column.dt.epoch("us").to_numpy(), dtype=np.int64)


def _utc(frame: pl.DataFrame, spec: IntervalSpec) -> pl.DataFrame:
    for c in ("start", "end"):
        if c not in frame.columns:
            continue
        dtype = frame.schema[c]
        if not isinstance(dtype, pl.Datetime):
            raise SchemaError(f"{spec.label} column '{c}' must be a Datetime, got {dtype}")
        if dtype.time_zone is None:
            raise SchemaError(
                f"{spec.label} column '{c}' has no time zone: say which, e.g. "
                f"pl.col('{c}').dt.replace_time_zone('UTC')"
            )
    return frame.with_columns(
        pl.col(c).dt.convert_time_zone("UTC").dt.cast_time_unit("us")
        for c in ("start", "end")
        if c in frame.columns
    ).with_columns(pl.col(spec.value).cast(pl.Float64))


def _check_values(frame: pl.DataFrame, spec: IntervalSpec) -> None:
    value = pl.col(spec.value)
    for column, bad, problem in [
        (spec.key, pl.col(spec.key).is_null(), f"null {spec.keys_noun()}"),
        ("start", pl.col("start").is_null(), "null starts"),
        (spec.value, value.is_null() | value.is_nan(), f"null or NaN {spec.values_noun}"),
        (
            spec.value,
            value.is_infinite() | (value < 0),
            f"negative or infinite {spec.values_noun}",
        ),
    ]:
        _raise_if(frame, bad, spec, column, problem)
    if "end" in frame.columns:
        _raise_if(
            frame,
            pl.col("end").is_not_null() & (pl.col("end") <= pl.col("start")),
            spec,
            "end",
            "intervals that do not end after they start",
        )


def _with_ends(frame: pl.DataFrame, spec: IntervalSpec) -> pl.DataFrame:
    """Fill missing ends with the key's regular step (the most common one)."""
    if "end" not in frame.columns:
        frame = frame.with_columns(end=pl.lit(None, pl.Datetime("us", "UTC")))
    if frame["end"].null_count() == 0:
        return frame
    gaps = frame.with_columns(
        step=(pl.col("start").shift(-1).over(ROW) - pl.col("start")).dt.total_microseconds()
    )
    steps = (
        gaps.filter(pl.col("step").is_not_null())
        .group_by(ROW, "step")
        .len()
        .sort(ROW, "len", "step", descending=[False, True, False])
        .group_by(ROW, maintain_order=True)
        .first()
        .select(ROW, "step")
    )
    frame = frame.join(steps, on=ROW, how="left", maintain_order="left")
    needs = frame.filter(pl.col("end").is_null())
    unknown = needs.filter(pl.col("step").is_null())
    if unknown.height:
        raise InvalidValueError(
            "end",
            unknown.height,
            f"intervals whose end cannot be inferred (a {spec.key} with one interval: give 'end')",
            unknown.select(spec.key, "start").head(EXAMPLES).rows(),
        )
    irregular = needs.filter((pl.col("step") < MIN_STEP_US) | (pl.col("step") > MAX_STEP_US))
    if irregular.height:
        shown = irregular.select(spec.key, (pl.col("step") / 6e7).alias("minutes")).unique(spec.key)
        raise InvalidValueError(
            "end",
            irregular.height,
            "intervals without 'end' in series whose step is not between 5 minutes and 1 day "
            f"(give 'end'); ({spec.key}, step in minutes)",
            shown.head(EXAMPLES).rows(),
        )
    filled = pl.col("start") + pl.duration(microseconds=pl.col("step"))
    return frame.with_columns(end=pl.coalesce("end", filled)).drop("step")


def _warn_gaps(frame: pl.DataFrame, spec: IntervalSpec) -> None:
    next_start = pl.col("start").shift(-1).over(ROW)
    gaps = (
        frame.with_columns(__next=next_start)
        .filter(pl.col("__next").is_not_null() & (pl.col("__next") > pl.col("end")))
        .select(spec.key, "end", "__next")
    )
    if gaps.height:
        shown = ", ".join(
            f"({r}, {a:%Y-%m-%d %H:%M}–{b:%Y-%m-%d %H:%M})"
            for r, a, b in gaps.head(EXAMPLES).rows()
        )
        warnings.warn(
            f"{spec.label}: {gaps.height} gap{'s' if gaps.height != 1 else ''} (UTC), where "
            f"{spec.gap_meaning}: {shown}",
            spec.gap_warning,
            stacklevel=5,  # the caller of Factors.with_*
        )


def _raise_if(
    frame: pl.DataFrame, bad: pl.Expr, spec: IntervalSpec, column: str, problem: str
) -> None:
    rows = frame.filter(bad.fill_null(False))
    if rows.height:
        shown_columns = [spec.key, "start"] if spec.examples_with_start else [spec.key]
        if column not in shown_columns:
            shown_columns.append(column)
        elif len(shown_columns) == 1:
            shown_columns.append("start")
        shown = rows.select(shown_columns).head(EXAMPLES).rows()
        raise InvalidValueError(column, rows.height, f"{spec.label}: {problem}", shown)
