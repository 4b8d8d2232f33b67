"""Scenario sweeps with common random numbers (fleetcarbon.sweep, docs/scenarios.md)."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import polars as pl
import pytest

import fleetcarbon as fc
from fleetcarbon import Scenario
from fleetcarbon.errors import FleetcarbonError, ParameterError

FACTORS = fc.load_factors()
FLEET = fc.synthetic_fleet(3000, seed=11)
# Modelled jobs only, so that replaced hardware is charged by the model on both sides.
MODELLED = FLEET.drop("energy_kwh", "avg_power_w")
A100, H100 = "nvidia-a100-sxm4-80gb", "nvidia-h100-sxm5-80gb"


def quiet_sweep(jobs: pl.DataFrame, scenarios: list[Scenario], **options: object):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fc.sweep(jobs, scenarios, **options)  # type: ignore[call-overload]


def quiet(fn, *args, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **options)


def test_a_scenario_equal_to_the_baseline_differs_by_exactly_zero_in_every_draw() -> None:
    same = [Scenario("same"), Scenario("moved nowhere", region={"nowhere": "FR"})]
    out = quiet_sweep(FLEET, same, draws=200, seed=5, by="team", return_draws=True)
    draws = out.draws.filter(pl.col("scenario") != "baseline")
    for m in ("it_energy_kwh", "operational_kgco2e", "embodied_kgco2e", "total_kgco2e"):
        assert (draws[f"{m}_diff"] == 0.0).all(), m
    summary = out.summary.filter(pl.col("scenario") != "baseline")
    assert (summary["total_kgco2e_diff_std"] == 0.0).all()
    assert (summary["total_kgco2e_p_lower"] == 0.0).all()
    assert summary["scenario"].unique().sort().to_list() == ["moved nowhere", "same"]


def test_a_factor_scenario_matches_separate_runs_bit_for_bit() -> None:
    # The shared reduction must give each scenario the draws of its own simulate call.
    scenario = Scenario("PUE 1.1", pue=1.1)
    out = quiet_sweep(FLEET, [scenario], draws=300, seed=9, by="team", return_draws=True)
    _, changed = scenario.apply(FLEET, FACTORS)
    alone = quiet(
        fc.simulate_detailed, FLEET, changed, draws=300, seed=9, by="team", return_draws=True
    )
    mine = out.draws.filter(pl.col("scenario") == "PUE 1.1").sort("team", "draw")
    theirs = alone.draws.sort("team", "draw")
    for m in ("it_energy_kwh", "operational_kgco2e", "total_kgco2e"):
        assert mine[m].to_list() == theirs[m].to_list(), m
    row = out.summary.filter(pl.col("scenario") == "PUE 1.1").sort("team")
    np.testing.assert_allclose(
        row["total_kgco2e"], alone.summary.sort("team")["total_kgco2e"], rtol=1e-12
    )


def test_a_pure_factor_scenario_differs_as_two_estimates_do() -> None:
    scenario = Scenario("PUE 1.1", pue=1.1)
    out = quiet_sweep(MODELLED, [scenario], draws=2000, seed=1)
    _, changed = scenario.apply(MODELLED, FACTORS)
    before = quiet(fc.estimate, MODELLED, FACTORS)["operational_kgco2e"].sum()
    after = quiet(fc.estimate, MODELLED, changed)["operational_kgco2e"].sum()
    row = out.filter(pl.col("scenario") == "PUE 1.1")
    assert row["operational_kgco2e_diff"][0] == pytest.approx(after - before, rel=1e-12)
    assert row["operational_kgco2e_diff"][0] < 0
    # The draws' differences are centred on it, and lower in (nearly) every draw.
    assert (
        row["operational_kgco2e_diff_p05"][0]
        < after - before
        < row["operational_kgco2e_diff_p95"][0]
    )
    assert row["operational_kgco2e_p_lower"][0] > 0.95
    # Embodied carbon does not depend on PUE: no difference in any draw.
    assert row["embodied_kgco2e_diff_std"][0] == 0.0


def test_common_random_numbers_narrow_the_difference() -> None:
    scenario = Scenario("6-year servers", lifetime_years=6)
    out = quiet_sweep(MODELLED, [scenario], draws=1000, seed=3, return_draws=True)
    paired = out.summary.filter(pl.col("scenario") == "6-year servers")["total_kgco2e_diff_std"][0]
    _, changed = scenario.apply(MODELLED, FACTORS)
    a = quiet(fc.simulate_detailed, MODELLED, FACTORS, draws=1000, seed=3, return_draws=True)
    b = quiet(fc.simulate_detailed, MODELLED, changed, draws=1000, seed=4, return_draws=True)
    independent = float(
        np.std((b.draws["total_kgco2e"] - a.draws["total_kgco2e"]).to_numpy(), ddof=1)
    )
    assert paired < 0.5 * independent, (paired, independent)


def test_moving_jobs_keeps_their_groups_and_matches_estimate() -> None:
    scenario = Scenario("to France", region={"US": "FR"})
    out = quiet_sweep(MODELLED, [scenario], draws=100, seed=2, by="region")
    moved, _ = scenario.apply(MODELLED, FACTORS)
    assert moved["region"].to_list().count("US") == 0
    groups = out.filter(pl.col("scenario") == "to France")
    assert "US" in groups["region"].to_list()
    expected = (
        quiet(fc.estimate, moved)
        .with_columns(region=MODELLED["region"])
        .group_by("region")
        .agg(pl.col("operational_kgco2e").sum())
    )
    joined = groups.join(expected, on="region", suffix="_expected")
    np.testing.assert_allclose(
        joined["operational_kgco2e"], joined["operational_kgco2e_expected"], rtol=1e-12
    )
    ca = groups.filter(pl.col("region") == "US")
    assert ca["operational_kgco2e_diff"][0] < 0 and ca["operational_kgco2e_p_lower"][0] == 1.0


def test_replacing_hardware_divides_the_duration_by_the_speedup() -> None:
    jobs = pl.DataFrame(
        {
            "job_id": [1, 2],
            "duration_h": [10.0, 10.0],
            "accelerator": [A100, "nvidia-v100-sxm2-32gb"],
            "accelerator_count": [8, 8],
            "region": ["FR", "FR"],
            "energy_kwh": [40.0, 30.0],
        }
    )
    kept = Scenario("H100 x2", accelerator={A100: H100}, speedup=2.0)
    scaled = Scenario("H100 x2, fewer", accelerator={A100: H100}, speedup=2.0, counts="scaled")
    changed, _ = kept.apply(jobs, FACTORS)
    assert changed["accelerator"].to_list() == [H100, "nvidia-v100-sxm2-32gb"]
    assert changed["duration_h"].to_list() == [5.0, 10.0]
    assert changed["energy_kwh"].to_list() == [None, 30.0]
    fewer, _ = scaled.apply(jobs, FACTORS)
    assert fewer["accelerator_count"].to_list() == [4.0, 8.0]
    assert fewer["duration_h"].to_list() == [10.0, 10.0]
    # 5 h on 8 H100s and 10 h on 4 draw the same energy and embodied carbon.
    a, b = quiet(fc.estimate, changed), quiet(fc.estimate, fewer)
    assert a["total_kgco2e"][0] == pytest.approx(b["total_kgco2e"][0], rel=1e-12)
    out = quiet_sweep(jobs, [kept], draws=50, seed=1)
    assert out["total_kgco2e"][1] == pytest.approx(a["total_kgco2e"].sum(), rel=1e-12)


def test_windows_move_with_the_hardware_and_the_shift() -> None:
    t0 = dt.datetime(2022, 6, 1, 12, tzinfo=dt.timezone.utc)
    jobs = pl.DataFrame(
        {
            "job_id": [1],
            "start": [t0],
            "end": [t0 + dt.timedelta(hours=8)],
            "accelerator": [A100],
            "accelerator_count": [1],
            "region": ["US-BA-CISO"],
        }
    )
    changed, _ = Scenario("x4", accelerator={A100: H100}, speedup=4.0).apply(jobs, FACTORS)
    assert changed["end"][0] == t0 + dt.timedelta(hours=2)
    assert "duration_h" not in changed.columns
    shifted, _ = Scenario("night", shift_h=-12).apply(jobs, FACTORS)
    assert shifted["start"][0] == t0 - dt.timedelta(hours=12)
    assert shifted["end"][0] == t0 - dt.timedelta(hours=4)
    from fleetcarbon.factors import bundled_grid_series

    hourly = FACTORS.with_grid_series(bundled_grid_series())
    out = quiet_sweep(jobs, [Scenario("night", shift_h=-12)], factors=hourly, draws=50, seed=1)
    expected = quiet(fc.estimate, shifted, hourly)["operational_kgco2e"][0]
    assert out["operational_kgco2e"][1] == pytest.approx(expected, rel=1e-12)
    assert out["operational_kgco2e_diff"][1] != 0.0


def test_factor_changes_keep_relative_bounds_or_take_given_ones() -> None:
    _, f = Scenario("pue", pue={"generic": 1.3}).apply(FLEET, FACTORS)
    old = FACTORS.datacenters.filter(pl.col("key") == "generic").row(0, named=True)
    new = f.datacenters.filter(pl.col("key") == "generic").row(0, named=True)
    ratio = 1.3 / old["pue"]
    assert new["pue"] == 1.3
    assert new["pue_high"] == pytest.approx(min(old["pue_high"] * ratio, 1e9))
    assert new["pue_low"] == pytest.approx(max(old["pue_low"] * ratio, 1.0))
    _, f = Scenario("life", lifetime_years=(6, 5, 8)).apply(FLEET, FACTORS)
    row = f.defaults.filter(pl.col("parameter") == "lifetime_years").row(0, named=True)
    assert (row["value"], row["low"], row["high"]) == (6.0, 5.0, 8.0)
    assert FACTORS.defaults.filter(pl.col("parameter") == "lifetime_years")["value"][0] == 4.0


def test_composed_scenarios_apply_both_changes() -> None:
    both = Scenario("PUE 1.1", pue=1.1) + Scenario("6 y", lifetime_years=6)
    assert both.name == "PUE 1.1 + 6 y"
    assert both.describe().count("\n") == 1
    one_call = Scenario("both", pue=1.1, lifetime_years=6)
    out = quiet_sweep(MODELLED, [both, one_call], draws=100, seed=4)
    assert out["total_kgco2e"][1] == out["total_kgco2e"][2]
    assert out["total_kgco2e_mean"][1] == out["total_kgco2e_mean"][2]


def test_row_order_and_threads_do_not_change_the_sweep() -> None:
    scenarios = [Scenario("PUE 1.1", pue=1.1), Scenario("to FR", region={"US": "FR"})]
    one = quiet_sweep(FLEET, scenarios, draws=150, seed=8, by="team", threads=1)
    shuffled = FLEET.sample(fraction=1.0, shuffle=True, seed=3)
    two = quiet_sweep(shuffled, scenarios, draws=150, seed=8, by="team", threads=2)
    assert one.equals(two)


def test_a_named_baseline_and_bad_arguments() -> None:
    low, high = Scenario("low PUE", pue=1.05), Scenario("high PUE", pue=1.5)
    out = quiet_sweep(MODELLED, [low, high], baseline="high PUE", draws=50, seed=1)
    assert out["scenario"].to_list() == ["high PUE", "low PUE"]
    assert out["total_kgco2e_diff"][1] < 0
    with pytest.raises(ParameterError, match="unique"):
        fc.sweep(FLEET, [low, Scenario("low PUE")], draws=10)
    with pytest.raises(ParameterError, match="baseline 'nope'"):
        fc.sweep(FLEET, [low], baseline="nope", draws=10)
    with pytest.raises(ParameterError, match="Scenario"):
        fc.sweep(FLEET, ["PUE 1.1"], draws=10)  # type: ignore[list-item]
    with pytest.raises(ParameterError, match="no datacenters row"):
        fc.sweep(FLEET, [Scenario("x", pue={"nope": 1.2})], draws=10)
    with pytest.raises(ParameterError, match="give accelerator"):
        Scenario("x", speedup=2.0)
    with pytest.raises(FleetcarbonError, match="scenario 'bad region'"):
        quiet_sweep(FLEET, [Scenario("bad region", region={"US": "XX-NOWHERE"})], draws=10)


def test_the_inputs_are_not_modified() -> None:
    frame, before = FLEET.clone(), FACTORS.datacenters.clone()
    quiet_sweep(frame, [Scenario("PUE", pue=1.1), Scenario("mv", region={"FR": "DE"})], draws=20)
    assert frame.equals(FLEET)
    assert FACTORS.datacenters.equals(before)


def test_the_cleanest_shift_moves_jobs_to_the_known_clean_hour() -> None:
    t0 = dt.datetime(2024, 3, 1, tzinfo=dt.timezone.utc)
    hours = [t0 + dt.timedelta(hours=i) for i in range(48)]
    # Dirty, but for one clean hour at 05:00 on the second day.
    values = [0.05 if i == 29 else 0.5 for i in range(48)]
    series = pl.DataFrame(
        {"region": "FR", "start": hours, "kgco2e_per_kwh": values},
        schema={
            "region": pl.String,
            "start": pl.Datetime("us", "UTC"),
            "kgco2e_per_kwh": pl.Float64,
        },
    )
    hourly = FACTORS.with_grid_series(series)
    jobs = pl.DataFrame(
        {
            "job_id": [1, 2, 3],
            "start": [t0 + dt.timedelta(hours=10)] * 3,
            "duration_h": [1.0, 1.0, 1.0],
            "region": ["FR", "FR", "DE"],  # DE has no series: never moved
            "cpu_cores": [64, 64, 64],
        }
    )
    cleanest = Scenario("cleanest", shift="cleanest", window_h=24)
    moved, _ = cleanest.apply(jobs, hourly)
    assert moved["start"].to_list() == [t0 + dt.timedelta(hours=29)] * 2 + [jobs["start"][2]]
    stay, _ = Scenario("no room", shift="cleanest", window_h=0).apply(jobs, hourly)
    assert stay["start"].to_list() == jobs["start"].to_list()
    short, _ = Scenario("too short", shift="cleanest", window_h=10).apply(jobs, hourly)
    assert short["start"].to_list() == jobs["start"].to_list(), "every reachable hour is dirty"
    out = quiet_sweep(jobs, [cleanest], factors=hourly, draws=50, seed=1, by="region")
    fr = out.filter((pl.col("scenario") == "cleanest") & (pl.col("region") == "FR")).row(
        0, named=True
    )
    energy = quiet(fc.estimate, jobs, hourly).filter(pl.col("region") == "FR")[
        "facility_energy_kwh"
    ]
    assert fr["operational_kgco2e_diff"] == pytest.approx(-(0.5 - 0.05) * energy.sum(), rel=1e-12)
    assert "capacity unlimited" in cleanest.describe()
    with pytest.raises(ParameterError, match="grid series"):
        cleanest.apply(jobs, FACTORS)
    with pytest.raises(ParameterError, match="give shift"):
        Scenario("x", window_h=3)


def test_a_power_cap_slows_capped_jobs_as_documented() -> None:
    jobs = pl.DataFrame(
        {
            "job_id": [1, 2, 3, 4],
            "duration_h": [10.0, 10.0, 10.0, 10.0],
            "accelerator": ["NVIDIA H100 80GB HBM3", "nvidia-t4-16gb", H100, H100],
            "accelerator_count": [8, 1, 8, 8],
            "region": ["FR"] * 4,
            "energy_kwh": [None, None, None, 50.0],  # a metered job drew what it drew
            "power_fraction": [None, None, 0.5, None],  # 350 W: under the cap
            "power_fraction_low": [0.6, None, None, None],
            "power_fraction_high": [0.9, None, None, None],
        }
    )
    tdp = FACTORS.accelerators.filter(pl.col("key") == H100)["tdp_w"][0]
    default = FACTORS.defaults.filter(pl.col("parameter") == "power_fraction")["value"][0]
    capped, _ = Scenario("cap", power_cap_w=400).apply(jobs, FACTORS)
    slowdown = (tdp * default / 400) ** (1 / 3)
    assert capped["duration_h"].to_list() == pytest.approx([10 * slowdown, 10.0, 10.0, 10.0])
    assert capped["power_fraction"].to_list() == pytest.approx([400 / tdp, None, 0.5, None])
    assert capped["energy_kwh"].to_list() == [None, None, None, 50.0]
    # The cap fixes the draw: the job's old bounds are dropped.
    assert capped["power_fraction_low"].to_list() == [None] * 4
    jobs = jobs.drop("power_fraction_low", "power_fraction_high", "energy_kwh").head(3)
    capped, _ = Scenario("cap", power_cap_w=400).apply(jobs, FACTORS)
    # A cap on other cards only, and a memory-bound job that does not slow down.
    only_t4, _ = Scenario("t4", power_cap_w={"nvidia-t4-16gb": 30}).apply(jobs, FACTORS)
    assert only_t4["duration_h"][0] == 10.0 and only_t4["duration_h"][1] > 10.0
    flat, _ = Scenario("mem", power_cap_w=400, slowdown_exponent=0.0).apply(jobs, FACTORS)
    assert flat["duration_h"].to_list() == [10.0, 10.0, 10.0]
    # The capped job draws the cap, for longer: card energy = n × cap × hours.
    est = quiet(fc.estimate, capped)
    host = FACTORS.accelerators.filter(pl.col("key") == H100)["host_power_w"][0]
    expected = 8 * (400 + host) * 10 * slowdown / 1000
    assert est["it_energy_kwh"][0] == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ParameterError, match="power_cap_w"):
        Scenario("x", power_cap_w=0)
    with pytest.raises(ParameterError, match="give power_cap_w"):
        Scenario("x", slowdown_exponent=0.5)


def test_keys_are_matched_as_the_engine_matches_them() -> None:
    jobs = MODELLED.filter(pl.col("accelerator") == A100).head(50)
    spelled = jobs.with_columns(
        accelerator=pl.lit("NVIDIA A100-SXM4-80GB"),
        region=pl.col("region").cast(pl.String).str.to_lowercase(),
    )
    by_key, _ = Scenario("h", accelerator={A100: H100}, speedup=2.0).apply(jobs, FACTORS)
    by_alias, _ = Scenario("h", accelerator={A100: H100}, speedup=2.0).apply(spelled, FACTORS)
    assert by_alias["accelerator"].to_list() == by_key["accelerator"].to_list() == [H100] * 50
    assert by_alias["duration_h"].to_list() == by_key["duration_h"].to_list()
    region = jobs["region"].cast(pl.String)[0]
    moved, _ = Scenario("m", region={region.upper(): "SE"}).apply(spelled, FACTORS)
    assert (moved.filter(spelled["region"] == region.lower())["region"] == "SE").all()


def test_a_replaced_card_drops_the_old_card_s_per_job_figures() -> None:
    jobs = (
        MODELLED.filter(pl.col("accelerator") == A100)
        .head(5)
        .with_columns(tdp_w=pl.lit(400.0), accelerator_embodied_kgco2e=pl.lit(1500.0))
    )
    replaced, _ = Scenario("h", accelerator={A100: H100}).apply(jobs, FACTORS)
    assert replaced["tdp_w"].null_count() == 5
    assert replaced["accelerator_embodied_kgco2e"].null_count() == 5


def test_a_changed_row_without_bounds_keeps_none() -> None:
    new = pl.DataFrame({"key": ["mysite"], "pue": [1.3], "facility_embodied_fraction": [0.1]})
    factors = FACTORS.with_rows(datacenters=new)
    _, changed = Scenario("p", pue=1.1).apply(FLEET, factors)
    row = changed.datacenters.filter(key="mysite").row(0, named=True)
    assert (row["pue"], row["pue_low"], row["pue_high"]) == (1.1, None, None)


def test_a_scenario_that_a_given_distribution_would_hide_is_refused() -> None:
    from fleetcarbon.uncertainty import Uniform

    with pytest.raises(ParameterError, match=r"'PUE 1\.1' changes 'pue'"):
        fc.sweep(
            FLEET, [Scenario("PUE 1.1", pue=1.1)], draws=8, distributions={"pue": Uniform(1.1, 1.5)}
        )
    # Another factor's distribution is fine, and the change shows in the draws.
    out = quiet_sweep(
        FLEET,
        [Scenario("6 y", lifetime_years=6)],
        draws=64,
        seed=2,
        distributions={"pue": Uniform(1.1, 1.5)},
    )
    assert out["embodied_kgco2e_diff_mean"][1] < 0


def test_new_rows_move_a_scenario_off_the_shared_path() -> None:
    mix = fc.mix_key({A100: 0.7, H100: 0.3})
    jobs = (
        MODELLED.filter(pl.col("accelerator").is_not_null())
        .head(300)
        .with_columns(accelerator=pl.lit(mix))
    )
    unused = FACTORS.accelerators.filter(key=H100).with_columns(
        key=pl.lit("my-new-gpu"), tdp_w=pl.lit(5000.0), tdp_w_high=pl.lit(6000.0)
    )
    out = quiet_sweep(jobs, [Scenario("add an unused row", rows={"accelerators": unused})], draws=8)
    assert out["total_kgco2e"][1] == pytest.approx(out["total_kgco2e"][0], rel=1e-12)
