"""The command line: demo, estimate, simulate, factors; errors and help."""

from __future__ import annotations

import shutil
import subprocess

import polars as pl
import pytest

import fleetcarbon as fc
from fleetcarbon.cli import main


def test_demo_prints_summary_per_team_and_phase(capsys):
    assert main(["demo", "--jobs", "5000", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "5,000 synthetic jobs" in out
    for word in (
        "team",
        "phase",
        "training",
        "inference",
        "experimentation",
        "fleet total",
        "tCO2e",
    ):
        assert word in out


def test_demo_with_no_jobs(capsys):
    assert main(["demo", "--jobs", "0"]) == 0
    assert "fleet total: 0.0 tCO2e" in capsys.readouterr().out


def test_error_is_one_line_with_nonzero_exit(capsys):
    assert main(["demo", "--jobs", "-3"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("fleetcarbon: error:")
    assert len(err.strip().splitlines()) == 1
    with pytest.raises(ValueError):
        main(["--debug", "demo", "--jobs", "-3"])


@pytest.mark.parametrize("command", [[], ["demo"], ["estimate"], ["simulate"], ["factors"]])
def test_help_has_examples(capsys, command):
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "\\b" not in out
    # Examples keep their own lines (click's no-rewrap marker must be a real \b).
    lines = [line.strip() for line in out.splitlines()]
    assert "Examples:" in lines
    examples = [line for line in lines if line.startswith("fleetcarbon ")]
    assert examples, out


@pytest.fixture
def parquet_jobs(tmp_path):
    path = tmp_path / "jobs.parquet"
    fc.synthetic_fleet(2000, seed=5).write_parquet(path)
    return path


def test_estimate_and_simulate_from_parquet(tmp_path, parquet_jobs, capsys):
    out = tmp_path / "est.parquet"
    assert main(["--quiet", "estimate", str(parquet_jobs), "--by", "team", "-o", str(out)]) == 0
    est = pl.read_parquet(out)
    assert est.height == 2000
    assert "total_kgco2e" in est.columns
    assert "team" in capsys.readouterr().out
    summary = tmp_path / "sum.csv"
    args = ["simulate", str(parquet_jobs), "--draws", "200", "--by", "phase", "--seed", "3"]
    assert main([*args, "-o", str(summary)]) == 0
    assert pl.read_csv(summary)["seed"].to_list() == [3, 3, 3]


def test_estimate_with_user_factors(tmp_path, parquet_jobs):
    directory = tmp_path / "factors"
    assert main(["factors", "export", str(directory)]) == 0
    dc = pl.read_csv(directory / "datacenters.csv").with_columns(pue=pl.lit(1.0))
    dc.write_csv(directory / "datacenters.csv")
    out = tmp_path / "est.parquet"
    assert (
        main(
            ["--quiet", "estimate", str(parquet_jobs), "--factors", str(directory), "-o", str(out)]
        )
        == 0
    )
    est = pl.read_parquet(out)
    assert (est["facility_energy_kwh"] == est["it_energy_kwh"]).all()
    assert est["factors_version"].cast(pl.String).unique().to_list() == [
        fc.load_factors().version + "+user"
    ]


def test_factors_list_and_show(capsys):
    assert main(["factors", "list"]) == 0
    assert "accelerators" in capsys.readouterr().out
    assert main(["factors", "show", "NVIDIA A100-SXM4-80GB"]) == 0
    assert "tdp_w: 400.0" in capsys.readouterr().out
    assert main(["factors", "show", "no-such-gpu"]) == 1


def test_bad_output_suffix_is_a_usage_error(tmp_path, parquet_jobs, capsys):
    assert main(["estimate", str(parquet_jobs), "-o", str(tmp_path / "x.txt")]) != 0


@pytest.mark.skipif(shutil.which("fleetcarbon") is None, reason="console script not installed")
def test_console_script():
    done = subprocess.run(
        ["fleetcarbon", "demo", "--jobs", "1000"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "fleet total" in done.stdout


def test_estimate_a_real_sacct_sample_from_the_cli(tmp_path, capsys):
    from conftest import require_shared
    from test_sacct import XDMOD_FIELDS

    sacct = require_shared("fixtures", "sacct")
    config = tmp_path / "cluster.toml"
    config.write_text(
        'region = "US"\ntimezone = "America/New_York"\naccelerator = "nvidia-v100-pcie-32gb"\n',
        encoding="utf-8",
    )
    runs = [
        [str(sacct / "ga4hpc" / "example_sacctOutput_raw.txt")],
        [str(sacct / "xdmod" / "input" / "accounting-logs.log"), "--fields", XDMOD_FIELDS],
    ]
    for run in runs:
        out = tmp_path / "jobs.parquet"
        args = ["--quiet", "estimate", *run, "--cluster", str(config), "-o", str(out)]
        code = main([*args, "--by", "state"])
        assert code == 0, capsys.readouterr().err
        est = pl.read_parquet(out)
        assert est.height > 0
        assert est["total_kgco2e"].is_finite().all()
        assert "state" in capsys.readouterr().out


def test_progress_bars_change_nothing(tmp_path, capsys):
    path = tmp_path / "jobs.parquet"
    fc.synthetic_fleet(300_000, seed=8).write_parquet(path)
    quiet, shown = tmp_path / "quiet.parquet", tmp_path / "shown.parquet"
    assert main(["--quiet", "estimate", str(path), "-o", str(quiet)]) == 0
    capsys.readouterr()
    assert main(["estimate", str(path), "-o", str(shown)]) == 0
    assert pl.read_parquet(shown).equals(pl.read_parquet(quiet))
    assert main(["simulate", str(path), "--draws", "300", "--seed", "1"]) == 0
    assert "simulating" in capsys.readouterr().err


def test_duplicate_job_ids_are_an_error(tmp_path):
    jobs = fc.synthetic_fleet(1000, seed=8)
    path = tmp_path / "jobs.parquet"
    pl.concat([jobs, jobs.head(1)]).write_parquet(path)
    assert main(["--quiet", "estimate", str(path)]) == 1


def test_real_sacct_sample_through_estimate_then_report(tmp_path, capsys):
    """Acceptance: from the CLI, a real sacct sample goes through estimate, then report."""
    pytest.importorskip("matplotlib")
    from conftest import require_shared

    sample = require_shared("fixtures", "sacct", "ga4hpc", "example_sacctOutput_raw.txt")
    config = tmp_path / "cluster.toml"
    config.write_text(
        'region = "GB"\ntimezone = "Europe/London"\naccelerator = "nvidia-v100-sxm2-32gb"\n',
        encoding="utf-8",
    )
    estimates = tmp_path / "jobs.parquet"
    args = ["--quiet", "estimate", str(sample), "--cluster", str(config), "-o", str(estimates)]
    assert main(args) == 0, capsys.readouterr().err
    out_dir = tmp_path / "report"
    report_args = ["--quiet", "report", str(estimates), "--by", "state", "--draws", "300"]
    assert main([*report_args, "--seed", "1", "-o", str(out_dir)]) == 0, capsys.readouterr().err
    written = {p.name for p in out_dir.iterdir()}
    assert {
        "report.md",
        "summary.csv",
        "simulation.csv",
        "breakdown.png",
        "distribution.png",
    } <= written
    text = (out_dir / "report.md").read_text(encoding="utf-8")
    assert fc.load_factors().version in text
    assert "tCO2e" in text
    html_dir = tmp_path / "html"
    assert main([*report_args, "--html", "-o", str(html_dir)]) == 0
    assert (html_dir / "report.html").exists()
