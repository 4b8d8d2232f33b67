"""The command line the derivation scripts share: ``--out DIR`` and ``--shared DIR``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def parse_shared_args(
    doc: str | None, argv: list[str] | None, default_out: Path
) -> tuple[Path, Path]:
    """Parse ``--out`` and ``--shared``; return (output dir, reference-data dir).

    ``--shared`` defaults to ``$FLEETCARBON_SHARED``, else ``../shared`` beside the
    repository; a folder holding ``reference-data/`` is taken as its parent.
    """
    ap = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    ap.add_argument("--out", default=str(default_out), help="output directory")
    ap.add_argument(
        "--shared",
        default=os.environ.get("FLEETCARBON_SHARED", str(REPO.parent / "shared")),
        help="shared research folder (containing reference-data/)",
    )
    args = ap.parse_args(argv)
    shared = Path(args.shared)
    if (shared / "reference-data").is_dir():
        shared = shared / "reference-data"
    return Path(args.out), shared
