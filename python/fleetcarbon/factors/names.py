"""Names of the factor tables, the rows the engine relies on, and which factor lives where."""

from __future__ import annotations

from fleetcarbon import _core
from fleetcarbon.schema import FACTOR_NAMES, FACTOR_TABLE, table_column

#: Row index meaning "no row" (a null or unknown key).
MISSING: int = _core.MISSING

#: Row-keyed tables and the links between them.
KEYED_TABLES = ("accelerators", "cpus", "regions", "datacenters")
#: Factors that a table row may leave empty (null means "same as location-based").
NULLABLE_FACTORS = frozenset({"market_kgco2e_per_kwh"})
#: Every table of a Factors.
TABLE_NAMES = (*KEYED_TABLES, "defaults", "aliases", "sources")
#: Rows the engine relies on.
GENERIC_DATACENTER = "generic"
GENERIC_CPU = "generic"


def factors_of(table: str) -> list[str]:
    """Return the factors held by ``table``, in the core's order."""
    return [f for f in FACTOR_NAMES if FACTOR_TABLE[f] == table]


def columns_of(table: str) -> list[str]:
    """Return the columns of ``table`` that hold its factors."""
    return [table_column(f) for f in factors_of(table)]
