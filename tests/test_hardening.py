"""Regression tests of the hostile and mistaken inputs found against the engine (issue 10).

Each test names the finding it pins; each failed on the code before the fix.
"""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest

import fleetcarbon as fc
from fleetcarbon import errors
from fleetcarbon.cli import main


@pytest.fixture(scope="module")
def bundled() -> fc.Factors:
    return fc.load_factors()


@pytest.fixture(scope="module")
def jobs() -> pl.DataFrame:
    return fc.synthetic_fleet(300, seed=5)


def defaults(parameter: str, value: float, low: float, high: float) -> pl.DataFrame:
    return pl.DataFrame({"parameter": [parameter], "value": [value], "low": [low], "high": [high]})


# 1. Factor-table bounds are checked against the factor's domain, and 12. when edited.
@pytest.mark.parametrize(
    ("edit", "column"),
    [
        ({"defaults": defaults("lifetime_years", 4.0, -10.0, 6.0)}, "lifetime_years.low"),
        ({"defaults": defaults("lifetime_years", 4.0, 0.0, 6.0)}, "lifetime_years.low"),
        ({"defaults": defaults("use_rate", 1.0, 0.5, 3.0)}, "use_rate.high"),
        ({"defaults": defaults("power_fraction", 0.7, 0.5, 5.0)}, "power_fraction.high"),
        (
            {"regions": pl.DataFrame({"key": ["FR"], "grid_kgco2e_per_kwh_low": [-5.0]})},
            "regions.grid_kgco2e_per_kwh_low",
        ),
        ({"datacenters": pl.DataFrame({"key": ["generic"], "pue_low": [0.2]})}, "pue_low"),
        ({"datacenters": pl.DataFrame({"key": ["generic"], "pue_low": [1.9]})}, "pue"),
    ],
)
def test_table_bounds_are_checked_when_tables_are_edited(bundled, edit, column):
    with pytest.raises(errors.InvalidValueError, match=column.replace(".", r"\.")) as caught:
        bundled.with_rows(**edit)
    assert caught.value.n_bad == 1
    assert caught.value.examples, "the error names the row"


def test_edited_bounds_through_the_cli_are_refused(tmp_path, jobs):
    directory = tmp_path / "factors"
    assert main(["factors", "export", str(directory)]) == 0
    table = pl.read_csv(directory / "defaults.csv")
    table = table.with_columns(
        low=pl.when(pl.col("parameter") == "lifetime_years").then(-10.0).otherwise("low")
    )
    table.write_csv(directory / "defaults.csv")
    path = tmp_path / "jobs.parquet"
    jobs.write_parquet(path)
    assert (
        main(["--quiet", "simulate", str(path), "--draws", "50", "--factors", str(directory)]) == 1
    )


# 4. A duplicate row in defaults is refused (estimate used the last, simulate the first).
def test_duplicate_default_parameters_are_refused(bundled):
    doubled = pl.concat([bundled.defaults, bundled.defaults.filter(parameter="power_fraction")])
    with pytest.raises(errors.InvalidValueError, match=r"defaults\.parameter"):
        fc.Factors(
            accelerators=bundled.accelerators,
            cpus=bundled.cpus,
            regions=bundled.regions,
            datacenters=bundled.datacenters,
            defaults=doubled,
            aliases=bundled.aliases,
            sources=bundled.sources,
            version="x",
        )


# 11. Raw exceptions instead of a FleetcarbonError.
def test_large_unsigned_job_ids_simulate(jobs):
    big = jobs.with_columns(job_id=pl.col("job_id").cast(pl.UInt64) + 2**63)
    out = fc.simulate(big, draws=20, seed=1)
    assert out["jobs"].item() == jobs.height
    # Keys are the ids' bits: an id below 2**63 keys as it did as Int64.
    small = jobs.with_columns(job_id=pl.col("job_id").cast(pl.UInt64))
    assert fc.simulate(small, draws=20, seed=1).equals(fc.simulate(jobs, draws=20, seed=1))


@pytest.mark.parametrize(
    "name", ["draws", "seed", "jobs", "draw", "total_kgco2e", "factors_version"]
)
def test_group_columns_that_clash_with_outputs_are_refused(jobs, name):
    frame = jobs.with_columns(pl.lit("a").alias(name))
    with pytest.raises(errors.FleetcarbonError, match="clash"):
        fc.simulate(frame, draws=10, seed=1, by=name)


def test_tiny_rel_error_stops_at_max_draws(jobs):
    out = fc.simulate(jobs, draws=20, seed=1, rel_error=1e-300, max_draws=50)
    assert out["draws"].item() == 50
    with pytest.raises(errors.ParameterError, match="rel_error"):
        fc.simulate(jobs, draws=20, seed=1, rel_error=float("inf"))


def test_bad_table_edits_are_schema_errors(bundled, jobs):
    with pytest.raises(errors.SchemaError, match=r"datacenters\.pue"):
        bundled.with_rows(datacenters=pl.DataFrame({"key": ["generic"], "pue": ["abc"]}))
    with pytest.raises(errors.NotAFrameError):
        bundled.with_rows(datacenters={"key": ["generic"]})  # type: ignore[arg-type]
    with pytest.raises(errors.ParameterError, match="factors must be"):
        fc.estimate(jobs, factors="x")  # type: ignore[arg-type]
    with pytest.raises(errors.ParameterError, match="threads"):
        fc.estimate(jobs, threads=2**64)


def test_infinite_per_job_bounds_are_input_errors_naming_the_jobs(jobs):
    frame = jobs.with_columns(pue=pl.lit(1.2), pue_low=pl.lit(1.1), pue_high=pl.lit(float("inf")))
    with pytest.raises(errors.InvalidValueError, match="pue_low/pue_high") as caught:
        fc.simulate(frame, draws=10, seed=1)
    assert caught.value.n_bad == jobs.height
    assert not isinstance(caught.value, errors.KernelError)


# 14. Friendlier near misses.
@pytest.mark.parametrize("name", ["duraton_h", "Duration_H", "duration_hours"])
def test_misspelt_columns_are_named_in_the_error(name):
    frame = pl.DataFrame({"job_id": [1], name: [1.0], "region": ["FR"], "cpu_cores": [4]})
    with pytest.raises(errors.MissingColumnError, match=f"'{name}' looks like 'duration_h'"):
        fc.estimate(frame)


def test_misspelt_optional_columns_warn():
    frame = pl.DataFrame(
        {"job_id": [1], "duration_h": [1.0], "region": ["FR"], "memory_gb": [4.0], "cpu_core": [2]}
    )
    with pytest.warns(errors.ColumnNameWarning, match="did you mean 'cpu_cores'"):
        fc.estimate(frame)
    fine = frame.rename({"cpu_core": "cpu_cores"}).with_columns(
        pue_low=pl.lit(1.1), team=pl.lit("a"), region_id=pl.lit(3)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fc.estimate(fine)


@pytest.mark.parametrize(
    ("name", "key"),
    [("Germany", "DE"), ("France", "FR"), ("UK", "GB"), ("United States", "US"), ("germany", "DE")],
)
def test_country_names_and_common_codes_resolve(name, key):
    frame = pl.DataFrame({"job_id": [1, 2], "duration_h": [1.0, 1.0], "cpu_cores": [4, 4]})
    out = fc.estimate(frame.with_columns(region=pl.Series([name, key])))
    assert out["operational_kgco2e"][0] == out["operational_kgco2e"][1]


def test_factors_show_finds_a_country_by_name(capsys):
    assert main(["factors", "show", "Germany"]) == 0
    assert "key: DE" in capsys.readouterr().out


def test_negative_results_never_reach_outputs(jobs):
    out = fc.estimate(jobs)
    for column in ("it_energy_kwh", "operational_kgco2e", "embodied_kgco2e", "total_kgco2e"):
        assert (out[column] >= 0).all()
        assert np.isfinite(out[column].to_numpy()).all()
