"""Numpy-vectorized baseline of :func:`fleetcarbon.estimate` (no validation)."""

from __future__ import annotations

import numpy as np
import polars as pl

from fleetcarbon.factors import Factors, load_factors
from fleetcarbon.reference import (
    HOURS_PER_YEAR,
    OUTPUTS,
    KeyLookup,
    default_parameters,
    lookups,
)

_NAN = float("nan")


def _column(jobs: pl.DataFrame, name: str, fill: float = _NAN) -> np.ndarray:
    if name not in jobs.columns:
        return np.full(jobs.height, fill)
    out = jobs[name].cast(pl.Float64).to_numpy().astype(np.float64)
    return np.where(np.isnan(out), fill, out)


def _table_rows(
    jobs: pl.DataFrame, column: str, lookup: KeyLookup, default: str | None
) -> tuple[np.ndarray, list]:
    """Row of each job in the table (-1 for none) and the table rows as dicts."""
    keys = list(lookup.rows)
    if column in jobs.columns:
        names = jobs[column].cast(pl.String).fill_null("").to_numpy().astype(str)
    else:
        names = np.full(jobs.height, "", dtype=str)
    uniq, inverse = np.unique(names, return_inverse=True)
    row_of = []
    for u in uniq:
        name = u if u else default
        row = lookup.get(name) if name else None
        row_of.append(keys.index(row["key"]) if row is not None else -1)
    return np.asarray(row_of, dtype=np.int64)[inverse], [lookup.rows[k] for k in keys]


def _gather(rows: np.ndarray, table: list, name: str) -> np.ndarray:
    values = np.array([_NAN if r[name] is None else float(r[name]) for r in table] + [_NAN])
    return values[rows]  # row -1 picks the trailing NaN


def _pick(jobs: pl.DataFrame, name: str, fallback: np.ndarray) -> np.ndarray:
    override = _column(jobs, name)
    return np.where(np.isnan(override), fallback, override)


def estimate_numpy(jobs: pl.DataFrame, factors: Factors | None = None) -> pl.DataFrame:
    """Estimate every (valid) job with numpy array operations, as the reference does."""
    factors = load_factors() if factors is None else factors
    params = default_parameters(factors)
    lk = lookups(factors)
    hours = _column(jobs, "duration_h")
    if "start" in jobs.columns and "end" in jobs.columns:
        window = (jobs["end"] - jobs["start"]).dt.total_microseconds().to_numpy() / 3.6e9
        hours = np.where(np.isnan(hours), window, hours)
    count = _column(jobs, "accelerator_count", 0.0)
    cores = _column(jobs, "cpu_cores", 0.0)
    memory = _column(jobs, "memory_gb", 0.0)
    acc_rows, acc = _table_rows(jobs, "accelerator", lk["accelerators"], None)
    cpu_rows, cpu = _table_rows(jobs, "cpu", lk["cpus"], "generic")
    reg_rows, reg = _table_rows(jobs, "region", lk["regions"], None)
    dc_rows, dc = _table_rows(jobs, "datacenter", lk["datacenters"], None)
    reg_keys = list(lk["regions"].rows)
    dc_keys = list(lk["datacenters"].rows)
    dc_region = np.array([reg_keys.index(r["region"]) if r["region"] else -1 for r in dc] + [-1])
    reg_rows = np.where(reg_rows < 0, dc_region[dc_rows], reg_rows)
    reg_default = np.array(
        [dc_keys.index(r["default_datacenter"]) for r in reg] + [dc_keys.index("generic")]
    )
    dc_rows = np.where(dc_rows < 0, reg_default[reg_rows], dc_rows)

    def param(name: str) -> np.ndarray:
        return _pick(jobs, name, np.full(jobs.height, float(params[name])))

    has_acc = count > 0
    per_acc = _pick(jobs, "tdp_w", _gather(acc_rows, acc, "tdp_w")) * param("power_fraction")
    per_acc += _pick(jobs, "host_power_w", _gather(acc_rows, acc, "host_power_w"))
    core_w = _pick(jobs, "core_power_w", _gather(cpu_rows, cpu, "core_power_w"))
    with np.errstate(invalid="ignore"):
        cpu_watts = np.where(cores != 0, cores * core_w, 0.0)
        cpu_watts += np.where(memory != 0, memory * param("memory_power_w_per_gb"), 0.0)
        modelled = np.where(has_acc, count * per_acc, cpu_watts) * hours / 1000.0
    energy = _column(jobs, "energy_kwh")
    power = _column(jobs, "avg_power_w")
    measured = power * np.where(has_acc, count, 1.0) * hours / 1000.0
    it = np.where(~np.isnan(energy), energy, np.where(~np.isnan(power), measured, modelled))
    basis = np.where(~np.isnan(energy), 0, np.where(~np.isnan(power), 1, 2))
    facility = it * _pick(jobs, "pue", _gather(dc_rows, dc, "pue"))
    grid = _pick(jobs, "grid_kgco2e_per_kwh", _gather(reg_rows, reg, "grid_kgco2e_per_kwh"))
    table_market = _gather(reg_rows, reg, "market_kgco2e_per_kwh")
    market = _pick(
        jobs, "market_kgco2e_per_kwh", np.where(np.isnan(table_market), grid, table_market)
    )
    with np.errstate(invalid="ignore"):
        acc_embodied = _gather(acc_rows, acc, "embodied_kgco2e")
        acc_hw = count * _pick(jobs, "accelerator_embodied_kgco2e", acc_embodied)
        core_e = _pick(jobs, "core_embodied_kgco2e", _gather(cpu_rows, cpu, "core_embodied_kgco2e"))
        cpu_hw = np.where(cores != 0, cores * core_e, 0.0)
        cpu_hw += np.where(memory != 0, memory * param("memory_embodied_kgco2e_per_gb"), 0.0)
        hardware = np.where(has_acc, acc_hw, cpu_hw)
        lifetime_h = param("lifetime_years") * HOURS_PER_YEAR * param("use_rate")
        emb_hw = np.where((hardware == 0) | (hours == 0), 0.0, hardware * hours / lifetime_h)
    emb_fac = emb_hw * _pick(
        jobs, "facility_embodied_fraction", _gather(dc_rows, dc, "facility_embodied_fraction")
    )
    op = facility * grid
    values = (
        it,
        facility,
        op,
        facility * market,
        emb_hw,
        emb_fac,
        emb_hw + emb_fac,
        op + emb_hw + emb_fac,
    )
    labels = np.array(["metered", "measured", "modelled"])
    return pl.DataFrame(
        {
            "job_id": jobs["job_id"],
            "power_basis": labels[basis],
            **dict(zip(OUTPUTS, values, strict=True)),
        }
    )
