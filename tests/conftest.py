from __future__ import annotations

import os
import sys
from pathlib import Path

import polars as pl
import pytest

from fleetcarbon import Factors

REPO = Path(__file__).resolve().parents[1]
# The baselines live with the benchmarks, outside the package.
sys.path.insert(0, str(REPO / "benches"))


def shared_dir() -> Path | None:
    """The read-only ``shared`` folder beside the repo, or None when absent."""
    path = Path(os.environ.get("FLEETCARBON_SHARED", REPO.parent / "shared"))
    return path if path.is_dir() else None


def require_shared(*parts: str) -> Path:
    """The path ``shared/<parts>``; skip the test when it is absent, except on CI.

    CI always has the shared folder, so there a missing one is a failure, not a
    skip: a test that silently stops testing is worse than a red build.
    """
    base = shared_dir()
    path = base.joinpath(*parts) if base is not None else None
    if path is None or not path.exists():
        where = "/".join(("shared", *parts))
        if os.environ.get("CI"):
            pytest.fail(f"{where} is missing, and CI always has it")
        pytest.skip(f"{where} is not available")
    return path


def make_factors() -> Factors:
    """Small hand-built tables with round numbers, independent of the bundled data."""
    src = {"source": ["test"], "year": [2024], "licence": ["CC0"]}

    def frame(rows: dict[str, list]) -> pl.DataFrame:
        n = len(next(iter(rows.values())))
        return pl.DataFrame({**rows, **{k: v * n for k, v in src.items()}})

    accelerators = frame(
        {
            "key": ["gpu-a", "gpu-b"],
            "tdp_w": [700.0, 300.0],
            "host_power_w": [150.0, 60.0],
            "embodied_kgco2e": [800.0, 400.0],
        }
    )
    cpus = frame(
        {
            "key": ["generic", "cpu-x"],
            "core_power_w": [10.0, 5.0],
            "core_embodied_kgco2e": [20.0, 12.0],
        }
    )
    regions = frame(
        {
            "key": ["FR", "PL", "cloud:east", "WORLD"],
            "grid_kgco2e_per_kwh": [0.05, 0.7, 0.4, 0.48],
            "market_kgco2e_per_kwh": [None, None, 0.0, None],
            "default_datacenter": ["generic", "generic", "hyper", "generic"],
        }
    )
    datacenters = frame(
        {
            "key": ["generic", "hyper", "site-pl"],
            "region": [None, None, "PL"],
            "pue": [1.5, 1.1, 1.3],
            "facility_embodied_fraction": [0.15, 0.1, 0.2],
        }
    )
    defaults = pl.DataFrame(
        {
            "parameter": [
                "power_fraction",
                "lifetime_years",
                "use_rate",
                "memory_power_w_per_gb",
                "memory_embodied_kgco2e_per_gb",
            ],
            "value": [0.8, 4.0, 1.0, 0.375, 0.5],
        }
    )
    aliases = pl.DataFrame(
        {"alias": ["GPU A", "POL"], "table": ["accelerators", "regions"], "key": ["gpu-a", "PL"]}
    )
    sources = pl.DataFrame({"source_id": ["test"], "title": ["test tables"]})
    return Factors(
        accelerators=accelerators,
        cpus=cpus,
        regions=regions,
        datacenters=datacenters,
        defaults=defaults,
        aliases=aliases,
        sources=sources,
        version="test",
    )


@pytest.fixture(scope="session")
def factors() -> Factors:
    return make_factors()
