"""Keep the old hardware or replace it now: cumulative carbon of both paths and break-even.

The jobs are a representative workload: ``years`` years of the work the fleet
does. Keeping the old hardware costs its operational carbon, year after year
(its manufacturing is sunk on both paths). Replacing it costs the new
hardware's manufacturing up front, ``count × embodied``, then the operational
carbon of the same work on the new hardware (durations ÷ ``speedup``):

    keep(t)    = O_old × t
    replace(t) = E_new + O_new × t
    break-even = E_new / (O_old − O_new)   (never when the new path saves nothing)

Under uncertainty the operational terms are paired draws of a sweep (common
random numbers) and ``E_new`` is drawn from the new accelerator's embodied row,
so the break-even time has a distribution and ``P(break-even within the
lifetime)`` is the share of draws that pay back in time (docs/scenarios.md,
"Hardware refresh").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from fleetcarbon.errors import FleetcarbonError, ParameterError
from fleetcarbon.factors import Factors, resolve_factors
from fleetcarbon.frames import collect_jobs
from fleetcarbon.parameters import check_int, check_quantiles
from fleetcarbon.quantiles import quantile_name
from fleetcarbon.scenarios import Scenario, _canonical_jobs, _canonical_keys
from fleetcarbon.schema import END, START
from fleetcarbon.sweep import sweep
from fleetcarbon.uncertainty import Distribution, row_distributions

__all__ = ["RefreshResult", "refresh"]

_HOURS_PER_YEAR = 8760.0


@dataclass(frozen=True)
class RefreshResult:
    """The two paths of :func:`refresh`.

    Attributes
    ----------
    summary : pl.DataFrame
        One row: the new hardware's embodied carbon, each path's annual
        operational carbon, the annual saving, the break-even time (years)
        and the probability of breaking even within the new hardware's
        lifetime, each deterministic and with quantiles.
    curve : pl.DataFrame
        ``years`` from 0 to the horizon and, for ``keep`` and ``replace``,
        the cumulative kgCO2e (deterministic and per quantile), and
        ``replace_minus_keep`` with its quantiles.
    """

    summary: pl.DataFrame
    curve: pl.DataFrame


def refresh(
    jobs: pl.DataFrame | pl.LazyFrame,
    *,
    old: str,
    new: str,
    count: float,
    speedup: float = 1.0,
    years: float | None = None,
    factors: Factors | None = None,
    lifetime_years: float | None = None,
    horizon_years: float | None = None,
    draws: int = 1_000,
    seed: int | None = None,
    quantiles: Sequence[float] = (0.05, 0.5, 0.95),
    distributions: Mapping[str | tuple[str, str], Distribution] | None = None,
) -> RefreshResult:
    """Compare keeping the old accelerators with replacing them now.

    Parameters
    ----------
    jobs : pl.DataFrame or pl.LazyFrame
        The work the fleet does, on the ``old`` accelerators, over ``years``.
    old, new : str
        Accelerator keys: the fleet's, and the replacement's.
    count : float
        New accelerators bought (their manufacturing is the up-front cost).
    speedup : float, default 1
        How much faster ``new`` runs the same work (durations ÷ speedup).
    years : float, optional
        The years of work the jobs stand for (default: from the first
        ``start`` to the last ``end``).
    factors : Factors, optional
        Factor tables (default: the bundled ones).
    lifetime_years : float, optional
        The new hardware's lifetime, for ``P(break-even within it)``
        (default: the factors' ``lifetime_years``).
    horizon_years : float, optional
        The curve's end (default: the lifetime).
    draws, seed, quantiles, distributions
        As for :func:`fleetcarbon.sweep`.

    Returns
    -------
    RefreshResult

    Examples
    --------
    >>> import fleetcarbon as fc
    >>> jobs = fc.synthetic_fleet(2000, seed=1).filter(accelerator="nvidia-a100-sxm4-80gb")
    >>> r = fc.refresh(jobs.drop("energy_kwh", "avg_power_w"), old="nvidia-a100-sxm4-80gb",
    ...     new="nvidia-h100-sxm5-80gb", count=64, speedup=2.5, years=1.0, draws=200, seed=1)
    >>> r.summary["break_even_years"][0] > 0
    True
    """
    frame = collect_jobs(jobs)
    factors = resolve_factors(factors)
    qs = check_quantiles(quantiles)
    n = check_int("draws", draws, low=2)
    count = _positive("count", count)
    period = _positive("years", years) if years is not None else _span_years(frame)
    named = _canonical_keys(factors, "accelerators", [old, new])
    keys = factors.accelerators["key"].to_list()
    for name, key in (("old", old), ("new", new)):
        if named[key] not in keys:
            raise ParameterError(f"{name}={key!r} is not a key of the accelerators table")
    old, new = named[old], named[new]
    if (
        "accelerator" not in frame.columns
        or not (_canonical_jobs(frame, factors, "accelerator") == old).any()
    ):
        raise FleetcarbonError(f"no job runs on the old accelerator {old!r}")
    defaults = dict(zip(factors.defaults["parameter"], factors.defaults["value"], strict=True))
    given = defaults["lifetime_years"] if lifetime_years is None else lifetime_years
    lifetime = _positive("lifetime_years", given)
    horizon = _positive("horizon_years", lifetime if horizon_years is None else horizon_years)

    replace = Scenario("replace", accelerator={old: new}, speedup=speedup)
    paired = sweep(
        frame,
        [Scenario("keep"), replace],
        factors,
        baseline="keep",
        draws=n,
        seed=seed,
        distributions=distributions,
        return_draws=True,
    )
    point = paired.summary.sort("scenario")  # keep, replace
    op_keep, op_new = (float(v) / period for v in point["operational_kgco2e"])
    draws_of = {
        s: d.sort("draw")["operational_kgco2e"].to_numpy() / period
        for (s,), d in paired.draws.group_by("scenario")
    }
    seed_used = int(point["seed"][0])
    embodied_row = factors.accelerators.filter(pl.col("key") == new)["embodied_kgco2e"][0]
    embodied = count * float(embodied_row)
    dist = row_distributions(factors, distributions).described[("accelerator_embodied_kgco2e", new)]
    uniforms = np.random.default_rng([seed_used, 0x5EED]).uniform(size=n)
    embodied_draws = count * np.asarray(dist.quantile(list(np.clip(uniforms, 1e-12, 1 - 1e-12))))
    keep_d, new_d = draws_of["keep"], draws_of["replace"]
    saving_d = keep_d - new_d
    with np.errstate(divide="ignore"):
        break_even_d = np.where(saving_d > 0, embodied_draws / saving_d, np.inf)
    saving = op_keep - op_new
    break_even = embodied / saving if saving > 0 else math.inf
    summary = {
        "old": old,
        "new": new,
        "count": count,
        "speedup": float(speedup),
        "years_of_work": period,
        "lifetime_years": lifetime,
        "draws": n,
        "seed": seed_used,
        "embodied_new_kgco2e": embodied,
        "operational_keep_kgco2e_per_year": op_keep,
        "operational_replace_kgco2e_per_year": op_new,
        "saving_kgco2e_per_year": saving,
        "break_even_years": break_even,
        "p_break_even_within_lifetime": float(np.mean(break_even_d <= lifetime)),
    }
    for name, values in (
        ("embodied_new_kgco2e", embodied_draws),
        ("saving_kgco2e_per_year", saving_d),
        ("break_even_years", break_even_d),
    ):
        # Order statistics, so that a share of "never" (inf) draws reads as inf, not NaN.
        levels = np.quantile(values, qs, method="inverted_cdf")
        summary.update(
            {f"{name}_{quantile_name(q)}": float(v) for q, v in zip(qs, levels, strict=True)}
        )
    curve = _curve(horizon, (embodied, op_keep, op_new), (embodied_draws, keep_d, new_d), qs)
    return RefreshResult(summary=pl.DataFrame([summary]), curve=curve)


def _curve(
    horizon: float,
    point: tuple[float, float, float],
    draws: tuple[np.ndarray, np.ndarray, np.ndarray],
    qs: list[float],
) -> pl.DataFrame:
    """Cumulative carbon of both paths over time, monthly, with quantile bands."""
    t = np.linspace(0.0, horizon, max(round(horizon * 12), 1) + 1)
    embodied, op_keep, op_new = point
    e, keep, new = draws
    keep_t = keep[:, None] * t[None, :]
    replace_t = e[:, None] + new[:, None] * t[None, :]
    out: dict[str, object] = {
        "years": t,
        "keep_kgco2e": op_keep * t,
        "replace_kgco2e": embodied + op_new * t,
        "replace_minus_keep_kgco2e": embodied + (op_new - op_keep) * t,
    }
    for name, values in (
        ("keep_kgco2e", keep_t),
        ("replace_kgco2e", replace_t),
        ("replace_minus_keep_kgco2e", replace_t - keep_t),
    ):
        levels = np.quantile(values, qs, axis=0)
        for q, row in zip(qs, levels, strict=True):
            out[f"{name}_{quantile_name(q)}"] = row
    return pl.DataFrame(out)


def _positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ParameterError(f"{name} must be a number > 0, not {value!r}")
    if not math.isfinite(value):
        raise ParameterError(f"{name} must be finite, not {value!r}")
    return float(value)


def _span_years(frame: pl.DataFrame) -> float:
    if START not in frame.columns or END not in frame.columns:
        raise ParameterError("give years=: the jobs have no start and end to measure their span")
    span = frame.select((pl.col(END).max() - pl.col(START).min()).dt.total_microseconds()).item()
    if span is None or span <= 0:
        raise ParameterError("give years=: the jobs' windows span no time")
    return span / 3.6e9 / _HOURS_PER_YEAR
