"""Exceptions and warnings raised by fleetcarbon.

Every input problem raises a subclass of :class:`FleetcarbonError`, which is a
``ValueError``; messages name the column, the number of bad rows and the first
examples. A bug in fleetcarbon raises :class:`InternalError`, which is *not* a
``ValueError``, so that ``except ValueError`` cannot mistake it for bad input.

The base classes are created by the Rust core (``fleetcarbon._core``), so that
the core raises them without importing Python code; they are re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence

from fleetcarbon._core import (
    CorrelationError,
    DistributionError,
    FleetcarbonError,
    InternalError,
    KernelError,
)

__all__ = [
    "AbsurdValueWarning",
    "ColumnNameWarning",
    "CorrelationError",
    "DistributionError",
    "DroppedRowsWarning",
    "DuplicateJobError",
    "FleetcarbonError",
    "HardwareDateWarning",
    "InternalError",
    "InvalidValueError",
    "KernelError",
    "MissingColumnError",
    "NonFiniteResultError",
    "NotAFrameError",
    "ParameterError",
    "SchemaError",
    "UnitWarning",
    "UnknownKeyError",
]


class ParameterError(FleetcarbonError):
    """A keyword argument (``threads``, ``draws``, ``seed``...) has an invalid value."""


class SchemaError(FleetcarbonError):
    """A column has the wrong dtype, or the frame's columns do not fit together."""


class MissingColumnError(SchemaError):
    """A required column is absent."""


class NotAFrameError(SchemaError, TypeError):
    """An argument that must be a Polars DataFrame (or LazyFrame) is something else."""


class InvalidValueError(FleetcarbonError):
    """Some rows hold values outside the column's valid domain.

    Attributes
    ----------
    column : str
        The offending column.
    n_bad : int
        Number of offending rows.
    examples : list
        The first offending rows, as ``(job_id, value)`` pairs.
    """

    def __init__(self, column: str, n_bad: int, problem: str, examples: Sequence[object] = ()):
        self.column = column
        self.n_bad = n_bad
        self.examples = list(examples)
        shown = ", ".join(map(str, self.examples))
        super().__init__(
            f"column '{column}': {problem} in {n_bad} row{'s' if n_bad != 1 else ''}"
            + (f"; first: {shown}" if shown else "")
        )


class DuplicateJobError(InvalidValueError):
    """``job_id`` is not unique."""


class UnknownKeyError(InvalidValueError):
    """Keys that match no row (or alias) of a factor table.

    Attributes
    ----------
    unknown : list of str
        The distinct unknown keys (first few).
    suggestions : dict
        Closest known keys for each unknown key.
    """

    def __init__(
        self,
        column: str,
        table: str,
        n_bad: int,
        unknown: Sequence[str],
        suggestions: dict[str, list[str]],
    ):
        self.unknown = list(unknown)
        self.suggestions = suggestions
        hints = "; ".join(
            f"'{k}' (did you mean {', '.join(repr(s) for s in v)}?)" if v else f"'{k}'"
            for k, v in suggestions.items()
        )
        super().__init__(column, n_bad, f"keys unknown to the {table} table ({hints})")


class NonFiniteResultError(InvalidValueError):
    """Valid but extreme inputs overflowed a result to infinity (or NaN)."""


class DroppedRowsWarning(UserWarning):
    """Rows were dropped under ``on_invalid="drop"``; the message counts them per reason."""


class AbsurdValueWarning(UserWarning):
    """Values that are valid but implausible (e.g. a job longer than 10 years)."""


class HardwareDateWarning(AbsurdValueWarning):
    """Jobs that ran years before the hardware they were given was released.

    Most often a log of an old cluster read without its CPU or GPU model, so
    that its jobs got the ``generic`` (2020s) core: name the hardware.
    """


class UnitWarning(AbsurdValueWarning):
    """Values that look like a unit mistake (seconds for hours, Wh for kWh, MB for GB).

    The message counts them and gives the fix; silence the category when the
    values are right.
    """


class ColumnNameWarning(UserWarning):
    """A column looks like a misspelt canonical column (e.g. ``PUE`` for ``pue``) and is ignored."""
