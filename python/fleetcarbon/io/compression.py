"""Compressed inputs: gzip, zstd, bzip2 and xz, told by their magic bytes (and suffix).

Every reader takes compressed files as they come: ``RICC-2010-2.swf.gz``,
``emissions.csv.zst``, a daily PBS log ``20250301.bz2``, or a gzipped file
without any suffix. The content decides: a file is decompressed when its first
bytes are a gzip, zstd, bzip2 or xz header, whatever its name; a file named
``.gz`` that holds plain text is read as plain text. The suffix only tells the
format under it (``jobs.csv.gz`` is CSV), see :func:`inner_name`.

gzip, bzip2 and xz use the standard library. zstd needs the ``zstandard``
package (``pip install zstandard``), except for CSV files, which Polars
decompresses itself.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import zlib
from pathlib import Path
from typing import Literal

from fleetcarbon.errors import SchemaError

__all__ = [
    "SUFFIXES",
    "Compression",
    "CompressionError",
    "compression_of",
    "decompress",
    "inner_name",
    "read_bytes",
    "sniff",
]

Compression = Literal["gzip", "zstd", "bzip2", "xz"]

#: File name suffixes of compressed files, and the compression each names.
SUFFIXES: dict[str, Compression] = {
    ".gz": "gzip",
    ".gzip": "gzip",
    ".zst": "zstd",
    ".zstd": "zstd",
    ".bz2": "bzip2",
    ".xz": "xz",
}

#: Leading bytes of each format (RFC 1952, RFC 8878, bzip2's "BZh" + block size, xz).
_MAGIC: tuple[tuple[bytes, Compression], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
)
#: Bytes read from a file to tell its compression.
MAGIC_BYTES = 6


class CompressionError(SchemaError):
    """A compressed input is truncated or damaged, or its decompressor is missing."""


def sniff(head: bytes) -> Compression | None:
    """Tell the compression of data from its first bytes.

    Parameters
    ----------
    head : bytes
        The first bytes (6 suffice).

    Returns
    -------
    {"gzip", "zstd", "bzip2", "xz"} or None
        None for data that is not compressed in one of these formats.
    """
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            if kind == "bzip2" and not (len(head) > 3 and head[3:4].isdigit()):
                continue  # "BZh" followed by the block size digit, else plain text
            return kind
    return None


def compression_of(path: str | os.PathLike[str]) -> Compression | None:
    """Tell the compression of a file from its first bytes (None when plain or unreadable)."""
    try:
        with open(path, "rb") as fh:
            return sniff(fh.read(MAGIC_BYTES))
    except OSError:
        return None


def inner_name(name: str | os.PathLike[str]) -> str:
    """Return a file name without its compression suffix: ``jobs.swf.gz`` -> ``jobs.swf``."""
    text = os.fspath(name)
    suffix = Path(text).suffix.lower()
    return text[: -len(suffix)] if suffix in SUFFIXES else text


def decompress(data: bytes, kind: Compression, name: str = "<bytes>") -> bytes:
    """Decompress ``data`` (of the given kind); ``name`` is for error messages.

    Concatenated members (``cat a.gz b.gz``, ``pbzip2`` output, multi-frame zstd)
    are all read.

    Raises
    ------
    CompressionError
        If the data is truncated or damaged.
    ImportError
        If ``kind`` is zstd and the ``zstandard`` package is not installed.
    """
    try:
        if kind == "gzip":
            return gzip.decompress(data)
        if kind == "bzip2":
            return bz2.decompress(data)
        if kind == "xz":
            return lzma.decompress(data)
        return _zstd_decompress(data)
    except (OSError, EOFError, ValueError, lzma.LZMAError, zlib.error) as exc:
        raise CompressionError(
            f"cannot decompress {name} ({kind}): {exc or type(exc).__name__} "
            "(the file is truncated or damaged)"
        ) from exc


def _zstd_decompress(data: bytes) -> bytes:
    try:
        import zstandard  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:
        raise ImportError(
            "reading zstd-compressed input needs the 'zstandard' package: "
            "pip install zstandard (or decompress it first: zstd -d FILE)"
        ) from exc
    try:
        reader = zstandard.ZstdDecompressor().stream_reader(
            io.BytesIO(data), read_across_frames=True
        )
        with reader:
            out: bytes = reader.read()
    except zstandard.ZstdError as exc:
        raise ValueError(str(exc)) from exc
    return out


def read_bytes(source: str | os.PathLike[str] | bytes, name: str | None = None) -> bytes:
    """Return the bytes of a file (or of ``bytes``), decompressed when they are compressed.

    Parameters
    ----------
    source : str, path or bytes
        A file path, or the data itself.
    name : str, optional
        What to call the source in error messages (default: the path, or ``<bytes>``).

    Returns
    -------
    bytes
        The decompressed data (the data as is when it is not compressed).

    Raises
    ------
    OSError
        If the file cannot be read.
    CompressionError
        If compressed data is truncated or damaged.
    ImportError
        For zstd data without the ``zstandard`` package.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        label = name or "<bytes>"
    else:
        data = Path(source).read_bytes()
        label = name or repr(os.fspath(source))
    kind = sniff(data[:MAGIC_BYTES])
    return data if kind is None else decompress(data, kind, label)
