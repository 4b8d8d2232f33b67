"""Benchmark simulate() on a synthetic fleet (M1, M2) against the baselines, in one run.

Usage: python benches/bench_simulate.py [--jobs 1000000] [--quick]

- M1: shared factor uncertainty only, 10,000 draws, 50 groups.
- M2: shared uncertainty plus per-job noise (power fraction, 5% meter error),
  1,000 draws, per-group quantiles and per-job p5/p50/p95 from one pass.
- Baselines, on subsets and scaled per job-draw evaluation, with M2's noises:
  numpy (vectorized over job chunks × draws, with per-job quantiles too, as
  M2) and pure Python (the reference's equations per job and draw, fleet
  totals only); and the bare RNG-plus-FMA loop, vectorized like the kernels,
  which stands for the machine's limit (timed by the Rust kernel benchmark,
  ``cargo bench -p fleetcarbon-core --bench simulate_kernel``, on 200,000 jobs).

Each case runs in its own child process so that its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

BENCHES = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCHES))

NOISE_DESC = "power_fraction ~ Triangular(0.4, 0.75, 1.0), energy_kwh x Normal(1, 0.05)"


def _fleet(n: int):
    import polars as pl

    import fleetcarbon as fc

    return fc.synthetic_fleet(n, seed=0).with_columns(project=(pl.col("job_id") % 50))


def _noise():
    from fleetcarbon.uncertainty import Normal, Triangular

    return {"power_fraction": Triangular(0.4, 0.75, 1.0), "energy_kwh": Normal(1.0, 0.05)}


def _peak_rss_mb() -> float:
    from rss import peak_rss_mb

    return peak_rss_mb()


def _work(case: str, fleet, jobs: int, draws: int):
    """The call that case ``case`` times."""
    import baselines

    import fleetcarbon as fc

    noise = _noise()
    if case == "M1":
        return lambda: fc.simulate(fleet, draws=draws, by="project", seed=1)
    if case == "M2":
        return lambda: fc.simulate_detailed(
            fleet, draws=draws, by="project", seed=1, noise=noise, per_job=True
        )
    # The baselines take M2's noises under their own argument names.
    same_noise = {
        "power_fraction_noise": noise["power_fraction"],
        "energy_noise": noise["energy_kwh"],
    }
    if case == "numpy":
        return lambda: baselines.simulate_numpy(
            fleet, draws=draws, seed=1, per_job_quantiles=(0.05, 0.5, 0.95), **same_noise
        )
    if case == "python":
        return lambda: baselines.simulate_python(fleet, draws=draws, seed=1, **same_noise)
    raise SystemExit(f"unknown case {case}")


def run_one(case: str, jobs: int, draws: int) -> dict:
    """Warm-up, then the median of 3 (the first call in a process pays page faults)."""
    work = _work(case, _fleet(jobs), jobs, draws)
    work()
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        work()
        times.append(time.perf_counter() - t0)
    return {
        "case": case,
        "jobs": jobs,
        "draws": draws,
        "seconds": sorted(times)[1],
        "peak_rss_mb": _peak_rss_mb(),
    }


def _rust_floor() -> dict:
    """The bare RNG+FMA loop, from the Rust kernel benchmark (it lives in the benches)."""
    done = subprocess.run(
        ["cargo", "bench", "-q", "-p", "fleetcarbon-core", "--bench", "simulate_kernel"],
        capture_output=True,
        text=True,
        check=True,
        cwd=BENCHES.parent,
    )
    match = re.search(r"bare RNG \+ FMA loop:\s+([0-9.]+) ns/job-draw", done.stdout)
    if match is None:
        raise SystemExit(f"no floor in the kernel benchmark's output:\n{done.stdout}")
    ns = float(match.group(1))
    return {"jobs": 200_000, "draws": 1_000, "seconds": ns * 200_000 * 1_000 / 1e9}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes")
    parser.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    if args.one:
        case, jobs, draws = args.one[0], int(args.one[1]), int(args.one[2])
        print(json.dumps(run_one(case, jobs, draws)))
        return
    n = args.jobs // 10 if args.quick else args.jobs
    cases = [
        ("M1", n, 10_000),
        ("M2", n, 1_000),
        ("numpy", max(n // 50, 1000), 1_000),
        ("python", max(n // 5000, 20), 200),
    ]
    results = {}
    for case, jobs, draws in cases:
        cmd = [sys.executable, __file__, "--one", case, str(jobs), str(draws)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        results[case] = json.loads(done.stdout.strip().splitlines()[-1])
    results["rng+fma floor"] = _rust_floor()
    cases.append(("rng+fma floor", results["rng+fma floor"]["jobs"], 1_000))

    def per_eval(r: dict) -> float:
        return r["seconds"] / (r["jobs"] * r["draws"]) * 1e9

    m2 = per_eval(results["M2"])
    print(f"simulate() on a synthetic fleet; per-job noise in M2: {NOISE_DESC}\n")
    print("| case | jobs | draws | wall time | ns per job-draw | M2 is faster by | peak RSS (MB) |")
    print("|---|---|---|---|---|---|---|")
    for case, _, _ in cases:
        r = results[case]
        ratio = "" if case in ("M1", "rng+fma floor") else f"{per_eval(r) / m2:,.0f}x"
        rss = f"{r['peak_rss_mb']:,.0f}" if "peak_rss_mb" in r else "(Rust bench)"
        print(
            f"| {case} | {r['jobs']:,} | {r['draws']:,} | {r['seconds']:.2f} s | "
            f"{per_eval(r):,.2f} | {ratio} | {rss} |"
        )
    floor = per_eval(results["rng+fma floor"])
    print(
        f"\nM2 costs {m2 / floor:.1f}x the bare RNG+FMA loop per job-draw "
        f"({m2:.2f} vs {floor:.2f} ns). Each case: median of 3 runs after a warm-up."
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
