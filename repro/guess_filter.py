"""The AIME24 'guessable problem' filter of Figure 12 (paper App. D.2), as a pure rule, and
the list file a run stores.

The paper (v2, App. D.2): "we prompt Qwen2.5-7B-Base to answer questions directly, without
using chain-of-thought reasoning, and sample answers multiple times. If a problem can be
answered correctly with a low but non-zero probability (e.g., <5%), we consider it to be
guessable and remove it. Problems that can be directly answered correctly with a high
probability are retained". Applied to AIME24 (30 problems) it kept 18; the list is not
published.

Read here as: with c correct of n direct answers, a problem is removed when 0 < c/n < 5%
(strictly on both sides); it is kept when c = 0 (never guessed: nothing to remove) or
c/n >= 5% (exactly 5% is not "<5%"). The paper writes the threshold as an example ("e.g."),
so it is a parameter; 5% is the default.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from repro.errors import InputFileError
from repro.files import atomic_write

THRESHOLD = Fraction(1, 20)  # 5%, the paper's example; a Fraction so c/n = 5% is compared exactly
RULE = "removed when 0 < correct/n < 5% (direct answers, no chain of thought); kept when correct = 0 or >= 5%"
LIST_FILE = "aime24-filter.json"
FORMAT = 1


def is_guessable(n: int, correct: int, threshold: Fraction = THRESHOLD) -> bool:
    """Whether a problem answered correctly `correct` times in `n` direct answers is
    'guessable' (removed): a low but non-zero rate, 0 < correct/n < threshold."""
    if n <= 0 or not 0 <= correct <= n:
        raise ValueError(f"counts out of range: {correct} correct of {n}")
    return 0 < correct and Fraction(correct, n) < threshold


@dataclass(frozen=True)
class ProblemCount:
    problem_id: str
    index: int
    n: int
    correct: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.n

    @property
    def kept(self) -> bool:
        return not is_guessable(self.n, self.correct)


@dataclass(frozen=True)
class FilterList:
    """The problems a filter keeps, with what made it (stored as LIST_FILE beside the results)."""

    kept_ids: tuple[str, ...]
    source: str  # "rebuilt" (a run applied the rule) or "published" (the authors' list)
    provenance: dict[str, Any]  # model, weights, n, template, lengths, store, seed ...
    counts: tuple[ProblemCount, ...] = ()  # per problem, when rebuilt
    stand_in: bool = False  # made by a tiny model or the simulated backend: not evidence
    stand_in_reason: str = ""
    rule: str = RULE
    paper_kept: int | None = None  # App. D.2's count, from expected/printed_values.csv
    notes: tuple[str, ...] = field(default=())

    @property
    def summary(self) -> str:
        """One line for notes and the terminal."""
        total = len(self.counts) if self.counts else None
        of = f" of {total}" if total is not None else ""
        line = f"AIME24 filter ({self.source}): kept {len(self.kept_ids)}{of} (paper: {self.paper_kept} of 30)"
        if self.stand_in:
            line += f"; STAND-IN, not evidence: {self.stand_in_reason}"
        return line

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "source": self.source, "rule": self.rule, "threshold": str(THRESHOLD),
            "stand_in": self.stand_in, "stand_in_reason": self.stand_in_reason,
            "kept": len(self.kept_ids), "paper_kept": self.paper_kept,
            "kept_ids": list(self.kept_ids), "provenance": self.provenance, "notes": list(self.notes),
            "problems": [{"problem_id": c.problem_id, "index": c.index, "n": c.n, "correct": c.correct,
                          "accuracy": round(c.accuracy, 6), "decision": "kept" if c.kept else "removed (guessable)"}
                         for c in self.counts],
        }


def build_list(counts: list[ProblemCount], provenance: dict[str, Any], *, stand_in: bool = False,
               stand_in_reason: str = "", paper_kept: int | None = None) -> FilterList:
    """Apply the rule to per-problem counts of direct answers; the kept ids in benchmark order."""
    kept = tuple(c.problem_id for c in sorted(counts, key=lambda c: c.index) if c.kept)
    return FilterList(kept, "rebuilt", provenance, tuple(sorted(counts, key=lambda c: c.index)), stand_in,
                      stand_in_reason, paper_kept=paper_kept)


def write_list(path: Path, filter_list: FilterList) -> None:
    atomic_write(path, (json.dumps(filter_list.to_json(), indent=2, sort_keys=True) + "\n").encode())


def read_list(path: Path) -> FilterList:
    """A stored list (for reports and reviews); one clear line if it is not one."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        counts = tuple(ProblemCount(str(p["problem_id"]), int(p["index"]), int(p["n"]), int(p["correct"]))
                       for p in data["problems"])
        kept = tuple(str(i) for i in data["kept_ids"])
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {FORMAT}")
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise InputFileError(f"{path}: not an AIME24 filter list ({error})") from None
    if counts and kept != tuple(c.problem_id for c in counts if c.kept):
        raise InputFileError(f"{path}: its kept ids do not follow from its counts under the rule ({RULE})")
    return FilterList(kept, str(data["source"]), dict(data["provenance"]), counts, bool(data["stand_in"]),
                      str(data.get("stand_in_reason", "")), str(data["rule"]),
                      None if data.get("paper_kept") is None else int(data["paper_kept"]),
                      tuple(data.get("notes", ())))
