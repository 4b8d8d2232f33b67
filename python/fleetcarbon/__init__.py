"""fleetcarbon: lifecycle carbon of compute jobs, from job records at fleet scale.

Operational carbon (energy × PUE × grid intensity, location- and market-based)
and embodied carbon (hardware manufacturing amortized over its lifetime, plus
datacenter construction), computed by a Rust core over Polars frames.
"""

from __future__ import annotations

from fleetcarbon import conventions, correlation, errors, uncertainty
from fleetcarbon._core import __version__
from fleetcarbon.errors import FleetcarbonError
from fleetcarbon.estimate import estimate
from fleetcarbon.factors import Factors, load_factors
from fleetcarbon.factors.mixes import mix_key
from fleetcarbon.refresh import RefreshResult, refresh
from fleetcarbon.scenarios import Scenario
from fleetcarbon.sensitivity import sensitivity
from fleetcarbon.simulate import SimulationResult, simulate, simulate_detailed
from fleetcarbon.summarize import state_class, summarize
from fleetcarbon.sweep import SweepResult, sweep
from fleetcarbon.synthetic import synthetic_fleet

__all__ = [
    "Factors",
    "FleetcarbonError",
    "RefreshResult",
    "Scenario",
    "SimulationResult",
    "SweepResult",
    "__version__",
    "conventions",
    "correlation",
    "errors",
    "estimate",
    "load_factors",
    "mix_key",
    "refresh",
    "sensitivity",
    "simulate",
    "simulate_detailed",
    "state_class",
    "summarize",
    "sweep",
    "synthetic_fleet",
    "uncertainty",
]
