"""Baselines of the engine, for the benchmarks and the statistical tests.

- :func:`estimate_numpy`: numpy-vectorized :func:`fleetcarbon.estimate`;
- :func:`estimate_polars`: Polars expressions and joins;
- :func:`simulate_python` and :func:`simulate_numpy`: the Monte Carlo, with
  numpy's random numbers (the Python one evaluates the pure-Python reference,
  :mod:`fleetcarbon.reference`, per job and draw).

They are not part of the package: ``import fleetcarbon`` imports none of them.
The pure-Python reference of the deterministic model is
:func:`fleetcarbon.reference.estimate_python`.
"""

from baselines.monte_carlo import simulate_numpy, simulate_python
from baselines.numpy_estimate import estimate_numpy
from baselines.polars_estimate import estimate_polars

__all__ = ["estimate_numpy", "estimate_polars", "simulate_numpy", "simulate_python"]
