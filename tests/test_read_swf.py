"""read_swf: Standard Workload Format logs of the Parallel Workloads Archive.

The samples are real PWA logs (tests/data/SOURCES.md); the NASA iPSC/860 log is
whole, so its own header (MaxJobs, StartTime, EndTime, MaxProcs) is the oracle.
Partial executions, malformed lines and duplicates are written from the SWF
specification (swf.html), since no sample holds them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zoneinfo

import polars as pl
import pytest
from conftest import REPO

import fleetcarbon as fc
from fleetcarbon.errors import DroppedRowsWarning, InvalidValueError, ParameterError, SchemaError
from fleetcarbon.io import read_swf, read_swf_header
from fleetcarbon.io.swf import OUTPUT_SCHEMA

DATA = REPO / "tests" / "data"
NASA = DATA / "NASA-iPSC-1993-3.1-cln.swf.gz"
HPC2N = DATA / "HPC2N-2002-2.2-cln-head300.swf"
LCG = DATA / "LCG-2005-1-head200.swf"
UTC = dt.timezone.utc


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def header_time(text: str, zone: str) -> dt.datetime:
    """A header StartTime/EndTime ('Fri Oct 01 00:00:03 PDT 1993'), read in the log's zone."""
    words = text.split()
    naive = dt.datetime.strptime(" ".join([*words[:4], words[5]]), "%a %b %d %H:%M:%S %Y")
    return naive.replace(tzinfo=zoneinfo.ZoneInfo(zone)).astimezone(UTC)


def test_the_whole_nasa_log_agrees_with_its_own_header():
    before = digest(NASA)
    jobs = read_swf(NASA)
    header = read_swf_header(NASA)
    assert jobs.schema == pl.Schema(OUTPUT_SCHEMA)
    assert jobs.height == header.integer("MaxJobs") == header.integer("MaxRecords") == 18_239
    zone = header.get("TimeZoneString")
    assert zone == "US/Pacific"
    # UnixStartTime is the header's StartTime, and the first job was submitted then.
    start = header_time(header.get("StartTime"), zone)
    assert header.unix_start_time == int(start.timestamp()) == 749_458_803
    assert jobs["submit"][0] == start
    # EndTime is when the last job ended: submit + run (the log has no wait times).
    end = header_time(header.get("EndTime"), zone)
    run = pl.duration(microseconds=(pl.col("duration_h") * 3.6e9).round(0).cast(pl.Int64))
    assert jobs.select((pl.col("submit") + run).max()).item() == end
    assert jobs["cpu_cores"].max() == header.integer("MaxProcs") == 128
    assert jobs["job_id"].is_unique().all()
    # "-1 = unknown": no wait times, so no start, and no status.
    assert jobs["start"].null_count() == jobs.height and jobs["wait_h"].null_count() == jobs.height
    assert jobs["state"].null_count() == jobs.height
    assert header.queues == {"0": "interactive", "1": "batch"}
    assert "times are actually start times" in header.get("Note")
    assert digest(NASA) == before, "the source file must not change"


def test_hpc2n_lines_read_field_by_field():
    jobs = read_swf(HPC2N, cluster={"region": "SE", "name": "seth"})
    assert jobs.height == 300
    # Line 1 of the data: 1 0 308434 31405 30 31405 -1 30 37980 -1 1 1 1 -1 -1 1 -1 -1
    first = jobs.row(0, named=True)
    epoch = dt.datetime.fromtimestamp(1_027_839_845, UTC)
    assert first["job_id"] == 1
    assert first["submit"] == epoch
    assert first["start"] == epoch + dt.timedelta(seconds=308_434)
    assert first["end"] == first["start"] + dt.timedelta(seconds=31_405)
    assert first["duration_h"] == pytest.approx(31_405 / 3600)
    assert first["wait_h"] == pytest.approx(308_434 / 3600)
    assert first["cpu_cores"] == first["requested_cores"] == 30
    assert first["cpu_time_h"] == pytest.approx(31_405 * 30 / 3600)
    assert first["requested_time_h"] == pytest.approx(37_980 / 3600)
    assert first["memory_gb"] is None  # -1: unknown
    assert (first["status"], first["state"]) == (1, "COMPLETED")
    assert (first["user"], first["group"], first["queue"]) == ("1", "1", None)
    assert (first["partition"], first["partition_name"]) == ("1", "DEFAULT")
    assert (first["region"], first["cluster"], first["cpu"]) == ("SE", "seth", None)
    # A fractional average CPU time (job 12: 552.21 s on 40 processors).
    job12 = jobs.filter(pl.col("job_id") == 12).row(0, named=True)
    assert job12["cpu_time_h"] == pytest.approx(552.21 * 40 / 3600)
    # The header's StartTime (CEST) is UnixStartTime.
    header = read_swf_header(HPC2N)
    assert header_time(header.get("StartTime"), header.get("TimeZoneString")) == epoch


def test_jobs_that_never_ran_are_kept_with_zero_hours():
    jobs = read_swf(HPC2N, cluster={"region": "SE"})
    never = jobs.filter(pl.col("status").is_null())  # run time -1, status -1 in this log
    assert never.height > 0
    assert (never["duration_h"] == 0).all()
    assert never["end"].null_count() == never.height
    assert never["start"].null_count() == 0, "their wait time is known"
    est = fc.estimate(jobs)
    assert est.height == jobs.height
    assert est["total_kgco2e"].is_finite().all()
    zero = est.filter(pl.col("duration_h") == 0)
    assert (zero["total_kgco2e"] == 0).all(), "no time, no carbon"
    assert est.filter(pl.col("duration_h") > 0)["total_kgco2e"].min() > 0


def test_lcg_partitions_are_named_from_the_header():
    header = read_swf_header(LCG)
    assert len(header.partitions) == header.integer("MaxPartitions") == 170
    jobs = read_swf(LCG)
    assert jobs.height == 200
    named = jobs.select("partition", "partition_name").unique().sort("partition")
    assert dict(named.iter_rows()) == {
        p: header.partitions[p] for p in named["partition"].to_list()
    }
    assert jobs.filter(pl.col("partition") == "2")["partition_name"][0] == "lancs.ac.uk"


def test_the_cluster_config_gives_cpu_region_datacenter():
    log = "; UnixStartTime: 0\n1 0 0 3600 8 -1 -1 8 -1 -1 1 1 1 -1 1 1 -1 -1\n"
    config = {"region": "DE", "datacenter": "generic", "cpu": "intel-xeon-gold-6148"}
    jobs = read_swf(log, cluster=config)
    row = jobs.row(0, named=True)
    assert (row["cpu"], row["region"], row["datacenter"]) == (
        "intel-xeon-gold-6148",
        "DE",
        "generic",
    )
    generic = read_swf(log, cluster={"region": "DE"})
    assert generic["cpu"][0] is None, "no cpu entry: null, which estimate reads as generic"
    est = fc.estimate(pl.concat([jobs, generic.with_columns(job_id=pl.lit(2, pl.Int64))]))
    assert est["total_kgco2e"][0] != est["total_kgco2e"][1]


def test_memory_is_kilobytes_per_processor():
    # Requested 2,000,000 KB and used 1,000,000 KB per processor, on 4 processors.
    log = "1 0 0 60 4 30 1000000 4 120 2000000 1 1 1 -1 1 1 -1 -1\n"
    row = read_swf(log).row(0, named=True)
    assert row["memory_gb"] == pytest.approx(2_000_000 * 1024 * 4 / 1e9)
    assert row["requested_memory_gb"] == pytest.approx(2_000_000 * 1024 * 4 / 1e9)
    assert row["used_memory_gb"] == pytest.approx(1_000_000 * 1024 * 4 / 1e9)
    assert row["cpu_time_h"] == pytest.approx(30 * 4 / 3600)
    # Used memory where none was requested; requested processors where none were allocated.
    row = read_swf("1 0 0 60 -1 -1 1000000 6 -1 -1 1 1 1 -1 1 1 -1 -1\n").row(0, named=True)
    assert row["cpu_cores"] == 6
    assert row["memory_gb"] == pytest.approx(1_000_000 * 1024 * 6 / 1e9)
    assert row["submit"] is None, "no UnixStartTime (a model): no absolute times"
    assert read_swf("1 0 0 60 -1 -1 -1 -1 -1 -1 1 1 1 -1 1 1 -1 -1\n")["cpu_cores"][0] is None


def test_states_follow_the_status_codes():
    lines = [
        f"{i} {i} 0 60 1 -1 -1 1 -1 -1 {status} 1 1 -1 1 1 -1 -1"
        for i, status in enumerate([0, 1, 5, -1], start=1)
    ]
    jobs = read_swf("\n".join(lines) + "\n")
    assert jobs["state"].to_list() == ["FAILED", "COMPLETED", "CANCELLED", None]
    assert jobs["status"].to_list() == [0, 1, 5, None]


def test_partial_executions_of_checkpointed_jobs():
    """Written from swf.html's usage note: a summary line, then one line per part."""
    log = (
        "; UnixStartTime: 1000000000\n"
        # Job 1: a summary line (status 1) and its two parts (2, then 3).
        "1 0 10 500 8 400 -1 8 -1 -1 1 1 1 -1 1 1 -1 -1\n"
        "1 0 10 200 8 150 -1 8 -1 -1 2 1 1 -1 1 1 -1 -1\n"
        "1 0 400 300 8 250 -1 8 -1 -1 3 1 1 -1 1 1 -1 -1\n"
        # Job 2: parts only (the last one failed): merged into one job.
        "2 5 5 100 4 90 -1 4 -1 -1 2 2 1 -1 1 1 -1 -1\n"
        "2 5 205 50 4 40 -1 4 -1 -1 4 2 1 -1 1 1 -1 -1\n"
        "3 9 1 60 2 -1 -1 2 -1 -1 1 3 1 -1 1 1 -1 -1\n"
    )
    jobs = read_swf(log)
    assert jobs["job_id"].to_list() == [1, 2, 3]
    one, two = jobs.row(0, named=True), jobs.row(1, named=True)
    assert one["duration_h"] == pytest.approx(500 / 3600) and one["state"] == "COMPLETED"
    assert two["duration_h"] == pytest.approx(150 / 3600)
    assert two["cpu_time_h"] == pytest.approx(130 * 4 / 3600)
    assert two["state"] == "FAILED"
    epoch = dt.datetime.fromtimestamp(1_000_000_000, UTC)
    assert two["start"] == epoch + dt.timedelta(seconds=10)


def test_a_job_number_on_two_summary_lines_keeps_the_last():
    log = (
        "7 0 0 60 1 -1 -1 1 -1 -1 1 1 1 -1 1 1 -1 -1\n7 9 0 90 2 -1 -1 2 -1 -1 1 1 1 -1 1 1 -1 -1\n"
    )
    with pytest.warns(DroppedRowsWarning, match=r"1 record .* superseded .* line 1"):
        jobs = read_swf(log)
    assert jobs.height == 1 and jobs["cpu_cores"][0] == 2


BAD = (
    "; UnixStartTime: 0\n"
    "1 0 0 60 4 -1 -1 4 -1 -1 1 1 1 -1 1 1 -1 -1\n"
    "2 0 0 60 4 -1 -1 4 -1 -1 1 1 1 -1 1 1 -1\n"  # 17 fields
    "3 0 0 6O 4 -1 -1 4 -1 -1 1 1 1 -1 1 1 -1 -1\n"  # letter O in the run time
    "4 0 0 60 2.5 -1 -1 4 -1 -1 1 1 1 -1 1 1 -1 -1\n"  # half a processor
    "5 0 -7 60 4 -1 -1 4 -1 -1 1 1 1 -1 1 1 -1 -1\n"  # negative, not -1
    "6 0 0 60 4 -1 -1 4 -1 -1 9 1 1 -1 1 1 -1 -1\n"  # no such status
    "7 0 0 60 4 -1 -1 4 -1 -1 1 1 1 -1 1 1 -1 -1\n"
)


def test_malformed_lines_raise_naming_field_count_and_lines():
    with pytest.raises(InvalidValueError, match=r"line.*18 whitespace-separated") as info:
        read_swf(BAD)
    assert info.value.n_bad == 1 and info.value.examples[0].startswith("line 3:")
    lines = BAD.splitlines()
    # Each bad line alone (after the header): the field, and the value as written.
    for line, field, value in [
        (4, "Run Time", "6O"),
        (5, "Number of Allocated Processors", "2.5"),
        (6, "Wait Time", "-7"),
        (7, "Status", "9"),
    ]:
        with pytest.raises(InvalidValueError, match=field) as info:
            read_swf(f"{lines[0]}\n{lines[line - 1]}\n{lines[line - 1]}\n")
        assert info.value.column == field
        assert info.value.n_bad == 2
        assert info.value.examples == [f"line 2: {value!r}", f"line 3: {value!r}"]


def test_malformed_lines_dropped_with_a_warning():
    with pytest.warns(DroppedRowsWarning, match=r"dropped 5 malformed lines") as record:
        jobs = read_swf(BAD, on_invalid="drop")
    message = str(record[0].message)
    assert "lines 3, 4, 5, 6, 7" in message and "1 with Status" in message
    assert jobs["job_id"].to_list() == [1, 7]


def test_sources_text_bytes_file_objects_and_errors(tmp_path):
    text = HPC2N.read_text()
    expected = read_swf(HPC2N)
    assert read_swf(text).equals(expected)
    assert read_swf(text.encode()).equals(expected)
    assert read_swf(io.BytesIO(text.encode())).equals(expected)
    assert read_swf(io.StringIO(text)).equals(expected)
    assert read_swf(str(HPC2N)).equals(expected)
    crlf = tmp_path / "crlf.swf"
    crlf.write_bytes(text.replace("\n", "\r\n").encode())
    assert read_swf(crlf).equals(expected)
    with pytest.raises(SchemaError, match="no such file"):
        read_swf(tmp_path / "missing.swf")
    with pytest.raises(SchemaError, match="binary"):
        read_swf(b"\x00\x01\x02 not a log")
    with pytest.raises(SchemaError, match="must be a path"):
        read_swf(42)  # type: ignore[arg-type]
    empty = read_swf("; Version: 2.2\n; MaxJobs: 0\n")
    assert empty.height == 0 and empty.schema == pl.Schema(OUTPUT_SCHEMA)


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        read_swf(HPC2N, None)  # type: ignore[misc]
    with pytest.raises(ParameterError, match="on_invalid"):
        read_swf(HPC2N, on_invalid="skip")  # type: ignore[arg-type]
    assert "read_swf" in fc.io.__all__
