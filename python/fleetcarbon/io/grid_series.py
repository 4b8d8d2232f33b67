"""Read time-resolved (hourly) grid carbon intensity: Electricity Maps, EIA-930, long form.

:func:`read_grid_series` turns a file of grid carbon intensity over time into
one long frame, one row per region and interval, the form that
``Factors.with_grid_series`` takes:

``region`` (String), ``start`` and ``end`` (Datetime[us, UTC], the interval
``[start, end)``), ``kgco2e_per_kwh`` (Float64), ``kgco2e_per_kwh_low`` and
``kgco2e_per_kwh_high`` (only when the source has bounds),
``market_kgco2e_per_kwh`` (only when the source has it), ``source`` and
``basis`` (String; ``"lifecycle"`` or ``"direct"``), sorted by region then start.

The formats (``format=``, else told by each file's header; Parquet by its
magic bytes):

* ``"electricitymaps"``: Electricity Maps CSV exports (``Datetime (UTC)``,
  ``Zone Id``, ``Carbon Intensity gCO₂eq/kWh (LCA)`` and ``(direct)``; the
  newer spelling ``Zone id``, ``Carbon intensity gCO₂eq/kWh (Life cycle)``;
  ``gCO2eq`` for ``gCO₂eq``; and the older research files' ``datetime``,
  ``zone_name``, ``carbon_intensity_avg``, ``carbon_intensity_direct_avg``).
  ``basis`` picks the column; the values are g/kWh, divided by 1000.
* ``"eia930"``: EIA-930 hourly files, in two shapes. (a) EIA's own BALANCE
  files (``Balancing Authority``, ``UTC Time at End of Hour``, ``Net Generation
  (MW) from Coal`` ...): the intensity is computed here from net generation by
  fuel with :data:`AR5_LIFECYCLE_G_PER_KWH`. (b) The files of HPE's SustainDC
  (dc-rl), derived from EIA-930 (``timestamp``, ``WND, SUN, WAT, OIL, NG, COL,
  NUC, OTH`` in MWh, ``avg_CI`` in g/kWh; the region is in the file name,
  ``CISO_NG_&_avgCI.csv``). Both label each hour by its end, EIA's
  convention: ``start = label - 1 h``.
* ``"long"``: the output form itself, CSV or Parquet: ``region``, ``start``,
  optional ``end``, ``kgco2e_per_kwh`` (or ``gco2e_per_kwh``, in g/kWh),
  optional ``market_kgco2e_per_kwh``, ``kgco2e_per_kwh_low``/``_high``,
  ``source`` and ``basis``. Other columns are ignored.

Where a source gives one time per row, the interval's length (the *step*) is
the most common spacing of the region's rows: ``1h`` for hourly data, ``15m``
for 15-minute data; calendar days, months or years for daily, monthly or
yearly exports. Rows closer together than the step are an error, so that no
overlap is made up; gaps stay gaps (``with_grid_series`` checks them).

Files may be compressed (gzip, zstd, bzip2, xz; see
:mod:`fleetcarbon.io.compression`); a glob or a list of paths is read as one
series. ``docs/grid_series.md`` describes the formats and their caveats.
"""

from __future__ import annotations

import glob
import io
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Literal, NamedTuple

import polars as pl

from fleetcarbon.errors import (
    DroppedRowsWarning,
    InvalidValueError,
    MissingColumnError,
    ParameterError,
    SchemaError,
)
from fleetcarbon.io._text import N_SHOWN, refuse_binary, text_bytes
from fleetcarbon.io.compression import inner_name, read_bytes
from fleetcarbon.parameters import OnInvalid, check_on_invalid

__all__ = [
    "AR5_LIFECYCLE_G_PER_KWH",
    "FORMATS",
    "GRID_SERIES_SCHEMA",
    "Basis",
    "GridSeriesFormat",
    "read_grid_series",
]

GridSeriesFormat = Literal["electricitymaps", "long", "eia930"]
Basis = Literal["lifecycle", "direct"]
FORMATS: tuple[GridSeriesFormat, ...] = ("electricitymaps", "long", "eia930")
_BASES: tuple[Basis, ...] = ("lifecycle", "direct")

#: Lifecycle emission factors (gCO2e/kWh) for EIA-930 net generation by fuel: the medians of
#: IPCC AR5 WG III Annex III, Table A.III.2 (Schlömer S., Bruckner T., Fulton L. et al., 2014:
#: "Annex III: Technology-specific cost and performance parameters", in *Climate Change 2014:
#: Mitigation of Climate Change*, Cambridge University Press, pp. 1329-1356): wind onshore 11,
#: PV rooftop 41, hydropower 24, gas combined cycle 490, coal pulverised 820, nuclear 12, and
#: dedicated biomass 230 for "other". AR5 has no oil row: 650 is the figure SustainDC (dc-rl)
#: uses, so that its ``avg_CI`` is reproduced.
AR5_LIFECYCLE_G_PER_KWH: dict[str, float] = {
    "wind": 11.0,
    "solar": 41.0,
    "hydro": 24.0,
    "oil": 650.0,
    "gas": 490.0,
    "coal": 820.0,
    "nuclear": 12.0,
    "other": 230.0,
}

#: The output columns and dtypes, in order; the optional ones appear only when the source has them.
GRID_SERIES_SCHEMA: dict[str, pl.DataType] = {
    "region": pl.String(),
    "start": pl.Datetime("us", "UTC"),
    "end": pl.Datetime("us", "UTC"),
    "kgco2e_per_kwh": pl.Float64(),
    "kgco2e_per_kwh_low": pl.Float64(),
    "kgco2e_per_kwh_high": pl.Float64(),
    "market_kgco2e_per_kwh": pl.Float64(),
    "source": pl.String(),
    "basis": pl.String(),
}
_OPTIONAL = ("kgco2e_per_kwh_low", "kgco2e_per_kwh_high", "market_kgco2e_per_kwh")

_READER = "read_grid_series"
_GLOB_CHARS = frozenset("*?[")
_HOUR = timedelta(hours=1)
_UTC = "UTC"

# Source ids, as the ``sources`` table names them.
_SOURCE_EM = "electricitymaps"
_SOURCE_EIA = "eia-930;ipcc-ar5-annex-iii"
_SOURCE_DCRL = "hpe-dc-rl;eia-930;ipcc-ar5-annex-iii"

# Electricity Maps headers, compared lower-cased with runs of spaces collapsed.
_EM_TIMES = ("datetime (utc)", "datetime")
#: Zone keys; not "zone name", which is a display name ("Germany").
_EM_ZONES = ("zone id", "zone_id", "zone_key", "zone_name")
#: "(direct)" / "(LCA)" / "(Life cycle)"; what is between (gCO₂eq/kWh, gCO2eq, or bytes an
#: editor mangled) is not looked at.
_EM_INTENSITY = re.compile(r"^carbon intensity\b.*\((?P<basis>direct|lca|life ?cycle)\)$")
_EM_OLD = {"lifecycle": "carbon_intensity_avg", "direct": "carbon_intensity_direct_avg"}

# EIA-930 BALANCE files.
_EIA_BA = "balancing authority"
_EIA_END = "utc time at end of hour"
_EIA_FUEL = re.compile(
    r"^net generation \(mw\) from (?P<fuel>.+?)(?: \((?P<kind>adjusted|imputed)\))?$"
)
#: EIA-930 fuel names -> (AR5 category, whether it is a combined column of older files).
#: Newer files split hydro and pumped storage, and solar and wind with and without batteries
#: ("witho" is EIA's spelling in some files).
_EIA_FUELS: dict[str, tuple[str, bool]] = {
    "coal": ("coal", True),
    "natural gas": ("gas", True),
    "nuclear": ("nuclear", True),
    "all petroleum products": ("oil", True),
    "hydropower and pumped storage": ("hydro", True),
    "hydropower excluding pumped storage": ("hydro", False),
    "pumped storage": ("hydro", False),
    "solar": ("solar", True),
    "solar without integrated battery storage": ("solar", False),
    "solar with integrated battery storage": ("solar", False),
    "solar witho integrated battery storage": ("solar", False),
    "wind": ("wind", True),
    "wind without integrated battery storage": ("wind", False),
    "wind with integrated battery storage": ("wind", False),
    "other fuel sources": ("other", True),
    # Older files count geothermal in "other fuel sources": it stays there, so that a
    # BA's series has no step where EIA split the columns.
    "geothermal": ("other", False),
}
#: Generation the files give no fuel for, left out of the mean (so it gets the mix's intensity).
_EIA_LEFT_OUT = frozenset(
    {"unknown fuel sources", "battery storage", "other energy storage", "unknown energy storage"}
)

#: SustainDC (dc-rl) fuel codes (EIA's) -> AR5 category.
_DCRL_FUELS = {
    "WND": "wind",
    "SUN": "solar",
    "WAT": "hydro",
    "OIL": "oil",
    "NG": "gas",
    "COL": "coal",
    "NUC": "nuclear",
    "OTH": "other",
}
_DCRL_NAME = re.compile(r"^(?P<region>[A-Za-z0-9-]+)_NG_&_avgCI$")

#: Long form: output column -> (its name in kg/kWh, its name in g/kWh).
_LONG_VALUES = {
    "kgco2e_per_kwh": ("kgco2e_per_kwh", "gco2e_per_kwh"),
    "kgco2e_per_kwh_low": ("kgco2e_per_kwh_low", "gco2e_per_kwh_low"),
    "kgco2e_per_kwh_high": ("kgco2e_per_kwh_high", "gco2e_per_kwh_high"),
    "market_kgco2e_per_kwh": ("market_kgco2e_per_kwh", "market_gco2e_per_kwh"),
}

# Times: year first (ISO 8601, with or without "T", seconds, fraction, offset), and for EIA
# files its month/day/year with AM/PM ("01/01/2022 7:00:00 AM").
_CLOCK = r"(?P<hh>\d{1,2}):(?P<mi>\d{2})(?::(?P<ss>\d{2})(?:[.,](?P<frac>\d{1,9}))?)?"
_OFFSET = r"\s*(?P<off>Z|UTC|[+-]\d{2}(?::?\d{2})?)?\s*$"
_ISO_TIME = (
    r"^\s*(?P<y>\d{4})[-/](?P<mo>\d{1,2})[-/](?P<d>\d{1,2})(?:(?:T|\s+)" + _CLOCK + ")?" + _OFFSET
)
_US_TIME = (
    r"^\s*(?P<mo>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})(?:\s+"
    + _CLOCK
    + r"(?:\s*(?P<ampm>[AaPp][Mm]))?)?"
    + _OFFSET
)
#: Exact formats tried first: (format, "naive" | "offset" | "utc"); the last only for EIA.
_FAST_FORMATS = (
    ("%Y-%m-%d %H:%M:%S%.f", "naive"),
    ("%Y-%m-%d %H:%M:%S%.f%:z", "offset"),
    ("%Y-%m-%dT%H:%M:%S%.fZ", "utc"),
    ("%Y-%m-%dT%H:%M:%S%.f%:z", "offset"),
    ("%m/%d/%Y %I:%M:%S %p", "naive"),
)
_STEP = re.compile(r"^(\d+(ns|us|ms|s|m|h|d|w|mo|q|y))+$")

#: Warnings to give once reading is done: (message, category).
Notes = list[tuple[str, type[Warning]]]


class _Input(NamedTuple):
    """One input: its data (decompressed), its name in messages, its file name if any."""

    data: bytes | str
    name: str
    file_name: str | None


class _Check(NamedTuple):
    """One validity check: rows where ``flag`` is True are invalid."""

    #: Boolean column, True on failing rows.
    flag: str
    #: The column as the source names it (errors name it).
    column: str
    #: Column holding the value shown in errors (None: no value shown).
    value: str | None
    #: What is wrong with a failing row.
    problem: str


@dataclass
class _Parsed:
    """One input, parsed into the standard columns, with its checks and how to read its times."""

    frame: pl.DataFrame
    name: str
    #: ``line`` for text (file line numbers), ``row`` for Parquet.
    unit: str
    #: The source's name of its time column (the start, or the end where ``hour_ending``).
    time_column: str
    #: The time column is the end of an hourly interval (EIA), not its start.
    hour_ending: bool = False
    #: Naive times are UTC because the format says so.
    implied_utc: bool = False
    end_column: str | None = None
    optional: tuple[str, ...] = ()
    checks: list[_Check] = field(default_factory=list)
    #: Every readable (region, start), invalid rows' included: the spacing that tells the step.
    times: pl.DataFrame | None = None


def read_grid_series(
    source: str | os.PathLike[str] | bytes | io.IOBase | Sequence[str | os.PathLike[str]],
    *,
    format: GridSeriesFormat | None = None,
    region: str | None = None,
    basis: Basis | None = None,
    timezone: str | None = None,
    step: str | timedelta | None = None,
    on_invalid: OnInvalid = "raise",
) -> pl.DataFrame:
    """Read a time series of grid carbon intensity into the long form ``with_grid_series`` takes.

    Parameters
    ----------
    source : str, path, bytes, file object, or sequence of paths
        A file (CSV or Parquet, plain or compressed: gzip, zstd, bzip2, xz), a
        glob pattern or a list of files (read as one series), or the text or
        bytes themselves. Files are only read, never modified.
    format : {"electricitymaps", "eia930", "long"}, optional
        Told by each file's header (Parquet: its column names) when omitted.
    region : str, optional
        The region of a one-region file: sets ``region`` where the file has no
        region column (a SustainDC file renamed, a long file without
        ``region``) and replaces the file's own where it has one (to name an
        Electricity Maps zone by another key of the regions table). A file
        holding several regions with ``region=`` is an error.
    basis : {"lifecycle", "direct"}, optional
        Electricity Maps: which intensity to read, lifecycle (``LCA``, the
        default) or direct (combustion only). Long form: the basis of a file
        without a ``basis`` column (then required), or the rows to keep of one
        with both. EIA-930: only ``"lifecycle"``, what the AR5 factors give.
    timezone : str, optional
        IANA zone of the long form's naive (offset-less) times, which need
        one; times with an offset need none. A wall time repeated by a DST
        fall-back (``02:00`` twice in Europe/Berlin) is read in file order: the
        first is summer time, the second winter time. Electricity Maps and
        EIA-930 times are UTC: only ``"UTC"`` fits them.
    step : str or timedelta, optional
        The length of each interval where the source gives only its start (in
        Polars duration syntax: ``"1h"``, ``"15m"``, ``"1d"``, ``"1mo"``),
        instead of the most common spacing of each region's rows. A region with
        a single row needs it.
    on_invalid : {"raise", "drop"}, default "raise"
        Rows whose region, time or intensity is empty or unreadable, negative
        intensities, bounds that do not bracket the value, an ``end`` not after
        ``start``, and local times a DST change skips raise
        :class:`~fleetcarbon.errors.InvalidValueError` naming the column, the
        number of bad rows and the first line numbers with their region, time
        and value; or are dropped with a
        :class:`~fleetcarbon.errors.DroppedRowsWarning` counting them.

    Returns
    -------
    pl.DataFrame
        One row per region and interval, sorted by ``region`` then ``start``:
        ``region, start, end, kgco2e_per_kwh``, then ``kgco2e_per_kwh_low,
        kgco2e_per_kwh_high`` and ``market_kgco2e_per_kwh`` when the source has
        them, then ``source, basis``; dtypes as in :data:`GRID_SERIES_SCHEMA`.
        ``source`` is ``electricitymaps``, ``eia-930;ipcc-ar5-annex-iii`` (EIA
        files), ``hpe-dc-rl;eia-930;ipcc-ar5-annex-iii`` (SustainDC files), or
        the long form's column (default: ``user``).

    Raises
    ------
    SchemaError
        If ``source`` names no readable file, its format cannot be told, a
        column has the wrong dtype, naive long-form times come without
        ``timezone``, a region's rows mix sources or bases, or the length of a
        one-row region's interval cannot be told.
    MissingColumnError
        If a column the format needs is absent (the message lists those found).
    InvalidValueError
        With ``on_invalid="raise"``, on invalid rows. Always on rows of the same
        region and start that differ (identical ones are dropped with
        ``on_invalid="drop"``), and on rows closer together than their
        region's step.
    ParameterError
        If an option is invalid or does not fit the source.

    Warns
    -----
    DroppedRowsWarning
        When rows are dropped under ``on_invalid="drop"``.

    Examples
    --------
    >>> from fleetcarbon.io import read_grid_series
    >>> text = (
    ...     "Datetime (UTC),Zone Id,Carbon Intensity gCO₂eq/kWh (direct),"
    ...     "Carbon Intensity gCO₂eq/kWh (LCA)\\n"
    ...     "2023-01-01 01:00:00,DE,151.0,198.5\\n"
    ...     "2023-01-01 00:00:00,DE,152.0,199.5\\n"
    ... )
    >>> s = read_grid_series(text)
    >>> s.columns
    ['region', 'start', 'end', 'kgco2e_per_kwh', 'source', 'basis']
    >>> s.select("region", "kgco2e_per_kwh", "source", "basis").row(0)
    ('DE', 0.1995, 'electricitymaps', 'lifecycle')
    >>> [str(t) for t in s.row(1)[1:3]]
    ['2023-01-01 01:00:00+00:00', '2023-01-01 02:00:00+00:00']
    >>> read_grid_series(text, basis="direct")["kgco2e_per_kwh"].to_list()
    [0.152, 0.151]
    """
    on_invalid = check_on_invalid(on_invalid)
    if format is not None and format not in FORMATS:
        raise ParameterError(f"format must be one of {FORMATS} or None, got {format!r}")
    if basis is not None and basis not in _BASES:
        raise ParameterError(f"basis must be 'lifecycle', 'direct' or None, got {basis!r}")
    if region is not None and (not isinstance(region, str) or not region.strip()):
        raise ParameterError(f"region must be a non-empty string, got {region!r}")
    if timezone is not None:
        _check_timezone(timezone)
    step_text = None if step is None else _check_step(step)

    notes: Notes = []
    parsed = []
    for item in _inputs(source):
        raw, unit = _table(item, notes)
        fmt = format or _detect(raw.columns, item.name)
        one = _PARSERS[fmt](raw, item, region, basis, notes)
        one.unit = unit
        one.frame = _check_rows(_times(one, timezone), one, on_invalid, notes)
        parsed.append(one)
    series = _finish(parsed, timezone or _UTC, step_text, on_invalid, notes)
    for message, category in notes:
        # stacklevel 2: the warnings name the caller of read_grid_series.
        warnings.warn(message, category, stacklevel=2)
    return series


# --- inputs ------------------------------------------------------------------------------


def _inputs(source: object) -> list[_Input]:
    """List the inputs ``source`` names: text, bytes, a file object, a file, a glob, a list."""
    if isinstance(source, (list, tuple)):
        items = [i for s in source for i in _inputs(s)]
        if not items:
            raise SchemaError(f"{_READER}: the list of sources is empty")
        return items
    if isinstance(source, str) and ("\n" in source or "\r" in source):
        return [_Input(source, "<text>", None)]
    read = getattr(source, "read", None)
    if callable(read):
        data = read()
        if isinstance(data, str):
            return [_Input(data, "<file>", None)]
        return [_Input(read_bytes(bytes(data), "<file>"), "<file>", None)]
    if isinstance(source, (bytes, bytearray, memoryview)):
        return [_Input(read_bytes(bytes(source), "<bytes>"), "<bytes>", None)]
    if not isinstance(source, (str, os.PathLike)):
        raise SchemaError(
            f"{_READER}: source must be a path, a glob, a list of paths, text, bytes or a "
            f"file object, not {type(source).__name__}"
        )
    path = os.fspath(source)
    if not _is_file(path):
        if isinstance(source, str) and _GLOB_CHARS & set(path):
            matches = sorted(m for m in glob.glob(path, recursive=True) if _is_file(m))
            if not matches:
                raise SchemaError(f"{_READER}: no file matches {path[:200]!r}")
            return [i for m in matches for i in _inputs(m)]
        raise SchemaError(
            f"{_READER}: no such file: {path[:200]!r} (pass a path, a glob, or the text itself)"
        )
    name = repr(path)
    try:
        data = read_bytes(path, name)
    except OSError as exc:
        raise SchemaError(f"{_READER}: cannot read {name}: {exc}") from exc
    return [_Input(data, name, Path(inner_name(path)).name)]


def _is_file(path: str) -> bool:
    try:
        return Path(path).is_file()
    except (OSError, ValueError):  # NUL bytes or an over-long name
        return False


def _table(item: _Input, notes: Notes) -> tuple[pl.DataFrame, str]:
    """Read an input as a frame (CSV: every column text) with ``__line``; and its line unit."""
    data = item.data
    if isinstance(data, bytes) and data.startswith(b"PAR1"):
        try:
            frame = pl.read_parquet(io.BytesIO(data))
        except Exception as exc:  # Polars raises several kinds for damaged files
            raise SchemaError(f"{_READER}: cannot read {item.name} as Parquet: {exc}") from exc
        frame = _strip_names(frame).with_row_index("__line", offset=1)
        return frame.with_columns(pl.col("__line").cast(pl.Int64)), "row"
    text = data if isinstance(data, str) else _decode(data, item.name, notes)
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise SchemaError(f"{_READER}: {item.name} is empty (no header line)")
    try:
        frame = pl.read_csv(text_bytes(text), infer_schema=False)
    except pl.exceptions.PolarsError as exc:
        raise SchemaError(f"{_READER}: cannot read {item.name} as CSV: {exc}") from exc
    # Line 1 is the header; Polars reads a blank line as a row of nulls, so rows map to lines.
    frame = _strip_names(frame).with_row_index("__line", offset=2)
    frame = frame.with_columns(pl.col("__line").cast(pl.Int64))
    return _without_blank_lines(frame, text), "line"


def _strip_names(frame: pl.DataFrame) -> pl.DataFrame:
    renamed = {c: c.strip() for c in frame.columns if c != c.strip()}
    if len({renamed.get(c, c) for c in frame.columns}) < frame.width:
        return frame  # stripping would make two columns one: keep the names as they are
    return frame.rename(renamed)


def _decode(data: bytes, name: str, notes: Notes) -> str:
    """UTF-8 text, as :mod:`fleetcarbon.io._text` decodes it; bad bytes in the header pass."""
    refuse_binary(data, name, _READER, what="neither text nor Parquet")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # Some Electricity Maps exports were re-saved by a program that mangled the "₂" of the
    # header. Headers are matched loosely, so only bad bytes in the data are worth a warning.
    cut = data.find(b"\n")
    cut = len(data) if cut < 0 else cut
    head = data[:cut].decode("utf-8", errors="replace")
    try:
        rest = data[cut:].decode("utf-8")
    except UnicodeDecodeError as exc:
        rest = data[cut:].decode("utf-8", errors="replace")
        line = data.count(b"\n", 0, cut + exc.start) + 1
        notes.append(
            (
                f"{_READER}: {name} is not valid UTF-8 (first on line {line}): "
                f"{rest.count(chr(0xFFFD))} undecodable bytes were replaced by U+FFFD",
                UserWarning,
            )
        )
    return head + rest


def _without_blank_lines(frame: pl.DataFrame, text: str) -> pl.DataFrame:
    if not any(mark in text for mark in ("\n\n", "\n\r\n", "\r\r", "\n ", "\n\t")):
        return frame  # no line can be blank (substring tests: fast on large files)
    data = [c for c in frame.columns if c != "__line"]
    empty = pl.all_horizontal(
        [pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "") for c in data]
    )
    candidates = frame.filter(empty)["__line"].to_list()
    if not candidates:
        return frame
    lines = re.split(r"\r\n|\r|\n", text)
    blank = [n for n in candidates if n <= len(lines) and not lines[n - 1].strip()]
    return frame.filter(~pl.col("__line").is_in(blank)) if blank else frame


# --- formats -----------------------------------------------------------------------------


def _norm(name: str) -> str:
    return re.sub(r"\s+", " ", name.strip().lower())


def _data_columns(raw: pl.DataFrame) -> list[str]:
    return [c for c in raw.columns if c != "__line"]


def _find(columns: Sequence[str], *candidates: str) -> str | None:
    """Return the first column whose normalized name is one of ``candidates`` (in order)."""
    by_norm: dict[str, str] = {}
    for c in columns:
        by_norm.setdefault(_norm(c), c)
    for cand in candidates:
        if cand in by_norm:
            return by_norm[cand]
    return None


def _detect(columns: Sequence[str], name: str) -> GridSeriesFormat:
    norm = {_norm(c) for c in columns}
    if {_EIA_BA, _EIA_END} <= norm:
        return "eia930"
    if "timestamp" in norm and ("avg_ci" in norm or {f.lower() for f in _DCRL_FUELS} <= norm):
        return "eia930"
    if norm & set(_EM_TIMES) and (
        any(_EM_INTENSITY.match(c) for c in norm) or norm & set(_EM_OLD.values())
    ):
        return "electricitymaps"
    if "start" in norm and norm & {"kgco2e_per_kwh", "gco2e_per_kwh"}:
        return "long"
    shown = [c for c in columns if c != "__line"][:30]
    raise SchemaError(
        f"{_READER}: cannot tell the format of {name} from its columns {shown}: expected an "
        "Electricity Maps export ('Datetime (UTC)', 'Carbon Intensity gCO₂eq/kWh (LCA)'), an "
        "EIA-930 file ('Balancing Authority', 'UTC Time at End of Hour'; or dc-rl's "
        "'timestamp', 'avg_CI'), or the long form ('region', 'start', 'kgco2e_per_kwh'); "
        "pass format= to say which"
    )


def _missing(name: str, fmt: str, missing: Sequence[str], raw: pl.DataFrame) -> MissingColumnError:
    shown = _data_columns(raw)[:40]
    return MissingColumnError(
        f"{_READER}: {name} has no column {list(missing)} for format {fmt!r} (its columns: {shown})"
    )


def _region(
    raw: pl.DataFrame, column: str | None, region: str | None, name: str
) -> tuple[pl.Expr, list[_Check]]:
    """Return the region (the file's column, or ``region=`` for a one-region file), its check."""
    if region is None:
        assert column is not None
        value = _text(pl.col(column))
        return value.alias("region"), [_Check("__bad_region", column, None, "empty")]
    if column is not None:
        values = raw.select(_text(pl.col(column)).drop_nulls().unique()).to_series().sort()
        if values.len() > 1:
            raise ParameterError(
                f"region={region!r} sets the region of a one-region file, but {name} holds "
                f"{values.len()} regions ({values.head(5).to_list()}...): leave region out"
            )
    return pl.lit(region.strip(), pl.String).alias("region"), []


def _parse_electricitymaps(
    raw: pl.DataFrame, item: _Input, region: str | None, basis: Basis | None, notes: Notes
) -> _Parsed:
    columns = _data_columns(raw)
    basis = basis or "lifecycle"
    time_col = _find(columns, *_EM_TIMES)
    by_basis: dict[str, list[str]] = {"lifecycle": [], "direct": []}
    for c in columns:
        m = _EM_INTENSITY.match(_norm(c))
        if m:
            by_basis["direct" if m["basis"] == "direct" else "lifecycle"].append(c)
    for b, old in _EM_OLD.items():
        found = _find(columns, old)
        if found is not None and not by_basis[b]:
            by_basis[b].append(found)
    if len(by_basis[basis]) > 1:
        raise SchemaError(
            f"{_READER}: {item.name} has several {basis} intensity columns {by_basis[basis]}"
        )
    value_col = by_basis[basis][0] if by_basis[basis] else None
    zone_col = _find(columns, *_EM_ZONES)
    missing = [] if time_col else ["Datetime (UTC)"]
    if zone_col is None and region is None:
        missing.append("Zone Id (or pass region=)")
    if value_col is None:
        other = "direct" if basis == "lifecycle" else "lifecycle"
        hint = f" (it has the {other} one: pass basis={other!r})" if by_basis[other] else ""
        label = "LCA" if basis == "lifecycle" else "direct"
        missing.append(f"Carbon Intensity gCO₂eq/kWh ({label}){hint}")
    if missing:
        raise _missing(item.name, "electricitymaps", missing, raw)
    assert time_col is not None and value_col is not None
    region_expr, checks = _region(raw, zone_col, region, item.name)
    # Electricity Maps writes g/kWh; a header in kg (no export has one) is taken at its word.
    scale = 1.0 if "kgco" in _norm(value_col) else 1000.0
    frame = _select(
        raw,
        "__line",
        region_expr,
        *_time_columns(raw, time_col, "t"),
        *_number(raw, value_col, "kgco2e_per_kwh"),
        pl.lit(_SOURCE_EM).alias("source"),
        pl.lit(basis).alias("basis"),
    )
    frame = _value_flags(frame, {"kgco2e_per_kwh": scale})
    checks += [_time_check(time_col, "t"), *_value_checks("kgco2e_per_kwh", value_col)]
    return _Parsed(frame, item.name, "line", time_col, implied_utc=True, checks=checks)


def _parse_eia930(
    raw: pl.DataFrame, item: _Input, region: str | None, basis: Basis | None, notes: Notes
) -> _Parsed:
    if basis == "direct":
        raise ParameterError(
            "basis='direct' does not fit EIA-930 files: their intensity comes from the IPCC AR5 "
            "lifecycle factors (basis='lifecycle')"
        )
    columns = _data_columns(raw)
    if _find(columns, _EIA_END) is not None or _find(columns, _EIA_BA) is not None:
        return _parse_eia930_balance(raw, item, region, notes)
    if _find(columns, "timestamp") is not None:
        return _parse_dcrl(raw, item, region)
    raise _missing(item.name, "eia930", ["Balancing Authority", "UTC Time at End of Hour"], raw)


def _eia_fuel_columns(columns: Sequence[str], name: str, notes: Notes) -> dict[str, list[str]]:
    """Choose the net generation columns per AR5 category (EIA's adjusted ones if present)."""
    found: dict[str, dict[str | None, str]] = {}
    unknown = []
    for c in columns:
        m = _EIA_FUEL.match(_norm(c))
        if not m or m["fuel"] in _EIA_LEFT_OUT or m["kind"] == "imputed":
            continue
        if m["fuel"] not in _EIA_FUELS:
            unknown.append(c)
            continue
        found.setdefault(m["fuel"], {})[m["kind"]] = c
    if unknown:
        notes.append(
            (
                f"{_READER}: {name} has net generation columns of fuels this reader does not "
                f"know, left out of the intensity: {unknown}",
                UserWarning,
            )
        )
    fuels: dict[str, list[str]] = {}
    for category in AR5_LIFECYCLE_G_PER_KWH:
        mine = [f for f, (cat, _) in _EIA_FUELS.items() if cat == category and f in found]
        combined = [f for f in mine if _EIA_FUELS[f][1]]
        # Older files' combined column, else newer files' split ones: never both, which
        # would count the same generation twice. "Other" sums other fuels and geothermal.
        chosen = mine if category == "other" or not combined else combined
        # EIA's "(Adjusted)" series is its cleaned one: read it where the file has it.
        cols = [found[f].get("adjusted") or found[f][None] for f in chosen]
        if cols:
            fuels[category] = cols
    return fuels


def _parse_eia930_balance(
    raw: pl.DataFrame, item: _Input, region: str | None, notes: Notes
) -> _Parsed:
    columns = _data_columns(raw)
    ba = _find(columns, _EIA_BA)
    end = _find(columns, _EIA_END)
    fuels = _eia_fuel_columns(columns, item.name, notes)
    missing = []
    if ba is None and region is None:
        missing.append("Balancing Authority")
    if end is None:
        missing.append("UTC Time at End of Hour")
    if not fuels:
        missing.append("Net Generation (MW) from <fuel>")
    if missing:
        raise _missing(item.name, "eia930", missing, raw)
    assert end is not None
    region_expr, checks = _region(raw, ba, region, item.name)
    frame = _select(
        raw,
        "__line",
        region_expr,
        *_time_columns(raw, end, "t", us_dates=True),
        *_fuel_cells(raw, fuels, thousands=True),
        pl.lit(_SOURCE_EIA).alias("source"),
        pl.lit("lifecycle").alias("basis"),
    )
    frame = _divide(_generation_intensity(frame, fuels), "kgco2e_per_kwh", 1000.0)
    checks += [_time_check(end, "t"), *_generation_checks(fuels)]
    return _Parsed(frame, item.name, "line", end, hour_ending=True, implied_utc=True, checks=checks)


def _parse_dcrl(raw: pl.DataFrame, item: _Input, region: str | None) -> _Parsed:
    columns = _data_columns(raw)
    time_col = _find(columns, "timestamp")
    ci = _find(columns, "avg_ci")
    fuels = {}
    for code, category in _DCRL_FUELS.items():
        c = _find(columns, code.lower())
        if c is not None:
            fuels[category] = [c]
    if region is None:
        match = _DCRL_NAME.match(Path(item.file_name).stem) if item.file_name else None
        if match is None:
            raise ParameterError(
                f"{_READER}: {item.name} is a SustainDC (dc-rl) file, whose region is in its "
                "file name ('CISO_NG_&_avgCI.csv'): pass region= (the balancing authority)"
            )
        region = match["region"]
    missing = [] if time_col else ["timestamp"]
    if ci is None and len(fuels) < len(_DCRL_FUELS):
        missing.append("avg_CI")
    if missing:
        raise _missing(item.name, "eia930", missing, raw)
    assert time_col is not None
    if ci is not None:
        # The file's own intensity; tests/test_read_grid_series.py checks that it is the
        # AR5-weighted mean of its fuel columns.
        values = _number(raw, ci, "kgco2e_per_kwh")
        checks = _value_checks("kgco2e_per_kwh", ci)
    else:
        values = _fuel_cells(raw, fuels, thousands=False)
        checks = _generation_checks(fuels)
    frame = _select(
        raw,
        "__line",
        pl.lit(region, pl.String).alias("region"),
        *_time_columns(raw, time_col, "t"),
        *values,
        pl.lit(_SOURCE_DCRL).alias("source"),
        pl.lit("lifecycle").alias("basis"),
    )
    if ci is not None:
        frame = _value_flags(frame, {"kgco2e_per_kwh": 1000.0})
    else:
        frame = _divide(_generation_intensity(frame, fuels), "kgco2e_per_kwh", 1000.0)
    # dc-rl kept EIA's hour-ending labels: its first hour, labelled 2022-01-01T00:00Z, is
    # [2021-12-31T23:00Z, 2022-01-01T00:00Z), as in fleetcarbon's bundled series.
    return _Parsed(
        frame,
        item.name,
        "line",
        time_col,
        hour_ending=True,
        implied_utc=True,
        checks=[_time_check(time_col, "t"), *checks],
    )


def _parse_long(
    raw: pl.DataFrame, item: _Input, region: str | None, basis: Basis | None, notes: Notes
) -> _Parsed:
    columns = _data_columns(raw)
    present = set(columns)
    chosen: dict[str, tuple[str, float]] = {}
    for out, (kg, g) in _LONG_VALUES.items():
        if kg in present and g in present:
            raise SchemaError(
                f"{_READER}: {item.name} has both {kg!r} and {g!r}: keep one (kg or g per kWh)"
            )
        if kg in present or g in present:
            chosen[out] = (kg, 1.0) if kg in present else (g, 1000.0)
    missing = []
    if "region" not in present and region is None:
        missing.append("region")
    if "start" not in present:
        missing.append("start")
    if "kgco2e_per_kwh" not in chosen:
        missing.append("kgco2e_per_kwh")
    if "basis" not in present and basis is None:
        missing.append("basis (or pass basis='lifecycle' or 'direct')")
    if missing:
        raise _missing(item.name, "long", missing, raw)
    if ("kgco2e_per_kwh_low" in chosen) != ("kgco2e_per_kwh_high" in chosen):
        raise MissingColumnError(
            f"{_READER}: {item.name} has one bound but not the other (columns: "
            f"{columns[:40]}): give both kgco2e_per_kwh_low and kgco2e_per_kwh_high, or neither"
        )
    for c in ("region", "source", "basis"):
        if c in present and raw.schema[c] not in (pl.String, pl.Categorical, pl.Enum):
            raise SchemaError(
                f"{_READER}: column {c!r} of {item.name} is {raw.schema[c]}, not text"
            )
    end = "end" if "end" in present else None
    region_expr, checks = _region(raw, "region" if "region" in present else None, region, item.name)
    exprs = [pl.col("__line"), region_expr, *_time_columns(raw, "start", "t")]
    checks.append(_time_check("start", "t"))
    if end is not None:
        exprs += _time_columns(raw, end, "e")
        checks.append(_time_check(end, "e"))
    for out, (c, _) in chosen.items():
        exprs += _number(raw, c, out)
        checks += _value_checks(out, c)
    if "source" in present:
        exprs += [
            _text(pl.col("source")).alias("source"),
            _text(pl.col("source")).is_null().alias("__bad_source"),
        ]
        checks.append(_Check("__bad_source", "source", None, "empty"))
    else:
        exprs.append(pl.lit("user").alias("source"))
    if "basis" in present:
        # The regions table writes "lifecycle;generation": its first part is the basis.
        # (Worked out once per distinct value: a basis column holds one or two.)
        written = raw["basis"].cast(pl.String).unique().drop_nulls().to_list()
        first = {w: w.split(";")[0].strip().lower() for w in written}
        known = {w: b for w, b in first.items() if b in _BASES}
        normalized = pl.col("basis").cast(pl.String).replace_strict(known, default=None)
        exprs += [
            normalized.alias("basis"),
            normalized.is_null().alias("__bad_basis"),
            pl.col("basis").alias("__raw_basis"),
        ]
        checks.append(_Check("__bad_basis", "basis", "__raw_basis", "not 'lifecycle' or 'direct'"))
    else:
        exprs.append(pl.lit(basis).alias("basis"))
    frame = _value_flags(_select(raw, exprs), {o: d for o, (_, d) in chosen.items()})
    if "basis" in present and basis is not None:
        # Keep the rows of the basis asked for (and the invalid ones, to be told about).
        frame = frame.filter((pl.col("basis") == basis) | pl.col("__bad_basis"))
    if "kgco2e_per_kwh_low" in chosen:
        value = pl.col("kgco2e_per_kwh")
        frame = frame.with_columns(
            (pl.col("kgco2e_per_kwh_low") > value).fill_null(False).alias("__bad_low_order"),
            (pl.col("kgco2e_per_kwh_high") < value).fill_null(False).alias("__bad_high_order"),
        )
        low, high = chosen["kgco2e_per_kwh_low"][0], chosen["kgco2e_per_kwh_high"][0]
        checks += [
            _Check("__bad_low_order", low, "__raw_kgco2e_per_kwh_low", "above the value"),
            _Check("__bad_high_order", high, "__raw_kgco2e_per_kwh_high", "below the value"),
        ]
    optional = tuple(c for c in _OPTIONAL if c in chosen)
    return _Parsed(
        frame, item.name, "line", "start", end_column=end, optional=optional, checks=checks
    )


_PARSERS = {
    "electricitymaps": _parse_electricitymaps,
    "eia930": _parse_eia930,
    "long": _parse_long,
}


# --- values ------------------------------------------------------------------------------


def _select(raw: pl.DataFrame, *exprs: pl.Expr | str | list[pl.Expr]) -> pl.DataFrame:
    """Run ``raw.select`` through the lazy engine (and its optimizations)."""
    return raw.lazy().select(*exprs).collect()


def _text(expr: pl.Expr) -> pl.Expr:
    """Strip text; null when empty."""
    stripped = expr.cast(pl.String).str.strip_chars()
    return pl.when(stripped.str.len_bytes() > 0).then(stripped)


def _number(raw: pl.DataFrame, column: str, out: str) -> list[pl.Expr]:
    """Read ``column`` as ``out`` (a number, in the source's unit) and ``__raw_<out>`` (text)."""
    dtype = raw.schema[column]
    if dtype == pl.String:
        number = _text(pl.col(column)).cast(pl.Float64, strict=False)
    elif dtype.is_numeric():
        number = pl.col(column).cast(pl.Float64)
    else:
        raise SchemaError(f"{_READER}: column {column!r} is {dtype}, not a number")
    # The raw value is kept as read (cast to text only to be shown in a message).
    return [number.alias(out), pl.col(column).alias(f"__raw_{out}")]


def _value_flags(frame: pl.DataFrame, divisors: dict[str, float]) -> pl.DataFrame:
    """Convert the values :func:`_number` read to kg/kWh; flag the not finite and the negative."""
    for out, divisor in divisors.items():
        frame = _divide(frame, out, divisor)
    return frame.with_columns(
        flag
        for out in divisors
        for flag in (
            (~pl.col(out).is_finite()).fill_null(True).alias(f"__bad_{out}"),
            (pl.col(out) < 0).fill_null(False).alias(f"__neg_{out}"),
        )
    )


def _divide(frame: pl.DataFrame, column: str, divisor: float) -> pl.DataFrame:
    """Divide a column by a number, correctly rounded: 199.59 g is 0.19959 kg.

    Polars divides a column by a scalar as a product with its reciprocal, which is off by
    one unit in the last place for about one value in seven; NumPy divides.
    """
    if divisor == 1.0:
        return frame
    values = frame[column]
    quotient = pl.Series(column, values.to_numpy() / divisor, dtype=pl.Float64)
    return frame.with_columns(pl.when(values.is_not_null()).then(quotient).alias(column))


def _value_checks(out: str, column: str) -> list[_Check]:
    return [
        _Check(f"__bad_{out}", column, f"__raw_{out}", "empty or not a number"),
        _Check(f"__neg_{out}", column, f"__raw_{out}", "negative"),
    ]


def _fuel_cells(
    raw: pl.DataFrame, fuels: dict[str, list[str]], *, thousands: bool
) -> list[pl.Expr]:
    """Read fuel column ``i`` as ``__gen<i>`` (number), ``__cell<i>`` (not empty), ``__graw<i>``."""
    exprs = []
    for i, c in enumerate(c for cols in fuels.values() for c in cols):
        dtype = raw.schema[c]
        if dtype == pl.String:
            text = _text(pl.col(c))
            if thousands:
                text = text.str.replace_all(",", "", literal=True)  # "1,234" in EIA's CSV
            number, cell = text.cast(pl.Float64, strict=False), text.is_not_null()
        elif dtype.is_numeric():
            number = pl.col(c).cast(pl.Float64)
            cell = number.is_not_null()
        else:
            raise SchemaError(f"{_READER}: column {c!r} is {dtype}, not a number")
        exprs += [
            number.alias(f"__gen{i}"),
            cell.alias(f"__cell{i}"),
            pl.col(c).alias(f"__graw{i}"),
        ]
    return exprs


def _generation_intensity(frame: pl.DataFrame, fuels: dict[str, list[str]]) -> pl.DataFrame:
    """Add the generation-weighted AR5 lifecycle intensity (g/kWh) and its flags.

    ``sum(max(G_f, 0) * EF_f) / sum(max(G_f, 0))`` over the fuel columns read by
    :func:`_fuel_cells`, with ``EF`` from :data:`AR5_LIFECYCLE_G_PER_KWH`. An empty cell is
    no generation of that fuel (EIA-930 leaves the fuels a BA does not have empty); a row
    with every cell empty has no data. Negative net generation (pumped storage pumping,
    plants' own use) counts as 0.
    """
    # Step by step on materialized columns: each is computed once.
    columns = [(c, AR5_LIFECYCLE_G_PER_KWH[cat]) for cat, cols in fuels.items() for c in cols]
    n = len(columns)
    frame = frame.with_columns(
        (pl.col(f"__cell{i}") & ~pl.col(f"__gen{i}").is_finite().fill_null(False)).alias(
            f"__badcell{i}"
        )
        for i in range(n)
    )
    frame = frame.with_columns(
        pl.col(f"__gen{i}").clip(lower_bound=0.0).fill_null(0.0) for i in range(n)
    )
    frame = frame.with_columns(
        pl.sum_horizontal(f"__gen{i}" for i in range(n)).alias("__total"),
        pl.sum_horizontal(pl.col(f"__gen{i}") * ef for i, (_, ef) in enumerate(columns)).alias(
            "__emissions"
        ),
        pl.any_horizontal(f"__badcell{i}" for i in range(n)).alias("__bad_generation"),
        pl.any_horizontal(f"__cell{i}" for i in range(n)).alias("__any_cell"),
    )
    frame = frame.with_columns(
        pl.when(pl.col("__total") > 0)
        .then(pl.col("__emissions") / pl.col("__total"))
        .alias("kgco2e_per_kwh"),
        (~pl.col("__any_cell")).alias("__no_generation"),
        (pl.col("__any_cell") & (pl.col("__total") <= 0) & ~pl.col("__bad_generation")).alias(
            "__zero_generation"
        ),
    )
    # The first unreadable cell of a row, to be shown in the message.
    shown = pl.lit(None, pl.String)
    if frame["__bad_generation"].any():
        shown = pl.coalesce(
            pl.when(pl.col(f"__badcell{i}")).then(
                pl.format("{}: {}", pl.lit(c), pl.col(f"__graw{i}").cast(pl.String))
            )
            for i, (c, _) in enumerate(columns)
        )
    helpers = [f"__{kind}{i}" for kind in ("gen", "cell", "graw", "badcell") for i in range(n)]
    return frame.with_columns(shown.alias("__raw_generation")).drop(
        *helpers, "__any_cell", "__total", "__emissions"
    )


def _generation_checks(fuels: dict[str, list[str]]) -> list[_Check]:
    what = "net generation by fuel"
    columns = [c for cols in fuels.values() for c in cols]
    return [
        _Check("__bad_generation", what, "__raw_generation", "not a number"),
        _Check("__no_generation", what, None, f"empty in every fuel column {columns}"),
        _Check("__zero_generation", what, None, "0 in total (no generation to weight)"),
    ]


# --- times -------------------------------------------------------------------------------


def _time_columns(
    raw: pl.DataFrame, column: str, key: str, *, us_dates: bool = False
) -> list[pl.Expr]:
    """``__<key>``: the time, naive (UTC where ``__<key>_aware``); its raw text; its flag."""
    dtype = raw.schema[column]
    col = pl.col(column)
    aware: pl.Expr
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            naive, aware = col.cast(pl.Datetime("us")), pl.lit(False)
        else:
            naive = col.dt.convert_time_zone(_UTC).dt.replace_time_zone(None)
            naive, aware = naive.cast(pl.Datetime("us")), pl.lit(True)
    elif dtype == pl.Date:
        naive, aware = col.cast(pl.Datetime("us")), pl.lit(False)
    elif dtype == pl.String:
        naive, aware = _fast_time(raw, column, us_dates) or _parse_time(col, us_dates)
    else:
        raise SchemaError(f"{_READER}: column {column!r} is {dtype}, not a date and time")
    return [
        naive.alias(f"__{key}"),
        aware.alias(f"__{key}_aware"),
        col.alias(f"__raw_{key}"),
    ]


def _time_check(column: str, key: str) -> _Check:
    return _Check(f"__bad_time_{key}", column, f"__raw_{key}", "empty or not a date and time")


def _fast_time(raw: pl.DataFrame, column: str, us_dates: bool) -> tuple[pl.Expr, pl.Expr] | None:
    """One strict format that reads every time of the column, or None (then: the regex way).

    Nearly every file writes its times in one format; trying a few exact ones first is
    several times faster than the general parse, and gives the same values.
    """
    text = raw.select(_text(pl.col(column))).to_series()
    n_text = text.len() - text.null_count()
    for fmt, kind in _FAST_FORMATS if us_dates else _FAST_FORMATS[:4]:
        parsed = text.str.to_datetime(fmt, time_unit="us", strict=False)
        if parsed.len() - parsed.null_count() < n_text:
            continue
        if kind == "offset":
            parsed = parsed.dt.convert_time_zone(_UTC).dt.replace_time_zone(None)
        return pl.lit(parsed), pl.lit(kind != "naive")
    return None


def _parse_time(col: pl.Expr, us_dates: bool) -> tuple[pl.Expr, pl.Expr]:
    """Parse year-first times (and, for EIA, ``MM/DD/YYYY h:mm:ss AM``): (naive, had offset).

    A time with an offset is returned in UTC. ``2023/1/1 0:00`` (an Electricity Maps export
    re-saved by a spreadsheet) reads too.
    """
    parts = col.str.extract_groups(_ISO_TIME)
    names = ("y", "mo", "d", "hh", "mi", "ss", "frac", "off")
    field_of = {n: parts.struct.field(n) for n in names}
    if us_dates:
        us = col.str.extract_groups(_US_TIME)
        matched = field_of["y"].is_null() & us.struct.field("y").is_not_null()
        ampm = us.struct.field("ampm").str.to_lowercase()
        hour = us.struct.field("hh").cast(pl.Int64, strict=False)
        # 12 AM is midnight, 12 PM noon; with AM/PM an hour of 0 or above 12 is no time
        # (its placeholder "99" fails to parse, so the row is flagged).
        twelve = hour % 12 + pl.when(ampm == "pm").then(12).otherwise(0)
        hour24 = pl.when(ampm.is_null()).then(hour).when(hour.is_between(1, 12)).then(twelve)
        us_hour = pl.when(hour.is_not_null()).then(hour24.cast(pl.String).fill_null("99"))
        for n in names:
            value = us_hour if n == "hh" else us.struct.field(n)
            field_of[n] = pl.when(matched).then(value).otherwise(field_of[n])
    hh, frac, off = field_of["hh"], field_of["frac"], field_of["off"]
    text = pl.format(
        "{}-{}-{} {}:{}:{}",
        field_of["y"],
        field_of["mo"].str.zfill(2),
        field_of["d"].str.zfill(2),
        hh.str.zfill(2).fill_null("00"),
        field_of["mi"].fill_null("00"),
        field_of["ss"].fill_null("00"),
    )
    text = pl.when(frac.is_null()).then(text).otherwise(pl.concat_str(text, pl.lit("."), frac))
    naive = text.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="us", strict=False)
    compact = off.str.replace(":", "", literal=True)
    sign = pl.when(compact.str.starts_with("-")).then(-1).otherwise(1)
    hours = compact.str.slice(1, 2).cast(pl.Int64, strict=False)
    mins = compact.str.slice(3, 2).cast(pl.Int64, strict=False).fill_null(0)
    minutes = pl.when(compact.is_in(["Z", "UTC"])).then(0).otherwise(sign * (hours * 60 + mins))
    utc = naive - pl.duration(minutes=minutes)
    return pl.when(off.is_null()).then(naive).otherwise(utc), off.is_not_null()


def _times(one: _Parsed, timezone: str | None) -> pl.DataFrame:
    """Add ``start`` and ``end`` (UTC; ``end`` null where it is to be inferred) and DST flags."""
    if one.implied_utc and timezone not in (None, _UTC):
        raise ParameterError(
            f"timezone={timezone!r} does not fit {one.name}: its times ({one.time_column!r}) "
            "are UTC; leave timezone out"
        )
    tz = _UTC if one.implied_utc else timezone
    frame = _localize(one.frame, "t", tz, one.time_column, one)
    one.checks += _dst_checks(one.time_column, "t", tz)
    if one.end_column is not None:
        frame = _localize(frame, "e", tz, one.end_column, one)
        frame = frame.with_columns((pl.col("__e") <= pl.col("__t")).alias("__bad_order"))
        one.checks += _dst_checks(one.end_column, "e", tz)
        one.checks.append(_Check("__bad_order", one.end_column, "__raw_e", "not after start"))
    if one.hour_ending:
        start, end = pl.col("__t") - _HOUR, pl.col("__t")
    else:
        start = pl.col("__t")
        end = pl.col("__e") if one.end_column else pl.lit(None, pl.Datetime("us", _UTC))
    infer = one.end_column is None and not one.hour_ending
    return frame.with_columns(
        start.alias("start"), end.alias("end"), pl.lit(infer).alias("__infer_end")
    )


def _dst_checks(column: str, key: str, tz: str | None) -> list[_Check]:
    return [
        _Check(
            f"__bad_gap_{key}",
            column,
            f"__raw_{key}",
            f"a local time that does not exist in {tz} (skipped by a DST change)",
        ),
        _Check(
            f"__bad_ambiguous_{key}",
            column,
            f"__raw_{key}",
            f"a local time that occurs twice in {tz} (DST fall-back) but once in the file, "
            "so which is meant cannot be told; write the times with their UTC offset",
        ),
    ]


def _localize(
    frame: pl.DataFrame, key: str, tz: str | None, column: str, one: _Parsed
) -> pl.DataFrame:
    """Make ``__<key>`` UTC: naive times are in ``tz``, the others are UTC already."""
    naive = pl.col(f"__{key}")
    frame = frame.with_columns(
        naive.is_null().alias(f"__bad_time_{key}"),
        (pl.col(f"__{key}_aware") & naive.is_not_null()).alias(f"__{key}_aware"),
    )
    local = naive.is_not_null() & ~pl.col(f"__{key}_aware")
    if tz is None:
        n_local = frame.select(local.sum()).item()
        if n_local:
            shown = [str(v) for v in frame.filter(local)[f"__raw_{key}"].head(3).to_list()]
            raise SchemaError(
                f"{_READER}: column {column!r} of {one.name} has {n_local} times without a UTC "
                f"offset (first: {shown}): pass timezone= (e.g. 'Europe/Berlin', or 'UTC'), or "
                "write the times with their offset"
            )
        tz = _UTC
    as_utc = naive.dt.replace_time_zone(_UTC)
    if tz == _UTC:
        converted, gap, ambiguous = as_utc, pl.lit(False), pl.lit(False)
    else:
        earliest = naive.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
        latest = naive.dt.replace_time_zone(tz, ambiguous="latest", non_existent="null")
        twice = local & (earliest != latest).fill_null(False)
        # A wall time that occurs twice, in file order: the first is summer time, the
        # second winter time (a chronological series lists both).
        order = pl.int_range(pl.len()).over("region", naive, local)
        count = pl.len().over("region", naive, local)
        chosen = pl.when(twice & (order >= 1)).then(latest).otherwise(earliest)
        converted = pl.when(local).then(chosen.dt.convert_time_zone(_UTC)).otherwise(as_utc)
        gap = local & earliest.is_null()
        ambiguous = twice & (count == 1)
    return frame.with_columns(
        converted.alias(f"__{key}"),
        gap.alias(f"__bad_gap_{key}"),
        ambiguous.alias(f"__bad_ambiguous_{key}"),
    )


# --- checks ------------------------------------------------------------------------------


def _check_rows(
    frame: pl.DataFrame, one: _Parsed, on_invalid: OnInvalid, notes: Notes
) -> pl.DataFrame:
    """Raise on the first failing check, or drop the failing rows and note a warning."""
    # The step is told from all rows, so that dropped ones leave a gap, not a longer step.
    one.times = frame.select("region", "start").drop_nulls()
    if any(c.flag == "__bad_region" for c in one.checks):
        frame = frame.with_columns(pl.col("region").is_null().alias("__bad_region"))
    checks = [c for c in one.checks if c.flag in frame.columns]
    flags = [c.flag for c in checks]
    counts = frame.select([pl.col(f).fill_null(False).sum() for f in flags]).row(0) if flags else ()
    failing = [(c, n) for c, n in zip(checks, counts, strict=True) if n]
    if not failing:
        return frame.drop(flags)
    if on_invalid == "raise":
        check, n = failing[0]
        rows = frame.filter(pl.col(check.flag).fill_null(False)).head(N_SHOWN)
        raise InvalidValueError(
            check.column,
            n,
            f"{check.problem} in {one.name} (use on_invalid='drop' to skip)",
            [_where(r, one.unit, check.value) for r in rows.iter_rows(named=True)],
        )
    bad = pl.any_horizontal([pl.col(c.flag).fill_null(False) for c, _ in failing])
    dropped = frame.filter(bad)
    summary = "; ".join(f"{n} with {c.column!r} {c.problem}" for c, n in failing)
    first = ", ".join(
        _where(r, one.unit, None) for r in dropped.head(N_SHOWN).iter_rows(named=True)
    )
    notes.append(
        (
            f"{_READER} dropped {dropped.height} invalid row{'s' if dropped.height != 1 else ''} "
            f"of {one.name} ({summary}); first: {first}"
            + (", ..." if dropped.height > N_SHOWN else ""),
            DroppedRowsWarning,
        )
    )
    return frame.filter(~bad).drop(flags)


def _where(row: dict[str, object], unit: str, value: str | None) -> str:
    """Where a row is, and its value: ``line 12 (DE, 2023-01-01 00:00:00): 'x'``."""
    context = [str(v) for v in (row.get("region"), row.get("__raw_t")) if v is not None]
    text = f"{unit} {row['__line']}" + (f" ({', '.join(context)})" if context else "")
    if value is not None:
        shown = row.get(value)
        text += f": {shown!r}" if shown is not None else ": empty"
    return text


# --- the whole series --------------------------------------------------------------------


def _finish(
    parsed: list[_Parsed], tz: str, step: str | None, on_invalid: OnInvalid, notes: Notes
) -> pl.DataFrame:
    """Concatenate the inputs, check duplicates and constancy, sort, and infer the ends."""
    optional = {p.optional for p in parsed}
    if len(optional) > 1:
        detail = "; ".join(f"{p.name}: {list(p.optional) or 'none'}" for p in parsed)
        raise SchemaError(
            f"{_READER}: the inputs do not have the same optional columns ({detail}): give "
            "bounds and market values in all of them or in none"
        )
    extra = list(next(iter(optional)))
    columns = ["region", "start", "end", "kgco2e_per_kwh", *extra, "source", "basis"]
    frame = pl.concat(
        [
            p.frame.select(*columns, "__line", "__infer_end").with_columns(
                pl.lit(p.name).alias("__file"), pl.lit(p.unit).alias("__unit")
            )
            for p in parsed
        ],
        how="vertical_relaxed",
    )
    frame = frame.sort("region", "start", maintain_order=True)
    frame = _without_duplicates(frame, columns, on_invalid, notes)
    _check_constant(frame)
    if step is not None and not frame["__infer_end"].any():
        raise ParameterError(
            "step= sets the length of intervals a source gives only the start of; these "
            "inputs give each interval's end (EIA-930 hours, or an 'end' column)"
        )
    times = pl.concat([p.times for p in parsed if p.times is not None]).unique()
    frame = _infer_ends(frame, times, tz, step)
    return frame.select(columns).cast({c: GRID_SERIES_SCHEMA[c] for c in columns})


def _without_duplicates(
    frame: pl.DataFrame, columns: list[str], on_invalid: OnInvalid, notes: Notes
) -> pl.DataFrame:
    """Rows of the same region and start: an error, unless identical and on_invalid='drop'.

    ``frame`` is sorted by region and start.
    """
    same = (pl.col("region") == pl.col("region").shift(1)) & (
        pl.col("start") == pl.col("start").shift(1)
    )
    same = same.fill_null(False)
    rows = frame.filter(same | same.shift(-1).fill_null(False))
    if rows.height == 0:
        return frame
    values = [c for c in columns if c not in ("region", "start")]
    conflicting = (
        rows.group_by("region", "start")
        .agg(pl.struct(values).n_unique().alias("__n"))
        .filter(pl.col("__n") > 1)
    )
    if on_invalid == "drop" and conflicting.height == 0:
        kept = frame.filter(~same)
        notes.append(
            (
                f"{_READER} dropped {frame.height - kept.height} row(s) repeating another of "
                f"the same region, start and values (overlapping inputs?); first: "
                f"{_dup_examples(rows, 1)}",
                DroppedRowsWarning,
            )
        )
        return kept
    if conflicting.height:
        rows = rows.join(conflicting.select("region", "start"), on=["region", "start"])
        hint = "that differ, so which is right cannot be told"
    else:
        hint = "repeated identically (overlapping inputs?): on_invalid='drop' keeps one"
    raise InvalidValueError(
        "start",
        rows.height,
        f"duplicate (region, start): rows for the same interval {hint}",
        [_dup_examples(rows, N_SHOWN)],
    )


def _dup_examples(rows: pl.DataFrame, n: int) -> str:
    groups = (
        rows.sort("region", "start", "__file", "__line")
        .group_by("region", "start", maintain_order=True)
        .agg(pl.format("{} {} {}", "__file", "__unit", "__line").alias("where"))
        .head(n)
    )
    return "; ".join(
        f"{r} at {s:%Y-%m-%d %H:%M:%S}Z ({', '.join(w)})" for r, s, w in groups.iter_rows()
    )


def _check_constant(frame: pl.DataFrame) -> None:
    """Each region's series has one source and one basis."""
    mixed = (
        frame.group_by("region")
        .agg(pl.col("source").unique().sort(), pl.col("basis").unique().sort())
        .filter((pl.col("source").list.len() > 1) | (pl.col("basis").list.len() > 1))
        .sort("region")
    )
    if mixed.height:
        shown = "; ".join(
            f"{r}: source {s}, basis {b}" for r, s, b in mixed.head(N_SHOWN).iter_rows()
        )
        raise SchemaError(
            f"{_READER}: a region's series must have one source and one basis, but {shown}; "
            "read them separately (or pass basis= to keep one basis)"
        )


def _infer_ends(
    frame: pl.DataFrame, times: pl.DataFrame, tz: str, step: str | None
) -> pl.DataFrame:
    """Set ``end = start + step`` where the source gave only starts, region by region."""
    infer = frame.filter(pl.col("__infer_end"))
    if infer.height == 0:
        return frame
    parts = []
    by_region = times.sort("start").partition_by("region", as_dict=True, maintain_order=True)
    for part in infer.partition_by("region", maintain_order=True):
        region = part["region"][0]
        spacing = by_region[(region,)]
        this_step = step or _infer_step(spacing, region, tz)
        # In local time, so that calendar steps ("1d", "1mo") follow its DST changes;
        # fixed ones ("1h") are exact durations whatever the zone.
        end = pl.col("start").dt.convert_time_zone(tz).dt.offset_by(this_step)
        part = part.with_columns(end.dt.convert_time_zone(_UTC).alias("end"))
        close = part.filter(pl.col("start").shift(-1) < pl.col("end"))
        if close.height:
            raise InvalidValueError(
                "start",
                close.height,
                f"rows of region {region!r} closer together than its step ({this_step}), so "
                "their intervals would overlap: give an 'end' column, or step=",
                [
                    f"{r['__file']} {r['__unit']} {r['__line']} "
                    f"(start {r['start']:%Y-%m-%d %H:%M:%S}Z) and the next"
                    for r in close.head(N_SHOWN).iter_rows(named=True)
                ],
            )
        parts.append(part)
    return pl.concat([frame.filter(~pl.col("__infer_end")), *parts]).sort(
        "region", "start", maintain_order=True
    )


def _infer_step(part: pl.DataFrame, region: str, tz: str) -> str:
    """Tell the most common spacing of a region's (sorted, distinct) starts, for ``offset_by``.

    Steps of whole days, months or years are told in local wall time, so that a daily
    series in local time keeps its 23- and 25-hour days.
    """
    if part.height < 2:
        raise SchemaError(
            f"{_READER}: region {region!r} has a single row (start {part['start'][0]}), so the "
            "length of its interval cannot be told from the spacing of its rows: pass step= "
            "(e.g. step='1h')"
        )
    starts = part["start"]
    micros = starts.diff().drop_nulls().dt.total_microseconds()
    local = starts.dt.convert_time_zone(tz).dt.replace_time_zone(None)
    day = 86_400_000_000
    if int(micros.min()) >= day - 3_600_000_000 and local.dt.time().n_unique() == 1:  # type: ignore[arg-type]
        if (local.dt.day() == 1).all():
            month = local.dt.year().cast(pl.Int64) * 12 + local.dt.month().cast(pl.Int64)
            k = _mode(month.diff().drop_nulls())
            return f"{k // 12}y" if k % 12 == 0 else f"{k}mo"
        return f"{_mode(local.dt.date().diff().drop_nulls().dt.total_days())}d"
    return _duration(_mode(micros))


def _mode(values: pl.Series) -> int:
    """Return the most common value (the smallest of the most common)."""
    name = values.name or "value"
    counts = values.rename(name).value_counts(name="__n")
    return int(counts.sort(["__n", name], descending=[True, False])[name][0])


def _duration(micros: int) -> str:
    """Write a fixed duration for ``offset_by``, in hours, minutes, seconds or microseconds."""
    for unit, size in (("h", 3_600_000_000), ("m", 60_000_000), ("s", 1_000_000)):
        if micros % size == 0:
            return f"{micros // size}{unit}"
    return f"{micros}us"


# --- options -----------------------------------------------------------------------------


def _check_timezone(timezone: object) -> None:
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(timezone)  # type: ignore[arg-type]
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ParameterError(
            f"timezone must be an IANA zone name such as 'Europe/Berlin', got {timezone!r}"
        ) from exc


def _check_step(step: object) -> str:
    if isinstance(step, timedelta) and step > timedelta(0):
        return _duration(step // timedelta(microseconds=1))
    if isinstance(step, str) and _STEP.match(step.strip()) and re.search(r"[1-9]", step):
        return step.strip()
    raise ParameterError(
        "step must be a positive duration such as '1h', '15m', '1d' or '1mo', or a timedelta, "
        f"got {step!r}"
    )
