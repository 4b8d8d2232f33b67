"""read_jobs: CSV and Parquet (with globs), column mapping, lazy scanning."""

from __future__ import annotations

import hashlib

import polars as pl
import pytest

import fleetcarbon as fc
from fleetcarbon.errors import MissingColumnError, SchemaError
from fleetcarbon.io.jobs import read_jobs


@pytest.fixture
def fleet():
    return fc.synthetic_fleet(500, seed=4).with_columns(pl.col(pl.Categorical).cast(pl.String))


def renamed(fleet: pl.DataFrame) -> pl.DataFrame:
    return (
        fleet.rename({"job_id": "JobID", "region": "site"})
        .with_columns((pl.col("duration_h") * 3600).alias("elapsed_s"))
        .drop("duration_h", "start", "end")
    )


MAPPING = {"job_id": "JobID", "region": "site", "duration_h": pl.col("elapsed_s") / 3600}


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_parquet_glob_with_mapping_estimates_like_the_original(tmp_path, fleet):
    source = renamed(fleet)
    source[:200].write_parquet(tmp_path / "part-1.parquet")
    source[200:].write_parquet(tmp_path / "part-2.parquet")
    before = {p.name: digest(p) for p in tmp_path.iterdir()}
    jobs = read_jobs(str(tmp_path / "part-*.parquet"), mapping=MAPPING)
    assert isinstance(jobs, pl.LazyFrame)
    got = fc.estimate(jobs).sort("job_id")
    expected = fc.estimate(fleet.drop("start", "end")).sort("job_id")
    for c in ("it_energy_kwh", "total_kgco2e"):
        assert got[c].to_list() == pytest.approx(expected[c].to_list(), rel=1e-12)
    assert {p.name: digest(p) for p in tmp_path.iterdir()} == before, "sources must not change"


def test_csv_with_dates_is_parsed(tmp_path, fleet):
    fleet.drop("duration_h").write_csv(tmp_path / "jobs.csv")
    jobs = read_jobs(tmp_path / "jobs.csv").collect()
    assert isinstance(jobs.schema["start"], pl.Datetime)
    est = fc.estimate(jobs)
    assert est.height == fleet.height


def test_keep_only_mapped_columns(tmp_path, fleet):
    renamed(fleet).write_parquet(tmp_path / "a.parquet")
    jobs = read_jobs(tmp_path / "a.parquet", mapping=MAPPING, keep_other_columns=False).collect()
    assert jobs.columns == list(MAPPING)


def test_errors(tmp_path, fleet):
    renamed(fleet).write_parquet(tmp_path / "a.parquet")
    with pytest.raises(MissingColumnError, match="nope"):
        read_jobs(tmp_path / "a.parquet", mapping={"job_id": "nope"})
    with pytest.raises(SchemaError, match="format"):
        read_jobs(tmp_path / "a.data")
    with pytest.raises(SchemaError, match="cannot read"):
        read_jobs(tmp_path / "missing.parquet")
    with pytest.raises(fc.FleetcarbonError, match="already exist"):
        read_jobs(tmp_path / "a.parquet", mapping={"accelerator": "site"})
