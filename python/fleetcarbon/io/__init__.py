"""Reading job records: scheduler logs (Slurm sacct, PBS/Torque, SWF), CodeCarbon, CSV, Parquet.

And hourly grid carbon intensity series (Electricity Maps, EIA-930, long form):
:func:`read_grid_series`.

Every reader takes compressed files (gzip, zstd, bzip2, xz) as they come, told
by their content; see :mod:`fleetcarbon.io.compression`.
"""

from __future__ import annotations

from fleetcarbon.io.cluster import ClusterConfig, ClusterConfigError, GpuSpec, load_cluster_config
from fleetcarbon.io.codecarbon import read_codecarbon
from fleetcarbon.io.detect import detect_format
from fleetcarbon.io.grid_series import read_grid_series
from fleetcarbon.io.jobs import read_jobs, scan_jobs
from fleetcarbon.io.pbs import read_pbs
from fleetcarbon.io.sacct import (
    InferredGpusWarning,
    MemoryUnits,
    MissingGresWarning,
    UnmappedAcceleratorWarning,
    read_sacct,
)
from fleetcarbon.io.swf import SwfHeader, read_swf, read_swf_header

__all__ = [
    "ClusterConfig",
    "ClusterConfigError",
    "GpuSpec",
    "InferredGpusWarning",
    "MemoryUnits",
    "MissingGresWarning",
    "SwfHeader",
    "UnmappedAcceleratorWarning",
    "detect_format",
    "load_cluster_config",
    "read_codecarbon",
    "read_grid_series",
    "read_jobs",
    "read_pbs",
    "read_sacct",
    "read_swf",
    "read_swf_header",
    "scan_jobs",
]
