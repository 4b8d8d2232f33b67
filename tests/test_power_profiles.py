"""Per-job power profiles over a grid series (docs/model.md §4.2, "Power profiles").

The oracle is fleetcarbon.reference.grid_intensity_with_profile, a loop over the
sub-intervals and the series' intervals.
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
from fleetcarbon.errors import InvalidValueError, ParameterError, SchemaError, UnknownKeyError
from fleetcarbon.reference import grid_intensity_with_profile

UTC = dt.timezone.utc
T0 = dt.datetime(2024, 1, 1, tzinfo=UTC)
FACTORS = fc.load_factors()
ANNUAL_FR = FACTORS.regions.filter(pl.col("key") == "FR")["grid_kgco2e_per_kwh"].item()
# Clean even hours, dirty odd hours, over two days.
VALUES = [0.1 if i % 2 == 0 else 0.5 for i in range(48)]
SERIES = pl.DataFrame(
    {
        "region": "FR",
        "start": [T0 + dt.timedelta(hours=i) for i in range(48)],
        "kgco2e_per_kwh": VALUES,
    },
    schema={"region": pl.String, "start": pl.Datetime("us", "UTC"), "kgco2e_per_kwh": pl.Float64},
)
WITH_SERIES = FACTORS.with_grid_series(SERIES)
INTERVALS = [(float(i), float(i + 1), v) for i, v in enumerate(VALUES)]


def jobs(starts_h: list[float], hours: list[float], profiles: list[object]) -> pl.DataFrame:
    n = len(starts_h)
    return pl.DataFrame(
        {
            "job_id": list(range(1, n + 1)),
            "start": [T0 + dt.timedelta(hours=h) for h in starts_h],
            "duration_h": hours,
            "region": ["FR"] * n,
            "cpu_cores": [32.0] * n,
            "power_profile": profiles,
        }
    )


def quiet(frame: pl.DataFrame, factors: fc.Factors = WITH_SERIES) -> pl.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fc.estimate(frame, factors)


def test_a_hand_computed_profile() -> None:
    # Two hours from a clean hour: 3/4 of the energy in it, 1/4 in the dirty one.
    est = quiet(jobs([0.0, 0.0, 0.0], [2.0, 2.0, 2.0], [[3.0, 1.0], [1.0, 3.0], None]))
    effective = est["grid_kgco2e_per_kwh_effective"].to_list()
    assert effective == pytest.approx([0.2, 0.4, 0.3], rel=1e-15)
    # The profile moves energy in time; it does not change how much.
    assert est["facility_energy_kwh"].n_unique() == 1
    energy = est["facility_energy_kwh"].to_numpy()
    np.testing.assert_allclose(est["operational_kgco2e"], energy * effective, rtol=1e-15)


def test_a_flat_profile_equals_flat_power() -> None:
    est = quiet(jobs([0.25, 0.25, 7.5], [5.5, 5.5, 3.0], [[1.0] * 11, None, [2.0, 2.0, 2.0]]))
    assert est["grid_kgco2e_per_kwh_effective"][0] == pytest.approx(
        est["grid_kgco2e_per_kwh_effective"][1], rel=1e-14
    )
    assert est["grid_kgco2e_per_kwh_effective"][2] == pytest.approx(
        quiet(jobs([7.5], [3.0], [None]))["grid_kgco2e_per_kwh_effective"][0], rel=1e-14
    )


def test_uncovered_sub_intervals_get_the_annual_value_and_the_energy_share() -> None:
    # From one hour before the series: the first half (weight 1) is uncovered.
    est = quiet(jobs([-1.0], [2.0], [[1.0, 3.0]]))
    assert est["grid_kgco2e_per_kwh_effective"][0] == pytest.approx(
        (ANNUAL_FR + 3 * 0.1) / 4, rel=1e-14
    )
    assert est["grid_series_share"][0] == 0.75
    assert est["grid_basis"][0] == "partial"
    # All of the energy outside the series: annual, whatever the profile.
    est = quiet(jobs([-1.0], [2.0], [[1.0, 0.0]]))
    assert est["grid_basis"][0] == "annual"
    assert est["grid_kgco2e_per_kwh_effective"][0] == pytest.approx(ANNUAL_FR, rel=1e-14)


def test_named_profiles() -> None:
    factors = WITH_SERIES.with_power_profiles({"front": [3, 1], "back": (1, 3)})
    named = quiet(jobs([0.0, 0.0, 0.0], [2.0] * 3, ["front", "back", None]), factors)
    listed = quiet(jobs([0.0, 0.0, 0.0], [2.0] * 3, [[3.0, 1.0], [1.0, 3.0], None]), factors)
    assert named["total_kgco2e"].to_list() == listed["total_kgco2e"].to_list()
    with pytest.raises(UnknownKeyError, match=r"power_profile.*'frnt'.*'front'"):
        fc.estimate(jobs([0.0], [2.0], ["frnt"]), factors)


def test_without_series_a_profile_changes_nothing() -> None:
    with_profile = quiet(jobs([0.0], [2.0], [[3.0, 1.0]]), FACTORS)
    flat = quiet(jobs([0.0], [2.0], [None]), FACTORS)
    assert with_profile["total_kgco2e"].to_list() == flat["total_kgco2e"].to_list()


@pytest.mark.parametrize(
    ("profile", "error", "message"),
    [
        ([1.0, -1.0], InvalidValueError, "negative"),
        ([1.0, float("nan")], InvalidValueError, "NaN"),
        ([0.0, 0.0], InvalidValueError, "all 0"),
        ([], InvalidValueError, "empty"),
    ],
)
def test_bad_profiles_name_the_column_and_the_job(profile, error, message) -> None:
    frame = jobs([0.0, 0.0], [2.0, 2.0], [[1.0], profile]).with_columns(
        pl.col("job_id").cast(pl.String).replace({"2": "bad-job"})
    )
    with pytest.raises(error, match=rf"power_profile.*{message}.*bad-job"):
        fc.estimate(frame, WITH_SERIES)


def test_bad_profile_tables_and_columns() -> None:
    with pytest.raises(ParameterError, match=r"'x'.*all 0"):
        FACTORS.with_power_profiles({"x": [0, 0]})
    with pytest.raises(ParameterError, match="mapping"):
        FACTORS.with_power_profiles([1.0, 2.0])  # type: ignore[arg-type]
    frame = jobs([0.0], [2.0], [None]).with_columns(power_profile=pl.lit(3.0))
    with pytest.raises(SchemaError, match="power_profile"):
        fc.estimate(frame, WITH_SERIES)


def test_the_input_frame_is_not_modified() -> None:
    frame = jobs([0.0], [2.0], [[3.0, 1.0]])
    before = frame.clone()
    quiet(frame)
    assert frame.equals(before)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(-8 * 60, 50 * 60),  # start, minutes from T0
            st.integers(1, 30 * 60),  # duration, minutes
            st.lists(st.floats(0.0, 10.0), min_size=1, max_size=9).filter(lambda w: sum(w) > 0),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_profiles_match_the_python_reference(cases: list[tuple[int, int, list[float]]]) -> None:
    frame = jobs(
        [s / 60 for s, _, _ in cases], [d / 60 for _, d, _ in cases], [w for *_, w in cases]
    )
    est = quiet(frame)
    expected = [
        grid_intensity_with_profile(INTERVALS, ANNUAL_FR, s / 60, (s + d) / 60, w)
        for s, d, w in cases
    ]
    np.testing.assert_allclose(est["grid_kgco2e_per_kwh_effective"], expected, rtol=1e-12)
