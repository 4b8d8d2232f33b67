"""Estimates of inputs of any size: read in batches, estimated batch by batch, written to Parquet.

:func:`estimate_to` holds one batch at a time (its input, its estimates, and
the writer's buffers), so its peak memory follows ``batch_rows``, not the
input's size. Every job's estimate depends on that job and the factors only,
so the result equals :func:`fleetcarbon.estimate` on the whole input, row for
row (docs/scale.md). Duplicate ``job_id`` values are found exactly, also across
batches: the written ``job_id`` column is read back in ``_ID_BUCKETS`` passes,
each keeping the ids whose hash falls in its bucket, and each bucket's ids are
compared as values (not hashes): one bucket in memory at a time.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from fleetcarbon import outputs
from fleetcarbon.conventions import Convention, CpuAttribution
from fleetcarbon.errors import DuplicateJobError, ParameterError
from fleetcarbon.estimate import estimate
from fleetcarbon.factors import Factors, resolve_factors
from fleetcarbon.grid_years import GridYear
from fleetcarbon.parameters import OnInvalid, check_int, check_on_invalid
from fleetcarbon.schema import JOB_ID

__all__ = ["StreamReport", "estimate_to"]

#: Passes over the written ids (a pass holds about 1/8 of them).
_ID_BUCKETS = 8
_N_EXAMPLES = 5


@dataclass(frozen=True)
class StreamReport:
    """What :func:`estimate_to` did.

    Attributes
    ----------
    sink : Path
        The Parquet file (or dataset folder) written.
    rows_in, rows_out : int
        Job records read, and estimates written (fewer with ``on_invalid="drop"``).
    batches : int
        Batches estimated.
    seconds : float
        Wall time.
    """

    sink: Path
    rows_in: int
    rows_out: int
    batches: int
    seconds: float


def estimate_to(
    source: str | Path | Sequence[str | Path] | pl.LazyFrame,
    sink: str | Path,
    factors: Factors | None = None,
    *,
    batch_rows: int = 500_000,
    overwrite: bool = False,
    on_invalid: OnInvalid = "raise",
    convention: str | Convention = "fleetcarbon",
    cpu_attribution: CpuAttribution | None = None,
    grid_year: GridYear = "job",
    threads: int | None = None,
    progress: Callable[[int, int | None], object] | None = None,
) -> StreamReport:
    """Estimate every job of ``source`` in batches and write the results to ``sink``.

    Parameters
    ----------
    source : path, glob, sequence of paths, or pl.LazyFrame
        Job records: CSV or Parquet files (read with
        :func:`fleetcarbon.io.scan_jobs`, so in the canonical schema), or a
        LazyFrame in it.
    sink : str or Path
        A ``.parquet`` file, or a folder (no suffix) that receives a dataset
        of ``part-NNNNN.parquet`` files. Written atomically: an error or an
        interrupt leaves no output that looks complete, and any previous
        output as it was.
    factors : Factors, optional
        Factor tables (default: the bundled ones). Factors with CFE supply
        are refused: hourly matching needs the whole fleet at once.
    batch_rows : int, default 500_000
        Rows per batch. Peak memory grows with it (about 1 kB a row for the
        synthetic fleet's columns), not with the input.
    overwrite : bool, default False
        Replace an existing ``sink``.
    on_invalid, convention, cpu_attribution, grid_year, threads
        As for :func:`fleetcarbon.estimate`, applied batch by batch. Warnings
        are collected over the batches and each distinct one is given once.
    progress : callable, optional
        Called as ``progress(rows_done, rows_total)`` after each batch
        (``rows_total`` is None when the source's size is not known cheaply).

    Returns
    -------
    StreamReport

    Raises
    ------
    fleetcarbon.errors.DuplicateJobError
        If a ``job_id`` occurs more than once in the whole source, in one
        batch or across batches; nothing is written.
    """
    t0 = time.perf_counter()
    factors = resolve_factors(factors)
    if factors.cfe_supply is not None:
        raise ParameterError(
            "estimate_to cannot use CFE supply: hourly matching pro rata needs every job of "
            "the fleet at once; estimate the fleet in memory with fc.estimate"
        )
    batch_rows = check_int("batch_rows", batch_rows, low=1)
    on_invalid = check_on_invalid(on_invalid)
    target = Path(sink)
    as_file = target.suffix.lower() in (".parquet", ".pq")
    if not as_file and target.suffix:
        raise ParameterError(f"{target}: give a .parquet file or a folder (no suffix)")
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} exists; pass overwrite=True to replace it")
    frame = _lazy(source)
    total = _row_count(source)
    options = {
        "on_invalid": on_invalid,
        "convention": convention,
        "cpu_attribution": cpu_attribution,
        "grid_year": grid_year,
        "threads": threads,
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.fleetcarbon-work-", dir=target.parent))
    try:
        parts = work / "parts"
        parts.mkdir()
        seen = _Warnings()
        rows_in = rows_out = batches = 0
        for batch in _batches(frame, batch_rows):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = estimate(batch, factors, **options)  # type: ignore[arg-type]
            seen.add(caught)
            name = f"part-{batches:05d}.parquet"
            # Fast to write and to read back once; the sink gets Polars' default codec.
            result.write_parquet(parts / name, compression="lz4")
            rows_in += batch.height
            rows_out += result.height
            batches += 1
            if progress is not None:
                progress(rows_in, total)
        files = sorted(parts.glob("part-*.parquet"))
        _check_unique_ids(files)
        if as_file:
            with outputs.atomic_path(target, overwrite=overwrite) as partial:
                if files:
                    pl.scan_parquet(files).sink_parquet(partial)
                else:
                    pl.DataFrame().write_parquet(partial)
        else:
            _publish_folder(parts, target, overwrite=overwrite)
        seen.emit()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return StreamReport(target, rows_in, rows_out, batches, time.perf_counter() - t0)


def _lazy(source: str | Path | Sequence[str | Path] | pl.LazyFrame) -> pl.LazyFrame:
    if isinstance(source, pl.LazyFrame):
        return source
    if isinstance(source, pl.DataFrame):
        return source.lazy()
    from fleetcarbon.io import scan_jobs

    return scan_jobs(source)


def _row_count(source: object) -> int | None:
    """Return the number of rows of Parquet sources (from their metadata), else None."""
    if isinstance(source, str | Path):
        text = str(source)
        if text.lower().endswith((".parquet", ".pq")):
            try:
                return int(pl.scan_parquet(text).select(pl.len()).collect().item())
            except (OSError, pl.exceptions.PolarsError):
                return None
    return None


def _batches(frame: pl.LazyFrame, rows: int) -> Iterator[pl.DataFrame]:
    """Yield the frame in batches of ``rows`` rows (the last one shorter), in order."""
    if hasattr(pl.LazyFrame, "collect_batches"):
        pending: list[pl.DataFrame] = []
        held = 0
        for chunk in frame.collect_batches(chunk_size=rows, maintain_order=True):
            pending.append(chunk)
            held += chunk.height
            while held >= rows:
                joined = pl.concat(pending, rechunk=False)
                yield joined.head(rows)
                rest = joined.slice(rows)
                pending, held = ([rest] if rest.height else []), rest.height
        if held:
            yield pl.concat(pending)
        return
    offset = 0  # Polars before collect_batches: slices (row groups are skipped in Parquet)
    while True:
        batch = frame.slice(offset, rows).collect()
        if batch.height == 0:
            return
        yield batch
        offset += batch.height


def _check_unique_ids(files: list[Path]) -> None:
    """Raise if any id occurs twice: each bucket's ids compared as values."""
    if not files:
        return
    ids = pl.scan_parquet(files).select(JOB_ID)
    count, examples = 0, []
    for b in range(_ID_BUCKETS):
        bucket = ids.filter(pl.col(JOB_ID).hash(seed=0) % _ID_BUCKETS == b).collect()[JOB_ID]
        repeated = bucket.filter(bucket.is_duplicated())
        if repeated.len():
            count += repeated.len()
            examples += repeated.unique(maintain_order=True).head(_N_EXAMPLES).to_list()
    if count:
        raise DuplicateJobError(
            JOB_ID, count, "duplicated job_id values (across batches)", examples[:_N_EXAMPLES]
        )


def _publish_folder(parts: Path, target: Path, *, overwrite: bool) -> None:
    """Move the part files into ``target`` at once, replacing a previous dataset's."""

    def previous() -> list[str]:
        names = sorted(p.name for p in target.iterdir())
        others = [n for n in names if not n.startswith("part-")]
        if others:
            raise FileExistsError(f"{target} holds other files than a dataset's: {others[:3]}")
        if names and not overwrite:
            raise FileExistsError(f"{target} exists; pass overwrite=True to replace it")
        return names

    with outputs.atomic_folder(target, replace=previous) as stage:
        for part in sorted(parts.glob("part-*.parquet")):
            shutil.move(str(part), stage / part.name)


class _Warnings:
    """The distinct warnings of all batches, given once at the end."""

    def __init__(self) -> None:
        self.seen: dict[tuple[type[Warning], str], int] = {}

    def add(self, caught: list[warnings.WarningMessage]) -> None:
        for w in caught:
            key = (w.category, str(w.message))
            self.seen[key] = self.seen.get(key, 0) + 1

    def emit(self) -> None:
        for (category, message), n in self.seen.items():
            note = f" (in {n} batches)" if n > 1 else ""
            warnings.warn(message + note, category, stacklevel=3)
