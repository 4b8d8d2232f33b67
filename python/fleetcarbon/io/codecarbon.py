"""Read CodeCarbon's ``emissions.csv`` into job records with metered energy.

CodeCarbon (https://github.com/mlco2/codecarbon) appends one row per tracked run
to ``emissions.csv``. Its columns (``EmissionsData`` in
``codecarbon/output_methods/emissions_data.py``; older versions wrote fewer):
``timestamp, project_name, run_id, experiment_id, duration, emissions,
emissions_rate, cpu_power, gpu_power, ram_power, cpu_energy, gpu_energy,
ram_energy, energy_consumed, water_consumed, country_name, country_iso_code,
region, cloud_provider, cloud_region, os, python_version, codecarbon_version,
cpu_count, cpu_model, gpu_count, gpu_model, longitude, latitude,
ram_total_size, tracking_mode, cpu_utilization_percent,
gpu_utilization_percent, ram_utilization_percent, ram_used_gb, on_cloud, pue,
wue``. Task files (``emissions_<experiment>_<run>.csv``) add ``task_name``.

What becomes what:

* ``energy_consumed`` (kWh, CPU + GPU + RAM) ÷ ``pue`` → ``energy_kwh``, metered
  IT energy. CodeCarbon multiplies its measured energy by its ``pue`` setting
  (default 1); fleetcarbon applies the datacenter's PUE itself, so the
  division undoes CodeCarbon's.
* ``duration`` (s) → ``duration_h``; ``timestamp`` (written when the run ended,
  in the machine's local time) → ``end``, and ``start`` = end − duration.
* ``run_id`` → ``job_id`` (``run_id/task_name`` in task files; ``line N`` for a
  row without a run id). A run id on several rows (CodeCarbon's periodic
  ``flush`` appends cumulative totals): the last row is kept.
* ``cloud_provider`` + ``cloud_region`` (``aws:us-east-1``, ``gcp:europe-west1``,
  ``azure:westeurope``), else the country's sub-national ``region`` (US states,
  Canadian provinces: ``virginia`` → ``US-VA``), else ``country_iso_code``
  (ISO3, an alias of the ISO2 key), else ``country_name`` → ``region``, each
  where the regions table knows it.
* ``gpu_model`` (``"4 x NVIDIA A100-SXM4-80GB"``) → ``accelerator`` and
  ``gpu_count`` → ``accelerator_count``, where the accelerators table knows the
  model; ``cpu_model`` → ``cpu`` where the CPUs table knows it (else null:
  ``generic``); ``cpu_count`` (logical CPUs) → ``cpu_cores``; ``ram_total_size``
  (GiB) → ``memory_gb`` (decimal GB). Cores and memory give CPU-only runs their
  embodied carbon; their energy stays the metered one.

Every column of the file is kept, numbers parsed, except two renamed because
they mean something else to :func:`fleetcarbon.estimate`: ``region`` becomes
``codecarbon_region`` and ``pue`` becomes ``codecarbon_pue`` (a column named like
a canonical one, e.g. ``job_id``, would become ``codecarbon_job_id``).

A laptop's or an idle server's metered energy can be far below what the model
gives its cores (``cpu_count`` × the CPU's power per core); ``estimate`` then
warns with a :class:`~fleetcarbon.errors.UnitWarning`, which is right to silence
when the meter is.
"""

from __future__ import annotations

import csv
import io
import os
import warnings
from typing import TYPE_CHECKING

import polars as pl

from fleetcarbon.errors import MissingColumnError, ParameterError, SchemaError
from fleetcarbon.io._text import Check, apply_checks, keep_last, lines_frame, read_source
from fleetcarbon.io.sacct.accelerators import UnmappedAcceleratorWarning
from fleetcarbon.parameters import OnInvalid, check_on_invalid

if TYPE_CHECKING:
    from fleetcarbon.factors import Factors

__all__ = ["CANONICAL_COLUMNS", "read_codecarbon"]

_READER = "read_codecarbon"
#: Columns every emissions file has (CodeCarbon 1.x on).
_REQUIRED = ("duration", "energy_consumed")
#: CodeCarbon's numeric columns, parsed to Float64.
_NUMERIC = (
    "duration",
    "emissions",
    "emissions_rate",
    "cpu_power",
    "gpu_power",
    "ram_power",
    "cpu_energy",
    "gpu_energy",
    "ram_energy",
    "energy_consumed",
    "water_consumed",
    "cpu_count",
    "gpu_count",
    "longitude",
    "latitude",
    "ram_total_size",
    "cpu_utilization_percent",
    "gpu_utilization_percent",
    "ram_utilization_percent",
    "ram_used_gb",
    "pue",
    "wue",
)
#: Columns renamed so that estimate() does not read them as its own.
_RENAMED = {"region": "codecarbon_region", "pue": "codecarbon_pue"}
#: The canonical columns the reader adds, first, in this order.
CANONICAL_COLUMNS: dict[str, pl.DataType] = {
    "job_id": pl.String(),
    "start": pl.Datetime("us"),
    "end": pl.Datetime("us"),
    "duration_h": pl.Float64(),
    "accelerator": pl.String(),
    "accelerator_count": pl.Int64(),
    "cpu": pl.String(),
    "cpu_cores": pl.Int64(),
    "memory_gb": pl.Float64(),
    "energy_kwh": pl.Float64(),
    "region": pl.String(),
}
_TIMESTAMP_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f")
_GIB_TO_GB = 1024**3 / 1e9
#: CodeCarbon's cloud providers, as it writes them, and the region-key prefixes.
_CLOUDS = {"aws": "aws", "gcp": "gcp", "azure": "azure", "google": "gcp", "amazon": "aws"}
_QUOTED = r'"(?:[^"]|"")*"'


def read_codecarbon(
    source: str | os.PathLike[str] | bytes | io.IOBase,
    *,
    timezone: str | None = None,
    factors: Factors | None = None,
    on_invalid: OnInvalid = "raise",
) -> pl.DataFrame:
    """Read a CodeCarbon ``emissions.csv`` into job records with metered energy.

    Parameters
    ----------
    source : str, path, bytes or file object
        The file (plain or compressed: gzip, zstd, bzip2, xz), or its text. It
        is only read.
    timezone : str, optional
        IANA zone of the machine that wrote the file: CodeCarbon's timestamps
        are local times without a zone. With it, ``start`` and ``end`` are UTC;
        without it, they are naive, as written.
    factors : Factors, optional
        Tables whose keys (and aliases) map regions, GPU and CPU models
        (default: the bundled ones; pass the tables you estimate with when
        they add aliases).
    on_invalid : {"raise", "drop"}, default "raise"
        Malformed rows (a field count that differs from the header's, as
        CodeCarbon's ``on_csv_write="append"`` writes when columns were empty;
        a ``duration``, ``energy_consumed``, ``pue``, ``cpu_count``,
        ``gpu_count`` or ``ram_total_size`` that is not a number >= 0; an
        unreadable ``timestamp``) raise
        :class:`~fleetcarbon.errors.InvalidValueError` naming the column, the
        number of bad lines and the first line numbers with their values, or are
        dropped with a :class:`~fleetcarbon.errors.DroppedRowsWarning`.

    Returns
    -------
    pl.DataFrame
        One row per run, in file order: the canonical columns
        ``job_id, start, end, duration_h, accelerator, accelerator_count, cpu,
        cpu_cores, memory_gb, energy_kwh, region``, then every column of the
        file (``region`` and ``pue`` renamed ``codecarbon_region`` and
        ``codecarbon_pue``). The module docstring gives the rules.

    Raises
    ------
    SchemaError
        If ``source`` names no readable file, is binary or empty.
    MissingColumnError
        If the file lacks ``duration`` or ``energy_consumed`` (not an emissions file).
    InvalidValueError
        On malformed rows, with ``on_invalid="raise"``.
    ParameterError
        If ``on_invalid`` or ``timezone`` is invalid.

    Warns
    -----
    DroppedRowsWarning
        When malformed rows are dropped, or rows superseded by a later row of
        the same run.
    UnmappedAcceleratorWarning
        When runs used GPUs whose model the accelerators table does not know:
        their metered energy is counted, not their GPUs' embodied carbon.

    Examples
    --------
    >>> from fleetcarbon.io import read_codecarbon
    >>> text = (
    ...     "timestamp,project_name,run_id,duration,energy_consumed,country_iso_code,"
    ...     "cloud_provider,cloud_region,cpu_count,gpu_count,gpu_model,pue\\n"
    ...     "2024-05-31T10:39:13,demo,r1,3600,1.5,USA,aws,us-east-1,8,1,"
    ...     "1 x NVIDIA A100-SXM4-80GB,1.0\\n"
    ... )
    >>> read_codecarbon(text).select("job_id", "energy_kwh", "region", "accelerator").row(0)
    ('r1', 1.5, 'aws:us-east-1', 'nvidia-a100-sxm4-80gb')
    """
    on_invalid = check_on_invalid(on_invalid)
    if timezone is not None:
        _check_timezone(timezone)
    if factors is None:
        from fleetcarbon.factors import load_factors

        factors = load_factors()
    text, name = read_source(source, _READER)
    lines = lines_frame(text).filter(pl.col("__raw").str.strip_chars().str.len_bytes() > 0)
    if lines.height == 0:
        raise SchemaError(f"{_READER}: {name} is empty (no header line)")
    header_line = lines["__raw"][0]
    columns = next(csv.reader([header_line]))
    columns = [c.strip() for c in columns]
    missing = [c for c in _REQUIRED if c not in columns]
    if missing:
        raise MissingColumnError(
            f"{_READER}: {name} has no column {missing} (its header: {columns[:40]}); "
            "is it a CodeCarbon emissions file?"
        )
    rows = _read_rows(lines.slice(1), columns)
    parsed, checks = _parse(rows, timezone)
    parsed = apply_checks(parsed, checks, on_invalid, _READER, name)
    parsed = parsed.drop([c for c in parsed.columns if c.startswith("__raw_")])
    renamed = {c: _renamed(c) for c in columns}
    parsed = parsed.rename({c: r for c, r in renamed.items() if c != r})
    key = ["run_id", "task_name"] if "task_name" in columns else ["run_id"]
    if "run_id" in columns:
        with_id = parsed.filter(pl.col("run_id").is_not_null())
        if with_id.height:
            kept = keep_last(with_id, key, _READER, name, "a cumulative total written again")
            parsed = pl.concat([kept, parsed.filter(pl.col("run_id").is_null())]).sort("__line")
    jobs = _resolve_keys(parsed, factors)
    passthrough = [pl.col(renamed[c]) for c in columns]
    out = jobs.select(*[pl.col(c) for c in CANONICAL_COLUMNS], *passthrough)
    schema = dict(CANONICAL_COLUMNS)
    if timezone is not None:
        schema["start"] = schema["end"] = pl.Datetime("us", "UTC")
    return out.cast(schema)  # type: ignore[arg-type]


def _renamed(column: str) -> str:
    """Rename a column of the file that estimate() would read as its own."""
    if column in _RENAMED:
        return _RENAMED[column]
    return f"codecarbon_{column}" if column in CANONICAL_COLUMNS else column


def _check_timezone(timezone: str) -> None:
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ParameterError(
            f"timezone must be an IANA zone name such as 'Europe/Paris', got {timezone!r}"
        ) from exc


def _read_rows(lines: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Read the data lines as strings, one row per line; flag lines with a wrong field count."""
    n = len(columns)
    count = pl.col("__raw").str.replace_all(_QUOTED, "").str.count_matches(",") + 1
    lines = lines.with_columns((count != n).alias("__bad_fields"))
    # Lines with the wrong count are read as empty rows, so that rows stay aligned with lines.
    body = lines.select(
        pl.when(pl.col("__bad_fields")).then(pl.lit("," * (n - 1))).otherwise(pl.col("__raw"))
    ).to_series()
    header = ",".join(f'"{c}"' for c in [f"__c{i}" for i in range(n)])
    data = "\n".join([header, *body.to_list()]) + "\n"
    if lines.height == 0:
        values = pl.DataFrame(schema={f"__c{i}": pl.String for i in range(n)})
    else:
        values = pl.read_csv(
            io.BytesIO(data.encode("utf-8")),
            infer_schema=False,
        )
    values.columns = columns
    return lines.hstack(values.get_columns())


def _parse(rows: pl.DataFrame, timezone: str | None) -> tuple[pl.DataFrame, list[Check]]:
    """Parse numbers and the timestamp; flag malformed values of the columns read."""
    checks = [
        Check(
            "__bad_fields",
            "line",
            None,
            "not as many comma-separated fields as the header (CodeCarbon's "
            "on_csv_write='append' leaves out columns that were empty, which shifts the row)",
        )
    ]
    exprs: list[pl.Expr] = []
    flags: list[pl.Expr] = []
    present = set(rows.columns)
    for c in _NUMERIC:
        if c not in present:
            continue
        raw = pl.col(c).str.strip_chars()
        raw = pl.when(raw.str.len_bytes() > 0).then(raw)
        number = raw.cast(pl.Float64, strict=False)
        exprs.append(number.alias(c))
        if c in ("duration", "energy_consumed", "pue", "cpu_count", "gpu_count", "ram_total_size"):
            bad = raw.is_not_null() & (number.is_null() | ~number.is_finite() | (number < 0))
            if c == "pue":
                bad = bad | (number == 0)
            if c == "duration":
                bad = bad | raw.is_null()
            flags.append((bad.fill_null(False) & ~pl.col("__bad_fields")).alias(f"__bad_{c}"))
            what = "a number > 0" if c == "pue" else "a number >= 0"
            if c == "duration":
                what += " (seconds; it may not be empty)"
            checks.append(Check(f"__bad_{c}", c, f"__raw_{c}", f"not {what}"))
    keep_raw = [pl.col(c).alias(f"__raw_{c}") for c in _NUMERIC if c in present]
    if "timestamp" in present:
        raw = pl.col("timestamp").str.strip_chars()
        raw = pl.when(raw.str.len_bytes() > 0).then(raw)
        end = pl.coalesce(
            [raw.str.to_datetime(f, strict=False, time_unit="us") for f in _TIMESTAMP_FORMATS]
        )
        if timezone is not None:
            end = end.dt.replace_time_zone(
                timezone, ambiguous="earliest", non_existent="null"
            ).dt.convert_time_zone("UTC")
        exprs.append(end.alias("__end"))
        bad = raw.is_not_null() & end.is_null()
        flags.append((bad.fill_null(False) & ~pl.col("__bad_fields")).alias("__bad_timestamp"))
        checks.append(
            Check(
                "__bad_timestamp",
                "timestamp",
                "timestamp",
                "not a time (YYYY-MM-DDTHH:MM:SS)"
                + ("" if timezone is None else f" that exists in {timezone}"),
            )
        )
    else:
        exprs.append(pl.lit(None, pl.Datetime("us")).alias("__end"))
    return rows.with_columns(keep_raw).with_columns(*exprs, *flags), checks


def _column(frame: pl.DataFrame, name: str, dtype: pl.DataType | None = None) -> pl.Expr:
    dtype = pl.String() if dtype is None else dtype
    if name in frame.columns:
        column = pl.col(name)
        if dtype == pl.String:
            column = column.str.strip_chars()
            return pl.when(column.str.len_bytes() > 0).then(column)
        return column
    return pl.lit(None, dtype)


def _resolve_keys(jobs: pl.DataFrame, factors: Factors) -> pl.DataFrame:
    """Add the canonical columns: ids, times, energy, and the keys the tables resolve."""
    index = factors.keys
    regions = factors.table("regions")
    run_id = _column(jobs, "run_id")
    if "task_name" in jobs.columns:
        run_id = pl.concat_str([run_id, _column(jobs, "task_name")], separator="/")
    duration_s = _column(jobs, "duration", pl.Float64())
    pue = _column(jobs, "codecarbon_pue", pl.Float64()).fill_null(1.0)
    gpu_model = _column(jobs, "gpu_model")
    parts = gpu_model.str.extract_groups(r"^(\d+)\s*x\s*(.+?)$")
    # "2 x A1 x B" (mixed models, concatenated by CodeCarbon) names no single model.
    single = parts.struct.field("2").str.contains(r"\d+\s*x\s").not_()
    model = (
        pl.when(parts.struct.field("2").is_null())
        .then(gpu_model)
        .when(single)
        .then(parts.struct.field("2"))
    )
    gpu_count = pl.coalesce(
        _column(jobs, "gpu_count", pl.Float64()), parts.struct.field("1").cast(pl.Float64)
    )
    provider = _column(jobs, "cloud_provider").str.to_lowercase()
    cloud_key = pl.concat_str(
        [provider.replace_strict(_CLOUDS, default=None), _column(jobs, "cloud_region")],
        separator=":",
    )
    work = jobs.with_columns(
        cloud_key.alias("__cloud"),
        _column(jobs, "country_iso_code").alias("__iso3"),
        _column(jobs, "country_name").alias("__country_name"),
        _column(jobs, "codecarbon_region").str.to_lowercase().alias("__subregion"),
        model.alias("__gpu_model"),
        _column(jobs, "cpu_model").alias("__cpu_model"),
    )
    rows = index.resolve(
        work,
        {
            "__cloud": "regions",
            "__iso3": "regions",
            "__country_name": "regions",
            "__gpu_model": "accelerators",
            "__cpu_model": "cpus",
        },
        raise_unknown=False,
    )
    tables = {"__cloud": "regions", "__iso3": "regions", "__country_name": "regions"}
    tables |= {"__gpu_model": "accelerators", "__cpu_model": "cpus"}
    work = work.with_columns(
        factors.table(table)["key"].gather(rows[c]).alias(f"{c}_key") for c, table in tables.items()
    )
    keys = {c: pl.col(f"{c}_key") for c in tables}
    country = pl.coalesce(keys["__iso3"], keys["__country_name"])
    iso2 = country.replace_strict(
        regions["key"], regions["country_iso2"], default=None, return_dtype=pl.String
    )
    lookup = (
        regions.filter(pl.col("kind") == "subnational")
        .select(
            pl.concat_str(
                [pl.col("country_iso2"), pl.col("name").str.to_lowercase()], separator="|"
            ).alias("name"),
            "key",
        )
        .drop_nulls()
        .unique("name", keep="first", maintain_order=True)
    )
    subnational = pl.concat_str([iso2, pl.col("__subregion")], separator="|").replace_strict(
        lookup["name"], lookup["key"], default=None, return_dtype=pl.String
    )
    accelerator = keys["__gpu_model"]
    has_gpus = (gpu_count > 0).fill_null(False)
    work = work.with_columns(
        pl.when(run_id.is_not_null())
        .then(run_id)
        .otherwise(pl.format("line {}", pl.col("__line")))
        .alias("job_id"),
        (
            pl.col("__end") - pl.duration(microseconds=(duration_s * 1e6).round(0).cast(pl.Int64))
        ).alias("start"),
        pl.col("__end").alias("end"),
        (duration_s / 3600.0).alias("duration_h"),
        pl.when(has_gpus).then(accelerator).alias("accelerator"),
        pl.when(has_gpus & accelerator.is_not_null())
        .then(gpu_count.round(0))
        .otherwise(0)
        .cast(pl.Int64)
        .alias("accelerator_count"),
        keys["__cpu_model"].alias("cpu"),
        _column(jobs, "cpu_count", pl.Float64()).round(0).cast(pl.Int64).alias("cpu_cores"),
        (_column(jobs, "ram_total_size", pl.Float64()) * _GIB_TO_GB).alias("memory_gb"),
        (_column(jobs, "energy_consumed", pl.Float64()) / pue).alias("energy_kwh"),
        pl.coalesce(keys["__cloud"], subnational, country).alias("region"),
    )
    unmapped = work.select((has_gpus & accelerator.is_null()).sum()).item()
    if unmapped:
        shown = (
            work.filter(has_gpus & accelerator.is_null())
            .select(_column(jobs, "gpu_model"))
            .to_series()
            .unique(maintain_order=True)
            .head(3)
            .to_list()
        )
        warnings.warn(
            f"{unmapped} CodeCarbon run{'s' if unmapped != 1 else ''} used GPUs whose model "
            f"the accelerators table does not know ({shown}): their metered energy is "
            "counted, their GPUs' embodied carbon is not; set 'accelerator' and "
            "'accelerator_count' for them, or add an alias to the factor tables",
            UnmappedAcceleratorWarning,
            stacklevel=3,
        )
    return work
