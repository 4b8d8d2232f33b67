"""Contracted carbon-free energy carried by :class:`~fleetcarbon.Factors`.

:meth:`Factors.with_cfe_supply` checks a long-form supply (``datacenter`` or
``region``, ``start``, optional ``end``, ``cfe_kwh``) and stores it here;
``estimate`` matches the fleet's energy against it hour by hour
(:mod:`fleetcarbon.cfe_matching`, docs/model.md §4.2, "Hourly CFE matching").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from fleetcarbon import _core
from fleetcarbon.errors import SchemaError
from fleetcarbon.factors.intervals import (
    IntervalSpec,
    checked_intervals,
    collect,
    micros,
    offsets,
    positions,
)

if TYPE_CHECKING:
    from fleetcarbon.factors.tables import Factors

__all__ = ["KEYS", "CfeSupply", "CfeSupplyGapWarning", "build_cfe_supply"]

#: The key columns a supply may have, and the table each names.
KEYS = {"datacenter": "datacenters", "region": "regions"}
#: The value column: carbon-free energy contracted over the interval, kWh.
VALUE = "cfe_kwh"


class CfeSupplyGapWarning(UserWarning):
    """A supply has gaps: no carbon-free energy is matched there."""


def _spec(key: str) -> IntervalSpec:
    return IntervalSpec(
        label="CFE supply",
        key=key,
        table=KEYS[key],
        value=VALUE,
        values_noun="cfe_kwh values",
        gap_meaning="no carbon-free energy is supplied (none is matched)",
        gap_warning=CfeSupplyGapWarning,
        argument="supply",
        examples_with_start=True,
    )


@dataclass(frozen=True, eq=False)
class CfeSupply:
    """Checked carbon-free energy supply, per key of one table and interval.

    Attributes
    ----------
    frame : pl.DataFrame
        ``datacenter`` or ``region`` (canonical key), ``start``, ``end``
        (Datetime µs UTC), ``cfe_kwh``, ``source``; sorted by key (table row
        order) and start.
    key : {"datacenter", "region"}
        The key column.
    keys : tuple of str
        The key of each supply, in ``frame`` order.
    offsets : np.ndarray
        Supply ``i`` holds rows ``offsets[i]:offsets[i + 1]`` (uint64).
    starts, ends : np.ndarray
        Interval bounds, µs since the epoch (int64).
    cfe_kwh : np.ndarray
        Carbon-free energy of each interval, kWh (float64).
    """

    frame: pl.DataFrame
    key: str
    keys: tuple[str, ...]
    offsets: np.ndarray = field(repr=False)
    starts: np.ndarray = field(repr=False)
    ends: np.ndarray = field(repr=False)
    cfe_kwh: np.ndarray = field(repr=False)

    @property
    def table(self) -> str:
        """The factor table the keys name (``"datacenters"`` or ``"regions"``)."""
        return KEYS[self.key]

    def supply_of_rows(self, table_keys: pl.Series) -> np.ndarray:
        """Supply index of every row of the keyed table, one more for ``MISSING`` rows."""
        return np.append(positions(self.keys, table_keys), np.uint32(_core.MISSING))


def build_cfe_supply(factors: Factors, supply: object, *, source: str | None) -> CfeSupply:
    """Check ``supply`` and merge it with the supply ``factors`` already carry.

    See :meth:`fleetcarbon.Factors.with_cfe_supply` for the rules.
    """
    frame = _collect(supply)
    key = "datacenter" if "datacenter" in frame.columns else "region"
    old = factors.cfe_supply
    if old is not None and old.key != key:
        raise SchemaError(
            f"CFE supply: these factors carry a supply by {old.key}, and this one is by "
            f"{key}; give every supply by the same key (a job could otherwise be matched twice)"
        )
    columns = {key: pl.col(key).cast(pl.String)}
    if source is not None or "source" not in frame.columns:
        columns["source"] = pl.lit(source if source is not None else "user", pl.String)
    frame = frame.with_columns(**columns).with_columns(pl.col("source").cast(pl.String))
    frame = checked_intervals(frame, _spec(key), factors, None if old is None else old.frame)
    stored = frame.select(key, "start", "end", VALUE, "source")
    return CfeSupply(
        frame=stored,
        key=key,
        keys=tuple(frame[key].unique(maintain_order=True).to_list()),
        offsets=offsets(frame),
        starts=micros(frame["start"]),
        ends=micros(frame["end"]),
        cfe_kwh=np.ascontiguousarray(frame[VALUE].to_numpy(), dtype=np.float64),
    )


def _collect(supply: object) -> pl.DataFrame:
    if isinstance(supply, pl.LazyFrame | pl.DataFrame):
        columns = supply.collect_schema().names()
        if "datacenter" in columns and "region" in columns:
            raise SchemaError(
                "CFE supply: give 'datacenter' or 'region' as the key column, not both"
            )
        key = "datacenter" if "datacenter" in columns else "region"
    else:
        key = "region"
    frame = collect(
        supply,
        _spec(key),
        [key, "start", VALUE],
        "a supply needs datacenter or region (one of them), start (time-zone aware "
        "Datetime) and cfe_kwh (kWh over the interval), optionally end",
    )
    return frame.select(c for c in (key, "start", "end", VALUE, "source") if c in frame.columns)
