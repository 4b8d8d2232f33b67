"""Reading job records: Slurm ``sacct`` output, and CSV or Parquet files."""

from __future__ import annotations

from fleetcarbon.io.cluster import ClusterConfig, load_cluster_config
from fleetcarbon.io.jobs import read_jobs, scan_jobs
from fleetcarbon.io.sacct import read_sacct

__all__ = ["ClusterConfig", "load_cluster_config", "read_jobs", "read_sacct", "scan_jobs"]
