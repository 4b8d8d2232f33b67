"""Time-resolved grid intensity: Factors.with_grid_series and estimate over run windows.

The oracle is fleetcarbon.reference.grid_intensity_over_window, a plain loop over the
intervals; the core integrates by prefix sums (and sums short windows directly).
"""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fleetcarbon as fc
from fleetcarbon.errors import (
    InvalidValueError,
    MissingColumnError,
    SchemaError,
    UnitWarning,
    UnknownKeyError,
)
from fleetcarbon.factors.grid_series import GridBasisWarning, GridSeriesGapWarning
from fleetcarbon.reference import grid_intensity_over_window

UTC = dt.timezone.utc
T0 = dt.datetime(2024, 1, 1, tzinfo=UTC)
H100 = "nvidia-h100-sxm5-80gb"
FACTORS = fc.load_factors()
ANNUAL_FR = FACTORS.regions.filter(pl.col("key") == "FR")["grid_kgco2e_per_kwh"].item()


def hourly(region: str, values: list[float], *, first: dt.datetime = T0, step_h: float = 1.0):
    starts = [first + dt.timedelta(hours=step_h * i) for i in range(len(values))]
    return pl.DataFrame(
        {"region": region, "start": starts, "kgco2e_per_kwh": values},
        schema={
            "region": pl.String,
            "start": pl.Datetime("us", "UTC"),
            "kgco2e_per_kwh": pl.Float64,
        },
    )


def jobs(starts: list[dt.datetime | None], hours: list[float], **columns: object) -> pl.DataFrame:
    n = len(starts)
    base: dict[str, object] = {
        "job_id": list(range(1, n + 1)),
        "start": pl.Series(starts, dtype=pl.Datetime("us", "UTC")),
        "duration_h": hours,
        "region": ["FR"] * n,
        "accelerator": [H100] * n,
        "accelerator_count": [1.0] * n,
    }
    return pl.DataFrame(base | columns)


def quiet(frame: pl.DataFrame, factors: fc.Factors) -> pl.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fc.estimate(frame, factors)


# ----------------------------------------------------------------------------- integration


def test_a_hand_computed_window() -> None:
    factors = FACTORS.with_grid_series(hourly("FR", [0.01 * (i % 24) for i in range(48)]))
    frame = jobs(
        [
            T0 + dt.timedelta(hours=5.5),
            T0 + dt.timedelta(hours=46),
            T0 - dt.timedelta(days=9),
            None,
        ],
        [2.0, 5.0, 1.0, 3.0],
    )
    out = fc.estimate(frame, factors)
    # 05:30-07:30: half of 0.05, all of 0.06, half of 0.07; 22:00-03:00: two hours on the
    # series (0.22, 0.23), three after it at the annual value.
    expected = [0.06, (0.22 + 0.23 + 3 * ANNUAL_FR) / 5, ANNUAL_FR, ANNUAL_FR]
    assert out["grid_kgco2e_per_kwh_effective"].to_list() == pytest.approx(expected, rel=1e-13)
    assert out["grid_basis"].to_list() == ["series", "partial", "annual", "annual"]
    assert out["grid_series_share"].to_list() == pytest.approx([1.0, 0.4, 0.0, 0.0])
    energy = out["facility_energy_kwh"].to_numpy()
    share = fc.summarize(out)["grid_series_energy_share"].item()
    assert share == pytest.approx((energy[0] + 0.4 * energy[1]) / energy.sum(), rel=1e-12)
    assert "grid_series_energy_share" not in fc.summarize(fc.estimate(frame)).columns
    plain = fc.estimate(frame)
    ratio = (out["operational_kgco2e"] / plain["operational_kgco2e"]).to_list()
    assert ratio == pytest.approx([e / ANNUAL_FR for e in expected], rel=1e-12)
    assert out["it_energy_kwh"].to_list() == plain["it_energy_kwh"].to_list()
    assert out["embodied_kgco2e"].to_list() == plain["embodied_kgco2e"].to_list()
    # The market figure follows the location one where the region has no market factor.
    assert out["operational_market_kgco2e"].to_list() == out["operational_kgco2e"].to_list()


def test_a_constant_series_equals_the_annual_estimate() -> None:
    factors = FACTORS.with_grid_series(hourly("FR", [ANNUAL_FR] * (24 * 400)))
    rng = np.random.default_rng(3)
    starts = [T0 + dt.timedelta(seconds=int(s)) for s in rng.uniform(0, 3e7, 500)]
    frame = jobs(starts, list(rng.uniform(0.001, 2000, 500)))
    ours, annual = quiet(frame, factors), quiet(frame, FACTORS)
    for column in ("operational_kgco2e", "total_kgco2e"):
        np.testing.assert_allclose(ours[column], annual[column], rtol=1e-12)


def test_covered_and_uncovered_parts_add_up() -> None:
    factors = FACTORS.with_grid_series(hourly("FR", [0.02 + 0.001 * i for i in range(100)]))
    end = T0 + dt.timedelta(hours=100)
    whole = quiet(jobs([end - dt.timedelta(hours=7.25)], [20.0]), factors)
    inside = quiet(jobs([end - dt.timedelta(hours=7.25)], [7.25]), factors)
    outside = quiet(jobs([end], [12.75]), factors)
    assert whole["operational_kgco2e"][0] == pytest.approx(
        inside["operational_kgco2e"][0] + outside["operational_kgco2e"][0], rel=1e-12
    )
    assert outside["grid_basis"][0] == "annual" and inside["grid_basis"][0] == "series"


series_and_windows = st.tuples(
    st.sampled_from([0.25, 1.0, 24.0]),  # 15-minute, hourly and daily steps
    st.lists(st.floats(0.0, 1.2), min_size=2, max_size=300),
    st.lists(st.integers(0, 299), max_size=5, unique=True),  # intervals left out: gaps
    st.lists(st.tuples(st.floats(-50, 400), st.floats(0.0, 400)), min_size=1, max_size=30),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(series_and_windows)
def test_windows_match_the_python_reference(case: tuple) -> None:
    step, values, holes, windows = case
    keep = [i for i in range(len(values)) if i not in holes] or [0]
    starts = [T0 + dt.timedelta(hours=step * i) for i in keep]
    series = pl.DataFrame(
        {
            "region": "FR",
            "start": pl.Series(starts, dtype=pl.Datetime("us", "UTC")),
            "end": pl.Series(
                [s + dt.timedelta(hours=step) for s in starts], dtype=pl.Datetime("us", "UTC")
            ),
            "kgco2e_per_kwh": [values[i] for i in keep],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridSeriesGapWarning)
        factors = FACTORS.with_grid_series(series)
    # Whole microseconds, as Polars stores them.
    windows = [(round(a * 3.6e9) / 3.6e9, round(h * 3.6e9) / 3.6e9) for a, h in windows]
    frame = jobs([T0 + dt.timedelta(hours=a) for a, _ in windows], [h for _, h in windows])
    out = quiet(frame, factors)["grid_kgco2e_per_kwh_effective"].to_list()
    intervals = [(step * i, step * (i + 1), values[i]) for i in keep]
    expected = [grid_intensity_over_window(intervals, ANNUAL_FR, a, a + h) for a, h in windows]
    assert out == pytest.approx(expected, rel=1e-10, abs=1e-13)


def test_windows_across_dst_and_year_ends_are_exact() -> None:
    # A local hourly series in Europe/Berlin over the spring and autumn changes and New
    # Year: 23- and 25-hour days, all in UTC inside.
    local = pl.datetime_range(
        dt.datetime(2023, 12, 30),
        dt.datetime(2024, 11, 1),
        "1h",
        eager=True,
        time_zone="Europe/Berlin",
    )
    values = [0.01 + 0.001 * (i % 97) for i in range(len(local))]
    series = pl.DataFrame({"region": "DE", "start": local, "kgco2e_per_kwh": values})
    factors = FACTORS.with_grid_series(series)
    annual = FACTORS.regions.filter(pl.col("key") == "DE")["grid_kgco2e_per_kwh"].item()
    starts = [
        dt.datetime(2023, 12, 31, 22, 30, tzinfo=UTC),  # across New Year in Berlin
        dt.datetime(2024, 3, 31, 0, 15, tzinfo=UTC),  # across the spring change
        dt.datetime(2024, 10, 26, 23, 45, tzinfo=UTC),  # across the autumn change
        dt.datetime(2024, 2, 28, 20, 0, tzinfo=UTC),  # across the leap day
    ]
    frame = jobs(starts, [3.5, 4.0, 5.25, 30.0], region=["DE"] * 4)
    new_york = frame.with_columns(pl.col("start").dt.convert_time_zone("America/New_York"))
    utc_starts = series["start"].dt.convert_time_zone("UTC")
    base = T0.replace(year=2023)
    hours_of = lambda t: (t - base).total_seconds() / 3600  # noqa: E731
    intervals = [(hours_of(s), hours_of(s) + 1, v) for s, v in zip(utc_starts, values, strict=True)]
    expected = [
        grid_intensity_over_window(intervals, annual, hours_of(s), hours_of(s) + h)
        for s, h in zip(starts, [3.5, 4.0, 5.25, 30.0], strict=True)
    ]
    for f in (frame, new_york):
        out = quiet(f, factors)["grid_kgco2e_per_kwh_effective"].to_list()
        assert out == pytest.approx(expected, rel=1e-12)


def test_overrides_datacenters_and_jobs_without_windows() -> None:
    factors = FACTORS.with_grid_series(hourly("FR", [0.2] * 48))
    start = T0 + dt.timedelta(hours=1)
    frame = pl.DataFrame(
        {
            "job_id": [1, 2, 3, 4],
            "start": pl.Series([start, start, start, start], dtype=pl.Datetime("us", "UTC")),
            "duration_h": [2.0, 2.0, 0.0, 2.0],
            "region": ["FR", None, "FR", "FR"],
            "datacenter": [None, "generic", None, None],
            "grid_kgco2e_per_kwh": [0.5, 0.3, None, None],
            "accelerator": [H100] * 4,
            "accelerator_count": [1.0] * 4,
        }
    )
    out = quiet(frame, factors)
    assert out["grid_basis"].to_list() == ["job", "job", "annual", "series"]
    assert out["grid_kgco2e_per_kwh_effective"].to_list() == pytest.approx(
        [0.5, 0.3, ANNUAL_FR, 0.2]
    )
    # A datacenter-only job gets its datacenter's region's series.
    dc = FACTORS.datacenters.filter(pl.col("region") == "FR")
    if dc.height:
        job = frame.head(1).with_columns(
            region=pl.lit(None, pl.String),
            datacenter=pl.lit(dc["key"][0]),
            grid_kgco2e_per_kwh=None,
        )
        assert quiet(job, factors)["grid_basis"][0] == "series"


def test_row_order_and_a_second_series_change_nothing() -> None:
    fr, de = hourly("FR", [0.1 + 0.01 * i for i in range(30)]), hourly("DE", [0.3] * 30)
    both = FACTORS.with_grid_series(fr).with_grid_series(de, source="mine", basis="lifecycle")
    assert both.grid_series is not None and set(both.grid_series.regions) == {"FR", "DE"}
    frame = jobs(
        [T0 + dt.timedelta(hours=h) for h in (1.3, 4.0, 9.9)],
        [3.0, 2.0, 1.0],
        region=["FR", "DE", "FR"],
    )
    out = quiet(frame, both).sort("job_id")
    shuffled = quiet(frame.reverse(), both).sort("job_id")
    assert out.equals(shuffled)
    assert out["grid_kgco2e_per_kwh_effective"][1] == pytest.approx(0.3)
    assert both.grid_series.frame.filter(pl.col("region") == "DE")["source"].unique().to_list() == [
        "mine"
    ]


def draws_by_job(frame: pl.DataFrame, factors: fc.Factors, **kwargs: object) -> pl.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fc.simulate_detailed(
            frame, factors, by="job_id", return_draws=True, draws=300, seed=5, **kwargs
        )  # type: ignore[arg-type]
    return result.draws.sort("job_id", "draw")


SIM_SERIES = hourly("FR", [0.02 + 0.004 * (i % 24) for i in range(24 * 10)])
SIM_JOBS = jobs(
    [T0 + dt.timedelta(hours=h) for h in (1.5, 30.0, 100.25, 230.0, -20.0)],
    [3.0, 20.0, 0.5, 30.0, 5.0],
    cpu_cores=[0.0, 16.0, 4.0, 8.0, 2.0],
)


@pytest.mark.parametrize("noise", [None, {"power_fraction": fc.uncertainty.Uniform(0.5, 1.0)}])
def test_simulate_scales_each_draw_by_the_job_s_series(noise: dict | None) -> None:
    # Without noise, jobs reach the sums through cells; with it, through the per-job path.
    factors = FACTORS.with_grid_series(SIM_SERIES)
    hourly_draws = draws_by_job(SIM_JOBS, factors, noise=noise)
    annual_draws = draws_by_job(SIM_JOBS, FACTORS, noise=noise)
    scale = quiet(SIM_JOBS, factors)["grid_kgco2e_per_kwh_effective"].to_numpy() / ANNUAL_FR
    per_draw = np.repeat(scale, 300)
    np.testing.assert_allclose(
        hourly_draws["operational_kgco2e"],
        annual_draws["operational_kgco2e"] * per_draw,
        rtol=1e-12,
    )
    for column in ("it_energy_kwh", "embodied_kgco2e"):
        assert hourly_draws[column].to_list() == annual_draws[column].to_list()


def test_simulate_group_totals_are_the_sums_of_their_jobs() -> None:
    factors = FACTORS.with_grid_series(SIM_SERIES)
    per_job = draws_by_job(SIM_JOBS, factors)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fleet = fc.simulate_detailed(SIM_JOBS, factors, return_draws=True, draws=300, seed=5)
    summed = per_job.group_by("draw").agg(pl.col("operational_kgco2e").sum()).sort("draw")
    np.testing.assert_allclose(
        fleet.draws.sort("draw")["operational_kgco2e"], summed["operational_kgco2e"], rtol=1e-12
    )
    point = quiet(SIM_JOBS, factors)["operational_kgco2e"].sum()
    summary = fc.simulate(SIM_JOBS, factors, draws=2000, seed=1)
    assert summary["operational_kgco2e"][0] == pytest.approx(point, rel=1e-12)
    assert (
        summary["total_kgco2e_p05"][0] < summary["total_kgco2e"][0] < summary["total_kgco2e_p95"][0]
    )


# ----------------------------------------------------------------------------- validation


def test_missing_columns_and_naive_times_are_refused() -> None:
    with pytest.raises(MissingColumnError, match="kgco2e_per_kwh"):
        FACTORS.with_grid_series(pl.DataFrame({"region": ["FR"], "start": [T0]}))
    naive = hourly("FR", [0.1, 0.2]).with_columns(pl.col("start").dt.replace_time_zone(None))
    with pytest.raises(SchemaError, match="no time zone"):
        FACTORS.with_grid_series(naive)
    with pytest.raises(SchemaError, match="basis"):
        FACTORS.with_grid_series(hourly("FR", [0.1, 0.2]), basis="market")


@pytest.mark.parametrize(
    ("series", "error", "message"),
    [
        (hourly("Frnace", [0.1, 0.2]), UnknownKeyError, "did you mean"),
        (hourly("FR", [0.1, float("nan")]), InvalidValueError, "NaN"),
        (hourly("FR", [0.1, -0.2]), InvalidValueError, "negative"),
        (
            pl.concat([hourly("FR", [0.1, 0.2]), hourly("FR", [0.3])]),
            InvalidValueError,
            "duplicated",
        ),
        (hourly("FR", [0.1]), InvalidValueError, "cannot be inferred"),
        (hourly("FR", [0.1, 0.2, 0.3], step_h=48), InvalidValueError, "5 minutes and 1 day"),
    ],
)
def test_bad_series_name_region_and_time(series: pl.DataFrame, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        FACTORS.with_grid_series(series)


def test_overlaps_are_errors_and_gaps_are_listed() -> None:
    series = hourly("FR", [0.1, 0.2, 0.3]).with_columns(
        end=pl.col("start") + pl.duration(minutes=90)
    )
    with pytest.raises(InvalidValueError, match=r"overlap .* in 2 rows; first: \('FR'"):
        FACTORS.with_grid_series(series)
    gappy = hourly("FR", [0.1, 0.2, 0.3, 0.4]).filter(pl.col("kgco2e_per_kwh") != 0.3)
    with pytest.warns(
        GridSeriesGapWarning, match=r"1 gap \(UTC\).*FR, 2024-01-01 02:00–2024-01-01 03:00"
    ):
        factors = FACTORS.with_grid_series(gappy.reverse())  # unsorted: sorted, not refused
    out = quiet(jobs([T0 + dt.timedelta(hours=1)], [3.0]), factors)
    assert out["grid_basis"][0] == "partial"
    assert out["grid_kgco2e_per_kwh_effective"][0] == pytest.approx((0.2 + ANNUAL_FR + 0.4) / 3)


def test_units_and_basis_are_checked() -> None:
    with pytest.warns(UnitWarning, match="g/kWh"):
        FACTORS.with_grid_series(hourly("FR", [56.0, 60.0]))
    with pytest.warns(GridBasisWarning, match="FR"):
        FACTORS.with_grid_series(hourly("FR", [0.05, 0.06]), basis="direct")
    with warnings.catch_warnings():
        warnings.simplefilter("error", GridBasisWarning)
        FACTORS.with_grid_series(hourly("FR", [0.05, 0.06]), basis="lifecycle")


def test_columns_not_used_yet_are_named() -> None:
    series = hourly("FR", [0.05, 0.06]).with_columns(
        kgco2e_per_kwh_low=pl.lit(0.04), market_kgco2e_per_kwh=pl.lit(0.0)
    )
    with pytest.warns(UserWarning, match=r"ignores .*kgco2e_per_kwh_low.*market_kgco2e_per_kwh"):
        FACTORS.with_grid_series(series)


def test_the_series_is_not_modified() -> None:
    series = hourly("fr", [0.3, 0.1, 0.2]).reverse()
    before = series.clone()
    factors = FACTORS.with_grid_series(series.lazy())
    assert series.equals(before)
    stored = factors.grid_series.frame if factors.grid_series is not None else None
    assert stored is not None and stored["region"].to_list() == ["FR"] * 3
    assert stored["start"].is_sorted()


def test_a_year_on_the_bundled_series_gets_each_region_s_time_mean() -> None:
    from fleetcarbon.factors import bundled_grid_series

    series = bundled_grid_series()
    factors = FACTORS.with_grid_series(series)
    assert factors.grid_series is not None
    regions = list(factors.grid_series.regions)
    first = series["start"].min()
    frame = pl.DataFrame(
        {
            "job_id": range(len(regions)),
            "start": [first] * len(regions),
            "duration_h": [8760.0] * len(regions),
            "region": regions,
            "cpu_cores": [1.0] * len(regions),
        }
    )
    out = quiet(frame, factors)
    means = series.group_by("region").agg(pl.col("kgco2e_per_kwh").mean())
    expected = dict(means.iter_rows())
    assert out["grid_basis"].to_list() == ["series"] * len(regions)
    for region, value in zip(regions, out["grid_kgco2e_per_kwh_effective"], strict=True):
        assert value == pytest.approx(expected[region], rel=1e-12), region
    # SOURCES.md's annual means of the 2022 EIA-930 hours, g/kWh.
    published = {"US-BA-CISO": 256.2, "US-BA-BPAT": 54.7, "US-BA-PJM": 362.7}
    for region, g in published.items():
        assert dict(zip(regions, out["grid_kgco2e_per_kwh_effective"], strict=True))[
            region
        ] * 1000 == pytest.approx(g, abs=0.06)


def test_simulate_with_series_is_reproducible_across_threads_and_row_order() -> None:
    factors = FACTORS.with_grid_series(SIM_SERIES)
    kwargs = {"draws": 400, "seed": 9, "by": "job_id", "return_draws": True}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one = fc.simulate_detailed(SIM_JOBS, factors, threads=1, **kwargs)  # type: ignore[arg-type]
        two = fc.simulate_detailed(SIM_JOBS.reverse(), factors, threads=2, **kwargs)  # type: ignore[arg-type]
    assert one.draws.sort("job_id", "draw").equals(two.draws.sort("job_id", "draw"))
