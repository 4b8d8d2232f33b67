"""Scenarios from a TOML file, for ``fleetcarbon sweep --scenarios FILE``.

One ``[[scenario]]`` table per scenario, with the keywords of
:class:`fleetcarbon.Scenario`; ``[value, low, high]`` lists stand for
``(value, low, high)``; ``rows`` names CSV or Parquet files (relative to the
TOML file) per table. An optional top-level ``baseline`` names the scenario
the others are compared with (docs/scenarios.md, "Scenario files")::

    baseline = "today"

    [[scenario]]
    name = "today"

    [[scenario]]
    name = "PUE 1.1"
    pue = 1.1

    [[scenario]]
    name = "A100 to H100"
    accelerator = { "nvidia-a100-sxm4-80gb" = "nvidia-h100-sxm5-80gb" }
    speedup = 2.0
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from fleetcarbon._compat import toml_module
from fleetcarbon.errors import ParameterError
from fleetcarbon.scenarios import Scenario

__all__ = ["ScenarioFile", "read_scenarios"]

#: Keywords a scenario table may give, and whether their values may be bounds lists.
_KEYWORDS = {
    "pue": True,
    "lifetime_years": True,
    "use_rate": True,
    "power_fraction": True,
    "grid": True,
    "rows": False,
    "region": False,
    "datacenter": False,
    "accelerator": False,
    "speedup": False,
    "counts": False,
    "power_cap_w": False,
    "slowdown_exponent": False,
    "shift_h": False,
    "shift": False,
    "window_h": False,
}


@dataclass(frozen=True)
class ScenarioFile:
    """The scenarios of a file, in order, and the name of its baseline (None: the default)."""

    scenarios: list[Scenario]
    baseline: str | None


def read_scenarios(path: str | Path) -> ScenarioFile:
    """Read a scenarios TOML file; errors name the file, the scenario and the key."""
    path = Path(path)
    try:
        tomllib = toml_module()
    except ModuleNotFoundError as exc:
        raise ParameterError(
            "reading TOML on Python 3.10 needs 'tomli' (pip install tomli)"
        ) from exc
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ParameterError(f"cannot read scenarios file {str(path)!r}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ParameterError(f"{path}: not valid TOML ({exc})") from exc
    unknown = sorted(set(document) - {"scenario", "baseline"})
    if unknown:
        raise ParameterError(f"{path}: unknown top-level key(s) {unknown}; use [[scenario]] tables")
    tables = document.get("scenario", [])
    if not isinstance(tables, list) or not tables:
        raise ParameterError(f"{path}: no [[scenario]] table")
    baseline = document.get("baseline")
    if baseline is not None and not isinstance(baseline, str):
        raise ParameterError(f"{path}: baseline must be a scenario name")
    scenarios = [_scenario(path, i, table) for i, table in enumerate(tables, start=1)]
    return ScenarioFile(scenarios=scenarios, baseline=baseline)


def _scenario(path: Path, index: int, table: dict[str, Any]) -> Scenario:
    name = table.get("name")
    where = f"{path}: scenario {index}" + (f" ({name!r})" if isinstance(name, str) else "")
    if not isinstance(name, str) or not name:
        raise ParameterError(f"{where}: every scenario needs a name")
    unknown = sorted(set(table) - {"name", *_KEYWORDS})
    if unknown:
        raise ParameterError(f"{where}: unknown key(s) {unknown}; keys are {sorted(_KEYWORDS)}")
    options: dict[str, Any] = {}
    for key, value in table.items():
        if key == "name":
            continue
        if key == "rows":
            options[key] = _rows(path, where, value)
        elif _KEYWORDS[key]:
            options[key] = _bounded(where, key, value)
        else:
            options[key] = value
    try:
        return Scenario(name, **options)
    except (ParameterError, TypeError) as exc:
        raise ParameterError(f"{where}: {exc}") from exc


def _bounded(where: str, key: str, value: object) -> object:
    """``[value, low, high]`` lists (also inside a mapping) as tuples."""
    if isinstance(value, dict):
        return {k: _bounded(where, f"{key}.{k}", v) for k, v in value.items()}
    if isinstance(value, list):
        if len(value) != 3:
            raise ParameterError(f"{where}: {key} = {value!r}: give a number or [value, low, high]")
        return tuple(value)
    return value


def _rows(path: Path, where: str, value: object) -> dict[str, pl.DataFrame]:
    if not isinstance(value, dict):
        raise ParameterError(f"{where}: rows must map table names to CSV or Parquet files")
    frames = {}
    for table, name in value.items():
        file = (path.parent / str(name)).resolve()
        if not file.is_file():
            raise ParameterError(f"{where}: rows.{table}: no file {file}")
        frames[table] = pl.read_parquet(file) if file.suffix == ".parquet" else pl.read_csv(file)
    return frames
