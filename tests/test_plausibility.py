"""Unit slips: valid values that look like the wrong unit warn, with the fix, per column."""

from __future__ import annotations

import warnings

import polars as pl
import pytest

import fleetcarbon as fc
from fleetcarbon.errors import AbsurdValueWarning, UnitWarning

A100 = "nvidia-a100-sxm4-80gb"


def gpu_jobs(**columns) -> pl.DataFrame:
    n = len(next(iter(columns.values())))
    base = {
        "job_id": list(range(1, n + 1)),
        "accelerator": [A100] * n,
        "accelerator_count": [8] * n,
        "region": ["FR"] * n,
    }
    return pl.DataFrame({**base, **columns})


def unit_warnings(frame: pl.DataFrame) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fc.estimate(frame)
    return [str(w.message) for w in caught if issubclass(w.category, UnitWarning)]


@pytest.mark.parametrize(
    ("frame", "fragments"),
    [
        # 10 h written in seconds.
        (gpu_jobs(duration_h=[36_000.0, 10.0, 12.0]), ["duration_h", "in 1 job", "/ 3600"]),
        # 80 GPU-hours metered in Wh.
        (
            gpu_jobs(duration_h=[10.0, 10.0, 10.0], energy_kwh=[56_000.0, 40.0, 35.0]),
            ["energy_kwh", "over 300%", "in 1 job", "Wh, divide by 1,000"],
        ),
        # Power in kW.
        (
            gpu_jobs(duration_h=[10.0, 10.0], avg_power_w=[0.5, 400.0]),
            ["avg_power_w", "under 10 W per accelerator", "multiply by 1,000"],
        ),
        # Slurm's ConsumedEnergy of the CPUs only: about 3 W per A100.
        (
            gpu_jobs(duration_h=[10.0, 10.0], energy_kwh=[0.24, 0.25]),
            ["energy_kwh", "under 10%", "in 2 jobs", "ConsumedEnergy"],
        ),
    ],
)
def test_unit_slips_warn_with_the_fix(frame, fragments):
    messages = unit_warnings(frame)
    assert any(all(f in m for f in fragments) for m in messages), messages


def test_memory_in_megabytes_warns():
    frame = pl.DataFrame(
        {"job_id": [1, 2], "duration_h": [1.0, 1.0], "region": ["FR"] * 2, "cpu_cores": [32, 32]}
    )
    messages = unit_warnings(frame.with_columns(memory_gb=pl.Series([128_000.0, 128.0])))
    assert any("memory_gb" in m and "divide by 1,024" in m and "in 1 job" in m for m in messages)


def test_plausible_values_do_not_warn_and_the_category_can_be_silenced():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fc.estimate(fc.synthetic_fleet(20_000, seed=4))
        fc.estimate(gpu_jobs(duration_h=[10.0], energy_kwh=[40.0], avg_power_w=[None]))
    slip = gpu_jobs(duration_h=[36_000.0])
    assert issubclass(UnitWarning, AbsurdValueWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", UnitWarning)
        fc.estimate(slip)


def _dated_jobs(years: list[int], **columns) -> pl.DataFrame:
    from datetime import datetime, timezone

    n = len(years)
    base = {
        "job_id": list(range(1, n + 1)),
        "start": [datetime(y, 6, 1, tzinfo=timezone.utc) for y in years],
        "duration_h": [2.0] * n,
        "region": ["FR"] * n,
        "cpu_cores": [16] * n,
    }
    return pl.DataFrame({**base, **columns})


def _date_warnings(frame: pl.DataFrame) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fc.estimate(frame)
    return [str(w.message) for w in caught if w.category is fc.errors.HardwareDateWarning]


def test_old_jobs_on_the_generic_core_warn_and_name_the_fix():
    release = fc.load_factors().cpus.filter(pl.col("key") == "generic")["release_year"].item()
    messages = _date_warnings(_dated_jobs([2005, 2010, release - 1, release]))
    assert len(messages) == 1
    assert "2 jobs" in messages[0] and "'generic'" in messages[0]
    assert "(1, 2005, 'generic'" in messages[0] and "cluster config" in messages[0]
    assert issubclass(fc.errors.HardwareDateWarning, AbsurdValueWarning)


def test_hardware_of_the_jobs_own_era_does_not_warn():
    cpus = fc.load_factors().cpus.filter(pl.col("release_year") <= 2010)
    old = cpus["key"][0]
    assert _date_warnings(_dated_jobs([2010, 2011], cpu=[old, old])) == []
    # Without a start time nothing is dated, so nothing warns.
    assert _date_warnings(_dated_jobs([2005]).drop("start")) == []


def test_accelerators_released_after_the_job_warn():
    frame = _dated_jobs(
        [2012, 2024],
        accelerator=["nvidia-h100-sxm5-80gb"] * 2,
        accelerator_count=[8, 8],
        cpu_cores=[0, 0],
    )
    messages = _date_warnings(frame)
    assert len(messages) == 1 and "column 'accelerator': 1 job" in messages[0]
    # CPU-only rows do not borrow the accelerator's date, nor GPU rows the CPU's.
    assert "'cpu'" not in messages[0]
