"""read_jobs and scan_jobs: CSV and Parquet (with globs), column mapping, checks."""

from __future__ import annotations

import hashlib
import random
import warnings

import polars as pl
import pytest

import fleetcarbon as fc
import fleetcarbon.io
from fleetcarbon.errors import (
    DroppedRowsWarning,
    FleetcarbonError,
    InvalidValueError,
    MissingColumnError,
    ParameterError,
    SchemaError,
)
from fleetcarbon.io.jobs import read_jobs, scan_jobs


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
    jobs = scan_jobs(str(tmp_path / "part-*.parquet"), mapping=MAPPING)
    assert isinstance(jobs, pl.LazyFrame)
    got = fc.estimate(jobs).sort("job_id")
    expected = fc.estimate(fleet.drop("start", "end")).sort("job_id")
    for c in ("it_energy_kwh", "total_kgco2e"):
        assert got[c].to_list() == pytest.approx(expected[c].to_list(), rel=1e-12)
    assert {p.name: digest(p) for p in tmp_path.iterdir()} == before, "sources must not change"


def test_csv_with_dates_is_parsed(tmp_path, fleet):
    fleet.drop("duration_h").write_csv(tmp_path / "jobs.csv")
    jobs = read_jobs(tmp_path / "jobs.csv")
    assert isinstance(jobs, pl.DataFrame)
    assert isinstance(jobs.schema["start"], pl.Datetime)
    est = fc.estimate(jobs)
    assert est.height == fleet.height


def test_keep_only_mapped_columns(tmp_path, fleet):
    renamed(fleet).write_parquet(tmp_path / "a.parquet")
    jobs = read_jobs(tmp_path / "a.parquet", mapping=MAPPING, keep_other_columns=False)
    # The mapped columns, and those the file already names canonically.
    from fleetcarbon.validation import CANONICAL_COLUMNS

    already = [c for c in renamed(fleet).columns if c in CANONICAL_COLUMNS]
    assert jobs.columns == already + list(MAPPING)
    assert "team" not in jobs.columns and "elapsed_s" not in jobs.columns


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
    with pytest.raises(MissingColumnError, match="nope"):
        scan_jobs(tmp_path / "a.parquet", mapping={"duration_h": pl.col("nope") / 3600})
    with pytest.raises(SchemaError, match="does not fit"):
        scan_jobs(tmp_path / "a.parquet", mapping={"duration_h": pl.col("site") / 3600})


def test_read_is_the_collected_scan(tmp_path, fleet):
    source = renamed(fleet)
    source[:200].write_parquet(tmp_path / "part-1.parquet")
    source[200:].write_parquet(tmp_path / "part-2.parquet")
    pattern = str(tmp_path / "part-*.parquet")
    jobs = read_jobs(pattern, mapping=MAPPING)
    assert isinstance(jobs, pl.DataFrame)
    assert jobs.equals(scan_jobs(pattern, mapping=MAPPING).collect())
    assert "scan_jobs" in fleetcarbon.io.__all__ and fleetcarbon.io.scan_jobs is scan_jobs


def test_options_are_keyword_only(tmp_path, fleet):
    fleet.write_parquet(tmp_path / "a.parquet")
    for reader in (read_jobs, scan_jobs):
        with pytest.raises(TypeError):
            reader(tmp_path / "a.parquet", None)  # type: ignore[misc]
    with pytest.raises(ParameterError, match="on_invalid"):
        read_jobs(tmp_path / "a.parquet", on_invalid="ignore")  # type: ignore[arg-type]


BAD_CSV = (
    "job_id,duration_h,start,region,cpu_cores\n"
    "1,2.0,2024-01-01T00:00:00,FR,4\n"
    "2,abc,2024-01-01T01:00:00,FR,4\n"
    "3,1.0,yesterday,FR,4\n"
    "4,1.5,,FR,8\n"
    "5,n/a,2024-01-01T02:00:00,FR,four\n"
)


def test_unparsable_values_raise(tmp_path):
    path = tmp_path / "jobs.csv"
    path.write_text(BAD_CSV)
    with pytest.raises(InvalidValueError, match=r"duration_h.*not a number.*jobs\.csv") as info:
        read_jobs(path)
    err = info.value
    assert (err.column, err.n_bad, err.examples) == ("duration_h", 2, [(2, "abc"), (5, "n/a")])
    assert "2 rows" in str(err)
    # The scan itself does not check: the column is text.
    assert scan_jobs(path).collect_schema()["duration_h"] == pl.String
    # A mapped column names its source column.
    with pytest.raises(InvalidValueError, match="source column 'cpu_cores'") as info:
        mapping = {"memory_gb": "cpu_cores", "duration_h": pl.lit(1.0), "start": pl.lit(None)}
        read_jobs(path, mapping=mapping, keep_other_columns=False)
    assert info.value.column == "memory_gb"
    assert info.value.examples == [(5, "four")]
    # Without job ids, examples give row numbers.
    no_ids = tmp_path / "no_ids.csv"
    no_ids.write_text("cpu_cores\n4\nfour\n")
    with pytest.raises(InvalidValueError, match="source column 'cpu_cores'") as info:
        read_jobs(no_ids, mapping={"memory_gb": "cpu_cores"}, keep_other_columns=False)
    assert info.value.examples == [("row 1", "four")]


def test_unparsable_values_dropped_with_a_warning(tmp_path):
    path = tmp_path / "jobs.csv"
    path.write_text(BAD_CSV)
    with pytest.warns(DroppedRowsWarning, match=r"dropped 3 rows .*jobs\.csv") as record:
        jobs = read_jobs(path, on_invalid="drop")
    message = str(record[0].message)
    assert "2 with duration_h" in message and "1 with start" in message
    assert "1 with cpu_cores" in message
    assert record[0].filename == __file__, "the warning points at the caller"
    assert jobs["job_id"].to_list() == [1, 4]
    assert jobs.schema["duration_h"] == pl.Float64 and jobs.schema["cpu_cores"] == pl.Float64
    assert isinstance(jobs.schema["start"], pl.Datetime)
    assert jobs["duration_h"].to_list() == [2.0, 1.5]
    assert jobs["start"][1] is None, "an empty time is null, not invalid"
    est = fc.estimate(jobs)
    assert est.height == 2


def test_valid_files_are_returned_as_read(tmp_path, fleet):
    fleet.drop("duration_h").write_csv(tmp_path / "jobs.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DroppedRowsWarning)
        jobs = read_jobs(tmp_path / "jobs.csv", on_invalid="drop")
    assert jobs.equals(scan_jobs(tmp_path / "jobs.csv").collect())


def test_unparsable_value_after_the_inferred_rows(tmp_path):
    # Past the rows Polars infers dtypes from, a bad value fails the scan itself:
    # read_jobs reads the file again with the dtypes inferred from every row.
    path = tmp_path / "late.csv"
    rows = "".join(f"{i},1.5,FR,2\n" for i in range(12_000))
    path.write_text("job_id,duration_h,region,cpu_cores\n" + rows + "12000,abc,FR,2\n")
    with pytest.raises(pl.exceptions.PolarsError):
        scan_jobs(path).collect()
    with pytest.raises(InvalidValueError, match="duration_h") as info:
        read_jobs(path)
    assert info.value.examples == [(12_000, "abc")]
    with pytest.warns(DroppedRowsWarning, match="dropped 1 row "):
        jobs = read_jobs(path, on_invalid="drop")
    assert jobs.height == 12_000


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("ragged.csv", b"job_id,duration_h\n1,2.0\n2,3.0,extra,fields\n"),
        ("binary.csv", b"job_id,duration_h\n1,2\n" + bytes(range(256)) * 8),
        ("noise.csv", random.Random(1).randbytes(4096)),
        ("binary.parquet", random.Random(2).randbytes(4096)),
    ],
)
def test_unreadable_files_raise_a_fleetcarbon_error(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(FleetcarbonError, match=name) as info:
        read_jobs(path)
    assert not isinstance(info.value, pl.exceptions.PolarsError)
    with pytest.raises(FleetcarbonError, match=name):
        read_jobs(path, mapping={"job_id": "job_id"}, on_invalid="drop")


def test_unreadable_file_in_a_glob_names_the_pattern(tmp_path, fleet):
    fleet.write_csv(tmp_path / "part-1.csv")
    (tmp_path / "part-2.csv").write_bytes(b"job_id\n1,2,3\n")
    with pytest.raises(SchemaError, match=r"cannot read .*part-\*\.csv"):
        read_jobs(str(tmp_path / "part-*.csv"))


# ------------------------------------------------ layout options, compression, errors by line


def test_headerless_files_with_named_columns_and_a_separator(tmp_path):
    path = tmp_path / "jobs.txt"
    path.write_text("1;2.5;FR;8\n2;1.0;DE;4\n", encoding="utf-8")
    names = ["id", "hours", "site", "cores"]
    mapping = {"job_id": "id", "duration_h": "hours", "region": "site", "cpu_cores": "cores"}
    jobs = read_jobs(
        path, format="csv", has_header=False, columns=names, separator=";", mapping=mapping
    )
    assert jobs.columns == ["job_id", "duration_h", "region", "cpu_cores"]
    assert jobs["duration_h"].to_list() == [2.5, 1.0]
    assert fc.estimate(jobs).height == 2
    lazy = scan_jobs(path, format="csv", has_header=False, columns=names, separator=";")
    assert lazy.collect_schema().names() == names
    tabs = tmp_path / "jobs.tsv"
    tabs.write_text("job_id\tduration_h\tregion\tcpu_cores\n1\t2.5\tFR\t8\n", encoding="utf-8")
    assert read_jobs(tabs, format="csv", separator="\t")["cpu_cores"].to_list() == [8]
    unnamed = read_jobs(path, format="csv", has_header=False, separator=";")
    assert unnamed.columns == ["column_1", "column_2", "column_3", "column_4"]


def test_layout_options_are_checked(tmp_path, fleet):
    csv_path = tmp_path / "jobs.csv"
    fleet.write_csv(csv_path)
    fleet.write_parquet(tmp_path / "jobs.parquet")
    with pytest.raises(ParameterError, match="has_header=False"):
        read_jobs(csv_path, columns=["a", "b"])
    with pytest.raises(ParameterError, match="separator"):
        read_jobs(csv_path, separator=";;")
    with pytest.raises(ParameterError, match="more than once"):
        read_jobs(csv_path, has_header=False, columns=["a", "a"])
    with pytest.raises(ParameterError, match="CSV files only"):
        read_jobs(tmp_path / "jobs.parquet", separator=";")
    with pytest.raises(SchemaError, match=r"columns= names 2"):
        read_jobs(csv_path, has_header=False, columns=["a", "b"])


def test_ragged_and_binary_files_are_named_with_the_line(tmp_path):
    ragged = tmp_path / "ragged.csv.gz"
    import gzip

    body = "job_id,duration_h,region\n" + "".join(f"{i},1.0,FR\n" for i in range(1, 40))
    ragged.write_bytes(gzip.compress((body + "40,1.0,FR,extra\n").encode()))
    with pytest.raises(SchemaError, match=r"ragged\.csv\.gz' line 41: 4 fields, the header has 3"):
        read_jobs(ragged)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"job_id,duration_h\n1,2\n2,3\n\x00\x01\x02")
    with pytest.raises(SchemaError, match=r"binary\.csv.*binary, not CSV text .*line 4"):
        read_jobs(binary)
    with pytest.raises(SchemaError, match=r"binary\.csv.*line 4"):
        scan_jobs(binary)
    part = tmp_path / "logs"
    part.mkdir()
    (part / "a.csv").write_text("job_id,duration_h\n1,2\n", encoding="utf-8")
    (part / "b.csv").write_text("job_id,duration_h\n1,2\n2,3,4\n", encoding="utf-8")
    with pytest.raises(SchemaError, match=r"logs/\*\.csv.*b\.csv' line 3: 3 fields"):
        read_jobs(str(part / "*.csv"))


def test_format_told_by_content_without_a_suffix(tmp_path, fleet):
    fleet.write_parquet(tmp_path / "export")
    fleet.write_csv(tmp_path / "dump")
    assert read_jobs(tmp_path / "export").height == fleet.height
    assert read_jobs(tmp_path / "dump").height == fleet.height
    with pytest.raises(SchemaError, match="cannot tell the format"):
        read_jobs(tmp_path / "missing")


def test_text_times_with_utc_offsets_are_parsed(tmp_path):
    path = tmp_path / "jobs.csv"
    path.write_text(
        "job_id,start,end,region,cpu_cores\n"
        "1,2025-05-11 11:00:00+02:00,2025-05-11 12:00:00+02:00,FR,4\n"
        "2,n/a,2025-05-11 12:00:00+00:00,FR,4\n",
        encoding="utf-8",
    )
    with pytest.warns(DroppedRowsWarning, match="1 with start"):
        jobs = read_jobs(path, on_invalid="drop")
    assert str(jobs["start"][0]) == "2025-05-11 09:00:00+00:00"
    assert fc.estimate(jobs)["duration_h"][0] == pytest.approx(1.0)
