"""Turn sacct's local wall-clock ``Start``/``End`` times into UTC, across DST changes.

sacct prints times in the cluster's local time without an offset. Twice a year
that is not one-to-one: in the autumn fall-back hour a wall-clock time occurs
twice (ambiguous), and in the spring-forward gap it never occurs (it cannot be
printed by sacct, but appears when the configured time zone is not the one
sacct ran in, or in edited files). Each such time has two readings, fold 0
and fold 1 (as in :pep:`495`):

* ambiguous: fold 0 is the earlier instant (the offset before the change),
  fold 1 the later one;
* non-existent: fold 0 reads it with the offset before the change, which shifts
  it forward by the gap (02:30 in New York's gap becomes 03:30 EDT), fold 1 with
  the offset after, which shifts it back (01:30 EST).

The readings of ``Start`` and ``End`` are chosen together, per line:

1. with an elapsed time (``ElapsedRaw``, else ``Elapsed``), the pair whose
   ``End - Start`` is closest to it (ties: fold 0 first, for ``Start`` then ``End``);
2. without one, fold 0 for both if that gives ``End >= Start``, else the pair
   with the shortest non-negative ``End - Start`` (if none is, fold 0 for both);
3. with only one of the two times, fold 0.

So a resolved time is never null, and a job within or across a DST change
never gets a negative duration from it. Lines with such times are counted in
one :class:`AmbiguousTimeWarning`.

A time printed with a UTC offset (``2025-05-02T14:09:52+02:00``, ``...Z``) is an
instant, not a wall-clock time: both its readings are that instant, whatever the
zone, and it is never ambiguous.
"""

from __future__ import annotations

import polars as pl

__all__ = ["AmbiguousTimeWarning", "resolve_times"]

_UTC = "UTC"


class AmbiguousTimeWarning(UserWarning):
    """Some Start/End times were ambiguous or non-existent local times (DST) and were resolved."""

    # Named where it is imported from.
    __module__ = "fleetcarbon.io.sacct"


def resolve_times(
    frame: pl.DataFrame,
    tz: str,
    start: str,
    end: str,
    elapsed: str,
    instants: tuple[str, str] | None = None,
) -> pl.DataFrame:
    """Add ``__start``/``__end`` (UTC) and ``__dst`` (a time needed a DST rule).

    Parameters
    ----------
    frame : pl.DataFrame
        Holds the naive local times ``start`` and ``end`` and the elapsed seconds
        ``elapsed`` (Float64, null where unknown).
    tz : str
        The time zone the times were printed in.
    start, end, elapsed : str
        Column names.
    instants : tuple of (str, str), optional
        Columns of ``Start``/``End`` times given with a UTC offset
        (``Datetime("us", "UTC")``, null elsewhere): where one is set, it is the time.

    Returns
    -------
    pl.DataFrame
        ``frame`` with ``__start`` and ``__end`` (``Datetime("us", "UTC")``, null only
        where the local time is null) and the boolean ``__dst``; see the module
        docstring for the rules.
    """
    utc = pl.Datetime("us", _UTC)
    if instants is None:
        s_at, e_at = pl.lit(None, utc), pl.lit(None, utc)
    else:
        s_at, e_at = pl.col(instants[0]).cast(utc), pl.col(instants[1]).cast(utc)
    if tz == _UTC:
        return frame.with_columns(
            pl.coalesce(s_at, pl.col(start).dt.replace_time_zone(_UTC).cast(utc)).alias("__start"),
            pl.coalesce(e_at, pl.col(end).dt.replace_time_zone(_UTC).cast(utc)).alias("__end"),
            pl.lit(False).alias("__dst"),
        )
    frame = frame.with_columns(
        *_readings(pl.col(start), tz, "__s", s_at),
        *_readings(pl.col(end), tz, "__e", e_at),
    )
    temporary = ["__s0", "__s1", "__e0", "__e1", "__s_special", "__e_special"]
    if not frame.select(pl.col("__s_special").any() | pl.col("__e_special").any()).item():
        # The usual case: no time near a DST change, a single reading of each.
        return frame.with_columns(
            pl.col("__s0").cast(utc).alias("__start"),
            pl.col("__e0").cast(utc).alias("__end"),
            pl.lit(False).alias("__dst"),
        ).drop(temporary)
    gaps = frame.select(
        (pl.col(start).is_not_null() & pl.col("__s0").is_null()).any()
        | (pl.col(end).is_not_null() & pl.col("__e0").is_null()).any()
    ).item()
    if gaps:
        frame = frame.with_columns(
            *_gap_readings(pl.col(start), tz, "__s"), *_gap_readings(pl.col(end), tz, "__e")
        )
    s0, s1, e0, e1 = (pl.col(c) for c in ("__s0", "__s1", "__e0", "__e1"))

    def seconds(a: pl.Expr, b: pl.Expr) -> pl.Expr:
        return (b - a).dt.total_microseconds().cast(pl.Float64) / 1e6

    # The four pairs, in order of preference: (s0, e0), (s0, e1), (s1, e0), (s1, e1).
    spans = [seconds(s0, e0), seconds(s0, e1), seconds(s1, e0), seconds(s1, e1)]
    el = pl.col(elapsed)
    costs = [(d - el).abs() for d in spans]
    best = pl.min_horizontal(costs)
    by_elapsed = (
        pl.when(costs[0] == best)
        .then(0)
        .when(costs[1] == best)
        .then(1)
        .when(costs[2] == best)
        .then(2)
        .otherwise(3)
    )
    nonneg = [pl.when(d >= 0).then(d) for d in spans[1:]]
    shortest = pl.min_horizontal(nonneg)
    by_order = (
        pl.when(spans[0] >= 0)
        .then(0)
        .when(shortest.is_null())
        .then(0)
        .when(nonneg[0] == shortest)
        .then(1)
        .when(nonneg[1] == shortest)
        .then(2)
        .otherwise(3)
    )
    both = s0.is_not_null() & e0.is_not_null()
    choice = (
        pl.when(~both)
        .then(0)
        .when(el.is_not_null() & el.is_finite())
        .then(by_elapsed)
        .otherwise(by_order)
    )
    return frame.with_columns(
        pl.when(choice < 2).then(s0).otherwise(s1).cast(utc).alias("__start"),
        pl.when(choice.is_in([0, 2])).then(e0).otherwise(e1).cast(utc).alias("__end"),
        (pl.col("__s_special") | pl.col("__e_special")).alias("__dst"),
    ).drop(temporary)


def _readings(local: pl.Expr, tz: str, prefix: str, instant: pl.Expr) -> list[pl.Expr]:
    """Folds 0 and 1 of ``local`` in UTC (null in a gap), and whether they differ.

    Where ``instant`` (a time given with its offset) is set, both folds are it.
    """
    early = local.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
    late = local.dt.replace_time_zone(tz, ambiguous="latest", non_existent="null")
    special = local.is_not_null() & (early.is_null() | (early != late)).fill_null(True)
    utc = pl.Datetime("us", _UTC)
    return [
        pl.coalesce(instant, early.dt.convert_time_zone(_UTC).cast(utc)).alias(f"{prefix}0"),
        pl.coalesce(instant, late.dt.convert_time_zone(_UTC).cast(utc)).alias(f"{prefix}1"),
        special.alias(f"{prefix}_special"),
    ]


def _gap_readings(local: pl.Expr, tz: str, prefix: str) -> list[pl.Expr]:
    """Fill folds 0 and 1 of times in a gap: read with the offsets before and after it."""

    def offset(days: int) -> pl.Expr:
        probe = (local + pl.duration(days=days)).dt.replace_time_zone(
            tz, ambiguous="earliest", non_existent="null"
        )
        return probe.dt.base_utc_offset() + probe.dt.dst_offset()

    # The offset in force a day (else three days) before, and after: DST changes are
    # months apart, so these are the offsets on either side of the gap.
    before = pl.coalesce(offset(-1), offset(-3))
    after = pl.coalesce(offset(1), offset(3))
    # A last resort that never happens with real zones: read the time as UTC.
    as_utc = local.dt.replace_time_zone(_UTC)
    return [
        pl.coalesce(
            pl.col(f"{prefix}0"), (local - before).dt.replace_time_zone(_UTC), as_utc
        ).alias(f"{prefix}0"),
        pl.coalesce(pl.col(f"{prefix}1"), (local - after).dt.replace_time_zone(_UTC), as_utc).alias(
            f"{prefix}1"
        ),
    ]
