"""The model of ``docs/model.md`` in plain Python: one job at a time, floats and dicts.

This is the oracle of the property tests and the pure-Python baseline of the
benchmarks. It shares no code with the engine beyond reading the factor
tables, and it skips input validation: feed it valid jobs. Each function is
one equation or rule of the doc, under the doc's name; ``docs/model.md`` lists
the Rust function that implements the same.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from dataclasses import dataclass
from typing import Any

import polars as pl

from fleetcarbon.conventions import Convention, resolve_convention
from fleetcarbon.factors import Factors, load_factors
from fleetcarbon.factors.mixes import with_job_mixes
from fleetcarbon.schema import RESULT_COLUMNS

__all__ = [
    "HOURS_PER_YEAR",
    "OUTPUTS",
    "Activity",
    "CfeWindow",
    "KeyLookup",
    "activity",
    "cfe_match_python",
    "core_usage",
    "default_parameters",
    "estimate_job",
    "estimate_python",
    "footprint",
    "grid_intensity_over_window",
    "grid_intensity_with_profile",
    "grid_of_year",
    "job_factors",
    "job_table_rows",
    "lookups",
]

#: Hours in a (non-leap) year: the amortization convention (§4.3).
HOURS_PER_YEAR = 8760.0

#: The outputs of :func:`footprint`, in order (the names of ``docs/model.md`` §4).
OUTPUTS: tuple[str, ...] = RESULT_COLUMNS

Job = dict[str, Any]
Row = dict[str, Any]


class KeyLookup:
    """Case-insensitive key and alias lookup over one table (§2)."""

    def __init__(self, factors: Factors, table: str):
        self.rows: dict[str, Row] = {
            r["key"]: r for r in factors.table(table).iter_rows(named=True)
        }
        self.names = {k: k for k in self.rows}
        for alias, tab, key in factors.aliases.select("alias", "table", "key").iter_rows():
            if tab == table and key in self.rows:
                self.names.setdefault(alias, key)
        self.folded: dict[str, str] = {}
        for name, key in self.names.items():
            self.folded.setdefault(name.lower(), key)

    def get(self, name: object) -> Row | None:
        """Return the row a key names (None for a null key; KeyError if unknown)."""
        if name is None:
            return None
        key = self.names.get(str(name)) or self.folded.get(str(name).lower())
        if key is None:
            raise KeyError(f"unknown key {name!r}")
        return self.rows[key]


def _basis(value: object) -> str | None:
    return None if value is None else str(value).split(";")[0].strip()


class YearPoints:
    """Each region's dated annual intensities: its regions row and matching history (§4.2)."""

    def __init__(self, factors: Factors):
        self.points: dict[str, dict[int, float]] = {}
        basis: dict[str, str | None] = {}
        for row in factors.regions.iter_rows(named=True):
            if row.get("year") is not None:
                self.points[row["key"]] = {int(row["year"]): float(row["grid_kgco2e_per_kwh"])}
                basis[row["key"]] = _basis(row.get("basis"))
        history = factors.grid_history
        for row in [] if history is None else history.iter_rows(named=True):
            key, year, value = row["key"], row["year"], row["grid_kgco2e_per_kwh"]
            if key not in self.points or year is None or value is None:
                continue
            mine, theirs = basis[key], _basis(row.get("basis"))
            if mine is not None and theirs is not None and (mine != theirs or mine == "mixed"):
                continue
            self.points[key].setdefault(int(year), float(value))

    def of(self, key: str, year: int) -> tuple[float, int] | None:
        """Return ``(value, year)`` charged to a job of ``year``; None for an undated region."""
        return grid_of_year(self.points[key], year) if key in self.points else None


def grid_of_year(points: dict[int, float], year: int) -> tuple[float, int]:
    """Return the value of ``year``, else of the nearest earlier year, else the earliest."""
    earlier = [y for y in points if y <= year]
    chosen = max(earlier) if earlier else min(points)
    return points[chosen], chosen


def _start_year(start: object) -> int | None:
    if not isinstance(start, dt.datetime):
        return None
    if start.tzinfo is not None:
        start = start.astimezone(dt.timezone.utc)
    return start.year


def lookups(factors: Factors) -> dict[str, KeyLookup]:
    """Return a :class:`KeyLookup` per keyed table."""
    return {t: KeyLookup(factors, t) for t in ("accelerators", "cpus", "regions", "datacenters")}


def given(job: Job, column: str) -> float | None:
    """Return the job's value of ``column``, or None where it gives none (null or NaN)."""
    value = job.get(column)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def hours(job: Job) -> float:
    """Return ``duration_h``, else ``end − start`` in hours (§1)."""
    h = given(job, "duration_h")
    if h is None:
        return (job["end"] - job["start"]).total_seconds() / 3600.0
    return h


def job_table_rows(
    job: Job, lk: dict[str, KeyLookup], accelerator_count: float
) -> tuple[Row | None, Row, Row | None, Row | None]:
    """Return the job's accelerator, CPU, region and datacenter rows (§2).

    A job without a region takes its datacenter's region; a job without a
    datacenter takes its region's default datacenter, or ``generic`` when it
    has neither. A job without a CPU key uses ``generic``.
    """
    accel = lk["accelerators"].get(job.get("accelerator")) if accelerator_count > 0 else None
    cpu = lk["cpus"].get(job.get("cpu") or "generic")
    region = lk["regions"].get(job.get("region"))
    datacenter = lk["datacenters"].get(job.get("datacenter"))
    if region is None and datacenter is not None and datacenter["region"] is not None:
        region = lk["regions"].get(datacenter["region"])
    if datacenter is None:
        key = region["default_datacenter"] if region is not None else "generic"
        datacenter = lk["datacenters"].get(key)
    assert cpu is not None
    return accel, cpu, region, datacenter


@dataclass(frozen=True)
class Activity:
    """What a job did, in the units the factors multiply (§4)."""

    #: ``power_basis``: "metered", "measured" or "modelled" (§4.1).
    basis: str
    #: Metered or measured IT energy, kWh (0 when modelled).
    given_kwh: float
    #: Accelerators, cores and GB reserved, and hours.
    accelerators: float
    cores: float
    memory_gb: float
    hours: float
    #: The share of the cores' power charged (§4.5), and whether an accelerator
    #: job adds its cores' and memory's power ("components") or not ("share").
    core_usage: float = 1.0
    accelerator_host: str = "share"


def core_usage(job: Job, convention: Convention) -> float:
    """Return the share of the reserved cores' power charged (§4.5).

    1 under ``cpu_attribution="reserved"``; under ``"used"``, CPU time ÷
    (cores × hours) clipped to [0, 1], or 1 where the CPU time is null or 0
    (not logged) or nothing was reserved.
    """
    if convention.cpu_attribution == "reserved":
        return 1.0
    used = given(job, "cpu_time_h")
    reserved = (given(job, "cpu_cores") or 0.0) * hours(job)
    if used is None or used <= 0.0 or reserved <= 0.0:
        return 1.0
    return min(max(used / reserved, 0.0), 1.0)


def activity(job: Job, convention: Convention | None = None) -> Activity:
    """Return the job's power basis and quantities (§4.1): the first rule that applies wins."""
    convention = resolve_convention(convention)
    rules = (core_usage(job, convention), convention.accelerator_host)
    h = hours(job)
    n = given(job, "accelerator_count") or 0.0
    cores = given(job, "cpu_cores") or 0.0
    memory = given(job, "memory_gb") or 0.0
    energy, power = given(job, "energy_kwh"), given(job, "avg_power_w")
    if energy is not None:
        return Activity("metered", energy, n, cores, memory, h, *rules)
    if power is not None:
        measured = power * (n if n > 0 else 1.0) * h / 1000.0
        return Activity("measured", measured, n, cores, memory, h, *rules)
    return Activity("modelled", 0.0, n, cores, memory, h, *rules)


def job_factors(
    job: Job,
    rows: tuple[Row | None, Row, Row | None, Row | None],
    params: dict[str, float],
) -> dict[str, float]:
    """Return every factor of the job: its override column, else its table row (§2, §3).

    A factor whose row is missing reads NaN (the job must not use it). The
    market factor falls back to the location-based one (§4.2).
    """
    accel, cpu, region, datacenter = rows

    def factor(name: str, row: Row | None, column: str | None = None) -> float:
        override = given(job, name)
        if override is not None:
            return override
        if row is None or row.get(column or name) is None:
            return math.nan
        return float(row[column or name])

    values = {
        "tdp_w": factor("tdp_w", accel),
        "host_power_w": factor("host_power_w", accel),
        "accelerator_embodied_kgco2e": factor(
            "accelerator_embodied_kgco2e", accel, "embodied_kgco2e"
        ),
        "core_power_w": factor("core_power_w", cpu),
        "core_embodied_kgco2e": factor("core_embodied_kgco2e", cpu),
        "grid_kgco2e_per_kwh": factor("grid_kgco2e_per_kwh", region),
        "pue": factor("pue", datacenter),
        "facility_embodied_fraction": factor("facility_embodied_fraction", datacenter),
    }
    market = factor("market_kgco2e_per_kwh", region)
    values["market_kgco2e_per_kwh"] = (
        values["grid_kgco2e_per_kwh"] if math.isnan(market) else market
    )
    for name, value in params.items():
        override = given(job, name)
        values[name] = float(value) if override is None else override
    return values


def it_energy_kwh(a: Activity, f: dict[str, float]) -> float:
    """Return the IT energy, kWh (§4.1).

    Metered or measured energy where given; otherwise accelerator jobs draw
    ``n × (tdp_w × power_fraction + host_power_w)`` and CPU-only jobs
    ``cores × usage × core_power_w + memory_gb × memory_power_w_per_gb``, for
    ``h`` hours. Under ``accelerator_host="components"`` accelerator jobs draw
    both (§4.5).
    """
    if a.basis != "modelled":
        return a.given_kwh
    watts = 0.0
    if a.accelerators > 0:
        watts = a.accelerators * (f["tdp_w"] * f["power_fraction"] + f["host_power_w"])
    if a.accelerators <= 0 or a.accelerator_host == "components":
        if a.cores:
            watts += a.cores * a.core_usage * f["core_power_w"]
        if a.memory_gb:
            watts += a.memory_gb * f["memory_power_w_per_gb"]
    return watts * a.hours / 1000.0


def hardware_kgco2e(a: Activity, f: dict[str, float]) -> float:
    """Embodied carbon of the reserved hardware, kgCO2e (§4.3)."""
    if a.accelerators > 0:
        return a.accelerators * f["accelerator_embodied_kgco2e"]
    total = 0.0
    if a.cores:
        total += a.cores * f["core_embodied_kgco2e"]
    if a.memory_gb:
        total += a.memory_gb * f["memory_embodied_kgco2e_per_gb"]
    return total


def embodied_hardware_kgco2e(a: Activity, f: dict[str, float]) -> float:
    """Hardware embodied carbon × hours ÷ (lifetime × 8760 × use rate), kgCO2e (§4.3)."""
    hardware = hardware_kgco2e(a, f)
    if hardware == 0.0 or a.hours == 0.0:
        return 0.0
    return hardware * a.hours / (f["lifetime_years"] * HOURS_PER_YEAR * f["use_rate"])


def footprint(a: Activity, f: dict[str, float]) -> dict[str, float]:
    """Return the job's energy and lifecycle carbon (§4.2, §4.3), keyed by :data:`OUTPUTS`."""
    it = it_energy_kwh(a, f)
    facility = it * f["pue"]
    operational = facility * f["grid_kgco2e_per_kwh"]
    emb_hw = embodied_hardware_kgco2e(a, f)
    emb_fac = emb_hw * f["facility_embodied_fraction"]
    values = (
        it,
        facility,
        operational,
        facility * f["market_kgco2e_per_kwh"],
        emb_hw,
        emb_fac,
        emb_hw + emb_fac,
        operational + emb_hw + emb_fac,
    )
    return dict(zip(OUTPUTS, values, strict=True))


def estimate_job(
    job: Job,
    lk: dict[str, KeyLookup],
    params: dict[str, float],
    convention: Convention | None = None,
    years: YearPoints | None = None,
) -> dict[str, Any]:
    """Estimate one job given as a dict of canonical columns, charged by ``convention``.

    With ``years``, a job with a ``start`` is charged its year's grid (§4.2).
    """
    convention = resolve_convention(convention)
    a = activity(job, convention)
    rows = job_table_rows(job, lk, a.accelerators)
    # A factor the convention fixes stands in for a null override (§4.5).
    job = {**job, **{k: v for k, v in convention.factors.items() if given(job, k) is None}}
    f = job_factors(job, rows, params)
    region, year = rows[2], _start_year(job.get("start"))
    if years is not None and region is not None and year is not None:
        found = years.of(region["key"], year)
        if found is not None and given(job, "grid_kgco2e_per_kwh") is None:
            f["grid_kgco2e_per_kwh"] = found[0]
            # A market factor that falls back to the location one follows it.
            market_given = given(job, "market_kgco2e_per_kwh") is not None
            if not market_given and region.get("market_kgco2e_per_kwh") is None:
                f["market_kgco2e_per_kwh"] = found[0]
    return {"power_basis": a.basis, **footprint(a, f)}


def default_parameters(factors: Factors) -> dict[str, float]:
    """Return the defaults table as ``{parameter: value}``."""
    return dict(zip(factors.defaults["parameter"], factors.defaults["value"], strict=True))


def estimate_python(
    jobs: pl.DataFrame,
    factors: Factors | None = None,
    *,
    convention: str | Convention = "fleetcarbon",
    cpu_attribution: str | None = None,
    grid_year: str = "job",
) -> pl.DataFrame:
    """Estimate every job with a plain Python loop (the reference oracle).

    Parameters
    ----------
    jobs : pl.DataFrame
        Valid job records.
    factors : Factors, optional
        Factor tables; defaults to the bundled ones.
    convention, cpu_attribution, grid_year
        As for :func:`fleetcarbon.estimate`.

    Returns
    -------
    pl.DataFrame
        ``job_id``, ``power_basis`` and the output columns of :func:`fleetcarbon.estimate`.

    Examples
    --------
    >>> import polars as pl
    >>> from fleetcarbon.reference import estimate_python
    >>> jobs = pl.DataFrame({"job_id": [1], "duration_h": [10.0], "region": ["FR"],
    ...     "accelerator": ["nvidia-h100-sxm5-80gb"], "accelerator_count": [8]})
    >>> round(estimate_python(jobs)["it_energy_kwh"].item(), 2)
    53.2
    """
    factors = with_job_mixes(load_factors() if factors is None else factors, jobs)
    lk = lookups(factors)
    params = default_parameters(factors)
    chosen = resolve_convention(convention, cpu_attribution)
    years = YearPoints(factors) if grid_year == "job" else None
    rows = [
        {"job_id": job["job_id"], **estimate_job(job, lk, params, chosen, years)}
        for job in jobs.iter_rows(named=True)
    ]
    schema: dict[str, pl.DataType] = {"job_id": jobs.schema["job_id"], "power_basis": pl.String()}
    schema.update({name: pl.Float64() for name in OUTPUTS})
    return pl.DataFrame(rows, schema=schema, orient="row")


def grid_intensity_over_window(
    intervals: list[tuple[float, float, float]], annual: float, start_h: float, end_h: float
) -> float:
    """Return the intensity a flat-power window meets: a loop over a series' intervals.

    ``intervals`` are ``(start_h, end_h, kgco2e_per_kwh)``, non-overlapping; the
    window's hours that no interval covers get ``annual`` (docs/model.md §4.2).
    The oracle of :mod:`fleetcarbon.grid_windows`.
    """
    hours = end_h - start_h
    if hours <= 0:
        return annual
    integral = covered = 0.0
    for a, b, value in intervals:
        overlap = min(b, end_h) - max(a, start_h)
        if overlap > 0:
            integral += value * overlap
            covered += overlap
    return (integral + annual * (hours - covered)) / hours


def grid_intensity_with_profile(
    intervals: list[tuple[float, float, float]],
    annual: float,
    start_h: float,
    end_h: float,
    weights: list[float],
) -> float:
    """Return the intensity a window meets when its power follows ``weights``.

    Sub-interval k of the K equal parts of the window draws ``weights[k] / Σ
    weights`` of the energy and meets :func:`grid_intensity_over_window` over
    its own part, whose ends are whole microseconds from the start (floor of
    ``length × k / K``) as the engine cuts them (docs/model.md §4.2, "Power
    profiles").
    """
    k = len(weights)
    cuts = _profile_cuts(start_h, end_h, k)
    parts = [grid_intensity_over_window(intervals, annual, cuts[i], cuts[i + 1]) for i in range(k)]
    return sum(w * p for w, p in zip(weights, parts, strict=True)) / sum(weights)


def _profile_cuts(start_h: float, end_h: float, k: int) -> list[float]:
    """Return the ends of K equal sub-intervals of a window, whole µs from its start, in hours."""
    start_us, length_us = round(start_h * 3.6e9), round((end_h - start_h) * 3.6e9)
    return [(start_us + length_us * i // k) / 3.6e9 for i in range(k + 1)]


@dataclass(frozen=True)
class CfeWindow:
    """One job as hourly CFE matching sees it (docs/model.md §4.2, "Hourly CFE matching").

    ``key`` is its datacenter or region (None: not matched, no window);
    ``[start_h, end_h)`` its window (hours on any common origin) and
    ``energy_kwh`` its facility energy, drawn flat or, with ``weights``, over
    K equal sub-intervals as the engine cuts them (whole µs; a window under
    K µs stays flat). Its market intensity is ``market`` (kgCO2e/kWh), or,
    where ``series`` (``(start_h, end_h, value)`` intervals) covers, the
    series' value.
    """

    key: object
    start_h: float
    end_h: float
    energy_kwh: float
    market: float
    weights: tuple[float, ...] | None = None
    series: tuple[tuple[float, float, float], ...] = ()

    def parts(self) -> list[tuple[float, float, float]]:
        """``(start_h, end_h, energy_kwh)`` of each part of constant power."""
        k = len(self.weights) if self.weights else 1
        length_us = round((self.end_h - self.start_h) * 3.6e9)
        if self.weights is None or length_us < k:
            return [(self.start_h, self.end_h, self.energy_kwh)]
        cuts = _profile_cuts(self.start_h, self.end_h, k)
        total = sum(self.weights)
        return [
            (cuts[i], cuts[i + 1], self.energy_kwh * (w / total))
            for i, w in enumerate(self.weights)
        ]


def _overlap(a: float, b: float, c: float, d: float) -> float:
    return max(0.0, min(b, d) - max(a, c))


def cfe_match_python(
    windows: list[CfeWindow], supply: list[tuple[object, float, float, float]]
) -> tuple[list[float], list[float]]:
    """Match each job's energy against the supply, interval by interval: a plain loop.

    ``supply`` holds ``(key, start_h, end_h, cfe_kwh)`` intervals. In each
    interval t of key k, the demand ``D_t`` is the energy the jobs of k draw
    in t (power constant over each part); ``f_t = min(1, S_t / D_t)`` (0 when
    ``D_t = 0``); a job's matched energy is ``Σ_t e_{j,t} f_t``, and its
    market-based carbon ``Σ e (1 − f) I`` over its window, with ``f = 0``
    outside the supply. Returns ``(matched_kwh, operational_market_kgco2e)``
    per job. The oracle of :mod:`fleetcarbon.cfe_matching`.
    """

    def drawn(w: CfeWindow, a: float, b: float) -> float:
        return sum(e * _overlap(s, t, a, b) / (t - s) for s, t, e in w.parts() if t > s)

    fractions = []
    for key, a, b, cfe in supply:
        demand = sum(drawn(w, a, b) for w in windows if w.key == key and w.end_h > w.start_h)
        fractions.append(min(1.0, cfe / demand) if demand > 0 else 0.0)
    matched, market = [], []
    for w in windows:
        mine = [
            (a, b, f) for (key, a, b, _), f in zip(supply, fractions, strict=True) if key == w.key
        ]
        m = carbon = 0.0
        for s, t, e in w.parts() if w.end_h > w.start_h else []:
            rate = e / (t - s)
            m += sum(rate * f * _overlap(s, t, a, b) for a, b, f in mine)
            carbon += rate * _market_integral(w, s, t, mine)
        if w.end_h <= w.start_h:
            carbon = w.energy_kwh * w.market
        matched.append(m)
        market.append(carbon)
    return matched, market


def _market_integral(
    w: CfeWindow, s: float, t: float, fractions: list[tuple[float, float, float]]
) -> float:
    """``∫_s^t (1 − f) I dt``: the unmatched part of the market intensity over a part."""
    inner = [x for a, b, _ in (*fractions, *w.series) for x in (a, b) if s < x < t]
    cuts = sorted({s, t, *inner})
    total = 0.0
    for lo, hi in itertools.pairwise(cuts):
        f = next((f for a, b, f in fractions if a <= lo and hi <= b), 0.0)
        value = next((v for a, b, v in w.series if a <= lo and hi <= b), w.market)
        total += (hi - lo) * (1.0 - f) * value
    return total
