"""Fuzz the readers with hostile input: the outcome is a DataFrame or a FleetcarbonError.

read_sacct gets random and mutated sacct text (real fixture lines when the shared
folder is there, a built-in sample always): random field values, inserted and
deleted delimiters, truncated and duplicated lines, random bytes, random headers,
every kind of line break, as text, bytes, a file object or a file. read_jobs gets
random and mutated CSV and Parquet files. Nothing may escape as a raw Python,
Polars or NumPy exception (a Polars panic included), a returned frame must keep
the reader's invariants, and the input file is never modified.

1,700 examples in all (read_sacct: 300 mutated sample, 300 mutated fixture lines, 250
random headers, 150 random bytes, 150 keyword arguments; read_jobs: 250 CSV, 200
Parquet, 100 damaged Parquet), about 30 s on two cores. No example database is kept.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import warnings
from pathlib import Path

import polars as pl
import pytest
from conftest import require_shared
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import fleetcarbon as fc
from fleetcarbon.errors import FleetcarbonError, ParameterError
from fleetcarbon.io import read_jobs, read_sacct
from fleetcarbon.io.sacct import OUTPUT_SCHEMA

#: Fuzz settings: no example database (nothing written into the repository), no deadline.
FUZZ = settings(
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)

#: The field list of XDMoD's --noheader logs (as in test_sacct).
XDMOD_FIELDS = (
    "jobid,jobidraw,cluster,partition,qos,account,group,gid,user,uid,submit,eligible,start,"
    "end,elapsed,exitcode,state,nnodes,ncpus,reqcpus,reqmem,reqtres,alloctres,timelimit,"
    "nodelist,jobname"
).split(",")

#: A built-in sample: steps, arrays, het jobs, typed and untyped GPUs, per-CPU and per-node
#: memory, metered energy, Unknown times, times in a DST change, a "|" in a job name.
SAMPLE = [
    "JobID|JobName|User|Account|Partition|State|ElapsedRaw|Elapsed|Start|End|NCPUS|NNodes|"
    "ReqCPUS|ReqMem|AllocTRES|ReqTRES|ConsumedEnergyRaw|NodeList|Cluster",
    "10|train|u1|a1|gpu|COMPLETED|3600|01:00:00|2024-03-01T10:00:00|2024-03-01T11:00:00|16|1|"
    "16|4000Mc|billing=16,cpu=16,gres/gpu:a100=2,mem=64000M,node=1|cpu=16,gres/gpu=2|"
    "|dgx01|c1",
    "10.batch|batch|||gpu|COMPLETED|3600|01:00:00|2024-03-01T10:00:00|2024-03-01T11:00:00|"
    "16|1|16|4000Mc|cpu=16,mem=64000M,node=1||7200000|dgx01|c1",
    "10.0|python|||gpu|COMPLETED|3500|58:20|2024-03-01T10:00:10|2024-03-01T10:58:30|8|1|8|"
    "|cpu=8,gres/gpu:a100=2||1800000|dgx01|c1",
    "11_[1-3%2]|sweep|u2|a2|cpu|PENDING|0|00:00:00|Unknown|Unknown|4|1|4|2Gn||cpu=4,mem=2G|"
    "|None assigned|c1",
    "11_4|sweep|u2|a2|cpu|CANCELLED by 123|60|1|2024-11-03T01:50:00|2024-11-03T01:10:00|4|1|4|"
    "2Gn|cpu=4,mem=2G,node=1|cpu=4|0|cn[1-2]|c1",
    "12+0|het|u3|a3|cpu|RUNNING|7200|2-05:30|2024-03-10T02:30:00|Unknown|32|2|32|250G|"
    "billing=32,cpu=32,gres/gpu=1,mem=250G,node=2||18446744073709551614|cn[3-4]|c1",
    "13|a|b|u4|a4|cpu|TIMEOUT|60|00:01:00|2024-01-01T00:00:00|2024-01-01T00:01:00|1|1|1|"
    "1000M|cpu=1|||cn5|c1",
]
SAMPLE_DOC = (SAMPLE, None)

#: Values a mutation writes into a field: sacct's own words, edge cases of every parser.
SPECIAL = [
    *("", " ", "Unknown", "None", "N/A", "INVALID", "-1", "0", "+4", "1.5", "1e3", "0x10"),
    *("9" * 20, str(2**53), str(2**53 - 1), str(2**63), str(2**64), "9" * 400, "nan", "inf"),
    *("-inf", "Infinity", "1e400", "٣", "４", "00:60", "1-24:00:00", "2-", "-5", "1:2:3:4"),
    *("2-05", "90", "1-02:03:04.5", "2024-03-10T02:30:00", "2024-11-03T01:30:00"),
    *("2024-10-27T02:30:00", "2024-03-31T02:30:00", "2024-02-30T00:00:00", "9999-12-31T23:59:59"),
    *("0001-01-01T00:00:00", "gres/gpu=abc", "gres/gpu", "gres/gpu:=3", "gres/gpu:a=-1"),
    *(f"gres/gpu:a={2**63 - 1},gres/gpu:b={2**63 - 1}", "cpu=abc", "mem=12Q", "billing", ",,"),
    *("4000Mc", "0c", "1e400M", "9" * 300 + "Pc", "123_[1-3", "123.batch.0", "123_[5-1]"),
    *("123_[0-99999999999]", "\x00", "\t", "\ufeff", "\u2028", "\x85", "|", "||", "¦", "\r"),
]
VALUE = st.one_of(st.sampled_from(SPECIAL), st.text(max_size=12))
KNOWN_FIELDS = [
    *("JobID", "JobIDRaw", "JobName", "User", "Account", "Partition", "State", "ElapsedRaw"),
    *("Elapsed", "Start", "End", "NCPUS", "AllocCPUS", "ReqCPUS", "NNodes", "AllocNodes"),
    *("ReqMem", "AllocTRES", "ReqTRES", "ConsumedEnergyRaw", "NodeList", "Cluster", "Comment"),
    *("WorkDir", "SubmitLine", "jobid", "ncpus", "ELAPSED"),
]
FIELD_NAME = st.one_of(
    st.sampled_from(KNOWN_FIELDS), st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,8}", fullmatch=True)
)
ZONES = [None, "UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Australia/Lord_Howe"]


def fixture_docs() -> list[tuple[list[str], list[str] | None]]:
    """Lines of the real sacct samples (with the field list of header-less ones)."""
    base = require_shared("fixtures", "sacct")
    docs: list[tuple[list[str], list[str] | None]] = []
    for name in (
        "ga4hpc/example_sacctOutput_raw.txt",
        "ga4hpc/example_sacctOutput_raw_asDF.tsv",
        "slurm2sql/test-data1.csv",
        "slurm2sql/test-data2.csv",
    ):
        docs.append(((base / name).read_text(encoding="utf-8").splitlines(), None))
    for log in sorted((base / "xdmod" / "input").glob("*.log")):
        docs.append((log.read_text(encoding="utf-8").splitlines(), XDMOD_FIELDS))
    return docs


@st.composite
def mutated_lines(draw: st.DrawFn, lines: list[str], delim: str) -> list[str]:
    """``lines`` after a few random edits."""
    lines = list(lines)
    for _ in range(draw(st.sampled_from([0, 1, 1, 2, 2, 3, 5]))):
        if not lines:
            lines.append(draw(st.text(max_size=30)))
            continue
        # Mostly the data lines: a damaged header stops the reader early.
        data_line = len(lines) > 1 and draw(st.integers(0, 5)) > 0
        i = draw(st.integers(1, len(lines) - 1)) if data_line else 0
        line = lines[i]
        op = draw(st.sampled_from([*["value"] * 4, "insert", "delete", "truncate", "text", "dup"]))
        if draw(st.integers(0, 9)) == 0:
            op = draw(st.sampled_from(["drop", "header"]))
        if op == "value":
            parts = line.split(delim)
            parts[draw(st.integers(0, len(parts) - 1))] = draw(VALUE)
            lines[i] = delim.join(parts)
        elif op in ("insert", "text", "truncate"):
            at = draw(st.integers(0, len(line)))
            if op == "insert":
                lines[i] = line[:at] + delim * draw(st.integers(1, 3)) + line[at:]
            elif op == "text":
                lines[i] = line[:at] + draw(st.text(min_size=1, max_size=8)) + line[at:]
            else:
                lines[i] = line[:at]
        elif op == "delete" and delim in line:
            at = draw(st.sampled_from([k for k in range(len(line)) if line.startswith(delim, k)]))
            lines[i] = line[:at] + line[at + len(delim) :]
        elif op == "dup":
            lines.insert(i, line)
        elif op == "drop":
            del lines[i]
        elif op == "header":
            names = draw(st.lists(FIELD_NAME, min_size=1, max_size=len(line.split(delim)) + 2))
            lines[0] = delim.join(names)
    return lines


@st.composite
def sacct_inputs(draw: st.DrawFn, docs: list) -> tuple[bytes, dict]:
    """Bytes of a mutated sacct document and the read_sacct keyword arguments."""
    lines, fields = draw(st.sampled_from(docs))
    delim = "\t" if "\t" in lines[0] else "|"
    lines = draw(mutated_lines(lines, delim))
    kwargs: dict = {"on_invalid": draw(st.sampled_from(["raise", "drop"]))}
    if fields is None and lines and draw(st.integers(0, 4)) == 0:
        # Header-less, with the field list given (the header line is the list).
        fields, lines = lines[0].split(delim), lines[1:]
    if fields is not None:
        kwargs["fields"] = fields if draw(st.booleans()) else ",".join(fields)
    if draw(st.booleans()):
        kwargs["delimiter"] = delim
    zone = draw(st.sampled_from(ZONES))
    if zone is not None:
        kwargs["cluster"] = {"timezone": zone}
    eol = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = eol.join(lines) + draw(st.sampled_from(["", eol, eol * 2]))
    data = draw(st.sampled_from(["", "\ufeff"])).encode() + text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 5)) == 0:  # raw byte damage: invalid UTF-8 included
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
    return data, kwargs


def check_sacct_frame(out: pl.DataFrame) -> None:
    """The invariants of a frame read_sacct returns."""
    assert isinstance(out, pl.DataFrame)
    assert out.schema == pl.Schema(OUTPUT_SCHEMA)
    assert out["job_id"].null_count() == 0
    assert out["accelerator_count"].null_count() == 0 and (out["accelerator_count"] >= 0).all()
    assert ((out["cpu_cores"] >= 0) | out["cpu_cores"].is_null()).all()
    for c in ("duration_h", "memory_gb", "energy_kwh", "cpu_time_h", "max_rss_gb"):
        values = out[c].drop_nulls().to_list()
        assert all(math.isfinite(v) for v in values), (c, values)
    for c in ("memory_gb", "cpu_time_h", "max_rss_gb"):
        assert all(v >= 0 for v in out[c].drop_nulls()), c
    assert out["started"].null_count() == 0
    ran, never = out.filter(pl.col("started")), out.filter(~pl.col("started"))
    # Metered energy is > 0 where given; a job that never started ran 0 h, with no reading.
    assert all(v > 0 for v in ran["energy_kwh"].drop_nulls())
    assert never["energy_kwh"].null_count() == never.height
    assert never["duration_h"].to_list() == [0.0] * never.height
    assert never["accelerator_count"].to_list() == [0.0] * never.height


def run_sacct(data: bytes, kwargs: dict, how: str, directory: Path) -> None:
    """Read ``data`` as ``how`` (text, bytes, file object or path); only allowed outcomes."""
    path = directory / "sacct.txt"
    if how == "path":
        path.write_bytes(data)
        source: object = path
    elif how == "file":
        source = io.BytesIO(data)
    elif how == "text":
        source = data.decode("utf-8", "replace")
    else:
        source = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = read_sacct(source, **kwargs)  # type: ignore[arg-type]
        except FleetcarbonError as exc:
            event(f"read_sacct: {type(exc).__name__}")
            out = None
    if out is not None:
        event(f"read_sacct: {'empty ' if out.height == 0 else ''}DataFrame")
        check_sacct_frame(out)
    if how == "path":
        assert path.read_bytes() == data, "read_sacct modified its input file"


HOW = st.sampled_from(["text", "bytes", "file", "path"])


@settings(FUZZ, max_examples=300)
@given(case=sacct_inputs([SAMPLE_DOC]), how=HOW)
def test_fuzz_sacct_mutated_sample(case: tuple[bytes, dict], how: str, tmp_path_factory) -> None:
    run_sacct(*case, how, tmp_path_factory.mktemp("sacct"))


def test_fuzz_sacct_mutated_fixture_lines(tmp_path_factory) -> None:
    docs = fixture_docs()  # skips without the shared folder (fails on CI)
    directory = tmp_path_factory.mktemp("sacct")

    @settings(FUZZ, max_examples=300)
    @given(case=sacct_inputs(docs), how=HOW)
    def fuzz(case: tuple[bytes, dict], how: str) -> None:
        run_sacct(*case, how, directory)

    fuzz()


@st.composite
def random_sacct(draw: st.DrawFn) -> tuple[bytes, dict]:
    """A random header of known and unknown fields, and rows of random values."""
    delim = draw(st.sampled_from(["|", "|", "¦", "\t", ";", "||", ","]))
    names = draw(st.lists(FIELD_NAME, max_size=6))
    if draw(st.integers(0, 4)) > 0:  # mostly the fields read_sacct requires
        duration = draw(st.sampled_from([["ElapsedRaw"], ["Elapsed"], ["Start", "End"]]))
        names = draw(st.permutations(["JobID", *duration, *names]))
    names = names or ["JobID"]
    rows = draw(
        st.lists(
            st.lists(VALUE, min_size=max(len(names) - 1, 0), max_size=len(names) + 1),
            min_size=1,
            max_size=6,
        )
    )
    header = delim.join(names) + draw(st.sampled_from(["", delim]))
    text = "\n".join([header, *(delim.join(r) for r in rows)])
    kwargs: dict = {"on_invalid": draw(st.sampled_from(["raise", "drop"]))}
    if draw(st.booleans()):
        kwargs["cluster"] = {"timezone": draw(st.sampled_from(ZONES[1:]))}
    if draw(st.integers(0, 3)) == 0:
        kwargs["fields"] = names
        text = text.split("\n", 1)[-1]
    return text.encode("utf-8", "surrogatepass"), kwargs


@settings(FUZZ, max_examples=250)
@given(case=random_sacct(), how=HOW)
def test_fuzz_sacct_random_headers_and_values(
    case: tuple[bytes, dict], how: str, tmp_path_factory
) -> None:
    run_sacct(*case, how, tmp_path_factory.mktemp("sacct"))


@settings(FUZZ, max_examples=150)
@given(
    data=st.binary(max_size=300),
    fields=st.none() | st.lists(FIELD_NAME, min_size=1, max_size=5),
    how=HOW,
)
def test_fuzz_sacct_random_bytes(data: bytes, fields, how: str, tmp_path_factory) -> None:
    kwargs = {} if fields is None else {"fields": fields}
    run_sacct(data, kwargs, how, tmp_path_factory.mktemp("sacct"))


@settings(FUZZ, max_examples=150)
@given(
    source=st.sampled_from(
        ["JobID|Elapsed\n1|00:10\n", "JobID|Elapsed", "1|00:10\n", "JobID.*Elapsed\n1.*5\n"]
    ),
    delimiter=st.none() | st.text(max_size=3) | st.sampled_from([5, b"|", ["|"], "\n", "."]),
    fields=st.none()
    | st.lists(st.text(max_size=6), max_size=3)
    | st.text(max_size=12)
    | st.sampled_from([5, ("JobID", 5), ["JobID", "Elapsed"]]),
    cluster=st.none()
    | st.integers()
    | st.dictionaries(
        st.sampled_from(["timezone", "region", "gres", "name", "typo"]),
        st.none() | st.integers() | st.text(max_size=5),
        max_size=2,
    ),
    on_invalid=st.sampled_from(["raise", "drop", "ignore", None, 3]),
)
def test_fuzz_sacct_keyword_arguments(source, delimiter, fields, cluster, on_invalid) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = read_sacct(
                source, delimiter=delimiter, fields=fields, cluster=cluster, on_invalid=on_invalid
            )
        except FleetcarbonError:
            return
    check_sacct_frame(out)


# ----------------------------------------------------------------------------- read_jobs


def base_jobs() -> pl.DataFrame:
    """A small frame of canonical job records, with an extra column and a null."""
    return (
        fc.synthetic_fleet(12, seed=7)
        .with_columns(pl.col(pl.Categorical).cast(pl.String))
        .with_columns(pl.col("job_id").cast(pl.String))
        .with_columns(
            pl.when(pl.col("cpu_cores") > 8).then(pl.col("energy_kwh")).alias("energy_kwh")
        )
    )


BASE_CSV = base_jobs().write_csv()
CANONICAL = [
    *("job_id", "start", "end", "duration_h", "accelerator", "accelerator_count", "cpu_cores"),
    *("memory_gb", "energy_kwh", "avg_power_w", "region", "datacenter", "pue"),
]
COLUMN = st.one_of(st.sampled_from([*CANONICAL, "team", "x"]), st.text(min_size=1, max_size=6))
MAPPINGS = st.sampled_from(
    [
        *[None] * 6,
        {"job_id": "team"},
        {"job_id": "missing"},
        {"duration_h": pl.col("duration_h") * 2},
        {"duration_h": pl.col("nope") / 3600},
        {"elapsed": pl.col("duration_h") + pl.col("team")},
        {"team2": "team"},
    ]
)


@st.composite
def csv_inputs(draw: st.DrawFn) -> bytes:
    """A mutated CSV of job records, or random bytes."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=200))
    lines = draw(mutated_lines(BASE_CSV.splitlines(), ","))
    for _ in range(draw(st.integers(0, 2))):
        if lines:
            i = draw(st.integers(0, len(lines) - 1))
            at = draw(st.integers(0, len(lines[i])))
            junk = draw(st.sampled_from(['"', '""', "\n", "\r", ",", "\x00", "NaN", "1e400"]))
            lines[i] = lines[i][:at] + junk + lines[i][at:]
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    return eol.join(lines).encode("utf-8", "surrogatepass")


def random_frame(draw: st.DrawFn) -> pl.DataFrame:
    """A frame of random columns (canonical names among them) of random dtypes."""
    n = draw(st.sampled_from([0, 1, 2, 3, 5]))
    names = draw(st.lists(COLUMN, min_size=1, max_size=6, unique=True))
    columns = {}
    for name in names:
        kind = draw(st.sampled_from(["int", "float", "str", "bool", "time", "date", "null"]))
        if kind == "int":
            values = draw(
                st.lists(st.none() | st.integers(-(2**63), 2**63 - 1), min_size=n, max_size=n)
            )
            columns[name] = pl.Series(values, dtype=pl.Int64)
        elif kind == "float":
            values = draw(st.lists(st.none() | st.floats(), min_size=n, max_size=n))
            columns[name] = pl.Series(values, dtype=pl.Float64)
        elif kind == "str":
            values = draw(st.lists(st.none() | VALUE, min_size=n, max_size=n))
            columns[name] = pl.Series(values, dtype=pl.String)
        elif kind == "bool":
            columns[name] = pl.Series(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
        elif kind == "time":
            values = draw(st.lists(st.datetimes(), min_size=n, max_size=n))
            series = pl.Series(values, dtype=pl.Datetime("us"))
            if draw(st.booleans()):
                series = series.dt.replace_time_zone("UTC")
            columns[name] = series
        elif kind == "date":
            values = draw(st.lists(st.dates(dt.date(1, 1, 1)), min_size=n, max_size=n))
            columns[name] = pl.Series(values, dtype=pl.Date)
        else:
            columns[name] = pl.Series([None] * n, dtype=pl.Null)
    return pl.DataFrame(columns)


def parquet_bytes(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


BASE_PARQUET = parquet_bytes(base_jobs())


@st.composite
def parquet_inputs(draw: st.DrawFn, damage: tuple[str, ...]) -> bytes:
    """A Parquet file of random columns (or the base records), maybe damaged."""
    data = parquet_bytes(random_frame(draw)) if draw(st.booleans()) else BASE_PARQUET
    how = draw(st.sampled_from(damage))
    if how == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    elif how == "flip":
        flipped = bytearray(data)
        for _ in range(draw(st.integers(1, 4))):
            flipped[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        data = bytes(flipped)
    elif how == "garbage":
        data = draw(st.binary(max_size=200))
    return data


def run_read_jobs(data: bytes, suffix: str, kwargs: dict, directory: Path) -> None:
    path = directory / f"jobs{suffix}"
    path.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = read_jobs(path, **kwargs)
        except FleetcarbonError as exc:
            event(f"read_jobs: {type(exc).__name__}")
            out = None
    if out is not None:
        event(f"read_jobs: {'empty ' if out.height == 0 else ''}DataFrame")
        assert isinstance(out, pl.DataFrame)
    assert path.read_bytes() == data, "read_jobs modified its input file"


JOBS_OPTIONS = st.fixed_dictionaries(
    {
        "mapping": MAPPINGS,
        "format": st.sampled_from([None, None, "csv", "parquet"]),
        "keep_other_columns": st.sampled_from([True, True, True, False]),
        "on_invalid": st.sampled_from(["raise", "drop"]),
    }
)


@settings(FUZZ, max_examples=250)
@given(data=csv_inputs(), options=JOBS_OPTIONS, suffix=st.sampled_from([".csv", ".csv", ".txt"]))
def test_fuzz_read_jobs_csv(data: bytes, options: dict, suffix: str, tmp_path_factory) -> None:
    run_read_jobs(data, suffix, options, tmp_path_factory.mktemp("jobs"))


@settings(FUZZ, max_examples=200)
@given(
    data=parquet_inputs(("none", "none", "truncate", "garbage")),
    options=JOBS_OPTIONS,
    suffix=st.sampled_from([".parquet", ".pq", ".csv"]),
)
def test_fuzz_read_jobs_parquet(data: bytes, options: dict, suffix: str, tmp_path_factory) -> None:
    run_read_jobs(data, suffix, options, tmp_path_factory.mktemp("jobs"))


# Found by this fuzz: a Parquet file with a few bytes changed can make Polars panic while
# decoding it (pyo3_runtime.PanicException, a BaseException); read_jobs now turns it
# into a SchemaError naming the file.
@settings(FUZZ, max_examples=100)
@given(data=parquet_inputs(("flip",)), options=JOBS_OPTIONS)
def test_fuzz_read_jobs_damaged_parquet(data: bytes, options: dict, tmp_path_factory) -> None:
    run_read_jobs(data, ".parquet", options, tmp_path_factory.mktemp("jobs"))


def test_read_jobs_damaged_parquet_is_a_fleetcarbon_error(tmp_path: Path) -> None:
    # One byte of the base records' file changed (found by the fuzz, with Polars 2.1).
    data = bytearray(BASE_PARQUET)
    data[857] = 101
    path = tmp_path / "jobs.parquet"
    path.write_bytes(bytes(data))
    with pytest.raises(FleetcarbonError):
        read_jobs(path)


def test_read_jobs_bad_format_is_a_fleetcarbon_error(tmp_path: Path) -> None:
    path = tmp_path / "jobs.csv"
    path.write_text("job_id,duration_h\n1,2\n")
    with pytest.raises(ParameterError, match="format"):
        read_jobs(path, format="xlsx")  # type: ignore[arg-type]
