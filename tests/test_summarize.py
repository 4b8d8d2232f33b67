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
