"""Parse sacct field values: JobIDs, elapsed times, times, counts, memory, TRES and energy.

Each parser is a Polars expression over one string column; most return the
value and a "bad" mask (non-blank, not one of sacct's "unknown" words, yet
unparsable), so that a malformed line is reported instead of silently read
as null.
"""

from __future__ import annotations

import polars as pl

__all__ = [
    "ELAPSED_RE",
    "JOBID_RE",
    "MEM_RE",
    "TIME_FORMAT",
    "UNKNOWN",
    "blank_to_null",
    "elapsed_seconds",
    "energy_joules",
    "gpu_count_from_tres",
    "int_field",
    "reqmem_bytes",
    "time_field",
    "tres_mem_bytes",
    "with_gpus",
]

JOBID_RE = (
    r"^(?<alloc>(?<base>\d+)(?:_(?<task>\d+|\[[0-9,\-%]*\]))?(?:\+(?<het>\d+))?)"
    r"(?:\.(?<step>[A-Za-z0-9_\-]+))?$"
)
#: ``[D-][HH:]MM:SS[.fff]``: sacct prints ``Elapsed`` as ``[D-]HH:MM:SS``, other tools ``MM:SS``.
ELAPSED_RE = r"^(?:(?<d>\d+)-)?(?:(?<h>\d+):)?(?<m>\d+):(?<s>\d+(?:\.\d+)?)$"
#: A size with an optional binary unit and an optional per-CPU (c) / per-node (n) suffix.
MEM_RE = r"^(?<v>\d+(?:\.\d*)?)(?<u>[KMGTP]?)(?<per>[cn]?)$"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
#: Values sacct prints for an unknown time, elapsed or count.
UNKNOWN = ["", "Unknown", "None", "N/A", "INVALID"]
#: Slurm's units are binary; no unit means MiB.
_UNIT_BYTES = {"": 2**20, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40, "P": 2**50}
#: Slurm's NO_VAL64 and friends: energy values at or above this are "not measured".
_ENERGY_NO_VAL = 2.0**63


def blank_to_null(e: pl.Expr) -> pl.Expr:
    """Return ``e`` with empty strings replaced by null."""
    return pl.when(e.str.len_bytes() == 0).then(None).otherwise(e)


def int_field(name: str) -> tuple[pl.Expr, pl.Expr]:
    """Parse a count (``NCPUS``, ``NNodes``, ``ElapsedRaw``): value (null if < 0), bad mask."""
    raw = pl.col(name).str.strip_chars()
    value = raw.cast(pl.Int64, strict=False)
    bad = raw.is_not_null() & ~raw.is_in(UNKNOWN) & (value.is_null() | (value < 0))
    return pl.when(value >= 0).then(value), bad


def time_field(name: str, tz: str) -> tuple[pl.Expr, pl.Expr]:
    """Parse a local ``Start``/``End`` time in ``tz``: the UTC time and bad mask.

    An ambiguous local time (DST fall-back) is read as the earlier instant; a
    non-existent one (DST spring-forward gap) becomes null.
    """
    raw = pl.col(name).str.strip_chars()
    parsed = raw.str.strptime(pl.Datetime("us"), TIME_FORMAT, strict=False)
    bad = raw.is_not_null() & ~raw.is_in(UNKNOWN) & parsed.is_null()
    local = parsed.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
    return local.dt.convert_time_zone("UTC"), bad


def elapsed_seconds(name: str, groups: str) -> tuple[pl.Expr, pl.Expr]:
    """Seconds from the ``ELAPSED_RE`` groups (struct column ``groups``) of column ``name``."""
    raw = pl.col(name).str.strip_chars()
    g = pl.col(groups)

    def part(p: str) -> pl.Expr:
        return g.struct.field(p).cast(pl.Float64, strict=False)

    seconds = (
        part("d").fill_null(0) * 86400 + part("h").fill_null(0) * 3600 + part("m") * 60 + part("s")
    )
    bad = raw.is_not_null() & ~raw.is_in(UNKNOWN) & seconds.is_null()
    return seconds, bad


def reqmem_bytes(name: str, groups: str, ncpus: str, nnodes: str) -> tuple[pl.Expr, pl.Expr]:
    """Bytes of ``ReqMem`` from its ``MEM_RE`` groups (struct column ``groups``), and bad mask.

    A ``c`` suffix is per CPU (x ``ncpus``), ``n`` per node (x ``nnodes``, 1 when
    unknown); without a suffix (Slurm >= 21.08) the value is the job's total.
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
    value = (
        mem.struct.field("v").cast(pl.Float64, strict=False)
        * _unit_bytes(mem.struct.field("u"))
        * mult
    )
    bad = raw.is_not_null() & ~raw.is_in(UNKNOWN) & mem.struct.field("v").is_null()
    return value, bad


def tres_mem_bytes(tres: pl.Expr) -> pl.Expr:
    """Bytes of the ``mem=`` entry of a TRES string (a job total), null without one."""
    g = tres.str.extract_groups(r"(?:^|,)mem=(?<v>\d+(?:\.\d*)?)(?<u>[KMGTP]?)(?:,|$)")
    return g.struct.field("v").cast(pl.Float64, strict=False) * _unit_bytes(g.struct.field("u"))


def energy_joules(name: str) -> tuple[pl.Expr, pl.Expr]:
    """Parse ``ConsumedEnergyRaw``: joules (null when 0 or NO_VAL) and bad mask."""
    raw = pl.col(name).str.strip_chars()
    joules = raw.cast(pl.Float64, strict=False)
    bad = (
        raw.is_not_null()
        & ~raw.is_in(UNKNOWN)
        & (joules.is_null() | joules.is_nan() | (joules < 0))
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
    """
    frame = with_gpus(pl.DataFrame({"t": [tres]}, schema={"t": pl.String}), "t")
    return int(frame["__gpus"].fill_null(0).item())


def with_gpus(frame: pl.DataFrame, tres: str) -> pl.DataFrame:
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


def _unit_bytes(unit: pl.Expr) -> pl.Expr:
    return unit.replace_strict(_UNIT_BYTES, default=None, return_dtype=pl.Float64)
