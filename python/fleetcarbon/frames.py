"""Frames in (DataFrames and LazyFrames, collected once, never modified) and group labels."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from fleetcarbon._compat import EXPLODE_KWARGS, lexical_sort_keys
from fleetcarbon.errors import NotAFrameError, SchemaError

__all__ = ["collect_jobs", "group_index"]


def collect_jobs(jobs: object, *, name: str = "jobs") -> pl.DataFrame:
    """Return ``jobs`` as a DataFrame, collecting a LazyFrame.

    Raises
    ------
    NotAFrameError
        ``jobs`` is neither a Polars DataFrame nor a LazyFrame.
    SchemaError
        The LazyFrame cannot be collected (its query fails).
    """
    if isinstance(jobs, pl.DataFrame):
        return jobs
    if isinstance(jobs, pl.LazyFrame):
        try:
            return jobs.collect()
        except pl.exceptions.PolarsError as exc:
            raise SchemaError(f"{name}: the LazyFrame's query failed: {exc}") from exc
    raise NotAFrameError(
        f"{name} must be a polars DataFrame or LazyFrame, got {type(jobs).__name__}"
    )


def group_index(frame: pl.DataFrame, by: Sequence[str]) -> tuple[np.ndarray, pl.DataFrame]:
    """Assign each row of ``frame`` the number of its ``by`` group (sorted by key, nulls last).

    Returns
    -------
    group : np.ndarray of uint32
        Group number of each row.
    keys : pl.DataFrame
        One row per group, in group-number order.
    """
    if not by:
        return np.zeros(frame.height, dtype=np.uint32), pl.DataFrame()
    rows = (
        frame.select(by)
        .with_row_index("__fc_row")
        .group_by(by)
        .agg(pl.col("__fc_row"))
        .sort(lexical_sort_keys(frame, list(by)), nulls_last=True)
    )
    group = np.empty(frame.height, dtype=np.uint32)
    exploded = (
        rows.with_row_index("__fc_group")
        .select("__fc_group", "__fc_row")
        .explode("__fc_row", **EXPLODE_KWARGS)
    )
    group[exploded["__fc_row"].to_numpy()] = exploded["__fc_group"].to_numpy()
    return group, rows.drop("__fc_row")
