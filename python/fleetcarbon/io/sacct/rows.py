"""Split sacct lines into fields, parse them into typed columns, and apply ``on_invalid``."""

from __future__ import annotations

import warnings
from typing import Literal, NamedTuple

import polars as pl
import polars.selectors as cs

from fleetcarbon.errors import DroppedRowsWarning, InvalidValueError
from fleetcarbon.io.cluster import ClusterConfig
from fleetcarbon.io.sacct import parsers as p
from fleetcarbon.io.sacct.layout import FIELDS, free_text_fields
from fleetcarbon.io.sacct.times import resolve_times

__all__ = [
    "Check",
    "OnInvalid",
    "RepairedLinesWarning",
    "Split",
    "apply_checks",
    "parse_rows",
    "split_fields",
]

OnInvalid = Literal["raise", "drop"]

_N_EXAMPLES = 5
#: Longest value shown in an error message.
_MAX_SHOWN = 100


class RepairedLinesWarning(UserWarning):
    """Lines held extra delimiters inside a free-text field (e.g. JobName) and were rejoined."""

    # Named where it is imported from.
    __module__ = "fleetcarbon.io.sacct"


class Split(NamedTuple):
    """The lines split into fields, and which lines needed a repair or could not be split."""

    #: ``__line``, ``__raw``, ``__bad_fields`` and one string column per FIELDS key.
    frame: pl.DataFrame
    #: Line numbers of the lines whose free-text field absorbed extra delimiters.
    repaired: list[int]
    #: The free-text field names of the input (as written).
    free_text: list[str]


class Check(NamedTuple):
    """One validity check of the parsed lines."""

    #: The boolean column that is True on failing lines.
    flag: str
    #: The FIELDS key whose value is shown (None: the whole line).
    key: str | None
    #: The field's name when the input does not name it (its usual sacct spelling).
    label: str
    #: What is wrong with a failing value.
    problem: str


def split_fields(
    lines: pl.DataFrame,
    delim: str,
    names: list[str],
    index: dict[str, int],
    trailing: bool,
) -> Split:
    """Split each line into one string column per :data:`~fleetcarbon.io.sacct.layout.FIELDS` key.

    A line of ``--parsable`` output (``trailing``) ends with one extra, empty field,
    which is removed. A line that still holds more fields than ``names`` is
    repaired when exactly one free-text field (``JobName``, ``Comment``,
    ``WorkDir``, ... see :data:`~fleetcarbon.io.sacct.layout.FREE_TEXT`) is in
    ``names``: the extra fields are rejoined into it, with the delimiter. Any
    other line with the wrong field count is flagged in ``__bad_fields``;
    fields are never shifted.

    Parameters
    ----------
    lines : pl.DataFrame
        ``__line`` (1-based line number) and ``__raw`` (the line's text).
    delim : str
        The field delimiter.
    names : list of str
        The field names of the input.
    index : dict of str to int
        Position of each field present (from :func:`~.layout.locate_fields`).
    trailing : bool
        Whether lines end with a delimiter (``--parsable`` output).

    Returns
    -------
    Split
        The frame (``lines`` with ``__bad_fields`` and one column per key, null
        where blank or absent), the repaired line numbers, and the free-text fields.
    """
    n = len(names)
    parts = pl.col("__parts")
    size = parts.list.len()
    work = lines.with_columns(pl.col("__raw").str.split(delim).alias("__parts"))
    if trailing:
        ends_empty = parts.list.last().str.strip_chars() == ""
        work = work.with_columns(
            pl.when((size > n) & ends_empty)
            .then(parts.list.head(size - 1))
            .otherwise(parts)
            .alias("__parts")
        )
    free = free_text_fields(names)
    if len(free) == 1 and work.select((size > n).any()).item():
        # The extra fields belong to the one free-text field: rejoin them into it.
        f, extra = free[0], pl.max_horizontal(size - n, pl.lit(0, pl.UInt32))
        fixable = size > n
        rejoined = pl.concat_list(
            parts.list.head(f),
            parts.list.slice(f, extra + 1).list.join(delim, ignore_nulls=False),
            parts.list.slice(f + extra + 1),
        )
        work = work.with_columns(
            fixable.alias("__repaired"),
            pl.when(fixable).then(rejoined).otherwise(parts).alias("__parts"),
        )
    else:
        work = work.with_columns(pl.lit(False).alias("__repaired"))
    work = work.with_columns((size != n).alias("__bad_fields"))
    repaired = work.filter(pl.col("__repaired"))["__line"].to_list()
    work = work.drop("__repaired")
    work = work.with_columns(
        *[
            p.blank_to_null(parts.list.get(index[k], null_on_oob=True)).alias(k)
            if k in index
            else pl.lit(None, pl.String).alias(k)
            for k in FIELDS
        ]
    ).drop("__parts")
    return Split(work, repaired, [names[i] for i in free])


def parse_rows(
    work: pl.DataFrame, config: ClusterConfig, memory_units: p.MemoryUnits = "binary"
) -> tuple[pl.DataFrame, list[Check]]:
    """Parse the fields of each line into typed ``__`` columns.

    Parameters
    ----------
    work : pl.DataFrame
        The frame of :func:`split_fields`.
    config : ClusterConfig
        For the time zone of ``Start`` and ``End``.
    memory_units : {"binary", "decimal"}, default "binary"
        How the unit letters of ``ReqMem``, TRES ``mem=`` and ``MaxRSS`` are read.

    Returns
    -------
    tuple of (pl.DataFrame, list of Check)
        The frame with the typed values, one boolean ``__bad_*`` column per check,
        ``__dst`` (a Start/End time fell in a DST change), ``__mem_no_cpus``
        (per-CPU ``ReqMem`` without any CPU count) and ``__never`` (the job never
        started), and the checks, in the order errors are reported.
    """
    jid = pl.col("jobid").str.strip_chars()
    # TRES strings repeat from line to line: each distinct one is parsed once.
    work = work.with_columns(
        p.blank_to_null(pl.col(k).str.strip_chars()).alias(f"__{k}")
        for k in ("alloctres", "reqtres")
    )
    for k in ("alloctres", "reqtres"):
        table = p.tres_table(work[f"__{k}"], f"__{k}", memory_units)
        work = work.join(table, on=f"__{k}", how="left", maintain_order="left", nulls_equal=True)

    def alloc(field: str) -> pl.Expr:
        return pl.col(f"__alloctres_{field}")

    def req(field: str) -> pl.Expr:
        return pl.col(f"__reqtres_{field}")

    has_alloc = pl.col("__alloctres").is_not_null()
    # Fields absent from the input (or blank on every line) are not parsed: null values.
    blank = {k for k in ("alloccpus", "totalcpu", "maxrss") if work[k].null_count() == work.height}

    def unless_blank(key: str, parsed: tuple[pl.Expr, pl.Expr], dtype: pl.DataType) -> tuple:
        return (pl.lit(None, dtype), pl.lit(False)) if key in blank else parsed

    ncpus, bad_ncpus = p.int_field("ncpus")
    alloccpus, bad_alloccpus = unless_blank("alloccpus", p.int_field("alloccpus"), pl.Int64())
    reqcpus, bad_reqcpus = p.int_field("reqcpus")
    nnodes, bad_nnodes = p.int_field("nnodes")
    elapsed_raw, bad_elapsed_raw = p.int_field("elapsedraw")
    max_rss, bad_max_rss = unless_blank(
        "maxrss", p.size_bytes("maxrss", memory_units), pl.Float64()
    )
    energy_j, bad_energy = p.energy_joules("energy")
    # Times with a UTC offset are parsed apart, where the input holds some.
    offsets = {
        k
        for k, has in work.select(
            pl.col(k).str.contains(r"T[0-9:]{8}[Zz+\-]").any() for k in ("start", "end")
        )
        .row(0, named=True)
        .items()
        if has
    }
    times = {
        k: p.time_field(k, f"__{k}_tz")[:2]
        if k in offsets
        else (p.local_time_field(k)[0], pl.lit(None, pl.Datetime("us", "UTC")))
        for k in ("start", "end")
    }
    # Regex extractions once each (struct fields are read several times below).
    work = work.with_columns(
        jid.str.extract_groups(p.JOBID_RE).alias("__ids"),
        pl.col("elapsed").str.strip_chars().str.extract_groups(p.ELAPSED_RE).alias("__el"),
        (
            pl.lit(None, pl.Struct({}))
            if "totalcpu" in blank
            else pl.col("totalcpu").str.strip_chars().str.extract_groups(p.ELAPSED_RE)
        ).alias("__tc"),
        pl.col("reqmem").str.strip_chars().str.extract_groups(p.MEM_RE).alias("__mem"),
        *(p.offset_time_groups(k).alias(f"__{k}_tz") for k in times if k in offsets),
        # The CPU count: NCPUS, else AllocCPUS, else the cpu= entry of AllocTRES (else
        # ReqTRES), else ReqCPUS. Per-CPU memory is multiplied by it too.
        pl.coalesce(ncpus, alloccpus, alloc("cpus"), req("cpus"), reqcpus).alias("__ncpus"),
        nnodes.alias("__nnodes"),
        # Nothing allocated: 0 nodes or 0 CPUs (a job that never started).
        ((nnodes == 0) | (pl.coalesce(ncpus, alloccpus) == 0)).fill_null(False).alias("__none"),
    )
    start, start_at = times["start"]
    end, end_at = times["end"]
    elapsed, bad_elapsed = p.elapsed_seconds("elapsed", "__el")
    cpu_time, bad_cpu_time = unless_blank(
        "totalcpu", p.elapsed_seconds("totalcpu", "__tc"), pl.Float64()
    )
    # Values read more than once below, computed once.
    work = work.with_columns(
        start.alias("__start_local"),
        end.alias("__end_local"),
        start_at.alias("__start_at"),
        end_at.alias("__end_at"),
        pl.coalesce(elapsed_raw.cast(pl.Float64), elapsed).alias("__elapsed_s"),
        bad_elapsed.alias("__bad_elapsed"),
        cpu_time.alias("__cpu_time_s"),
        bad_cpu_time.alias("__bad_totalcpu"),
    )
    ids = pl.col("__ids")
    reqmem, bad_mem = p.reqmem_bytes("reqmem", "__mem", "__ncpus", "__nnodes", memory_units)
    per_cpu = pl.col("__mem").struct.field("per") == "c"
    tres_mem = pl.coalesce(alloc("mem_bytes"), req("mem_bytes"))
    elapsed_s = pl.col("__elapsed_s")
    # Never started: Start is one of sacct's "unknown" words (PENDING, or cancelled
    # before it started), the state is PENDING, or nothing was allocated (0 nodes or
    # 0 CPUs); and no elapsed time says otherwise.
    start_raw = pl.col("start").str.strip_chars()
    pending = pl.col("state").str.strip_chars().str.to_uppercase().str.starts_with("PENDING")
    never = (
        start_raw.is_in(p.UNKNOWN).fill_null(False) | pending.fill_null(False) | pl.col("__none")
    ) & (elapsed_s.is_null() | (elapsed_s == 0))
    parsed = (
        work.with_columns(
            ids.struct.field("alloc").alias("__alloc"),
            ids.struct.field("base").alias("__base"),
            ids.struct.field("task").alias("__task"),
            ids.struct.field("step").alias("__step"),
            (~jid.str.contains(p.JOBID_RE).fill_null(False)).alias("__bad_jobid"),
            never.alias("__never"),
            bad_elapsed_raw.alias("__bad_elapsedraw"),
            p.time_bad("start", pl.col("__start_local"), pl.col("__start_at")).alias("__bad_start"),
            p.time_bad("end", pl.col("__end_local"), pl.col("__end_at")).alias("__bad_end"),
            bad_ncpus.alias("__bad_ncpus"),
            bad_alloccpus.alias("__bad_alloccpus"),
            bad_reqcpus.alias("__bad_reqcpus"),
            bad_nnodes.alias("__bad_nnodes"),
            bad_mem.alias("__bad_reqmem"),
            max_rss.alias("__max_rss_bytes"),
            bad_max_rss.alias("__bad_maxrss"),
            alloc("bad").fill_null(False).alias("__bad_alloctres"),
            req("bad").fill_null(False).alias("__bad_reqtres"),
            energy_j.alias("__energy_j"),
            bad_energy.alias("__bad_energy"),
            pl.when(has_alloc).then(alloc("gpus")).otherwise(req("gpus")).alias("__gpus"),
            pl.when(has_alloc)
            .then(alloc("gres_type"))
            .otherwise(req("gres_type"))
            .alias("__gres_type"),
            pl.when(has_alloc)
            .then(alloc("gres_sig"))
            .otherwise(req("gres_sig"))
            .alias("__gres_sig"),
            pl.coalesce(alloc("nodes"), req("nodes")).alias("__tres_nodes"),
            # ReqMem wins over the TRES mem= entry.
            pl.coalesce(reqmem, tres_mem).truediv(1e9).alias("__memory_gb"),
            (per_cpu & ~bad_mem & pl.col("__ncpus").is_null())
            .fill_null(False)
            .alias("__mem_no_cpus"),
        )
        .drop("__ids", "__el", "__tc", "__mem", "__none", *(f"__{k}_tz" for k in offsets))
        .drop(cs.starts_with("__alloctres", "__reqtres"))
        .pipe(
            resolve_times,
            config.timezone,
            "__start_local",
            "__end_local",
            "__elapsed_s",
            ("__start_at", "__end_at"),
        )
        .drop("__start_local", "__end_local", "__start_at", "__end_at")
    )
    count = "not a whole number from 0 to 2**53 - 1"
    elapsed_format = "not D-HH[:MM[:SS]], HH:MM:SS, MM[:SS] (minutes and seconds below 60)"
    time_format = f"not a {p.TIME_FORMAT} time (optionally with a UTC offset: +02:00, +0200, Z)"
    checks = [
        Check("__bad_fields", None, "delimited fields", "wrong number of fields"),
        Check(
            "__bad_jobid", "jobid", "JobID", "not a Slurm job id (123, 123_4, 123_[1-3], 123.batch)"
        ),
        Check("__bad_elapsedraw", "elapsedraw", "ElapsedRaw", f"seconds {count}"),
        Check("__bad_elapsed", "elapsed", "Elapsed", elapsed_format),
        Check("__bad_start", "start", "Start", time_format),
        Check("__bad_end", "end", "End", time_format),
        Check("__bad_ncpus", "ncpus", "NCPUS", count),
        Check("__bad_alloccpus", "alloccpus", "AllocCPUS", count),
        Check("__bad_reqcpus", "reqcpus", "ReqCPUS", count),
        Check("__bad_nnodes", "nnodes", "NNodes", count),
        Check("__bad_reqmem", "reqmem", "ReqMem", "not a size such as 4000M, 3000Mc, 250Gn"),
        Check("__bad_alloctres", "alloctres", "AllocTRES", _TRES_PROBLEM),
        Check("__bad_reqtres", "reqtres", "ReqTRES", _TRES_PROBLEM),
        Check("__bad_energy", "energy", "ConsumedEnergyRaw", "not a finite number of joules >= 0"),
        Check("__bad_totalcpu", "totalcpu", "TotalCPU", elapsed_format),
        Check("__bad_maxrss", "maxrss", "MaxRSS", "not a size such as 231092K, 1.5G or 0"),
    ]
    return parsed, checks


_TRES_PROBLEM = (
    "not a TRES list of name=value entries (GPU and cpu= counts whole numbers from 0 "
    "to 2**53 - 1, mem= a size)"
)


def apply_checks(
    parsed: pl.DataFrame,
    checks: list[Check],
    on_invalid: OnInvalid,
    fields: dict[str, str],
    expected: str = "",
) -> pl.DataFrame:
    """Raise on the first failing check, or drop the failing lines with a warning.

    Parameters
    ----------
    parsed : pl.DataFrame
        The output of :func:`parse_rows`.
    checks : list of Check
        Its checks.
    on_invalid : {"raise", "drop"}
        What to do with malformed lines.
    fields : dict of str to str
        FIELDS key -> the field name as written in the input: errors name the
        field so, and show its value.
    expected : str, optional
        Said of lines with the wrong number of fields (how many were expected).

    Returns
    -------
    pl.DataFrame
        ``parsed`` without the malformed lines.

    Raises
    ------
    InvalidValueError
        With ``on_invalid="raise"``, naming the field, the count and the first
        lines with their values.

    Warns
    -----
    DroppedRowsWarning
        With ``on_invalid="drop"``, counting the dropped lines per problem.
    """
    counts = parsed.select([pl.col(c.flag).sum() for c in checks]).row(0)
    failing = [(c, n) for c, n in zip(checks, counts, strict=True) if n]
    if not failing:
        return parsed

    def name(check: Check) -> str:
        return fields.get(check.key, check.label) if check.key is not None else check.label

    def problem(check: Check) -> str:
        return check.problem + (expected if check.key is None else "")

    if on_invalid == "raise":
        check, n = failing[0]
        # The failing field's value (the whole line for a wrong field count).
        shown = check.key if check.key is not None else "__raw"
        examples = [
            f"line {line}: {_shorten(value)!r}" if isinstance(value, str) else f"line {line}"
            for line, value in parsed.filter(pl.col(check.flag))
            .select("__line", shown)
            .head(_N_EXAMPLES)
            .iter_rows()
        ]
        raise InvalidValueError(
            name(check), n, problem(check) + " (use on_invalid='drop' to skip)", examples
        )
    bad = pl.any_horizontal([pl.col(c.flag) for c, _ in failing])
    n_bad = parsed.select(bad.sum()).item()
    first = parsed.filter(bad)["__line"].head(_N_EXAMPLES).to_list()
    summary = "; ".join(f"{n} with {name(c)}: {problem(c)}" for c, n in failing)
    # stacklevel 3: read_sacct -> apply_checks, so the warning names read_sacct's caller.
    warnings.warn(
        f"read_sacct dropped {n_bad} malformed line{'s' if n_bad != 1 else ''} ({summary}); "
        f"first: line{'s' if len(first) != 1 else ''} {', '.join(map(str, first))}",
        DroppedRowsWarning,
        stacklevel=3,
    )
    return parsed.filter(~bad)


def _shorten(value: str) -> str:
    return value if len(value) <= _MAX_SHOWN else value[: _MAX_SHOWN - 3] + "..."
