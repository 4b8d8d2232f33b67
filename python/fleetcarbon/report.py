"""A carbon report in one folder: Markdown or HTML text, CSV tables and PNG figures."""

from __future__ import annotations

import html
import json
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl

from fleetcarbon import outputs
from fleetcarbon._core import __version__
from fleetcarbon.errors import DroppedRowsWarning, MissingColumnError
from fleetcarbon.schema import END, START
from fleetcarbon.summarize import SUMMED_COLUMNS, summarize

__all__ = ["write_report"]

#: Rows of a table shown in the report text (the CSV files hold all rows).
MAX_TABLE_ROWS = 50

_FIGURES = {
    "breakdown": "breakdown.png",
    "over_time": "over_time.png",
    "distribution": "distribution.png",
    "scenarios": "scenarios.png",
}
#: Regions with a grid series that get a heatmap, those whose jobs drew the most energy first.
_MAX_GRID_FIGURES = 4
#: The marker file of a report folder: it lists the files the report wrote.
MARKER = ".fleetcarbon-report"
#: Every file a report may write.
REPORT_FILES = (
    "report.md",
    "report.html",
    "summary.csv",
    "simulation.csv",
    "sweep.csv",
    *_FIGURES.values(),
    *(f"grid_{i}.png" for i in range(1, _MAX_GRID_FIGURES + 1)),
)


@dataclass
class _Heading:
    text: str
    level: int = 2


@dataclass
class _Paragraph:
    text: str


@dataclass
class _Table:
    header: list[str]
    rows: list[list[str]]
    note: str = ""


@dataclass
class _Image:
    path: str
    alt: str


_Block = _Heading | _Paragraph | _Table | _Image


def write_report(
    estimates: pl.DataFrame,
    out_dir: str | Path,
    *,
    by: str | Sequence[str] | None = None,
    simulation: pl.DataFrame | None = None,
    draws: pl.DataFrame | None = None,
    sweep: pl.DataFrame | None = None,
    grid_series: pl.DataFrame | None = None,
    title: str = "Carbon report",
    format: Literal["markdown", "html"] = "markdown",
    figures: bool = True,
    overwrite: bool = False,
) -> Path:
    """Write a carbon report, its tables and its figures into a fresh folder.

    The folder receives:

    - ``report.md`` (or ``report.html``): the factors version, the number of
      jobs, the totals (operational location- and market-based, embodied
      hardware and facility, total; in tCO2e), the per-group table, the
      Monte Carlo intervals when given, and the figures, linked by relative path;
    - ``summary.csv``: :func:`fleetcarbon.summarize` of ``estimates`` by ``by``;
    - ``simulation.csv``: ``simulation`` as given, when given;
    - ``sweep.csv``: ``sweep`` as given, when given, and a "What if" section
      with each scenario's difference to the baseline;
    - ``breakdown.png`` (always), ``over_time.png`` (when ``start`` and ``end``
      exist and some job has both) and ``distribution.png`` (when ``draws`` is
      given) and ``scenarios.png`` (when ``sweep`` is given), unless
      ``figures=False``;
    - ``.fleetcarbon-report``: a marker listing the files above, by which a
      later call recognizes the folder as a report it may replace.

    ``out_dir`` must be missing, empty, or hold a previous report (it has the
    marker); a previous report is replaced only with ``overwrite=True``, and
    then only the files it lists are removed: other files in the folder stay
    (unless one has the name of a report file, which is refused). The report
    is built in a temporary folder beside ``out_dir``
    (``.<name>.fleetcarbon-partial-<random>``), which becomes ``out_dir`` at
    the end, or whose files then replace the previous report's (see
    :func:`fleetcarbon.outputs.atomic_folder`), so that an error or an
    interrupt leaves ``out_dir`` as it was.

    The HTML page is self-contained (inline style, no external assets) apart
    from the PNGs beside it, and all text in it is escaped.

    Parameters
    ----------
    estimates : pl.DataFrame
        Output of :func:`fleetcarbon.estimate`.
    out_dir : str or Path
        Folder to write; created if missing (with its parents).
    by : str or sequence of str, optional
        Grouping columns of the tables and figures; none gives fleet-wide rows.
    simulation : pl.DataFrame, optional
        Summary frame of :func:`fleetcarbon.simulate`. When grouped by ``by``
        and holding ``total_kgco2e_p05``/``_p95``, its intervals become
        whiskers on the breakdown figure.
    draws : pl.DataFrame, optional
        The ``return_draws=True`` frame of :func:`fleetcarbon.simulate`, for
        the distribution figure (draws are summed over groups).
    sweep : pl.DataFrame, optional
        The output of :func:`fleetcarbon.sweep` (not grouped, or grouped by
        ``by``), for the "What if" section.
    grid_series : pl.DataFrame, optional
        The grid series the estimates used (``factors.grid_series.frame``): a
        "Grid hours" section with a heatmap (``grid_1.png``...) of the
        intensity by hour and the fleet's energy in those hours, for the (at
        most 4) series regions whose jobs drew the most energy.
    title : str, default "Carbon report"
        Title of the report.
    format : {"markdown", "html"}, default "markdown"
        Format of the report text.
    figures : bool, default True
        Draw the PNG figures (needs matplotlib). With False, the report has
        the text and the tables only.
    overwrite : bool, default False
        Replace a previous report in ``out_dir``.

    Returns
    -------
    Path
        Path of the report file (``out_dir / "report.md"`` or ``"report.html"``).

    Raises
    ------
    fleetcarbon.errors.MissingColumnError
        If ``estimates`` lacks the output columns of ``estimate()`` or a ``by`` column.
    FileExistsError
        If ``out_dir`` is not empty and holds no report, or holds one and
        ``overwrite`` is false; nothing is written.
    NotADirectoryError
        If ``out_dir`` is a file.
    ImportError
        If ``figures`` is true and matplotlib is not installed
        (``pip install 'fleetcarbon[plot]'``); checked before anything is written.
    """
    from fleetcarbon import plots  # matplotlib itself is imported when drawing

    if format not in ("markdown", "html"):
        raise ValueError(f"format must be 'markdown' or 'html', got {format!r}")
    keys = [by] if isinstance(by, str) else list(by or ())
    missing = [c for c in (*SUMMED_COLUMNS, "factors_version", *keys) if c not in estimates.columns]
    if missing:
        raise MissingColumnError(
            f"write_report needs the output of estimate(); missing column(s) {missing}"
        )
    if sweep is not None:
        _check_sweep(sweep)
    if figures:
        require_matplotlib()
    check_folder(out_dir, overwrite=overwrite)

    summary = summarize(estimates, by=keys)
    heat_regions = _heat_regions(estimates, grid_series) if figures else []
    whiskers = figures and simulation is not None and _has_interval(simulation, keys)
    timed = _jobs_with_window(estimates) if figures else 0
    written: list[str] = []

    def replaced() -> list[str]:  # checked again when the files move in
        return [p.name for p in check_folder(out_dir, overwrite=overwrite).removed]

    with outputs.atomic_folder(out_dir, replace=replaced, last=MARKER) as stage:

        def done(name: str) -> Path:
            written.append(name)
            return stage / name

        outputs.write_frame(summary, done("summary.csv"))
        if simulation is not None:
            outputs.write_frame(simulation, done("simulation.csv"))
        if sweep is not None:
            outputs.write_frame(sweep, done("sweep.csv"))
        if figures:
            plots.save(
                plots.breakdown(estimates, keys, simulation=simulation if whiskers else None),
                done(_FIGURES["breakdown"]),
            )
            if timed:
                with warnings.catch_warnings():  # the report states the count itself
                    warnings.simplefilter("ignore", category=DroppedRowsWarning)
                    plots.save(plots.over_time(estimates, keys), done(_FIGURES["over_time"]))
            if draws is not None:
                plots.save(plots.distribution(draws), done(_FIGURES["distribution"]))
            if sweep is not None:
                sweep_keys = [k for k in keys if k in sweep.columns]
                plots.save(plots.differences(sweep, by=sweep_keys), done(_FIGURES["scenarios"]))
            for i, region in enumerate(heat_regions, start=1):
                fig = plots.grid_heatmap(grid_series, region, estimates=estimates)  # type: ignore[arg-type]
                plots.save(fig, done(f"grid_{i}.png"))

        blocks = _blocks(
            estimates,
            summary,
            keys,
            title=title,
            simulation=simulation,
            whiskers=whiskers,
            timed=timed,
            with_draws=figures and draws is not None,
            figures=figures,
        )
        if sweep is not None:
            blocks[-2:-2] = _sweep_blocks(sweep, keys, figures=figures)
        if heat_regions:
            blocks[-2:-2] = [
                _Heading("Grid hours"),
                _Paragraph(
                    "Each region's grid intensity by hour of day (UTC) and day, from its series, "
                    "and the facility energy the fleet drew in the same hours."
                ),
                *(
                    _Image(f"grid_{i}.png", f"Grid hours of {r}")
                    for i, r in enumerate(heat_regions, 1)
                ),
            ]
        if format == "html":
            name = "report.html"
            outputs.write_text(done(name), _to_html(blocks, title))
        else:
            name = "report.md"
            outputs.write_text(done(name), _to_markdown(blocks))
        marker = {"fleetcarbon_report": 1, "version": __version__, "files": written}
        outputs.write_text(stage / MARKER, json.dumps(marker, indent=1) + "\n")
    return Path(out_dir) / name


def require_matplotlib(hint: str = "figures=False") -> None:
    """Check that the report's figures can be drawn.

    Parameters
    ----------
    hint : str, default "figures=False"
        How to do without figures, for the message.

    Raises
    ------
    ImportError
        If matplotlib is not installed; the message gives
        ``pip install 'fleetcarbon[plot]'`` and ``hint``.
    """
    from fleetcarbon import plots

    try:
        plots._matplotlib()
    except ImportError as exc:
        raise ImportError(
            "the report's figures need matplotlib: pip install 'fleetcarbon[plot]' "
            f"(or pass {hint} for the text and tables only)"
        ) from exc


@dataclass
class FolderPlan:
    """What writing a report into an existing folder does to it.

    Attributes
    ----------
    kept : list of str
        Entries of the folder that stay (the report did not write them).
    removed : list of Path
        Files of the previous report that are removed (the marker included).
    """

    kept: list[str]
    removed: list[Path]


def check_folder(
    out_dir: str | Path, *, overwrite: bool = False, flag: str = "overwrite=True"
) -> FolderPlan:
    """Check that a report may be written into ``out_dir``; say what it replaces.

    Parameters
    ----------
    out_dir : str or Path
        The report folder.
    overwrite : bool, default False
        Whether a previous report there may be replaced.
    flag : str, default "overwrite=True"
        How to ask for ``overwrite``, for the message.

    Returns
    -------
    FolderPlan
        Entries kept and files removed (both empty for a missing or empty folder).

    Raises
    ------
    FileExistsError
        If the folder is not empty and holds no report (no readable marker),
        holds one and ``overwrite`` is false, or holds a file the report
        would replace that the previous report did not write.
    NotADirectoryError
        If ``out_dir`` is a file.
    """
    folder = Path(out_dir)
    if not os.path.lexists(folder):
        return FolderPlan([], [])
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} exists and is not a folder")
    entries = sorted(os.listdir(folder))
    if not entries:
        return FolderPlan([], [])
    listed = _read_marker(folder / MARKER)
    if listed is None:
        raise FileExistsError(
            f"{folder} is not empty and holds no fleetcarbon report (no readable {MARKER}); "
            "write the report into a new or empty folder"
        )
    if not overwrite:
        raise FileExistsError(f"{folder} holds a previous report; pass {flag} to replace it")
    ours = {MARKER} | {
        n for n in listed if (folder / n).is_file() and not (folder / n).is_symlink()
    }
    kept = [e for e in entries if e not in ours]
    clash = sorted(set(kept) & set(REPORT_FILES))
    if clash:
        raise FileExistsError(
            f"{folder / clash[0]} was not written by the previous report; move it away first"
        )
    return FolderPlan(kept, [folder / n for n in sorted(ours)])


def _read_marker(path: Path) -> list[str] | None:
    """Return the file names a report's marker lists, or None if there is no valid marker."""
    if not _regular_file(path):
        return None
    try:
        marker = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    files = marker.get("files") if isinstance(marker, dict) else None
    if not isinstance(files, list):
        return None
    plain = [
        f for f in files if isinstance(f, str) and f == Path(f).name and f not in ("", ".", "..")
    ]
    return plain if len(plain) == len(files) else None


def _regular_file(path: Path) -> bool:
    """Tell whether ``path`` is a file itself (not a folder, nor a symbolic link)."""
    return path.is_file() and not path.is_symlink()


def _has_interval(simulation: pl.DataFrame, keys: list[str]) -> bool:
    needed = [*keys, "total_kgco2e_p05", "total_kgco2e_p95"]
    return all(c in simulation.columns for c in needed)


def _jobs_with_window(estimates: pl.DataFrame) -> int:
    """Count jobs with both a start and an end (0 when the columns are absent or not dates)."""
    if START not in estimates.columns or END not in estimates.columns:
        return 0
    if not all(estimates.schema[c].is_temporal() for c in (START, END)):
        return 0
    return int(
        estimates.select((pl.col(START).is_not_null() & pl.col(END).is_not_null()).sum()).item()
    )


def _num(x: float | None) -> str:
    """Format a number for a table: thousands separators, about 4 significant digits."""
    if x is None or x != x:  # None or NaN
        return "–"
    a = abs(x)
    if a >= 1000:
        return f"{x:,.0f}"
    if a >= 1:
        return f"{x:,.{max(0, 4 - len(str(int(a))))}f}".rstrip("0").rstrip(".") or "0"
    if a == 0:
        return "0"
    return f"{x:.4g}"


def _t(kg: float | None) -> str:
    """Format kgCO2e as tCO2e."""
    return _num(None if kg is None else kg / 1000.0)


def _blocks(
    estimates: pl.DataFrame,
    summary: pl.DataFrame,
    keys: list[str],
    *,
    title: str,
    simulation: pl.DataFrame | None,
    whiskers: bool,
    timed: int,
    with_draws: bool,
    figures: bool = True,
) -> list[_Block]:
    n = estimates.height
    versions = sorted(
        {str(v) for v in estimates["factors_version"].drop_nulls().unique().to_list()}
    )
    fleet = summarize(estimates).row(0, named=True) if n else {}
    sums = {c: float(fleet.get(c) or 0.0) for c in SUMMED_COLUMNS}
    grouping = " / ".join(keys) if keys else "the whole fleet"
    blocks: list[_Block] = [
        _Heading(title, 1),
        _Paragraph(
            f"{n:,} job{'s' if n != 1 else ''}, estimated with fleetcarbon {__version__} over "
            f"emission factors version {', '.join(versions) or 'unknown'}. "
            "Carbon is in tonnes of CO2-equivalent (tCO2e), energy in megawatt-hours (MWh)."
        ),
        _Heading("Totals"),
        _Table(
            ["quantity", "value", "unit"],
            [
                ["IT energy", _num(sums["it_energy_kwh"] / 1000), "MWh"],
                ["facility energy (IT × PUE)", _num(sums["facility_energy_kwh"] / 1000), "MWh"],
                [
                    "operational carbon, location-based",
                    _t(sums["operational_kgco2e"]),
                    "tCO2e",
                ],
                [
                    "operational carbon, market-based",
                    _t(sums["operational_market_kgco2e"]),
                    "tCO2e",
                ],
                ["embodied carbon, hardware", _t(sums["embodied_hardware_kgco2e"]), "tCO2e"],
                ["embodied carbon, facility", _t(sums["embodied_facility_kgco2e"]), "tCO2e"],
                ["embodied carbon", _t(sums["embodied_kgco2e"]), "tCO2e"],
                ["total carbon (location-based)", _t(sums["total_kgco2e"]), "tCO2e"],
                [
                    "total carbon (market-based)",
                    _t(sums["operational_market_kgco2e"] + sums["embodied_kgco2e"]),
                    "tCO2e",
                ],
            ],
        ),
        _Heading(f"By {grouping}"),
        _summary_table(summary, keys),
    ]
    if figures:
        blocks.append(
            _Image(_FIGURES["breakdown"], f"Operational and embodied carbon by {grouping}")
        )
    if whiskers:
        blocks.append(_Paragraph("Whiskers: Monte Carlo 5–95% interval of the total."))
    elif figures and simulation is not None:
        blocks.append(
            _Paragraph(
                f"The simulation is not grouped by {grouping} with 5% and 95% quantiles, "
                "so the figure has no interval whiskers."
            )
        )

    if simulation is not None:
        blocks += [_Heading("Uncertainty (Monte Carlo)"), *_simulation_blocks(simulation, keys)]
    if with_draws:
        blocks.append(_Image(_FIGURES["distribution"], "Monte Carlo distribution of the total"))

    left_out = n - timed
    if timed:
        text = "Each job's carbon is split over the months its run overlaps, in proportion to time."
        if left_out:
            plural = "s" if left_out != 1 else ""
            text += f" {left_out:,} job{plural} without start or end are left out."
        blocks += [
            _Heading("Over time"),
            _Paragraph(text),
            _Image(_FIGURES["over_time"], f"Monthly emissions by {grouping}"),
        ]
    blocks += [
        _Heading("Files"),
        _Paragraph(
            "summary.csv holds the table by group"
            + (", simulation.csv the Monte Carlo summary" if simulation is not None else "")
            + "; carbon columns there are in kgCO2e and energy in kWh."
        ),
    ]
    return blocks


def _heat_regions(estimates: pl.DataFrame, series: pl.DataFrame | None) -> list[str]:
    """Return the series regions whose windowed jobs drew the most energy (at most 4)."""
    if series is None or "start" not in estimates.columns or "region" not in estimates.columns:
        return []
    regions = series["region"].unique().to_list()
    energy = (
        estimates.filter(pl.col("start").is_not_null())
        .with_columns(pl.col("region").cast(pl.String))
        .filter(pl.col("region").is_in(regions))
        .group_by("region")
        .agg(pl.col("facility_energy_kwh").sum())
        .filter(pl.col("facility_energy_kwh") > 0)
        .sort(["facility_energy_kwh", "region"], descending=[True, False])
    )
    return energy["region"].head(_MAX_GRID_FIGURES).to_list()


def _check_sweep(sweep: pl.DataFrame) -> None:
    needed = ["scenario", "total_kgco2e", "total_kgco2e_diff", "total_kgco2e_p_lower"]
    missing = [c for c in needed if c not in sweep.columns]
    if missing:
        raise MissingColumnError(
            f"write_report: sweep lacks column(s) {missing}; give the output of fleetcarbon.sweep"
        )


def _sweep_blocks(sweep: pl.DataFrame, keys: list[str], *, figures: bool) -> list[_Block]:
    """Return the "What if" section: each scenario's paired difference to the baseline."""
    group_cols = [k for k in keys if k in sweep.columns]
    interval = [c for c in ("total_kgco2e_diff_p05", "total_kgco2e_diff_p95") if c in sweep.columns]
    header = [
        "scenario",
        *group_cols,
        "total (tCO2e)",
        "difference (tCO2e)",
        *(f"difference {c.removeprefix('total_kgco2e_diff_')} (tCO2e)" for c in interval),
        "P(lower)",
    ]
    rows = [
        [
            _cell(row["scenario"]),
            *(_cell(row[k]) for k in group_cols),
            _t(row["total_kgco2e"]),
            _t(row["total_kgco2e_diff"]),
            *(_t(row[c]) for c in interval),
            f"{row['total_kgco2e_p_lower']:.0%}",
        ]
        for row in sweep.head(MAX_TABLE_ROWS).iter_rows(named=True)
    ]
    baseline = sweep["scenario"][0] if sweep.height else "the baseline"
    text = (
        f"Each scenario against {baseline!r}, with common random numbers: the differences and "
        "their quantiles are over paired draws, and P(lower) is the share of draws in which the "
        "scenario's total is below the baseline's (docs/scenarios.md)."
    )
    if "draws" in sweep.columns and sweep.height:
        text += f" {int(sweep['draws'][0]):,} draws, seed {sweep['seed'][0]}."
    text += " Every metric, quantile and group is in sweep.csv (kgCO2e)."
    note = (
        f"The first {MAX_TABLE_ROWS} of {sweep.height} rows; all are in sweep.csv."
        if sweep.height > MAX_TABLE_ROWS
        else ""
    )
    blocks: list[_Block] = [_Heading("What if"), _Paragraph(text), _Table(header, rows, note)]
    if figures:
        blocks.append(_Image(_FIGURES["scenarios"], "Scenario differences to the baseline"))
    return blocks


def _summary_table(summary: pl.DataFrame, keys: list[str]) -> _Table:
    ordered = summary.sort("total_kgco2e", descending=True, nulls_last=True)
    header = [
        *(keys or ["group"]),
        "jobs",
        "operational (tCO2e)",
        "operational, market (tCO2e)",
        "embodied (tCO2e)",
        "total (tCO2e)",
        "embodied share",
    ]
    rows = []
    for row in ordered.head(MAX_TABLE_ROWS).iter_rows(named=True):
        share = row["embodied_share"]
        rows.append(
            [
                *([_cell(row[k]) for k in keys] or ["all jobs"]),
                f"{row['jobs']:,}",
                _t(row["operational_kgco2e"]),
                _t(row["operational_market_kgco2e"]),
                _t(row["embodied_kgco2e"]),
                _t(row["total_kgco2e"]),
                "–" if share is None else f"{share:.1%}",
            ]
        )
    note = (
        f"The {MAX_TABLE_ROWS} largest of {ordered.height} groups; all are in summary.csv."
        if ordered.height > MAX_TABLE_ROWS
        else ""
    )
    return _Table(header, rows, note)


def _simulation_blocks(simulation: pl.DataFrame, keys: list[str]) -> list[_Block]:
    quantile_cols = sorted(
        (c for c in simulation.columns if re.fullmatch(r"total_kgco2e_p[0-9_]+", c)),
        key=lambda c: float(c.removeprefix("total_kgco2e_p").replace("_", ".", 1)),
    )
    group_cols = [k for k in keys if k in simulation.columns]
    value_cols: list[str] = [
        c for c in ("total_kgco2e", "total_kgco2e_mean") if c in simulation.columns
    ]
    value_cols += quantile_cols
    if not value_cols:
        return [_Paragraph("The simulation frame has no total_kgco2e columns; see simulation.csv.")]
    labels = {"total_kgco2e": "deterministic", "total_kgco2e_mean": "mean"}
    header = [
        *(group_cols or ["group"]),
        *(f"{labels.get(c, c.removeprefix('total_kgco2e_'))} (tCO2e)" for c in value_cols),
    ]
    rows = [
        [
            *([_cell(row[k]) for k in group_cols] or ["all jobs"]),
            *(_t(row[c]) for c in value_cols),
        ]
        for row in simulation.head(MAX_TABLE_ROWS).iter_rows(named=True)
    ]
    text = "Total carbon per group: the deterministic estimate, the Monte Carlo mean and quantiles"
    if "draws" in simulation.columns and simulation.height:
        text += f" over {int(simulation['draws'][0]):,} draws"
    if "seed" in simulation.columns and simulation.height:
        text += f" (seed {simulation['seed'][0]})"
    note = (
        f"The first {MAX_TABLE_ROWS} of {simulation.height} rows; all are in simulation.csv."
        if simulation.height > MAX_TABLE_ROWS
        else ""
    )
    return [_Paragraph(text + "."), _Table(header, rows, note)]


def _cell(value: object) -> str:
    return "(none)" if value is None else str(value)


def _md_escape(text: str) -> str:
    """Escape text for a Markdown paragraph or table cell."""
    text = re.sub(r"([\\`*_\[\]<>|#])", r"\\\1", text)
    return text.replace("\n", " ")


def _to_markdown(blocks: list[_Block]) -> str:
    parts: list[str] = []
    for block in blocks:
        if isinstance(block, _Heading):
            parts.append(f"{'#' * block.level} {_md_escape(block.text)}")
        elif isinstance(block, _Paragraph):
            parts.append(_md_escape(block.text))
        elif isinstance(block, _Table):
            lines = [
                "| " + " | ".join(_md_escape(h) for h in block.header) + " |",
                "|" + "|".join("---" for _ in block.header) + "|",
                *("| " + " | ".join(_md_escape(c) for c in row) + " |" for row in block.rows),
            ]
            if block.note:
                lines += ["", _md_escape(block.note)]
            parts.append("\n".join(lines))
        else:
            parts.append(f"![{_md_escape(block.alt)}]({block.path})")
    return "\n\n".join(parts) + "\n"


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; }
td { text-align: right; } td:first-child, th { text-align: left; }
img { max-width: 100%; height: auto; }
.note { color: #666; font-size: 0.9em; }
""".strip()


def _to_html(blocks: list[_Block], title: str) -> str:
    esc = html.escape
    body: list[str] = []
    for block in blocks:
        if isinstance(block, _Heading):
            body.append(f"<h{block.level}>{esc(block.text)}</h{block.level}>")
        elif isinstance(block, _Paragraph):
            body.append(f"<p>{esc(block.text)}</p>")
        elif isinstance(block, _Table):
            head = "".join(f"<th>{esc(h)}</th>" for h in block.header)
            rows = "\n".join(
                "<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in block.rows
            )
            body.append(
                f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table>"
            )
            if block.note:
                body.append(f'<p class="note">{esc(block.note)}</p>')
        else:
            body.append(f'<figure><img src="{esc(block.path)}" alt="{esc(block.alt)}"></figure>')
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{esc(title)}</title>\n<style>\n{_CSS}\n</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )
