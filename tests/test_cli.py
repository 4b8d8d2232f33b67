"""The command line: demo output, errors and help."""

from __future__ import annotations

import shutil
import subprocess

import pytest

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


def test_error_is_one_line_with_nonzero_exit(capsys):
    assert main(["demo", "--jobs", "-3"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("fleetcarbon: error:")
    assert len(err.strip().splitlines()) == 1
    with pytest.raises(ValueError):
        main(["--debug", "demo", "--jobs", "-3"])


def test_help_has_examples(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--help"])
    assert exit_info.value.code == 0
    assert "examples:" in capsys.readouterr().out


@pytest.mark.skipif(shutil.which("fleetcarbon") is None, reason="console script not installed")
def test_console_script():
    done = subprocess.run(
        ["fleetcarbon", "demo", "--jobs", "1000"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "fleet total" in done.stdout


def test_demo_with_no_jobs(capsys):
    assert main(["demo", "--jobs", "0"]) == 0
    assert "fleet total: 0.0 tCO2e" in capsys.readouterr().out
