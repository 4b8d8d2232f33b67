"""Benchmark estimate() with hourly grid series against estimate() with annual values.

Usage: python benches/bench_grid_series.py [--jobs 1000000] [--python-jobs 20000] [--repeat 7]

One fleet: synthetic jobs with windows spread over 2022, in the 8 balancing
authorities whose EIA-930 hours ship with fleetcarbon. Each approach runs in its
own child process so that its peak RSS is its own: estimate with annual values,
estimate with the bundled series, the core's window integration alone, a
pure-Python loop over the intervals (fleetcarbon.reference, on fewer jobs,
scaled), and simulate's M1 (shared uncertainty only, 10,000 draws, 50 groups, as
in bench_simulate.py) with annual values and with the series.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import median_time, run_each


def fleet(n: int):
    """Synthetic jobs with a start in 2022 and a region among the bundled series'."""
    import numpy as np
    import polars as pl

    import fleetcarbon as fc
    from fleetcarbon.factors import bundled_grid_series

    regions = sorted(bundled_grid_series()["region"].unique().to_list())
    rng = np.random.default_rng(0)
    offsets = pl.Series(rng.uniform(0, 364 * 86400e6, n).astype("int64")).cast(pl.Duration("us"))
    start = (dt.datetime(2022, 1, 1) + offsets).dt.replace_time_zone("UTC")
    return fc.synthetic_fleet(n, seed=0).with_columns(
        region=pl.Series(rng.choice(regions, n)).cast(pl.Categorical),
        start=start,
        project=pl.col("job_id") % 50,
    )


def run_one(name: str, jobs_n: int, repeat: int) -> dict:
    import numpy as np
    import polars as pl
    from rss import peak_rss_mb

    import fleetcarbon as fc
    from fleetcarbon import reference, validation
    from fleetcarbon.factors import bundled_grid_series

    jobs = fleet(jobs_n)
    annual = fc.load_factors()
    hourly = annual.with_grid_series(bundled_grid_series())
    out: dict = {"name": name, "jobs": jobs_n}
    if name == "estimate, annual":
        out["seconds"] = median_time(lambda: fc.estimate(jobs, annual), repeat)
    elif name == "estimate, hourly series":
        out["seconds"] = median_time(lambda: fc.estimate(jobs, hourly), repeat)
    elif name.startswith("simulate M1"):
        factors = hourly if name.endswith("series") else annual
        run = lambda: fc.simulate(jobs, factors, draws=10_000, by="project", seed=1)  # noqa: E731
        out["seconds"] = median_time(run, min(repeat, 3))
    elif name == "window integration (core)":
        prepared = validation.prepare_jobs(jobs, hourly)
        grid = hourly.grid_series
        assert grid is not None
        rows = np.asarray(prepared.buffers["region"], dtype=np.uint32)
        series = grid.series_of_regions(hourly.regions["key"])[rows]
        start = jobs["start"].dt.epoch("us").to_numpy()
        end = start + (prepared.duration_h.to_numpy() * 3.6e9).astype(np.int64)
        annual = hourly.regions["grid_kgco2e_per_kwh"].to_numpy()[rows]
        out["seconds"] = median_time(
            lambda: grid.engine.intensities(series, start, end, annual), repeat
        )
    elif name == "pure python windows":
        grid = hourly.grid_series
        assert grid is not None
        frame = grid.frame.with_columns(
            a=pl.col("start").dt.epoch("us") / 3.6e9, b=pl.col("end").dt.epoch("us") / 3.6e9
        )
        intervals = {
            r: list(zip(g["a"], g["b"], g["kgco2e_per_kwh"], strict=True))
            for (r,), g in frame.group_by("region")
        }
        starts = (jobs["start"].dt.epoch("us") / 3.6e9).to_list()
        hours = jobs["duration_h"].to_list()
        regions = jobs["region"].cast(pl.String).to_list()

        def loop() -> None:
            for r, s, h in zip(regions, starts, hours, strict=True):
                reference.grid_intensity_over_window(intervals[r], 0.4, s, s + h)

        out["seconds"] = median_time(loop, 1)
    else:
        raise SystemExit(f"unknown approach {name}")
    out["peak_rss_mb"] = peak_rss_mb()
    return out


APPROACHES = (
    "estimate, annual",
    "estimate, hourly series",
    "window integration (core)",
    "pure python windows",
    "simulate M1, annual",
    "simulate M1, hourly series",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--python-jobs", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    if args.one:
        n = args.python_jobs if args.one.startswith("pure python") else args.jobs
        print(json.dumps(run_one(args.one, n, args.repeat)))
        return
    extra = ["--jobs", str(args.jobs), "--python-jobs", str(args.python_jobs)]
    results = run_each(__file__, APPROACHES, [*extra, "--repeat", str(args.repeat)])

    def baseline(name: str) -> dict:
        return results["simulate M1, annual" if name.startswith("simulate") else "estimate, annual"]

    print(
        f"estimate() on {args.jobs:,} jobs over 2022 in 8 regions with hourly series "
        f"(pure Python on {args.python_jobs:,}, scaled); median of {args.repeat} runs\n"
    )
    print(
        f"| approach | time for {args.jobs:,} jobs | ns/job | vs the same with annual values "
        "| peak RSS (MB) |"
    )
    print("|---|---|---|---|---|")
    for name in APPROACHES:
        r = results[name]
        per_job = r["seconds"] / r["jobs"]
        base = baseline(name)
        note = " (scaled)" if name.startswith("pure python") else ""
        print(
            f"| {name} | {per_job * args.jobs * 1e3:,.0f} ms{note} | {per_job * 1e9:,.0f} | "
            f"{per_job / (base['seconds'] / base['jobs']):,.2f}x | {r['peak_rss_mb']:,.0f} |"
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
