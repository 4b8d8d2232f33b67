"""The annual grid intensity of the year each job ran (``grid_year="job"``).

A region's annual values over the years are its ``grid_history`` rows plus its
``regions`` row, which counts as the data point of its own year (and wins over a
history row of the same year). A job is charged the value of the year its
``start`` falls in (UTC); where the region has no value for that year, the
nearest earlier year's; where the job predates all of the region's data, the
earliest year's, with a :class:`GridYearWarning`. History rows whose basis
(lifecycle or direct) differs from the regions row's, and rows of a ``mixed``
basis, are not used, so that one region is charged on one basis in every year
(docs/model.md §4.2, "The year of the grid").
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import polars as pl

from fleetcarbon.errors import ParameterError

if TYPE_CHECKING:
    from fleetcarbon.factors import Factors

__all__ = ["GridYear", "GridYearWarning", "YearTable", "check_grid_year"]

GridYear = Literal["job", "latest"]
GRID = "grid_kgco2e_per_kwh"


class GridYearWarning(UserWarning):
    """Jobs ran before any annual grid value of their region: a later year's applies."""


def check_grid_year(grid_year: object) -> GridYear:
    """Return ``grid_year`` if it is ``"job"`` or ``"latest"``."""
    if grid_year not in ("job", "latest"):
        raise ParameterError(f"grid_year must be 'job' or 'latest', not {grid_year!r}")
    return grid_year


@dataclass(frozen=True)
class YearTable:
    """Every region row's annual value for every year of the data's span.

    Dense (rows × years, a few thousand entries for the bundled tables), so that
    a job's value is one gather, not a search.
    """

    #: The first year of the span; years before it read its column, after it the last.
    first_year: int
    #: Years in the span.
    span: int
    #: ``(n_rows + 1) × span`` intensities, kgCO2e/kWh; the last row (no region) is NaN.
    values: np.ndarray
    #: The year each value is from, same shape (-1: an undated regions row).
    data_year: np.ndarray
    #: Each row's earliest data year (the smallest int64 for undated rows and none).
    row_first_year: np.ndarray

    @classmethod
    def of(cls, factors: Factors) -> YearTable:
        """Build the table from ``factors.regions`` and ``factors.grid_history``."""
        points = _points(factors)
        n_rows = factors.regions.height
        annual = np.append(factors.regions[GRID].cast(pl.Float64).to_numpy(), np.nan)
        first = np.full(n_rows + 1, np.iinfo(np.int64).min)
        if points.height == 0:
            # No dated row: every region's value holds for every year.
            return cls(0, 1, annual, np.full(n_rows + 1, -1), first)
        point_rows = points["row"].to_numpy()
        years = points["year"].to_numpy()
        first_year = int(years.min())
        span = int(years.max()) - first_year + 1
        keys = point_rows * span + (years - first_year)
        # For each (row, year) of the span: the row's last point at or before it, else its first.
        grid_rows = np.repeat(np.arange(n_rows + 1), span)
        grid_keys = grid_rows * span + np.tile(np.arange(span), n_rows + 1)
        at = np.searchsorted(keys, grid_keys, side="right") - 1
        own = (at >= 0) & (point_rows[np.clip(at, 0, None)] == grid_rows)
        chosen = np.minimum(
            np.where(own, at, np.searchsorted(keys, grid_rows * span)), len(keys) - 1
        )
        dated = np.zeros(n_rows + 1, dtype=bool)
        dated[point_rows] = True
        dated = dated[grid_rows]
        values = np.where(dated, points[GRID].to_numpy()[chosen], annual[grid_rows])
        data_year = np.where(dated, years[chosen], -1)
        firsts = points.group_by("row").agg(pl.col("year").min())
        first[firsts["row"].to_numpy()] = firsts["year"].to_numpy()
        return cls(
            first_year=first_year,
            span=span,
            values=values,
            data_year=data_year,
            row_first_year=first,
        )

    def lookup(self, rows: np.ndarray, start_us: np.ndarray, annual: np.ndarray) -> YearLookup:
        """Each job's intensity for the year of its start.

        ``rows`` are region rows (``n_regions`` or more for none), ``start_us``
        the jobs' starts in µs since the epoch, UTC (NaN: unknown, the regions
        row applies) and ``annual`` each job's regions-row value.
        """
        n_rows = len(self.row_first_year) - 1
        rows = np.minimum(rows, n_rows).astype(np.int64)
        years = np.arange(self.first_year, self.first_year + self.span)
        year_starts = (years - 1970).astype("datetime64[Y]").astype("datetime64[us]").astype(float)
        # The column of each start's year in the span (-1: before it; years after it read the last).
        known = ~np.isnan(start_us)
        if not known.any():
            column = np.zeros(len(start_us), dtype=np.int64)
        else:
            ends = [np.nanmin(start_us), np.nanmax(start_us)]
            low, high = np.searchsorted(year_starts, ends, side="right")
            if low == high:  # every start in one column: no search
                column = np.full(len(start_us), low - 1)
            else:
                column = np.searchsorted(year_starts, start_us, side="right") - 1
        use = known & (rows < n_rows)
        at = rows * self.span + np.clip(column, 0, self.span - 1)
        values = np.where(use, self.values[at], annual)
        data_year = np.where(use, self.data_year[at], -1)
        early = use & (column + self.first_year < self.row_first_year[rows])
        return YearLookup(values=values, data_year=data_year, early=early)


@dataclass(frozen=True)
class YearLookup:
    """What :meth:`YearTable.lookup` found for each job."""

    #: The annual intensity charged, kgCO2e/kWh.
    values: np.ndarray
    #: The year of that value (-1: the regions row's value, without a year lookup).
    data_year: np.ndarray
    #: Jobs that ran before all of their region's data.
    early: np.ndarray


def warn_early_jobs(lookup: YearLookup, region_keys: np.ndarray, start_us: np.ndarray) -> None:
    """Warn once about jobs charged a later year than their own."""
    n_early = int(lookup.early.sum())
    if not n_early:
        return
    first = np.flatnonzero(lookup.early)[:3]
    years = start_us[first].astype("datetime64[us]").astype("datetime64[Y]").astype(int) + 1970
    examples = ", ".join(
        f"{region_keys[i]} {y} -> {lookup.data_year[i]}" for i, y in zip(first, years, strict=True)
    )
    warnings.warn(
        f"{n_early:,} jobs ran before the first annual grid value of their region and "
        f"are charged its earliest year instead (e.g. {examples})",
        GridYearWarning,
        stacklevel=5,
    )


def _points(factors: Factors) -> pl.DataFrame:
    """``row, year, grid_kgco2e_per_kwh``: the dated values of each region row, sorted."""
    regions = factors.regions
    year = (
        pl.col("year").cast(pl.Int64, strict=False)
        if "year" in regions.columns
        else pl.lit(None, dtype=pl.Int64).alias("year")
    )
    dated = (
        regions.with_row_index("row")
        .select(
            pl.col("row").cast(pl.Int64),
            "key",
            year,
            pl.col(GRID).cast(pl.Float64),
            _primary_basis(regions).alias("basis"),
        )
        .filter(pl.col("year").is_not_null())
    )
    points = [dated.select("row", "year", GRID)]
    history = factors.grid_history
    if history is not None and history.height:
        matched = (
            history.select(
                "key",
                pl.col("year").cast(pl.Int64),
                pl.col(GRID).cast(pl.Float64),
                _primary_basis(history).alias("basis"),
            )
            .join(dated.select("row", "key", "basis"), on="key", suffix="_row")
            # A null basis on either side is taken to match; a "mixed" one (values
            # of several bases, or of none stated) matches nothing.
            .filter(
                (pl.col("basis").is_null() | pl.col("basis_row").is_null())
                | ((pl.col("basis") == pl.col("basis_row")) & (pl.col("basis") != "mixed"))
            )
            .filter(pl.col(GRID).is_not_null() & pl.col("year").is_not_null())
        )
        points.append(matched.select("row", "year", GRID))
    # The regions row comes first, so that it wins over a history row of its year.
    return (
        pl.concat(points)
        .unique(["row", "year"], keep="first", maintain_order=True)
        .sort("row", "year")
    )


def _primary_basis(frame: pl.DataFrame) -> pl.Expr:
    """Return ``lifecycle``, ``direct`` or ``mixed``: the first part of a ``basis`` column."""
    if "basis" not in frame.columns:
        return pl.lit(None, dtype=pl.String)
    return pl.col("basis").cast(pl.String).str.split(";").list.first().str.strip_chars()
