"""One definition of a quantile for every output: summaries, per-job statistics, figures.

The Rust core computes them (``_core.quantiles``, ``_core.summarize_draws``).
The default method is ``"linear"``: Hyndman & Fan's type 7, numpy's default,
``x[⌊h⌋] + (h − ⌊h⌋)(x[⌊h⌋+1] − x[⌊h⌋])`` with ``h = (n − 1) q`` over the
sorted draws. ``"inverted_cdf"`` (type 1) returns the order statistic of rank
``⌈q n⌉``, an actual draw. See ``docs/uncertainty.md`` §5.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fleetcarbon import _core
from fleetcarbon.parameters import QuantileMethod, check_quantile_method, check_quantiles

__all__ = ["METHODS", "QuantileMethod", "quantile_name", "quantiles"]

#: The quantile methods the core offers.
METHODS: tuple[str, ...] = tuple(_core.QUANTILE_METHODS)


def quantile_name(q: float) -> str:
    """Column suffix of quantile ``q``: 0.05 -> ``p05``, 0.5 -> ``p50``, 0.025 -> ``p2_5``."""
    pct = f"{q * 100:.6g}".replace(".", "_")
    return f"p{pct.zfill(2)}" if "_" not in pct else f"p{pct}"


def quantiles(
    values: Sequence[float] | np.ndarray,
    levels: Sequence[float],
    *,
    method: QuantileMethod = "linear",
) -> np.ndarray:
    """Return the ``levels``-quantiles of ``values``, as every fleetcarbon output defines them.

    Parameters
    ----------
    values : array-like of float
        The draws.
    levels : sequence of float
        Quantile levels in [0, 1].
    method : {"linear", "inverted_cdf"}, default "linear"
        Hyndman–Fan type 7 (interpolated) or type 1 (an order statistic).

    Returns
    -------
    np.ndarray
        One value per level (NaN for no values).

    Examples
    --------
    >>> from fleetcarbon.quantiles import quantiles
    >>> quantiles([4.0, 1.0, 3.0, 2.0], [0.5]).tolist()
    [2.5]
    >>> quantiles([4.0, 1.0, 3.0, 2.0], [0.5], method="inverted_cdf").tolist()
    [2.0]
    """
    levels = check_quantiles(levels)
    method = check_quantile_method(method)
    array = np.ascontiguousarray(values, dtype=np.float64).reshape(-1)
    return np.asarray(_core.quantiles(array, levels, method=method))
