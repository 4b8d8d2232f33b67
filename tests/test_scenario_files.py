"""Scenario TOML files and the sweep / sensitivity commands."""

from __future__ import annotations

import warnings

import polars as pl
import pytest

import fleetcarbon as fc
from fleetcarbon.cli import main
from fleetcarbon.errors import ParameterError
from fleetcarbon.scenario_files import read_scenarios

TOML = """
baseline = "today"

[[scenario]]
name = "today"

[[scenario]]
name = "PUE 1.1"
pue = 1.1

[[scenario]]
name = "new cooling"
pue = { generic = [1.15, 1.1, 1.25] }
lifetime_years = 6

[[scenario]]
name = "A100 to H100"
accelerator = { "nvidia-a100-sxm4-80gb" = "nvidia-h100-sxm5-80gb" }
speedup = 2.0
"""


@pytest.fixture()
def files(tmp_path):
    scenarios = tmp_path / "what-if.toml"
    scenarios.write_text(TOML, encoding="utf-8")
    jobs = tmp_path / "jobs.parquet"
    fc.synthetic_fleet(1_000, seed=3).write_parquet(jobs)
    return scenarios, jobs


def test_a_file_gives_the_same_scenarios_as_the_api(files) -> None:
    scenarios, _ = files
    plan = read_scenarios(scenarios)
    assert plan.baseline == "today"
    assert [s.name for s in plan.scenarios] == ["today", "PUE 1.1", "new cooling", "A100 to H100"]
    by_api = fc.Scenario("new cooling", pue={"generic": (1.15, 1.1, 1.25)}, lifetime_years=6)
    assert plan.scenarios[2].describe() == by_api.describe()
    factors = fc.load_factors()
    generic = plan.scenarios[2].apply(pl.DataFrame(), factors)[1].datacenters.filter(key="generic")
    assert generic.select("pue", "pue_low", "pue_high").row(0) == (1.15, 1.1, 1.25)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[scenario]]\npue = 1.1\n", "needs a name"),
        ('[[scenario]]\nname = "x"\npue_typo = 1.1\n', r"unknown key\(s\) \['pue_typo'\]"),
        ('[[scenario]]\nname = "x"\npue = [1.1, 1.0]\n', r"\[value, low, high\]"),
        ('[[scenario]]\nname = "x"\npue = "high"\n', "not a finite number|scenario 1"),
        ('title = "x"\n', "unknown top-level"),
        ("[[scenario\n", "not valid TOML"),
        ('[[scenario]]\nname = "x"\nrows = { accelerators = "missing.csv" }\n', "no file"),
    ],
)
def test_bad_files_name_the_file_the_scenario_and_the_key(tmp_path, text, message) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ParameterError, match=message) as info:
        scenarios = read_scenarios(path)
        fc.sweep(fc.synthetic_fleet(10, seed=1), scenarios.scenarios, draws=4)
    assert "bad.toml" in str(info.value) or "scenario" in str(info.value)


def test_rows_files_are_read_relative_to_the_toml(tmp_path) -> None:
    pl.DataFrame({"key": ["generic"], "pue": [1.3], "pue_low": [1.2], "pue_high": [1.4]}).write_csv(
        tmp_path / "dc.csv"
    )
    (tmp_path / "s.toml").write_text(
        '[[scenario]]\nname = "rows"\nrows = { datacenters = "dc.csv" }\n', encoding="utf-8"
    )
    plan = read_scenarios(tmp_path / "s.toml")
    _, factors = plan.scenarios[0].apply(pl.DataFrame(), fc.load_factors())
    assert factors.datacenters.filter(key="generic")["pue"][0] == 1.3


@pytest.mark.filterwarnings("ignore")
def test_the_sweep_and_sensitivity_commands(files, tmp_path, capsys) -> None:
    scenarios, jobs = files
    out = tmp_path / "sweep.csv"
    args = ["--quiet", "sweep", str(jobs), "--scenarios", str(scenarios), "--draws", "50"]
    assert main([*args, "--seed", "4", "-o", str(out)]) == 0, capsys.readouterr().err
    written = pl.read_csv(out)
    plan = read_scenarios(scenarios)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = fc.sweep(
            pl.read_parquet(jobs), plan.scenarios, baseline="today", draws=50, seed=4
        )
    assert written["total_kgco2e_diff_p95"].to_list() == pytest.approx(
        expected["total_kgco2e_diff_p95"].to_list(), rel=1e-12
    )
    assert written["scenario"][0] == "today"
    # Inputs are never overwritten.
    assert main([*args, "-o", str(jobs), "--overwrite"]) == 1
    assert "input" in capsys.readouterr().err
    indices = tmp_path / "indices.csv"
    args = ["--quiet", "sensitivity", str(jobs), "--groups", "factor", "--draws", "32"]
    assert main([*args, "--seed", "1", "-o", str(indices)]) == 0
    assert {"input", "S1", "ST", "swing"} <= set(pl.read_csv(indices).columns)


@pytest.mark.filterwarnings("ignore")
def test_report_with_scenarios(files, tmp_path, capsys) -> None:
    pytest.importorskip("matplotlib")
    scenarios, jobs = files
    folder = tmp_path / "report"
    args = ["--quiet", "report", str(jobs), "--scenarios", str(scenarios), "--draws", "20"]
    assert main([*args, "-o", str(folder)]) == 0, capsys.readouterr().err
    text = (folder / "report.md").read_text(encoding="utf-8")
    assert "## What if" in text and "A100 to H100" in text
