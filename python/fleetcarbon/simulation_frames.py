"""The frames a Monte Carlo run returns: group summary, per-job statistics, draws."""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from fleetcarbon import _core
from fleetcarbon.parameters import QuantileMethod
from fleetcarbon.quantiles import quantile_name
from fleetcarbon.schema import JOB_ID

__all__ = ["METRICS", "OUTPUT_NAMES", "draws_frame", "per_job_frame", "summary_frame"]

#: Metrics whose uncertainty is simulated, in the core's order.
METRICS: tuple[str, ...] = tuple(_core.SIMULATED_METRICS)

#: Columns the frames add (a grouping column may not take one of these names).
OUTPUT_NAMES = frozenset({"jobs", "draws", "draw", "seed", "factors_version", *METRICS})


def summary_frame(
    point: dict[str, np.ndarray],
    group: np.ndarray,
    keys: pl.DataFrame,
    by: list[str],
    n_groups: int,
    group_draws: np.ndarray,
    qs: list[float],
    method: QuantileMethod,
    seed: int,
    version: str,
) -> pl.DataFrame:
    """One row per group: counts, the deterministic estimate, and MC statistics per metric."""
    columns = [np.ascontiguousarray(point[m], dtype=np.float64) for m in METRICS]
    columns.append(np.ones(len(group), dtype=np.float64))
    sums = _core.grouped_sums(group, n_groups, columns)
    n = group_draws.shape[-1]
    flat = np.ascontiguousarray(group_draws, dtype=np.float64).reshape(-1)
    means, stds, quantiles, errors = _core.summarize_draws(flat, n, qs, method=method)
    shape = (n_groups, len(METRICS))
    means, stds = np.asarray(means).reshape(shape), np.asarray(stds).reshape(shape)
    quantiles = np.asarray(quantiles).reshape(*shape, len(qs))
    errors = np.asarray(errors).reshape(*shape, len(qs))
    out: dict[str, object] = {
        "jobs": sums[-1].astype(np.int64),
        "draws": np.full(n_groups, n, dtype=np.int64),
        "seed": pl.Series([seed] * n_groups, dtype=pl.UInt64),
        "factors_version": [version] * n_groups,
    }
    for k, m in enumerate(METRICS):
        out[m] = sums[k]
        out[f"{m}_mean"] = means[:, k]
        out[f"{m}_std"] = stds[:, k]
        out[f"{m}_se_mean"] = stds[:, k] / math.sqrt(n)
        for j, q in enumerate(qs):
            name = quantile_name(q)
            out[f"{m}_{name}"] = quantiles[:, k, j]
            out[f"{m}_se_{name}"] = errors[:, k, j]
    summary = pl.DataFrame(out)
    return keys.hstack(summary) if by else summary


def draws_frame(
    keys: pl.DataFrame, by: list[str], group_draws: np.ndarray, seed: int
) -> pl.DataFrame:
    """Return the draws in long form: group columns, ``draw``, the metrics and ``seed``."""
    n_groups, _, n = group_draws.shape
    frame = pl.DataFrame(
        {
            "draw": np.tile(np.arange(n, dtype=np.int64), n_groups),
            **{m: group_draws[:, k, :].reshape(-1) for k, m in enumerate(METRICS)},
            "seed": pl.Series([seed], dtype=pl.UInt64).new_from_index(0, n_groups * n),
        }
    )
    if not by:
        return frame
    rows = keys.select(pl.all().gather(np.repeat(np.arange(n_groups), n)))
    return rows.hstack(frame)


def per_job_frame(
    frame: pl.DataFrame,
    point: dict[str, np.ndarray],
    by: list[str],
    means: np.ndarray,
    job_q: np.ndarray,
    qs: list[float],
    seed: int,
    n: int,
) -> pl.DataFrame:
    """One row per job: its estimate, mean and quantiles of ``total_kgco2e``."""
    out = frame.select(JOB_ID, *[c for c in by if c != JOB_ID]).with_columns(
        total_kgco2e=pl.Series(point["total_kgco2e"]),
        total_kgco2e_mean=pl.Series(means),
        **{f"total_kgco2e_{quantile_name(q)}": pl.Series(job_q[:, k]) for k, q in enumerate(qs)},
    )
    return out.with_columns(
        draws=pl.lit(n, dtype=pl.Int64),
        seed=pl.lit(seed, dtype=pl.UInt64),
    )
