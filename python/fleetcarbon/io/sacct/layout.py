"""Find the layout of sacct text: its delimiter, its header, and which fields it holds."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

from fleetcarbon.errors import MissingColumnError, SchemaError

__all__ = ["FIELDS", "FREE_TEXT", "Layout", "detect_layout", "free_text_fields", "locate_fields"]

#: sacct fields read (lower case), with the accepted alternatives in order of preference.
FIELDS: dict[str, tuple[str, ...]] = {
    "jobid": ("jobid", "jobidraw"),
    "jobname": ("jobname",),
    "user": ("user",),
    "account": ("account",),
    "partition": ("partition",),
    "state": ("state",),
    "elapsedraw": ("elapsedraw",),
    "elapsed": ("elapsed",),
    "start": ("start",),
    "end": ("end",),
    "ncpus": ("ncpus",),
    "alloccpus": ("alloccpus",),
    "reqcpus": ("reqcpus",),
    "nnodes": ("nnodes", "allocnodes"),
    "reqmem": ("reqmem",),
    "alloctres": ("alloctres",),
    "reqtres": ("reqtres",),
    "energy": ("consumedenergyraw",),
    "totalcpu": ("totalcpu",),
    "maxrss": ("maxrss",),
    "nodelist": ("nodelist",),
    "cluster": ("cluster",),
}

#: sacct fields (lower case) holding free text, in which a delimiter can occur: a line with
#: extra delimiters is repaired only when exactly one of them is in the input.
FREE_TEXT = frozenset(
    {
        "jobname",
        "comment",
        "admincomment",
        "systemcomment",
        "workdir",
        "submitline",
        "constraints",
        "reason",
        "extra",
        "container",
        "stdout",
        "stderr",
        "stdin",
        "wckey",
        "licenses",
        "mcslabel",
    }
)

_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_FIXED_WIDTH_HINT = (
    "fixed-width sacct output cannot be parsed reliably (columns are truncated); "
    "rerun sacct with --parsable2 and an explicit field list, e.g. "
    "'sacct --parsable2 --format=JobID,JobName,User,Account,Partition,State,ElapsedRaw,"
    "Start,End,NCPUS,NNodes,ReqMem,AllocTRES,ReqTRES,ConsumedEnergyRaw,NodeList'"
)


class Layout(NamedTuple):
    """The layout of sacct text: field names, delimiter, header, trailing delimiter."""

    #: Field names, as written.
    names: list[str]
    #: The field delimiter.
    delimiter: str
    #: Whether the first line is a header.
    has_header: bool
    #: Whether lines end with a delimiter (``--parsable``, not ``--parsable2``): True or
    #: False from the header, None without one (to be told from the data lines).
    trailing: bool | None


def detect_layout(
    lines: list[str], delimiter: str | None, fields: Sequence[str] | str | None
) -> Layout:
    """Return the field names, the delimiter, whether the first line is a header, and more.

    Parameters
    ----------
    lines : list of str
        The first non-blank lines of the input.
    delimiter : str or None
        The user's delimiter, or None to detect it.
    fields : sequence of str, comma-separated str, or None
        The user's field list (``--noheader`` output), or None to read the header.

    Returns
    -------
    Layout
        Field names as written, the delimiter, whether ``lines[0]`` is a header, and
        whether the header ends with a delimiter (``--parsable`` output; None
        without a header).

    Raises
    ------
    SchemaError
        On fixed-width output, an invalid ``delimiter`` or ``fields``, a missing
        header without ``fields``, or an undetectable delimiter.
    """
    if delimiter is not None and (not isinstance(delimiter, str) or delimiter == ""):
        raise SchemaError(f"delimiter must be a non-empty string, got {delimiter!r}")
    first = lines[0]
    for line in lines[:3]:
        # The dashed rule under a fixed-width header.
        if re.fullmatch(r"[-\s]*---[-\s]*", line):
            raise SchemaError(_FIXED_WIDTH_HINT)
    if fields is not None:
        names = _normalize_fields(fields)
        delim = delimiter
        header_delim = _header_delimiter(first)
        is_header = False
        trailing: bool | None = None
        for d in filter(None, (delim, header_delim)):
            parts = [p.strip() for p in first.split(d)]
            ends = bool(parts) and parts[-1] == "" and len(parts) > 1
            if ends:
                parts.pop()
            if [p.lower() for p in parts] == [f.lower() for f in names]:
                is_header, delim, trailing = True, d, ends
                break
        if delim is None:
            data = lines[1:] if is_header else lines
            delim = _data_delimiter(data or lines, len(names))
        if delim is None:
            if re.search(r"\S {2,}\S", first):
                raise SchemaError(_FIXED_WIDTH_HINT)
            raise SchemaError(
                f"cannot detect the delimiter of lines holding {len(names)} fields; "
                "pass delimiter= (sacct --parsable2 uses '|')"
            )
        return Layout(names, delim, is_header, trailing)
    if _FIELD_NAME.match(first) is None:
        raise SchemaError(
            "no sacct header line (the first line starts with "
            f"{first[:40]!r}); for output written with --noheader pass fields=[...] "
            "in the order of sacct --format"
        )
    delim = delimiter if delimiter is not None else _header_delimiter(first)
    if delim is None or delim not in first:
        raise SchemaError(
            (_FIXED_WIDTH_HINT if re.search(r"\S {2,}\S", first) else "")
            or f"cannot find a delimiter in the header line {first[:80]!r}; pass delimiter="
        )
    names = [p.strip() for p in first.split(delim)]
    trailing = len(names) > 1 and names[-1] == ""
    if trailing:
        names.pop()
    if not names or not all(_FIELD_NAME.fullmatch(n) for n in names):
        bad = [n for n in names if not _FIELD_NAME.fullmatch(n)][:3]
        raise SchemaError(
            f"the header line does not hold sacct field names split by {delim!r} "
            f"(e.g. {bad!r}); " + ("" if not re.search(r"\S {2,}\S", first) else _FIXED_WIDTH_HINT)
        )
    return Layout(names, delim, True, trailing)


def free_text_fields(names: Sequence[str]) -> list[int]:
    """Return the positions of the :data:`FREE_TEXT` fields in ``names`` (any case)."""
    return [i for i, name in enumerate(names) if name.lower() in FREE_TEXT]


def locate_fields(names: Sequence[str]) -> tuple[dict[str, int], dict[str, str]]:
    """Return the position of each :data:`FIELDS` key in ``names``, and the name used.

    Parameters
    ----------
    names : sequence of str
        The field names of the input, as written (matched case-insensitively).

    Returns
    -------
    tuple of (dict, dict)
        Key -> index into ``names``, and key -> the field name as written (for
        error messages); keys absent from the input are left out.

    Raises
    ------
    MissingColumnError
        Without a JobID field, or with no duration field (ElapsedRaw, Elapsed, or
        Start and End).
    """
    lower = [n.lower() for n in names]
    index: dict[str, int] = {}
    used: dict[str, str] = {}
    for key, options in FIELDS.items():
        for opt in options:
            if opt in lower:
                index[key] = lower.index(opt)
                used[key] = names[index[key]]
                break
    if "jobid" not in index:
        raise MissingColumnError(
            f"sacct output has no JobID field (fields: {names[:12]}); add JobID to --format"
        )
    if not ({"elapsedraw", "elapsed"} & set(index) or {"start", "end"} <= set(index)):
        raise MissingColumnError(
            "sacct output has no duration: add ElapsedRaw (or Elapsed, or Start and End) "
            "to --format"
        )
    return index, used


def _header_delimiter(line: str) -> str | None:
    """Return the delimiter after the first field name of a header line, or None."""
    m = _FIELD_NAME.match(line)
    if m is None:
        return None
    rest = line[m.end() :]
    run = re.match(r"[^A-Za-z0-9_]+", rest)
    if run is None:
        return None
    delim = run.group(0)
    if rest.strip() == "" or delim.strip(" ") == "":
        return None
    # A delimiter followed by spaces (". ") is kept whole; leading spaces are padding.
    return delim.rstrip(" ") if delim.strip(" ") != delim.rstrip(" ") else delim


def _data_delimiter(lines: Sequence[str], n_fields: int) -> str | None:
    """Guess the delimiter of header-less lines holding ``n_fields`` fields each."""
    first = lines[0]
    if n_fields == 1:
        return "|"
    candidates = ["|", "¦", "\t", ";"]
    # Then any run of 1-3 characters that cannot occur inside a sacct value.
    for i, ch in enumerate(first):
        if ch.isalnum() or ch in " _-.:[]":
            continue
        for k in (1, 2, 3):
            cand = first[i : i + k]
            if cand not in candidates and len(cand) == k:
                candidates.append(cand)
    sample = lines[:20]
    for cand in candidates:
        # Most lines must hold n_fields - 1 delimiters (n_fields with a trailing one): a
        # delimiter inside a free-text value, or a truncated line, is reported per line later.
        fits = sum(line.count(cand) in (n_fields - 1, n_fields) for line in sample)
        if 2 * fits > len(sample):
            return cand
    return None


def _normalize_fields(fields: Sequence[str] | str) -> list[str]:
    if not isinstance(fields, (str, Sequence)):
        raise SchemaError(f"fields must be a non-empty list of sacct field names, got {fields!r}")
    names = fields.split(",") if isinstance(fields, str) else list(fields)
    out = [str(f).strip() for f in names]
    if not out or any(not f for f in out):
        raise SchemaError(f"fields must be a non-empty list of sacct field names, got {fields!r}")
    return out
