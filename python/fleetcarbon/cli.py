"""Command-line interface: ``fleetcarbon demo``."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import polars as pl

EXAMPLES = """examples:
  fleetcarbon demo                      # 1,000,000 synthetic jobs, summary per team and phase
  fleetcarbon demo --jobs 10000 --seed 7
"""


def _demo(args: argparse.Namespace) -> int:
    from fleetcarbon import estimate, load_factors, summarize, synthetic_fleet

    t0 = time.perf_counter()
    factors = load_factors()
    jobs = synthetic_fleet(args.jobs, seed=args.seed)
    t1 = time.perf_counter()
    est = estimate(jobs, factors, threads=args.threads)
    t2 = time.perf_counter()
    table = summarize(est, ["team", "phase"], threads=args.threads)
    t3 = time.perf_counter()
    tonnes = ["operational_kgco2e", "operational_market_kgco2e", "embodied_kgco2e", "total_kgco2e"]
    shown = table.select(
        "team",
        "phase",
        "jobs",
        (pl.col("accelerator_hours") / 1e3).round(1).alias("accel_kh"),
        (pl.col("facility_energy_kwh") / 1e3).round(1).alias("energy_mwh"),
        *[(pl.col(c) / 1e3).round(2).alias(c.replace("_kgco2e", "_tco2e")) for c in tonnes],
        (pl.col("embodied_share") * 100).round(1).alias("embodied_pct"),
    )
    fleet = summarize(est)
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=200, tbl_hide_dataframe_shape=True):
        print(
            f"fleetcarbon demo: {args.jobs:,} synthetic jobs (seed {args.seed}), "
            f"factors {factors.version}"
        )
        print(shown)
    total = fleet.row(0, named=True)
    print(
        f"fleet total: {total['total_kgco2e'] / 1e3:,.1f} tCO2e "
        f"(operational {total['operational_kgco2e'] / 1e3:,.1f}, "
        f"market-based {total['operational_market_kgco2e'] / 1e3:,.1f}, "
        f"embodied {total['embodied_kgco2e'] / 1e3:,.1f}; "
        f"{(total['embodied_share'] or 0.0) * 100:.1f}% embodied)"
    )
    print(f"timing: generate {t1 - t0:.2f} s, estimate {t2 - t1:.3f} s, summarize {t3 - t2:.3f} s")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser."""
    parser = argparse.ArgumentParser(
        prog="fleetcarbon",
        description="Lifecycle carbon of compute jobs.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo",
        help="estimate a seeded synthetic fleet and print a summary per team and phase",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument("--jobs", type=int, default=1_000_000, help="number of jobs (default 1e6)")
    demo.add_argument("--seed", type=int, default=0, help="fleet seed (default 0)")
    demo.add_argument("--threads", type=int, default=None, help="threads for the Rust core")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except (ValueError, OSError) as exc:  # FleetcarbonError is a ValueError
        if args.debug:
            raise
        print(f"fleetcarbon: error: {exc}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
