"""Canonical job-record columns, factor names, and their valid domains.

This module is the single place that names columns; everything else imports
from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from fleetcarbon import _core

JOB_ID = "job_id"
START, END, DURATION_H = "start", "end", "duration_h"
ACCELERATOR, ACCELERATOR_COUNT = "accelerator", "accelerator_count"
CPU, CPU_CORES, MEMORY_GB = "cpu", "cpu_cores", "memory_gb"
REGION, DATACENTER = "region", "datacenter"
ENERGY_KWH, AVG_POWER_W = "energy_kwh", "avg_power_w"
#: Used CPU time (sacct's TotalCPU), h: read under cpu_attribution="used".
CPU_TIME_H = "cpu_time_h"

#: Key columns and the factor table each one points into.
KEY_COLUMNS: dict[str, str] = {
    ACCELERATOR: "accelerators",
    CPU: "cpus",
    REGION: "regions",
    DATACENTER: "datacenters",
}

#: Numeric job columns (besides overrides), each >= 0 and finite where given.
QUANTITY_COLUMNS = (
    DURATION_H,
    ACCELERATOR_COUNT,
    CPU_CORES,
    MEMORY_GB,
    ENERGY_KWH,
    AVG_POWER_W,
    CPU_TIME_H,
)

#: Factor names in the core's order; each is also a per-job override column.
FACTOR_NAMES: tuple[str, ...] = tuple(_core.factor_names())

#: Table of each factor ("accelerators", "cpus", "regions", "datacenters", "defaults").
FACTOR_TABLE: dict[str, str] = dict(zip(FACTOR_NAMES, _core.factor_tables(), strict=True))

#: Column that holds a factor in its table, where it differs from the factor name.
#: (The accelerators table says ``embodied_kgco2e``, as the literature does; the
#: per-job override needs another name because ``embodied_kgco2e`` is an output.)
_TABLE_COLUMN_OVERRIDES = {"accelerator_embodied_kgco2e": "embodied_kgco2e"}


def table_column(factor: str) -> str:
    """Name of the table column that holds ``factor``."""
    return _TABLE_COLUMN_OVERRIDES.get(factor, factor)


#: Output columns appended by :func:`fleetcarbon.estimate`, in order.
OUTPUT_COLUMNS: tuple[str, ...] = ("power_basis", *_core.OUTPUT_COLUMNS, "factors_version")
#: Output columns of an estimate with grid series (docs/model.md §4.2).
GRID_OUTPUT_COLUMNS: tuple[str, ...] = (
    "grid_basis",
    "grid_kgco2e_per_kwh_effective",
    "grid_year",
    "grid_series_share",
)
#: Output columns of an estimate with CFE supply (docs/model.md §4.2, "Hourly CFE matching").
CFE_OUTPUT_COLUMNS: tuple[str, ...] = ("cfe_matched_kwh", "cfe_matched_share")

#: The float result columns (energy and carbon), in order.
RESULT_COLUMNS: tuple[str, ...] = tuple(_core.OUTPUT_COLUMNS)

POWER_BASIS_LABELS: tuple[str, ...] = tuple(_core.POWER_BASIS_LABELS)

HOURS_PER_YEAR: float = _core.HOURS_PER_YEAR


@dataclass(frozen=True)
class Domain:
    """Valid range of a factor, plus the range beyond which a value is implausible."""

    low: float
    high: float = float("inf")
    low_inclusive: bool = True
    plausible_high: float = float("inf")
    meaning: str = ""

    def describe(self) -> str:
        """Say the valid range in words, for error messages."""
        left = "[" if self.low_inclusive else "("
        right = "]" if self.high != float("inf") else ")"
        return f"in {left}{self.low:g}, {self.high:g}{right}"


#: Valid domain of each factor (table values and per-job overrides alike).
FACTOR_DOMAINS: dict[str, Domain] = {
    "tdp_w": Domain(0.0, plausible_high=3000.0),
    "host_power_w": Domain(0.0, plausible_high=5000.0),
    "accelerator_embodied_kgco2e": Domain(0.0, plausible_high=20000.0),
    "core_power_w": Domain(0.0, plausible_high=100.0),
    "core_embodied_kgco2e": Domain(0.0, plausible_high=1000.0),
    "grid_kgco2e_per_kwh": Domain(0.0, plausible_high=2.0),
    "market_kgco2e_per_kwh": Domain(0.0, plausible_high=2.0),
    "pue": Domain(1.0, plausible_high=3.0),
    "facility_embodied_fraction": Domain(0.0, 1.0),
    "power_fraction": Domain(0.0, 1.0),
    "lifetime_years": Domain(0.0, low_inclusive=False, plausible_high=30.0),
    "use_rate": Domain(0.0, 1.0, low_inclusive=False),
    "memory_power_w_per_gb": Domain(0.0, plausible_high=5.0),
    "memory_embodied_kgco2e_per_gb": Domain(0.0, plausible_high=10.0),
}

#: Implausibility thresholds of the job quantities (a warning, not an error).
QUANTITY_PLAUSIBLE_HIGH: dict[str, float] = {
    DURATION_H: 10 * HOURS_PER_YEAR,
    ACCELERATOR_COUNT: 1_000_000,
    CPU_CORES: 10_000_000,
    MEMORY_GB: 1e9,
    ENERGY_KWH: 1e10,
    AVG_POWER_W: 10_000,
    CPU_TIME_H: 1e12,
}

assert set(FACTOR_DOMAINS) == set(FACTOR_NAMES), "every factor needs a domain"
