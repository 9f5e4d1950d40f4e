"""The report's Environment section: what each results folder's environment.json records
(package version and commit, Python, packages, GPUs, CUDA, image, host, times, command),
rendered generically: whatever sections a record has are shown, nothing when none exists.
Folders with the same environment (all but the times and the command) share one table."""

from __future__ import annotations

import json
from collections.abc import Mapping

from tabulate import tabulate

from repro.provenance import ENVIRONMENT_FILE
from repro.report.escape import escape

# Per run, not per environment: shown in the table of runs.
_PER_RUN = ("started_at", "ended_at", "command")


def environment_section(records: Mapping[str, dict]) -> list[str]:
    """Markdown lines for `records` (a label such as "math-qwen [vllm]" -> its record, as
    repro.provenance writes it beside the results; nothing when there is none)."""
    if not records:
        return []
    environments: dict[str, str] = {}  # canonical JSON of the shared part -> its name (A, B, ...)
    shared_of: dict[str, dict] = {}
    runs = []
    for label, record in records.items():
        shared = {key: value for key, value in record.items() if key not in _PER_RUN}
        canonical = json.dumps(shared, sort_keys=True, default=str)
        if canonical not in environments:
            environments[canonical] = _name(len(environments))
            shared_of[canonical] = shared
        runs.append([escape(label), *(escape(_text(record.get(key))) for key in _PER_RUN), environments[canonical]])
    md = ["## Environment", "",
          f"Where each result was made, from the {ENVIRONMENT_FILE} beside its specs.json.", "",
          tabulate(runs, headers=["results", "started", "ended", "command", "environment"], tablefmt="github"), ""]
    for canonical, name in environments.items():
        rows = [[escape(key), escape(_text(value))] for key, value in shared_of[canonical].items()]
        md += [f"### Environment {name}", "", tabulate(rows, headers=["", "value"], tablefmt="github"), ""]
    return md


def _name(index: int) -> str:
    return chr(ord("A") + index) if index < 26 else str(index + 1)


def _text(value) -> str:
    """A record's value on one line: a mapping as "key value, ..." (a package list reads
    "numpy 2.3, torch 2.13"), a list with repeats counted ("8 × NVIDIA H100")."""
    if value is None:
        return "-"
    if isinstance(value, Mapping):
        return ", ".join(f"{key} {_text(item)}" for key, item in value.items()) or "-"
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return " ".join(value) or "-"  # a command line
    if isinstance(value, (list, tuple)):
        items = [_text(item) for item in value]
        counted = {item: items.count(item) for item in items}
        return "; ".join(item if count == 1 else f"{count} × {item}" for item, count in counted.items()) or "-"
    return str(value)

