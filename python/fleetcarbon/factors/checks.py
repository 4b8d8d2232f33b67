"""Validation of factor tables: structure, keys, links and factor domains.

Errors name the table, the column, the number of bad rows and the first keys.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection
from typing import TYPE_CHECKING

import polars as pl

from fleetcarbon.errors import (
    AbsurdValueWarning,
    InvalidValueError,
    MissingColumnError,
    SchemaError,
)
from fleetcarbon.factors.names import (
    GENERIC_CPU,
    GENERIC_DATACENTER,
    KEYED_TABLES,
    NULLABLE_FACTORS,
    columns_of,
    factors_of,
)
from fleetcarbon.schema import FACTOR_DOMAINS, Domain, table_column

if TYPE_CHECKING:
    from fleetcarbon.factors.tables import Factors


def check_tables(f: Factors, *, only: Collection[str] | None = None) -> None:
    """Validate table structure, keys, links, factor values and their bounds.

    Every factor value, and each of its ``_low``/``_high`` bounds where the
    table has them, must be a number in the factor's domain, with
    ``low <= value <= high``. Errors name the table, the column, the number of
    bad rows, the first row keys and the limit broken. ``only`` limits the
    per-row checks to these tables (the others were checked before); the
    links between tables are always checked.
    """
    for table in KEYED_TABLES:
        if only is not None and table not in only:
            continue
        frame = f.table(table)
        needed = ["key", *columns_of(table)]
        needed += {"regions": ["default_datacenter"], "datacenters": ["region"]}.get(table, [])
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise MissingColumnError(f"the {table} table lacks column(s) {missing}")
        _check_keys(frame, "key", f"{table}.key")
        for factor in factors_of(table):
            column = table_column(factor)
            required = factor not in NULLABLE_FACTORS
            bounds = (f"{column}_low", f"{column}_high")
            _check_factor(frame, factor, "key", column, bounds, table, required)
    if only is None or "defaults" in only:
        _check_defaults(f.defaults)
    if only is None and f.grid_history is not None:
        _check_history(f.grid_history)
    for table, key in (("datacenters", GENERIC_DATACENTER), ("cpus", GENERIC_CPU)):
        if key not in f.table(table)["key"].to_list():
            raise InvalidValueError(f"{table}.key", 1, f"no required '{key}' row")
    _check_link(f.datacenters, "region", f.regions, "datacenters.region", nullable=True)
    _check_link(f.regions, "default_datacenter", f.datacenters, "regions.default_datacenter")


def _check_history(history: pl.DataFrame) -> None:
    """Refuse past intensities that are not finite and >= 0, or that lack a year."""
    missing = [c for c in ("key", "year", "grid_kgco2e_per_kwh") if c not in history.columns]
    if missing:
        raise MissingColumnError(f"the grid_history table lacks column(s) {missing}")
    value = _numbers(history, "grid_kgco2e_per_kwh", "grid_history.grid_kgco2e_per_kwh")
    bad = value.is_null() | value.is_nan() | value.is_infinite() | (value < 0)
    bad |= history["year"].is_null()
    if bad.any():
        rows = history.filter(bad).select("key", "year", "grid_kgco2e_per_kwh")
        raise InvalidValueError(
            "grid_history.grid_kgco2e_per_kwh",
            rows.height,
            "values that are null, NaN, infinite or negative, or without a year "
            "(shown as (key, year, value))",
            rows.head(5).rows(),
        )


def _check_defaults(defaults: pl.DataFrame) -> None:
    for column in ("parameter", "value"):
        if column not in defaults.columns:
            raise MissingColumnError(f"the defaults table lacks column '{column}'")
    _check_keys(defaults, "parameter", "defaults.parameter")
    params = defaults["parameter"].to_list()
    unknown = sorted(set(params) - set(factors_of("defaults")))
    if unknown:
        raise InvalidValueError(
            "defaults.parameter", len(unknown), "unknown parameters", unknown[:5]
        )
    for factor in factors_of("defaults"):
        if factor not in params:
            raise MissingColumnError(f"the defaults table lacks parameter '{factor}'")
        row = defaults.filter(pl.col("parameter") == factor)
        _check_factor(row, factor, "parameter", "value", ("low", "high"), "defaults", True)


def _check_keys(frame: pl.DataFrame, column: str, label: str) -> None:
    keys = frame[column]
    bad = frame.filter(keys.is_duplicated() | keys.is_null())[column]
    if bad.len():
        shown = bad.unique(maintain_order=True).head(5).to_list()
        raise InvalidValueError(label, bad.len(), "null or duplicated keys", shown)


def _numbers(frame: pl.DataFrame, column: str, label: str) -> pl.Series:
    """Return the column as Float64; a column that is not numeric is a schema error."""
    series = frame[column]
    if not (series.dtype.is_numeric() or series.dtype == pl.Null):
        raise SchemaError(f"column '{label}' must be numeric, got {series.dtype}")
    return series.cast(pl.Float64)


def _check_factor(
    frame: pl.DataFrame,
    factor: str,
    key: str,
    column: str,
    bounds: tuple[str, str],
    table: str,
    required: bool,
) -> None:
    """Check a factor's values and bounds against its domain and each other."""
    label = f"{table}.{column}" if table != "defaults" else f"defaults.{factor}"
    domain = FACTOR_DOMAINS[factor]
    values = _numbers(frame, column, label)
    _check_in_domain(frame, key, values, domain, label, required, "values")
    low_col, high_col = bounds
    present = [b for b in bounds if b in frame.columns]
    if not present:
        _warn_implausible(frame, key, values, domain, label)
        return
    low = _numbers(frame, low_col, f"{label} low") if low_col in frame.columns else None
    high = _numbers(frame, high_col, f"{label} high") if high_col in frame.columns else None
    for name, series in ((low_col, low), (high_col, high)):
        if series is not None:
            where = f"{table}.{name}" if table != "defaults" else f"defaults.{factor}.{name}"
            _check_in_domain(frame, key, series, domain, where, False, "bounds")
    if low is not None and high is not None:
        one_sided = low.is_null() ^ high.is_null()
        if one_sided.any():
            bad = frame.filter(one_sided)
            raise InvalidValueError(
                label,
                bad.height,
                f"a {low_col} without a {high_col} or the other way round (give both or neither)",
                bad[key].head(5).to_list(),
            )
    lo = low if low is not None else values
    hi = high if high is not None else values
    unordered = ((lo > values) | (values > hi)).fill_null(False)
    if unordered.any():
        bad = frame.filter(unordered)
        examples = list(
            zip(
                bad[key].to_list(),
                zip(
                    lo.filter(unordered),
                    values.filter(unordered),
                    hi.filter(unordered),
                    strict=True,
                ),
                strict=True,
            )
        )[:5]
        raise InvalidValueError(
            label,
            bad.height,
            f"values outside their own bounds (need {low_col} <= value <= {high_col}; "
            "shown as (low, value, high); when you change a value, give its bounds too)",
            examples,
        )
    _warn_implausible(frame, key, values, domain, label)


def _check_in_domain(
    frame: pl.DataFrame,
    key: str,
    values: pl.Series,
    domain: Domain,
    label: str,
    required: bool,
    what: str,
) -> None:
    above = values > domain.low if not domain.low_inclusive else values >= domain.low
    ok = values.is_finite() & above & (values <= domain.high)
    bad = frame.filter(~ok.fill_null(not required))
    if bad.height:
        examples = list(
            zip(bad[key].to_list(), values.filter(~ok.fill_null(not required)), strict=True)
        )
        problem = f"{what} not {domain.describe()}" + ("" if not required else " or null")
        raise InvalidValueError(label, bad.height, problem, examples[:5])


def _warn_implausible(
    frame: pl.DataFrame, key: str, values: pl.Series, domain: Domain, label: str
) -> None:
    implausible = (values > domain.plausible_high).fill_null(False)
    if implausible.any():
        bad = frame.filter(implausible)
        examples = list(zip(bad[key], values.filter(implausible), strict=True))[:5]
        warnings.warn(
            f"{label}: {bad.height} values above {domain.plausible_high:g}, which is "
            f"implausible (a unit mistake?); first: {examples}",
            AbsurdValueWarning,
            stacklevel=6,
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
