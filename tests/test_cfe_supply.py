"""Hourly carbon-free energy matching: Factors.with_cfe_supply and estimate's market figure.

The oracle is fleetcarbon.reference.cfe_match_python, a plain loop over jobs × intervals;
the engine sweeps the sorted window ends per key and integrates each window by the core's
prefix sums. Hand-computed cases use metered energy and PUE 1, so that every number is
known without the factor tables.
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
from fleetcarbon.cfe_matching import demand_per_interval
from fleetcarbon.cli import main
from fleetcarbon.errors import InvalidValueError, MissingColumnError, SchemaError, UnknownKeyError
from fleetcarbon.factors.cfe_supply import CfeSupplyGapWarning
from fleetcarbon.reference import CfeWindow, cfe_match_python

UTC = dt.timezone.utc
T0 = dt.datetime(2024, 3, 1, tzinfo=UTC)
FACTORS = fc.load_factors()
TIME = pl.Datetime("us", "UTC")


def at(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def supply(
    values: list[float],
    *,
    key: str = "FR",
    column: str = "region",
    step_h: float = 1.0,
    ends: bool = True,
) -> pl.DataFrame:
    """Consecutive intervals of ``step_h`` from T0 (without ``end`` unless ``ends``)."""
    frame = pl.DataFrame(
        {
            column: [key] * len(values),
            "start": pl.Series([at(step_h * i) for i in range(len(values))], dtype=TIME),
            "cfe_kwh": [float(v) for v in values],
        }
    )
    if ends:
        frame = frame.with_columns(end=pl.col("start") + pl.duration(seconds=step_h * 3600))
    return frame


def metered(
    starts: list[float | None], hours: list[float], kwh: list[float], **columns: object
) -> pl.DataFrame:
    """Jobs of known facility energy: metered kWh at PUE 1, 0.4 kg/kWh unless overridden."""
    n = len(starts)
    base: dict[str, object] = {
        "job_id": list(range(1, n + 1)),
        "start": pl.Series([None if s is None else at(s) for s in starts], dtype=TIME),
        "duration_h": [float(h) for h in hours],
        "region": ["FR"] * n,
        "energy_kwh": [float(e) for e in kwh],
        "pue": [1.0] * n,
        "grid_kgco2e_per_kwh": [0.4] * n,
    }
    return pl.DataFrame(base | columns)


def quiet(frame: pl.DataFrame, factors: fc.Factors) -> pl.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fc.estimate(frame, factors)


# ----------------------------------------------------------------------------- hand-computed


def test_two_jobs_share_half_the_demand_pro_rata() -> None:
    frame = metered([0.0, 0.0], [1.0, 1.0], [10.0, 30.0])
    out = quiet(frame, FACTORS.with_cfe_supply(supply([20.0])))
    assert out["cfe_matched_kwh"].to_list() == pytest.approx([5.0, 15.0], rel=1e-14)
    assert out["cfe_matched_share"].to_list() == pytest.approx([0.5, 0.5], rel=1e-14)
    # Unmatched halves at 0.4 kg/kWh; the location-based figure is untouched.
    assert out["operational_market_kgco2e"].to_list() == pytest.approx([2.0, 6.0], rel=1e-14)
    assert out["operational_kgco2e"].to_list() == pytest.approx([4.0, 12.0], rel=1e-14)
    assert fc.summarize(out)["cfe_score"].item() == pytest.approx(0.5, rel=1e-14)


def test_partial_overlaps_split_each_job_by_the_time_in_each_hour() -> None:
    # Job 1 runs 00:30-01:30 (10 kWh), job 2 00:00-01:00 (30 kWh).
    # Hour 0: demand 5 + 30, supply 7 -> f = 0.2; hour 1: demand 5, supply 10 -> f = 1.
    frame = metered([0.5, 0.0], [1.0, 1.0], [10.0, 30.0])
    out = quiet(frame, FACTORS.with_cfe_supply(supply([7.0, 10.0])))
    assert out["cfe_matched_kwh"].to_list() == pytest.approx([5 * 0.2 + 5.0, 30 * 0.2], rel=1e-13)
    market = [(10.0 - 6.0) * 0.4, (30.0 - 6.0) * 0.4]
    assert out["operational_market_kgco2e"].to_list() == pytest.approx(market, rel=1e-13)
    # The matched energy never exceeds the supply, and is min(S, D) summed over hours.
    assert out["cfe_matched_kwh"].sum() == pytest.approx(min(7.0, 35.0) + min(10.0, 5.0))


def test_supply_above_demand_matches_everything() -> None:
    frame = metered([0.25, 3.0], [2.5, 0.75], [10.0, 4.0])
    out = quiet(frame, FACTORS.with_cfe_supply(supply([100.0] * 6)))
    assert out["cfe_matched_share"].to_list() == pytest.approx([1.0, 1.0], rel=1e-13)
    assert out["operational_market_kgco2e"].to_list() == pytest.approx([0.0, 0.0], abs=1e-13)
    assert fc.summarize(out)["cfe_score"].item() == pytest.approx(1.0, rel=1e-13)


def test_zero_supply_changes_nothing() -> None:
    frame = fc.synthetic_fleet(300, seed=4)
    year = pl.datetime_range(
        dt.datetime(2025, 1, 1), dt.datetime(2025, 12, 31, 23), "1h", eager=True, time_zone="UTC"
    )
    zero = pl.DataFrame({"datacenter": "aws", "start": year, "cfe_kwh": 0.0})
    plain = quiet(frame, FACTORS)
    out = quiet(frame, FACTORS.with_cfe_supply(zero))
    assert out.drop("cfe_matched_kwh", "cfe_matched_share").equals(plain)
    assert out["cfe_matched_kwh"].to_list() == [0.0] * frame.height
    assert "cfe_score" not in fc.summarize(plain).columns


def test_market_factors_of_jobs_and_regions_are_what_is_left() -> None:
    frame = metered([0.0, 0.0], [1.0, 1.0], [10.0, 10.0], market_kgco2e_per_kwh=[0.1, None])
    out = quiet(frame, FACTORS.with_cfe_supply(supply([15.0])))
    # f = 0.75: job 1 keeps a quarter of 10 kWh at its own 0.1, job 2 at the location 0.4.
    assert out["operational_market_kgco2e"].to_list() == pytest.approx([0.25, 1.0], rel=1e-13)
    zero_market = FACTORS.with_rows(
        regions=pl.DataFrame({"key": ["FR"], "market_kgco2e_per_kwh": [0.05]})
    )
    frame = metered([0.0], [1.0], [10.0]).drop("grid_kgco2e_per_kwh")
    out = quiet(frame, zero_market.with_cfe_supply(supply([2.0])))
    assert out["operational_market_kgco2e"][0] == pytest.approx(8.0 * 0.05, rel=1e-13)


def test_a_power_profile_shapes_the_demand() -> None:
    # 2 h at weights 1:3: 2.5 kWh in hour 0, 7.5 kWh in hour 1 (no grid series needed);
    # flat, 5 kWh in each. 4 kWh of supply in hour 0 matches 2.5 and 4 kWh.
    frame = metered([0.0], [2.0], [10.0], power_profile=pl.Series([[1.0, 3.0]]))
    factors = FACTORS.with_cfe_supply(supply([4.0, 0.0]))
    assert quiet(frame, factors)["cfe_matched_kwh"][0] == pytest.approx(2.5, rel=1e-13)
    flat = quiet(frame.drop("power_profile"), factors)
    assert flat["cfe_matched_kwh"][0] == pytest.approx(4.0, rel=1e-13)
    # Two jobs share hour 1 by their energy in it: 7.5 and 5 kWh of 12.5, supply 5.
    two = pl.concat([frame, frame.with_columns(job_id=pl.lit(2, pl.Int64), power_profile=None)])
    out = quiet(two, FACTORS.with_cfe_supply(supply([0.0, 5.0])))
    assert out["cfe_matched_kwh"].to_list() == pytest.approx([3.0, 2.0], rel=1e-13)


def test_a_time_varying_grid_is_matched_hour_by_hour() -> None:
    # 2 h in FR, 10 kWh, series 0.1 then 0.3; hour 0 fully matched, hour 1 not at all:
    # what is left is 5 kWh at 0.3, not the window mean (0.2) times the unmatched half.
    series = pl.DataFrame(
        {
            "region": "FR",
            "start": pl.Series([at(0), at(1)], dtype=TIME),
            "kgco2e_per_kwh": [0.1, 0.3],
        }
    )
    factors = FACTORS.with_grid_series(series)
    frame = metered([0.0], [2.0], [10.0]).drop("grid_kgco2e_per_kwh")
    out = quiet(frame, factors.with_cfe_supply(supply([50.0, 0.0])))
    assert out["operational_kgco2e"][0] == pytest.approx(2.0, rel=1e-13)
    assert out["operational_market_kgco2e"][0] == pytest.approx(1.5, rel=1e-13)
    # Half in, half out of the series: the uncovered hour gets the annual value.
    frame = metered([1.0], [2.0], [10.0]).drop("grid_kgco2e_per_kwh")
    annual = quiet(frame, FACTORS)["grid_kgco2e_per_kwh_effective"][0]
    out = quiet(frame, factors.with_cfe_supply(supply([0.0, 5.0])))
    assert out["operational_market_kgco2e"][0] == pytest.approx(5.0 * annual, rel=1e-12)
    out = quiet(frame, factors.with_cfe_supply(supply([0.0, 0.0, 5.0])))
    assert out["operational_market_kgco2e"][0] == pytest.approx(5.0 * 0.3, rel=1e-12)


def test_jobs_without_windows_are_unmatched_and_draw_nothing() -> None:
    frame = metered([0.0, None, 0.0], [1.0, 1.0, 0.0], [10.0, 10.0, 5.0])
    out = quiet(frame, FACTORS.with_cfe_supply(supply([10.0])))
    # Job 1 alone draws in hour 0, so it is matched in full.
    assert out["cfe_matched_kwh"].to_list() == pytest.approx([10.0, 0.0, 0.0])
    assert out["cfe_matched_share"].to_list()[:2] == pytest.approx([1.0, 0.0])
    assert out["operational_market_kgco2e"].to_list()[1:] == pytest.approx([4.0, 2.0])
    zero = metered([0.0], [1.0], [0.0])
    assert quiet(zero, FACTORS.with_cfe_supply(supply([10.0])))["cfe_matched_share"][0] is None


def test_keys_resolve_as_the_engine_resolves_rows() -> None:
    mine = FACTORS.with_rows(
        datacenters=pl.DataFrame(
            {"key": ["my-dc"], "region": ["FR"], "pue": [1.2], "facility_embodied_fraction": [0.1]}
        )
    )
    # Region supply reaches a datacenter-only job through its datacenter's region.
    frame = metered([0.0, 0.0], [1.0, 1.0], [10.0, 10.0], region=[None, "DE"])
    frame = frame.with_columns(datacenter=pl.Series(["my-dc", None]))
    out = quiet(frame, mine.with_cfe_supply(supply([100.0])))
    assert out["cfe_matched_share"].to_list() == pytest.approx([1.0, 0.0])
    # Datacenter supply reaches a job without a datacenter through its region's default.
    default = FACTORS.regions.filter(pl.col("key") == "DE")["default_datacenter"].item()
    by_dc = mine.with_cfe_supply(supply([100.0], key=default, column="datacenter"))
    out = quiet(frame, by_dc)
    expected = [1.0 if default == "my-dc" else 0.0, 1.0]
    assert out["cfe_matched_share"].to_list() == pytest.approx(expected)
    assert mine.with_cfe_supply(supply([1.0], key="My-DC", column="datacenter")).cfe_supply
    stored = by_dc.cfe_supply.frame if by_dc.cfe_supply is not None else None
    assert stored is not None and stored.columns[0] == "datacenter"


# ----------------------------------------------------------------------------- properties


def test_demand_per_interval_against_a_loop() -> None:
    rng = np.random.default_rng(5)
    hour = 3_600_000_000
    starts = np.array([0, hour, 3 * hour, 4 * hour], dtype=np.int64)  # a gap 2h-3h
    ends = starts + hour
    piece_start = rng.integers(-hour, 6 * hour, 200)
    piece_end = piece_start + rng.integers(1, 3 * hour, 200)
    rate = rng.uniform(0, 5, 200)
    got = demand_per_interval(starts, ends, piece_start, piece_end, rate)
    want = [
        sum(
            r * max(0, min(b, e) - max(a, s)) / hour
            for s, e, r in zip(piece_start, piece_end, rate, strict=True)
        )
        for a, b in zip(starts, ends, strict=True)
    ]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    order = rng.permutation(200)
    again = demand_per_interval(starts, ends, piece_start[order], piece_end[order], rate[order])
    assert again.tolist() == got.tolist()


def test_conservation_over_a_random_fleet() -> None:
    rng = np.random.default_rng(11)
    n = 400
    starts = list(rng.integers(-5 * 3600, 50 * 3600, n) / 3600)
    hours = list(rng.integers(1, 20 * 3600, n) / 3600)
    kwh = list(rng.uniform(0.0, 50.0, n))
    values = list(rng.uniform(0, 400, 48))
    frame = metered(starts, hours, kwh)
    out = quiet(frame, FACTORS.with_cfe_supply(supply(values)))
    demand = [
        sum(
            e * max(0.0, min(s + h, t + 1) - max(s, t)) / h
            for s, h, e in zip(starts, hours, kwh, strict=True)
        )
        for t in range(48)
    ]
    matched = out["cfe_matched_kwh"].to_numpy()
    assert matched.sum() == pytest.approx(sum(map(min, values, demand)), rel=1e-11)
    assert matched.sum() <= sum(values) * (1 + 1e-12)
    assert (matched <= out["facility_energy_kwh"].to_numpy() * (1 + 1e-12)).all()


def test_row_order_and_threads_change_nothing() -> None:
    frame = fc.synthetic_fleet(2000, seed=9).with_columns(
        power_profile=pl.when(pl.col("job_id") % 3 == 0)
        .then(pl.lit([1.0, 2.0, 0.5]))
        .otherwise(None)
    )
    year = pl.datetime_range(
        dt.datetime(2025, 1, 1), dt.datetime(2025, 12, 31, 23), "1h", eager=True, time_zone="UTC"
    )
    rng = np.random.default_rng(2)
    parts = [
        pl.DataFrame({"datacenter": k, "start": year, "cfe_kwh": rng.uniform(0, 2e3, len(year))})
        for k in ("aws", "google", "generic")
    ]
    factors = FACTORS.with_cfe_supply(pl.concat(parts))
    before = frame.clone()
    out = fc.estimate(frame, factors).sort("job_id")
    assert frame.equals(before)
    shuffled = fc.estimate(frame.sample(fraction=1.0, shuffle=True, seed=1), factors, threads=1)
    assert shuffled.sort("job_id").equals(out)
    assert 0 < out["cfe_matched_kwh"].sum() < out["facility_energy_kwh"].sum()


GRID_VALUES = [0.05 + 0.01 * (i % 7) for i in range(30)]


def _grid() -> pl.DataFrame:
    starts = pl.Series([at(i) for i in range(len(GRID_VALUES))], dtype=TIME)
    return pl.DataFrame({"region": "FR", "start": starts, "kgco2e_per_kwh": GRID_VALUES})


cases = st.tuples(
    st.integers(1, 3),  # datacenters
    st.sampled_from([0.25, 1.0]),  # supply step, h
    st.booleans(),  # with a grid series for FR
    st.lists(
        st.tuples(
            st.integers(-3 * 3600, 30 * 3600),  # start, s
            st.integers(0, 12 * 3600),  # duration, s
            st.integers(0, 2),  # datacenter
            st.sampled_from(["FR", "DE"]),
            st.integers(1, 64),  # cores
            st.one_of(st.none(), st.lists(st.floats(0.0, 4.0), min_size=1, max_size=4)),
        ),
        min_size=1,
        max_size=25,
    ),
    st.lists(st.floats(0.0, 60.0), min_size=1, max_size=40),
    st.lists(st.integers(0, 39), max_size=4, unique=True),  # intervals left out: gaps
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases)
def test_matching_agrees_with_the_python_reference(case: tuple) -> None:
    n_dc, step, with_grid, rows, values, holes = case
    datacenters = ["aws", "google", "azure"][:n_dc]
    rows = [(*r[:5], r[5] if r[5] and sum(r[5]) > 0 else None) for r in rows]
    frame = pl.DataFrame(
        {
            "job_id": list(range(len(rows))),
            "start": pl.Series([T0 + dt.timedelta(seconds=r[0]) for r in rows], dtype=TIME),
            "duration_h": [r[1] / 3600 for r in rows],
            "datacenter": [datacenters[r[2] % n_dc] for r in rows],
            "region": [r[3] for r in rows],
            "cpu_cores": [r[4] for r in rows],
            "power_profile": pl.Series([r[5] for r in rows], dtype=pl.List(pl.Float64)),
        }
    )
    intervals = [
        (datacenters[i % n_dc], step * (i // n_dc), step * (i // n_dc + 1), v)
        for i, v in enumerate(values)
        if i not in holes
    ] or [(datacenters[0], 0.0, step, values[0])]
    table = pl.DataFrame(
        {
            "datacenter": [k for k, *_ in intervals],
            "start": pl.Series([at(a) for _, a, _, _ in intervals], dtype=TIME),
            "end": pl.Series([at(b) for _, _, b, _ in intervals], dtype=TIME),
            "cfe_kwh": [v for *_, v in intervals],
        }
    )
    base = FACTORS.with_grid_series(_grid()) if with_grid else FACTORS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CfeSupplyGapWarning)
        factors = base.with_cfe_supply(table)
    before = quiet(frame, base)
    out = quiet(frame, factors)
    energy = before["facility_energy_kwh"].to_numpy()
    # The annual market intensity of each job, from an estimate without series.
    annual_op = quiet(frame, FACTORS)["operational_market_kgco2e"].to_numpy()
    annual = np.divide(annual_op, energy, out=np.zeros_like(energy), where=energy > 0)
    series = tuple((i, i + 1.0, v) for i, v in enumerate(GRID_VALUES))
    windows = [
        CfeWindow(
            key=datacenters[r[2] % n_dc] if r[1] > 0 else None,
            start_h=r[0] / 3600,
            end_h=(r[0] + r[1]) / 3600,
            energy_kwh=float(e),
            market=float(a),
            weights=None if r[5] is None else tuple(r[5]),
            series=series if with_grid and r[3] == "FR" else (),
        )
        for r, e, a in zip(rows, energy, annual, strict=True)
    ]
    matched, market = cfe_match_python(windows, intervals)
    scale = max(energy.max(), 1e-300)
    np.testing.assert_allclose(out["cfe_matched_kwh"], matched, rtol=1e-9, atol=1e-12 * scale)
    np.testing.assert_allclose(
        out["operational_market_kgco2e"], market, rtol=1e-9, atol=1e-12 * scale
    )
    for column in ("facility_energy_kwh", "operational_kgco2e", "total_kgco2e"):
        assert out[column].to_list() == before[column].to_list()


# ----------------------------------------------------------------------------- validation


def test_missing_columns_keys_and_naive_times_are_refused() -> None:
    with pytest.raises(MissingColumnError, match="cfe_kwh"):
        FACTORS.with_cfe_supply(pl.DataFrame({"region": ["FR"], "start": [at(0)]}))
    with pytest.raises(MissingColumnError, match="datacenter or region"):
        FACTORS.with_cfe_supply(pl.DataFrame({"start": [at(0)], "cfe_kwh": [1.0]}))
    both = supply([1.0, 2.0]).with_columns(datacenter=pl.lit("aws"))
    with pytest.raises(SchemaError, match="not both"):
        FACTORS.with_cfe_supply(both)
    naive = supply([1.0, 2.0]).with_columns(pl.col("start").dt.replace_time_zone(None))
    with pytest.raises(SchemaError, match="CFE supply column 'start' has no time zone"):
        FACTORS.with_cfe_supply(naive)
    with pytest.raises(SchemaError, match="by region"):
        FACTORS.with_cfe_supply(supply([1.0, 2.0])).with_cfe_supply(
            supply([1.0, 2.0], key="aws", column="datacenter")
        )
    with pytest.raises(SchemaError, match="DataFrame"):
        FACTORS.with_cfe_supply({"region": ["FR"]})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("frame", "error", "message"),
    [
        (supply([1.0, 2.0], key="Frnace"), UnknownKeyError, "did you mean"),
        (supply([1.0, 2.0], key="aws-x", column="datacenter"), UnknownKeyError, "datacenters"),
        (supply([1.0, float("nan")]), InvalidValueError, r"cfe_kwh.*NaN.*\('FR', datetime.*nan\)"),
        (supply([1.0, -2.0]), InvalidValueError, r"negative.*first: \('FR', datetime"),
        (supply([1.0, float("inf")]), InvalidValueError, "infinite"),
        (
            pl.concat([supply([1.0, 2.0]), supply([3.0])]),
            InvalidValueError,
            r"duplicated \(region, start\).*\('FR', datetime.datetime\(2024, 3, 1, 0, 0",
        ),
        (supply([1.0], ends=False), InvalidValueError, "a region with one interval"),
        (
            supply([1.0, 2.0, 3.0], step_h=48, ends=False),
            InvalidValueError,
            "5 minutes and 1 day",
        ),
        (
            supply([1.0, 2.0]).with_columns(end=pl.col("start")),
            InvalidValueError,
            r"column 'end': CFE supply: intervals that do not end after they start",
        ),
        (
            supply([1.0, 2.0]).with_columns(cfe_kwh=pl.Series([1.0, None])),
            InvalidValueError,
            r"null or NaN cfe_kwh values in 1 row; first: \('FR', datetime",
        ),
        (
            supply([1.0, 2.0]).with_columns(region=pl.Series(["FR", None])),
            InvalidValueError,
            r"column 'region': CFE supply: null regions",
        ),
    ],
)
def test_bad_supplies_name_key_and_time(frame: pl.DataFrame, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        FACTORS.with_cfe_supply(frame)


def test_overlaps_are_errors_and_gaps_are_listed() -> None:
    overlapping = supply([1.0, 2.0, 3.0]).with_columns(
        end=pl.col("start") + pl.duration(minutes=90)
    )
    with pytest.raises(InvalidValueError, match=r"CFE supply: intervals that overlap .* \('FR'"):
        FACTORS.with_cfe_supply(overlapping)
    gappy = supply([1.0, 2.0, 3.0, 4.0]).filter(pl.col("cfe_kwh") != 3.0)
    with pytest.warns(
        CfeSupplyGapWarning, match=r"1 gap \(UTC\).*none is matched.*FR, 2024-03-01 02:00"
    ):
        factors = FACTORS.with_cfe_supply(gappy.reverse())
    # 3 h from 01:00 at 3 kWh/h: hour 1 is matched 2 kWh, the gap none, hour 3 all 3 kWh.
    out = quiet(metered([1.0], [3.0], [9.0]), factors)
    assert out["cfe_matched_kwh"][0] == pytest.approx(2.0 + 0.0 + 3.0, rel=1e-13)


def test_the_supply_is_not_modified_and_is_kept_by_other_copies() -> None:
    frame = supply([3.0, 1.0, 2.0], key="fr").reverse()
    before = frame.clone()
    factors = FACTORS.with_cfe_supply(frame.lazy(), source="ppa-2024")
    assert frame.equals(before)
    stored = factors.cfe_supply
    assert stored is not None
    assert stored.frame["region"].to_list() == ["FR"] * 3
    assert stored.frame["start"].is_sorted()
    assert stored.frame["cfe_kwh"].to_list() == [3.0, 1.0, 2.0]
    assert stored.frame["source"].unique().to_list() == ["ppa-2024"]
    copies = [
        factors.with_rows(regions=pl.DataFrame({"key": ["FR"], "market_kgco2e_per_kwh": [0.1]})),
        factors.with_grid_series(_grid()),
        factors.with_power_profiles({"ramp": [1, 2]}),
        factors.with_mixes([]),
    ]
    assert all(c.cfe_supply is stored for c in copies)
    more = factors.with_cfe_supply(supply([5.0], key="DE").with_columns(end=pl.lit(at(1))))
    assert more.cfe_supply is not None and set(more.cfe_supply.keys) == {"DE", "FR"}
    assert more.cfe_supply.frame.height == 4


def test_re_estimating_drops_the_previous_matching() -> None:
    factors = FACTORS.with_cfe_supply(supply([20.0]))
    out = quiet(metered([0.0, 0.0], [1.0, 1.0], [10.0, 30.0]), factors)
    again = quiet(out, factors)
    assert again.equals(out)
    plain = quiet(out, FACTORS)
    assert "cfe_matched_kwh" not in plain.columns
    assert plain["operational_market_kgco2e"].to_list() == pytest.approx([4.0, 12.0])


def test_summarize_reports_the_cfe_score_per_group() -> None:
    frame = metered([0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [10.0, 30.0, 0.0])
    frame = frame.with_columns(
        team=pl.Series(["a", "b", "c"]), region=pl.Series(["FR", "FR", "DE"])
    )
    out = quiet(frame, FACTORS.with_cfe_supply(supply([10.0])))
    table = fc.summarize(out, by="team")
    assert table["cfe_score"].to_list()[:2] == pytest.approx([0.25, 0.25])
    assert table["cfe_score"][2] is None  # no energy
    assert table["operational_market_kgco2e"].to_list() == pytest.approx([3.0, 9.0, 0.0])


def test_simulate_does_not_report_market_figures_and_is_unchanged() -> None:
    frame = fc.synthetic_fleet(200, seed=3)
    year = pl.datetime_range(
        dt.datetime(2025, 1, 1), dt.datetime(2025, 12, 31, 23), "1h", eager=True, time_zone="UTC"
    )
    factors = FACTORS.with_cfe_supply(pl.DataFrame({"region": "FR", "start": year, "cfe_kwh": 1e4}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = fc.simulate(frame, factors, draws=200, seed=4)
        b = fc.simulate(frame, FACTORS, draws=200, seed=4)
    assert not any("market" in c for c in a.columns)
    assert a.drop("factors_version").equals(b.drop("factors_version"))


# ----------------------------------------------------------------------------- CLI


def test_cli_cfe_supply(tmp_path, capsys) -> None:
    frame = metered([0.0, 0.0], [1.0, 1.0], [10.0, 30.0])
    jobs = tmp_path / "jobs.parquet"
    frame.write_parquet(jobs)
    csv = tmp_path / "supply.csv"
    supply([8.0]).write_csv(csv)
    parquet = tmp_path / "supply.parquet"
    later = supply([12.0]).with_columns(pl.col("start", "end") + pl.duration(hours=1))
    later.write_parquet(parquet)
    out = tmp_path / "out.parquet"
    args = ["--quiet", "estimate", str(jobs), "--cfe-supply", str(csv), "-o", str(out)]
    assert main([*args, "--cfe-supply", str(parquet)]) == 0
    est = pl.read_parquet(out)
    assert est["cfe_matched_kwh"].to_list() == pytest.approx([2.0, 6.0])
    assert "cfe_score" in capsys.readouterr().out
    # A supply file is an input: -o onto it is refused.
    args = ["estimate", str(jobs), "--cfe-supply", str(csv), "-o", str(csv), "--overwrite"]
    assert main(args) == 1
    assert "input" in capsys.readouterr().err
    args = ["simulate", str(jobs), "--cfe-supply", str(csv), "--draws", "100", "--seed", "1"]
    assert main(args) == 0
