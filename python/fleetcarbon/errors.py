"""Exceptions and warnings raised by fleetcarbon.

Every input problem raises a subclass of :class:`FleetcarbonError`, which is a
``ValueError``; messages name the column, the number of bad rows and the first
examples.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "AbsurdValueWarning",
    "ColumnNameWarning",
    "DroppedRowsWarning",
    "DuplicateJobError",
    "FleetcarbonError",
    "InvalidValueError",
    "KernelError",
    "MissingColumnError",
    "NonFiniteResultError",
    "SchemaError",
    "UnknownKeyError",
]


class FleetcarbonError(ValueError):
    """Base class of all fleetcarbon errors."""


class SchemaError(FleetcarbonError):
    """A column has the wrong dtype, or the frame's columns do not fit together."""


class MissingColumnError(SchemaError):
    """A required column is absent."""


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


class KernelError(FleetcarbonError):
    """The Rust core refused its input.

    After input validation this means a bug in fleetcarbon, except for results
    that overflow, which :func:`fleetcarbon.estimate` reports as
    :class:`NonFiniteResultError`.

    Attributes
    ----------
    row : int or None
        Position of the offending row in the arrays the core received.
    column : str or None
        The column concerned, when the core names one.
    """

    def __init__(self, message: str, row: int | None = None, column: str | None = None):
        super().__init__(message)
        self.row = row
        self.column = column


class DroppedRowsWarning(UserWarning):
    """Rows were dropped under ``on_invalid="drop"``; the message counts them per reason."""


class AbsurdValueWarning(UserWarning):
    """Values that are valid but implausible (e.g. a job longer than 10 years)."""


class ColumnNameWarning(UserWarning):
    """A column looks like a misspelt canonical column (e.g. ``PUE`` for ``pue``) and is ignored."""
