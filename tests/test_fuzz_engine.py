"""Fuzz tests of the engine's entry points: estimate(), simulate()'s parameters, and
factor-table edits.

Every outcome must be a result or a FleetcarbonError (never a raw Python, Polars
or NumPy exception, never a NaN in a result), and the caller's frames and
tables are never modified.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import polars as pl
import pytest
from conftest import make_factors
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_properties import job_frames

import fleetcarbon as fc
from fleetcarbon.errors import FleetcarbonError
from fleetcarbon.schema import RESULT_COLUMNS
from fleetcarbon.uncertainty import (
    Empirical,
    Fixed,
    LogNormal,
    Normal,
    Pert,
    Triangular,
    TruncatedNormal,
    Uniform,
)

TEST_FACTORS = make_factors()
FUZZ = settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

plain_floats = st.floats(0.0, 50.0)
hostile_floats = st.one_of(
    plain_floats,
    plain_floats,
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, -1.0, 1e308, 5e-324, 1e-300, 3.5, 1e6]),
)
keys = st.one_of(
    st.none(),
    st.sampled_from(
        ["nvidia-h100-sxm5-80gb", "NVIDIA A100-SXM4-80GB", "FR", "Germany", "aws", "generic"]
    ),
    st.text(max_size=12),
)
COLUMNS = {
    "duration_h": hostile_floats,
    "accelerator_count": st.one_of(hostile_floats, st.integers(-5, 10**20)),
    "cpu_cores": hostile_floats,
    "memory_gb": hostile_floats,
    "energy_kwh": hostile_floats,
    "avg_power_w": hostile_floats,
    "pue": hostile_floats,
    "grid_kgco2e_per_kwh": hostile_floats,
    "lifetime_years": hostile_floats,
    "accelerator": keys,
    "region": keys,
    "datacenter": keys,
    "cpu": keys,
    "team": keys,
}


@st.composite
def hostile_frames(draw):
    n = draw(st.integers(0, 12))
    names = draw(st.sets(st.sampled_from(sorted(COLUMNS)), min_size=1))
    data: dict[str, list] = {}
    for name in sorted(names):
        values = draw(st.lists(COLUMNS[name], min_size=n, max_size=n))
        if name == "accelerator_count":
            # Polars needs one type a column: integers that fit, or floats.
            values = [float(v) if isinstance(v, int) and abs(v) > 2**62 else v for v in values]
            if any(isinstance(v, float) for v in values):
                values = [None if v is None else float(v) for v in values]
        data[name] = values
    ids = draw(
        st.one_of(
            st.lists(st.integers(-(2**63), 2**63 - 1), min_size=n, max_size=n),
            st.lists(st.text(max_size=4), min_size=n, max_size=n),
            st.lists(st.none(), min_size=n, max_size=n),
        )
    )
    if draw(st.booleans()):
        data["job_id"] = ids
    frame = pl.DataFrame(data, strict=False)
    if "accelerator" in frame.columns and draw(st.booleans()):
        frame = frame.with_columns(pl.col("accelerator").cast(pl.Categorical))
    return frame


def outcome(call):
    """Run ``call``: its result, or None when it raised a FleetcarbonError."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return call()
        except FleetcarbonError:
            return None


@settings(FUZZ, max_examples=300)
@given(st.one_of(hostile_frames(), job_frames(max_size=12)))
def test_estimate_returns_results_or_fleetcarbon_errors(frame):
    before = frame.clone()
    # The property tests' frames are valid for their own small tables, by construction.
    factors = (
        TEST_FACTORS
        if "accelerator" in frame.columns
        and frame.height
        and (frame["accelerator"].cast(pl.String).is_in(["gpu-a", "gpu-b", "GPU A"]).any())
        else None
    )
    out = outcome(lambda: fc.estimate(frame, factors))
    assert frame.equals(before), "the caller's frame changed"
    if factors is not None:
        assert out is not None, "a valid frame was refused"
    if out is not None:
        for c in RESULT_COLUMNS:
            values = out[c].to_numpy()
            assert np.isfinite(values).all(), c
            assert (values >= 0).all(), c


JOBS = fc.synthetic_fleet(40, seed=3)

distributions = st.one_of(
    st.builds(Fixed, st.floats(allow_nan=True)),
    st.builds(Uniform, st.floats(-2, 5), st.floats(-2, 5)),
    st.builds(Triangular, st.floats(-1, 3), st.floats(-1, 3), st.floats(-1, 3)),
    st.builds(Pert, st.floats(0, 3), st.floats(0, 3), st.floats(0, 3)),
    st.builds(Normal, st.floats(-2, 2), st.floats(-1, 2)),
    st.builds(TruncatedNormal, st.floats(-2, 2), st.floats(-1, 2), st.floats(-5, 5)),
    st.builds(LogNormal, st.floats(-1, 3), st.floats(0, 3)),
    st.builds(Empirical, st.lists(st.floats(allow_nan=True), max_size=4)),
)
factor_names = st.sampled_from(
    ["pue", "grid_kgco2e_per_kwh", "lifetime_years", "use_rate", "power_fraction", "watts"]
)
anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.just(np.int64(7)),
    st.just(np.uint64(2**64 - 1)),
)


def safe(strategy):
    """A distribution strategy whose construction errors are part of the outcome."""
    return st.builds(lambda make: make, strategy)


def mostly(valid, invalid=None):
    """Valid values three times in four, so that the run itself is fuzzed too."""
    return st.one_of(valid, valid, valid, invalid if invalid is not None else anything)


VALID = {
    "draws": st.integers(2, 60),
    "seed": st.integers(0, 2**64 - 1),
    "by": st.sampled_from(["team", "phase", ["team", "phase"], None]),
    "quantiles": st.lists(st.floats(0, 1), max_size=3),
    "quantile_method": st.sampled_from(["linear", "inverted_cdf"]),
    "rel_error": st.one_of(st.none(), st.floats(1e-3, 1.0)),
    "max_draws": st.integers(60, 100),
    "threads": st.one_of(st.none(), st.integers(1, 4)),
    "on_invalid": st.sampled_from(["raise", "drop"]),
    "distributions": st.sampled_from(
        [
            None,
            {"pue": Pert(1.0, 1.2, 1.6)},
            {"grid_kgco2e_per_kwh": LogNormal(0.3, 1.5)},
            {("lifetime_years", "lifetime_years"): Uniform(3.0, 6.0)},
        ]
    ),
    "noise": st.sampled_from(
        [
            None,
            {"power_fraction": Triangular(0.4, 0.7, 1.0)},
            {"energy_kwh": TruncatedNormal(1.0, 0.05, 0.0)},
        ]
    ),
    "correlation": st.sampled_from(
        [None, {"grid_kgco2e_per_kwh": 0.5}, {("lifetime_years", "use_rate"): 0.3}]
    ),
}
INVALID = {
    "draws": st.one_of(st.integers(-3, 1), anything),
    "seed": st.one_of(st.integers(2**64, 2**70), st.integers(-(2**10), -1), anything),
    "by": st.one_of(st.sampled_from(["missing", "draws", ["team", "team"], 3]), anything),
    "quantiles": st.one_of(
        st.lists(st.one_of(st.floats(-1, 2), st.just(math.nan)), min_size=1, max_size=3),
        anything,
    ),
    "quantile_method": anything,
    "rel_error": st.one_of(st.floats(allow_nan=True, allow_infinity=True), anything),
    "max_draws": st.one_of(st.integers(-1, 1), anything),
    "threads": st.one_of(st.integers(-1, 0), st.integers(2000, 2**70), anything),
    "on_invalid": anything,
    "distributions": st.one_of(
        st.dictionaries(factor_names, st.one_of(distributions, anything), max_size=2), anything
    ),
    "noise": st.one_of(
        st.dictionaries(
            st.sampled_from(["power_fraction", "energy_kwh", "pue"]),
            st.one_of(distributions, anything),
            max_size=2,
        ),
        anything,
    ),
    "correlation": st.one_of(
        st.dictionaries(
            st.one_of(factor_names, st.tuples(factor_names, factor_names)),
            st.one_of(st.floats(-2, 2), st.just(math.nan), anything),
            max_size=3,
        ),
        anything,
    ),
}


@st.composite
def simulate_options(draw):
    """``(options, broken)``: valid options, or valid ones with one option broken."""
    options = {}
    for name, strategy in VALID.items():
        if name == "draws" or draw(st.booleans()):
            options[name] = draw(strategy)
    broken = draw(st.one_of(st.none(), st.sampled_from(sorted(INVALID))))
    if broken is not None:
        try:
            options[broken] = draw(INVALID[broken])
        except FleetcarbonError:
            options[broken] = {"pue": "refused"}  # a Distribution that could not be built
    return options, broken


@settings(FUZZ, max_examples=250)
@given(simulate_options())
def test_simulate_parameters_give_results_or_fleetcarbon_errors(case):
    options, broken = case
    before = JOBS.clone()
    out = outcome(lambda: fc.simulate(JOBS, **options))
    assert JOBS.equals(before)
    if broken is None:
        assert out is not None, f"valid options were refused: {options}"
    if out is not None:
        numeric = out.select(pl.selectors.float())
        for c in numeric.columns:
            if "_se_" not in c:  # a quantile's standard error may be NaN by design
                assert all(math.isfinite(v) for v in numeric[c].to_list()), c


BUNDLED = fc.load_factors()
TABLE_COLUMNS = {
    "datacenters": ["pue", "pue_low", "pue_high", "facility_embodied_fraction", "region"],
    "regions": ["grid_kgco2e_per_kwh", "grid_kgco2e_per_kwh_low", "market_kgco2e_per_kwh"],
    "accelerators": ["tdp_w", "host_power_w", "embodied_kgco2e", "embodied_kgco2e_high"],
    "defaults": ["value", "low", "high"],
}
cell = st.one_of(hostile_floats, st.text(max_size=4), st.integers(-10, 10**19))


@st.composite
def table_edits(draw):
    table = draw(st.sampled_from(sorted(TABLE_COLUMNS)))
    key = "parameter" if table == "defaults" else "key"
    existing = BUNDLED.table(table)[key].head(3).to_list()
    n = draw(st.integers(1, 3))
    rows = {key: draw(st.lists(st.one_of(st.sampled_from(existing), keys), min_size=n, max_size=n))}
    plausible = st.floats(0.0, 2.0)  # inside most factors' domains and bounds
    for column in draw(st.sets(st.sampled_from(TABLE_COLUMNS[table]), max_size=3)):
        rows[column] = draw(st.lists(mostly(plausible, cell), min_size=n, max_size=n))
    if draw(st.booleans()):
        rows[draw(st.sampled_from(["nope", "KEY"]))] = [1.0] * n
    return table, pl.DataFrame(rows, strict=False)


@settings(FUZZ, max_examples=250)
@given(table_edits())
def test_table_edits_give_tables_or_fleetcarbon_errors(edit):
    table, rows = edit
    before = {name: BUNDLED.table(name).clone() for name in TABLE_COLUMNS}
    edited = outcome(lambda: BUNDLED.with_rows(**{table: rows}))
    for name, frame in before.items():
        assert BUNDLED.table(name).equals(frame), f"with_rows changed the original {name}"
    if edited is not None:
        # The edited tables are usable: an estimate over them is finite.
        out = outcome(lambda: fc.estimate(JOBS, edited))
        if out is not None:
            assert np.isfinite(out["total_kgco2e"].to_numpy()).all()


@pytest.mark.parametrize("value", [math.nan, math.inf, -1.0, "abc", None])
def test_a_bad_value_in_an_edit_names_table_and_column(value):
    rows = pl.DataFrame({"key": ["generic"], "pue": [value]}, strict=False)
    with pytest.raises(FleetcarbonError, match=r"datacenters\.pue"):
        edited = BUNDLED.with_rows(datacenters=rows)
        if value is None:  # a null keeps the old value: nothing to refuse
            raise FleetcarbonError(f"datacenters.pue kept {edited.datacenters['pue'][0]}")
