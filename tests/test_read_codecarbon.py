"""read_codecarbon: CodeCarbon's emissions.csv as metered job records.

Real samples are CodeCarbon's own (tests/data/SOURCES.md): its example file and
its test headers, old and new. GPU, cloud and sub-national rows, and the ragged
rows that CodeCarbon's append mode writes, are written from CodeCarbon's source
(EmissionsData, and the "N x MODEL" form of gpu_model in resource_tracker.py),
since no public sample with a licence holds them.
"""

from __future__ import annotations

import csv
import datetime as dt
import warnings

import polars as pl
import pytest
from conftest import REPO

import fleetcarbon as fc
from fleetcarbon.errors import (
    DroppedRowsWarning,
    InvalidValueError,
    MissingColumnError,
    ParameterError,
    UnitWarning,
)
from fleetcarbon.io import read_codecarbon
from fleetcarbon.io.codecarbon import CANONICAL_COLUMNS
from fleetcarbon.io.sacct import UnmappedAcceleratorWarning

DATA = REPO / "tests" / "data"
EXAMPLE = DATA / "codecarbon-examples-emissions.csv"
VALID = DATA / "codecarbon-emissions-valid-headers.csv"
OLD = DATA / "codecarbon-emissions-old-headers.csv"

#: CodeCarbon's EmissionsData fields, in its order (codecarbon/output_methods/emissions_data.py).
HEADER = (
    "timestamp,project_name,run_id,experiment_id,duration,emissions,emissions_rate,cpu_power,"
    "gpu_power,ram_power,cpu_energy,gpu_energy,ram_energy,energy_consumed,water_consumed,"
    "country_name,country_iso_code,region,cloud_provider,cloud_region,os,python_version,"
    "codecarbon_version,cpu_count,cpu_model,gpu_count,gpu_model,longitude,latitude,"
    "ram_total_size,tracking_mode,cpu_utilization_percent,gpu_utilization_percent,"
    "ram_utilization_percent,ram_used_gb,on_cloud,pue,wue"
)


def row(**values: object) -> str:
    """One line of an emissions.csv with the given fields (the others empty)."""
    names = HEADER.split(",")
    unknown = set(values) - set(names)
    assert not unknown, unknown
    return ",".join("" if values.get(n) is None else str(values[n]) for n in names)


def csv_rows(path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_the_example_file_one_job_per_run():
    rows = csv_rows(EXAMPLE)
    assert len(rows) == 28
    ids = [r["run_id"] for r in rows]
    runs = len({i for i in ids if i}) + sum(1 for i in ids if not i)
    with (
        warnings.catch_warnings(),
        pytest.warns(DroppedRowsWarning, match=r"7 records .* superseded .* run_id"),
    ):
        warnings.simplefilter("ignore", UnmappedAcceleratorWarning)  # an Apple M1 "GPU"
        jobs = read_codecarbon(EXAMPLE)
    assert jobs.height == runs == 21
    assert list(jobs.columns[: len(CANONICAL_COLUMNS)]) == list(CANONICAL_COLUMNS)
    assert jobs["job_id"].is_unique().all()
    # The last (largest, cumulative) row of each run is kept.
    last = {r["run_id"]: r for r in rows if r["run_id"]}
    for job in jobs.filter(~pl.col("job_id").str.starts_with("line ")).iter_rows(named=True):
        want = last[job["job_id"]]
        assert job["duration_h"] == pytest.approx(float(want["duration"]) / 3600)
        assert job["energy_kwh"] == pytest.approx(
            float(want["energy_consumed"]) / float(want["pue"])
        )
        end = dt.datetime.fromisoformat(want["timestamp"])
        assert job["end"] == end
        assert job["start"] == end - dt.timedelta(seconds=float(want["duration"]))
    # Runs without an id are kept, named by their line; energy may be missing.
    unnamed = jobs.filter(pl.col("job_id").str.starts_with("line "))
    assert unnamed["job_id"].to_list() == ["line 3", "line 4", "line 5", "line 6", "line 7"]
    assert unnamed["energy_kwh"].null_count() == 2
    assert (jobs["region"] == "FR").all(), "country_iso_code FRA, an alias of FR"
    assert (jobs["codecarbon_region"] == "île-de-france").all()
    assert (jobs["cpu_cores"] == 8).all()
    assert jobs["memory_gb"][0] == pytest.approx(8 * 1024**3 / 1e9)
    assert jobs["accelerator"].null_count() == jobs.height, "an Apple M1 GPU: no table row"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnitWarning)  # a laptop draws far below its TDPs
        est = fc.estimate(jobs)
    assert est["total_kgco2e"].is_finite().all()
    basis = dict(est.group_by("power_basis").len().iter_rows())
    assert basis == {"metered": 19, "modelled": 2}


def test_headers_old_and_new():
    new = read_codecarbon(VALID)
    one = new.row(0, named=True)
    assert one["job_id"] == "0a578547-1d6b-4e2f-be0c-7ad10f2f7c97"
    assert (one["region"], one["codecarbon_region"]) == ("MA", "casablanca-settat")
    assert one["experiment_id"] == "test" and one["water_consumed"] == pytest.approx(0.1)
    assert one["codecarbon_pue"] == 1.0 and "pue" not in new.columns
    assert one["energy_kwh"] == pytest.approx(0.00057442898176)
    assert one["cpu_cores"] == 12 and one["memory_gb"] is None
    old = read_codecarbon(OLD)
    assert old["job_id"].to_list() == ["line 2"], "no run_id column"
    assert old["region"][0] == "MA" and old["energy_kwh"][0] == pytest.approx(0.001308618772068)
    assert (
        fc.estimate(
            pl.concat(
                [
                    new.select("job_id", "duration_h", "energy_kwh", "region"),
                    old.select("job_id", "duration_h", "energy_kwh", "region"),
                ]
            )
        ).height
        == 2
    )


def test_gpus_clouds_and_subnational_regions():
    """Rows written from CodeCarbon's source: gpu_model is "N x MODEL"."""
    lines = [
        HEADER,
        row(
            timestamp="2025-03-01T12:00:00",
            run_id="a100",
            duration=7200,
            energy_consumed=5.6,
            gpu_count=4,
            gpu_model="4 x NVIDIA A100-SXM4-80GB",
            cpu_count=32,
            cpu_model="AMD EPYC 7763 64-Core Processor",
            ram_total_size=512,
            country_iso_code="USA",
            cloud_provider="aws",
            cloud_region="us-east-1",
            on_cloud="Y",
            pue=1.0,
        ),
        row(
            timestamp="2025-03-01T12:00:00",
            run_id="gcp",
            duration=3600,
            energy_consumed=1.2,
            country_iso_code="NLD",
            cloud_provider="gcp",
            cloud_region="europe-west4",
            on_cloud="Y",
            pue=1.5,
        ),
        row(
            timestamp="2025-03-01T12:00:00",
            run_id="virginia",
            duration=3600,
            energy_consumed=0.5,
            country_iso_code="USA",
            region="virginia",
            on_cloud="N",
        ),
        row(
            timestamp="2025-03-01T12:00:00",
            run_id="odd-gpu",
            duration=3600,
            energy_consumed=0.5,
            country_iso_code="DEU",
            gpu_count=1,
            gpu_model="1 x Imaginary GPU 9000",
        ),
        row(
            timestamp="2025-03-01T12:00:00",
            run_id="mixed",
            duration=3600,
            energy_consumed=0.5,
            country_name="Germany",
            gpu_count=2,
            gpu_model="1 x NVIDIA A100-SXM4-80GB1 x Tesla T4",
        ),
    ]
    with pytest.warns(UnmappedAcceleratorWarning, match=r"2 CodeCarbon runs .*Imaginary"):
        jobs = read_codecarbon("\n".join(lines) + "\n")
    a100, gcp, virginia, odd, mixed = jobs.iter_rows(named=True)
    assert (a100["accelerator"], a100["accelerator_count"]) == ("nvidia-a100-sxm4-80gb", 4)
    assert a100["cpu"] == "amd-epyc-7763" and a100["region"] == "aws:us-east-1"
    assert a100["memory_gb"] == pytest.approx(512 * 1024**3 / 1e9)
    assert gcp["region"] == "gcp:europe-west4"
    assert gcp["energy_kwh"] == pytest.approx(1.2 / 1.5), "CodeCarbon's PUE is undone"
    assert virginia["region"] == "US-VA"
    assert (odd["accelerator"], odd["accelerator_count"]) == (None, 0)
    assert odd["gpu_model"] == "1 x Imaginary GPU 9000" and odd["region"] == "DE"
    assert (mixed["accelerator"], mixed["region"]) == (None, "DE")
    est = fc.estimate(jobs)
    assert est["power_basis"].cast(pl.String).to_list() == ["metered"] * 5
    assert est["it_energy_kwh"][0] == pytest.approx(5.6)
    assert est["embodied_kgco2e"][0] > 0, "the A100s' embodied carbon is counted"


def test_timezone_makes_times_utc():
    text = (
        HEADER
        + "\n"
        + row(
            timestamp="2025-07-01T14:00:00",
            run_id="r",
            duration=600,
            energy_consumed=0.1,
            country_iso_code="FRA",
        )
        + "\n"
    )
    naive = read_codecarbon(text)
    assert naive["end"][0] == dt.datetime(2025, 7, 1, 14)
    utc = read_codecarbon(text, timezone="Europe/Paris")
    assert utc["end"][0] == dt.datetime(2025, 7, 1, 12, tzinfo=dt.timezone.utc)
    assert utc["start"][0] == dt.datetime(2025, 7, 1, 11, 50, tzinfo=dt.timezone.utc)
    with pytest.raises(ParameterError, match="timezone"):
        read_codecarbon(text, timezone="Mars/Olympus")


def test_a_row_appended_without_its_empty_columns_is_refused():
    """CodeCarbon's on_csv_write="append" drops all-empty columns from the rows it appends."""
    good = row(
        timestamp="2025-03-01T12:00:00",
        run_id="r1",
        duration=60,
        energy_consumed=0.01,
        country_iso_code="FRA",
    )
    short = "2025-03-01T13:00:00,codecarbon,r2,60,0.001,0.01,FRA"
    text = "\n".join([HEADER, good, short, good.replace("r1", "r3")]) + "\n"
    with pytest.raises(InvalidValueError, match=r"column 'line'.*as many comma-separated") as info:
        read_codecarbon(text)
    assert info.value.examples == [f"line 3: {short!r}"]
    with pytest.warns(DroppedRowsWarning, match=r"dropped 1 malformed line .* line 3"):
        jobs = read_codecarbon(text, on_invalid="drop")
    assert jobs["job_id"].to_list() == ["r1", "r3"]
    # A quoted comma is one field.
    quoted = good.replace("r1", '"r,4"')
    assert read_codecarbon(f"{HEADER}\n{quoted}\n")["job_id"].to_list() == ["r,4"]


def test_bad_values_raise_naming_column_and_line():
    for column, value in [
        ("duration", "soon"),
        ("energy_consumed", "-1"),
        ("pue", "0"),
        ("gpu_count", "two"),
        ("timestamp", "yesterday"),
    ]:
        fields = {
            "timestamp": "2025-03-01T12:00:00",
            "run_id": "r",
            "duration": 60,
            "energy_consumed": 0.1,
            "country_iso_code": "FRA",
            column: value,
        }
        with pytest.raises(InvalidValueError, match=column) as info:
            read_codecarbon(f"{HEADER}\n{row(**fields)}\n")
        assert info.value.column == column
        assert info.value.examples == [f"line 2: {value!r}"]
    with pytest.raises(MissingColumnError, match="energy_consumed"):
        read_codecarbon("job_id,duration_h\n1,2\n")


def test_task_files_name_jobs_by_run_and_task():
    text = (
        "task_name,timestamp,project_name,run_id,duration,energy_consumed,country_iso_code\n"
        "load,2025-03-01T12:00:00,p,run1,10,0.001,FRA\n"
        "train,2025-03-01T12:10:00,p,run1,600,0.2,FRA\n"
    )
    jobs = read_codecarbon(text)
    assert jobs["job_id"].to_list() == ["run1/load", "run1/train"]


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        read_codecarbon(EXAMPLE, None)  # type: ignore[misc]
    with pytest.raises(ParameterError, match="on_invalid"):
        read_codecarbon(EXAMPLE, on_invalid="skip")  # type: ignore[arg-type]
