"""MIG (Multi-Instance GPU) gres types: the parent GPU and the share of it a profile holds.

A MIG-capable GPU is split into compute slices: 7 on the A100, H100, H200 and
B200, 4 on the A30. A profile ``Ng.Mgb`` holds N of them and M GB of memory, so
a job on ``gres/gpu:a100_1g.10gb=1`` uses 1/7 of an A100 80GB. Its
``accelerator_count`` is that share, used for both its energy and its
embodied carbon: ``1g`` is 1/7, ``2g`` 2/7, ``3g`` 3/7, ``4g`` 4/7, ``7g`` the
whole GPU (on the A30: ``1g`` 1/4, ``2g`` 2/4, ``4g`` 4/4). A compute-instance
prefix (``1c.3g.40gb``) is ignored: the GPU instance (``3g``) is what the job holds.

A gres type is a MIG type when it ends in a profile, after an optional parent
name and separator: ``a100_1g.10gb``, ``nvidia_h100_3g.40gb``, ``mig-2g.20gb``,
``3g.40gb``, ``1g.10gb+me``. Its parent accelerator key is, in order:

1. the cluster config's ``gres`` entry for the whole type (``"a100_1g.10gb"``);
2. its ``gres`` entry for the parent name (``a100``);
3. the GPU whose profile table holds the profile: ``1g.5gb``, ``2g.10gb``,
   ``3g.20gb``, ``4g.20gb``, ``7g.40gb`` are the A100 40GB's
   (``nvidia-a100-sxm4-40gb``); ``1g.10gb``, ``1g.20gb``, ``2g.20gb``,
   ``3g.40gb``, ``4g.40gb``, ``7g.80gb`` the A100 80GB's
   (``nvidia-a100-sxm4-80gb``) or, with a parent name holding ``h100``, the
   H100 80GB's (``nvidia-h100-sxm5-80gb``); ``…12gb``/``…24gb``/``…47gb``/``7g.94gb``
   the H100 94GB's (``nvidia-h100-nvl-94gb``); ``…18gb``/``…35gb``/``…71gb``/``7g.141gb``
   the H200's (``nvidia-h200-sxm-141gb``); ``…23gb``/``…45gb``/``…90gb``/``7g.180gb``
   the B200's (``nvidia-b200-sxm-180gb``). The SXM variants are the defaults:
   map the type (or its parent name) in ``gres`` for a PCIe card. The A30
   (``1g.6gb``, ``2g.12gb``, ``4g.24gb``) has no row in the bundled table;
4. an 80 GB profile without a parent name (``3g.40gb``: A100 or H100) takes the
   key of the job's node or partition entry, else ``gres.default``, else the
   config's ``accelerator``, else ``nvidia-a100-sxm4-80gb``;
5. otherwise (an unknown profile) the key of the job's node or partition entry,
   ``gres.default`` or ``accelerator``; else the parent name as written (``a30``,
   which the accelerators table may know as an alias), else none.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

__all__ = ["MigProfile", "mig_parent", "parse_mig"]

# NVIDIA, "NVIDIA Multi-Instance GPU User Guide", section "Supported MIG Profiles"
# (https://docs.nvidia.com/datacenter/tesla/mig-user-guide/supported-mig-profiles.html):
# the A100 has 7 compute slices (1g.5gb holds 1/7 of its SMs, 2g.10gb 2/7, 3g.20gb 3/7,
# 4g.20gb 4/7, 7g.40gb all; the A100 80GB's profiles are 1g.10gb, 1g.20gb, 2g.20gb,
# 3g.40gb, 4g.40gb, 7g.80gb), the A30 4 (1g.6gb 1/4, 2g.12gb 2/4, 4g.24gb 4/4); its
# "Supported GPUs" page gives 7 instances for the H100, H200, B200 and GB200 and 4 for
# the A30. A profile's share of the GPU is its compute slices over that total.

#: Compute slices per GPU, by parent family (7 unless listed).
_SLICES = {"a30": 4}
_FAMILIES = ("gb200", "gh200", "b200", "h200", "h100", "h20", "a100", "a30")

#: Profile (without ``+me``) -> (family, parent key) for profiles that name one GPU.
_PROFILES: dict[str, tuple[str, str | None]] = {
    **{
        p: ("a100", "nvidia-a100-sxm4-40gb")
        for p in ("1g.5gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb")
    },
    **{
        p: ("80gb", None)
        for p in ("1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb")
    },
    **{
        p: ("h100", "nvidia-h100-nvl-94gb")
        for p in ("1g.12gb", "1g.24gb", "2g.24gb", "3g.47gb", "4g.47gb", "7g.94gb")
    },
    **{
        p: ("h200", "nvidia-h200-sxm-141gb")
        for p in ("1g.18gb", "1g.35gb", "2g.35gb", "3g.71gb", "4g.71gb", "7g.141gb")
    },
    **{
        p: ("b200", "nvidia-b200-sxm-180gb")
        for p in ("1g.23gb", "1g.45gb", "2g.45gb", "3g.90gb", "4g.90gb", "7g.180gb")
    },
    **{p: ("a30", None) for p in ("1g.6gb", "2g.12gb", "4g.24gb")},
}
#: The 80 GB profiles' parent, by family.
_EIGHTY = {"a100": "nvidia-a100-sxm4-80gb", "h100": "nvidia-h100-sxm5-80gb"}
#: The 80 GB profiles' parent when nothing names the family.
DEFAULT_80GB_PARENT = "nvidia-a100-sxm4-80gb"

_MIG_RE = re.compile(
    r"(?P<parent>.*?)[_\-.:]?(?:[0-9]+c\.)?(?P<g>[0-9]+)g\.(?P<mem>[0-9]+)gb(?P<me>\+me)?",
    re.ASCII | re.IGNORECASE,
)


class MigProfile(NamedTuple):
    """A MIG gres type, parsed."""

    #: The parent name before the profile (``a100`` in ``a100_1g.10gb``), or "".
    parent: str
    #: The profile, lower case and without ``+me`` (``1g.10gb``).
    profile: str
    #: The GPU family (``a100``, ``h100``, ...) from the parent name or the profile, or None.
    family: str | None
    #: The share of the parent GPU: compute slices over the GPU's total.
    fraction: float


def parse_mig(gres_type: str) -> MigProfile | None:
    """Parse a MIG gres type (``a100_1g.10gb``, ``3g.40gb``), or return None for other types.

    Parameters
    ----------
    gres_type : str
        The ``TYPE`` of a ``gres/gpu:TYPE=N`` entry.

    Returns
    -------
    MigProfile or None
        None when the type does not end in a MIG profile, or its slice count is 0
        or more than its GPU has.
    """
    m = _MIG_RE.fullmatch(gres_type.strip())
    if m is None:
        return None
    parent = re.sub(r"[_\-.:]*mig$", "", m.group("parent"), flags=re.IGNORECASE).strip("_-.: ")
    profile = f"{int(m.group('g'))}g.{int(m.group('mem'))}gb"
    lower = parent.lower()
    family = next((f for f in _FAMILIES if f in lower), None)
    known = _PROFILES.get(profile)
    if family is None and known is not None and known[0] != "80gb":
        family = known[0]
    slices = _SLICES.get(family or "", 7)
    g = int(m.group("g"))
    if not 1 <= g <= slices:
        return None
    return MigProfile(parent, profile, family, g / slices)


def mig_parent(
    gres_type: str,
    mig: MigProfile,
    gres: Mapping[str, str],
    fallbacks: tuple[str | None, ...],
) -> str | None:
    """Return the accelerator key of a MIG type's parent GPU (see the module docstring).

    Parameters
    ----------
    gres_type : str
        The gres type as written.
    mig : MigProfile
        Its parse.
    gres : mapping of str to str
        The cluster config's ``gres`` map.
    fallbacks : tuple of str or None
        The job's node entry key, partition entry key, ``gres.default`` and
        ``accelerator``, in that order (None where absent).

    Returns
    -------
    str or None
        The parent key, or None when nothing resolves it.
    """
    if gres_type in gres:
        return gres[gres_type]
    if mig.parent and mig.parent in gres:
        return gres[mig.parent]
    known = _PROFILES.get(mig.profile)
    fallback = next((f for f in fallbacks if f is not None), None)
    if known is not None:
        group, key = known
        if group == "80gb":
            by_family = _EIGHTY.get(mig.family or "")
            return by_family or fallback or DEFAULT_80GB_PARENT
        if key is not None and mig.family in (None, group):
            return key
    return fallback or (mig.parent or None)
