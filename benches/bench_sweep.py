"""Benchmark fc.sweep and fc.sensitivity against separate simulate calls.

Usage: python benches/bench_sweep.py [--jobs 1000000] [--draws 1000] [--repeat 3]

One fleet: synthetic jobs (shared uncertainty only, no per-job noise). Each
approach runs in its own child process so that its peak RSS is its own:
- one simulate call (the unit of the issue's target);
- fc.sweep of 10 factor scenarios (5 PUEs, 5 lifetimes) against the baseline:
  11 scenarios sharing one reduction of the jobs, common random numbers;
- the same 10 scenarios plus the baseline as 11 separate simulate calls;
- fc.sensitivity over 10 factor groups with N = 1,024 base samples (12 runs);
- the width of one scenario's difference interval (p05-p95) under common
  random numbers and from two independent runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import median_time, run_each

SENSITIVITY_FACTORS = [
    "power_fraction",
    "pue",
    "grid_kgco2e_per_kwh",
    "host_power_w",
    "lifetime_years",
    "accelerator_embodied_kgco2e",
    "facility_embodied_fraction",
    "use_rate",
    "core_power_w",
    "tdp_w",
]


def scenarios():
    import fleetcarbon as fc

    pue = [fc.Scenario(f"PUE {1.05 + 0.05 * i:.2f}", pue=1.05 + 0.05 * i) for i in range(5)]
    life = [fc.Scenario(f"lifetime {3 + i} y", lifetime_years=3 + i) for i in range(5)]
    return pue + life


def run_one(name: str, jobs_n: int, draws: int, repeat: int) -> dict:
    import warnings

    import numpy as np
    from rss import peak_rss_mb

    import fleetcarbon as fc

    warnings.simplefilter("ignore")
    jobs = fc.synthetic_fleet(jobs_n, seed=0)
    factors = fc.load_factors()
    out: dict = {"name": name, "jobs": jobs_n, "draws": draws}
    if name == "simulate, one call":
        out["seconds"] = median_time(
            lambda: fc.simulate(jobs, factors, draws=draws, seed=1), repeat
        )
    elif name == "sweep, 10 factor scenarios":
        out["seconds"] = median_time(
            lambda: fc.sweep(jobs, scenarios(), factors, draws=draws, seed=1), repeat
        )
    elif name == "11 separate simulate calls":
        changed = [s.apply(jobs, factors)[1] for s in scenarios()]

        def separate() -> None:
            for f in [factors, *changed]:
                fc.simulate(jobs, f, draws=draws, seed=1)

        out["seconds"] = median_time(separate, repeat)
    elif name == "sensitivity, 10 factor groups, N=1024":
        run = lambda: fc.sensitivity(  # noqa: E731
            jobs, factors, draws=1024, seed=1, groups="factor", inputs=SENSITIVITY_FACTORS
        )
        out["seconds"] = median_time(run, repeat)
        out["inputs"] = run().height
    elif name == "difference interval width":
        scenario = fc.Scenario("lifetime 6 y", lifetime_years=6)
        paired = fc.sweep(jobs, [scenario], factors, draws=draws, seed=1)
        row = paired.row(1, named=True)
        _, changed = scenario.apply(jobs, factors)
        a = fc.simulate_detailed(jobs, factors, draws=draws, seed=1, return_draws=True)
        b = fc.simulate_detailed(jobs, changed, draws=draws, seed=2, return_draws=True)
        diff = (b.draws["total_kgco2e"] - a.draws["total_kgco2e"]).to_numpy()
        out["paired_width"] = row["total_kgco2e_diff_p95"] - row["total_kgco2e_diff_p05"]
        out["independent_width"] = float(np.quantile(diff, 0.95) - np.quantile(diff, 0.05))
        out["difference"] = row["total_kgco2e_diff"]
        out["seconds"] = 0.0
    else:
        raise SystemExit(f"unknown approach {name}")
    out["peak_rss_mb"] = peak_rss_mb()
    return out


APPROACHES = (
    "simulate, one call",
    "sweep, 10 factor scenarios",
    "11 separate simulate calls",
    "sensitivity, 10 factor groups, N=1024",
    "difference interval width",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--draws", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.jobs, args.draws, args.repeat)))
        return
    extra = ["--jobs", str(args.jobs), "--draws", str(args.draws), "--repeat", str(args.repeat)]
    results = run_each(__file__, APPROACHES, extra)
    one = results["simulate, one call"]["seconds"]
    print(
        f"{args.jobs:,} jobs, {args.draws:,} draws, shared uncertainty only; "
        f"median of {args.repeat} runs\n"
    )
    print("| approach | time | vs one simulate call | peak RSS (MB) |")
    print("|---|---|---|---|")
    for name in APPROACHES[:-1]:
        r = results[name]
        print(
            f"| {name} | {r['seconds']:,.2f} s | {r['seconds'] / one:,.2f}x | "
            f"{r['peak_rss_mb']:,.0f} |"
        )
    w = results["difference interval width"]
    print(
        f"\nlifetime 4 -> 6 y: difference {w['difference']:,.0f} kg; p05-p95 width "
        f"{w['paired_width']:,.0f} kg with common random numbers, "
        f"{w['independent_width']:,.0f} kg from two independent runs "
        f"({w['independent_width'] / w['paired_width']:,.0f}x wider)"
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
