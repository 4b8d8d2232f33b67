"""Value-stability goldens of the Python API: the bits of ``estimate()`` on a fixed
fleet and of ``simulate()`` with a fixed seed.

Every float column is pinned by a digest of its bits and its first value. A
change to the model, a random stream, a quantile or a summation order fails
here; CI runs this file on the default build and on a build without the AVX2
kernels, which must agree. When a change is intended (and documented in
``docs/uncertainty.md``), rewrite the golden file with
``FLEETCARBON_BLESS=1 python -m pytest tests/test_goldens.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import fleetcarbon as fc
from fleetcarbon.uncertainty import LogNormal, Normal, Triangular

GOLDEN = Path(__file__).parent / "goldens" / "python.json"


def fleet() -> pl.DataFrame:
    """5,000 jobs of every kind, by arithmetic alone (no random generator whose
    stream could change with a library version)."""
    n = 5000
    i = np.arange(n, dtype=np.int64)
    accelerators = ["nvidia-h100-sxm5-80gb", "NVIDIA A100-SXM4-80GB", "nvidia-v100-sxm2-32gb"]
    regions = ["FR", "aws:us-east-1", "DE", "US-CA", "SE", "PL", "gcp:europe-west4"]
    cpu_only = i % 5 == 0
    return pl.DataFrame(
        {
            "job_id": i + 1,
            "team": pl.Series(["llm", "vision", "infra"]).gather(i % 3),
            "duration_h": 0.25 + (i * 7919 % 1000) / 20.0,
            "accelerator": pl.Series(accelerators).gather(i % 3).set(pl.Series(cpu_only), None),
            "accelerator_count": np.where(cpu_only, 0, 1 + i % 8),
            "cpu_cores": np.where(cpu_only, 4.0 + i % 61, np.nan),
            "memory_gb": np.where(cpu_only, 8.0 * (i % 9), np.nan),
            "region": pl.Series(regions).gather(i % len(regions)),
            "energy_kwh": np.where(i % 11 == 0, 0.5 + (i % 13) * 1.25, np.nan),
            "avg_power_w": np.where(i % 17 == 3, 250.0 + i % 200, np.nan),
            "pue": np.where(i % 23 == 0, 1.3, np.nan),
        }
    ).with_columns(
        pl.col("cpu_cores", "memory_gb", "energy_kwh", "avg_power_w", "pue").fill_nan(None)
    )


def digest(frame: pl.DataFrame) -> dict[str, list[object]]:
    """``{column: [number of values, sha256 of the bits, first value as float.hex()]}``."""
    out: dict[str, list[object]] = {}
    for name in frame.columns:
        series = frame[name]
        if not series.dtype.is_float():
            continue
        values = np.ascontiguousarray(series.to_numpy(), dtype=np.float64)
        first = float(values[0]).hex() if values.size else ""
        out[name] = [int(values.size), hashlib.sha256(values.tobytes()).hexdigest()[:16], first]
    return out


def observed() -> dict[str, dict[str, list[object]]]:
    jobs = fleet()
    result = fc.simulate_detailed(
        jobs,
        draws=150,
        by="team",
        seed=20261201,
        per_job=True,
        return_draws=True,
        noise={"power_fraction": Triangular(0.4, 0.75, 1.0), "energy_kwh": Normal(1.0, 0.05)},
    )
    correlated = fc.simulate_detailed(
        jobs,
        draws=120,
        seed=7,
        return_draws=True,
        quantile_method="inverted_cdf",
        correlation={"accelerator_embodied_kgco2e": 0.8, "grid_kgco2e_per_kwh": 0.5},
        distributions={
            ("accelerator_embodied_kgco2e", "nvidia-h100-sxm5-80gb"): LogNormal.from_interval(
                300, 1200
            )
        },
    )
    return {
        "estimate": digest(fc.estimate(jobs)),
        "simulate_summary": digest(result.summary),
        "simulate_per_job": digest(result.per_job),
        "simulate_draws": digest(result.draws),
        "correlated_summary": digest(correlated.summary),
        "correlated_draws": digest(correlated.draws),
    }


def test_estimate_and_simulate_bits_are_pinned():
    got = observed()
    if os.environ.get("FLEETCARBON_BLESS"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        pytest.skip("goldens rewritten")
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert sorted(got) == sorted(expected)
    for part, columns in expected.items():
        assert sorted(got[part]) == sorted(columns), part
        for column, (n, sha, first) in columns.items():
            g = got[part][column]
            assert g[0] == n, f"{part}.{column}: {g[0]} values, expected {n}"
            assert g[2] == first, f"{part}.{column}: first value {g[2]} != {first}"
            assert g[1] == sha, f"{part}.{column}: some value moved"
