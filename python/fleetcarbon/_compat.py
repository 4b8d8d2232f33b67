"""Differences between Polars versions that fleetcarbon works around."""

from __future__ import annotations

import inspect
from typing import Any

import polars as pl

#: Keyword arguments for ``explode`` that keep one behaviour across versions:
#: Polars 1.3x+ warns unless ``empty_as_null`` is given (its default flips in 2.0);
#: older versions lack the parameter. Our exploded lists are never empty anyway.
EXPLODE_KWARGS: dict[str, bool] = (
    {"empty_as_null": True}
    if "empty_as_null" in inspect.signature(pl.DataFrame.explode).parameters
    else {}
)

#: ``join`` keyword that matches null keys: ``nulls_equal`` since Polars 1.24,
#: ``join_nulls`` before.
JOIN_NULLS_KWARGS: dict[str, Any] = (
    {"nulls_equal": True}
    if "nulls_equal" in inspect.signature(pl.DataFrame.join).parameters
    else {"join_nulls": True}
)


def lexical_sort_keys(frame: pl.DataFrame, columns: list[str]) -> list[pl.Expr]:
    """Sort expressions that order Categorical columns by their strings in every version.

    Polars before 1.32 sorts a Categorical by its physical codes unless asked
    otherwise; Enum columns keep the order of their categories on purpose.
    """
    return [
        pl.col(c).cast(pl.String) if isinstance(frame.schema[c], pl.Categorical) else pl.col(c)
        for c in columns
    ]


def toml_module() -> Any:
    """Return ``tomllib`` (Python 3.11+) or ``tomli``; ModuleNotFoundError on 3.10 without it."""
    try:
        import tomllib  # type: ignore[import-not-found,unused-ignore]
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]
    return tomllib
