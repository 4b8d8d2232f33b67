"""The 2026.12.1 reference-data refresh: new and re-sourced regions, peer cross-checks.

Tests that read the shared research folder skip without it and fail under ``CI``
(``conftest.require_shared``). The others read only the shipped tables, the
figures in ``data/figures`` and ``docs/factors.md``.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import json
import math
import warnings
from pathlib import Path

import polars as pl
import pytest
from conftest import require_shared

import fleetcarbon as fc
from fleetcarbon.factors.grid_series import GridBasisWarning

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "python" / "fleetcarbon" / "data"
FIGURES = REPO / "data" / "figures"
DOCS = REPO / "docs" / "factors.md"
LB_PER_MWH = 0.45359237 / 1000.0  # lb/MWh -> kg/kWh


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def table(name: str) -> dict[str, dict[str, str]]:
    return {r["key"]: r for r in rows(DATA / f"{name}.csv")}


def bounds(r: dict[str, str], col: str) -> tuple[float, float, float]:
    return float(r[f"{col}_low"]), float(r[col]), float(r[f"{col}_high"])


def codecarbon(name: str) -> dict:
    return json.loads(
        (require_shared("reference-data", "codecarbon-3.3.2") / name).read_text(encoding="utf-8")
    )


def history() -> dict[tuple[str, int], dict[str, str]]:
    return {(r["key"], int(r["year"])): r for r in rows(DATA / "grid_history.csv")}


def crosscheck(kind: str) -> list[dict[str, str]]:
    return [r for r in rows(FIGURES / "crosscheck.csv") if r["table"] == kind]


def _derivation():
    spec = importlib.util.spec_from_file_location(
        "derive_factors", REPO / "tools" / "derive_factors.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ----------------------------------------------------------------- US states
def test_us_states_are_egrid2023_rates():
    d = codecarbon("usa_emissions.json")
    assert d["_source"]["field"] == "STC2ERTA" and d["_unit"]["emissions"] == "lbs/MWh"
    reg = table("regions")
    states = {k: e for k, e in d.items() if not k.startswith("_") and k != "usa"}
    assert len(states) == 51  # 50 states and DC
    for name, e in states.items():
        r = reg[f"US-{e['regionCode']}"]
        want = float(e["emissions"]) * LB_PER_MWH
        assert float(r["grid_kgco2e_per_kwh"]) == pytest.approx(want, abs=5e-5), name
        assert r["year"] == "2023" and r["basis"] == "direct;generation", name
        assert r["grid_source"].split(";") == ["codecarbon-usa-2023", "epa-egrid2023"], name
        lo, v, hi = bounds(r, "grid_kgco2e_per_kwh")
        # direct values: the high bound leaves room for lifecycle upstream
        assert lo < v < hi and hi >= v * 1.1 + 0.03 - 1e-4, name


def test_old_subnational_values_are_history():
    """The Green Algorithms values the US/CA keys had until 2026.12.0 are their 2020 rows."""
    ga = require_shared("reference-data", "greenalgorithms", "data", "v3.0", "CI_aggregated.csv")
    lines = ga.read_text(encoding="utf-8").splitlines()[1:]  # two header rows
    hist = history()
    reg = table("regions")
    n = 0
    for r in csv.DictReader(lines):
        loc = {"CA-MT": "CA-MB"}.get(r["location"], r["location"])
        if loc[:3] not in ("US-", "CA-") or len(loc) != 5:
            continue
        n += 1
        h = hist[(loc, 2020)]
        assert float(h["grid_kgco2e_per_kwh"]) == pytest.approx(
            float(r["carbonIntensity"]) / 1000, abs=5e-5
        ), loc
        assert h["source"] == "greenalgorithms-v3" and h["basis"] == "mixed;generation", loc
        assert reg[loc]["grid_source"] != "greenalgorithms-v3", loc
    assert n == 64


# ----------------------------------------------------------------- Canada
def test_canadian_provinces_are_the_2023_mix_times_ar5():
    mix = codecarbon("canada_energy_mix.json")
    per_source = codecarbon("carbon_intensity_per_source.json")
    ar5 = {r["fuel"]: float(r["gco2e_per_kwh"]) for r in rows(FIGURES / "lifecycle_factors.csv")}
    # mix name -> (AR5 fuel, codecarbon key); AR5 has no oil row, so oil is codecarbon's
    fuels = {
        "coal": ("coal", "coal"),
        "naturalGas": ("gas", "natural_gas"),
        "petroleum": (None, "petroleum"),
        "biomass": ("biomass", "biomass"),
        "solar": ("solar", "solar"),
        "wind": ("wind", "wind"),
        "hydro": ("hydro", "hydroelectricity"),
        "nuclear": ("nuclear", "nuclear"),
    }
    reg = table("regions")
    provinces = [k for k, r in reg.items() if r["kind"] == "subnational" and k.startswith("CA-")]
    assert len(provinces) == len(mix) == 13
    for name, shares in mix.items():
        used = {s: float(x) for s, x in shares.items() if s != "total" and float(x) > 0}
        total = sum(used.values())
        ours = alt = lifecycle = 0.0
        for s, x in used.items():
            fuel, cc_key = fuels[s]
            f = ar5[fuel] if fuel else float(per_source[cc_key])
            ours += x * f
            alt += x * float(per_source[cc_key])
            lifecycle += x * f if fuel else 0.0
        matches = [k for k in provinces if reg[k]["name"].lower() == name]
        assert len(matches) == 1, name
        r = reg[matches[0]]
        assert float(r["grid_kgco2e_per_kwh"]) == pytest.approx(ours / total / 1000, abs=5e-5)
        lo, _, hi = bounds(r, "grid_kgco2e_per_kwh")
        assert lo <= alt / total / 1000 <= hi, name  # codecarbon's own factors inside the bounds
        expected = "lifecycle;generation" if lifecycle >= ours / 2 else "mixed;generation"
        assert r["basis"] == expected and r["year"] == "2023", name
        assert "ipcc-ar5-annex-iii" in r["grid_source"].split(";"), name


def test_lifecycle_factors_are_the_ar5_medians():
    published = {  # IPCC AR5 WGIII Annex III, Table A.III.2, medians (gCO2e/kWh)
        "coal": 820,
        "gas": 490,
        "biomass": 230,
        "solar": 48,
        "geothermal": 38,
        "hydro": 24,
        "nuclear": 12,
        "wind": 11,
    }
    got = {r["fuel"]: float(r["gco2e_per_kwh"]) for r in rows(FIGURES / "lifecycle_factors.csv")}
    assert got == published
    assert {r["source"] for r in rows(FIGURES / "lifecycle_factors.csv")} == {"ipcc-ar5-annex-iii"}


# ----------------------------------------------------------------- China
def test_chinese_provinces_are_co2_only():
    reg = table("regions")
    cn = {k: r for k, r in reg.items() if r["kind"] == "subnational" and r["country_iso2"] == "CN"}
    assert len(cn) == 30 and "CN-XZ" not in cn  # MEE/NBS publish no factor for Tibet
    for k, r in cn.items():
        assert r["basis"] == "direct;grid-average;co2-only", k
        assert r["year"] == "2023" and "mee-nbs-2023" in r["grid_source"].split(";"), k
        assert "CO2 only" in r["note"], k
    hist = [h for h in rows(DATA / "grid_history.csv") if h["key"] in cn]
    assert {h["basis"] for h in hist} == {"direct;grid-average;co2-only"}


def test_chinese_provinces_are_the_official_factors():
    d = codecarbon("china_provincial_emissions.json")
    assert d["metadata"]["unit"] == "gCO2/kWh" and d["metadata"]["year"] == 2023
    reg = table("regions")
    assert set(d["data"]) == {k for k in reg if k.startswith("CN-")}
    aliases = {a["alias"].lower(): a["key"] for a in rows(DATA / "aliases.csv")}
    for k, e in d["data"].items():
        assert float(reg[k]["grid_kgco2e_per_kwh"]) == pytest.approx(
            e["emission_factor"] / 1000, abs=5e-5
        )
        for n in e["names"]:
            assert aliases[n] == k, n


def test_co2_only_rows_read_as_direct_for_grid_series():
    """The qualifier keeps the first part of the basis: a direct series agrees with CN-GD."""
    f = fc.load_factors()
    t0 = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    series = pl.DataFrame(
        {"region": ["CN-GD", "CN-GD"], "start": [t0, t0 + dt.timedelta(hours=1)]}
    ).with_columns(kgco2e_per_kwh=pl.Series([0.44, 0.45]))
    with warnings.catch_warnings():
        warnings.simplefilter("error", GridBasisWarning)
        f.with_grid_series(series, basis="direct")
    with pytest.warns(GridBasisWarning, match="CN-GD"):
        f.with_grid_series(series, basis="lifecycle")


# ----------------------------------------------------------------- Nordic
def test_nordic_bidding_zones_are_codecarbon_2025():
    d = codecarbon("nordic_emissions.json")["data"]
    reg = table("regions")
    zones = {k: r for k, r in reg.items() if "-BZ-" in k}
    assert sorted(zones) == sorted(f"{c[:2]}-BZ-{c}" for c in d if c != "FI")
    for code, e in d.items():
        if code == "FI":
            continue  # a prior value in the source; the country row FI covers Finland
        r = zones[f"{code[:2]}-BZ-{code}"]
        assert float(r["grid_kgco2e_per_kwh"]) == pytest.approx(
            e["emission_factor"] / 1000, abs=5e-5
        )
        assert r["year"] == str(e["year"]) == "2025" and r["basis"] == "mixed;generation"
        assert r["country_iso2"] == code[:2]
        # generation without a factor is counted at 0 upstream: the high bound makes room
        covered = float(e["coverage"].split("%")[0]) / 100
        _, v, hi = bounds(r, "grid_kgco2e_per_kwh")
        assert hi - v >= max(0.02, 0.15 * v) + (1 - covered) * 0.23 - 1e-4, code


def _estimate(f: fc.Factors, regions: list[str]) -> pl.DataFrame:
    jobs = pl.DataFrame(
        {
            "job_id": list(range(len(regions))),
            "duration_h": [10.0] * len(regions),
            "region": regions,
            "accelerator": ["nvidia-h100-sxm5-80gb"] * len(regions),
            "accelerator_count": [8] * len(regions),
        }
    )
    return fc.estimate(jobs, f)


@pytest.mark.parametrize(
    ("key", "names"),
    [
        ("SE-BZ-SE3", ["SE3", "se3", "se-bz-se3"]),
        ("NO-BZ-NO4", ["NO4", "no4"]),
        ("CN-NM", ["Inner Mongolia", "nei mongol", "Neimenggu"]),
        ("CN-GD", ["Guangdong", "GUANGDONG"]),
    ],
)
def test_new_region_aliases_resolve_through_the_public_api(key, names):
    f = fc.load_factors()
    grid = f.regions.filter(pl.col("key") == key)["grid_kgco2e_per_kwh"].item()
    out = _estimate(f, [key, *names])
    assert out["operational_kgco2e"].n_unique() == 1
    got = out["operational_kgco2e"][0] / out["facility_energy_kwh"][0]
    assert got == pytest.approx(grid, rel=1e-12)
    # the zone differs from its country, so the alias did not fall back to it
    country = f.regions.filter(pl.col("key") == key[:2])["grid_kgco2e_per_kwh"].item()
    assert grid != country


# ----------------------------------------------------------------- peers
def test_crosscheck_file_is_well_formed():
    sources = {r["source_id"] for r in rows(FIGURES / "sources.csv")}
    tables = {"accelerators": table("accelerators"), "regions": table("regions")}
    for r in rows(FIGURES / "crosscheck.csv"):
        assert r["table"] in tables, r
        for k in r["keys"].split(";"):
            assert k in tables[r["table"]], (r["peer"], k)
        assert math.isfinite(float(r["value"])) and float(r["value"]) > 0
        assert bool(r["range_low"]) == bool(r["range_high"]), r["peer"]
        if r["range_low"]:
            assert float(r["range_low"]) <= float(r["value"]) <= float(r["range_high"])
        assert not r["source_id"] or r["source_id"] in sources, r["source_id"]
        assert r["flag"].split()[0] in {"GREEN", "AMBER", "RED", "cited-fact"}, r["flag"]


def test_accelerator_bounds_contain_every_peer_estimate():
    acc = table("accelerators")
    peers = crosscheck("accelerators")
    assert {"nvidia-a100-sxm4-80gb", "nvidia-a100-sxm4-40gb", "nvidia-h100-sxm5-80gb"} <= {
        k for p in peers for k in p["keys"].split(";")
    }
    for p in peers:
        v = float(p["value"])
        for k in p["keys"].split(";"):
            lo, _, hi = bounds(acc[k], "embodied_kgco2e")
            assert lo <= v <= hi, f"{k}: {p['peer']} {v} outside [{lo}, {hi}]"


def test_widened_bounds_are_explained():
    """A bound a peer set is that peer's value rounded outwards, and the note names it."""
    acc = table("accelerators")
    by_key: dict[str, list[dict[str, str]]] = {}
    for p in crosscheck("accelerators"):
        for k in p["keys"].split(";"):
            by_key.setdefault(k, []).append(p)
    widened = 0
    for k, r in acc.items():
        if "widened to contain peer estimates" not in r["note"]:
            continue
        widened += 1
        assert "fleetcarbon-judgement" in r["embodied_source"].split(";"), k
        lo, _, hi = bounds(r, "embodied_kgco2e")
        values = [float(p["value"]) for p in by_key[k]]
        setters = [p for p in by_key[k] if float(p["value"]) in (max(values), min(values))]
        assert hi == math.ceil(max(values)) or lo == math.floor(min(values)), k
        assert any(p["peer"] in r["note"] for p in setters), k
    assert widened >= 2


def test_mirrored_variants_share_bounds():
    acc = table("accelerators")
    for a, b in (
        ("nvidia-a100-sxm4-80gb", "nvidia-a800-sxm4-80gb"),
        ("nvidia-h100-sxm5-80gb", "nvidia-h800-sxm5-80gb"),
    ):
        assert bounds(acc[a], "embodied_kgco2e") == bounds(acc[b], "embodied_kgco2e")


def test_crosscheck_doc_table_is_generated():
    derive = _derivation()
    text = DOCS.read_text(encoding="utf-8")
    block = text.split(derive.CROSSCHECK_BEGIN, 1)[1].split(derive.CROSSCHECK_END, 1)[0]
    expected = derive.crosscheck_markdown(DATA)
    assert block.strip() == expected.strip(), (
        "docs/factors.md's cross-check table is stale: run "
        "`python tools/derive_factors.py --crosscheck-docs`"
    )
    n = sum(len(p["keys"].split(";")) for p in rows(FIGURES / "crosscheck.csv"))
    assert block.count("\n| `") == n


def test_region_peers_are_transcribed_correctly():
    """Electricity Maps (co2.js, AMBER) and Green Algorithms peer values match their files."""
    shared = require_shared("reference-data")
    ga_lines = (shared / "greenalgorithms/data/v3.0/CI_aggregated.csv").read_text("utf-8")
    ga = {r["location"]: r for r in csv.DictReader(ga_lines.splitlines()[1:])}
    checked = 0
    for p in crosscheck("regions"):
        if p["peer"].startswith("Electricity Maps"):
            em = json.loads(
                (shared / f"co2js/data/output/electricity-maps/yearly_{p['year']}.json").read_text(
                    encoding="utf-8"
                )
            )
            want = em[p["zone"]]["carbonIntensity"]["value"] / 1000
        elif p["source_id"] == "greenalgorithms-v3":
            want = float(ga[p["zone"]]["carbonIntensity"]) / 1000
        else:
            continue
        checked += 1
        assert float(p["value"]) == pytest.approx(want, abs=5e-5), p["peer"]
    assert checked >= 12


def test_ecologits_citation_is_current():
    src = {r["source_id"]: r for r in rows(DATA / "sources.csv")}
    assert "273 kg" in src["ecologits"]["title"] and "0.11.3" in src["ecologits"]["title"]
    text = DOCS.read_text(encoding="utf-8")
    assert "EcoLogits' 164 kg." not in text


def test_dataset_version_is_documented():
    version = (DATA / "VERSION").read_text(encoding="utf-8").strip()
    assert _derivation().DATASET_VERSION == version
    text = DOCS.read_text(encoding="utf-8")
    assert f"(dataset `{version}`" in text and f"## Dataset changes in {version}" in text
