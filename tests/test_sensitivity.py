"""Sobol indices and the tornado (fleetcarbon.sensitivity, docs/scenarios.md)."""

from __future__ import annotations

import warnings

import polars as pl
import pytest

import fleetcarbon as fc
from fleetcarbon.errors import DistributionError, FleetcarbonError, ParameterError
from fleetcarbon.uncertainty import Fixed, Uniform

H100 = "nvidia-h100-sxm5-80gb"
# Metered energy, one region, one datacenter, one accelerator: the total is
# a × grid + b × embodied, with a = energy × PUE and b = n × h × (1 + f) / (L × 8760 × u).
ENERGY, PUE, N, HOURS, FACILITY, LIFETIME = 8000.0, 1.2, 64.0, 2000.0, 0.1, 4.0
JOBS = pl.DataFrame(
    {
        "job_id": [1],
        "duration_h": [HOURS],
        "accelerator": [H100],
        "accelerator_count": [N],
        "energy_kwh": [ENERGY],
        "region": ["FR"],
        "datacenter": ["generic"],
    }
)
FIXED = {
    "pue": Fixed(PUE),
    "facility_embodied_fraction": Fixed(FACILITY),
    "lifetime_years": Fixed(LIFETIME),
    "use_rate": Fixed(1.0),
    ("grid_kgco2e_per_kwh", "FR"): Uniform(0.2, 0.6),
    ("accelerator_embodied_kgco2e", H100): Uniform(500.0, 1500.0),
}
A = ENERGY * PUE
B = N * HOURS * (1 + FACILITY) / (LIFETIME * 8760.0)
VAR_GRID, VAR_EMBODIED = A**2 * 0.4**2 / 12, B**2 * 1000.0**2 / 12
EXPECTED = {
    "grid_kgco2e_per_kwh[FR]": VAR_GRID / (VAR_GRID + VAR_EMBODIED),
    f"accelerator_embodied_kgco2e[{H100}]": VAR_EMBODIED / (VAR_GRID + VAR_EMBODIED),
}


def run(**options: object) -> pl.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fc.sensitivity(JOBS, distributions=FIXED, **options)  # type: ignore[arg-type]


def test_an_additive_case_gives_the_closed_form_indices() -> None:
    assert 0.3 < EXPECTED["grid_kgco2e_per_kwh[FR]"] < 0.7, "both inputs matter"
    out = run(draws=4096, seed=7)
    for label, expected in EXPECTED.items():
        row = out.filter(pl.col("input") == label).row(0, named=True)
        assert row["S1_low"] <= expected <= row["S1_high"], (label, row, expected)
        assert row["ST_low"] <= expected <= row["ST_high"], (label, row, expected)
        # Additive: no interactions, so the total index is the first-order one.
        assert row["ST"] == pytest.approx(row["S1"], abs=0.03)
    others = out.filter(~pl.col("input").is_in(list(EXPECTED)))
    # Inputs that do not reach the total (metered energy: power factors) have no index.
    assert (others["ST"].abs() < 1e-12).all(), others.select("input", "ST")


def test_the_tornado_is_exact() -> None:
    out = run(draws=64, seed=1, bootstrap=0)
    means = 0.4 * A + 1000.0 * B
    grid = out.filter(pl.col("input") == "grid_kgco2e_per_kwh[FR]").row(0, named=True)
    assert grid["at_means"] == pytest.approx(means, rel=1e-12)
    assert grid["at_p05"] == pytest.approx(0.22 * A + 1000.0 * B, rel=1e-12)
    assert grid["at_p95"] == pytest.approx(0.58 * A + 1000.0 * B, rel=1e-12)
    assert grid["swing"] == pytest.approx(0.36 * A, rel=1e-12)
    assert grid["S1_low"] is None or grid["S1_low"] != grid["S1_low"]  # no bootstrap: NaN


def test_groups_per_factor_and_per_group_rows() -> None:
    fleet = fc.synthetic_fleet(800, seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        by_factor = fc.sensitivity(fleet, draws=256, seed=3, groups="factor", bootstrap=20)
        by_team = fc.sensitivity(fleet, draws=64, seed=3, groups="factor", by="team", bootstrap=0)
    assert by_factor["row"].null_count() == by_factor.height
    assert by_factor["input"].n_unique() == by_factor.height
    assert by_factor["ST"].to_list() == sorted(by_factor["ST"].to_list(), reverse=True)
    assert 0.8 < by_factor["ST"].sum() < 1.3
    assert set(by_team["team"].unique()) == set(fleet["team"].unique())
    assert by_team.columns[0] == "team"


def test_reproducible_across_threads_and_row_order() -> None:
    fleet = fc.synthetic_fleet(600, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one = fc.sensitivity(fleet, draws=64, seed=9, threads=1, bootstrap=10)
        shuffled = fleet.sample(fraction=1.0, shuffle=True, seed=1)
        two = fc.sensitivity(shuffled, draws=64, seed=9, threads=2, bootstrap=10)
    assert one.equals(two)


def test_bad_arguments() -> None:
    with pytest.raises(ParameterError, match="metric"):
        fc.sensitivity(JOBS, metric="energy")
    with pytest.raises(ParameterError, match="groups"):
        fc.sensitivity(JOBS, groups="table")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="confidence"):
        fc.sensitivity(JOBS, confidence=1.5)
    certain = {f: Fixed(1.0) for f in ("pue",)} | {
        ("grid_kgco2e_per_kwh", "FR"): Fixed(0.1),
        ("accelerator_embodied_kgco2e", H100): Fixed(500.0),
        "facility_embodied_fraction": Fixed(0.1),
        "lifetime_years": Fixed(4.0),
        "use_rate": Fixed(1.0),
    }
    one = JOBS.with_columns(energy_kwh=pl.lit(10.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fc.sensitivity(one, distributions=certain, draws=16, bootstrap=0, seed=1)
    # Only inputs that cannot reach a metered job remain: no variance, no index (null).
    assert out["std"][0] == 0.0
    assert out["ST"].is_null().all() and out["S1"].is_null().all()
    with pytest.raises(FleetcarbonError):
        fc.sensitivity(JOBS.clear())


def test_chosen_inputs_only() -> None:
    out = run(draws=256, seed=2, bootstrap=0, inputs=["grid_kgco2e_per_kwh"])
    assert out["input"].to_list() == ["grid_kgco2e_per_kwh[FR]"]
    full = run(draws=256, seed=2, bootstrap=0)
    # The other inputs still vary: the same index as in the full run.
    same = full.filter(pl.col("input") == "grid_kgco2e_per_kwh[FR]")
    assert out["ST"][0] == same["ST"][0]
    with pytest.raises(ParameterError, match="not uncertain inputs"):
        run(draws=16, inputs=["nope"])


def test_the_tornado_holds_every_other_input_at_its_mean() -> None:
    one = run(draws=16, seed=2, bootstrap=0, inputs=["grid_kgco2e_per_kwh"])
    full = run(draws=16, seed=2, bootstrap=0).filter(pl.col("input") == "grid_kgco2e_per_kwh[FR]")
    for column in ("at_means", "at_p05", "at_p95"):
        assert one[column][0] == full[column][0]


def test_per_job_noise_is_an_input_with_its_closed_form_index() -> None:
    # Grid fixed, the metered energy's error Uniform(0.8, 1.2): total = a × ε + b × embodied.
    fixed_grid = {**FIXED, ("grid_kgco2e_per_kwh", "FR"): Fixed(0.4)}
    var_noise = (0.4 * A) ** 2 * 0.4**2 / 12
    expected = var_noise / (var_noise + VAR_EMBODIED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fc.sensitivity(
            JOBS,
            distributions=fixed_grid,
            noise={"energy_kwh": Uniform(0.8, 1.2)},
            draws=4096,
            seed=5,
        )
    row = out.filter(pl.col("input") == "noise:energy_kwh").row(0, named=True)
    assert row["S1_low"] <= expected <= row["S1_high"], (row, expected)
    assert row["ST_low"] <= expected <= row["ST_high"], (row, expected)
    assert row["swing"] is None and row["at_p05"] is None
    emb = out.filter(pl.col("input") == f"accelerator_embodied_kgco2e[{H100}]").row(0, named=True)
    assert emb["ST_low"] <= 1 - expected <= emb["ST_high"]
    # The tornado holds the noise at its mean (1): the embodied swing is exact.
    assert emb["at_means"] == pytest.approx(0.4 * A + 1000.0 * B, rel=1e-12)
    with pytest.raises(DistributionError, match="unknown per-job noise"):
        fc.sensitivity(JOBS, noise={"typo": Uniform(0.9, 1.1)}, draws=16)
