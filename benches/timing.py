"""Timing helpers the benchmarks share: medians after a warm-up, one process per approach."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence


def median_time(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``repeat`` calls after one warm-up (caches, lazy tables, allocator)."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run_each(script: str, names: Sequence[str], args: Sequence[str]) -> dict[str, dict]:
    """Run ``script --one NAME *args`` in a child process per name; parse its last JSON line.

    One process each, so that every approach's peak RSS is its own.
    """
    results = {}
    for name in names:
        cmd = [sys.executable, script, "--one", name, *args]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        results[name] = json.loads(done.stdout.strip().splitlines()[-1])
    return results
