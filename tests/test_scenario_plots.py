"""The what-if figures: scenario differences, tornado, refresh curve."""

from __future__ import annotations

import warnings

import pytest

pytest.importorskip("matplotlib")

import matplotlib.image as mpimg
import numpy as np
import polars as pl

import fleetcarbon as fc
from fleetcarbon import plots
from fleetcarbon.errors import MissingColumnError, SchemaError

A100, H100 = "nvidia-a100-sxm4-80gb", "nvidia-h100-sxm5-80gb"


@pytest.fixture(scope="module")
def fleet() -> pl.DataFrame:
    return fc.synthetic_fleet(1_500, seed=5)


def quiet(fn, *args, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **options)


def rendered(fig, tmp_path, name: str) -> np.ndarray:
    image = mpimg.imread(plots.save(fig, tmp_path / name))
    assert image.shape[0] > 100 and image.std() > 0.01, "a drawn figure, not a blank one"
    return image


def test_differences_draw_one_bar_per_scenario_and_group(fleet, tmp_path) -> None:
    scenarios = [fc.Scenario("PUE 1.1", pue=1.1), fc.Scenario("6 y", lifetime_years=6)]
    out = quiet(fc.sweep, fleet, scenarios, draws=100, seed=1, by="phase")
    fig = plots.differences(out, by="phase")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    phases = out["phase"].n_unique()
    assert len(labels) == 2 * phases and all(" · " in label for label in labels)
    assert "baseline" not in " ".join(labels)
    rendered(fig, tmp_path, "diff.png")
    with pytest.raises(MissingColumnError, match="sweep"):
        plots.differences(out.drop("total_kgco2e_p_lower"))


def test_tornado_orders_inputs_by_swing(fleet, tmp_path) -> None:
    s = quiet(fc.sensitivity, fleet, draws=64, seed=1, groups="factor", bootstrap=0)
    fig = plots.tornado(s, top=5)
    ax = fig.axes[0]
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    placed = sorted(zip(ax.get_yticks(), ticks, strict=True))
    labels = [label for _, label in placed[::-1]]  # top to bottom
    swings = s.with_columns(size=(pl.col("at_p95") - pl.col("at_p05")).abs()).sort(
        "size", descending=True
    )
    assert labels == swings["input"].head(5).to_list()  # largest on top
    rendered(fig, tmp_path, "tornado.png")
    by_team = quiet(
        fc.sensitivity, fleet, draws=32, seed=1, groups="factor", bootstrap=0, by="team"
    )
    with pytest.raises(SchemaError, match="one group"):
        plots.tornado(by_team)


def test_refresh_curve_marks_the_break_even(fleet, tmp_path) -> None:
    work = fleet.filter(accelerator=A100).drop("energy_kwh", "avg_power_w")
    r = quiet(
        fc.refresh,
        work,
        old=A100,
        new=H100,
        count=8,
        speedup=2.5,
        years=1.0,
        draws=100,
        seed=1,
        horizon_years=30,
    )
    fig = plots.refresh_curve(r)
    ax = fig.axes[0]
    assert {line.get_label() for line in ax.get_lines()} >= {"keep", "replace"}
    if np.isfinite(r.summary["break_even_years"][0]):
        assert any("break-even" in t.get_text() for t in ax.texts)
    rendered(fig, tmp_path, "refresh.png")


def test_the_report_gains_a_what_if_section(fleet, tmp_path) -> None:
    from fleetcarbon.report import write_report

    estimates = quiet(fc.estimate, fleet)
    swept = quiet(fc.sweep, fleet, [fc.Scenario("PUE 1.1", pue=1.1)], draws=50, seed=2)
    path = write_report(estimates, tmp_path / "report", sweep=swept)
    text = path.read_text(encoding="utf-8")
    assert "## What if" in text and "PUE 1.1" in text and "scenarios.png" in text
    written = pl.read_csv(tmp_path / "report" / "sweep.csv")
    assert written["total_kgco2e_diff"].to_list() == swept["total_kgco2e_diff"].to_list()
    assert (tmp_path / "report" / "scenarios.png").stat().st_size > 1000
    plain = write_report(estimates, tmp_path / "plain")
    assert "What if" not in plain.read_text(encoding="utf-8")
    with pytest.raises(MissingColumnError, match="sweep"):
        write_report(
            estimates, tmp_path / "bad", sweep=swept.drop("total_kgco2e_diff"), figures=False
        )


def test_the_grid_heatmap_places_each_hour_and_the_fleet_s_energy(tmp_path) -> None:
    import datetime as dt

    from fleetcarbon.report import write_report

    t0 = dt.datetime(2024, 3, 1, tzinfo=dt.timezone.utc)
    values = [0.1 + 0.01 * i for i in range(48)]
    series = pl.DataFrame(
        {
            "region": "FR",
            "start": [t0 + dt.timedelta(hours=i) for i in range(48)],
            "kgco2e_per_kwh": values,
        },
        schema={
            "region": pl.String,
            "start": pl.Datetime("us", "UTC"),
            "kgco2e_per_kwh": pl.Float64,
        },
    )
    factors = fc.load_factors().with_grid_series(series)
    jobs = pl.DataFrame(
        {
            "job_id": [1],
            "start": [t0 + dt.timedelta(hours=5)],
            "duration_h": [2.0],
            "region": ["FR"],
            "cpu_cores": [64],
        }
    )
    est = quiet(fc.estimate, jobs, factors)
    fig = plots.grid_heatmap(factors.grid_series.frame, "FR", estimates=est)
    intensity, energy = (ax.get_images()[0].get_array() for ax in fig.axes if ax.get_images())
    assert intensity.shape == (24, 2)
    assert intensity[5, 0] == pytest.approx(values[5]) and intensity[3, 1] == pytest.approx(
        values[27]
    )
    # The job's energy lands in hours 5 and 6 of the first day, half each.
    drawn = np.asarray(energy)
    total = est["facility_energy_kwh"][0]
    assert drawn[5, 0] == pytest.approx(total / 2) and drawn[6, 0] == pytest.approx(total / 2)
    assert drawn.sum() == pytest.approx(total)
    path = write_report(est, tmp_path / "r", grid_series=factors.grid_series.frame)
    text = path.read_text(encoding="utf-8")
    assert "## Grid hours" in text and "grid_1.png" in text
    rendered(plots.grid_heatmap(factors.grid_series.frame, "FR"), tmp_path, "h.png")
