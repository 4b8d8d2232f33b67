r"""Read Slurm ``sacct --parsable2`` output into job records of the canonical schema.

Typical use::

    sacct --allusers --parsable2 --starttime 2024-01-01 \\
        --format=JobID,JobName,User,Account,Partition,State,ElapsedRaw,Start,End,\\
    NCPUS,NNodes,ReqMem,AllocTRES,ReqTRES,ConsumedEnergyRaw,NodeList,Cluster > jobs.txt

    >>> jobs = read_sacct("jobs.txt", cluster={"region": "US", "timezone": "America/Chicago"})
    >>> fleetcarbon.estimate(jobs)

Rules (also in the docstring of :func:`read_sacct`):

* **Steps** (``123.batch``, ``123.extern``, ``123.0``, ``123_4.0``) merge into
  their allocation (``123``); the allocation row's fields win. ``energy_kwh``
  is the allocation's ``ConsumedEnergyRaw`` when it is present and non-zero,
  else the sum over its steps. Steps whose allocation row is absent form one
  job: earliest start, latest end, longest elapsed, largest CPU/memory/GPU
  counts, summed energy, other fields from the first step.
* **Records printed twice** under the same JobID (``sacct --duplicates``,
  requeued jobs): the last one is kept, and a :class:`DroppedRowsWarning`
  counts the superseded ones.
* **Memory** units are Slurm's binary ones (``K`` = 1024 bytes, ``M`` = 1024²,
  ``G`` = 1024³, ``T`` = 1024⁴; no unit means ``M``); ``memory_gb`` is in
  decimal GB (10⁹ bytes), so ``1024M`` is 1.074 GB. ``ReqMem`` ending in ``c``
  is per CPU (× ``NCPUS``), in ``n`` per node (× ``NNodes``); without a suffix
  (Slurm ≥ 21.08) it is the job's total. Without ``ReqMem``, the ``mem=``
  entry of ``AllocTRES`` (else ``ReqTRES``), a job total, is used.
"""

from __future__ import annotations

import io
import logging
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import polars as pl

from fleetcarbon.errors import (
    DroppedRowsWarning,
    FleetcarbonError,
    InvalidValueError,
    MissingColumnError,
    SchemaError,
)
from fleetcarbon.io.cluster import ClusterConfig, load_cluster_config

__all__ = [
    "SacctSourceError",
    "UnmappedAcceleratorWarning",
    "expand_array_tasks",
    "gpu_count_from_tres",
    "read_sacct",
]

log = logging.getLogger(__name__)

OnInvalid = Literal["raise", "drop"]

#: Output columns, in order.
OUTPUT_SCHEMA: dict[str, pl.DataType] = {
    "job_id": pl.String(),
    "start": pl.Datetime("us", "UTC"),
    "end": pl.Datetime("us", "UTC"),
    "duration_h": pl.Float64(),
    "accelerator": pl.String(),
    "accelerator_count": pl.Int64(),
    "cpu": pl.String(),
    "cpu_cores": pl.Int64(),
    "memory_gb": pl.Float64(),
    "energy_kwh": pl.Float64(),
    "region": pl.String(),
    "datacenter": pl.String(),
    "user": pl.String(),
    "account": pl.String(),
    "partition": pl.String(),
    "state": pl.String(),
    "state_raw": pl.String(),
    "job_name": pl.String(),
    "array_job_id": pl.String(),
    "array_task": pl.String(),
    "nodes": pl.String(),
    "cluster": pl.String(),
}

#: sacct fields read (lower case), with the accepted alternatives in order of preference.
_FIELDS: dict[str, tuple[str, ...]] = {
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
    "ncpus": ("ncpus", "alloccpus"),
    "nnodes": ("nnodes", "allocnodes"),
    "reqmem": ("reqmem",),
    "alloctres": ("alloctres",),
    "reqtres": ("reqtres",),
    "energy": ("consumedenergyraw",),
    "nodelist": ("nodelist",),
    "cluster": ("cluster",),
}

_JOBID_RE = (
    r"^(?<alloc>(?<base>\d+)(?:_(?<task>\d+|\[[0-9,\-%]*\]))?(?:\+(?<het>\d+))?)"
    r"(?:\.(?<step>[A-Za-z0-9_\-]+))?$"
)
_ELAPSED_RE = r"^(?:(?<d>\d+)-)?(?:(?<h>\d+):)?(?<m>\d+):(?<s>\d+(?:\.\d+)?)$"
_MEM_RE = r"^(?<v>\d+(?:\.\d*)?)(?<u>[KMGTP]?)(?<per>[cn]?)$"
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
#: Values sacct prints for an unknown time, elapsed or count.
_UNKNOWN = ["", "Unknown", "None", "N/A", "INVALID"]
_UNIT_BYTES = {"": 2**20, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40, "P": 2**50}
#: Slurm's NO_VAL64 and friends: energy values at or above this are "not measured".
_ENERGY_NO_VAL = 2.0**63
_N_EXAMPLES = 5
_MAX_ARRAY_EXPANSION = 10_000_000


class SacctSourceError(FleetcarbonError, FileNotFoundError):
    """``source`` names no readable file (and does not look like sacct text)."""


class UnmappedAcceleratorWarning(UserWarning):
    """Some GPU jobs have no accelerator key: map their gres type, nodes or partition."""


# ----------------------------------------------------------------------------- helpers


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


def gpu_count_from_tres(tres: str | None) -> int:
    """Count the GPUs in a TRES string such as ``billing=1,cpu=1,gres/gpu:a100=2,mem=8G``.

    An untyped ``gres/gpu=N`` entry is the total (recent Slurm prints it next to the
    typed ones); otherwise typed ``gres/gpu:TYPE=N`` entries are summed.
    ``gres/gpumem`` and ``gres/gpuutil`` are not GPUs.
    """
    frame = _with_gpus(pl.DataFrame({"t": [tres]}, schema={"t": pl.String}), "t")
    return int(frame["__gpus"].fill_null(0).item())


def _with_gpus(frame: pl.DataFrame, tres: str) -> pl.DataFrame:
    """Add ``__gpus`` (null where ``tres`` is null) and ``__gres_type`` (first typed entry)."""
    entries = "(?:^|,)gres/gpu{}=(\\d+)"
    frame = frame.with_columns(
        pl.col(tres).str.extract(entries.format(""), 1).cast(pl.Int64, strict=False).alias("__u"),
        pl.col(tres).str.extract_all(entries.format(":[^=,]+")).alias("__typed"),
    )
    typed_sum = (
        pl.col("__typed")
        .list.eval(pl.element().str.extract(r"=(\d+)$", 1).cast(pl.Int64, strict=False))
        .list.sum()
    )
    count = pl.when(pl.col(tres).is_null()).then(None).otherwise(pl.coalesce("__u", typed_sum, 0))
    return frame.with_columns(
        count.cast(pl.Int64).alias("__gpus"),
        pl.col("__typed").list.first().str.extract(r"gres/gpu:([^=,]+)=", 1).alias("__gres_type"),
    ).drop("__u", "__typed")


def _tres_mem_bytes(tres: pl.Expr) -> pl.Expr:
    g = tres.str.extract_groups(r"(?:^|,)mem=(?<v>\d+(?:\.\d*)?)(?<u>[KMGTP]?)(?:,|$)")
    return g.struct.field("v").cast(pl.Float64, strict=False) * _unit_bytes(g.struct.field("u"))


def _unit_bytes(unit: pl.Expr) -> pl.Expr:
    return unit.replace_strict(_UNIT_BYTES, default=None, return_dtype=pl.Float64)


# ----------------------------------------------------------------------------- source


def _read_text(source: object, delimiter: str | None) -> str:
    """Return the text of ``source``: a path, a file object, bytes, or sacct text itself."""
    if isinstance(source, (bytes, bytearray)):
        return _decode(bytes(source), "<bytes>")
    if hasattr(source, "read"):
        data = source.read()  # type: ignore[attr-defined]
        return _decode(data, "<file>") if isinstance(data, bytes) else str(data)
    if isinstance(source, str):
        if "\n" in source or "\r" in source or (delimiter and delimiter in source):
            return source
        if "|" in source and not _exists(source):
            return source
    elif not isinstance(source, os.PathLike):
        raise SchemaError(
            "source must be a path, sacct text, bytes or a file object, "
            f"not {type(source).__name__}"
        )
    path = Path(source)  # type: ignore[arg-type]
    if not _exists(path):
        raise SacctSourceError(
            f"no such sacct file: {str(source)[:200]!r} (pass the path of a file written by "
            "'sacct --parsable2 ...', or the text itself)"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SacctSourceError(f"cannot read sacct file {str(path)!r}: {exc}") from exc
    return _decode(data, str(path))


def _exists(path: str | Path) -> bool:
    try:
        return Path(path).exists()
    except (OSError, ValueError):
        return False


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        warnings.warn(
            f"{name} is not valid UTF-8: {text.count(chr(0xFFFD))} undecodable bytes "
            "were replaced by U+FFFD",
            UserWarning,
            stacklevel=4,
        )
        return text


# ----------------------------------------------------------------------------- layout

_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_FIXED_WIDTH_HINT = (
    "fixed-width sacct output cannot be parsed reliably (columns are truncated); "
    "rerun sacct with --parsable2 and an explicit field list, e.g. "
    "'sacct --parsable2 --format=JobID,JobName,User,Account,Partition,State,ElapsedRaw,"
    "Start,End,NCPUS,NNodes,ReqMem,AllocTRES,ReqTRES,ConsumedEnergyRaw,NodeList'"
)


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
    for i, ch in enumerate(first):
        if ch.isalnum() or ch in " _-.:[]":
            continue
        for k in (1, 2, 3):
            cand = first[i : i + k]
            if cand not in candidates and len(cand) == k:
                candidates.append(cand)
    for cand in candidates:
        if all(
            line.count(cand) in (n_fields - 1, n_fields) for line in lines[:20] if cand in line
        ) and first.count(cand) in (n_fields - 1, n_fields):
            return cand
    return None


def _normalize_fields(fields: Sequence[str] | str) -> list[str]:
    names = fields.split(",") if isinstance(fields, str) else list(fields)
    out = [str(f).strip() for f in names]
    if not out or any(not f for f in out):
        raise SchemaError(f"fields must be a non-empty list of sacct field names, got {fields!r}")
    return out


def _layout(
    lines: list[str], delimiter: str | None, fields: Sequence[str] | str | None
) -> tuple[list[str], str, bool]:
    """Field names, the delimiter, and whether the first line is a header."""
    if delimiter is not None and (not isinstance(delimiter, str) or delimiter == ""):
        raise SchemaError(f"delimiter must be a non-empty string, got {delimiter!r}")
    first = lines[0]
    for line in lines[:3]:
        if re.fullmatch(r"[-\s]*---[-\s]*", line):
            raise SchemaError(_FIXED_WIDTH_HINT)
    if fields is not None:
        names = _normalize_fields(fields)
        delim = delimiter
        header_delim = _header_delimiter(first)
        is_header = False
        for d in filter(None, (delim, header_delim)):
            parts = [p.strip() for p in first.split(d)]
            if parts and parts[-1] == "":
                parts.pop()
            if [p.lower() for p in parts] == [f.lower() for f in names]:
                is_header, delim = True, d
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
        return names, delim, is_header
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
    if names and names[-1] == "":
        names.pop()
    if not names or not all(_FIELD_NAME.fullmatch(n) for n in names):
        bad = [n for n in names if not _FIELD_NAME.fullmatch(n)][:3]
        raise SchemaError(
            f"the header line does not hold sacct field names split by {delim!r} "
            f"(e.g. {bad!r}); " + ("" if not re.search(r"\S {2,}\S", first) else _FIXED_WIDTH_HINT)
        )
    return names, delim, True


# ----------------------------------------------------------------------------- parsing


def _blank_to_null(e: pl.Expr) -> pl.Expr:
    return pl.when(e.str.len_bytes() == 0).then(None).otherwise(e)


def _int_field(name: str) -> tuple[pl.Expr, pl.Expr]:
    raw = pl.col(name).str.strip_chars()
    value = raw.cast(pl.Int64, strict=False)
    bad = raw.is_not_null() & ~raw.is_in(_UNKNOWN) & (value.is_null() | (value < 0))
    return pl.when(value >= 0).then(value), bad


def _time_field(name: str, tz: str) -> tuple[pl.Expr, pl.Expr]:
    raw = pl.col(name).str.strip_chars()
    parsed = raw.str.strptime(pl.Datetime("us"), _TIME_FORMAT, strict=False)
    bad = raw.is_not_null() & ~raw.is_in(_UNKNOWN) & parsed.is_null()
    local = parsed.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
    return local.dt.convert_time_zone("UTC"), bad


def _elapsed_seconds(name: str, groups: str) -> tuple[pl.Expr, pl.Expr]:
    """Seconds from the ``_ELAPSED_RE`` groups (struct column ``groups``) of column ``name``."""
    raw = pl.col(name).str.strip_chars()
    g = pl.col(groups)

    def part(p: str) -> pl.Expr:
        return g.struct.field(p).cast(pl.Float64, strict=False)

    seconds = (
        part("d").fill_null(0) * 86400 + part("h").fill_null(0) * 3600 + part("m") * 60 + part("s")
    )
    bad = raw.is_not_null() & ~raw.is_in(_UNKNOWN) & seconds.is_null()
    return seconds, bad


def _parse_rows(work: pl.DataFrame, config: ClusterConfig) -> tuple[pl.DataFrame, list]:
    """Typed per-row values, and ``(field, bad mask, problem)`` checks."""
    jid = pl.col("jobid").str.strip_chars()
    alloc_tres = _blank_to_null(pl.col("alloctres").str.strip_chars())
    req_tres = _blank_to_null(pl.col("reqtres").str.strip_chars())
    # Regex extractions once each (struct fields are read several times below).
    work = work.with_columns(
        jid.str.extract_groups(_JOBID_RE).alias("__ids"),
        pl.col("elapsed").str.strip_chars().str.extract_groups(_ELAPSED_RE).alias("__el"),
        pl.col("reqmem").str.strip_chars().str.extract_groups(_MEM_RE).alias("__mem"),
        pl.coalesce(alloc_tres, req_tres).alias("__tres"),
        _tres_mem_bytes(alloc_tres).alias("__alloc_mem"),
        _tres_mem_bytes(req_tres).alias("__req_mem"),
    )
    work = _with_gpus(work, "__tres")
    ids = pl.col("__ids")
    elapsed_raw, bad_elapsed_raw = _int_field("elapsedraw")
    elapsed, bad_elapsed = _elapsed_seconds("elapsed", "__el")
    start, bad_start = _time_field("start", config.timezone)
    end, bad_end = _time_field("end", config.timezone)
    ncpus, bad_ncpus = _int_field("ncpus")
    nnodes, bad_nnodes = _int_field("nnodes")
    mem_raw = pl.col("reqmem").str.strip_chars()
    mem = pl.col("__mem")
    per = mem.struct.field("per")
    mem_mult = (
        pl.when(per == "c")
        .then(pl.col("__ncpus").cast(pl.Float64))
        .when(per == "n")
        .then(pl.col("__nnodes").cast(pl.Float64).fill_null(1.0))
        .otherwise(1.0)
    )
    reqmem_bytes = (
        mem.struct.field("v").cast(pl.Float64, strict=False)
        * _unit_bytes(mem.struct.field("u"))
        * mem_mult
    )
    bad_mem = mem_raw.is_not_null() & ~mem_raw.is_in(_UNKNOWN) & mem.struct.field("v").is_null()
    energy_raw = pl.col("energy").str.strip_chars()
    energy_j = energy_raw.cast(pl.Float64, strict=False)
    bad_energy = (
        energy_raw.is_not_null()
        & ~energy_raw.is_in(_UNKNOWN)
        & (energy_j.is_null() | energy_j.is_nan() | (energy_j < 0))
    )
    tres_mem = pl.coalesce("__alloc_mem", "__req_mem")

    parsed = (
        work.with_columns(
            ids.struct.field("alloc").alias("__alloc"),
            ids.struct.field("base").alias("__base"),
            ids.struct.field("task").alias("__task"),
            ids.struct.field("step").alias("__step"),
            (~jid.str.contains(_JOBID_RE).fill_null(False)).alias("__bad_jobid"),
            pl.coalesce(elapsed_raw.cast(pl.Float64), elapsed).alias("__elapsed_s"),
            bad_elapsed_raw.alias("__bad_elapsedraw"),
            bad_elapsed.alias("__bad_elapsed"),
            start.alias("__start"),
            end.alias("__end"),
            bad_start.alias("__bad_start"),
            bad_end.alias("__bad_end"),
            ncpus.alias("__ncpus"),
            nnodes.alias("__nnodes"),
            bad_ncpus.alias("__bad_ncpus"),
            bad_nnodes.alias("__bad_nnodes"),
            bad_mem.alias("__bad_reqmem"),
            pl.when((energy_j > 0) & (energy_j < _ENERGY_NO_VAL))
            .then(energy_j)
            .alias("__energy_j"),
            bad_energy.alias("__bad_energy"),
            tres_mem.alias("__tres_mem"),
        )
        .with_columns(
            pl.coalesce(reqmem_bytes, pl.col("__tres_mem")).truediv(1e9).alias("__memory_gb"),
        )
        .drop("__ids", "__el", "__mem", "__tres", "__alloc_mem", "__req_mem", "__tres_mem")
    )
    checks = [
        ("__bad_fields", "delimited fields: wrong number of fields"),
        ("__bad_jobid", "JobID: not a Slurm job id (123, 123_4, 123_[1-3], 123.batch)"),
        ("__bad_elapsedraw", "ElapsedRaw: not a whole number of seconds"),
        ("__bad_elapsed", "Elapsed: not [D-]HH:MM:SS or MM:SS"),
        ("__bad_start", f"Start: not a {_TIME_FORMAT} time"),
        ("__bad_end", f"End: not a {_TIME_FORMAT} time"),
        ("__bad_ncpus", "NCPUS: not a whole number"),
        ("__bad_nnodes", "NNodes: not a whole number"),
        ("__bad_reqmem", "ReqMem: not a size such as 4000M, 3000Mc, 250Gn"),
        ("__bad_energy", "ConsumedEnergyRaw: not a number of joules >= 0"),
    ]
    return parsed, checks


def _apply_checks(
    parsed: pl.DataFrame, checks: list[tuple[str, str]], on_invalid: OnInvalid, fields: dict
) -> pl.DataFrame:
    counts = parsed.select([pl.col(c).sum() for c, _ in checks]).row(0)
    failing = [(c, problem, n) for (c, problem), n in zip(checks, counts, strict=True) if n]
    if not failing:
        return parsed
    if on_invalid == "raise":
        column, problem, n = failing[0]
        field, _, what = problem.partition(": ")
        shown = fields.get(column.removeprefix("__bad_"), "__raw")
        shown = shown if shown in parsed.columns else "__raw"
        examples = [
            f"line {line}: {value[:60]!r}" if isinstance(value, str) else f"line {line}"
            for line, value in parsed.filter(pl.col(column))
            .select("__line", shown)
            .head(_N_EXAMPLES)
            .iter_rows()
        ]
        raise InvalidValueError(field, n, what + " (use on_invalid='drop' to skip)", examples)
    bad = pl.any_horizontal([pl.col(c) for c, _, _ in failing])
    n_bad = parsed.select(bad.sum()).item()
    summary = "; ".join(f"{n} with {problem}" for _, problem, n in failing)
    warnings.warn(
        f"read_sacct dropped {n_bad} malformed line{'s' if n_bad != 1 else ''} ({summary})",
        DroppedRowsWarning,
        stacklevel=3,
    )
    return parsed.filter(~bad)


def _first_node(nodelist: str | None) -> str | None:
    """First host of a Slurm host list: ``gpu[03-04,07],cpu1`` → ``gpu03``."""
    if nodelist is None:
        return None
    s = nodelist.strip()
    if not s or s.lower().startswith(("none", "(null)", "unknown")):
        return None
    m = re.match(r"([^,\[]*)(?:\[([^\],\-]*)[^\]]*\])?([^,\[]*)", s)
    if m is None:  # pragma: no cover - the pattern matches any string
        return None
    return f"{m.group(1)}{m.group(2) or ''}{m.group(3)}" or None


def _resolve_accelerators(jobs: pl.DataFrame, config: ClusterConfig) -> pl.DataFrame:
    gres_map = config.gres
    typed = pl.col("__gres_type")
    by_gres = typed.replace_strict(gres_map, default=typed, return_dtype=pl.String)
    if config.nodes:
        nodes = jobs["nodelist"].unique().drop_nulls().to_list()
        node_map = {n: config.node_accelerator(_first_node(n)) for n in nodes}
        by_node = pl.col("nodelist").replace_strict(node_map, default=None, return_dtype=pl.String)
    else:
        by_node = pl.lit(None, pl.String)
    if config.partitions:
        parts = jobs["partition"].unique().drop_nulls().to_list()
        part_map = {
            p: config.partitions.get(p, config.partitions.get(p.split(",")[0].strip()))
            for p in parts
        }
        by_part = pl.col("partition").replace_strict(part_map, default=None, return_dtype=pl.String)
    else:
        by_part = pl.lit(None, pl.String)
    default = pl.lit(config.accelerator, pl.String)
    key = pl.coalesce(by_gres, by_node, by_part, default)
    return jobs.with_columns(
        pl.when(pl.col("__gpus") > 0).then(key).otherwise(None).alias("accelerator")
    )


def _merge_steps(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per allocation: steps merged in, orphan steps grouped, duplicates resolved."""
    is_step = pl.col("__step").is_not_null()
    allocs = rows.filter(~is_step)
    steps = rows.filter(is_step)
    if allocs.height and allocs["__alloc"].n_unique() != allocs.height:
        n_dup = allocs.height - allocs["__alloc"].n_unique()
        allocs = allocs.unique(subset="__alloc", keep="last", maintain_order=True)
        warnings.warn(
            f"read_sacct dropped {n_dup} earlier record{'s' if n_dup != 1 else ''} of jobs "
            "printed more than once under the same JobID (requeued jobs, sacct --duplicates); "
            "the last record of each is kept",
            DroppedRowsWarning,
            stacklevel=3,
        )
    if not steps.height:
        return allocs
    step_energy = steps.group_by("__alloc").agg(
        pl.col("__energy_j").sum().alias("__step_energy_j"),
        pl.col("__energy_j").is_not_null().any().alias("__step_has_energy"),
    )
    orphans = steps.join(allocs.select("__alloc"), on="__alloc", how="anti")
    merged = allocs.join(step_energy, on="__alloc", how="left", maintain_order="left")
    merged = merged.with_columns(
        pl.coalesce(
            "__energy_j",
            pl.when(pl.col("__step_has_energy")).then(pl.col("__step_energy_j")),
        ).alias("__energy_j")
    ).drop("__step_energy_j", "__step_has_energy")
    log.debug(
        "read_sacct merged %d step rows into their allocations", steps.height - orphans.height
    )
    if orphans.height:
        first = [
            c
            for c in rows.columns
            if c
            not in {"__start", "__end", "__elapsed_s", "__ncpus", "__nnodes", "__memory_gb"}
            | {"__gpus", "__energy_j", "jobid", "__step"}
        ]
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
        )
        grouped = grouped.with_columns(
            pl.col("__alloc").alias("jobid"), pl.lit(None, pl.String).alias("__step")
        )
        log.debug("read_sacct formed %d jobs from steps without allocation", grouped.height)
        merged = pl.concat([merged, grouped.select(merged.columns)], how="vertical_relaxed")
    return merged


def read_sacct(
    source: str | os.PathLike[str] | bytes | io.IOBase,
    *,
    cluster: ClusterConfig | Mapping[str, Any] | str | os.PathLike[str] | None = None,
    delimiter: str | None = None,
    fields: Sequence[str] | str | None = None,
    on_invalid: OnInvalid = "raise",
) -> pl.DataFrame:
    r"""Read ``sacct --parsable2`` output into job records of the canonical schema.

    Parameters
    ----------
    source : str, path, bytes or file object
        A file path, or the sacct text itself (a string holding a newline, the
        delimiter, or ``|``). The file is only read.
    cluster : ClusterConfig, dict or path to a TOML file, optional
        Region, datacenter, time zone and GPU type mappings; see
        :mod:`fleetcarbon.io.cluster`. Without it, times are read as UTC and
        ``region``/``datacenter`` are null (give them before :func:`fleetcarbon.estimate`).
    delimiter : str, optional
        Field separator; detected when None (``|`` for ``--parsable2``; any other,
        multi-character ones included, is found from the header or the field count).
    fields : list of str or comma-separated str, optional
        Field names, for output written with ``--noheader`` (the ``--format`` list).
        If the first line is a header matching them, it is skipped.
    on_invalid : {"raise", "drop"}, default "raise"
        Malformed lines (wrong field count, unparsable JobID, times, elapsed, counts,
        memory or energy) raise :class:`~fleetcarbon.errors.InvalidValueError`
        naming the field, the count and the first line numbers, or are dropped
        with a :class:`~fleetcarbon.errors.DroppedRowsWarning` counting them.

    Returns
    -------
    pl.DataFrame
        One row per allocation (job, array task, het-job component), in input order:
        ``job_id`` (the sacct JobID string), ``start``/``end`` (UTC, null where sacct
        says Unknown/None), ``duration_h`` (from ``ElapsedRaw``, else ``Elapsed``,
        else end − start; running jobs have their elapsed time so far),
        ``accelerator``, ``accelerator_count``, ``cpu``, ``cpu_cores`` (``NCPUS``),
        ``memory_gb``, ``energy_kwh`` (``ConsumedEnergyRaw`` / 3.6e6 when present
        and non-zero), ``region``, ``datacenter``, then ``user``, ``account``,
        ``partition``, ``state`` (first word of the sacct state, e.g. ``CANCELLED``),
        ``state_raw``, ``job_name``, ``array_job_id``, ``array_task`` (``"4"`` or
        ``"[1-3]"``; see :func:`expand_array_tasks`), ``nodes`` and ``cluster``.
        Pending and running jobs are kept: filter on ``state`` as needed.

    Raises
    ------
    SacctSourceError
        If ``source`` is neither a readable file nor sacct text.
    SchemaError
        On fixed-width (non ``--parsable2``) output, a missing header without
        ``fields``, or an undetectable delimiter.
    MissingColumnError
        Without a JobID field, or with no duration field (ElapsedRaw, Elapsed, or
        Start and End).
    InvalidValueError
        On malformed lines when ``on_invalid="raise"``.

    Warns
    -----
    UnmappedAcceleratorWarning
        When GPU jobs have no accelerator key (no typed gres, and no node,
        partition or default mapping in the cluster config). ``estimate`` rejects
        those jobs until their GPUs are mapped.
    DroppedRowsWarning
        When malformed lines are dropped, or duplicated JobIDs superseded.

    Notes
    -----
    Steps (``123.batch``, ``123.extern``, ``123.0``) merge into their allocation,
    whose fields win; ``energy_kwh`` falls back to the sum of the steps'
    ``ConsumedEnergyRaw``. GPUs come from ``AllocTRES``, else ``ReqTRES``:
    ``gres/gpu=N`` or ``gres/gpu:TYPE=N`` (``gres/gpumem`` is ignored). Memory
    follows Slurm's binary units and is reported in decimal GB; see the module
    docstring for every rule.
    """
    if on_invalid not in ("raise", "drop"):
        raise ValueError(f"on_invalid must be 'raise' or 'drop', got {on_invalid!r}")
    config = load_cluster_config(cluster) if cluster is not None else ClusterConfig()
    text = _read_text(source, delimiter)
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\r\n", "\n")
    lines = pl.DataFrame({"__raw": text.split("\n")}).with_row_index("__line", offset=1)
    lines = lines.filter(pl.col("__raw").str.strip_chars().str.len_bytes() > 0)
    if lines.height == 0:
        if fields is None:
            raise SchemaError("the sacct input is empty (no header line)")
        return pl.DataFrame(schema=OUTPUT_SCHEMA)
    head = lines["__raw"].head(25).to_list()
    names, delim, has_header = _layout(head, delimiter, fields)
    if has_header:
        lines = lines.slice(1)
    lower = [n.lower() for n in names]
    index: dict[str, int] = {}
    used: dict[str, str] = {}
    for key, options in _FIELDS.items():
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
    n = len(names)
    parts = pl.col("__raw").str.split(delim)
    work = lines.with_columns(parts.alias("__parts")).with_columns(
        ~(
            (pl.col("__parts").list.len() == n)
            | (
                (pl.col("__parts").list.len() == n + 1)
                & (pl.col("__parts").list.last().str.strip_chars() == "")
            )
        ).alias("__bad_fields")
    )
    work = work.with_columns(
        *[
            _blank_to_null(pl.col("__parts").list.get(index[k], null_on_oob=True)).alias(k)
            if k in index
            else pl.lit(None, pl.String).alias(k)
            for k in _FIELDS
        ]
    ).drop("__parts")
    # ReqMem needs NCPUS/NNodes: parse counts first.
    work = work.with_columns(
        _int_field("ncpus")[0].alias("__ncpus"), _int_field("nnodes")[0].alias("__nnodes")
    )
    parsed, checks = _parse_rows(work, config)
    parsed = parsed.with_columns(
        pl.col(c) & ~pl.col("__bad_fields") for c, _ in checks if c != "__bad_fields"
    )
    parsed = _apply_checks(parsed, checks, on_invalid, used)
    jobs = _merge_steps(parsed)
    jobs = _resolve_accelerators(jobs, config)
    unmapped = jobs.select(((pl.col("__gpus") > 0) & pl.col("accelerator").is_null()).sum()).item()
    if unmapped:
        warnings.warn(
            f"{unmapped} GPU job{'s' if unmapped != 1 else ''} ha{'ve' if unmapped != 1 else 's'}"
            " no accelerator type (untyped gres/gpu=N and no match in the cluster config): "
            "map them with the config's 'gres', 'nodes' or 'partitions' tables or its "
            "'accelerator' default, or fleetcarbon.estimate() will reject them",
            UnmappedAcceleratorWarning,
            stacklevel=2,
        )
    state = pl.col("state").str.strip_chars()
    duration = pl.coalesce(
        pl.col("__elapsed_s") / 3600.0,
        (pl.col("__end") - pl.col("__start")).dt.total_microseconds() / 3.6e9,
    )
    cluster_col = pl.col("cluster")
    if config.name is not None:
        cluster_col = pl.coalesce(cluster_col, pl.lit(config.name, pl.String))
    out = jobs.select(
        pl.col("jobid").str.strip_chars().alias("job_id"),
        pl.col("__start").alias("start"),
        pl.col("__end").alias("end"),
        duration.alias("duration_h"),
        pl.col("accelerator"),
        pl.col("__gpus").fill_null(0).alias("accelerator_count"),
        pl.lit(config.cpu, pl.String).alias("cpu"),
        pl.col("__ncpus").alias("cpu_cores"),
        pl.col("__memory_gb").alias("memory_gb"),
        (pl.col("__energy_j") / 3.6e6).alias("energy_kwh"),
        pl.lit(config.region, pl.String).alias("region"),
        pl.lit(config.datacenter, pl.String).alias("datacenter"),
        pl.col("user"),
        pl.col("account"),
        pl.col("partition"),
        state.str.extract(r"^([A-Za-z_]+)", 1).str.to_uppercase().alias("state"),
        state.alias("state_raw"),
        pl.col("jobname").alias("job_name"),
        pl.when(pl.col("__task").is_not_null()).then(pl.col("__base")).alias("array_job_id"),
        pl.col("__task").alias("array_task"),
        pl.col("nodelist").alias("nodes"),
        cluster_col.alias("cluster"),
    )
    return out.cast(OUTPUT_SCHEMA)  # type: ignore[arg-type]
