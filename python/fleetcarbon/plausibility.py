"""Valid values that look like a unit mistake: warnings that count them and give the fix.

Each check is a warning (:class:`~fleetcarbon.errors.UnitWarning`, an
:class:`~fleetcarbon.errors.AbsurdValueWarning`), never an error: a user who
knows the values are right silences it with
``warnings.simplefilter("ignore", fleetcarbon.errors.UnitWarning)``.

- ``duration_h`` above 2,000 h (83 days, longer than any scheduler's time
  limit): hours that may be seconds.
- ``energy_kwh`` (metered) or ``avg_power_w`` (measured) outside 10%–300% of
  the energy the job's own hardware would draw under the model (TDP × power
  fraction plus host share, or cores and memory): Wh read as kWh, kW as W, or
  a meter that misses the accelerators.
- ``avg_power_w`` below 10 W per accelerator: kW that may be W.
- ``memory_gb`` above 256 GB per core, or above 12,288 GB (12 TiB, the
  largest single nodes) for a job that gives no cores: MB that may be GB.

:func:`warn_hardware_dates` adds a :class:`~fleetcarbon.errors.HardwareDateWarning`
for jobs that started two or more years before their CPU's or accelerator's
``release_year``: an old cluster's log read without its hardware model.
"""

from __future__ import annotations

import datetime
import warnings
from typing import Any

import numpy as np
import polars as pl

from fleetcarbon import _core
from fleetcarbon.errors import HardwareDateWarning, UnitWarning
from fleetcarbon.schema import (
    ACCELERATOR_COUNT,
    AVG_POWER_W,
    CPU_CORES,
    DURATION_H,
    ENERGY_KWH,
    JOB_ID,
    MEMORY_GB,
    START,
)

__all__ = ["warn_hardware_dates", "warn_unit_mistakes"]

LONG_JOB_H = 2_000.0
MAX_NODE_MEMORY_GB = 12_288.0
MAX_MEMORY_PER_CORE_GB = 256.0
MIN_POWER_PER_ACCELERATOR_W = 10.0
ENERGY_RATIO_LOW, ENERGY_RATIO_HIGH = 0.1, 3.0
EXAMPLES = 5
#: Years before a release that a job may run (pre-release and early-access systems).
EARLY_ACCESS_YEARS = 1


def warn_unit_mistakes(
    frame: pl.DataFrame, buffers: dict[str, Any], jobs: _core.Jobs, tables: _core.Tables
) -> None:
    """Warn, per column, about values that look like a unit mistake.

    Parameters
    ----------
    frame : pl.DataFrame
        The validated jobs (for their ids).
    buffers : dict
        The core's job buffers (NaN: not given).
    jobs, tables : _core.Jobs, _core.Tables
        The same jobs and the factor tables, to model each metered job's energy.
    """
    ids = frame[JOB_ID]
    cols = set(frame.columns)

    def warn(
        mask: np.ndarray,
        values: np.ndarray,
        column: str,
        what: str,
        fix: str,
        jobs_of: np.ndarray | None = None,
    ) -> None:
        """Warn about the ``mask`` rows; ``jobs_of`` maps them to jobs when they are a subset."""
        count = int(mask.sum())
        if count:
            first = np.flatnonzero(mask)[:EXAMPLES]
            job = first if jobs_of is None else jobs_of[first]
            shown = ", ".join(
                f"({ids[int(j)]}, {values[int(k)]:.4g})" for j, k in zip(job, first, strict=True)
            )
            warnings.warn(
                f"column '{column}': {what} in {count} job{'s' if count != 1 else ''}; {fix}; "
                f"first: {shown}",
                UnitWarning,
                stacklevel=5,
            )

    if DURATION_H in cols:
        given = frame[DURATION_H].cast(pl.Float64).fill_null(np.nan).to_numpy()
        warn(
            given > LONG_JOB_H,
            given,
            DURATION_H,
            f"durations over {LONG_JOB_H:,.0f} h (83 days)",
            f"if these are seconds, divide by 3,600 (pl.col('{DURATION_H}') / 3600)",
        )
    count = _array(buffers, ACCELERATOR_COUNT)
    cores = _array(buffers, CPU_CORES)
    memory = _array(buffers, MEMORY_GB)
    if memory is not None:
        known = cores if cores is not None else np.zeros_like(memory)
        # Products, not a quotient: no division by zero cores, one pass fewer.
        too_much = (memory > MAX_MEMORY_PER_CORE_GB * known) & (
            (known > 0) | (memory > MAX_NODE_MEMORY_GB)
        )
        warn(
            too_much,
            memory,
            MEMORY_GB,
            f"over {MAX_MEMORY_PER_CORE_GB:,.0f} GB per core (or {MAX_NODE_MEMORY_GB:,.0f} GB "
            "without cores)",
            f"if these are MB, divide by 1,024 (pl.col('{MEMORY_GB}') / 1024)",
        )
    power = _array(buffers, AVG_POWER_W)
    if power is not None and count is not None:
        weak = (count > 0) & (power < MIN_POWER_PER_ACCELERATOR_W)
        warn(
            weak,
            power,
            AVG_POWER_W,
            f"under {MIN_POWER_PER_ACCELERATOR_W:g} W per accelerator",
            f"if these are kW, multiply by 1,000 (pl.col('{AVG_POWER_W}') * 1000)",
        )
    energy = _array(buffers, ENERGY_KWH)
    if (energy is None or np.isnan(energy).all()) and (power is None or np.isnan(power).all()):
        return
    modelled = np.asarray(_core.modelled_energy(jobs, tables))
    # Only the metered and measured jobs (the modelled energy is NaN elsewhere).
    rows = np.flatnonzero(~np.isnan(modelled))
    modelled = modelled[rows]
    energy = energy[rows] if energy is not None else None
    measured = None
    if power is not None:
        units = np.where(count[rows] > 0, count[rows], 1.0) if count is not None else 1.0
        measured = power[rows] * units * buffers[DURATION_H][rows] / 1000.0
    for column, actual, kind in (
        (ENERGY_KWH, energy, "metered"),
        (AVG_POWER_W, measured, "measured"),
    ):
        if actual is None:
            continue
        if column == AVG_POWER_W and energy is not None:
            actual = np.where(np.isnan(energy), actual, np.nan)  # metered energy wins
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ratio = actual / modelled
        # A zero reading is a meter that recorded nothing, not a unit slip.
        known = np.isfinite(ratio) & (modelled > 0) & (actual > 0)
        high, low = known & (ratio > ENERGY_RATIO_HIGH), known & (ratio < ENERGY_RATIO_LOW)
        fix_high = (
            "if energy_kwh holds Wh, divide by 1,000"
            if column == ENERGY_KWH
            else "check that avg_power_w is per accelerator, not per job"
        )
        model = "the energy their hardware would draw under the model (shown: the ratio)"
        warn(
            high, ratio, column, f"{kind} energy over {ENERGY_RATIO_HIGH:.0%} of {model}", fix_high
        )
        warn(
            low,
            ratio,
            column,
            f"{kind} energy under {ENERGY_RATIO_LOW:.0%} of {model}",
            "the unit may be off (MWh for kWh, kW for W), or the meter may miss the "
            "accelerators (Slurm's ConsumedEnergy often counts CPU and DRAM only)",
        )


def warn_hardware_dates(
    frame: pl.DataFrame, buffers: dict[str, Any], tables: dict[str, pl.DataFrame]
) -> None:
    """Warn about jobs that started well before their hardware's ``release_year``.

    Parameters
    ----------
    frame : pl.DataFrame
        The validated jobs, with a ``start`` column (else nothing is checked).
    buffers : dict
        The core's job buffers: each job's row in the ``cpu`` and
        ``accelerator`` tables (an array, or one row for all jobs).
    tables : dict of str to pl.DataFrame
        The ``"cpu"`` and ``"accelerator"`` tables, by the buffer that indexes them.
    """
    if START not in frame.columns or frame[START].null_count() == frame.height:
        return
    first = frame[START].min()
    first_year = first.year if isinstance(first, datetime.date) else None
    year: np.ndarray | None = None
    count = _array(buffers, ACCELERATOR_COUNT)
    cores = _array(buffers, CPU_CORES)
    n = frame.height
    accelerated = count > 0 if count is not None else np.zeros(n, dtype=bool)
    uses = {
        # The CPU row sets a CPU-only job's power and embodied carbon.
        "cpu": ~accelerated & (cores > 0 if cores is not None else np.zeros(n, dtype=bool)),
        "accelerator": accelerated,
    }
    for name, used in uses.items():
        table = tables[name]
        if "release_year" not in table.columns or not used.any():
            continue
        released = table["release_year"].cast(pl.Float64).fill_null(np.nan).to_numpy()
        rows = np.broadcast_to(np.asarray(buffers[name], dtype=np.int64), (n,))
        known = used & (rows >= 0) & (rows < len(released))
        present = np.bincount(rows[known], minlength=len(released)) > 0
        newest = np.nanmax(released[present], initial=-np.inf)
        # The common case, every job after its hardware's release: no per-job pass.
        if first_year is not None and first_year >= newest - EARLY_ACCESS_YEARS:
            continue
        if year is None:
            year = frame[START].dt.year().cast(pl.Float64).fill_null(np.nan).to_numpy()
        release = np.full(n, np.nan)
        release[known] = released[rows[known]]
        early = known & (year < release - EARLY_ACCESS_YEARS)
        if not early.any():
            continue
        first = np.flatnonzero(early)[:EXAMPLES]
        keys = table["key"]
        shown = ", ".join(
            f"({frame[JOB_ID][int(i)]}, {int(year[i])}, {keys[int(rows[i])]!r} of "
            f"{int(release[i])})"
            for i in first
        )
        fix = (
            "name the CPU model (a 'cpu' column, or 'cpu' in the cluster config); the "
            "default 'generic' core is a 2020s server's"
            if name == "cpu"
            else "check the accelerator key (an 'accelerator' column, or the cluster config)"
        )
        total = int(early.sum())
        warnings.warn(
            f"column '{name}': {total} job{'s' if total != 1 else ''} started "
            f"{EARLY_ACCESS_YEARS + 1} or more years before their {name}'s release year; {fix}; "
            f"first (job_id, start year, {name}, released): {shown}",
            HardwareDateWarning,
            stacklevel=5,
        )


def _array(buffers: dict[str, Any], name: str) -> np.ndarray | None:
    value = buffers.get(name)
    return value if isinstance(value, np.ndarray) else None
