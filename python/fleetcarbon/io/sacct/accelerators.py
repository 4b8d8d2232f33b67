"""Map the GPUs of sacct jobs to accelerator keys: gres type, then node, partition, default."""

from __future__ import annotations

import re

import polars as pl

from fleetcarbon.io.cluster import ClusterConfig

__all__ = ["UnmappedAcceleratorWarning", "first_node", "resolve_accelerators"]


class UnmappedAcceleratorWarning(UserWarning):
    """Some GPU jobs have no accelerator key: map their gres type, nodes or partition."""

    # Named where it is imported from, as before sacct became a package.
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


def resolve_accelerators(jobs: pl.DataFrame, config: ClusterConfig) -> pl.DataFrame:
    """Add ``accelerator`` to jobs with GPUs (``__gpus`` > 0), null where none maps.

    The first of these that gives a key wins: the config's ``gres`` table applied
    to the typed gres (an unmapped type is kept as is), its ``nodes`` table
    applied to the first host of ``nodelist``, its ``partitions`` table (a
    comma-separated partition list by its first entry), its ``accelerator`` default.

    Parameters
    ----------
    jobs : pl.DataFrame
        One row per job, with ``__gpus``, ``__gres_type``, ``nodelist`` and ``partition``.
    config : ClusterConfig
        The mappings.

    Returns
    -------
    pl.DataFrame
        ``jobs`` with the ``accelerator`` column.
    """
    gres_map = config.gres
    typed = pl.col("__gres_type")
    by_gres = typed.replace_strict(gres_map, default=typed, return_dtype=pl.String)
    # Node and partition tables are matched in Python once per distinct value.
    if config.nodes:
        nodes = jobs["nodelist"].unique().drop_nulls().to_list()
        node_map = {n: config.node_accelerator(first_node(n)) for n in nodes}
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
