"""read_grid_series: hourly grid carbon intensity from Electricity Maps, EIA-930 and long files.

Real samples are read in place from the shared research folder (never copied): the
Electricity Maps 2023 exports in PCAM's repository (RED licence: test only) and SustainDC's
(HPE dc-rl) 2022 EIA-930 files (MIT; EIA data public domain). Their tests skip when the
folder is absent, and fail on CI, where it is always present. No real EIA-930 BALANCE file is
available offline: tests/data/eia930-balance-synthetic.csv was written by hand from EIA's
column names (tests/data/SOURCES.md), and the expected values below are computed by hand
from its cells.
"""

from __future__ import annotations

import bz2
import csv
import datetime as dt
import gzip
import hashlib
import io
import lzma
import os
import warnings
from pathlib import Path

import polars as pl
import pytest
from conftest import REPO, require_shared
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fleetcarbon as fc
from fleetcarbon.errors import (
    DroppedRowsWarning,
    FleetcarbonError,
    InvalidValueError,
    MissingColumnError,
    ParameterError,
    SchemaError,
)
from fleetcarbon.io import read_grid_series
from fleetcarbon.io.grid_series import AR5_LIFECYCLE_G_PER_KWH, GRID_SERIES_SCHEMA

DATA = REPO / "tests" / "data"
EIA_SAMPLE = DATA / "eia930-balance-synthetic.csv"
UTC = dt.timezone.utc
HOUR = dt.timedelta(hours=1)
BASE = ["region", "start", "end", "kgco2e_per_kwh", "source", "basis"]

#: IPCC AR5 WG III Annex III lifecycle medians (gCO2e/kWh), typed here again from the
#: brief, so that the tests do not take the reader's table on trust.
AR5 = {"WND": 11, "SUN": 41, "WAT": 24, "OIL": 650, "NG": 490, "COL": 820, "NUC": 12, "OTH": 230}
#: SustainDC's 2022 annual means (simple hourly means of avg_CI over the hours with data).
DCRL_MEANS = {
    "AZPS": 575,
    "BPAT": 55,
    "CISO": 256,
    "ERCO": 347,
    "MISO": 441,
    "NYIS": 273,
    "PJM": 363,
    "SOCO": 423,
}
#: Hours with blank cells in SustainDC's files.
DCRL_MISSING = {"CISO": 3, "MISO": 3, "PJM": 23}

EM_HEADER = (
    "Datetime (UTC),Country,Zone Name,Zone Id,Carbon Intensity gCO₂eq/kWh (direct),"
    "Carbon Intensity gCO₂eq/kWh (LCA),Low Carbon Percentage,Renewable Percentage,"
    "Data Source,Data Estimated,Data Estimation Method"
)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def em_text(rows: list[tuple[str, str, str, str]], header: str = EM_HEADER) -> str:
    """An Electricity Maps export: rows of (time, zone, direct, LCA)."""
    lines = [header]
    for time, zone, direct, lca in rows:
        lines.append(f"{time},Germany,Germany,{zone},{direct},{lca},82.97,77.71,entsoe.eu,false,")
    return "\n".join(lines) + "\n"


EM_SAMPLE = em_text(
    [
        ("2023-01-01 01:00:00", "DE", "151.04", "198.38"),
        ("2023-01-01 00:00:00", "DE", "152.03", "199.59"),
        ("2023-01-01 02:00:00", "DE", "159.52", "208.8"),
    ]
)


def long_text(rows: list[str], header: str = "region,start,kgco2e_per_kwh,source,basis") -> str:
    return "\n".join([header, *rows]) + "\n"


def digest(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def quiet(*args: object, **kwargs: object) -> pl.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        return read_grid_series(*args, **kwargs)  # type: ignore[arg-type]


def check_schema(series: pl.DataFrame) -> None:
    assert series.schema == pl.Schema({c: GRID_SERIES_SCHEMA[c] for c in series.columns})
    assert series.columns[:4] == BASE[:4] and series.columns[-2:] == BASE[-2:]
    assert series.equals(series.sort("region", "start"))


# ----------------------------------------------------------------------- Electricity Maps


def test_electricitymaps_values_times_and_basis() -> None:
    series = read_grid_series(EM_SAMPLE)
    check_schema(series)
    assert series.columns == BASE
    # Unsorted input comes out sorted; g/kWh / 1000; hourly, so end = start + 1 h.
    assert series["start"].to_list() == [utc(2023, 1, 1, h) for h in (0, 1, 2)]
    assert series["end"].to_list() == [utc(2023, 1, 1, h) for h in (1, 2, 3)]
    assert series["kgco2e_per_kwh"].to_list() == [199.59 / 1000, 198.38 / 1000, 208.8 / 1000]
    assert series["region"].to_list() == ["DE"] * 3
    assert series["source"].unique().to_list() == ["electricitymaps"]
    assert series["basis"].unique().to_list() == ["lifecycle"]
    direct = read_grid_series(EM_SAMPLE, basis="direct")
    assert direct["kgco2e_per_kwh"].to_list() == [152.03 / 1000, 151.04 / 1000, 159.52 / 1000]
    assert direct["basis"].unique().to_list() == ["direct"]
    assert read_grid_series(EM_SAMPLE, region="DE-LU")["region"].unique().to_list() == ["DE-LU"]
    assert read_grid_series(EM_SAMPLE, format="electricitymaps").equals(series)


@pytest.mark.parametrize(
    "header",
    [
        # 2024 exports.
        "Datetime (UTC),Country,Zone name,Zone id,Carbon intensity gCO₂eq/kWh (direct),"
        "Carbon intensity gCO₂eq/kWh (Life cycle),Carbon-free energy percentage (CFE%),"
        "Renewable energy percentage (RE%),Data source,Data estimated,Data estimation method",
        # ASCII "2", and spaces around names.
        " Datetime (UTC) ,Country,Zone Name, Zone Id ,Carbon Intensity gCO2eq/kWh (direct),"
        "Carbon Intensity gCO2eq/kWh (LCA),a,b,c,d,e",
        # A "₂" mangled by a program that re-saved the file (PCAM's IE export, as text).
        "Datetime (UTC),Country,Zone Name,Zone Id,Carbon Intensity gCO\ufffdZ\ufffd\ufffdq/kWh "
        "(direct),Carbon Intensity gCO\ufffdZ\ufffd\ufffdq/kWh (LCA),a,b,c,d,e",
    ],
)
def test_electricitymaps_header_variants(header: str) -> None:
    text = em_text([("2023-01-01 00:00:00", "DE", "100", "200")] * 1, header=header)
    text += "2023-01-01 01:00:00,Germany,Germany,DE,110,210,1,1,x,false,\n"
    series = read_grid_series(text)
    assert series["kgco2e_per_kwh"].to_list() == [200 / 1000, 210 / 1000]
    assert read_grid_series(text, basis="direct")["kgco2e_per_kwh"].to_list() == [
        100 / 1000,
        110 / 1000,
    ]


def test_electricitymaps_mangled_bytes_and_spreadsheet_times_without_a_warning() -> None:
    """PCAM's IE export: non-UTF-8 bytes in the header only, and ``2023/1/1 0:00`` times."""
    header = EM_HEADER.encode().replace("₂e".encode(), b"\xb8Z\xa3\xc6")
    body = b"2023/1/1 0:00,Ireland,Ireland,IE,341.81,418.91,38.6,34.74,x,TRUE,X\n"
    body += b"2023/1/1 1:00,Ireland,Ireland,IE,323.63,397.33,41.91,37.81,x,TRUE,X\n"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        series = read_grid_series(header + b"\n" + body)
    assert series["start"].to_list() == [utc(2023, 1, 1, 0), utc(2023, 1, 1, 1)]
    assert series["kgco2e_per_kwh"].to_list() == [418.91 / 1000, 397.33 / 1000]
    # Bad bytes in the data are worth a warning.
    bad = body.replace(b"1:00,Ireland", b"1:00,Ir\xffland")
    with pytest.warns(UserWarning, match=r"not valid UTF-8 \(first on line 3\): 1 undecodable"):
        assert read_grid_series(header + b"\n" + bad).equals(series)


def test_electricitymaps_old_research_files() -> None:
    text = (
        "timestamp,datetime,zone_name,carbon_intensity_avg,carbon_intensity_direct_avg\n"
        "1577836800,2020-01-01T00:00:00.000Z,DK-DK1,300.5,250\n"
        "1577840400,2020-01-01T01:00:00.000Z,DK-DK1,301.5,251\n"
    )
    series = read_grid_series(text)
    assert series["region"].to_list() == ["DK-DK1"] * 2
    assert series["start"].to_list() == [utc(2020, 1, 1, 0), utc(2020, 1, 1, 1)]
    assert series["kgco2e_per_kwh"].to_list() == [300.5 / 1000, 301.5 / 1000]
    assert read_grid_series(text, basis="direct")["kgco2e_per_kwh"].to_list() == [
        250 / 1000,
        251 / 1000,
    ]


def test_electricitymaps_a_missing_basis_column_names_the_other() -> None:
    text = "Datetime (UTC),Zone Id,Carbon Intensity gCO₂eq/kWh (direct)\n2023-01-01 00:00,DE,1\n"
    with pytest.raises(MissingColumnError, match=r"\(LCA\).*pass basis='direct'.*its columns"):
        read_grid_series(text, format="electricitymaps")
    with pytest.raises(MissingColumnError, match=r"Zone Id \(or pass region=\)"):
        read_grid_series("Datetime (UTC),Carbon Intensity gCO₂eq/kWh (LCA)\n2023-01-01 00:00,1\n")
    with pytest.raises(ParameterError, match="are UTC"):
        read_grid_series(EM_SAMPLE, timezone="Europe/Berlin")
    assert read_grid_series(EM_SAMPLE, timezone="UTC").equals(read_grid_series(EM_SAMPLE))


@pytest.mark.parametrize(
    ("times", "ends"),
    [
        # 15-minute data.
        (
            ["2024-01-01 00:00", "2024-01-01 00:15", "2024-01-01 00:30"],
            [utc(2024, 1, 1, 0, 15), utc(2024, 1, 1, 0, 30), utc(2024, 1, 1, 0, 45)],
        ),
        # Daily, with a missing day: the gap stays a gap.
        (
            ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-05"],
            [utc(2024, 1, 2), utc(2024, 1, 3), utc(2024, 1, 4), utc(2024, 1, 6)],
        ),
        # Monthly: calendar months.
        (
            ["2024-01-01 00:00:00", "2024-02-01 00:00:00", "2024-03-01 00:00:00"],
            [utc(2024, 2, 1), utc(2024, 3, 1), utc(2024, 4, 1)],
        ),
        # Yearly.
        (["2022-01-01", "2023-01-01"], [utc(2023, 1, 1), utc(2024, 1, 1)]),
    ],
)
def test_the_step_is_the_most_common_spacing(times: list[str], ends: list[dt.datetime]) -> None:
    text = em_text([(t, "FR", "10", "20") for t in times])
    assert read_grid_series(text)["end"].to_list() == ends


def test_irregular_and_single_rows_need_a_step() -> None:
    irregular = em_text(
        [
            (t, "FR", "1", "2")
            for t in (
                "2024-01-01 00:00",
                "2024-01-01 01:00",
                "2024-01-01 01:30",
                "2024-01-01 02:30",
                "2024-01-01 03:30",
            )
        ]
    )
    with pytest.raises(InvalidValueError, match=r"closer together than its step \(1h\).*line 3"):
        read_grid_series(irregular)
    assert read_grid_series(irregular, step="30m")["end"][1] == utc(2024, 1, 1, 1, 30)
    one = em_text([("2024-01-01 00:00", "FR", "1", "2")])
    with pytest.raises(SchemaError, match=r"'FR' has a single row.*step="):
        read_grid_series(one)
    for step in ("1h", dt.timedelta(hours=1)):
        assert read_grid_series(one, step=step)["end"].to_list() == [utc(2024, 1, 1, 1)]
    with pytest.raises(ParameterError, match="step"):
        read_grid_series(EIA_SAMPLE, step="1h")  # EIA hours have their ends


# ----------------------------------------------------------------------- real Electricity Maps


def pcam_dir() -> Path:
    return require_shared("reference-data", "pcam", "Datasets", "Carbon Intensity", "hourly")


def em_oracle(path: Path, column: int) -> list[tuple[dt.datetime, float | None]]:
    """The rows of an export read with the csv module: (start, value in kg/kWh or None)."""
    out = []
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        rows = csv.reader(fh)
        next(rows)
        for row in rows:
            for fmt in ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M"):
                try:
                    start = dt.datetime.strptime(row[0], fmt).replace(tzinfo=UTC)
                    break
                except ValueError:
                    continue
            out.append((start, float(row[column]) / 1000 if row[column] else None))
    return out


@pytest.mark.parametrize("zone", ["DE", "IE", "IT", "JP", "KR", "TW", "US"])
def test_real_electricitymaps_exports(zone: str) -> None:
    path = pcam_dir() / f"{zone}_2023_hourly.csv"
    before = digest(path)
    for basis, column in (("lifecycle", 5), ("direct", 4)):
        oracle = em_oracle(path, column)
        missing = [i + 2 for i, (_, v) in enumerate(oracle) if v is None]
        if missing:
            with pytest.raises(InvalidValueError) as info:
                read_grid_series(path, basis=basis)
            assert info.value.n_bad == len(missing)
            assert f"line {missing[0]} ({zone}, " in str(info.value)
            assert "(LCA)" in str(info.value) or "(direct)" in str(info.value)
            with pytest.warns(DroppedRowsWarning, match=f"dropped {len(missing)} invalid rows"):
                series = read_grid_series(path, basis=basis, on_invalid="drop")
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                series = read_grid_series(path, basis=basis)
        check_schema(series)
        kept = [(s, v) for s, v in oracle if v is not None]
        assert series["start"].to_list() == [s for s, _ in kept]
        assert series["kgco2e_per_kwh"].to_list() == [v for _, v in kept]  # exact: v / 1000
        assert (series["end"] - series["start"]).unique().to_list() == [HOUR]
        assert series["region"].unique().to_list() == [zone]
        assert series["basis"].unique().to_list() == [basis]
    assert digest(path) == before
    # The whole year is there: 8,760 hours, minus the missing ones (IT 159, US 686).
    assert len(oracle) == 8760


def test_real_electricitymaps_exports_together() -> None:
    base = pcam_dir()
    series = quiet(str(base / "*_2023_hourly.csv"), on_invalid="drop")
    listed = quiet(sorted(base.glob("*_2023_hourly.csv")), on_invalid="drop")
    assert series.equals(listed)
    counts = dict(series.group_by("region").len().iter_rows())
    assert counts == {
        "DE": 8760,
        "IE": 8760,
        "IT": 8601,
        "JP": 8760,
        "KR": 8760,
        "TW": 8760,
        "US": 8074,
    }


# ----------------------------------------------------------------------- EIA-930 BALANCE


def eia_expected(gen: dict[str, float]) -> float:
    """Hand computation: generation-weighted AR5 medians, negative generation as 0."""
    kept = {f: max(g, 0.0) for f, g in gen.items()}
    return sum(kept[f] * AR5[f] for f in kept) / sum(kept.values()) / 1000


def test_eia930_balance_file() -> None:
    before = digest(EIA_SAMPLE)
    series = read_grid_series(EIA_SAMPLE)
    assert digest(EIA_SAMPLE) == before
    check_schema(series)
    assert series["region"].to_list() == ["BPAT"] * 3 + ["CISO"] * 3
    # "UTC Time at End of Hour": the hour before it.
    assert series["end"].to_list() == [
        utc(2022, 1, 1, 9),
        utc(2022, 1, 1, 10),
        utc(2022, 1, 2, 0),  # 01/02/2022 12:00:00 AM
        utc(2022, 1, 1, 9),
        utc(2022, 1, 1, 10),
        utc(2022, 1, 1, 20),  # 8:00:00 PM
    ]
    assert (series["end"] - series["start"]).unique().to_list() == [HOUR]
    expected = [
        # BPAT: no coal, no oil (empty cells).
        eia_expected({"NG": 954, "NUC": 1158, "WAT": 11510, "SUN": 12, "WND": 107, "OTH": 210}),
        # Pumping (-120 MW of hydro) counts as 0.
        eia_expected({"NG": 954, "NUC": 1159, "WAT": -120, "SUN": 1, "WND": 94, "OTH": 212}),
        eia_expected({"NG": 950, "NUC": 1160, "WAT": 12056, "SUN": 0, "WND": 94, "OTH": 212}),
        eia_expected(
            {
                "COL": 19,
                "NG": 6764,
                "NUC": 2265,
                "OIL": 44,
                "WAT": 2304,
                "SUN": 0,
                "WND": 3130,
                "OTH": 189,
            }
        ),
        # The 500 MW of "Unknown Fuel Sources" are left out.
        eia_expected(
            {
                "COL": 19,
                "NG": 8603,
                "NUC": 2265,
                "OIL": 42,
                "WAT": 2723,
                "SUN": 0,
                "WND": 3013,
                "OTH": 1159,
            }
        ),
        eia_expected(
            {
                "COL": 4,
                "NG": 5100,
                "NUC": 2244,
                "OIL": 30,
                "WAT": 1835,
                "SUN": 9800,
                "WND": 1500,
                "OTH": 26,
            }
        ),
    ]
    assert series["kgco2e_per_kwh"].to_list() == pytest.approx(expected, rel=1e-12)
    # The first CISO hour by hand: 3,518,916 g / 14,715 kWh.
    assert series["kgco2e_per_kwh"][3] == pytest.approx(3_518_916 / 14_715 / 1000, rel=1e-12)
    assert series["source"].unique().to_list() == ["eia-930;ipcc-ar5-annex-iii"]
    assert series["basis"].unique().to_list() == ["lifecycle"]
    with pytest.raises(ParameterError, match="basis='direct' does not fit EIA-930"):
        read_grid_series(EIA_SAMPLE, basis="direct")
    with pytest.raises(ParameterError, match="holds 2 regions"):
        read_grid_series(EIA_SAMPLE, region="CISO")


def test_the_ar5_factors_are_the_cited_ones() -> None:
    by_fuel = {"wind": 11, "solar": 41, "hydro": 24, "oil": 650}
    by_fuel |= {"gas": 490, "coal": 820, "nuclear": 12, "other": 230}
    assert AR5_LIFECYCLE_G_PER_KWH == by_fuel


def eia_text(columns: dict[str, list[str]], bas: list[str], ends: list[str]) -> str:
    header = ["Balancing Authority", "UTC Time at End of Hour", *columns]
    lines = [",".join(f'"{h}"' for h in header)]
    for i, (ba, end) in enumerate(zip(bas, ends, strict=True)):
        lines.append(",".join(f'"{v}"' for v in [ba, end, *(c[i] for c in columns.values())]))
    return "\n".join(lines) + "\n"


def test_eia930_newer_columns_and_adjusted_values() -> None:
    """2024+ files split hydro, solar and wind; the (Adjusted) series is preferred."""
    g = "Net Generation (MW) from "
    text = eia_text(
        {
            f"{g}Natural Gas": ["900"],
            f"{g}Natural Gas (Adjusted)": ["1,000"],
            f"{g}Natural Gas (Imputed)": ["5"],
            f"{g}Hydropower Excluding Pumped Storage (Adjusted)": ["200"],
            f"{g}Pumped Storage  (Adjusted)": ["-50"],  # EIA's double space
            f"{g}Solar without Integrated Battery Storage (Adjusted)": ["300"],
            f"{g}Solar witho Integrated Battery Storage (Adjusted)": ["100"],  # EIA's "witho"
            f"{g}Wind with Integrated Battery Storage": ["10"],
            f"{g}Geothermal (Adjusted)": ["40"],
            f"{g}Battery Storage (Adjusted)": ["70"],
            f"{g}Unknown Fuel Sources (Adjusted)": ["999"],
        },
        ["CISO"],
        ["2024-07-01T13:00:00Z"],  # ISO times read too
    )
    series = read_grid_series(text, step=None)
    want = (1000 * 490 + 200 * 24 + 400 * 41 + 10 * 11 + 40 * 230) / (1000 + 200 + 400 + 10 + 40)
    assert series["kgco2e_per_kwh"].to_list() == pytest.approx([want / 1000], rel=1e-12)
    assert series["start"].to_list() == [utc(2024, 7, 1, 12)]
    with pytest.warns(UserWarning, match="fuels this reader does not know.*Hydrogen"):
        read_grid_series(text.replace("Geothermal (Adjusted)", "Hydrogen"))


def test_eia930_invalid_rows() -> None:
    g = "Net Generation (MW) from "
    text = eia_text(
        {f"{g}Coal": ["1", "", "abc", "0", "2"], f"{g}Wind": ["1", "", "", "0", "-3"]},
        ["PJM"] * 5,
        [f"01/01/2022 {h}:00:00 AM" for h in (1, 2, 3, 4, 5)],
    )
    with pytest.raises(InvalidValueError) as info:
        read_grid_series(text)
    message = str(info.value)
    assert info.value.column == "net generation by fuel" and info.value.n_bad == 1
    assert "not a number" in message and "line 4 (PJM, 01/01/2022 3:00:00 AM)" in message
    assert "Net Generation (MW) from Coal: abc" in message
    with pytest.warns(
        DroppedRowsWarning,
        match=r"dropped 3 invalid rows.*1 with .*not a number"
        r".*1 with .*empty in every fuel column.*1 with .*0 in total",
    ):
        series = read_grid_series(text, on_invalid="drop")
    assert series["end"].to_list() == [utc(2022, 1, 1, 1), utc(2022, 1, 1, 5)]
    assert series["kgco2e_per_kwh"].to_list() == pytest.approx([(820 + 11) / 2000, 0.82])
    with pytest.raises(InvalidValueError, match=r"UTC Time at End of Hour.*13:00:00 AM"):
        read_grid_series(eia_text({f"{g}Coal": ["1"]}, ["PJM"], ["01/01/2022 13:00:00 AM"]))


# ----------------------------------------------------------------------- SustainDC (dc-rl)


def dcrl_dir() -> Path:
    return require_shared("reference-data", "hpe-dc-rl", "data", "CarbonIntensity")


def test_real_dcrl_files_reproduce_avg_ci_and_the_annual_means() -> None:
    base = dcrl_dir()
    before = {p: digest(p) for p in base.glob("*.csv")}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        series = read_grid_series(str(base / "*_NG_&_avgCI.csv"), on_invalid="drop")
    dropped = sorted(str(w.message) for w in caught if w.category is DroppedRowsWarning)
    assert len(dropped) == len(DCRL_MISSING)
    for ba, n in DCRL_MISSING.items():
        name = f"'{base / ba}_NG_&_avgCI.csv'"
        assert (
            [m for m in dropped if name in m]
            == [m for m in dropped if f"dropped {n} invalid rows of {name}" in m]
            != []
        )
    check_schema(series)
    assert {p: digest(p) for p in base.glob("*.csv")} == before
    for ba, mean in DCRL_MEANS.items():
        rows = series.filter(pl.col("region") == ba)
        assert round(rows["kgco2e_per_kwh"].mean() * 1000) == mean, ba
        assert rows.height == 8760 - DCRL_MISSING.get(ba, 0)
        with open(base / f"{ba}_NG_&_avgCI.csv", newline="") as fh:
            complete = [r for r in csv.DictReader(fh) if all(r.values())]
        worst = 0.0
        for r in complete:
            gen = {f: float(r[f]) for f in AR5}
            recomputed = sum(gen[f] * AR5[f] for f in AR5) / sum(gen.values())
            worst = max(worst, abs(recomputed - float(r["avg_CI"])) / float(r["avg_CI"]))
        assert worst < 1e-9, (ba, worst)
        # The reader returns the file's own avg_CI, in kg, for the hour that ends at the label.
        ends = [dt.datetime.fromisoformat(r["timestamp"]) for r in complete]
        assert rows["end"].to_list() == ends
        assert (rows["end"] - rows["start"]).unique().to_list() == [HOUR]
        assert rows["kgco2e_per_kwh"].to_list() == [float(r["avg_CI"]) / 1000 for r in complete]
    assert series["source"].unique().to_list() == ["hpe-dc-rl;eia-930;ipcc-ar5-annex-iii"]


def test_real_dcrl_missing_hours_are_errors_by_default() -> None:
    path = dcrl_dir() / "PJM_NG_&_avgCI.csv"
    with pytest.raises(InvalidValueError) as info:
        read_grid_series(path)
    assert info.value.column == "avg_CI" and info.value.n_bad == 23
    assert "line 1713 (PJM, 2022-03-13 07:00:00+00:00): empty" in str(info.value)


def test_real_dcrl_agrees_with_the_bundled_series() -> None:
    """The bundled series is built from the same files, with the same hour-ending labels.

    It fills the hours with blank cells (which the reader drops) and 5 PJM hours of a
    reporting glitch (which the reader returns as the file has them) by interpolation.
    """
    series_data = pytest.importorskip("fleetcarbon.factors.series_data")
    bundled = series_data.bundled_grid_series()
    series = quiet(str(dcrl_dir() / "*.csv"), on_invalid="drop")
    keyed = series.with_columns(pl.format("US-BA-{}", "region").alias("region"))
    both = keyed.join(bundled, on=["region", "start"], how="inner", suffix="_bundled")
    assert both.height == series.height == bundled.height - sum(DCRL_MISSING.values())
    assert both["end"].equals(both["end_bundled"], check_names=False)
    same = both.filter(~pl.col("imputed"))
    rel = (same["kgco2e_per_kwh"] - same["kgco2e_per_kwh_bundled"]).abs() / same[
        "kgco2e_per_kwh_bundled"
    ]
    assert rel.max() < 1e-9
    glitches = both.filter(pl.col("imputed"))
    assert glitches["region"].unique().to_list() == ["US-BA-PJM"] and glitches.height == 5


def test_dcrl_region_comes_from_the_file_name(tmp_path: Path) -> None:
    text = (
        "timestamp,WND,SUN,WAT,OIL,NG,COL,NUC,OTH,avg_CI\n"
        "2022-01-01 00:00:00+00:00,1,0,0,0,1,0,0,0,250.5\n"
        "2022-01-01 01:00:00+00:00,-5,1,1,1,1,1,1,1,\n"
    )
    path = tmp_path / "ERCO_NG_&_avgCI.csv"
    path.write_text(text)
    series = quiet(path, on_invalid="drop")
    assert series.rows() == [
        (
            "ERCO",
            utc(2021, 12, 31, 23),
            utc(2022, 1, 1),
            0.2505,
            "hpe-dc-rl;eia-930;ipcc-ar5-annex-iii",
            "lifecycle",
        )
    ]
    with pytest.raises(ParameterError, match="region is in its file name"):
        read_grid_series(text)
    assert quiet(text, region="X", on_invalid="drop")["region"].to_list() == ["X"]
    # Without avg_CI, the fuels give it; negative generation counts as 0.
    no_ci = "\n".join(line.rsplit(",", 1)[0] for line in text.splitlines()) + "\n"
    computed = read_grid_series(no_ci, region="ERCO")["kgco2e_per_kwh"].to_list()
    assert computed == pytest.approx(
        [(11 + 490) / 2 / 1000, (41 + 24 + 650 + 490 + 820 + 12 + 230) / 7 / 1000]
    )


# ----------------------------------------------------------------------- long form


def test_long_form_with_offsets() -> None:
    text = long_text(
        [
            "FR,2024-01-01T01:00:00+01:00,0.05,rte,direct",
            "FR,2024-01-01T01:00:00Z,0.06,rte,direct",
            "DE,2024-01-01 00:00:00+00:00,0.3,uba,lifecycle;generation",
            "DE,2024-01-01 01:00:00+00:00,0.31,uba,lifecycle",
        ]
    )
    series = read_grid_series(text)
    check_schema(series)
    assert series.rows() == [
        ("DE", utc(2024, 1, 1, 0), utc(2024, 1, 1, 1), 0.3, "uba", "lifecycle"),
        ("DE", utc(2024, 1, 1, 1), utc(2024, 1, 1, 2), 0.31, "uba", "lifecycle"),
        ("FR", utc(2024, 1, 1, 0), utc(2024, 1, 1, 1), 0.05, "rte", "direct"),
        ("FR", utc(2024, 1, 1, 1), utc(2024, 1, 1, 2), 0.06, "rte", "direct"),
    ]


def test_long_form_naive_times_need_a_timezone() -> None:
    text = long_text(["FR,2024-01-01 00:00,0.05,rte,direct", "FR,2024-01-01 01:00,0.06,rte,direct"])
    with pytest.raises(SchemaError, match=r"'start' .* 2 times without a UTC offset.*timezone="):
        read_grid_series(text)
    assert read_grid_series(text, timezone="UTC")["start"][0] == utc(2024, 1, 1)
    paris = read_grid_series(text, timezone="Europe/Paris")
    assert paris["start"].to_list() == [utc(2023, 12, 31, 23), utc(2024, 1, 1, 0)]
    with pytest.raises(ParameterError, match="IANA"):
        read_grid_series(text, timezone="Mars/Olympus")


def berlin(day: str, hours: list[int]) -> list[str]:
    return [f"DE,{day} {h:02d}:00:00,{0.1 + h / 100:.2f}" for h in hours]


def test_long_form_dst_crossing_naive_series_in_berlin() -> None:
    header = "region,start,kgco2e_per_kwh"
    # Fall back on 2023-10-29: 02:00 comes twice (CEST, then CET).
    autumn = long_text(
        [*berlin("2023-10-28", [22, 23]), *berlin("2023-10-29", [0, 1, 2, 2, 3, 4, 5])], header
    )
    series = read_grid_series(autumn, timezone="Europe/Berlin", basis="lifecycle")
    assert series["start"].to_list() == [utc(2023, 10, 28, 20) + i * HOUR for i in range(9)]
    assert series["end"].to_list() == [utc(2023, 10, 28, 21) + i * HOUR for i in range(9)]
    # The second 02:00 (CET, 01:00Z) keeps its own value: nothing is merged.
    assert series["kgco2e_per_kwh"].to_list() == pytest.approx(
        [0.32, 0.33, 0.10, 0.11, 0.12, 0.12, 0.13, 0.14, 0.15]
    )
    # Spring forward on 2023-03-26: no 02:00.
    spring = long_text(berlin("2023-03-26", [0, 1, 3, 4, 5]), header)
    series = read_grid_series(spring, timezone="Europe/Berlin", basis="lifecycle")
    assert series["start"].to_list() == [utc(2023, 3, 25, 23) + i * HOUR for i in range(5)]
    # A time the change skips, and a repeated time given once, are invalid rows.
    gap = long_text(berlin("2023-03-26", [0, 1, 2, 3]), header)
    with pytest.raises(InvalidValueError, match=r"does not exist in Europe/Berlin.*line 4"):
        read_grid_series(gap, timezone="Europe/Berlin", basis="lifecycle")
    once = long_text(berlin("2023-10-29", [0, 1, 2, 3]), header)
    with pytest.raises(InvalidValueError, match=r"occurs twice in Europe/Berlin.*line 4"):
        read_grid_series(once, timezone="Europe/Berlin", basis="lifecycle")
    with pytest.warns(DroppedRowsWarning, match="dropped 1 invalid row of"):
        kept = read_grid_series(
            once, timezone="Europe/Berlin", basis="lifecycle", on_invalid="drop", step="1h"
        )
    assert kept.height == 3


def test_long_form_daily_local_series_keeps_23_hour_days() -> None:
    text = long_text(
        ["DE,2023-03-25,0.3", "DE,2023-03-26,0.2", "DE,2023-03-27,0.25"],
        "region,start,kgco2e_per_kwh",
    )
    series = read_grid_series(text, timezone="Europe/Berlin", basis="direct")
    lengths = (series["end"] - series["start"]).dt.total_hours().to_list()
    assert lengths == [24, 23, 24]
    assert series["start"][1] == utc(2023, 3, 25, 23)


def test_long_form_units_bounds_market_and_end() -> None:
    text = long_text(
        [
            "X,2024-01-01T00:00Z,2024-01-01T00:30Z,300,250,350,0.012",
            "X,2024-01-01T00:30Z,2024-01-01T01:30Z,310,260,360,",
        ],
        "region,start,end,gco2e_per_kwh,gco2e_per_kwh_low,gco2e_per_kwh_high,market_kgco2e_per_kwh",
    )
    with pytest.raises(InvalidValueError, match=r"'market_kgco2e_per_kwh'.*empty.*line 3"):
        read_grid_series(text, basis="lifecycle")
    text = text.replace(",\n", ",0\n")
    series = read_grid_series(text, basis="lifecycle", step=None)
    check_schema(series)
    assert series.columns == [
        *BASE[:4],
        "kgco2e_per_kwh_low",
        "kgco2e_per_kwh_high",
        "market_kgco2e_per_kwh",
        "source",
        "basis",
    ]
    assert series.row(0) == (
        "X",
        utc(2024, 1, 1),
        utc(2024, 1, 1, 0, 30),
        0.3,
        0.25,
        0.35,
        0.012,
        "user",
        "lifecycle",
    )
    assert series["end"][1] == utc(2024, 1, 1, 1, 30)  # the file's ends, not inferred
    with pytest.raises(InvalidValueError, match=r"'gco2e_per_kwh_low'.*above the value"):
        read_grid_series(text.replace("250", "301"), basis="lifecycle")
    with pytest.raises(InvalidValueError, match=r"'end'.*not after start.*line 2"):
        read_grid_series(text.replace("T00:30Z,300", "T00:00Z,300"), basis="lifecycle")
    with pytest.raises(ParameterError, match="step="):
        read_grid_series(text, basis="lifecycle", step="1h")
    with pytest.raises(SchemaError, match="both 'kgco2e_per_kwh' and 'gco2e_per_kwh'"):
        read_grid_series(
            long_text(["X,2024-01-01T00:00Z,1,1"], "region,start,kgco2e_per_kwh,gco2e_per_kwh"),
            basis="direct",
        )
    with pytest.raises(MissingColumnError, match="one bound but not the other"):
        read_grid_series(
            long_text(
                ["X,2024-01-01T00:00Z,1,1"], "region,start,kgco2e_per_kwh,kgco2e_per_kwh_low"
            ),
            basis="direct",
        )


def test_long_form_basis_and_region() -> None:
    rows = [
        "X,2024-01-01T00:00Z,0.1,s,lifecycle",
        "X,2024-01-01T00:00Z,0.08,s,direct",
        "X,2024-01-01T01:00Z,0.2,s,lifecycle",
        "X,2024-01-01T01:00Z,0.15,s,direct",
    ]
    text = long_text(rows)
    with pytest.raises(SchemaError, match=r"one source and one basis.*basis="):
        # The two bases are not duplicates of each other: the region mixes them.
        read_grid_series(
            text.replace("01:00Z,0.15", "02:00Z,0.15").replace("00:00Z,0.08", "03:00Z,0.08")
        )
    assert read_grid_series(text, basis="direct")["kgco2e_per_kwh"].to_list() == [0.08, 0.15]
    assert read_grid_series(text, basis="lifecycle")["kgco2e_per_kwh"].to_list() == [0.1, 0.2]
    with pytest.raises(InvalidValueError, match=r"'basis': not 'lifecycle' or 'direct'.*'market'"):
        read_grid_series(text.replace("direct", "market"))
    no_basis = long_text(["X,2024-01-01T00:00Z,0.1"], "region,start,kgco2e_per_kwh")
    with pytest.raises(MissingColumnError, match=r"basis \(or pass basis="):
        read_grid_series(no_basis, step="1h")
    no_region = long_text(["2024-01-01T00:00Z,0.1,s,direct"], "start,kgco2e_per_kwh,source,basis")
    with pytest.raises(MissingColumnError, match=r"\['region'\].*its columns"):
        read_grid_series(no_region, step="1h")
    assert read_grid_series(no_region, region="FR", step="1h")["region"].to_list() == ["FR"]


def test_long_form_parquet_typed_columns() -> None:
    frame = pl.DataFrame(
        {
            "region": ["B", "A", "A"],
            "start": [
                dt.datetime(2024, 1, 1, 1),
                dt.datetime(2024, 1, 1),
                dt.datetime(2024, 1, 1, 1),
            ],
            "kgco2e_per_kwh": [0.5, 0.1, 0.2],
            "note": ["ignored", "x", "y"],
        }
    )
    buf = io.BytesIO()
    frame.with_columns(pl.col("start").dt.replace_time_zone("Europe/Paris")).write_parquet(buf)
    series = read_grid_series(buf.getvalue(), basis="direct", step="1h")
    assert series["region"].to_list() == ["A", "A", "B"]
    assert series["start"].to_list() == [utc(2023, 12, 31, 23), utc(2024, 1, 1), utc(2024, 1, 1)]
    assert series["source"].unique().to_list() == ["user"]
    naive = io.BytesIO()
    frame.write_parquet(naive)
    with pytest.raises(SchemaError, match="timezone="):
        read_grid_series(naive.getvalue(), basis="direct")
    assert read_grid_series(naive.getvalue(), basis="direct", timezone="UTC", step="1h").height == 3
    wrong = io.BytesIO()
    frame.with_columns(pl.col("kgco2e_per_kwh") > 0).write_parquet(wrong)
    with pytest.raises(SchemaError, match=r"'kgco2e_per_kwh' is Boolean, not a number"):
        read_grid_series(wrong.getvalue(), basis="direct")
    nan = io.BytesIO()
    frame.with_columns(pl.lit(float("nan")).alias("kgco2e_per_kwh")).write_parquet(nan)
    with pytest.raises(InvalidValueError, match=r"in 3 rows; first: row 1 \(B, 2024-01-01 01:00"):
        read_grid_series(nan.getvalue(), basis="direct", timezone="UTC")


def test_the_bundled_series_reads_back_as_long_form(tmp_path: Path) -> None:
    series_data = pytest.importorskip("fleetcarbon.factors.series_data")
    bundled = series_data.bundled_grid_series()
    path = tmp_path / "bundled.parquet"
    bundled.write_parquet(path)
    series = read_grid_series(path)
    assert series.columns == BASE
    assert series.drop("basis").equals(bundled.select(BASE[:-1]))
    assert series["basis"].unique().to_list() == ["lifecycle"]  # "lifecycle;generation"


# ----------------------------------------------------------------------- round trip


REGIONS = st.sampled_from(["DE", "FR", "US-CAL-CISO", "CISO", "IN-NO", "a b"])


@st.composite
def series_frames(draw: st.DrawFn) -> pl.DataFrame:
    rows = []
    for region in draw(st.lists(REGIONS, min_size=1, max_size=3, unique=True)):
        basis = draw(st.sampled_from(["lifecycle", "direct"]))
        minutes = draw(st.sets(st.integers(0, 20_000), min_size=1, max_size=30))
        for m in minutes:
            start = utc(2023, 3, 20) + dt.timedelta(minutes=15 * m)
            length = dt.timedelta(minutes=15 * draw(st.integers(1, 4)))
            value = draw(st.floats(0, 3, allow_nan=False, allow_subnormal=False))
            rows.append((region, start, start + length, value, f"src {region}", basis))
    frame = pl.DataFrame(
        rows,
        schema=dict(zip(BASE, [GRID_SERIES_SCHEMA[c] for c in BASE], strict=True)),
        orient="row",
    )
    return frame.sample(fraction=1.0, shuffle=True, seed=draw(st.integers(0, 99)))


@settings(
    deadline=None, database=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow]
)
@given(series_frames(), st.sampled_from(["csv", "parquet", "csv.gz"]))
def test_long_form_round_trip(frame: pl.DataFrame, kind: str) -> None:
    buf = io.BytesIO()
    if kind == "parquet":
        frame.write_parquet(buf)
        data = buf.getvalue()
    else:
        frame.write_csv(buf)
        data = gzip.compress(buf.getvalue()) if kind == "csv.gz" else buf.getvalue()
    series = read_grid_series(data)
    assert series.equals(frame.sort("region", "start"))


# ----------------------------------------------------------------------- inputs and detection


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        (EM_SAMPLE, "electricitymaps"),
        (EIA_SAMPLE.read_text(), "eia930"),
        (long_text(["X,2024-01-01T00:00Z,1,s,direct", "X,2024-01-01T01:00Z,1,s,direct"]), "long"),
    ],
)
def test_detection_matches_the_named_format(text: str, fmt: str) -> None:
    assert read_grid_series(text).equals(read_grid_series(text, format=fmt))  # type: ignore[arg-type]


def test_unknown_or_mismatched_formats() -> None:
    with pytest.raises(SchemaError, match=r"cannot tell the format .*\['a', 'b'\].*format="):
        read_grid_series("a,b\n1,2\n")
    with pytest.raises(MissingColumnError, match=r"for format 'long' .*Zone Id"):
        read_grid_series(EM_SAMPLE, format="long")
    with pytest.raises(MissingColumnError, match="'eia930'"):
        read_grid_series(EM_SAMPLE, format="eia930")
    with pytest.raises(ParameterError, match="format must be"):
        read_grid_series(EM_SAMPLE, format="csv")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="basis must be"):
        read_grid_series(EM_SAMPLE, basis="market")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="on_invalid"):
        read_grid_series(EM_SAMPLE, on_invalid="skip")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="step must be"):
        read_grid_series(EM_SAMPLE, step="an hour")
    with pytest.raises(ParameterError, match="region must be"):
        read_grid_series(EM_SAMPLE, region=" ")


def write_compressed(path: Path, data: bytes, kind: str) -> Path:
    if kind == "gzip":
        packed = gzip.compress(data)
    elif kind == "bzip2":
        packed = bz2.compress(data)
    elif kind == "xz":
        packed = lzma.compress(data)
    else:
        zstandard = pytest.importorskip("zstandard")
        packed = zstandard.ZstdCompressor().compress(data)
    path.write_bytes(packed)
    return path


@pytest.mark.parametrize("kind", ["gzip", "bzip2", "xz", "zstd"])
def test_compressed_inputs(tmp_path: Path, kind: str) -> None:
    em = write_compressed(tmp_path / "DE_2023_hourly.csv.x", EM_SAMPLE.encode(), kind)
    eia = write_compressed(tmp_path / "EIA930_BALANCE", EIA_SAMPLE.read_bytes(), kind)
    assert read_grid_series(em).equals(read_grid_series(EM_SAMPLE))
    assert read_grid_series(eia).equals(read_grid_series(EIA_SAMPLE))
    assert read_grid_series(em.read_bytes()).equals(read_grid_series(EM_SAMPLE))
    parquet = io.BytesIO()
    read_grid_series(EM_SAMPLE).write_parquet(parquet)
    packed = write_compressed(tmp_path / "series.parquet.x", parquet.getvalue(), kind)
    assert read_grid_series(packed).equals(read_grid_series(EM_SAMPLE))


def test_paths_globs_lists_and_file_objects(tmp_path: Path) -> None:
    fr = em_text(
        [("2023-01-01 00:00:00", "FR", "40", "50"), ("2023-01-01 01:00:00", "FR", "41", "51")]
    )
    (tmp_path / "a.csv").write_text(EM_SAMPLE)
    (tmp_path / "b.csv").write_text(fr)
    before = {p.name: digest(p) for p in tmp_path.iterdir()}
    both = read_grid_series(str(tmp_path / "*.csv"))
    assert both["region"].to_list() == ["DE"] * 3 + ["FR"] * 2
    assert read_grid_series([tmp_path / "b.csv", str(tmp_path / "a.csv")]).equals(both)
    assert read_grid_series(io.StringIO(EM_SAMPLE)).equals(read_grid_series(EM_SAMPLE))
    assert read_grid_series(io.BytesIO(EM_SAMPLE.encode())).equals(read_grid_series(EM_SAMPLE))
    assert read_grid_series(os.fspath(tmp_path / "a.csv")).equals(read_grid_series(EM_SAMPLE))
    assert {p.name: digest(p) for p in tmp_path.iterdir()} == before
    with pytest.raises(SchemaError, match="no file matches"):
        read_grid_series(str(tmp_path / "*.parquet"))
    with pytest.raises(SchemaError, match="no such file"):
        read_grid_series(tmp_path / "missing.csv")
    with pytest.raises(SchemaError, match="list of sources is empty"):
        read_grid_series([])
    with pytest.raises(SchemaError, match="source must be"):
        read_grid_series(42)  # type: ignore[arg-type]
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(SchemaError, match="is empty"):
        read_grid_series(tmp_path / "empty.csv")
    (tmp_path / "binary").write_bytes(b"\x00\x01\x02PK")
    with pytest.raises(SchemaError, match="neither text nor Parquet"):
        read_grid_series(tmp_path / "binary")


def test_parquet_is_told_by_its_bytes_not_its_name(tmp_path: Path) -> None:
    buf = io.BytesIO()
    read_grid_series(EM_SAMPLE).write_parquet(buf)
    path = tmp_path / "looks_like.csv"
    path.write_bytes(buf.getvalue())
    assert read_grid_series(path).equals(read_grid_series(EM_SAMPLE))


def test_the_output_is_what_with_grid_series_takes() -> None:
    """The contract: with_grid_series takes the reader's frame as it is (BA codes via aliases)."""
    if not hasattr(fc.Factors, "with_grid_series"):
        pytest.skip("Factors.with_grid_series is not there yet")
    factors = fc.load_factors()
    de = factors.with_grid_series(read_grid_series(EM_SAMPLE)).grid_series
    assert de is not None and de.frame["region"].unique().to_list() == ["DE"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the sample's hours have gaps
        eia = factors.with_grid_series(read_grid_series(EIA_SAMPLE)).grid_series
    assert eia is not None
    assert sorted(eia.frame["region"].unique().to_list()) == ["US-BA-BPAT", "US-BA-CISO"]


def test_overlapping_files_are_duplicates(tmp_path: Path) -> None:
    first = em_text(
        [("2023-01-01 00:00:00", "DE", "1", "2"), ("2023-01-01 01:00:00", "DE", "1", "3")]
    )
    second = em_text(
        [("2023-01-01 01:00:00", "DE", "1", "3"), ("2023-01-01 02:00:00", "DE", "1", "4")]
    )
    (tmp_path / "1.csv").write_text(first)
    (tmp_path / "2.csv").write_text(second)
    glob = str(tmp_path / "*.csv")
    with pytest.raises(
        InvalidValueError,
        match=r"duplicate \(region, start\).*repeated "
        r"identically.*DE at 2023-01-01 01:00:00Z \('.*1.csv' line 3, '.*2.csv' "
        r"line 2\)",
    ) as info:
        read_grid_series(glob)
    assert info.value.column == "start" and info.value.n_bad == 2
    with pytest.warns(DroppedRowsWarning, match="dropped 1 row"):
        series = read_grid_series(glob, on_invalid="drop")
    assert series["kgco2e_per_kwh"].to_list() == [2 / 1000, 3 / 1000, 4 / 1000]
    (tmp_path / "2.csv").write_text(second.replace(",1,3,", ",1,3.5,"))
    with pytest.raises(InvalidValueError, match="that differ"):
        read_grid_series(glob, on_invalid="drop")


# ----------------------------------------------------------------------- invalid rows


@pytest.mark.parametrize(
    ("cell", "problem"),
    [
        ("", "empty or not a number"),
        ("n/a", "empty or not a number"),
        ("NaN", "empty or not a number"),
        ("inf", "empty or not a number"),
        ("-1.5", "negative"),
    ],
)
def test_invalid_values_name_column_count_and_lines(cell: str, problem: str) -> None:
    rows = [
        ("2023-01-01 00:00:00", "DE", "1", "2"),
        ("2023-01-01 01:00:00", "DE", "1", cell),
        ("2023-01-01 02:00:00", "DE", "1", cell),
        ("2023-01-01 03:00:00", "DE", "1", "5"),
    ]
    text = em_text(rows)
    with pytest.raises(InvalidValueError) as info:
        read_grid_series(text)
    assert isinstance(info.value, ValueError) and isinstance(info.value, FleetcarbonError)
    assert info.value.column == "Carbon Intensity gCO₂eq/kWh (LCA)" and info.value.n_bad == 2
    shown = repr(cell) if cell else "empty"
    assert info.value.examples == [
        f"line 3 (DE, 2023-01-01 01:00:00): {shown}",
        f"line 4 (DE, 2023-01-01 02:00:00): {shown}",
    ]
    assert problem in str(info.value) and "on_invalid='drop'" in str(info.value)
    with pytest.warns(
        DroppedRowsWarning,
        match=r"dropped 2 invalid rows of <text>.*line 3 "
        r"\(DE, 2023-01-01 01:00:00\), line 4",
    ):
        series = read_grid_series(text, on_invalid="drop")
    assert series["kgco2e_per_kwh"].to_list() == [2 / 1000, 5 / 1000]
    # The dropped hours are a gap, not stretched over: the step stays an hour.
    assert series["end"].to_list() == [utc(2023, 1, 1, 1), utc(2023, 1, 1, 4)]


def test_invalid_times_regions_and_blank_lines() -> None:
    text = em_text(
        [
            ("2023-01-01 00:00:00", "DE", "1", "2"),
            ("yesterday", "DE", "1", "2"),
            ("2023-02-30 00:00:00", "DE", "1", "2"),
            ("2023-01-01 01:00:00", "", "1", "2"),
        ]
    )
    with pytest.raises(
        InvalidValueError,
        match=r"'Zone Id': empty in <text> .* in 1 row; first: line 5 "
        r"\(2023-01-01 01:00:00\)",
    ):
        read_grid_series(text)
    text = text.replace(",,1,2,", ",DE,1,2,")
    with pytest.raises(
        InvalidValueError,
        match=r"'Datetime \(UTC\)': empty or not a date and "
        r"time .* in 2 rows; first: line 3 \(DE, yesterday\): 'yesterday', line 4",
    ):
        read_grid_series(text)
    # Blank lines are skipped, and line numbers still count them.
    blank = text.replace("\nyesterday", "\n\n  \nyesterday")
    with pytest.raises(InvalidValueError, match=r"line 5 \(DE, yesterday\)"):
        read_grid_series(blank)
    assert quiet(blank, on_invalid="drop").height == 2
