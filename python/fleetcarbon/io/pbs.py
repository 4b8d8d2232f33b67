r"""Read PBS Pro, OpenPBS and Torque accounting logs into job records.

A PBS accounting log (``server_priv/accounting/YYYYMMDD``) holds one record a
line: ``MM/DD/YYYY HH:MM:SS;T;JOBID;key=value key=value ...``, where ``T`` is the
record type. Only ``E`` (job ended) records are read: they carry what the job
used. The values read:

==============================================  ==================================
key                                             read as
==============================================  ==================================
``start``, ``end`` (Unix seconds)               ``start``, ``end`` (UTC)
``resources_used.walltime`` (else end − start)  ``duration_h``
``resources_used.ncpus``, else the slots of     ``cpu_cores``
``exec_host``, else ``Resource_List.nodes``
(``N:ppn=P``), else ``Resource_List.ncpus``
``Resource_List.ngpus``, else ``gpus=``/``gpu=``  ``accelerator_count``
in ``Resource_List.nodes``
``Resource_List.mem``, else ``pmem`` × cores,   ``memory_gb``
else ``resources_used.mem``
``resources_used.cput``                         ``cpu_time_h``
``exec_host`` hosts                             ``nodes``
``queue``, ``user``, ``group``, ``account``     pass through
(or ``project``), ``jobname``, ``ctime``
``Exit_status``                                 ``exit_status``, ``state``
==============================================  ==================================

Formats: times are ``[[hours:]minutes:]seconds`` (hours may exceed 24, seconds
may have a fraction) or plain seconds; sizes are a number and a unit (``b``,
``kb``, ``mb``, ``gb``, ``tb``, ``pb``, or words ``w``, ``kw``, ...; any case, the
``b`` optional), binary as PBS defines them (``1kb`` = 1024 bytes), reported in
decimal GB.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from fleetcarbon._compat import EXPLODE_KWARGS
from fleetcarbon.errors import SchemaError
from fleetcarbon.io._text import Check, apply_checks, keep_last, lines_frame, read_sources
from fleetcarbon.io.cluster import ClusterConfig, load_cluster_config
from fleetcarbon.io.sacct.accelerators import UnmappedAcceleratorWarning
from fleetcarbon.parameters import OnInvalid, check_on_invalid

__all__ = ["OUTPUT_SCHEMA", "exec_host_slots", "nodes_spec_counts", "read_pbs"]

_READER = "read_pbs"

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
    "cpu_time_h": pl.Float64(),
    "region": pl.String(),
    "datacenter": pl.String(),
    "submit": pl.Datetime("us", "UTC"),
    "user": pl.String(),
    "group": pl.String(),
    "account": pl.String(),
    "queue": pl.String(),
    "state": pl.String(),
    "exit_status": pl.Int64(),
    "job_name": pl.String(),
    "nodes": pl.String(),
    "requested_walltime_h": pl.Float64(),
    "used_memory_gb": pl.Float64(),
    "cluster": pl.String(),
}

#: The keys read from ``E`` records (the others are ignored).
_KEYS = (
    "user",
    "group",
    "account",
    "project",
    "jobname",
    "queue",
    "ctime",
    "start",
    "end",
    "exec_host",
    "Exit_status",
    "Resource_List.ncpus",
    "Resource_List.nodes",
    "Resource_List.nodect",
    "Resource_List.ngpus",
    "Resource_List.gpu_type",
    "Resource_List.mem",
    "Resource_List.pmem",
    "Resource_List.walltime",
    "resources_used.walltime",
    "resources_used.cput",
    "resources_used.mem",
    "resources_used.ncpus",
)
#: A key=value token; a value may be double-quoted (PBS Pro quotes values with spaces).
_TOKEN = r'[^\s=]+=(?:"[^"]*"|\S*)'
_RECORD_TIME = "%m/%d/%Y %H:%M:%S"
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}
_WORD_BYTES = 8


def read_pbs(
    source: str | os.PathLike[str] | bytes | io.IOBase | Sequence[str | os.PathLike[str]],
    *,
    cluster: ClusterConfig | Mapping[str, Any] | str | os.PathLike[str] | None = None,
    on_invalid: OnInvalid = "raise",
) -> pl.DataFrame:
    r"""Read PBS Pro, OpenPBS or Torque accounting logs into job records.

    Parameters
    ----------
    source : str, path, bytes, file object, or a list of paths
        Accounting log file(s): a path, a glob pattern such as
        ``"accounting/2025*"`` (the daily files), a list of paths, or the log
        text itself (a string holding a line break). Compressed files (gzip,
        zstd, bzip2, xz) are read too, told by their content. Files are only read.
    cluster : ClusterConfig, dict or path to a TOML file, optional
        ``region``, ``datacenter``, ``cpu`` and ``name`` for every job; the GPU
        type of GPU jobs from ``gres`` (applied to ``Resource_List.gpu_type``,
        kept as is when unmapped), ``nodes`` (the first ``exec_host``),
        ``partitions`` (here: the job's queue), else ``gres.default`` or
        ``accelerator`` (a ``gpu_mix`` is not applied; GPU counts come from the
        log, never from ``gpus_per_node``); and the
        ``timezone`` of the record time stamps, used only for a record without
        ``end``. See :mod:`fleetcarbon.io.cluster`.
    on_invalid : {"raise", "drop"}, default "raise"
        Malformed lines (not ``date;type;id;message``, or an ``E`` record whose
        times, sizes or counts do not parse) raise
        :class:`~fleetcarbon.errors.InvalidValueError` naming the key, the
        number of bad lines and the first line numbers with their values, or are
        dropped with a :class:`~fleetcarbon.errors.DroppedRowsWarning`.

    Returns
    -------
    pl.DataFrame
        One row per ``E`` record, in input order, with the columns of
        :data:`OUTPUT_SCHEMA`: ``job_id`` (as logged, e.g. ``1234.server`` or
        ``123[4].server``), ``start``/``end`` (UTC), ``duration_h``,
        ``accelerator``, ``accelerator_count``, ``cpu``, ``cpu_cores``,
        ``memory_gb``, ``cpu_time_h``, ``region``, ``datacenter``, then
        ``submit`` (``ctime``), ``user``, ``group``, ``account`` (``account``,
        else PBS Pro's ``project``), ``queue``, ``state`` (``COMPLETED`` for exit
        status 0, else ``FAILED``), ``exit_status``, ``job_name``, ``nodes`` (the
        distinct ``exec_host`` hosts), ``requested_walltime_h``,
        ``used_memory_gb`` (``resources_used.mem``) and ``cluster``. The rules
        for each column are in the module docstring.

    Raises
    ------
    SchemaError
        If ``source`` names no readable file, or is binary.
    InvalidValueError
        On malformed lines, with ``on_invalid="raise"``.
    ParameterError
        If ``on_invalid`` is neither "raise" nor "drop".

    Warns
    -----
    DroppedRowsWarning
        When malformed lines are dropped, or when a job has more than one ``E``
        record (the last one is kept).
    UnmappedAcceleratorWarning
        When GPU jobs have no accelerator key: :func:`fleetcarbon.estimate`
        rejects them until the cluster config maps their nodes or queue.

    Examples
    --------
    >>> from fleetcarbon.io import read_pbs
    >>> log = (
    ...     "03/01/2025 12:00:00;E;42.pbs;user=ana group=lab queue=gpu start=1740826800 "
    ...     "end=1740830400 exec_host=g01/0*8 Resource_List.ngpus=2 "
    ...     "resources_used.ncpus=8 resources_used.walltime=01:00:00 Exit_status=0\n"
    ... )
    >>> cluster = {"region": "FR", "partitions": {"gpu": "nvidia-a100-sxm4-80gb"}}
    >>> jobs = read_pbs(log, cluster=cluster)
    >>> jobs.select("job_id", "duration_h", "accelerator", "accelerator_count", "cpu_cores").row(0)
    ('42.pbs', 1.0, 'nvidia-a100-sxm4-80gb', 2, 8)
    """
    on_invalid = check_on_invalid(on_invalid)
    config = load_cluster_config(cluster) if cluster is not None else ClusterConfig()
    sources = read_sources(source, _READER)
    parts = [_read_one(text, name, config, on_invalid) for text, name in sources]
    parsed = pl.concat(parts, how="vertical") if len(parts) > 1 else parts[0]
    where = sources[0].name if len(sources) == 1 else f"{len(sources)} files"
    parsed = keep_last(parsed, "job_id", _READER, where, "a job with more than one E record")
    jobs = _accelerators(parsed, config)
    return jobs.select(OUTPUT_SCHEMA.keys()).cast(OUTPUT_SCHEMA)  # type: ignore[arg-type]


def _read_one(text: str, name: str, config: ClusterConfig, on_invalid: OnInvalid) -> pl.DataFrame:
    lines = lines_frame(text).filter(pl.col("__raw").str.strip_chars().str.len_bytes() > 0)
    fields = pl.col("__raw").str.strip_chars().str.splitn(";", 4)
    lines = lines.with_columns(
        fields.struct.field("field_0").alias("__time_raw"),
        fields.struct.field("field_1").alias("__type"),
        fields.struct.field("field_2").str.strip_chars().alias("job_id"),
        fields.struct.field("field_3").alias("__message"),
    )
    record_time = (
        pl.col("__time_raw")
        .str.strip_chars()
        .str.to_datetime(_RECORD_TIME, strict=False, time_unit="us")
    )
    lines = lines.with_columns(record_time.alias("__record_time"))
    bad_record = (
        pl.col("__message").is_null()
        | pl.col("__record_time").is_null()
        | ~pl.col("__type").str.contains(r"^[A-Za-z]$").fill_null(False)
        | (pl.col("job_id").str.len_bytes() == 0).fill_null(True)
    )
    lines = lines.with_columns(bad_record.alias("__bad_record"))
    record_check = Check(
        "__bad_record",
        "record",
        None,
        "not a PBS accounting record (MM/DD/YYYY HH:MM:SS;type;job id;message)",
    )
    if lines.height and lines["__bad_record"].all():
        raise SchemaError(
            f"{_READER}: {name} holds no PBS accounting records (lines of the form "
            "'MM/DD/YYYY HH:MM:SS;E;1234.server;user=... queue=... start=... end=...')"
        )
    ended = lines.filter(pl.col("__bad_record") | (pl.col("__type") == "E"))
    values = _values(ended)
    parsed, checks = _parse(values, config)
    # stacklevel 4: read_pbs -> _read_one -> apply_checks, naming read_pbs' caller.
    return apply_checks(parsed, [record_check, *checks], on_invalid, _READER, name, stacklevel=4)


def _values(ended: pl.DataFrame) -> pl.DataFrame:
    """Add one String column per key of :data:`_KEYS` (the last value given), null if absent."""
    tokens = (
        ended.select("__line", pl.col("__message").str.extract_all(_TOKEN).alias("__token"))
        .explode("__token", **EXPLODE_KWARGS)
        .drop_nulls("__token")
        .with_columns(pl.col("__token").str.splitn("=", 2).alias("__kv"))
        .select(
            "__line",
            pl.col("__kv").struct.field("field_0").alias("__key"),
            pl.col("__kv").struct.field("field_1").str.strip_chars('"').alias("__value"),
        )
        .filter(pl.col("__key").is_in(list(_KEYS)))
    )
    wide = tokens.group_by("__line").agg(
        pl.col("__value").filter(pl.col("__key") == key).last().alias(_v(key)) for key in _KEYS
    )
    return ended.join(wide, on="__line", how="left").sort("__line")


def _v(key: str) -> str:
    """Name the column holding the raw value of ``key`` (outputs may take the key's name)."""
    return f"__v:{key}"


def _text(column: str) -> pl.Expr:
    raw = pl.col(column).str.strip_chars()
    return pl.when(raw.str.len_bytes() > 0).then(raw)


def _seconds_of_time(column: str) -> pl.Expr:
    """Parse ``[[h:]m:]s`` (or seconds) to seconds; null where absent or malformed."""
    groups = _text(column).str.extract_groups(r"^(?:(\d+):)?(?:(\d+):)?(\d+(?:\.\d+)?)$")
    first = groups.struct.field("1").cast(pl.Float64)
    second = groups.struct.field("2").cast(pl.Float64)
    last = groups.struct.field("3").cast(pl.Float64)
    return (
        pl.when(second.is_not_null())
        .then(first * 3600 + second * 60 + last)
        .when(first.is_not_null())
        .then(first * 60 + last)
        .otherwise(last)
    )


def _bytes_of_size(column: str) -> pl.Expr:
    """Parse a PBS size (``15240kb``, ``10gb``, ``12.27M``, ``64w``) to bytes; null if bad."""
    raw = _text(column).str.to_lowercase()
    groups = raw.str.extract_groups(r"^(\d+(?:\.\d+)?)\s*([kmgtp]?)(b|w)?$")
    number = groups.struct.field("1").cast(pl.Float64)
    scale = groups.struct.field("2").replace_strict(_UNITS, default=None, return_dtype=pl.Float64)
    words = pl.when(groups.struct.field("3") == "w").then(_WORD_BYTES).otherwise(1)
    return number * scale * words


def _count(column: str) -> pl.Expr:
    value = _text(column).cast(pl.Int64, strict=False)
    return pl.when(value >= 0).then(value)


def _epoch(column: str) -> pl.Expr:
    """Parse Unix seconds; null where absent or malformed (see :func:`_as_time`)."""
    number = _text(column).cast(pl.Float64, strict=False)
    return pl.when(number.is_finite()).then(number)


def _as_time(seconds: pl.Expr) -> pl.Expr:
    # 0 (or a negative value) stands for "not set" in some records.
    micros = pl.when(seconds > 0).then((seconds * 1e6).round(0).cast(pl.Int64))
    return micros.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")


def nodes_spec_counts(spec: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Cores and GPUs of a Torque node spec (``2:ppn=16:gpus=1+node5:ppn=4``).

    Each ``+`` part is a node count (or a host name, one node) with ``ppn=P``
    processors and ``gpus=G`` (or ``gpu=G``) GPUs per node (1 and 0 when not given).

    Returns
    -------
    tuple of pl.Expr
        Total cores and total GPUs (null where ``spec`` is null or empty).
    """
    parts = spec.str.strip_chars().str.split("+")
    return _sum_over(parts, _cores_of_node_part), _sum_over(parts, _gpus_of_node_part)


def _node_count(part: pl.Expr) -> pl.Expr:
    head = part.str.extract(r"^([^:]*)", 1)
    count = head.cast(pl.Int64, strict=False)
    return pl.when(head.str.len_bytes() == 0).then(0).otherwise(count.fill_null(1))


def _cores_of_node_part(part: pl.Expr) -> pl.Expr:
    ppn = part.str.extract(r":ppn=(\d+)", 1).cast(pl.Int64).fill_null(1)
    return _node_count(part) * ppn


def _gpus_of_node_part(part: pl.Expr) -> pl.Expr:
    gpus = part.str.extract(r":gpus?=(\d+)", 1).cast(pl.Int64).fill_null(0)
    return _node_count(part) * gpus


def _sum_over(parts: pl.Expr, per_part: Any) -> pl.Expr:
    return parts.list.eval(per_part(pl.element())).list.sum()


def exec_host_slots(exec_host: pl.Expr) -> pl.Expr:
    """Count the CPU slots of an ``exec_host`` list.

    ``n1/0*13`` is 13 (PBS Pro), ``n1/0-3`` 4, ``n1/0,2,5-7`` 5, and ``+`` joins
    hosts: ``n1/0-3+n2/0,2,5-7`` is 9 (Torque). Null where there is none.
    """
    items = exec_host.str.count_matches(r"[/,]\d+")
    # A range a-b counts b - a beyond its item; a count *N counts N - 1 beyond it.
    ranges = exec_host.str.extract_all(r"\d+-\d+").list.eval(
        pl.element().str.extract(r"-(\d+)$", 1).cast(pl.Int64)
        - pl.element().str.extract(r"^(\d+)", 1).cast(pl.Int64)
    )
    stars = exec_host.str.extract_all(r"\*\d+").list.eval(
        pl.element().str.slice(1).cast(pl.Int64) - 1
    )
    return items + ranges.list.sum() + stars.list.sum()


def _parse(values: pl.DataFrame, config: ClusterConfig) -> tuple[pl.DataFrame, list[Check]]:
    """Parse the values of the E records, with a check per key."""
    checks: list[Check] = []
    values_: list[pl.Expr] = []
    flags: list[pl.Expr] = []

    def add(key: str, parse: Any, out: str) -> None:
        # Values first, then the flags from them: null where the key holds text.
        values_.append(parse(_v(key)).alias(out))
        flag = f"__bad_{out}"
        bad = _text(_v(key)).is_not_null() & pl.col(out).is_null()
        flags.append((bad & ~pl.col("__bad_record")).alias(flag))
        checks.append(Check(flag, key, _v(key), _PROBLEMS[out]))

    add("start", _epoch, "__start")
    add("end", _epoch, "__end")
    add("ctime", _epoch, "__ctime")
    add("resources_used.walltime", _seconds_of_time, "__walltime")
    add("Resource_List.walltime", _seconds_of_time, "__req_walltime")
    add("resources_used.cput", _seconds_of_time, "__cput")
    add("Resource_List.mem", _bytes_of_size, "__mem")
    add("Resource_List.pmem", _bytes_of_size, "__pmem")
    add("resources_used.mem", _bytes_of_size, "__used_mem")
    add("resources_used.ncpus", _count, "__used_ncpus")
    add("Resource_List.ncpus", _count, "__ncpus")
    add("Resource_List.ngpus", _count, "__ngpus")
    add("Exit_status", lambda c: _text(c).cast(pl.Int64, strict=False), "__exit")
    work = values.with_columns(values_).with_columns(flags)
    work = work.with_columns(_as_time(pl.col(c)) for c in ("__start", "__end", "__ctime"))

    # A node spec sometimes sits in Resource_List.nodect ("1:ppn=24:gpu=4"), as Open XDMoD knows.
    spec = pl.coalesce(
        _v("Resource_List.nodes"),
        pl.when(pl.col(_v("Resource_List.nodect")).str.contains(":")).then(
            pl.col(_v("Resource_List.nodect"))
        ),
    )
    spec_cores, spec_gpus = nodes_spec_counts(spec)
    exec_host = pl.col(_v("exec_host")).str.strip_chars()
    slots = exec_host_slots(exec_host)
    host_names = (
        exec_host.str.extract_all(r"(?:^|\+)[^/+]+")
        .list.eval(pl.element().str.strip_chars_start("+"))
        .list.unique(maintain_order=True)
    )
    work = work.with_columns(
        spec_cores.alias("__spec_cores"),
        spec_gpus.alias("__spec_gpus"),
        pl.when(slots > 0).then(slots).alias("__slots"),
        host_names.list.join(",").alias("__hosts"),
        host_names.list.first().alias("__first_host"),
    )
    cores = pl.coalesce("__used_ncpus", "__slots", "__spec_cores", "__ncpus")
    memory = pl.coalesce("__mem", pl.col("__pmem") * cores, "__used_mem")
    duration_s = pl.coalesce(
        "__walltime",
        (pl.col("__end") - pl.col("__start")).dt.total_microseconds() / 1e6,
    )
    recorded = pl.col("__record_time").dt.replace_time_zone(
        config.timezone, ambiguous="earliest", non_existent="null"
    )
    end = pl.coalesce("__end", recorded.dt.convert_time_zone("UTC"))
    work = work.with_columns(
        pl.col("__start").alias("start"),
        end.alias("end"),
        (duration_s / 3600.0).alias("duration_h"),
        pl.coalesce("__ngpus", "__spec_gpus", pl.lit(0)).alias("accelerator_count"),
        pl.lit(config.cpu, pl.String).alias("cpu"),
        cores.alias("cpu_cores"),
        (memory / 1e9).alias("memory_gb"),
        (pl.col("__cput") / 3600.0).alias("cpu_time_h"),
        pl.lit(config.region, pl.String).alias("region"),
        pl.lit(config.datacenter, pl.String).alias("datacenter"),
        pl.col("__ctime").alias("submit"),
        pl.col(_v("user")).alias("user"),
        pl.col(_v("group")).alias("group"),
        pl.col(_v("queue")).alias("queue"),
        pl.coalesce(_v("account"), _v("project")).alias("account"),
        pl.when(pl.col("__exit") == 0)
        .then(pl.lit("COMPLETED"))
        .when(pl.col("__exit").is_not_null())
        .then(pl.lit("FAILED"))
        .alias("state"),
        pl.col("__exit").alias("exit_status"),
        pl.col(_v("jobname")).alias("job_name"),
        pl.col("__hosts").alias("nodes"),
        (pl.col("__req_walltime") / 3600.0).alias("requested_walltime_h"),
        (pl.col("__used_mem") / 1e9).alias("used_memory_gb"),
        pl.lit(config.name, pl.String).alias("cluster"),
    )
    return work, checks


_PROBLEMS = {
    "__start": "not a time in Unix seconds",
    "__end": "not a time in Unix seconds",
    "__ctime": "not a time in Unix seconds",
    "__walltime": "not a duration ([[hours:]minutes:]seconds)",
    "__req_walltime": "not a duration ([[hours:]minutes:]seconds)",
    "__cput": "not a duration ([[hours:]minutes:]seconds)",
    "__mem": "not a size (a number and a unit: kb, mb, gb, ...)",
    "__pmem": "not a size (a number and a unit: kb, mb, gb, ...)",
    "__used_mem": "not a size (a number and a unit: kb, mb, gb, ...)",
    "__used_ncpus": "not a whole number >= 0",
    "__ncpus": "not a whole number >= 0",
    "__ngpus": "not a whole number >= 0",
    "__exit": "not an integer exit status",
}


def _accelerators(jobs: pl.DataFrame, config: ClusterConfig) -> pl.DataFrame:
    """Give GPU jobs an accelerator key: gpu_type (through gres), first node, queue, default."""
    gpu_type = pl.col(_v("Resource_List.gpu_type")).str.strip_chars()
    by_type = gpu_type.replace_strict(config.gres, default=gpu_type, return_dtype=pl.String)
    by_node: pl.Expr = pl.lit(None, pl.String)
    if config.nodes:
        first = jobs["__first_host"].unique().drop_nulls().to_list()
        node_map = {n: config.node_accelerator(n) for n in first}
        node_map = {k: v for k, v in node_map.items() if v is not None}
        if node_map:
            by_node = pl.col("__first_host").replace_strict(
                node_map, default=None, return_dtype=pl.String
            )
    by_queue: pl.Expr = pl.lit(None, pl.String)
    if config.partitions:
        queues = jobs["queue"].unique().drop_nulls().to_list()
        specs = {q: config.partition_spec(q) for q in queues}
        queue_map = {q: s.accelerator for q, s in specs.items() if s and s.accelerator}
        if queue_map:
            by_queue = pl.col("queue").replace_strict(
                queue_map, default=None, return_dtype=pl.String
            )
    fallback = config.gres_default or config.accelerator
    key = pl.coalesce(by_type, by_node, by_queue, pl.lit(fallback, pl.String))
    gpus = pl.col("accelerator_count") > 0
    jobs = jobs.with_columns(pl.when(gpus).then(key).alias("accelerator"))
    unmapped = jobs.select((gpus & pl.col("accelerator").is_null()).sum()).item()
    if unmapped:
        warnings.warn(
            f"{unmapped} GPU job{'s' if unmapped != 1 else ''} of the PBS log "
            f"ha{'ve' if unmapped != 1 else 's'} no accelerator type: map them with the "
            "cluster config's 'nodes' (first exec_host), 'partitions' (queue) or 'gres' "
            "(Resource_List.gpu_type) tables or its 'accelerator' default, or "
            "fleetcarbon.estimate() will reject them",
            UnmappedAcceleratorWarning,
            stacklevel=3,
        )
    return jobs
