"""The bundled factor tables (``fleetcarbon/data``), loaded once per process."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import polars as pl

from fleetcarbon.errors import ParameterError
from fleetcarbon.factors.names import KEYED_TABLES, TABLE_NAMES, columns_of
from fleetcarbon.factors.tables import Factors

__all__ = ["bundled_factors", "load_factors", "resolve_factors"]


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
            [pl.col(c).cast(pl.Float64) for c in columns_of(table)]
        )
    frames["defaults"] = frames["defaults"].with_columns(pl.col("value").cast(pl.Float64))
    history = pl.read_csv(_data_file("grid_history.csv"), infer_schema_length=None)
    with open(_data_file("VERSION"), encoding="utf-8") as fh:
        version = fh.read().strip()
    return Factors(
        accelerators=frames["accelerators"],
        cpus=frames["cpus"],
        regions=frames["regions"],
        datacenters=frames["datacenters"],
        defaults=frames["defaults"],
        aliases=frames["aliases"],
        sources=frames["sources"],
        version=version,
        grid_history=history,
    )


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
    frames: dict[str, Any] = {name: shared.table(name).clone() for name in TABLE_NAMES}
    history = shared.grid_history.clone() if shared.grid_history is not None else None
    return Factors(**frames, version=shared.version, grid_history=history, _checked=True)


def resolve_factors(factors: object) -> Factors:
    """Return ``factors``, or the bundled tables for None; refuse anything else."""
    if factors is None:
        return bundled_factors()
    if not isinstance(factors, Factors):
        raise ParameterError(
            f"factors must be a fleetcarbon.Factors (from load_factors()), got "
            f"{type(factors).__name__}"
        )
    return factors
