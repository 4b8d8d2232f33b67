"""Cluster configuration for reading scheduler logs: location, time zone and GPU types.

A cluster config is a dict or a TOML file such as::

    name = "mycluster"              # fills `cluster` when sacct has no Cluster field
    region = "US-CA"                # grid region of every job (key of the regions table)
    datacenter = "generic"          # optional datacenter key (PUE, facility factor)
    timezone = "America/Los_Angeles"  # zone sacct printed its times in (default UTC)
    accelerator = "nvidia-a100-sxm4-80gb"  # default for GPU jobs nothing else resolves
    cpu = "generic"                 # optional CPU key for every job

    [gres]                          # typed gres (gres/gpu:TYPE=N) -> accelerator key
    a100 = "nvidia-a100-sxm4-80gb"
    volta = "nvidia-v100-sxm2-32gb"
    "a100_1g.10gb" = "nvidia-a100-pcie-80gb"  # the parent GPU of a MIG profile
    default = "nvidia-v100-sxm2-32gb"  # the type of untyped gres/gpu=N entries

    [partitions]                    # partition -> accelerator key (untyped gres/gpu=N)
    gpu = "nvidia-v100-sxm2-32gb"
    [partitions.dgx]                # ... or a table, which can also count GPUs
    accelerator = "nvidia-h100-sxm5-80gb"
    gpus_per_node = 8               # GPUs of jobs whose TRES has no gres/gpu entry
    cpus_per_node = 112             # optional: share of a node by the job's CPUs

    [nodes]                         # node-name prefix or glob -> key, or a table as above
    "gpu-a" = "nvidia-a100-sxm4-80gb"
    "dgx[0-9]*" = { accelerator = "nvidia-h100-sxm5-80gb", gpus_per_node = 8 }

    [gpu_mix]                       # untyped GPUs of a known mix (instead of a default)
    "nvidia-v100-sxm2-32gb" = 0.7
    "nvidia-t4-16gb" = 0.3

**GPU type.** A job's accelerator key is resolved in this order:

1. a typed gres (``gres/gpu:TYPE=N``): ``gres[TYPE]``, else ``TYPE`` as is (the
   accelerators table knows common Slurm gres names such as ``a100``). A MIG
   profile (``a100_1g.10gb``, ``3g.40gb``) resolves to its parent GPU: see
   :mod:`fleetcarbon.io.sacct.mig`;
2. the first node of the job's node list, matched against ``nodes`` (in file
   order; the first match wins), then the partition (``partitions``; a
   comma-separated list by its first entry): the entry's key (a string, or the
   ``accelerator`` of a table);
3. for GPUs from untyped ``gres/gpu=N`` entries, ``gres.default``;
4. the cluster default ``accelerator``;
5. for untyped GPUs (untyped gres, or counted by ``gpus_per_node``),
   ``gpu_mix``: the job gets the mix's key, ``mix:KEY=WEIGHT,...`` (see
   :mod:`fleetcarbon.factors.mixes`). A mix of one key is that key.

``gpu_mix`` cannot be combined with ``accelerator`` or ``gres.default``, which
would take its place. A ``gres`` type named ``default`` cannot be mapped.

**GPU count.** GPUs come from the job's TRES (``AllocTRES``, else ``ReqTRES``).
When neither holds a ``gres/gpu`` entry (or the log has no TRES field), the job's
node entry, else its partition entry, can count them, if it is a table with
``gpus_per_node``: the job gets ``gpus_per_node × nodes`` GPUs, where nodes is
``NNodes`` (or ``AllocNodes``), else the TRES ``node=`` count, else the number
of hosts in ``NodeList``, else 1. With ``cpus_per_node`` too, a job with a CPU
count gets ``gpus_per_node × min(nodes, CPUs / cpus_per_node)`` (its share of
the nodes, possibly fractional). ``gpus_per_node = 0`` says that jobs without
gres on those nodes use no GPU. A string entry (or a table without
``gpus_per_node``) gives the type only: jobs without gres there stay CPU-only,
and a :class:`~fleetcarbon.io.sacct.MissingGresWarning` counts them.
"""

from __future__ import annotations

import fnmatch
import math
import os
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from fleetcarbon._compat import toml_module
from fleetcarbon.errors import FleetcarbonError
from fleetcarbon.factors.mixes import check_weights

__all__ = [
    "GRES_DEFAULT",
    "ClusterConfig",
    "ClusterConfigError",
    "GpuSpec",
    "load_cluster_config",
]


class ClusterConfigError(FleetcarbonError):
    """The cluster config is unreadable, has unknown keys, or holds values of the wrong type."""


_SCALARS = ("name", "region", "datacenter", "timezone", "accelerator", "cpu")
_GLOB_CHARS = frozenset("*?[")
#: The ``gres`` key naming the type of untyped ``gres/gpu=N`` entries.
GRES_DEFAULT = "default"


@dataclass(frozen=True)
class GpuSpec:
    """What a ``partitions`` or ``nodes`` entry says about the GPUs of its jobs.

    Attributes
    ----------
    accelerator : str, optional
        The accelerator key of its GPUs.
    gpus_per_node : float, optional
        GPUs per node, for jobs whose TRES holds no ``gres/gpu`` entry (0: such jobs
        use no GPU). None: such jobs are not given GPUs.
    cpus_per_node : float, optional
        CPUs per node: a job with a CPU count gets ``gpus_per_node`` times its share
        of the nodes' CPUs (at most its node count). Needs ``gpus_per_node``.
    """

    accelerator: str | None = None
    gpus_per_node: float | None = None
    cpus_per_node: float | None = None

    def __post_init__(self) -> None:
        if self.accelerator is not None and (
            not isinstance(self.accelerator, str) or not self.accelerator.strip()
        ):
            raise ClusterConfigError(
                f"'accelerator' must be a non-empty accelerator key, got {self.accelerator!r}"
            )
        for name, positive in (("gpus_per_node", False), ("cpus_per_node", True)):
            value = getattr(self, name)
            if value is None:
                continue
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not ok or not math.isfinite(value) or value < 0 or (positive and value == 0):
                bound = "> 0" if positive else ">= 0"
                raise ClusterConfigError(f"'{name}' must be a finite number {bound}, got {value!r}")
            object.__setattr__(self, name, float(value))
        if self.accelerator is None and self.gpus_per_node is None:
            raise ClusterConfigError("a GPU table needs 'accelerator' and/or 'gpus_per_node'")
        if self.cpus_per_node is not None and self.gpus_per_node is None:
            raise ClusterConfigError("'cpus_per_node' needs 'gpus_per_node'")


#: A ``partitions``/``nodes`` entry: an accelerator key, or a :class:`GpuSpec` table.
GpuEntry = str | GpuSpec


@dataclass(frozen=True)
class ClusterConfig:
    """Where a cluster is, which zone its logs use, and which GPUs it has.

    Attributes
    ----------
    name : str, optional
        Cluster name, used for the ``cluster`` column when the log has no ``Cluster`` field.
    region : str, optional
        Grid region key given to every job (e.g. ``"US"``, ``"FR"``, ``"US-CA"``).
    datacenter : str, optional
        Datacenter key given to every job.
    timezone : str, default "UTC"
        IANA zone in which sacct printed ``Start``/``End`` (sacct prints local time).
        Times that carry a UTC offset (``+02:00``, ``Z``) do not need it.
    accelerator : str, optional
        Accelerator key for GPU jobs whose type nothing else resolves.
    cpu : str, optional
        CPU key given to every job (null means ``generic`` in :func:`fleetcarbon.estimate`).
    gres : dict of str to str
        Gres type (``a100`` in ``gres/gpu:a100=4``, or a MIG type such as
        ``a100_1g.10gb``, or its parent ``a100``) to accelerator key; the key
        ``default`` (:data:`GRES_DEFAULT`) is the type of untyped ``gres/gpu=N`` entries.
    partitions : dict of str to str or GpuSpec
        Partition name to accelerator key, or to a table (:class:`GpuSpec`: keys
        ``accelerator``, ``gpus_per_node``, ``cpus_per_node``).
    nodes : dict of str to str or GpuSpec
        Node-name prefix, or glob pattern (with ``*``, ``?`` or ``[``), to accelerator
        key or table; the first matching entry wins.
    gpu_mix : dict of str to float
        Accelerator key to its share of the cluster's GPUs (each > 0, summing to 1),
        for untyped GPUs nothing else resolves. Its keys are checked against the
        accelerators table by :func:`~fleetcarbon.io.sacct.read_sacct`.
    """

    name: str | None = None
    region: str | None = None
    datacenter: str | None = None
    timezone: str = "UTC"
    accelerator: str | None = None
    cpu: str | None = None
    gres: dict[str, str] = field(default_factory=dict)
    partitions: dict[str, GpuEntry] = field(default_factory=dict)
    nodes: dict[str, GpuEntry] = field(default_factory=dict)
    gpu_mix: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key in _SCALARS:
            value = getattr(self, key)
            if key == "timezone" and value is None:
                object.__setattr__(self, key, "UTC")
            elif value is not None and (not isinstance(value, str) or not value.strip()):
                raise ClusterConfigError(
                    f"cluster config '{key}' must be a non-empty string, got {value!r}"
                )
        gres = {} if self.gres is None else self.gres
        if not isinstance(gres, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) and k and v for k, v in gres.items()
        ):
            raise ClusterConfigError(
                "cluster config 'gres' must map non-empty strings to accelerator keys, "
                f"got {gres!r}"
            )
        object.__setattr__(self, "gres", dict(gres))
        for key in ("partitions", "nodes"):
            object.__setattr__(self, key, _gpu_entries(key, getattr(self, key)))
        object.__setattr__(self, "gpu_mix", _gpu_mix(self.gpu_mix))
        if self.gpu_mix:
            taken = [k for k in ("accelerator",) if getattr(self, k) is not None]
            taken += [f"gres.{GRES_DEFAULT}"] if GRES_DEFAULT in self.gres else []
            if taken:
                raise ClusterConfigError(
                    f"cluster config 'gpu_mix' and {' and '.join(repr(t) for t in taken)} "
                    "both give the type of untyped GPUs: keep one"
                )
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ClusterConfigError(
                f"cluster config 'timezone': unknown time zone {self.timezone!r} "
                "(use an IANA name such as 'Europe/Paris' or 'UTC')"
            ) from exc

    @property
    def gres_default(self) -> str | None:
        """The accelerator key of untyped ``gres/gpu=N`` entries (``gres.default``), or None."""
        return self.gres.get(GRES_DEFAULT)

    def node_spec(self, node: str | None) -> GpuSpec | None:
        """Return the ``nodes`` entry of a node name (prefix or glob; the first match), or None."""
        if node is None:
            return None
        for pattern, entry in self.nodes.items():
            if _GLOB_CHARS & set(pattern):
                if fnmatch.fnmatchcase(node, pattern):
                    return _spec(entry)
            elif node.startswith(pattern):
                return _spec(entry)
        return None

    def node_accelerator(self, node: str | None) -> str | None:
        """Accelerator key of a node name from ``nodes`` (prefix or glob), or None."""
        spec = self.node_spec(node)
        return spec.accelerator if spec is not None else None

    def partition_spec(self, partition: str | None) -> GpuSpec | None:
        """Return the ``partitions`` entry of a partition (a list by its first entry), or None."""
        if partition is None:
            return None
        entry = self.partitions.get(partition)
        if entry is None:
            entry = self.partitions.get(partition.split(",")[0].strip())
        return _spec(entry) if entry is not None else None


def _spec(entry: GpuEntry) -> GpuSpec:
    return GpuSpec(accelerator=entry) if isinstance(entry, str) else entry


def _gpu_entries(key: str, value: object) -> dict[str, GpuEntry]:
    """Check a ``partitions``/``nodes`` map: strings kept, tables made :class:`GpuSpec`."""
    if value is None:
        return {}
    shape = (
        f"cluster config '{key}' must map non-empty strings to accelerator keys or to tables "
        "of 'accelerator', 'gpus_per_node' and 'cpus_per_node'"
    )
    if not isinstance(value, Mapping):
        raise ClusterConfigError(f"{shape}, got {value!r}")
    out: dict[str, GpuEntry] = {}
    for name, entry in value.items():
        if not isinstance(name, str) or not name:
            raise ClusterConfigError(f"{shape}, got the name {name!r}")
        if isinstance(entry, str) and entry:
            out[name] = entry
        elif isinstance(entry, GpuSpec):
            out[name] = entry
        elif isinstance(entry, Mapping):
            known = {f.name for f in fields(GpuSpec)}
            unknown = sorted(str(k) for k in entry if k not in known)
            if unknown:
                raise ClusterConfigError(
                    f"cluster config '{key}.{name}': unknown keys {unknown}; "
                    f"known keys: {sorted(known)}"
                )
            try:
                out[name] = GpuSpec(**{str(k): v for k, v in entry.items()})
            except ClusterConfigError as exc:
                raise ClusterConfigError(f"cluster config '{key}.{name}': {exc}") from None
        else:
            raise ClusterConfigError(f"{shape}, got {name!r} = {entry!r}")
    return out


def _gpu_mix(value: object) -> dict[str, float]:
    """Check ``gpu_mix``: accelerator keys to weights > 0 that sum to 1."""
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and k.strip() and isinstance(w, (int, float)) and not isinstance(w, bool)
        for k, w in value.items()
    ):
        raise ClusterConfigError(
            f"cluster config 'gpu_mix' must map accelerator keys to weights, got {value!r}"
        )
    mix = {k: float(w) for k, w in value.items()}
    if mix:
        try:
            check_weights(mix)
        except ValueError as exc:
            raise ClusterConfigError(f"cluster config 'gpu_mix': {exc}") from None
    return mix


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        tomllib = toml_module()
    except ModuleNotFoundError as exc:
        raise ClusterConfigError(
            "reading a TOML cluster config on Python 3.10 needs the 'tomli' package "
            "(pip install tomli), or pass the config as a dict"
        ) from exc
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ClusterConfigError(f"cluster config file not found: {str(path)!r}") from exc
    except OSError as exc:
        raise ClusterConfigError(f"cannot read cluster config {str(path)!r}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ClusterConfigError(f"cluster config {str(path)!r} is not valid TOML: {exc}") from exc


def load_cluster_config(
    source: ClusterConfig | Mapping[str, Any] | str | os.PathLike[str],
) -> ClusterConfig:
    """Build a :class:`ClusterConfig` from a dict or a TOML file.

    Parameters
    ----------
    source : ClusterConfig, dict or path
        A config (returned unchanged), a mapping with the keys of
        :class:`ClusterConfig`, or the path of a TOML file holding them. A
        top-level ``[cluster]`` table is accepted too.

    Returns
    -------
    ClusterConfig

    Raises
    ------
    ClusterConfigError
        On a missing or invalid file, unknown keys (typos) or wrongly typed values.
    """
    if isinstance(source, ClusterConfig):
        return source
    if isinstance(source, (str, os.PathLike)):
        data: Mapping[str, Any] = _read_toml(Path(source))
    elif isinstance(source, Mapping):
        data = source
    else:
        raise ClusterConfigError(
            f"cluster config must be a dict, a TOML path or a ClusterConfig, "
            f"not {type(source).__name__}"
        )
    if set(data) == {"cluster"} and isinstance(data["cluster"], Mapping):
        data = data["cluster"]
    known = {f.name for f in fields(ClusterConfig)}
    unknown = sorted(str(k) for k in data if k not in known)
    if unknown:
        raise ClusterConfigError(
            f"unknown cluster config keys {unknown}; known keys: {sorted(known)}"
        )
    return ClusterConfig(**{str(k): v for k, v in data.items()})
