"""The :class:`Factors` tables: one frame per table, with cited values and bounds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import polars as pl

from fleetcarbon import _core
from fleetcarbon.errors import InvalidValueError, MissingColumnError, NotAFrameError, SchemaError
from fleetcarbon.factors.cfe_supply import CfeSupply, build_cfe_supply
from fleetcarbon.factors.checks import check_tables
from fleetcarbon.factors.grid_series import GridSeries, build_grid_series
from fleetcarbon.factors.keys import KeyIndex
from fleetcarbon.factors.mixes import Mix, append_mix_rows
from fleetcarbon.factors.names import (
    GENERIC_CPU,
    GENERIC_DATACENTER,
    KEYED_TABLES,
    MISSING,
    TABLE_NAMES,
    factors_of,
)
from fleetcarbon.power_profiles import check_profile_table
from fleetcarbon.schema import table_column

__all__ = ["Factors", "TableLinks"]

#: How many extended copies (:meth:`Factors.with_mixes`) a Factors remembers.
_MIX_CACHE_SIZE = 16


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
        grid_kgco2e_per_kwh, source, basis, licence, note``): with
        ``grid_year="job"`` a job is charged its year's value from these and
        the ``regions`` row (docs/model.md §4.2, "The year of the grid").
    mixes : tuple of Mix
        Rows of ``accelerators`` and ``cpus`` that stand for a mix of other rows
        (keys ``mix:KEY=WEIGHT,...``, :mod:`fleetcarbon.factors.mixes`); added by
        ``estimate`` and ``simulate`` for the mix keys the jobs name.
    grid_series : GridSeries or None
        Time-resolved grid intensity by region (:meth:`with_grid_series`).
    power_profiles : Mapping of str to tuple of float
        Named per-job power profiles (:meth:`with_power_profiles`).
    cfe_supply : CfeSupply or None
        Contracted carbon-free energy by datacenter or region and interval
        (:meth:`with_cfe_supply`), matched hourly in ``estimate``.
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
    mixes: tuple[Mix, ...] = ()
    grid_series: GridSeries | None = None
    power_profiles: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    cfe_supply: CfeSupply | None = None
    _checked: bool = field(default=False, repr=False, compare=False)
    _with_mixes: dict[tuple[str, ...], Factors] = field(
        default_factory=dict, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if not self._checked:
            check_tables(self)

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

        Notes
        -----
        A ``regions`` row whose ``grid_kgco2e_per_kwh`` is replaced without a
        ``year`` becomes undated and stands for every year: its year is cleared
        and the region's ``grid_history`` rows are dropped, so that
        ``grid_year="job"`` charges the new value to jobs of any year. Giving a
        ``year`` too adds a data point and keeps the history.
        """
        updates = {"accelerators": accelerators, "cpus": cpus, "regions": regions}
        updates["datacenters"] = datacenters
        # Mix rows are derived from their parts: the next run derives them again.
        mixed = [m.key for m in self.mixes]
        tables = {
            name: self.table(name).filter(~pl.col("key").is_in(mixed))
            if mixed
            else self.table(name)
            for name in KEYED_TABLES
        }
        for name, frame in updates.items():
            if frame is not None:
                tables[name] = _upsert(tables[name], frame, key="key", table=name)
        undated = _undated_grid_keys(regions)
        history = self.grid_history
        if undated:
            tables["regions"] = tables["regions"].with_columns(
                pl.when(pl.col("key").is_in(undated))
                .then(None)
                .otherwise(pl.col("year"))
                .alias("year")
            )
            if history is not None:
                history = history.filter(~pl.col("key").is_in(undated))
        new_defaults = self.defaults
        if defaults is not None:
            new_defaults = _upsert(self.defaults, defaults, key="parameter", table="defaults")
        version = self.version if self.version.endswith("+user") else f"{self.version}+user"
        changed = [name for name, frame in updates.items() if frame is not None]
        if defaults is not None:
            changed.append("defaults")
        updated = Factors(
            accelerators=tables["accelerators"],
            cpus=tables["cpus"],
            regions=tables["regions"],
            datacenters=tables["datacenters"],
            defaults=new_defaults,
            aliases=self.aliases,
            sources=self.sources,
            version=version,
            grid_history=history,
            grid_series=self.grid_series,
            power_profiles=self.power_profiles,
            cfe_supply=self.cfe_supply,
            _checked=True,
        )
        # The tables not given were checked when ``self`` was built.
        check_tables(updated, only=changed)
        self._share_key_caches(updated)
        return updated

    def has_same_rows(self, other: Factors) -> bool:
        """Whether ``other`` has these keys, in the same order, and the same links.

        Then every job resolves to the same table rows under both (only values,
        bounds and distributions may differ).
        """
        for name in KEYED_TABLES:
            if not other.table(name)["key"].equals(self.table(name)["key"]):
                return False
        linked = (("regions", "default_datacenter"), ("datacenters", "region"))
        return all(other.table(t)[c].equals(self.table(t)[c]) for t, c in linked)

    def _share_key_caches(self, other: Factors) -> None:
        """Give ``other`` this key index and these links when its keys and links are the same.

        A copy that only changes values (a what-if PUE, a lifetime) then resolves
        keys and builds its engine tables without redoing the key index.
        """
        if "keys" not in self.__dict__ or other.aliases is not self.aliases:
            return
        if not self.has_same_rows(other):
            return
        # cached_property stores in the instance dict, which a frozen dataclass allows.
        other.__dict__["keys"] = self.keys
        if "links" in self.__dict__:
            other.__dict__["links"] = self.links

    def with_grid_series(
        self,
        series: pl.DataFrame | pl.LazyFrame,
        *,
        source: str | None = None,
        basis: str | None = None,
    ) -> Factors:
        """Return a copy that carries time-resolved grid intensity.

        ``estimate`` then charges each job with a run window (``start`` and
        ``end``, or ``start`` and ``duration_h``) in a region with a series the
        time mean of the series over its window, power being flat over the
        window; uncovered hours keep the region's annual value (docs/model.md
        §4.2, "Grid series").

        Parameters
        ----------
        series : pl.DataFrame or pl.LazyFrame
            Long form, one row per interval: ``region`` (a key or alias of the
            regions table), ``start`` (time-zone-aware Datetime, the interval's
            start), ``kgco2e_per_kwh``, optional ``end`` (else each region's most
            common step, 5 minutes to 1 day), optional ``source`` and ``basis``
            columns. Several regions may be given; unsorted input is sorted.
        source : str, optional
            The series' source, for provenance (default: a ``source`` column,
            else ``"user"``).
        basis : {"lifecycle", "direct"}, optional
            The accounting basis (default: a ``basis`` column, else
            ``"unknown"``). A :class:`GridBasisWarning` says when it differs from
            the region row's.

        Returns
        -------
        Factors
            A copy with the series added to those already carried.

        Raises
        ------
        fleetcarbon.errors.FleetcarbonError
            For a missing column, a naive time, an unknown region, a null,
            negative or NaN value, duplicated or overlapping intervals, naming
            the region and time. Gaps give a :class:`GridSeriesGapWarning`;
            values over 2 kg/kWh a :class:`~fleetcarbon.errors.UnitWarning`.
        """
        built = build_grid_series(self, series, source=source, basis=basis)
        return replace(self, grid_series=built, _checked=True, _with_mixes={})

    def with_cfe_supply(
        self, supply: pl.DataFrame | pl.LazyFrame, *, source: str | None = None
    ) -> Factors:
        """Return a copy that carries contracted carbon-free energy (CFE), for hourly matching.

        ``estimate`` then matches, in each interval of the supply, the energy
        the jobs of the call draw in that datacenter (or region) pro rata
        against the supply: the matched part is carbon-free, the rest keeps
        the market-based intensity (``operational_market_kgco2e``), and
        ``cfe_matched_kwh`` and ``cfe_matched_share`` say how much of each
        job was matched. This is Google's 24/7 CFE method (docs/model.md
        §4.2, "Hourly CFE matching").

        Parameters
        ----------
        supply : pl.DataFrame or pl.LazyFrame
            Long form, one row per key and interval: ``datacenter`` (a key or
            alias of the datacenters table) or ``region`` (of the regions
            table), not both; ``start`` (time-zone-aware Datetime, the
            interval's start); ``cfe_kwh``, the carbon-free energy contracted
            over the interval (kWh, finite and ≥ 0); optional ``end`` (else each
            key's most common step, 5 minutes to 1 day) and ``source``. Several
            keys may be given; unsorted input is sorted.
        source : str, optional
            The supply's source, for provenance (default: a ``source`` column,
            else ``"user"``).

        Returns
        -------
        Factors
            A copy with the supply added to any already carried (which must
            be keyed by the same column).

        Raises
        ------
        fleetcarbon.errors.FleetcarbonError
            For a missing column, both key columns, a naive time, an unknown
            key, a null, negative, NaN or infinite ``cfe_kwh``, duplicated or
            overlapping intervals (naming the key and time), or a supply keyed
            otherwise than the one already carried. Gaps give a
            :class:`~fleetcarbon.factors.cfe_supply.CfeSupplyGapWarning`: no
            CFE is matched there.

        Examples
        --------
        >>> import datetime as dt, polars as pl, fleetcarbon as fc
        >>> supply = pl.DataFrame({"region": ["FR", "FR"], "cfe_kwh": [5.0, 0.0],
        ...     "start": [dt.datetime(2025, 1, 1, h, tzinfo=dt.timezone.utc) for h in (0, 1)]})
        >>> fc.load_factors().with_cfe_supply(supply).cfe_supply.frame["end"].dt.hour().to_list()
        [1, 2]
        """
        built = build_cfe_supply(self, supply, source=source)
        return replace(self, cfe_supply=built, _checked=True, _with_mixes={})

    def with_power_profiles(self, profiles: Mapping[str, Sequence[float]]) -> Factors:
        """Return a copy that carries named power profiles for the ``power_profile`` column.

        A job's ``power_profile`` is a list of relative power weights over equal
        sub-intervals of its run window, or the name of one of these profiles;
        with grid series, each sub-interval's share of the energy meets the
        series over that sub-interval (docs/model.md §4.2, "Power profiles").

        Parameters
        ----------
        profiles : mapping of str to sequence of float
            Name to weights: finite, not negative, not all 0, at most
            10,000 steps. Names already carried are replaced.

        Returns
        -------
        Factors
            A copy with the profiles added.

        Examples
        --------
        >>> import fleetcarbon as fc
        >>> f = fc.load_factors().with_power_profiles({"ramp": [1, 2, 3, 4]})
        >>> f.power_profiles["ramp"]
        (1.0, 2.0, 3.0, 4.0)
        """
        added = check_profile_table(profiles)
        return replace(
            self,
            power_profiles={**self.power_profiles, **added},
            _checked=True,
            _with_mixes={},
        )

    def with_mixes(self, mixes: list[Mix]) -> Factors:
        """Return a copy with a row for each of ``mixes`` (see :mod:`~fleetcarbon.factors.mixes`).

        The copy is remembered: the same mixes give the same object, and so the
        same cached key index and engine tables.
        """
        cache_key = tuple(sorted(f"{m.table}\x1f{m.key}" for m in mixes))
        cached = self._with_mixes.get(cache_key)
        if cached is not None:
            return cached
        tables = {name: self.table(name) for name in KEYED_TABLES}
        for name in {m.table for m in mixes}:
            mine = [m for m in mixes if m.table == name]
            tables[name] = append_mix_rows(name, tables[name], mine)
        extended = Factors(
            accelerators=tables["accelerators"],
            cpus=tables["cpus"],
            regions=tables["regions"],
            datacenters=tables["datacenters"],
            defaults=self.defaults,
            aliases=self.aliases,
            sources=self.sources,
            version=self.version,
            grid_history=self.grid_history,
            mixes=(*self.mixes, *mixes),
            grid_series=self.grid_series,
            power_profiles=self.power_profiles,
            cfe_supply=self.cfe_supply,
        )
        if len(self._with_mixes) >= _MIX_CACHE_SIZE:
            self._with_mixes.clear()
        self._with_mixes[cache_key] = extended
        return extended

    # -- engine view -----------------------------------------------------------------

    @cached_property
    def keys(self) -> KeyIndex:
        """Every spelling of every key, and its row (built once)."""
        return KeyIndex({t: self.table(t) for t in KEYED_TABLES}, self.aliases)

    @cached_property
    def links(self) -> TableLinks:
        """Row links between the tables, as the engine sees them."""
        region_rows = self.keys.lookups["regions"].head(self.regions.height)
        dc_rows = self.keys.lookups["datacenters"].head(self.datacenters.height)

        def rows_of(frame: pl.DataFrame, column: str, target: pl.DataFrame) -> np.ndarray:
            mapped = frame.select(
                pl.col(column).replace_strict(
                    target["name"], target["row"], default=None, return_dtype=pl.UInt32
                )
            ).to_series()
            return np.ascontiguousarray(mapped.fill_null(MISSING).to_numpy(), dtype=np.uint32)

        return TableLinks(
            datacenter_region=rows_of(self.datacenters, "region", region_rows),
            region_default_datacenter=rows_of(self.regions, "default_datacenter", dc_rows),
            default_datacenter=self.datacenters["key"].to_list().index(GENERIC_DATACENTER),
            generic_cpu=self.cpus["key"].to_list().index(GENERIC_CPU),
        )

    @cached_property
    def engine(self) -> _core.Tables:
        """The tables converted for the Rust core, once per ``Factors``."""
        values: dict[str, np.ndarray] = {}
        for table in KEYED_TABLES:
            frame = self.table(table)
            for f in factors_of(table):
                column = frame[table_column(f)].cast(pl.Float64).fill_null(float("nan"))
                values[f] = np.ascontiguousarray(column.to_numpy(), dtype=np.float64)
        params = dict(zip(self.defaults["parameter"], self.defaults["value"], strict=True))
        for f in factors_of("defaults"):
            values[f] = np.array([float(params[f])], dtype=np.float64)
        links = self.links
        return _core.Tables(
            values=values,
            datacenter_region=links.datacenter_region,
            region_default_datacenter=links.region_default_datacenter,
            default_datacenter=links.default_datacenter,
        )


@dataclass(frozen=True)
class TableLinks:
    """How rows of one table point at rows of another (``MISSING``: none)."""

    #: Region row of each datacenter row.
    datacenter_region: np.ndarray
    #: Default datacenter row of each region row.
    region_default_datacenter: np.ndarray
    #: Datacenter row of jobs that name neither a region nor a datacenter.
    default_datacenter: int
    #: CPU row of jobs that name no CPU.
    generic_cpu: int


#: The columns a new row (a key the table lacks) must give, non-null (docs/factors.md,
#: "Adding your own rows"); bounds and provenance are optional for user rows.
NEW_ROW_COLUMNS: dict[str, tuple[str, ...]] = {
    "accelerators": ("key", "tdp_w", "host_power_w", "embodied_kgco2e"),
    "cpus": ("key", "core_power_w", "core_embodied_kgco2e"),
    "regions": ("key", "grid_kgco2e_per_kwh", "default_datacenter"),
    "datacenters": ("key", "pue", "facility_embodied_fraction"),
}


def _check_new_rows(added: pl.DataFrame, *, key: str, table: str) -> None:
    """Refuse new rows that lack a column the model needs, naming all of them."""
    needed = NEW_ROW_COLUMNS.get(table)
    if needed is None or added.height == 0:
        return
    missing = [c for c in needed if c not in added.columns]
    incomplete = [c for c in needed if c in added.columns and added[c].null_count()]
    if not missing and not incomplete:
        return
    if missing:
        bad = added
    else:
        bad = added.filter(pl.any_horizontal([pl.col(c).is_null() for c in incomplete]))
    keys = bad[key].head(5).to_list()
    gaps = [f"no {c!r} column" for c in missing] + [f"a null {c!r}" for c in incomplete]
    raise MissingColumnError(
        f"{bad.height} new {table} row(s) ({', '.join(map(repr, keys))}) have "
        f"{' and '.join(gaps)}: "
        f"a new {table} row needs {', '.join(needed)} (bounds, source and note are "
        "optional; see docs/factors.md, 'Adding your own rows')"
    )


def _undated_grid_keys(regions: pl.DataFrame | None) -> list[str]:
    """Keys whose grid intensity ``regions`` replaces without giving its year."""
    grid = "grid_kgco2e_per_kwh"
    if regions is None or grid not in regions.columns:
        return []
    undated = pl.col(grid).is_not_null()
    if "year" in regions.columns:
        undated &= pl.col("year").is_null()
    return regions.filter(undated)["key"].to_list()


def _upsert(old: pl.DataFrame, new: object, *, key: str, table: str) -> pl.DataFrame:
    """Return ``old`` with ``new``'s rows updated (by ``key``, column by column) or added."""
    if not isinstance(new, pl.DataFrame):
        raise NotAFrameError(
            f"rows for the {table} table must be a polars DataFrame, got {type(new).__name__}"
        )
    if key not in new.columns:
        raise MissingColumnError(f"rows for the {table} table need a '{key}' column")
    extra = sorted(set(new.columns) - set(old.columns))
    if extra:
        raise SchemaError(f"the {table} table has no column(s) {extra}")
    if new[key].is_duplicated().any():
        dup = new.filter(pl.col(key).is_duplicated())[key].unique().head(5).to_list()
        raise InvalidValueError(key, len(dup), f"duplicated keys in the new {table} rows", dup)
    casts = []
    for c in new.columns:
        target = old.schema[c]
        cast = new[c].cast(target, strict=False)
        failed = cast.is_null() & new[c].is_not_null()
        if failed.any():
            shown = list(zip(new[key].filter(failed), new[c].filter(failed), strict=True))[:5]
            raise SchemaError(
                f"column '{table}.{c}' holds {target} values; {int(failed.sum())} new rows "
                f"do not convert; first: {shown}"
            )
        casts.append(cast)
    new = pl.DataFrame(casts)
    cols = [c for c in new.columns if c != key]
    merged = (
        old.with_row_index("__order")
        .join(new, on=key, how="left", suffix="__new")
        .with_columns([pl.coalesce(f"{c}__new", c).alias(c) for c in cols])
        .sort("__order")
        .select(old.columns)
    )
    added = new.filter(~pl.col(key).is_in(old[key].to_list()))
    _check_new_rows(added, key=key, table=table)
    return pl.concat([merged, added], how="diagonal_relaxed").select(old.columns)
