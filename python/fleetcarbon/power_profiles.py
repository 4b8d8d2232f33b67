"""Per-job power profiles: how a job's power is spread over its run window.

A ``power_profile`` column gives, per job, relative power weights over equal
sub-intervals of its window (a list of numbers), or the name of a profile the
factors carry (:meth:`fleetcarbon.Factors.with_power_profiles`); null is flat
power. A profile changes *when* the job's energy is drawn, not how much: with
grid series, sub-interval ``k`` of ``K`` gets the share ``w_k / Σ w`` of the
energy and meets the series' mean over its own ``1/K`` of the window
(docs/model.md §4.2, "Power profiles"). Without series the profile has no effect.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from fleetcarbon.errors import InvalidValueError, ParameterError, SchemaError, UnknownKeyError

__all__ = ["MAX_STEPS", "POWER_PROFILE", "Profiles", "check_profile_table", "job_profiles"]

#: The job column.
POWER_PROFILE = "power_profile"
#: At most this many sub-intervals per profile: beyond it, use a grid series' own step.
MAX_STEPS = 10_000
_N_EXAMPLES = 3


@dataclass(frozen=True)
class Profiles:
    """The profiled jobs' weights, flattened.

    Job ``jobs[i]`` (a row of the frame) owns ``weights[offsets[i]:offsets[i + 1]]``.
    """

    jobs: np.ndarray
    offsets: np.ndarray
    weights: np.ndarray


def check_profile_table(profiles: Mapping[str, Sequence[float]]) -> dict[str, tuple[float, ...]]:
    """Check named profiles for :meth:`Factors.with_power_profiles`; return them as tuples."""
    if not isinstance(profiles, Mapping):
        raise ParameterError(
            f"power profiles must be a mapping of name to weights, not {type(profiles).__name__}"
        )
    checked: dict[str, tuple[float, ...]] = {}
    for name, weights in profiles.items():
        if not isinstance(name, str) or not name:
            raise ParameterError(f"power profile names must be non-empty strings, not {name!r}")
        try:
            values = tuple(float(w) for w in weights)
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"power profile {name!r}: weights must be numbers") from exc
        problem = _problem(values)
        if problem:
            raise ParameterError(f"power profile {name!r}: {problem}")
        checked[name] = values
    return checked


def job_profiles(
    frame: pl.DataFrame, named: Mapping[str, tuple[float, ...]], job_ids: pl.Series
) -> Profiles | None:
    """Read the ``power_profile`` column of ``frame``; None when no job has one.

    Raises a :class:`~fleetcarbon.errors.FleetcarbonError` naming the column,
    the number of bad rows and the first job ids.
    """
    if POWER_PROFILE not in frame.columns:
        return None
    column = frame[POWER_PROFILE]
    if column.dtype == pl.Null:
        return None
    if column.dtype == pl.String or isinstance(column.dtype, pl.Categorical):
        column = _resolve_names(column.cast(pl.String), named, job_ids)
    elif not isinstance(column.dtype, pl.List | pl.Array):
        raise SchemaError(
            f"column {POWER_PROFILE!r} must hold lists of weights or profile names, "
            f"not {column.dtype}"
        )
    inner = getattr(column.dtype, "inner", None)
    if isinstance(column.dtype, pl.Array) and inner is not None:
        column = column.cast(pl.List(inner))
    if inner is None or not inner.is_numeric():
        raise SchemaError(f"column {POWER_PROFILE!r}: weights must be numbers, not {column.dtype}")
    given = column.is_not_null().to_numpy()
    if not given.any():
        return None
    rows = np.flatnonzero(given)
    lists = column.filter(pl.Series(given)).cast(pl.List(pl.Float64))
    lengths = lists.list.len().to_numpy().astype(np.int64)
    # Empty lists left out: Polars versions differ in what exploding one gives.
    weights = lists.filter(pl.Series(lengths > 0)).explode().to_numpy()
    _check_weights(lengths, weights, job_ids.gather(rows))
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    return Profiles(jobs=rows, offsets=offsets, weights=weights)


def _resolve_names(
    names: pl.Series, named: Mapping[str, tuple[float, ...]], job_ids: pl.Series
) -> pl.Series:
    unknown = names.is_not_null() & ~names.is_in(list(named))
    if unknown.any():
        bad = names.filter(unknown)
        first = bad.unique(maintain_order=True).head(_N_EXAMPLES).to_list()
        close = {k: difflib.get_close_matches(k, list(named), n=3) for k in first}
        raise UnknownKeyError(POWER_PROFILE, "power profiles", len(bad), first, close)
    table = pl.DataFrame(
        {"name": list(named), "weights": [list(w) for w in named.values()]},
        schema={"name": pl.String, "weights": pl.List(pl.Float64)},
    )
    joined = pl.DataFrame({"name": names}).join(table, on="name", how="left", maintain_order="left")
    return joined["weights"]


def _check_weights(lengths: np.ndarray, weights: np.ndarray, job_ids: pl.Series) -> None:
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    nonempty = lengths > 0
    bad_value = ~np.isfinite(weights) | (weights < 0)
    bad_rows = np.zeros(len(lengths), dtype=bool)
    if bad_value.any():
        owner = np.repeat(np.arange(len(lengths)), lengths)
        bad_rows[owner[bad_value]] = True
    totals = np.zeros(len(lengths))
    if nonempty.any():
        totals[nonempty] = np.add.reduceat(np.where(bad_value, 0.0, weights), starts[nonempty])
    checks = [
        (bad_rows, "weights that are negative, NaN or infinite"),
        (~nonempty, "empty profiles (give null for flat power)"),
        (nonempty & ~bad_rows & (totals <= 0), "profiles whose weights are all 0"),
        (lengths > MAX_STEPS, f"profiles of more than {MAX_STEPS:,} steps"),
    ]
    for bad, problem in checks:
        if bad.any():
            examples = job_ids.filter(pl.Series(bad)).head(_N_EXAMPLES).to_list()
            raise InvalidValueError(POWER_PROFILE, int(bad.sum()), problem, examples)


def _problem(values: tuple[float, ...]) -> str | None:
    if not values:
        return "no weights"
    if len(values) > MAX_STEPS:
        return f"more than {MAX_STEPS:,} steps"
    if any(not math.isfinite(w) or w < 0 for w in values):
        return "weights must be finite and not negative"
    if sum(values) <= 0:
        return "weights are all 0"
    return None
