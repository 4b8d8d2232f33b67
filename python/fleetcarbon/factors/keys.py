"""Job keys to factor-table rows: exact spelling, then aliases, then ignoring case.

A :class:`KeyIndex` is built once per :class:`~fleetcarbon.factors.Factors`
(and cached on it). Polars does the matching; the engine receives row numbers.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl

from fleetcarbon.errors import UnknownKeyError
from fleetcarbon.factors.names import KEYED_TABLES, MISSING


def fold(name: pl.Expr) -> pl.Expr:
    """Lower-case ``name``, trim it and collapse its runs of white space to one space."""
    return name.str.to_lowercase().str.strip_chars().str.replace_all(r"\s+", " ")


class KeyIndex:
    """Every spelling of every key of the keyed tables, and its row.

    Parameters
    ----------
    tables : dict of str to pl.DataFrame
        The keyed tables (column ``key``).
    aliases : pl.DataFrame
        ``alias, table, key``.
    """

    def __init__(self, tables: dict[str, pl.DataFrame], aliases: pl.DataFrame):
        self._tables = tables
        self._aliases = aliases

    @cached_property
    def lookups(self) -> dict[str, pl.DataFrame]:
        """Per table: ``name -> row`` for canonical keys and aliases (exact spelling)."""
        out = {}
        for table in KEYED_TABLES:
            keys = self._tables[table]["key"]
            rows = pl.DataFrame({"name": keys, "row": np.arange(len(keys), dtype=np.uint32)})
            alias = (
                self._aliases.filter(pl.col("table") == table)
                .join(rows.rename({"name": "key"}), on="key", how="inner")
                .select(pl.col("alias").alias("name"), "row")
            )
            out[table] = pl.concat([rows, alias]).unique("name", keep="first", maintain_order=True)
        return out

    @cached_property
    def lookups_lower(self) -> dict[str, pl.DataFrame]:
        """Per table: folded ``name -> row`` (see :func:`fold`; the first spelling wins)."""
        return {
            t: f.with_columns(fold(pl.col("name"))).unique(
                "name", keep="first", maintain_order=True
            )
            for t, f in self.lookups.items()
        }

    def resolve(
        self, frame: pl.DataFrame, columns: dict[str, str], *, raise_unknown: bool
    ) -> dict[str, pl.Series]:
        """Table row of each key, for every key column: ``{column: UInt32 rows}``.

        ``columns`` maps a key column of ``frame`` to its table. Keys match by
        exact spelling or alias first (Categorical and Enum columns once per
        distinct value), then ignoring case. Null keys and unknown keys get a
        null row; with ``raise_unknown`` an unknown key raises
        :class:`~fleetcarbon.errors.UnknownKeyError` with suggestions.
        """
        out = {}
        for column, table in columns.items():
            keys = frame[column]
            by_code = self.categorical_rows(keys, table)
            if by_code is None:
                rows = frame.select(self.key_to_row(column, table)).to_series()
            else:
                rows = by_code.set(by_code == MISSING, None)
            missed = rows.is_null() & keys.is_not_null()
            if missed.any():
                # Retry the misses ignoring case; exact matching stays the fast path.
                folded = frame.select(self.folded_key_to_row(column, table)).to_series()
                rows = pl.select(pl.when(missed).then(folded).otherwise(rows)).to_series()
                unknown = keys.filter(rows.is_null() & keys.is_not_null())
                if unknown.len() and raise_unknown:
                    raise self.unknown_key_error(column, table, unknown)
            out[column] = rows.alias(column)
        return out

    def key_to_row(self, column: str, table: str) -> pl.Expr:
        """Map a key column to its table row by exact spelling (UInt32; null if unknown)."""
        lookup = self.lookups[table]
        return (
            pl.col(column)
            .cast(pl.String)
            .replace_strict(lookup["name"], lookup["row"], default=None, return_dtype=pl.UInt32)
            .alias(column)
        )

    def folded_key_to_row(self, column: str, table: str) -> pl.Expr:
        """Like :meth:`key_to_row`, ignoring case and spacing (slower: only for misses)."""
        lower = self.lookups_lower[table]
        return (
            fold(pl.col(column).cast(pl.String))
            .replace_strict(lower["name"], lower["row"], default=None, return_dtype=pl.UInt32)
            .alias(column)
        )

    def unknown_key_error(self, column: str, table: str, unknown: pl.Series) -> UnknownKeyError:
        """Build the error for unknown keys, with close-match suggestions."""
        names = self.lookups[table]["name"].to_list()
        distinct = unknown.cast(pl.String).unique(maintain_order=True)
        shown = distinct.head(5).to_list()
        suggestions = {
            k: difflib.get_close_matches(str(k), names, n=3, cutoff=0.5)
            or difflib.get_close_matches(str(k).lower(), [n.lower() for n in names], n=3)
            for k in shown
        }
        return UnknownKeyError(column, table, len(unknown), shown, suggestions)

    def categorical_rows(self, series: pl.Series, table: str) -> pl.Series | None:
        """Table rows of a Categorical/Enum key column, mapping each distinct code once.

        Returns a UInt32 Series with ``MISSING`` for null or unknown keys, or None for
        other dtypes (and for codes too sparse to index), which take the string path.
        """
        codes = category_codes(series)
        if codes is None:
            return None
        if codes.size == 0:
            return pl.Series(series.name, np.full(series.len(), MISSING, dtype=np.uint32))
        mapped = (
            pl.DataFrame({"k": codes.names})
            .select(pl.coalesce(self.key_to_row("k", table), self.folded_key_to_row("k", table)))
            .to_series()
        )
        lookup = np.full(codes.size + 1, MISSING, dtype=np.uint32)
        lookup[codes.present] = mapped.fill_null(MISSING).to_numpy()
        rows = lookup[codes.code]
        return pl.Series(series.name, rows, dtype=pl.UInt32)


@dataclass(frozen=True)
class CategoryCodes:
    """The codes of a Categorical/Enum column and the names of those present."""

    #: Each row's code; nulls get ``size``, one past the largest code.
    code: np.ndarray
    #: One more than the largest code (0 when every row is null).
    size: int
    #: The codes that occur (every code up to ``size`` for an Enum).
    present: np.ndarray
    #: Their strings, in the order of ``present``.
    names: pl.Series


def category_codes(series: pl.Series) -> CategoryCodes | None:
    """Split a Categorical/Enum column into codes and the distinct names present.

    None for other dtypes, empty columns and codes too sparse to index. Uses only
    ``to_physical``, ``gather`` and ``Enum.categories``, which mean the same in
    Polars 1.x and 2.x; each distinct name is read once, not once per row.
    """
    if not isinstance(series.dtype, (pl.Categorical, pl.Enum)) or series.len() == 0:
        return None
    codes = series.to_physical()
    max_code = codes.max()
    if max_code is None:
        empty = np.empty(0, dtype=np.int64)
        return CategoryCodes(
            np.zeros(series.len(), np.int64), 0, empty, pl.Series([], dtype=pl.String)
        )
    size = int(max_code) + 1  # type: ignore[arg-type]
    if size > 4 * series.len() + 65_536:
        return None
    code = codes.fill_null(size).to_numpy()
    if isinstance(series.dtype, pl.Enum):
        present = np.arange(size)
        names = pl.Series(series.dtype.categories).head(size)
    else:
        # Any row holding a code names it (the last write wins).
        row_of = np.full(size + 1, -1, dtype=np.int64)
        row_of[code] = np.arange(code.size)
        present = np.flatnonzero(row_of[:size] >= 0)
        names = series.gather(row_of[present]).cast(pl.String)
    return CategoryCodes(code, size, present, names.cast(pl.String))
