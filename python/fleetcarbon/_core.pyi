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
