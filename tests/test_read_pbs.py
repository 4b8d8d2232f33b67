"""read_pbs: PBS Pro, OpenPBS and Torque accounting logs.

Real samples (tests/data/SOURCES.md): Open XDMoD's PBS test log, with XDMoD's own
parse of it as the oracle, and records of NCAR's Casper cluster (PBS Pro). The
time, size and host-list forms, malformed records and duplicates are written from
the PBS and Torque documentation of the accounting log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import warnings

import polars as pl
import pytest
from conftest import REPO

import fleetcarbon as fc
from fleetcarbon.errors import DroppedRowsWarning, InvalidValueError, ParameterError, SchemaError
from fleetcarbon.io import read_pbs
from fleetcarbon.io.pbs import OUTPUT_SCHEMA, nodes_spec_counts
from fleetcarbon.io.sacct import UnmappedAcceleratorWarning

DATA = REPO / "tests" / "data"
XDMOD = DATA / "xdmod-pbs-accounting.log"
CASPER = DATA / "ncar-casper-pbs-accounting.log"
UTC = dt.timezone.utc


def xdmod_expected() -> list[dict]:
    """XDMoD's parse, in log order (the JSON's keys are the cases' names)."""
    return list(json.loads((DATA / "xdmod-pbs-accounting.expected.json").read_text()).values())


def read_quietly(*args, **kwargs) -> pl.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnmappedAcceleratorWarning)
        return read_pbs(*args, **kwargs)


def test_xdmod_sample_agrees_with_xdmods_own_parse():
    before = hashlib.sha256(XDMOD.read_bytes()).hexdigest()
    jobs = read_quietly(XDMOD)
    assert jobs.schema == pl.Schema(OUTPUT_SCHEMA)
    expected = xdmod_expected()
    assert jobs.height == len(expected) == 9
    for got, want in zip(jobs.iter_rows(named=True), expected, strict=True):
        name = got["job_id"]
        # XDMoD keeps the sequence number of the id; we keep the id as logged.
        assert name.split(".")[0] == want["job_id"], name
        assert got["queue"] == want["queue"] and got["user"] == want["user"], name
        assert got["group"] == want["groupname"], name
        assert got["start"] == dt.datetime.fromtimestamp(int(want["start"]), UTC), name
        assert got["end"] == dt.datetime.fromtimestamp(int(want["end"]), UTC), name
        assert got["duration_h"] * 3600 == pytest.approx(want["resources_used_walltime"]), name
        assert got["exit_status"] == int(want["exit_status"]), name
        assert got["accelerator_count"] == int(want["resources_used_gpus"]), name
        if "resources_used_cput" in want:
            assert got["cpu_time_h"] * 3600 == pytest.approx(want["resources_used_cput"]), name
        if "node_list" in want:
            assert got["nodes"] == want["node_list"], name
        if "resources_used_cpus" in want and want["job_id"] != "3073070":
            assert got["cpu_cores"] == want["resources_used_cpus"], name
        if want.get("resources_used_mem") is not None:
            assert got["used_memory_gb"] * 1e9 == pytest.approx(want["resources_used_mem"]), name
        if "resource_list_mem" in want:
            assert got["memory_gb"] * 1e9 == pytest.approx(want["resource_list_mem"]), name
    # Where we differ from XDMoD, on purpose: the PBS Pro job that ran 48 CPUs on an
    # anonymized exec_host "[hostname_2]/0*0" (XDMoD counts 2; resources_used.ncpus=48),
    # and "resources_used.mem=12.27M", which XDMoD leaves null and we read as 12.27 MiB.
    ngpus = jobs.filter(pl.col("job_id") == "3073070.[hostname_1]").row(0, named=True)
    assert ngpus["cpu_cores"] == 48
    quirk = jobs.filter(pl.col("job_id") == "10711").row(0, named=True)
    assert quirk["used_memory_gb"] == pytest.approx(12.27 * 1024**2 / 1e9)
    assert hashlib.sha256(XDMOD.read_bytes()).hexdigest() == before


def test_node_specs_count_gpus_as_xdmod_does():
    cases = json.loads((DATA / "xdmod-pbs-nodes-gpu-count.json").read_text())
    frame = pl.DataFrame({"spec": [c[0] for c in cases]})
    cores, gpus = nodes_spec_counts(pl.col("spec"))
    got = frame.select(gpus.fill_null(0).alias("gpus"), cores.alias("cores"))
    assert got["gpus"].to_list() == [c[1] for c in cases]
    counted = dict(zip(frame["spec"], got["cores"], strict=True))
    assert counted["4:ppn=16"] == 64 and counted["node:ppn=32:gpus=2"] == 32
    assert counted["2"] == 2 and counted["node"] == 1


def test_casper_pbs_pro_records():
    jobs = read_pbs(CASPER, cluster={"region": "US-CO", "gres": {"gp100": "gp100"}})
    # Only E records are jobs: C, a, Y, A, R and D records are skipped.
    assert jobs["job_id"].to_list() == [
        "4413086.casper-pbs",
        "2281314.casper-pbs",
        "2281981.casper-pbs",
    ]
    gpu, one, two = jobs.iter_rows(named=True)
    # pbsparse's own assertions: resources_used ncpus == 1, and the nodes of the 2-node job.
    assert gpu["cpu_cores"] == 1
    assert two["nodes"] == "crhtc67,crhtc70" and two["cpu_cores"] == 2
    assert gpu["accelerator"] == "gp100" and gpu["accelerator_count"] == 1
    assert gpu["duration_h"] == pytest.approx((55 * 60 + 26) / 3600)
    assert gpu["cpu_time_h"] == pytest.approx(176 / 3600)
    assert gpu["memory_gb"] == pytest.approx(10 * 1024**3 / 1e9)  # Resource_List.mem=10gb
    assert gpu["used_memory_gb"] == pytest.approx(1_243_224 * 1024 / 1e9)
    assert gpu["account"] == "SCSG0001", "the quotes are not part of the value"
    assert gpu["submit"] == dt.datetime.fromtimestamp(1_744_817_013, UTC)
    assert (gpu["exit_status"], gpu["state"]) == (271, "FAILED")
    assert (one["state"], one["queue"], one["job_name"]) == ("COMPLETED", "htc", "qcmd")
    assert two["memory_gb"] == pytest.approx(20 * 1024**3 / 1e9)
    assert jobs["region"].to_list() == ["US-CO"] * 3
    # An unmapped GPU type is kept as logged (the accelerators table may know it).
    assert read_pbs(CASPER)["accelerator"][0] == "gp100"


def test_gpu_types_from_the_cluster_config():
    log = (
        "03/01/2025 10:00:00;E;1.pbs;queue=gpu start=1740819600 end=1740823200 "
        "exec_host=dgx01/0*8 Resource_List.ngpus=4 Exit_status=0\n"
        "03/01/2025 10:00:00;E;2.pbs;queue=gpu start=1740819600 end=1740823200 "
        "exec_host=n17/0*8 Resource_List.ngpus=2 Exit_status=0\n"
        "03/01/2025 10:00:00;E;3.pbs;queue=other start=1740819600 end=1740823200 "
        "exec_host=n18/0*8 Resource_List.ngpus=1 Exit_status=0\n"
    )
    config = {
        "region": "FR",
        "nodes": {"dgx*": "nvidia-h100-sxm5-80gb"},
        "partitions": {"gpu": {"accelerator": "nvidia-a100-sxm4-80gb", "gpus_per_node": 4}},
    }
    with pytest.warns(UnmappedAcceleratorWarning, match="1 GPU job "):
        jobs = read_pbs(log, cluster=config)
    assert jobs["accelerator"].to_list() == ["nvidia-h100-sxm5-80gb", "nvidia-a100-sxm4-80gb", None]
    jobs = read_pbs(log, cluster={**config, "accelerator": "nvidia-v100-sxm2-32gb"})
    assert jobs["accelerator"][2] == "nvidia-v100-sxm2-32gb"
    est = fc.estimate(jobs)
    assert est["total_kgco2e"].is_finite().all() and (est["total_kgco2e"] > 0).all()


def test_times_sizes_and_hosts_in_every_form():
    """Written from the PBS Pro and Torque accounting-log documentation."""
    log = (
        "01/02/2024 03:04:05;E;11.torque;user=a queue=q start=1704164645 end=1704250000 "
        "exec_host=n1/0-3+n2/0,2,5-7 Resource_List.nodes=2:ppn=4 Resource_List.pmem=2gb "
        "resources_used.walltime=19:23:4 resources_used.cput=729:39:16 "
        "resources_used.mem=64w Exit_status=0\n"
        "01/02/2024 03:04:05;E;12.torque;user=a queue=q start=1704164645 end=1704164745 "
        "Resource_List.nodes=node5:ppn=4+2:ppn=16:gpus=1 resources_used.walltime=05:30 "
        "resources_used.cput=0 resources_used.mem=2048 Exit_status=-3\n"
        "01/02/2024 03:04:05;E;13.pbs;user=b queue=q start=1704164645 end=1704164745 "
        'jobname="my job" resources_used.walltime=90.5 Resource_List.ncpus=3 '
        "Resource_List.mem=1.5TB Exit_status=1\n"
    )
    a, b, c = read_quietly(log).iter_rows(named=True)
    assert a["cpu_cores"] == 4 + 5  # n1/0-3 and n2/0,2,5-7
    assert a["nodes"] == "n1,n2"
    assert a["duration_h"] == pytest.approx((19 * 3600 + 23 * 60 + 4) / 3600)
    assert a["cpu_time_h"] == pytest.approx((729 * 3600 + 39 * 60 + 16) / 3600)
    assert a["memory_gb"] == pytest.approx(2 * 1024**3 * 9 / 1e9), "pmem x cores"
    assert a["used_memory_gb"] == pytest.approx(64 * 8 / 1e9), "words of 8 bytes"
    assert b["cpu_cores"] == 4 + 32 and b["accelerator_count"] == 2  # node spec
    assert b["duration_h"] == pytest.approx(330 / 3600)
    assert (b["cpu_time_h"], b["used_memory_gb"]) == (0.0, pytest.approx(2048 / 1e9))
    assert (b["exit_status"], b["state"]) == (-3, "FAILED")
    assert c["duration_h"] == pytest.approx(90.5 / 3600)
    assert c["cpu_cores"] == 3 and c["job_name"] == "my job"
    assert c["memory_gb"] == pytest.approx(1.5 * 1024**4 / 1e9)
    # Without resources_used.walltime, end - start.
    nowall = read_pbs("01/02/2024 03:04:05;E;1.x;start=1704164645 end=1704168245 Exit_status=0\n")
    assert nowall["duration_h"][0] == pytest.approx(1.0)


BAD = (
    "03/01/2025 10:00:00;E;1.pbs;queue=q start=1740819600 end=1740823200 "
    "resources_used.ncpus=4 resources_used.walltime=01:00:00 Exit_status=0\n"
    "03/01/2025 10:00:00;E;2.pbs;queue=q start=1740819600 end=1740823200 "
    "resources_used.ncpus=4 resources_used.walltime=1h Exit_status=0\n"
    "this is not a record\n"
    "03/01/2025 10:00:00;E;4.pbs;queue=q start=soon end=1740823200 "
    "resources_used.ncpus=4 Resource_List.mem=lots Exit_status=0\n"
    "03/01/2025 10:00:00;E;5.pbs;queue=q start=1740819600 end=1740823200 "
    "resources_used.ncpus=-4 Exit_status=0\n"
)


def test_malformed_records_raise_naming_key_count_and_lines():
    with pytest.raises(InvalidValueError, match=r"record.*not a PBS accounting record") as info:
        read_pbs(BAD)
    assert info.value.examples == ["line 3: 'this is not a record'"]
    lines = BAD.splitlines()
    for line, key, value in [
        (2, "resources_used.walltime", "1h"),
        (4, "start", "soon"),
        (5, "resources_used.ncpus", "-4"),
    ]:
        with pytest.raises(InvalidValueError, match=key.replace(".", r"\.")) as info:
            read_pbs(f"{lines[0]}\n{lines[line - 1]}\n")
        assert info.value.column == key
        assert info.value.examples == [f"line 2: {value!r}"]
    with pytest.raises(InvalidValueError, match=r"Resource_List\.mem.*not a size"):
        read_pbs(lines[3].replace("start=soon", "start=1740819600") + "\n")


def test_malformed_records_dropped_with_a_warning():
    with pytest.warns(DroppedRowsWarning, match=r"dropped 4 malformed lines") as record:
        jobs = read_pbs(BAD, on_invalid="drop")
    assert "lines 2, 3, 4, 5" in str(record[0].message)
    assert jobs["job_id"].to_list() == ["1.pbs"]
    with pytest.raises(SchemaError, match="no PBS accounting records"):
        read_pbs("JobID|Start|End\n1|x|y\n")


def test_daily_files_by_glob_or_list_and_duplicates(tmp_path):
    day = "03/0{d}/2025 10:00:00;E;{j}.pbs;queue=q start=1740819600 end=1740823200 "
    rest = "resources_used.ncpus={n} resources_used.walltime=01:00:00 Exit_status=0\n"
    (tmp_path / "20250301").write_text(day.format(d=1, j=1) + rest.format(n=2))
    (tmp_path / "20250302").write_text(
        day.format(d=2, j=2) + rest.format(n=4) + day.format(d=2, j=1) + rest.format(n=8)
    )
    with pytest.warns(DroppedRowsWarning, match=r"1 record of 2 files .* E record"):
        jobs = read_pbs(str(tmp_path / "2025030*"))
    assert jobs.sort("job_id")["cpu_cores"].to_list() == [8, 4], "the last record wins"
    with pytest.warns(DroppedRowsWarning):
        listed = read_pbs([tmp_path / "20250301", tmp_path / "20250302"])
    assert listed.equals(jobs)
    with pytest.raises(SchemaError, match="no file matches"):
        read_pbs(str(tmp_path / "1999*"))


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        read_pbs(CASPER, None)  # type: ignore[misc]
    with pytest.raises(ParameterError, match="on_invalid"):
        read_pbs(CASPER, on_invalid="skip")  # type: ignore[arg-type]
