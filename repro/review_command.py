"""`repro review export` and `repro review read`: the chain-of-thought validity check
(repro.review). `cli.py` only parses arguments and calls these."""

from __future__ import annotations

from pathlib import Path

from tabulate import tabulate

from repro.experiments import get_experiment
from repro.review import export_line, paper_counts, read_verdicts, tally
from repro.sampling import get_backend
from repro.tiers import get_tier


def export_command(experiment_id: str, tier_name: str, backend: str | None, root: Path) -> int:
    """Write the review sheet of an experiment's finished runs (every backend of the tier, or one)."""
    experiment = get_experiment(experiment_id)
    tier = get_tier(tier_name)
    backends = tier.default_backends if backend is None else (backend,)
    for name in backends:
        tier.check_backend(get_backend(name))
    written = 0
    for name in backends:
        folder = root / "experiments" / experiment.id / tier.name / name / "results"
        if backend is None and not folder.is_dir():
            continue  # a backend the run did not use
        print(export_line(experiment, root, tier.name, name, tier.uses_stand_ins), flush=True)
        written += 1
    if not written:
        from repro.errors import ReproError

        raise ReproError(f"no results of {experiment.id} in the {tier.name} tier under {root}; run "
                         f"`repro run {experiment.id} --tier {tier.name}` first")
    return 0


def read_command(path: Path) -> int:
    """Count the recorded verdicts per model and benchmark and set them beside the paper's."""
    rows = read_verdicts(path)
    table = []
    for t in tally(rows):
        paper = paper_counts(t.role, t.group)
        shown = " / ".join(f"{key} {paper[key]}" for key in ("answered", "checked", "valid") if key in paper)
        table.append([t.arm, t.group, t.answered, t.checked, t.valid, t.invalid, t.unsure, t.pending, shown or "-"])
    print(tabulate(table, headers=["arm", "benchmark", "answered", "checked", "valid CoT", "invalid", "unsure",
                                   "not judged", "paper"], tablefmt="simple"))
    print("answered: problems with accuracy in (0, 5%) and a correct answer; valid CoT: at least one chain judged "
          "valid; checked: answered minus unsure-only problems (the paper excluded one ambiguous case).")
    pending = sum(1 for row in rows if not row["verdict"])
    if pending:
        print(f"{pending} of {len(rows)} chain(s) have no verdict yet: the counts are partial.")
    if not rows:
        print("the file lists no chain: no problem was in range.")
    if any(row["stand_in"] == "yes" for row in rows):
        print("STAND-IN: chains made by a tiny random model or the simulated backend: these counts check the "
              "machinery and are not evidence about the paper.")
    return 0
