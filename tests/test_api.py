"""API conventions: keyword-only options, accepted frame types, specific errors."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import fleetcarbon as fc
from fleetcarbon import errors


@pytest.fixture(scope="module")
def jobs() -> pl.DataFrame:
    return fc.synthetic_fleet(500, seed=3)


def test_by_is_keyword_only(jobs):
    est = fc.estimate(jobs)
    with pytest.raises(TypeError):
        fc.summarize(est, "team")  # type: ignore[misc]
    with pytest.raises(TypeError):
        fc.simulate(jobs, None, 10)  # type: ignore[misc]
    assert fc.summarize(est, by="team").height == fc.summarize(est, by=["team"]).height


def test_summarize_and_estimate_take_lazy_frames(jobs):
    est = fc.estimate(jobs.lazy())
    assert est.equals(fc.estimate(jobs))
    assert fc.summarize(est.lazy(), by="team").equals(fc.summarize(est, by="team"))
    broken = jobs.lazy().with_columns(pl.col("no_such_column") + 1)
    with pytest.raises(errors.SchemaError, match="query failed"):
        fc.estimate(broken)
    with pytest.raises(errors.NotAFrameError):
        fc.estimate({"job_id": [1]})  # type: ignore[arg-type]


def test_simulate_groups_must_exist_and_not_clash(jobs):
    with pytest.raises(errors.MissingColumnError, match="missing"):
        fc.simulate(jobs, draws=10, seed=1, by="missing")
    with pytest.raises(errors.FleetcarbonError, match="clash"):
        fc.simulate(jobs.with_columns(draws=pl.lit(1)), draws=10, seed=1, by="draws")
    with pytest.raises(errors.ParameterError, match="more than once"):
        fc.simulate(jobs, draws=10, seed=1, by=["team", "team"])


def test_simulate_drops_invalid_rows_when_asked(jobs):
    bad = jobs.with_columns(
        duration_h=pl.when(pl.col("job_id") == 1).then(-1.0).otherwise("duration_h")
    )
    with pytest.raises(errors.InvalidValueError, match="duration_h"):
        fc.simulate(bad, draws=10, seed=1)
    with pytest.warns(errors.DroppedRowsWarning, match="dropped 1"):
        out = fc.simulate(bad, draws=10, seed=1, on_invalid="drop")
    assert out["jobs"].item() == jobs.height - 1


def test_parameters_are_checked_with_parameter_errors(jobs):
    for options in (
        {"draws": 1},
        {"draws": 2.5},
        {"seed": 2**64},
        {"seed": -1},
        {"seed": True},
        {"quantiles": (1.5,)},
        {"quantiles": "0.5"},
        {"quantile_method": "nearest"},
        {"on_invalid": "ignore"},
    ):
        with pytest.raises(errors.ParameterError):
            fc.simulate(jobs, **{"draws": 10, "seed": 1, **options})  # type: ignore[arg-type]
    with pytest.raises(errors.ParameterError, match="factors must be"):
        fc.estimate(jobs, "x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unexpected keyword"):
        fc.simulate(jobs, draw=10)  # type: ignore[call-arg]
    out = fc.simulate(jobs, draws=np.int64(10), seed=np.uint64(2**63 + 5))
    assert out["seed"].item() == 2**63 + 5


def test_signature_shows_every_option():
    import inspect

    names = set(inspect.signature(fc.simulate).parameters)
    assert {"draws", "by", "seed", "noise", "correlation", "progress", "quantile_method"} <= names
    detailed = inspect.signature(fc.simulate_detailed).parameters
    assert detailed["per_job"].kind is inspect.Parameter.KEYWORD_ONLY


def test_result_parts_not_asked_for_say_how_to_get_them(jobs):
    result = fc.simulate_detailed(jobs, draws=10, seed=1)
    with pytest.raises(errors.FleetcarbonError, match="per_job=True"):
        _ = result.per_job
    with pytest.raises(errors.FleetcarbonError, match="return_draws=True"):
        _ = result.draws


def test_import_fleetcarbon_imports_no_baseline():
    import subprocess
    import sys

    code = "import sys, fleetcarbon; print(any('baseline' in m for m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
