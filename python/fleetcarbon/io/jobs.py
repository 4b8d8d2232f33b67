"""Job records from CSV or Parquet files (globs allowed): scanned lazily, or read and checked."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import polars as pl

from fleetcarbon.errors import (
    DroppedRowsWarning,
    FleetcarbonError,
    InvalidValueError,
    MissingColumnError,
    ParameterError,
    SchemaError,
)
from fleetcarbon.parameters import OnInvalid, check_on_invalid
from fleetcarbon.schema import END, FACTOR_NAMES, JOB_ID, QUANTITY_COLUMNS, START
from fleetcarbon.validation import CANONICAL_COLUMNS

__all__ = ["read_jobs", "scan_jobs"]

Format = Literal["csv", "parquet"]
_SUFFIXES: dict[str, Format] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
#: Rows read to infer CSV dtypes; read_jobs retries with the whole file when a later row
#: does not fit them.
_INFER_ROWS = 10_000
_N_EXAMPLES = 5
_MAX_SHOWN_COLUMNS = 30
#: Canonical columns that must be numbers, and those that must be times.
_NUMERIC = (*QUANTITY_COLUMNS, *FACTOR_NAMES)
_TIMES = (START, END)


def scan_jobs(
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
        With False, only the canonical columns are kept: the mapped ones and
        those the files already name canonically.

    Returns
    -------
    pl.LazyFrame
        A lazy scan: filter or select before collecting, or pass it straight to
        :func:`fleetcarbon.estimate`. Values are not checked: a CSV value that does
        not fit the dtype inferred from the first 10,000 rows makes ``collect``
        raise a Polars error. :func:`read_jobs` reads eagerly and checks the
        canonical columns.

    Raises
    ------
    fleetcarbon.errors.MissingColumnError
        A mapped source column does not exist (the message lists the columns).
    fleetcarbon.errors.SchemaError
        The format cannot be told, the files cannot be read, or a mapping
        expression does not fit the source columns.
    fleetcarbon.errors.FleetcarbonError
        A mapping target already exists as a source column.

    See Also
    --------
    read_jobs : Read into a DataFrame, with the canonical columns checked.

    Examples
    --------
    >>> import fleetcarbon as fc
    >>> from fleetcarbon.io import scan_jobs
    >>> jobs = scan_jobs("jobs/*.parquet", mapping={"job_id": "id"})  # doctest: +SKIP
    >>> fc.estimate(jobs.filter(pl.col("partition") == "gpu"))  # doctest: +SKIP
    """
    paths = _paths(path)
    fmt = _format_of(paths, format)
    return _scan(paths, fmt, dict(mapping or {}), keep_other_columns, _INFER_ROWS)


def read_jobs(
    path: str | Path | Sequence[str | Path],
    *,
    mapping: Mapping[str, str | pl.Expr] | None = None,
    format: Format | None = None,
    keep_other_columns: bool = True,
    on_invalid: OnInvalid = "raise",
) -> pl.DataFrame:
    """Read job records from CSV or Parquet into the canonical schema, and check them.

    The same as ``scan_jobs(...).collect()``, then canonical columns that hold
    text (because some value is not a number or a time, or a Parquet file stores
    them as strings) are parsed: the numeric ones (``duration_h``,
    ``accelerator_count``, ``cpu_cores``, ``memory_gb``, ``energy_kwh``,
    ``avg_power_w`` and the per-job factor overrides) into ``Float64``, and
    ``start``/``end`` into datetimes, in the format of their first value. Empty
    values become null. Other columns are returned as read; value domains
    (negative durations, ...) are checked by :func:`fleetcarbon.estimate`.

    Parameters
    ----------
    path, mapping, format, keep_other_columns
        As for :func:`scan_jobs`.
    on_invalid : {"raise", "drop"}, default "raise"
        Rows whose canonical columns cannot be parsed raise
        :class:`~fleetcarbon.errors.InvalidValueError` naming the column, the
        number of bad rows and the first ``(job_id, value)`` examples, or are
        dropped with a :class:`~fleetcarbon.errors.DroppedRowsWarning` counting them.

    Returns
    -------
    pl.DataFrame
        The job records, ready for :func:`fleetcarbon.estimate`.

    Raises
    ------
    fleetcarbon.errors.MissingColumnError
        A mapped source column does not exist (the message lists the columns).
    fleetcarbon.errors.SchemaError
        The format cannot be told, or the files cannot be read (missing, not
        CSV or Parquet, ragged CSV lines, a mapping expression that does not
        fit the source columns); the message names the file(s).
    fleetcarbon.errors.InvalidValueError
        Some values of a canonical column cannot be parsed, with ``on_invalid="raise"``.
    fleetcarbon.errors.ParameterError
        ``on_invalid`` is neither "raise" nor "drop".
    fleetcarbon.errors.FleetcarbonError
        A mapping target already exists as a source column.

    Warns
    -----
    DroppedRowsWarning
        Rows were dropped under ``on_invalid="drop"``; the message counts them per column.

    See Also
    --------
    scan_jobs : The same scan as a LazyFrame, without the checks.

    Examples
    --------
    >>> import fleetcarbon as fc
    >>> from fleetcarbon.io import read_jobs
    >>> jobs = read_jobs("jobs/*.csv", mapping={"job_id": "id"})  # doctest: +SKIP
    >>> fc.estimate(jobs)  # doctest: +SKIP
    """
    on_invalid = check_on_invalid(on_invalid)
    paths = _paths(path)
    fmt = _format_of(paths, format)
    mapping = dict(mapping or {})
    frame = scan_jobs(paths, mapping=mapping, format=fmt, keep_other_columns=keep_other_columns)
    try:
        try:
            jobs = frame.collect()
        except pl.exceptions.ComputeError:
            if fmt != "csv":
                raise
            # A value past the inferred rows does not fit its column's dtype: infer from
            # every row instead, so that the column is read as text and checked below.
            jobs = _scan(paths, fmt, mapping, keep_other_columns, None).collect()
    except _READ_ERRORS as exc:
        raise SchemaError(f"cannot read {_show_paths(paths)}: {_polars_message(exc)}") from exc
    return _parse_canonical(jobs, mapping, paths, on_invalid)


#: What reading a damaged file can raise: Polars errors, OS errors, and the
#: PanicException of a Polars panic (a BaseException, so never caught by accident).
_READ_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    pl.exceptions.PolarsError,
    *((pl.exceptions.PanicException,) if hasattr(pl.exceptions, "PanicException") else ()),
)


def _paths(path: str | Path | Sequence[str | Path]) -> list[str]:
    return [str(p) for p in (path if isinstance(path, (list, tuple)) else [path])]


def _format_of(paths: Sequence[str], given: Format | None) -> Format:
    if given is not None:
        if given not in ("csv", "parquet"):
            raise ParameterError(f"format must be 'csv' or 'parquet', got {given!r}")
        return given
    found = {_SUFFIXES.get(Path(p).suffix.lower()) for p in paths}
    if len(found) != 1 or None in found:
        raise SchemaError(
            f"cannot tell the format of {list(paths)} from its extension: pass format='csv' or "
            "format='parquet'"
        )
    return found.pop()  # type: ignore[return-value]


def _scan(
    paths: list[str],
    fmt: Format,
    mapping: dict[str, str | pl.Expr],
    keep_other_columns: bool,
    infer_schema_length: int | None,
) -> pl.LazyFrame:
    """Scan ``paths`` and map their columns; errors found from the schema alone are raised."""
    try:
        if fmt == "csv":
            scans = [
                pl.scan_csv(p, try_parse_dates=True, infer_schema_length=infer_schema_length)
                for p in paths
            ]
        else:
            scans = [pl.scan_parquet(p) for p in paths]
        frame = pl.concat(scans, how="diagonal_relaxed") if len(scans) > 1 else scans[0]
        available = frame.collect_schema().names()
    except _READ_ERRORS as exc:
        raise SchemaError(f"cannot read {_show_paths(paths)}: {_polars_message(exc)}") from exc
    missing = [src for src in mapping.values() if isinstance(src, str) and src not in available]
    if missing:
        raise MissingColumnError(
            f"mapped source column(s) {missing} not found in {_show_paths(paths)}; "
            f"the files have {_show_columns(available)}"
        )
    mapped = [
        (pl.col(src) if isinstance(src, str) else src).alias(canonical)
        for canonical, src in mapping.items()
    ]
    if keep_other_columns:
        consumed = {src for src in mapping.values() if isinstance(src, str)}
        clashes = [c for c in mapping if c in available and c not in consumed]
        if clashes:
            raise FleetcarbonError(
                f"mapping targets {clashes} already exist as source columns; drop or rename them"
            )
        kept = [pl.col(c) for c in available if c not in consumed]
        out = frame.select(*kept, *mapped)
    else:
        # Canonical columns the files already have need no mapping entry (unless
        # a mapping consumes them as its source).
        skip = set(mapping) | {src for src in mapping.values() if isinstance(src, str)}
        canonical = [pl.col(c) for c in available if c in CANONICAL_COLUMNS and c not in skip]
        out = frame.select(*canonical, *mapped)
    # Resolve the plan now, so that a mapping expression naming a missing column or
    # mixing strings and numbers fails here rather than at the caller's collect().
    try:
        out.collect_schema()
    except pl.exceptions.ColumnNotFoundError as exc:
        raise MissingColumnError(
            f"a mapping expression names a column absent from {_show_paths(paths)}: "
            f"{_polars_message(exc)}"
        ) from exc
    except pl.exceptions.PolarsError as exc:
        raise SchemaError(
            f"the mapping does not fit the columns of {_show_paths(paths)}: {_polars_message(exc)}"
        ) from exc
    return out


def _is_text(dtype: pl.DataType) -> bool:
    return dtype == pl.String or isinstance(dtype, (pl.Categorical, pl.Enum))


def _parse_canonical(
    jobs: pl.DataFrame, mapping: dict[str, str | pl.Expr], paths: list[str], on_invalid: OnInvalid
) -> pl.DataFrame:
    """Parse the canonical columns read as text; raise on, or drop, rows that do not parse."""
    schema = jobs.schema
    targets = [c for c in jobs.columns if c in _NUMERIC or c in _TIMES]
    targets = [c for c in targets if _is_text(schema[c])]
    if not targets:
        return jobs
    parsed: dict[str, pl.Expr] = {}
    bad: dict[str, pl.Expr] = {}
    for c in targets:
        raw = pl.col(c).cast(pl.String).str.strip_chars()
        raw = pl.when(raw.str.len_bytes() > 0).then(raw)
        if c in _TIMES:
            value = raw.str.to_datetime(time_unit="us", strict=False)
        else:
            value = raw.cast(pl.Float64, strict=False)
        parsed[c] = value.alias(c)
        bad[c] = (raw.is_not_null() & value.is_null()).alias(f"__bad_{c}")
    try:
        work = jobs.with_columns(*parsed.values(), *bad.values())
    except pl.exceptions.PolarsError as exc:  # e.g. no datetime format fits the first value
        raise SchemaError(
            f"cannot parse the column(s) {targets} of {_show_paths(paths)}: {_polars_message(exc)}"
        ) from exc
    flags = [f"__bad_{c}" for c in targets]
    counts = dict(zip(targets, work.select(pl.col(flags).sum()).row(0), strict=True))
    failing = [c for c in targets if counts[c]]
    if not failing:
        return work.drop(flags)
    if on_invalid == "raise":
        c = failing[0]
        source = mapping.get(c)
        what = "a time" if c in _TIMES else "a number"
        notes = [f"read from {_show_paths(paths)}", "use on_invalid='drop' to skip"]
        if isinstance(source, str):
            notes.insert(0, f"source column '{source}'")
        problem = f"not {what} ({'; '.join(notes)})"
        raise InvalidValueError(c, counts[c], problem, _examples(jobs, work[f"__bad_{c}"], c))
    any_bad = pl.any_horizontal(pl.col(f"__bad_{c}") for c in failing)
    n_bad = work.select(any_bad.sum()).item()
    summary = "; ".join(
        f"{counts[c]} with {c}: not {'a time' if c in _TIMES else 'a number'}" for c in failing
    )
    # stacklevel 3: read_jobs -> _parse_canonical, so the warning names read_jobs' caller.
    warnings.warn(
        f"read_jobs dropped {n_bad} row{'s' if n_bad != 1 else ''} of {_show_paths(paths)} "
        f"whose values cannot be parsed ({summary})",
        DroppedRowsWarning,
        stacklevel=3,
    )
    return work.filter(~any_bad).drop(flags)


def _examples(jobs: pl.DataFrame, bad: pl.Series, column: str) -> list[tuple[object, object]]:
    """Return the first ``(job_id, value)`` pairs (``(row number, value)`` without ``job_id``)."""
    row = pl.format("row {}", pl.int_range(pl.len()))
    key = pl.col(JOB_ID) if JOB_ID in jobs.columns else row
    rows = jobs.select(key.alias("__key"), pl.col(column).cast(pl.String)).filter(bad)
    return list(rows.head(_N_EXAMPLES).iter_rows())


def _show_paths(paths: list[str]) -> str:
    shown = ", ".join(repr(p) for p in paths[:5])
    return shown + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")


def _show_columns(names: list[str]) -> str:
    # A binary file read as CSV has a "header" of arbitrary bytes: keep the message short.
    shown = [n if len(n) <= 60 else n[:57] + "..." for n in names[:_MAX_SHOWN_COLUMNS]]
    extra = (
        f" and {len(names) - _MAX_SHOWN_COLUMNS} more" if len(names) > _MAX_SHOWN_COLUMNS else ""
    )
    return f"{shown}{extra}"


def _polars_message(exc: BaseException) -> str:
    # The first paragraph: the rest suggests Polars options (truncate_ragged_lines=...)
    # that read_jobs does not take, and prints the query plan.
    return str(exc).strip().split("\n\n", 1)[0]
