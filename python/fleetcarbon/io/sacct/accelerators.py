"""Map the GPUs of sacct jobs to accelerator keys and counts, by the cluster config.

The rules are in :mod:`fleetcarbon.io.cluster` (type and count) and
:mod:`fleetcarbon.io.sacct.mig` (MIG profiles); ``gpu_mix`` becomes a mix key
(:mod:`fleetcarbon.factors.mixes`) here.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import polars as pl

from fleetcarbon.errors import UnknownKeyError
from fleetcarbon.factors import Factors
from fleetcarbon.factors.mixes import mix_key
from fleetcarbon.io.cluster import ClusterConfig, ClusterConfigError, GpuSpec
from fleetcarbon.io.sacct.mig import mig_parent, parse_mig

__all__ = [
    "InferredGpusWarning",
    "MissingGresWarning",
    "UnmappedAcceleratorWarning",
    "count_hosts",
    "first_node",
    "gpu_mix_key",
    "resolve_accelerators",
]


class UnmappedAcceleratorWarning(UserWarning):
    """Some GPU jobs have no accelerator key: map their gres type, nodes or partition."""

    # Named where it is imported from, as before sacct became a package.
    __module__ = "fleetcarbon.io.sacct"


class InferredGpusWarning(UserWarning):
    """Some jobs' GPUs were counted from the cluster config (``gpus_per_node``), not from TRES."""

    __module__ = "fleetcarbon.io.sacct"


class MissingGresWarning(UserWarning):
    """Jobs on GPU partitions or nodes have no gres in their TRES and are read as CPU-only."""

    __module__ = "fleetcarbon.io.sacct"


def first_node(nodelist: str | None) -> str | None:
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


def count_hosts(nodelist: str | None) -> int | None:
    """Count the hosts of a Slurm host list: ``cn[01-03,07],gpu1`` → 5; None if not one.

    Each comma-separated host outside brackets counts the product of its bracketed
    lists (``a[1-2]b[1-3]`` is 6); ``None assigned`` and malformed lists give None.
    """
    first = first_node(nodelist)
    if first is None or nodelist is None:
        return None
    total, depth = 0, 0
    part: list[str] = []
    for ch in [*nodelist.strip(), ","]:
        if ch == "," and depth == 0:
            n = _hosts_of("".join(part))
            if n is None:
                return None
            total, part = total + n, []
            continue
        depth += (ch == "[") - (ch == "]")
        if depth not in (0, 1):
            return None
        part.append(ch)
    return total or None


def _hosts_of(pattern: str) -> int | None:
    pattern = pattern.strip()
    if not pattern:
        return None
    n = 1
    for body in re.findall(r"\[([^\]]*)\]", pattern):
        size = 0
        for item in body.split(","):
            m = re.fullmatch(r"\s*([0-9]+)(?:-([0-9]+))?\s*", item)
            if m is None:
                return None
            lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
            if hi < lo:
                return None
            size += hi - lo + 1
        n *= size
    return n


def gpu_mix_key(config: ClusterConfig, factors: Factors) -> str | None:
    """Return the accelerator key of the config's ``gpu_mix``: ``mix:KEY=WEIGHT,...``.

    The keys are resolved in the accelerators table of ``factors`` (aliases and
    case-insensitive spellings become canonical keys); a mix of one key is that key.

    Returns
    -------
    str or None
        None without a ``gpu_mix``.

    Raises
    ------
    ClusterConfigError
        If a key of the mix is unknown to the accelerators table (with suggestions).
    """
    if not config.gpu_mix:
        return None
    keys = list(config.gpu_mix)
    frame = pl.DataFrame({"key": keys}, schema={"key": pl.String})
    try:
        rows = factors.keys.resolve(frame, {"key": "accelerators"}, raise_unknown=True)["key"]
    except UnknownKeyError as exc:
        raise ClusterConfigError(f"cluster config 'gpu_mix': {exc}") from None
    canonical = factors.accelerators["key"].gather(rows).to_list()
    if len(set(canonical)) != len(canonical):
        raise ClusterConfigError(
            f"cluster config 'gpu_mix' names one accelerator twice: {keys} are {canonical}"
        )
    return mix_key(dict(zip(canonical, config.gpu_mix.values(), strict=True)))


def resolve_accelerators(
    jobs: pl.DataFrame, config: ClusterConfig, mix: str | None = None
) -> pl.DataFrame:
    """Add each job's accelerator key and count, and how they were found.

    Parameters
    ----------
    jobs : pl.DataFrame
        One row per job, with ``__gpus`` (the TRES GPU count), ``__gres_type`` and
        ``__gres_sig`` (the typed gres entries), ``__never`` (never started),
        ``nodelist``, ``partition``, ``__nnodes``, ``__tres_nodes`` and ``__ncpus``.
    config : ClusterConfig
        The mappings.
    mix : str, optional
        The accelerator key of the config's ``gpu_mix`` (:func:`gpu_mix_key`).

    Returns
    -------
    pl.DataFrame
        ``jobs`` with ``accelerator`` (null for CPU jobs and unresolved GPU jobs),
        ``__count`` (Float64 accelerators: MIG shares and per-node counts can be
        fractional; 0 for CPU jobs and jobs that never started), and the Booleans
        ``__inferred`` (GPUs counted from ``gpus_per_node``) and ``__no_gres`` (no
        gres on a node or partition the config maps to a GPU type, read as CPU-only).
    """
    node = _spec_columns(
        jobs,
        "nodelist",
        "__node",
        (lambda v: config.node_spec(first_node(v))) if config.nodes else None,
    )
    part = _spec_columns(
        jobs, "partition", "__part", config.partition_spec if config.partitions else None
    )
    counts = any(
        isinstance(e, GpuSpec) and e.gpus_per_node is not None
        for e in (*config.nodes.values(), *config.partitions.values())
    )
    hosts = _hosts(jobs) if counts else pl.lit(None, pl.Int64).alias("__hosts")
    jobs = jobs.with_columns(*node, *part, hosts)
    jobs = _typed(jobs, config)
    gpus = pl.col("__gpus").fill_null(0)
    never = pl.col("__never")
    has_gres = (gpus > 0) & ~never
    typed = pl.col("__gres_sig").is_not_null()
    node_acc, part_acc = pl.col("__node_acc"), pl.col("__part_acc")
    node_gpn, part_gpn = pl.col("__node_gpn"), pl.col("__part_gpn")
    from_node = node_gpn.is_not_null()
    gpn = pl.coalesce(node_gpn, part_gpn)
    cpn = pl.when(from_node).then(pl.col("__node_cpn")).otherwise(pl.col("__part_cpn"))
    nodes = pl.coalesce(
        *(pl.when(pl.col(c) > 0).then(pl.col(c).cast(pl.Float64)) for c in _NODE_COUNTS),
        pl.lit(1.0),
    )
    share = pl.min_horizontal(nodes, pl.col("__ncpus").cast(pl.Float64) / cpn)
    per_node = pl.when(cpn.is_not_null() & (pl.col("__ncpus") > 0)).then(share).otherwise(nodes)
    inferred = ~has_gres & ~never & (gpn > 0).fill_null(False)
    default = pl.lit(config.accelerator, pl.String)
    gres_default = pl.lit(config.gres_default, pl.String)
    key: pl.Expr = (
        pl.when(has_gres & typed)
        .then(pl.col("__typed_key"))
        .when(has_gres)
        .then(pl.coalesce(node_acc, part_acc, gres_default, default))
        .when(inferred)
        .then(pl.coalesce(node_acc, part_acc, default))
    )
    count = (
        pl.when(has_gres)
        .then(pl.coalesce(pl.col("__typed_share"), gpus.cast(pl.Float64)))
        .when(inferred)
        .then(gpn * per_node)
        .otherwise(0.0)
    )
    # A mix types untyped GPUs only (a MIG profile without a parent GPU is typed).
    untyped = (has_gres & ~typed) | inferred
    if mix is not None:
        key = pl.when(key.is_null() & untyped & (count > 0)).then(pl.lit(mix)).otherwise(key)
    jobs = jobs.with_columns(key.alias("accelerator"), count.alias("__count"))
    no_gres = ~has_gres & ~never & gpn.is_null() & pl.coalesce(node_acc, part_acc).is_not_null()
    temporary = [c for c in jobs.columns if c.startswith(("__node_", "__part_", "__typed_"))]
    return jobs.with_columns(inferred.alias("__inferred"), no_gres.alias("__no_gres")).drop(
        [*temporary, "__hosts"]
    )


#: Node counts tried in order for ``gpus_per_node`` (NNodes, TRES node=, NodeList hosts).
_NODE_COUNTS = ("__nnodes", "__tres_nodes", "__hosts")


def _spec_columns(
    jobs: pl.DataFrame, column: str, prefix: str, lookup: Callable[[str], GpuSpec | None] | None
) -> list[pl.Expr]:
    """``{prefix}_acc``, ``_gpn``, ``_cpn`` of each job: its entry, matched once per value."""
    values = jobs[column].unique().drop_nulls().to_list() if lookup is not None else []
    specs: dict[str, GpuSpec | None] = {v: lookup(v) for v in values} if lookup else {}
    out = []
    for name, attr, dtype in (
        ("acc", "accelerator", pl.String),
        ("gpn", "gpus_per_node", pl.Float64),
        ("cpn", "cpus_per_node", pl.Float64),
    ):
        mapping = {v: getattr(s, attr) for v, s in specs.items() if s is not None}
        mapping = {v: x for v, x in mapping.items() if x is not None}
        expr = (
            pl.col(column).replace_strict(mapping, default=None, return_dtype=dtype)
            if mapping
            else pl.lit(None, dtype)
        )
        out.append(expr.alias(f"{prefix}_{name}"))
    return out


def _hosts(jobs: pl.DataFrame) -> pl.Expr:
    values = jobs["nodelist"].unique().drop_nulls().to_list()
    mapping = {v: n for v in values if (n := count_hosts(v)) is not None}
    if not mapping:
        return pl.lit(None, pl.Int64).alias("__hosts")
    return (
        pl.col("nodelist")
        .replace_strict(mapping, default=None, return_dtype=pl.Int64)
        .alias("__hosts")
    )


def _typed(jobs: pl.DataFrame, config: ClusterConfig) -> pl.DataFrame:
    """Add ``__typed_key`` and ``__typed_share`` (MIG jobs only) from the typed gres entries.

    The key is the first typed entry's: ``gres[TYPE]``, else ``TYPE`` as is, or the
    parent GPU of a MIG type. When an entry is a MIG profile, the share is the sum
    over the typed entries of count × fraction (1 for a whole GPU).
    """
    combos = (
        jobs.select("__gres_sig", "__node_acc", "__part_acc")
        .filter(pl.col("__gres_sig").is_not_null())
        .unique()
    )
    keys: list[str | None] = []
    shares: list[float | None] = []
    for sig, node_acc, part_acc in combos.iter_rows():
        entries = [e.rsplit("=", 1) for e in sig.split(",")]
        fallbacks = (node_acc, part_acc, config.gres_default, config.accelerator)
        parsed = [(t, int(n), parse_mig(t)) for t, n in entries]
        first, _, first_mig = parsed[0]
        if first_mig is not None:
            keys.append(mig_parent(first, first_mig, config.gres, fallbacks))
        else:
            keys.append(config.gres.get(first, first))
        if any(m is not None for _, _, m in parsed):
            shares.append(sum(n * (m.fraction if m is not None else 1.0) for _, n, m in parsed))
        else:
            shares.append(None)
    table = combos.with_columns(
        pl.Series("__typed_key", keys, dtype=pl.String),
        pl.Series("__typed_share", shares, dtype=pl.Float64),
    )
    return jobs.join(
        table,
        on=["__gres_sig", "__node_acc", "__part_acc"],
        how="left",
        maintain_order="left",
        nulls_equal=True,
    )
