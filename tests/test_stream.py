"""Streamed estimates: fleetcarbon.stream.estimate_to (docs/scale.md)."""

from __future__ import annotations

import warnings

import polars as pl
import pytest

import fleetcarbon as fc
from fleetcarbon.errors import DroppedRowsWarning, DuplicateJobError, ParameterError
from fleetcarbon.outputs import leftovers
from fleetcarbon.stream import estimate_to

N = 2_000


@pytest.fixture(scope="module")
def fleet() -> pl.DataFrame:
    return fc.synthetic_fleet(N, seed=8)


@pytest.fixture()
def source(tmp_path, fleet):
    path = tmp_path / "jobs.parquet"
    fleet.write_parquet(path)
    return path


def whole(frame: pl.DataFrame, **options) -> pl.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fc.estimate(frame, **options)


@pytest.mark.parametrize("batch_rows", [N, 500, 333, 1, 10 * N])
def test_streamed_estimates_equal_the_in_memory_ones_row_for_row(
    tmp_path, source, fleet, batch_rows
) -> None:
    if batch_rows == 1:
        source = tmp_path / "small.parquet"
        fleet.head(7).write_parquet(source)
    sink = tmp_path / "out.parquet"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = estimate_to(source, sink, batch_rows=batch_rows)
    expected = whole(pl.read_parquet(source))
    assert pl.read_parquet(sink).equals(expected)
    assert report.rows_in == report.rows_out == expected.height
    assert report.batches == -(-expected.height // batch_rows)


def test_a_dataset_sink_and_a_lazy_source(tmp_path, fleet) -> None:
    sink = tmp_path / "estimates"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = estimate_to(fleet.lazy(), sink, batch_rows=700)
    parts = sorted(p.name for p in sink.iterdir())
    assert parts == [f"part-{i:05d}.parquet" for i in range(3)] and report.batches == 3
    assert pl.read_parquet(sorted(sink.iterdir())).equals(whole(fleet))
    with pytest.raises(FileExistsError):
        estimate_to(fleet.lazy(), sink)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimate_to(fleet.head(10).lazy(), sink, overwrite=True)
    assert pl.read_parquet(sorted(sink.iterdir())).height == 10


def test_duplicates_across_batches_are_found_and_nothing_is_written(tmp_path, fleet) -> None:
    doubled = pl.concat([fleet, fleet.slice(1500, 2).with_columns(duration_h=pl.lit(1.0))])
    sink = tmp_path / "out.parquet"
    with pytest.raises(DuplicateJobError, match=r"across batches.* 4 rows") as info:
        estimate_to(doubled.lazy(), sink, batch_rows=600)
    assert sorted(info.value.examples) == sorted(fleet.slice(1500, 2)["job_id"].to_list())
    assert not sink.exists() and leftovers(tmp_path) == []
    assert [p.name for p in tmp_path.iterdir()] == []


def test_dropped_rows_are_counted_and_warned_once(tmp_path, fleet) -> None:
    bad = fleet.with_columns(
        duration_h=pl.when(pl.col("job_id") % 250 == 0).then(-1.0).otherwise(pl.col("duration_h"))
    )
    sink = tmp_path / "out.parquet"
    with pytest.warns(DroppedRowsWarning) as record:
        report = estimate_to(bad.lazy(), sink, batch_rows=500, on_invalid="drop")
    expected = whole(bad, on_invalid="drop")
    assert pl.read_parquet(sink).equals(expected)
    assert report.rows_in - report.rows_out == N - expected.height > 0
    dropped = [r for r in record if r.category is DroppedRowsWarning]
    assert len(dropped) == len({str(r.message) for r in dropped}), "each distinct warning once"


def test_an_interrupted_run_leaves_nothing_that_looks_complete(tmp_path, fleet) -> None:
    sink = tmp_path / "out.parquet"
    sink.write_bytes(b"previous")

    def stop(done: int, total: int | None) -> None:
        if done >= 1000:
            raise KeyboardInterrupt

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(KeyboardInterrupt):
            estimate_to(fleet.lazy(), sink, batch_rows=500, overwrite=True, progress=stop)
    assert sink.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.parquet"]


def test_progress_and_refusals(tmp_path, source, fleet) -> None:
    seen: list[tuple[int, int | None]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimate_to(
            source,
            tmp_path / "a.parquet",
            batch_rows=800,
            progress=lambda d, t: seen.append((d, t)),
        )
    assert seen == [(800, N), (1600, N), (N, N)]
    with pytest.raises(ParameterError, match="folder"):
        estimate_to(source, tmp_path / "out.csv")
    with pytest.raises(ParameterError, match="batch_rows"):
        estimate_to(source, tmp_path / "b.parquet", batch_rows=0)


def test_cfe_supply_needs_the_whole_fleet(tmp_path, fleet) -> None:
    start = fleet["start"].min()
    supply = pl.DataFrame(
        {"datacenter": ["generic"], "start": [start], "cfe_kwh": [10.0]},
    ).with_columns(end=pl.col("start") + pl.duration(hours=1))
    factors = fc.load_factors().with_cfe_supply(supply)
    with pytest.raises(ParameterError, match="every job of the fleet"):
        estimate_to(fleet.lazy(), tmp_path / "out.parquet", factors)
