"""The bundled hourly grid series (``fleetcarbon/data/grid_series_us_ba_2022.parquet``).

Eight US balancing authorities, 2022, from HPE dc-rl's EIA-930 files (GREEN: MIT; EIA data
public domain), derived by ``tools/derive_grid_series.py``. See docs/factors.md, "Hourly grid
series (bundled)".
"""

from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import require_shared, shared_dir
from polars.testing import assert_frame_equal

import fleetcarbon
from fleetcarbon.factors.series_data import (
    BUNDLED_GRID_SERIES_BASIS,
    BUNDLED_GRID_SERIES_END,
    BUNDLED_GRID_SERIES_FILE,
    BUNDLED_GRID_SERIES_LICENCE,
    BUNDLED_GRID_SERIES_REGIONS,
    BUNDLED_GRID_SERIES_SCHEMA,
    BUNDLED_GRID_SERIES_SOURCE,
    BUNDLED_GRID_SERIES_START,
    BUNDLED_GRID_SERIES_YEAR,
    bundled_grid_series,
)

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "tools" / "derive_grid_series.py"
SHIPPED = REPO / "python" / "fleetcarbon" / "data" / BUNDLED_GRID_SERIES_FILE
HOURS = 8760
HOUR = timedelta(hours=1)

#: Annual (simple hourly) means in g/kWh, as SOURCES.md §17 states them (rounded).
SOURCES_MD_G_PER_KWH = {
    "US-BA-AZPS": 575,
    "US-BA-BPAT": 55,
    "US-BA-CISO": 256,
    "US-BA-ERCO": 347,
    "US-BA-MISO": 441,
    "US-BA-NYIS": 273,
    "US-BA-PJM": 363,
    "US-BA-SOCO": 423,
}
#: Hours filled by interpolation: blank source cells, plus 5 PJM reporting glitches.
IMPUTED = {"US-BA-CISO": 3, "US-BA-MISO": 3, "US-BA-PJM": 23 + 5}


def _tool():
    spec = importlib.util.spec_from_file_location("derive_grid_series", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def series() -> pl.DataFrame:
    return bundled_grid_series()


@pytest.fixture(scope="module")
def ba_rows() -> dict[str, dict]:
    regions = fleetcarbon.load_factors().regions
    return {r["key"]: r for r in regions.filter(pl.col("key").str.starts_with("US-BA-")).to_dicts()}


# ------------------------------------------------------------------ shape and time axis
def test_schema_and_size(series):
    assert list(series.schema.items()) == list(BUNDLED_GRID_SERIES_SCHEMA.items())
    assert series.shape == (8 * HOURS, len(BUNDLED_GRID_SERIES_SCHEMA))
    counts = series.group_by("region", maintain_order=True).len()
    assert tuple(counts["region"]) == BUNDLED_GRID_SERIES_REGIONS
    assert set(counts["len"]) == {HOURS}
    nulls = series.select(pl.all().exclude("generation_mwh").null_count())
    assert nulls.sum_horizontal().item() == 0


def test_hours_are_contiguous_and_hour_ending(series):
    """Every region has the same 8,760 contiguous hours, [start, start + 1 h).

    The source labels (2022-01-01T00:00Z .. 2022-12-31T23:00Z) are EIA-930's hour-ending UTC
    times, so the series starts one hour before 2022 and stops one hour before 2023.
    """
    assert BUNDLED_GRID_SERIES_START == datetime(2021, 12, 31, 23, tzinfo=timezone.utc)
    assert BUNDLED_GRID_SERIES_END == datetime(2022, 12, 31, 23, tzinfo=timezone.utc)
    expected = pl.datetime_range(
        BUNDLED_GRID_SERIES_START,
        BUNDLED_GRID_SERIES_END - HOUR,
        interval="1h",
        time_unit="us",
        time_zone="UTC",
        eager=True,
    )
    assert len(expected) == HOURS
    for region in BUNDLED_GRID_SERIES_REGIONS:
        one = series.filter(region=region)
        assert one["start"].equals(expected.alias("start")), region
        assert (one["end"] - one["start"]).unique().to_list() == [HOUR]
        assert one["end"].head(-1).equals(one["start"].tail(-1).alias("end"))
        assert one["start"].is_sorted() and one["start"].n_unique() == HOURS
    # The EIA labels, i.e. the ends, are exactly the hours of the data year.
    assert series["end"].dt.year().unique().to_list() == [BUNDLED_GRID_SERIES_YEAR]


def test_values_positive_and_plausible(series):
    v = series["kgco2e_per_kwh"]
    assert v.is_finite().all()
    # A generation-weighted mean of 11..820 g/kWh factors cannot leave that range.
    assert v.min() >= 0.011 and v.max() <= 0.820
    ranges = series.group_by("region").agg(
        lo=pl.col("kgco2e_per_kwh").min(), hi=pl.col("kgco2e_per_kwh").max()
    )
    plausible = {  # hourly min/max a 2022 grid of this mix can reach (kg/kWh)
        "US-BA-AZPS": (0.15, 0.80),
        "US-BA-BPAT": (0.015, 0.20),
        "US-BA-CISO": (0.05, 0.50),
        "US-BA-ERCO": (0.08, 0.60),
        "US-BA-MISO": (0.20, 0.65),
        "US-BA-NYIS": (0.10, 0.45),
        "US-BA-PJM": (0.20, 0.55),
        "US-BA-SOCO": (0.25, 0.60),
    }
    for r in ranges.iter_rows(named=True):
        lo, hi = plausible[r["region"]]
        assert lo <= r["lo"] and r["hi"] <= hi, r


def test_imputed_hours(series):
    counts = dict(series.group_by("region").agg(pl.col("imputed").sum()).iter_rows())
    assert counts == {k: IMPUTED.get(k, 0) for k in BUNDLED_GRID_SERIES_REGIONS}
    # generation_mwh is null exactly on the imputed hours, positive elsewhere.
    assert series["generation_mwh"].is_null().equals(series["imputed"], check_names=False)
    assert (series.filter(~pl.col("imputed"))["generation_mwh"] > 0).all()
    # No imputed hour at either end of a region's year: all are interpolated, not extrapolated.
    ends = series.group_by("region").agg(
        first=pl.col("imputed").first(), last=pl.col("imputed").last()
    )
    assert not ends["first"].any() and not ends["last"].any()


def test_provenance_columns(series):
    assert series["source"].unique().to_list() == [BUNDLED_GRID_SERIES_SOURCE]
    assert series["basis"].unique().to_list() == [BUNDLED_GRID_SERIES_BASIS]
    assert series["licence"].unique().to_list() == [BUNDLED_GRID_SERIES_LICENCE]
    sources = fleetcarbon.load_factors().sources
    licence = dict(zip(sources["source_id"], sources["licence"], strict=True))
    ids = BUNDLED_GRID_SERIES_SOURCE.split(";")
    assert all(i in licence for i in ids), ids
    # MIT (dc-rl) is the most restrictive of MIT and cited-fact (EIA, IPCC).
    assert {licence[i] for i in ids} == {"MIT", "cited-fact"}


def test_regions_exist_in_bundled_table(series, ba_rows):
    assert set(series["region"].unique()) == set(ba_rows) == set(BUNDLED_GRID_SERIES_REGIONS)
    for key, row in ba_rows.items():
        assert row["year"] == BUNDLED_GRID_SERIES_YEAR, key
        assert row["basis"] == BUNDLED_GRID_SERIES_BASIS, key


def test_tool_and_loader_agree():
    tool = _tool()
    assert list(tool.SCHEMA.items()) == list(BUNDLED_GRID_SERIES_SCHEMA.items())
    assert tool.OUT_NAME == BUNDLED_GRID_SERIES_FILE
    assert (tool.SOURCE, tool.BASIS, tool.LICENCE, tool.YEAR) == (
        BUNDLED_GRID_SERIES_SOURCE,
        BUNDLED_GRID_SERIES_BASIS,
        BUNDLED_GRID_SERIES_LICENCE,
        BUNDLED_GRID_SERIES_YEAR,
    )


# ------------------------------------------------------------------ annual means
def _annual(series: pl.DataFrame) -> dict[str, dict[str, float]]:
    means = series.group_by("region").agg(
        time_weighted=pl.col("kgco2e_per_kwh").mean(),
        time_weighted_complete=pl.col("kgco2e_per_kwh").filter(~pl.col("imputed")).mean(),
        generation_weighted=(pl.col("kgco2e_per_kwh") * pl.col("generation_mwh")).sum()
        / pl.col("generation_mwh").sum(),
    )
    return {r.pop("region"): r for r in means.to_dicts()}


def test_annual_means_match_sources_md(series):
    """SOURCES.md's annual means are simple (time-weighted) hourly means, in whole g/kWh."""
    for key, m in _annual(series).items():
        for which in ("time_weighted", "time_weighted_complete"):
            assert abs(m[which] * 1000 - SOURCES_MD_G_PER_KWH[key]) <= 0.5, (key, which, m)


def test_annual_means_vs_bundled_ba_rows(series, ba_rows):
    """The ``US-BA-*`` rows of regions.csv are the *generation-weighted* means of these hours.

    They come from the same dc-rl files (``tools/derive_factors.py``, rounded to 4 decimals),
    so the generation-weighted mean of the series reproduces them (its ratio to the row is
    1.0000 ± 0.0001; the imputed hours carry no generation weight, as the row skipped them).
    The time-weighted mean differs by -1.7% (ERCO) to +5.6% (BPAT), because generation peaks
    when the mix is cleaner or dirtier; either way it lies well inside the row's bounds (±21%,
    at least ±0.03 kg/kWh).
    """
    lines = ["region        row     low     high    gen-wtd/row  time-wtd/row"]
    for key, m in sorted(_annual(series).items()):
        row = ba_rows[key]
        v, lo, hi = (
            row["grid_kgco2e_per_kwh"],
            row["grid_kgco2e_per_kwh_low"],
            row["grid_kgco2e_per_kwh_high"],
        )
        lines.append(
            f"{key:<12}  {v:.4f}  {lo:.4f}  {hi:.4f}  {m['generation_weighted'] / v:.4f}"
            f"       {m['time_weighted'] / v:.4f}"
        )
        assert abs(m["generation_weighted"] - v) <= 0.5e-4 + 1e-6, (key, m, v)
        for which in ("generation_weighted", "time_weighted"):
            assert lo <= m[which] <= hi, (key, which, m, row)
        assert 0.95 <= m["time_weighted"] / v <= 1.06, (key, m, v)
    print("\n".join(lines))


# ------------------------------------------------------------------ loader
def test_loader_returns_a_copy():
    first = bundled_grid_series()
    first.drop_in_place("kgco2e_per_kwh")
    first.insert_column(0, pl.Series("x", [0] * first.height))
    first.columns = [f"c{i}" for i in range(first.width)]
    again = bundled_grid_series()
    assert list(again.schema.items()) == list(BUNDLED_GRID_SERIES_SCHEMA.items())
    assert again["kgco2e_per_kwh"].null_count() == 0
    assert_frame_equal(again, pl.read_parquet(SHIPPED))


def test_loader_is_cached():
    from fleetcarbon.factors import series_data

    bundled_grid_series()
    before = series_data._load.cache_info()
    bundled_grid_series()
    after = series_data._load.cache_info()
    assert after.hits == before.hits + 1 and after.misses == before.misses


def test_file_is_compact():
    assert SHIPPED.stat().st_size < 1_000_000


# ------------------------------------------------------------------ against the source
def _source_dir() -> Path:
    return require_shared("reference-data", "hpe-dc-rl", "data", "CarbonIntensity")


def test_rederivation_is_identical(tmp_path):
    _source_dir()
    out = tmp_path / "out"
    res = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out), "--shared", str(shared_dir())],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in out.iterdir()) == [BUNDLED_GRID_SERIES_FILE]
    # Frame-equal, exact floats. (The bytes match too with the Polars version that wrote the
    # shipped file, but Parquet bytes may change with the writer's version.)
    assert_frame_equal(
        pl.read_parquet(out / BUNDLED_GRID_SERIES_FILE), pl.read_parquet(SHIPPED), check_exact=True
    )


def test_values_are_the_source_avg_ci(series):
    """Every complete hour is dc-rl's avg_CI / 1000 (1e-9 relative); the blank ones imputed."""
    base = _source_dir()
    tool = _tool()
    for key in BUNDLED_GRID_SERIES_REGIONS:
        code = key.removeprefix("US-BA-")
        with open(base / f"{code}_NG_&_avgCI.csv", newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        one = series.filter(region=key)
        assert [datetime.fromisoformat(r["timestamp"]) for r in rows] == one["end"].to_list()
        blank = [not all(v.strip() for v in r.values()) for r in rows]
        imputed = one["imputed"].to_list()
        assert all(i for i, b in zip(imputed, blank, strict=True) if b), key
        for r, v, i in zip(rows, one["kgco2e_per_kwh"], imputed, strict=True):
            if i:
                continue
            ci = float(r["avg_CI"])
            assert abs(v * 1000 - ci) <= 1e-9 * ci, (key, r["timestamp"])
            gen = [float(r[f]) for f in tool.FUELS]
            mix = sum(g * tool.AR5_G_PER_KWH[f] for f, g in zip(tool.FUELS, gen, strict=True))
            assert abs(mix / sum(gen) - ci) <= 1e-9 * ci, (key, r["timestamp"])


def _cos_zenith(t_hours: np.ndarray, doy: np.ndarray, lat: float, lon: float) -> np.ndarray:
    """Cosine of the solar zenith angle (NOAA approximation), clipped at 0; t in UTC hours."""
    g = 2 * np.pi / 365 * (doy - 1 + (t_hours - 12) / 24)
    eot = 229.18 * (
        0.000075
        + 0.001868 * np.cos(g)
        - 0.032077 * np.sin(g)
        - 0.014615 * np.cos(2 * g)
        - 0.040849 * np.sin(2 * g)
    )
    decl = (
        0.006918
        - 0.399912 * np.cos(g)
        + 0.070257 * np.sin(g)
        - 0.006758 * np.cos(2 * g)
        + 0.000907 * np.sin(2 * g)
        - 0.002697 * np.cos(3 * g)
        + 0.00148 * np.sin(3 * g)
    )
    hour_angle = np.radians((t_hours * 60 + eot + 4 * lon) / 4 - 180)
    la = np.radians(lat)
    cz = np.sin(la) * np.sin(decl) + np.cos(la) * np.cos(decl) * np.cos(hour_angle)
    return np.clip(cz, 0.0, None)


def test_source_hours_are_hour_ending():
    """Solar output follows the sun over the hour *before* each label, not the hour after.

    For each BA with solar (NYIS has none in the file) we correlate SUN with the sun's height
    averaged over [label - 1 h, label) and over [label, label + 1 h), at a rough centroid of
    the BA's solar fleet. Hour-ending wins clearly for AZPS, BPAT, CISO, ERCO, MISO and SOCO
    (EIA-930's documented convention). PJM's small solar series fits hour-beginning better,
    which we take as a PJM reporting quirk and do not correct: the convention is per file.
    """
    base = _source_dir()
    centroids = {
        "AZPS": (33.4, -112.3),
        "BPAT": (45.6, -120.5),
        "CISO": (35.0, -117.5),
        "ERCO": (31.5, -101.5),
        "MISO": (38.5, -90.0),
        "PJM": (39.0, -77.5),
        "SOCO": (32.5, -84.0),
    }
    ending_wins = {}
    for code, (lat, lon) in centroids.items():
        with open(base / f"{code}_NG_&_avgCI.csv", newline="", encoding="utf-8") as fh:
            rows = [r for r in csv.DictReader(fh) if r["SUN"].strip()]
        labels = [datetime.fromisoformat(r["timestamp"]) for r in rows]
        sun = np.array([float(r["SUN"]) for r in rows])
        doy = np.array([t.timetuple().tm_yday for t in labels], dtype=float)
        hour = np.array([t.hour for t in labels], dtype=float)
        steps = np.arange(6) / 6 + 1 / 12  # six samples inside an hour

        def corr(
            offset: float, hour=hour, doy=doy, sun=sun, lat=lat, lon=lon, steps=steps
        ) -> float:
            t = hour[:, None] + offset + steps[None, :]
            d = doy[:, None] + np.floor(t / 24)
            irr = _cos_zenith(t % 24, d, lat, lon).mean(axis=1)
            return float(np.corrcoef(sun, irr)[0, 1])

        ending, beginning = corr(-1.0), corr(0.0)
        ending_wins[code] = ending > beginning
        print(f"{code}: hour-ending r={ending:.3f}, hour-beginning r={beginning:.3f}")
    assert {c for c, won in ending_wins.items() if won} == set(centroids) - {"PJM"}
