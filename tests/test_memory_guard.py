"""The memory guard of simulate(): its estimate is measured against real peaks."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import fleetcarbon as fc
from fleetcarbon.errors import FleetcarbonError
from fleetcarbon.simulate import peak_memory

# Runs whose draws dominate the memory, so that the estimate is tested, not the
# interpreter's baseline. Each runs in its own process (its peak is its own).
RUN = """
import json, sys
import polars as pl
import fleetcarbon as fc
from fleetcarbon.simulate import peak_memory
from fleetcarbon.uncertainty import Triangular
n, draws, groups, per_job, keep, noise = (int(a) for a in sys.argv[1:])
fleet = fc.synthetic_fleet(n, seed=0).with_columns(g=pl.col("job_id") % groups)
options = {"draws": draws, "seed": 1, "by": "g" if groups > 1 else None}
if noise:
    options["noise"] = {"power_fraction": Triangular(0.4, 0.75, 1.0)}
estimate = peak_memory(fleet, per_job=bool(per_job), return_draws=bool(keep), **options)
fc.simulate_detailed(fleet, per_job=bool(per_job), return_draws=bool(keep), **options)
# VmHWM, not ru_maxrss: on Linux ru_maxrss survives exec, so a child of a large
# parent (pytest) would report the parent's peak.
status = open("/proc/self/status").read()
peak = int(next(l for l in status.splitlines() if l.startswith("VmHWM")).split()[1]) * 1024
print(json.dumps({"estimate": estimate, "peak": peak}))
"""

CASES = {
    "shared only, many draws, one group": (5_000, 1_500_000, 1, 0, 0, 0),
    "draws kept": (5_000, 1_000_000, 1, 0, 1, 0),
    "noise, several groups": (2_000, 600_000, 3, 0, 0, 1),
    "per-job statistics": (2_000, 200_000, 1, 1, 0, 1),
    "many groups, draws kept": (200_000, 50_000, 40, 0, 1, 0),
}


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads /proc for RSS")
@pytest.mark.parametrize("case", sorted(CASES))
def test_the_estimate_is_within_one_and_a_half_times_the_measured_peak(case):
    args = [str(a) for a in CASES[case]]
    done = subprocess.run(
        [sys.executable, "-c", RUN, *args], capture_output=True, text=True, check=True
    )
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    ratio = measured["estimate"] / measured["peak"]
    assert 1 / 1.5 <= ratio <= 1.5, f"{case}: estimate {ratio:.2f}x the measured peak"


def test_runs_that_cannot_fit_are_refused_before_any_work():
    jobs = fc.synthetic_fleet(100, seed=1)
    # 4 metrics x 10**9 draws x 8 bytes = 32 GB of group draws alone.
    assert peak_memory(jobs, draws=10**9, seed=1) > 32e9
    with pytest.raises(FleetcarbonError, match=r"GiB at their peak \(estimated\).*machine's"):
        fc.simulate(jobs, draws=10**9, seed=1)
    with pytest.raises(FleetcarbonError, match="estimated"):
        fc.simulate(jobs, draws=10**9 // 40, seed=1, by="job_id")
