"""Type stub of the native module ``fleetcarbon._core`` (Rust, PyO3).

CI checks this stub against the built extension with ``mypy.stubtest``.
"""

from collections.abc import Callable
from typing import TypeAlias, final

import numpy as np
import numpy.typing as npt

__all__ = [
    "DISTRIBUTION_FAMILIES",
    "HOURS_PER_YEAR",
    "MISSING",
    "OUTPUT_COLUMNS",
    "POWER_BASIS_LABELS",
    "QUANTILE_METHODS",
    "SIMULATED_METRICS",
    "UNIFORM_MAX",
    "UNIFORM_MIN",
    "CorrelationError",
    "DistributionError",
    "FleetcarbonError",
    "GridSeries",
    "InternalError",
    "Jobs",
    "KernelError",
    "Tables",
    "Uncertainty",
    "__version__",
    "_panic_for_tests",
    "describe_distribution",
    "distribution_quantiles",
    "estimate",
    "factor_names",
    "factor_tables",
    "grouped_sums",
    "max_threads",
    "modelled_energy",
    "normal_quantile",
    "quantiles",
    "record_keys",
    "running_sums",
    "scan_domains",
    "simulate",
    "simulate_scenarios",
    "simulation_bytes",
    "summarize_draws",
]

__version__: str
OUTPUT_COLUMNS: list[str]
POWER_BASIS_LABELS: list[str]
HOURS_PER_YEAR: float
MISSING: int
SIMULATED_METRICS: list[str]
#: Family name -> code of the core's distributions.
DISTRIBUTION_FAMILIES: dict[str, int]
#: Names of the quantile methods.
QUANTILE_METHODS: list[str]
#: The smallest and largest uniform variates the generator gives.
UNIFORM_MIN: float
UNIFORM_MAX: float

_F64: TypeAlias = npt.NDArray[np.float64]
_U32: TypeAlias = npt.NDArray[np.uint32]
_U64: TypeAlias = npt.NDArray[np.uint64]
_I64: TypeAlias = npt.NDArray[np.int64]
_Index: TypeAlias = int | _U32 | None
_DistSpec: TypeAlias = tuple[int, tuple[float, float, float, float]]
_Progress: TypeAlias = Callable[[int, int], object]

class FleetcarbonError(ValueError):
    """Base class of all fleetcarbon errors about input."""

class KernelError(FleetcarbonError):
    """The Rust core refused its input."""

    kind: str
    row: int | None
    column: str | None
    count: int | None

class DistributionError(FleetcarbonError):
    """A distribution's parameters are invalid."""

class CorrelationError(DistributionError):
    """A correlation specification that cannot hold."""

class InternalError(RuntimeError):
    """A bug in fleetcarbon: please report it."""

@final
class Tables:
    """The factor tables, converted once per ``Factors``."""

    def __new__(
        cls,
        *,
        values: dict[str, _F64],
        datacenter_region: _U32,
        region_default_datacenter: _U32,
        default_datacenter: int,
    ) -> Tables: ...
    def rows(self, table: str) -> int:
        """Return the number of rows of ``table``."""

@final
class GridSeries:
    """Intervals of constant grid intensity, series by series, with running integrals.

    Series ``k`` holds intervals ``offsets[k]:offsets[k + 1]``: sorted, non-empty,
    non-overlapping ``[starts, ends)`` in µs since the epoch (UTC), intensities
    finite and >= 0 (kgCO2e/kWh).
    """

    def __new__(cls, *, offsets: _U64, starts: _I64, ends: _I64, intensity: _F64) -> GridSeries: ...
    def intensities(
        self, series: _U32, start: _I64, end: _I64, annual: _F64, *, threads: int | None = None
    ) -> tuple[_F64, _F64, _F64, npt.NDArray[np.uint8]]:
        """Return each job's effective intensity, scale, covered share and coverage.

        The effective intensity is the time mean of the series over the window,
        ``annual`` for its uncovered hours (NaN without a series); the scale is
        effective ÷ annual (NaN unless annual > 0); coverage is 0 (the whole
        window), 1 (part) or 2 (none, or no series).
        """
    def cleanest_starts(
        self,
        series: _U32,
        start: _I64,
        end: _I64,
        annual: _F64,
        delay: _I64,
        *,
        threads: int | None = None,
    ) -> _I64:
        """Return each job's start in ``[start, start + delay]`` (µs) of least window carbon."""
    def __len__(self) -> int: ...

@final
class Jobs:
    """The numeric buffers of a call's jobs (NaN in optional columns: not given)."""

    def __new__(
        cls,
        *,
        duration_h: _F64,
        accelerator_count: _F64 | None = None,
        cpu_cores: _F64 | None = None,
        memory_gb: _F64 | None = None,
        energy_kwh: _F64 | None = None,
        avg_power_w: _F64 | None = None,
        accelerator: _Index = None,
        cpu: _Index = None,
        region: _Index = None,
        datacenter: _Index = None,
        overrides: dict[str, _F64] | None = None,
        core_usage: _F64 | None = None,
        grid_scale: _F64 | None = None,
        accelerator_host: str = "share",
    ) -> Jobs: ...
    def __len__(self) -> int: ...

@final
class Uncertainty:
    """Distributions of every factor row, the copula and the per-job noise of a run."""

    def __new__(
        cls,
        *,
        families: dict[str, npt.NDArray[np.uint8]],
        params: dict[str, _F64],
        keys: dict[str, _U64],
        pool: list[float] | None = None,
        copula: tuple[list[str], list[float]] | None = None,
        power_fraction_noise: _DistSpec | None = None,
        energy_noise: _DistSpec | None = None,
        power_noise: _DistSpec | None = None,
        override_bounds: dict[str, tuple[_F64, _F64]] | None = None,
        mixtures: list[tuple[str, int, list[int], list[float]]] | None = None,
        resample_noise: tuple[bool, bool, bool] = ...,
    ) -> Uncertainty: ...

def estimate(
    jobs: Jobs,
    tables: Tables,
    *,
    threads: int | None = None,
    progress: _Progress | None = None,
) -> tuple[npt.NDArray[np.uint8], list[_F64]]:
    """Per-job estimate: ``(power basis codes, the 8 output columns)``."""

def modelled_energy(jobs: Jobs, tables: Tables, *, threads: int | None = None) -> _F64:
    """Return each job's IT energy under the modelled basis, ignoring its meters."""

def simulate(
    jobs: Jobs,
    tables: Tables,
    uncertainty: Uncertainty,
    *,
    job_keys: _U64,
    group: _U32,
    n_groups: int,
    seed: int,
    draws: int,
    first_draw: int = 0,
    per_job_quantiles: list[float] | None = None,
    quantile_method: str = "linear",
    threads: int | None = None,
    progress: _Progress | None = None,
) -> tuple[_F64, _F64 | None, _F64 | None]:
    """Run the Monte Carlo: ``(group draws [group, metric, draw], job means, job quantiles)``."""

def simulate_scenarios(
    jobs: Jobs,
    tables: list[Tables],
    uncertainties: list[Uncertainty],
    *,
    job_keys: _U64,
    group: _U32,
    n_groups: int,
    seed: int,
    draws: int,
    first_draw: int = 0,
    points: bool = False,
    threads: int | None = None,
    progress: _Progress | None = None,
) -> tuple[list[_F64], list[_F64] | None]:
    """Run the Monte Carlo of each (tables, uncertainty) scenario on the same jobs.

    Common random numbers, the jobs reduced once; every scenario must use the
    same table rows for every job. One ``[group, metric, draw]`` array each and,
    with ``points``, one ``[group, metric]`` array of deterministic totals each.
    """

def simulation_bytes(
    jobs: Jobs,
    tables: Tables,
    uncertainty: Uncertainty,
    *,
    job_keys: _U64,
    group: _U32,
    n_groups: int,
    draws: int,
    per_job_quantiles: list[float] | None = None,
) -> int:
    """Return the bytes ``simulate`` would hold at its peak for these arguments."""

def grouped_sums(
    group: _U32,
    n_groups: int,
    columns: list[_F64],
    *,
    threads: int | None = None,
) -> list[_F64]:
    """Compensated per-group sums in a fixed order: ``sums[column][group]``."""

def running_sums(values: _F64) -> _F64:
    """Return running compensated (Neumaier) sums: ``out[i]`` sums ``values[: i + 1]``."""

def scan_domains(
    columns: list[_F64],
    domains: list[tuple[float, float, bool, bool, float]],
    *,
    threads: int | None = None,
) -> list[tuple[int, int, int]]:
    """Count ``(nan, invalid, implausible)`` values per column."""

def quantiles(values: _F64, qs: list[float], *, method: str = "linear") -> _F64:
    """Return the ``qs``-quantiles of ``values``."""

def summarize_draws(
    draws: _F64, n: int, qs: list[float], *, method: str = "linear"
) -> tuple[_F64, _F64, _F64, _F64]:
    """``(mean, std, quantiles, quantile standard errors)`` of each row of ``draws`` (rows × n)."""

def record_keys(ids: npt.NDArray[np.int64] | list[str]) -> _U64:
    """Stable 64-bit keys of record ids (integers mixed, strings FNV-1a hashed)."""

def distribution_quantiles(
    family: int,
    params: tuple[float, float, float, float],
    qs: list[float],
    samples: list[float] | None = None,
) -> list[float]:
    """Return the distribution's inverse CDF at each of ``qs`` (each in (0, 1))."""

def describe_distribution(
    family: int, params: tuple[float, float, float, float], samples: list[float] | None = None
) -> tuple[float, float, float, float, float]:
    """``(mean, support low, support high, drawn low, drawn high)``, after checking."""

def normal_quantile(p: float) -> float:
    """Return the standard normal quantile, as the samplers compute it."""

def factor_names() -> list[str]:
    """Factor names in the core's order."""

def factor_tables() -> list[str]:
    """Table of each factor, aligned with :func:`factor_names`."""

def max_threads() -> int:
    """Return the largest ``threads`` accepted."""

def _panic_for_tests(message: str) -> None:
    """Panic inside a core call (tests of the conversion to ``InternalError``)."""
