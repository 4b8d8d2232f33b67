"""Property tests: the engine against the pure-Python reference, and model invariants."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from baselines import estimate_numpy, estimate_polars
from conftest import make_factors
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fleetcarbon as fc
from fleetcarbon.reference import estimate_python
from fleetcarbon.schema import RESULT_COLUMNS

# Inputs span wide ranges on purpose; plausibility warnings have their own tests.
pytestmark = pytest.mark.filterwarnings("ignore::fleetcarbon.errors.AbsurdValueWarning")

FACTORS = make_factors()
FLOATS = RESULT_COLUMNS
finite = st.floats(min_value=0.0, max_value=1e4, allow_nan=False, allow_infinity=False)
maybe = lambda s: st.one_of(st.none(), s)  # noqa: E731

OVERRIDES = {
    "tdp_w": finite,
    "host_power_w": finite,
    "power_fraction": st.floats(0.0, 1.0),
    "accelerator_embodied_kgco2e": finite,
    "core_power_w": st.floats(0.0, 50.0),
    "pue": st.floats(1.0, 3.0),
    "grid_kgco2e_per_kwh": st.floats(0.0, 1.5),
    "market_kgco2e_per_kwh": st.floats(0.0, 1.5),
    "lifetime_years": st.floats(0.5, 10.0),
    "use_rate": st.floats(0.05, 1.0),
    "facility_embodied_fraction": st.floats(0.0, 1.0),
}


@st.composite
def job_rows(draw):
    gpu = draw(st.booleans())
    row = {
        "duration_h": draw(finite),
        "accelerator": draw(st.sampled_from(["gpu-a", "gpu-b", "GPU A"])) if gpu else None,
        # Fractional counts: MIG slices and shared GPUs.
        "accelerator_count": draw(st.sampled_from([1, 2, 8, 64, 0.25, 1 / 7, 2.5])) if gpu else 0,
        "cpu_cores": draw(st.integers(0 if gpu else 1, 256)),
        "memory_gb": draw(maybe(finite)),
        "cpu": draw(st.sampled_from([None, "generic", "cpu-x"])),
        "region": draw(st.sampled_from([None, "FR", "PL", "cloud:east", "pol"])),
        "datacenter": draw(st.sampled_from([None, "generic", "hyper", "site-pl"])),
        "energy_kwh": draw(maybe(finite)),
        "avg_power_w": draw(maybe(finite)),
        "cpu_time_h": draw(maybe(st.floats(0.0, 1e6))),
    }
    if row["region"] is None and row["datacenter"] != "site-pl":
        row["region"] = "WORLD"
    for name, strategy in OVERRIDES.items():
        row[name] = draw(maybe(strategy))
    return row


@st.composite
def job_frames(draw, max_size=30):
    rows = draw(st.lists(job_rows(), min_size=1, max_size=max_size))
    frame = pl.DataFrame(
        rows,
        schema_overrides={
            "memory_gb": pl.Float64,
            "accelerator_count": pl.Float64,
            "cpu_time_h": pl.Float64,
            **dict.fromkeys(OVERRIDES, pl.Float64),
        },
    )
    frame = frame.with_columns(
        pl.col("energy_kwh", "avg_power_w").cast(pl.Float64),
        job_id=pl.int_range(pl.len(), dtype=pl.Int64),
    )
    drop = draw(st.sets(st.sampled_from(sorted(OVERRIDES))))
    return frame.drop(sorted(drop))


def assert_close(a: pl.DataFrame, b: pl.DataFrame, rtol=1e-9):
    for c in FLOATS:
        np.testing.assert_allclose(
            a[c].to_numpy(), b[c].to_numpy(), rtol=rtol, atol=1e-300, err_msg=c
        )
    assert a["power_basis"].cast(pl.String).to_list() == b["power_basis"].cast(pl.String).to_list()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(job_frames())
def test_engine_matches_pure_python_reference(frame):
    assert_close(fc.estimate(frame, FACTORS), estimate_python(frame, FACTORS))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    job_frames(),
    st.sampled_from(["fleetcarbon", "ga4hpc"]),
    st.sampled_from([None, "reserved", "used"]),
)
def test_conventions_match_the_reference(frame, convention, cpu_attribution):
    chosen = {"convention": convention, "cpu_attribution": cpu_attribution}
    assert_close(fc.estimate(frame, FACTORS, **chosen), estimate_python(frame, FACTORS, **chosen))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(job_frames())
def test_vectorized_baselines_match_reference(frame):
    ref = estimate_python(frame, FACTORS)
    assert_close(estimate_numpy(frame, FACTORS), ref)
    assert_close(estimate_polars(frame, FACTORS), ref)


def _modelled(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.drop([c for c in ("energy_kwh", "avg_power_w") if c in frame.columns])


@settings(max_examples=60, deadline=None)
@given(job_frames(), st.floats(1.0, 50.0))
def test_monotone_in_duration_and_linear_scaling(frame, k):
    base = fc.estimate(frame, FACTORS)
    longer = fc.estimate(frame.with_columns(pl.col("duration_h") * k), FACTORS)
    for c in FLOATS:
        assert (longer[c] >= base[c] * (1 - 1e-12)).all(), c
    scaled = fc.estimate(_modelled(frame).with_columns(pl.col("duration_h") * k), FACTORS)
    unscaled = fc.estimate(_modelled(frame), FACTORS)
    for c in FLOATS:
        np.testing.assert_allclose(
            scaled[c].to_numpy(), unscaled[c].to_numpy() * k, rtol=1e-9, atol=1e-300
        )


@settings(max_examples=60, deadline=None)
@given(job_frames())
def test_monotone_in_accelerator_count(frame):
    gpu = frame.filter(pl.col("accelerator_count") > 0)
    if gpu.height == 0:
        return
    base = fc.estimate(gpu, FACTORS)
    more = fc.estimate(gpu.with_columns(pl.col("accelerator_count") * 2), FACTORS)
    for c in FLOATS:
        assert (more[c] >= base[c] * (1 - 1e-12)).all(), c
    # Modelled energy and embodied carbon are linear in the count.
    doubled = fc.estimate(_modelled(gpu).with_columns(pl.col("accelerator_count") * 2), FACTORS)
    single = fc.estimate(_modelled(gpu), FACTORS)
    for c in FLOATS:
        np.testing.assert_allclose(
            doubled[c].to_numpy(), 2 * single[c].to_numpy(), rtol=1e-9, atol=1e-300
        )


@settings(max_examples=60, deadline=None)
@given(job_frames())
def test_zero_duration_gives_zero(frame):
    out = fc.estimate(_modelled(frame).with_columns(duration_h=pl.lit(0.0)), FACTORS)
    for c in FLOATS:
        assert (out[c] == 0).all(), c


@settings(max_examples=40, deadline=None)
@given(job_frames(), st.randoms(use_true_random=False))
def test_row_order_and_chunking_do_not_matter(frame, rnd):
    out = fc.estimate(frame, FACTORS)
    order = list(range(frame.height))
    rnd.shuffle(order)
    shuffled = frame[order]
    split = max(1, frame.height // 2)
    chunked = pl.concat([shuffled[:split], shuffled[split:]], rechunk=False)
    again = fc.estimate(chunked, FACTORS).sort("job_id")
    assert again.equals(out.sort("job_id"))
