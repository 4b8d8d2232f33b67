"""Hourly matching of the fleet's energy against contracted carbon-free energy (24/7 CFE).

With a supply (:meth:`fleetcarbon.Factors.with_cfe_supply`), ``estimate``
matches, in every interval ``t`` of a datacenter's (or region's) supply, the
facility energy that the call's jobs draw there against the supply ``S_t``:

    D_t = Σ_j e_{j,t},   f_t = min(1, S_t / D_t)  (0 when D_t = 0),   m_j = Σ_t e_{j,t} f_t

where ``e_{j,t}`` is job j's energy in ``t``, with its power flat over its run
window or following its power profile. The matched part is carbon-free; the
rest keeps the job's market-based intensity, so that

    operational_market_kgco2e = Σ_t e_{j,t} (1 − f_t) I^market_{j,t}

exactly, also where a grid series makes the location intensity (the market
fallback) vary within the window. This is Google's 24/7 CFE method (Google,
"24/7 by 2030", 2020; "24/7 Carbon-Free Energy: Methodologies and Metrics",
2021) applied to job logs (docs/model.md §4.2, "Hourly CFE matching").

Cost: O((jobs + intervals) log) — demand per interval by one sweep over the
sorted window ends per key, and each job's ∫f over its window by the core's
prefix sums (:class:`fleetcarbon._core.GridSeries`); never jobs × intervals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from fleetcarbon import _core
from fleetcarbon.factors import MISSING
from fleetcarbon.factors.intervals import micros
from fleetcarbon.grid_windows import (
    job_datacenter_rows,
    job_region_rows,
    job_windows,
    profile_parts,
    start_micros,
)
from fleetcarbon.schema import CFE_OUTPUT_COLUMNS

if TYPE_CHECKING:
    from fleetcarbon.factors.cfe_supply import CfeSupply
    from fleetcarbon.factors.grid_series import GridSeries
    from fleetcarbon.validation import PreparedJobs

__all__ = ["CfeMatch", "demand_per_interval", "match_cfe"]

MARKET = "market_kgco2e_per_kwh"
US_PER_HOUR = 3.6e9


@dataclass(frozen=True)
class CfeMatch:
    """What the jobs of a call matched of the supply."""

    #: Each job's ``operational_market_kgco2e`` after matching.
    market_kgco2e: np.ndarray
    #: ``cfe_matched_kwh``: the facility energy matched by carbon-free supply.
    matched_kwh: pl.Series
    #: ``cfe_matched_share``: matched ÷ facility energy (null for jobs without energy).
    matched_share: pl.Series

    def columns(self) -> list[pl.Series]:
        """Return the output columns, in order."""
        return [self.matched_kwh, self.matched_share]


@dataclass(frozen=True)
class _Pieces:
    """Parts of job windows of constant power: the whole window, or a profile's sub-interval."""

    job: np.ndarray
    supply: np.ndarray
    start_us: np.ndarray
    end_us: np.ndarray
    energy: np.ndarray

    def take(self, keep: np.ndarray) -> _Pieces:
        return _Pieces(*(a[keep] for a in vars(self).values()))


def match_cfe(
    prepared: PreparedJobs,
    facility_kwh: np.ndarray,
    market_kgco2e: np.ndarray,
    *,
    threads: int | None = None,
) -> CfeMatch | None:
    """Match the jobs' facility energy against the factors' CFE supply; None without one.

    The fleet is every job of ``prepared``. Jobs without a run window (no
    ``start``, or under 1 µs), jobs without energy, and jobs of a key without
    supply are not matched and draw no supply.
    """
    supply = prepared.factors.cfe_supply
    if supply is None:
        return None
    n = prepared.frame.height
    energy = np.asarray(facility_kwh, dtype=np.float64)
    market = np.asarray(market_kgco2e, dtype=np.float64)
    windows = prepared.windows
    if windows is not None:
        start_us, end_us = windows.start_us, windows.end_us
        windowed = end_us > start_us
    else:
        start_us, end_us, windowed = job_windows(start_micros(prepared.frame), prepared.duration_h)
    key = _supply_of_jobs(prepared, supply, n)
    takes = (key != MISSING) & windowed & (energy > 0)
    matched = np.zeros(n)
    new_market = market
    if takes.any():
        pieces = _pieces(prepared, takes, start_us, end_us, energy, key)
        fraction = _matched_fractions(supply, pieces)
        handle = _core.GridSeries(
            offsets=supply.offsets, starts=supply.starts, ends=supply.ends, intensity=fraction
        )
        mean_f = _window_means(handle, pieces.supply, pieces, threads)
        matched = np.minimum(np.bincount(pieces.job, pieces.energy * mean_f, minlength=n), energy)
        removed = _removed_kgco2e(prepared, supply, fraction, pieces, mean_f, threads)
        with np.errstate(divide="ignore", invalid="ignore"):
            removed = np.where(np.isnan(removed), market * (matched / energy), removed)
        new_market = np.where(matched > 0, np.maximum(market - removed, 0.0), market)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(energy > 0, matched / energy, np.nan)
    matched_name, share_name = CFE_OUTPUT_COLUMNS
    return CfeMatch(
        market_kgco2e=new_market,
        matched_kwh=pl.Series(matched_name, matched),
        matched_share=pl.Series(share_name, share).fill_nan(None),
    )


def demand_per_interval(
    starts: np.ndarray,
    ends: np.ndarray,
    piece_start: np.ndarray,
    piece_end: np.ndarray,
    rate_kw: np.ndarray,
) -> np.ndarray:
    """Energy that pieces of constant power draw in each interval, kWh.

    Intervals ``[starts, ends)`` are sorted and do not overlap; piece ``p``
    draws ``rate_kw[p]`` over ``[piece_start[p], piece_end[p])`` (µs). One
    sweep over the sorted ends: the fleet's power is piecewise constant
    between consecutive times, and each interval sums its own segments (not a
    difference of running sums). Events are sorted by time, then by value, so
    that the result does not depend on the order of the pieces; the running
    power is a compensated sum (the same bits on every platform, a few ulps
    from exact however starts and ends cancel), and is 0 exactly wherever no
    piece runs.
    """
    n, m = len(piece_start), len(starts)
    times = np.concatenate([piece_start, piece_end, starts, ends])
    delta = np.concatenate([rate_kw, -rate_kw, np.zeros(2 * m)])
    count = np.concatenate(
        [np.ones(n, np.int64), np.full(n, -1, np.int64), np.zeros(2 * m, np.int64)]
    )
    order = _canonical_order(times, delta)
    times, delta, count = times[order], delta[order], count[order]
    last = np.flatnonzero(np.r_[times[1:] != times[:-1], True])
    at = times[last]
    power = _core.running_sums(np.ascontiguousarray(delta, dtype=np.float64))[last]
    running = np.cumsum(count)[last]
    power = np.where(running > 0, np.maximum(power, 0.0), 0.0)
    segment = np.append(power[:-1] * (np.diff(at) / US_PER_HOUR), 0.0)
    bounds = np.empty(2 * m, dtype=np.intp)
    bounds[0::2] = np.searchsorted(at, starts)
    bounds[1::2] = np.searchsorted(at, ends)
    result: np.ndarray = np.add.reduceat(segment, bounds)[0::2]
    return result


def _canonical_order(times: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Return the order of events by time, then value: one independent of their order.

    A plain sort by time, and a sort by (time, value) of the events that share
    a time only (a full two-key sort costs five times as much).
    """
    order = np.argsort(times)
    ordered = times[order]
    tie = ordered[1:] == ordered[:-1]
    if tie.any():
        tied = np.zeros(len(order), dtype=bool)
        tied[1:] |= tie
        tied[:-1] |= tie
        at = np.flatnonzero(tied)
        events = order[at]
        order[at] = events[np.lexsort((values[events], times[events]))]
    return order


def _supply_of_jobs(prepared: PreparedJobs, supply: CfeSupply, n: int) -> np.ndarray:
    """Supply index of each job's datacenter or region (``MISSING``: none)."""
    factors = prepared.factors
    if supply.key == "datacenter":
        rows = job_datacenter_rows(prepared.buffers, factors, n)
    else:
        rows = job_region_rows(prepared.buffers, factors, n)
    of_row = supply.supply_of_rows(factors.table(supply.table)["key"])
    result: np.ndarray = of_row[np.minimum(rows, len(of_row) - 1)]
    return result


def _pieces(
    prepared: PreparedJobs,
    takes: np.ndarray,
    start_us: np.ndarray,
    end_us: np.ndarray,
    energy: np.ndarray,
    key: np.ndarray,
) -> _Pieces:
    """Return the matched jobs' windows, the profiled ones cut into their sub-intervals."""
    profiles = prepared.profiles
    parts = None
    if profiles is not None:
        parts = profile_parts(profiles, start_us, end_us, takes[profiles.jobs])
    flat = takes.copy()
    if parts is not None:
        flat[parts.job] = False
    job = np.flatnonzero(flat)
    begin, finish, drawn = start_us[job], end_us[job], energy[job]
    if parts is not None:
        sizes = np.diff(np.r_[parts.first, len(parts.job)])
        part_energy = energy[parts.job] * (parts.weight / np.repeat(parts.total, sizes))
        job = np.concatenate([job, parts.job])
        begin = np.concatenate([begin, parts.start_us])
        finish = np.concatenate([finish, parts.end_us])
        drawn = np.concatenate([drawn, part_energy])
    pieces = _Pieces(job, key[job], begin, finish, drawn)
    return pieces.take(pieces.energy > 0)


def _matched_fractions(supply: CfeSupply, pieces: _Pieces) -> np.ndarray:
    """``f_t = min(1, S_t / D_t)`` of every supply interval (0 where no job draws)."""
    fraction = np.zeros(len(supply.starts))
    rate = pieces.energy / ((pieces.end_us - pieces.start_us) / US_PER_HOUR)
    order = np.argsort(pieces.supply, kind="stable")
    keys = pieces.supply[order]
    for q in np.unique(keys):
        mine = order[np.searchsorted(keys, q) : np.searchsorted(keys, q, side="right")]
        lo, hi = int(supply.offsets[q]), int(supply.offsets[q + 1])
        demand = demand_per_interval(
            supply.starts[lo:hi],
            supply.ends[lo:hi],
            pieces.start_us[mine],
            pieces.end_us[mine],
            rate[mine],
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            fraction[lo:hi] = np.where(
                demand > 0, np.minimum(1.0, supply.cfe_kwh[lo:hi] / demand), 0.0
            )
    return fraction


def _window_means(
    handle: _core.GridSeries, series: np.ndarray, pieces: _Pieces, threads: int | None
) -> np.ndarray:
    """Time mean of a series over each piece (0 for the time it does not cover)."""
    zero = np.zeros(len(series))
    mean, _, _, _ = handle.intensities(
        series.astype(np.uint32), pieces.start_us, pieces.end_us, zero, threads=threads
    )
    return mean


def _removed_kgco2e(
    prepared: PreparedJobs,
    supply: CfeSupply,
    fraction: np.ndarray,
    pieces: _Pieces,
    mean_f: np.ndarray,
    threads: int | None,
) -> np.ndarray:
    """``Σ_t e_{j,t} f_t I_{j,t}`` of the jobs whose market intensity varies in time; NaN elsewhere.

    A job's market intensity is its ``market_kgco2e_per_kwh`` override, else
    its region row's market factor, else its location intensity: constant over
    the window unless a grid series makes it vary. For the constant ones the
    caller removes ``market × matched / energy``. For the others,
    ``∫ f I = ∫ f I_series 1_covered + annual ∫ f 1_uncovered``, integrated on
    the merged breakpoints of the supply and the grid series.
    """
    n = prepared.frame.height
    removed = np.full(n, np.nan)
    windows, grid = prepared.windows, prepared.factors.grid_series
    if windows is None or grid is None:
        return removed
    override = prepared.buffers["overrides"].get(MARKET)
    fixed = ~np.isnan(override) if override is not None else np.zeros(n, dtype=bool)
    regions = prepared.factors.regions
    region = job_region_rows(prepared.buffers, prepared.factors, n)
    table = np.append(regions[MARKET].cast(pl.Float64).fill_null(np.nan).to_numpy(), np.nan)
    fixed |= ~np.isnan(table[np.minimum(region, len(table) - 1)])
    varying = (windows.series != MISSING) & ~fixed
    if not varying.any():
        return removed
    use = varying[pieces.job] & (mean_f > 0)
    removed[varying] = 0.0
    if not use.any():
        return removed
    mine = pieces.take(use)
    series = windows.series[mine.job].astype(np.int64)
    code = mine.supply.astype(np.int64) * len(grid.regions) + series
    pairs, pair = np.unique(code, return_inverse=True)
    handle = _products(supply, fraction, grid, pairs)
    on_covered = _window_means(handle, 2 * pair, mine, threads)
    on_uncovered = _window_means(handle, 2 * pair + 1, mine, threads)
    per_piece = mine.energy * (on_covered + windows.annual[mine.job] * on_uncovered)
    summed = np.bincount(mine.job, per_piece, minlength=n)
    removed[varying] = summed[varying]
    return removed


def _products(
    supply: CfeSupply, fraction: np.ndarray, grid: GridSeries, pairs: np.ndarray
) -> _core.GridSeries:
    """Series ``2i``: ``f × I`` where the grid series covers; ``2i + 1``: ``f`` where it does not.

    One pair per (supply, grid series) code of ``pairs``, on the merged
    breakpoints of the two within the supply's intervals.
    """
    frame, n_series = grid.frame, len(grid.regions)
    g_start, g_end = micros(frame["start"]), micros(frame["end"])
    g_value = frame["kgco2e_per_kwh"].to_numpy()
    run = frame.group_by("region", maintain_order=True).len()["len"].to_numpy()
    g_offsets = np.concatenate([[0], np.cumsum(run)]).astype(np.int64)
    starts, ends, values, sizes = [], [], [], []
    for code in pairs:
        q, g = divmod(int(code), n_series)
        lo, hi = int(supply.offsets[q]), int(supply.offsets[q + 1])
        a, b, f = supply.starts[lo:hi], supply.ends[lo:hi], fraction[lo:hi]
        c, d, value = (x[g_offsets[g] : g_offsets[g + 1]] for x in (g_start, g_end, g_value))
        near = (d > a[0]) & (c < b[-1])
        cuts = np.unique(np.concatenate([a, b, c[near], d[near]]))
        left, right = cuts[:-1], cuts[1:]
        in_supply, i = _covering(a, b, left)
        in_grid, k = _covering(c, d, left)
        left, right, k, in_grid = (
            left[in_supply],
            right[in_supply],
            k[in_supply],
            in_grid[in_supply],
        )
        f_here = f[i[in_supply]]
        covered = np.where(in_grid, f_here * value[k], 0.0)
        uncovered = np.where(in_grid, 0.0, f_here)
        for v in (covered, uncovered):
            starts.append(left)
            ends.append(right)
            values.append(v)
            sizes.append(len(left))
    return _core.GridSeries(
        offsets=np.concatenate([[0], np.cumsum(sizes)]).astype(np.uint64),
        starts=np.ascontiguousarray(np.concatenate(starts), dtype=np.int64),
        ends=np.ascontiguousarray(np.concatenate(ends), dtype=np.int64),
        intensity=np.ascontiguousarray(np.concatenate(values), dtype=np.float64),
    )


def _covering(
    starts: np.ndarray, ends: np.ndarray, times: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Whether an interval of sorted ``[starts, ends)`` holds each time, and which one."""
    index = np.searchsorted(starts, times, side="right") - 1
    safe = np.maximum(index, 0)
    return (index >= 0) & (times < ends[safe]), safe
