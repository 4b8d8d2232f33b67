"""Every kind of bad input gets a specific FleetcarbonError naming column, count and examples."""

from __future__ import annotations

import warnings
from datetime import datetime, timedelta

import polars as pl
import pytest

import fleetcarbon as fc
from fleetcarbon import errors


def jobs(**overrides):
    base = {
        "job_id": [1, 2, 3],
        "duration_h": [1.0, 2.0, 3.0],
        "accelerator": ["gpu-a", "gpu-b", "gpu-a"],
        "accelerator_count": [1, 2, 4],
        "region": ["FR", "PL", "FR"],
    }
    base.update(overrides)
    return pl.DataFrame({k: v for k, v in base.items() if v is not None})


def raises(exc, frame, factors, *fragments):
    with pytest.raises(exc) as info:
        fc.estimate(frame, factors)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, errors.FleetcarbonError)
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)
    return info.value


@pytest.mark.parametrize("column", ["job_id", "duration_h"])
def test_missing_required_column(factors, column):
    raises(errors.MissingColumnError, jobs(**{column: None}), factors, column)


def test_missing_location(factors):
    raises(errors.MissingColumnError, jobs(region=None), factors, "region")


def test_wrong_dtype(factors):
    raises(errors.SchemaError, jobs(duration_h=["1", "2", "3"]), factors, "duration_h", "numeric")
    raises(errors.SchemaError, jobs(region=[1, 2, 3]), factors, "region")
    raises(errors.SchemaError, jobs(job_id=[1.0, 2.0, 3.0]), factors, "job_id")


def test_nulls_in_required_column(factors):
    e = raises(errors.InvalidValueError, jobs(duration_h=[1.0, None, None]), factors, "duration_h")
    assert e.n_bad == 2
    assert e.examples[0][0] == 2
    raises(
        errors.InvalidValueError, jobs(accelerator_count=[1, None, 2]), factors, "accelerator_count"
    )
    raises(errors.InvalidValueError, jobs(job_id=[1, None, 3]), factors, "job_id")


@pytest.mark.parametrize(
    ("column", "values"),
    [
        ("duration_h", [1.0, -2.0, 3.0]),
        ("duration_h", [1.0, float("nan"), 3.0]),
        ("duration_h", [1.0, float("inf"), 3.0]),
        ("accelerator_count", [1, -1, 2]),
        ("accelerator_count", [1.0, float("nan"), 2.0]),
        ("energy_kwh", [1.0, -1.0, None]),
        ("avg_power_w", [float("nan"), None, None]),
        ("cpu_cores", [-4, None, None]),
        ("memory_gb", [float("inf"), None, None]),
        ("tdp_w", [-1.0, None, None]),
    ],
)
def test_negative_nan_or_inf_values(factors, column, values):
    e = raises(errors.InvalidValueError, jobs(**{column: values}), factors, column, "1 row")
    assert e.n_bad == 1


def test_end_before_start(factors):
    t = datetime(2025, 1, 1)
    frame = jobs(
        duration_h=None, start=[t] * 3, end=[t + timedelta(hours=1), t - timedelta(hours=1), t]
    )
    e = raises(errors.InvalidValueError, frame, factors, "end", "before")
    assert e.n_bad == 1


def test_mixed_naive_and_aware_times(factors):
    t = datetime(2025, 1, 1)
    frame = jobs(duration_h=None, start=[t] * 3, end=[t] * 3).with_columns(
        pl.col("end").dt.replace_time_zone("UTC")
    )
    raises(errors.SchemaError, frame, factors, "time-zone")


def test_unknown_keys_are_listed_with_suggestions(factors):
    e = raises(
        errors.UnknownKeyError,
        jobs(accelerator=["gpu-a", "gpu-c", "gpu-c"]),
        factors,
        "accelerator",
        "gpu-c",
        "did you mean",
    )
    assert e.n_bad == 2
    assert e.unknown == ["gpu-c"]
    assert "gpu-a" in e.suggestions["gpu-c"] or "gpu-b" in e.suggestions["gpu-c"]
    raises(errors.UnknownKeyError, jobs(region=["FR", "FRANCE", "XX"]), factors, "region", "FRANCE")
    frame = jobs(datacenter=["hyper", "hyperr", None])
    raises(errors.UnknownKeyError, frame, factors, "datacenter", "hyperr")


def test_aliases_and_case_are_not_unknown(factors):
    out = fc.estimate(
        jobs(accelerator=["GPU A", "gpu-B", "Gpu-A"], region=["fr", "POL", "pl"]), factors
    )
    assert out.height == 3


def test_duplicate_job_id(factors):
    e = raises(errors.DuplicateJobError, jobs(job_id=["a", "b", "a"]), factors, "job_id", "a")
    assert e.n_bad == 2


def test_pue_below_one(factors):
    raises(errors.InvalidValueError, jobs(pue=[1.1, 0.9, None]), factors, "pue")


@pytest.mark.parametrize("column", ["power_fraction", "use_rate", "facility_embodied_fraction"])
def test_fraction_outside_unit_interval(factors, column):
    raises(errors.InvalidValueError, jobs(**{column: [0.5, 1.5, None]}), factors, column)


def test_use_rate_zero_and_lifetime_zero(factors):
    raises(errors.InvalidValueError, jobs(use_rate=[0.0, None, None]), factors, "use_rate")
    raises(
        errors.InvalidValueError, jobs(lifetime_years=[0.0, None, None]), factors, "lifetime_years"
    )


def test_gpu_job_without_accelerator_key(factors):
    raises(
        errors.InvalidValueError, jobs(accelerator=["gpu-a", None, "gpu-a"]), factors, "accelerator"
    )


def test_no_grid_intensity(factors):
    frame = jobs(region=None, datacenter=["site-pl", "generic", "hyper"])
    e = raises(errors.InvalidValueError, frame, factors, "grid intensity")
    assert e.n_bad == 2


def test_job_describing_no_hardware(factors):
    frame = jobs(accelerator=[None] * 3, accelerator_count=[0, 0, 0])
    raises(errors.InvalidValueError, frame, factors, "no hardware")


def test_on_invalid_drop_reports_counts_and_keeps_good_rows(factors):
    frame = jobs(duration_h=[1.0, -1.0, 3.0], accelerator=["gpu-a", "gpu-a", "nope"])
    with pytest.warns(errors.DroppedRowsWarning, match="dropped 2 invalid rows"):
        out = fc.estimate(frame, factors, on_invalid="drop")
    assert out["job_id"].to_list() == [1]


def test_absurd_values_warn(factors):
    with pytest.warns(errors.AbsurdValueWarning, match="duration_h"):
        fc.estimate(jobs(duration_h=[1.0, 1e6, 1.0]), factors)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fc.estimate(jobs(), factors)


def test_bad_on_invalid_and_bad_input_type(factors):
    with pytest.raises(ValueError, match="on_invalid"):
        fc.estimate(jobs(), factors, on_invalid="ignore")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        fc.estimate({"job_id": [1]}, factors)  # type: ignore[arg-type]


def test_kernel_errors_are_fleetcarbon_errors_naming_row_column_and_count(factors):
    import numpy as np

    from fleetcarbon import _core

    jobs = _core.Jobs(duration_h=np.ones(3), cpu_cores=np.ones(3), cpu=99, region=0)
    with pytest.raises(errors.KernelError, match="out of range") as caught:
        _core.estimate(jobs, factors.engine)
    e = caught.value
    assert isinstance(e, errors.FleetcarbonError) and isinstance(e, ValueError)
    assert (e.kind, e.column, e.row) == ("index_out_of_range", "cpu", 0)
    rows = np.array([0, 99, 99], dtype=np.uint32)
    jobs = _core.Jobs(duration_h=np.ones(3), cpu_cores=np.ones(3), cpu=rows, region=0)
    with pytest.raises(errors.KernelError) as caught:
        _core.estimate(jobs, factors.engine)
    assert (caught.value.row, caught.value.count) == (1, 2)
    with pytest.raises(errors.FleetcarbonError, match="has 2 rows, expected 3"):
        _core.Jobs(duration_h=np.ones(3), cpu_cores=np.ones(2))


def test_a_panic_is_an_internal_error_not_a_value_error():
    from fleetcarbon import _core

    with pytest.raises(errors.InternalError, match="please report it") as caught:
        _core._panic_for_tests("boom")
    assert not isinstance(caught.value, ValueError)
    assert "boom" in str(caught.value)


def test_bad_factor_tables_are_rejected(factors):
    with pytest.raises(errors.InvalidValueError, match="pue"):
        factors.with_rows(datacenters=pl.DataFrame({"key": ["hyper"], "pue": [0.8]}))
    with pytest.raises(errors.MissingColumnError, match="needs key, tdp_w, host_power_w"):
        factors.with_rows(accelerators=pl.DataFrame({"key": ["new-gpu"], "tdp_w": [500.0]}))
    with pytest.raises(errors.SchemaError, match="no column"):
        factors.with_rows(accelerators=pl.DataFrame({"key": ["x"], "watts": [1.0]}))
    with pytest.raises(errors.InvalidValueError, match="linked"):
        factors.with_rows(datacenters=pl.DataFrame({"key": ["hyper"], "region": ["Atlantis"]}))


def test_output_name_used_as_override_is_refused(factors):
    with pytest.raises(errors.SchemaError, match="accelerator_embodied_kgco2e"):
        fc.estimate(jobs(embodied_kgco2e=[1.0, 2.0, 3.0]), factors)


def test_start_and_end_in_different_time_zones(factors):
    t = datetime(2025, 6, 1, 12)
    frame = jobs(duration_h=None, start=[t] * 3, end=[t] * 3).with_columns(
        pl.col("start").dt.replace_time_zone("UTC"),
        pl.col("end").dt.replace_time_zone("Europe/Paris") + pl.duration(hours=3),
    )
    out = fc.estimate(frame, factors)
    # 12:00 UTC to 15:00 Paris (13:00 UTC) is one hour.
    assert out["it_energy_kwh"][0] == pytest.approx((700 * 0.8 + 150) / 1000)


def test_null_accelerator_count_is_zero_without_a_key(factors):
    frame = jobs(accelerator=["gpu-a", None, None], accelerator_count=[1, None, None]).with_columns(
        cpu_cores=pl.Series([None, 4, 8])
    )
    out = fc.estimate(frame, factors)
    assert out["it_energy_kwh"][1] == pytest.approx(4 * 10 * 2 / 1000)
    raises(
        errors.InvalidValueError,
        jobs(accelerator_count=[1, None, 2]),
        factors,
        "accelerator_count",
        "null",
    )


def test_unknown_default_parameter_and_implausible_table_values(factors):
    with pytest.raises(errors.InvalidValueError, match="lifetime_yrs"):
        factors.with_rows(defaults=pl.DataFrame({"parameter": ["lifetime_yrs"], "value": [6.0]}))
    with pytest.warns(errors.AbsurdValueWarning, match="unit"):
        factors.with_rows(regions=pl.DataFrame({"key": ["FR"], "grid_kgco2e_per_kwh": [56.0]}))


def test_near_miss_column_names_warn(factors):
    with pytest.warns(errors.ColumnNameWarning, match="did you mean 'pue'"):
        fc.estimate(jobs(PUE=[1.2, 1.2, 1.2]), factors)


def test_job_id_must_be_int_or_string(factors):
    raises(errors.SchemaError, jobs(job_id=[True, False, None]), factors, "job_id")


def test_overflow_names_the_job(factors):
    e = raises(
        errors.NonFiniteResultError,
        jobs(
            job_id=["a", "b", "c"],
            duration_h=[1.0, 1e307, 1e307],
            accelerator_count=[1, 1000, 1000],
        ),
        factors,
        "overflowed",
        "in 2 rows",
    )
    assert e.examples == ["b"]
    assert e.n_bad == 2


def test_negative_zero_does_not_reach_outputs(factors):
    out = fc.estimate(jobs(energy_kwh=[-0.0, None, None]), factors)
    assert str(out["it_energy_kwh"][0]) == "0.0"


def test_threads_must_be_positive(factors):
    with pytest.raises(ValueError, match="threads"):
        fc.estimate(jobs(), factors, threads=0)


def test_load_factors_returns_an_independent_copy():
    first = fc.load_factors()
    first.accelerators[0, "tdp_w"] = 1.0
    assert fc.load_factors().accelerators["tdp_w"][0] != 1.0
