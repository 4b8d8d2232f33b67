"""Pure-Python reference implementation: one job at a time, plain floats and dicts."""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from fleetcarbon.factors import Factors, load_factors

HOURS_PER_YEAR = 8760.0
OUTPUTS = (
    "it_energy_kwh",
    "facility_energy_kwh",
    "operational_kgco2e",
    "operational_market_kgco2e",
    "embodied_hardware_kgco2e",
    "embodied_facility_kgco2e",
    "embodied_kgco2e",
    "total_kgco2e",
)


def _rows_by_key(frame: pl.DataFrame) -> dict[str, dict[str, Any]]:
    return {row["key"]: row for row in frame.iter_rows(named=True)}


class _Lookup:
    """Case-insensitive key and alias lookup over one table."""

    def __init__(self, factors: Factors, table: str):
        self.rows = _rows_by_key(factors.table(table))
        self.names = {k: k for k in self.rows}
        for alias, tab, key in factors.aliases.select("alias", "table", "key").iter_rows():
            if tab == table and key in self.rows:
                self.names.setdefault(alias, key)
        self.folded: dict[str, str] = {}
        for name, key in self.names.items():
            self.folded.setdefault(name.lower(), key)

    def get(self, name: object) -> dict[str, Any] | None:
        if name is None:
            return None
        key = self.names.get(str(name)) or self.folded.get(str(name).lower())
        if key is None:
            raise KeyError(f"unknown key {name!r}")
        return self.rows[key]


def _given(job: dict[str, Any], column: str) -> float | None:
    value = job.get(column)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def _hours(job: dict[str, Any]) -> float:
    hours = _given(job, "duration_h")
    if hours is None:
        return (job["end"] - job["start"]).total_seconds() / 3600.0
    return hours


def job_table_rows(
    job: dict[str, Any], lookups: dict[str, _Lookup], accelerator_count: float
) -> tuple[dict[str, Any] | None, dict[str, Any], dict[str, Any] | None, dict[str, Any] | None]:
    """Resolve a job's accelerator, CPU, region and datacenter rows.

    With the engine's fallbacks: the datacenter's region when the job names
    none, and the region's default datacenter (else ``generic``) when it names
    no datacenter.
    """
    accel = lookups["accelerators"].get(job.get("accelerator")) if accelerator_count > 0 else None
    cpu = lookups["cpus"].get(job.get("cpu") or "generic")
    region = lookups["regions"].get(job.get("region"))
    datacenter = lookups["datacenters"].get(job.get("datacenter"))
    if region is None and datacenter is not None and datacenter["region"] is not None:
        region = lookups["regions"].get(datacenter["region"])
    if datacenter is None:
        key = region["default_datacenter"] if region is not None else "generic"
        datacenter = lookups["datacenters"].get(key)
    return accel, cpu, region, datacenter


def estimate_job(
    job: dict[str, Any],
    lookups: dict[str, _Lookup],
    params: dict[str, float],
) -> dict[str, Any]:
    """Estimate one job given as a dict of canonical columns."""
    h = _hours(job)
    count = _given(job, "accelerator_count") or 0.0
    cores = _given(job, "cpu_cores") or 0.0
    memory = _given(job, "memory_gb") or 0.0
    accel, cpu, region, datacenter = job_table_rows(job, lookups, count)

    def factor(name: str, row: dict[str, Any] | None, column: str | None = None) -> float:
        override = _given(job, name)
        if override is not None:
            return override
        if row is None:
            raise KeyError(f"no value for {name}")
        return float(row[column or name])

    def param(name: str) -> float:
        override = _given(job, name)
        return params[name] if override is None else override

    if _given(job, "energy_kwh") is not None:
        basis, it = "metered", float(job["energy_kwh"])
    elif _given(job, "avg_power_w") is not None:
        basis = "measured"
        it = float(job["avg_power_w"]) * (count if count > 0 else 1.0) * h / 1000.0
    else:
        basis = "modelled"
        if count > 0:
            per = factor("tdp_w", accel) * param("power_fraction") + factor("host_power_w", accel)
            watts = count * per
        else:
            watts = 0.0
            if cores:
                watts += cores * factor("core_power_w", cpu)
            if memory:
                watts += memory * param("memory_power_w_per_gb")
        it = watts * h / 1000.0
    facility = it * factor("pue", datacenter)
    grid = factor("grid_kgco2e_per_kwh", region)
    market = _given(job, "market_kgco2e_per_kwh")
    if market is None:
        table_market = region.get("market_kgco2e_per_kwh") if region is not None else None
        market = grid if table_market is None or math.isnan(table_market) else float(table_market)
    if count > 0:
        hardware = count * factor("accelerator_embodied_kgco2e", accel, "embodied_kgco2e")
    else:
        hardware = 0.0
        if cores:
            hardware += cores * factor("core_embodied_kgco2e", cpu)
        if memory:
            hardware += memory * param("memory_embodied_kgco2e_per_gb")
    if hardware == 0.0 or h == 0.0:
        emb_hw = 0.0
    else:
        emb_hw = hardware * h / (param("lifetime_years") * HOURS_PER_YEAR * param("use_rate"))
    emb_fac = emb_hw * factor("facility_embodied_fraction", datacenter)
    op = facility * grid
    values = (it, facility, op, facility * market, emb_hw, emb_fac, emb_hw + emb_fac)
    return {
        "power_basis": basis,
        **dict(zip(OUTPUTS, (*values, op + emb_hw + emb_fac), strict=True)),
    }


def estimate_python(jobs: pl.DataFrame, factors: Factors | None = None) -> pl.DataFrame:
    """Estimate every job with a plain Python loop (the reference oracle).

    Parameters
    ----------
    jobs : pl.DataFrame
        Valid job records.
    factors : Factors, optional
        Factor tables; defaults to the bundled ones.

    Returns
    -------
    pl.DataFrame
        ``job_id`` plus the output columns of :func:`fleetcarbon.estimate`.
    """
    factors = load_factors() if factors is None else factors
    lookups = {t: _Lookup(factors, t) for t in ("accelerators", "cpus", "regions", "datacenters")}
    params = dict(zip(factors.defaults["parameter"], factors.defaults["value"], strict=True))
    rows = []
    for job in jobs.iter_rows(named=True):
        rows.append({"job_id": job["job_id"], **estimate_job(job, lookups, params)})
    schema = {"job_id": jobs.schema["job_id"], "power_basis": pl.String}
    schema.update(dict.fromkeys(OUTPUTS, pl.Float64))
    return pl.DataFrame(rows, schema=schema, orient="row")
