"""Job records from CSV or Parquet files (globs allowed), scanned lazily."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import polars as pl

from fleetcarbon.errors import FleetcarbonError, MissingColumnError, SchemaError

__all__ = ["read_jobs"]

Format = Literal["csv", "parquet"]
_SUFFIXES: dict[str, Format] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def _format_of(paths: Sequence[str], given: Format | None) -> Format:
    if given is not None:
        if given not in ("csv", "parquet"):
            raise ValueError(f"format must be 'csv' or 'parquet', got {given!r}")
        return given
    found = {_SUFFIXES.get(Path(p).suffix.lower()) for p in paths}
    if len(found) != 1 or None in found:
        raise SchemaError(
            f"cannot tell the format of {list(paths)} from its extension: pass format='csv' or "
            "format='parquet'"
        )
    return found.pop()  # type: ignore[return-value]


def read_jobs(
    path: str | Path | Sequence[str | Path],
    *,
    mapping: Mapping[str, str | pl.Expr] | None = None,
    format: Format | None = None,
    keep_other_columns: bool = True,
) -> pl.LazyFrame:
    """Scan job records from CSV or Parquet into the canonical schema, lazily.

    Parameters
    ----------
    path : str, Path or sequence of them
        File(s); glob patterns such as ``"logs/2025-*.parquet"`` are expanded.
        The files are only read, never modified.
    mapping : mapping of str to str or pl.Expr, optional
        Canonical column name -> source column name, or an expression over
        the source columns (for unit conversions), e.g.
        ``{"job_id": "JobID", "duration_h": pl.col("elapsed_s") / 3600}``.
        Columns already named canonically need no entry.
    format : {"csv", "parquet"}, optional
        Inferred from the file extension when omitted.
    keep_other_columns : bool, default True
        Keep the source columns that are not mapped (they pass through
        ``estimate``); mapped source columns are replaced by their canonical name.

    Returns
    -------
    pl.LazyFrame
        A lazy scan: filter or select before collecting, or pass it straight to
        :func:`fleetcarbon.estimate`.

    Raises
    ------
    fleetcarbon.errors.MissingColumnError
        A mapped source column does not exist (the message lists the columns).
    fleetcarbon.errors.SchemaError
        The format cannot be told, or the files cannot be read.

    Examples
    --------
    >>> import fleetcarbon as fc
    >>> from fleetcarbon.io import read_jobs
    >>> jobs = read_jobs("jobs/*.parquet", mapping={"job_id": "id"})  # doctest: +SKIP
    >>> fc.estimate(jobs)  # doctest: +SKIP
    """
    paths = [str(p) for p in (path if isinstance(path, (list, tuple)) else [path])]
    fmt = _format_of(paths, format)
    try:
        if fmt == "csv":
            scans = [
                pl.scan_csv(p, try_parse_dates=True, infer_schema_length=10_000) for p in paths
            ]
        else:
            scans = [pl.scan_parquet(p) for p in paths]
        frame = pl.concat(scans, how="diagonal_relaxed") if len(scans) > 1 else scans[0]
        available = frame.collect_schema().names()
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise SchemaError(f"cannot read {paths}: {exc}") from exc
    mapping = dict(mapping or {})
    missing = [src for src in mapping.values() if isinstance(src, str) and src not in available]
    if missing:
        raise MissingColumnError(
            f"mapped source column(s) {missing} not found; the files have {available}"
        )
    mapped = [
        (pl.col(src) if isinstance(src, str) else src).alias(canonical)
        for canonical, src in mapping.items()
    ]
    if not keep_other_columns:
        return frame.select(mapped)
    consumed = {src for src in mapping.values() if isinstance(src, str)}
    clashes = [c for c in mapping if c in available and c not in consumed]
    if clashes:
        raise FleetcarbonError(
            f"mapping targets {clashes} already exist as source columns; drop or rename them"
        )
    kept = [pl.col(c) for c in available if c not in consumed]
    return frame.select(*kept, *mapped)
