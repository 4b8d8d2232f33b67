"""Group sums: exact against math.fsum, deterministic, and shaped as documented."""

from __future__ import annotations

import math

import polars as pl
import pytest

import fleetcarbon as fc
from fleetcarbon.errors import MissingColumnError
from fleetcarbon.summarize import SUMMED_COLUMNS


@pytest.fixture(scope="module")
def estimates():
    return fc.estimate(fc.synthetic_fleet(30_000, seed=5))


def test_group_sums_match_fsum(estimates):
    out = fc.summarize(estimates, by=["team", "phase"])
    assert out.height == estimates.select("team", "phase").unique().height
    for row in out.iter_rows(named=True):
        group = estimates.filter(
            (pl.col("team") == row["team"]) & (pl.col("phase") == row["phase"])
        )
        assert row["jobs"] == group.height
        for c in SUMMED_COLUMNS:
            assert row[c] == pytest.approx(math.fsum(group[c].to_list()), rel=1e-14, abs=1e-12), c
        hours = math.fsum(
            n * h for n, h in zip(group["accelerator_count"], group["duration_h"], strict=True)
        )
        assert row["accelerator_hours"] == pytest.approx(hours, rel=1e-14)
        assert row["embodied_share"] == pytest.approx(row["embodied_kgco2e"] / row["total_kgco2e"])


def test_sorted_by_keys_and_fleet_total(estimates):
    out = fc.summarize(estimates, by="team")
    assert out["team"].to_list() == sorted(out["team"].to_list())
    fleet = fc.summarize(estimates)
    assert fleet.height == 1
    assert fleet["jobs"].item() == estimates.height
    assert fleet["total_kgco2e"].item() == pytest.approx(out["total_kgco2e"].sum(), rel=1e-12)


def test_identical_for_any_thread_count_and_chunking(estimates):
    one = fc.summarize(estimates, by="phase", threads=1)
    two = fc.summarize(estimates, by="phase", threads=2)
    chunked = pl.concat([estimates[:7_000], estimates[7_000:]], rechunk=False)
    assert one.equals(two)
    assert one.equals(fc.summarize(chunked, by="phase", threads=2))


def test_null_keys_form_their_own_group_last(estimates):
    out = fc.summarize(estimates, by="accelerator")
    assert out["accelerator"][-1] is None
    cpu_only = estimates.filter(pl.col("accelerator").is_null()).height
    assert out["jobs"][-1] == cpu_only


def test_many_groups_take_the_sequential_path(estimates):
    per_job = fc.summarize(estimates, by="job_id")
    assert per_job.height == estimates.height
    joined = per_job.join(estimates.select("job_id", "total_kgco2e"), on="job_id", suffix="_job")
    assert (joined["total_kgco2e"] == joined["total_kgco2e_job"]).all()


def test_needs_estimate_output():
    with pytest.raises(MissingColumnError, match="estimate"):
        fc.summarize(pl.DataFrame({"team": ["a"]}), by="team")


def test_empty_estimates(factors):
    empty = fc.estimate(
        pl.DataFrame(
            schema={
                "job_id": pl.Int64,
                "duration_h": pl.Float64,
                "region": pl.String,
                "cpu_cores": pl.Int64,
            }
        ),
        factors,
    )
    assert fc.summarize(empty, by="region").height == 0
    fleet = fc.summarize(empty)
    assert fleet["jobs"].item() == 0
    assert fleet["total_kgco2e"].item() == 0.0
    assert fleet["embodied_share"].item() is None


def _hpc_jobs() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "job_id": [1, 2, 3, 4, 5, 6],
            "duration_h": [10.0, 4.0, 2.0, 1.0, 8.0, 3.0],
            "region": ["GB"] * 6,
            "accelerator": ["nvidia-a100-sxm4-80gb", None, None, None, None, None],
            "accelerator_count": [0.5, 0.0, 0.0, 0.0, 0.0, 0.0],
            "cpu_cores": [8, 4, 2, 16, 1, 4],
            "memory_gb": [32.0, 8.0, 4.0, 64.0, 2.0, 8.0],
            # Job 3 logged no CPU time (null), job 4 logged 0 (not logged either).
            "cpu_time_h": [40.0, 16.0, None, 0.0, 4.0, 6.0],
            "state": [
                "COMPLETED",
                "FAILED",
                "CANCELLED by 1300204",
                "TIMEOUT",
                "OUT_OF_MEMORY",
                "PENDING",
            ],
            "team": ["x", "x", "x", "y", "y", "y"],
        }
    )


def test_core_and_accelerator_hours_and_usage_factor():
    est = fc.estimate(_hpc_jobs())
    out = fc.summarize(est, by="team")
    x, y = out.row(0, named=True), out.row(1, named=True)
    assert x["accelerator_hours"] == pytest.approx(5.0)  # half a GPU for 10 h
    assert (x["core_hours"], y["core_hours"]) == pytest.approx((80 + 16 + 4, 16 + 8 + 12))
    assert (x["cpu_time_h"], y["cpu_time_h"]) == pytest.approx((56.0, 10.0))
    # The usage factor counts only the jobs that logged CPU time.
    assert x["core_usage"] == pytest.approx(56.0 / 96.0)
    assert y["core_usage"] == pytest.approx(10.0 / 20.0)
    columns = out.columns
    assert columns.index("core_usage") == columns.index("cpu_time_h") + 1
    assert fc.summarize(est.drop("cpu_time_h")).columns.count("core_usage") == 0


def test_usage_factor_is_null_when_no_job_logged_cpu_time():
    est = fc.estimate(_hpc_jobs().with_columns(cpu_time_h=pl.lit(None, dtype=pl.Float64)))
    assert fc.summarize(est)["core_usage"].to_list() == [None]


def test_state_breakdown_adds_up_to_the_totals():
    est = fc.estimate(_hpc_jobs())
    out = fc.summarize(est, by="team")
    classes = ("completed", "failed", "cancelled", "timeout", "other")
    for row in out.iter_rows(named=True):
        assert sum(row[f"{c}_jobs"] for c in classes) == row["jobs"]
        parts = math.fsum(row[f"{c}_kgco2e"] for c in classes)
        assert parts == pytest.approx(row["total_kgco2e"], rel=1e-14)
    by_id = dict(zip(est["job_id"], est["total_kgco2e"], strict=True))
    x, y = out.row(0, named=True), out.row(1, named=True)
    assert (x["completed_kgco2e"], x["failed_kgco2e"]) == (by_id[1], by_id[2])
    assert (x["cancelled_kgco2e"], x["timeout_jobs"]) == (by_id[3], 0)
    assert y["failed_kgco2e"] == by_id[5]  # out of memory is a failure
    assert (y["timeout_kgco2e"], y["other_kgco2e"]) == (by_id[4], by_id[6])
    assert "failed_jobs" not in fc.summarize(est.drop("state")).columns


def test_state_class_reads_states_as_sacct_writes_them():
    states = ["completed", " FAILED ", "CANCELLED+", "NODE_FAIL", "DEADLINE", "RUNNING", "", None]
    got = pl.DataFrame({"state": states}).select(fc.state_class())["state_class"]
    assert got.cast(pl.String).to_list() == [
        "completed",
        "failed",
        "cancelled",
        "failed",
        "timeout",
        "other",
        "other",
        "other",
    ]
