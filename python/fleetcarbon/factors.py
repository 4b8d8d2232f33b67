"""The factor tables: loading, extending, and resolving job keys to table rows."""

from __future__ import annotations

import difflib
import warnings
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources

import numpy as np
import polars as pl

from fleetcarbon import _core
from fleetcarbon.errors import (
    AbsurdValueWarning,
    InvalidValueError,
    MissingColumnError,
    SchemaError,
    UnknownKeyError,
)
from fleetcarbon.schema import FACTOR_DOMAINS, FACTOR_NAMES, FACTOR_TABLE, table_column

__all__ = ["Factors", "load_factors"]

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


def _factors_of(table: str) -> list[str]:
    return [f for f in FACTOR_NAMES if FACTOR_TABLE[f] == table]


def _columns_of(table: str) -> list[str]:
    return [table_column(f) for f in _factors_of(table)]


@dataclass(frozen=True)
class Factors:
    """The factor tables used by :func:`fleetcarbon.estimate`.

    Get the bundled tables with :func:`load_factors`; derive a modified copy with
    :meth:`with_rows`. Each table is a Polars frame; see ``docs/factors.md`` for
    their columns, sources and bounds.

    Attributes
    ----------
    accelerators, cpus, regions, datacenters : pl.DataFrame
        Keyed tables (column ``key``).
    defaults : pl.DataFrame
        Global parameters, one row per ``parameter``.
    aliases : pl.DataFrame
        ``alias, table, key``: other spellings of keys, matched case-insensitively.
    sources : pl.DataFrame
        Bibliography: ``source_id, title, publisher, url, year, licence``.
    version : str
        Dataset version; ``+user`` is appended once rows are overridden.
    grid_history : pl.DataFrame or None
        Past annual grid intensities per region (``key, year,
        grid_kgco2e_per_kwh, source, basis, licence, note``), for reference;
        estimates use the current values in ``regions``.
    """

    accelerators: pl.DataFrame
    cpus: pl.DataFrame
    regions: pl.DataFrame
    datacenters: pl.DataFrame
    defaults: pl.DataFrame
    aliases: pl.DataFrame
    sources: pl.DataFrame
    version: str
    grid_history: pl.DataFrame | None = None
    _checked: bool = field(default=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self._checked:
            _check_tables(self)

    def table(self, name: str) -> pl.DataFrame:
        """Return the table called ``name`` (e.g. ``"accelerators"``)."""
        if name not in (*TABLE_NAMES, "grid_history"):
            raise SchemaError(f"no factor table named {name!r}")
        frame: pl.DataFrame | None = getattr(self, name)
        if frame is None:
            raise SchemaError(f"these factors have no {name!r} table")
        return frame

    def with_rows(
        self,
        *,
        accelerators: pl.DataFrame | None = None,
        cpus: pl.DataFrame | None = None,
        regions: pl.DataFrame | None = None,
        datacenters: pl.DataFrame | None = None,
        defaults: pl.DataFrame | None = None,
    ) -> Factors:
        """Return a copy with rows added or replaced (upsert by ``key``).

        Parameters
        ----------
        accelerators, cpus, regions, datacenters : pl.DataFrame, optional
            Rows with a ``key`` column and any of the table's columns. A key that
            exists is updated column by column (nulls keep the old value); a new
            key is added and must give every factor of its table.
        defaults : pl.DataFrame, optional
            Rows ``parameter, value`` (plus optional ``low, high, source``...)
            replacing global parameters.

        Returns
        -------
        Factors
            A new, validated set of tables whose version ends in ``+user``.
        """
        updates = {"accelerators": accelerators, "cpus": cpus, "regions": regions}
        updates["datacenters"] = datacenters
        tables = {name: self.table(name) for name in KEYED_TABLES}
        for name, frame in updates.items():
            if frame is not None:
                tables[name] = _upsert(tables[name], frame, key="key", table=name)
        new_defaults = self.defaults
        if defaults is not None:
            new_defaults = _upsert(self.defaults, defaults, key="parameter", table="defaults")
        version = self.version if self.version.endswith("+user") else f"{self.version}+user"
        return Factors(
            **tables,
            defaults=new_defaults,
            aliases=self.aliases,
            sources=self.sources,
            version=version,
            grid_history=self.grid_history,
        )

    # -- engine view -----------------------------------------------------------------

    @cached_property
    def _lookups(self) -> dict[str, pl.DataFrame]:
        """Per table: ``name -> row`` for canonical keys and aliases (exact spelling)."""
        out = {}
        for table in KEYED_TABLES:
            keys = self.table(table)["key"]
            rows = pl.DataFrame({"name": keys, "row": np.arange(len(keys), dtype=np.uint32)})
            alias = (
                self.aliases.filter(pl.col("table") == table)
                .join(rows.rename({"name": "key"}), on="key", how="inner")
                .select(pl.col("alias").alias("name"), "row")
            )
            out[table] = pl.concat([rows, alias]).unique("name", keep="first", maintain_order=True)
        return out

    @cached_property
    def _lookups_lower(self) -> dict[str, pl.DataFrame]:
        return {
            t: f.with_columns(pl.col("name").str.to_lowercase()).unique(
                "name", keep="first", maintain_order=True
            )
            for t, f in self._lookups.items()
        }

    def key_to_row(self, column: str, table: str) -> pl.Expr:
        """Map a key column to its table row by exact spelling (UInt32; null if unknown)."""
        lookup = self._lookups[table]
        return (
            pl.col(column)
            .cast(pl.String)
            .replace_strict(lookup["name"], lookup["row"], default=None, return_dtype=pl.UInt32)
            .alias(column)
        )

    def folded_key_to_row(self, column: str, table: str) -> pl.Expr:
        """Like :meth:`key_to_row`, ignoring case (slower: only for keys that missed)."""
        lower = self._lookups_lower[table]
        return (
            pl.col(column)
            .cast(pl.String)
            .str.to_lowercase()
            .replace_strict(lower["name"], lower["row"], default=None, return_dtype=pl.UInt32)
            .alias(column)
        )

    def unknown_key_error(self, column: str, table: str, unknown: pl.Series) -> UnknownKeyError:
        """Build the error for unknown keys, with close-match suggestions."""
        names = self._lookups[table]["name"].to_list()
        distinct = unknown.cast(pl.String).unique(maintain_order=True)
        shown = distinct.head(5).to_list()
        suggestions = {
            k: difflib.get_close_matches(str(k), names, n=3, cutoff=0.5)
            or difflib.get_close_matches(str(k).lower(), [n.lower() for n in names], n=3)
            for k in shown
        }
        return UnknownKeyError(column, table, len(unknown), shown, suggestions)

    @cached_property
    def engine_tables(self) -> dict[str, object]:
        """Keyword arguments for ``_core.estimate`` that describe the tables."""
        values: dict[str, np.ndarray] = {}
        for table in KEYED_TABLES:
            frame = self.table(table)
            for f in _factors_of(table):
                values[f] = (
                    frame[table_column(f)]
                    .cast(pl.Float64)
                    .fill_null(float("nan"))
                    .to_numpy()
                    .astype(np.float64)
                )
        params = dict(zip(self.defaults["parameter"], self.defaults["value"], strict=True))
        for f in _factors_of("defaults"):
            values[f] = np.array([float(params[f])], dtype=np.float64)
        region_rows = self._lookups["regions"].head(self.regions.height)
        dc_rows = self._lookups["datacenters"].head(self.datacenters.height)
        dc_region = (
            self.datacenters.select(
                pl.col("region").replace_strict(
                    region_rows["name"], region_rows["row"], default=None, return_dtype=pl.UInt32
                )
            )
            .to_series()
            .fill_null(MISSING)
            .to_numpy()
            .astype(np.uint32)
        )
        region_dc = (
            self.regions.select(
                pl.col("default_datacenter").replace_strict(
                    dc_rows["name"], dc_rows["row"], default=None, return_dtype=pl.UInt32
                )
            )
            .to_series()
            .to_numpy()
            .astype(np.uint32)
        )
        generic = self.datacenters["key"].to_list().index(GENERIC_DATACENTER)
        return {
            "table_values": values,
            "datacenter_region": np.ascontiguousarray(dc_region),
            "region_default_datacenter": np.ascontiguousarray(region_dc),
            "default_datacenter": generic,
        }

    @cached_property
    def generic_cpu_row(self) -> int:
        """Row of the ``generic`` CPU, used for jobs that name no CPU."""
        return self.cpus["key"].to_list().index(GENERIC_CPU)


def _upsert(old: pl.DataFrame, new: pl.DataFrame, *, key: str, table: str) -> pl.DataFrame:
    if key not in new.columns:
        raise MissingColumnError(f"rows for the {table} table need a '{key}' column")
    extra = sorted(set(new.columns) - set(old.columns))
    if extra:
        raise SchemaError(f"the {table} table has no column(s) {extra}")
    if new[key].is_duplicated().any():
        dup = new.filter(pl.col(key).is_duplicated())[key].unique().head(5).to_list()
        raise InvalidValueError(key, len(dup), f"duplicated keys in the new {table} rows", dup)
    new = new.select([pl.col(c).cast(old.schema[c]) for c in new.columns])
    cols = [c for c in new.columns if c != key]
    merged = (
        old.with_row_index("__order")
        .join(new, on=key, how="left", suffix="__new")
        .with_columns([pl.coalesce(f"{c}__new", c).alias(c) for c in cols])
        .sort("__order")
        .select(old.columns)
    )
    added = new.filter(~pl.col(key).is_in(old[key].to_list()))
    return pl.concat([merged, added], how="diagonal_relaxed").select(old.columns)


def _check_tables(f: Factors) -> None:
    """Validate table structure and factor domains, naming table, column and keys."""
    for table in KEYED_TABLES:
        frame = f.table(table)
        needed = ["key", *_columns_of(table)]
        needed += {"regions": ["default_datacenter"], "datacenters": ["region"]}.get(table, [])
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise MissingColumnError(f"the {table} table lacks column(s) {missing}")
        if frame["key"].null_count() or frame["key"].is_duplicated().any():
            dup = frame.filter(pl.col("key").is_duplicated() | pl.col("key").is_null())["key"]
            raise InvalidValueError(
                f"{table}.key", len(dup), "null or duplicated keys", dup.head(5).to_list()
            )
        for factor in _factors_of(table):
            column = table_column(factor)
            required = factor not in NULLABLE_FACTORS
            _check_domain(frame, factor, column, f"{table}.{column}", required)
    params = f.defaults["parameter"].to_list()
    unknown = sorted(set(params) - set(_factors_of("defaults")))
    if unknown:
        raise InvalidValueError(
            "defaults.parameter", len(unknown), "unknown parameters", unknown[:5]
        )
    for factor in _factors_of("defaults"):
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


def _data_file(name: str) -> str:
    return str(resources.files("fleetcarbon") / "data" / name)


@lru_cache(maxsize=1)
def bundled_factors() -> Factors:
    """Load the bundled tables once per process; the result is shared (do not modify it)."""
    frames = {
        name: pl.read_csv(_data_file(f"{name}.csv"), infer_schema_length=None)
        for name in TABLE_NAMES
    }
    for table in KEYED_TABLES:
        frames[table] = frames[table].with_columns(
            [pl.col(c).cast(pl.Float64) for c in _columns_of(table)]
        )
    frames["defaults"] = frames["defaults"].with_columns(pl.col("value").cast(pl.Float64))
    history = pl.read_csv(_data_file("grid_history.csv"), infer_schema_length=None)
    with open(_data_file("VERSION"), encoding="utf-8") as fh:
        version = fh.read().strip()
    return Factors(**frames, version=version, grid_history=history)


def load_factors() -> Factors:
    """Load the bundled, cited factor tables.

    Returns
    -------
    Factors
        The tables as Polars frames, with the dataset version. Use
        :meth:`Factors.with_rows` to override or extend them.

    Examples
    --------
    >>> import fleetcarbon as fc
    >>> f = fc.load_factors()
    >>> f.accelerators.filter(key="nvidia-h100-sxm5-80gb")["tdp_w"].item()
    700.0
    """
    shared = bundled_factors()
    # A copy, so that editing a returned frame in place cannot change the shared tables.
    frames = {name: shared.table(name).clone() for name in TABLE_NAMES}
    history = shared.grid_history.clone() if shared.grid_history is not None else None
    return Factors(**frames, version=shared.version, grid_history=history, _checked=True)
