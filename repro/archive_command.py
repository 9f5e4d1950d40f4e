"""`repro archive` and `repro verify`: what they print and the exit status (repro.archive makes
a bundle, repro.verify checks one)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from tabulate import tabulate

from repro.archive import SIMULATED_WARNING, STAND_INS_WARNING, archive
from repro.tiers import get_tier
from repro.verify import verify


def archive_command(root: Path, tier: str, bundle: Path | None, experiments: list[str]) -> int:
    """Write the bundle; print where it is and how to check it. Exit 0, or 2 (one line) when
    there is nothing to bundle or its samples are damaged."""
    made = archive(root, tier, bundle, experiments or None)
    rows = [[folder.experiment, folder.backend, len(list(folder.path.glob("*.csv")))] for folder in made.results]
    print(tabulate(rows, headers=["experiment", "backend", "result files"], tablefmt="simple"))
    print(f"{len(made.stores)} sample store(s), {made.files} files in all, each listed with its sha256 in "
          "MANIFEST.sha256.")
    for line in made.missing:
        print(f"not included: {line}")
    if made.simulated:
        print(f"warning: {SIMULATED_WARNING}")
    elif get_tier(tier).uses_stand_ins:
        print(f"warning: {STAND_INS_WARNING}")
    print(f"Check it with `repro verify {made.bundle}` (the bundle's README.md says what a reviewer does).")
    return 0


def verify_command(bundle: Path, workers: int | None = None) -> int:
    """Check the bundle; print one row per check. Exit 0 when everything matches, 1 when a
    recomputed number differs (the first difference named), 2 (one line, raised) when the
    bundle is malformed or was changed."""
    with tempfile.TemporaryDirectory(prefix="repro-verify-") as scratch:
        outcome = verify(bundle, Path(scratch), workers)
    if outcome.simulated:
        print(f"warning: {SIMULATED_WARNING}")
    elif outcome.stand_ins:
        print(f"warning: {STAND_INS_WARNING}")
    if outcome.simulated or outcome.stand_ins:
        print()
    rows = [[check.name, check.detail if check.ok else "DIFFERS", "ok" if check.ok else "DIFFERS"]
            for check in outcome.checks]
    print(tabulate(rows, headers=["check", "result", "status"], tablefmt="simple"))
    print()
    for line in outcome.warnings:
        print(f"note: {line}")
    differences = outcome.differences
    if differences:
        for line in differences:
            print(f"differs: {line}")
        print(f"{outcome.bundle}: does NOT match its recomputation ({len(differences)} check(s) differ).")
        return 1
    verdict = f"{outcome.bundle} ({outcome.tier} tier): every file, sample, verdict, count, pass@k point and claim " \
              "matches its recomputation."
    if outcome.simulated or outcome.stand_ins:
        verdict += " Its results come from simulation or stand-in models: they check the machinery, not the paper."
    print(verdict)
    return 0
