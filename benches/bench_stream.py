"""Benchmark streamed estimates (fleetcarbon.stream.estimate_to) against estimate() in memory.

Usage: python benches/bench_stream.py [--sizes 1000000 10000000] [--batch-rows 500000]

For each size, synthetic jobs are written to a Parquet file in a temporary
folder (generated in slices, never committed), then each approach runs in its
own child process so that its peak RSS is its own:
- ``estimate_to``: file to file, in batches;
- in memory: ``read_parquet`` + ``estimate`` + ``write_parquet``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import run_each

SLICE = 1_000_000


def make_input(n: int, folder: Path) -> Path:
    """Write ``n`` synthetic jobs to one Parquet file, one million at a time."""
    import polars as pl

    import fleetcarbon as fc

    path = folder / f"jobs-{n}.parquet"
    if path.exists():
        return path
    parts = []
    for i, start in enumerate(range(0, n, SLICE)):
        size = min(SLICE, n - start)
        part = folder / f"slice-{n}-{i}.parquet"
        fc.synthetic_fleet(size, seed=i).with_columns(
            job_id=pl.col("job_id") + start
        ).write_parquet(part)
        parts.append(part)
    pl.scan_parquet(parts).sink_parquet(path)
    for part in parts:
        part.unlink()
    return path


def run_one(name: str, path: Path, batch_rows: int) -> dict:
    import time
    import warnings

    import polars as pl
    from rss import peak_rss_mb

    import fleetcarbon as fc
    from fleetcarbon.stream import estimate_to

    warnings.simplefilter("ignore")
    out = path.with_name(f"{path.stem}-{name.split()[0]}.parquet")
    t0 = time.perf_counter()
    if name == "estimate_to":
        estimate_to(path, out, batch_rows=batch_rows, overwrite=True)
    elif name == "in memory":
        fc.estimate(pl.read_parquet(path)).write_parquet(out)
    else:
        raise SystemExit(f"unknown approach {name}")
    seconds = time.perf_counter() - t0
    out.unlink()
    return {"name": name, "seconds": seconds, "peak_rss_mb": peak_rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--batch-rows", type=int, default=500_000)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, Path(args.path), args.batch_rows)))
        return
    results = {}
    with tempfile.TemporaryDirectory(prefix="fleetcarbon-bench-") as folder:
        for n in args.sizes:
            path = make_input(n, Path(folder))
            extra = ["--path", str(path), "--batch-rows", str(args.batch_rows)]
            results[n] = run_each(__file__, ("estimate_to", "in memory"), extra)
            path.unlink()
    print(f"estimate from Parquet to Parquet; estimate_to with batches of {args.batch_rows:,}\n")
    print("| jobs | estimate_to | peak RSS | in memory | peak RSS |")
    print("|---|---|---|---|---|")
    for n, r in results.items():
        s, m = r["estimate_to"], r["in memory"]
        print(
            f"| {n:,} | {s['seconds']:.2f} s | {s['peak_rss_mb']:,.0f} MB | "
            f"{m['seconds']:.2f} s | {m['peak_rss_mb']:,.0f} MB |"
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
