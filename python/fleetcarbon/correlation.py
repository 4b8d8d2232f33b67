"""Rank correlation between uncertain factors, by a Gaussian copula.

By default every factor row is drawn independently of every other. A
``correlation`` mapping ties factors together:

- ``{"accelerator_embodied_kgco2e": 0.8}``: any two rows of the factor (two GPU
  models' embodied carbon) have Spearman rank correlation 0.8, e.g. because
  their estimates share one method;
- ``{("pue", "grid_kgco2e_per_kwh"): 0.3}``: a row of one factor and a row of
  the other have rank correlation 0.3.

Each correlated factor gets a latent normal per draw; its rows mix that latent
with their own (the share is the within-factor correlation), and the latents of
different factors are correlated. The row's value is its own distribution's
inverse CDF at the latent's probability, so every marginal is unchanged. The
model is written out in ``docs/uncertainty.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from fleetcarbon.factors import Factors
from fleetcarbon.schema import FACTOR_NAMES, FACTOR_TABLE
from fleetcarbon.uncertainty import DistributionError

__all__ = ["CorrelationError", "copula_arguments", "pearson_of_spearman"]

#: Not simulated (the simulated metrics are location-based), so not correlatable.
_NOT_SIMULATED = ("market_kgco2e_per_kwh",)


class CorrelationError(DistributionError):
    """A correlation specification that names unknown factors or cannot hold."""


def pearson_of_spearman(rho: float) -> float:
    """Normal-scale correlation whose Gaussian copula has Spearman rank correlation ``rho``."""
    return 2.0 * math.sin(math.pi * rho / 6.0)


def copula_arguments(
    factors: Factors, correlation: Mapping[str | tuple[str, str], float] | None
) -> tuple[list[str], list[float]] | None:
    """Turn ``correlation`` into the core's copula: factor names and rank correlations.

    Parameters
    ----------
    factors : Factors
        The tables (a factor of one row needs no within-factor correlation).
    correlation : mapping, optional
        ``factor -> rank correlation in [0, 1]`` between the factor's rows, and
        ``(factor, other factor) -> rank correlation in (-1, 1)`` between a row
        of one and a row of the other.

    Raises
    ------
    CorrelationError
        Unknown or unsimulated factors, values out of range, a pair whose
        factors have several rows but no within-factor correlation, or pairs
        that contradict each other (the latent correlation matrix is not
        positive definite).

    Returns
    -------
    tuple or None
        ``(factor names, row-major matrix of rank correlations)``: the diagonal
        holds each factor's within-factor value (1 for a single value), the rest
        the value between rows of two factors; None when ``correlation`` is empty.
    """
    if not correlation:
        return None
    within: dict[str, float] = {}
    pairs: dict[tuple[str, str], float] = {}
    written: dict[tuple[str, str], object] = {}  # each pair's key as the user wrote it
    for key, value in correlation.items():
        rho = _value(key, value)
        if isinstance(key, str):
            _check_factor(key)
            if not 0.0 <= rho <= 1.0:
                raise CorrelationError(
                    f"correlation[{key!r}] = {rho}: a within-factor rank correlation "
                    "must be in [0, 1]"
                )
            if _rows(factors, key) == 1:
                raise CorrelationError(
                    f"correlation[{key!r}]: {key} is a single value, so it has no rows to "
                    "correlate; pair it with another factor instead"
                )
            within[key] = rho
        elif isinstance(key, tuple) and len(key) == 2 and all(isinstance(k, str) for k in key):
            a, b = key
            _check_factor(a)
            _check_factor(b)
            if a == b:
                raise CorrelationError(
                    f"correlation[{key!r}]: for rows of one factor, use the key {a!r}"
                )
            if not -1.0 < rho < 1.0:
                raise CorrelationError(
                    f"correlation[{key!r}] = {rho}: a rank correlation between factors "
                    "must be in (-1, 1)"
                )
            pair = (a, b) if FACTOR_NAMES.index(a) < FACTOR_NAMES.index(b) else (b, a)
            if pair in pairs:
                raise CorrelationError(f"correlation gives the pair {key!r} twice")
            pairs[pair] = rho
            written[pair] = key
        else:
            raise CorrelationError(
                f"correlation key {key!r}: use a factor name or a tuple of two factor names"
            )

    names = [f for f in FACTOR_NAMES if f in within or any(f in p for p in pairs)]
    # Rank correlation of two rows of each factor (1 for a single value), and its
    # normal-scale value, used here only to explain what cannot hold: the core
    # computes the copula itself (with the same bits on every CPU).
    rank = {f: 1.0 if _rows(factors, f) == 1 else within.get(f, 0.0) for f in names}
    w = {f: pearson_of_spearman(r) if r < 1.0 else 1.0 for f, r in rank.items()}
    matrix = np.eye(len(names))
    ranks = np.diag([rank[f] for f in names])
    for (a, b), rho in pairs.items():
        key = written[(a, b)]
        for f in (a, b):
            if f in within and within[f] == 0.0:
                raise CorrelationError(
                    f"correlation[{key!r}]: the rows of {f} are independent (within-factor "
                    "correlation 0), so they cannot all correlate with another factor"
                )
        for f in (a, b):
            if w[f] == 0.0:
                raise CorrelationError(
                    f"correlation[{key!r}]: {f} has several rows; give their correlation "
                    f"too, e.g. correlation={{{f!r}: 0.5, ...}}"
                )
        latent = pearson_of_spearman(rho) / math.sqrt(w[a] * w[b])
        if abs(latent) >= 1.0:
            limit = (6 / math.pi) * math.asin(math.sqrt(w[a] * w[b]) / 2)
            raise CorrelationError(
                f"correlation[{key!r}] = {rho}: with the within-factor correlations given, "
                f"rows of {a} and {b} can only have a rank correlation of less than "
                f"{limit:.4f} in magnitude"
            )
        i, j = names.index(a), names.index(b)
        matrix[i, j] = matrix[j, i] = latent
        ranks[i, j] = ranks[j, i] = rho
    if np.linalg.eigvalsh(matrix).min() <= 1e-12:
        raise CorrelationError(
            f"the correlations between {names} contradict each other (their latent "
            "correlation matrix is not positive definite)"
        )
    return names, [float(x) for x in ranks.ravel()]


def _value(key: object, value: object) -> float:
    if isinstance(value, bool):
        raise CorrelationError(f"correlation[{key!r}] = {value!r} is not a number")
    try:
        rho = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise CorrelationError(f"correlation[{key!r}] = {value!r} is not a number") from None
    if math.isnan(rho):
        raise CorrelationError(f"correlation[{key!r}] is NaN")
    return rho


def _check_factor(name: str) -> None:
    if name in _NOT_SIMULATED:
        raise CorrelationError(
            f"{name} is not simulated (the simulated metrics are location-based), so it "
            "cannot be correlated"
        )
    if name not in FACTOR_NAMES:
        valid = ", ".join(f for f in FACTOR_NAMES if f not in _NOT_SIMULATED)
        raise CorrelationError(f"unknown factor {name!r} in correlation; factors: {valid}")


def _rows(factors: Factors, name: str) -> int:
    table = FACTOR_TABLE[name]
    return 1 if table == "defaults" else factors.table(table).height
