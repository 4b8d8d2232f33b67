"""Fold job steps into their allocation, resolve duplicated records, and expand arrays."""

from __future__ import annotations

import logging
import re
import warnings

import polars as pl
import polars.selectors as cs

from fleetcarbon.errors import DroppedRowsWarning, InvalidValueError

__all__ = ["expand_array_tasks", "merge_steps"]

# The package's logger, as before the split into modules.
log = logging.getLogger(__package__)

_MAX_ARRAY_EXPANSION = 10_000_000
#: Per-line columns folded by max/min/sum over orphan steps; the rest take the first step's.
_FOLDED = {"__start", "__end", "__elapsed_s", "__ncpus", "__nnodes", "__memory_gb"} | {
    "__gpus",
    "__energy_j",
    "__cpu_time_s",
    "__max_rss_bytes",
    "__never",
    "jobid",
    "__step",
}


def expand_array_tasks(spec: str | None) -> list[int]:
    """Task indices of a job-array suffix: ``"4"`` → ``[4]``, ``"[1-3,7]"`` → ``[1, 2, 3, 7]``.

    A ``%N`` throttle (``[1-100%10]``) is ignored.

    Parameters
    ----------
    spec : str or None
        The part of a sacct JobID after ``_`` (the ``array_task`` column).

    Returns
    -------
    list of int
        Empty for None or an empty string.

    Raises
    ------
    InvalidValueError
        If ``spec`` is not an index or a bracketed list of indices and ranges, or
        expands to more than ten million tasks.
    """
    if spec is None or spec == "":
        return []
    body = spec.strip()
    if body.startswith("[") and body.endswith("]"):
        body = body[1:-1]
    body = body.split("%", 1)[0]
    out: list[int] = []
    for part in body.split(","):
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part.strip())
        if m is None:
            raise InvalidValueError("array_task", 1, "not a job-array index list", [spec])
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        if hi < lo or len(out) + hi - lo + 1 > _MAX_ARRAY_EXPANSION:
            raise InvalidValueError("array_task", 1, "invalid or too large task range", [spec])
        out.extend(range(lo, hi + 1))
    return out


def merge_steps(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per allocation: steps merged in, orphan steps grouped, duplicates resolved.

    Parameters
    ----------
    rows : pl.DataFrame
        Parsed lines (from :func:`~fleetcarbon.io.sacct.rows.parse_rows`), keyed by
        ``__alloc``; step lines have a non-null ``__step``.

    Returns
    -------
    pl.DataFrame
        The allocation rows in input order (the last of duplicated ones), their
        ``__energy_j`` and ``__cpu_time_s`` filled from the sum over their steps
        when null and their ``__max_rss_bytes`` the largest of theirs and their
        steps', then one row per allocation seen only through its steps (which
        never started if none of them did).

    Warns
    -----
    DroppedRowsWarning
        When an allocation is printed more than once.
    """
    is_step = pl.col("__step").is_not_null()
    allocs = rows.filter(~is_step)
    steps = rows.filter(is_step)
    if allocs.height and allocs["__alloc"].n_unique() != allocs.height:
        n_dup = allocs.height - allocs["__alloc"].n_unique()
        allocs = allocs.unique(subset="__alloc", keep="last", maintain_order=True)
        # stacklevel 3: read_sacct -> merge_steps, so the warning names read_sacct's caller.
        warnings.warn(
            f"read_sacct dropped {n_dup} earlier record{'s' if n_dup != 1 else ''} of jobs "
            "printed more than once under the same JobID (requeued jobs, sacct --duplicates); "
            "the last record of each is kept",
            DroppedRowsWarning,
            stacklevel=3,
        )
    if not steps.height:
        return allocs
    step_sums = steps.group_by("__alloc").agg(
        pl.col("__energy_j").sum().alias("__step_energy_j"),
        pl.col("__energy_j").is_not_null().any().alias("__step_has_energy"),
        pl.col("__cpu_time_s").sum().alias("__step_cpu_time_s"),
        pl.col("__cpu_time_s").is_not_null().any().alias("__step_has_cpu_time"),
        pl.col("__max_rss_bytes").max().alias("__step_max_rss_bytes"),
    )
    orphans = steps.join(allocs.select("__alloc"), on="__alloc", how="anti")
    merged = allocs.join(step_sums, on="__alloc", how="left", maintain_order="left")
    # The allocation's own energy and CPU time win; the steps' sums only fill a null.
    # MaxRSS is per task: the largest of the allocation's and its steps'.
    merged = merged.with_columns(
        pl.coalesce(
            "__energy_j",
            pl.when(pl.col("__step_has_energy")).then(pl.col("__step_energy_j")),
        ).alias("__energy_j"),
        pl.coalesce(
            "__cpu_time_s",
            pl.when(pl.col("__step_has_cpu_time")).then(pl.col("__step_cpu_time_s")),
        ).alias("__cpu_time_s"),
        pl.max_horizontal("__max_rss_bytes", "__step_max_rss_bytes").alias("__max_rss_bytes"),
    ).drop(cs.starts_with("__step_"))
    log.debug(
        "read_sacct merged %d step rows into their allocations", steps.height - orphans.height
    )
    if orphans.height:
        first = [c for c in rows.columns if c not in _FOLDED]
        grouped = orphans.group_by("__alloc", maintain_order=True).agg(
            *[pl.col(c).first() for c in first if c != "__alloc"],
            pl.col("__start").min(),
            pl.col("__end").max(),
            pl.col("__elapsed_s").max(),
            pl.col("__ncpus").max(),
            pl.col("__nnodes").max(),
            pl.col("__memory_gb").max(),
            pl.col("__gpus").max(),
            pl.when(pl.col("__energy_j").is_not_null().any()).then(pl.col("__energy_j").sum()),
            pl.when(pl.col("__cpu_time_s").is_not_null().any()).then(pl.col("__cpu_time_s").sum()),
            pl.col("__max_rss_bytes").max(),
            pl.col("__never").all(),
        )
        grouped = grouped.with_columns(
            pl.col("__alloc").alias("jobid"), pl.lit(None, pl.String).alias("__step")
        )
        log.debug("read_sacct formed %d jobs from steps without allocation", grouped.height)
        merged = pl.concat([merged, grouped.select(merged.columns)], how="vertical_relaxed")
    return merged
