"""Probability distributions of uncertain factors, and their defaults.

Every factor row is one uncertain quantity. By default its distribution is
``Pert(low, value, high)`` from the row's bounds (``Fixed(value)`` when the
bounds are equal or absent). Override any row, or every row of a factor, with
the classes below.

The classes only hold parameters: the Rust core checks them, samples them,
and computes their means and ranges (``_core.describe_distribution``), so no
numeric formula exists twice.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import polars as pl

from fleetcarbon import _core
from fleetcarbon.errors import DistributionError
from fleetcarbon.factors import KEYED_TABLES, Factors
from fleetcarbon.schema import FACTOR_DOMAINS, FACTOR_NAMES, FACTOR_TABLE, table_column

__all__ = [
    "Distribution",
    "DistributionError",
    "Empirical",
    "Fixed",
    "LogNormal",
    "Normal",
    "Pert",
    "Triangular",
    "TruncatedNormal",
    "Uniform",
    "check_support",
    "default_distribution",
]

Params = tuple[float, float, float, float]


class Distribution:
    """Base class of the distributions.

    A subclass names its family (``_family``, a key of
    ``_core.DISTRIBUTION_FAMILIES``) and its four core parameters; the core
    validates them when the distribution is built.
    """

    _family: ClassVar[str]

    def _params(self) -> Params:
        raise NotImplementedError

    def _samples(self) -> list[float]:
        return []

    def _describe(self) -> tuple[float, float, float, float, float]:
        code = _core.DISTRIBUTION_FAMILIES[self._family]
        return _core.describe_distribution(code, self._params(), self._samples() or None)

    def __post_init__(self) -> None:
        self._describe()

    def encode(self, pool: list[float]) -> tuple[int, Params]:
        """Family code and four parameters for the Rust core (may extend ``pool``)."""
        return _core.DISTRIBUTION_FAMILIES[self._family], self._params()

    def mean(self) -> float:
        """Return the expected value."""
        return self._describe()[0]

    def support(self) -> tuple[float, float]:
        """Return the smallest and largest values the distribution can take."""
        _, low, high, _, _ = self._describe()
        return low, high

    def quantile(self, q: float | list[float]) -> float | list[float]:
        """Return the value below which a share ``q`` (in (0, 1)) of the draws fall.

        The inverse CDF, as the core computes it (a list of levels gives a list).
        """
        code = _core.DISTRIBUTION_FAMILIES[self._family]
        levels = [float(q)] if isinstance(q, int | float) else [float(x) for x in q]
        values = _core.distribution_quantiles(code, self._params(), levels, self._samples() or None)
        return values[0] if isinstance(q, int | float) else values

    def drawn_range(self) -> tuple[float, float]:
        """Return the range the core's sampler can reach.

        That is the support, except for normal and lognormal variates: the
        sampler's uniforms stay inside ``[_core.UNIFORM_MIN, _core.UNIFORM_MAX]``,
        so a normal stays within about ±8.2 standard deviations.
        """
        *_, low, high = self._describe()
        return low, high


@dataclass(frozen=True)
class Fixed(Distribution):
    """No uncertainty: always ``value``."""

    _family: ClassVar[str] = "Fixed"
    value: float

    def _params(self) -> Params:
        return (float(self.value), 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Uniform(Distribution):
    """Uniform on ``[low, high]``."""

    _family: ClassVar[str] = "Uniform"
    low: float
    high: float

    def _params(self) -> Params:
        return (float(self.low), float(self.high), 0.0, 0.0)


@dataclass(frozen=True)
class _LowModeHigh(Distribution):
    """A distribution on ``[low, high]`` that peaks at ``mode``."""

    low: float
    mode: float
    high: float

    def _params(self) -> Params:
        return (float(self.low), float(self.mode), float(self.high), 0.0)


@dataclass(frozen=True)
class Triangular(_LowModeHigh):
    """Triangular on ``[low, high]`` with mode ``mode``."""

    _family: ClassVar[str] = "Triangular"


@dataclass(frozen=True)
class Pert(_LowModeHigh):
    """PERT (scaled Beta) on ``[low, high]`` with mode ``mode`` and λ = 4."""

    _family: ClassVar[str] = "Pert"


@dataclass(frozen=True)
class Normal(Distribution):
    """Normal with mean ``mu`` and standard deviation ``sd`` (can go negative)."""

    _family: ClassVar[str] = "Normal"
    mu: float
    sd: float

    def _params(self) -> Params:
        return (float(self.mu), float(self.sd), 0.0, 0.0)


@dataclass(frozen=True)
class TruncatedNormal(Distribution):
    """Normal(``mu``, ``sd``) truncated to ``[low, high]`` (either may be infinite)."""

    _family: ClassVar[str] = "TruncatedNormal"
    mu: float
    sd: float
    low: float = -math.inf
    high: float = math.inf

    def _params(self) -> Params:
        return (float(self.mu), float(self.sd), float(self.low), float(self.high))


@dataclass(frozen=True)
class LogNormal(Distribution):
    """Lognormal with ``median`` and geometric standard deviation ``gsd`` (>= 1)."""

    _family: ClassVar[str] = "LogNormal"
    median: float
    gsd: float

    def __post_init__(self) -> None:
        # The core takes log-scale parameters; check the ones users write.
        if not (math.isfinite(self.median) and math.isfinite(self.gsd)):
            raise DistributionError(f"LogNormal needs finite parameters, got {self}")
        if self.median <= 0 or self.gsd < 1:
            raise DistributionError(f"LogNormal needs median > 0 and gsd >= 1, got {self}")
        super().__post_init__()

    @classmethod
    def from_interval(cls, low: float, high: float, *, coverage: float = 0.90) -> LogNormal:
        """Lognormal whose central ``coverage`` interval is ``[low, high]``."""
        if not (0 < low < high and 0 < coverage < 1):
            raise DistributionError(
                "from_interval needs 0 < low < high and 0 < coverage < 1; "
                f"got {low}, {high}, {coverage}"
            )
        z = _core.normal_quantile(0.5 + coverage / 2)
        return cls(median=math.sqrt(low * high), gsd=math.exp(math.log(high / low) / (2 * z)))

    def _params(self) -> Params:
        return (math.log(self.median), math.log(self.gsd), 0.0, 0.0)


@dataclass(frozen=True)
class Empirical(Distribution):
    """Resampling of observed ``samples`` (each equally likely)."""

    _family: ClassVar[str] = "Empirical"
    samples: tuple[float, ...] = field()

    def __init__(self, samples: Sequence[float]):
        values = tuple(float(x) for x in samples)
        if not values or not all(math.isfinite(x) for x in values):
            raise DistributionError("Empirical needs at least one sample, all finite")
        object.__setattr__(self, "samples", values)
        self.__post_init__()

    def _params(self) -> Params:
        return (0.0, float(len(self.samples)), 0.0, 0.0)

    def _samples(self) -> list[float]:
        # Sorted, so that the core's inverse CDF is increasing (the copula needs it).
        return sorted(self.samples)

    def encode(self, pool: list[float]) -> tuple[int, Params]:  # noqa: D102
        offset = len(pool)
        pool.extend(self._samples())
        return _core.DISTRIBUTION_FAMILIES[self._family], (
            float(offset),
            float(len(self.samples)),
            0.0,
            0.0,
        )


def check_support(dist: Distribution, factor: str) -> None:
    """Refuse a distribution that can draw values outside ``factor``'s valid domain."""
    lo, hi = dist.support()
    d = FACTOR_DOMAINS[factor]
    below = lo < d.low or (lo == d.low and not d.low_inclusive)
    if below or hi > d.high:
        raise DistributionError(
            f"{dist!r} can draw values in [{lo:g}, {hi:g}], outside the domain of '{factor}' "
            f"({d.describe()}); use a bounded distribution (Pert, Triangular, Uniform, "
            "TruncatedNormal)"
        )


@functools.lru_cache(maxsize=8192)
def default_distribution(value: float, low: float | None, high: float | None) -> Distribution:
    """Return a factor row's default: ``Pert(low, value, high)``, or ``Fixed`` without a spread."""
    if low is None or high is None or (low == value == high):
        return Fixed(value)
    return Pert(low, value, high)


@dataclass
class RowDistributions:
    """Encoded distributions of every factor row, ready for the Rust core."""

    families: dict[str, np.ndarray]
    params: dict[str, np.ndarray]
    keys: dict[str, np.ndarray]
    pool: np.ndarray
    described: dict[tuple[str, str], Distribution]


def _bounds(frame: pl.DataFrame, column: str) -> tuple[list[float], list, list]:
    values = frame[column].cast(pl.Float64).to_list()
    low = (
        frame[f"{column}_low"].cast(pl.Float64).to_list()
        if f"{column}_low" in frame.columns
        else [None] * len(values)
    )
    high = (
        frame[f"{column}_high"].cast(pl.Float64).to_list()
        if f"{column}_high" in frame.columns
        else [None] * len(values)
    )
    return values, low, high


def row_distributions(
    factors: Factors,
    overrides: Mapping[str | tuple[str, str], Distribution] | None = None,
) -> RowDistributions:
    """Distribution of every factor row: defaults from the bounds, then ``overrides``.

    Parameters
    ----------
    factors : Factors
        The tables.
    overrides : mapping, optional
        ``factor -> Distribution`` (every row of that factor) or
        ``(factor, row key) -> Distribution`` (one row; the defaults table's
        parameters have no row key: use the factor name alone).
    """
    if overrides is not None and not isinstance(overrides, Mapping):
        raise DistributionError(
            f"distributions must be a mapping of factors (or (factor, row)) to "
            f"Distributions, got {overrides!r}"
        )
    overrides = dict(overrides or {})
    per_row: dict[str, list[tuple[str, Distribution]]] = {}
    for f in FACTOR_NAMES:
        table = FACTOR_TABLE[f]
        if table == "defaults":
            d = factors.defaults.filter(pl.col("parameter") == f).row(0, named=True)
            rows = [(f, default_distribution(d["value"], d.get("low"), d.get("high")))]
        else:
            frame = factors.table(table)
            column = table_column(f)
            values, low, high = _bounds(frame, column)
            keys = frame["key"].to_list()
            if f == "market_kgco2e_per_kwh":
                # Not simulated (the metrics are location-based); the core ignores it.
                rows = [(k, Fixed(0.0)) for k in keys]
            else:
                rows = [
                    (k, default_distribution(v, lo, hi))
                    for k, v, lo, hi in zip(keys, values, low, high, strict=True)
                ]
        per_row[f] = rows
    for target, dist in overrides.items():
        if not isinstance(dist, Distribution):
            raise DistributionError(f"{target!r} must map to a Distribution, got {dist!r}")
        factor, row = (target, None) if isinstance(target, str) else target
        if factor not in per_row:
            raise DistributionError(f"unknown factor {factor!r}; factors are {list(FACTOR_NAMES)}")
        check_support(dist, factor)
        keys = [k for k, _ in per_row[factor]]
        if row is not None and row not in keys:
            raise DistributionError(f"no row {row!r} for factor {factor!r}")
        if row is not None and any(m.key == row for m in factors.mixes):
            raise DistributionError(
                f"row {row!r} of factor {factor!r} is a mix, drawn from its parts: give the "
                "parts' distributions instead"
            )
        per_row[factor] = [(k, dist if row in (None, k) else d) for k, d in per_row[factor]]
    pool: list[float] = []
    families, params, keys_out = {}, {}, {}
    described = {}
    for f, rows in per_row.items():
        codes = [d.encode(pool) for _, d in rows]
        families[f] = np.array([c for c, _ in codes], dtype=np.uint8)
        params[f] = np.array([p for _, p in codes], dtype=np.float64).reshape(-1)
        labels = [f"{FACTOR_TABLE[f]}\x1f{k}\x1f{f}" for k, _ in rows]
        keys_out[f] = np.asarray(_core.record_keys(labels), dtype=np.uint64)
        described.update({(f, k): d for k, d in rows})
    return RowDistributions(
        families=families,
        params=params,
        keys=keys_out,
        pool=np.asarray(pool, dtype=np.float64),
        described=described,
    )


assert set(KEYED_TABLES) | {"defaults"} == set(FACTOR_TABLE.values())
