"""The bundled hourly grid-intensity series (``fleetcarbon/data/grid_series_us_ba_2022.parquet``).

Eight US balancing authorities, every hour of 2022 (EIA-930 net generation by fuel, via HPE
dc-rl, times the IPCC AR5 lifecycle medians; generation-based, imports ignored). The file is
written by ``tools/derive_grid_series.py``; ``docs/factors.md`` ("Hourly grid series
(bundled)") describes the values, the time convention and the gap filling.
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from importlib import resources

import polars as pl

from fleetcarbon.errors import InternalError

__all__ = [
    "BUNDLED_GRID_SERIES_BASIS",
    "BUNDLED_GRID_SERIES_END",
    "BUNDLED_GRID_SERIES_FILE",
    "BUNDLED_GRID_SERIES_LICENCE",
    "BUNDLED_GRID_SERIES_REGIONS",
    "BUNDLED_GRID_SERIES_SCHEMA",
    "BUNDLED_GRID_SERIES_SOURCE",
    "BUNDLED_GRID_SERIES_START",
    "BUNDLED_GRID_SERIES_YEAR",
    "bundled_grid_series",
]

#: File name inside ``fleetcarbon/data``.
BUNDLED_GRID_SERIES_FILE = "grid_series_us_ba_2022.parquet"
#: The ``source`` cell of every row: ``sources`` table ids, ``;``-separated as in ``regions``.
BUNDLED_GRID_SERIES_SOURCE = "hpe-dc-rl;eia-930;ipcc-ar5-annex-iii"
#: The ``basis`` cell of every row, in the ``regions`` table's vocabulary.
BUNDLED_GRID_SERIES_BASIS = "lifecycle;generation"
#: The ``licence`` cell of every row (the most restrictive of the sources' licences).
BUNDLED_GRID_SERIES_LICENCE = "MIT"
#: The data year (EIA-930 hours labelled 2022-01-01T00:00Z to 2022-12-31T23:00Z).
BUNDLED_GRID_SERIES_YEAR = 2022
#: ``regions`` keys covered, in the file's row order.
BUNDLED_GRID_SERIES_REGIONS: tuple[str, ...] = (
    "US-BA-AZPS",
    "US-BA-BPAT",
    "US-BA-CISO",
    "US-BA-ERCO",
    "US-BA-MISO",
    "US-BA-NYIS",
    "US-BA-PJM",
    "US-BA-SOCO",
)
#: Start of the first hour and end of the last (UTC). EIA-930 hours are hour-ending, so the hour
#: EIA labels 2022-01-01T00:00Z is [2021-12-31T23:00Z, 2022-01-01T00:00Z).
BUNDLED_GRID_SERIES_START = datetime(2021, 12, 31, 23, tzinfo=timezone.utc)
BUNDLED_GRID_SERIES_END = datetime(2022, 12, 31, 23, tzinfo=timezone.utc)
#: Column names and dtypes of :func:`bundled_grid_series`, in order.
BUNDLED_GRID_SERIES_SCHEMA: dict[str, pl.DataType] = {
    "region": pl.String(),
    "start": pl.Datetime("us", "UTC"),
    "end": pl.Datetime("us", "UTC"),
    "kgco2e_per_kwh": pl.Float64(),
    "generation_mwh": pl.Float64(),
    "imputed": pl.Boolean(),
    "source": pl.String(),
    "basis": pl.String(),
    "licence": pl.String(),
}


@lru_cache(maxsize=1)
def _load() -> pl.DataFrame:
    ref = resources.files("fleetcarbon") / "data" / BUNDLED_GRID_SERIES_FILE
    with resources.as_file(ref) as path:
        frame = pl.read_parquet(path)
    if list(frame.schema.items()) != list(BUNDLED_GRID_SERIES_SCHEMA.items()):
        raise InternalError(
            f"bundled {BUNDLED_GRID_SERIES_FILE} has schema {dict(frame.schema)}, "
            f"expected {BUNDLED_GRID_SERIES_SCHEMA}"
        )
    return frame


def bundled_grid_series() -> pl.DataFrame:
    """Return the bundled hourly grid carbon intensity of 8 US balancing authorities, 2022.

    Each hour's value is EIA-930 net generation by fuel times the IPCC AR5 lifecycle median of
    that fuel, divided by total net generation: lifecycle and generation-based, with imports
    ignored, so it differs from consumption-based and from eGRID annual values. The file is read
    once per process; every call returns a fresh copy, so changing the result cannot change what
    later calls return.

    Returns
    -------
    polars.DataFrame
        Long form, one row per (region, hour), sorted by ``region`` then ``start``; 8 regions ×
        8,760 hours. Columns (see :data:`BUNDLED_GRID_SERIES_SCHEMA`):

        - ``region`` (String): a ``regions`` table key, ``US-BA-<EIA code>``.
        - ``start``, ``end`` (Datetime[us, UTC]): the hour ``[start, end)``, ``end = start +
          1 h``, contiguous from ``2021-12-31T23:00Z`` to ``2022-12-31T23:00Z`` (EIA-930 hours
          are hour-ending).
        - ``kgco2e_per_kwh`` (Float64): the intensity, at full float64 precision.
        - ``generation_mwh`` (Float64): total net generation in the hour, the weight for
          generation-weighted means; null where ``imputed``.
        - ``imputed`` (Boolean): the source hour had blank cells (3 CISO, 3 MISO, 23 PJM
          hours) or is a reporting glitch (5 PJM hours with under 10% of the median
          generation), and the value is linearly interpolated in time between the nearest
          complete hours.
        - ``source``, ``basis``, ``licence`` (String): the same on every row,
          :data:`BUNDLED_GRID_SERIES_SOURCE`, :data:`BUNDLED_GRID_SERIES_BASIS` and
          :data:`BUNDLED_GRID_SERIES_LICENCE`.

        There are no per-hour bounds: the uncertainty of the values is the region row's annual
        ``grid_kgco2e_per_kwh_low``/``_high``, taken as relative multipliers.

    Examples
    --------
    >>> from fleetcarbon.factors.series_data import bundled_grid_series
    >>> s = bundled_grid_series()
    >>> s.shape
    (70080, 9)
    >>> s.group_by("region").len().sort("region")["len"].unique().to_list()
    [8760]
    >>> round(s.filter(region="US-BA-CISO")["kgco2e_per_kwh"].mean(), 3)
    0.256
    """
    return _load().clone()
