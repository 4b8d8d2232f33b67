"""The command line: demo, estimate, simulate, factors; errors and help."""

from __future__ import annotations

import os
import shutil
import subprocess
import warnings

import numpy as np
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
    exported = pl.read_csv(directory / "datacenters.csv")
    # A value moved outside its bounds is refused, naming the table and column...
    exported.with_columns(pue=pl.lit(1.0)).write_csv(directory / "datacenters.csv")
    assert main(["--quiet", "estimate", str(parquet_jobs), "--factors", str(directory)]) == 1
    # ...and accepted with bounds that hold it.
    one = pl.lit(1.0)
    dc = exported.with_columns(pue=one, pue_low=one, pue_high=one)
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
    for i, run in enumerate(runs):
        out = tmp_path / f"jobs{i}.parquet"  # -o never replaces a file without --overwrite
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


# --- outputs: interrupts, inputs, existing files ---------------------------------------------


def leftovers(folder):
    """Entries of ``folder`` left by an incomplete write (partial files or folders)."""
    marks = (".fleetcarbon-partial-", ".fleetcarbon-old-")
    return sorted(p.name for p in folder.iterdir() if any(m in p.name for m in marks))


def interrupting_writer(real):
    """A frame writer that writes part of the file, then is interrupted (as by Ctrl-C)."""

    def write(frame, file, *args, **kwargs):
        real(frame.head(frame.height // 2), file, *args, **kwargs)
        raise KeyboardInterrupt

    return write


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_interrupted_write_leaves_no_output_and_exits_130(
    tmp_path, parquet_jobs, capsys, monkeypatch, suffix
):
    writer = "write_csv" if suffix == ".csv" else "write_parquet"
    monkeypatch.setattr(pl.DataFrame, writer, interrupting_writer(getattr(pl.DataFrame, writer)))
    out = tmp_path / f"est{suffix}"
    assert main(["--quiet", "estimate", str(parquet_jobs), "-o", str(out)]) == 130
    assert capsys.readouterr().err.strip().splitlines() == ["fleetcarbon: interrupted"]
    assert not out.exists()
    assert leftovers(tmp_path) == []


def test_interrupted_overwrite_keeps_the_previous_output(
    tmp_path, parquet_jobs, capsys, monkeypatch
):
    out = tmp_path / "est.csv"
    out.write_text("previous\n", encoding="utf-8")
    monkeypatch.setattr(pl.DataFrame, "write_csv", interrupting_writer(pl.DataFrame.write_csv))
    args = ["--quiet", "simulate", str(parquet_jobs), "--draws", "20", "--seed", "1"]
    assert main([*args, "-o", str(out), "--overwrite"]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "previous\n"
    assert leftovers(tmp_path) == []


def test_interrupt_in_the_core_exits_130(parquet_jobs, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(fc, "estimate", interrupted)
    assert main(["--quiet", "estimate", str(parquet_jobs)]) == 130
    assert capsys.readouterr().err == "fleetcarbon: interrupted\n"


@pytest.fixture(scope="module")
def big_jobs(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "big.parquet"
    fc.synthetic_fleet(3_000_000, seed=2).write_parquet(path)
    return path


@pytest.mark.parametrize(("cue", "suffix"), [("estimating", ".parquet"), ("estimated", ".csv")])
def test_sigint_to_a_running_cli(tmp_path, big_jobs, cue, suffix):
    """A real Ctrl-C: in the core ("estimating"), or while writing (just after "estimated")."""
    import signal
    import sys
    import time

    out = tmp_path / f"out{suffix}"
    process = subprocess.Popen(
        [sys.executable, "-m", "fleetcarbon.cli", "estimate", str(big_jobs), "-o", str(out)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        seen = []
        for line in process.stderr:
            seen.append(line)
            if line.startswith(cue):
                break
        else:
            pytest.fail(f"the CLI ended before printing {cue!r}: {''.join(seen)}")
        time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        sent = time.perf_counter()
        rest = process.stderr.read()
        code = process.wait(timeout=60)
        delay = time.perf_counter() - sent
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    print(f"SIGINT at {cue!r}: exit {code} {delay:.2f} s after the signal")
    assert code == 130, "".join(seen) + rest
    lines = rest.strip().splitlines()
    assert "fleetcarbon: interrupted" in lines, rest
    # Polars turns Ctrl-C into a panic in its own worker threads (pola-rs/polars#20961);
    # such a thread can print its panic report after ours. Nothing else may follow.
    after = lines[len(lines) - 1 - lines[::-1].index("fleetcarbon: interrupted") + 1 :]
    assert not after or after[0].startswith("thread '") or after[-1].startswith("note:"), rest
    assert all("fleetcarbon" not in line for line in after), rest
    assert "Traceback" not in rest
    # writing 3M rows of CSV takes seconds: the signal lands before the output is complete
    assert not out.exists()
    assert leftovers(tmp_path) == []
    assert delay < 3  # not the seconds the rest of the write would take


def test_estimate_refuses_to_write_onto_its_input(tmp_path, capsys):
    sacct = tmp_path / "s.csv"
    sacct.write_text(
        "JobID|Start|End|ElapsedRaw|NCPUS|AllocTRES\n"
        "1|2025-01-01T00:00:00|2025-01-01T01:00:00|3600|4|cpu=4\n"
        "2|2025-01-02T00:00:00|2025-01-02T02:00:00|7200|8|cpu=8,gres/gpu=1\n",
        encoding="utf-8",
    )
    config = tmp_path / "c.toml"
    config.write_text(
        'region = "US"\ntimezone = "America/New_York"\naccelerator = "nvidia-v100-pcie-32gb"\n',
        encoding="utf-8",
    )
    raw, toml = sacct.read_bytes(), config.read_bytes()
    base = ["estimate", str(sacct), "--format", "sacct", "--cluster", str(config)]
    assert main([*base, "-o", str(tmp_path / "ok.csv")]) == 0  # the inputs are fine
    capsys.readouterr()
    (tmp_path / "link.csv").symlink_to(sacct)
    os.link(sacct, tmp_path / "hard.csv")
    for target in ("s.csv", "./s.csv", "link.csv", "hard.csv"):
        for extra in ([], ["--overwrite"]):
            assert main([*base, "-o", str(tmp_path / target), *extra]) == 1, target
            err = capsys.readouterr().err
            assert err.startswith("fleetcarbon: error:") and len(err.strip().splitlines()) == 1
            assert "input" in err, err
    assert sacct.read_bytes() == raw and config.read_bytes() == toml
    config_csv = tmp_path / "c.csv"  # a cluster config is an input too, whatever its name
    config_csv.write_bytes(toml)
    args = ["estimate", str(sacct), "--format", "sacct", "--cluster", str(config_csv)]
    assert main([*args, "-o", str(config_csv), "--overwrite"]) == 1
    assert "input" in capsys.readouterr().err
    assert config_csv.read_bytes() == toml


def test_refuses_to_write_onto_globbed_inputs_and_factor_files(tmp_path, capsys):
    logs = tmp_path / "logs"
    logs.mkdir()
    jobs = fc.synthetic_fleet(200, seed=1)
    jobs.head(100).write_csv(logs / "a.csv")
    jobs.tail(100).write_csv(logs / "b.csv")
    before = (logs / "b.csv").read_bytes()
    pattern = str(logs / "*.csv")
    assert main(["estimate", pattern, "-o", str(logs / "b.csv"), "--overwrite"]) == 1
    assert "input" in capsys.readouterr().err
    assert (logs / "b.csv").read_bytes() == before
    directory = tmp_path / "factors"
    assert main(["factors", "export", str(directory)]) == 0
    table = directory / "regions.csv"
    kept = table.read_bytes()
    args = ["simulate", pattern, "--draws", "10", "--factors", str(directory)]
    assert main([*args, "-o", str(table), "--overwrite"]) == 1
    assert "input" in capsys.readouterr().err
    assert table.read_bytes() == kept


def test_existing_output_is_replaced_only_with_overwrite(tmp_path, parquet_jobs, capsys):
    out = tmp_path / "est.csv"
    out.write_text("keep me\n", encoding="utf-8")
    args = ["--quiet", "estimate", str(parquet_jobs), "-o", str(out)]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith("fleetcarbon: error:") and "--overwrite" in err
    assert len(err.strip().splitlines()) == 1
    assert out.read_text(encoding="utf-8") == "keep me\n"
    assert main([*args, "--overwrite"]) == 0
    assert pl.read_csv(out).height == 2000
    assert leftovers(tmp_path) == []


def test_existing_output_is_refused_before_any_work(tmp_path, parquet_jobs, capsys, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("estimated although the output would be refused")

    monkeypatch.setattr(fc, "estimate", never)
    monkeypatch.setattr(fc, "simulate", never)
    out = tmp_path / "est.parquet"
    out.write_bytes(b"x")
    assert main(["estimate", str(parquet_jobs), "-o", str(out)]) == 1
    assert main(["simulate", str(parquet_jobs), "-o", str(out)]) == 1
    assert main(["estimate", str(parquet_jobs), "-o", str(tmp_path / "no" / "x.csv")]) == 1
    assert main(["estimate", str(parquet_jobs), "-o", str(tmp_path)]) != 0
    capsys.readouterr()


def test_factors_export_replaces_files_only_with_overwrite(tmp_path, capsys):
    directory = tmp_path / "factors"
    directory.mkdir()
    edited = directory / "regions.csv"
    edited.write_text("key\nmine\n", encoding="utf-8")
    (directory / "notes.txt").write_text("mine\n", encoding="utf-8")
    assert main(["factors", "export", str(directory)]) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert edited.read_text(encoding="utf-8") == "key\nmine\n"
    assert sorted(p.name for p in directory.iterdir()) == ["notes.txt", "regions.csv"]
    assert main(["factors", "export", str(directory), "--overwrite"]) == 0
    assert pl.read_csv(edited).height > 1
    assert (directory / "notes.txt").read_text(encoding="utf-8") == "mine\n"
    assert leftovers(directory) == [] and leftovers(tmp_path) == []


def test_interrupted_factors_export_writes_no_table(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(pl.DataFrame, "write_csv", interrupting_writer(pl.DataFrame.write_csv))
    directory = tmp_path / "factors"
    assert main(["factors", "export", str(directory)]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# --- report folders ----------------------------------------------------------------------------


def report_files(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


@pytest.fixture
def no_matplotlib(monkeypatch):
    """Hide matplotlib: every ``import matplotlib...`` raises ImportError."""
    import sys

    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)


def test_report_refuses_a_folder_it_did_not_write(tmp_path, parquet_jobs, capsys):
    pytest.importorskip("matplotlib")
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine\n", encoding="utf-8")
    (folder / "summary.csv").write_text("mine\n", encoding="utf-8")
    for extra in ([], ["--overwrite"]):
        args = ["--quiet", "report", str(parquet_jobs), "--draws", "0", "-o", str(folder)]
        assert main([*args, *extra]) == 1
        err = capsys.readouterr().err
        assert err.startswith("fleetcarbon: error:") and len(err.strip().splitlines()) == 1
    assert report_files(folder) == {"notes.txt": b"mine\n", "summary.csv": b"mine\n"}
    assert leftovers(tmp_path) == []


def test_report_replaces_its_own_previous_report_only_with_overwrite(
    tmp_path, parquet_jobs, capsys
):
    pytest.importorskip("matplotlib")
    folder = tmp_path / "report"
    args = ["--quiet", "report", str(parquet_jobs), "--by", "team", "-o", str(folder)]
    assert main([*args, "--draws", "50", "--seed", "1"]) == 0
    first = report_files(folder)
    assert {"simulation.csv", "distribution.png", ".fleetcarbon-report"} <= set(first)
    (folder / "notes.txt").write_text("mine\n", encoding="utf-8")
    assert main([*args, "--draws", "0"]) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert report_files(folder) == {**first, "notes.txt": b"mine\n"}
    assert main([*args, "--draws", "0", "--overwrite"]) == 0
    second = report_files(folder)
    # the previous run's simulation and its figure are gone; the user's file stays
    assert "simulation.csv" not in second and "distribution.png" not in second
    assert second["notes.txt"] == b"mine\n"
    assert {"report.md", "summary.csv", "breakdown.png"} <= set(second)
    assert leftovers(tmp_path) == [] and leftovers(folder) == []


def test_interrupted_report_keeps_the_previous_one(tmp_path, parquet_jobs, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    from fleetcarbon import plots

    folder = tmp_path / "report"
    args = ["--quiet", "report", str(parquet_jobs), "--draws", "50", "--seed", "1"]
    assert main([*args, "-o", str(folder)]) == 0
    first = report_files(folder)
    real_save = plots.save
    calls = []

    def save(fig, path, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_save(fig, path, **kwargs)

    monkeypatch.setattr(plots, "save", save)
    assert main([*args, "--by", "team", "-o", str(folder), "--overwrite"]) == 130
    assert capsys.readouterr().err == "fleetcarbon: interrupted\n"
    assert report_files(folder) == first
    assert leftovers(tmp_path) == []
    calls.clear()
    fresh = tmp_path / "fresh"
    assert main([*args, "-o", str(fresh)]) == 130
    assert not fresh.exists()
    assert leftovers(tmp_path) == []


def test_report_without_matplotlib_fails_in_one_line_before_writing(
    tmp_path, parquet_jobs, capsys, no_matplotlib
):
    folder = tmp_path / "report"
    assert main(["report", str(parquet_jobs), "--draws", "10", "-o", str(folder)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "pip install 'fleetcarbon[plot]'" in err and "--no-figures" in err
    assert not folder.exists()


def test_report_no_figures_needs_no_matplotlib(tmp_path, parquet_jobs, capsys, no_matplotlib):
    folder = tmp_path / "report"
    args = ["--quiet", "report", str(parquet_jobs), "--by", "team", "--draws", "20"]
    assert main([*args, "--no-figures", "-o", str(folder)]) == 0, capsys.readouterr().err
    assert set(report_files(folder)) == {
        "report.md",
        "summary.csv",
        "simulation.csv",
        ".fleetcarbon-report",
    }
    text = (folder / "report.md").read_text(encoding="utf-8")
    assert ".png" not in text and "tCO2e" in text


def test_grid_series_on_estimate_and_simulate(tmp_path, capsys):
    import datetime as dt

    from fleetcarbon.factors import bundled_grid_series

    jobs = pl.DataFrame(
        {
            "job_id": [1, 2],
            "start": [dt.datetime(2022, 6, 1, 19), dt.datetime(2022, 6, 2, 4)],
            "duration_h": [4.0, 4.0],
            "region": ["US-BA-CISO", "US-BA-CISO"],
            "accelerator": ["nvidia-h100-sxm5-80gb"] * 2,
            "accelerator_count": [8, 8],
        }
    )
    path = tmp_path / "jobs.parquet"
    jobs.write_parquet(path)
    series = tmp_path / "ciso.csv"
    bundled_grid_series().filter(pl.col("region") == "US-BA-CISO").select(
        "region", "start", "end", "kgco2e_per_kwh", "basis"
    ).write_csv(series)
    expected = fc.estimate(jobs, fc.load_factors().with_grid_series(bundled_grid_series()))
    for source in ("bundled", str(series)):
        out = tmp_path / f"est-{len(source)}.parquet"
        args = ["--quiet", "estimate", str(path), "--grid-series", source, "-o", str(out)]
        assert main(args) == 0
        est = pl.read_parquet(out)
        assert est["grid_basis"].to_list() == ["series", "series"]
        np.testing.assert_allclose(est["total_kgco2e"], expected["total_kgco2e"], rtol=1e-12)
    args = ["simulate", str(path), "--grid-series", "bundled", "--draws", "200", "--seed", "2"]
    assert main(args) == 0
    assert "total_kgco2e_p95" in capsys.readouterr().out
    # A series file is an input: -o onto it is refused.
    args = ["estimate", str(path), "--grid-series", str(series), "-o", str(series), "--overwrite"]
    assert main(args) == 1
    assert "input" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore::fleetcarbon.errors.HardwareDateWarning")
def test_grid_year_on_estimate_and_simulate(tmp_path, capsys):
    import datetime as dt

    jobs = pl.DataFrame(
        {
            "job_id": [1, 2],
            "start": [dt.datetime(2005, 6, 1), dt.datetime(2015, 6, 1)],
            "duration_h": [4.0, 4.0],
            "region": ["AT", "AT"],
            "cpu": ["amd-epyc-7763"] * 2,
            "cpu_cores": [64, 64],
        }
    )
    path = tmp_path / "jobs.parquet"
    jobs.write_parquet(path)
    for grid_year in ("job", "latest"):
        out = tmp_path / f"{grid_year}.parquet"
        args = ["--quiet", "estimate", str(path), "--grid-year", grid_year, "-o", str(out)]
        assert main(args) == 0, capsys.readouterr().err
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = fc.estimate(jobs, grid_year=grid_year)
        assert pl.read_parquet(out)["total_kgco2e"].to_list() == expected["total_kgco2e"].to_list()
    assert pl.read_parquet(tmp_path / "job.parquet")["grid_year"].to_list() == [2005, 2015]
    summary = tmp_path / "sim.csv"
    args = ["--quiet", "simulate", str(path), "--grid-year", "latest", "--draws", "50"]
    assert main([*args, "-o", str(summary)]) == 0
    assert pl.read_csv(summary)["operational_kgco2e"][0] == pytest.approx(
        pl.read_parquet(tmp_path / "latest.parquet")["operational_kgco2e"].sum(), rel=1e-9
    )
    assert main(["estimate", str(path), "--grid-year", "2020"]) == 2
