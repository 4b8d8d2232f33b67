"""Type stub of the native module ``fleetcarbon._core`` (Rust, PyO3)."""

import numpy as np
import numpy.typing as npt

__version__: str
OUTPUT_COLUMNS: list[str]
POWER_BASIS_LABELS: list[str]
HOURS_PER_YEAR: float
MISSING: int

def estimate(
    *,
    duration_h: npt.NDArray[np.float64],
    accelerator_count: npt.NDArray[np.float64] | None,
    cpu_cores: npt.NDArray[np.float64] | None,
    memory_gb: npt.NDArray[np.float64] | None,
    energy_kwh: npt.NDArray[np.float64] | None,
    avg_power_w: npt.NDArray[np.float64] | None,
    accelerator: int | npt.NDArray[np.uint32],
    cpu: int | npt.NDArray[np.uint32],
    region: int | npt.NDArray[np.uint32],
    datacenter: int | npt.NDArray[np.uint32],
    overrides: dict[str, npt.NDArray[np.float64]],
    table_values: dict[str, npt.NDArray[np.float64]],
    datacenter_region: npt.NDArray[np.uint32],
    region_default_datacenter: npt.NDArray[np.uint32],
    default_datacenter: int,
    threads: int | None = None,
) -> tuple[npt.NDArray[np.uint8], list[npt.NDArray[np.float64]]]:
    """Per-job estimate; NaN in optional columns and overrides means "not given"."""

def grouped_sums(
    group: npt.NDArray[np.uint32],
    n_groups: int,
    columns: list[npt.NDArray[np.float64]],
    *,
    threads: int | None = None,
) -> list[npt.NDArray[np.float64]]:
    """Compensated per-group sums in a fixed order: ``sums[column][group]``."""

def scan_domains(
    columns: list[npt.NDArray[np.float64]],
    domains: list[tuple[float, float, bool, bool, float]],
    *,
    threads: int | None = None,
) -> list[tuple[int, int, int]]:
    """Count ``(nan, invalid, implausible)`` values per column.

    Each domain is ``(low, high, low_inclusive, whole, plausible_high)``.
    """

def factor_names() -> list[str]:
    """Factor names in the core's order."""

def factor_tables() -> list[str]:
    """Table of each factor, aligned with :func:`factor_names`."""

SIMULATED_METRICS: list[str]

def simulate(
    *,
    duration_h: npt.NDArray[np.float64],
    accelerator_count: npt.NDArray[np.float64] | None,
    cpu_cores: npt.NDArray[np.float64] | None,
    memory_gb: npt.NDArray[np.float64] | None,
    energy_kwh: npt.NDArray[np.float64] | None,
    avg_power_w: npt.NDArray[np.float64] | None,
    accelerator: int | npt.NDArray[np.uint32],
    cpu: int | npt.NDArray[np.uint32],
    region: int | npt.NDArray[np.uint32],
    datacenter: int | npt.NDArray[np.uint32],
    overrides: dict[str, npt.NDArray[np.float64]],
    table_values: dict[str, npt.NDArray[np.float64]],
    datacenter_region: npt.NDArray[np.uint32],
    region_default_datacenter: npt.NDArray[np.uint32],
    default_datacenter: int,
    dist_families: dict[str, npt.NDArray[np.uint8]],
    dist_params: dict[str, npt.NDArray[np.float64]],
    row_keys: dict[str, npt.NDArray[np.uint64]],
    job_keys: npt.NDArray[np.uint64],
    group: npt.NDArray[np.uint32],
    n_groups: int,
    seed: int,
    draws: int,
    first_draw: int = 0,
    power_fraction_noise: tuple[int, tuple[float, float, float, float]] | None = None,
    energy_noise: tuple[int, tuple[float, float, float, float]] | None = None,
    power_noise: tuple[int, tuple[float, float, float, float]] | None = None,
    override_bounds: dict[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]]
    | None = None,
    per_job_quantiles: list[float] | None = None,
    pool: npt.NDArray[np.float64] | None = None,
    copula: tuple[list[str], list[float]] | None = None,
    threads: int | None = None,
) -> tuple[
    npt.NDArray[np.float64],
    npt.NDArray[np.float64] | None,
    npt.NDArray[np.float64] | None,
]:
    """Run the Monte Carlo: ``(group draws [group, metric, draw], job means, job quantiles)``.

    ``copula`` is ``(factor names, row-major matrix of Spearman rank
    correlations)``: the diagonal holds each factor's within-factor value (1 for
    a factor of one row), the rest the value between rows of two factors.
    """

def record_keys(ids: npt.NDArray[np.int64] | list[str]) -> npt.NDArray[np.uint64]:
    """Stable 64-bit keys of record ids (integers mixed, strings FNV-1a hashed)."""

def rng_fma_floor(jobs: int, draws: int, *, threads: int | None = None) -> float:
    """Benchmark helper: the bare keyed-RNG plus FMA loop over ``jobs × draws``."""
