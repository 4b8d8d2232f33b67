"""Figures of the what-if tools: scenario differences, the tornado, the refresh curve.

Drawn with matplotlib's Agg backend, as :mod:`fleetcarbon.plots` (which
re-exports these functions); matplotlib is imported only when a figure is drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from fleetcarbon.errors import SchemaError
from fleetcarbon.plots import _figure_and_axes, _group_labels, _no_data, _require

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from fleetcarbon.refresh import RefreshResult

__all__ = ["differences", "refresh_curve", "tornado"]

_BLUE, _ORANGE, _GREY = "#3B6FB6", "#E07B39", "#888888"


def _scale(metric: str) -> tuple[float, str]:
    if metric.endswith("_kgco2e"):
        return 1e-3, "tCO2e"
    if metric.endswith("_kwh"):
        return 1e-3, "MWh"
    return 1.0, ""


def differences(
    summary: pl.DataFrame,
    *,
    metric: str = "total_kgco2e",
    by: str | Sequence[str] | None = None,
    interval: tuple[str, str] = ("p05", "p95"),
    ax: Axes | None = None,
) -> Figure:
    """Draw each scenario's difference to the baseline with its interval (a forest plot).

    Parameters
    ----------
    summary : pl.DataFrame
        The frame :func:`fleetcarbon.sweep` returns.
    metric : str, default "total_kgco2e"
    by : str or sequence of str, optional
        The sweep's group columns (one row per scenario × group).
    interval : (str, str), default ("p05", "p95")
        The quantile columns of the difference that bound each bar.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    low, high = (f"{metric}_diff_{q}" for q in interval)
    needed = ["scenario", f"{metric}_diff", low, high, f"{metric}_p_lower"]
    _require(summary, needed, "differences() input (the output of fleetcarbon.sweep)")
    by_list = [by] if isinstance(by, str) else list(by or [])
    baseline = summary["scenario"][0] if summary.height else None
    rows = summary.filter(pl.col("scenario") != baseline)
    factor, unit = _scale(metric)
    labels = [
        s if not by_list else f"{s} · {g}"
        for s, g in zip(rows["scenario"], _group_labels(rows, by_list), strict=True)
    ]
    fig, ax = _figure_and_axes(ax, (8.0, 0.9 + 0.45 * max(len(labels), 1)))
    if not labels:
        _no_data(ax, "no scenarios")
        return fig
    y = np.arange(len(labels))[::-1]
    centre = rows[f"{metric}_diff"].to_numpy() * factor
    lo, hi = rows[low].to_numpy() * factor, rows[high].to_numpy() * factor
    colours = [_BLUE if c < 0 else _ORANGE for c in centre]
    ax.hlines(y, lo, hi, colors=colours, linewidth=2.5)
    ax.scatter(centre, y, color=colours, zorder=3, s=28)
    ax.axvline(0.0, color=_GREY, linewidth=1)
    ax.set_yticks(y, labels)
    for yi, x, p in zip(y, hi, rows[f"{metric}_p_lower"], strict=True):
        ax.text(x, yi, f"  P(lower) {p:.0%}", va="center", fontsize="small", color=_GREY)
    ax.set_xlabel(f"difference to {summary['scenario'][0]!r}, {metric} ({unit})")
    ax.set_title(f"Scenario differences, {interval[0]}–{interval[1]} of the paired draws")
    ax.grid(axis="x", alpha=0.3)
    return fig


def tornado(indices: pl.DataFrame, *, top: int = 12, ax: Axes | None = None) -> Figure:
    """Draw the tornado of :func:`fleetcarbon.sensitivity`: each input's p05–p95 swing.

    Bars run from the metric with the input at its 5th percentile to it at its
    95th (the others at their means), largest swing on top, around the value
    with every input at its mean. Only one group's rows may be given.
    """
    _require(indices, ["input", "at_p05", "at_p95", "at_means", "metric"], "tornado() input")
    if indices["at_means"].n_unique() > 1:
        raise SchemaError("tornado() draws one group: filter the sensitivity frame first")
    rows = indices.with_columns(size=(pl.col("at_p95") - pl.col("at_p05")).abs())
    rows = rows.sort("size", descending=True).head(top)
    metric = rows["metric"][0] if rows.height else "total_kgco2e"
    factor, unit = _scale(metric)
    fig, ax = _figure_and_axes(ax, (8.0, 0.9 + 0.4 * max(rows.height, 1)))
    if rows.height == 0:
        _no_data(ax, "no inputs")
        return fig
    centre = rows["at_means"][0] * factor
    y = np.arange(rows.height)[::-1]
    at_low, at_high = rows["at_p05"].to_numpy() * factor, rows["at_p95"].to_numpy() * factor
    ax.barh(y, at_low - centre, left=centre, color=_BLUE, label="input at p05")
    ax.barh(y, at_high - centre, left=centre, color=_ORANGE, label="input at p95")
    ax.axvline(centre, color=_GREY, linewidth=1)
    ax.set_yticks(y, rows["input"].to_list())
    ax.set_xlabel(f"{metric} ({unit}), every other input at its mean")
    ax.set_title("Tornado: the swing of each uncertain input")
    ax.legend(loc="lower right", fontsize="small")
    ax.grid(axis="x", alpha=0.3)
    return fig


def refresh_curve(
    result: RefreshResult, *, band: tuple[str, str] = ("p05", "p95"), ax: Axes | None = None
) -> Figure:
    """Draw the cumulative carbon of keeping and of replacing, with their bands and break-even."""
    curve, summary = result.curve, result.summary
    years = curve["years"].to_numpy()
    fig, ax = _figure_and_axes(ax, (8.0, 4.5))
    for path, colour in (("keep", _GREY), ("replace", _BLUE)):
        lo, hi = (curve[f"{path}_kgco2e_{q}"].to_numpy() / 1e3 for q in band)
        ax.fill_between(years, lo, hi, color=colour, alpha=0.2, linewidth=0)
        ax.plot(years, curve[f"{path}_kgco2e"].to_numpy() / 1e3, color=colour, label=path)
    even = summary["break_even_years"][0]
    if np.isfinite(even) and even <= years[-1]:
        ax.axvline(even, color=_ORANGE, linestyle="--", linewidth=1.2)
        ax.text(even, ax.get_ylim()[1] * 0.95, f" break-even {even:.1f} y", color=_ORANGE, va="top")
    p = summary["p_break_even_within_lifetime"][0]
    ax.set_title(
        f"{summary['old'][0]} → {summary['new'][0]}: P(break-even within "
        f"{summary['lifetime_years'][0]:g} y) = {p:.0%}"
    )
    ax.set_xlabel("years from now")
    ax.set_ylabel("cumulative tCO2e")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    return fig
