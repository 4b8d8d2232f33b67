"""Each job's grid intensity over its run window: its year's, or its series' mean.

Without series, a job with a ``start`` is charged the annual value of the year it
ran in (:mod:`fleetcarbon.grid_years`). With series and power flat over the
window ``[start, start + hours]``, the job's intensity is the time mean of its
region's series over the window's covered hours and the annual value over the
rest (docs/model.md §4.2, "Grid series"). The core
integrates the windows (prefix sums, O(log intervals) a job); the effective
intensity then reaches the model as a per-job multiplier of the region row's
intensity, ``grid_scale = effective / annual``, so that the equations stay those
of the annual case and ``simulate`` keeps the region row's shared uncertainty
(docs/uncertainty.md, "Grid series").
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from fleetcarbon import _core
from fleetcarbon.factors import MISSING
from fleetcarbon.grid_years import GridYear, YearTable, warn_early_jobs
from fleetcarbon.power_profiles import Profiles
from fleetcarbon.schema import START

if TYPE_CHECKING:
    from fleetcarbon.factors import Factors
    from fleetcarbon.validation import PreparedJobs

__all__ = [
    "GRID_BASIS",
    "GridColumns",
    "ProfileParts",
    "Windows",
    "apply_grid_time",
    "job_datacenter_rows",
    "job_region_rows",
    "job_windows",
    "profile_parts",
    "start_micros",
]

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
    #: The year of the annual value charged (null for overrides and undated rows).
    year: pl.Series
    #: The share of the job's window (and so of its energy) the series covers;
    #: None without series.
    share: pl.Series | None

    def columns(self) -> list[pl.Series]:
        """Return the output columns, in order."""
        extra = [] if self.share is None else [self.share]
        return [self.basis, self.effective, self.year, *extra]


def apply_grid_time(
    prepared: PreparedJobs,
    *,
    grid_year: GridYear = "job",
    profiles: Profiles | None = None,
    threads: int | None = None,
) -> PreparedJobs:
    """Return ``prepared`` with the grid each job met while it ran, and its ``grid`` columns.

    With ``grid_year="job"``, a job with a ``start`` gets the annual intensity of
    its year (:mod:`fleetcarbon.grid_years`); with grid series, a windowed job in
    a region with a series gets the series' mean over its window, the annual
    value covering the rest, and a job with a power profile (``profiles``, from
    :func:`fleetcarbon.power_profiles.job_profiles`) the series over each of its
    sub-intervals. Jobs with a ``grid_kgco2e_per_kwh`` override keep it.
    Returns ``prepared`` unchanged when neither applies.
    """
    factors = prepared.factors
    grid = factors.grid_series
    frame, buffers = prepared.frame, prepared.buffers
    by_year = grid_year == "job" and START in frame.columns and factors.grid_history is not None
    if grid is None and not by_year:
        return prepared
    n = frame.height
    region = job_region_rows(buffers, factors, n)
    # Whole-array lookups, with one trailing entry for MISSING rows.
    n_regions = factors.regions.height
    row = np.where(region == MISSING, n_regions, region)
    annual_of_region = factors.regions[GRID].cast(pl.Float64).to_numpy()
    row_annual = np.append(annual_of_region, np.nan)[row]

    overrides = buffers["overrides"]
    given = overrides.get(GRID)
    has_override = ~np.isnan(given) if given is not None else np.zeros(n, dtype=bool)
    start = start_micros(frame)
    if by_year:
        lookup = YearTable.of(factors).lookup(row, start, row_annual)
        annual = lookup.values
        data_year = lookup.data_year
        if (data_year < 0).any():
            data_year = np.where(data_year >= 0, data_year, _row_year(factors, row))
        early = lookup.early & ~has_override
        if early.any():
            named = factors.regions["key"].to_numpy().astype(object)
            keys = np.concatenate([named, np.array([None], dtype=object)])[row]
            warn_early_jobs(replace(lookup, early=early), keys, start)
    else:
        annual = row_annual
        data_year = _row_year(factors, row)

    windows: Windows | None = None
    if grid is not None:
        series_of_region = grid.series_of_regions(factors.regions["key"])
        series = np.append(series_of_region, np.uint32(MISSING))[row]
        start_us, end_us, windowed = job_windows(start, prepared.duration_h)
        series = np.where(has_override | ~windowed, np.uint32(MISSING), series)
        effective, _, share, coverage = grid.engine.intensities(
            series, start_us, end_us, annual, threads=threads
        )
        on_series = series != MISSING
        effective = np.where(on_series, effective, annual)
        code = coverage.astype(np.uint32)
        windows = Windows(series, start_us, end_us, annual)
        if profiles is not None:
            effective, share, code = _with_profiles(
                grid.engine, profiles, windows, (effective, share, code), threads
            )
    else:
        effective = annual
        share = None
        code = np.full(n, LABELS.index("annual"), dtype=np.uint32)

    new_buffers = dict(buffers)
    # The model multiplies the region row's intensity (and, in simulate, its
    # draws) by this scale; 1 leaves the core on its annual path.
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(row_annual > 0, effective / row_annual, np.nan)
    moved = ~has_override & ~np.isnan(effective) & (effective != row_annual)
    scale = np.where(moved, scale, 1.0)
    if moved.any():
        new_buffers["grid_scale"] = scale
    # A region whose annual value is 0 cannot be scaled: its jobs get their
    # intensity as a fixed per-job value instead.
    fixed = moved & np.isnan(scale)
    if fixed.any():
        base = given if given is not None else np.full(n, np.nan)
        new_buffers["overrides"] = {**overrides, GRID: np.where(fixed, effective, base)}
        new_buffers["grid_scale"] = np.where(fixed, 1.0, scale)
    charged = np.where(has_override, given, effective) if given is not None else effective
    if has_override.any():
        code = np.where(has_override, np.uint32(LABELS.index("job")), code)
        data_year = np.where(has_override, -1, data_year)
    columns = GridColumns(
        basis=_labels(code),
        effective=pl.Series("grid_kgco2e_per_kwh_effective", charged),
        year=pl.Series("grid_year", data_year, dtype=pl.Int16).set(pl.Series(data_year < 0), None),
        share=None if share is None else pl.Series("grid_series_share", share),
    )
    # Rebuilding the core's handle is needed only when a buffer changed.
    changed = new_buffers.keys() != buffers.keys() or any(
        new_buffers[k] is not buffers[k] for k in buffers
    )
    jobs = _core.Jobs(**new_buffers) if changed else prepared.jobs
    return replace(prepared, jobs=jobs, buffers=new_buffers, grid=columns, windows=windows)


def _labels(code: np.ndarray) -> pl.Series:
    labels = pl.Series("grid_basis", LABELS, dtype=GRID_BASIS)
    if len(code) and (code == code[0]).all():
        return labels.gather([int(code[0])]).new_from_index(0, len(code))
    return labels.gather(code)


@dataclass(frozen=True)
class Windows:
    """Each job's grid series (``MISSING``: none, or an override), window (µs) and annual value."""

    series: np.ndarray
    start_us: np.ndarray
    end_us: np.ndarray
    annual: np.ndarray


@dataclass(frozen=True)
class ProfileParts:
    """The sub-intervals of the jobs whose power follows their profile.

    Part ``i`` belongs to row ``job[i]`` of the frame, covers ``[start_us[i],
    end_us[i])`` and draws ``weight[i] / total`` of its job's energy; a job's
    parts are contiguous and start at ``first`` (``total`` aligned with it).
    """

    job: np.ndarray
    start_us: np.ndarray
    end_us: np.ndarray
    weight: np.ndarray
    first: np.ndarray
    total: np.ndarray


def profile_parts(
    profiles: Profiles, start_us: np.ndarray, end_us: np.ndarray, use: np.ndarray
) -> ProfileParts | None:
    """Cut the windows of the profiled jobs (``use``: which of ``profiles.jobs``) into parts.

    Sub-interval k of K covers ``[start + floor(k·L/K), start + floor((k+1)·L/K))``
    (whole µs); a window shorter than K µs keeps flat power (is not cut).
    None when no job is cut.
    """
    steps = np.diff(profiles.offsets)
    jobs = profiles.jobs
    length = end_us[jobs] - start_us[jobs]
    used = use & (length >= steps)
    if not used.any():
        return None
    owner = np.repeat(np.arange(len(jobs)), steps)
    keep = used[owner]
    owner, weights = owner[keep], profiles.weights[keep]
    step = (np.arange(len(keep)) - np.repeat(profiles.offsets[:-1], steps))[keep]
    k, job = steps[owner], jobs[owner]
    first = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    return ProfileParts(
        job=job,
        start_us=start_us[job] + (length[owner] * step) // k,
        end_us=start_us[job] + (length[owner] * (step + 1)) // k,
        weight=weights,
        first=first,
        total=np.add.reduceat(weights, first),
    )


def _with_profiles(
    engine: _core.GridSeries,
    profiles: Profiles,
    w: Windows,
    flat: tuple[np.ndarray, np.ndarray, np.ndarray],
    threads: int | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Replace the flat-power intensity, share and coverage of the profiled jobs.

    Each part (:func:`profile_parts`) draws the share ``w_k / Σ w`` of the
    energy and meets the series over its own sub-interval.
    """
    effective, share, code = (a.copy() for a in flat)
    parts = profile_parts(profiles, w.start_us, w.end_us, w.series[profiles.jobs] != MISSING)
    if parts is None:
        return effective, share, code
    job, weights, groups, total = parts.job, parts.weight, parts.first, parts.total
    sub_effective, _, sub_share, _ = engine.intensities(
        w.series[job], parts.start_us, parts.end_us, w.annual[job], threads=threads
    )
    targets = job[groups]
    effective[targets] = np.add.reduceat(weights * sub_effective, groups) / total
    energy_share = np.add.reduceat(weights * sub_share, groups) / total
    share[targets] = energy_share
    series, partial, annual = (LABELS.index(x) for x in ("series", "partial", "annual"))
    code[targets] = np.where(
        energy_share >= 1.0, series, np.where(energy_share > 0, partial, annual)
    )
    return effective, share, code


def _row_year(factors: Factors, row: np.ndarray) -> np.ndarray:
    """Return the ``year`` of each job's regions row (-1: none)."""
    if "year" not in factors.regions.columns:
        return np.full(len(row), -1)
    years = factors.regions["year"].cast(pl.Int64, strict=False).fill_null(-1).to_numpy()
    return np.append(years, -1)[row]


def _per_job(rows: object, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(rows, dtype=np.uint32), (n,))


def job_region_rows(buffers: dict[str, Any], factors: Factors, n: int) -> np.ndarray:
    """Each job's regions row, its datacenter's where it names none (``MISSING``: none)."""
    region = _per_job(buffers["region"], n)
    datacenter = _per_job(buffers["datacenter"], n)
    inherits = (region == MISSING) & (datacenter != MISSING)
    if inherits.any():
        known_dc = np.where(datacenter == MISSING, 0, datacenter)
        region = np.where(inherits, factors.links.datacenter_region[known_dc], region)
    return region


def job_datacenter_rows(buffers: dict[str, Any], factors: Factors, n: int) -> np.ndarray:
    """Each job's datacenters row, as the core resolves it (docs/model.md §2).

    A job without a datacenter has its region's default datacenter, or
    ``generic`` when it names neither (``MISSING`` where the region row names
    no datacenter the table has).
    """
    datacenter = _per_job(buffers["datacenter"], n)
    none = datacenter == MISSING
    if not none.any():
        return datacenter
    region = _per_job(buffers["region"], n)
    defaults = np.append(factors.links.region_default_datacenter, np.uint32(MISSING))
    fallback = defaults[np.where(region == MISSING, len(defaults) - 1, region)]
    fallback = np.where(region == MISSING, np.uint32(factors.links.default_datacenter), fallback)
    return np.where(none, fallback, datacenter).astype(np.uint32)


def job_windows(
    start: np.ndarray, duration_h: pl.Series
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each job's run window ``[start_us, end_us)`` (µs, UTC) and whether it has one.

    ``start`` is :func:`start_micros`. Windows shorter than a microsecond (the
    series' resolution) count as none; their ends equal their starts (0).
    """
    hours = duration_h.cast(pl.Float64).fill_null(np.nan).to_numpy()
    length_us = np.rint(hours * 3.6e9)
    windowed = ~np.isnan(start) & (length_us >= 1)
    start_us = np.where(windowed, start, 0).astype(np.int64)
    end_us = start_us + np.where(windowed, length_us, 0).astype(np.int64)
    return start_us, end_us, windowed


def start_micros(frame: pl.DataFrame) -> np.ndarray:
    """Each job's start in µs since the epoch, UTC (naive times are read as UTC); NaN if none."""
    if START not in frame.columns:
        return np.full(frame.height, np.nan)
    start = frame[START]
    if isinstance(start.dtype, pl.Datetime) and start.dtype.time_zone is not None:
        start = start.dt.convert_time_zone("UTC")
    micros = start.dt.epoch("us").cast(pl.Float64)
    return micros.fill_null(np.nan).to_numpy()
