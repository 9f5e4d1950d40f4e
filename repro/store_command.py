"""`repro store check` and `repro store repair`: every sample store of a run folder (or the
stores named) checked against itself, and mended where that is safe (repro.store_audit)."""

from __future__ import annotations

from pathlib import Path

from tabulate import tabulate

from repro.errors import StoreError
from repro.store_audit import Audit, Finding, audit, find_stores, repair


def _stores(paths: list[Path], root: Path) -> list[Path]:
    stores = find_stores(paths or [root])
    if not stores:
        raise StoreError(f"no sample stores under {', '.join(str(p) for p in paths or [root])}")
    return stores


def _rows(store: Path, findings: list[Finding]) -> list[list[str]]:
    """One row per finding: the store, the file (relative to the store), what is wrong, and what
    repair does about it (or, where it cannot, what to do)."""
    return [[str(store), str(finding.path.relative_to(store) if finding.path.is_relative_to(store) else finding.path),
             finding.problem, finding.action or f"cannot: {finding.advice}"] for finding in findings]


def check(paths: list[Path], root: Path) -> int:
    """Print every problem of every store and what `repro store repair` would do. Exit 0 when
    every store is sound, 1 when a problem was found."""
    audits = [audit(store) for store in _stores(paths, root)]
    rows = [row for result in audits for row in _rows(result.store, result.findings)]
    if rows:
        print(tabulate(rows, headers=["store", "file", "problem", "`repro store repair` would"], tablefmt="simple"))
        print()
    for result in audits:
        for tag, holder in sorted(result.writers.items()):
            print(f"{result.store}: {tag} is being written by {holder}: its files in flight were not judged")
    print(_summary(audits))
    return 0 if all(result.clean for result in audits) else 1


def repair_command(paths: list[Path], root: Path) -> int:
    """Mend every store; print what was done and what is left. Exit 0 when every store is sound
    afterwards, 1 when something could not be mended (the table says what to do), 2 when a
    store is being written."""
    stores = _stores(paths, root)
    done_rows: list[list[str]] = []
    audits: list[Audit] = []
    for store in stores:
        done, after = repair(store)
        done_rows += _rows(store, done)
        audits.append(after)
    if done_rows:
        print(tabulate(done_rows, headers=["store", "file", "problem", "done"], tablefmt="simple"))
        print()
    left = [row for result in audits for row in _rows(result.store, result.findings)]
    if left:
        print(tabulate(left, headers=["store", "file", "problem", "left to you"], tablefmt="simple"))
        print()
    print(f"{len(done_rows)} problem(s) mended. " + _summary(audits))
    if done_rows:
        print("Rerun the command that made these stores: it samples what was dropped again (the same seeds give "
              "the same samples) and grades what has no grades.")
    return 0 if all(result.clean for result in audits) else 1


def _summary(audits: list[Audit]) -> str:
    problems = sum(len(result.findings) for result in audits)
    mendable = sum(len(result.repairable) for result in audits)
    chunks = sum(result.chunks_checked for result in audits)
    if not problems:
        return f"{len(audits)} store(s), {chunks} chunk(s) checked: sound."
    return (f"{len(audits)} store(s), {chunks} chunk(s) checked: {problems} problem(s), {mendable} of them mendable "
            "by `repro store repair`.")
