"""Benchmark estimate() on a synthetic fleet against the baselines, in one run.

Usage: python benches/bench_estimate.py [--jobs 1000000] [--python-jobs 50000] [--repeat 7]

Each approach runs in its own child process so that its peak RSS is its own.
Prints a table of median wall time, per-job time, speed ratio against the
engine, and peak RSS; also the Rust kernel alone against a memory-bandwidth
bound (bytes in + out at 10 GB/s, and a measured numpy streaming pass).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import median_time, run_each

BANDWIDTH_BYTES_PER_S = 10e9


def _peak_rss_mb() -> float:
    from rss import peak_rss_mb

    return peak_rss_mb()


def run_one(name: str, jobs_n: int, repeat: int) -> dict:
    import baselines
    import polars as pl

    import fleetcarbon as fc
    from fleetcarbon import _core, reference, validation

    jobs = fc.synthetic_fleet(jobs_n, seed=0)
    factors = fc.load_factors()
    base_rss = _peak_rss_mb()
    out: dict = {"name": name, "jobs": jobs_n}
    if name == "fleet only":
        out["seconds"] = 0.0
    elif name == "fleetcarbon.estimate":
        out["seconds"] = median_time(lambda: fc.estimate(jobs, factors), repeat)
    elif name == "estimate, String keys":
        strings = jobs.with_columns(pl.col(pl.Categorical).cast(pl.String))
        out["seconds"] = median_time(lambda: fc.estimate(strings, factors), repeat)
    elif name == "estimate, 1 thread":
        out["seconds"] = median_time(lambda: fc.estimate(jobs, factors, threads=1), repeat)
    elif name == "polars expressions":
        out["seconds"] = median_time(lambda: baselines.estimate_polars(jobs, factors), repeat)
    elif name == "numpy":
        out["seconds"] = median_time(lambda: baselines.estimate_numpy(jobs, factors), repeat)
    elif name == "pure python":
        out["seconds"] = median_time(lambda: reference.estimate_python(jobs, factors), 1)
    elif name == "rust kernel":
        prepared = validation.prepare_jobs(jobs, factors)
        handle, tables = prepared.jobs, factors.engine
        out["seconds"] = median_time(lambda: _core.estimate(handle, tables), repeat)
        arrays = [v for v in prepared.buffers.values() if isinstance(v, np.ndarray)]
        bytes_in = sum(a.nbytes for a in arrays)
        bytes_out = jobs_n * (8 * 8 + 1)
        out["bytes"] = bytes_in + bytes_out
        src = np.ones(jobs_n * 8, dtype=np.float64)
        out["stream_seconds"] = median_time(lambda: np.multiply(src, 2.0), repeat)
        out["stream_bytes"] = 2 * src.nbytes
    else:
        raise SystemExit(f"unknown approach {name}")
    out["peak_rss_mb"] = _peak_rss_mb()
    out["fleet_rss_mb"] = base_rss
    return out


APPROACHES = (
    "fleetcarbon.estimate",
    "estimate, String keys",
    "estimate, 1 thread",
    "rust kernel",
    "polars expressions",
    "numpy",
    "pure python",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--python-jobs", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    if args.one:
        n = args.python_jobs if args.one == "pure python" else args.jobs
        print(json.dumps(run_one(args.one, n, args.repeat)))
        return

    extra = ["--jobs", str(args.jobs), "--python-jobs", str(args.python_jobs)]
    results = run_each(__file__, APPROACHES, [*extra, "--repeat", str(args.repeat)])

    engine = results["fleetcarbon.estimate"]
    per_job_engine = engine["seconds"] / engine["jobs"]
    print(
        f"estimate() on {args.jobs:,} synthetic jobs "
        f"(pure Python on {args.python_jobs:,}, scaled per job);"
    )
    print(f"median of {args.repeat} runs after a warm-up; each approach in its own process\n")
    print(
        f"| approach | time for {args.jobs:,} jobs | ns/job | engine is faster by | peak RSS (MB) |"
    )
    print("|---|---|---|---|---|")
    for name in APPROACHES:
        r = results[name]
        per_job = r["seconds"] / r["jobs"]
        scaled = per_job * args.jobs
        note = " (scaled)" if name == "pure python" else ""
        print(
            f"| {name} | {scaled * 1e3:,.0f} ms{note} | {per_job * 1e9:,.0f} | "
            f"{per_job / per_job_engine:,.1f}x | {r['peak_rss_mb']:,.0f} |"
        )
    k = results["rust kernel"]
    bound = k["bytes"] / BANDWIDTH_BYTES_PER_S
    stream_rate = k["stream_bytes"] / k["stream_seconds"]
    print(
        f"\nRust kernel alone: {k['seconds'] * 1e3:.1f} ms for {k['bytes'] / 1e6:.0f} MB in+out "
        f"= {k['bytes'] / k['seconds'] / 1e9:.2f} GB/s; "
        f"{k['seconds'] / bound:.2f}x the 10 GB/s bound "
        f"({bound * 1e3:.1f} ms); numpy streaming pass here: {stream_rate / 1e9:.2f} GB/s"
    )
    print(f"process RSS with the fleet loaded, before estimating: {engine['fleet_rss_mb']:,.0f} MB")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
