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

from fleetcarbon.errors import CorrelationError
from fleetcarbon.factors import Factors
from fleetcarbon.schema import FACTOR_NAMES, FACTOR_TABLE

__all__ = ["CorrelationError", "copula_arguments"]

#: Not simulated (the simulated metrics are location-based), so not correlatable.
_NOT_SIMULATED = ("market_kgco2e_per_kwh",)


def copula_arguments(
    factors: Factors, correlation: Mapping[str | tuple[str, str], float] | None
) -> tuple[list[str], list[float]] | None:
    """Turn ``correlation`` into the core's copula: factor names and rank correlations.

    This checks the mapping's form (known factors, keys, numbers); the Rust
    core checks the numbers themselves (ranges, and that the correlations can
    hold together) when the simulation is set up, with the same error class.

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
        Unknown or unsimulated factors, keys of the wrong form, values that are
        not numbers, a within-factor value for a factor of one value, or a
        pair given twice.

    Returns
    -------
    tuple or None
        ``(factor names, row-major matrix of rank correlations)``: the diagonal
        holds each factor's within-factor value (1 for a single value, NaN when
        not given), the rest the value between rows of two factors (0 for
        none); None when ``correlation`` is empty.
    """
    if correlation is None:
        return None
    if not isinstance(correlation, Mapping):
        raise CorrelationError(
            f"correlation must be a mapping of factors to rank correlations, got {correlation!r}"
        )
    if not correlation:
        return None
    within: dict[str, float] = {}
    pairs: dict[tuple[str, str], float] = {}
    for key, value in correlation.items():
        rho = _value(key, value)
        if isinstance(key, str):
            _check_factor(key)
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
            pair = (a, b) if FACTOR_NAMES.index(a) < FACTOR_NAMES.index(b) else (b, a)
            if pair in pairs:
                raise CorrelationError(f"correlation gives the pair {key!r} twice")
            pairs[pair] = rho
        else:
            raise CorrelationError(
                f"correlation key {key!r}: use a factor name or a tuple of two factor names"
            )
    names = [f for f in FACTOR_NAMES if f in within or any(f in p for p in pairs)]
    k = len(names)
    ranks = [0.0] * (k * k)
    for i, f in enumerate(names):
        ranks[i * k + i] = 1.0 if _rows(factors, f) == 1 else within.get(f, float("nan"))
    for (a, b), rho in pairs.items():
        i, j = names.index(a), names.index(b)
        ranks[i * k + j] = ranks[j * k + i] = rho
    return names, ranks


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
