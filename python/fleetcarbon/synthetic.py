"""A seeded synthetic fleet of job records, for the demo, tests and benchmarks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

__all__ = ["synthetic_fleet"]

# (accelerator key, share of accelerator jobs); keys must exist in the bundled tables.
_ACCELERATORS = (
    ("nvidia-h100-sxm5-80gb", 0.30),
    ("nvidia-a100-sxm4-80gb", 0.25),
    ("nvidia-a100-pcie-40gb", 0.10),
    ("nvidia-v100-sxm2-32gb", 0.10),
    ("nvidia-l4-24gb", 0.10),
    ("nvidia-t4-16gb", 0.05),
    ("amd-mi300x-192gb", 0.05),
    ("google-tpu-v4", 0.05),
)
# (datacenter key or None, region key): where the fleet runs.
_SITES = (
    ("aws", "aws:us-east-1"),
    ("aws", "aws:eu-west-1"),
    ("google", "gcp:us-central1"),
    ("google", "gcp:europe-west4"),
    ("azure", "azure:westeurope"),
    (None, "FR"),
    (None, "DE"),
    (None, "US"),
    (None, "PL"),
    (None, "SE"),
)
_TEAMS = ("ads", "search", "llm", "vision", "speech", "research", "infra", "recsys")
# phase: (share, log-mean hours, log-sd, max power-of-two exponent of the GPU count)
_PHASES = {
    "experimentation": (0.55, np.log(2.0), 1.2, 3),
    "training": (0.10, np.log(12.0), 1.3, 8),
    "inference": (0.35, np.log(24.0), 1.0, 4),
}


def synthetic_fleet(n: int, *, seed: int = 0, start: str = "2025-01-01") -> pl.DataFrame:
    """Generate ``n`` valid, realistic-looking job records.

    Parameters
    ----------
    n : int
        Number of jobs.
    seed : int, default 0
        Seed; the same seed gives the same fleet.
    start : str, default "2025-01-01"
        Start of the year over which jobs are spread (UTC).

    Returns
    -------
    pl.DataFrame
        Columns ``job_id`` (Int64), ``team``, ``phase``, ``accelerator``,
        ``accelerator_count``, ``cpu_cores``, ``memory_gb``, ``region``,
        ``datacenter``, ``start``, ``end`` (UTC), ``duration_h``, ``energy_kwh``
        (metered for ~10% of jobs) and ``avg_power_w`` (measured for ~10%).
        The label columns (team, phase and the keys) are ``pl.Categorical``, as
        low-cardinality labels of large fleets usually are; cast them to
        ``pl.String`` to test the string path.

    Notes
    -----
    Durations are lognormal per phase (heavy-tailed); accelerator counts are
    powers of two; ~10% of jobs are CPU-only.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = np.random.default_rng(seed)
    phase_names = list(_PHASES)
    phase = rng.choice(len(phase_names), size=n, p=[p[0] for p in _PHASES.values()])
    log_mean = np.array([p[1] for p in _PHASES.values()])[phase]
    log_sd = np.array([p[2] for p in _PHASES.values()])[phase]
    # Whole microseconds, capped at 60 days, so that start + duration is exact.
    duration_us = np.round(np.minimum(np.exp(rng.normal(log_mean, log_sd)), 24.0 * 60) * 3.6e9)
    max_exp = np.array([p[3] for p in _PHASES.values()])[phase]
    count = (2 ** np.floor(rng.random(n) * (max_exp + 1))).astype(np.int64)
    cpu_only = rng.random(n) < 0.10
    count[cpu_only] = 0
    accel = rng.choice(len(_ACCELERATORS), size=n, p=[w for _, w in _ACCELERATORS])
    site = rng.integers(0, len(_SITES), size=n)
    cores = np.where(cpu_only, 2 ** rng.integers(0, 7, size=n), count * 12).astype(np.int64)
    memory_gb = (cores * rng.choice([4.0, 8.0, 16.0], size=n)).astype(np.float64)
    start_us = (rng.random(n) * 365 * 24 * 3600e6).astype(np.int64)
    hours = duration_us / 3.6e9
    kind = rng.random(n)
    metered = (kind < 0.10) & ~cpu_only
    measured = (kind >= 0.10) & (kind < 0.20) & ~cpu_only
    # Meters read what the hardware draws: 40-100% of its TDP plus host share.
    watts = _accelerator_watts()[accel]
    energy = np.where(metered, count * hours * watts * rng.uniform(0.4, 1.0, n) / 1000, np.nan)
    power = np.where(measured, watts * rng.uniform(0.45, 1.0, n), np.nan)
    team = rng.integers(0, len(_TEAMS), size=n)

    def labels(values: Sequence[str | None], codes: np.ndarray) -> pl.Series:
        # Gather from a small Series: no per-row Python strings, no wide numpy unicode arrays.
        return pl.Series(values, dtype=pl.String).gather(codes).cast(pl.Categorical)

    origin = pl.lit(start).str.to_datetime(time_unit="us", time_zone="UTC")
    frame = pl.DataFrame(
        {
            "job_id": np.arange(1, n + 1, dtype=np.int64),
            "team": labels(list(_TEAMS), team),
            "phase": labels(phase_names, phase),
            "accelerator": labels([a for a, _ in _ACCELERATORS], accel),
            "accelerator_count": count,
            "cpu_cores": cores,
            "memory_gb": memory_gb,
            "region": labels([r for _, r in _SITES], site),
            "datacenter": labels([d for d, _ in _SITES], site),
            "__start_us": start_us,
            "__duration_us": duration_us.astype(np.int64),
            "duration_h": hours,
            "energy_kwh": energy,
            "avg_power_w": power,
        }
    )
    return frame.select(
        "job_id",
        "team",
        "phase",
        pl.when(pl.col("accelerator_count") > 0).then(pl.col("accelerator")).alias("accelerator"),
        "accelerator_count",
        "cpu_cores",
        "memory_gb",
        "region",
        "datacenter",
        (origin + pl.duration(microseconds=pl.col("__start_us"))).alias("start"),
        (origin + pl.duration(microseconds=pl.col("__start_us") + pl.col("__duration_us"))).alias(
            "end"
        ),
        "duration_h",
        pl.col("energy_kwh").fill_nan(None),
        pl.col("avg_power_w").fill_nan(None),
    )


def _accelerator_watts() -> np.ndarray:
    """TDP plus host share of each accelerator of the fleet, from the bundled tables."""
    from fleetcarbon.factors import bundled_factors

    table = bundled_factors().accelerators
    watts = dict(zip(table["key"], table["tdp_w"] + table["host_power_w"], strict=True))
    return np.array([watts[key] for key, _ in _ACCELERATORS], dtype=np.float64)
