"""Property tests of the sacct field parsers, through read_sacct and the public helpers.

Each property computes the expected value independently (from the generated
parts, or from the documented format as a Python regex) and compares it with
what read_sacct returns; a value the format does not allow must raise
InvalidValueError naming the field (and be dropped with a warning under
on_invalid="drop"), never a raw Python or Polars exception.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
import zoneinfo

import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from fleetcarbon.errors import DroppedRowsWarning, InvalidValueError
from fleetcarbon.io.sacct import (
    UnmappedAcceleratorWarning,
    expand_array_tasks,
    gpu_count_from_tres,
    read_sacct,
)

#: Values sacct prints for "unknown": read as null, not as malformed.
UNKNOWN = {"", "Unknown", "None", "N/A", "INVALID"}
UNIT_BYTES = {"": 2**20, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40, "P": 2**50}
#: The documented formats, written independently of the parsers' Polars regexes.
#: Slurm's time formats (time_str2secs): days-hours[:minutes[:seconds]] with a dash,
#: else hours:minutes:seconds (three parts) or minutes[:seconds].
DAYS = re.compile(r"(\d+)-(\d+)(?::(\d+)(?::(\d+(?:\.\d+)?))?)?", re.ASCII)
SECONDS = re.compile(r"\d+(?:\.\d+)?", re.ASCII)
MAX_COUNT = 2**53 - 1
MEMORY = re.compile(r"(\d+(?:\.\d*)?)([KMGTP]?)([cn]?)", re.ASCII)
ZONES = ["UTC", "America/New_York", "America/Chicago", "Europe/Paris", "Asia/Kolkata"]

#: The round trips of the main formats run 200 examples, the other properties 100.
PROPERTY = settings(max_examples=100, deadline=None)
THOROUGH = settings(max_examples=200, deadline=None)


def sacct(header: str, values: list[str], **kwargs: object) -> pl.DataFrame:
    """Read one line per value: JobID 1, 2, ... then the value (``header`` names its field).

    A duration field (ElapsedRaw, 60 s) is added when ``header`` has none.
    """
    if not {"Elapsed", "ElapsedRaw"} & set(header.split("|")):
        header, values = f"{header}|ElapsedRaw", [f"{v}|60" for v in values]
    lines = [f"JobID|{header}", *(f"{i}|{v}" for i, v in enumerate(values, start=1))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnmappedAcceleratorWarning)
        return read_sacct("\n".join(lines) + "\n", **kwargs)  # type: ignore[arg-type]


def assert_rejected(header: str, field: str, value: str, **kwargs: object) -> None:
    """``value`` in field ``field`` raises naming it, and is dropped under on_invalid="drop"."""
    with pytest.raises(InvalidValueError) as info:
        sacct(header, [value], **kwargs)
    assert info.value.column == field
    assert info.value.n_bad == 1
    assert info.value.examples[0].startswith("line 2")
    with pytest.warns(DroppedRowsWarning, match="dropped 1 malformed line"):
        jobs = sacct(header, [value], on_invalid="drop", **kwargs)
    assert jobs.height == 0


def slurm_seconds(text: str) -> float | None:
    """Seconds of a Slurm time string, or None when it is not one.

    Written from Slurm's documented formats ("days-hours", "days-hours:minutes",
    "days-hours:minutes:seconds", "hours:minutes:seconds", "minutes:seconds",
    "minutes"); the leading unit may be of any size, a unit after a larger one
    must be below 24 (hours) or 60 (minutes, seconds). Seconds may have a fraction.
    """
    m = DAYS.fullmatch(text)
    if m is not None:
        d, h, mi, s = (float(g) if g is not None else 0.0 for g in m.groups())
        return None if h >= 24 or mi >= 60 or s >= 60 else d * 86400 + h * 3600 + mi * 60 + s
    parts = text.split(":")
    if not 1 <= len(parts) <= 3 or not all(p.isascii() and p.isdigit() for p in parts[:-1]):
        return None
    if len(parts) == 1:  # minutes
        return float(parts[0]) * 60 if parts[0].isascii() and parts[0].isdigit() else None
    if SECONDS.fullmatch(parts[-1]) is None:
        return None
    values = [float(p) for p in parts]
    if any(v >= 60 for v in values[1:]):
        return None
    if len(values) == 2:  # minutes:seconds
        return values[0] * 60 + values[1]
    return values[0] * 3600 + values[1] * 60 + values[2]


def approx_seconds(hours: list[float | None]) -> list[float | None]:
    return [None if h is None else h * 3600 for h in hours]


def assert_close(got: list[float | None], expected: list[float | None], rel: float = 1e-12) -> None:
    """Element-wise ``pytest.approx``, with None (null) matching only None."""
    assert [g is None for g in got] == [e is None for e in expected], (got, expected)
    pairs = [(g, e) for g, e in zip(got, expected, strict=True) if e is not None]
    assert [g for g, _ in pairs] == pytest.approx([e for _, e in pairs], rel=rel, abs=1e-12)


# ----------------------------------------------------------------------------- elapsed


@st.composite
def elapsed(draw: st.DrawFn) -> tuple[str, float]:
    """An Elapsed string in one of the formats sacct (or a tool re-printing it) writes."""
    d = draw(st.integers(0, 400))
    h = draw(st.integers(0, 23))
    m = draw(st.integers(0, 59))
    s = draw(st.integers(0, 59))
    ms = draw(st.integers(0, 999))
    whole = d * 86400 + h * 3600 + m * 60 + s
    minutes = whole // 60
    forms = {
        "[D-]HH:MM:SS": (f"{d}-{h:02d}:{m:02d}:{s:02d}" if d else f"{h:02d}:{m:02d}:{s:02d}", 0),
        "D-HH:MM:SS": (f"{d}-{h:02d}:{m:02d}:{s:02d}", 0),
        "HH:MM:SS, hours past 24": (f"{d * 24 + h:02d}:{m:02d}:{s:02d}", 0),
        "MM:SS, minutes past 59": (f"{minutes:02d}:{s:02d}", 0),
        "MM:SS.mmm": (f"{minutes:02d}:{s:02d}.{ms:03d}", ms),
        "D-HH:MM:SS.mmm": (f"{d}-{h:02d}:{m:02d}:{s:02d}.{ms:03d}", ms),
        "H:M:S unpadded": (f"{d * 24 + h}:{m}:{s}", 0),
    }
    # Slurm's day forms without seconds, and bare minutes.
    shorter = {
        "D-HH": (f"{d}-{h:02d}", d * 86400 + h * 3600),
        "D-HH:MM": (f"{d}-{h:02d}:{m:02d}", d * 86400 + h * 3600 + m * 60),
        "minutes": (f"{minutes}", minutes * 60),
    }
    name = draw(st.sampled_from(sorted(forms) + sorted(shorter)))
    pad = draw(st.sampled_from(["", " ", "\t"]))
    if name in shorter:
        text, seconds = shorter[name]
        return pad + text + pad, float(seconds)
    text, frac = forms[name]
    return pad + text + pad, whole + frac / 1000


@THOROUGH
@given(st.lists(elapsed(), min_size=1, max_size=10))
def test_elapsed_parses_back_to_its_seconds(cases: list[tuple[str, float]]) -> None:
    jobs = sacct("Elapsed", [text for text, _ in cases])
    assert approx_seconds(jobs["duration_h"].to_list()) == pytest.approx(
        [seconds for _, seconds in cases], rel=1e-12, abs=1e-9
    )


@PROPERTY
@given(st.lists(st.tuples(st.integers(0, 10**10), elapsed()), min_size=1, max_size=10))
def test_elapsed_raw_is_seconds_and_wins_over_elapsed(cases: list[tuple[int, tuple]]) -> None:
    values = [f"{raw}|{text}" for raw, (text, _) in cases]
    jobs = sacct("ElapsedRaw|Elapsed", values)
    assert_close(jobs["duration_h"].to_list(), [raw / 3600 for raw, _ in cases], rel=1e-15)


@THOROUGH
@given(st.text(alphabet="0123456789-:. \taZ+٣", max_size=14))
def test_elapsed_follows_its_format_on_any_text(value: str) -> None:
    # Changed with Slurm's rules: "2-05:30" is days-hours:minutes (it was read as
    # 2 days 5 min 30 s), bare minutes are accepted, and minutes or seconds of 60+
    # after a larger unit are refused.
    stripped = value.strip()
    seconds = slurm_seconds(stripped)
    if stripped in UNKNOWN:
        assert sacct("Elapsed", [value])["duration_h"].to_list() == [None]
    elif seconds is None or seconds > MAX_COUNT:
        assert_rejected("Elapsed", "Elapsed", value)
    else:
        hours = sacct("Elapsed", [value])["duration_h"].to_list()
        assert approx_seconds(hours) == pytest.approx([seconds], rel=1e-12)


# ----------------------------------------------------------------------------- memory


@st.composite
def reqmem(draw: st.DrawFn) -> tuple[str, int, int, float]:
    """A ReqMem value, the job's NCPUS and NNodes, and the expected memory in decimal GB."""
    whole = draw(st.integers(0, 10**7))
    decimals = draw(st.sampled_from(["", ".", ".5", ".25", ".125"]))
    unit = draw(st.sampled_from(sorted(UNIT_BYTES)))
    per = draw(st.sampled_from(["", "c", "n"]))
    ncpus = draw(st.integers(1, 512))
    nnodes = draw(st.integers(1, 64))
    value = float(f"{whole}{decimals}") if decimals != "." else float(whole)
    mult = {"": 1, "c": ncpus, "n": nnodes}[per]
    return f"{whole}{decimals}{unit}{per}", ncpus, nnodes, value * UNIT_BYTES[unit] * mult / 1e9


@THOROUGH
@given(st.lists(reqmem(), min_size=1, max_size=10))
def test_reqmem_is_binary_units_times_cpus_or_nodes(
    cases: list[tuple[str, int, int, float]],
) -> None:
    values = [f"{ncpus}|{nnodes}|{mem}" for mem, ncpus, nnodes, _ in cases]
    jobs = sacct("NCPUS|NNodes|ReqMem", values)
    assert_close(jobs["memory_gb"].to_list(), [gb for *_, gb in cases])


@THOROUGH
@given(st.text(alphabet="0123456789.KMGTPcnkgbB -", max_size=10))
def test_reqmem_follows_its_format_on_any_text(value: str) -> None:
    stripped = value.strip()
    match = MEMORY.fullmatch(stripped)
    if stripped in UNKNOWN:
        assert sacct("NCPUS|NNodes|ReqMem", [f"8|2|{value}"])["memory_gb"].to_list() == [None]
    elif match is None:
        assert_rejected("NCPUS|NNodes|ReqMem", "ReqMem", f"8|2|{value}")
    else:
        v, unit, per = match.groups()
        expected = float(v) * UNIT_BYTES[unit] * {"": 1, "c": 8, "n": 2}[per] / 1e9
        jobs = sacct("NCPUS|NNodes|ReqMem", [f"8|2|{value}"])
        assert jobs["memory_gb"].to_list() == pytest.approx([expected], rel=1e-12)


# ----------------------------------------------------------------------------- TRES

GRES_TYPE = st.from_regex(r"[a-z][a-z0-9_.\-]{0,12}", fullmatch=True)
OTHER_TRES = st.sampled_from(
    [
        *("billing=16", "cpu=8", "node=1", "energy=1200", "gres/gpumem=80G", "gres/gpuutil=50"),
        *("gres/mps=100", "license/matlab=1", "fs/disk=100M"),
    ]
)


@st.composite
def tres(draw: st.DrawFn) -> tuple[str, int, str | None, float | None]:
    """A TRES string; its GPU count, first gres type and ``mem=`` entry (decimal GB)."""
    typed = draw(st.lists(st.tuples(GRES_TYPE, st.integers(0, 64)), max_size=4))
    untyped = draw(st.none() | st.integers(0, 256))
    mem = draw(st.none() | st.tuples(st.integers(0, 10**6), st.sampled_from(sorted(UNIT_BYTES))))
    entries = [f"gres/gpu:{t}={n}" for t, n in typed]
    entries += draw(st.lists(OTHER_TRES, max_size=4, unique=True))
    if untyped is not None:
        entries.append(f"gres/gpu={untyped}")
    if mem is not None:
        entries.append(f"mem={mem[0]}{mem[1]}")
    entries = draw(st.permutations(entries))
    # The untyped entry is the total; else the typed counts add up.
    count = untyped if untyped is not None else sum(n for _, n in typed)
    first_typed = [e.split(":", 1)[1].split("=")[0] for e in entries if e.startswith("gres/gpu:")]
    gres_type = first_typed[0] if first_typed and count > 0 else None
    gb = None if mem is None else mem[0] * UNIT_BYTES[mem[1]] / 1e9
    return ",".join(entries), count, gres_type, gb


@THOROUGH
@given(st.lists(tres(), min_size=1, max_size=10), st.sampled_from(["AllocTRES", "ReqTRES"]))
def test_tres_gives_gpu_count_type_and_memory(cases: list[tuple], field: str) -> None:
    jobs = sacct(field, [t for t, *_ in cases])
    assert jobs["accelerator_count"].to_list() == [count for _, count, _, _ in cases]
    # Without a cluster config, the accelerator is the gres type itself.
    assert jobs["accelerator"].to_list() == [gres_type for _, _, gres_type, _ in cases]
    assert_close(jobs["memory_gb"].to_list(), [gb for *_, gb in cases])
    assert [gpu_count_from_tres(t) for t, *_ in cases] == [count for _, count, _, _ in cases]


@PROPERTY
@given(tres(), tres())
def test_alloc_tres_wins_over_req_tres(alloc: tuple, req: tuple) -> None:
    jobs = sacct("ReqTRES|AllocTRES", [f"{req[0]}|{alloc[0]}", f"{req[0]}|"])
    # A blank AllocTRES (pending jobs) falls back to ReqTRES.
    first = alloc[1] if alloc[0] else req[1]
    assert jobs["accelerator_count"].to_list() == [first, req[1]]


# ----------------------------------------------------------------------------- counts, energy

MALFORMED_COUNT = st.one_of(
    st.integers(1, 10**6).map(lambda n: f"-{n}"),
    st.floats(0.1, 1e6, allow_nan=False).map(lambda x: f"{x:.3f}"),
    st.integers(0, 999).map(lambda n: f"{n} cpus"),
    st.integers(1000, 10**9).map(lambda n: f"{n:,}"),
    st.sampled_from(["four", "1e3", "0x10", "2^3", "NaN", "unknown", "9" * 20, "+4", "٣"]),
    # Past the bound of 2**53 - 1 (a count exact as float64), and past 2**63.
    st.integers(MAX_COUNT + 1, 2**70).map(str),
)


@PROPERTY
@given(st.lists(st.integers(0, MAX_COUNT), min_size=1, max_size=10), st.integers(0, 3))
def test_counts_parse_to_integers(counts: list[int], zeros: int) -> None:
    # Changed: counts are bounded by 2**53 - 1 (they were accepted up to 2**63 - 1).
    values = [f"{'0' * zeros}{n}|{'0' * zeros}{n % 1000}" for n in counts]
    jobs = sacct("NCPUS|NNodes|Elapsed", [f"{v}|00:01" for v in values])
    assert jobs["cpu_cores"].to_list() == counts
    assert jobs.schema["cpu_cores"] == pl.Int64


@PROPERTY
@given(MALFORMED_COUNT, st.sampled_from(["NCPUS", "NNodes", "ElapsedRaw"]))
def test_malformed_counts_are_rejected(value: str, field: str) -> None:
    assert_rejected(f"{field}|Elapsed", field, f"{value}|00:01")


@PROPERTY
@given(st.lists(st.integers(0, 2**64) | st.floats(0, 1e15, allow_nan=False), max_size=10))
def test_energy_is_joules_unless_zero_or_no_val(joules: list[float]) -> None:
    jobs = sacct("Elapsed|ConsumedEnergyRaw", [f"00:01|{j!r}" for j in joules])
    # The value is read as a float: compare the float with NO_VAL (2**63), as the reader does.
    expected = [j / 3.6e6 if 0 < float(j) < 2.0**63 else None for j in joules]
    assert_close(jobs["energy_kwh"].to_list(), expected)


@PROPERTY
@given(
    st.one_of(
        st.floats(max_value=-1e-9, allow_infinity=False).map(repr),
        st.integers(max_value=-1).map(str),
        st.sampled_from(["nan", "NaN", "12 J", "1,5", "lots", "0x10"]),
    )
)
def test_malformed_energy_is_rejected(value: str) -> None:
    assert_rejected("Elapsed|ConsumedEnergyRaw", "ConsumedEnergyRaw", f"00:01|{value}")


# ----------------------------------------------------------------------------- times


@PROPERTY
@given(
    st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2035, 12, 31)),
    st.sampled_from(ZONES),
    st.sampled_from(["Start", "End"]),
)
def test_local_times_become_utc(local: dt.datetime, zone: str, field: str) -> None:
    # fold=0: hypothesis also draws fold=1, the later reading of an ambiguous time.
    local = local.replace(microsecond=0, fold=0)
    tz = zoneinfo.ZoneInfo(zone)
    utc = local.replace(tzinfo=tz).astimezone(dt.timezone.utc)
    # Skip times that do not exist (the spring-forward gap); ambiguous ones read as
    # the earlier instant, as zoneinfo's fold=0 does.
    assume(utc.astimezone(tz).replace(tzinfo=None) == local)
    jobs = sacct(
        f"{field}|ElapsedRaw", [f"{local:%Y-%m-%dT%H:%M:%S}|60"], cluster={"timezone": zone}
    )
    assert jobs[field.lower()].to_list() == [utc]


@PROPERTY
@given(
    st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2035, 12, 31)),
    st.integers(-12 * 60, 14 * 60),
    st.sampled_from(["+HH:MM", "+HHMM", "+HH", "Z"]),
    st.sampled_from(ZONES),
    st.sampled_from(["Start", "End"]),
)
def test_times_with_an_offset_are_the_instants_they_name(
    local: dt.datetime, minutes: int, form: str, zone: str, field: str
) -> None:
    # A UTC offset (as SLURM_TIME_FORMAT=%FT%T%z prints it, or ISO 8601's) fixes the
    # instant: the cluster's time zone, DST folds and gaps included, does not apply.
    local = local.replace(microsecond=0)
    if form == "Z":
        minutes, suffix = 0, "Z"
    else:
        if form == "+HH":
            minutes -= minutes % 60 if minutes >= 0 else -(-minutes % 60)
        sign, a = ("-" if minutes < 0 else "+"), abs(minutes)
        suffix = {"+HH:MM": f"{a // 60:02d}:{a % 60:02d}", "+HHMM": f"{a // 60:02d}{a % 60:02d}"}
        suffix = sign + suffix.get(form, f"{a // 60:02d}")
    offset = dt.timezone(dt.timedelta(minutes=minutes))
    instant = local.replace(tzinfo=offset).astimezone(dt.timezone.utc)
    jobs = sacct(
        f"{field}|ElapsedRaw", [f"{local:%Y-%m-%dT%H:%M:%S}{suffix}|60"], cluster={"timezone": zone}
    )
    assert jobs[field.lower()].to_list() == [instant]


@st.composite
def malformed_time(draw: st.DrawFn) -> str:
    good = draw(st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2035, 12, 31)))
    y, mo, d = good.year, good.month, good.day
    forms = [
        f"{good:%Y-%m-%d %H:%M:%S}",  # space instead of T
        f"{good:%Y-%m-%dT%H:%M}",  # no seconds
        f"{good:%Y-%m-%dT%H:%M:%S}.123",  # fractional seconds
        f"{good:%Y-%m-%dT%H:%M:%S}.123Z",  # fractional seconds with an offset
        f"{good:%Y-%m-%dT%H:%M:%S}+24:00",  # offset out of range
        f"{good:%Y-%m-%dT%H:%M:%S}+02:60",
        f"{good:%Y-%m-%dT%H:%M:%S}+2",  # offset hours need two digits
        f"{good:%Y-%m-%dT%H:%M:%S} +02:00",  # a space before the offset
        f"{good:%Y-%m-%dT%H:%M:%S}UTC",  # a zone name, not an offset
        f"{good:%d/%m/%YT%H:%M:%S}",
        f"{y}-13-{d:02d}T00:00:00",
        f"{y}-{mo:02d}-32T00:00:00",
        f"{y}-02-30T00:00:00",
        f"{y}-04-31T00:00:00",
        f"{y}-{mo:02d}-{d:02d}T24:00:00",
        f"{y}-{mo:02d}-{d:02d}T12:60:00",
        f"{good:%Y-%m-%d}",
        "yesterday",
    ]
    return draw(st.sampled_from(forms))


@PROPERTY
@given(malformed_time(), st.sampled_from(["Start", "End"]))
def test_malformed_times_are_rejected(value: str, field: str) -> None:
    assert_rejected(f"{field}|ElapsedRaw", field, f"{value}|60")


# ----------------------------------------------------------------------------- job ids

TASKS = st.one_of(
    st.integers(0, 10**6).map(str),
    st.lists(st.integers(0, 999), min_size=1, max_size=4).map(
        lambda xs: "[" + ",".join(str(x) for x in xs) + "]"
    ),
)
STEPS = st.sampled_from(["batch", "extern", "interactive", "0", "12", "bad-name_1"])


@PROPERTY
@given(st.integers(1, 10**9), st.none() | TASKS, st.none() | st.integers(0, 9), st.none() | STEPS)
def test_job_ids(base: int, task: str | None, het: int | None, step: str | None) -> None:
    alloc = (
        f"{base}"
        + (f"_{task}" if task is not None else "")
        + (f"+{het}" if het is not None else "")
    )
    jobid = alloc + (f".{step}" if step is not None else "")
    jobs = read_sacct(f"JobID|Elapsed\n{jobid}|00:01\n")
    # A step whose allocation line is absent forms the job, under the allocation's id.
    assert jobs["job_id"].to_list() == [alloc]
    assert jobs["array_job_id"].to_list() == [str(base) if task is not None else None]
    assert jobs["array_task"].to_list() == [task]


@PROPERTY
@given(
    st.one_of(
        st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,6}", fullmatch=True),
        st.integers(1, 999).map(lambda n: f"{n}_"),
        st.integers(1, 999).map(lambda n: f"{n}.batch.0"),
        st.integers(1, 999).map(lambda n: f"{n}_[1-3"),
        st.integers(1, 999).map(lambda n: f"-{n}"),
        st.integers(1, 999).map(lambda n: f"{n}+"),
    )
)
def test_malformed_job_ids_are_rejected(jobid: str) -> None:
    with pytest.raises(InvalidValueError) as info:
        read_sacct(f"JobID|Elapsed\n{jobid}|00:01\n")
    assert info.value.column == "JobID" and info.value.n_bad == 1


# ----------------------------------------------------------------------------- arrays


@st.composite
def array_spec(draw: st.DrawFn) -> tuple[str, list[int]]:
    """A bracketed job-array task list of increasing ranges, and its task indices."""
    starts = draw(st.lists(st.integers(0, 10**5), min_size=1, max_size=5, unique=True))
    parts, tasks = [], []
    for lo in sorted(starts):
        width = draw(st.integers(0, 30))
        parts.append(f"{lo}-{lo + width}" if width or draw(st.booleans()) else f"{lo}")
        tasks.extend(range(lo, lo + width + 1))
    throttle = draw(st.sampled_from(["", "%1", "%10"]))
    return "[" + ",".join(parts) + throttle + "]", tasks


@PROPERTY
@given(array_spec())
def test_array_task_lists_expand(case: tuple[str, list[int]]) -> None:
    spec, tasks = case
    assert expand_array_tasks(spec) == tasks
    # The reader keeps the spec as the array_task of the allocation.
    jobs = read_sacct(f"JobID|Elapsed\n77_{spec}|00:01\n")
    assert expand_array_tasks(jobs["array_task"][0]) == tasks


@PROPERTY
@given(
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    st.sampled_from(["{a}-{b}", "[{a}-{b}]", "[1,{a}-{b}]"]),
)
def test_reversed_or_malformed_ranges_are_rejected(a: int, b: int, form: str) -> None:
    spec = form.format(a=max(a, b) + 1, b=min(a, b))
    with pytest.raises(InvalidValueError) as info:
        expand_array_tasks(spec)
    assert info.value.column == "array_task"
    for bad in (f"[{a},x]", f"{a}-", f"[{a}-{b}-{a}]", f"{{{a}}}"):
        with pytest.raises(InvalidValueError):
            expand_array_tasks(bad)
