"""Figures of the what-if tools: scenario differences, the tornado, the refresh curve.

Drawn with matplotlib's Agg backend, as :mod:`fleetcarbon.plots` (which
re-exports these functions); matplotlib is imported only when a figure is drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from fleetcarbon.errors import SchemaError
from fleetcarbon.plots import _figure_and_axes, _group_labels, _no_data, _require

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from fleetcarbon.refresh import RefreshResult

__all__ = ["differences", "grid_heatmap", "refresh_curve", "tornado"]

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


def grid_heatmap(
    series: pl.DataFrame,
    region: str,
    *,
    estimates: pl.DataFrame | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Draw a region's grid intensity by hour of day × day, and the fleet's energy beside it.

    When did our energy run, and how clean was the grid then? The top panel is
    the series' intensity (UTC hours); with ``estimates`` (the output of
    :func:`fleetcarbon.estimate`, with ``start``), the bottom panel is the
    facility energy the region's jobs drew in each hour (power flat over each
    window), and the title compares the energy-weighted intensity with the
    time mean.

    Parameters
    ----------
    series : pl.DataFrame
        A grid series in long form (``region``, ``start``, ``end``,
        ``kgco2e_per_kwh``), e.g. ``factors.grid_series.frame``.
    region : str
        The region key to draw.
    estimates : pl.DataFrame, optional
    ax : matplotlib.axes.Axes, optional
        Axes for the intensity panel alone (no energy panel).
    """
    from fleetcarbon.cfe_matching import demand_per_interval

    _require(series, ["region", "start", "end", "kgco2e_per_kwh"], "grid_heatmap() series")
    rows = series.filter(pl.col("region") == region).sort("start")
    hours = rows.select(
        pl.datetime_ranges(
            pl.col("start").dt.truncate("1h"),
            pl.col("end") - pl.duration(microseconds=1),
            interval="1h",
        ).alias("hour"),
        "kgco2e_per_kwh",
    ).explode("hour")
    hourly = hours.group_by("hour").agg(pl.col("kgco2e_per_kwh").mean()).sort("hour")
    with_energy = estimates is not None and ax is None
    figure_cls, canvas_cls = _matplotlib_classes()
    if ax is None:
        fig = figure_cls(figsize=(10.0, 6.5 if with_energy else 3.8), layout="constrained")
        canvas_cls(fig)
        axes = fig.subplots(2 if with_energy else 1, 1, sharex=True, squeeze=False)[:, 0]
    else:
        fig, axes = _figure_and_axes(ax, (10.0, 3.8))[0], np.array([ax])
    if hourly.height == 0:
        _no_data(axes[0], f"no series for {region}")
        return fig
    first = hourly["hour"].dt.truncate("1d").min()
    day = ((hourly["hour"] - first).dt.total_hours() // 24).to_numpy().astype(int)
    hour = hourly["hour"].dt.hour().to_numpy()
    grid = np.full((24, int(day.max()) + 1), np.nan)
    grid[hour, day] = hourly["kgco2e_per_kwh"].to_numpy()
    image = axes[0].imshow(grid, aspect="auto", origin="lower", cmap="viridis_r")
    fig.colorbar(image, ax=axes[0], label="kgCO2e/kWh")
    axes[0].set_ylabel("hour (UTC)")
    title = f"{region}: grid intensity by hour"
    if with_energy:
        assert estimates is not None
        _require(estimates, ["region", "start", "duration_h", "facility_energy_kwh"], "estimates")
        jobs = estimates.filter(
            (pl.col("region").cast(pl.String) == region) & pl.col("start").is_not_null()
        )
        start_us = jobs["start"].dt.epoch("us").to_numpy()
        end_us = start_us + (jobs["duration_h"].to_numpy() * 3.6e9).astype(np.int64)
        edges = hourly["hour"].dt.epoch("us").to_numpy()
        keep = end_us > start_us
        rate = jobs["facility_energy_kwh"].to_numpy()[keep] / (
            (end_us[keep] - start_us[keep]) / 3.6e9
        )
        energy = demand_per_interval(
            edges, edges + 3_600_000_000, start_us[keep], end_us[keep], rate
        )
        drawn = np.zeros_like(grid)
        drawn[hour, day] = energy
        picture = axes[1].imshow(drawn, aspect="auto", origin="lower", cmap="Oranges")
        fig.colorbar(picture, ax=axes[1], label="facility kWh")
        axes[1].set_ylabel("hour (UTC)")
        axes[1].set_title("the fleet's energy in the same hours")
        intensity = hourly["kgco2e_per_kwh"].to_numpy()
        if energy.sum() > 0:
            weighted = float((energy * intensity).sum() / energy.sum())
            title += f": {weighted:.3f} met by the fleet's energy, {intensity.mean():.3f} time mean"
    axes[-1].set_xlabel(f"day from {str(first)[:10]}")
    axes[0].set_title(title)
    return fig


def _matplotlib_classes() -> tuple[Any, Any]:
    from fleetcarbon.plots import _matplotlib

    return _matplotlib()
