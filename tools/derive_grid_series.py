#!/usr/bin/env python3
"""Derive fleetcarbon's bundled hourly grid-intensity series (8 US balancing authorities, 2022).

Reads HPE dc-rl's hourly EIA-930 files (``hpe-dc-rl/data/CarbonIntensity/<BA>_NG_&_avgCI.csv``
in the shared research folder, GREEN: MIT, EIA data public domain), recomputes each hour's
intensity from the net generation by fuel with the IPCC AR5 lifecycle medians, checks it against
the file's own ``avg_CI``, and writes one long-form, zstd-compressed Parquet file,
``python/fleetcarbon/data/grid_series_us_ba_2022.parquet`` (or into ``--out``).

Nothing is copied from the shared folder: the output is our own table built from the figures.
The balancing authorities, and which dc-rl file holds each, come from
``data/figures/balancing_authorities.csv`` (the same list ``tools/derive_factors.py`` uses for
the annual ``US-BA-*`` rows of ``regions.csv``).

Time convention: EIA-930 hours are *hour-ending*, and dc-rl kept EIA's UTC labels, so the row
labelled ``T`` covers ``[T - 1 h, T)``. The series therefore runs from 2021-12-31T23:00Z to
2022-12-31T23:00Z. (Checked against solar geometry; see ``tests/test_bundled_grid_series.py``.)

Hours with a blank cell (3 for CISO, 3 for MISO, 23 for PJM), and reporting glitches (hours with
less than 10% of the BA's median generation: 5 for PJM, on 2022-10-01/02, where ~300 MWh of wind,
hydro and gas stand for a ~94,000 MWh grid), are filled by linear interpolation in time between
the nearest complete hours and flagged ``imputed``; their ``generation_mwh`` is null.

Output is deterministic for a given Polars version (rows sorted by region then start, full
float64 precision, fixed compression settings). Run from the repository root::

    python tools/derive_grid_series.py [--out DIR] [--shared DIR]
"""

from __future__ import annotations

import csv
import math
import os
import statistics
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import NoReturn

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shared_args import parse_shared_args

from fleetcarbon.factors.series_data import (
    BUNDLED_GRID_SERIES_BASIS,
    BUNDLED_GRID_SERIES_LICENCE,
    BUNDLED_GRID_SERIES_SCHEMA,
)

REPO = Path(__file__).resolve().parent.parent
FIGURES = REPO / "data" / "figures"
DEFAULT_OUT = REPO / "python" / "fleetcarbon" / "data"
#: The bundled regions table: every series key must be one of its keys.
REGIONS_CSV = DEFAULT_OUT / "regions.csv"

F_BA_DIR = "hpe-dc-rl/data/CarbonIntensity"
OUT_NAME = "grid_series_us_ba_2022.parquet"
YEAR = 2022
HOURS = 8760

#: IPCC AR5 WG III Annex III lifecycle medians (gCO2e/kWh) per EIA-930 fuel, as dc-rl applies
#: them: wind onshore 11, rooftop PV 41, hydro 24, gas CC 490, coal PC 820, nuclear 12,
#: dedicated biomass 230 for "other"; oil 650 is dc-rl's figure (AR5 has no oil row).
AR5_G_PER_KWH = {
    "WND": 11.0,
    "SUN": 41.0,
    "WAT": 24.0,
    "OIL": 650.0,
    "NG": 490.0,
    "COL": 820.0,
    "NUC": 12.0,
    "OTH": 230.0,
}
FUELS = list(AR5_G_PER_KWH)
#: The recomputed intensity must equal dc-rl's ``avg_CI`` to this relative tolerance.
REL_TOL = 1e-9
#: An hour whose total net generation is below this fraction of the BA's median hour is a
#: reporting glitch (only 5 PJM hours, at 0.3%; the next lowest hour of any BA is at 42%).
GLITCH = 0.1

SOURCE = "hpe-dc-rl;eia-930;ipcc-ar5-annex-iii"
# The shipped file's schema and provenance are the loader's, so the two cannot drift.
BASIS, LICENCE, SCHEMA = (
    BUNDLED_GRID_SERIES_BASIS,
    BUNDLED_GRID_SERIES_LICENCE,
    BUNDLED_GRID_SERIES_SCHEMA,
)


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def fail(msg: str) -> NoReturn:
    raise SystemExit(f"derive_grid_series: {msg}")


def parse_label(cell: str, where: str) -> datetime:
    """A dc-rl ``timestamp`` (``2022-01-01 00:00:00+00:00``) as an aware UTC datetime."""
    t = datetime.fromisoformat(cell.strip())
    if t.utcoffset() != timedelta(0):
        fail(f"{where}: timestamp {cell!r} is not UTC")
    return t.astimezone(timezone.utc)


def derive_ba(path: Path, code: str) -> dict[str, list]:
    """One balancing authority's 8,760 hours as column lists (see SCHEMA)."""
    rows = read_csv(path)
    header = list(rows[0]) if rows else []
    if header != ["timestamp", *FUELS, "avg_CI"]:
        fail(f"{path.name}: unexpected columns {header}")
    if len(rows) != HOURS:
        fail(f"{path.name}: {len(rows)} rows, expected {HOURS}")
    first = datetime(YEAR, 1, 1, tzinfo=timezone.utc)
    labels = [parse_label(r["timestamp"], path.name) for r in rows]
    for i, t in enumerate(labels):
        if t != first + timedelta(hours=i):
            fail(f"{path.name}: row {i + 2} is {t.isoformat()}, expected consecutive hours")

    values: list[float | None] = []
    generation: list[float | None] = []
    worst = 0.0
    for r, t in zip(rows, labels, strict=True):
        cells = [r[f].strip() for f in FUELS]
        ci = r["avg_CI"].strip()
        gen = [float(c) for c in cells] if all(cells) else None
        total = math.fsum(gen) if gen is not None else 0.0
        if gen is None or not ci or total <= 0:
            values.append(None)
            generation.append(None)
            continue
        if min(gen) < 0:
            fail(f"{path.name} {t.isoformat()}: negative net generation {gen}")
        num = math.fsum(g * AR5_G_PER_KWH[f] for f, g in zip(FUELS, gen, strict=True))
        g_per_kwh = num / total
        reported = float(ci)
        rel = abs(g_per_kwh - reported) / abs(reported)
        if not rel <= REL_TOL:
            fail(
                f"{path.name} {t.isoformat()}: recomputed {g_per_kwh!r} g/kWh differs from "
                f"avg_CI {reported!r} by {rel:.3g} (relative), more than {REL_TOL}"
            )
        worst = max(worst, rel)
        values.append(g_per_kwh / 1000.0)
        generation.append(total)

    blank = sum(v is None for v in values)
    # Glitches: hours whose fuels are mostly unreported (PJM 2022-10-01/02: ~300 MWh of
    # wind/hydro/gas, no nuclear or coal, against a ~94,000 MWh median) give an intensity
    # that is not the BA's. Treat them like blank hours.
    median = statistics.median(g for g in generation if g is not None)
    glitches = [i for i, g in enumerate(generation) if g is not None and g < GLITCH * median]
    for i in glitches:
        values[i] = None
        generation[i] = None
    known = [i for i, v in enumerate(values) if v is not None]
    if len(known) < HOURS - 48:
        fail(f"{path.name}: only {len(known)} complete hours")
    filled, imputed = interpolate(values, known)
    key = f"US-BA-{code}"
    print(
        f"{key}: {len(known)} complete hours, {sum(imputed)} imputed ({blank} blank, "
        f"{len(glitches)} below {GLITCH:g} x median generation), "
        f"max relative difference from avg_CI {worst:.2g}"
    )
    hour = timedelta(hours=1)
    return {
        "region": [key] * HOURS,
        # Hour-ending labels: the hour labelled T is [T - 1 h, T).
        "start": [t - hour for t in labels],
        "end": labels,
        "kgco2e_per_kwh": filled,
        "generation_mwh": generation,
        "imputed": imputed,
    }


def interpolate(values: list[float | None], known: list[int]) -> tuple[list[float], list[bool]]:
    """Fill the gaps linearly in time between the nearest known hours (nearest at the ends)."""
    out: list[float] = []
    imputed: list[bool] = []
    j = 0  # index into known of the first known hour >= i
    for i, v in enumerate(values):
        if v is not None:
            out.append(v)
            imputed.append(False)
            continue
        while j < len(known) and known[j] < i:
            j += 1
        before = known[j - 1] if j > 0 else None
        after = known[j] if j < len(known) else None
        if before is None or after is None:
            edge = after if before is None else before
            assert edge is not None
            filled = values[edge]
        else:
            lo, hi = values[before], values[after]
            assert lo is not None and hi is not None
            w = (i - before) / (after - before)
            filled = lo + (hi - lo) * w
        assert filled is not None
        out.append(filled)
        imputed.append(True)
    return out, imputed


def build(shared: Path) -> pl.DataFrame:
    bas = read_csv(FIGURES / "balancing_authorities.csv")
    region_keys = {r["key"] for r in read_csv(REGIONS_CSV)}
    parts = []
    for b in sorted(bas, key=lambda b: f"US-BA-{b['code']}"):
        key = f"US-BA-{b['code']}"
        if key not in region_keys:
            fail(f"{key} is not a key of {REGIONS_CSV.relative_to(REPO)}")
        cols = derive_ba(shared / F_BA_DIR / b["file"], b["code"])
        parts.append(
            pl.DataFrame(
                {
                    **cols,
                    "source": [SOURCE] * HOURS,
                    "basis": [BASIS] * HOURS,
                    "licence": [LICENCE] * HOURS,
                },
                schema=SCHEMA,
            )
        )
    df = pl.concat(parts).sort("region", "start")
    if df.schema != pl.Schema(SCHEMA):
        fail(f"schema {df.schema} != {SCHEMA}")
    return df


def report(df: pl.DataFrame) -> None:
    """Print the annual means and the ratio to the regions.csv BA rows."""
    annual = {r["key"]: float(r["grid_kgco2e_per_kwh"]) for r in read_csv(REGIONS_CSV)}
    means = (
        df.group_by("region")
        .agg(
            time_weighted=pl.col("kgco2e_per_kwh").mean(),
            time_weighted_complete=pl.col("kgco2e_per_kwh").filter(~pl.col("imputed")).mean(),
            generation_weighted=(pl.col("kgco2e_per_kwh") * pl.col("generation_mwh")).sum()
            / pl.col("generation_mwh").sum(),
        )
        .sort("region")
    )
    print("region        time-wtd  (complete)  gen-wtd   regions.csv  gen-wtd/row  time-wtd/row")
    for r in means.iter_rows(named=True):
        row = annual[r["region"]]
        print(
            f"{r['region']:<12}  {r['time_weighted']:.4f}    {r['time_weighted_complete']:.4f}"
            f"     {r['generation_weighted']:.4f}    {row:.4f}       "
            f"{r['generation_weighted'] / row:.4f}       {r['time_weighted'] / row:.4f}"
        )


def main(argv: list[str] | None = None) -> int:
    out, shared = parse_shared_args(__doc__, argv, DEFAULT_OUT)
    if not (shared / F_BA_DIR).is_dir():
        print(f"dc-rl carbon-intensity files not found under {shared}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)

    df = build(shared)
    target = out / OUT_NAME
    tmp = out / (OUT_NAME + ".tmp")
    df.write_parquet(tmp, compression="zstd", compression_level=19, statistics=True)
    os.replace(tmp, target)
    report(df)
    print(f"wrote {target}: {df.height} rows, {target.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
