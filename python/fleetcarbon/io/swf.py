r"""Read Standard Workload Format logs (the Parallel Workloads Archive) into job records.

The Standard Workload Format (SWF, version 2.2) is defined at
https://www.cs.huji.ac.il/labs/parallel/workload/swf.html. Each job is one line
of 18 whitespace-separated numbers; ``-1`` means "unknown"; lines starting with
``;`` are comments, the header ones of the form ``; Key: value``:

====  ==============================  =========================================
 #    field                           read as
====  ==============================  =========================================
 1    Job Number                      ``job_id``
 2    Submit Time (s)                 ``submit`` = UnixStartTime + submit time
 3    Wait Time (s)                   ``start`` = submit + wait, ``wait_h``
 4    Run Time (s)                    ``duration_h``; ``end`` = start + run time
 5    Allocated Processors            ``cpu_cores`` (else Requested Processors)
 6    Average CPU Time Used (s)       ``cpu_time_h`` = CPU time × processors
 7    Used Memory (KB per processor)  ``used_memory_gb`` (× processors)
 8    Requested Processors            ``requested_cores``
 9    Requested Time (s)              ``requested_time_h``
 10   Requested Memory (KB/processor) ``memory_gb`` (× processors; else Used Memory)
 11   Status                          ``status``; ``state``
 12   User ID                         ``user`` (a string)
 13   Group ID                        ``group``
 14   Executable Number               ``executable``
 15   Queue Number                    ``queue`` (and ``queue_name`` from the header)
 16   Partition Number                ``partition`` (and ``partition_name``)
 17   Preceding Job Number            ``preceding_job``
 18   Think Time from Preceding Job   ``think_time_s``
====  ==============================  =========================================
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from fleetcarbon.errors import SchemaError
from fleetcarbon.io._text import Check, apply_checks, keep_last, lines_frame, read_source
from fleetcarbon.io.cluster import ClusterConfig, load_cluster_config
from fleetcarbon.parameters import OnInvalid, check_on_invalid

__all__ = ["OUTPUT_SCHEMA", "SwfHeader", "read_swf", "read_swf_header"]

_READER = "read_swf"

#: The 18 fields: internal name, and the name the specification gives.
FIELDS: tuple[tuple[str, str], ...] = (
    ("job", "Job Number"),
    ("submit", "Submit Time"),
    ("wait", "Wait Time"),
    ("run", "Run Time"),
    ("procs", "Number of Allocated Processors"),
    ("cpu_time", "Average CPU Time Used"),
    ("used_mem", "Used Memory"),
    ("req_procs", "Requested Number of Processors"),
    ("req_time", "Requested Time"),
    ("req_mem", "Requested Memory"),
    ("status", "Status"),
    ("user", "User ID"),
    ("group", "Group ID"),
    ("executable", "Executable (Application) Number"),
    ("queue", "Queue Number"),
    ("partition", "Partition Number"),
    ("preceding", "Preceding Job Number"),
    ("think", "Think Time from Preceding Job"),
)
_N_FIELDS = len(FIELDS)
#: Fields that hold counts or identifiers: whole numbers (or -1).
_WHOLE: tuple[str, ...] = ("job", "procs", "req_procs", "status", "user", "group")
_WHOLE += ("executable", "queue", "partition", "preceding")
#: Status codes: 0 failed, 1 completed, 5 cancelled; 2-4 partial executions of a
#: checkpointed or swapped job (2 to be continued, 3 last part completed, 4 last
#: part failed); -1 unknown.
STATES: dict[int, str] = {
    0: "FAILED",
    1: "COMPLETED",
    2: "PARTIAL",
    3: "COMPLETED",
    4: "FAILED",
    5: "CANCELLED",
}
_PARTIAL = (2, 3, 4)
#: SWF memory is in kilobytes, read as KiB (1024 bytes); memory_gb is decimal GB.
_KB_TO_GB = 1024 / 1e9

#: Output columns, in order.
OUTPUT_SCHEMA: dict[str, pl.DataType] = {
    "job_id": pl.Int64(),
    "submit": pl.Datetime("us", "UTC"),
    "start": pl.Datetime("us", "UTC"),
    "end": pl.Datetime("us", "UTC"),
    "duration_h": pl.Float64(),
    "wait_h": pl.Float64(),
    "cpu": pl.String(),
    "cpu_cores": pl.Int64(),
    "memory_gb": pl.Float64(),
    "cpu_time_h": pl.Float64(),
    "region": pl.String(),
    "datacenter": pl.String(),
    "used_memory_gb": pl.Float64(),
    "requested_cores": pl.Int64(),
    "requested_time_h": pl.Float64(),
    "requested_memory_gb": pl.Float64(),
    "status": pl.Int64(),
    "state": pl.String(),
    "user": pl.String(),
    "group": pl.String(),
    "executable": pl.String(),
    "queue": pl.String(),
    "queue_name": pl.String(),
    "partition": pl.String(),
    "partition_name": pl.String(),
    "preceding_job": pl.Int64(),
    "think_time_s": pl.Float64(),
    "cluster": pl.String(),
}

#: ``; Key: value`` (one space at most before the key; a URL is no key).
_HEADER_LINE = re.compile(r"^\s*;\s?([A-Za-z][A-Za-z0-9]*)\s*:(?!//)\s*(.*?)\s*$")
#: A continuation of the previous comment: ``;`` and two or more spaces.
_CONTINUATION = re.compile(r"^\s*;\s{2,}(\S.*?)\s*$")
_NUMBERED = re.compile(r"^\s*(-?\d+)\s*(.*?)\s*$")


@dataclass(frozen=True)
class SwfHeader:
    """The header comments of an SWF log (``; Key: value`` lines).

    Attributes
    ----------
    fields : dict of str to str
        Every ``Key: value`` comment, the first one of each key (``MaxJobs``,
        ``UnixStartTime``, ``TimeZoneString``, ``StartTime``, ``MaxProcs``, ...);
        ``Note`` lines are joined with newlines.
    queues, partitions : dict of str to str
        Queue and partition numbers (as strings) to the names the ``Queue:`` and
        ``Partition:`` comments give them.
    """

    fields: dict[str, str] = field(default_factory=dict)
    queues: dict[str, str] = field(default_factory=dict)
    partitions: dict[str, str] = field(default_factory=dict)

    def get(self, key: str) -> str | None:
        """Return a header value, or None when absent."""
        return self.fields.get(key)

    def integer(self, key: str) -> int | None:
        """Return a header value as an integer, or None when absent or not a number."""
        value = self.fields.get(key)
        try:
            return int(float(value)) if value is not None else None
        except ValueError:
            return None

    @property
    def unix_start_time(self) -> int | None:
        """``UnixStartTime``: the epoch second that submit time 0 stands for."""
        return self.integer("UnixStartTime")


def _parse_header(comments: list[str]) -> SwfHeader:
    fields: dict[str, str] = {}
    queues: dict[str, str] = {}
    partitions: dict[str, str] = {}
    last: str | None = None
    for line in comments:
        m = _HEADER_LINE.match(line)
        if m is None:
            more = _CONTINUATION.match(line)
            if more is not None and last in fields:
                fields[last] += "\n" + more.group(1)
            else:
                last = None
            continue
        key, value = m.group(1), m.group(2)
        last = None
        if key in ("Queue", "Partition"):
            numbered = _NUMBERED.match(value)
            if numbered is not None and numbered.group(2):
                target = queues if key == "Queue" else partitions
                target.setdefault(numbered.group(1), numbered.group(2))
            continue
        if key == "Note" and key in fields:
            fields[key] += "\n" + value
            last = key
        elif key not in fields:
            fields[key] = value
            last = key
    return SwfHeader(fields, queues, partitions)


def read_swf_header(source: str | os.PathLike[str] | bytes | io.IOBase) -> SwfHeader:
    """Read the header comments of an SWF log.

    Parameters
    ----------
    source : str, path, bytes or file object
        As for :func:`read_swf` (compressed files too).

    Returns
    -------
    SwfHeader
        The ``; Key: value`` comments (``MaxJobs``, ``UnixStartTime``,
        ``TimeZoneString``, ``MaxProcs``, ``Queue``/``Partition`` names, ...).

    Examples
    --------
    >>> from fleetcarbon.io import read_swf_header
    >>> log = "; MaxJobs: 1\\n; UnixStartTime: 0\\n1 0 0 60 4 -1 -1 4 -1 -1 1 1 1 -1 1 1 -1 -1\\n"
    >>> read_swf_header(log).integer("MaxJobs")
    1
    """
    text = read_source(source, "read_swf_header").text
    comments = [line for line in text.splitlines() if line.lstrip().startswith(";")]
    return _parse_header(comments)


def read_swf(
    source: str | os.PathLike[str] | bytes | io.IOBase,
    *,
    cluster: ClusterConfig | Mapping[str, Any] | str | os.PathLike[str] | None = None,
    on_invalid: OnInvalid = "raise",
) -> pl.DataFrame:
    r"""Read a Standard Workload Format log into job records of the canonical schema.

    Parameters
    ----------
    source : str, path, bytes or file object
        A file path (``.swf``, or compressed: ``.swf.gz``, ``.zst``, ``.bz2``,
        ``.xz``, told by content), or the log text itself (a string holding a line
        break). The file is only read.
    cluster : ClusterConfig, dict or path to a TOML file, optional
        Where the machine is (``region``, ``datacenter``), its CPU (``cpu``: the
        ``cpu`` column; without it ``cpu`` is null, which
        :func:`fleetcarbon.estimate` reads as ``generic``) and its ``name`` (the
        ``cluster`` column); see :mod:`fleetcarbon.io.cluster`. SWF times are
        seconds from ``UnixStartTime``, an absolute instant, so the config's
        ``timezone`` is not used; SWF has no GPUs, so neither are its ``gres``,
        ``nodes``, ``partitions`` and ``accelerator`` entries.
    on_invalid : {"raise", "drop"}, default "raise"
        Malformed lines (not 18 fields, a field that is not a number, a count or
        identifier that is not a whole number, a negative value other than -1, an
        unknown status) raise :class:`~fleetcarbon.errors.InvalidValueError`
        naming the field, the number of bad lines and the first line numbers with
        their values, or are dropped with a
        :class:`~fleetcarbon.errors.DroppedRowsWarning` counting them.

    Returns
    -------
    pl.DataFrame
        One row per job, in file order, with the columns of :data:`OUTPUT_SCHEMA`:

        * ``job_id`` (the job number), ``submit``, ``start``, ``end`` (UTC):
          ``submit`` is ``UnixStartTime`` + submit time, ``start`` = submit + wait
          time, ``end`` = start + run time. Without ``UnixStartTime`` (models) all
          three are null; an unknown wait time makes ``start`` and ``end`` null
          (``submit`` stays).
        * ``duration_h``: the run time. A run time of 0 or -1 (unknown: the job
          never ran, or was cancelled) gives 0 h, so zero carbon, and the job is
          kept with its state.
        * ``cpu_cores``: allocated processors, else requested ones (null if
          neither is known); ``cpu`` from the cluster config.
        * ``memory_gb``: requested memory, else used memory, times ``cpu_cores``
          (SWF memory is kilobytes *per processor*, read as KiB, 1024 bytes;
          ``memory_gb`` is decimal GB). ``used_memory_gb`` and
          ``requested_memory_gb`` give both.
        * ``cpu_time_h``: average CPU time × ``cpu_cores`` (for
          ``cpu_attribution="used"``).
        * ``region``, ``datacenter`` from the cluster config.
        * ``status`` (the SWF code) and ``state``: ``COMPLETED`` (1, or 3 for the
          last part of a checkpointed job), ``FAILED`` (0, 4), ``CANCELLED`` (5),
          ``PARTIAL`` (2), null (-1, unknown).
        * ``user``, ``group``, ``executable``, ``queue``, ``partition``: the
          numbers as strings (null for -1); ``queue_name``, ``partition_name``
          from the header's ``Queue:`` and ``Partition:`` comments.
        * ``requested_cores``, ``requested_time_h``, ``preceding_job``,
          ``think_time_s``, and ``cluster`` (the config's ``name``).

    Raises
    ------
    SchemaError
        If ``source`` names no readable file, or is binary.
    InvalidValueError
        On malformed lines, with ``on_invalid="raise"``.
    ParameterError
        If ``on_invalid`` is neither "raise" nor "drop".
    fleetcarbon.io.cluster.ClusterConfigError
        On an invalid cluster config.

    Warns
    -----
    DroppedRowsWarning
        When malformed lines are dropped, or when a job number appears on more
        than one summary line (the last one is kept).

    Notes
    -----
    Checkpointed or swapped jobs (status 2, 3, 4) may take several lines with
    the same job number: a summary line (status 0, 1 or 5) for the whole job, and
    one line per partial execution. The partial lines are dropped where the job
    has a summary line; otherwise they are merged into one job: the earliest
    start, the latest end, the summed run and CPU times, the largest processor
    and memory counts, and the state of its last line.

    Read the header (``MaxJobs``, ``MaxProcs``, ``TimeZoneString``, ...) with
    :func:`read_swf_header`.

    Examples
    --------
    >>> import fleetcarbon as fc
    >>> from fleetcarbon.io import read_swf
    >>> log = "; UnixStartTime: 1740787200\n1 0 60 3600 16 3500 -1 16 7200 -1 1 3 1 -1 1 1 -1 -1\n"
    >>> jobs = read_swf(log, cluster={"region": "JP"})
    >>> jobs.select("job_id", "duration_h", "cpu_cores", "cpu_time_h", "state").row(0)
    (1, 1.0, 16, 15.555555555555555, 'COMPLETED')
    >>> str(jobs["start"][0])
    '2025-03-01 00:01:00+00:00'
    >>> fc.estimate(jobs)["total_kgco2e"][0] > 0
    True
    """
    on_invalid = check_on_invalid(on_invalid)
    config = load_cluster_config(cluster) if cluster is not None else ClusterConfig()
    text, name = read_source(source, _READER)
    lines = lines_frame(text)
    stripped = pl.col("__raw").str.strip_chars()
    is_comment = stripped.str.starts_with(";")
    header = _parse_header(lines.filter(is_comment)["__raw"].to_list())
    records = lines.filter(~is_comment & (stripped.str.len_bytes() > 0))
    if records.height == 0:
        if not lines.filter(is_comment).height and text.strip():
            raise SchemaError(f"{_READER}: {name} holds no SWF lines")
        return pl.DataFrame(schema=OUTPUT_SCHEMA)
    parsed, checks = _parse_lines(records)
    parsed = apply_checks(parsed, checks, on_invalid, _READER, name)
    parsed = _merge_partial_executions(parsed.drop([f"__f{i}" for i in range(_N_FIELDS)]))
    parsed = keep_last(parsed, "job", _READER, name, "a job number on more than one line")
    return _to_jobs(parsed, header, config)


def _parse_lines(records: pl.DataFrame) -> tuple[pl.DataFrame, list[Check]]:
    """Split each line into its 18 fields and flag the malformed ones."""
    fields = pl.col("__raw").str.extract_all(r"\S+")
    work = records.with_columns(fields.alias("__fields")).with_columns(
        (pl.col("__fields").list.len() != _N_FIELDS).alias("__bad_fields"),
        *[
            pl.col("__fields").list.get(i, null_on_oob=True).alias(f"__f{i}")
            for i in range(_N_FIELDS)
        ],
    )
    work = work.with_columns(
        pl.col(f"__f{i}").cast(pl.Float64, strict=False).alias(key)
        for i, (key, _) in enumerate(FIELDS)
    )
    checks = [
        Check(
            "__bad_fields",
            "line",
            None,
            f"not {_N_FIELDS} whitespace-separated fields (SWF lines hold 18 numbers; "
            "comments start with ';')",
        )
    ]
    flags = []
    for i, (key, label) in enumerate(FIELDS):
        number = pl.col(key)
        unknown = number == -1
        bad = pl.col(f"__f{i}").is_not_null() & (number.is_null() | ~number.is_finite())
        bad = bad | ((number < 0) & ~unknown)
        if key in _WHOLE:
            bad = bad | (number.round(0) != number)
        if key == "status":
            bad = bad | ~(number.is_in([-1.0, *map(float, STATES)]))
        if key == "job":
            bad = bad | unknown
        flags.append((bad.fill_null(False) & ~pl.col("__bad_fields")).alias(f"__bad_{key}"))
        what = "a whole number" if key in _WHOLE else "a number"
        problem = f"not {what} >= 0 or -1 (field {i + 1})"
        if key == "status":
            problem = "not an SWF status (-1, 0, 1, 2, 3, 4 or 5; field 11)"
        elif key == "job":
            problem = "not a job number (a whole number >= 0; field 1)"
        checks.append(Check(f"__bad_{key}", label, f"__f{i}", problem))
    unknown_to_null = [pl.when(pl.col(key) != -1).then(pl.col(key)).alias(key) for key, _ in FIELDS]
    work = work.with_columns(*flags).with_columns(unknown_to_null)
    return work.drop("__fields"), checks


def _merge_partial_executions(parsed: pl.DataFrame) -> pl.DataFrame:
    """Drop partial-execution lines of jobs with a summary line; merge the others per job."""
    partial = pl.col("status").is_in([float(s) for s in _PARTIAL]).fill_null(False)
    if not parsed.select(partial.any()).item():
        return parsed
    has_summary = (~partial).any().over("job")
    parsed = parsed.filter(~partial | ~has_summary)
    only_partial = parsed.filter(partial)
    if only_partial.height == 0:
        return parsed
    start = pl.col("submit") + pl.col("wait")
    merged = (
        only_partial.with_columns(start.alias("__start"), (start + pl.col("run")).alias("__end"))
        .group_by("job", maintain_order=True)
        .agg(
            pl.col("__line").first(),
            pl.col("__raw").first(),
            pl.col("submit").min(),
            (pl.col("__start").min() - pl.col("submit").min()).alias("wait"),
            pl.col("run").sum(),
            pl.col("procs", "req_procs", "used_mem", "req_mem").max(),
            pl.col("cpu_time").sum(),
            pl.col("req_time").max(),
            pl.col("status").last(),
            pl.col("user", "group", "executable", "queue", "partition").first(),
            pl.col("preceding", "think").first(),
        )
    )
    rest = parsed.filter(~partial)
    return pl.concat([rest, merged.select(rest.columns)]).sort("__line")


def _seconds(column: str) -> pl.Expr:
    return pl.duration(microseconds=(pl.col(column) * 1e6).round(0).cast(pl.Int64))


def _ids(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.Int64).cast(pl.String)


def _to_jobs(parsed: pl.DataFrame, header: SwfHeader, config: ClusterConfig) -> pl.DataFrame:
    """Build the output columns from the parsed fields."""
    epoch = header.unix_start_time
    if epoch is not None:
        origin = pl.lit(dt.datetime.fromtimestamp(epoch, dt.timezone.utc))
        submit = origin.cast(pl.Datetime("us", "UTC")) + _seconds("submit")
    else:
        submit = pl.lit(None, pl.Datetime("us", "UTC"))
    start = submit + _seconds("wait")
    end = start + _seconds("run")
    cores = pl.coalesce("procs", "req_procs")
    requested_cores = pl.coalesce("req_procs", "procs")
    queues, partitions = header.queues, header.partitions
    out = parsed.select(
        pl.col("job").cast(pl.Int64).alias("job_id"),
        submit.alias("submit"),
        start.alias("start"),
        end.alias("end"),
        (pl.col("run").fill_null(0.0) / 3600.0).alias("duration_h"),
        (pl.col("wait") / 3600.0).alias("wait_h"),
        pl.lit(config.cpu, pl.String).alias("cpu"),
        cores.cast(pl.Int64).alias("cpu_cores"),
        (pl.coalesce("req_mem", "used_mem") * cores * _KB_TO_GB).alias("memory_gb"),
        (pl.col("cpu_time") * cores / 3600.0).alias("cpu_time_h"),
        pl.lit(config.region, pl.String).alias("region"),
        pl.lit(config.datacenter, pl.String).alias("datacenter"),
        (pl.col("used_mem") * cores * _KB_TO_GB).alias("used_memory_gb"),
        pl.col("req_procs").cast(pl.Int64).alias("requested_cores"),
        (pl.col("req_time") / 3600.0).alias("requested_time_h"),
        (pl.col("req_mem") * requested_cores * _KB_TO_GB).alias("requested_memory_gb"),
        pl.col("status").cast(pl.Int64).alias("status"),
        pl.col("status")
        .cast(pl.Int64)
        .replace_strict(STATES, default=None, return_dtype=pl.String)
        .alias("state"),
        _ids("user").alias("user"),
        _ids("group").alias("group"),
        _ids("executable").alias("executable"),
        _ids("queue").alias("queue"),
        _ids("queue")
        .replace_strict(queues, default=None, return_dtype=pl.String)
        .alias("queue_name")
        if queues
        else pl.lit(None, pl.String).alias("queue_name"),
        _ids("partition").alias("partition"),
        _ids("partition")
        .replace_strict(partitions, default=None, return_dtype=pl.String)
        .alias("partition_name")
        if partitions
        else pl.lit(None, pl.String).alias("partition_name"),
        pl.col("preceding").cast(pl.Int64).alias("preceding_job"),
        pl.col("think").alias("think_time_s"),
        pl.lit(config.name, pl.String).alias("cluster"),
    )
    return out.cast(OUTPUT_SCHEMA)  # type: ignore[arg-type]
