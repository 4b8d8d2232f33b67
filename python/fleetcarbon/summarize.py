"""Group totals of per-job estimates, summed in a fixed order with compensation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from fleetcarbon import _core
from fleetcarbon.errors import MissingColumnError
from fleetcarbon.frames import collect_jobs, group_index
from fleetcarbon.parameters import check_by, check_threads
from fleetcarbon.schema import ACCELERATOR_COUNT, RESULT_COLUMNS
from fleetcarbon.validation import duration_hours

__all__ = ["SUMMED_COLUMNS", "summarize"]

#: Columns of an estimate that are summed per group.
SUMMED_COLUMNS: tuple[str, ...] = RESULT_COLUMNS


def _accelerator_hours(frame: pl.DataFrame) -> np.ndarray:
    """Accelerator count × duration of each job (0 where unknown)."""
    if ACCELERATOR_COUNT not in frame.columns:
        return np.zeros(frame.height, dtype=np.float64)
    product = (pl.col(ACCELERATOR_COUNT).cast(pl.Float64) * duration_hours(frame)).fill_null(0.0)
    return np.ascontiguousarray(frame.select(product).to_series().to_numpy(), dtype=np.float64)


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
        ``jobs``, ``accelerator_hours``, the summed energy and carbon columns,
        ``embodied_share`` (embodied / total; null when the total is 0) and,
        when the estimates carry it, ``factors_version`` (the versions in each group).

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
    arrays = [_accelerator_hours(estimates)]
    arrays += [
        np.ascontiguousarray(estimates[c].cast(pl.Float64).to_numpy(), dtype=np.float64)
        for c in SUMMED_COLUMNS
    ]
    arrays.append(np.ones(estimates.height, dtype=np.float64))
    sums = _core.grouped_sums(group, n_groups, arrays, threads=threads)
    if by and keys.height == 0:
        sums = [s[:0] for s in sums]
    out = pl.DataFrame(
        {
            "jobs": sums[-1].astype(np.int64),
            "accelerator_hours": sums[0],
            **{c: s for c, s in zip(SUMMED_COLUMNS, sums[1:-1], strict=True)},
        }
    )
    if "factors_version" in estimates.columns:
        versions = _versions_per_group(estimates, group, n_groups)
        out = out.with_columns(factors_version=pl.Series(versions[: out.height], dtype=pl.String))
    out = out.with_columns(
        embodied_share=pl.when(pl.col("total_kgco2e") > 0)
        .then(pl.col("embodied_kgco2e") / pl.col("total_kgco2e"))
        .otherwise(None)
    )
    return keys.hstack(out) if by else out
