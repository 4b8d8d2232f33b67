"""Figures and report: rendered PNGs are non-trivial, the time split is exact, errors are clear."""

from __future__ import annotations

import json
import sys
import warnings
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

pytest.importorskip("matplotlib")

import matplotlib.image as mpimg
import numpy as np
import polars as pl
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure

import fleetcarbon as fc
from fleetcarbon import plots
from fleetcarbon.errors import (
    DroppedRowsWarning,
    FleetcarbonError,
    MissingColumnError,
    SchemaError,
)
from fleetcarbon.report import write_report

MARKER = ".fleetcarbon-report"

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
UTC = ZoneInfo("UTC")


@pytest.fixture(scope="module")
def fleet() -> pl.DataFrame:
    return fc.synthetic_fleet(2_000, seed=3)


@pytest.fixture(scope="module")
def est(fleet: pl.DataFrame) -> pl.DataFrame:
    return fc.estimate(fleet)


@pytest.fixture(scope="module")
def sim(fleet: pl.DataFrame) -> pl.DataFrame:
    return fc.simulate(fleet, draws=200, by="team", seed=11)


@pytest.fixture(scope="module")
def draws(fleet: pl.DataFrame) -> pl.DataFrame:
    return fc.simulate_detailed(fleet, draws=200, by="team", seed=11, return_draws=True).draws


def assert_nontrivial_png(path: Path, *, min_colours: int = 8) -> np.ndarray:
    """The file is a PNG of reasonable size whose pixels are far from uniform."""
    assert path.is_file()
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    image = mpimg.imread(path)
    height, width = image.shape[:2]
    assert 300 <= width <= 3000 and 200 <= height <= 3000, image.shape
    pixels = image.reshape(-1, image.shape[-1])
    rgba = np.round(pixels * 255).astype(np.uint32)
    packed = sum(rgba[:, k] << (8 * k) for k in range(rgba.shape[1]))
    assert len(np.unique(packed)) > min_colours
    # mostly white background, but a real share of ink
    non_white = (pixels[:, :3] < 0.9).any(axis=1).mean()
    assert 0.02 < non_white < 0.95
    return image


def month_job_frame(rows: list[tuple[int, datetime | None, datetime | None]]) -> pl.DataFrame:
    """CPU jobs in FR with the given start/end, estimated."""
    tz = next((s.tzinfo for _, s, _ in rows if s is not None), None)
    dtype = pl.Datetime("us", str(tz) if tz is not None else None)
    jobs = pl.DataFrame(
        {
            "job_id": [r[0] for r in rows],
            "team": ["a" if r[0] % 2 else "b" for r in rows],
            "start": pl.Series([r[1] for r in rows], dtype=dtype),
            "end": pl.Series([r[2] for r in rows], dtype=dtype),
            "cpu_cores": [16] * len(rows),
            "memory_gb": [64.0] * len(rows),
            "region": ["FR"] * len(rows),
        }
    )
    return jobs


# --- rendering ----------------------------------------------------------------------------------


def test_breakdown_renders_with_whiskers(est, sim, tmp_path):
    fig = plots.breakdown(est, "team", simulation=sim)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert ax.get_xlabel() == "tCO2e"
    assert any(isinstance(c, ErrorbarContainer) for c in ax.containers)
    ticks = zip(ax.get_yticks(), (t.get_text() for t in ax.get_yticklabels()), strict=True)
    top_down = [label for _, label in sorted(ticks, reverse=True)]
    totals = fc.summarize(est, by="team").sort("total_kgco2e", descending=True)
    assert top_down == totals["team"].cast(pl.String).to_list()  # largest on top
    # the stacked segments add up to the group totals (in tonnes)
    widths = np.array([p.get_width() for p in ax.patches]).reshape(3, -1).sum(axis=0)
    np.testing.assert_allclose(widths, totals["total_kgco2e"].to_numpy() / 1000, rtol=1e-9)
    assert_nontrivial_png(plots.save(fig, tmp_path / "breakdown.png"))


def test_breakdown_top_and_multi_keys(est, tmp_path):
    fig = plots.breakdown(est, ["team", "phase"], top=5)
    (ax,) = fig.axes
    assert len(ax.get_yticklabels()) == 5
    n_groups = est.select("team", "phase").unique().height
    assert f"top 5 of {n_groups} groups" in ax.get_title()
    assert " / " in ax.get_yticklabels()[0].get_text()
    assert not any(isinstance(c, ErrorbarContainer) for c in ax.containers)
    assert_nontrivial_png(plots.save(fig, tmp_path / "b.png"))


def test_breakdown_fleet_wide_into_given_axes(est, tmp_path):
    fig0 = Figure()
    ax = fig0.add_subplot()
    fig = plots.breakdown(est, None, ax=ax)
    assert fig is fig0
    assert [t.get_text() for t in ax.get_yticklabels()] == ["all jobs"]


def test_distribution_sums_groups_per_draw(draws, tmp_path):
    fig = plots.distribution(draws)
    (ax,) = fig.axes
    per_draw = draws.group_by("draw").agg(pl.col("total_kgco2e").sum())["total_kgco2e"]
    expected = np.quantile(per_draw.to_numpy() / 1000, [0.05, 0.5, 0.95])
    vlines = sorted(line.get_xdata()[0] for line in ax.get_lines())
    np.testing.assert_allclose(vlines, expected, rtol=1e-12)
    texts = " ".join(t.get_text() for t in ax.texts)
    assert "p05" in texts and "p50" in texts and "p95" in texts and "tCO2e" in texts
    assert "200 draws" in ax.get_title()
    assert_nontrivial_png(plots.save(fig, tmp_path / "dist.png"))


def test_distribution_of_one_group_and_other_metric(draws, tmp_path):
    fig = plots.distribution(
        draws.filter(pl.col("team") == "llm"), metric="it_energy_kwh", quantiles=(0.1, 0.9)
    )
    (ax,) = fig.axes
    assert "MWh" in ax.get_xlabel()
    assert len(ax.get_lines()) == 2
    assert_nontrivial_png(plots.save(fig, tmp_path / "dist.png"))


def test_over_time_renders(est, tmp_path):
    fig = plots.over_time(est, "team")
    (ax,) = fig.axes
    assert ax.get_ylabel() == "tCO2e"
    assert {t.get_text() for t in ax.get_legend().get_texts()} == set(
        est["team"].cast(pl.String).unique()
    )
    assert_nontrivial_png(plots.save(fig, tmp_path / "over_time.png"))


def test_over_time_lumps_small_groups(est):
    fig = plots.over_time(est, ["team", "phase"], top=4)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert len(legend) == 4 and legend[-1].startswith("other (")


def test_save_closes_pyplot_figures(est, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    plots.breakdown(est, "team", ax=ax)
    assert plt.fignum_exists(fig.number)
    path = plots.save(fig, tmp_path / "sub" / "x.png")
    assert not plt.fignum_exists(fig.number)
    assert_nontrivial_png(path)


def test_empty_inputs_give_a_figure(est, tmp_path):
    for fig in (
        plots.breakdown(est.head(0), "team"),
        plots.over_time(est.head(0), "team"),
    ):
        assert isinstance(fig, Figure)
        assert plots.save(fig, tmp_path / "e.png").read_bytes()[:8] == PNG_SIGNATURE


# --- over_time correctness -----------------------------------------------------------------------


def test_over_time_splits_in_proportion_to_hours():
    d = lambda *a: datetime(*a, tzinfo=UTC)  # noqa: E731
    jobs = month_job_frame(
        [
            (1, d(2025, 1, 30), d(2025, 2, 2)),  # 48 h in Jan, 24 h in Feb
            (3, d(2025, 1, 15), d(2025, 3, 10)),  # 17 d Jan, 28 d Feb, 9 d Mar
            (5, d(2025, 2, 3, 8), d(2025, 2, 3, 20)),  # inside Feb: whole
            (7, d(2025, 3, 31, 12), d(2025, 4, 1)),  # ends on a month boundary: March only
        ]
    )
    est = fc.estimate(jobs)
    total = dict(zip(est["job_id"], est["total_kgco2e"], strict=True))
    table = plots.over_time_table(est)
    got = {p.month: v for p, v in zip(table["period"], table["total_kgco2e"], strict=True)}
    expected = {
        1: total[1] * 48 / 72 + total[3] * 17 / 54,
        2: total[1] * 24 / 72 + total[3] * 28 / 54 + total[5],
        3: total[3] * 9 / 54 + total[7],
    }
    assert got.keys() == expected.keys()
    for month, value in expected.items():
        assert got[month] == pytest.approx(value, rel=1e-12)
    assert table["jobs"].to_list() == [2, 3, 2]
    assert table["period"].dtype == pl.Datetime("us", "UTC")
    # operational and embodied are split the same way
    op = dict(zip(est["job_id"], est["operational_kgco2e"], strict=True))
    assert table["operational_kgco2e"][0] == pytest.approx(op[1] * 2 / 3 + op[3] * 17 / 54)


def test_over_time_by_group_and_periods_in_start_zone():
    paris = ZoneInfo("Europe/Paris")
    jobs = month_job_frame(
        [
            (1, datetime(2025, 1, 31, 23, tzinfo=paris), datetime(2025, 2, 1, 1, tzinfo=paris)),
            (2, datetime(2025, 1, 10, tzinfo=paris), datetime(2025, 1, 11, tzinfo=paris)),
        ]
    )
    est = fc.estimate(jobs)
    table = plots.over_time_table(est, "team")
    t1, t2 = est["total_kgco2e"].to_list()
    # one hour in January and one in February, Paris time (in UTC both would be January)
    assert table.select("team", "total_kgco2e").rows() == [
        ("a", pytest.approx(t1 / 2)),
        ("b", pytest.approx(t2)),
        ("a", pytest.approx(t1 / 2)),
    ]
    assert str(table["period"][0]) == "2025-01-01 00:00:00+01:00"


def test_over_time_conserves_totals_and_warns_about_missing_windows(fleet):
    holes = fleet.with_columns(
        start=pl.when(pl.col("job_id") % 7 == 0).then(None).otherwise(pl.col("start")),
        end=pl.when(pl.col("job_id") % 11 == 0).then(None).otherwise(pl.col("end")),
    )
    est = fc.estimate(holes)
    timed = est.filter(pl.col("start").is_not_null() & pl.col("end").is_not_null())
    n_missing = est.height - timed.height
    assert n_missing > 0
    with pytest.warns(DroppedRowsWarning, match=f"{n_missing} of {est.height} jobs"):
        table = plots.over_time_table(est, ["team", "phase"])
    for column in ("total_kgco2e", "operational_kgco2e", "embodied_kgco2e"):
        assert table[column].sum() == pytest.approx(timed[column].sum(), rel=1e-12)
    per_team = table.group_by("team").agg(pl.col("total_kgco2e").sum()).sort("team")
    expected = timed.group_by("team").agg(pl.col("total_kgco2e").sum()).sort("team")
    np.testing.assert_allclose(per_team["total_kgco2e"], expected["total_kgco2e"], rtol=1e-12)
    with pytest.warns(DroppedRowsWarning):
        plots.over_time(est, "team")


def test_over_time_other_frequencies(est):
    weekly = plots.over_time_table(est, freq="1w")
    monthly = plots.over_time_table(est)
    assert weekly.height > monthly.height
    assert weekly["total_kgco2e"].sum() == pytest.approx(monthly["total_kgco2e"].sum(), rel=1e-12)
    assert weekly["total_kgco2e"].sum() == pytest.approx(est["total_kgco2e"].sum(), rel=1e-12)


# --- report ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_write_report_full(est, sim, draws, tmp_path, fmt):
    out = tmp_path / "report"
    path = write_report(est, out, by="team", simulation=sim, draws=draws, format=fmt)
    name = "report.md" if fmt == "markdown" else "report.html"
    assert path == out / name
    files = {p.name for p in out.iterdir()}
    written = {
        name,
        "summary.csv",
        "simulation.csv",
        "breakdown.png",
        "over_time.png",
        "distribution.png",
    }
    assert files == {*written, MARKER}
    assert set(json.loads((out / MARKER).read_text(encoding="utf-8"))["files"]) == written
    for png in ("breakdown.png", "over_time.png", "distribution.png"):
        assert_nontrivial_png(out / png)
        assert (f"({png})" if fmt == "markdown" else f'src="{png}"') in path.read_text()
    text = path.read_text(encoding="utf-8")
    version = est["factors_version"][0]
    assert version in text
    assert f"{est.height:,} jobs" in text
    for label in (
        "operational carbon, location-based",
        "operational carbon, market-based",
        "embodied carbon",
        "total carbon",
        "tCO2e",
        "MWh",
    ):
        assert label in text
    total_t = fc.summarize(est)["total_kgco2e"][0] / 1000
    assert f"{total_t:,.0f}" in text or f"{total_t:.4g}" in text
    summary = pl.read_csv(out / "summary.csv")
    assert summary.height == est["team"].n_unique()
    assert summary["total_kgco2e"].sum() == pytest.approx(est["total_kgco2e"].sum(), rel=1e-9)
    assert pl.read_csv(out / "simulation.csv").height == sim.height
    if fmt == "html":
        assert text.startswith("<!DOCTYPE html>")
        assert "http://" not in text and "https://" not in text  # self-contained


def test_write_report_minimal_and_escaping(est, tmp_path):
    no_window = est.drop("start", "end")
    path = write_report(no_window, tmp_path, title="<script>x</script> & co", format="html")
    files = {p.name for p in tmp_path.iterdir()}
    assert files == {"report.html", "summary.csv", "breakdown.png", MARKER}
    text = path.read_text()
    assert "<script>" not in text and "&lt;script&gt;x&lt;/script&gt; &amp; co" in text
    assert "over_time.png" not in text and "distribution.png" not in text
    assert 'src="breakdown.png"' in text


def test_write_report_notes_jobs_without_window(est, tmp_path):
    holes = est.with_columns(end=pl.when(pl.col("job_id") <= 10).then(None).otherwise("end"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the report states the count instead of warning
        path = write_report(holes, tmp_path, by=["team", "phase"])
    text = path.read_text()
    assert "10 jobs without start or end are left out" in text
    assert "(over_time.png)" in text and (tmp_path / "over_time.png").is_file()


def test_write_report_simulation_not_grouped_alike(est, fleet, tmp_path):
    fleet_sim = fc.simulate(fleet, draws=50, seed=1)
    path = write_report(est, tmp_path, by="team", simulation=fleet_sim)
    assert "no interval whiskers" in path.read_text()
    assert (tmp_path / "simulation.csv").is_file()


def test_write_report_rejects_unknown_format(est, tmp_path):
    with pytest.raises(ValueError, match="format"):
        write_report(est, tmp_path, format="pdf")  # type: ignore[arg-type]


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "column"),
    [
        (lambda e, s, d: plots.breakdown(e.drop("embodied_facility_kgco2e"), "team"), "embodied_"),
        (lambda e, s, d: plots.breakdown(e, "nope"), "nope"),
        (lambda e, s, d: plots.breakdown(e, "phase", simulation=s), "phase"),
        (lambda e, s, d: plots.breakdown(e, "team", simulation=s, interval=(0.1, 0.9)), "p10"),
        (lambda e, s, d: plots.over_time(e.drop("start"), "team"), "start"),
        (lambda e, s, d: plots.over_time_table(e.drop("total_kgco2e")), "total_kgco2e"),
        (lambda e, s, d: plots.distribution(d.drop("draw")), "draw"),
        (lambda e, s, d: plots.distribution(d, metric="nope_kgco2e"), "nope_kgco2e"),
        (lambda e, s, d: write_report(e.drop("factors_version"), "unused"), "factors_version"),
    ],
)
def test_missing_columns_raise_clear_errors(est, sim, draws, call, column):
    with pytest.raises(MissingColumnError, match=column) as info:
        call(est, sim, draws)
    assert isinstance(info.value, FleetcarbonError)
    assert "lacks column" in str(info.value) or "missing column" in str(info.value)


def test_schema_errors(est, draws):
    as_text = est.with_columns(pl.col("start").cast(pl.String))
    with pytest.raises(SchemaError, match="'start' must be Datetime"):
        plots.over_time_table(as_text)
    mixed = est.with_columns(pl.col("end").dt.replace_time_zone(None))
    with pytest.raises(SchemaError, match="both be time-zone aware"):
        plots.over_time_table(mixed)
    two_seeds = pl.concat([draws, draws.with_columns(seed=pl.lit(99, dtype=pl.UInt64))])
    with pytest.raises(SchemaError, match="several seeds"):
        plots.distribution(two_seeds)


def test_bad_options(est, draws):
    with pytest.raises(ValueError, match="top"):
        plots.breakdown(est, "team", top=0)
    with pytest.raises(ValueError, match="quantiles"):
        plots.distribution(draws, quantiles=(0.5, 1.5))


def test_missing_matplotlib_names_the_extra(est, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with pytest.raises(ImportError, match=r"pip install 'fleetcarbon\[plot\]'"):
        plots.breakdown(est, "team")


# --- writing files: atomic figures, fresh report folders --------------------------------------


def leftovers(folder: Path) -> list[str]:
    """Entries of ``folder`` left by an incomplete write (partial files or folders)."""
    marks = (".fleetcarbon-partial-", ".fleetcarbon-old-")
    return sorted(p.name for p in folder.iterdir() if any(m in p.name for m in marks))


def contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_save_never_leaves_a_partial_png(est, tmp_path, monkeypatch):
    target = tmp_path / "b.png"
    target.write_bytes(b"previous")
    real = Figure.savefig

    def interrupted(fig, fname, **kwargs):
        Path(fname).write_bytes(PNG_SIGNATURE)  # half an image...
        raise KeyboardInterrupt  # ...then Ctrl-C

    monkeypatch.setattr(Figure, "savefig", interrupted)
    with pytest.raises(KeyboardInterrupt):
        plots.save(plots.breakdown(est, "team"), target)
    with pytest.raises(KeyboardInterrupt):
        plots.save(plots.breakdown(est, "team"), tmp_path / "new.png")
    assert contents(tmp_path) == {"b.png": b"previous"}
    monkeypatch.setattr(Figure, "savefig", real)
    assert_nontrivial_png(plots.save(plots.breakdown(est, "team"), target))
    assert leftovers(tmp_path) == []


def test_write_report_refuses_a_folder_it_did_not_write(est, tmp_path):
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    for overwrite in (False, True):
        with pytest.raises(FileExistsError, match="not empty"):
            write_report(est, tmp_path, overwrite=overwrite)
    assert contents(tmp_path) == {"notes.txt": b"mine"}
    not_a_folder = tmp_path / "notes.txt"
    with pytest.raises(NotADirectoryError):
        write_report(est, not_a_folder, overwrite=True)
    assert contents(tmp_path) == {"notes.txt": b"mine"}


def test_write_report_replaces_its_own_report_only_with_overwrite(est, sim, draws, tmp_path):
    out = tmp_path / "report"
    write_report(est, out, by="team", simulation=sim, draws=draws)
    first = contents(out)
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_report(est.drop("start", "end"), out)
    assert contents(out) == {**first, "notes.txt": b"mine"}
    path = write_report(est.drop("start", "end"), out, format="html", overwrite=True)
    assert path == out / "report.html"
    # only the new report's files, and the user's: no stale simulation, draws or markdown
    assert set(contents(out)) == {
        "report.html",
        "summary.csv",
        "breakdown.png",
        MARKER,
        "notes.txt",
    }
    assert (out / "notes.txt").read_bytes() == b"mine"
    assert leftovers(tmp_path) == [] and leftovers(out) == []


def test_write_report_refuses_to_replace_a_file_it_did_not_write(est, tmp_path):
    out = tmp_path / "report"
    write_report(est.drop("start", "end"), out)
    (out / "over_time.png").write_bytes(b"mine")  # not written by the first report
    with pytest.raises(FileExistsError, match=r"over_time\.png"):
        write_report(est, out, overwrite=True)
    assert (out / "over_time.png").read_bytes() == b"mine"


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, OSError])
def test_interrupted_write_report_leaves_the_previous_one(
    est, sim, tmp_path, monkeypatch, interrupt
):
    out = tmp_path / "report"
    write_report(est, out, by="team", simulation=sim)
    first = contents(out)
    real_save = plots.save

    def save(fig, path, **kwargs):
        if Path(path).name == "over_time.png":
            raise interrupt
        return real_save(fig, path, **kwargs)

    monkeypatch.setattr(plots, "save", save)
    with pytest.raises(interrupt):
        write_report(est, out, by="phase", overwrite=True)
    assert contents(out) == first
    with pytest.raises(interrupt):
        write_report(est, tmp_path / "fresh")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_an_interrupt_while_the_files_move_in_is_rolled_back(est, sim, tmp_path, monkeypatch):
    import os

    out = tmp_path / "report"
    write_report(est, out, by="team", simulation=sim)
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    before = contents(out)
    real_rename = os.rename
    raised = []

    def rename(src, dst):
        if Path(dst) == out / "report.md" and not raised:  # some new files are in, old ones out
            raised.append(src)
            raise KeyboardInterrupt
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(KeyboardInterrupt):
        write_report(est, out, overwrite=True)
    monkeypatch.setattr(os, "rename", real_rename)
    assert contents(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


@pytest.fixture
def no_matplotlib(monkeypatch):
    """Hide matplotlib: every ``import matplotlib...`` raises ImportError."""
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)


def test_write_report_without_matplotlib_writes_nothing(est, tmp_path, no_matplotlib):
    out = tmp_path / "report"
    with pytest.raises(ImportError, match=r"pip install 'fleetcarbon\[plot\]'"):
        write_report(est, out)
    assert not out.exists()
    path = write_report(est, out, by="team", figures=False)
    assert set(contents(out)) == {"report.md", "summary.csv", MARKER}
    text = path.read_text(encoding="utf-8")
    assert ".png" not in text and "whiskers" not in text and "By team" in text
