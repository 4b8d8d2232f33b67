"""Time-resolved grid intensity carried by :class:`~fleetcarbon.Factors`.

:meth:`Factors.with_grid_series` checks a long-form series (``region``, ``start``,
optional ``end``, ``kgco2e_per_kwh``) and stores it here, with the core's handle,
which integrates each job's window by prefix sums (docs/model.md §4.2).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from fleetcarbon import _core
from fleetcarbon.errors import (
    InvalidValueError,
    MissingColumnError,
    NotAFrameError,
    SchemaError,
    UnitWarning,
)

if TYPE_CHECKING:
    from fleetcarbon.factors.tables import Factors

__all__ = [
    "BASES",
    "GridBasisWarning",
    "GridSeries",
    "GridSeriesGapWarning",
    "build_grid_series",
]

#: The accounting bases a series may declare.
BASES = ("lifecycle", "direct")
#: The columns of a stored series, in order.
COLUMNS = ("region", "start", "end", "kgco2e_per_kwh", "source", "basis")
#: The steps a series may have when it gives no ``end`` (µs): 5 minutes to 1 day.
MIN_STEP_US, MAX_STEP_US = 5 * 60 * 1_000_000, 24 * 3600 * 1_000_000
#: Above this, a value in kg/kWh is most likely g/kWh (coal is about 1.0).
MAX_PLAUSIBLE_KG_PER_KWH = 2.0
EXAMPLES = 5


class GridSeriesGapWarning(UserWarning):
    """A series has gaps: the annual value applies there (nothing is filled in)."""


class GridBasisWarning(UserWarning):
    """A series' accounting basis differs from its region row's annual value."""


@dataclass(frozen=True)
class GridSeries:
    """Checked series of several regions and the core's handle of them.

    Attributes
    ----------
    frame : pl.DataFrame
        ``region`` (canonical key), ``start``, ``end`` (Datetime µs UTC),
        ``kgco2e_per_kwh``, ``source``, ``basis``; sorted by region and start.
    regions : tuple of str
        The region key of each series, in the core's series order.
    """

    frame: pl.DataFrame
    regions: tuple[str, ...]
    engine: _core.GridSeries

    def series_of_regions(self, region_keys: pl.Series) -> np.ndarray:
        """Series index of every row of a regions table (``MISSING``: no series)."""
        position = {k: i for i, k in enumerate(self.regions)}
        return np.array(
            [position.get(k, _core.MISSING) for k in region_keys.to_list()], dtype=np.uint32
        )


def build_grid_series(
    factors: Factors, series: object, *, source: str | None, basis: str | None
) -> GridSeries:
    """Check ``series`` and merge it with the series ``factors`` already carry.

    See :meth:`fleetcarbon.Factors.with_grid_series` for the rules.
    """
    frame = _collect(series)
    frame = _with_provenance(frame, source, basis)
    frame = _utc(frame)
    _check_values(frame)
    rows = factors.keys.resolve(frame, {"region": "regions"}, raise_unknown=True)["region"]
    keys = factors.regions["key"]
    frame = frame.with_columns(region=keys.gather(rows), __row=rows)
    if factors.grid_series is not None:
        old = factors.grid_series.frame
        old_rows = factors.keys.resolve(old, {"region": "regions"}, raise_unknown=True)["region"]
        frame = pl.concat([old.with_columns(__row=old_rows), frame], how="diagonal_relaxed")
    frame = frame.sort("__row", "start")
    _check_duplicates(frame)
    frame = _with_ends(frame)
    _check_overlaps(frame)
    _warn_gaps(frame)
    _warn_units(frame)
    _warn_basis(frame, factors.regions)
    regions = tuple(frame["region"].unique(maintain_order=True).to_list())
    counts = frame.group_by("__row", maintain_order=True).len()["len"].to_numpy()
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.uint64)
    engine = _core.GridSeries(
        offsets=offsets,
        starts=_micros(frame["start"]),
        ends=_micros(frame["end"]),
        intensity=np.ascontiguousarray(frame["kgco2e_per_kwh"].to_numpy(), dtype=np.float64),
    )
    return GridSeries(frame=frame.select(COLUMNS), regions=regions, engine=engine)


# -- steps -----------------------------------------------------------------------------


def _collect(series: object) -> pl.DataFrame:
    if isinstance(series, pl.LazyFrame):
        series = series.collect()
    if not isinstance(series, pl.DataFrame):
        raise NotAFrameError(
            f"series must be a polars DataFrame or LazyFrame, got {type(series).__name__}"
        )
    needed = ["region", "start", "kgco2e_per_kwh"]
    missing = [c for c in needed if c not in series.columns]
    if missing:
        raise MissingColumnError(
            f"grid series: no column(s) {missing}; a series needs region, start "
            f"(time-zone aware Datetime) and kgco2e_per_kwh, optionally end; got {series.columns}"
        )
    if series.height == 0:
        raise InvalidValueError("kgco2e_per_kwh", 0, "an empty grid series")
    unused = [
        c
        for c in ("kgco2e_per_kwh_low", "kgco2e_per_kwh_high", "market_kgco2e_per_kwh")
        if c in series.columns
    ]
    if unused:
        warnings.warn(
            f"grid series: with_grid_series ignores {unused} for now (a series' uncertainty "
            "is its region row's, and the market figure follows the region's market "
            "factor; docs/model.md §7)",
            UserWarning,
            stacklevel=4,
        )
    return series.select(c for c in COLUMNS if c in series.columns)


def _with_provenance(frame: pl.DataFrame, source: str | None, basis: str | None) -> pl.DataFrame:
    if basis is not None and basis not in BASES:
        raise SchemaError(f"basis must be one of {BASES} or None, got {basis!r}")
    columns = {}
    if source is not None or "source" not in frame.columns:
        columns["source"] = pl.lit(source if source is not None else "user", pl.String)
    if basis is not None or "basis" not in frame.columns:
        columns["basis"] = pl.lit(basis if basis is not None else "unknown", pl.String)
    return frame.with_columns(**columns).with_columns(
        pl.col("region").cast(pl.String), pl.col("source", "basis").cast(pl.String)
    )


def _utc(frame: pl.DataFrame) -> pl.DataFrame:
    for c in ("start", "end"):
        if c not in frame.columns:
            continue
        dtype = frame.schema[c]
        if not isinstance(dtype, pl.Datetime):
            raise SchemaError(f"grid series column '{c}' must be a Datetime, got {dtype}")
        if dtype.time_zone is None:
            raise SchemaError(
                f"grid series column '{c}' has no time zone: say which, e.g. "
                f"pl.col('{c}').dt.replace_time_zone('UTC')"
            )
    return frame.with_columns(
        pl.col(c).dt.convert_time_zone("UTC").dt.cast_time_unit("us")
        for c in ("start", "end")
        if c in frame.columns
    ).with_columns(pl.col("kgco2e_per_kwh").cast(pl.Float64))


def _check_values(frame: pl.DataFrame) -> None:
    value = pl.col("kgco2e_per_kwh")
    for column, bad, problem in [
        ("region", pl.col("region").is_null(), "null regions"),
        ("start", pl.col("start").is_null(), "null starts"),
        ("kgco2e_per_kwh", value.is_null() | value.is_nan(), "null or NaN intensities"),
        ("kgco2e_per_kwh", value.is_infinite() | (value < 0), "negative or infinite intensities"),
    ]:
        _raise_if(frame, bad, column, problem)
    if "end" in frame.columns:
        _raise_if(
            frame,
            pl.col("end").is_not_null() & (pl.col("end") <= pl.col("start")),
            "end",
            "intervals that do not end after they start",
        )


def _check_duplicates(frame: pl.DataFrame) -> None:
    duplicated = pl.struct("__row", "start").is_duplicated()
    _raise_if(frame, duplicated, "start", "duplicated (region, start) rows")


def _with_ends(frame: pl.DataFrame) -> pl.DataFrame:
    """Fill missing ends with the region's regular step (the most common one)."""
    if "end" not in frame.columns:
        frame = frame.with_columns(end=pl.lit(None, pl.Datetime("us", "UTC")))
    if frame["end"].null_count() == 0:
        return frame
    gaps = frame.with_columns(
        step=(pl.col("start").shift(-1).over("__row") - pl.col("start")).dt.total_microseconds()
    )
    steps = (
        gaps.filter(pl.col("step").is_not_null())
        .group_by("__row", "step")
        .len()
        .sort("__row", "len", "step", descending=[False, True, False])
        .group_by("__row", maintain_order=True)
        .first()
        .select("__row", "step")
    )
    frame = frame.join(steps, on="__row", how="left", maintain_order="left")
    needs = frame.filter(pl.col("end").is_null())
    unknown = needs.filter(pl.col("step").is_null())
    if unknown.height:
        raise InvalidValueError(
            "end",
            unknown.height,
            "intervals whose end cannot be inferred (a region with one interval: give 'end')",
            unknown.select("region", "start").head(EXAMPLES).rows(),
        )
    irregular = needs.filter((pl.col("step") < MIN_STEP_US) | (pl.col("step") > MAX_STEP_US))
    if irregular.height:
        shown = irregular.select("region", (pl.col("step") / 6e7).alias("minutes")).unique("region")
        raise InvalidValueError(
            "end",
            irregular.height,
            "intervals without 'end' in series whose step is not between 5 minutes and 1 day "
            "(give 'end'); (region, step in minutes)",
            shown.head(EXAMPLES).rows(),
        )
    filled = pl.col("start") + pl.duration(microseconds=pl.col("step"))
    return frame.with_columns(end=pl.coalesce("end", filled)).drop("step")


def _check_overlaps(frame: pl.DataFrame) -> None:
    next_start = pl.col("start").shift(-1).over("__row")
    _raise_if(
        frame,
        next_start.is_not_null() & (pl.col("end") > next_start),
        "end",
        "intervals that overlap the next one of their region",
    )


def _warn_gaps(frame: pl.DataFrame) -> None:
    next_start = pl.col("start").shift(-1).over("__row")
    gaps = (
        frame.with_columns(__next=next_start)
        .filter(pl.col("__next").is_not_null() & (pl.col("__next") > pl.col("end")))
        .select("region", "end", "__next")
    )
    if gaps.height:
        shown = ", ".join(
            f"({r}, {a:%Y-%m-%d %H:%M}–{b:%Y-%m-%d %H:%M})"
            for r, a, b in gaps.head(EXAMPLES).rows()
        )
        warnings.warn(
            f"grid series: {gaps.height} gap{'s' if gaps.height != 1 else ''} (UTC), where jobs "
            f"get their region's annual value: {shown}",
            GridSeriesGapWarning,
            stacklevel=4,
        )


def _warn_units(frame: pl.DataFrame) -> None:
    high = frame.filter(pl.col("kgco2e_per_kwh") > MAX_PLAUSIBLE_KG_PER_KWH)
    if high.height:
        shown = high.select("region", "start", "kgco2e_per_kwh").head(EXAMPLES).rows()
        warnings.warn(
            f"column 'kgco2e_per_kwh': {high.height} grid series values over "
            f"{MAX_PLAUSIBLE_KG_PER_KWH} kg/kWh (coal is about 1); if they are g/kWh, divide "
            f"by 1,000; first: {shown}",
            UnitWarning,
            stacklevel=4,
        )


def _warn_basis(frame: pl.DataFrame, regions: pl.DataFrame) -> None:
    if "basis" not in regions.columns:
        return
    pairs = (
        frame.select("region", "basis")
        .unique()
        .join(
            regions.select(pl.col("key").alias("region"), pl.col("basis").alias("annual")),
            on="region",
            how="left",
        )
    )
    differs = pairs.filter(
        (pl.col("basis") != "unknown")
        & pl.col("annual").is_not_null()
        & ~pl.col("annual").str.starts_with(pl.col("basis"))
    )
    if differs.height:
        rows = differs.sort("region").head(EXAMPLES).rows()
        shown = ", ".join(f"{r} ({b} vs {a})" for r, b, a in rows)
        warnings.warn(
            f"grid series: {differs.height} series differ in accounting basis from their "
            f"region's annual value, so covered and uncovered hours mix bases: {shown}",
            GridBasisWarning,
            stacklevel=4,
        )


def _raise_if(frame: pl.DataFrame, bad: pl.Expr, column: str, problem: str) -> None:
    rows = frame.filter(bad.fill_null(False))
    if rows.height:
        second = column if column != "region" else "start"
        shown = rows.select("region", second).head(EXAMPLES).rows()
        raise InvalidValueError(column, rows.height, f"grid series: {problem}", shown)


def _micros(column: pl.Series) -> np.ndarray:
    return np.ascontiguousarray(column.dt.epoch("us").to_numpy(), dtype=np.int64)
