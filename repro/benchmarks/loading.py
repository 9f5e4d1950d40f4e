"""A benchmark's problems for a run: the real, verified data, or (where a tier allows stand-ins
and no data are here) the benchmark's own stand-in, which every output then names."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from repro.benchmarks import get_benchmark
from repro.benchmarks.fetch import DataMissingError
from repro.problems import Problem


@dataclass(frozen=True)
class LoadedBenchmark:
    key: str
    problems: list[Problem]
    checksum: str  # sha256 of the source files, or of the stand-in
    synthetic: bool  # True when a stand-in replaced absent data (smoke tier only)
    origin: str = ""  # "data folder", "cache", "downloaded" or "synthetic"
    notes: tuple[str, ...] = ()  # caveats every run on these problems must report
    # How the problems were selected from the source rows, when they were (the visual sets
    # keep only free-form questions): {"source_rows", "kept", "rule"}; recorded in manifests.
    selection: dict | None = None

    @property
    def note(self) -> str:
        """The caveats as one line, for a run's output."""
        return "; ".join(self.notes)

    @property
    def problems_sha256(self) -> str:
        """sha256 of the problems as loaded (ids, questions, answers): unlike `checksum`, it
        also changes when the way a file is read changes (question or ground-truth rules)."""
        digest = hashlib.sha256()
        for problem in self.problems:
            digest.update(f"{problem.problem_id}\0{problem.question}\0{problem.answer}\n".encode())
        return digest.hexdigest()


def selection_note(selection: dict) -> str:
    return f"kept {selection['kept']} of {selection['source_rows']} rows ({selection['rule']})"


def load_benchmark(key: str, *, allow_synthetic: bool, download: bool | None = None,
                   progress=None) -> LoadedBenchmark:
    """The benchmark's problems.

    Real data come from the data folder, the cache or a pinned download (verified by sha256
    in every case). `download` defaults to `not allow_synthetic`: the smoke tier, which may use
    stand-ins, never reaches the network, so its results cannot depend on it.
    """
    benchmark = get_benchmark(key)
    download = (not allow_synthetic) if download is None else download
    try:
        data = benchmark.data.load(benchmark, download=download, progress=progress)
    except DataMissingError:
        if not allow_synthetic:
            raise
        data = benchmark.data.stand_in(benchmark, progress=progress)
    notes = tuple(note for note in (data.note, benchmark.note) if note)
    if data.selection:
        notes += (selection_note(data.selection),)
    return LoadedBenchmark(key, data.problems, data.checksum, data.origin == "synthetic", data.origin, notes,
                           data.selection)
