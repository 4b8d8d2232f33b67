"""Get the text of a sacct source: a path, a file object, bytes, or the text itself."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from fleetcarbon.errors import FleetcarbonError, SchemaError
from fleetcarbon.io.compression import decompress, sniff

__all__ = ["SacctSourceError", "read_text"]


class SacctSourceError(FleetcarbonError, FileNotFoundError):
    """``source`` names no readable file (and does not look like sacct text)."""

    # Named where it is imported from, as before sacct became a package.
    __module__ = "fleetcarbon.io.sacct"


def read_text(source: object, delimiter: str | None) -> str:
    """Return the text of ``source``: a path, a file object, bytes, or sacct text itself.

    Parameters
    ----------
    source : object
        What :func:`~fleetcarbon.io.sacct.read_sacct` was given.
    delimiter : str or None
        The user's delimiter: a string holding it is text, not a path.

    Returns
    -------
    str
        The text, decoded as UTF-8 (undecodable bytes replaced, with a warning).

    Raises
    ------
    SacctSourceError
        If ``source`` looks like a path but names no readable file.
    SchemaError
        If ``source`` is of an unsupported type.
    """
    if isinstance(source, (bytes, bytearray)):
        return _decode(_inflate(bytes(source), "<bytes>"), "<bytes>")
    if hasattr(source, "read"):
        data = source.read()
        return _decode(_inflate(data, "<file>"), "<file>") if isinstance(data, bytes) else str(data)
    if isinstance(source, str):
        if "\n" in source or "\r" in source or (isinstance(delimiter, str) and delimiter in source):
            return source
        # "a|b" is one-line text unless a file of that name exists.
        if "|" in source and not _exists(source):
            return source
    elif not isinstance(source, os.PathLike):
        raise SchemaError(
            "source must be a path, sacct text, bytes or a file object, "
            f"not {type(source).__name__}"
        )
    path = Path(source)
    if not _exists(path):
        raise SacctSourceError(
            f"no such sacct file: {str(source)[:200]!r} (pass the path of a file written by "
            "'sacct --parsable2 ...', or the text itself)"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SacctSourceError(f"cannot read sacct file {str(path)!r}: {exc}") from exc
    return _decode(_inflate(data, str(path)), str(path))


def _inflate(data: bytes, name: str) -> bytes:
    """Decompress gzip, zstd, bzip2 or xz data, told by its first bytes."""
    kind = sniff(data[:8])
    return data if kind is None else decompress(data, kind, name)


def _exists(path: str | Path) -> bool:
    # Over-long or NUL-holding "paths" raise instead of answering False.
    try:
        return Path(path).exists()
    except (OSError, ValueError):
        return False


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        # stacklevel 4: read_sacct -> read_text -> _decode, so the warning names the caller.
        warnings.warn(
            f"{name} is not valid UTF-8: {text.count(chr(0xFFFD))} undecodable bytes "
            "were replaced by U+FFFD",
            UserWarning,
            stacklevel=4,
        )
        return text
