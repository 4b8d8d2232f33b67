"""Tests of the bundled factor tables (python/fleetcarbon/data).

Reads the CSVs directly with polars; does not import the fleetcarbon engine.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "python" / "fleetcarbon" / "data"
SCRIPT = REPO / "tools" / "derive_factors.py"


def _derivation():
    """The derivation script as a module (standard library only; no I/O on import)."""
    spec = importlib.util.spec_from_file_location("derive_factors", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: Each table's columns, in order: the schema the derivation script writes.
COLUMNS: dict[str, list[str]] = _derivation().COLUMNS

NUMERIC = {
    "accelerators": [
        "memory_gb",
        "release_year",
        "process_nm",
        "die_area_mm2",
        "tdp_w",
        "tdp_w_low",
        "tdp_w_high",
        "idle_w",
        "host_power_w",
        "host_power_w_low",
        "host_power_w_high",
        "embodied_kgco2e",
        "embodied_kgco2e_low",
        "embodied_kgco2e_high",
        "year",
    ],
    "cpus": [
        "cores",
        "release_year",
        "tdp_w",
        "core_power_w",
        "core_power_w_low",
        "core_power_w_high",
        "core_embodied_kgco2e",
        "core_embodied_kgco2e_low",
        "core_embodied_kgco2e_high",
        "year",
    ],
    "regions": [
        "grid_kgco2e_per_kwh",
        "grid_kgco2e_per_kwh_low",
        "grid_kgco2e_per_kwh_high",
        "year",
        "market_kgco2e_per_kwh",
    ],
    "datacenters": [
        "pue",
        "pue_low",
        "pue_high",
        "facility_embodied_fraction",
        "facility_embodied_fraction_low",
        "facility_embodied_fraction_high",
        "year",
    ],
    "defaults": ["value", "low", "high", "year"],
    "grid_history": ["year", "grid_kgco2e_per_kwh"],
}

# (table, value column, low column, high column)
TRIPLES = [
    ("accelerators", "tdp_w", "tdp_w_low", "tdp_w_high"),
    ("accelerators", "host_power_w", "host_power_w_low", "host_power_w_high"),
    ("accelerators", "embodied_kgco2e", "embodied_kgco2e_low", "embodied_kgco2e_high"),
    ("cpus", "core_power_w", "core_power_w_low", "core_power_w_high"),
    ("cpus", "core_embodied_kgco2e", "core_embodied_kgco2e_low", "core_embodied_kgco2e_high"),
    ("regions", "grid_kgco2e_per_kwh", "grid_kgco2e_per_kwh_low", "grid_kgco2e_per_kwh_high"),
    ("datacenters", "pue", "pue_low", "pue_high"),
    (
        "datacenters",
        "facility_embodied_fraction",
        "facility_embodied_fraction_low",
        "facility_embodied_fraction_high",
    ),
    ("defaults", "value", "low", "high"),
]

KEYCOL = {"defaults": "parameter", "aliases": "alias", "sources": "source_id"}
SOURCE_COLS = {
    "accelerators": ["tdp_source", "idle_source", "host_power_source", "embodied_source"],
    "cpus": ["core_power_source", "core_embodied_source"],
    "regions": ["grid_source", "market_source"],
    "datacenters": ["pue_source", "facility_embodied_source"],
    "defaults": ["source"],
    "aliases": ["source"],
    "grid_history": ["source"],
}
LICENCE_ORDER = ["CC-BY-4.0", "Apache-2.0", "BSD-3-Clause", "MIT", "cited-fact", "fleetcarbon"]
BASES = {
    "lifecycle;generation",
    "mixed;generation",
    "direct;generation",
    "direct;grid-average",
    "lifecycle;grid-average",
    "direct;grid-average;co2-only",
}


def load(name: str) -> pl.DataFrame:
    return pl.read_csv(DATA / f"{name}.csv", infer_schema=False)


def num(df: pl.DataFrame, col: str) -> pl.Series:
    return df[col].cast(pl.Float64, strict=True)


def by_key(name: str) -> dict[str, dict]:
    df = load(name)
    return {r[KEYCOL.get(name, "key")]: r for r in df.iter_rows(named=True)}


def f(x) -> float:
    return float(x)


# ----------------------------------------------------------------- schema
@pytest.mark.parametrize("name", sorted(COLUMNS))
def test_exact_columns(name):
    assert load(name).columns == COLUMNS[name]


@pytest.mark.parametrize("name", sorted(NUMERIC))
def test_numeric_columns_parse(name):
    df = load(name)
    for col in NUMERIC[name]:
        num(df, col)  # raises if any non-empty cell is not a float


@pytest.mark.parametrize("name", sorted(set(COLUMNS) - {"grid_history"}))
def test_keys_unique_and_nonempty(name):
    df = load(name)
    col = KEYCOL.get(name, "key")
    keys = df[col]
    assert keys.null_count() == 0
    lowered = keys.str.to_lowercase()
    assert lowered.n_unique() == len(lowered), "keys must be unique case-insensitively"


def test_version_file():
    v = (DATA / "VERSION").read_text(encoding="utf-8")
    assert v.endswith("\n") and len(v.strip().splitlines()) == 1
    parts = v.strip().split(".")
    assert len(parts) == 3 and all(p.isdigit() for p in parts)


def test_required_rows():
    assert by_key("regions")["WORLD"]["kind"] == "world"
    assert "generic" in by_key("cpus")
    assert "generic" in by_key("datacenters")
    params = set(by_key("defaults"))
    assert {
        "power_fraction",
        "lifetime_years",
        "use_rate",
        "memory_power_w_per_gb",
        "memory_embodied_kgco2e_per_gb",
    } <= params
    acc = set(by_key("accelerators"))
    minimum = {
        "nvidia-v100-sxm2-32gb",
        "nvidia-v100-pcie-32gb",
        "nvidia-a100-sxm4-40gb",
        "nvidia-a100-sxm4-80gb",
        "nvidia-a100-pcie-40gb",
        "nvidia-a100-pcie-80gb",
        "nvidia-h100-sxm5-80gb",
        "nvidia-h100-pcie-80gb",
        "nvidia-h100-nvl-94gb",
        "nvidia-h200-sxm-141gb",
        "nvidia-b200-sxm-180gb",
        "nvidia-l4-24gb",
        "nvidia-t4-16gb",
        "nvidia-l40s-48gb",
        "amd-mi300x-192gb",
        "google-tpu-v4",
        "nvidia-rtx-4090-24gb",
    }
    assert minimum <= acc


def test_region_kinds_and_keys():
    df = load("regions")
    assert set(df["kind"].unique()) <= {"world", "country", "subnational", "cloud"}
    for r in df.iter_rows(named=True):
        if r["kind"] == "country":
            assert len(r["key"]) == 2 and r["key"].isupper() and r["key"] == r["country_iso2"]
        if r["kind"] == "cloud":
            prov, _, reg = r["key"].partition(":")
            assert prov == r["provider"] and prov in {"aws", "azure", "gcp"} and reg
    assert (df.filter(pl.col("kind") == "country").height) >= 200
    sub = df.filter(pl.col("kind") == "subnational")["key"]
    assert sub.str.starts_with("US-EGRID-").sum() == 26
    assert sub.str.starts_with("US-BA-").sum() == 8
    assert set(df["basis"].unique()) <= BASES
    keys = set(df["key"])
    for r in df.iter_rows(named=True):
        # every grid_zone is itself a region key (cloud rows point at their zone)
        assert r["grid_zone"] in keys, r["key"]
    for prov, n in (("aws", 20), ("azure", 20), ("gcp", 40)):
        assert df.filter(pl.col("provider") == prov).height >= n


def test_market_default_is_null():
    df = load("regions")
    assert df["market_kgco2e_per_kwh"].null_count() == df.height


def test_references_resolve():
    dcs = by_key("datacenters")
    regions = by_key("regions")
    for r in regions.values():
        assert r["default_datacenter"] in dcs, r["key"]
        if r["kind"] == "cloud":
            expected = {"gcp": "google", "aws": "aws", "azure": "azure"}[r["provider"]]
            assert r["default_datacenter"] == expected
    for r in dcs.values():
        if r["region"]:
            assert r["region"] in regions


def test_aliases_resolve_and_do_not_shadow_keys():
    tables = {
        t: {k.lower() for k in by_key(t)}
        for t in ("accelerators", "cpus", "regions", "datacenters")
    }
    all_keys = set().union(*tables.values())
    for r in load("aliases").iter_rows(named=True):
        assert r["table"] in tables, r
        assert r["key"].lower() in tables[r["table"]], r
        assert r["alias"].lower() not in all_keys, f"alias equals a canonical key: {r['alias']}"
    aliases = {r["alias"]: r for r in load("aliases").iter_rows(named=True)}
    assert aliases["NVIDIA A100-SXM4-80GB"]["key"] == "nvidia-a100-sxm4-80gb"
    assert aliases["NVIDIA H100 80GB HBM3"]["key"] == "nvidia-h100-sxm5-80gb"
    assert aliases["Tesla V100-SXM2-32GB"]["key"] == "nvidia-v100-sxm2-32gb"
    assert aliases["FRA"]["key"] == "FR"
    assert aliases["us-east-1"]["key"] == "aws:us-east-1"


def test_source_ids_resolve():
    known = set(by_key("sources"))
    for name, cols in SOURCE_COLS.items():
        df = load(name)
        for col in cols:
            for cell in df[col].drop_nulls():
                for sid in cell.split(";"):
                    assert sid in known, f"{name}.{col}: unknown source id {sid!r}"


def test_licences_known_and_most_restrictive():
    order = LICENCE_ORDER
    src = {k: v["licence"] for k, v in by_key("sources").items()}
    assert set(src.values()) <= set(order)
    for name, cols in SOURCE_COLS.items():
        if name == "aliases":
            continue
        for r in load(name).iter_rows(named=True):
            lics = {src[s] for c in cols if r[c] for s in r[c].split(";")}
            expected = next(x for x in order if x in lics)
            if name == "accelerators":
                # spec sources (Epoch etc.) may add a more restrictive licence
                assert order.index(r["licence"]) <= order.index(expected)
            else:
                assert r["licence"] == expected, (name, r)


# ----------------------------------------------------------------- bounds
@pytest.mark.parametrize("table,v,lo,hi", TRIPLES)
def test_low_le_value_le_high(table, v, lo, hi):
    df = load(table)
    val, low, high = num(df, v), num(df, lo), num(df, hi)
    assert val.null_count() == 0 and low.null_count() == 0 and high.null_count() == 0
    assert (low <= val).all() and (val <= high).all()


def test_physical_ranges():
    acc = load("accelerators")
    assert ((num(acc, "tdp_w") > 0) & (num(acc, "tdp_w_high") <= 2000)).all()
    assert (
        (num(acc, "embodied_kgco2e_low") > 0) & (num(acc, "embodied_kgco2e_high") <= 5000)
    ).all()
    assert (num(acc, "host_power_w_low") >= 0).all()
    idle = num(acc, "idle_w").drop_nulls()
    assert ((idle > 0) & (idle < 100)).all()
    dc = load("datacenters")
    assert ((num(dc, "pue_low") >= 1.0) & (num(dc, "pue_high") <= 3.0)).all()
    assert (
        (num(dc, "facility_embodied_fraction_low") >= 0)
        & (num(dc, "facility_embodied_fraction_high") <= 1)
    ).all()
    reg = load("regions")
    assert (
        (num(reg, "grid_kgco2e_per_kwh_low") >= 0) & (num(reg, "grid_kgco2e_per_kwh_high") <= 1.5)
    ).all()
    cpus = load("cpus")
    assert ((num(cpus, "core_power_w_low") > 0) & (num(cpus, "core_power_w_high") < 30)).all()
    assert (num(cpus, "core_embodied_kgco2e_low") > 0).all()
    d = by_key("defaults")
    assert 0 < f(d["power_fraction"]["low"]) and f(d["power_fraction"]["high"]) <= 1
    assert 0 < f(d["use_rate"]["low"]) and f(d["use_rate"]["high"]) <= 1
    assert 1 <= f(d["lifetime_years"]["low"]) and f(d["lifetime_years"]["high"]) <= 10
    assert 0 < f(d["memory_embodied_kgco2e_per_gb"]["value"]) < 2


# ----------------------------------------------------------------- spot checks
def test_spot_checks():
    reg = by_key("regions")
    g = lambda k: f(reg[k]["grid_kgco2e_per_kwh"])  # noqa: E731
    assert g("FR") < g("PL") / 5
    assert g("gcp:europe-north1") < g("gcp:us-central1")
    assert 0.40 <= g("WORLD") <= 0.55
    assert 0.30 <= g("US") <= 0.45
    acc = by_key("accelerators")
    t = lambda k: f(acc[k]["tdp_w"])  # noqa: E731
    assert t("nvidia-h100-sxm5-80gb") == 700
    assert t("nvidia-a100-sxm4-80gb") == 400 and t("nvidia-a100-sxm4-40gb") == 400
    assert t("nvidia-a100-pcie-40gb") == 250 and t("nvidia-a100-pcie-80gb") == 300
    assert t("nvidia-v100-sxm2-32gb") == 300 and t("nvidia-v100-pcie-32gb") == 250
    assert t("amd-mi250x-128gb") == 500 and f(acc["amd-mi250x-128gb"]["tdp_w_high"]) == 560
    assert f(acc["nvidia-h100-pcie-80gb"]["tdp_w_low"]) == 300
    assert f(acc["nvidia-a100-sxm4-80gb"]["idle_w"]) == 46
    assert f(acc["nvidia-t4-16gb"]["idle_w"]) == 8
    # embodied: card + server share in model.md's 200-1,200 kg window, newer/bigger higher
    e = lambda k: f(acc[k]["embodied_kgco2e"])  # noqa: E731
    for k in ("nvidia-a100-sxm4-80gb", "nvidia-h100-sxm5-80gb", "nvidia-v100-sxm2-32gb"):
        assert 200 <= e(k) <= 1200
    assert e("nvidia-v100-sxm2-32gb") < e("nvidia-a100-sxm4-80gb") < e("nvidia-h100-sxm5-80gb")
    assert e("nvidia-h100-sxm5-80gb") < e("nvidia-b200-sxm-180gb")
    assert e("nvidia-rtx-4090-24gb") < e("nvidia-h100-sxm5-80gb")
    # published per-GPU figures fall inside the bounds: data/figures/crosscheck.csv holds
    # them, tests/test_reference_data.py checks them
    dc = by_key("datacenters")
    assert 1.5 <= f(dc["generic"]["pue"]) <= 1.65
    assert abs(f(dc["google"]["pue"]) - 1.10) < 0.02
    assert abs(f(dc["generic"]["facility_embodied_fraction"]) - 0.15) < 1e-9
    d = by_key("defaults")
    assert abs(f(d["memory_power_w_per_gb"]["value"]) - 0.3725) < 1e-9
    cpus = by_key("cpus")
    assert abs(f(cpus["amd-epyc-7763"]["core_power_w"]) - 280 / 64) < 0.01
    assert abs(f(cpus["intel-xeon-platinum-8480"]["core_power_w"]) - 350 / 56) < 0.01


def test_hardware_release_years():
    """Every accelerator and CPU row says when its part came out; CPUs reach back to 2008."""
    for name in ("accelerators", "cpus"):
        year = num(load(name), "release_year")
        assert year.null_count() == 0, name
        assert (year == year.round()).all() and year.min() >= 2008 and year.max() <= 2026, name
    cpus = load("cpus")
    families = cpus.filter(pl.col("key") != "generic")
    # a family's year is its release year (the year its TDP and cores stand for)
    assert (families["year"] == families["release_year"]).all()
    assert num(families, "release_year").min() <= 2009  # Nehalem-EP (Xeon 5500)


def test_generic_cpu_stands_for_its_basis_families():
    """The generic row is taken over the 29 families marked generic_basis, so adding older
    or newer families leaves it unchanged (the goldens' CPU-only jobs use it)."""
    g = by_key("cpus")["generic"]
    assert [f(g[c]) for c in ("core_power_w", "core_power_w_low", "core_power_w_high")] == [
        8.6,
        1.406,
        12,
    ]
    assert [
        f(g[c])
        for c in ("core_embodied_kgco2e", "core_embodied_kgco2e_low", "core_embodied_kgco2e_high")
    ] == [15.62, 2.34, 62.5]
    with open(REPO / "data" / "figures" / "cpu_specs.csv", newline="", encoding="utf-8") as fh:
        specs = list(csv.DictReader(fh))
    basis = sorted(int(s["release_year"]) for s in specs if s["generic_basis"] == "1")
    assert len(basis) == 29
    assert int(g["release_year"]) == basis[0]


def test_old_and_new_hardware_rows():
    cpus = by_key("cpus")
    cp = lambda k: f(cpus[k]["core_power_w"])  # noqa: E731
    ce = lambda k: f(cpus[k]["core_embodied_kgco2e"])  # noqa: E731
    assert abs(cp("intel-xeon-x5650") - 95 / 6) < 0.01
    assert abs(cp("amd-opteron-6276") - 115 / 16) < 0.01
    assert abs(cp("intel-xeon-e5-2680") - 130 / 8) < 0.01  # Sandy Bridge-EP (v1)
    assert abs(cp("amd-epyc-9965") - 500 / 192) < 0.01
    # per-core embodied = the same 2-socket server / (2 x cores): fewer cores, more per core
    assert abs(ce("intel-xeon-x5650") - 1000 / 12) < 0.01
    assert ce("intel-xeon-x5650") > ce("intel-xeon-e5-2680-v4") > ce("amd-epyc-9965")
    for family in (
        "intel-xeon-e5520",  # Nehalem-EP
        "intel-xeon-x5650",  # Westmere-EP
        "intel-xeon-e5-2670",  # Sandy Bridge-EP
        "intel-xeon-e5-2680-v2",
        "intel-xeon-e5-2680-v3",
        "intel-xeon-e5-2698-v4",
        "intel-xeon-e7-4870",
        "intel-xeon-e7-8890-v4",
        "amd-opteron-6174",
        "amd-opteron-6276",
        "amd-opteron-6376",
        "amd-epyc-7601",  # Naples
        "amd-epyc-9684x",  # Genoa-X
        "amd-epyc-8534p",  # Siena
        "amd-epyc-9755",  # Turin
        "intel-xeon-platinum-8580",  # Emerald Rapids
        "intel-xeon-6980p",  # Granite Rapids
        "intel-xeon-6780e",  # Sierra Forest
    ):
        assert family in cpus, family
    acc = by_key("accelerators")
    t = lambda k: f(acc[k]["tdp_w"])  # noqa: E731
    # K80 and M60 rows are per GPU (half a dual-GPU board), as nvidia-smi and Slurm count them
    assert t("nvidia-k80-12gb") == 150 and f(acc["nvidia-k80-12gb"]["memory_gb"]) == 12
    assert t("nvidia-m60-8gb") == 150 and f(acc["nvidia-m60-8gb"]["memory_gb"]) == 8
    assert t("nvidia-p100-pcie-16gb") == 250 and t("nvidia-p100-sxm2-16gb") == 300
    assert t("nvidia-p100-pcie-12gb") == 250 and t("nvidia-p40-24gb") == 250
    assert t("nvidia-p4-8gb") == 75 and f(acc["nvidia-p4-8gb"]["tdp_w_low"]) == 50
    assert t("nvidia-a30-24gb") == 165 and t("nvidia-rtx-a6000-48gb") == 300
    assert t("nvidia-a800-sxm4-80gb") == 400 and t("nvidia-a800-pcie-80gb") == 300
    assert t("nvidia-h800-sxm5-80gb") == 700 and t("nvidia-h800-pcie-80gb") == 350
    assert t("nvidia-h20-96gb") == 400 and f(acc["nvidia-h20-96gb"]["tdp_w_high"]) == 500
    assert t("nvidia-l20-48gb") == 275
    e = lambda k: f(acc[k]["embodied_kgco2e"])  # noqa: E731
    # same silicon, memory and server class as the part they are variants of
    assert e("nvidia-a800-sxm4-80gb") == e("nvidia-a100-sxm4-80gb")
    assert e("nvidia-h800-sxm5-80gb") == e("nvidia-h100-sxm5-80gb")
    for k in ("nvidia-k80-12gb", "nvidia-p100-sxm2-16gb", "nvidia-h20-96gb", "nvidia-p4-8gb"):
        assert 200 <= e(k) <= 1200, k


def test_hardware_aliases():
    aliases = {r["alias"]: r for r in load("aliases").iter_rows(named=True)}
    expected = {
        "Intel(R) Xeon(R) CPU X5650 @ 2.67GHz": "intel-xeon-x5650",
        "Intel(R) Xeon(R) CPU           X5650  @ 2.67GHz": "intel-xeon-x5650",
        "Intel(R) Xeon(R) CPU E5-2670 0 @ 2.60GHz": "intel-xeon-e5-2670",
        "Intel(R) Xeon(R) CPU E7- 4870  @ 2.40GHz": "intel-xeon-e7-4870",
        "AMD Opteron(tm) Processor 6174": "amd-opteron-6174",
        "AMD EPYC 9965 192-Core Processor": "amd-epyc-9965",
        "E5-2680 v4": "intel-xeon-e5-2680-v4",
        "X5650": "intel-xeon-x5650",
        "Opteron 6276": "amd-opteron-6276",
        "Gold 6248": "intel-xeon-gold-6248",
        "Intel Xeon E5-2680 v4": "intel-xeon-e5-2680-v4",
        "EPYC 7763": "amd-epyc-7763",
        "Tesla P100-PCIE-16GB": "nvidia-p100-pcie-16gb",
        "Tesla P100-SXM2-16GB": "nvidia-p100-sxm2-16gb",
        "Tesla K80": "nvidia-k80-12gb",
        "NVIDIA A30": "nvidia-a30-24gb",
        "NVIDIA RTX A6000": "nvidia-rtx-a6000-48gb",
        "NVIDIA H800": "nvidia-h800-sxm5-80gb",
        "k80": "nvidia-k80-12gb",
        "a30": "nvidia-a30-24gb",
        "v100": "nvidia-v100-sxm2-32gb",
    }
    for alias, key in expected.items():
        assert aliases[alias]["key"] == key, alias
    # ambiguous spellings are left out (docs/factors.md lists them)
    lowered = {a.lower() for a in aliases}
    for alias in ("p100", "V100M16", "V100M32", "a800", "h800", "p4", "NVIDIA Tesla P100"):
        assert alias.lower() not in lowered, alias


# ----------------------------------------------------------------- grid history
def test_grid_history_schema():
    h = load("grid_history")
    reg = by_key("regions")
    assert h.height > 0
    assert set(h["key"]) <= set(reg), "every history key must be a regions.csv key"
    pairs = h.select("key", "year")
    assert pairs.is_unique().all(), "(key, year) must be unique"
    year = num(h, "year")
    assert (year == year.round()).all() and year.min() >= 2000 and year.max() <= 2026
    v = num(h, "grid_kgco2e_per_kwh")
    assert v.null_count() == 0 and ((v >= 0) & (v <= 1.5)).all()
    assert set(h["basis"].unique()) <= BASES
    assert h["source"].null_count() == 0 and h["licence"].null_count() == 0
    # sorted by key then (numeric) year
    order = list(zip(h["key"], year.cast(pl.Int64), strict=True))
    assert order == sorted(order)


def test_grid_history_latest_matches_regions():
    """Every region appears, and its newest history year is the regions.csv value."""
    h = load("grid_history").with_columns(
        pl.col("year").cast(pl.Int64), pl.col("grid_kgco2e_per_kwh").cast(pl.Float64)
    )
    latest = h.sort("year").group_by("key").last()
    latest = {r["key"]: r for r in latest.iter_rows(named=True)}
    for k, r in by_key("regions").items():
        assert k in latest, k
        assert latest[k]["year"] == int(r["year"]), k
        assert abs(latest[k]["grid_kgco2e_per_kwh"] - f(r["grid_kgco2e_per_kwh"])) < 1e-9, k


def test_grid_history_series():
    h = load("grid_history")
    rows = {(r["key"], int(r["year"])): r for r in h.iter_rows(named=True)}
    g = lambda k, y: f(rows[(k, y)]["grid_kgco2e_per_kwh"])  # noqa: E731
    # Google: 2019-2024, lifecycle -> direct method break between 2020 and 2021
    for y in range(2019, 2025):
        assert ("gcp:us-central1", y) in rows
    assert rows[("gcp:us-central1", 2020)]["basis"] == "lifecycle;grid-average"
    assert rows[("gcp:us-central1", 2021)]["basis"] == "direct;grid-average"
    # OWID EU export 2000-2020
    fr = [g("FR", y) for y in range(2000, 2021)]
    assert all(v < 0.15 for v in fr)
    assert g("PL", 2000) > 0.8 and g("GB", 2000) > g("GB", 2020)
    # eGRID years, lb/MWh converted to kg/kWh
    camx = [y for (k, y) in rows if k == "US-EGRID-CAMX"]
    assert sorted(camx) == [2007, 2009, 2010, 2012, 2014, 2016, 2018, 2019]
    assert g("US-EGRID-CAMX", 2019) == pytest.approx(478 * 0.45359237 / 1000, abs=1e-4)
    assert g("US-EGRID-CAMX", 2007) > g("US-EGRID-CAMX", 2019)
    # AWS/Azure rows carry only their latest (zone) value
    assert [y for (k, y) in rows if k == "aws:us-east-1"] == [2022]


def test_us_subnational_and_cloud_remap():
    reg = by_key("regions")
    g = lambda k: f(reg[k]["grid_kgco2e_per_kwh"])  # noqa: E731
    assert 0.15 <= g("US-EGRID-CAMX") <= 0.30 and 0.60 <= g("US-EGRID-SRMW") <= 0.90
    assert g("US-EGRID-CAMX") < g("US-EGRID-SRMW")
    assert g("US-EGRID-NYUP") < g("US-EGRID-RMPA")
    assert g("US-BA-BPAT") < g("US-BA-CISO") < g("US-BA-PJM") < g("US-BA-MISO")
    assert 0.03 <= g("US-BA-BPAT") <= 0.08
    for k in ("US-EGRID-CAMX", "US-BA-PJM"):
        assert reg[k]["kind"] == "subnational" and reg[k]["country_iso2"] == "US"
    assert reg["US-EGRID-CAMX"]["year"] == "2019" and reg["US-BA-PJM"]["year"] == "2022"

    # stale eGRID rows get wider bounds than fresher BA rows
    def width(k):
        r = reg[k]
        return (f(r["grid_kgco2e_per_kwh_high"]) - f(r["grid_kgco2e_per_kwh_low"])) / g(k)

    assert width("US-EGRID-SRMW") > width("US-BA-MISO")
    zones = {
        "aws:us-east-1": "US-BA-PJM",
        "aws:us-east-2": "US-BA-PJM",
        "aws:us-west-1": "US-BA-CISO",
        "aws:us-west-2": "US-BA-BPAT",
        "azure:eastus": "US-BA-PJM",
        "azure:centralus": "US-BA-MISO",
        "azure:northcentralus": "US-BA-PJM",
        "azure:southcentralus": "US-BA-ERCO",
        "azure:westus3": "US-BA-AZPS",
        "azure:westcentralus": "US-EGRID-RMPA",
        "azure:westus2": "US-WA",
    }
    for k, z in zones.items():
        assert reg[k]["grid_zone"] == z, k
        assert g(k) == g(z), k
        # cloud bounds contain the zone's bounds (widened for mapping uncertainty)
        assert f(reg[k]["grid_kgco2e_per_kwh_low"]) <= f(reg[z]["grid_kgco2e_per_kwh_low"])
        assert f(reg[k]["grid_kgco2e_per_kwh_high"]) >= f(reg[z]["grid_kgco2e_per_kwh_high"])
    # ...and the documented alternative zone's value
    for k, alt in (("aws:us-west-2", "US-OR"), ("azure:westus2", "US-BA-BPAT")):
        r = reg[k]
        assert f(r["grid_kgco2e_per_kwh_low"]) <= g(alt) <= f(r["grid_kgco2e_per_kwh_high"])
    # GCP keeps Google's own values whatever its informational grid_zone
    assert reg["gcp:us-east4"]["grid_zone"] == "US-BA-PJM"
    assert reg["gcp:us-east4"]["grid_source"].startswith("google-region-carbon-info")
    aliases = {r["alias"]: r["key"] for r in load("aliases").iter_rows(named=True)}
    assert aliases["CAMX"] == "US-EGRID-CAMX" and aliases["CISO"] == "US-BA-CISO"
    assert aliases["PJM"] == "US-BA-PJM" and aliases["SRMW"] == "US-EGRID-SRMW"


# ----------------------------------------------------------------- reproducibility
def shared_dir() -> Path:
    """``shared/reference-data``: skipped where absent, a failure on CI."""
    from conftest import require_shared

    return require_shared("reference-data")


def test_derivation_is_reproducible(tmp_path):
    shared = shared_dir()
    out = tmp_path / "out"
    res = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out), "--shared", str(shared)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert res.returncode == 0, res.stderr
    committed = sorted(p.name for p in DATA.iterdir() if p.suffix == ".csv" or p.name == "VERSION")
    produced = sorted(p.name for p in out.iterdir())
    assert committed == produced
    for name in committed:
        assert (out / name).read_bytes() == (DATA / name).read_bytes(), f"{name} differs"


# ----------------------------------------------------------------- cross-checks
def _rel(a: float, b: float) -> float:
    return (a - b) / b if b else float("inf")


def test_cross_check_report(tmp_path):
    """Compare shipped values with AMBER/RED sources; report, never fail on values."""
    shared = shared_dir()
    reg = by_key("regions")
    lines: list[str] = []

    # 1. Ember yearly (co2.js, AMBER): country values vs ours.
    p = shared / "co2js/data/output/average-intensities.json"
    iso = {
        r["alias"]: r["key"]
        for r in load("aliases").iter_rows(named=True)
        if r["source"] == "iso-3166"
    }
    if p.exists():
        ember = json.loads(p.read_text(encoding="utf-8"))
        outside, big = 0, []
        n = 0
        for iso3, e in ember.items():
            k = iso.get(iso3)
            if not k or k not in reg:
                continue
            n += 1
            v = e["emissions_intensity_gco2_per_kwh"] / 1000.0
            r = reg[k]
            if not f(r["grid_kgco2e_per_kwh_low"]) <= v <= f(r["grid_kgco2e_per_kwh_high"]):
                outside += 1
            d = _rel(f(r["grid_kgco2e_per_kwh"]), v) if v else 0.0
            if abs(d) > 0.25:
                big.append(
                    f"{k}: ours {r['grid_kgco2e_per_kwh']} ({r['year']}) "
                    f"vs Ember {v:.4f} ({e['year']})"
                )
        lines.append(f"[ember] {n} countries compared, {outside} Ember values outside our bounds")
        lines += ["  " + s for s in sorted(big)]

    # 2. Electricity Maps data_centers.json (AGPL, RED): region -> zone mapping.
    p = shared / "electricitymaps-contrib/config/data_centers/data_centers.json"
    if p.exists():
        dc = json.loads(p.read_text(encoding="utf-8"))
        prov_map = {"aws": "aws", "azure": "azure", "gcp": "gcp"}
        em = {}
        for v in dc.values():
            prov = prov_map.get(str(v.get("provider", "")).lower())
            if prov:
                em[f"{prov}:{v['region']}"] = v.get("zoneKey", "")
        agree, disagree, missing = 0, [], []
        for k, r in reg.items():
            if r["kind"] != "cloud":
                continue
            z = em.get(k)
            if z is None:
                missing.append(k)
                continue
            if z.split("-")[0] == r["country_iso2"]:
                agree += 1
            else:
                disagree.append(f"{k}: ours {r['grid_zone']} vs EM {z}")
        lines.append(
            f"[em-mapping] country agrees for {agree}; {len(disagree)} disagree; "
            f"{len(missing)} not in EM file"
        )
        lines += ["  " + s for s in sorted(disagree)]

        # 2b. Electricity Maps yearly 2024 (ODbL, AMBER) for the EM zone of each region.
        py = shared / "co2js/data/output/electricity-maps/yearly_2024.json"
        if py.exists():
            yearly = json.loads(py.read_text(encoding="utf-8"))
            big = []
            n = 0
            for k, z in sorted(em.items()):
                if k not in reg or z not in yearly:
                    continue
                try:
                    v = float(yearly[z]["carbonIntensity"]["value"]) / 1000.0
                except (KeyError, TypeError, ValueError):
                    continue
                n += 1
                r = reg[k]
                if not f(r["grid_kgco2e_per_kwh_low"]) <= v <= f(r["grid_kgco2e_per_kwh_high"]):
                    big.append(
                        f"{k}: ours {r['grid_kgco2e_per_kwh']} "
                        f"[{r['grid_kgco2e_per_kwh_low']}, {r['grid_kgco2e_per_kwh_high']}] "
                        f"vs EM-2024 {z} {v:.4f}"
                    )
            lines.append(
                f"[em-2024] {n} cloud regions compared, {len(big)} EM values outside our bounds"
            )
            lines += ["  " + s for s in big]

    # 3. CCF grid factors (Apache, dated ~2020-21): cloud region intensities.
    for prov in ("aws", "azure", "gcp"):
        p = shared / f"cloud-carbon-coefficients/data/grid-emissions-factors-{prov}.csv"
        if not p.exists():
            continue
        with open(p, newline="", encoding="utf-8") as fh:
            ccf = list(csv.DictReader(fh))
        col = next(c for c in ccf[0] if "CO2e" in c)
        big = []
        for row in ccf:
            k = f"{prov}:{row['Region']}"
            if k in reg and row[col]:
                v = float(row[col]) * 1000.0
                d = _rel(f(reg[k]["grid_kgco2e_per_kwh"]), v) if v else 0.0
                if abs(d) > 0.3:
                    big.append(f"{k}: ours {reg[k]['grid_kgco2e_per_kwh']} vs CCF {v:.4f}")
        lines.append(f"[ccf-{prov}] {len(big)} regions differ by >30%")
        lines += ["  " + s for s in sorted(big)]

    # 4. Electricity Maps yearly (ODbL, AMBER) for the US balancing authorities.
    #    Ours: 2022 generation-based IPCC-lifecycle (dc-rl/EIA-930); EM: consumption-based.
    em_years = {}
    for y in range(2021, 2026):
        py = shared / f"co2js/data/output/electricity-maps/yearly_{y}.json"
        if py.exists():
            em_years[y] = json.loads(py.read_text(encoding="utf-8"))
    if em_years:
        n, outside, detail = 0, [], []
        for k, r in sorted(reg.items()):
            if not k.startswith("US-BA-"):
                continue
            code = k.removeprefix("US-BA-")
            series = []
            for y, yearly in sorted(em_years.items()):
                z = next(
                    (z for z in sorted(yearly) if z.startswith("US-") and z.endswith(f"-{code}")),
                    None,
                )
                if z is None:
                    continue
                try:
                    series.append((y, float(yearly[z]["carbonIntensity"]["value"]) / 1000.0))
                except (KeyError, TypeError, ValueError):
                    continue
            if not series:
                continue
            n += 1
            same = dict(series).get(int(r["year"]))
            inside = same is not None and f(r["grid_kgco2e_per_kwh_low"]) <= same <= f(
                r["grid_kgco2e_per_kwh_high"]
            )
            txt = ", ".join(f"{y} {v:.3f}" for y, v in series)
            line = f"{k}: ours {r['grid_kgco2e_per_kwh']} ({r['year']}) vs EM {txt}"
            detail.append(f"  {line}")
            if not inside:
                outside.append(k)
        lines.append(
            f"[em-ba] {n} US balancing authorities compared; EM same-year value outside our "
            f"bounds for: {', '.join(outside) or 'none'}"
        )
        lines += detail

    # 5. Electricity Maps data_centers.json (RED): US sub-national zone choice.
    p = shared / "electricitymaps-contrib/config/data_centers/data_centers.json"
    if p.exists():
        dc = json.loads(p.read_text(encoding="utf-8"))
        em = {
            f"{str(v.get('provider', '')).lower()}:{v.get('region', '')}": v.get("zoneKey", "")
            for v in dc.values()
        }
        agree, differ = 0, []
        for k, r in sorted(reg.items()):
            if r["kind"] != "cloud" or r["country_iso2"] != "US" or k not in em:
                continue
            ours = r["grid_zone"].rsplit("-", 1)[-1]
            if em[k].rsplit("-", 1)[-1] == ours:
                agree += 1
            else:
                differ.append(f"{k}: ours {r['grid_zone']} vs EM {em[k]}")
        lines.append(f"[em-us-zones] BA agrees for {agree}; {len(differ)} differ")
        lines += ["  " + s for s in differ]

    # 6. Google's first-party value for a GCP region in the same grid zone (GREEN).
    gcp_by_zone: dict[str, list[str]] = {}
    for k, r in reg.items():
        if r["provider"] == "gcp":
            gcp_by_zone.setdefault(r["grid_zone"], []).append(k)
    for k, r in sorted(reg.items()):
        if r["kind"] != "cloud" or r["provider"] == "gcp":
            continue
        for gk in sorted(gcp_by_zone.get(r["grid_zone"], []))[:1]:
            if not r["grid_zone"].startswith("US-"):
                continue
            gv = f(reg[gk]["grid_kgco2e_per_kwh"])
            lines.append(
                f"[google-same-zone] {k} ({r['grid_zone']}): ours {r['grid_kgco2e_per_kwh']} "
                f"({r['basis']}, {r['year']}) vs {gk} {gv:.4f} (direct, {reg[gk]['year']})"
            )

    # 7. CPU cores and TDP vs Boavizta's TechPowerUp-derived table (AGPL, RED).
    p = shared / "boaviztapi/boaviztapi/data/crowdsourcing/cpu_specs.csv"
    if p.exists():
        with open(p, newline="", encoding="utf-8") as fh:
            boa = {r["name"].strip().lower(): r for r in csv.DictReader(fh)}
        n, differ = 0, []
        for k, r in sorted(by_key("cpus").items()):
            b = boa.get(f"{r['vendor']} {r['model']}".lower())
            if not r["vendor"] or b is None:
                continue
            n += 1
            for ours, theirs, what in (
                (r["cores"], b["cores"], "cores"),
                (r["tdp_w"], b["tdp"], "W"),
            ):
                if theirs and abs(f(ours) - f(theirs)) > 1e-9:
                    differ.append(f"{k}: ours {ours} {what} vs Boavizta {theirs}")
        lines.append(f"[boavizta-cpus] {n} CPU families compared; {len(differ)} differences")
        lines += ["  " + s for s in differ]

    # 8. Accelerator TDPs vs Green Algorithms TDP_gpu.csv and mlco2 gpus.csv (GREEN, unused).
    acc = by_key("accelerators")
    for rel, name_col, tdp_col, skip in (
        ("greenalgorithms/data/v3.0/TDP_gpu.csv", "model", "TDP", 1),
        ("mlco2-impact/data/gpus.csv", "name", "tdp_watts", 0),
    ):
        p = shared / rel
        if not p.exists():
            continue
        with open(p, newline="", encoding="utf-8") as fh:
            other = {
                r[name_col].strip(): r[tdp_col]
                for r in csv.DictReader(fh.read().splitlines()[skip:])
            }
        aliases = {r["alias"].lower(): r["key"] for r in load("aliases").iter_rows(named=True)}
        found = []
        for name, w in sorted(other.items()):
            cands = (name, name.removeprefix("NVIDIA "), name.replace("NVIDIA ", "NVIDIA Tesla "))
            k = next((aliases[c.lower()] for c in cands if c.lower() in aliases), None)
            if k in acc and w and abs(f(w) - f(acc[k]["tdp_w"])) > 1e-9:
                found.append(f"{name} -> {k}: ours {acc[k]['tdp_w']} W vs {w} W")
        lines.append(f"[{rel.split('/')[0]}-gpus] {len(found)} TDPs differ from ours")
        lines += ["  " + s for s in found]

    report = tmp_path / "cross_check_report.txt"
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    assert report.exists()
