"""read_sacct on real logs, as they come: the samples in shared/fixtures (read-only).

Each test names the sample and the behaviour: times printed with a UTC offset,
jobs that never started, GPUs a TRES does not show, the CPU-count chain, TotalCPU
and MaxRSS, decimal memory units against GreenAlgorithms4HPC's own reading
(shared/fixtures/ga4hpc-oracle, see its README), all through fleetcarbon.estimate.
The tests skip where the shared folder is absent (and fail on CI).
"""

from __future__ import annotations

import csv
import math
import re
import warnings
from pathlib import Path

import polars as pl
import pytest
from conftest import require_shared

import fleetcarbon as fc
from fleetcarbon.io.sacct import (
    InferredGpusWarning,
    MissingGresWarning,
    UnmappedAcceleratorWarning,
    read_sacct,
)

#: The field list of XDMoD's --noheader logs (as in test_sacct).
XDMOD_FIELDS = (
    "jobid,jobidraw,cluster,partition,qos,account,group,gid,user,uid,submit,eligible,start,"
    "end,elapsed,exitcode,state,nnodes,ncpus,reqcpus,reqmem,reqtres,alloctres,timelimit,"
    "nodelist,jobname"
).split(",")
V100 = "nvidia-v100-sxm2-32gb"
_TIME = re.compile(r"\b(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\b")


def sacct(*parts: str) -> Path:
    return require_shared("fixtures", "sacct", *parts)


def oracle(*parts: str) -> Path:
    return require_shared("fixtures", "ga4hpc-oracle", *parts)


def quiet(source: Path | str, **kwargs: object) -> pl.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_sacct(source, **kwargs)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- 1. offsets


@pytest.mark.parametrize("offset", ["+03:00", "+0300", "+03"])
def test_an_export_with_utc_offsets_reads_as_the_cluster_zone_does(
    offset: str, tmp_path: Path
) -> None:
    # slurm2sql's sample was printed in Helsinki (UTC+3 in summer). Printed with
    # SLURM_TIME_FORMAT=%FT%T%z (every time carrying its offset), it needs no zone.
    original = sacct("slurm2sql", "test-data1.csv")
    shifted = tmp_path / "with-offsets.csv"
    shifted.write_text(
        _TIME.sub(rf"\1{offset}", original.read_text(encoding="utf-8")), encoding="utf-8"
    )
    expected = read_sacct(original, cluster={"timezone": "Europe/Helsinki"})
    for cluster in (None, {"timezone": "America/New_York"}):
        got = read_sacct(shifted, cluster=cluster)
        assert got.equals(expected)
    # As UTC instants with "Z".
    utc = tmp_path / "utc.csv"
    text = original.read_text(encoding="utf-8")
    utc.write_text(
        _TIME.sub(
            lambda m: (
                pl.Series([m.group(1)])
                .str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M:%S")
                .dt.offset_by("-3h")
                .dt.strftime("%Y-%m-%dT%H:%M:%SZ")
                .item()
            ),
            text,
        ),
        encoding="utf-8",
    )
    assert read_sacct(utc).equals(expected)


# ----------------------------------------------------------------------------- 2. never started


def test_a_job_that_was_allocated_nothing_no_longer_breaks_estimate() -> None:
    # 5692623: gres/gpu=2 untyped, 0 nodes, 0 CPUs, 0 s. It made estimate raise for the
    # whole file without a GPU mapping; it never started and costs nothing.
    log = sacct("xdmod", "input", "accounting-logs.log")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnmappedAcceleratorWarning)
        jobs = read_sacct(log, fields=XDMOD_FIELDS, cluster={"region": "US"})
    assert jobs.filter(~pl.col("started"))["job_id"].to_list() == ["5692623"]
    out = fc.estimate(jobs)
    totals = dict(zip(out["job_id"], out["total_kgco2e"], strict=True))
    assert totals["5692623"] == 0.0
    assert all(math.isfinite(v) and v > 0 for k, v in totals.items() if k != "5692623")


@pytest.mark.parametrize(
    ("stem", "states"),
    [("non-ended-job-state", ["RUNNING", "PENDING"]), ("unknown-job-state", ["FOO", "BAR"])],
)
def test_pending_and_unknown_start_jobs_through_estimate(stem: str, states: list[str]) -> None:
    log = sacct("xdmod", "input", f"{stem}.log")
    jobs = read_sacct(log, fields=XDMOD_FIELDS, cluster={"region": "US"})
    assert jobs["state"].to_list() == states  # kept with their state, flagged
    assert jobs["started"].to_list() == [True, False]
    assert jobs["duration_h"][1] == 0.0 and jobs["energy_kwh"][1] is None
    assert jobs["cpu_cores"][1] == 40  # what it asked for
    out = fc.estimate(jobs)
    assert out["total_kgco2e"][0] > 0 and out["total_kgco2e"][1] == 0.0


# ----------------------------------------------------------------------------- 3. GPUs


def test_gpus_a_tres_does_not_show_are_counted_from_the_partition() -> None:
    # slurm2sql's 43977780 ran in partition "interactive" with 1 GPU (its step's Comment
    # says "ngpu": 1), but no gres/gpu entry reached its TRES.
    sample = sacct("slurm2sql", "test-data1.csv")
    assert '"ngpu": 1' in sample.read_text(encoding="utf-8")
    table = {"interactive": {"accelerator": V100, "gpus_per_node": 1}}
    with pytest.warns(InferredGpusWarning, match=r"^1 job .*first: 43977780$"):
        jobs = read_sacct(sample, cluster={"partitions": table})
    assert jobs["accelerator"].to_list() == [None, V100]
    assert jobs["accelerator_count"].to_list() == [0, 1]
    # The old map form gives the type only, and says which jobs it leaves CPU-only.
    with pytest.warns(MissingGresWarning, match=r"^1 job .*first: 43977780$"):
        jobs = read_sacct(sample, cluster={"partitions": {"interactive": V100}})
    assert jobs["accelerator_count"].to_list() == [0, 0]
    out = fc.estimate(
        quiet(sample, cluster={"region": "FI", "timezone": "Europe/Helsinki", "partitions": table})
    )
    assert out["total_kgco2e"].is_finite().all()


def test_untyped_gres_of_a_real_sample_take_the_gres_default() -> None:
    sample = sacct("ga4hpc", "example_sacctOutput_raw.txt")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnmappedAcceleratorWarning)
        jobs = read_sacct(sample, cluster={"region": "GB", "gres": {"default": V100}})
    assert jobs["accelerator"].to_list() == [None, V100]
    assert jobs["accelerator_count"].to_list() == [0, 1]
    assert fc.estimate(jobs)["total_kgco2e"].is_finite().all()


def test_a_gpu_mix_on_a_real_sample() -> None:
    sample = sacct("ga4hpc", "example_sacctOutput_raw_asDF.tsv")  # two untyped GPU jobs
    mix = {V100: 0.7, "nvidia-t4-16gb": 0.3}
    jobs = read_sacct(sample, cluster={"region": "GB", "gpu_mix": mix})
    assert jobs["accelerator"].to_list() == [f"mix:{V100}=0.7,nvidia-t4-16gb=0.3"] * 2
    out = fc.estimate(jobs)
    each = [
        fc.estimate(jobs.with_columns(accelerator=pl.lit(k)))["it_energy_kwh"].to_numpy()
        for k in mix
    ]
    assert out["it_energy_kwh"].to_numpy() == pytest.approx(0.7 * each[0] + 0.3 * each[1])
    sim = fc.simulate(jobs, draws=200, seed=5)
    assert sim["total_kgco2e_p05"][0] < sim["total_kgco2e_p95"][0]


# ----------------------------------------------------------------------------- 4. CPUs


@pytest.mark.parametrize("log", ["accounting-logs.log", "accounting-logs-with-job-arrays.log"])
def test_cpu_count_without_ncpus(log: str) -> None:
    # Hide NCPUS: the CPUs come from AllocTRES cpu= (accounting-logs) or ReqCPUS (the
    # arrays, whose TRES fields are blank), and match NCPUS.
    path = sacct("xdmod", "input", log)
    full = quiet(path, fields=XDMOD_FIELDS)
    hidden = [("hidden_ncpus" if f == "ncpus" else f) for f in XDMOD_FIELDS]
    without = quiet(path, fields=hidden)
    assert without["cpu_cores"].to_list() == full["cpu_cores"].to_list()
    assert without["started"].to_list() == full["started"].to_list()
    only_req = [("hidden" if f in ("ncpus", "alloctres", "reqtres") else f) for f in XDMOD_FIELDS]
    assert quiet(path, fields=only_req)["cpu_cores"].to_list() == full["cpu_cores"].to_list()


# ----------------------------------------------------------------------------- 5. TotalCPU, MaxRSS


def test_total_cpu_and_max_rss_of_a_real_sample() -> None:
    sample = sacct("slurm2sql", "test-data1.csv")
    jobs = read_sacct(sample)
    # TotalCPU of the allocations (00:15.057, 00:00.804); MaxRSS, the largest step's
    # (231092K of 43974388.batch, 1092K of 43977780.batch).
    assert jobs["cpu_time_h"].to_list() == pytest.approx([15.057 / 3600, 0.804 / 3600])
    assert jobs["max_rss_gb"].to_list() == pytest.approx([231092 * 1024 / 1e9, 1092 * 1024 / 1e9])
    decimal = read_sacct(sample, memory_units="decimal")
    assert decimal["max_rss_gb"].to_list() == pytest.approx([0.231092, 0.001092])
    ga = quiet(sacct("ga4hpc", "example_sacctOutput_raw.txt"))
    assert ga["cpu_time_h"].to_list() == [0.0, 0.0]  # "00:00:00": not logged there
    assert ga["max_rss_gb"].to_list() == [None, None]


GA_INPUTS = [
    "ga_example_raw.txt",
    "slurm2sql.txt",
    "xdmod_accounting_logs_with_job_arrays.txt",
    "xdmod_unknown_job_state.txt",
    "xdmod_utf8_multibyte_chars.txt",
]


def ga_rows(name: str) -> dict[str, dict[str, str]]:
    path = oracle(f"results_ga_{Path(name).stem}.csv")
    with path.open(encoding="utf-8", newline="") as fh:
        return {row["job_id"]: row for row in csv.DictReader(fh)}


def timedelta_seconds(text: str) -> float:
    """Seconds of a pandas timedelta string such as ``0 days 00:00:15.057000``."""
    m = re.fullmatch(r"(\d+) days?(?: (\d+):(\d+):(\d+(?:\.\d+)?))?", text.strip())
    assert m is not None, text
    d, h, mi, s = (float(g) if g is not None else 0.0 for g in m.groups())
    return d * 86400 + h * 3600 + mi * 60 + s


@pytest.mark.parametrize("name", GA_INPUTS)
def test_decimal_memory_is_greenalgorithms4hpc_reading(name: str) -> None:
    expected = ga_rows(name)
    jobs = quiet(oracle(name), memory_units="decimal")
    assert sorted(jobs["job_id"]) == sorted(expected)
    for row in jobs.iter_rows(named=True):
        ga = expected[row["job_id"]]
        # ReqMemX: GreenAlgorithms4HPC's requested memory, GB (decimal units).
        assert row["memory_gb"] == pytest.approx(float(ga["ReqMemX"]), rel=1e-12)
        # Its CPU time where TotalCPU was logged (0 means "not logged" to it).
        if row["cpu_time_h"]:
            used = timedelta_seconds(ga["TotalCPUtime2useX"])
            assert row["cpu_time_h"] * 3600 == pytest.approx(used, rel=1e-9)
    binary = quiet(oracle(name))
    ratio = (binary["memory_gb"] / jobs["memory_gb"]).drop_nans().drop_nulls()
    # A binary K, M or G is 1.024, 1.048576 or 1.073741824 decimal ones.
    units = [2**10 / 1e3, 2**20 / 1e6, 2**30 / 1e9]
    assert all(any(r == pytest.approx(u, rel=1e-12) for u in units) for r in ratio)


@pytest.mark.parametrize("name", GA_INPUTS)
def test_greenalgorithms4hpc_outputs_from_its_inputs(name: str) -> None:
    # End to end: decimal memory, TotalCPU as cpu_time_h and the GPU partition mapped
    # give GreenAlgorithms4HPC's energy and carbon under its convention (the oracle's
    # README: within 0.24%, the rest is GA4HPC taking the longest step's elapsed time).
    cluster = {"region": "GB", "partitions": {"myGPUPartition": "nvidia-a100-sxm4-80gb"}}
    jobs = quiet(oracle(name), memory_units="decimal", cluster=cluster)
    out = fc.estimate(jobs, convention="ga4hpc")
    expected = ga_rows(name)
    for row in out.iter_rows(named=True):
        ga = expected[row["job_id"]]
        assert row["facility_energy_kwh"] == pytest.approx(float(ga["energy"]), rel=3e-3)
        assert row["operational_kgco2e"] * 1000 == pytest.approx(
            float(ga["carbonFootprint"]), rel=3e-3
        )


def test_the_default_convention_is_not_greenalgorithms4hpc() -> None:
    # The oracle test above could pass vacuously if the conventions agreed: they must not.
    cluster = {"region": "GB", "partitions": {"myGPUPartition": "nvidia-a100-sxm4-80gb"}}
    jobs = quiet(oracle("ga_example_raw.txt"), memory_units="decimal", cluster=cluster)
    expected = ga_rows("ga_example_raw.txt")
    out = fc.estimate(jobs)
    gaps = [
        abs(row["facility_energy_kwh"] / float(expected[row["job_id"]]["energy"]) - 1)
        for row in out.iter_rows(named=True)
    ]
    assert max(gaps) > 0.05
