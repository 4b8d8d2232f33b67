"""Group totals of per-job estimates, summed in a fixed order with compensation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from fleetcarbon import _core
from fleetcarbon.errors import MissingColumnError
from fleetcarbon.frames import collect_jobs, group_index
from fleetcarbon.parameters import check_by, check_threads
from fleetcarbon.schema import ACCELERATOR_COUNT, CPU_CORES, CPU_TIME_H, RESULT_COLUMNS
from fleetcarbon.validation import duration_hours

__all__ = ["STATE_CLASSES", "SUMMED_COLUMNS", "state_class", "summarize"]

#: Columns of an estimate that are summed per group.
SUMMED_COLUMNS: tuple[str, ...] = RESULT_COLUMNS

#: Job states (Slurm's names; other readers map theirs onto them) by the class
#: that ``summarize`` reports; any other state, or none, is "other".
STATE_CLASSES: dict[str, tuple[str, ...]] = {
    "completed": ("COMPLETED",),
    "failed": ("FAILED", "NODE_FAIL", "BOOT_FAIL", "OUT_OF_MEMORY"),
    "cancelled": ("CANCELLED", "PREEMPTED", "REVOKED"),
    "timeout": ("TIMEOUT", "DEADLINE"),
}
_CLASS_NAMES = (*STATE_CLASSES, "other")
#: The per-job share of the window a grid series covers (estimate's output).
GRID_SHARE = "grid_series_share"
#: The per-job facility energy matched by carbon-free supply (estimate's output).
CFE_MATCHED = "cfe_matched_kwh"


def state_class(state: str | pl.Expr = "state") -> pl.Expr:
    """Return the class of each job's state: completed, failed, cancelled, timeout or other.

    The state is read case-insensitively, by its first word (``"CANCELLED by
    123"`` and sacct's truncated ``"CANCELLED+"`` are cancelled).

    Examples
    --------
    >>> import polars as pl, fleetcarbon as fc
    >>> jobs = pl.DataFrame({"state": ["COMPLETED", "CANCELLED by 12", "oom", None]})
    >>> jobs.select(fc.state_class())["state_class"].to_list()
    ['completed', 'cancelled', 'other', 'other']
    """
    expr = pl.col(state) if isinstance(state, str) else state
    word = expr.cast(pl.String).str.strip_chars().str.extract(r"^([A-Za-z_]+)", 1)
    mapping = {name: label for label, names in STATE_CLASSES.items() for name in names}
    classes = word.str.to_uppercase().replace_strict(mapping, default="other")
    return classes.fill_null("other").cast(pl.Enum(list(_CLASS_NAMES))).alias("state_class")


def _per_job_hours(frame: pl.DataFrame, column: str) -> np.ndarray:
    """``column`` × duration of each job (0 where unknown): accelerator- or core-hours."""
    if column not in frame.columns:
        return np.zeros(frame.height, dtype=np.float64)
    product = (pl.col(column).cast(pl.Float64) * duration_hours(frame)).fill_null(0.0)
    return _column(frame.select(product).to_series())


def _column(s: pl.Series) -> np.ndarray:
    return np.ascontiguousarray(s.cast(pl.Float64).to_numpy(), dtype=np.float64)


def _usage_arrays(frame: pl.DataFrame, core_hours: np.ndarray) -> list[np.ndarray]:
    """CPU time; and CPU time and core-hours of the jobs that logged both (the usage factor)."""
    used = _column(frame[CPU_TIME_H].fill_null(0.0).fill_nan(0.0))
    logged = (used > 0) & (core_hours > 0)
    return [used, np.where(logged, used, 0.0), np.where(logged, core_hours, 0.0)]


def _state_arrays(frame: pl.DataFrame) -> list[np.ndarray]:
    """Per state class: 1 for its jobs, and their total carbon (0 elsewhere)."""
    classes = frame.select(state_class()).to_series().cast(pl.String).to_numpy()
    total = _column(frame["total_kgco2e"])
    out = []
    for label in _CLASS_NAMES:
        member = classes == label
        out += [member.astype(np.float64), np.where(member, total, 0.0)]
    return out


def _versions_per_group(estimates: pl.DataFrame, group: np.ndarray, n_groups: int) -> list[str]:
    """List the dataset versions seen in each group, sorted and comma-joined."""
    per_group = (
        pl.DataFrame({"g": group, "v": estimates["factors_version"].cast(pl.String)})
        .unique()
        .drop_nulls()
        .sort("g", "v")
        .group_by("g", maintain_order=True)
        .agg(pl.col("v").str.join(", "))
    )
    out = [""] * n_groups
    for g, v in per_group.iter_rows():
        out[g] = v
    return out


def summarize(
    estimates: pl.DataFrame | pl.LazyFrame,
    *,
    by: str | Sequence[str] | None = None,
    threads: int | None = None,
) -> pl.DataFrame:
    """Sum per-job estimates per group.

    Parameters
    ----------
    estimates : pl.DataFrame or pl.LazyFrame
        Output of :func:`fleetcarbon.estimate`.
    by : str or sequence of str, optional
        Grouping columns; none gives one fleet-wide row.
    threads : int, optional
        Threads for the Rust core. Totals do not depend on it.

    Returns
    -------
    pl.DataFrame
        One row per group, sorted by the group keys (nulls last): the keys,
        ``jobs``, ``accelerator_hours`` (GPU-hours) and ``core_hours`` (both
        reserved: count × wall time), the summed energy and carbon columns,
        ``embodied_share`` (embodied / total; null when the total is 0) and,
        when the estimates carry it, ``factors_version`` (the versions in each
        group).

        With a ``cpu_time_h`` column: ``cpu_time_h`` (summed) and
        ``core_usage``, the CPU time ÷ the reserved core-hours of the jobs that
        logged CPU time (GreenAlgorithms4HPC's usage factor; null where none did).

        With grid series (a ``grid_series_share`` column):
        ``grid_series_energy_share``, the share of the facility energy that met
        an hourly series (the rest met annual values).

        With CFE supply (a ``cfe_matched_kwh`` column): ``cfe_score``, the
        hourly CFE score of the group, Σ ``cfe_matched_kwh`` ÷ Σ
        ``facility_energy_kwh`` (the share of its energy matched by
        carbon-free supply in the same interval and datacenter or region,
        Google's 24/7 CFE score; null when the group drew no energy). Its
        ``operational_market_kgco2e`` is then the hourly-matched figure.

        With a ``state`` column, per state class (:func:`state_class`:
        completed, failed, cancelled, timeout, other): ``<class>_jobs`` and
        ``<class>_kgco2e``, the total carbon of those jobs, so that the carbon
        of failed work is visible. For its uncertainty, simulate by class:
        ``simulate(jobs.with_columns(fc.state_class()), by="state_class")``.

    Notes
    -----
    Sums use Neumaier compensated summation over fixed-size row blocks merged
    in order, so totals are identical for any thread count.
    """
    estimates = collect_jobs(estimates, name="estimates")
    by = check_by(by)
    threads = check_threads(threads)
    missing = [c for c in (*SUMMED_COLUMNS, *by) if c not in estimates.columns]
    if missing:
        raise MissingColumnError(
            f"summarize needs the output of estimate(); missing column(s) {missing}"
        )
    group, keys = group_index(estimates, by)
    n_groups = max(keys.height, 1) if by else 1
    core_hours = _per_job_hours(estimates, CPU_CORES)
    named = {
        "jobs": np.ones(estimates.height, dtype=np.float64),
        "accelerator_hours": _per_job_hours(estimates, ACCELERATOR_COUNT),
        "core_hours": core_hours,
        **{c: _column(estimates[c]) for c in SUMMED_COLUMNS},
    }
    if CPU_TIME_H in estimates.columns:
        named[CPU_TIME_H], used, logged = _usage_arrays(estimates, core_hours)
        named |= {"__used": used, "__logged": logged}
    if GRID_SHARE in estimates.columns:
        energy = _column(estimates["facility_energy_kwh"])
        named["__series_kwh"] = energy * _column(estimates[GRID_SHARE])
    if CFE_MATCHED in estimates.columns:
        named["__cfe_kwh"] = _column(estimates[CFE_MATCHED].fill_null(0.0))
    if "state" in estimates.columns:
        state_sums = _state_arrays(estimates)
        for i, label in enumerate(_CLASS_NAMES):
            named[f"{label}_jobs"], named[f"{label}_kgco2e"] = state_sums[2 * i : 2 * i + 2]
    sums = _core.grouped_sums(group, n_groups, list(named.values()), threads=threads)
    if by and keys.height == 0:
        sums = [s[:0] for s in sums]
    totals = dict(zip(named, sums, strict=True))
    for name in totals:
        if name == "jobs" or name.endswith("_jobs"):
            totals[name] = totals[name].astype(np.int64)
    if CPU_TIME_H in totals:
        used, logged = totals.pop("__used"), totals.pop("__logged")
        with np.errstate(divide="ignore", invalid="ignore"):
            usage = np.where(logged > 0, used / logged, np.nan)
        at = list(totals).index(CPU_TIME_H) + 1
        items = list(totals.items())
        totals = dict([*items[:at], ("core_usage", usage), *items[at:]])
    for part, share in (("__series_kwh", "grid_series_energy_share"), ("__cfe_kwh", "cfe_score")):
        if part in totals:
            part_kwh = totals.pop(part)
            with np.errstate(divide="ignore", invalid="ignore"):
                energy = totals["facility_energy_kwh"]
                totals[share] = np.where(energy > 0, part_kwh / energy, np.nan)
    out = pl.DataFrame(totals)
    for share in ("grid_series_energy_share", "cfe_score"):
        if share in out.columns:
            out = out.with_columns(pl.col(share).fill_nan(None))
    if "core_usage" in out.columns:
        out = out.with_columns(pl.col("core_usage").fill_nan(None))
    if "factors_version" in estimates.columns:
        versions = _versions_per_group(estimates, group, n_groups)
        out = out.with_columns(factors_version=pl.Series(versions[: out.height], dtype=pl.String))
    out = out.with_columns(
        embodied_share=pl.when(pl.col("total_kgco2e") > 0)
        .then(pl.col("embodied_kgco2e") / pl.col("total_kgco2e"))
        .otherwise(None)
    )
    return keys.hstack(out) if by else out
