"""Mixes: a hardware key ``mix:A=0.7,B=0.3`` stands for a known mix of table rows.

A cluster whose logs say "a GPU" but not which, on a fleet of 70% V100 and 30% T4,
names its jobs' accelerator ``mix:nvidia-v100-sxm2-32gb=0.7,nvidia-t4-16gb=0.3``
(:func:`mix_key` builds it; ``read_sacct`` writes it for a cluster config's
``gpu_mix``). Before a run, :func:`with_job_mixes` adds one row per such key to the
table, holding the weighted means of its parts' values and bounds:

* ``estimate`` uses those means, which is exact: a job's footprint is linear in
  its hardware row's factors (power and embodied carbon), so the footprint on the
  mean row is the weighted mean of the footprints on the parts.
* ``simulate`` does not draw the row from its bounds: in every draw each of its
  factors is the weighted mean of its parts' draws (the core's ``Mixture``), so the
  jobs on the mix share the uncertainty of the parts with the jobs that name them.
  Which type each job ran on is not drawn; docs/uncertainty.md says why.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from fleetcarbon.errors import InvalidValueError, ParameterError
from fleetcarbon.factors.keys import category_codes
from fleetcarbon.factors.names import columns_of

if TYPE_CHECKING:
    from fleetcarbon.factors.tables import Factors

__all__ = [
    "MIXABLE",
    "MIX_PREFIX",
    "Mix",
    "append_mix_rows",
    "mix_key",
    "parse_mix_key",
    "with_job_mixes",
]

#: The prefix of a mix key.
MIX_PREFIX = "mix:"
#: The job columns that may hold a mix key, and their tables: the hardware rows, in
#: which every factor enters the footprint linearly.
MIXABLE = {"accelerator": "accelerators", "cpu": "cpus"}
#: How far the weights may sum from 1 (they are written as decimals).
WEIGHT_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Mix:
    """A table row standing for a weighted mix of other rows of its table."""

    #: ``"accelerators"`` or ``"cpus"``.
    table: str
    #: The row's key: the mix key as the jobs spell it.
    key: str
    #: ``(part key, weight)``: canonical keys of rows that are not mixes; weights > 0
    #: that sum to 1.
    parts: tuple[tuple[str, float], ...]


def mix_key(parts: Mapping[str, float]) -> str:
    """Return the key that names a mix of table rows.

    Parameters
    ----------
    parts : mapping of str to float
        Row key (or alias) to weight: weights > 0 that sum to 1.

    Returns
    -------
    str
        ``"mix:KEY=WEIGHT,KEY=WEIGHT"``, parts in the order given; a mix of one
        key is that key.

    Raises
    ------
    fleetcarbon.errors.ParameterError
        For weights that are not numbers > 0 summing to 1, no parts, a part named
        twice, or a part that is itself a mix.

    Examples
    --------
    >>> mix_key({"nvidia-v100-sxm2-32gb": 0.7, "nvidia-t4-16gb": 0.3})
    'mix:nvidia-v100-sxm2-32gb=0.7,nvidia-t4-16gb=0.3'
    """
    if not isinstance(parts, Mapping):
        raise ParameterError(f"mix_key: parts must map row keys to weights, got {parts!r}")
    try:
        items = [(str(k), _weight(w, str(k))) for k, w in parts.items()]
        _check_parts(items, repr(dict(parts)))
    except ValueError as exc:
        raise ParameterError(f"mix_key: parts: {exc}") from None
    if len(items) == 1:
        return items[0][0]
    return MIX_PREFIX + ",".join(f"{k}={w!r}" for k, w in items)


def parse_mix_key(key: str) -> list[tuple[str, float]]:
    """Split a mix key into ``(part, weight)`` pairs, checking its syntax and weights.

    Raises
    ------
    ValueError
        On a malformed key; the message says what is wrong.
    """
    body = key[len(MIX_PREFIX) :] if key.startswith(MIX_PREFIX) else key
    parts: list[tuple[str, float]] = []
    for item in body.split(","):
        name, sep, weight = item.rpartition("=")
        if not sep or not name.strip():
            raise ValueError(f"part {item!r} is not KEY=WEIGHT")
        try:
            value = float(weight)
        except ValueError:
            raise ValueError(f"weight {weight!r} of {name.strip()!r} is not a number") from None
        parts.append((name.strip(), _weight(value, name.strip())))
    _check_parts(parts, repr(key))
    return parts


def with_job_mixes(factors: Factors, frame: pl.DataFrame, *, strict: bool = True) -> Factors:
    """Return ``factors`` with a row for every mix key the jobs name that it lacks.

    Parameters
    ----------
    factors : Factors
        The tables.
    frame : pl.DataFrame
        The jobs; their ``accelerator`` and ``cpu`` columns are searched for keys
        that start with ``mix:``.
    strict : bool, default True
        Raise on a malformed mix or an unknown part; with False, such a key gets
        no row, so that validation treats it as an unknown key (``on_invalid="drop"``
        drops its jobs).

    Returns
    -------
    Factors
        ``factors`` itself when there is nothing to add, else a copy (remembered,
        so that the same keys give the same object).

    Raises
    ------
    InvalidValueError
        For a malformed mix key, naming the column and the key.
    UnknownKeyError
        For a part that matches no row (with suggestions).
    """
    mixes = []
    for column, table in MIXABLE.items():
        keys = _mix_keys(frame[column]) if column in frame.columns else []
        known = set(factors.table(table)["key"].to_list()) if keys else set()
        for key in sorted(k for k in keys if k not in known):
            try:
                mixes.append(_resolve(factors, column, table, key))
            except InvalidValueError:
                if strict:
                    raise
    return factors.with_mixes(mixes) if mixes else factors


def append_mix_rows(name: str, table: pl.DataFrame, mixes: list[Mix]) -> pl.DataFrame:
    """Return ``table`` with the rows of ``mixes``: the parts' weighted means.

    Factor values and their ``_low``/``_high`` bounds are weighted means (null when
    a part's is null); ``release_year`` is the earliest part's, ``year`` the latest;
    text columns that cite (``*_source``, ``licence``) join the parts' distinct values;
    other columns are null. Factor columns stored as integers become Float64.
    """
    index = {k: i for i, k in enumerate(table["key"].to_list())}
    mean_columns = [
        c for f in columns_of(name) for c in (f, f"{f}_low", f"{f}_high") if c in table.columns
    ]
    table = table.with_columns(pl.col(mean_columns).cast(pl.Float64))
    records = []
    for mix in mixes:
        rows = [index[k] for k, _ in mix.parts]
        weights = [w for _, w in mix.parts]
        record: dict[str, object] = {c: None for c in table.columns}
        for c in mean_columns:
            xs = table[c].gather(rows).to_list()
            if all(x is not None for x in xs):
                record[c] = math.fsum(w * x for w, x in zip(weights, xs, strict=True))
        for c, pick in (("release_year", min), ("year", max)):
            if c in table.columns:
                years = [y for y in table[c].gather(rows).to_list() if y is not None]
                record[c] = pick(years) if years else None
        for c in table.columns:
            if c.endswith("_source") or c == "licence":
                values = table[c].cast(pl.String).gather(rows).to_list()
                record[c] = _join(v for v in values if v)
        shown = ", ".join(f"{w:g} × {k}" for k, w in mix.parts)
        record.update(key=mix.key, model=f"mix of {shown}", note=f"weighted mean of {shown}")
        records.append({c: record[c] for c in table.columns})
    return pl.concat([table, pl.DataFrame(records, schema=table.schema, orient="row")])


# -- helpers ---------------------------------------------------------------------------


def check_weights(weights: Mapping[str, float]) -> None:
    """Refuse weights that are not finite and > 0, or that do not sum to 1.

    Raises
    ------
    ValueError
        Naming the bad weights, or their sum.
    """
    bad = {k: w for k, w in weights.items() if not (math.isfinite(w) and w > 0)}
    if bad:
        raise ValueError(f"weights must be > 0, got {bad}")
    total = math.fsum(weights.values())
    if abs(total - 1.0) > WEIGHT_TOLERANCE:
        raise ValueError(f"weights must sum to 1, they sum to {total:.6g}")


def _weight(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"weight of {name!r} must be a number, got {value!r}")
    return float(value)


def _check_parts(parts: list[tuple[str, float]], shown: str) -> None:
    if not parts:
        raise ValueError(f"mix {shown} has no parts")
    names = [k for k, _ in parts]
    if len(set(names)) != len(names):
        raise ValueError(f"mix {shown} names a part twice")
    if any(k.startswith(MIX_PREFIX) for k in names):
        raise ValueError(f"mix {shown}: a part cannot be a mix")
    try:
        check_weights(dict(parts))
    except ValueError as exc:
        raise ValueError(f"mix {shown}: {exc}") from None


def _mix_keys(column: pl.Series) -> list[str]:
    """Return the distinct mix keys of a key column."""
    codes = category_codes(column)
    if codes is not None:
        values = codes.names
    elif isinstance(column.dtype, (pl.Categorical, pl.Enum)):
        values = column.unique().cast(pl.String)  # codes too sparse to index
    elif column.dtype == pl.String:
        values = column.filter(column.str.starts_with(MIX_PREFIX)).unique()
    else:
        return []
    return [v for v in values.to_list() if v is not None and v.startswith(MIX_PREFIX)]


def _resolve(factors: Factors, column: str, table: str, key: str) -> Mix:
    """Resolve the parts of ``key`` to the canonical keys of ``table``."""
    try:
        parts = parse_mix_key(key)
    except ValueError as exc:
        raise InvalidValueError(column, 1, f"malformed mix key ({exc})", [key]) from None
    names = pl.DataFrame({column: [k for k, _ in parts]}, schema={column: pl.String})
    # An unknown part raises UnknownKeyError naming the column and the part.
    rows = factors.keys.resolve(names, {column: table}, raise_unknown=True)[column]
    canonical = factors.table(table)["key"].gather(rows).to_list()
    if any(k.startswith(MIX_PREFIX) for k in canonical):
        raise InvalidValueError(column, 1, "a mix whose part is a mix", [key])
    if len(set(canonical)) != len(canonical):
        raise InvalidValueError(column, 1, "a mix that names a row twice", [key])
    return Mix(table, key, tuple(zip(canonical, (w for _, w in parts), strict=True)))


def _join(values: Iterable[str]) -> str | None:
    """Join the distinct ``;``-separated items of ``values``, in order of appearance."""
    seen: list[str] = []
    for v in values:
        for item in v.split(";"):
            if item and item not in seen:
                seen.append(item)
    return ";".join(seen) or None
