"""read_sacct: Slurm sacct --parsable2 ingestion, against real samples and inline cases."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import warnings
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fleetcarbon as fc
from fleetcarbon.errors import (
    DroppedRowsWarning,
    FleetcarbonError,
    InvalidValueError,
    MissingColumnError,
    ParameterError,
    SchemaError,
)
from fleetcarbon.io.cluster import ClusterConfig, ClusterConfigError, load_cluster_config
from fleetcarbon.io.sacct import (
    AmbiguousTimeWarning,
    RepairedLinesWarning,
    SacctSourceError,
    UnmappedAcceleratorWarning,
    expand_array_tasks,
    gpu_count_from_tres,
    read_sacct,
)

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FLEETCARBON_SHARED", REPO.parent / "shared"))
SACCT = SHARED / "fixtures" / "sacct"
MIB = 2**20

#: The field list of XDMoD's --noheader logs (xdmod/resource-manager-slurm.md).
XDMOD_FIELDS = (
    "jobid,jobidraw,cluster,partition,qos,account,group,gid,user,uid,submit,eligible,start,"
    "end,elapsed,exitcode,state,nnodes,ncpus,reqcpus,reqmem,reqtres,alloctres,timelimit,"
    "nodelist,jobname"
)


@pytest.fixture
def fixtures() -> Path:
    if not SACCT.is_dir():
        pytest.skip(f"shared sacct fixtures absent ({SACCT})")
    return SACCT


def utc_epoch(value: dt.datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def text(*lines: str) -> str:
    return "\n".join(lines) + "\n"


HEADER = "JobID|JobName|State|ElapsedRaw|Elapsed|Start|End|NCPUS|NNodes|ReqMem|AllocTRES"


# ----------------------------------------------------------------------------- real samples


def test_ga4hpc_raw(fixtures: Path) -> None:
    path = fixtures / "ga4hpc" / "example_sacctOutput_raw.txt"
    before = path.read_bytes()
    with pytest.warns(UnmappedAcceleratorWarning, match="1 GPU job"):
        jobs = read_sacct(path)
    assert path.read_bytes() == before
    assert jobs["job_id"].to_list() == ["556141", "552375"]
    assert jobs["state"].to_list() == ["TIMEOUT", "TIMEOUT"]
    assert jobs["duration_h"].to_list() == pytest.approx([(4 * 3600 + 25) / 3600, 3 + 30 / 3600])
    assert jobs["cpu_cores"].to_list() == [1, 32]
    # 6760Mc x 1 CPU; 250Gn x 1 node (binary units, decimal GB).
    assert jobs["memory_gb"].to_list() == pytest.approx([6760 * MIB / 1e9, 250 * 2**30 / 1e9])
    assert jobs["accelerator_count"].to_list() == [0, 1]
    assert jobs["start"].null_count() == 2  # no Start field in this sample


def test_ga4hpc_tsv_detects_tab(fixtures: Path) -> None:
    with pytest.warns(UnmappedAcceleratorWarning):
        jobs = read_sacct(fixtures / "ga4hpc" / "example_sacctOutput_raw_asDF.tsv")
    assert jobs["job_id"].to_list() == ["556141", "552375"]
    assert jobs["state"].to_list() == ["TIMEOUT", "COMPLETED"]
    assert jobs["accelerator_count"].to_list() == [1, 1]
    assert jobs["duration_h"][1] == pytest.approx((39 * 60 + 16) / 3600)


@pytest.mark.parametrize("name", ["test-data1.csv", "test-data2.csv"])
def test_slurm2sql(fixtures: Path, name: str) -> None:
    jobs = read_sacct(fixtures / "slurm2sql" / name, cluster={"timezone": "Europe/Helsinki"})
    assert jobs["job_id"].to_list() == ["43974388", "43977780"]  # steps merged
    assert jobs["state"].to_list() == ["CANCELLED", "CANCELLED"]
    assert jobs["state_raw"][0] == "CANCELLED by 1300204"
    assert jobs["end"][1] is None  # End=Unknown
    assert jobs["duration_h"].to_list() == pytest.approx(
        [(3 * 3600 + 33 * 60 + 25) / 3600, 17 / 3600]
    )
    # 2019-07-31T22:29:14 in Helsinki (UTC+3 in summer)
    assert jobs["start"][0] == dt.datetime(2019, 7, 31, 19, 29, 14, tzinfo=dt.timezone.utc)
    assert jobs["energy_kwh"].to_list() == pytest.approx([54156 / 3.6e6, 999 / 3.6e6])
    assert jobs["memory_gb"][0] == pytest.approx(2252800 * 1024 / 1e9)
    assert jobs["cpu_cores"].to_list() == [2, 1]
    assert jobs["user"].to_list() == ["user1", "user1"]


def test_slurm2sql_csv_without_duration(fixtures: Path) -> None:
    with pytest.raises(MissingColumnError, match="ElapsedRaw"):
        read_sacct(fixtures / "slurm2sql" / "test-data3.csv")


def xdmod_cases(fixtures: Path) -> list[tuple[Path, list]]:
    out = []
    for log in sorted((fixtures / "xdmod" / "input").glob("*.log")):
        expected = json.loads(
            (fixtures / "xdmod" / "expected_output" / f"{log.stem}.json").read_text()
        )
        out.append((log, expected))
    return out


def test_xdmod_accounting_logs(fixtures: Path) -> None:
    log = fixtures / "xdmod" / "input" / "accounting-logs.log"
    expected = json.loads(
        (fixtures / "xdmod" / "expected_output" / "accounting-logs.json").read_text()
    )
    # 5692623 (gres/gpu=2, 0 nodes, 0 CPUs, 0 s) never started: no GPUs to map.
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnmappedAcceleratorWarning)
        jobs = read_sacct(log, fields=XDMOD_FIELDS)
    assert jobs["started"].to_list() == [True, True, True, False]
    assert jobs.height == len(expected)
    for row, exp in zip(jobs.iter_rows(named=True), expected, strict=True):
        assert row["job_id"] == exp["job_id"]
        assert row["array_task"] is None and exp["job_array_index"] == -1
        assert utc_epoch(row["start"]) == exp["start_time"]
        assert utc_epoch(row["end"]) == exp["end_time"]
        assert round(row["duration_h"] * 3600) == exp["elapsed"]
        assert row["state_raw"] == exp["state"]
        assert row["state"] == exp["state"].split()[0]
        assert row["cpu_cores"] == int(exp["ncpus"])
        assert row["nodes"] == exp["node_list"]
        assert row["job_name"] == exp["job_name"]
        assert row["user"] == exp["user_name"]
        assert row["account"] == exp["account_name"]
        assert (row["partition"] or "") == exp["partition_name"]
        # XDMoD counts the GPUs a job asked for; a job that never started holds none.
        assert row["accelerator_count"] == (exp["ngpus"] if row["started"] else 0)


def test_xdmod_arrays(fixtures: Path) -> None:
    log = fixtures / "xdmod" / "input" / "accounting-logs-with-job-arrays.log"
    expected = json.loads(
        (
            fixtures / "xdmod" / "expected_output" / "accounting-logs-with-job-arrays.json"
        ).read_text()
    )
    jobs = read_sacct(log, fields=XDMOD_FIELDS.split(","))
    assert [expand_array_tasks(t) for t in jobs["array_task"]] == expected
    assert set(jobs["array_job_id"]) == {"4103947"}
    assert jobs["job_id"][1] == "4103947_[1-3]"
    assert jobs["duration_h"].to_list() == [72.0] * 6


@pytest.mark.parametrize(
    ("stem", "states"),
    [("non-ended-job-state", ["RUNNING", "PENDING"]), ("unknown-job-state", ["FOO", "BAR"])],
)
def test_xdmod_states_kept(fixtures: Path, stem: str, states: list[str]) -> None:
    # XDMoD skips these jobs; we keep them with their state for the caller to filter.
    jobs = read_sacct(fixtures / "xdmod" / "input" / f"{stem}.log", fields=XDMOD_FIELDS)
    assert jobs["state"].to_list() == states
    assert jobs["duration_h"][0] == pytest.approx((22 * 3600 + 32 * 60 + 22) / 3600)
    assert jobs["start"][1] is None  # Start=Unknown


def test_xdmod_utf8(fixtures: Path) -> None:
    log = fixtures / "xdmod" / "input" / "utf8-multibyte-chars.log"
    expected = json.loads(
        (fixtures / "xdmod" / "expected_output" / "utf8-multibyte-chars.json").read_text()
    )
    jobs = read_sacct(log, fields=XDMOD_FIELDS)
    assert jobs["job_name"].to_list() == [e["job_name"] for e in expected]


def test_alloc_tres_gpu_oracle(fixtures: Path) -> None:
    cases = json.loads((fixtures / "xdmod" / "alloc-tres-gpu-count.json").read_text())
    assert [gpu_count_from_tres(t) for t, _ in cases] == [n for _, n in cases]
    lines = [f"{i}|00:10|{t}" for i, (t, _) in enumerate(cases, start=1)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnmappedAcceleratorWarning)
        jobs = read_sacct(text("JobID|Elapsed|AllocTRES", *lines))
    assert jobs["accelerator_count"].to_list() == [n for _, n in cases]


def test_all_fixtures_end_to_end(fixtures: Path) -> None:
    cfg = {
        "region": "US",
        "accelerator": "nvidia-v100-sxm2-32gb",
        "gres": {"tesla": "nvidia-v100-sxm2-32gb"},
    }
    frames = [
        read_sacct(fixtures / "ga4hpc" / "example_sacctOutput_raw.txt", cluster=cfg),
        read_sacct(fixtures / "slurm2sql" / "test-data1.csv", cluster=cfg),
        read_sacct(
            fixtures / "xdmod" / "input" / "accounting-logs.log", cluster=cfg, fields=XDMOD_FIELDS
        ),
    ]
    for jobs in frames:
        out = fc.estimate(jobs)
        assert out.height == jobs.height
        total = out["total_kgco2e"].sum()
        assert math.isfinite(total) and total > 0


# ----------------------------------------------------------------------------- layout


def test_header_and_noheader_agree() -> None:
    row = "42|train|COMPLETED|3600|01:00:00|2024-01-01T00:00:00|2024-01-01T01:00:00|8|1|4G|cpu=8"
    with_header = read_sacct(text(HEADER, row))
    without = read_sacct(text(row), fields=HEADER.split("|"))
    as_string = read_sacct(row + "\n", fields=",".join(HEADER.split("|")))
    assert with_header.equals(without) and with_header.equals(as_string)
    # A header matching `fields` is skipped.
    assert read_sacct(text(HEADER, row), fields=HEADER.split("|")).equals(with_header)


def test_noheader_without_fields_is_refused() -> None:
    with pytest.raises(SchemaError, match="--noheader"):
        read_sacct(text("42|train|COMPLETED|3600"))


@pytest.mark.parametrize("delim", ["|", "¦", "||", "\t", ";", "§§", ","])
def test_any_delimiter(delim: str) -> None:
    src = text(
        delim.join(["JobID", "JobName", "Elapsed", "NCPUS"]),
        delim.join(["7", "ünïcødé job", "1-00:00:00", "4"]),
        delim.join(["8", "", "10:00", "2"]),
    )
    for given_delim in (None, delim):
        jobs = read_sacct(src, delimiter=given_delim)
        assert jobs["job_id"].to_list() == ["7", "8"]
        assert jobs["duration_h"].to_list() == pytest.approx([24.0, 10 / 60])
        assert jobs["job_name"].to_list() == ["ünïcødé job", None]
    noheader = read_sacct(src.split("\n", 1)[1], fields=["JobID", "JobName", "Elapsed", "NCPUS"])
    assert noheader["cpu_cores"].to_list() == [4, 2]


def test_trailing_delimiter() -> None:
    jobs = read_sacct("JobID|Elapsed|NCPUS|\n1|00:01:00|2|\n2|00:02:00|4|\n")
    assert jobs["cpu_cores"].to_list() == [2, 4]
    jobs = read_sacct("1|00:01:00|2|\n", fields=["JobID", "Elapsed", "NCPUS"])
    assert jobs["cpu_cores"].to_list() == [2]


def test_crlf_bom_bytes_and_file_objects(tmp_path: Path) -> None:
    raw = "\ufeffJobID|Elapsed\r\n1|00:01:00\r\n\r\n".encode()
    path = tmp_path / "out.txt"
    path.write_bytes(raw)
    expected = read_sacct(path)
    assert expected["job_id"].to_list() == ["1"]
    assert read_sacct(raw).equals(expected)
    assert read_sacct(str(path)).equals(expected)
    with path.open("rb") as fh:
        assert read_sacct(fh).equals(expected)
    assert path.read_bytes() == raw


def test_missing_file() -> None:
    with pytest.raises(SacctSourceError, match="no such sacct file") as info:
        read_sacct("/nonexistent/sacct.txt")
    assert isinstance(info.value, FileNotFoundError)
    assert isinstance(info.value, FleetcarbonError)


def test_fixed_width_refused() -> None:
    fixed = text(
        "JobID           JobName  Partition    Account  AllocCPUS      State ExitCode ",
        "------------ ---------- ---------- ---------- ---------- ---------- -------- ",
        "123              train        gpu    myacct          8  COMPLETED      0:0 ",
    )
    with pytest.raises(SchemaError, match="--parsable2"):
        read_sacct(fixed)
    with pytest.raises(SchemaError, match="--parsable2"):
        read_sacct(text("JobID    Elapsed", "1        00:01:00"))


def test_empty_inputs() -> None:
    with pytest.raises(SchemaError, match="empty"):
        read_sacct("\n\n")
    assert read_sacct("\n", fields=["JobID", "Elapsed"]).height == 0
    empty = read_sacct("JobID|Elapsed|AllocTRES\n")
    assert empty.height == 0 and empty.schema["start"] == pl.Datetime("us", "UTC")


def test_missing_jobid_field() -> None:
    with pytest.raises(MissingColumnError, match="JobID"):
        read_sacct("JobName|Elapsed\nx|00:01\n")


# ----------------------------------------------------------------------------- jobs


def test_steps_merge_into_allocation() -> None:
    src = text(
        "JobID|JobIDRaw|State|ElapsedRaw|NCPUS|ConsumedEnergyRaw|AllocTRES",
        "10|10|COMPLETED|3600|16|0|cpu=16,gres/gpu:a100=2",
        "10.batch|10.batch|COMPLETED|3600|16|1800000|cpu=16",
        "10.extern|10.extern|COMPLETED|3600|16|0|cpu=16",
        "10.0|10.0|COMPLETED|3500|8|1800000|cpu=8",
        "11|11|COMPLETED|60|1|360000|cpu=1",
        "11.batch|11.batch|COMPLETED|60|1|7200000|cpu=1",
        "12_3|12_3|COMPLETED|60|1||cpu=1",
        "12_3.batch|12_3.batch|COMPLETED|60|1|3600000|cpu=1",
    )
    jobs = read_sacct(src)
    assert jobs["job_id"].to_list() == ["10", "11", "12_3"]
    # 10: allocation has no energy -> sum of steps; 11: allocation's value wins.
    assert jobs["energy_kwh"].to_list() == pytest.approx([1.0, 0.1, 1.0])
    assert jobs["cpu_cores"].to_list() == [16, 1, 1]
    assert jobs["accelerator"].to_list() == ["a100", None, None]
    assert jobs["accelerator_count"].to_list() == [2, 0, 0]
    assert jobs["array_job_id"].to_list() == [None, None, "12"]
    assert jobs["array_task"].to_list() == [None, None, "3"]


def test_orphan_steps_form_a_job() -> None:
    src = text(
        "JobID|Start|End|ElapsedRaw|NCPUS|ConsumedEnergyRaw",
        "20.batch|2024-01-01T00:00:00|2024-01-01T01:00:00|3600|4|360000",
        "20.0|2024-01-01T00:10:00|2024-01-01T02:00:00|6600|8|720000",
    )
    jobs = read_sacct(src)
    assert jobs["job_id"].to_list() == ["20"]
    assert jobs["cpu_cores"].to_list() == [8]
    assert jobs["duration_h"].to_list() == pytest.approx([6600 / 3600])
    assert jobs["energy_kwh"].to_list() == pytest.approx([0.3])
    assert jobs["end"][0] == dt.datetime(2024, 1, 1, 2, tzinfo=dt.timezone.utc)


def test_duplicate_records_keep_last() -> None:
    src = text("JobID|State|Elapsed", "5|REQUEUED|00:10", "5|COMPLETED|00:20")
    with pytest.warns(DroppedRowsWarning, match="1 earlier record"):
        jobs = read_sacct(src)
    assert jobs["state"].to_list() == ["COMPLETED"]


def test_arrays_and_hetjobs() -> None:
    src = text(
        "JobID|Elapsed",
        "123_4|00:01",
        "123_[1-3]|00:00",
        "123_[5-100%10]|00:00",
        "124+0|00:02",
        "124+1|00:02",
    )
    jobs = read_sacct(src)
    assert jobs["job_id"].to_list() == ["123_4", "123_[1-3]", "123_[5-100%10]", "124+0", "124+1"]
    assert jobs["array_job_id"].to_list() == ["123", "123", "123", None, None]
    assert expand_array_tasks(jobs["array_task"][2]) == list(range(5, 101))
    assert expand_array_tasks("[1-3,7]") == [1, 2, 3, 7]
    with pytest.raises(InvalidValueError):
        expand_array_tasks("[3-1]")


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("CANCELLED by 1234", "CANCELLED"),
        ("CANCELLED+", "CANCELLED"),
        ("TIMEOUT", "TIMEOUT"),
        ("OUT_OF_MEMORY", "OUT_OF_MEMORY"),
        ("NODE_FAIL", "NODE_FAIL"),
        ("PREEMPTED", "PREEMPTED"),
        ("RUNNING", "RUNNING"),
        ("failed", "FAILED"),
    ],
)
def test_states(raw: str, state: str) -> None:
    jobs = read_sacct(text("JobID|State|Elapsed", f"1|{raw}|00:01"))
    assert jobs["state"][0] == state and jobs["state_raw"][0] == raw


# ----------------------------------------------------------------------------- time


@pytest.mark.parametrize(
    ("elapsed", "seconds"),
    [("05:30", 330), ("00:05:30", 330), ("12:00:00", 43200), ("2-03:04:05", 183845), ("0:07", 7)],
)
def test_elapsed_formats(elapsed: str, seconds: int) -> None:
    jobs = read_sacct(text("JobID|Elapsed", f"1|{elapsed}"))
    assert jobs["duration_h"][0] * 3600 == pytest.approx(seconds)


def test_elapsed_raw_preferred_and_fallbacks() -> None:
    src = text(
        "JobID|ElapsedRaw|Elapsed|Start|End",
        "1|7200|00:00:01|2024-01-01T00:00:00|2024-01-01T00:00:05",
        "2||00:30:00|2024-01-01T00:00:00|2024-01-01T00:00:05",
        "3|||2024-01-01T00:00:00|2024-01-01T03:00:00",
        "4|600||2024-01-01T00:00:00|Unknown",
        "5|0||None|None",
    )
    jobs = read_sacct(src)
    assert jobs["duration_h"].to_list() == pytest.approx([2.0, 0.5, 3.0, 1 / 6, 0.0])
    assert jobs["end"][3] is None and jobs["start"][4] is None


def test_time_zones() -> None:
    src = text(
        "JobID|Start|End|ElapsedRaw",
        "1|2024-07-01T12:00:00|2024-07-01T13:00:00|3600",
        "2|2024-01-15T12:00:00|Unknown|60",
    )
    utc = read_sacct(src)
    assert utc["start"][0] == dt.datetime(2024, 7, 1, 12, tzinfo=dt.timezone.utc)
    ny = read_sacct(src, cluster={"timezone": "America/New_York"})
    assert ny.schema["start"] == pl.Datetime("us", "UTC")
    assert ny["start"].to_list()[:2] == [
        dt.datetime(2024, 7, 1, 16, tzinfo=dt.timezone.utc),  # EDT, UTC-4
        dt.datetime(2024, 1, 15, 17, tzinfo=dt.timezone.utc),  # EST, UTC-5
    ]
    with pytest.raises(ClusterConfigError, match="time zone"):
        read_sacct(src, cluster={"timezone": "Mars/Olympus"})


# ----------------------------------------------------------------------------- resources


@pytest.mark.parametrize(
    ("tres", "count", "accelerator"),
    [
        ("billing=8,cpu=8,gres/gpu=4,mem=64G,node=1", 4, None),
        ("cpu=8,gres/gpu:a100=2,mem=64G", 2, "a100"),
        ("cpu=8,gres/gpu:a100=2,gres/gpu=2,gres/gpumem=80G,mem=64G", 2, "a100"),
        ("cpu=8,gres/gpumem=40G,gres/gpuutil=50,mem=64G", 0, None),
        ("cpu=8,mem=64G", 0, None),
        ("", 0, None),
    ],
)
def test_tres_gpus(tres: str, count: int, accelerator: str | None) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnmappedAcceleratorWarning)
        jobs = read_sacct(text("JobID|Elapsed|AllocTRES", f"1|01:00|{tres}"))
    assert jobs["accelerator_count"][0] == count
    assert jobs["accelerator"][0] == accelerator
    assert gpu_count_from_tres(tres) == count


def test_reqtres_fallback_and_alloc_preferred() -> None:
    src = text(
        "JobID|Elapsed|ReqTRES|AllocTRES",
        "1|01:00|cpu=1,gres/gpu:h100=8|",
        "2|01:00|cpu=1,gres/gpu:h100=8|cpu=1,gres/gpu:h100=4",
    )
    jobs = read_sacct(src)
    assert jobs["accelerator_count"].to_list() == [8, 4]
    assert jobs["accelerator"].to_list() == ["h100", "h100"]


def test_accelerator_resolution_order() -> None:
    src = text(
        "JobID|Elapsed|Partition|NodeList|AllocTRES",
        "1|01:00|gpu|dgx[01-02]|gres/gpu:volta=1",  # typed gres (mapped)
        "2|01:00|gpu|dgx[03-04],gn1|gres/gpu=1",  # node glob
        "3|01:00|gpu|gn7|gres/gpu=1",  # node prefix
        "4|01:00|gpu|cn1|gres/gpu=1",  # partition
        "5|01:00|other|cn1|gres/gpu=1",  # default
        "6|01:00|gpu|cn1|cpu=4",  # no GPU: no accelerator
        "7|01:00|gpu|cn1|gres/gpu:a100=1",  # unmapped type kept as is
    )
    cfg = {
        "accelerator": "nvidia-t4-16gb",
        "gres": {"volta": "nvidia-v100-sxm2-32gb"},
        "nodes": {"dgx0*": "nvidia-h100-sxm5-80gb", "gn": "nvidia-l4-24gb"},
        "partitions": {"gpu": "nvidia-a100-sxm4-40gb"},
    }
    jobs = read_sacct(src, cluster=cfg)
    assert jobs["accelerator"].to_list() == [
        "nvidia-v100-sxm2-32gb",
        "nvidia-h100-sxm5-80gb",
        "nvidia-l4-24gb",
        "nvidia-a100-sxm4-40gb",
        "nvidia-t4-16gb",
        None,
        "a100",
    ]
    with pytest.warns(UnmappedAcceleratorWarning, match="4 GPU jobs"):
        read_sacct(src, cluster={"gres": cfg["gres"]})


@pytest.mark.parametrize(
    ("reqmem", "gb"),
    [
        ("4000M", 4000 * MIB / 1e9),
        ("4000", 4000 * MIB / 1e9),
        ("3000Mc", 3000 * MIB * 8 / 1e9),
        ("48000Mn", 48000 * MIB * 2 / 1e9),
        ("16Gn", 16 * 2**30 * 2 / 1e9),
        ("2Gc", 2 * 2**30 * 8 / 1e9),
        ("512000K", 512000 * 1024 / 1e9),
        ("1T", 2**40 / 1e9),
        ("0n", 0.0),
    ],
)
def test_memory_units(reqmem: str, gb: float) -> None:
    jobs = read_sacct(text("JobID|Elapsed|NCPUS|NNodes|ReqMem", f"1|01:00|8|2|{reqmem}"))
    assert jobs["memory_gb"][0] == pytest.approx(gb)


def test_memory_from_tres_when_no_reqmem() -> None:
    jobs = read_sacct(text("JobID|Elapsed|AllocTRES", "1|01:00|cpu=4,mem=16G,node=1"))
    assert jobs["memory_gb"][0] == pytest.approx(16 * 2**30 / 1e9)


def test_consumed_energy() -> None:
    src = text(
        "JobID|Elapsed|ConsumedEnergyRaw",
        "1|01:00|3600000",
        "2|01:00|0",
        "3|01:00|",
        "4|01:00|18446744073709551614",  # Slurm NO_VAL64
    )
    jobs = read_sacct(src)
    assert jobs["energy_kwh"][0] == pytest.approx(1.0)
    assert jobs["energy_kwh"].to_list()[1:] == [None, None, None]


def test_utf8_names() -> None:
    names = ["aàb", "数据处理", "🚀 launch", "naïve–café"]
    src = text("JobID|JobName|Elapsed", *[f"{i}|{n}|00:01" for i, n in enumerate(names)])
    assert read_sacct(src)["job_name"].to_list() == names
    assert read_sacct(src.encode())["job_name"].to_list() == names


# ----------------------------------------------------------------------------- malformed


BAD = text(
    "JobID|Elapsed|NCPUS|Start",
    "1|00:10|4|2024-01-01T00:00:00",
    "2|ten minutes|4|2024-01-01T00:00:00",
    "3|00:10|4",
    "x7|00:10|4|2024-01-01T00:00:00",
    "5|00:10|four|2024-01-01T00:00:00",
    "6|00:10|4|yesterday",
    "7|00:11|4|2024-01-01T00:00:00",
)


def test_malformed_raises_with_field_and_lines() -> None:
    with pytest.raises(InvalidValueError, match="line 4") as info:
        read_sacct(BAD)
    assert info.value.n_bad == 1
    with pytest.raises(InvalidValueError, match=r"Elapsed.*line 3"):
        read_sacct(text("JobID|Elapsed", "1|00:10", "2|ten"))


def test_malformed_dropped_with_warning() -> None:
    with pytest.warns(DroppedRowsWarning, match="dropped 5 malformed lines"):
        jobs = read_sacct(BAD, on_invalid="drop")
    assert jobs["job_id"].to_list() == ["1", "7"]


def test_bad_options() -> None:
    with pytest.raises(ValueError, match="on_invalid"):
        read_sacct("JobID|Elapsed\n", on_invalid="ignore")  # type: ignore[arg-type]
    with pytest.raises(SchemaError):
        read_sacct("JobID|Elapsed\n", delimiter="")


# ----------------------------------------------------------------------------- cluster config


def test_cluster_config_toml(tmp_path: Path) -> None:
    path = tmp_path / "cluster.toml"
    path.write_text(
        'name = "alpine"\nregion = "US"\ntimezone = "America/Denver"\n'
        '[gres]\na100 = "nvidia-a100-sxm4-80gb"\n[partitions]\ngpu = "nvidia-t4-16gb"\n'
        '[nodes]\n"gpu-*" = "nvidia-l4-24gb"\n'
    )
    cfg = load_cluster_config(path)
    assert cfg == ClusterConfig(
        name="alpine",
        region="US",
        timezone="America/Denver",
        gres={"a100": "nvidia-a100-sxm4-80gb"},
        partitions={"gpu": "nvidia-t4-16gb"},
        nodes={"gpu-*": "nvidia-l4-24gb"},
    )
    jobs = read_sacct(text("JobID|Elapsed|AllocTRES", "1|01:00|gres/gpu:a100=1"), cluster=str(path))
    assert jobs["cluster"][0] == "alpine" and jobs["region"][0] == "US"
    assert jobs["accelerator"][0] == "nvidia-a100-sxm4-80gb"


@pytest.mark.parametrize(
    "bad",
    [{"regoin": "US"}, {"region": 3}, {"gres": {"a100": 1}}, {"timezone": "Nowhere/Void"}],
)
def test_cluster_config_errors(bad: dict) -> None:
    with pytest.raises(ClusterConfigError):
        load_cluster_config(bad)


def test_cluster_config_missing_or_invalid_file(tmp_path: Path) -> None:
    with pytest.raises(ClusterConfigError, match="not found"):
        load_cluster_config(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("region = \n")
    with pytest.raises(ClusterConfigError, match="TOML"):
        load_cluster_config(broken)


# ----------------------------------------------------------------------------- estimate


def test_estimate_end_to_end_inline() -> None:
    src = text(
        "JobID|State|ElapsedRaw|Start|End|NCPUS|NNodes|ReqMem|AllocTRES|ConsumedEnergyRaw",
        "1|COMPLETED|3600|2024-03-01T10:00:00|2024-03-01T11:00:00|8|1|32Gn|cpu=8,gres/gpu:a100=4|",
        "1.batch|COMPLETED|3600|2024-03-01T10:00:00|2024-03-01T11:00:00|8|1||cpu=8|7200000",
        "2|RUNNING|1800|2024-03-01T10:30:00|Unknown|32|1|4000Mc|cpu=32,mem=128000M|",
    )
    jobs = read_sacct(src, cluster={"region": "FR", "timezone": "Europe/Paris"})
    out = fc.estimate(jobs)
    assert out["power_basis"].to_list()[0] == "metered"
    assert all(math.isfinite(x) and x > 0 for x in out["total_kgco2e"])
    assert out["duration_h"].to_list() == pytest.approx([1.0, 0.5])


# ----------------------------------------------------------------------------- fuzz

_ALPHABET = st.sampled_from([*"0123456789|_[]-,.:=/ \nabcABCMGKcn+%¦é数\t", "JobID", "Elapsed"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.one_of(st.text(max_size=200), st.lists(_ALPHABET, max_size=80).map("".join)),
    header=st.sampled_from(["", HEADER + "\n", "JobID|Elapsed\n", "JobID¦ElapsedRaw¦AllocTRES\n"]),
    on_invalid=st.sampled_from(["raise", "drop"]),
)
def test_fuzz_never_crashes(body: str, header: str, on_invalid: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = read_sacct(header + body + "\n", on_invalid=on_invalid)  # type: ignore[arg-type]
        except FleetcarbonError:
            return
    assert isinstance(out, pl.DataFrame)
    assert out.columns[:4] == ["job_id", "start", "end", "duration_h"]


@settings(max_examples=100, deadline=None)
@given(
    body=st.text(max_size=100),
    fields=st.lists(
        st.sampled_from(["JobID", "Elapsed", "NCPUS", "ReqMem", "AllocTRES", "Start"]),
        min_size=1,
        max_size=5,
    ),
)
def test_fuzz_noheader(body: str, fields: list[str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = read_sacct(body + "\n", fields=fields)
        except FleetcarbonError:
            return
    assert isinstance(out, pl.DataFrame)


# ----------------------------------------------------------------------------- hardening
# Regression tests of the hardening against hostile and mistaken input: each failed
# before the change it tests.

ENERGY_HEADER = "JobID|ElapsedRaw|NCPUS|JobName|ConsumedEnergyRaw"


def test_delimiter_in_job_name_is_rejoined_not_shifted() -> None:
    src = text(
        ENERGY_HEADER,
        "1|3600|64|sweep|3|",  # used to become 3 J of metered energy
        "2|3600|64|a|b|c|7200000",
        "3|60|1|plain|",
        "4|60|1|||",  # JobName "|", energy blank
    )
    with pytest.warns(RepairedLinesWarning, match=r"repaired 3 lines.*JobName.*lines 2, 3, 5"):
        jobs = read_sacct(src)
    assert jobs["job_name"].to_list() == ["sweep|3", "a|b|c", "plain", "|"]
    assert jobs["energy_kwh"].to_list() == [None, pytest.approx(2.0), None, None]
    assert jobs["cpu_cores"].to_list() == [64, 64, 1, 1]


def test_delimiter_in_last_or_unread_free_text_field() -> None:
    with pytest.warns(RepairedLinesWarning, match="WorkDir"):
        jobs = read_sacct(text("JobID|Elapsed|WorkDir|NCPUS", "1|00:10|/a|b|4"))
    assert jobs["cpu_cores"].to_list() == [4]
    with pytest.warns(RepairedLinesWarning, match="1 line"):
        jobs = read_sacct(text("JobID|Elapsed|JobName", "1|00:10|x|y|"))
    assert jobs["job_name"].to_list() == ["x|y|"]


def test_parsable_trailing_delimiter_with_a_delimiter_in_job_name() -> None:
    # --parsable: every line, header included, ends with the delimiter.
    src = text("JobID|JobName|Elapsed|", "1|a|b|00:10:00|", "2|c|00:20:00|", "3|d||00:30:00|")
    with pytest.warns(RepairedLinesWarning, match=r"2 lines.*lines 2, 4"):
        jobs = read_sacct(src)
    assert jobs["job_name"].to_list() == ["a|b", "c", "d|"]
    assert jobs["duration_h"].to_list() == pytest.approx([1 / 6, 1 / 3, 0.5])


def test_extra_delimiter_without_free_text_field_is_refused() -> None:
    src = text("JobID|ElapsedRaw|NCPUS|ConsumedEnergyRaw", "1|3600|64|3|", "2|60|1|")
    with pytest.raises(InvalidValueError, match="line 2") as info:
        read_sacct(src)
    assert info.value.n_bad == 1 and "none" in str(info.value)
    with pytest.warns(DroppedRowsWarning, match=r"dropped 1 malformed line.*line 2"):
        jobs = read_sacct(src, on_invalid="drop")
    assert jobs["job_id"].to_list() == ["2"]


def test_extra_delimiter_with_two_free_text_fields_is_refused() -> None:
    src = text("JobID|JobName|Elapsed|Comment", "1|a|b|00:10|c", "2|x|00:10|y")
    with pytest.raises(InvalidValueError, match=r"JobName, Comment.*line 2"):
        read_sacct(src)
    with pytest.warns(DroppedRowsWarning):
        assert read_sacct(src, on_invalid="drop")["job_id"].to_list() == ["2"]


def test_extra_delimiter_without_header() -> None:
    fields = ENERGY_HEADER.split("|")
    src = text("1|3600|64|sweep|3|", "2|60|1|x|", "3|60|1|y|")
    with pytest.warns(RepairedLinesWarning, match="line 1"):
        jobs = read_sacct(src, fields=fields)
    assert jobs["job_name"].to_list() == ["sweep|3", "x", "y"]
    assert jobs["energy_kwh"].to_list() == [None, None, None]


@pytest.mark.parametrize(
    ("header", "value", "field"),
    [
        ("AllocTRES", "gres/gpu:a100=99999999999999999999", "AllocTRES"),
        ("AllocTRES", f"gres/gpu:a={2**63 - 1},gres/gpu:b={2**63 - 1}", "AllocTRES"),
        ("AllocTRES", f"gres/gpu:a={2**52},gres/gpu:b={2**52}", "AllocTRES"),
        ("AllocTRES", f"gres/gpu={2**53}", "AllocTRES"),
        ("AllocTRES", "gres/gpu=abc", "AllocTRES"),
        ("AllocTRES", "gres/gpu:a100=2.5", "AllocTRES"),
        ("AllocTRES", "gres/gpu:a100=-1", "AllocTRES"),
        ("AllocTRES", "gres/gpu", "AllocTRES"),
        ("AllocTRES", "cpu=abc,gres/gpu=1", "AllocTRES"),
        ("AllocTRES", "cpu=99999999999999999999", "AllocTRES"),
        ("AllocTRES", "cpu=8,mem=lots", "AllocTRES"),
        ("ReqTRES", "gres/gpu:h100=1e3", "ReqTRES"),
        ("NCPUS", str(2**53), "NCPUS"),
        ("AllocCPUS", "99999999999999999999", "AllocCPUS"),
        ("ReqCPUS", "+4", "ReqCPUS"),
        ("NNodes", str(2**63), "NNodes"),
        ("ElapsedRaw", str(2**53), "ElapsedRaw"),
    ],
)
def test_counts_that_overflow_or_are_not_numbers_are_refused(
    header: str, value: str, field: str
) -> None:
    src = text(f"JobID|Elapsed|{header}", "1|00:10|cpu=1", f"2|00:10|{value}")
    src = src.replace("|cpu=1", "|1") if "TRES" not in header else src
    with pytest.raises(InvalidValueError) as info:
        read_sacct(src)
    assert info.value.column == field and info.value.n_bad == 1
    assert info.value.examples == [f"line 3: {value!r}"]
    with pytest.warns(DroppedRowsWarning, match="dropped 1 malformed line"):
        jobs = read_sacct(src, on_invalid="drop")
    assert jobs["job_id"].to_list() == ["1"]


def test_largest_counts_are_exact() -> None:
    big = 2**53 - 1
    src = text(
        "JobID|ElapsedRaw|NCPUS|AllocTRES",
        f"1|{big}|{big}|gres/gpu:a=1,gres/gpu:b={big - 1}",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnmappedAcceleratorWarning)
        jobs = read_sacct(src)
    assert jobs["cpu_cores"].to_list() == [big]
    assert jobs["accelerator_count"].to_list() == [big]
    assert jobs["duration_h"][0] == pytest.approx(big / 3600, rel=1e-15)


def test_gpu_count_from_tres_refuses_malformed_counts() -> None:
    for bad in ("gres/gpu=abc", "gres/gpu:a100=99999999999999999999", f"gres/gpu={2**53}"):
        with pytest.raises(InvalidValueError):
            gpu_count_from_tres(bad)
    assert gpu_count_from_tres(f"gres/gpu={2**53 - 1}") == 2**53 - 1


NY = {"timezone": "America/New_York"}
BERLIN = {"timezone": "Europe/Berlin"}
UTC = dt.timezone.utc


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("cluster", "start", "end", "elapsed", "start_utc", "end_utc"),
    [
        # Autumn, New York: 01:50 EDT -> 01:10 EST, 20 minutes (was "end before start").
        (
            NY,
            "2024-11-03T01:50:00",
            "2024-11-03T01:10:00",
            "1200",
            utc(2024, 11, 3, 5, 50),
            utc(2024, 11, 3, 6, 10),
        ),
        (
            NY,
            "2024-11-03T01:50:00",
            "2024-11-03T01:10:00",
            "",
            utc(2024, 11, 3, 5, 50),
            utc(2024, 11, 3, 6, 10),
        ),
        # Both in the repeated hour: earliest, unless the elapsed time says otherwise.
        (
            NY,
            "2024-11-03T01:10:00",
            "2024-11-03T01:50:00",
            "2400",
            utc(2024, 11, 3, 5, 10),
            utc(2024, 11, 3, 5, 50),
        ),
        (
            NY,
            "2024-11-03T01:10:00",
            "2024-11-03T01:50:00",
            "6000",
            utc(2024, 11, 3, 5, 10),
            utc(2024, 11, 3, 6, 50),
        ),
        # Start in the repeated hour, end after it: the elapsed time picks EST.
        (
            NY,
            "2024-11-03T01:30:00",
            "2024-11-03T02:10:00",
            "2400",
            utc(2024, 11, 3, 6, 30),
            utc(2024, 11, 3, 7, 10),
        ),
        # Spring, New York: 02:30 does not exist; shifted forward (03:30 EDT).
        (
            NY,
            "2024-03-10T02:30:00",
            "2024-03-10T03:40:00",
            "600",
            utc(2024, 3, 10, 7, 30),
            utc(2024, 3, 10, 7, 40),
        ),
        (
            NY,
            "2024-03-10T02:30:00",
            "2024-03-10T03:40:00",
            "",
            utc(2024, 3, 10, 7, 30),
            utc(2024, 3, 10, 7, 40),
        ),
        # ... unless the elapsed time says it was read with the offset after the gap.
        (
            NY,
            "2024-03-10T02:30:00",
            "2024-03-10T03:40:00",
            "4200",
            utc(2024, 3, 10, 6, 30),
            utc(2024, 3, 10, 7, 40),
        ),
        (
            NY,
            "2024-03-10T01:50:00",
            "2024-03-10T02:10:00",
            "",
            utc(2024, 3, 10, 6, 50),
            utc(2024, 3, 10, 7, 10),
        ),
        # Autumn, Berlin: 02:50 CEST -> 02:10 CET.
        (
            BERLIN,
            "2024-10-27T02:50:00",
            "2024-10-27T02:10:00",
            "1200",
            utc(2024, 10, 27, 0, 50),
            utc(2024, 10, 27, 1, 10),
        ),
        (
            BERLIN,
            "2024-10-27T02:50:00",
            "2024-10-27T02:10:00",
            "",
            utc(2024, 10, 27, 0, 50),
            utc(2024, 10, 27, 1, 10),
        ),
        # Spring, Berlin: 02:30 does not exist; shifted forward (03:30 CEST).
        (
            BERLIN,
            "2024-03-31T02:30:00",
            "2024-03-31T04:00:00",
            "1800",
            utc(2024, 3, 31, 1, 30),
            utc(2024, 3, 31, 2, 0),
        ),
        (
            BERLIN,
            "2024-03-31T01:30:00",
            "2024-03-31T02:15:00",
            "",
            utc(2024, 3, 31, 0, 30),
            utc(2024, 3, 31, 1, 15),
        ),
    ],
)
def test_dst_changes(
    cluster: dict,
    start: str,
    end: str,
    elapsed: str,
    start_utc: dt.datetime,
    end_utc: dt.datetime,
) -> None:
    src = text(
        "JobID|Start|End|ElapsedRaw",
        f"1|{start}|{end}|{elapsed}",
        "2|2024-07-01T12:00:00|2024-07-01T13:00:00|",
    )
    with pytest.warns(AmbiguousTimeWarning, match=r"^1 line .*first: line 2$"):
        jobs = read_sacct(src, cluster=cluster)
    assert jobs["start"][0] == start_utc and jobs["end"][0] == end_utc
    hours = int(elapsed) / 3600 if elapsed else (end_utc - start_utc).total_seconds() / 3600
    assert jobs["duration_h"][0] == pytest.approx(hours)
    assert jobs["duration_h"][0] >= 0
    # The summer job is not affected.
    assert jobs["duration_h"][1] == pytest.approx(1.0)


def test_dst_job_goes_through_estimate() -> None:
    src = text(
        "JobID|Start|End|ElapsedRaw|NCPUS",
        "1|2024-11-03T01:50:00|2024-11-03T01:10:00|1200|8",
        "2|2024-11-03T01:50:00|2024-11-03T01:10:00||8",
    )
    with pytest.warns(AmbiguousTimeWarning, match="^2 lines"):
        jobs = read_sacct(src, cluster={**NY, "region": "US"})
    out = fc.estimate(jobs)
    assert out["duration_h"].to_list() == pytest.approx([1 / 3, 1 / 3])


def test_no_dst_warning_for_ordinary_times() -> None:
    src = text("JobID|Start|End", "1|2024-11-03T00:50:00|2024-11-03T03:10:00")
    with warnings.catch_warnings():
        warnings.simplefilter("error", AmbiguousTimeWarning)
        jobs = read_sacct(src, cluster=NY)
    # 00:50 EDT (04:50 UTC) to 03:10 EST (08:10 UTC).
    assert jobs["duration_h"].to_list() == pytest.approx([3 + 20 / 60])


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("NCPUS", "four"),
        ("ncpus", "four"),
        ("AllocCPUS", "four"),
        ("NNodes", "2 nodes"),
        ("nnodes", "2 nodes"),
        ("ReqMem", "4 GB"),
        ("reqmem", "4 GB"),
        ("Elapsed", "ten"),
        ("ELAPSED", "ten"),
        ("ElapsedRaw", "1.5"),
        ("Start", "yesterday"),
        ("start", "yesterday"),
        ("ConsumedEnergyRaw", "lots"),
        ("consumedenergyraw", "lots"),
        ("JobIDRaw", "x7"),
        ("jobid", "x7"),
        ("AllocTRES", "gres/gpu=two"),
        ("alloctres", "gres/gpu=two"),
        ("TotalCPU", "ten"),
        ("totalcpu", "00:60"),
        ("MaxRSS", "2048 KB"),
        ("maxrss", "-1K"),
        ("Start", "2025-05-02T14:09:52+24:00"),
        ("End", "2025-05-02T14:09:52 CEST"),
    ],
)
def test_error_examples_show_the_value_whatever_the_header_spelling(
    header: str, value: str
) -> None:
    has_id = header.lower() in ("jobid", "jobidraw")
    cols = [header] if has_id else ["JobID", header]
    cols += [] if header.lower() in ("elapsed", "elapsedraw") else ["ElapsedRaw"]
    row = [value] if has_id else ["1", value]
    row += [] if header.lower() in ("elapsed", "elapsedraw") else ["60"]
    src = text("|".join(cols), "|".join(row))
    with pytest.raises(InvalidValueError) as info:
        read_sacct(src)
    assert info.value.column == header
    assert info.value.examples == [f"line 2: {value!r}"]


@pytest.mark.parametrize(
    ("elapsed", "seconds"),
    [
        ("2-05:30", 2 * 86400 + 5 * 3600 + 30 * 60),  # days-hours:minutes
        ("2-05", 2 * 86400 + 5 * 3600),  # days-hours
        ("2-05:30:15", 2 * 86400 + 5 * 3600 + 30 * 60 + 15),
        ("90", 90 * 60),  # minutes
        ("90:30", 90 * 60 + 30),  # minutes:seconds, minutes of any size
        ("30:00:00", 30 * 3600),  # hours:minutes:seconds, hours of any size
        ("1:02:03", 3723),
        ("00:15.057", 15.057),
    ],
)
def test_elapsed_follows_slurm_time_formats(elapsed: str, seconds: float) -> None:
    jobs = read_sacct(text("JobID|Elapsed", f"1|{elapsed}"))
    assert jobs["duration_h"][0] * 3600 == pytest.approx(seconds)


@pytest.mark.parametrize(
    "elapsed",
    [
        "00:60",
        "01:60:00",
        "01:00:60",
        "1-00:60",
        "1-00:00:60",
        "1-24:00:00",
        "2-",
        "-5",
        "1-2-3",
        "1:2:3:4",
        "1.5",
        "1-02:03.5",
        "٣:00",
    ],
)
def test_elapsed_out_of_range_or_malformed_is_refused(elapsed: str) -> None:
    with pytest.raises(InvalidValueError, match="line 2") as info:
        read_sacct(text("JobID|Elapsed", f"1|{elapsed}"))
    assert info.value.column == "Elapsed"
    assert info.value.examples == [f"line 2: {elapsed!r}"]


def test_per_cpu_memory_without_ncpus() -> None:
    gb = 4000 * MIB / 1e9
    with pytest.warns(UserWarning, match=r"^1 line .*per-CPU ReqMem.*line 2"):
        jobs = read_sacct(text("JobID|Elapsed|ReqMem", "1|01:00|4000Mc", "2|01:00|4000M"))
    assert jobs["memory_gb"].to_list() == [None, pytest.approx(gb)]
    # Other CPU counts stand in for NCPUS: AllocCPUS, the TRES cpu= entry, ReqCPUS.
    jobs = read_sacct(text("JobID|Elapsed|AllocCPUS|ReqMem", "1|01:00|4|4000Mc"))
    assert jobs["memory_gb"].to_list() == [pytest.approx(4 * gb)]
    src = text(
        "JobID|Elapsed|ReqCPUS|AllocTRES|ReqTRES|ReqMem",
        "1|01:00|2|cpu=8,mem=1G|cpu=6|4000Mc",
        "2|01:00|2||cpu=6|4000Mc",
        "3|01:00|2|||4000Mc",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jobs = read_sacct(src)
    assert jobs["memory_gb"].to_list() == pytest.approx([8 * gb, 6 * gb, 2 * gb])


@pytest.mark.parametrize("value", ["inf", "-inf", "Infinity", "nan", "NaN", "1e400"])
def test_energy_inf_and_nan_are_refused(value: str) -> None:
    with pytest.raises(InvalidValueError) as info:
        read_sacct(text("JobID|Elapsed|ConsumedEnergyRaw", f"1|01:00|{value}"))
    assert info.value.column == "ConsumedEnergyRaw"
    assert info.value.examples == [f"line 2: {value!r}"]


@pytest.mark.parametrize("bad", ["ignore", "RAISE", None, 1])
def test_bad_on_invalid_is_a_parameter_error(bad: object) -> None:
    with pytest.raises(ParameterError, match="on_invalid"):
        read_sacct("JobID|Elapsed\n", on_invalid=bad)  # type: ignore[arg-type]


def test_carriage_return_line_breaks() -> None:
    lf = read_sacct("JobID|Elapsed\n1|01:00\n2|02:00\n")
    assert read_sacct("JobID|Elapsed\r1|01:00\r2|02:00\r").equals(lf)
    assert read_sacct(b"JobID|Elapsed\r1|01:00\r\n2|02:00\n").equals(lf)
    # Line numbers count every kind of line break.
    with pytest.raises(InvalidValueError, match="line 4: 'ten'"):
        read_sacct("JobID|Elapsed\r1|01:00\r\n2|02:00\r3|ten\r")


@pytest.mark.parametrize("delimiter", [5, b"|", ["|"], ""])
def test_bad_delimiter_on_one_line_text(delimiter: object) -> None:
    # A one-line text used to reach `delimiter in source` first: a raw TypeError.
    with pytest.raises(SchemaError, match="delimiter"):
        read_sacct("JobID|Elapsed", delimiter=delimiter)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- real logs


@pytest.mark.parametrize(
    ("value", "instant"),
    [
        ("2025-05-02T14:09:52+02:00", utc(2025, 5, 2, 12, 9, 52)),
        ("2025-05-02T14:09:52+0200", utc(2025, 5, 2, 12, 9, 52)),
        ("2025-05-02T14:09:52+02", utc(2025, 5, 2, 12, 9, 52)),
        ("2025-05-02T14:09:52Z", utc(2025, 5, 2, 14, 9, 52)),
        ("2025-05-02T14:09:52-05:30", utc(2025, 5, 2, 19, 39, 52)),
        ("2025-05-02T14:09:52+00:00", utc(2025, 5, 2, 14, 9, 52)),
    ],
)
def test_times_with_a_utc_offset_are_instants(value: str, instant: dt.datetime) -> None:
    src = text("JobID|Start|End|ElapsedRaw", f"1|{value}|{value}|0", "2|Unknown|Unknown|0")
    for cluster in (None, NY, BERLIN):
        jobs = read_sacct(src, cluster=cluster)
        assert jobs["start"].to_list() == [instant, None]
        assert jobs["end"].to_list() == [instant, None]


def test_offset_and_wall_clock_times_mix() -> None:
    src = text(
        "JobID|Start|End|ElapsedRaw",
        # An offset time needs no zone; a wall-clock time on the same line takes it.
        "1|2024-07-01T12:00:00-04:00|2024-07-01T13:00:00|3600",
        # In the autumn fold the offset fixes Start; End is resolved to agree with 1200 s.
        "2|2024-11-03T01:50:00-04:00|2024-11-03T01:10:00|1200",
        # Every line of an export with offsets (SLURM_TIME_FORMAT=%FT%T%z).
        "3|2024-11-03T01:50:00-0400|2024-11-03T01:10:00-0500|",
    )
    with pytest.warns(AmbiguousTimeWarning, match="^1 line .*line 3$"):
        jobs = read_sacct(src, cluster=NY)
    assert jobs["start"].to_list() == [
        utc(2024, 7, 1, 16),
        utc(2024, 11, 3, 5, 50),
        utc(2024, 11, 3, 5, 50),
    ]
    assert jobs["end"].to_list() == [
        utc(2024, 7, 1, 17),
        utc(2024, 11, 3, 6, 10),
        utc(2024, 11, 3, 6, 10),
    ]
    assert jobs["duration_h"].to_list() == pytest.approx([1.0, 1 / 3, 1 / 3])


NEVER_STARTED = text(
    "JobID|State|Partition|ElapsedRaw|Start|End|NCPUS|NNodes|ReqMem|AllocTRES|ReqTRES",
    "1|PENDING|gpu|0|Unknown|Unknown|8|1|16G||cpu=8,gres/gpu=2",
    "2|CANCELLED by 123|gpu|0|None|2025-05-02T13:00:00|8|1|16G||cpu=8,gres/gpu=1",
    "3|COMPLETED|gpu|0|2025-05-02T13:00:00|2025-05-02T13:00:00|0|0|0n||gres/gpu=2",
    "4|PENDING|gpu||||4|1|4G||cpu=4",
    # Started and ran, though the Start is unknown: the elapsed time says so.
    "5|COMPLETED|gpu|600|Unknown|Unknown|8|1|16G|cpu=8,gres/gpu:a100=1|",
    # Started, ran 0 s on 8 CPUs.
    "6|CANCELLED by 1|gpu|0|2025-05-02T13:00:00|2025-05-02T13:00:00|8|1|16G|cpu=8|",
)


def test_jobs_that_never_started() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnmappedAcceleratorWarning)
        jobs = read_sacct(NEVER_STARTED)
    assert jobs["started"].to_list() == [False, False, False, False, True, True]
    assert jobs["state"].to_list() == [
        "PENDING",
        "CANCELLED",
        "COMPLETED",
        "PENDING",
        "COMPLETED",
        "CANCELLED",
    ]
    assert jobs["duration_h"].to_list() == pytest.approx([0, 0, 0, 0, 1 / 6, 0])
    assert jobs["accelerator_count"].to_list() == [0, 0, 0, 0, 1, 0]
    assert jobs["accelerator"].to_list() == [None, None, None, None, "a100", None]
    # No meter reading: they are modelled, at zero hours.
    assert jobs["energy_kwh"].to_list() == [None] * 6
    # Their request is kept.
    assert jobs["cpu_cores"].to_list() == [8, 8, 0, 4, 8, 8]


def test_jobs_that_never_started_go_through_estimate() -> None:
    # Untyped gres on never-started jobs used to make estimate raise for the whole file.
    jobs = read_sacct(NEVER_STARTED, cluster={"region": "FR"})
    out = fc.estimate(jobs)
    by_id = dict(zip(out["job_id"], out["total_kgco2e"], strict=True))
    assert [by_id[k] for k in "12346"] == [0.0] * 5
    assert by_id["5"] > 0
    summary = fc.summarize(out, by="started")
    assert summary.filter(~pl.col("started"))["total_kgco2e"].item() == 0.0


@pytest.mark.parametrize(
    ("header", "row", "cores"),
    [
        ("NCPUS|AllocCPUS|ReqCPUS|AllocTRES|ReqTRES", "8|6|4|cpu=2|cpu=1", 8),
        ("NCPUS|AllocCPUS|ReqCPUS|AllocTRES|ReqTRES", "|6|4|cpu=2|cpu=1", 6),
        ("AllocCPUS|ReqCPUS|AllocTRES|ReqTRES", "|4|cpu=2|cpu=1", 2),
        ("ReqCPUS|AllocTRES|ReqTRES", "4|gres/gpu=1|cpu=1", 1),
        ("ReqCPUS|AllocTRES|ReqTRES", "4||", 4),
        ("ReqCPUS", "12", 12),
        ("AllocTRES", "billing=4,cpu=4,mem=1G", 4),
        ("ReqTRES", "cpu=16,mem=1G", 16),
        ("AllocCPUS", "3", 3),
        ("NCPUS|ReqCPUS", "0|4", 0),
        ("NCPUS", "", None),
    ],
)
def test_cpu_count_chain(header: str, row: str, cores: int | None) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnmappedAcceleratorWarning)
        jobs = read_sacct(text(f"JobID|ElapsedRaw|{header}", f"1|60|{row}"))
    assert jobs["cpu_cores"].to_list() == [cores]


def test_total_cpu_and_max_rss() -> None:
    src = text(
        "JobID|ElapsedRaw|TotalCPU|MaxRSS",
        "1|3600|1-02:03:04|",
        "1.batch|3600|1-00:00:00|2048K",
        "1.0|3600|02:03:04|1.5G",
        "2|60|12:34.567|0",
        "3|60||",
        "3.0|60|00:30|512M",
        "3.1|60|00:30|1024",
        "4.batch|60|01:00|1M",
        "4.0|60|02:00|3M",
    )
    jobs = read_sacct(src)
    assert jobs["job_id"].to_list() == ["1", "2", "3", "4"]
    # The allocation's TotalCPU (it sums its steps'), else the steps' sum.
    assert jobs["cpu_time_h"].to_list() == pytest.approx(
        [(86400 + 2 * 3600 + 3 * 60 + 4) / 3600, (12 * 60 + 34.567) / 3600, 1 / 60, 3 / 60]
    )
    # MaxRSS is per task: the largest of the job's steps; no unit is bytes.
    assert jobs["max_rss_gb"].to_list() == pytest.approx(
        [1.5 * 2**30 / 1e9, 0.0, 512 * MIB / 1e9, 3 * MIB / 1e9]
    )
    bare = read_sacct(text("JobID|ElapsedRaw", "1|60"))
    assert bare["cpu_time_h"].to_list() == [None] and bare["max_rss_gb"].to_list() == [None]


@pytest.mark.parametrize(
    ("field", "value"),
    [("TotalCPU", "1:2:3:4"), ("TotalCPU", "-00:10"), ("MaxRSS", "1.5GB"), ("MaxRSS", "lots")],
)
def test_malformed_total_cpu_and_max_rss(field: str, value: str) -> None:
    src = text(f"JobID|ElapsedRaw|{field}", "1|60|", f"2|60|{value}")
    with pytest.raises(InvalidValueError) as info:
        read_sacct(src)
    assert info.value.column == field and info.value.examples == [f"line 3: {value!r}"]
    with pytest.warns(DroppedRowsWarning, match="dropped 1 malformed line"):
        assert read_sacct(src, on_invalid="drop")["job_id"].to_list() == ["1"]


@pytest.mark.parametrize(
    ("fields", "row", "memory", "rss"),
    [
        ("NCPUS|ReqMem|MaxRSS", "1|6760Mc|2048K", 6.76, 2.048e-3),
        ("NNodes|ReqMem|MaxRSS", "1|250Gn|1.5G", 250.0, 1.5),
        ("ReqMem", "2252800K", 2.2528, None),
        ("ReqMem", "4000", 4.0, None),
        ("AllocTRES", "cpu=4,mem=16G", 16.0, None),
        ("ReqTRES|MaxRSS", "mem=3000M|1024", 3.0, 1.024e-6),
    ],
)
def test_decimal_memory_units(fields: str, row: str, memory: float, rss: float | None) -> None:
    src = text(f"JobID|ElapsedRaw|{fields}", f"1|60|{row}")
    decimal = read_sacct(src, memory_units="decimal")
    assert decimal["memory_gb"].to_list() == [pytest.approx(memory)]
    assert decimal["max_rss_gb"].to_list() == [None if rss is None else pytest.approx(rss)]
    # The default stays Slurm's binary units.
    binary = read_sacct(src)
    assert binary.equals(read_sacct(src, memory_units="binary"))
    assert binary["memory_gb"][0] > decimal["memory_gb"][0]


@pytest.mark.parametrize("bad", ["si", "BINARY", None, 2])
def test_bad_memory_units(bad: object) -> None:
    with pytest.raises(ParameterError, match="memory_units"):
        read_sacct("JobID|Elapsed\n1|01:00\n", memory_units=bad)  # type: ignore[arg-type]
