"""Figures of per-job estimates and their Monte Carlo uncertainty (matplotlib, optional).

matplotlib is an optional dependency (``pip install 'fleetcarbon[plot]'``); it is
imported only when a figure is drawn. Figures are built on the non-interactive
Agg canvas without touching pyplot's global state, so nothing is ever shown:
return them to a notebook, or write them with :func:`save`.

All carbon axes are in tonnes of CO2-equivalent (tCO2e).
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import polars as pl

from fleetcarbon import outputs
from fleetcarbon._compat import EXPLODE_KWARGS, JOIN_NULLS_KWARGS
from fleetcarbon.errors import DroppedRowsWarning, MissingColumnError, SchemaError
from fleetcarbon.parameters import check_quantiles
from fleetcarbon.quantiles import quantile_name
from fleetcarbon.quantiles import quantiles as core_quantiles
from fleetcarbon.schema import END, START
from fleetcarbon.summarize import summarize

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "breakdown",
    "differences",
    "distribution",
    "grid_heatmap",
    "over_time",
    "over_time_table",
    "refresh_curve",
    "save",
    "tornado",
]

#: Carbon columns split over time by :func:`over_time_table`, where present.
TIME_SPLIT_COLUMNS = (
    "operational_kgco2e",
    "operational_market_kgco2e",
    "embodied_kgco2e",
    "total_kgco2e",
)

_BREAKDOWN_COLUMNS = (
    "operational_kgco2e",
    "embodied_hardware_kgco2e",
    "embodied_facility_kgco2e",
    "total_kgco2e",
)
_SEGMENTS = (
    ("operational_kgco2e", "operational (location-based)", "#3B6FB6"),
    ("embodied_hardware_kgco2e", "embodied: hardware", "#E07B39"),
    ("embodied_facility_kgco2e", "embodied: facility", "#F2C14E"),
)
_DRAW_META = ("draw", "seed")
_DRAW_METRICS = ("it_energy_kwh", "operational_kgco2e", "embodied_kgco2e", "total_kgco2e")
_NULL_LABEL = "(none)"
_DPI = 120


def _matplotlib() -> tuple[Any, Any]:
    """Import matplotlib lazily; return ``(Figure, FigureCanvasAgg)``."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - exercised with matplotlib hidden
        raise ImportError(
            "fleetcarbon's plots need matplotlib; install it with: pip install 'fleetcarbon[plot]'"
        ) from exc
    return Figure, FigureCanvasAgg


def _figure_and_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """Return ``ax`` and its figure, or a new Agg figure with one axes."""
    figure_cls, canvas_cls = _matplotlib()
    if ax is not None:
        return cast("Figure", ax.figure), ax
    fig = figure_cls(figsize=figsize, layout="constrained")
    canvas_cls(fig)
    return fig, fig.add_subplot()


def _as_list(by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def _require(frame: pl.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MissingColumnError(f"{what} lacks column(s) {missing}; it has {frame.columns}")


def _group_labels(frame: pl.DataFrame, by: Sequence[str]) -> list[str]:
    """Label each row by its group keys, joined with " / " (nulls shown as "(none)")."""
    if not by:
        return ["all jobs"] * frame.height
    parts = [
        frame[c].cast(pl.String).fill_null(_NULL_LABEL).to_list() for c in by
    ]  # one list per key column
    return [" / ".join(p) for p in zip(*parts, strict=True)]


def _no_data(ax: Axes, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def save(fig: Figure, path: str | Path, *, dpi: int = _DPI) -> Path:
    """Write a figure as PNG and close it.

    The PNG is written atomically (see :func:`fleetcarbon.outputs.atomic_path`):
    under a temporary name beside ``path``, renamed over ``path`` when complete,
    so that an error or an interrupt never leaves a partial image.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure, e.g. from :func:`breakdown`.
    path : str or Path
        Destination file; missing parent folders are created.
    dpi : int, default 120
        Resolution.

    Returns
    -------
    Path
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with outputs.atomic_path(path, overwrite=True) as partial:
        fig.savefig(partial, dpi=dpi, format="png")
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:  # only figures made through pyplot are registered there
        pyplot.close(fig)
    return path


def breakdown(
    estimates: pl.DataFrame,
    by: str | Sequence[str] | None,
    *,
    simulation: pl.DataFrame | None = None,
    interval: tuple[float, float] = (0.05, 0.95),
    ax: Axes | None = None,
    top: int = 20,
) -> Figure:
    """Draw stacked bars of operational and embodied carbon per group.

    Each group's bar stacks operational carbon (location-based) and embodied
    carbon, split into hardware manufacturing and facility construction; the
    bar's length is the group's ``total_kgco2e``. Groups are sorted by total,
    largest on top, and only the ``top`` largest are shown (the title says so).

    Parameters
    ----------
    estimates : pl.DataFrame
        Output of :func:`fleetcarbon.estimate`.
    by : str, sequence of str or None
        Grouping columns; None draws one bar for the whole fleet.
    simulation : pl.DataFrame, optional
        Summary frame of :func:`fleetcarbon.simulate` grouped by the same ``by``.
        Its ``total_kgco2e`` interval (see ``interval``) is drawn as a whisker on
        each group's bar; groups it lacks get none.
    interval : tuple of float, default (0.05, 0.95)
        Quantiles of the whisker; the simulation must have computed them
        (columns ``total_kgco2e_p05`` and ``total_kgco2e_p95`` by default).
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; a new figure is made otherwise.
    top : int, default 20
        Number of groups shown.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    fleetcarbon.errors.MissingColumnError
        If ``estimates`` lacks the carbon or ``by`` columns, or ``simulation``
        lacks the ``by`` columns or the interval's quantile columns.
    """
    keys = _as_list(by)
    _require(estimates, [*_BREAKDOWN_COLUMNS, *keys], "estimates (the output of estimate())")
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    lo_col, hi_col = (f"total_kgco2e_{quantile_name(q)}" for q in interval)
    if simulation is not None:
        _require(simulation, [*keys, lo_col, hi_col], "simulation (the summary of simulate())")

    summary = summarize(estimates, by=keys)
    n_groups = summary.height
    fig, ax = _figure_and_axes(ax, (8.0, 1.8 + 0.4 * max(min(top, n_groups), 1)))
    if n_groups == 0 or (not keys and estimates.height == 0):
        _no_data(ax, "no jobs")
        return fig
    summary = summary.sort("total_kgco2e", descending=True, nulls_last=True).head(top)
    labels = _group_labels(summary, keys)
    y = np.arange(summary.height)[::-1]  # largest on top
    left = np.zeros(summary.height)
    for column, label, colour in _SEGMENTS:
        width = summary[column].fill_null(0.0).to_numpy() / 1000.0
        ax.barh(y, width, left=left, color=colour, label=label, height=0.7)
        left += width

    if simulation is not None:
        interval_frame = _interval_per_group(summary, simulation, keys, lo_col, hi_col)
        lo = interval_frame[lo_col].to_numpy() / 1000.0
        hi = interval_frame[hi_col].to_numpy() / 1000.0
        has = np.isfinite(lo) & np.isfinite(hi)
        if has.any():
            ax.errorbar(
                (lo[has] + hi[has]) / 2,
                y[has],
                xerr=(hi[has] - lo[has]) / 2,
                fmt="none",
                ecolor="black",
                elinewidth=1.2,
                capsize=4,
                label=f"Monte Carlo {quantile_name(interval[0])}–{quantile_name(interval[1])}",
            )

    ax.set_yticks(y, labels)
    ax.set_xlabel("tCO2e")
    ax.set_xlim(left=0)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    shown = f" (top {summary.height} of {n_groups} groups)" if n_groups > summary.height else ""
    group_name = " / ".join(keys) if keys else "fleet"
    ax.set_title(f"Carbon by {group_name}{shown}")
    ax.legend(loc="best", fontsize="small")
    return fig


def _interval_per_group(
    summary: pl.DataFrame,
    simulation: pl.DataFrame,
    keys: list[str],
    lo_col: str,
    hi_col: str,
) -> pl.DataFrame:
    """Interval columns of ``simulation`` aligned to the rows of ``summary`` (null where absent)."""
    if not keys:
        row = simulation.select(lo_col, hi_col).head(1)
        if row.height == 0:
            row = pl.DataFrame({lo_col: [None], hi_col: [None]}, schema=row.schema)
        return pl.concat([row] * summary.height).cast(pl.Float64).fill_null(np.nan)
    as_text = [pl.col(c).cast(pl.String) for c in keys]
    left = summary.select(as_text).with_row_index("__fc_row")
    right = simulation.select(*as_text, lo_col, hi_col).unique(keys, keep="first")
    joined = left.join(right, on=keys, how="left", **JOIN_NULLS_KWARGS).sort("__fc_row")
    return joined.select(pl.col(lo_col, hi_col).cast(pl.Float64).fill_null(np.nan))


def _draws_per_draw(draws: pl.DataFrame, metric: str) -> np.ndarray:
    """Sum ``metric`` over the group rows of each draw; return one value per draw."""
    _require(draws, ["draw", metric], "draws (the return_draws=True frame of simulate())")
    if "seed" in draws.columns and draws["seed"].n_unique() > 1:
        raise SchemaError(
            "draws holds several seeds; draws of different seeds cannot be added up, "
            "filter the frame to one seed"
        )
    per_draw = draws.group_by("draw").agg(pl.col(metric).cast(pl.Float64).sum()).sort("draw")
    return per_draw[metric].to_numpy()


def distribution(
    draws: pl.DataFrame,
    *,
    metric: str = "total_kgco2e",
    quantiles: Sequence[float] = (0.05, 0.5, 0.95),
    bins: int = 50,
    ax: Axes | None = None,
) -> Figure:
    """Draw a histogram of the Monte Carlo draws of a fleet total, with quantile markers.

    Group rows are **added up per draw** before plotting, so the histogram is
    that of the total over all groups in the frame. This is valid because a
    factor row draws the same value for every job in a draw (draws of one seed
    add up across groups and shards). To see one group, filter ``draws`` first.

    Parameters
    ----------
    draws : pl.DataFrame
        The ``return_draws=True`` frame of :func:`fleetcarbon.simulate`: group
        columns, ``draw``, the metrics and ``seed``. Must hold a single seed.
    metric : str, default "total_kgco2e"
        Column to plot; kgCO2e columns are shown in tCO2e, ``it_energy_kwh`` in MWh.
    quantiles : sequence of float, default (0.05, 0.5, 0.95)
        Quantiles marked by vertical lines and labelled with their values
        (as every fleetcarbon output defines them: :mod:`fleetcarbon.quantiles`).
    bins : int, default 50
        Number of histogram bins.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; a new figure is made otherwise.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    fleetcarbon.errors.MissingColumnError
        If ``draws`` lacks ``draw`` or ``metric``.
    fleetcarbon.errors.SchemaError
        If ``draws`` mixes several seeds.
    """
    qs = check_quantiles(quantiles)
    values = _draws_per_draw(draws, metric)
    values = values[np.isfinite(values)]
    if metric.endswith("_kgco2e"):
        values, unit = values / 1000.0, "tCO2e"
    elif metric.endswith("_kwh"):
        values, unit = values / 1000.0, "MWh"
    else:
        unit = ""
    fig, ax = _figure_and_axes(ax, (8.0, 4.5))
    if values.size == 0:
        _no_data(ax, "no draws")
        return fig

    ax.hist(values, bins=bins, color="#7A9CC6", edgecolor="white", linewidth=0.5)
    qv = core_quantiles(values, qs) if qs else np.array([])
    top = ax.get_ylim()[1]
    for k, (q, v) in enumerate(zip(qs, qv, strict=True)):
        ax.axvline(v, color="#B22222", linestyle="--", linewidth=1.2)
        ax.text(
            v,
            top * (0.97 - 0.07 * (k % 3)),
            f" {quantile_name(q)} = {v:,.4g} {unit}".rstrip(),
            color="#B22222",
            fontsize="small",
            ha="left",
            va="top",
        )
    seeds = draws["seed"].unique().to_list() if "seed" in draws.columns else []
    seed_note = f", seed {seeds[0]}" if len(seeds) == 1 else ""
    ax.set_title(f"Monte Carlo distribution of {metric} ({values.size:,} draws{seed_note})")
    ax.set_xlabel(f"{metric.removesuffix('_kgco2e').removesuffix('_kwh')} ({unit})")
    ax.set_ylabel("draws")
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    return fig


def over_time_table(
    estimates: pl.DataFrame,
    by: str | Sequence[str] | None = None,
    *,
    freq: str = "1mo",
) -> pl.DataFrame:
    """Split each job's carbon over the calendar periods its run window overlaps.

    A job's carbon is shared among the periods (months by default) that its
    ``[start, end)`` window overlaps, in proportion to the time spent in each,
    so a job inside one period stays whole and totals are conserved. Periods
    are calendar periods in the time zone of ``start`` (``end`` is converted to
    it). A job whose ``end`` is not after its ``start`` is counted whole in the
    period of its ``start``. The split is vectorized in Polars.

    Parameters
    ----------
    estimates : pl.DataFrame
        Output of :func:`fleetcarbon.estimate`, with Datetime ``start`` and ``end``.
    by : str, sequence of str, optional
        Grouping columns.
    freq : str, default "1mo"
        Period length, as a Polars duration string ("1mo", "1w", "1d", "1q", ...).

    Returns
    -------
    pl.DataFrame
        One row per group and period with any job time, sorted by period then
        group: ``period`` (start of the period), the ``by`` columns, ``jobs``
        (jobs overlapping the period) and the shares of ``operational_kgco2e``,
        ``operational_market_kgco2e``, ``embodied_kgco2e`` and ``total_kgco2e``
        (those present).

    Warns
    -----
    fleetcarbon.errors.DroppedRowsWarning
        When jobs lack ``start`` or ``end``; the message counts them. They are left out.

    Raises
    ------
    fleetcarbon.errors.MissingColumnError
        If ``start``, ``end``, ``total_kgco2e`` or a ``by`` column is absent.
    fleetcarbon.errors.SchemaError
        If ``start``/``end`` are not Datetime (or Date), or mix naive and aware.
    """
    keys = _as_list(by)
    _require(estimates, [START, END, "total_kgco2e", *keys], "estimates (with start and end)")
    start, end = _window(estimates)
    metrics = [c for c in TIME_SPLIT_COLUMNS if c in estimates.columns]
    frame = estimates.select(
        *keys,
        *(pl.col(c).cast(pl.Float64) for c in metrics),
        __fc_s=start,
        __fc_e=end,
    )
    missing = frame.select((pl.col("__fc_s").is_null() | pl.col("__fc_e").is_null()).sum()).item()
    if missing:
        warnings.warn(
            f"{missing} of {estimates.height} job{'s' if estimates.height != 1 else ''} "
            "lack start or end and are left out of the time series",
            DroppedRowsWarning,
            stacklevel=3,
        )
    s, e = pl.col("__fc_s"), pl.col("__fc_e")
    period, nxt = pl.col("period"), pl.col("__fc_next")
    split = (
        frame.lazy()
        .filter(s.is_not_null() & e.is_not_null())
        .with_columns(__fc_e=pl.max_horizontal(s, e))
        .with_columns(
            period=pl.datetime_ranges(
                s.dt.truncate(freq), e.dt.truncate(freq), interval=freq, closed="both"
            )
        )
        .explode("period", **EXPLODE_KWARGS)
        .with_columns(__fc_next=period.dt.offset_by(freq))
        .with_columns(
            __fc_overlap=(pl.min_horizontal(e, nxt) - pl.max_horizontal(s, period))
            .dt.total_microseconds()
            .clip(lower_bound=0),
            __fc_span=(e - s).dt.total_microseconds(),
        )
        .with_columns(
            __fc_share=pl.when(pl.col("__fc_span") > 0)
            .then(pl.col("__fc_overlap") / pl.col("__fc_span"))
            .otherwise(1.0)
        )
        .filter((pl.col("__fc_share") > 0) | (pl.col("__fc_span") == 0))
        .group_by("period", *keys)
        .agg(pl.len().alias("jobs"), *((pl.col(c) * pl.col("__fc_share")).sum() for c in metrics))
        .sort(["period", *keys], nulls_last=True)
    )
    return split.collect()


def _window(estimates: pl.DataFrame) -> tuple[pl.Expr, pl.Expr]:
    """Return ``start`` and ``end`` expressions as Datetimes of one zone."""
    dtypes = {}
    for c in (START, END):
        dtype = estimates.schema[c]
        if dtype == pl.Date:
            dtype = pl.Datetime("us")
        elif not isinstance(dtype, pl.Datetime):
            raise SchemaError(
                f"column '{c}' must be Datetime (or Date) to plot over time, not {dtype}"
            )
        dtypes[c] = dtype
    tz_s, tz_e = dtypes[START].time_zone, dtypes[END].time_zone
    if (tz_s is None) != (tz_e is None):
        raise SchemaError("columns 'start' and 'end' must both be time-zone aware, or both naive")
    start = pl.col(START).cast(dtypes[START])
    end = pl.col(END).cast(dtypes[END])
    if tz_s is not None and tz_e != tz_s:
        end = end.dt.convert_time_zone(tz_s)
    return start, end.cast(pl.Datetime(dtypes[START].time_unit, tz_s))


def over_time(
    estimates: pl.DataFrame,
    by: str | Sequence[str] | None = None,
    *,
    freq: str = "1mo",
    top: int = 8,
    ax: Axes | None = None,
) -> Figure:
    """Draw emissions per period (monthly by default), stacked per group.

    Each job's ``total_kgco2e`` is split across the periods its run window
    overlaps, in proportion to time (see :func:`over_time_table`). Jobs
    without ``start`` or ``end`` are left out with a warning that counts them.

    Parameters
    ----------
    estimates : pl.DataFrame
        Output of :func:`fleetcarbon.estimate`, with Datetime ``start`` and ``end``.
    by : str, sequence of str, optional
        Grouping columns; groups are stacked, the ``top`` largest shown and
        the rest added up as "other".
    freq : str, default "1mo"
        Period length, as a Polars duration string.
    top : int, default 8
        Number of groups shown separately.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; a new figure is made otherwise.

    Returns
    -------
    matplotlib.figure.Figure

    Warns
    -----
    fleetcarbon.errors.DroppedRowsWarning
        When jobs lack ``start`` or ``end``.

    Raises
    ------
    fleetcarbon.errors.MissingColumnError
        If ``start``, ``end``, ``total_kgco2e`` or a ``by`` column is absent.
    """
    keys = _as_list(by)
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    table = over_time_table(estimates, keys, freq=freq)
    fig, ax = _figure_and_axes(ax, (9.0, 4.8))
    if table.height == 0:
        _no_data(ax, "no jobs with start and end")
        return fig
    table = table.with_columns(__fc_group=pl.Series(_group_labels(table, keys), dtype=pl.String))
    ranking = (
        table.group_by("__fc_group")
        .agg(pl.col("total_kgco2e").sum())
        .sort("total_kgco2e", "__fc_group", descending=[True, False])
    )
    groups = ranking["__fc_group"].to_list()
    if len(groups) > top:
        kept = set(groups[: top - 1]) if top > 1 else set()
        other = f"other ({len(groups) - len(kept)} groups)"
        table = table.with_columns(
            __fc_group=pl.when(pl.col("__fc_group").is_in(list(kept)))
            .then(pl.col("__fc_group"))
            .otherwise(pl.lit(other))
        )
        groups = [g for g in groups if g in kept] + [other]
    periods = table["period"].unique().sort()
    wide = (
        table.group_by("period", "__fc_group")
        .agg(pl.col("total_kgco2e").sum())
        .pivot(on="__fc_group", index="period", values="total_kgco2e")
    )
    wide = pl.DataFrame({"period": periods}).join(wide, on="period", how="left").fill_null(0.0)
    x = np.arange(periods.len())
    bottom = np.zeros(periods.len())
    colours = _palette(len(groups))
    if groups[-1].startswith("other ("):
        colours[-1] = "#A0A0A0"  # the lumped rest in grey
    for group, colour in zip(groups, colours, strict=True):
        heights = wide[group].to_numpy() / 1000.0
        ax.bar(x, heights, bottom=bottom, color=colour, label=group, width=0.8)
        bottom += heights

    fmt = "%Y-%m" if freq.endswith("mo") or freq.endswith("q") else "%Y-%m-%d"
    if freq.endswith("y"):
        fmt = "%Y"
    labels = periods.dt.strftime(fmt).to_list()
    step = max(1, int(np.ceil(len(labels) / 24)))
    ax.set_xticks(x[::step], labels[::step], rotation=45, ha="right")
    ax.set_ylabel("tCO2e")
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    period_name = "month" if freq == "1mo" else freq
    ax.set_title(f"Emissions per {period_name}" + (f" by {' / '.join(keys)}" if keys else ""))
    if keys:
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def _palette(n: int) -> list[Any]:
    """Return ``n`` distinct colours (tab10, then tab20)."""
    from matplotlib import colormaps

    cmap = colormaps["tab10"] if n <= 10 else colormaps["tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


# The what-if figures live in their own module, which uses the helpers above.
from fleetcarbon.scenario_plots import (  # noqa: E402
    differences,
    grid_heatmap,
    refresh_curve,
    tornado,
)
