"""Tell the format of a job log from its name, else from its content.

The suffix under any compression suffix decides first (``RICC-2010-2.swf.gz`` is
SWF, ``jobs.csv.zst`` is CSV, ``jobs.parquet``/``.pq`` Parquet); a ``.csv``
whose header is CodeCarbon's (``energy_consumed`` and ``run_id``,
``project_name`` or ``codecarbon_version``) is CodeCarbon. Without a telling
suffix (``20250301``, ``sacct.txt``, ``jobs.log.gz``) the first 64 KiB,
decompressed, decide: Parquet's ``PAR1`` magic; PBS accounting records
(``MM/DD/YYYY HH:MM:SS;E;...``); SWF (``;`` header comments and lines of 18
numbers); a CodeCarbon header; a comma-separated header with ``job_id``
(CSV); else sacct text, the default.
"""

from __future__ import annotations

import csv
import glob
import os
import re
from pathlib import Path
from typing import Literal

from fleetcarbon.io.compression import CompressionError, inner_name, read_bytes

__all__ = ["FORMATS", "InputFormat", "detect_format"]

InputFormat = Literal["sacct", "swf", "pbs", "codecarbon", "csv", "parquet"]
FORMATS: tuple[InputFormat, ...] = ("sacct", "swf", "pbs", "codecarbon", "csv", "parquet")

_BY_SUFFIX: dict[str, InputFormat] = {".swf": "swf", ".parquet": "parquet", ".pq": "parquet"}
_SNIFF_BYTES = 65_536
_PBS_RECORD = re.compile(r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2};[A-Za-z];[^;]+;")
_SWF_LINE = re.compile(r"^\s*-?\d+(\.\d+)?(\s+-?\d+(\.\d+)?){17}\s*$")
_CODECARBON_MARKS = ("run_id", "project_name", "codecarbon_version")


def detect_format(path: str | os.PathLike[str]) -> InputFormat:
    """Tell the format of a job log: by the suffix under any compression suffix, else content.

    Parameters
    ----------
    path : str or path
        A file, or a glob pattern (its first match, in sorted order, is looked at).

    Returns
    -------
    {"sacct", "swf", "pbs", "codecarbon", "csv", "parquet"}
        ``"sacct"`` when nothing else fits (or the file cannot be read: the
        reader then says why).
    """
    name = os.fspath(path)
    files = [name]
    if glob.has_magic(name) and not Path(name).exists():
        files = sorted(glob.glob(name, recursive=True)) or [name]
    first = files[0]
    suffix = Path(inner_name(first)).suffix.lower()
    if suffix in _BY_SUFFIX:
        return _BY_SUFFIX[suffix]
    head = _head(first)
    if suffix == ".csv":
        return "codecarbon" if _is_codecarbon(_first_lines(head, 1)) else "csv"
    return _sniff(head)


def _head(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            raw = fh.read(_SNIFF_BYTES * 4)
    except OSError:
        return b""
    try:
        return read_bytes(raw)[:_SNIFF_BYTES]
    except CompressionError:
        # A prefix of a compressed file: decompress what the prefix holds.
        return _partial(path)
    except ImportError:
        return b""


def _partial(path: str) -> bytes:
    import bz2
    import gzip
    import lzma

    for opener in (gzip.open, bz2.open, lzma.open):
        try:
            with opener(path, "rb") as fh:
                return fh.read(_SNIFF_BYTES)
        except (OSError, EOFError, lzma.LZMAError):
            continue
    try:
        import zstandard  # type: ignore[import-not-found,unused-ignore]

        with open(path, "rb") as raw, zstandard.ZstdDecompressor().stream_reader(raw) as fh:
            return bytes(fh.read(_SNIFF_BYTES))
    except Exception:  # not zstd either, or no zstandard: nothing to sniff
        return b""


def _first_lines(head: bytes, n: int) -> list[str]:
    text = head.decode("utf-8", errors="replace")
    return [line for line in text.splitlines() if line.strip()][:n]


def _is_codecarbon(lines: list[str]) -> bool:
    if not lines:
        return False
    header = {c.strip() for c in next(csv.reader([lines[0]]))}
    return "energy_consumed" in header and any(m in header for m in _CODECARBON_MARKS)


def _sniff(head: bytes) -> InputFormat:
    if head.startswith(b"PAR1"):
        return "parquet"
    if b"\x00" in head:
        return "sacct"  # binary: read_sacct says so
    lines = _first_lines(head, 50)
    if any(_PBS_RECORD.match(line) for line in lines):
        return "pbs"
    data = [line for line in lines if not line.lstrip().startswith(";")]
    comments = len(lines) - len(data)
    if data and _SWF_LINE.match(data[0]) and (comments or all(_SWF_LINE.match(d) for d in data)):
        return "swf"
    if not data and comments:
        return "swf"
    if lines and _is_codecarbon(lines):
        return "codecarbon"
    if lines and "," in lines[0] and "job_id" in {c.strip() for c in lines[0].split(",")}:
        return "csv"
    return "sacct"
