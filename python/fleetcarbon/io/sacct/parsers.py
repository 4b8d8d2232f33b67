"""Parse sacct field values: JobIDs, elapsed and CPU times, times, counts, sizes, TRES, energy.

Each parser is a Polars expression over one string column; most return the
value and a "bad" mask (non-blank, not one of sacct's "unknown" words, yet
unparsable or out of range), so that a malformed line is reported instead of
silently read as null.

Counts (``NCPUS``, ``NNodes``, ``ReqCPUS``, ``ElapsedRaw``, the ``cpu=`` and
``gres/gpu`` entries of a TRES string) are ASCII digits only, at most
:data:`MAX_COUNT` (2**53 - 1, so that every count is exact as a float64); a
larger value, a sign, a fraction or any other text is malformed.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from fleetcarbon.errors import InvalidValueError, ParameterError

__all__ = [
    "ELAPSED_RE",
    "JOBID_RE",
    "MAX_COUNT",
    "MEM_RE",
    "SIZE_RE",
    "TIME_FORMAT",
    "UNKNOWN",
    "MemoryUnits",
    "blank_to_null",
    "check_memory_units",
    "count",
    "elapsed_seconds",
    "energy_joules",
    "gpu_count_from_tres",
    "int_field",
    "local_time_field",
    "offset_time_groups",
    "reqmem_bytes",
    "size_bytes",
    "time_bad",
    "time_field",
    "tres_fields",
    "tres_table",
]

#: How sizes (``ReqMem``, TRES ``mem=``, ``MaxRSS``) read their unit letters.
MemoryUnits = Literal["binary", "decimal"]

JOBID_RE = (
    r"^(?<alloc>(?<base>[0-9]+)(?:_(?<task>[0-9]+|\[[0-9,\-%]*\]))?(?:\+(?<het>[0-9]+))?)"
    r"(?:\.(?<step>[A-Za-z0-9_\-]+))?$"
)
#: Slurm's time formats (``time_str2secs``): ``days-hours[:minutes[:seconds]]``,
#: ``hours:minutes:seconds``, ``minutes[:seconds]``. Seconds may carry a fraction
#: (``MM:SS.mmm``, as sacct prints CPU times).
ELAPSED_RE = (
    r"^(?:(?<d>[0-9]+)-(?<dh>[0-9]+)(?::(?<dm>[0-9]+)(?::(?<ds>[0-9]+(?:\.[0-9]+)?))?)?"
    r"|(?<h>[0-9]+):(?<hm>[0-9]+):(?<hs>[0-9]+(?:\.[0-9]+)?)"
    r"|(?<m>[0-9]+)(?::(?<ms>[0-9]+(?:\.[0-9]+)?))?)$"
)
#: A size with an optional binary unit and an optional per-CPU (c) / per-node (n) suffix.
MEM_RE = r"^(?<v>[0-9]+(?:\.[0-9]*)?)(?<u>[KMGTP]?)(?<per>[cn]?)$"
#: A size with an optional unit (``MaxRSS``: ``231092K``, ``1.5G``; no unit means bytes).
SIZE_RE = r"^(?<v>[0-9]+(?:\.[0-9]*)?)(?<u>[KMGTP]?)$"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
#: A time with a UTC offset (``SLURM_TIME_FORMAT=%FT%T%z`` prints ``+0200``; ISO 8601
#: ``+02:00``, ``+02`` and ``Z`` are read too). Offsets are at most 23:59.
_OFFSET_TIME_RE = (
    r"^(?<t>[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})"
    r"(?:(?<z>[Zz])|(?<sign>[+-])(?<oh>[01][0-9]|2[0-3])(?::?(?<om>[0-5][0-9]))?)$"
)
#: Values sacct prints for an unknown time, elapsed or count.
UNKNOWN = ["", "Unknown", "None", "N/A", "INVALID"]
#: The largest count read: 2**53 - 1, the largest integer below which every integer is
#: exact as a float64 (and far beyond any real CPU, GPU, node or second count).
MAX_COUNT = 2**53 - 1
#: Slurm's units are binary (``"binary"``, the default); GreenAlgorithms4HPC reads them
#: as decimal (``"decimal"``: 6760M is 6.76 GB). No unit means MiB (or MB) in ReqMem and
#: TRES ``mem=``, and bytes in MaxRSS (which sacct converts from bytes).
_UNIT_BYTES: dict[str, dict[str, float]] = {
    "binary": {"": 2.0**20, "K": 2.0**10, "M": 2.0**20, "G": 2.0**30, "T": 2.0**40, "P": 2.0**50},
    "decimal": {"": 1e6, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15},
}
_RSS_UNIT_BYTES: dict[str, dict[str, float]] = {
    units: {**table, "": 1.0} for units, table in _UNIT_BYTES.items()
}
#: Slurm's NO_VAL64 and friends: energy values at or above this are "not measured".
_ENERGY_NO_VAL = 2.0**63
#: A GPU entry of a TRES string: ``gres/gpu=N`` or ``gres/gpu:TYPE=N``.
_GPU_ENTRY = r"^gres/gpu(?::[^=]+)?=([0-9]+)$"


def blank_to_null(e: pl.Expr) -> pl.Expr:
    """Return ``e`` with empty strings replaced by null."""
    return pl.when(e.str.len_bytes() == 0).then(None).otherwise(e)


def count(raw: pl.Expr) -> pl.Expr:
    """Return the value of a count (ASCII digits, at most :data:`MAX_COUNT`), else null.

    Parameters
    ----------
    raw : pl.Expr
        A string expression (a column, or ``pl.element()`` in a list), already stripped.

    Returns
    -------
    pl.Expr
        Int64: the count, or null when ``raw`` is not one.
    """
    # Polars reads an optional sign and ASCII digits (null on overflow): refuse the sign.
    value = raw.cast(pl.Int64, strict=False)
    signed = raw.str.starts_with("+") | raw.str.starts_with("-")
    return pl.when((value >= 0) & (value <= MAX_COUNT) & ~signed).then(value)


def int_field(name: str) -> tuple[pl.Expr, pl.Expr]:
    """Parse a count (``NCPUS``, ``NNodes``, ``ElapsedRaw``): value and bad mask.

    A count is ASCII digits, at most :data:`MAX_COUNT`; anything else that is
    not blank or one of sacct's "unknown" words is bad (value null).
    """
    raw = pl.col(name).str.strip_chars()
    value = count(raw)
    bad = raw.is_not_null() & ~raw.is_in(UNKNOWN) & value.is_null()
    return value, bad


def check_memory_units(memory_units: object) -> MemoryUnits:
    """Return ``memory_units`` if it is ``"binary"`` or ``"decimal"``, else raise.

    Raises
    ------
    ParameterError
        For any other value.
    """
    if memory_units not in _UNIT_BYTES:
        raise ParameterError(
            f"memory_units must be 'binary' (Slurm's: 1M = 2**20 bytes) or 'decimal' "
            f"(1M = 10**6 bytes, as GreenAlgorithms4HPC reads them), got {memory_units!r}"
        )
    return memory_units  # type: ignore[return-value]


def local_time_field(name: str) -> tuple[pl.Expr, pl.Expr]:
    """Parse a ``Start``/``End`` wall-clock time: the naive local time and bad mask.

    The time zone is applied by :func:`~fleetcarbon.io.sacct.times.resolve_times`.
    A time with a UTC offset is not a wall-clock time: see :func:`time_field`.
    """
    raw = pl.col(name).str.strip_chars()
    parsed = raw.str.strptime(pl.Datetime("us"), TIME_FORMAT, strict=False)
    bad = raw.is_not_null() & ~raw.is_in(UNKNOWN) & parsed.is_null()
    return parsed, bad


def time_field(name: str, groups: str) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """Parse a ``Start``/``End`` time: naive local time, UTC instant, and bad mask.

    A time with a UTC offset or ``Z`` (``2025-05-02T14:09:52+02:00``, ``...+0200``,
    ``...Z``) names an instant: it is returned in the second expression (UTC) and
    the first is null. A time without one is a wall-clock time in the cluster's
    zone, returned naive in the first (the zone is applied by
    :func:`~fleetcarbon.io.sacct.times.resolve_times`).

    Parameters
    ----------
    name : str
        The string column.
    groups : str
        A struct column holding the ``_OFFSET_TIME_RE`` groups of ``name``
        (from :func:`offset_time_groups`).

    Returns
    -------
    tuple of pl.Expr
        ``Datetime("us")`` local time, ``Datetime("us", "UTC")`` instant, Boolean bad.
    """
    raw = pl.col(name).str.strip_chars()
    g = pl.col(groups)
    with_offset = g.struct.field("t").is_not_null()
    wall = g.struct.field("t").str.strptime(pl.Datetime("us"), TIME_FORMAT, strict=False)
    sign = pl.when(g.struct.field("sign") == "-").then(-1).otherwise(1)
    minutes = sign * (
        g.struct.field("oh").cast(pl.Int64, strict=False).fill_null(0) * 60
        + g.struct.field("om").cast(pl.Int64, strict=False).fill_null(0)
    )
    instant = (wall - pl.duration(minutes=minutes)).dt.replace_time_zone("UTC")
    local = pl.when(~with_offset.fill_null(False)).then(
        raw.str.strptime(pl.Datetime("us"), TIME_FORMAT, strict=False)
    )
    return local, instant, time_bad(name, local, instant)


def time_bad(name: str, local: pl.Expr, instant: pl.Expr) -> pl.Expr:
    """Bad mask of a time column ``name``, from its parses (see :func:`time_field`)."""
    raw = pl.col(name).str.strip_chars()
    return raw.is_not_null() & ~raw.is_in(UNKNOWN) & local.is_null() & instant.is_null()


def offset_time_groups(name: str) -> pl.Expr:
    """Return the groups of a time with a UTC offset in column ``name`` (see :func:`time_field`)."""
    return pl.col(name).str.strip_chars().str.extract_groups(_OFFSET_TIME_RE)


def elapsed_seconds(name: str, groups: str) -> tuple[pl.Expr, pl.Expr]:
    """Seconds from the ``ELAPSED_RE`` groups (struct column ``groups``) of column ``name``.

    Slurm's rules: with a ``-``, ``days-hours[:minutes[:seconds]]``; without one,
    three parts are ``hours:minutes:seconds`` and one or two are
    ``minutes[:seconds]``. The leading unit may be of any size; hours after a
    day count must be below 24, minutes and seconds after a larger unit below
    60, and the total at most :data:`MAX_COUNT` seconds (else bad, value null).
    """
    raw = pl.col(name).str.strip_chars()
    g = pl.col(groups)

    def part(p: str) -> pl.Expr:
        return g.struct.field(p).cast(pl.Float64, strict=False)

    def below(p: str, limit: float) -> pl.Expr:
        return (part(p) < limit).fill_null(True)

    with_days = (
        part("d") * 86400
        + part("dh") * 3600
        + part("dm").fill_null(0) * 60
        + part("ds").fill_null(0)
    )
    hms = part("h") * 3600 + part("hm") * 60 + part("hs")
    ms = part("m") * 60 + part("ms").fill_null(0)
    seconds = pl.coalesce(
        pl.when(part("d").is_not_null()).then(with_days),
        pl.when(part("h").is_not_null()).then(hms),
        pl.when(part("m").is_not_null()).then(ms),
    )
    in_range = (
        below("dh", 24)
        & below("dm", 60)
        & below("ds", 60)
        & below("hm", 60)
        & below("hs", 60)
        & below("ms", 60)
        & (seconds <= MAX_COUNT)
    )
    seconds = pl.when(in_range).then(seconds)
    bad = raw.is_not_null() & ~raw.is_in(UNKNOWN) & seconds.is_null()
    return seconds, bad


def reqmem_bytes(
    name: str, groups: str, ncpus: str, nnodes: str, units: MemoryUnits = "binary"
) -> tuple[pl.Expr, pl.Expr]:
    """Bytes of ``ReqMem`` from its ``MEM_RE`` groups (struct column ``groups``), and bad mask.

    A ``c`` suffix is per CPU (x ``ncpus``; null when that is null), ``n`` per
    node (x ``nnodes``, 1 when unknown); without a suffix (Slurm >= 21.08) the
    value is the job's total. Unit letters are read as ``units``. A size (or its
    product) that overflows to infinity is bad.
    """
    raw = pl.col(name).str.strip_chars()
    mem = pl.col(groups)
    per = mem.struct.field("per")
    mult = (
        pl.when(per == "c")
        .then(pl.col(ncpus).cast(pl.Float64))
        .when(per == "n")
        .then(pl.col(nnodes).cast(pl.Float64).fill_null(1.0))
        .otherwise(1.0)
    )
    size = mem.struct.field("v").cast(pl.Float64, strict=False) * _unit_bytes(
        mem.struct.field("u"), units
    )
    value = size * mult
    bad = (
        raw.is_not_null()
        & ~raw.is_in(UNKNOWN)
        & (~size.is_finite().fill_null(False) | value.is_infinite().fill_null(False))
    )
    return pl.when(value.is_finite()).then(value), bad


def size_bytes(name: str, units: MemoryUnits = "binary") -> tuple[pl.Expr, pl.Expr]:
    """Parse a size such as ``MaxRSS`` (``231092K``, ``1.5G``, ``0``): bytes and bad mask.

    Unit letters (``K``, ``M``, ``G``, ``T``, ``P``) are read as ``units``; a
    value without one is bytes, as sacct prints a MaxRSS below 1K (or every one
    with ``--noconvert``). Anything else that is not blank or an "unknown" word,
    or a size that overflows, is bad.
    """
    raw = pl.col(name).str.strip_chars()
    groups = raw.str.extract_groups(SIZE_RE)
    unit = groups.struct.field("u").replace_strict(
        _RSS_UNIT_BYTES[units], default=None, return_dtype=pl.Float64
    )
    value = groups.struct.field("v").cast(pl.Float64, strict=False) * unit
    value = pl.when(value.is_finite()).then(value)
    bad = raw.is_not_null() & ~raw.is_in(UNKNOWN) & value.is_null()
    return value, bad


def tres_fields(tres: pl.Expr, units: MemoryUnits = "binary") -> dict[str, pl.Expr]:
    """Parse a TRES string (``billing=1,cpu=8,gres/gpu:a100=2,mem=64G,node=1``).

    Parameters
    ----------
    tres : pl.Expr
        A stripped string expression, null where blank.
    units : {"binary", "decimal"}, default "binary"
        How the unit letters of ``mem=`` are read.

    Returns
    -------
    dict of str to pl.Expr
        ``gpus``: the GPU count (null where ``tres`` is null): an untyped
        ``gres/gpu=N`` entry is the total, else the typed ``gres/gpu:TYPE=N``
        entries are summed (``gres/gpumem``, ``gres/gpuutil`` are not GPUs);
        ``gres_type``: the type of the first typed entry; ``gres_sig``: every
        typed entry as ``TYPE=N``, comma-separated (null without one); ``cpus``:
        the ``cpu=`` count; ``nodes``: the ``node=`` count (null where it is not
        a count; never bad); ``mem_bytes``: the ``mem=`` size (a job total); ``bad``: an entry
        without ``=``, a GPU or CPU count that is not a count (see :func:`count`),
        GPU counts summing past :data:`MAX_COUNT`, or a ``mem=`` value that is not
        a size.
    """
    e = pl.element()
    # ",a,,b,": every entry between its own two commas, so that anchored matches of
    # consecutive entries do not overlap.
    w = pl.lit(",") + tres.str.replace_all(",", ",,", literal=True) + pl.lit(",")
    gpu_like = w.str.count_matches(r",\s*gres/gpu(?:[:=][^,]*)?\s*,")
    gpu = w.str.extract_all(r",\s*gres/gpu(?::[^=,]+)?=[0-9]+\s*,")
    # Each well-formed GPU entry's count, and 0 for the untyped ones (the typed sum).
    gpu_values = gpu.list.eval(e.str.extract(r"=([0-9]+)", 1).cast(pl.Float64))
    typed_sum = gpu.list.eval(
        pl.when(e.str.contains("gres/gpu:"))
        .then(e.str.extract(r"=([0-9]+)", 1).cast(pl.Float64))
        .otherwise(0.0)
    ).list.sum()
    untyped = count(w.str.extract(r",\s*gres/gpu=([0-9]+)\s*,", 1))
    gpus = pl.coalesce(untyped, pl.when(typed_sum <= MAX_COUNT).then(typed_sum.cast(pl.Int64)), 0)
    gres_type = w.str.extract(r",\s*gres/gpu:([^=,]+)=[0-9]+\s*,", 1).str.strip_chars()
    typed = w.str.extract_all(r",\s*gres/gpu:[^=,]+=[0-9]+\s*,")
    gres_sig = typed.list.eval(
        e.str.strip_chars(", ").str.strip_prefix("gres/gpu:").str.replace(r"\s*=\s*", "=")
    ).list.join(",")
    gres_sig = pl.when(typed.list.len() > 0).then(gres_sig)
    cpu_raw = w.str.extract(r",\s*cpu=([^,]*),", 1).str.strip_chars()
    cpus = count(cpu_raw)
    nodes = count(w.str.extract(r",\s*node=([^,]*),", 1).str.strip_chars())
    mem_raw = w.str.extract(r",\s*mem=([^,]*),", 1).str.strip_chars()
    mem = mem_raw.str.extract_groups(r"^(?<v>[0-9]+(?:\.[0-9]*)?)(?<u>[KMGTP]?)$")
    mem_bytes = mem.struct.field("v").cast(pl.Float64, strict=False) * _unit_bytes(
        mem.struct.field("u"), units
    )
    mem_bytes = pl.when(mem_bytes.is_finite()).then(mem_bytes)
    bad = tres.is_not_null() & (
        w.str.contains(r",[^=,]*[^=,\s][^=,]*,")  # an entry without "="
        | (gpu_like != gpu.list.len())
        | (gpu_values.list.max() > MAX_COUNT)
        | (typed_sum > MAX_COUNT)
        | (cpu_raw.is_not_null() & cpus.is_null())
        | (mem_raw.is_not_null() & mem_bytes.is_null())
    ).fill_null(False)
    return {
        "gpus": pl.when(tres.is_not_null()).then(gpus.cast(pl.Int64)),
        "gres_type": gres_type,
        "gres_sig": gres_sig,
        "cpus": cpus,
        "nodes": nodes,
        "mem_bytes": mem_bytes,
        "bad": bad,
    }


def tres_table(values: pl.Series, prefix: str, units: MemoryUnits = "binary") -> pl.DataFrame:
    """Parse the distinct TRES strings of ``values`` (see :func:`tres_fields`).

    Parameters
    ----------
    values : pl.Series
        Stripped TRES strings, null where blank (many lines share one).
    prefix : str
        Prefix of the output columns.
    units : {"binary", "decimal"}, default "binary"
        How the unit letters of ``mem=`` are read.

    Returns
    -------
    pl.DataFrame
        The key column ``prefix`` (each distinct value once) and ``{prefix}_gpus``,
        ``_gres_type``, ``_gres_sig``, ``_cpus``, ``_nodes``, ``_mem_bytes`` and ``_bad``.
    """
    distinct = values.unique().to_frame(prefix)
    fields = tres_fields(pl.col(prefix), units)
    if values.null_count() == values.len():  # absent or blank: nothing to parse
        return distinct.with_columns(
            pl.lit(False if k == "bad" else None).cast(_TRES_TYPES[k]).alias(f"{prefix}_{k}")
            for k in fields
        )
    return distinct.with_columns(v.alias(f"{prefix}_{k}") for k, v in fields.items())


_TRES_TYPES = {
    "gpus": pl.Int64,
    "gres_type": pl.String,
    "gres_sig": pl.String,
    "cpus": pl.Int64,
    "nodes": pl.Int64,
    "mem_bytes": pl.Float64,
    "bad": pl.Boolean,
}


def energy_joules(name: str) -> tuple[pl.Expr, pl.Expr]:
    """Parse ``ConsumedEnergyRaw``: joules (null when 0 or NO_VAL) and bad mask.

    A negative, infinite or NaN value (``inf``, ``nan``), or text, is bad.
    """
    raw = pl.col(name).str.strip_chars()
    joules = raw.cast(pl.Float64, strict=False)
    bad = (
        raw.is_not_null()
        & ~raw.is_in(UNKNOWN)
        & (joules.is_null() | ~joules.is_finite() | (joules < 0))
    )
    # 0 means "not metered" (no energy plugin), not a job that used no energy.
    return pl.when((joules > 0) & (joules < _ENERGY_NO_VAL)).then(joules), bad


def gpu_count_from_tres(tres: str | None) -> int:
    """Count the GPUs in a TRES string such as ``billing=1,cpu=1,gres/gpu:a100=2,mem=8G``.

    An untyped ``gres/gpu=N`` entry is the total (recent Slurm prints it next to the
    typed ones); otherwise typed ``gres/gpu:TYPE=N`` entries are summed.
    ``gres/gpumem`` and ``gres/gpuutil`` are not GPUs.

    Parameters
    ----------
    tres : str or None
        An ``AllocTRES`` or ``ReqTRES`` value.

    Returns
    -------
    int
        The GPU count; 0 for None, an empty string, or no GPU entry.

    Raises
    ------
    InvalidValueError
        If ``tres`` is malformed: an entry without ``=``, a GPU or ``cpu=`` count
        that is not ASCII digits or exceeds :data:`MAX_COUNT` (2**53 - 1), GPU
        counts summing past it, or a ``mem=`` value that is not a size.
    """
    if tres is not None and not isinstance(tres, str):
        raise InvalidValueError("tres", 1, "not a TRES string", [repr(tres)])
    stripped = blank_to_null(pl.col("t").str.strip_chars())
    parsed = tres_fields(stripped)
    frame = pl.DataFrame({"t": [tres]}, schema={"t": pl.String}).select(
        parsed["gpus"].alias("gpus"), parsed["bad"].alias("bad")
    )
    if frame["bad"].item():
        raise InvalidValueError(
            "tres",
            1,
            "not a TRES list of name=count entries with GPU counts of at most 2**53 - 1",
            [repr(tres)],
        )
    return int(frame["gpus"].fill_null(0).item())


def _unit_bytes(unit: pl.Expr, units: MemoryUnits = "binary") -> pl.Expr:
    return unit.replace_strict(_UNIT_BYTES[units], default=None, return_dtype=pl.Float64)
