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

    [partitions]                    # partition -> accelerator key (untyped gres/gpu=N)
    gpu = "nvidia-v100-sxm2-32gb"

    [nodes]                         # node-name prefix or glob -> accelerator key
    "gpu-a" = "nvidia-a100-sxm4-80gb"
    "dgx[0-9]*" = "nvidia-h100-sxm5-80gb"

An accelerator is resolved per GPU job in this order: the gres type (mapped
through ``gres``; an unmapped type is kept as is, since the accelerators table
knows common Slurm gres names such as ``a100``), the first node of the job's
node list (``nodes``, in file order), the partition (``partitions``), then the
cluster default ``accelerator``.
"""

from __future__ import annotations

import fnmatch
import os
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from fleetcarbon.errors import FleetcarbonError

__all__ = ["ClusterConfig", "ClusterConfigError", "load_cluster_config"]


class ClusterConfigError(FleetcarbonError):
    """The cluster config is unreadable, has unknown keys, or holds values of the wrong type."""


_SCALARS = ("name", "region", "datacenter", "timezone", "accelerator", "cpu")
_MAPPINGS = ("gres", "partitions", "nodes")
_GLOB_CHARS = frozenset("*?[")


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
    accelerator : str, optional
        Accelerator key for GPU jobs whose type nothing else resolves.
    cpu : str, optional
        CPU key given to every job (null means ``generic`` in :func:`fleetcarbon.estimate`).
    gres : dict of str to str
        Gres type (``a100`` in ``gres/gpu:a100=4``) to accelerator key.
    partitions : dict of str to str
        Partition name to accelerator key.
    nodes : dict of str to str
        Node-name prefix, or glob pattern (with ``*``, ``?`` or ``[``), to accelerator
        key; the first matching entry wins.
    """

    name: str | None = None
    region: str | None = None
    datacenter: str | None = None
    timezone: str = "UTC"
    accelerator: str | None = None
    cpu: str | None = None
    gres: dict[str, str] = field(default_factory=dict)
    partitions: dict[str, str] = field(default_factory=dict)
    nodes: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key in _SCALARS:
            value = getattr(self, key)
            if key == "timezone" and value is None:
                object.__setattr__(self, key, "UTC")
            elif value is not None and (not isinstance(value, str) or not value.strip()):
                raise ClusterConfigError(
                    f"cluster config '{key}' must be a non-empty string, got {value!r}"
                )
        for key in _MAPPINGS:
            value = getattr(self, key)
            if value is None:
                value = {}
            if not isinstance(value, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) and k and v for k, v in value.items()
            ):
                raise ClusterConfigError(
                    f"cluster config '{key}' must map non-empty strings to accelerator keys, "
                    f"got {value!r}"
                )
            object.__setattr__(self, key, dict(value))
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ClusterConfigError(
                f"cluster config 'timezone': unknown time zone {self.timezone!r} "
                "(use an IANA name such as 'Europe/Paris' or 'UTC')"
            ) from exc

    def node_accelerator(self, node: str | None) -> str | None:
        """Accelerator key of a node name from ``nodes`` (prefix or glob), or None."""
        if node is None:
            return None
        for pattern, key in self.nodes.items():
            if _GLOB_CHARS & set(pattern):
                if fnmatch.fnmatchcase(node, pattern):
                    return key
            elif node.startswith(pattern):
                return key
        return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        import tomllib  # type: ignore[import-not-found,unused-ignore]
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]
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
