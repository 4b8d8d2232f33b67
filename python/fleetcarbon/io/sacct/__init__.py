r"""Read Slurm ``sacct --parsable2`` output into job records of the canonical schema.

Typical use::

    sacct --allusers --parsable2 --starttime 2024-01-01 \\
        --format=JobID,JobName,User,Account,Partition,State,ElapsedRaw,Start,End,\\
    NCPUS,NNodes,ReqMem,AllocTRES,ReqTRES,ConsumedEnergyRaw,TotalCPU,MaxRSS,NodeList,\\
    Cluster > jobs.txt

    >>> import fleetcarbon
    >>> from fleetcarbon.io import read_sacct
    >>> cluster = {"region": "US", "timezone": "America/Chicago"}
    >>> jobs = read_sacct("jobs.txt", cluster=cluster)  # doctest: +SKIP
    >>> fleetcarbon.estimate(jobs)  # doctest: +SKIP

Rules (also in the docstring of :func:`read_sacct`):

* **Lines** break at ``\n``, ``\r\n`` or ``\r``; blank lines are skipped. With
  ``--parsable`` (not ``--parsable2``) every line, the header included, ends with
  a delimiter: that trailing empty field is removed. Without a header, lines are
  read as ``--parsable`` when more of them hold one extra, empty, field than hold
  exactly the fields given.
* **A delimiter inside a value.** sacct does not escape its delimiter, so a ``|``
  in a job name adds a field. A line with more fields than the header is
  repaired when exactly one free-text field (``JobName``, ``Comment``,
  ``AdminComment``, ``SystemComment``, ``WorkDir``, ``SubmitLine``,
  ``Constraints``, ``Reason``, ``Extra``, ``Container``, ``StdOut``, ``StdErr``,
  ``StdIn``, ``WCKey``, ``Licenses``, ``MCSLabel``) is in the input: the extra
  fields are rejoined into it, with one :class:`RepairedLinesWarning` counting
  the lines. Otherwise the line is malformed (refused, or dropped with
  ``on_invalid="drop"``). Fields are never shifted.
* **Steps** (``123.batch``, ``123.extern``, ``123.0``, ``123_4.0``) merge into
  their allocation (``123``); the allocation row's fields win. ``energy_kwh``
  is the allocation's ``ConsumedEnergyRaw`` when it is present and non-zero,
  else the sum over its steps; ``cpu_time_h`` the allocation's ``TotalCPU``
  (which sums its steps') when present, else the sum over its steps;
  ``max_rss_gb`` the largest ``MaxRSS`` of the allocation and its steps
  (MaxRSS is per task). Steps whose allocation row is absent form one
  job: earliest start, latest end, longest elapsed, largest CPU/memory/GPU
  counts and MaxRSS, summed energy and CPU time, other fields from the first step.
* **Records printed twice** under the same JobID (``sacct --duplicates``,
  requeued jobs): the last one is kept, and a :class:`DroppedRowsWarning`
  counts the superseded ones.
* **Counts** (``NCPUS``, ``AllocCPUS``, ``ReqCPUS``, ``NNodes``/``AllocNodes``,
  ``ElapsedRaw``, and the ``gres/gpu`` and ``cpu=`` entries of ``AllocTRES`` and
  ``ReqTRES``) are ASCII digits, at most 2**53 - 1 (exact as float64); a sign,
  fraction, other text, or a larger value (summed typed GPU entries included)
  is malformed, never wrapped or read as 0. A TRES entry without ``=``, or a
  ``mem=`` entry that is not a size, is malformed too.
* **CPUs** (``cpu_cores``): ``NCPUS``, else ``AllocCPUS``, else the ``cpu=`` entry
  of ``AllocTRES``, else that of ``ReqTRES``, else ``ReqCPUS`` (the first one a
  line gives); null with none of them.
* **Elapsed** and **TotalCPU** follow Slurm's time formats: ``days-hours``,
  ``days-hours:minutes``, ``days-hours:minutes:seconds``, ``hours:minutes:seconds``,
  ``minutes:seconds`` and ``minutes`` (``2-05:30`` is 2 days 5 h 30 min; ``90`` is
  90 minutes). The leading unit may be of any size; hours after a day count must
  be below 24, minutes and seconds after a larger unit below 60. Seconds may
  have a fraction (``00:15.057``, ``12:34.567``). ``TotalCPU`` (CPU time used,
  all cores) becomes ``cpu_time_h``; 0 is kept (sacct's "not logged" on
  clusters without accounting of it, which the engine's
  ``cpu_attribution="used"`` reads as such).
* **Times** are the local wall-clock times sacct prints, in the cluster config's
  ``timezone`` (UTC without one), returned in UTC. A time printed with a UTC
  offset (``2025-05-02T14:09:52+02:00``, ``+0200`` as ``SLURM_TIME_FORMAT=%FT%T%z``
  prints it, ``+02``, or ``Z``; at most ``±23:59``) is the instant it names: the
  time zone does not apply to it, and it is never ambiguous. Around DST changes
  a wall-clock time can
  be ambiguous (autumn) or non-existent (spring gap). ``ElapsedRaw`` (else
  ``Elapsed``) gives the duration whenever present, and ``Start``/``End`` are
  resolved to agree with it: of the two readings of each (the offset before or
  after the change) the pair whose difference is closest to the elapsed time
  is taken. Without an elapsed time, an ambiguous time is read as the earlier
  instant and a non-existent one shifted forward by the gap (as :mod:`zoneinfo`
  does with ``fold=0``), unless that puts End before Start, when the pair with
  the shortest non-negative duration is taken. Such times are never null, and
  the lines holding them are counted in one :class:`AmbiguousTimeWarning`.
* **Jobs that never started** are the ones whose ``Start`` is ``Unknown``,
  ``None`` (or another of sacct's "unknown" words), whose state is ``PENDING``,
  or that were allocated nothing (``NNodes`` or ``NCPUS`` 0), and whose elapsed
  time is 0 or unknown (a positive elapsed time says the job ran). They are
  kept, with ``started`` False and their ``state``: ``duration_h`` 0,
  ``accelerator_count`` 0 (no accelerator key), ``energy_kwh`` null (no
  reading), their requested CPUs and memory as given: :func:`fleetcarbon.estimate`
  accepts every one, with zero carbon (zero hours), whatever their requested GPUs. Other
  jobs have ``started`` True.
* **Memory** units are Slurm's binary ones by default (``memory_units="binary"``:
  ``K`` = 1024 bytes, ``M`` = 1024², ``G`` = 1024³, ``T`` = 1024⁴); with
  ``memory_units="decimal"`` they are decimal (``K`` = 10³ bytes, ``M`` = 10⁶,
  ``G`` = 10⁹, as GreenAlgorithms4HPC reads them: 6760M is 6.76 GB). Either
  applies to ``ReqMem``, the TRES ``mem=`` entries and ``MaxRSS``. No unit means
  ``M`` in ``ReqMem`` and ``mem=``, and bytes in ``MaxRSS`` (sacct converts it
  from bytes). ``memory_gb`` and ``max_rss_gb`` are in
  decimal GB (10⁹ bytes), so ``1024M`` is 1.074 GB (binary). ``ReqMem`` ending in ``c``
  is per CPU (× the CPU count above; with none, memory is
  null and a warning counts the lines), in ``n`` per node (× ``NNodes``); without
  a suffix (Slurm ≥ 21.08) it is the job's total. Without ``ReqMem``, the
  ``mem=`` entry of ``AllocTRES`` (else ``ReqTRES``), a job total, is used.
* **Energy**: ``ConsumedEnergyRaw`` in joules; 0, blank and Slurm's NO_VAL
  (≥ 2**63) mean "not metered"; negative, ``inf`` and ``nan`` are malformed.
* **GPUs** come from the ``gres/gpu`` entries of ``AllocTRES`` (else ``ReqTRES``):
  an untyped ``gres/gpu=N`` entry is the total, else the typed ones are summed.
  Their type and, for jobs without any gres entry, their count come from the
  cluster config as :mod:`fleetcarbon.io.cluster` defines: the ``gres`` map,
  then the ``nodes`` and ``partitions`` maps (which can also count GPUs with
  ``gpus_per_node``: an :class:`InferredGpusWarning` counts those jobs; a
  :class:`MissingGresWarning` counts jobs without gres on nodes or partitions
  mapped to a type only), ``gres.default`` for untyped entries, the
  ``accelerator`` default, then ``gpu_mix``. GPU jobs left without a type are
  counted in an :class:`UnmappedAcceleratorWarning`.
* **MIG profiles** (``gres/gpu:a100_1g.10gb=1``, ``3g.40gb``) are shares of a GPU:
  ``accelerator`` is the parent GPU's key and ``accelerator_count`` the count
  times the profile's compute slices over the GPU's (1g = 1/7 on an A100 or
  H100, 3g = 3/7, 7g = 1; 1/4 per slice on an A30), for energy and embodied
  carbon alike; see :mod:`fleetcarbon.io.sacct.mig` for the parent keys.
  ``accelerator_count`` is therefore a Float64 (also for ``gpus_per_node`` shares).
* **A known GPU mix** (``gpu_mix`` in the cluster config): a GPU job that nothing
  else types gets the mix's key, ``mix:KEY=WEIGHT,...`` with the keys resolved in
  the accelerators table (``factors=``, the bundled tables by default); see
  :mod:`fleetcarbon.factors.mixes`. :func:`fleetcarbon.estimate` charges such a
  job the weighted mean of its footprint on each type (exact, as the footprint is
  linear in the row's power and embodied carbon); :func:`fleetcarbon.simulate`
  draws the mix in each draw as the weighted mean of its types' draws, shared with
  every job that names them. Which type each job ran on is not drawn: that
  spread averages out over a fleet's many jobs (docs/uncertainty.md). A mix of
  one key types the jobs with that key.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from fleetcarbon.errors import SchemaError
from fleetcarbon.factors import Factors
from fleetcarbon.io.cluster import ClusterConfig, load_cluster_config
from fleetcarbon.io.sacct.accelerators import (
    InferredGpusWarning,
    MissingGresWarning,
    UnmappedAcceleratorWarning,
    gpu_mix_key,
    resolve_accelerators,
)
from fleetcarbon.io.sacct.layout import detect_layout, locate_fields
from fleetcarbon.io.sacct.mig import MigProfile, parse_mig
from fleetcarbon.io.sacct.parsers import (
    MAX_COUNT,
    MemoryUnits,
    check_memory_units,
    gpu_count_from_tres,
)
from fleetcarbon.io.sacct.rows import (
    OnInvalid,
    RepairedLinesWarning,
    apply_checks,
    parse_rows,
    split_fields,
)
from fleetcarbon.io.sacct.source import SacctSourceError, read_text
from fleetcarbon.io.sacct.steps import expand_array_tasks, merge_steps
from fleetcarbon.io.sacct.times import AmbiguousTimeWarning
from fleetcarbon.parameters import check_on_invalid

__all__ = [
    "MAX_COUNT",
    "OUTPUT_SCHEMA",
    "AmbiguousTimeWarning",
    "InferredGpusWarning",
    "MemoryUnits",
    "MigProfile",
    "MissingGresWarning",
    "RepairedLinesWarning",
    "SacctSourceError",
    "UnmappedAcceleratorWarning",
    "expand_array_tasks",
    "gpu_count_from_tres",
    "parse_mig",
    "read_sacct",
]

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
#: First line numbers shown in warnings.
_N_SHOWN = 5

#: Output columns, in order.
OUTPUT_SCHEMA: dict[str, pl.DataType] = {
    "job_id": pl.String(),
    "start": pl.Datetime("us", "UTC"),
    "end": pl.Datetime("us", "UTC"),
    "duration_h": pl.Float64(),
    "accelerator": pl.String(),
    "accelerator_count": pl.Float64(),
    "cpu": pl.String(),
    "cpu_cores": pl.Int64(),
    "memory_gb": pl.Float64(),
    "energy_kwh": pl.Float64(),
    "cpu_time_h": pl.Float64(),
    "max_rss_gb": pl.Float64(),
    "region": pl.String(),
    "datacenter": pl.String(),
    "user": pl.String(),
    "account": pl.String(),
    "partition": pl.String(),
    "state": pl.String(),
    "state_raw": pl.String(),
    "started": pl.Boolean(),
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
    memory_units: MemoryUnits = "binary",
    factors: Factors | None = None,
) -> pl.DataFrame:
    r"""Read ``sacct --parsable2`` output into job records of the canonical schema.

    Parameters
    ----------
    source : str, path, bytes or file object
        A file path, or the sacct text itself (a string holding a newline, the
        delimiter, or ``|``). The file is only read. Lines may end with ``\n``,
        ``\r\n`` or ``\r``.
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
        memory, TRES or energy) raise :class:`~fleetcarbon.errors.InvalidValueError`
        naming the field (as spelt in the input), the count and the first line
        numbers with their values, or are dropped with a
        :class:`~fleetcarbon.errors.DroppedRowsWarning` counting them.
    memory_units : {"binary", "decimal"}, default "binary"
        How the unit letters of ``ReqMem``, the TRES ``mem=`` entries and ``MaxRSS``
        are read: Slurm's binary units (``6760M`` is 6760 × 2**20 bytes, 7.09 GB), or
        decimal ones (``6760M`` is 6.76 GB), as GreenAlgorithms4HPC reads them.
    factors : Factors, optional
        The tables in which the cluster config's ``gpu_mix`` keys are looked up
        (the bundled ones by default); unused without a ``gpu_mix``.

    Returns
    -------
    pl.DataFrame
        One row per allocation (job, array task, het-job component), in input order:
        ``job_id`` (the sacct JobID string), ``start``/``end`` (UTC, null where sacct
        says Unknown/None), ``duration_h`` (from ``ElapsedRaw``, else ``Elapsed``,
        else end − start; running jobs have their elapsed time so far; 0 for jobs
        that never started), ``accelerator``, ``accelerator_count`` (Float64: MIG
        profiles are fractions of a GPU), ``cpu``, ``cpu_cores`` (``NCPUS``, else
        ``AllocCPUS``, TRES ``cpu=``, ``ReqCPUS``), ``memory_gb``, ``energy_kwh``
        (``ConsumedEnergyRaw`` / 3.6e6 when present and non-zero; null for jobs
        that never started), ``cpu_time_h`` (``TotalCPU``), ``max_rss_gb`` (``MaxRSS``,
        the largest of the job's steps), ``region``, ``datacenter``, then ``user``,
        ``account``, ``partition``, ``state`` (first word of the sacct state, e.g.
        ``CANCELLED``), ``state_raw``, ``started`` (False for jobs that never
        started), ``job_name``, ``array_job_id``, ``array_task`` (``"4"`` or
        ``"[1-3]"``; see :func:`expand_array_tasks`), ``nodes`` and ``cluster``.
        Pending and running jobs are kept: filter on ``state`` or ``started`` as
        needed.

    Raises
    ------
    SacctSourceError
        If ``source`` is neither a readable file nor sacct text.
    SchemaError
        On fixed-width (non ``--parsable2``) output, a missing header without
        ``fields``, an invalid ``delimiter`` or ``fields``, or an undetectable delimiter.
    MissingColumnError
        Without a JobID field, or with no duration field (ElapsedRaw, Elapsed, or
        Start and End).
    InvalidValueError
        On malformed lines when ``on_invalid="raise"``.
    ParameterError
        If ``on_invalid`` is neither "raise" nor "drop", or ``memory_units`` neither
        "binary" nor "decimal".
    ClusterConfigError
        On an invalid cluster config, or ``gpu_mix`` keys unknown to the
        accelerators table.

    Warns
    -----
    UnmappedAcceleratorWarning
        When GPU jobs have no accelerator key (no typed gres, and no node,
        partition, ``gres.default``, default or ``gpu_mix`` mapping in the cluster
        config; or a MIG profile whose parent GPU nothing names). ``estimate``
        rejects those jobs until their GPUs are mapped.
    InferredGpusWarning
        When jobs without a gres entry in their TRES were given GPUs from a
        ``nodes``/``partitions`` entry's ``gpus_per_node``; it counts them.
    MissingGresWarning
        When jobs without a gres entry in their TRES run on nodes or partitions
        that the config maps to a GPU type only (no ``gpus_per_node``): they are
        read as CPU-only jobs; it counts them.
    DroppedRowsWarning
        When malformed lines are dropped, or duplicated JobIDs superseded.
    RepairedLinesWarning
        When lines with a delimiter inside their one free-text field (e.g. a ``|``
        in JobName) were repaired; it counts them and gives the first line numbers.
    AmbiguousTimeWarning
        When Start/End times were ambiguous or non-existent in the time zone (DST
        changes) and were resolved by the rules below; it counts the lines.
    UserWarning
        When per-CPU ``ReqMem`` (``c`` suffix) has no CPU count on its line, so
        that its memory is null.

    Notes
    -----
    * Steps (``123.batch``, ``123.extern``, ``123.0``) merge into their allocation,
      whose fields win; ``energy_kwh`` falls back to the sum of the steps'
      ``ConsumedEnergyRaw``.
    * GPUs come from ``AllocTRES``, else ``ReqTRES``: ``gres/gpu=N`` or
      ``gres/gpu:TYPE=N`` (``gres/gpumem`` is ignored); without either, from the
      config's ``gpus_per_node``. MIG types (``a100_1g.10gb``) count as their
      share of the parent GPU (1/7 per slice on an A100 or H100).
    * Times with a UTC offset (``+02:00``, ``+0200``, ``Z``) are the instants they
      name; other times are wall-clock times in the config's time zone.
    * Jobs that never started (Start ``Unknown``/``None``, state ``PENDING``, or
      nothing allocated, with no elapsed time) have ``started`` False, zero
      duration, zero accelerators and no energy reading: zero carbon (modelled at
      zero hours), never an error.
    * Counts (``NCPUS``, ``ReqCPUS``, ``NNodes``, ``ElapsedRaw``, TRES ``cpu=`` and
      GPU entries) are whole numbers from 0 to :data:`MAX_COUNT` (2**53 - 1);
      anything else is malformed.
    * ``Elapsed`` is read by Slurm's rules (``days-hours[:minutes[:seconds]]``,
      ``hours:minutes:seconds``, ``minutes[:seconds]``): ``2-05:30`` is 2 days
      5 h 30 min. Minutes and seconds after a larger unit must be below 60.
    * A line with more fields than the header is repaired only when exactly one
      free-text field (JobName, Comment, WorkDir, SubmitLine, Constraints, ...)
      can absorb the extra delimiters; otherwise it is malformed.
    * Times are local wall-clock times in the config's time zone. An ambiguous
      (DST fall-back) or non-existent (spring-forward gap) Start/End is resolved
      to agree with ``ElapsedRaw``/``Elapsed`` when given; without it, as the
      earlier instant (ambiguous) or shifted forward by the gap (non-existent),
      unless that makes End precede Start. Such times are never null.
    * Memory follows Slurm's binary units (or decimal ones with
      ``memory_units="decimal"``) and is reported in decimal GB;
      ``ConsumedEnergyRaw`` of ``inf`` or ``nan`` is malformed.
    * A ``gpu_mix`` types the GPU jobs nothing else types with its mix key
      (``mix:KEY=WEIGHT,...``, :mod:`fleetcarbon.factors.mixes`).

    See the module docstring for every rule.
    """
    on_invalid = check_on_invalid(on_invalid)
    memory_units = check_memory_units(memory_units)
    if delimiter is not None and (not isinstance(delimiter, str) or delimiter == ""):
        raise SchemaError(f"delimiter must be a non-empty string, got {delimiter!r}")
    config = load_cluster_config(cluster) if cluster is not None else ClusterConfig()
    mix = None
    if config.gpu_mix:
        from fleetcarbon.factors import resolve_factors

        mix = gpu_mix_key(config, resolve_factors(factors))
    schema = OUTPUT_SCHEMA
    text = read_text(source, delimiter)
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = pl.DataFrame({"__raw": _LINE_BREAK.split(text)}, schema={"__raw": pl.String})
    lines = lines.with_row_index("__line", offset=1)
    lines = lines.filter(pl.col("__raw").str.strip_chars().str.len_bytes() > 0)
    if lines.height == 0:
        if fields is None:
            raise SchemaError("the sacct input is empty (no header line)")
        return pl.DataFrame(schema=schema)
    head = lines["__raw"].head(25).to_list()
    layout = detect_layout(head, delimiter, fields)
    names, delim = layout.names, layout.delimiter
    if layout.has_header:
        lines = lines.slice(1)
    index, used = locate_fields(names)
    trailing = layout.trailing
    if trailing is None:
        trailing = _parsable_lines(lines, delim, len(names))
    split = split_fields(lines, delim, names, index, trailing)
    if split.repaired:
        n_rep, field = len(split.repaired), split.free_text[0]
        warnings.warn(
            f"read_sacct repaired {n_rep} line{'s' if n_rep != 1 else ''} with more than "
            f"{len(names)} fields: a {delim!r} inside {field} had split "
            f"{'them' if n_rep != 1 else 'it'}, so the extra fields were rejoined into "
            f"{field}; first: {_lines(split.repaired)}",
            RepairedLinesWarning,
            stacklevel=2,
        )
    parsed, checks = parse_rows(split.frame, config, memory_units)
    # A line with the wrong field count is reported for that alone, not per shifted field.
    parsed = parsed.with_columns(
        pl.col(c.flag) & ~pl.col("__bad_fields") for c in checks if c.flag != "__bad_fields"
    )
    parsed = apply_checks(
        parsed, checks, on_invalid, used, _field_count_hint(len(names), delim, split.free_text)
    )
    n_dst = parsed["__dst"].sum()
    if n_dst:
        first = parsed.filter(pl.col("__dst"))["__line"].head(_N_SHOWN).to_list()
        warnings.warn(
            f"{n_dst} line{'s' if n_dst != 1 else ''} of the sacct input "
            f"ha{'ve' if n_dst != 1 else 's'} a Start or End time that is ambiguous (DST "
            f"fall-back) or does not exist (DST spring-forward gap) in {config.timezone}; "
            "resolved to agree with ElapsedRaw/Elapsed where given, else as the earlier "
            "instant or shifted forward by the gap (a non-existent time suggests the cluster "
            f"config's timezone is not the one sacct printed in); first: {_lines(first)}",
            AmbiguousTimeWarning,
            stacklevel=2,
        )
    n_no_cpus = parsed["__mem_no_cpus"].sum()
    if n_no_cpus:
        first = parsed.filter(pl.col("__mem_no_cpus"))["__line"].head(_N_SHOWN).to_list()
        warnings.warn(
            f"{n_no_cpus} line{'s' if n_no_cpus != 1 else ''} of the sacct input "
            f"ha{'ve' if n_no_cpus != 1 else 's'} a per-CPU ReqMem (ending in 'c') but no CPU "
            "count (NCPUS, AllocCPUS, a cpu= TRES entry or ReqCPUS), so "
            f"{'their' if n_no_cpus != 1 else 'its'} memory_gb is null: add NCPUS to --format; "
            f"first: {_lines(first)}",
            UserWarning,
            stacklevel=2,
        )
    jobs = merge_steps(parsed)
    jobs = resolve_accelerators(jobs, config, mix)
    _warn_gpus(jobs)
    state = pl.col("state").str.strip_chars()
    never = pl.col("__never")
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
        pl.when(never).then(0.0).otherwise(duration).alias("duration_h"),
        pl.col("accelerator"),
        pl.col("__count").alias("accelerator_count"),
        pl.lit(config.cpu, pl.String).alias("cpu"),
        pl.col("__ncpus").alias("cpu_cores"),
        pl.col("__memory_gb").alias("memory_gb"),
        # A job that never started has no reading (sacct prints 0 or nothing): not metered.
        pl.when(never).then(None).otherwise(pl.col("__energy_j") / 3.6e6).alias("energy_kwh"),
        (pl.col("__cpu_time_s") / 3600.0).alias("cpu_time_h"),
        (pl.col("__max_rss_bytes") / 1e9).alias("max_rss_gb"),
        pl.lit(config.region, pl.String).alias("region"),
        pl.lit(config.datacenter, pl.String).alias("datacenter"),
        pl.col("user"),
        pl.col("account"),
        pl.col("partition"),
        state.str.extract(r"^([A-Za-z_]+)", 1).str.to_uppercase().alias("state"),
        state.alias("state_raw"),
        (~never).alias("started"),
        pl.col("jobname").alias("job_name"),
        pl.when(pl.col("__task").is_not_null()).then(pl.col("__base")).alias("array_job_id"),
        pl.col("__task").alias("array_task"),
        pl.col("nodelist").alias("nodes"),
        cluster_col.alias("cluster"),
    )
    return out.cast(schema)  # type: ignore[arg-type]


def _warn_gpus(jobs: pl.DataFrame) -> None:
    """Warn once each about unmapped GPU jobs, GPUs counted from the config, jobs without gres."""
    unmapped = (pl.col("__count") > 0) & pl.col("accelerator").is_null()
    n_unmapped, n_inferred, n_no_gres = jobs.select(
        unmapped.sum(), pl.col("__inferred").sum(), pl.col("__no_gres").sum()
    ).row(0)
    if n_unmapped:
        warnings.warn(
            f"{n_unmapped} GPU job{'s' if n_unmapped != 1 else ''} "
            f"ha{'ve' if n_unmapped != 1 else 's'} no accelerator type (untyped gres/gpu=N, or "
            "a MIG profile or gpus_per_node count with no parent GPU, and no match in the "
            "cluster config): map them with the config's 'gres' (its 'default' entry for "
            "untyped gres), 'nodes' or 'partitions' tables, its 'accelerator' default or a "
            f"'gpu_mix', or fleetcarbon.estimate() will reject them; first: "
            f"{_jobs(jobs, unmapped)}",
            UnmappedAcceleratorWarning,
            stacklevel=3,
        )
    if n_inferred:
        warnings.warn(
            f"{n_inferred} job{'s' if n_inferred != 1 else ''} with no gres/gpu entry in "
            f"AllocTRES/ReqTRES {'were' if n_inferred != 1 else 'was'} given GPUs from the "
            "cluster config's gpus_per_node (its 'nodes' or 'partitions' entry); first: "
            f"{_jobs(jobs, pl.col('__inferred'))}",
            InferredGpusWarning,
            stacklevel=3,
        )
    if n_no_gres:
        warnings.warn(
            f"{n_no_gres} job{'s' if n_no_gres != 1 else ''} on partitions or nodes that the "
            "cluster config maps to a GPU type ha"
            f"{'ve' if n_no_gres != 1 else 's'} no gres/gpu entry in AllocTRES/ReqTRES (or no "
            "TRES field), so "
            f"{'they are' if n_no_gres != 1 else 'it is'} read as CPU-only: if the cluster "
            "does not account gres/gpu, give the entry a GPU count, e.g. partitions = "
            '{gpu = {accelerator = "...", gpus_per_node = 4}} (gpus_per_node = 0 says '
            f"such jobs use no GPU); first: {_jobs(jobs, pl.col('__no_gres'))}",
            MissingGresWarning,
            stacklevel=3,
        )


def _jobs(jobs: pl.DataFrame, mask: pl.Expr) -> str:
    shown = jobs.filter(mask)["jobid"].str.strip_chars().head(_N_SHOWN + 1).to_list()
    return ", ".join(map(str, shown[:_N_SHOWN])) + (", ..." if len(shown) > _N_SHOWN else "")


def _parsable_lines(lines: pl.DataFrame, delim: str, n: int) -> bool:
    """Whether header-less lines are ``--parsable`` output (each ends with a delimiter).

    True when more lines hold ``n + 1`` fields, the last one empty, than hold ``n``.
    """
    parts = pl.col("__raw").str.split(delim)
    size = parts.list.len()
    ends_empty = parts.list.last().str.strip_chars() == ""
    with_trailing, plain = lines.select(
        ((size == n + 1) & ends_empty).sum().alias("trailing"),
        (size == n).sum().alias("plain"),
    ).row(0)
    return bool(with_trailing > plain)


def _field_count_hint(n: int, delim: str, free_text: list[str]) -> str:
    """Explain, for lines with the wrong field count, why they could not be repaired."""
    if not free_text:
        why = (
            f"a {delim!r} inside a value is repaired only when the input has one free-text "
            "field (JobName, Comment, WorkDir, ...), and it has none"
        )
    elif len(free_text) > 1:
        why = (
            f"the extra {delim!r} could belong to any of the free-text fields "
            f"{', '.join(free_text)}"
        )
    else:
        why = "lines with too few fields cannot be repaired"
    return f" (expected {n}; {why})"


def _lines(numbers: list[int]) -> str:
    shown = ", ".join(map(str, numbers[:_N_SHOWN]))
    return f"line{'s' if len(numbers) != 1 else ''} {shown}" + (
        ", ..." if len(numbers) > _N_SHOWN else ""
    )
