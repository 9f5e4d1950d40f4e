"""Choose where a benchmark's problems come from for a given tier."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from repro.benchmarks import get_benchmark
from repro.benchmarks.math_files import (
    MATH_FILES,
    OMNI_KEYS,
    DataMissingError,
    load_math_benchmark,
    math_file,
)
from repro.benchmarks.synthetic import synthetic_problems
from repro.errors import ReproError
from repro.problems import Problem

_MATH_KEYS = (set(MATH_FILES) - {"omni-math-rule"}) | set(OMNI_KEYS)
SYNTHETIC_NOTE = "synthetic stand-in problems (no data found)"


@dataclass(frozen=True)
class LoadedBenchmark:
    key: str
    problems: list[Problem]
    checksum: str  # sha256 of the source file, or of the synthetic problems
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


def _file_key(key: str) -> str:
    return "omni-math-rule" if key in OMNI_KEYS else key


def has_real_data(key: str) -> bool:
    """Whether the benchmark's file is here already (data folder or cache), without network."""
    return key in _MATH_KEYS and math_file(_file_key(key)) is not None


def load_benchmark(key: str, *, allow_synthetic: bool, download: bool | None = None,
                   progress=None) -> LoadedBenchmark:
    """The benchmark's problems.

    Real data come from the data folder, the cache or a pinned download (verified by
    sha256 in every case). `download` defaults to `not allow_synthetic`: the smoke tier,
    which may use stand-ins, never reaches the network, so its results cannot depend on it.
    """
    benchmark = get_benchmark(key)
    notes = (benchmark.note,) if benchmark.note else ()
    download = (not allow_synthetic) if download is None else download
    if key in _MATH_KEYS and (download or has_real_data(key)):
        try:
            problems, checksum, origin = load_math_benchmark(key, download=download)
            return LoadedBenchmark(key, problems, checksum, False, origin, notes)
        except DataMissingError:
            if not allow_synthetic:
                raise
    if benchmark.kind == "code":
        return _load_code(key, allow_synthetic=allow_synthetic, download=download, notes=notes, progress=progress)
    if benchmark.kind == "visual":
        return _load_visual(key, allow_synthetic=allow_synthetic, download=download, notes=notes)
    if not allow_synthetic:
        if key in _MATH_KEYS:  # only reached with download=False and no local copy
            raise DataMissingError(
                f"no data for {benchmark.title}: set REPRO_DATA_DIR to a folder holding math/*/test.jsonl "
                "(the container has them), allow downloads, or use --tier smoke"
            )
        raise ReproError(f"loading {benchmark.title} is not implemented yet ({benchmark.kind} benchmarks)")
    size = benchmark.size or 100
    problems = synthetic_problems(key, size)
    digest = hashlib.sha256("\n".join(f"{p.problem_id}\t{p.question}\t{p.answer}" for p in problems).encode())
    return LoadedBenchmark(key, problems, "synthetic:" + digest.hexdigest(), True, "synthetic",
                           (SYNTHETIC_NOTE, *notes))


@contextmanager
def _started_on_first_update(progress, label: str, total: int) -> Iterator[Callable[[int], None]]:
    """An update(n) function that opens the progress display only when work is reported, so a
    load that finds everything ready prints nothing."""
    if progress is None:
        yield lambda done: None
        return
    with ExitStack() as stack:
        update: list[Callable[[int], None]] = []

        def advance(done: int) -> None:
            if not update:
                update.append(stack.enter_context(progress(label, total)))
            update[0](done)

        yield advance


# Code stand-ins: this many problems at most (the smoke tier's simulated limit); the files are
# built in the benchmarks' real formats and read by the real loaders (code_files).
MAX_CODE_STANDINS = 100
STANDIN_NOTE = "stand-in problems written locally in the benchmark's real format (no data found)"


def _load_code(key: str, *, allow_synthetic: bool, download: bool, notes: tuple[str, ...],
               progress=None) -> LoadedBenchmark:
    """Real code benchmark files (test suites stored under the cache), or, in the smoke tier
    without data, locally written stand-ins in the same formats through the same parser.

    `progress`: a factory (label, total) -> context giving update(n), as the pipeline's; it
    shows reading LiveCodeBench (minutes: 4.4 GB of rows, private tests decoded on first load)
    and running evalplus' canonical solutions (first load only)."""
    from repro.benchmarks.code_files import load_code_benchmark, load_code_standin
    from repro.benchmarks.fetch import cache_dir

    suites_dir = cache_dir() / "code-suites"
    size = get_benchmark(key).size or 0
    try:
        with _started_on_first_update(progress, f"load {get_benchmark(key).title}", size) as advance:
            problems, checksum, origin = load_code_benchmark(key, download=download, suites_dir=suites_dir,
                                                             progress=advance)
        return LoadedBenchmark(key, problems, checksum, False, origin, notes)
    except DataMissingError:
        if not allow_synthetic:
            raise
    count = min(get_benchmark(key).size or MAX_CODE_STANDINS, MAX_CODE_STANDINS)
    problems, checksum = load_code_standin(key, count, cache_dir() / "standins", suites_dir)
    return LoadedBenchmark(key, problems, "standin:" + checksum, True, "synthetic", (STANDIN_NOTE, *notes))


MAX_VISUAL_STANDINS = 100


def selection_note(selection: dict) -> str:
    return (f"kept {selection['kept']} of {selection['source_rows']} rows ({selection['rule']})")


def _load_visual(key: str, *, allow_synthetic: bool, download: bool, notes: tuple[str, ...]) -> LoadedBenchmark:
    """Real visual benchmark files (images stored as files under the cache), or, in the smoke
    tier without data, locally drawn stand-ins in the same formats through the same parser."""
    from repro.benchmarks.fetch import cache_dir
    from repro.benchmarks.visual_files import load_visual_benchmark, load_visual_standin

    images_dir = cache_dir() / "images"
    try:
        problems, checksum, origin, selection = load_visual_benchmark(key, download=download, images_dir=images_dir)
        return LoadedBenchmark(key, problems, checksum, False, origin, (*notes, selection_note(selection)),
                               selection)
    except DataMissingError:
        if not allow_synthetic:
            raise
    problems, checksum, selection = load_visual_standin(key, MAX_VISUAL_STANDINS, cache_dir() / "standins",
                                                        images_dir)
    return LoadedBenchmark(key, problems, "standin:" + checksum, True, "synthetic",
                           (STANDIN_NOTE, *notes, selection_note(selection)), selection)
