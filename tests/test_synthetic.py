"""The synthetic fleet: seeded, valid, and shaped as documented."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest

import fleetcarbon as fc


@pytest.fixture(scope="module")
def fleet():
    return fc.synthetic_fleet(50_000, seed=1)


def test_seeded(fleet):
    assert fc.synthetic_fleet(50_000, seed=1).equals(fleet)
    assert not fc.synthetic_fleet(50_000, seed=2).equals(fleet)


def test_valid_without_warnings(fleet):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = fc.estimate(fleet)
    assert out.height == fleet.height
    assert set(out["power_basis"].cast(pl.String).unique()) == {"metered", "measured", "modelled"}


def test_shape_of_the_fleet(fleet):
    counts = fleet["accelerator_count"].to_numpy()
    gpu = counts[counts > 0]
    assert np.all((gpu & (gpu - 1)) == 0), "accelerator counts are powers of two"
    assert 0.05 < (counts == 0).mean() < 0.15, "about 10% CPU-only jobs"
    phases = fleet["phase"].value_counts(normalize=True)
    assert set(phases["phase"]) == {"experimentation", "training", "inference"}
    d = fleet["duration_h"]
    assert d.quantile(0.99) / d.median() > 20, "durations are heavy-tailed"
    assert fleet["accelerator"].n_unique() >= 5
    assert fleet["region"].n_unique() >= 5
    assert fleet["datacenter"].n_unique() >= 3
    assert fleet["job_id"].is_unique().all()


def test_zero_and_negative_sizes():
    assert fc.synthetic_fleet(0).height == 0
    with pytest.raises(ValueError, match="n must be"):
        fc.synthetic_fleet(-1)
