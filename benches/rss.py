"""Peak resident memory of the current process, for the benchmarks."""

from __future__ import annotations

import resource


def peak_rss_mb() -> float:
    """Peak RSS of this process in MB.

    VmHWM, not ru_maxrss: on Linux ru_maxrss survives exec, so a benchmark
    child of a larger parent would report the parent's peak.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            line = next(x for x in fh if x.startswith("VmHWM"))
        return int(line.split()[1]) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
