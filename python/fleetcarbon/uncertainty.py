"""Probability distributions of uncertain factors, and their defaults.

Every factor row is one uncertain quantity. By default its distribution is
``Pert(low, value, high)`` from the row's bounds (``Fixed(value)`` when the
bounds are equal or absent). Override any row, or every row of a factor, with
the classes below.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import ClassVar

import numpy as np
import polars as pl

from fleetcarbon import _core
from fleetcarbon.errors import FleetcarbonError
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

# Family codes of the Rust core (`fleetcarbon_core::dist::code`).
_FIXED, _UNIFORM, _TRIANGULAR, _NORMAL, _TRUNCATED, _LOGNORMAL, _PERT, _EMPIRICAL = range(8)
_Z95 = 1.6448536269514722  # standard normal 95th percentile
#: The core's uniforms lie in [2**-53, 1 - 2**-53], so a normal variate it
#: draws never leaves ±Z_DRAWN standard deviations (about 8.2).
Z_DRAWN = -NormalDist().inv_cdf(2.0**-53)


class DistributionError(FleetcarbonError):
    """A distribution's parameters are invalid, or it names an unknown factor or row."""


def _finite(**params: float) -> None:
    bad = {k: v for k, v in params.items() if not math.isfinite(v)}
    if bad:
        raise DistributionError(f"parameters must be finite: {bad}")


def _check_ordered(dist: object, low: float, mode: float, high: float) -> None:
    _finite(low=low, mode=mode, high=high)
    if not low <= mode <= high:
        raise DistributionError(f"{type(dist).__name__} needs low <= mode <= high, got {dist}")


class Distribution:
    """Base class of the distributions; each can report its mean."""

    def encode(self, pool: list[float]) -> tuple[int, tuple[float, float, float, float]]:
        """Family code and four parameters for the Rust core (may extend ``pool``)."""
        raise NotImplementedError

    def mean(self) -> float:
        """Return the expected value."""
        raise NotImplementedError

    def support(self) -> tuple[float, float]:
        """Return the smallest and largest values the distribution can draw."""
        raise NotImplementedError

    def drawn_range(self) -> tuple[float, float]:
        """Return the range the core's sampler can reach.

        That is the support, except for a normal: ``±Z_DRAWN`` standard deviations.
        """
        return self.support()


@dataclass(frozen=True)
class Fixed(Distribution):
    """No uncertainty: always ``value``."""

    value: float

    def __post_init__(self) -> None:
        _finite(value=self.value)

    def encode(self, pool: list[float]) -> tuple[int, tuple[float, float, float, float]]:  # noqa: D102
        return _FIXED, (self.value, 0.0, 0.0, 0.0)

    def mean(self) -> float:  # noqa: D102
        return self.value

    def support(self) -> tuple[float, float]:  # noqa: D102
        return (self.value, self.value)


@dataclass(frozen=True)
class Uniform(Distribution):
    """Uniform on ``[low, high]``."""

    low: float
    high: float

    def __post_init__(self) -> None:
        _finite(low=self.low, high=self.high)
        if self.low > self.high:
            raise DistributionError(f"Uniform needs low <= high, got {self}")

    def encode(self, pool: list[float]) -> tuple[int, tuple[float, float, float, float]]:  # noqa: D102
        return _UNIFORM, (self.low, self.high, 0.0, 0.0)

    def mean(self) -> float:  # noqa: D102
        return (self.low + self.high) / 2

    def support(self) -> tuple[float, float]:  # noqa: D102
        return (self.low, self.high)


@dataclass(frozen=True)
class _LowModeHigh(Distribution):
    """A distribution on ``[low, high]`` that peaks at ``mode``."""

    _family: ClassVar[int]
    low: float
    mode: float
    high: float

    def __post_init__(self) -> None:
        _check_ordered(self, self.low, self.mode, self.high)

    def encode(self, pool: list[float]) -> tuple[int, tuple[float, float, float, float]]:
        return self._family, (self.low, self.mode, self.high, 0.0)

    def support(self) -> tuple[float, float]:
        return (self.low, self.high)


@dataclass(frozen=True)
class Triangular(_LowModeHigh):
    """Triangular on ``[low, high]`` with mode ``mode``."""

    _family: ClassVar[int] = _TRIANGULAR

    def mean(self) -> float:  # noqa: D102
        return (self.low + self.mode + self.high) / 3


@dataclass(frozen=True)
class Normal(Distribution):
    """Normal with ``mean`` and standard deviation ``sd`` (can go negative)."""

    mu: float
    sd: float

    def __post_init__(self) -> None:
        _finite(mu=self.mu, sd=self.sd)
        if self.sd < 0:
            raise DistributionError(f"Normal needs sd >= 0, got {self}")

    def encode(self, pool: list[float]) -> tuple[int, tuple[float, float, float, float]]:  # noqa: D102
        return _NORMAL, (self.mu, self.sd, 0.0, 0.0)

    def mean(self) -> float:  # noqa: D102
        return self.mu

    def support(self) -> tuple[float, float]:  # noqa: D102
        return (-math.inf, math.inf) if self.sd > 0 else (self.mu, self.mu)

    def drawn_range(self) -> tuple[float, float]:  # noqa: D102
        return (self.mu - Z_DRAWN * self.sd, self.mu + Z_DRAWN * self.sd)


@dataclass(frozen=True)
class TruncatedNormal(Distribution):
    """Normal(``mu``, ``sd``) truncated to ``[low, high]`` (either may be infinite)."""

    mu: float
    sd: float
    low: float = -math.inf
    high: float = math.inf

    def __post_init__(self) -> None:
        _finite(mu=self.mu, sd=self.sd)
        if not (self.sd > 0 and self.low < self.high) or math.isnan(self.low + self.high):
            raise DistributionError(f"TruncatedNormal needs sd > 0 and low < high, got {self}")
        if self._mass() == 0.0:
            raise DistributionError(
                f"{self} keeps no probability mass a float can hold (its bounds lie about "
                "38 or more standard deviations from the mean)"
            )

    def encode(self, pool: list[float]) -> tuple[int, tuple[float, float, float, float]]:  # noqa: D102
        return _TRUNCATED, (self.mu, self.sd, self.low, self.high)

    def mean(self) -> float:  # noqa: D102
        a, b = (self.low - self.mu) / self.sd, (self.high - self.mu) / self.sd

        def pdf(x: float) -> float:
            return 0.0 if math.isinf(x) else math.exp(-x * x / 2) / math.sqrt(2 * math.pi)

        return self.mu + self.sd * (pdf(a) - pdf(b)) / self._mass()

    def _mass(self) -> float:
        """Probability mass between the bounds, from the tail nearer to them."""
        a, b = (self.low - self.mu) / self.sd, (self.high - self.mu) / self.sd

        def cdf(x: float) -> float:
            return 0.5 * math.erfc(-x / math.sqrt(2))

        # Above the mean the CDF rounds towards 1: use the upper-tail masses.
        return cdf(-a) - cdf(-b) if a > 0 else cdf(b) - cdf(a)

    def support(self) -> tuple[float, float]:  # noqa: D102
        return (self.low, self.high)


@dataclass(frozen=True)
class LogNormal(Distribution):
    """Lognormal with ``median`` and geometric standard deviation ``gsd`` (>= 1)."""

    median: float
    gsd: float

    def __post_init__(self) -> None:
        _finite(median=self.median, gsd=self.gsd)
        if self.median <= 0 or self.gsd < 1:
            raise DistributionError(f"LogNormal needs median > 0 and gsd >= 1, got {self}")

    @classmethod
    def from_interval(cls, low: float, high: float, *, coverage: float = 0.90) -> LogNormal:
        """Lognormal whose central ``coverage`` interval is ``[low, high]``."""
        if not (0 < low < high and 0 < coverage < 1):
            raise DistributionError(
                "from_interval needs 0 < low < high and 0 < coverage < 1; "
                f"got {low}, {high}, {coverage}"
            )
        z = _core_normal_quantile(0.5 + coverage / 2)
        return cls(median=math.sqrt(low * high), gsd=math.exp(math.log(high / low) / (2 * z)))

    def encode(self, pool: list[float]) -> tuple[int, tuple[float, float, float, float]]:  # noqa: D102
        return _LOGNORMAL, (math.log(self.median), math.log(self.gsd), 0.0, 0.0)

    def mean(self) -> float:  # noqa: D102
        return self.median * math.exp(math.log(self.gsd) ** 2 / 2)

    def support(self) -> tuple[float, float]:  # noqa: D102
        return (0.0, math.inf) if self.gsd > 1 else (self.median, self.median)


@dataclass(frozen=True)
class Pert(_LowModeHigh):
    """PERT (scaled Beta) on ``[low, high]`` with mode ``mode`` and λ = 4."""

    _family: ClassVar[int] = _PERT

    def mean(self) -> float:  # noqa: D102
        return (self.low + 4 * self.mode + self.high) / 6


@dataclass(frozen=True)
class Empirical(Distribution):
    """Resampling of observed ``samples`` (each equally likely)."""

    samples: tuple[float, ...] = field()

    def __init__(self, samples: Sequence[float]):
        values = tuple(float(x) for x in samples)
        if not values or not all(math.isfinite(x) for x in values):
            raise DistributionError("Empirical needs at least one sample, all finite")
        object.__setattr__(self, "samples", values)

    def encode(self, pool: list[float]) -> tuple[int, tuple[float, float, float, float]]:  # noqa: D102
        offset = len(pool)
        # Sorted, so that the core's inverse CDF is increasing (the copula needs it).
        pool.extend(sorted(self.samples))
        return _EMPIRICAL, (float(offset), float(len(self.samples)), 0.0, 0.0)

    def mean(self) -> float:  # noqa: D102
        return math.fsum(self.samples) / len(self.samples)

    def support(self) -> tuple[float, float]:  # noqa: D102
        return (min(self.samples), max(self.samples))


def _core_normal_quantile(p: float) -> float:
    # 0.95 -> 1.6449 is all from_interval needs with its default coverage; others via bisection.
    if abs(p - 0.95) < 1e-15:
        return _Z95
    lo, hi = -40.0, 40.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if 0.5 * math.erfc(-mid / math.sqrt(2)) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


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
