"""Benchmark the CLI against the same work done from Python, as whole processes.

Usage: python benches/bench_cli.py [--jobs 1000000] [--draws 2000] [--repeat 3]

Writes a synthetic fleet to a temporary Parquet file, then times, each as its
own process (median of ``--repeat`` after a warm-up):

- ``fleetcarbon simulate`` (with its progress bar, and with ``--quiet``)
  against a Python process that reads the file and calls ``fc.simulate``;
- ``fleetcarbon report`` against a Python process that estimates, simulates
  and writes the same report.

The CLI should cost at most 1.2x the Python call: its progress bar comes from
the core's own counts, and no work is split or redone to report it.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY_SIMULATE = """
import sys, polars as pl, fleetcarbon as fc
jobs = pl.read_parquet(sys.argv[1])
fc.simulate(jobs, draws=int(sys.argv[2]), by=["team", "phase"], seed=1).write_parquet(sys.argv[3])
"""

PY_REPORT = """
import sys, polars as pl, fleetcarbon as fc
from fleetcarbon.report import write_report
jobs = pl.read_parquet(sys.argv[1])
est = fc.estimate(jobs)
r = fc.simulate_detailed(jobs, draws=int(sys.argv[2]), by=["team"], seed=1, return_draws=True)
write_report(est, sys.argv[3], by=["team"], simulation=r.summary, draws=r.draws, overwrite=True)
"""


def timed(cmd: list[str], repeat: int) -> float:
    """Median wall time of ``cmd`` as a whole process, after one warm-up run."""
    subprocess.run(cmd, check=True, capture_output=True)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--draws", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import fleetcarbon as fc

    with tempfile.TemporaryDirectory() as tmp:
        fleet = Path(tmp) / "fleet.parquet"
        fc.synthetic_fleet(args.jobs, seed=0).write_parquet(fleet)
        out = str(Path(tmp) / "out.parquet")
        draws = str(args.draws)
        # `python -m` rather than the `fleetcarbon` script: an installer's shim (pyenv
        # here) adds start-up time that is not the CLI's.
        cli = [sys.executable, "-m", "fleetcarbon.cli"]
        simulate = [
            "simulate",
            str(fleet),
            "--draws",
            draws,
            "--by",
            "team,phase",
            "--seed",
            "1",
            "--overwrite",
        ]
        rows = {
            "fleetcarbon simulate (progress bar)": [*cli, *simulate, "-o", out],
            "fleetcarbon --quiet simulate": [*cli, "--quiet", *simulate, "-o", out],
            "python: fc.simulate": [sys.executable, "-c", PY_SIMULATE, str(fleet), draws, out],
            "fleetcarbon report": [
                *cli,
                "--quiet",
                "report",
                str(fleet),
                "--by",
                "team",
                "--draws",
                draws,
                "--seed",
                "1",
                "--overwrite",
                "-o",
                str(Path(tmp) / "report-cli"),
            ],
            "python: estimate + simulate + write_report": [
                sys.executable,
                "-c",
                PY_REPORT,
                str(fleet),
                draws,
                str(Path(tmp) / "report-py"),
            ],
        }
        seconds = {name: timed(cmd, args.repeat) for name, cmd in rows.items()}
    base_sim = seconds["python: fc.simulate"]
    base_report = seconds["python: estimate + simulate + write_report"]
    print(f"{args.jobs:,} jobs, {args.draws:,} draws; whole processes, median of {args.repeat}\n")
    print("| command | wall time | against the same Python call |")
    print("|---|---|---|")
    for name, s in seconds.items():
        base = base_report if "report" in name else base_sim
        print(f"| {name} | {s:.2f} s | {s / base:.2f}x |")


if __name__ == "__main__":
    main()
