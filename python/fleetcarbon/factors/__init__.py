"""The factor tables: loading, extending, validating, and resolving job keys to rows."""

from fleetcarbon.factors.bundled import bundled_factors, load_factors, resolve_factors
from fleetcarbon.factors.names import (
    GENERIC_CPU,
    GENERIC_DATACENTER,
    KEYED_TABLES,
    MISSING,
    NULLABLE_FACTORS,
    TABLE_NAMES,
    columns_of,
    factors_of,
)
from fleetcarbon.factors.series_data import bundled_grid_series
from fleetcarbon.factors.tables import Factors, TableLinks

__all__ = [
    "GENERIC_CPU",
    "GENERIC_DATACENTER",
    "KEYED_TABLES",
    "MISSING",
    "NULLABLE_FACTORS",
    "TABLE_NAMES",
    "Factors",
    "TableLinks",
    "bundled_factors",
    "bundled_grid_series",
    "columns_of",
    "factors_of",
    "load_factors",
    "resolve_factors",
]
