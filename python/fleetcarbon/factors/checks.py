"""Validation of factor tables: structure, keys, links and factor domains.

Errors name the table, the column, the number of bad rows and the first keys.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import polars as pl

from fleetcarbon.errors import AbsurdValueWarning, InvalidValueError, MissingColumnError
from fleetcarbon.factors.names import (
    GENERIC_CPU,
    GENERIC_DATACENTER,
    KEYED_TABLES,
    NULLABLE_FACTORS,
    columns_of,
    factors_of,
)
from fleetcarbon.schema import FACTOR_DOMAINS, table_column

if TYPE_CHECKING:
    from fleetcarbon.factors.tables import Factors


def check_tables(f: Factors) -> None:
    """Validate table structure and factor domains, naming table, column and keys."""
    for table in KEYED_TABLES:
        frame = f.table(table)
        needed = ["key", *columns_of(table)]
        needed += {"regions": ["default_datacenter"], "datacenters": ["region"]}.get(table, [])
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise MissingColumnError(f"the {table} table lacks column(s) {missing}")
        if frame["key"].null_count() or frame["key"].is_duplicated().any():
            dup = frame.filter(pl.col("key").is_duplicated() | pl.col("key").is_null())["key"]
            raise InvalidValueError(
                f"{table}.key", len(dup), "null or duplicated keys", dup.head(5).to_list()
            )
        for factor in factors_of(table):
            column = table_column(factor)
            required = factor not in NULLABLE_FACTORS
            _check_domain(frame, factor, column, f"{table}.{column}", required)
    params = f.defaults["parameter"].to_list()
    unknown = sorted(set(params) - set(factors_of("defaults")))
    if unknown:
        raise InvalidValueError(
            "defaults.parameter", len(unknown), "unknown parameters", unknown[:5]
        )
    for factor in factors_of("defaults"):
        if factor not in params:
            raise MissingColumnError(f"the defaults table lacks parameter '{factor}'")
        row = f.defaults.filter(pl.col("parameter") == factor).rename({"parameter": "key"})
        _check_domain(row, factor, "value", f"defaults.{factor}", True)
    for table, key in (("datacenters", GENERIC_DATACENTER), ("cpus", GENERIC_CPU)):
        if key not in f.table(table)["key"].to_list():
            raise InvalidValueError(f"{table}.key", 1, f"no required '{key}' row")
    _check_link(f.datacenters, "region", f.regions, "datacenters.region", nullable=True)
    _check_link(f.regions, "default_datacenter", f.datacenters, "regions.default_datacenter")


def _check_domain(
    frame: pl.DataFrame, factor: str, column: str, label: str, required: bool
) -> None:
    values = frame[column].cast(pl.Float64, strict=False)
    domain = FACTOR_DOMAINS[factor]
    above = values > domain.low if not domain.low_inclusive else values >= domain.low
    ok = values.is_finite() & above & (values <= domain.high)
    bad = frame.filter(~ok.fill_null(not required))
    if bad.height:
        examples = list(zip(bad["key"].to_list(), bad[column].to_list(), strict=True))[:5]
        problem = f"values not {domain.describe()}" + ("" if not required else " or null")
        raise InvalidValueError(label, bad.height, problem, examples)
    implausible = frame.filter(values > domain.plausible_high)
    if implausible.height:
        examples = list(zip(implausible["key"], implausible[column], strict=True))[:5]
        warnings.warn(
            f"{label}: {implausible.height} values above {domain.plausible_high:g}, which is "
            f"implausible (a unit mistake?); first: {examples}",
            AbsurdValueWarning,
            stacklevel=5,
        )


def _check_link(
    frame: pl.DataFrame,
    column: str,
    target: pl.DataFrame,
    label: str,
    *,
    nullable: bool = False,
) -> None:
    values = frame[column]
    known = values.is_in(target["key"].to_list())
    bad = frame.filter(~known.fill_null(nullable))
    if bad.height:
        raise InvalidValueError(
            label, bad.height, "keys with no row in the linked table", bad[column].head(5).to_list()
        )
