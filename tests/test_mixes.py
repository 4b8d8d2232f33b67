"""Mix keys (``mix:A=0.7,B=0.3``): a hardware row that stands for a known mix of rows.

estimate must equal the weighted mean of the footprints on the parts (the model is
linear in a hardware row's factors); simulate must draw the mix, in every draw, as
the weighted mean of its parts' draws, shared with the jobs that name the parts.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fleetcarbon as fc
from fleetcarbon.errors import (
    DistributionError,
    DroppedRowsWarning,
    HardwareDateWarning,
    InvalidValueError,
    UnknownKeyError,
)
from fleetcarbon.factors.mixes import parse_mix_key, with_job_mixes
from fleetcarbon.uncertainty import Fixed

V100, T4, H100 = "nvidia-v100-sxm2-32gb", "nvidia-t4-16gb", "nvidia-h100-sxm5-80gb"
GPUS = [V100, T4, H100, "nvidia-a100-sxm4-80gb", "nvidia-l4-24gb"]
CPUS = ["generic", "intel-xeon-e5-2680-v4", "amd-epyc-7763"]
RESULTS = ["it_energy_kwh", "operational_kgco2e", "embodied_kgco2e", "total_kgco2e"]


def jobs(accelerator: list[str], **columns: object) -> pl.DataFrame:
    n = len(accelerator)
    base: dict[str, object] = {
        "job_id": list(range(1, n + 1)),
        "duration_h": [10.0] * n,
        "region": ["FR"] * n,
        "accelerator": accelerator,
        "accelerator_count": [2.0] * n,
    }
    return pl.DataFrame(base | columns)


def quiet_estimate(frame: pl.DataFrame, **kwargs: object) -> pl.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fc.estimate(frame, **kwargs)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- keys


def test_mix_key_spells_the_parts_in_order() -> None:
    assert fc.mix_key({V100: 0.7, T4: 0.3}) == f"mix:{V100}=0.7,{T4}=0.3"
    assert fc.mix_key({V100: 1}) == V100
    assert parse_mix_key(f"mix:{V100}=0.7, Tesla T4 = 0.3") == [(V100, 0.7), ("Tesla T4", 0.3)]


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ({V100: 0.7, T4: 0.2}, "sum to 0.9"),
        ({V100: 1.2, T4: -0.2}, "> 0"),
        ({V100: 0.0, T4: 1.0}, "> 0"),
        ({V100: math.nan, T4: 1.0}, "> 0"),
        ({V100: True}, "number"),
        ({V100: "1"}, "number"),
        ({}, "no parts"),
        ({f"mix:{V100}=1": 1.0}, "cannot be a mix"),
    ],
)
def test_mix_key_refuses_bad_weights(parts: dict, message: str) -> None:
    with pytest.raises(fc.errors.ParameterError, match=f"mix_key: parts.*{message}"):
        fc.mix_key(parts)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (f"mix:{V100}", "not KEY=WEIGHT"),
        (f"mix:{V100}=0.5,{T4}=half", "not a number"),
        (f"mix:{V100}=0.5,{V100}=0.5", "twice"),
        ("mix:=1", "not KEY=WEIGHT"),
        (f"mix:{V100}=0.5,{T4}=0.4", "sum to 0.9"),
    ],
)
def test_a_malformed_mix_key_names_the_column_and_the_key(key: str, message: str) -> None:
    with pytest.raises(
        InvalidValueError, match=f"column 'accelerator': malformed mix key.*{message}"
    ):
        fc.estimate(jobs([key]))


def test_an_unknown_part_is_an_unknown_key_with_suggestions() -> None:
    with pytest.raises(UnknownKeyError, match="nvidia-v100-sxm2-32gb"):
        fc.estimate(jobs([f"mix:nvidia-v100-sxm2-32=0.5,{T4}=0.5"]))
    with pytest.raises(InvalidValueError, match="names a row twice"):
        fc.estimate(jobs([f"mix:v100=0.5,{V100}=0.5"]))


def test_bad_mixes_are_dropped_with_on_invalid_drop() -> None:
    frame = jobs([f"mix:{V100}=0.5,{T4}=0.4", f"mix:nope=0.5,{T4}=0.5", f"mix:{V100}=0.5,{T4}=0.5"])
    with pytest.warns(DroppedRowsWarning, match="dropped 2 invalid rows .*unknown keys"):
        out = fc.estimate(frame, on_invalid="drop")
    assert out["job_id"].to_list() == [3]


# ----------------------------------------------------------------------------- rows


def test_the_mix_row_holds_weighted_means_and_bounds() -> None:
    factors = fc.load_factors()
    key = fc.mix_key({V100: 0.7, T4: 0.3})
    extended = with_job_mixes(factors, jobs([key]))
    table = extended.accelerators
    rows = {k: table.filter(pl.col("key") == k).row(0, named=True) for k in (V100, T4, key)}
    for column in ("tdp_w", "host_power_w", "embodied_kgco2e"):
        for c in (column, f"{column}_low", f"{column}_high"):
            assert rows[key][c] == pytest.approx(0.7 * rows[V100][c] + 0.3 * rows[T4][c])
    assert rows[key]["release_year"] == min(rows[V100]["release_year"], rows[T4]["release_year"])
    assert rows[key]["embodied_source"] and rows[key]["licence"]
    assert [m.key for m in extended.mixes] == [key]
    # The same keys give the same object (cached key index and engine tables).
    assert with_job_mixes(factors, jobs([key, key])) is extended
    assert with_job_mixes(factors, jobs([V100])) is factors
    # A user's rows replace the parts; the mix is derived again on the next run.
    changed = pl.DataFrame({"key": [T4], "tdp_w": [75.0], "tdp_w_high": [75.0]})
    assert extended.with_rows(accelerators=changed).mixes == ()
    assert table.height == factors.accelerators.height + 1


mixes = st.lists(st.sampled_from(GPUS), min_size=1, max_size=4, unique=True).flatmap(
    lambda keys: st.tuples(
        st.just(keys),
        st.lists(st.integers(1, 1000), min_size=len(keys), max_size=len(keys)),
    )
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mixes,
    st.floats(0.01, 10_000),
    st.floats(0.01, 64),
    st.floats(0.0, 512),
    st.sampled_from(["FR", "US-EGRID-CAMX", "gcp:us-central1", "PL"]),
    st.sampled_from(["fleetcarbon", "ga4hpc"]),
)
def test_estimate_of_a_mix_is_the_weighted_mean_of_its_parts(
    mix: tuple[list[str], list[int]],
    hours: float,
    count: float,
    cores: float,
    region: str,
    convention: str,
) -> None:
    keys, ints = mix
    weights = [i / sum(ints) for i in ints]
    parts = dict(zip(keys, weights, strict=True))
    if abs(math.fsum(weights) - 1) > 1e-9:
        return
    key = fc.mix_key(parts)
    frame = jobs(
        [key, *keys],
        duration_h=[hours] * (len(keys) + 1),
        accelerator_count=[count] * (len(keys) + 1),
        cpu_cores=[cores] * (len(keys) + 1),
        memory_gb=[4 * cores] * (len(keys) + 1),
        cpu_time_h=[0.5 * cores * hours] * (len(keys) + 1),
        region=[region] * (len(keys) + 1),
    )
    out = quiet_estimate(frame, convention=convention)
    for column in RESULTS:
        values = out[column].to_list()
        expected = math.fsum(w * v for w, v in zip(weights, values[1:], strict=True))
        assert values[0] == pytest.approx(expected, rel=1e-12, abs=1e-300), column


def test_the_python_reference_reads_mixes_too() -> None:
    from fleetcarbon.reference import estimate_python

    frame = jobs([fc.mix_key({V100: 0.25, H100: 0.75}), T4], cpu_cores=[8.0, 4.0])
    ours, reference = quiet_estimate(frame), estimate_python(frame)
    for column in RESULTS:
        assert ours[column].to_list() == pytest.approx(reference[column].to_list(), rel=1e-12)


def test_a_cpu_mix_is_the_weighted_mean_of_its_families() -> None:
    key = fc.mix_key({CPUS[1]: 0.25, CPUS[2]: 0.75})
    frame = pl.DataFrame(
        {
            "job_id": [1, 2, 3],
            "duration_h": [5.0] * 3,
            "region": ["DE"] * 3,
            "cpu": [key, CPUS[1], CPUS[2]],
            "cpu_cores": [32.0] * 3,
        }
    )
    out = quiet_estimate(frame)
    for column in RESULTS:
        v = out[column].to_list()
        assert v[0] == pytest.approx(0.25 * v[1] + 0.75 * v[2], rel=1e-12), column


def test_a_categorical_key_column_can_name_a_mix() -> None:
    key = fc.mix_key({V100: 0.5, T4: 0.5})
    plain = quiet_estimate(jobs([key, T4]))
    categorical = quiet_estimate(
        jobs([key, T4]).with_columns(pl.col("accelerator").cast(pl.Categorical))
    )
    assert categorical["total_kgco2e"].to_list() == plain["total_kgco2e"].to_list()


def test_the_hardware_date_check_uses_the_mix_s_earliest_part() -> None:
    # T4 (2018) and H100 (2022): a 2019 job is plausible on the mix, a 2015 one is not.
    key = fc.mix_key({T4: 0.5, H100: 0.5})
    frame = (
        jobs([key, key])
        .drop("duration_h")
        .with_columns(
            start=pl.Series([pl.datetime(2019, 5, 1), pl.datetime(2015, 5, 1)]).cast(
                pl.Datetime("us")
            )
            if False
            else pl.Series(["2019-05-01", "2015-05-01"]).str.to_datetime(),
        )
    )
    frame = frame.with_columns(end=pl.col("start") + pl.duration(hours=3))
    with pytest.warns(HardwareDateWarning, match=r"^column 'accelerator': 1 job .*\(2, 2015"):
        fc.estimate(frame)


# ----------------------------------------------------------------------------- simulate


def draws_by_job(frame: pl.DataFrame, **kwargs: object) -> dict[int, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fc.simulate_detailed(frame, by="job_id", return_draws=True, **kwargs)  # type: ignore[arg-type]
    d = result.draws.sort("job_id", "draw")
    return {
        int(j): d.filter(pl.col("job_id") == j)["total_kgco2e"].to_numpy()
        for j in d["job_id"].unique()
    }


def test_every_draw_of_a_mix_is_the_weighted_mean_of_its_parts_draws() -> None:
    key = fc.mix_key({V100: 0.6, T4: 0.3, H100: 0.1})
    draws = draws_by_job(jobs([key, V100, T4, H100]), draws=400, seed=7)
    expected = 0.6 * draws[2] + 0.3 * draws[3] + 0.1 * draws[4]
    np.testing.assert_allclose(draws[1], expected, rtol=1e-12)
    # The parts' uncertainty reaches the mix, shared: not a fixed value.
    assert draws[1].std() > 0.01 * draws[1].mean()


def test_the_mix_shares_its_parts_uncertainty_with_the_jobs_that_name_them() -> None:
    key = fc.mix_key({V100: 0.9, T4: 0.1})
    draws = draws_by_job(jobs([key, V100]), draws=2000, seed=3)
    assert np.corrcoef(draws[1], draws[2])[0, 1] > 0.95
    # Row order and the other jobs in the run change nothing.
    alone = draws_by_job(jobs([key]), draws=2000, seed=3)
    np.testing.assert_array_equal(alone[1], draws[1])


def test_a_distribution_on_a_mix_row_is_refused() -> None:
    key = fc.mix_key({V100: 0.5, T4: 0.5})
    with pytest.raises(DistributionError, match="is a mix"):
        fc.simulate(jobs([key]), draws=10, distributions={("tdp_w", key): Fixed(100.0)})
    # Distributions of the parts reach it.
    fixed = {("tdp_w", V100): Fixed(300.0), ("tdp_w", T4): Fixed(70.0)}
    out = fc.simulate(jobs([key]), draws=10, seed=1, distributions=fixed)
    assert out["total_kgco2e_p50"][0] > 0
