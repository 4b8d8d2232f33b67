"""Shared by the line-based readers (SWF, PBS, CodeCarbon): sources, lines, checks, warnings."""

from __future__ import annotations

import glob
import io
import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import polars as pl

from fleetcarbon._compat import EXPLODE_KWARGS
from fleetcarbon.errors import DroppedRowsWarning, InvalidValueError, SchemaError
from fleetcarbon.io.compression import read_bytes
from fleetcarbon.parameters import OnInvalid

__all__ = [
    "Check",
    "Source",
    "apply_checks",
    "keep_last",
    "lines_frame",
    "read_source",
    "read_sources",
    "show_lines",
]

#: First line numbers shown in messages.
N_SHOWN = 5
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_GLOB_CHARS = frozenset("*?[")


class Source(NamedTuple):
    """The text of one input, and how to name it in messages."""

    text: str
    name: str


def read_source(source: object, reader: str) -> Source:
    """Return the text of a path, bytes, file object or text (compressed or not).

    A ``str`` holding a line break is the text itself; any other ``str`` or path
    names a file. Compressed data (gzip, zstd, bzip2, xz) is decompressed.

    Parameters
    ----------
    source : str, path, bytes or file object
        What the reader was given.
    reader : str
        The reader's name, for messages (``"read_swf"``).

    Raises
    ------
    SchemaError
        If ``source`` is of another type, names no readable file, or is binary.
    """
    if isinstance(source, str) and ("\n" in source or "\r" in source):
        return Source(source, "<text>")
    target: str | os.PathLike[str] | bytes
    read = getattr(source, "read", None)
    if callable(read):
        data = read()
        if isinstance(data, str):
            return Source(data, "<file>")
        target, name = bytes(data), "<file>"
    elif isinstance(source, (bytes, bytearray, memoryview)):
        target, name = bytes(source), "<bytes>"
    elif isinstance(source, (str, os.PathLike)):
        target, name = source, repr(os.fspath(source))
        if not _is_file(source):
            raise SchemaError(
                f"{reader}: no such file: {os.fspath(source)[:200]!r} (pass a path, "
                "or the text itself)"
            )
    else:
        raise SchemaError(
            f"{reader}: source must be a path, text, bytes or a file object, "
            f"not {type(source).__name__}"
        )
    try:
        data = read_bytes(target, name)
    except OSError as exc:
        raise SchemaError(f"{reader}: cannot read {name}: {exc}") from exc
    return Source(_decode(data, name, reader), name)


def read_sources(source: object, reader: str) -> list[Source]:
    """Like :func:`read_source`, also for glob patterns and sequences of paths."""
    if isinstance(source, (list, tuple)):
        return [s for item in source for s in read_sources(item, reader)]
    if isinstance(source, str) and "\n" not in source and _GLOB_CHARS & set(source):
        if not _is_file(source):
            matches = sorted(glob.glob(source, recursive=True))
            if not matches:
                raise SchemaError(f"{reader}: no file matches {source[:200]!r}")
            return [read_source(m, reader) for m in matches]
    return [read_source(source, reader)]


def _is_file(path: str | os.PathLike[str]) -> bool:
    try:
        return Path(path).is_file()
    except (OSError, ValueError):  # NUL bytes or an over-long name
        return False


def refuse_binary(data: bytes, name: str, reader: str, *, what: str = "binary, not text") -> None:
    """Raise a SchemaError naming the line of the first NUL byte, if ``data`` has one."""
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise SchemaError(
            f"{reader}: {name} is {what} (a NUL byte on line {line}); "
            "is it compressed in a format other than gzip, zstd, bzip2 or xz?"
        )


def _decode(data: bytes, name: str, reader: str) -> str:
    refuse_binary(data, name, reader)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        text = data.decode("utf-8", errors="replace")
        # stacklevel 4: the reader -> read_source -> _decode, naming the reader's caller.
        warnings.warn(
            f"{reader}: {name} is not valid UTF-8 (first on line {line}): "
            f"{text.count(chr(0xFFFD))} undecodable bytes were replaced by U+FFFD",
            UserWarning,
            stacklevel=4,
        )
        return text


def lines_frame(text: str) -> pl.DataFrame:
    """One row per line: ``__line`` (1-based number) and ``__raw`` (its text)."""
    whole = pl.Series("__raw", [text], dtype=pl.String)
    if "\r" in text:
        whole = whole.str.replace_all(_LINE_BREAK.pattern, "\n")
    frame = whole.str.split("\n").to_frame().explode("__raw", **EXPLODE_KWARGS)
    return frame.with_row_index("__line", offset=1).with_columns(pl.col("__line").cast(pl.Int64))


class Check(NamedTuple):
    """One validity check: rows where ``flag`` is True are malformed."""

    #: Boolean column, True on failing rows.
    flag: str
    #: The field's name as the format spells it (errors name it).
    field: str
    #: Column holding the value shown in errors (None: the whole line, ``__raw``).
    value: str | None
    #: What is wrong with a failing value.
    problem: str


def apply_checks(
    frame: pl.DataFrame,
    checks: Sequence[Check],
    on_invalid: OnInvalid,
    reader: str,
    name: str,
    stacklevel: int = 3,
) -> pl.DataFrame:
    """Raise on the first failing check, or drop the failing rows with one warning.

    ``frame`` has ``__line`` and the checks' flag columns; those are dropped from
    the result. ``stacklevel`` makes the warning name the reader's caller (3 when
    the reader calls this function itself).

    Raises
    ------
    InvalidValueError
        With ``on_invalid="raise"``: the field, the count of bad lines, and the
        first line numbers with their values.

    Warns
    -----
    DroppedRowsWarning
        With ``on_invalid="drop"``, counting the dropped lines per field.
    """
    flags = [c.flag for c in checks]
    if not checks or frame.height == 0:
        return frame.drop(flags, strict=False)
    counts = frame.select([pl.col(c.flag).fill_null(False).sum() for c in checks]).row(0)
    failing = [(c, n) for c, n in zip(checks, counts, strict=True) if n]
    if not failing:
        return frame.drop(flags)
    if on_invalid == "raise":
        check, n = failing[0]
        shown = check.value or "__raw"
        rows = frame.filter(pl.col(check.flag).fill_null(False)).select(
            "__line", pl.col(shown).cast(pl.String)
        )
        examples = [
            f"line {line}: {_shorten(value)!r}" if value is not None else f"line {line}"
            for line, value in rows.head(N_SHOWN).iter_rows()
        ]
        raise InvalidValueError(
            check.field, n, f"{check.problem} in {name} (use on_invalid='drop' to skip)", examples
        )
    bad = pl.any_horizontal([pl.col(c.flag).fill_null(False) for c, _ in failing])
    n_bad = frame.select(bad.sum()).item()
    first = frame.filter(bad)["__line"].head(N_SHOWN + 1).to_list()
    summary = "; ".join(f"{n} with {c.field}: {c.problem}" for c, n in failing)
    warnings.warn(
        f"{reader} dropped {n_bad} malformed line{'s' if n_bad != 1 else ''} of {name} "
        f"({summary}); first: {show_lines(first)}",
        DroppedRowsWarning,
        stacklevel=stacklevel,
    )
    return frame.filter(~bad).drop(flags)


def keep_last(
    frame: pl.DataFrame, key: str | list[str], reader: str, name: str, what: str
) -> pl.DataFrame:
    """Keep the last row of each ``key`` (in input order), warning about the others.

    ``what`` says what the superseded rows are, for the warning.
    """
    keys = [key] if isinstance(key, str) else key
    key_expr = pl.col(keys[0]) if len(keys) == 1 else pl.struct(keys)
    dup = ~key_expr.is_last_distinct()
    if keys and frame.height:
        mask = frame.select(dup.alias("d"))["d"]
        n_dup = int(mask.sum())
        if n_dup:
            first = frame.filter(mask)["__line"].head(N_SHOWN + 1).to_list()
            warnings.warn(
                f"{reader}: {n_dup} record{'s' if n_dup != 1 else ''} of {name} "
                f"{'are' if n_dup != 1 else 'is'} superseded by a later one with the same "
                f"{', '.join(keys)} ({what}); the last one is kept; first: {show_lines(first)}",
                DroppedRowsWarning,
                stacklevel=3,
            )
            return frame.filter(~mask)
    return frame


def show_lines(numbers: Sequence[int]) -> str:
    """Say ``line 3`` or ``lines 3, 7, ...``."""
    shown = ", ".join(map(str, numbers[:N_SHOWN]))
    return f"line{'s' if len(numbers) != 1 else ''} {shown}" + (
        ", ..." if len(numbers) > N_SHOWN else ""
    )


def _shorten(value: str, limit: int = 80) -> str:
    return value if len(value) <= limit else value[: limit - 3] + "..."


def text_bytes(text: str) -> io.BytesIO:
    """Wrap text as UTF-8 bytes for Polars' CSV reader."""
    return io.BytesIO(text.encode("utf-8"))
