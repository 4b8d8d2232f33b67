"""Accounting conventions: core attribution by use, GA4HPC's host rule, fixed factors."""

from __future__ import annotations

import polars as pl
import pytest

import fleetcarbon as fc
from fleetcarbon.conventions import CONVENTIONS, Convention, resolve_convention
from fleetcarbon.errors import InvalidValueError, MissingColumnError, ParameterError

A100 = "nvidia-a100-sxm4-80gb"


def _jobs(**columns: list[object]) -> pl.DataFrame:
    base: dict[str, list[object]] = {
        "job_id": [1, 2, 3],
        "duration_h": [10.0, 10.0, 10.0],
        "region": ["GB", "GB", "GB"],
        "accelerator": [A100, None, None],
        "accelerator_count": [1.0, 0.0, 0.0],
        "cpu_cores": [4, 4, 4],
        "memory_gb": [10.0, 10.0, 10.0],
        "cpu_time_h": [20.0, None, 80.0],
    }
    return pl.DataFrame({**base, **columns})


def _watts(factors: fc.Factors, name: str) -> float:
    row = factors.accelerators.filter(pl.col("key") == A100).row(0, named=True)
    return float(row[name])


def test_ga4hpc_charges_gpus_at_tdp_plus_used_cores_and_memory():
    factors = fc.load_factors()
    out = fc.estimate(_jobs(), factors, convention="ga4hpc")
    tdp = _watts(factors, "tdp_w")
    core_w = factors.cpus.filter(pl.col("key") == "generic")["core_power_w"].item()
    memory_w = factors.defaults.filter(pl.col("parameter") == "memory_power_w_per_gb")
    memory_w = memory_w["value"].item()
    # Job 1: the GPU at full TDP, 4 cores used half the time (20 h of 40), 10 GB.
    gpu_job = (tdp + 4 * core_w * 0.5 + 10 * memory_w) * 10 / 1000
    # Job 2 logged no CPU time: charged as reserved. Job 3 used more than reserved: clipped.
    cpu_job = (4 * core_w + 10 * memory_w) * 10 / 1000
    assert out["it_energy_kwh"].to_list() == pytest.approx([gpu_job, cpu_job, cpu_job], rel=1e-15)


def test_the_default_charges_the_host_share_and_reserved_cores():
    factors = fc.load_factors()
    out = fc.estimate(_jobs(), factors)
    fraction = factors.defaults.filter(pl.col("parameter") == "power_fraction")["value"].item()
    gpu_job = (_watts(factors, "tdp_w") * fraction + _watts(factors, "host_power_w")) * 10 / 1000
    assert out["it_energy_kwh"][0] == pytest.approx(gpu_job, rel=1e-15)
    # Only the cores' attribution changes: the GPU job is unaffected by cpu_time_h.
    used = fc.estimate(_jobs(cpu_time_h=[2.0, None, 10.0]), factors, cpu_attribution="used")
    assert used["it_energy_kwh"][0] == out["it_energy_kwh"][0]
    assert used["it_energy_kwh"][2] < out["it_energy_kwh"][2]
    reserved = fc.estimate(_jobs(), factors, convention="ga4hpc", cpu_attribution="reserved")
    assert (
        reserved["it_energy_kwh"][0] > fc.estimate(_jobs(), convention="ga4hpc")["it_energy_kwh"][0]
    )


def test_embodied_carbon_does_not_depend_on_the_attribution():
    default = fc.estimate(_jobs())
    ga = fc.estimate(_jobs(), convention="ga4hpc")
    assert ga["embodied_kgco2e"].to_list() == default["embodied_kgco2e"].to_list()


def test_a_job_override_wins_over_the_convention():
    jobs = _jobs(power_fraction=[0.5, None, None])
    ga = fc.estimate(jobs, convention="ga4hpc")
    full = fc.estimate(_jobs(), convention="ga4hpc")
    tdp = _watts(fc.load_factors(), "tdp_w")
    assert full["it_energy_kwh"][0] - ga["it_energy_kwh"][0] == pytest.approx(tdp * 0.5 * 0.01)


def test_used_attribution_needs_cpu_time():
    with pytest.raises(MissingColumnError, match="cpu_time_h"):
        fc.estimate(_jobs().drop("cpu_time_h"), cpu_attribution="used")
    # The default never reads it.
    fc.estimate(_jobs().drop("cpu_time_h"))


def test_bad_cpu_time_is_refused_with_the_job():
    with pytest.raises(InvalidValueError, match="cpu_time_h") as info:
        fc.estimate(_jobs(cpu_time_h=[1.0, -3.0, float("nan")]))
    assert (info.value.column, info.value.n_bad) == ("cpu_time_h", 2)
    with pytest.warns(fc.errors.DroppedRowsWarning):
        out = fc.estimate(_jobs(cpu_time_h=[1.0, -3.0, 2.0]), on_invalid="drop")
    assert out["job_id"].to_list() == [1, 3]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"convention": "greenalgorithms"},
        {"convention": 3},
        {"cpu_attribution": "billed"},
    ],
)
def test_bad_convention_arguments_are_parameter_errors(kwargs):
    with pytest.raises(ParameterError):
        fc.estimate(_jobs(), **kwargs)


def test_custom_conventions_are_checked():
    with pytest.raises(ParameterError, match="unknown factors"):
        Convention("mine", factors={"tdp": 300.0})
    with pytest.raises(ParameterError, match="accelerator_host"):
        Convention("mine", accelerator_host="all")  # type: ignore[arg-type]
    mine = Convention("mine", accelerator_host="components", factors={"pue": 1.1})
    out = fc.estimate(_jobs(), convention=mine)
    assert out["facility_energy_kwh"].to_list() == pytest.approx(
        (out["it_energy_kwh"] * 1.1).to_list(), rel=1e-15
    )


def test_resolve_convention_names_the_replacement():
    assert resolve_convention(None) is CONVENTIONS["fleetcarbon"]
    assert resolve_convention("ga4hpc", "used") is CONVENTIONS["ga4hpc"]
    changed = resolve_convention("ga4hpc", "reserved")
    assert (changed.name, changed.cpu_attribution) == ("ga4hpc+reserved", "reserved")
    assert changed.accelerator_host == "components"


def test_simulate_takes_the_convention_and_fixes_its_factors():
    jobs = _jobs()
    ga = fc.simulate(jobs, convention="ga4hpc", draws=2_000, seed=3)
    point = fc.estimate(jobs, convention="ga4hpc")["it_energy_kwh"].sum()
    assert ga["it_energy_kwh"].item() == pytest.approx(point, rel=1e-12)
    # With power_fraction fixed at 1, the GPU job's energy can only come from
    # its TDP's spread, never from the shared power fraction's.
    default = fc.simulate(jobs, draws=2_000, seed=3)
    assert ga["it_energy_kwh_std"].item() < default["it_energy_kwh_std"].item()
