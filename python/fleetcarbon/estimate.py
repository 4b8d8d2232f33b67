"""Deterministic per-job lifecycle estimate."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from fleetcarbon import _core
from fleetcarbon.cfe_matching import match_cfe
from fleetcarbon.conventions import Convention, CpuAttribution, resolve_convention
from fleetcarbon.errors import KernelError, NonFiniteResultError, SchemaError
from fleetcarbon.factors import Factors, resolve_factors
from fleetcarbon.frames import collect_jobs
from fleetcarbon.grid_years import GridYear, check_grid_year
from fleetcarbon.parameters import OnInvalid, check_progress, check_threads
from fleetcarbon.schema import (
    CFE_OUTPUT_COLUMNS,
    DURATION_H,
    GRID_OUTPUT_COLUMNS,
    JOB_ID,
    OUTPUT_COLUMNS,
    POWER_BASIS_LABELS,
    RESULT_COLUMNS,
)
from fleetcarbon.validation import PreparedJobs, prepare_jobs

__all__ = ["POWER_BASIS", "estimate"]

#: Dtype of the ``power_basis`` output column.
POWER_BASIS = pl.Enum(list(POWER_BASIS_LABELS))


def estimate(
    jobs: pl.DataFrame | pl.LazyFrame,
    factors: Factors | None = None,
    *,
    on_invalid: OnInvalid = "raise",
    convention: str | Convention = "fleetcarbon",
    cpu_attribution: CpuAttribution | None = None,
    grid_year: GridYear = "job",
    threads: int | None = None,
    progress: Callable[[int, int], object] | None = None,
) -> pl.DataFrame:
    """Estimate energy and lifecycle carbon of each job.

    Parameters
    ----------
    jobs : pl.DataFrame or pl.LazyFrame
        Job records in the canonical schema (see ``docs/model.md``): ``job_id``;
        ``duration_h`` or ``start``/``end``; ``accelerator`` + ``accelerator_count``
        and/or ``cpu_cores``/``memory_gb``; ``region`` and/or ``datacenter``;
        optional ``energy_kwh``, ``avg_power_w``; optional per-job factor overrides
        (``pue``, ``grid_kgco2e_per_kwh``, ``tdp_w``...). Other columns pass through.
    factors : Factors, optional
        Factor tables; defaults to :func:`fleetcarbon.load_factors`.
    on_invalid : {"raise", "drop"}, default "raise"
        What to do with rows that fail validation: raise a
        :class:`~fleetcarbon.errors.FleetcarbonError`, or drop them and emit a
        :class:`~fleetcarbon.errors.DroppedRowsWarning` counting them per reason.
        Schema problems and duplicate ``job_id`` always raise.
    convention : str or Convention, default "fleetcarbon"
        The accounting convention (:mod:`fleetcarbon.conventions`):
        ``"fleetcarbon"``, or ``"ga4hpc"`` to charge jobs as
        GreenAlgorithms4HPC does (cores by their use, CPU and memory power
        added to GPU jobs, GPUs at full TDP). See ``docs/model.md`` §4.5.
    cpu_attribution : {"reserved", "used"}, optional
        Replace the convention's: charge cores as reserved (cores × wall
        time), or by their use, from a ``cpu_time_h`` column (used CPU time,
        as ``read_sacct`` reads it from TotalCPU): cores × wall time ×
        clip(cpu_time_h ÷ (cores × wall time), 0, 1); a job whose CPU time is
        null or 0 (not logged) is charged as reserved.
    grid_year : {"job", "latest"}, default "job"
        Which annual grid intensity a job with a ``start`` is charged: that of
        the year it started in (UTC), from ``factors.grid_history`` and the
        ``regions`` row together, or the nearest earlier year where neither has
        that year (the ``grid_year`` output column says which year was used);
        or ``"latest"``, the ``regions`` row's value for every job. See
        ``docs/model.md`` §4.2, "The year of the grid".
    threads : int, optional
        Threads for the Rust core (default: all cores; at most
        ``fleetcarbon._core.max_threads()``). Results do not depend on it.
    progress : callable, optional
        Called as ``progress(done, total)`` with the jobs estimated so far,
        about every 50 ms while the core runs and once at the end.

    Returns
    -------
    pl.DataFrame
        The input columns, in their order, followed by ``duration_h`` (only
        when the input has none: the hours from ``start``/``end``), ``power_basis``,
        ``it_energy_kwh``, ``facility_energy_kwh``, ``operational_kgco2e``,
        ``operational_market_kgco2e``, ``embodied_hardware_kgco2e``,
        ``embodied_facility_kgco2e``, ``embodied_kgco2e``, ``total_kgco2e``; when
        the jobs have a ``start`` (with ``grid_year="job"``) or the factors carry
        grid series (:meth:`Factors.with_grid_series`), ``grid_basis``
        (``series``, ``partial``, ``annual`` or ``job``),
        ``grid_kgco2e_per_kwh_effective`` (the intensity the job was charged),
        ``grid_year`` (the year of the annual value used; null for ``job``) and,
        with series, ``grid_series_share`` (the share of its window the series
        covers); when the factors carry CFE supply
        (:meth:`Factors.with_cfe_supply`), ``cfe_matched_kwh`` (the facility
        energy matched hour by hour by carbon-free supply) and
        ``cfe_matched_share`` (matched ÷ facility energy; null for jobs without
        energy), and ``operational_market_kgco2e`` is then the hourly-matched
        market-based figure (docs/model.md §4.2, "Hourly CFE matching": the
        fleet matched is the jobs of the call, and jobs without a run window
        are unmatched);
        and ``factors_version`` (the dataset version of ``factors``, so that an
        analysis can cite the factors it used). Output columns already present
        in the input are replaced.

    Raises
    ------
    fleetcarbon.errors.FleetcarbonError
        For any invalid input (a ``ValueError``); the message names the column,
        the number of bad rows and the first examples.

    Examples
    --------
    >>> import polars as pl, fleetcarbon as fc
    >>> jobs = pl.DataFrame({"job_id": [1], "duration_h": [10.0], "region": ["FR"],
    ...     "accelerator": ["nvidia-h100-sxm5-80gb"], "accelerator_count": [8]})
    >>> fc.estimate(jobs).columns[-2:]
    ['total_kgco2e', 'factors_version']
    """
    frame = collect_jobs(jobs)
    threads = check_threads(threads)
    progress = check_progress(progress)
    factors = resolve_factors(factors)
    frame = strip_outputs(frame)
    if frame.height == 0:
        return _empty_result(frame)
    chosen = resolve_convention(convention, cpu_attribution)
    prepared = prepare_jobs(
        frame,
        factors,
        on_invalid=on_invalid,
        convention=chosen,
        grid_year=check_grid_year(grid_year),
        threads=threads,
    )
    basis, columns = run_estimate(prepared, prepared.factors, threads, progress)
    market = RESULT_COLUMNS.index("operational_market_kgco2e")
    energy = columns[RESULT_COLUMNS.index("facility_energy_kwh")]
    cfe = match_cfe(prepared, energy, columns[market], threads=threads)
    if cfe is not None:
        columns[market] = cfe.market_kgco2e
    labels = pl.Series("power_basis", POWER_BASIS_LABELS, dtype=POWER_BASIS)
    outputs = [] if DURATION_H in frame.columns else [prepared.duration_h.alias(DURATION_H)]
    outputs.append(labels.gather(basis))
    outputs += [pl.Series(name, v) for name, v in zip(RESULT_COLUMNS, columns, strict=True)]
    if prepared.grid is not None:
        outputs += prepared.grid.columns()
    if cfe is not None:
        outputs += cfe.columns()
    outputs.append(_version_column(factors.version, len(basis)))
    return prepared.frame.hstack(outputs)


def strip_outputs(frame: pl.DataFrame) -> pl.DataFrame:
    """Drop the output columns of a previous estimate (refusing a mistaken override)."""
    if "embodied_kgco2e" in frame.columns and "total_kgco2e" not in frame.columns:
        # Not a previous result: most likely a per-accelerator override under the output's name.
        raise SchemaError(
            "column 'embodied_kgco2e' is an output of estimate(); to override the embodied "
            "carbon per accelerator, name the column 'accelerator_embodied_kgco2e'"
        )
    outputs = (*OUTPUT_COLUMNS, *GRID_OUTPUT_COLUMNS, *CFE_OUTPUT_COLUMNS)
    return frame.drop([c for c in outputs if c in frame.columns])


def run_estimate(
    prepared: PreparedJobs,
    factors: Factors,
    threads: int | None,
    progress: Callable[[int, int], object] | None = None,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Call the core on validated jobs; an overflowed result names its job."""
    try:
        return _core.estimate(prepared.jobs, factors.engine, threads=threads, progress=progress)
    except KernelError as exc:
        if exc.kind != "non_finite" or exc.row is None:
            raise
        raise NonFiniteResultError(
            exc.column or "results",
            exc.count or 1,
            "results that overflowed (valid inputs too extreme to compute)",
            [prepared.frame[JOB_ID][exc.row]],
        ) from exc


def _version_column(version: str, n: int) -> pl.Series:
    # One Categorical value repeated: a few bytes per row, and cheap to concatenate
    # with results of other dataset versions.
    return pl.Series("factors_version", [version], dtype=pl.Categorical).new_from_index(0, n)


def _empty_result(frame: pl.DataFrame) -> pl.DataFrame:
    empty = [] if DURATION_H in frame.columns else [pl.Series(DURATION_H, [], dtype=pl.Float64)]
    empty.append(pl.Series("power_basis", [], dtype=POWER_BASIS))
    empty += [pl.Series(c, [], dtype=pl.Float64) for c in RESULT_COLUMNS]
    empty.append(pl.Series("factors_version", [], dtype=pl.Categorical))
    return frame.hstack(empty)
