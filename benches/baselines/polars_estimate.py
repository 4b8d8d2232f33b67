"""Polars-expression baseline of :func:`fleetcarbon.estimate`: joins plus expressions."""

from __future__ import annotations

import polars as pl

from fleetcarbon.factors import Factors, load_factors
from fleetcarbon.reference import (
    HOURS_PER_YEAR,
    OUTPUTS,
    KeyLookup,
    default_parameters,
    lookups,
)


def _canonical(
    column: str, lookup: KeyLookup, present: bool, default: str | None = None
) -> pl.Expr:
    if not present:
        return pl.lit(default, dtype=pl.String)
    names = {**{k.lower(): v for k, v in lookup.folded.items()}}
    exact = pl.col(column).cast(pl.String).replace_strict(lookup.names, default=None)
    folded = pl.col(column).cast(pl.String).str.to_lowercase().replace_strict(names, default=None)
    key = pl.coalesce(exact, folded)
    return key if default is None else key.fill_null(default)


def estimate_polars(jobs: pl.DataFrame, factors: Factors | None = None) -> pl.DataFrame:
    """Estimate every (valid) job with Polars joins and expressions, as the reference does."""
    factors = load_factors() if factors is None else factors
    params = default_parameters(factors)
    lk = lookups(factors)
    cols = set(jobs.columns)

    def col(name: str, fill: float | None = None) -> pl.Expr:
        if name not in cols:
            return pl.lit(fill, dtype=pl.Float64)
        c = pl.col(name).cast(pl.Float64)
        return c if fill is None else c.fill_null(fill)

    def pick(name: str, table_col: str | None = None) -> pl.Expr:
        fallback = pl.col(table_col or f"__t_{name}")
        return pl.coalesce(col(name), fallback) if name in cols else fallback

    def param(name: str) -> pl.Expr:
        return pl.coalesce(col(name), pl.lit(float(params[name])))

    acc = factors.accelerators.select(
        "key", *[pl.col(c).alias(f"__t_{c}") for c in ("tdp_w", "host_power_w", "embodied_kgco2e")]
    )
    cpu = factors.cpus.select(
        "key", *[pl.col(c).alias(f"__t_{c}") for c in ("core_power_w", "core_embodied_kgco2e")]
    )
    reg = factors.regions.select(
        "key",
        "__t_default_dc" if False else pl.col("default_datacenter").alias("__t_default_dc"),
        pl.col("grid_kgco2e_per_kwh").alias("__t_grid_kgco2e_per_kwh"),
        pl.col("market_kgco2e_per_kwh").alias("__t_market"),
    )
    dc = factors.datacenters.select(
        "key",
        pl.col("region").alias("__t_dc_region"),
        pl.col("pue").alias("__t_pue"),
        pl.col("facility_embodied_fraction").alias("__t_facility_embodied_fraction"),
    )
    hours = col("duration_h")
    if {"start", "end"} <= cols:
        window = (pl.col("end") - pl.col("start")).dt.total_microseconds() / 3.6e9
        hours = pl.coalesce(hours, window) if "duration_h" in cols else window
    frame = (
        jobs.lazy()
        .with_columns(
            hours.alias("__h"),
            _canonical("accelerator", lk["accelerators"], "accelerator" in cols).alias("__acc"),
            _canonical("cpu", lk["cpus"], "cpu" in cols, "generic").alias("__cpu"),
            _canonical("region", lk["regions"], "region" in cols).alias("__reg"),
            _canonical("datacenter", lk["datacenters"], "datacenter" in cols).alias("__dc"),
        )
        .join(acc.lazy(), left_on="__acc", right_on="key", how="left", maintain_order="left")
        .join(cpu.lazy(), left_on="__cpu", right_on="key", how="left", maintain_order="left")
        .join(dc.lazy(), left_on="__dc", right_on="key", how="left", maintain_order="left")
        .with_columns(pl.coalesce("__reg", "__t_dc_region").alias("__reg"))
        .join(reg.lazy(), left_on="__reg", right_on="key", how="left", maintain_order="left")
        .with_columns(pl.coalesce("__dc", "__t_default_dc", pl.lit("generic")).alias("__dc"))
        .drop("__t_pue", "__t_facility_embodied_fraction", "__t_dc_region")
        .join(
            dc.lazy().drop("__t_dc_region"),
            left_on="__dc",
            right_on="key",
            how="left",
            maintain_order="left",
        )
    )
    n, h = col("accelerator_count", 0.0), pl.col("__h")
    cores, mem = col("cpu_cores", 0.0), col("memory_gb", 0.0)
    cpu_watts = pl.when(cores != 0).then(cores * pick("core_power_w")).otherwise(0.0) + pl.when(
        mem != 0
    ).then(mem * param("memory_power_w_per_gb")).otherwise(0.0)
    acc_watts = n * (pick("tdp_w") * param("power_fraction") + pick("host_power_w"))
    modelled = pl.when(n > 0).then(acc_watts).otherwise(cpu_watts) * h / 1000.0
    measured = col("avg_power_w") * pl.when(n > 0).then(n).otherwise(1.0) * h / 1000.0
    it = pl.coalesce(col("energy_kwh"), measured, modelled)
    basis = (
        pl.when(col("energy_kwh").is_not_null())
        .then(pl.lit("metered"))
        .when(col("avg_power_w").is_not_null())
        .then(pl.lit("measured"))
        .otherwise(pl.lit("modelled"))
    )
    cpu_hw = pl.when(cores != 0).then(cores * pick("core_embodied_kgco2e")).otherwise(
        0.0
    ) + pl.when(mem != 0).then(mem * param("memory_embodied_kgco2e_per_gb")).otherwise(0.0)
    embodied = pick("accelerator_embodied_kgco2e", "__t_embodied_kgco2e")
    hardware = pl.when(n > 0).then(n * embodied).otherwise(cpu_hw)
    life_h = param("lifetime_years") * HOURS_PER_YEAR * param("use_rate")
    emb_hw = pl.when((hardware == 0) | (h == 0)).then(0.0).otherwise(hardware * h / life_h)
    out = frame.select(
        "job_id",
        basis.alias("power_basis"),
        it.alias("it"),
        (it * pick("pue")).alias("fac"),
        pick("grid_kgco2e_per_kwh").alias("grid"),
        pl.coalesce(col("market_kgco2e_per_kwh"), pl.col("__t_market")).alias("mkt"),
        emb_hw.alias("ehw"),
        pick("facility_embodied_fraction").alias("sdc"),
    ).select(
        "job_id",
        "power_basis",
        pl.col("it").alias(OUTPUTS[0]),
        pl.col("fac").alias(OUTPUTS[1]),
        (pl.col("fac") * pl.col("grid")).alias(OUTPUTS[2]),
        (pl.col("fac") * pl.coalesce("mkt", "grid")).alias(OUTPUTS[3]),
        pl.col("ehw").alias(OUTPUTS[4]),
        (pl.col("ehw") * pl.col("sdc")).alias(OUTPUTS[5]),
        (pl.col("ehw") * (1 + pl.col("sdc"))).alias(OUTPUTS[6]),
        (pl.col("fac") * pl.col("grid") + pl.col("ehw") * (1 + pl.col("sdc"))).alias(OUTPUTS[7]),
    )
    return out.collect()
