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
from fleetcarbon.errors import SchemaError, UnitWarning
from fleetcarbon.factors.intervals import (
    EXAMPLES,
    IntervalSpec,
    checked_intervals,
    collect,
    micros,
    offsets,
    positions,
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
#: Above this, a value in kg/kWh is most likely g/kWh (coal is about 1.0).
MAX_PLAUSIBLE_KG_PER_KWH = 2.0


class GridSeriesGapWarning(UserWarning):
    """A series has gaps: the annual value applies there (nothing is filled in)."""


class GridBasisWarning(UserWarning):
    """A series' accounting basis differs from its region row's annual value."""


SPEC = IntervalSpec(
    label="grid series",
    key="region",
    table="regions",
    value="kgco2e_per_kwh",
    values_noun="intensities",
    gap_meaning="jobs get their region's annual value",
    gap_warning=GridSeriesGapWarning,
)


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
        return positions(self.regions, region_keys)


def build_grid_series(
    factors: Factors, series: object, *, source: str | None, basis: str | None
) -> GridSeries:
    """Check ``series`` and merge it with the series ``factors`` already carry.

    See :meth:`fleetcarbon.Factors.with_grid_series` for the rules.
    """
    frame = _collect(series)
    frame = _with_provenance(frame, source, basis)
    old = factors.grid_series.frame if factors.grid_series is not None else None
    frame = checked_intervals(frame, SPEC, factors, old)
    _warn_units(frame)
    _warn_basis(frame, factors.regions)
    regions = tuple(frame["region"].unique(maintain_order=True).to_list())
    engine = _core.GridSeries(
        offsets=offsets(frame),
        starts=micros(frame["start"]),
        ends=micros(frame["end"]),
        intensity=np.ascontiguousarray(frame["kgco2e_per_kwh"].to_numpy(), dtype=np.float64),
    )
    return GridSeries(frame=frame.select(COLUMNS), regions=regions, engine=engine)


# -- steps -----------------------------------------------------------------------------


def _collect(series: object) -> pl.DataFrame:
    series = collect(
        series,
        SPEC,
        ["region", "start", "kgco2e_per_kwh"],
        "a series needs region, start (time-zone aware Datetime) and kgco2e_per_kwh, "
        "optionally end",
    )
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
