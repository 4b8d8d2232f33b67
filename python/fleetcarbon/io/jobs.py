"""Job records from CSV or Parquet files (globs allowed): scanned lazily, or read and checked.

Files may be compressed (gzip, zstd, bzip2, xz), told by their first bytes:
``logs/*.csv.gz`` reads like ``logs/*.csv``. The format is told by the suffix
under the compression suffix (``.csv``, ``.parquet``, ``.pq``), else by the
content (Parquet's ``PAR1`` magic, else CSV text).
"""

from __future__ import annotations

import bz2
import csv
import glob
import gzip
import io
import itertools
import lzma
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl

from fleetcarbon.errors import (
    DroppedRowsWarning,
    FleetcarbonError,
    InvalidValueError,
    MissingColumnError,
    ParameterError,
    SchemaError,
)
from fleetcarbon.io.compression import (
    MAGIC_BYTES,
    CompressionError,
    compression_of,
    inner_name,
    read_bytes,
    sniff,
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
#: Compressions Polars' CSV reader decompresses itself (as it scans); the others are
#: decompressed in memory first.
_POLARS_CSV_COMPRESSIONS = (None, "gzip", "zstd")
#: Bytes of each CSV file checked for NUL bytes (binary files are refused).
_SNIFF_BYTES = 65_536
_OPENERS: dict[str, Callable[..., Any]] = {
    "gzip": gzip.open,
    "bzip2": bz2.open,
    "xz": lzma.open,
}


@dataclass(frozen=True)
class _CsvOptions:
    """How CSV files are laid out."""

    has_header: bool = True
    columns: tuple[str, ...] | None = None
    separator: str = ","

    @property
    def is_default(self) -> bool:
        return self == _CsvOptions()


def scan_jobs(
    path: str | Path | Sequence[str | Path],
    *,
    mapping: Mapping[str, str | pl.Expr] | None = None,
    format: Format | None = None,
    keep_other_columns: bool = True,
    has_header: bool = True,
    columns: Sequence[str] | None = None,
    separator: str = ",",
) -> pl.LazyFrame:
    """Scan job records from CSV or Parquet into the canonical schema, lazily.

    Parameters
    ----------
    path : str, Path or sequence of them
        File(s); glob patterns such as ``"logs/2025-*.parquet"`` are expanded.
        Files may be compressed (gzip, zstd, bzip2, xz: ``jobs.csv.gz``, or a
        gzipped file without the suffix), told by their first bytes; bzip2 and
        xz files, and compressed Parquet, are decompressed in memory. The files
        are only read, never modified.
    mapping : mapping of str to str or pl.Expr, optional
        Canonical column name -> source column name, or an expression over
        the source columns (for unit conversions), e.g.
        ``{"job_id": "JobID", "duration_h": pl.col("elapsed_s") / 3600}``.
        Columns already named canonically need no entry.
    format : {"csv", "parquet"}, optional
        Told by the file extension when omitted (the one under a compression
        suffix: ``.csv.gz`` is CSV), else by the content of the first file.
    keep_other_columns : bool, default True
        Keep the source columns that are not mapped (they pass through
        ``estimate``); mapped source columns are replaced by their canonical name.
        With False, only the canonical columns are kept: the mapped ones and
        those the files already name canonically.
    has_header : bool, default True
        CSV only: whether the first line names the columns. Without a header,
        ``columns`` names them (else they are ``column_1``, ``column_2``, ...).
    columns : sequence of str, optional
        CSV only, with ``has_header=False``: the names of the fields, one per
        field of every line (then map them with ``mapping`` as usual).
    separator : str, default ","
        CSV only: the field separator, one byte (``";"``, ``"\\t"``, ``"|"``).

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
        The format cannot be told, the files cannot be read (binary, damaged
        or truncated compressed data), ``columns`` does not match the number of
        fields, or a mapping expression does not fit the source columns.
    fleetcarbon.errors.ParameterError
        ``format``, ``has_header``, ``columns`` or ``separator`` is invalid, or
        a CSV option is given for Parquet.
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
    options = _csv_options(fmt, has_header, columns, separator)
    return _scan(paths, fmt, dict(mapping or {}), keep_other_columns, _INFER_ROWS, options)


def read_jobs(
    path: str | Path | Sequence[str | Path],
    *,
    mapping: Mapping[str, str | pl.Expr] | None = None,
    format: Format | None = None,
    keep_other_columns: bool = True,
    has_header: bool = True,
    columns: Sequence[str] | None = None,
    separator: str = ",",
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
    path, mapping, format, keep_other_columns, has_header, columns, separator
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
        CSV or Parquet, binary, ragged CSV lines, damaged compressed data, a
        mapping expression that does not fit the source columns); the message
        names the file(s) and, for binary files and ragged lines, the first
        line at fault.
    fleetcarbon.errors.InvalidValueError
        Some values of a canonical column cannot be parsed, with ``on_invalid="raise"``.
    fleetcarbon.errors.ParameterError
        ``on_invalid`` is neither "raise" nor "drop", or a CSV option is invalid.
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
    options = _csv_options(fmt, has_header, columns, separator)
    mapping = dict(mapping or {})
    frame = _scan(paths, fmt, mapping, keep_other_columns, _INFER_ROWS, options)
    try:
        try:
            jobs = frame.collect()
        except pl.exceptions.ComputeError:
            if fmt != "csv":
                raise
            # A value past the inferred rows does not fit its column's dtype: infer from
            # every row instead, so that the column is read as text and checked below.
            jobs = _scan(paths, fmt, mapping, keep_other_columns, None, options).collect()
    except _READ_ERRORS as exc:
        raise _read_error(paths, fmt, options, exc) from exc
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
    found = {_SUFFIXES.get(Path(inner_name(p)).suffix.lower()) for p in paths}
    if None in found:
        # No telling suffix: the first bytes of the first file say Parquet or CSV.
        sniffed = {_sniff_format(p) for p in paths if _SUFFIXES.get(_inner_suffix(p)) is None}
        found = (found - {None}) | sniffed
    if len(found) != 1 or None in found:
        raise SchemaError(
            f"cannot tell the format of {list(paths)} from its extension: pass format='csv' or "
            "format='parquet'"
        )
    return found.pop()  # type: ignore[return-value]


def _inner_suffix(path: str) -> str:
    return Path(inner_name(path)).suffix.lower()


def _sniff_format(path: str) -> Format | None:
    """Parquet or CSV from the first file ``path`` names (None when there is none)."""
    files = _files(path)
    if not files:
        return None
    try:
        head = _head(files[0], _SNIFF_BYTES)
    except (OSError, CompressionError, ImportError):
        return None
    if head.startswith(b"PAR1"):
        return "parquet"
    return "csv" if b"\x00" not in head else None


def _files(path: str) -> list[str]:
    """List the files a path names: itself, or a glob's matches in sorted order."""
    if glob.has_magic(path) and not Path(path).exists():
        return sorted(glob.glob(path, recursive=True))
    return [path] if Path(path).is_file() else []


def _head(path: str, size: int) -> bytes:
    """Read the first ``size`` bytes of a file, decompressed."""
    kind = compression_of(path)
    if kind is None:
        with open(path, "rb") as fh:
            return fh.read(size)
    if kind in ("gzip", "bzip2", "xz"):
        try:
            with _OPENERS[kind](path, "rb") as fh:
                data: bytes = fh.read(size)
                return data
        except (OSError, EOFError, lzma.LZMAError) as exc:
            raise CompressionError(f"cannot decompress {path!r} ({kind}): {exc}") from exc
    try:
        return read_bytes(path)[:size]
    except ImportError:  # zstd without zstandard: Polars reads it, unchecked
        return b""


def _csv_options(
    fmt: Format, has_header: object, columns: object, separator: object
) -> _CsvOptions:
    if not isinstance(has_header, bool):
        raise ParameterError(f"has_header must be True or False, got {has_header!r}")
    names: tuple[str, ...] | None = None
    if columns is not None:
        if isinstance(columns, str) or not isinstance(columns, Sequence):
            raise ParameterError(f"columns must be a list of column names, got {columns!r}")
        names = tuple(columns)
        if not names or not all(isinstance(c, str) and c for c in names):
            raise ParameterError(f"columns must be non-empty column names, got {list(names)}")
        repeated = sorted({c for c in names if names.count(c) > 1})
        if repeated:
            raise ParameterError(f"columns names {repeated} more than once")
        if has_header:
            raise ParameterError(
                "columns= names the fields of files without a header line: pass "
                "has_header=False (to rename the columns of a file with a header, use mapping=)"
            )
    if not isinstance(separator, str) or len(separator.encode("utf-8")) != 1:
        raise ParameterError(f"separator must be a single one-byte character, got {separator!r}")
    options = _CsvOptions(has_header, names, separator)
    if fmt == "parquet" and not options.is_default:
        raise ParameterError("has_header, columns and separator apply to CSV files only")
    return options


def _scan(
    paths: list[str],
    fmt: Format,
    mapping: dict[str, str | pl.Expr],
    keep_other_columns: bool,
    infer_schema_length: int | None,
    options: _CsvOptions | None = None,
) -> pl.LazyFrame:
    """Scan ``paths`` and map their columns; errors found from the schema alone are raised."""
    options = options or _CsvOptions()
    try:
        scans = [scan for p in paths for scan in _scan_path(p, fmt, infer_schema_length, options)]
        frame = pl.concat(scans, how="diagonal_relaxed") if len(scans) > 1 else scans[0]
        available = frame.collect_schema().names()
    except _READ_ERRORS as exc:
        raise _read_error(paths, fmt, options, exc) from exc
    if not options.has_header and options.columns is None:
        # Polars 1 names them column_1, column_2, ...; Polars 2 from column_0: one name.
        names = [f"column_{i + 1}" for i in range(len(available))]
        frame = frame.rename(dict(zip(available, names, strict=True)))
        available = names
    if options.columns is not None and len(available) != len(options.columns):
        raise SchemaError(
            f"columns= names {len(options.columns)} fields, but the lines of "
            f"{_show_paths(paths)} hold {len(available)}"
        )
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


def _scan_path(
    path: str, fmt: Format, infer_schema_length: int | None, options: _CsvOptions
) -> list[pl.LazyFrame]:
    """Scan one path (or glob): once where Polars reads every file, else file by file.

    Files Polars cannot decompress itself are decompressed in memory.
    """
    files = _files(path)
    if fmt == "csv":
        for f in files:
            _refuse_binary(f)
    kinds = {f: compression_of(f) for f in files}
    native = (None,) if fmt == "parquet" else _POLARS_CSV_COMPRESSIONS
    if all(k in native for k in kinds.values()):
        return [_scan_one(path, fmt, infer_schema_length, options)]
    return [
        _scan_one(f if kinds[f] in native else _decompressed(f), fmt, infer_schema_length, options)
        for f in files
    ]


def _scan_one(
    source: str | io.BytesIO, fmt: Format, infer_schema_length: int | None, options: _CsvOptions
) -> pl.LazyFrame:
    if fmt == "parquet":
        if isinstance(source, io.BytesIO):
            return pl.read_parquet(source).lazy()
        return pl.scan_parquet(source)
    kwargs: dict[str, object] = {}
    if options.columns is not None:
        kwargs["new_columns"] = list(options.columns)
    return pl.scan_csv(
        source,
        try_parse_dates=True,
        infer_schema_length=infer_schema_length,
        has_header=options.has_header,
        separator=options.separator,
        **kwargs,  # type: ignore[arg-type]
    )


def _decompressed(path: str) -> io.BytesIO:
    return io.BytesIO(read_bytes(path))


def _refuse_binary(path: str) -> None:
    """Raise if a CSV file's first bytes (decompressed) hold a NUL byte: it is binary."""
    try:
        head = _head(path, _SNIFF_BYTES)
    except OSError:
        return  # the scan reports it
    nul = head.find(b"\x00")
    if nul >= 0:
        line = head.count(b"\n", 0, nul) + 1
        kind = sniff(head[:MAGIC_BYTES])
        raise SchemaError(
            f"cannot read {path!r}: it is binary, not CSV text (a NUL byte on line {line}"
            + (f"; it is still {kind}-compressed inside" if kind else "")
            + ")"
        )


def _read_error(
    paths: list[str], fmt: Format, options: _CsvOptions, exc: BaseException
) -> SchemaError:
    """Build the SchemaError naming the files, and for CSV the file and line at fault."""
    if isinstance(exc, SchemaError):
        return exc
    where = ""
    if fmt == "csv":
        where = _locate_csv_problem(paths, options) or ""
    return SchemaError(
        f"cannot read {_show_paths(paths)}: {_polars_message(exc)}"
        + (f" ({where})" if where else "")
    )


def _locate_csv_problem(paths: list[str], options: _CsvOptions) -> str | None:
    """Find the first line at fault in the CSV files: wrong field count, or not UTF-8."""
    for path in itertools.chain.from_iterable(_files(p) for p in paths):
        try:
            data = read_bytes(path)
        except (OSError, CompressionError, ImportError):
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            return f"{path!r} line {line}: not UTF-8 text"
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=options.separator)
        expected = len(options.columns) if options.columns is not None else None
        for row in reader:
            if not row:
                continue
            if expected is None:
                expected = len(row)
                continue
            if len(row) > expected or (options.columns is not None and len(row) != expected):
                if options.columns is not None:
                    what = f"columns= names {expected}"
                else:
                    what = (
                        f"{'the header' if options.has_header else 'the first line'} has {expected}"
                    )
                return f"{path!r} line {reader.line_num}: {len(row)} fields, {what}"
    return None


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
    try:
        for c in targets:
            raw = pl.col(c).cast(pl.String).str.strip_chars()
            raw = pl.when(raw.str.len_bytes() > 0).then(raw)
            if c in _TIMES:
                # Parsed as a Series: the format (with its UTC offset, if any) is then
                # inferred from the first value, which an expression does not do.
                text = jobs.select(raw).to_series()
                value = pl.lit(text.str.to_datetime(time_unit="us", strict=False))
            else:
                value = raw.cast(pl.Float64, strict=False)
            parsed[c] = value.alias(c)
            bad[c] = (raw.is_not_null() & value.is_null()).alias(f"__bad_{c}")
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
