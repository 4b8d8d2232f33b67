"""Accounting conventions: how jobs are charged where the literature differs.

A :class:`Convention` says how the cores of a job are attributed (reserved or
used), which host power an accelerator job is charged (its accelerators' host
share, or its own cores and memory), and any factor it fixes for every job.
Two are named:

- ``"fleetcarbon"`` (the default): cores are charged as reserved (cores × wall
  time); an accelerator job is charged its accelerators' ``host_power_w`` share,
  which stands for the whole host, so its own cores and memory are not added;
  accelerators draw ``power_fraction`` of their TDP.
- ``"ga4hpc"``: GreenAlgorithms4HPC's (Lannelongue et al. 2021, and its
  ``GA_tools``): cores are charged by their use, TotalCPU ÷ (cores × wall
  time), clipped to [0, 1] (1 where it is not logged); accelerator jobs add
  their cores' and memory's power, with the GPUs at full TDP and no host
  share. Memory should be read in decimal units, as GreenAlgorithms4HPC reads
  ``ReqMem`` (``read_sacct(..., memory_units="decimal")``).

See ``docs/model.md`` §4.5 for why the default is what it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import polars as pl

from fleetcarbon.errors import MissingColumnError, ParameterError
from fleetcarbon.schema import CPU_CORES, CPU_TIME_H, FACTOR_NAMES

__all__ = ["CONVENTIONS", "AcceleratorHost", "Convention", "CpuAttribution", "resolve_convention"]

CpuAttribution = Literal["reserved", "used"]
AcceleratorHost = Literal["share", "components"]


@dataclass(frozen=True)
class Convention:
    """How jobs are charged where the literature differs.

    Attributes
    ----------
    name : str
        The convention's name, as results report it.
    cpu_attribution : {"reserved", "used"}
        Cores charged as reserved (cores × wall time), or by their use:
        cores × wall time × clip(cpu_time_h ÷ (cores × wall time), 0, 1),
        from the job's ``cpu_time_h`` (null or 0: not logged, counted as
        reserved).
    accelerator_host : {"share", "components"}
        An accelerator job's host power: the accelerators' ``host_power_w``
        share (its cores and memory not added), or its own cores and memory.
    factors : mapping of str to float
        Factor values the convention fixes for every job that gives none of
        its own (a per-job override column still wins).
    """

    name: str
    cpu_attribution: CpuAttribution = "reserved"
    accelerator_host: AcceleratorHost = "share"
    factors: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.cpu_attribution not in ("reserved", "used"):
            raise ParameterError(
                f"cpu_attribution must be 'reserved' or 'used', got {self.cpu_attribution!r}"
            )
        if self.accelerator_host not in ("share", "components"):
            raise ParameterError(
                f"accelerator_host must be 'share' or 'components', got {self.accelerator_host!r}"
            )
        unknown = sorted(set(self.factors) - set(FACTOR_NAMES))
        if unknown:
            raise ParameterError(f"a convention cannot fix unknown factors {unknown}")

    def core_usage(self, frame: pl.DataFrame, hours: np.ndarray) -> np.ndarray | None:
        """Return each job's share of its reserved cores' power (NaN: 1), or None for all 1."""
        if self.cpu_attribution == "reserved":
            return None
        if CPU_TIME_H not in frame.columns:
            raise MissingColumnError(
                f"cpu_attribution='used' needs a '{CPU_TIME_H}' column (used CPU time, h; "
                "read_sacct reads it from TotalCPU)"
            )
        used = frame[CPU_TIME_H].cast(pl.Float64).fill_null(np.nan).to_numpy()
        cores = (
            frame[CPU_CORES].cast(pl.Float64).fill_null(0.0).to_numpy()
            if CPU_CORES in frame.columns
            else np.zeros(frame.height)
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.clip(used / (cores * hours), 0.0, 1.0)
        # Not logged (null or 0 CPU time), or nothing reserved: charge the reservation.
        share[~(used > 0) | ~np.isfinite(share)] = np.nan
        return np.ascontiguousarray(share, dtype=np.float64)


#: The named conventions.
CONVENTIONS: dict[str, Convention] = {
    "fleetcarbon": Convention("fleetcarbon"),
    "ga4hpc": Convention(
        "ga4hpc",
        cpu_attribution="used",
        accelerator_host="components",
        factors={"power_fraction": 1.0, "host_power_w": 0.0},
    ),
}


def resolve_convention(
    convention: str | Convention | None, cpu_attribution: str | None = None
) -> Convention:
    """Return the convention named (or given), with ``cpu_attribution`` replaced if given."""
    if convention is None:
        convention = "fleetcarbon"
    if isinstance(convention, str):
        if convention not in CONVENTIONS:
            raise ParameterError(
                f"unknown convention {convention!r}; choose from {sorted(CONVENTIONS)} "
                "or pass a fleetcarbon.conventions.Convention"
            )
        chosen = CONVENTIONS[convention]
    elif isinstance(convention, Convention):
        chosen = convention
    else:
        raise ParameterError(f"convention must be a name or a Convention, got {convention!r}")
    if cpu_attribution is not None and cpu_attribution != chosen.cpu_attribution:
        chosen = Convention(
            f"{chosen.name}+{cpu_attribution}",
            cpu_attribution=cpu_attribution,  # type: ignore[arg-type]
            accelerator_host=chosen.accelerator_host,
            factors=chosen.factors,
        )
    return chosen
