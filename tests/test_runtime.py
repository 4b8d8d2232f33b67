"""Run-time behaviour: Ctrl-C, thread counts, progress from the core."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import fleetcarbon as fc
from fleetcarbon import _core
from fleetcarbon.errors import ParameterError

# A simulation that runs for minutes unless interrupted.
LONG_RUN = """
import sys
import fleetcarbon as fc
from fleetcarbon.uncertainty import Triangular
fleet = fc.synthetic_fleet(400_000, seed=1)
print("started", flush=True)
fc.simulate(fleet, draws=200_000, seed=1, noise={"power_fraction": Triangular(0.4, 0.75, 1.0)})
print("finished", flush=True)
"""


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT")
def test_ctrl_c_stops_a_long_simulation_quickly():
    child = subprocess.Popen(
        [sys.executable, "-c", LONG_RUN],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "started"
        time.sleep(1.0)  # well inside the core's work
        sent = time.perf_counter()
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=30)
        stopped_after = time.perf_counter() - sent
    finally:
        child.kill()
    assert "KeyboardInterrupt" in err
    assert "finished" not in err
    # The core checks for Ctrl-C every 50 ms and stops at its next job; allow
    # for a loaded machine.
    assert stopped_after < 3.0, f"took {stopped_after:.2f} s to stop"


def test_thread_counts_are_bounded_integers():
    jobs = fc.synthetic_fleet(100, seed=1)
    cap = _core.max_threads()
    assert 8 <= cap <= 1024
    for bad in (0, -1, cap + 1, 10_000, 2**64, True, 2.0, "4"):
        with pytest.raises(ParameterError, match="threads"):
            fc.estimate(jobs, threads=bad)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="threads"):
        fc.simulate(jobs, draws=10, seed=1, threads=10_000)
    one = fc.estimate(jobs, threads=np.int64(1))
    assert one.equals(fc.estimate(jobs, threads=cap))


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads in /proc")
def test_thread_pools_are_built_once_per_count():
    def threads() -> int:
        return len(os.listdir("/proc/self/task"))

    jobs = fc.synthetic_fleet(1000, seed=1)
    before = threads()
    fc.estimate(jobs, threads=7)
    time.sleep(0.2)
    after_first = threads()
    # The pool's 7 threads stay for the next call with 7 threads...
    assert after_first >= before + 7
    for _ in range(5):
        fc.estimate(jobs, threads=7)
    time.sleep(0.2)
    # ...which builds no new ones.
    assert threads() == after_first


def test_estimate_reports_progress_in_jobs():
    jobs = fc.synthetic_fleet(50_000, seed=1)
    seen: list[tuple[int, int]] = []
    out = fc.estimate(jobs, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (50_000, 50_000)
    assert out.equals(fc.estimate(jobs))
    with pytest.raises(ParameterError, match="progress"):
        fc.estimate(jobs, progress="bar")  # type: ignore[arg-type]


def test_an_exception_in_the_progress_callback_stops_the_run():
    jobs = fc.synthetic_fleet(1000, seed=1)

    def fail(done: int, total: int) -> None:
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        fc.estimate(jobs, progress=fail)
