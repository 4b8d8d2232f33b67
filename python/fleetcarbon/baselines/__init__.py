"""Independent implementations of :func:`fleetcarbon.estimate`.

- :func:`estimate_python`: pure Python, one job at a time. The oracle of the
  property tests and the slow baseline of the benchmarks.
- :func:`estimate_numpy`: numpy-vectorized.
- :func:`estimate_polars`: Polars expressions and joins.

They implement the same equations (``docs/model.md``) but share no code with
the engine beyond reading the factor tables, and they skip input validation:
feed them valid jobs. :func:`simulate_python` and :func:`simulate_numpy` are
the Monte Carlo counterparts, with numpy's random numbers.
"""

from fleetcarbon.baselines.monte_carlo import simulate_numpy, simulate_python
from fleetcarbon.baselines.numpy_baseline import estimate_numpy
from fleetcarbon.baselines.polars_baseline import estimate_polars
from fleetcarbon.baselines.python_reference import estimate_python

__all__ = [
    "estimate_numpy",
    "estimate_polars",
    "estimate_python",
    "simulate_numpy",
    "simulate_python",
]
