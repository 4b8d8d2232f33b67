"""Split sacct lines into fields, parse them into typed columns, and apply ``on_invalid``."""

from __future__ import annotations

import warnings
from typing import Literal

import polars as pl

from fleetcarbon.errors import DroppedRowsWarning, InvalidValueError
from fleetcarbon.io.cluster import ClusterConfig
from fleetcarbon.io.sacct import parsers as p
from fleetcarbon.io.sacct.layout import FIELDS

__all__ = ["OnInvalid", "apply_checks", "parse_rows", "split_fields"]

OnInvalid = Literal["raise", "drop"]

_N_EXAMPLES = 5


def split_fields(lines: pl.DataFrame, delim: str, n: int, index: dict[str, int]) -> pl.DataFrame:
    """Add one string column per :data:`~fleetcarbon.io.sacct.layout.FIELDS` key.

    Parameters
    ----------
    lines : pl.DataFrame
        ``__line`` (1-based line number) and ``__raw`` (the line's text).
    delim : str
        The field delimiter.
    n : int
        The number of fields of each line (one trailing empty field is allowed).
    index : dict of str to int
        Position of each field present (from :func:`~.layout.locate_fields`).

    Returns
    -------
    pl.DataFrame
        ``lines`` with ``__bad_fields`` (wrong field count), one column per key
        (null where blank or absent), and the parsed ``__ncpus`` and ``__nnodes``.
    """
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
            p.blank_to_null(pl.col("__parts").list.get(index[k], null_on_oob=True)).alias(k)
            if k in index
            else pl.lit(None, pl.String).alias(k)
            for k in FIELDS
        ]
    ).drop("__parts")
    # ReqMem needs NCPUS/NNodes: parse counts first.
    return work.with_columns(
        p.int_field("ncpus")[0].alias("__ncpus"), p.int_field("nnodes")[0].alias("__nnodes")
    )


def parse_rows(
    work: pl.DataFrame, config: ClusterConfig
) -> tuple[pl.DataFrame, list[tuple[str, str]]]:
    """Parse the fields of each line into typed ``__`` columns.

    Parameters
    ----------
    work : pl.DataFrame
        The output of :func:`split_fields`.
    config : ClusterConfig
        For the time zone of ``Start`` and ``End``.

    Returns
    -------
    tuple of (pl.DataFrame, list of (str, str))
        The frame with the typed values and one boolean ``__bad_*`` column per
        check, and the checks as ``(column, "Field: problem")`` pairs, in the
        order errors are reported.
    """
    jid = pl.col("jobid").str.strip_chars()
    alloc_tres = p.blank_to_null(pl.col("alloctres").str.strip_chars())
    req_tres = p.blank_to_null(pl.col("reqtres").str.strip_chars())
    # Regex extractions once each (struct fields are read several times below).
    work = work.with_columns(
        jid.str.extract_groups(p.JOBID_RE).alias("__ids"),
        pl.col("elapsed").str.strip_chars().str.extract_groups(p.ELAPSED_RE).alias("__el"),
        pl.col("reqmem").str.strip_chars().str.extract_groups(p.MEM_RE).alias("__mem"),
        pl.coalesce(alloc_tres, req_tres).alias("__tres"),
        p.tres_mem_bytes(alloc_tres).alias("__alloc_mem"),
        p.tres_mem_bytes(req_tres).alias("__req_mem"),
    )
    work = p.with_gpus(work, "__tres")
    ids = pl.col("__ids")
    elapsed_raw, bad_elapsed_raw = p.int_field("elapsedraw")
    elapsed, bad_elapsed = p.elapsed_seconds("elapsed", "__el")
    start, bad_start = p.time_field("start", config.timezone)
    end, bad_end = p.time_field("end", config.timezone)
    ncpus, bad_ncpus = p.int_field("ncpus")
    nnodes, bad_nnodes = p.int_field("nnodes")
    reqmem, bad_mem = p.reqmem_bytes("reqmem", "__mem", "__ncpus", "__nnodes")
    energy_j, bad_energy = p.energy_joules("energy")
    tres_mem = pl.coalesce("__alloc_mem", "__req_mem")

    parsed = (
        work.with_columns(
            ids.struct.field("alloc").alias("__alloc"),
            ids.struct.field("base").alias("__base"),
            ids.struct.field("task").alias("__task"),
            ids.struct.field("step").alias("__step"),
            (~jid.str.contains(p.JOBID_RE).fill_null(False)).alias("__bad_jobid"),
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
            energy_j.alias("__energy_j"),
            bad_energy.alias("__bad_energy"),
            tres_mem.alias("__tres_mem"),
        )
        .with_columns(
            # ReqMem wins over the TRES mem= entry.
            pl.coalesce(reqmem, pl.col("__tres_mem")).truediv(1e9).alias("__memory_gb"),
        )
        .drop("__ids", "__el", "__mem", "__tres", "__alloc_mem", "__req_mem", "__tres_mem")
    )
    checks = [
        ("__bad_fields", "delimited fields: wrong number of fields"),
        ("__bad_jobid", "JobID: not a Slurm job id (123, 123_4, 123_[1-3], 123.batch)"),
        ("__bad_elapsedraw", "ElapsedRaw: not a whole number of seconds"),
        ("__bad_elapsed", "Elapsed: not [D-]HH:MM:SS or MM:SS"),
        ("__bad_start", f"Start: not a {p.TIME_FORMAT} time"),
        ("__bad_end", f"End: not a {p.TIME_FORMAT} time"),
        ("__bad_ncpus", "NCPUS: not a whole number"),
        ("__bad_nnodes", "NNodes: not a whole number"),
        ("__bad_reqmem", "ReqMem: not a size such as 4000M, 3000Mc, 250Gn"),
        ("__bad_energy", "ConsumedEnergyRaw: not a number of joules >= 0"),
    ]
    return parsed, checks


def apply_checks(
    parsed: pl.DataFrame,
    checks: list[tuple[str, str]],
    on_invalid: OnInvalid,
    fields: dict[str, str],
) -> pl.DataFrame:
    """Raise on the first failing check, or drop the failing lines with a warning.

    Parameters
    ----------
    parsed : pl.DataFrame
        The output of :func:`parse_rows`.
    checks : list of (str, str)
        Its checks.
    on_invalid : {"raise", "drop"}
        What to do with malformed lines.
    fields : dict of str to str
        Key -> the field name as written, to show the offending value.

    Returns
    -------
    pl.DataFrame
        ``parsed`` without the malformed lines.

    Raises
    ------
    InvalidValueError
        With ``on_invalid="raise"``, naming the field, the count and the first lines.

    Warns
    -----
    DroppedRowsWarning
        With ``on_invalid="drop"``, counting the dropped lines per problem.
    """
    counts = parsed.select([pl.col(c).sum() for c, _ in checks]).row(0)
    failing = [(c, problem, n) for (c, problem), n in zip(checks, counts, strict=True) if n]
    if not failing:
        return parsed
    if on_invalid == "raise":
        column, problem, n = failing[0]
        field, _, what = problem.partition(": ")
        # Show the offending field's value when its column is found, else the whole line.
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
    # stacklevel 3: read_sacct -> apply_checks, so the warning names read_sacct's caller.
    warnings.warn(
        f"read_sacct dropped {n_bad} malformed line{'s' if n_bad != 1 else ''} ({summary})",
        DroppedRowsWarning,
        stacklevel=3,
    )
    return parsed.filter(~bad)
