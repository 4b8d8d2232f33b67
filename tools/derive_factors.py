#!/usr/bin/env python3
"""Derive fleetcarbon's bundled factor tables.

Reads GREEN-licensed reference files from the shared research folder
(``<repo>/../shared/reference-data`` or ``$FLEETCARBON_SHARED``/``--shared``)
plus the hand-curated, cited figures in ``data/figures/*.csv`` and writes the
tables in ``python/fleetcarbon/data`` (or ``--out``).

Only the Python standard library is used.  Output is deterministic: rows are
sorted by key, floats are rounded to a fixed precision and written without
trailing zeros, line endings are ``\\n``.

Run from the repository root::

    python tools/derive_factors.py [--out DIR] [--shared DIR]
    python tools/derive_factors.py --crosscheck-docs   # rewrite docs/factors.md's cross-check table
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shared_args import parse_shared_args

DATASET_VERSION = "2026.12.1"

REPO = Path(__file__).resolve().parent.parent
FIGURES = REPO / "data" / "figures"
DEFAULT_OUT = REPO / "python" / "fleetcarbon" / "data"

# Most restrictive first.  "cited-fact" = a published number (datasheet, paper,
# first-party page) transcribed by hand; "fleetcarbon" = our own stated rule.
LICENCE_RANK = ["CC-BY-4.0", "Apache-2.0", "BSD-3-Clause", "MIT", "cited-fact", "fleetcarbon"]

# Shared files used for shipped values (all GREEN in SOURCES.md).
F_OWID = "codecarbon/codecarbon/data/private_infra/global_energy_mix.json"
F_GA_CI = "greenalgorithms/data/v3.0/CI_aggregated.csv"
#: Green Algorithms location codes that differ from ISO 3166-2.
GA_TO_ISO_3166_2 = {"CA-MT": "CA-MB"}
F_GA_CPU = "greenalgorithms/data/v3.0/TDP_cpu.csv"
F_CC_CPU = "codecarbon/codecarbon/data/hardware/cpu_power.csv"
F_EPOCH = "epoch-ml-hardware/data/raw/gpu_prices/ml_hardware.csv"
F_GOOGLE = "google-region-carbon-info/data/yearly"
F_ACT_EPA = "act/act/models/logic/epa.yaml"
F_ACT_GPA95 = "act/act/models/logic/gpa_95.yaml"
F_ACT_GPA99 = "act/act/models/logic/gpa_99.yaml"
F_ACT_MPA = "act/act/models/logic/materials.yaml"
F_ACT_IMEC = "act/act/models/logic/imec-netzero-cpa.yaml"
F_ACT_CI = "act/act/models/carbon_intensity/location_2023.yaml"
F_OWID_EU = "codecarbon/codecarbon/data/private_infra/2020/eu-carbon-intensity-electricity.csv"
F_EGRID_ANNUAL = (
    "nrel-openstudio-emissions/lib/measures/add_ems_emissions_reporting/resources/"
    "historical_annual_co2e.csv"
)
F_EGRID_NAMES = "usepa-egrid/data/static_tables/egrid_nerc_subregions.csv"
F_BA_DIR = "hpe-dc-rl/data/CarbonIntensity"
# codecarbon 3.3.2's packaged data files (SOURCES.md section 20; MIT).
F_CC3_US = "codecarbon-3.3.2/usa_emissions.json"
F_CC3_CA = "codecarbon-3.3.2/canada_energy_mix.json"
F_CC3_CN = "codecarbon-3.3.2/china_provincial_emissions.json"
F_CC3_NORDIC = "codecarbon-3.3.2/nordic_emissions.json"
F_CC3_PER_SOURCE = "codecarbon-3.3.2/carbon_intensity_per_source.json"

#: ISO 3166-2 code and name of each Canadian province and territory, by the name
#: codecarbon's mix file uses.
CA_PROVINCES = {
    "alberta": ("CA-AB", "Alberta"),
    "british columbia": ("CA-BC", "British Columbia"),
    "manitoba": ("CA-MB", "Manitoba"),
    "new brunswick": ("CA-NB", "New Brunswick"),
    "newfoundland and labrador": ("CA-NL", "Newfoundland and Labrador"),
    "northwest territories": ("CA-NT", "Northwest Territories"),
    "nova scotia": ("CA-NS", "Nova Scotia"),
    "nunavut": ("CA-NU", "Nunavut"),
    "ontario": ("CA-ON", "Ontario"),
    "prince edward island": ("CA-PE", "Prince Edward Island"),
    "quebec": ("CA-QC", "Quebec"),
    "saskatchewan": ("CA-SK", "Saskatchewan"),
    "yukon": ("CA-YT", "Yukon"),
}
#: Generation source in codecarbon's Canadian mix -> (fuel in data/figures/lifecycle_factors.csv,
#: key in codecarbon's carbon_intensity_per_source.json).
CA_MIX_FUELS = {
    "coal": ("coal", "coal"),
    "naturalGas": ("gas", "natural_gas"),
    "petroleum": ("oil", "petroleum"),
    "biomass": ("biomass", "biomass"),
    "solar": ("solar", "solar"),
    "wind": ("wind", "wind"),
    "hydro": ("hydro", "hydroelectricity"),
    "nuclear": ("nuclear", "nuclear"),
    "tidal": ("tidal", None),
    "other": ("other", None),
}
#: The oil figure of the balancing-authority rows (dc-rl's, beside the IPCC AR5 medians).
OIL_DCRL_G_PER_KWH = 650.0
#: Nordic bidding zones shipped from codecarbon's nordic_emissions.json (FI: see docs).
NORDIC_ZONE = re.compile(r"(SE[1-4]|NO[1-5])")
#: Emission-intensity share above which a mix row is not called lifecycle (see docs).
LIFECYCLE_SHARE_MIN = 0.5

LB_PER_MWH_TO_KG_PER_KWH = 0.45359237 / 1000.0
# Hourly generation columns of the dc-rl balancing-authority files (MWh).
BA_FUELS = ["WND", "SUN", "WAT", "OIL", "NG", "COL", "NUC", "OTH"]

COLUMNS = {
    "accelerators": [
        "key",
        "vendor",
        "model",
        "form_factor",
        "memory_gb",
        "memory_type",
        "release_year",
        "process_nm",
        "die_area_mm2",
        "tdp_w",
        "tdp_w_low",
        "tdp_w_high",
        "tdp_source",
        "idle_w",
        "idle_source",
        "host_power_w",
        "host_power_w_low",
        "host_power_w_high",
        "host_power_source",
        "embodied_kgco2e",
        "embodied_kgco2e_low",
        "embodied_kgco2e_high",
        "embodied_source",
        "embodied_method",
        "year",
        "licence",
        "note",
    ],
    "cpus": [
        "key",
        "vendor",
        "model",
        "cores",
        "release_year",
        "tdp_w",
        "core_power_w",
        "core_power_w_low",
        "core_power_w_high",
        "core_power_source",
        "core_embodied_kgco2e",
        "core_embodied_kgco2e_low",
        "core_embodied_kgco2e_high",
        "core_embodied_source",
        "year",
        "licence",
        "note",
    ],
    "regions": [
        "key",
        "kind",
        "name",
        "country_iso2",
        "provider",
        "grid_zone",
        "grid_kgco2e_per_kwh",
        "grid_kgco2e_per_kwh_low",
        "grid_kgco2e_per_kwh_high",
        "grid_source",
        "year",
        "basis",
        "market_kgco2e_per_kwh",
        "market_source",
        "default_datacenter",
        "licence",
        "note",
    ],
    "datacenters": [
        "key",
        "name",
        "operator",
        "region",
        "pue",
        "pue_low",
        "pue_high",
        "pue_source",
        "facility_embodied_fraction",
        "facility_embodied_fraction_low",
        "facility_embodied_fraction_high",
        "facility_embodied_source",
        "year",
        "licence",
        "note",
    ],
    "defaults": [
        "parameter",
        "value",
        "low",
        "high",
        "unit",
        "source",
        "year",
        "licence",
        "note",
    ],
    "aliases": ["alias", "table", "key", "source"],
    "grid_history": ["key", "year", "grid_kgco2e_per_kwh", "source", "basis", "licence", "note"],
    "sources": ["source_id", "title", "publisher", "url", "year", "licence"],
}

GRID_CAP = 1.5

PROVIDER_DC = {"aws": "aws", "azure": "azure", "gcp": "google"}
# Source ids that only document a cloud region's location (not an intensity).
CLOUD_LOCATION_SOURCES = {"aws-regions", "azure-regions", "gcp-regions"}


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
def fnum(x: float | None, nd: int) -> str:
    """Fixed-precision float without trailing zeros ('' for None)."""
    if x is None:
        return ""
    if isinstance(x, float) and math.isnan(x):
        return ""
    s = f"{round(float(x), nd):.{nd}f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    if s in ("-0", ""):
        s = "0"
    return s


def opt_float(s: str | None) -> float | None:
    s = (s or "").strip()
    return float(s) if s else None


def read_csv(path: Path, skip: int = 0) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    return list(csv.DictReader(lines[skip:]))


def read_yaml_kv(path: Path) -> dict[str, float]:
    """Parse ACT's flat 'key : value unit' YAML files."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or ":" not in line:
            continue
        k, v = line.split(":", 1)
        m = re.match(r"\s*([-0-9.eE]+)", v)
        if m:
            out[k.strip().strip('"')] = float(m.group(1))
    return out


def ids(*parts: str) -> str:
    """Join ';'-separated source ids, dedupe, keep first-seen order."""
    seen: list[str] = []
    for p in parts:
        for s in (p or "").split(";"):
            s = s.strip()
            if s and s not in seen:
                seen.append(s)
    return ";".join(seen)


class Licences:
    def __init__(self, sources: list[dict[str, str]]):
        self.by_id = {r["source_id"]: r["licence"] for r in sources}

    def most_restrictive(self, *cells: str) -> str:
        found = set()
        for cell in cells:
            for sid in (cell or "").split(";"):
                sid = sid.strip()
                if not sid:
                    continue
                if sid not in self.by_id:
                    raise SystemExit(f"unknown source id: {sid!r}")
                found.add(self.by_id[sid])
        for lic in LICENCE_RANK:
            if lic in found:
                return lic
        raise SystemExit(f"no licence for {cells}")


def write_table(out: Path, name: str, rows: list[dict[str, str]]) -> None:
    cols = COLUMNS[name]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        extra = set(r) - set(cols)
        if extra:
            raise SystemExit(f"{name}: unexpected columns {sorted(extra)}")
        w.writerow([r.get(c, "") for c in cols])
    (out / f"{name}.csv").write_text(buf.getvalue(), encoding="utf-8", newline="")


# --------------------------------------------------------------------------
# embodied model (ACT-derived die CPA)
# --------------------------------------------------------------------------
class DieModel:
    def __init__(self, shared: Path, consts: dict[str, dict[str, str]]):
        self.epa = read_yaml_kv(shared / F_ACT_EPA)
        self.gpa95 = read_yaml_kv(shared / F_ACT_GPA95)
        self.gpa99 = read_yaml_kv(shared / F_ACT_GPA99)
        self.mpa = read_yaml_kv(shared / F_ACT_MPA)
        self.imec = read_yaml_kv(shared / F_ACT_IMEC)
        ci = read_yaml_kv(shared / F_ACT_CI)
        self.fab_ci = ci[consts["fab_location"]["value"]] / 1000.0  # kg/kWh
        self.yield_ = float(consts["fab_yield"]["value"])
        self.high_mult = float(consts["die_cpa_high_multiplier"]["value"])
        self.proxy = dict(
            (int(a), int(b))
            for a, b in (p.split(":") for p in consts["node_proxy"]["value"].split(";"))
        )

    def node(self, nm: float) -> str:
        n = int(nm)
        n = self.proxy.get(n, n)
        key = f"{n}nm"
        if key not in self.epa:
            raise SystemExit(f"no ACT data for node {nm}")
        return key

    def cpa(self, nm: float) -> tuple[float, float, float]:
        """kgCO2e per cm2 of die: (low, central, high)."""
        k = self.node(nm)
        gpa = (self.gpa95[k] + self.gpa99[k]) / 2.0 / 1000.0  # ACT default "97"
        central = (self.fab_ci * self.epa[k] + gpa + self.mpa[k] / 1000.0) / self.yield_
        # imec has no 8nm row: use the next larger node it has (10nm).
        ik = k if k in self.imec else {"8nm": "10nm"}[k]
        low = min(self.imec[ik], central)
        return low, central, central * self.high_mult


# --------------------------------------------------------------------------
# accelerators
# --------------------------------------------------------------------------
def load_epoch(shared: Path) -> dict[str, dict[str, str]]:
    rows = read_csv(shared / F_EPOCH)
    return {r["Hardware name"].strip(): r for r in rows}


def load_crosscheck(table: str) -> list[dict[str, str]]:
    """data/figures/crosscheck.csv rows of one table: peer values we compare with, never ship."""
    rows = [r for r in read_csv(FIGURES / "crosscheck.csv") if r["table"] == table]
    for r in rows:
        float(r["value"])  # every peer value is a number
    return rows


def fmt_kg(x: float) -> str:
    """1287.5 -> '1,287.5'; 950.0 -> '950'."""
    s = f"{x:,.1f}"
    return s[:-2] if s.endswith(".0") else s


def widen_to_peers(emb: list[float], peers: list[dict[str, str]]) -> str:
    """Widen [low, value, high] in place to contain every peer's point estimate.

    Returns the note naming the peers that set a bound ('' when none did). Bounds move to
    the next whole kg, so that the table's rounded integers still contain the peer value.
    """
    notes = []
    above = [p for p in peers if float(p["value"]) > emb[2]]
    below = [p for p in peers if float(p["value"]) < emb[0]]
    if above:
        hi = float(math.ceil(max(float(p["value"]) for p in above)))
        named = ", ".join(f"{p['peer']} ({fmt_kg(float(p['value']))} kg)" for p in above)
        notes.append(f"high {fnum(emb[2], 0)} -> {fnum(hi, 0)} kg for {named}")
        emb[2] = hi
    if below:
        lo = float(math.floor(min(float(p["value"]) for p in below)))
        named = ", ".join(f"{p['peer']} ({fmt_kg(float(p['value']))} kg)" for p in below)
        notes.append(f"low {fnum(emb[0], 0)} -> {fnum(lo, 0)} kg for {named}")
        emb[0] = lo
    if not notes:
        return ""
    return (
        "Embodied bounds widened to contain peer estimates per GPU incl. server share "
        "(data/figures/crosscheck.csv; cross-checks, not shipped values): " + "; ".join(notes) + "."
    )


def build_accelerators(shared, consts, lic, notes_out):
    epoch = load_epoch(shared)
    die = DieModel(shared, consts)
    classes = {r["server_class"]: r for r in read_csv(FIGURES / "server_classes.csv")}
    specs = read_csv(FIGURES / "accelerator_specs.csv")

    def c(name, field="value"):
        return float(consts[name][field])

    mem_kg = (
        c("device_memory_kg_per_gb", "low"),
        c("device_memory_kg_per_gb"),
        c("device_memory_kg_per_gb", "high"),
    )
    board_base = (c("board_kg_base", "low"), c("board_kg_base"), c("board_kg_base", "high"))
    board_w = (c("board_kg_per_w", "low"), c("board_kg_per_w"), c("board_kg_per_w", "high"))
    default_node = c("default_node_nm")
    default_die = c("default_die_area_mm2")
    peers: dict[str, list[dict[str, str]]] = {}
    for p in load_crosscheck("accelerators"):
        for k in p["keys"].split(";"):
            peers.setdefault(k.strip(), []).append(p)
    unknown = sorted(set(peers) - {s["key"] for s in specs})
    if unknown:
        raise SystemExit(f"crosscheck.csv: unknown accelerator keys {unknown}")

    out = []
    for s in specs:
        key = s["key"]
        e = epoch.get(s["epoch_name"].strip()) if s["epoch_name"].strip() else None
        if s["epoch_name"].strip() and e is None:
            raise SystemExit(f"{key}: Epoch row {s['epoch_name']!r} not found")
        notes = [s["note"]] if s["note"] else []

        def pick(cur_field, epoch_field, scale=1.0, label=None, s=s, e=e, notes=notes):
            cur = opt_float(s[cur_field])
            ev = opt_float(e[epoch_field]) * scale if e and e.get(epoch_field, "").strip() else None
            if cur is not None and ev is not None and abs(cur - ev) > 1e-9:
                notes.append(f"{label or cur_field}: {fnum(cur, 1)} overrides Epoch {fnum(ev, 1)}.")
            # second item: the shipped value agrees with Epoch (cite Epoch)
            agrees = ev is not None and (cur is None or abs(cur - ev) <= 1e-9)
            return (cur if cur is not None else ev), agrees

        mem, _ = pick("memory_gb", "Memory size per board (Byte)", 1e-9)
        proc, _ = pick("process_nm", "Process size (nm)", label="process_nm")
        dies, _ = pick("die_area_mm2", "Die Size (mm^2)", label="die_area_mm2")
        tdp, tdp_ep = pick("tdp_w", "TDP (W)", label="tdp_w")
        ry = opt_float(s["release_year"])
        if ry is None and e and e["Release date"]:
            ry = float(e["Release date"][:4])
        if tdp is None:
            raise SystemExit(f"{key}: no TDP")
        tdp_lo = opt_float(s["tdp_w_low"]) or tdp
        tdp_hi = opt_float(s["tdp_w_high"]) or tdp
        tdp_src = ids("epoch-ml-hardware" if tdp_ep else "", s["tdp_source"])
        spec_src = ids("epoch-ml-hardware" if e else "", s["spec_source"], s["die_area_source"])

        # ---- host power share
        cl = classes[s["server_class"]]
        hp = [
            float(cl[f"host_power_fraction{x}"]) * t
            for x, t in (("_low", tdp_lo), ("", tdp), ("_high", tdp_hi))
        ]

        # ---- embodied: card + server share
        area_mm2 = dies if dies is not None else opt_float(s["die_area_mm2_assumed"])
        area_note = ""
        if dies is None:
            if area_mm2 is None:
                area_mm2 = default_die
                area_note = f"die area unpublished, {fnum(default_die, 0)} mm2 assumed"
            else:
                area_note = f"die area unpublished, {fnum(area_mm2, 0)} mm2 assumed"
        elif opt_float(s["die_area_mm2_assumed"]) is not None:
            area_mm2 = opt_float(s["die_area_mm2_assumed"])
            area_note = f"{fnum(area_mm2, 0)} mm2 total logic silicon assumed"
        node = proc if proc is not None else default_node
        cpa = die.cpa(node)
        die_kg = [area_mm2 / 100.0 * x for x in cpa]
        m_kg = [(mem or 0.0) * x for x in mem_kg]
        b_kg = [board_base[i] + board_w[i] * (tdp_lo, tdp, tdp_hi)[i] for i in range(3)]
        n_host = float(cl["accelerators_per_host"])
        srv = [float(cl[f"host_embodied_kgco2e{x}"]) / n_host for x in ("_low", "", "_high")]
        emb = [die_kg[i] + m_kg[i] + b_kg[i] + srv[i] for i in range(3)]
        card = die_kg[1] + m_kg[1] + b_kg[1]
        method = (
            f"card = die {fnum(area_mm2, 0)} mm2 x ACT CPA({die.node(node)}, Taiwan fab, "
            f"GPA97, yield {fnum(die.yield_, 3)}) {fnum(cpa[1], 2)} kg/cm2"
            f" [{fnum(die_kg[1], 1)} kg] + {fnum(mem or 0, 0)} GB x "
            f"{fnum(mem_kg[1], 3)} kg/GB [{fnum(m_kg[1], 1)} kg] + board "
            f"{fnum(board_base[1], 0)} + {fnum(board_w[1], 2)} kg/W x TDP "
            f"[{fnum(b_kg[1], 1)} kg] = {fnum(card, 0)} kg; server share: "
            f"{s['server_class']} host {fnum(float(cl['host_embodied_kgco2e']), 0)} kg / "
            f"{fnum(n_host, 0)} = {fnum(srv[1], 0)} kg. low/high: component-wise "
            f"(imec CPA / {fnum(die.high_mult, 2)}x ACT; memory "
            f"{fnum(mem_kg[0], 3)}-{fnum(mem_kg[2], 2)} kg/GB; board 0.5x-2x; host "
            f"{fnum(float(cl['host_embodied_kgco2e_low']), 0)}-"
            f"{fnum(float(cl['host_embodied_kgco2e_high']), 0)} kg) summed"
        )
        if area_note:
            method += f"; {area_note}"
        if proc is None:
            method += f"; node unpublished, {fnum(default_node, 0)} nm assumed"
        emb_src = ids("act", "llmcarbon", "nvidia-hgx-h100-pcf", cl["embodied_source"])
        widen_note = widen_to_peers(emb, peers.get(key, []))
        if widen_note:
            method += "; then widened to contain cross-check estimates (see note)"
            emb_src = ids(emb_src, "fleetcarbon-judgement")

        idle = opt_float(s["idle_w"])
        row = {
            "key": key,
            "vendor": s["vendor"],
            "model": s["model"],
            "form_factor": s["form_factor"],
            "memory_gb": fnum(mem, 1),
            "memory_type": s["memory_type"],
            "release_year": fnum(ry, 0),
            "process_nm": fnum(proc, 0),
            "die_area_mm2": fnum(dies, 0),
            "tdp_w": fnum(tdp, 1),
            "tdp_w_low": fnum(tdp_lo, 1),
            "tdp_w_high": fnum(tdp_hi, 1),
            "tdp_source": tdp_src,
            "idle_w": fnum(idle, 1),
            "idle_source": s["idle_source"] if idle is not None else "",
            "host_power_w": fnum(hp[1], 1),
            "host_power_w_low": fnum(hp[0], 1),
            "host_power_w_high": fnum(hp[2], 1),
            "host_power_source": cl["power_source"],
            "embodied_kgco2e": fnum(emb[1], 0),
            "embodied_kgco2e_low": fnum(emb[0], 0),
            "embodied_kgco2e_high": fnum(emb[2], 0),
            "embodied_source": emb_src,
            "embodied_method": method,
            "year": "2025",
        }
        hp_note = (
            f"host_power = {cl['host_power_fraction']} x TDP "
            f"[{cl['host_power_fraction_low']}-{cl['host_power_fraction_high']}] "
            f"({s['server_class']} class)."
        )
        if idle is not None:
            hp_note += " idle_w: CCF min watts (low confidence)."
        row["note"] = " ".join([*notes, hp_note, *([widen_note] if widen_note else [])])
        row["licence"] = lic.most_restrictive(
            tdp_src, row["idle_source"], row["host_power_source"], emb_src, spec_src
        )
        out.append(row)
    out.sort(key=lambda r: r["key"])
    return out


# --------------------------------------------------------------------------
# cpus
# --------------------------------------------------------------------------
def build_cpus(shared, consts, lic):
    cc = {}
    for r in read_csv(shared / F_CC_CPU):
        try:
            cc[r["Name"].strip()] = float(r["TDP"])
        except (TypeError, ValueError):
            continue  # a few malformed upstream cells (e.g. '27.29.5')
    ga_rows = read_csv(shared / F_GA_CPU, skip=1)
    ga = {r["model"].strip(): r for r in ga_rows}
    lo_m = float(consts["cpu_core_power_low_multiplier"]["value"])
    hi_m = float(consts["cpu_core_power_high_multiplier"]["value"])
    srv = consts["cpu_server_kgco2e"]
    srv_v = [float(srv["low"]), float(srv["value"]), float(srv["high"])]
    sockets = float(consts["cpu_sockets_per_server"]["value"])
    emb_src = ids(srv["source"])
    out = []
    basis = []  # the families the generic row's values are taken over
    for s in read_csv(FIGURES / "cpu_specs.csv"):
        name = s["codecarbon_name"].strip()
        cores = float(s["cores"])
        note = s["note"]
        g = ga.get(s["ga_name"].strip()) if s["ga_name"].strip() else None
        if name:
            if name not in cc:
                raise SystemExit(f"{s['key']}: {name!r} not in codecarbon cpu_power.csv")
            tdp = cc[name]
            src = "codecarbon-cpu-power"
            if g is not None:
                src = ids(src, "greenalgorithms-v3")
                if abs(float(g["TDP"]) - tdp) > 1e-9 or abs(float(g["n_cores"]) - cores) > 1e-9:
                    note += f" Green Algorithms: {g['TDP']} W / {g['n_cores']} cores."
        elif g is not None:
            # Not in codecarbon's table: Green Algorithms gives the TDP (and the cores).
            tdp = float(g["TDP"])
            src = "greenalgorithms-v3"
            if abs(float(g["n_cores"]) - cores) > 1e-9:
                raise SystemExit(f"{s['key']}: cores {cores} differ from Green Algorithms")
        elif s["tdp_w"].strip() and s["tdp_source"].strip():
            # Neither GREEN table has the part: a cited datasheet TDP.
            tdp = float(s["tdp_w"])
            src = s["tdp_source"].strip()
        else:
            raise SystemExit(f"{s['key']}: no TDP (codecarbon, Green Algorithms or tdp_w)")
        cp = tdp / cores
        ce = [v / (sockets * cores) for v in srv_v]
        row = {
            "key": s["key"],
            "vendor": s["vendor"],
            "model": s["model"],
            "cores": fnum(cores, 0),
            "release_year": s["release_year"],
            "tdp_w": fnum(tdp, 1),
            "core_power_w": fnum(cp, 3),
            "core_power_w_low": fnum(cp * lo_m, 3),
            "core_power_w_high": fnum(cp * hi_m, 3),
            "core_power_source": ids(src, s["cores_source"]),
            "core_embodied_kgco2e": fnum(ce[1], 2),
            "core_embodied_kgco2e_low": fnum(ce[0], 2),
            "core_embodied_kgco2e_high": fnum(ce[2], 2),
            "core_embodied_source": emb_src,
            "year": s["release_year"],
            "note": (
                f"{note} core power = TDP/cores (bounds {lo_m}x-{hi_m}x); core embodied = "
                f"2-socket server excl. DRAM {fnum(srv_v[1], 0)} kg "
                f"[{fnum(srv_v[0], 0)}-{fnum(srv_v[2], 0)}] / {fnum(sockets * cores, 0)} cores."
            ).strip(),
        }
        row["licence"] = lic.most_restrictive(row["core_power_source"], emb_src)
        out.append(row)
        if s["generic_basis"].strip() == "1":
            basis.append(row)

    # generic: median over GA's server-class CPUs (Xeon/EPYC rows) for power,
    # median over our families for cores (embodied).
    server = [
        float(r["TDP_per_core"]) if r["TDP_per_core"] else float(r["TDP"]) / float(r["n_cores"])
        for r in ga_rows
        if re.search(r"xeon|epyc|amd \d{4}", r["model"], re.I)
        and r["TDP"]
        and r["n_cores"]
        and "phi" not in r["model"].lower()
    ]
    ga_any = float(ga["Any"]["TDP_per_core"])
    med = statistics.median(server)
    # The generic row stands for the families marked generic_basis (the 29 server families
    # of 2016-2023 it was derived from), so that adding older or newer families to the
    # table leaves its values unchanged.
    fam_cp = [float(r["core_power_w"]) for r in basis]
    fam_ce = [float(r["core_embodied_kgco2e"]) for r in basis]
    # The earliest family's year: the row stands for hardware from then on, so jobs of
    # 2015 and later fall in its range (the hardware-date warning reads this).
    basis_year = min(int(r["release_year"]) for r in basis)
    span = f"{min(r['release_year'] for r in basis)}-{max(r['release_year'] for r in basis)}"
    gen = {
        "key": "generic",
        "vendor": "",
        "model": "Generic server CPU core",
        "cores": "",
        "tdp_w": "",
        "core_power_w": fnum(med, 3),
        "core_power_w_low": fnum(min(min(fam_cp) * lo_m, med), 3),
        "core_power_w_high": fnum(max(ga_any, med), 3),
        "core_power_source": "greenalgorithms-v3",
        "core_embodied_kgco2e": fnum(statistics.median(fam_ce), 2),
        "core_embodied_kgco2e_low": fnum(
            min(float(r["core_embodied_kgco2e_low"]) for r in basis), 2
        ),
        "core_embodied_kgco2e_high": fnum(
            max(float(r["core_embodied_kgco2e_high"]) for r in basis), 2
        ),
        "core_embodied_source": emb_src,
        "release_year": str(basis_year),
        "year": "2025",
        "note": (
            f"core_power = median TDP/core of the {len(server)} Xeon/EPYC rows in Green Algorithms "
            f"TDP_cpu.csv; high = Green Algorithms' 'Any' default ({fnum(ga_any, 1)} W); low = "
            f"lowest family low bound. core_embodied = median over the cpus.csv families "
            f"(2-socket server / cores); low/high = extreme family bounds."
            f" The families are the {len(basis)} server families of {span} marked generic_basis "
            f"in data/figures/cpu_specs.csv; release_year {basis_year} is the earliest of "
            f"them, the first year these values stand for."
        ),
    }
    gen["licence"] = lic.most_restrictive(gen["core_power_source"], emb_src)
    out.append(gen)
    out.sort(key=lambda r: r["key"])
    return out


# --------------------------------------------------------------------------
# regions
# --------------------------------------------------------------------------
def band(v, rel, absb, hi_mult=1.0):
    half_lo = max(v * rel, absb)
    half_hi = max(v * rel, absb)
    # 1.5 kg/kWh caps the high bound: no national grid exceeds ~1.3 even on a
    # lifecycle basis (TKM 1.31 is the highest OWID value).
    return max(0.0, v - half_lo), min(GRID_CAP, (v + half_hi) * hi_mult)


def load_google(shared: Path):
    """{region: (year, g/kWh, location)} for each year file; latest wins."""
    d = shared / F_GOOGLE
    series: dict[str, dict[int, float]] = {}
    locs: dict[str, str] = {}
    for f in sorted(d.glob("*.csv")):
        year = int(f.stem)
        rows = read_csv(f)
        col = next(c for c in rows[0] if "intensity" in c.lower())
        for r in rows:
            reg = r["Google Cloud Region"].strip()
            series.setdefault(reg, {})[year] = float(r[col])
            locs[reg] = r["Location"].strip()
    return series, locs


def load_egrid(shared: Path):
    """eGRID subregions: ({code: name}, {code: {year: (kg/kWh, lb/MWh)}})."""
    names = {r["SUBRGN"].strip(): r["SRNAME"].strip() for r in read_csv(shared / F_EGRID_NAMES)}
    series: dict[str, dict[int, tuple[float, float]]] = {}
    for r in read_csv(shared / F_EGRID_ANNUAL):
        year = int(r["Year"])
        for code, cell in r.items():
            if code == "Year" or not (cell or "").strip():
                continue
            lb = float(cell)
            series.setdefault(code.strip(), {})[year] = (lb * LB_PER_MWH_TO_KG_PER_KWH, lb)
    unknown = sorted(set(series) - set(names))
    if unknown:
        raise SystemExit(f"eGRID subregions without a name: {unknown}")
    # Unit guard: the file is undocumented; lb/MWh gives CAMX ~0.2 and SRMW ~0.75 kg/kWh
    # in 2019 (eGRID2019 magnitudes). kg/MWh would give 0.48 / 1.68.
    camx, srmw = series["CAMX"][2019][0], series["SRMW"][2019][0]
    if not (0.15 <= camx <= 0.30 and 0.60 <= srmw <= 0.90):
        raise SystemExit(f"eGRID units look wrong: CAMX {camx:.3f}, SRMW {srmw:.3f} kg/kWh")
    if any(not 0.0 <= v <= 1.2 for ser in series.values() for v, _ in ser.values()):
        raise SystemExit("eGRID value outside 0-1.2 kg/kWh")
    return names, series


def load_ba(shared: Path, ba_rows: list[dict[str, str]]):
    """Annual 2022 intensity per balancing authority from dc-rl's hourly EIA-930 files.

    Returns {code: (generation-weighted mean kg/kWh, simple hourly mean kg/kWh,
    hours used, hours skipped, year)}. Hours with a blank ``avg_CI`` or blank
    generation cell, or zero total generation, are skipped.
    """
    out = {}
    for b in ba_rows:
        rows = read_csv(shared / F_BA_DIR / b["file"])
        years = {r["timestamp"][:4] for r in rows}
        if len(years) != 1:
            raise SystemExit(f"{b['file']}: expected one calendar year, got {sorted(years)}")
        num = den = simple = 0.0
        used = skipped = 0
        for r in rows:
            cells = [r[c].strip() for c in BA_FUELS]
            ci = r["avg_CI"].strip()
            gen = sum(float(c) for c in cells) if all(cells) else 0.0
            if not ci or not all(cells) or gen <= 0:
                skipped += 1
                continue
            v = float(ci)
            num += v * gen
            den += gen
            simple += v
            used += 1
        if used < 8000:
            raise SystemExit(f"{b['file']}: only {used} usable hours")
        out[b["code"]] = (
            num / den / 1000.0,
            simple / used / 1000.0,
            used,
            skipped,
            int(years.pop()),
        )
    return out


def subnational_row(key, name, country, v, lo, hi, src, year, basis, note):
    """A `regions.csv` row of kind subnational (no market factor, generic datacenter)."""
    return {
        "key": key,
        "kind": "subnational",
        "name": name,
        "country_iso2": country,
        "provider": "",
        "grid_zone": key,
        "grid_kgco2e_per_kwh": fnum(v, 4),
        "grid_kgco2e_per_kwh_low": fnum(lo, 4),
        "grid_kgco2e_per_kwh_high": fnum(hi, 4),
        "grid_source": src,
        "year": str(year),
        "basis": basis,
        "market_kgco2e_per_kwh": "",
        "market_source": "",
        "default_datacenter": "generic",
        "note": note,
    }


def stale_band(c, v, year, direct):
    """Bounds by the staleness rule of the US eGRID rows: (low, high, relative half-width).

    Half-width ``grid_rel_band`` + ``grid_staleness_per_year`` per year between ``year``
    and ``grid_reference_year`` (none for later years), at least ``grid_abs_band``;
    for direct (combustion-only) values the high bound is then x
    ``grid_direct_to_lifecycle_high`` + ``grid_direct_lifecycle_abs`` for lifecycle upstream.
    """
    r_ = c["grid_rel_band"] + c["grid_staleness_per_year"] * max(
        0.0, c["grid_reference_year"] - year
    )
    lo, hi = band(v, r_, c["grid_abs_band"], c["grid_direct_to_lifecycle_high"] if direct else 1.0)
    if direct:
        hi = min(GRID_CAP, hi + c["grid_direct_lifecycle_abs"])
    return lo, hi, r_


def stale_note(c, year, r_, direct):
    ref = c["grid_reference_year"]
    if year < ref:
        rule = (
            f"+/-{fnum(r_ * 100, 0)}% ({fnum(c['grid_rel_band'] * 100, 0)}% + "
            f"{fnum(c['grid_staleness_per_year'] * 100, 0)}%/yr since {year} to {ref:.0f}; "
            f"min +/-{c['grid_abs_band']})"
        )
    else:
        rule = f"+/-{fnum(r_ * 100, 0)}% (min +/-{c['grid_abs_band']})"
    if direct:
        rule += (
            f", high x{c['grid_direct_to_lifecycle_high']} + {c['grid_direct_lifecycle_abs']} "
            "for lifecycle upstream"
        )
    return rule


def load_ga_subnational(shared: Path) -> dict[str, tuple[float, str, str]]:
    """Green Algorithms v3 US-state and Canadian-province values: {ISO 3166-2 key: (kg/kWh,
    name, source text)}.  The regions.csv values of these keys until dataset 2026.12.0; now
    their grid_history rows for 2020 (a ~2019-2020 vintage)."""
    out = {}
    for r in read_csv(shared / F_GA_CI, skip=1):
        loc = r["location"].strip()
        if not re.fullmatch(r"(US|CA)-[A-Z]{2}", loc):
            continue
        # Green Algorithms codes Manitoba CA-MT; ISO 3166-2 says CA-MB.
        loc = GA_TO_ISO_3166_2.get(loc, loc)
        v = float(r["carbonIntensity"]) / 1000.0
        out[loc] = (v, r["regionName"].strip(), r["source"].strip())
    return out


def ga_history_note(ga_old, key):
    if key not in ga_old:
        return ""
    v = fnum(ga_old[key][0], 4)
    return (
        f" The Green Algorithms v3 value shipped until 2026.12.0 ({v}, ~2020) is in grid_history."
    )


def build_us_states(shared, c, ga_old):
    """US states + DC: eGRID2023 state CO2e total output emission rates (STC2ERTA)."""
    d = json.loads((shared / F_CC3_US).read_text(encoding="utf-8"))
    meta, unit = d.get("_source", {}), d.get("_unit", {}).get("emissions")
    if meta.get("field") != "STC2ERTA" or unit != "lbs/MWh":
        raise SystemExit(f"{F_CC3_US}: expected eGRID STC2ERTA in lbs/MWh, got {meta} {unit!r}")
    year = int(meta["year"])
    # Unit guard: the US total in lb/MWh is ~0.35 kg/kWh (eGRID2023); kg/MWh would be ~0.77.
    us = float(d["usa"]["emissions"]) * LB_PER_MWH_TO_KG_PER_KWH
    if not 0.30 <= us <= 0.45:
        raise SystemExit(f"{F_CC3_US}: US total {us:.3f} kg/kWh: units look wrong")
    src = ids("codecarbon-usa-2023", "epa-egrid2023")
    out = []
    for name, e in sorted(d.items()):
        if name.startswith("_") or name == "usa":
            continue
        code = e["regionCode"].strip()
        if not re.fullmatch(r"[A-Z]{2}", code):
            raise SystemExit(f"{F_CC3_US}: bad state code {code!r}")
        lb = float(e["emissions"])
        v = lb * LB_PER_MWH_TO_KG_PER_KWH
        if not 0.0 < v <= 1.2:
            raise SystemExit(f"{F_CC3_US}: {name} {v:.3f} kg/kWh outside 0-1.2")
        key = f"US-{code}"
        lo, hi, r_ = stale_band(c, v, year, direct=True)
        title = " ".join(w if w == "of" else w.capitalize() for w in name.split())
        out.append(
            subnational_row(
                key,
                title,
                "US",
                v,
                lo,
                hi,
                src,
                year,
                "direct;generation",
                (
                    f"eGRID{year} state annual CO2e total output emission rate (STC2ERTA) "
                    f"{fnum(lb, 3)} lb/MWh (codecarbon 3.3.2 usa_emissions.json) x "
                    f"0.45359237/1000. Direct (combustion) and generation-based: the state's own "
                    f"plants, imports ignored. Bounds: {stale_note(c, year, r_, True)}."
                    + ga_history_note(ga_old, key)
                ),
            )
        )
    return out


def load_lifecycle_factors() -> dict[str, tuple[float, str, str]]:
    """data/figures/lifecycle_factors.csv: {fuel: (gCO2e/kWh, source id, technology)}."""
    return {
        r["fuel"]: (float(r["gco2e_per_kwh"]), r["source"], r["technology"])
        for r in read_csv(FIGURES / "lifecycle_factors.csv")
    }


#: The year of codecarbon's Canadian mix: the folder of the same file in codecarbon's
#: repository (private_infra/2023/); the file itself carries no year.
CA_MIX_YEAR = 2023
F_CC_CA_2023 = "codecarbon/codecarbon/data/private_infra/2023/canada_energy_mix.json"


def build_canada(shared, c, ga_old):
    """Canadian provinces: 2023 generation mix x IPCC AR5 lifecycle medians per source."""
    raw = (shared / F_CC3_CA).read_bytes()
    repo_copy = shared / F_CC_CA_2023
    if repo_copy.exists() and repo_copy.read_bytes() != raw:
        raise SystemExit(f"{F_CC3_CA} differs from {F_CC_CA_2023}: its year is not 2023")
    mix = json.loads(raw.decode("utf-8"))
    ar5 = load_lifecycle_factors()
    cc = json.loads((shared / F_CC3_PER_SOURCE).read_text(encoding="utf-8"))
    if cc.get("unit") != "gCO2.eq/kWh":
        raise SystemExit(f"{F_CC3_PER_SOURCE}: unexpected unit {cc.get('unit')!r}")
    year = CA_MIX_YEAR
    src = ids(
        "codecarbon-canada-mix-2023", "ipcc-ar5-annex-iii", "codecarbon-per-source", "hpe-dc-rl"
    )
    out = []
    for name in sorted(mix):
        if name not in CA_PROVINCES:
            raise SystemExit(f"{F_CC3_CA}: unknown province {name!r}")
        key, title = CA_PROVINCES[name]
        shares = {k: float(v) for k, v in mix[name].items() if k != "total"}
        unknown = sorted(set(shares) - set(CA_MIX_FUELS))
        if unknown:
            raise SystemExit(f"{F_CC3_CA}: {name}: unknown generation sources {unknown}")
        total = sum(shares.values())
        if abs(total - float(mix[name]["total"])) > 0.05 or not 99.0 <= total <= 101.0:
            raise SystemExit(f"{F_CC3_CA}: {name}: shares sum to {total}")
        central = alt_cc = alt_oil = lifecycle_part = 0.0
        used = []
        for s in sorted(shares, key=lambda k: (-shares[k], k)):
            share = shares[s] / total
            if share == 0:
                continue
            fuel, cc_key = CA_MIX_FUELS[s]
            f_cc = float(cc[cc_key]) if cc_key else None
            if fuel in ar5:
                f = ar5[fuel][0]
                lifecycle_part += share * f
                used.append(f"{fuel} {fnum(f, 0)}")
            elif f_cc is not None:
                f = f_cc
                used.append(f"{fuel} {fnum(f, 0)} (codecarbon)")
            else:
                raise SystemExit(f"{F_CC3_CA}: {name}: no factor for {s}")
            central += share * f
            alt_cc += share * (f_cc if f_cc is not None else f)
            alt_oil += share * (OIL_DCRL_G_PER_KWH if fuel == "oil" else f)
        v, a_cc, a_oil = central / 1000.0, alt_cc / 1000.0, alt_oil / 1000.0
        lo, hi, r_ = stale_band(c, v, year, direct=False)
        # Outward to the 4 decimals written, so that the rounded bounds still contain them.
        lo = min(lo, math.floor(min(a_cc, a_oil) * 1e4 + 1e-9) / 1e4)
        hi = min(GRID_CAP, max(hi, math.ceil(max(a_cc, a_oil) * 1e4 - 1e-9) / 1e4))
        life = lifecycle_part / central if central else 1.0
        basis = "lifecycle;generation" if life >= LIFECYCLE_SHARE_MIN else "mixed;generation"
        basis_note = (
            ""
            if life >= LIFECYCLE_SHARE_MIN
            else f" Basis mixed: {fnum(life * 100, 0)}% of the value comes from the AR5 "
            f"lifecycle factors, the rest from the oil factor (combustion-based)."
        )
        out.append(
            subnational_row(
                key,
                title,
                "CA",
                v,
                lo,
                hi,
                src,
                year,
                basis,
                (
                    f"{year} generation mix (codecarbon 3.3.2 canada_energy_mix.json) x per-source "
                    f"factors, g/kWh: {', '.join(used)}. IPCC AR5 WGIII Annex III lifecycle "
                    f"medians; oil from codecarbon's carbon_intensity_per_source.json (AR5 has no "
                    f"oil row). Generation-based, imports ignored.{basis_note} Bounds: "
                    f"{stale_note(c, year, r_, False)}, widened to include the same mix with "
                    f"codecarbon's per-source factors ({fnum(a_cc, 4)}) and with dc-rl's oil "
                    f"{fnum(OIL_DCRL_G_PER_KWH, 0)} ({fnum(a_oil, 4)})."
                    + ga_history_note(ga_old, key)
                ),
            )
        )
    return out


def build_china(shared, c, aliases_out):
    """Chinese provinces: MEE/NBS official 2023 average electricity CO2 emission factors."""
    d = json.loads((shared / F_CC3_CN).read_text(encoding="utf-8"))
    meta = d["metadata"]
    if meta.get("unit") != "gCO2/kWh" or "No. 47" not in meta.get("announcement", ""):
        raise SystemExit(f"{F_CC3_CN}: unexpected metadata {meta.get('unit')!r}")
    src = ids("codecarbon-china-2023", "mee-nbs-2023")
    out = []
    for key, e in sorted(d["data"].items()):
        if not re.fullmatch(r"CN-[A-Z]{2}", key) or e.get("unit") != "gCO2/kWh":
            raise SystemExit(f"{F_CC3_CN}: unexpected entry {key!r}")
        year = int(e["year"])
        v = float(e["emission_factor"]) / 1000.0
        if not 0.0 < v <= 1.2:
            raise SystemExit(f"{F_CC3_CN}: {key} {v:.3f} kg/kWh outside 0-1.2")
        lo, hi, r_ = stale_band(c, v, year, direct=True)
        name = e["description"].strip()
        out.append(
            subnational_row(
                key,
                name,
                "CN",
                v,
                lo,
                hi,
                src,
                year,
                "direct;grid-average;co2-only",
                (
                    f"MEE/NBS Announcement 2025 No. 47, Table 3: {year} provincial average "
                    f"electricity CO2 emission factor {fnum(v, 4)} kgCO2/kWh (codecarbon 3.3.2 "
                    f"china_provincial_emissions.json). CO2 only (no CH4/N2O, no upstream), "
                    f"location-based, includes inter-provincial transfers. Bounds: "
                    f"{stale_note(c, year, r_, True)} and CO2e."
                ),
            )
        )
        names = [name] + [n.title() for n in e.get("names", [])]
        seen = set()
        for n in names:
            if n.lower() in seen:
                continue
            seen.add(n.lower())
            aliases_out.append(
                {"alias": n, "table": "regions", "key": key, "source": "codecarbon-china-2023"}
            )
    return out


def build_nordic(shared, c, aliases_out):
    """Swedish and Norwegian bidding zones: ENTSO-E 2025 mix x codecarbon per-source factors."""
    d = json.loads((shared / F_CC3_NORDIC).read_text(encoding="utf-8"))
    uncovered_f = load_lifecycle_factors()["biomass"][0] / 1000.0
    src = ids("codecarbon-nordic-2025", "codecarbon-per-source", "entsoe-a75")
    out = []
    for code, e in sorted(d["data"].items()):
        if not NORDIC_ZONE.fullmatch(code):
            continue  # FI: a prior value, not from the ENTSO-E derivation (docs/factors.md)
        if e.get("unit") != "gCO2eq/kWh":
            raise SystemExit(f"{F_CC3_NORDIC}: {code}: unexpected unit {e.get('unit')!r}")
        m = re.match(r"\s*([0-9.]+)%", e.get("coverage", ""))
        if m is None:
            raise SystemExit(f"{F_CC3_NORDIC}: {code}: no coverage")
        uncovered = max(0.0, 1.0 - float(m.group(1)) / 100.0)
        year = int(e["year"])
        v = float(e["emission_factor"]) / 1000.0
        lo, hi, r_ = stale_band(c, v, year, direct=False)
        hi = min(GRID_CAP, hi + uncovered * uncovered_f)
        key = f"{code[:2]}-BZ-{code}"
        out.append(
            subnational_row(
                key,
                e["description"].strip(),
                code[:2],
                v,
                lo,
                hi,
                src,
                year,
                "mixed;generation",
                (
                    f"ENTSO-E {year} actual generation per production type (A75) in bidding zone "
                    f"{code} x codecarbon's per-source factors (hydro and wind 26, nuclear 29, "
                    f"gas 743 g/kWh: lifecycle and combustion factors mixed), via codecarbon "
                    f"3.3.2 nordic_emissions.json. Production-based, imports ignored. "
                    f"{fnum((1 - uncovered) * 100, 2)}% of generation has a factor (the rest is "
                    f"counted at 0). Bounds: {stale_note(c, year, r_, False)}; high + "
                    f"{fnum(uncovered * 100, 2)}% x {fnum(uncovered_f, 2)} kg/kWh (AR5 biomass) "
                    f"for the generation without a factor."
                ),
            )
        )
        aliases_out.append(
            {"alias": code, "table": "regions", "key": key, "source": "codecarbon-nordic-2025"}
        )
    return out


def build_regions(shared, consts, lic):
    c = {k: float(v["value"]) for k, v in consts.items() if k.startswith(("grid_", "cloud_"))}
    rel, rel_old = c["grid_rel_band"], c["grid_rel_band_old"]
    absb, d2l, extra = (
        c["grid_abs_band"],
        c["grid_direct_to_lifecycle_high"],
        c["cloud_mapping_extra_band"],
    )

    iso = {r["iso3"]: r["iso2"] for r in read_csv(FIGURES / "iso3166.csv")}
    owid = json.loads((shared / F_OWID).read_text(encoding="utf-8"))
    rows: dict[str, dict[str, str]] = {}
    zone: dict[str, tuple[float, float, float, int, str, str]] = {}
    extra_aliases: list[dict[str, str]] = []

    src_c = "owid-carbon-intensity"
    tot_twh = 0.0
    tot_ci = 0.0
    years = []
    for iso3 in sorted(owid):
        e = owid[iso3]
        iso2 = iso[iso3]
        v = float(e["carbon_intensity"]) / 1000.0
        y = int(e["year"])
        r_ = rel if y >= 2022 else rel_old
        lo, hi = band(v, r_, absb)
        note = f"OWID/Ember {y}, +/-{int(r_ * 100)}% (min +/-{absb} kg/kWh)."
        if v == 0:
            note += (
                " Source reports 0 (hydro-only grid ignoring lifecycle); high covers"
                " lifecycle hydro."
            )
        rows[iso2] = {
            "key": iso2,
            "kind": "country",
            "name": e["country_name"],
            "country_iso2": iso2,
            "provider": "",
            "grid_zone": iso2,
            "grid_kgco2e_per_kwh": fnum(v, 4),
            "grid_kgco2e_per_kwh_low": fnum(lo, 4),
            "grid_kgco2e_per_kwh_high": fnum(hi, 4),
            "grid_source": src_c,
            "year": str(y),
            "basis": "lifecycle;generation",
            "market_kgco2e_per_kwh": "",
            "market_source": "",
            "default_datacenter": "generic",
            "note": note,
        }
        zone[iso2] = (v, lo, hi, y, src_c, "lifecycle;generation")
        twh = float(e.get("total_TWh") or 0.0)
        if twh > 0:
            tot_twh += twh
            tot_ci += twh * v
            years.append(y)

    # WORLD: generation-weighted mean of the same OWID country values.
    w = tot_ci / tot_twh
    wlo, whi = band(w, rel, absb)
    wy = statistics.median_high(years)
    rows["WORLD"] = {
        "key": "WORLD",
        "kind": "world",
        "name": "World",
        "country_iso2": "",
        "provider": "",
        "grid_zone": "WORLD",
        "grid_kgco2e_per_kwh": fnum(w, 4),
        "grid_kgco2e_per_kwh_low": fnum(wlo, 4),
        "grid_kgco2e_per_kwh_high": fnum(whi, 4),
        "grid_source": ids(src_c, "greenalgorithms-v3", "act"),
        "year": str(wy),
        "basis": "lifecycle;generation",
        "market_kgco2e_per_kwh": "",
        "market_source": "",
        "default_datacenter": "generic",
        "note": (
            f"Generation-weighted mean of the {len(years)} OWID/Ember country values (latest year "
            f"each, mostly 2022-2023). Cross-check: Green Algorithms WORLD 0.475 (IEA 2019), ACT "
            f"world 0.481. +/-{int(rel * 100)}%."
        ),
    }
    zone["WORLD"] = (w, wlo, whi, wy, rows["WORLD"]["grid_source"], "lifecycle;generation")

    # Sub-national: US states (eGRID2023), Canadian provinces (2023 mix x IPCC AR5),
    # Chinese provinces (MEE/NBS 2023) and Nordic bidding zones (ENTSO-E 2025).  The
    # Green Algorithms values the US/CA keys had until 2026.12.0 go to grid_history.
    ga_old = load_ga_subnational(shared)
    new_rows: list[dict[str, str]] = []
    new_rows += build_us_states(shared, c, ga_old)
    new_rows += build_canada(shared, c, ga_old)
    new_rows += build_china(shared, c, extra_aliases)
    new_rows += build_nordic(shared, c, extra_aliases)
    us_ca = {r["key"] for r in new_rows if r["country_iso2"] in ("US", "CA")}
    if us_ca != set(ga_old):
        raise SystemExit(
            f"US/CA sub-national keys changed: lost {sorted(set(ga_old) - us_ca)}, "
            f"new {sorted(us_ca - set(ga_old))}"
        )
    for r in new_rows:
        rows[r["key"]] = r
        zone[r["key"]] = (
            float(r["grid_kgco2e_per_kwh"]),
            float(r["grid_kgco2e_per_kwh_low"]),
            float(r["grid_kgco2e_per_kwh_high"]),
            int(r["year"]),
            r["grid_source"],
            r["basis"],
        )

    # US sub-national grids: eGRID subregions (NREL file, 2019) and balancing
    # authorities (dc-rl / EIA-930, 2022).  Relative half-width grows with age.
    ref_year = c["grid_reference_year"]
    stale = c["grid_staleness_per_year"]
    abs_ba = c["grid_abs_band_ba"]
    egrid_names, egrid = load_egrid(shared)
    for code in sorted(egrid):
        y = max(egrid[code])
        v, lb = egrid[code][y]
        r_ = rel + stale * max(0.0, ref_year - y)
        lo, hi = band(v, r_, absb, d2l)
        hi = min(GRID_CAP, hi + c["grid_direct_lifecycle_abs"])
        key = f"US-EGRID-{code}"
        src = ids("nrel-egrid-annual", "usepa-egrid")
        rows[key] = subnational_row(
            key,
            f"{egrid_names[code]} (eGRID {code})",
            "US",
            v,
            lo,
            hi,
            src,
            y,
            "direct;generation",
            (
                f"eGRID{y} subregion annual CO2e output emission rate {fnum(lb, 0)} lb/MWh "
                f"(NREL OpenStudio copy) x 0.45359237/1000. Direct (combustion) and "
                f"generation-based. Stale: +/-{fnum(r_ * 100, 0)}% (+/-{fnum(rel * 100, 0)}% + "
                f"{fnum(stale * 100, 0)}%/yr since {y} to {fnum(ref_year, 0)}; min +/-{absb}), "
                f"high x{d2l} + {c['grid_direct_lifecycle_abs']} for lifecycle upstream."
            ),
        )
        zone[key] = (float(fnum(v, 4)), lo, hi, y, src, "direct;generation")

    ba_rows = read_csv(FIGURES / "balancing_authorities.csv")
    ba = load_ba(shared, ba_rows)
    for b in ba_rows:
        code = b["code"]
        v, simple, used, skipped, y = ba[code]
        r_ = rel + stale * max(0.0, ref_year - y)
        lo, hi = band(v, r_, abs_ba)
        key = f"US-BA-{code}"
        src = ids("hpe-dc-rl", b["source"])
        rows[key] = subnational_row(
            key,
            f"{b['name']} (balancing authority {code})",
            "US",
            v,
            lo,
            hi,
            src,
            y,
            "lifecycle;generation",
            (
                f"{y} generation-weighted mean of dc-rl's hourly avg_CI (EIA-930 net generation "
                f"by fuel x IPCC AR5 lifecycle medians; imports ignored) over {used} hours"
                + (f" ({skipped} hours with missing data skipped)" if skipped else "")
                + f"; simple hourly mean {fnum(simple, 4)}. +/-{fnum(r_ * 100, 0)}% "
                f"(+/-{fnum(rel * 100, 0)}% + {fnum(stale * 100, 0)}%/yr since {y}; "
                f"min +/-{abs_ba}). {b['note']}"
            ).strip(),
        )
        zone[key] = (float(fnum(v, 4)), lo, hi, y, src, "lifecycle;generation")

    # Cloud regions.
    google, _ = load_google(shared)
    mapping = read_csv(FIGURES / "cloud_regions.csv")
    mapped_gcp = {m["region"] for m in mapping if m["provider"] == "gcp"}
    missing = sorted(set(google) - mapped_gcp)
    if missing:
        raise SystemExit(f"GCP regions in Google's data without a mapping: {missing}")
    for m in mapping:
        prov, reg, z = m["provider"], m["region"], m["grid_zone"]
        key = f"{prov}:{reg}"
        base = {
            "key": key,
            "kind": "cloud",
            "name": m["location"],
            "country_iso2": m["country_iso2"],
            "provider": prov,
            "grid_zone": z,
            "market_kgco2e_per_kwh": "",
            "market_source": "",
            "default_datacenter": PROVIDER_DC[prov],
        }
        if prov == "gcp":
            ser = google[reg]
            y = max(ser)
            v = ser[y] / 1000.0
            prev = ser.get(y - 1)
            lo, hi = band(v, rel, absb, d2l)
            hi = min(GRID_CAP, hi + c["grid_direct_lifecycle_abs"])
            span = ""
            if prev is not None:
                p = prev / 1000.0
                lo, hi = min(lo, p), max(hi, p)
                span = f" Google {y - 1} ({fnum(p, 4)})"
            base.update(
                {
                    "grid_kgco2e_per_kwh": fnum(v, 4),
                    "grid_kgco2e_per_kwh_low": fnum(lo, 4),
                    "grid_kgco2e_per_kwh_high": fnum(hi, 4),
                    "grid_source": ids("google-region-carbon-info", m["source"]),
                    "year": str(y),
                    "basis": "direct;grid-average",
                    "note": (
                        f"Google first-party grid intensity {y} (location-based; "
                        f"excludes Google's CFE purchases). 2021+ values are "
                        f"direct/operational (2019-2020 were lifecycle: method break). "
                        f"Bounds: +/-{int(rel * 100)}% (min +/-{absb}), high x{d2l} "
                        f"+ {c['grid_direct_lifecycle_abs']} for lifecycle upstream"
                        + (f", widened to include{span}." if span else ".")
                        + (f" {m['note']}" if m["note"] else "")
                    ),
                }
            )
        else:
            if z not in zone:
                raise SystemExit(f"{key}: zone {z} not found")
            v, zlo, zhi, y, zsrc, basis = zone[z]
            lo = max(0.0, zlo - v * extra)
            hi = min(GRID_CAP, zhi + v * extra)
            alt = (m.get("alt_zone") or "").strip()
            alt_note = ""
            if alt:
                if alt not in zone:
                    raise SystemExit(f"{key}: alternative zone {alt} not found")
                av = zone[alt][0]
                lo, hi = min(lo, av), max(hi, av)
                alt_note = (
                    f" Bounds widened to include the alternative zone {alt} "
                    f"({fnum(av, 4)}, {zone[alt][3]})."
                )
            base.update(
                {
                    "grid_kgco2e_per_kwh": fnum(v, 4),
                    "grid_kgco2e_per_kwh_low": fnum(lo, 4),
                    "grid_kgco2e_per_kwh_high": fnum(hi, 4),
                    "grid_source": ids(zsrc, m["source"]),
                    "year": str(y),
                    "basis": basis,
                    "note": (
                        f"Mapped by location ({m['location']}) to zone {z}; intensity "
                        f"copied from that zone; bounds = zone bounds widened by "
                        f"{int(extra * 100)}% of the value for mapping uncertainty."
                        + alt_note
                        + (f" {m['note']}" if m["note"] else "")
                    ),
                }
            )
        rows[key] = base
    out = []
    for k in sorted(rows):
        r = rows[k]
        r["licence"] = lic.most_restrictive(r["grid_source"])
        out.append(r)
    return out, iso, mapping, extra_aliases


# --------------------------------------------------------------------------
# grid history
# --------------------------------------------------------------------------
def build_history(shared, regions, iso, lic):
    """One row per (region key, year) from every multi-year GREEN source.

    Series: Google's yearly files (gcp:* regions, 2019-2024), the OWID 2000-2020
    EU export (countries), Green Algorithms' ~2020 US-state and Canadian-province
    values (2020), eGRID subregion years (US-EGRID-*).  Then every
    regions.csv row adds its current value at its year, so each key's latest
    value appears; where a series already has that (key, year) the regions.csv
    value must agree, else it wins and the note records the other value.
    """
    reg = {r["key"]: r for r in regions}
    hist: dict[tuple[str, int], dict[str, str]] = {}

    def add(key, year, v, src, basis, note):
        if key not in reg:
            raise SystemExit(f"grid_history: {key} is not a regions.csv key")
        hist[(key, year)] = {
            "key": key,
            "year": str(year),
            "grid_kgco2e_per_kwh": fnum(v, 4),
            "source": src,
            "basis": basis,
            "note": note,
        }

    google, _ = load_google(shared)
    for g in sorted(google):
        for y in sorted(google[g]):
            life = y <= 2020
            add(
                f"gcp:{g}",
                y,
                google[g][y] / 1000.0,
                "google-region-carbon-info",
                "lifecycle;grid-average" if life else "direct;grid-average",
                "Google yearly file; "
                + (
                    "lifecycle (2019-2020 method)."
                    if life
                    else "direct/operational (2021+ method)."
                ),
            )

    for r in read_csv(shared / F_OWID_EU):
        code = r["Code"].strip()
        if not code:
            continue  # EU-27 / EU27+1 aggregates have no region key
        k = iso[code]
        col = next(c for c in r if "intensity" in c.lower())
        add(
            k,
            int(r["Year"]),
            float(r[col]) / 1000.0,
            "owid-eu-2020",
            "lifecycle;generation",
            "OWID/Ember 2000-2020 export (2020 vintage; later releases revise past years).",
        )

    # Green Algorithms' ~2020 US-state and Canadian-province values: regions.csv until
    # dataset 2026.12.0, superseded by eGRID2023 and the 2023 Canadian mix.
    for k, (v, _name, src_text) in sorted(load_ga_subnational(shared).items()):
        add(
            k,
            2020,
            v,
            "greenalgorithms-v3",
            "mixed;generation",
            f"Green Algorithms v3 CI_aggregated ({src_text[:60]}); ~2019-2020 vintage. The "
            f"regions.csv value until dataset 2026.12.0.",
        )

    _, egrid = load_egrid(shared)
    for code in sorted(egrid):
        for y in sorted(egrid[code]):
            v, lb = egrid[code][y]
            add(
                f"US-EGRID-{code}",
                y,
                v,
                ids("nrel-egrid-annual", "usepa-egrid"),
                "direct;generation",
                f"eGRID{y} subregion CO2e output rate {fnum(lb, 0)} lb/MWh.",
            )

    for k in sorted(reg):
        r = reg[k]
        y = int(r["year"])
        v = float(r["grid_kgco2e_per_kwh"])
        src = ";".join(
            sid for sid in r["grid_source"].split(";") if sid not in CLOUD_LOCATION_SOURCES
        )
        if r["kind"] == "cloud" and r["provider"] != "gcp":
            note = f"Latest value (as in regions.csv) = grid zone {r['grid_zone']}."
        else:
            note = "Latest value (as in regions.csv)."
        prev = hist.get((k, y))
        if prev is not None:
            pv = float(prev["grid_kgco2e_per_kwh"])
            if abs(pv - v) <= 5e-5:
                continue
            note += f" Supersedes {prev['source']} {fnum(pv, 4)} for {y}."
        add(k, y, v, src, r["basis"], note)

    out = [hist[k] for k in sorted(hist)]
    for r in out:
        r["licence"] = lic.most_restrictive(r["source"])
    return out


# --------------------------------------------------------------------------
# datacenters, defaults, aliases, sources
# --------------------------------------------------------------------------
def build_datacenters(lic):
    out = []
    for r in read_csv(FIGURES / "pue.csv"):
        row = {k: r[k] for k in COLUMNS["datacenters"] if k in r}
        for k in ("pue", "pue_low", "pue_high"):
            row[k] = fnum(float(r[k]), 3)
        for k in (
            "facility_embodied_fraction",
            "facility_embodied_fraction_low",
            "facility_embodied_fraction_high",
        ):
            row[k] = fnum(float(r[k]), 3)
        row["note"] = (
            r["note"] + " facility_embodied_fraction: Carbon Explorer's 1.15 multiplier on server "
            "embodied (0.15); low 0.02 ~ construction-only share (CyrusOne LCA 0.9-2.2%); high "
            "0.30 = 2x Carbon Explorer for smaller/less dense sites (judgement)."
        )
        row["licence"] = lic.most_restrictive(row["pue_source"], row["facility_embodied_source"])
        out.append(row)
    out.sort(key=lambda r: r["key"])
    return out


def build_defaults(lic):
    out = []
    for r in read_csv(FIGURES / "parameters.csv"):
        row = dict(r)
        for k in ("value", "low", "high"):
            row[k] = fnum(float(r[k]), 4)
        row["licence"] = lic.most_restrictive(row["source"])
        out.append(row)
    out.sort(key=lambda r: r["parameter"])
    return out


#: Source of a CPU family's name: the vendor's own product pages.
CPU_NAME_SOURCE = {"Xeon": "intel-ark", "EPYC": "amd-epyc-specs", "Opteron": "amd-opteron-specs"}


def cpu_name_aliases(cpus, cpuinfo):
    """Short spellings of each CPU family, as logs and cluster docs write them.

    The model name (``Xeon E5-2680 v4``, ``EPYC 7763``, ``Opteron 6276``), the same with
    the vendor (``Intel Xeon E5-2680 v4``), and Intel's without ``Xeon`` (``E5-2680 v4``,
    ``X5650``, ``Gold 6248``) unless that leaves a bare number (``Xeon 6980P`` stays).
    ``cpuinfo``: the hand-listed ``/proc/cpuinfo`` brand strings; those padded with runs
    of spaces (Nehalem/Westmere: ``CPU           X5650  @ 2.67GHz``) also get their
    single-spaced form, which tools that normalise whitespace print.
    """
    out = []
    for r in cpus:
        if not r["vendor"]:
            continue  # the generic row
        model = r["model"]
        src = CPU_NAME_SOURCE[model.split()[0]]
        names = [model, f"{r['vendor']} {model}"]
        if model.startswith("Xeon "):
            bare = model[len("Xeon ") :]
            if not bare[0].isdigit():
                names.append(bare)
        out += [{"alias": n, "table": "cpus", "key": r["key"], "source": src} for n in names]
    for a in cpuinfo:
        single = re.sub(r"\s+", " ", a["alias"])
        if single != a["alias"]:
            out.append({**a, "alias": single})
    return out


def build_aliases(iso, mapping, keys, skipped, regions, cpus, region_aliases=()):
    """keys: every canonical key (all tables); new-grid code aliases that would
    collide with a key or another alias (case-insensitively) are skipped.
    Country names (Germany -> DE) become aliases too, unless a sub-national grid
    bears the same name (Georgia is also a US state): those are skipped.
    cpus: the cpus table, whose families get short-name aliases (cpu_name_aliases).
    region_aliases: the sub-national names and codes build_regions found in its sources
    (Chinese province names, bare Nordic bidding-zone codes); a collision is an error."""
    out = [dict(r) for r in read_csv(FIGURES / "aliases.csv")]
    out += [dict(r) for r in region_aliases]
    out += cpu_name_aliases(
        cpus, [a for a in out if a["table"] == "cpus" and a["source"] == "cpuinfo"]
    )
    for iso3, iso2 in iso.items():
        out.append({"alias": iso3, "table": "regions", "key": iso2, "source": "iso-3166"})
    src = {"aws": "aws-regions", "azure": "azure-regions", "gcp": "gcp-regions"}
    for m in mapping:
        out.append(
            {
                "alias": m["region"],
                "table": "regions",
                "key": f"{m['provider']}:{m['region']}",
                "source": src[m["provider"]],
            }
        )
    # Bare eGRID subregion / balancing-authority codes (CAMX -> US-EGRID-CAMX).
    taken = {a["alias"].lower() for a in out} | {k.lower() for k in keys}
    cand: dict[str, list[dict[str, str]]] = {}
    for k in sorted(keys):
        for prefix, src in (("US-EGRID-", "usepa-egrid"), ("US-BA-", "eia-930")):
            if k.startswith(prefix):
                code = k[len(prefix) :]
                row = {"alias": code, "table": "regions", "key": k, "source": src}
                cand.setdefault(code.lower(), []).append(row)
    for a in sorted(cand):
        if a in taken or len(cand[a]) > 1:
            skipped.append(cand[a][0]["alias"])
            continue
        out.append(cand[a][0])
    taken = {a["alias"].lower() for a in out} | {k.lower() for k in keys}
    named: dict[str, list[dict[str, str]]] = {}
    # Cloud rows' names say where they are (AWS "Ireland"), not what they are:
    # only a country or a sub-national grid of the same name is ambiguous.
    for r in regions:
        if r["kind"] != "cloud":
            named.setdefault(r["name"].strip().lower(), []).append(r)
    for r in sorted((r for r in regions if r["kind"] == "country"), key=lambda r: r["key"]):
        name = r["name"].strip()
        if name.lower() in taken or len(named[name.lower()]) > 1:
            skipped.append(name)
            continue
        # The names are those of the row's own source (Our World in Data).
        source = r["grid_source"].split(";")[0]
        out.append({"alias": name, "table": "regions", "key": r["key"], "source": source})
    seen = {}
    for r in out:
        a = r["alias"].lower()
        if a in seen:
            raise SystemExit(f"duplicate alias {r['alias']!r}")
        seen[a] = r
    out.sort(key=lambda r: (r["table"], r["alias"].lower(), r["alias"]))
    return out


# --------------------------------------------------------------------------
# cross-check table (docs/factors.md)
# --------------------------------------------------------------------------
DOCS = REPO / "docs" / "factors.md"
CROSSCHECK_BEGIN = (
    "<!-- crosscheck-table: generated from data/figures/crosscheck.csv and the shipped tables "
    "by `python tools/derive_factors.py --crosscheck-docs`; do not edit by hand -->"
)
CROSSCHECK_END = "<!-- /crosscheck-table -->"


def crosscheck_markdown(data: Path) -> str:
    """The cross-check tables: our low/value/high beside each peer value (crosscheck.csv)."""

    def table(name: str) -> dict[str, dict[str, str]]:
        return {r["key"]: r for r in read_csv(data / f"{name}.csv")}

    parts = []
    for name, col, unit, fmt in (
        ("accelerators", "embodied_kgco2e", "kgCO2e per GPU incl. server share", fmt_kg),
        ("regions", "grid_kgco2e_per_kwh", "kgCO2e/kWh", lambda x: fnum(x, 4)),
    ):
        ours = table(name)
        lines = [
            f"| {name[:-1]} | ours: low / value / high ({unit}) | peer | peer value "
            f"(range) | year | source | licence | inside |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for p in load_crosscheck(name):
            for k in p["keys"].split(";"):
                r = ours[k.strip()]
                lo, v, hi = (float(r[f"{col}{x}"]) for x in ("_low", "", "_high"))
                pv = float(p["value"])
                rng = ""
                if p["range_low"] and p["range_high"]:
                    rng = f" ({fmt(float(p['range_low']))}–{fmt(float(p['range_high']))})"
                inside = "yes" if lo <= pv <= hi else "**no**"
                lines.append(
                    f"| `{k.strip()}` | {fmt(lo)} / {fmt(v)} / {fmt(hi)} | {p['peer']} | "
                    f"{fmt(pv)}{rng} | {p['year']} | {p['source_id'] or '-'} | {p['flag']} | "
                    f"{inside} |"
                )
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def write_crosscheck_docs(data: Path) -> int:
    text = DOCS.read_text(encoding="utf-8")
    if CROSSCHECK_BEGIN not in text or CROSSCHECK_END not in text:
        print(f"{DOCS}: cross-check markers not found", file=sys.stderr)
        return 2
    head, rest = text.split(CROSSCHECK_BEGIN, 1)
    _, tail = rest.split(CROSSCHECK_END, 1)
    new = (
        head + CROSSCHECK_BEGIN + "\n\n" + crosscheck_markdown(data) + "\n" + CROSSCHECK_END + tail
    )
    DOCS.write_text(new, encoding="utf-8", newline="")
    print(f"updated the cross-check table in {DOCS}")
    return 0


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--crosscheck-docs" in argv:
        # Rewrite docs/factors.md's cross-check table from the tables in --out.
        argv.remove("--crosscheck-docs")
        data, _ = parse_shared_args(__doc__, argv, DEFAULT_OUT)
        return write_crosscheck_docs(data)
    out, shared = parse_shared_args(__doc__, argv, DEFAULT_OUT)
    if not (shared / F_OWID).exists():
        print(f"shared reference data not found under {shared}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)

    sources = read_csv(FIGURES / "sources.csv")
    lic = Licences(sources)
    consts = {r["name"]: r for r in read_csv(FIGURES / "model_constants.csv")}

    notes: list[str] = []
    acc = build_accelerators(shared, consts, lic, notes)
    cpus = build_cpus(shared, consts, lic)
    regions, iso, mapping, region_aliases = build_regions(shared, consts, lic)
    dcs = build_datacenters(lic)
    defaults = build_defaults(lic)
    history = build_history(shared, regions, iso, lic)
    keys = [r["key"] for t in (acc, cpus, regions, dcs) for r in t]
    skipped: list[str] = []
    aliases = build_aliases(iso, mapping, keys, skipped, regions, cpus, region_aliases)
    srcs = sorted(
        ({k: r[k] for k in COLUMNS["sources"]} for r in sources), key=lambda r: r["source_id"]
    )

    for name, rows in (
        ("accelerators", acc),
        ("cpus", cpus),
        ("regions", regions),
        ("datacenters", dcs),
        ("defaults", defaults),
        ("aliases", aliases),
        ("grid_history", history),
        ("sources", srcs),
    ):
        write_table(out, name, rows)
    (out / "VERSION").write_text(DATASET_VERSION + "\n", encoding="utf-8", newline="")
    print(
        f"wrote {out}: accelerators={len(acc)} cpus={len(cpus)} regions={len(regions)} "
        f"datacenters={len(dcs)} defaults={len(defaults)} aliases={len(aliases)} "
        f"grid_history={len(history)} sources={len(srcs)}"
    )
    if skipped:
        print(f"aliases skipped (ambiguous or colliding): {', '.join(skipped)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
