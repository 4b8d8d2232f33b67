"""Each job's grid intensity over its run window, from the series its factors carry.

With power flat over the window ``[start, start + hours]``, the job's intensity is
the time mean of its region's series over the window's covered hours and the
region's annual value over the rest (docs/model.md §4.2, "Grid series"). The core
integrates the windows (prefix sums, O(log intervals) a job); the effective
intensity then reaches the model as a per-job multiplier of the region row's
intensity, ``grid_scale = effective / annual``, so that the equations stay those
of the annual case and ``simulate`` keeps the region row's shared uncertainty
(docs/uncertainty.md, "Grid series").
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from fleetcarbon import _core
from fleetcarbon.factors import MISSING
from fleetcarbon.schema import START

if TYPE_CHECKING:
    from fleetcarbon.validation import PreparedJobs

__all__ = ["GRID_BASIS", "GridColumns", "apply_grid_series"]

GRID = "grid_kgco2e_per_kwh"
#: Values of the ``grid_basis`` output column.
LABELS = ["series", "partial", "annual", "job"]  # the core's coverage codes, then "job"
GRID_BASIS = pl.Enum(LABELS)


@dataclass(frozen=True)
class GridColumns:
    """The output columns that say which intensity each job saw."""

    #: ``series`` (window fully covered), ``partial``, ``annual`` or ``job`` (override).
    basis: pl.Series
    #: The energy-weighted intensity the job was charged, kgCO2e/kWh.
    effective: pl.Series
    #: The share of the job's window (and so of its energy) the series covers.
    share: pl.Series

    def columns(self) -> list[pl.Series]:
        """Return the output columns, in order."""
        return [self.basis, self.effective, self.share]


def apply_grid_series(prepared: PreparedJobs, *, threads: int | None = None) -> PreparedJobs:
    """Return ``prepared`` with each windowed job's series intensity, and its ``grid`` columns.

    ``prepared.factors`` must carry grid series. Jobs with a ``grid_kgco2e_per_kwh``
    override keep it; jobs without a window (no ``start``, or zero hours), or in
    a region without a series, keep the annual value.
    """
    factors = prepared.factors
    grid = factors.grid_series
    if grid is None:
        raise ValueError("apply_grid_series needs factors with grid series")
    frame, buffers = prepared.frame, prepared.buffers
    n = frame.height
    region = _per_job(buffers["region"], n)
    datacenter = _per_job(buffers["datacenter"], n)
    inherits = (region == MISSING) & (datacenter != MISSING)
    if inherits.any():
        known_dc = np.where(datacenter == MISSING, 0, datacenter)
        region = np.where(inherits, factors.links.datacenter_region[known_dc], region)
    # Whole-array lookups, with one trailing entry for MISSING rows.
    n_regions = factors.regions.height
    row = np.where(region == MISSING, n_regions, region)
    series_of_region = grid.series_of_regions(factors.regions["key"])
    series = np.append(series_of_region, np.uint32(MISSING))[row]
    annual_of_region = factors.regions[GRID].cast(pl.Float64).to_numpy()
    annual = np.append(annual_of_region, np.nan)[row]

    overrides = buffers["overrides"]
    given = overrides.get(GRID)
    has_override = ~np.isnan(given) if given is not None else np.zeros(n, dtype=bool)
    hours = prepared.duration_h.cast(pl.Float64).fill_null(np.nan).to_numpy()
    start = _start_micros(frame)
    length_us = np.rint(hours * 3.6e9)
    # Windows shorter than a microsecond (the series' resolution) count as none.
    windowed = ~np.isnan(start) & (length_us >= 1)
    series = np.where(has_override | ~windowed, np.uint32(MISSING), series)
    start_us = np.where(windowed, start, 0).astype(np.int64)
    end_us = start_us + np.where(windowed, length_us, 0).astype(np.int64)
    effective, scale, share, coverage = grid.engine.intensities(
        series, start_us, end_us, annual, threads=threads
    )
    on_series = series != MISSING
    new_buffers = {**buffers, "grid_scale": scale}
    # A region whose annual value is 0 cannot be scaled: its jobs get the series'
    # value as a fixed per-job intensity instead.
    fixed = on_series & np.isnan(scale)
    if fixed.any():
        base = given if given is not None else np.full(n, np.nan)
        new_buffers["overrides"] = {**overrides, GRID: np.where(fixed, effective, base)}
    fallback = np.where(has_override, given, annual) if given is not None else annual
    charged = np.where(on_series, effective, fallback)
    # Coverage codes 0-2 are LABELS' first three; overrides are "job".
    code = coverage.astype(np.uint32)
    if has_override.any():
        code = np.where(has_override, np.uint32(LABELS.index("job")), code)
    labels = pl.Series("grid_basis", LABELS, dtype=GRID_BASIS)
    columns = GridColumns(
        basis=labels.gather(code),
        effective=pl.Series("grid_kgco2e_per_kwh_effective", charged),
        share=pl.Series("grid_series_share", share),
    )
    return replace(prepared, jobs=_core.Jobs(**new_buffers), buffers=new_buffers, grid=columns)


def _per_job(rows: object, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(rows, dtype=np.uint32), (n,))


def _start_micros(frame: pl.DataFrame) -> np.ndarray:
    """Each job's start in µs since the epoch, UTC (naive times are read as UTC); NaN if none."""
    if START not in frame.columns:
        return np.full(frame.height, np.nan)
    start = frame[START]
    if isinstance(start.dtype, pl.Datetime) and start.dtype.time_zone is not None:
        start = start.dt.convert_time_zone("UTC")
    micros = start.dt.epoch("us").cast(pl.Float64)
    return micros.fill_null(np.nan).to_numpy()
