r"""Read Slurm ``sacct --parsable2`` output into job records of the canonical schema.

Typical use::

    sacct --allusers --parsable2 --starttime 2024-01-01 \\
        --format=JobID,JobName,User,Account,Partition,State,ElapsedRaw,Start,End,\\
    NCPUS,NNodes,ReqMem,AllocTRES,ReqTRES,ConsumedEnergyRaw,NodeList,Cluster > jobs.txt

    >>> import fleetcarbon
    >>> from fleetcarbon.io import read_sacct
    >>> cluster = {"region": "US", "timezone": "America/Chicago"}
    >>> jobs = read_sacct("jobs.txt", cluster=cluster)  # doctest: +SKIP
    >>> fleetcarbon.estimate(jobs)  # doctest: +SKIP

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
import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from fleetcarbon.errors import SchemaError
from fleetcarbon.io.cluster import ClusterConfig, load_cluster_config
from fleetcarbon.io.sacct.accelerators import UnmappedAcceleratorWarning, resolve_accelerators
from fleetcarbon.io.sacct.layout import detect_layout, locate_fields
from fleetcarbon.io.sacct.parsers import gpu_count_from_tres
from fleetcarbon.io.sacct.rows import OnInvalid, apply_checks, parse_rows, split_fields
from fleetcarbon.io.sacct.source import SacctSourceError, read_text
from fleetcarbon.io.sacct.steps import expand_array_tasks, merge_steps

__all__ = [
    "SacctSourceError",
    "UnmappedAcceleratorWarning",
    "expand_array_tasks",
    "gpu_count_from_tres",
    "read_sacct",
]

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
    text = read_text(source, delimiter)
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
    names, delim, has_header = detect_layout(head, delimiter, fields)
    if has_header:
        lines = lines.slice(1)
    index, used = locate_fields(names)
    work = split_fields(lines, delim, len(names), index)
    parsed, checks = parse_rows(work, config)
    # A line with the wrong field count is reported for that alone, not per shifted field.
    parsed = parsed.with_columns(
        pl.col(c) & ~pl.col("__bad_fields") for c, _ in checks if c != "__bad_fields"
    )
    parsed = apply_checks(parsed, checks, on_invalid, used)
    jobs = merge_steps(parsed)
    jobs = resolve_accelerators(jobs, config)
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
