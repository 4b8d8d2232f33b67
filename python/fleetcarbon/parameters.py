"""Checks of the keyword arguments shared by the public functions.

Each raises :class:`~fleetcarbon.errors.ParameterError` (a ``ValueError``)
naming the parameter and what it accepts.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Literal

from fleetcarbon import _core
from fleetcarbon.errors import ParameterError

__all__ = [
    "OnInvalid",
    "check_by",
    "check_int",
    "check_on_invalid",
    "check_progress",
    "check_quantile_method",
    "check_quantiles",
    "check_threads",
]

OnInvalid = Literal["raise", "drop"]
QuantileMethod = Literal["linear", "inverted_cdf"]


def check_int(name: str, value: object, *, low: int, high: int | None = None) -> int:
    """Return ``value`` as an int in ``[low, high]``; numpy integers pass, bools do not."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ParameterError(f"{name} must be an integer, got {value!r}")
    number = int(value)
    if number < low or (high is not None and number > high):
        bound = f"between {low:,} and {high:,}" if high is not None else f">= {low:,}"
        raise ParameterError(f"{name} must be {bound}, got {number:,}")
    return number


def check_threads(threads: object) -> int | None:
    """Return a valid thread count: None (all cores) or 1 to ``_core.max_threads()``."""
    if threads is None:
        return None
    return check_int("threads", threads, low=1, high=_core.max_threads())


def check_on_invalid(on_invalid: object) -> OnInvalid:
    """Return ``on_invalid`` if it is "raise" or "drop"."""
    if on_invalid not in ("raise", "drop"):
        raise ParameterError(f"on_invalid must be 'raise' or 'drop', got {on_invalid!r}")
    return on_invalid


def check_quantiles(quantiles: object) -> list[float]:
    """Return the quantile levels as floats, each in [0, 1]."""
    if isinstance(quantiles, (str, bytes)) or not isinstance(quantiles, Sequence):
        raise ParameterError(f"quantiles must be a sequence of numbers, got {quantiles!r}")
    levels = []
    for q in quantiles:
        if isinstance(q, bool) or not isinstance(q, numbers.Real) or not 0.0 <= float(q) <= 1.0:
            raise ParameterError(f"quantiles must be numbers in [0, 1], got {list(quantiles)}")
        levels.append(float(q))
    return levels


def check_quantile_method(method: object) -> QuantileMethod:
    """Return ``method`` if the core knows it."""
    if method not in _core.QUANTILE_METHODS:
        raise ParameterError(
            f"quantile_method must be one of {_core.QUANTILE_METHODS}, got {method!r}"
        )
    return method  # type: ignore[return-value]


def check_by(by: object) -> list[str]:
    """Return the grouping columns as a list of distinct names (none: no grouping)."""
    if by is None:
        return []
    columns = [by] if isinstance(by, str) else by
    if not isinstance(columns, Sequence) or not all(isinstance(c, str) for c in columns):
        raise ParameterError(f"by must be a column name or a sequence of names, got {by!r}")
    names = list(columns)
    repeated = sorted({c for c in names if names.count(c) > 1})
    if repeated:
        raise ParameterError(f"by names column(s) {repeated} more than once")
    return names


def check_progress(progress: object) -> Callable[[int, int], object] | None:
    """Return ``progress`` if it is None or callable."""
    if progress is not None and not callable(progress):
        raise ParameterError(f"progress must be a callable(done, total), got {progress!r}")
    return progress
