"""The code benchmarks (LiveCodeBench release_v5, HumanEval+, MBPP+): pinned files, problems,
and the test suite of every problem stored for the sandboxed grader.

    load_code_benchmark(key, download=..., suites_dir=...) -> (problems, checksum, origin)
    load_code_standin(key, count, folder, suites_dir)      -> (problems, checksum)

Sources (docs/benchmarks.md, "Code benchmarks", has the table and the reasons):
- LiveCodeBench: the Hugging Face dataset `livecodebench/code_generation_lite`, files
  test.jsonl .. test5.jsonl (= `version_tag="release_v5"` of its loader script), at hub commit
  LCB_REVISION. The revision and the files' sha256 are PINNED here, not recorded on first
  use: both come from third-party code that pins this revision with the hub's own LFS sha256
  of each file (one of them, test6.jsonl's, is confirmed by an independent second project).
  They could not be checked against the hub from where this was written; a file whose bytes
  differ is refused.
- HumanEval+ v0.1.10 and MBPP+ v0.2.0: the evalplus release assets (gzip), stored and
  verified decompressed, i.e. as evalplus caches them (`HumanEvalPlus-v0.1.10.jsonl`,
  `MbppPlus-v0.2.0.jsonl`). These are the versions evalplus 0.3.1 (PyPI, Oct 2024) uses, the
  one Code-R1's evaluation would have installed in Feb-Mar 2025. The sha256 values are also
  third-party records (HumanEval+'s is given by two independent projects), unverified here.

Every file goes through `repro.benchmarks.fetch` (data folder, cache, pinned download, sha256
check). Each problem's tests become a `repro.code_tests.TestSuite`, stored with
`write_suite` under `suites_dir/<source>/<problem>.json.gz`; `Problem.meta` names it
("suite_path", "suite_sha256"), so grading workers receive only small messages.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from repro.benchmarks.base import Benchmark, LoadedData
from repro.benchmarks.code_standins import REFERENCE_FILE, lcb_standin_rows, write_standin_files
from repro.benchmarks.evalplus_data import EvalplusTask, load_ground_truth, parse_task, read_release_rows
from repro.benchmarks.fetch import (
    DATA_DIR_ENV,
    ChecksumMismatchError,
    DataMissingError,
    PinnedHubFile,
    PinnedReleaseAsset,
    cache_dir,
    resolve,
    sha256_of,
)
from repro.benchmarks.livecodebench import RELEASE_V5_FILES, WINDOWS, harness_sort_key, parse_row
from repro.code_tests import SUITE_FORMAT, TestSuite, write_suite
from repro.errors import ReproError
from repro.files import atomic_write
from repro.problems import Problem
from repro.progress import started_on_first_update

__all__ = ["DATA_DIR_ENV", "EVALPLUS_SOURCES", "LCB_REVISION", "LCB_SOURCES", "ChecksumMismatchError",
           "DataMissingError", "EvalplusTask", "evalplus_problems", "ground_truth_dir",
           "lcb_checksum", "lcb_problems", "load_code_benchmark", "load_code_standin", "prefetch",
           "write_standin_files"]

Progress = Callable[[int], None]

# ------------------------------------------------------------------ pinned sources

LCB_REPO = "livecodebench/code_generation_lite"
# Hub commit of livecodebench/code_generation_lite pinned by several third-party harnesses.
# The sha256 values are the hub's LFS sha256 of each file at this commit, as recorded in
# third-party code (sizes in bytes: 1,252,609,773 / 713,377,060 / 623,360,766 /
# 1,204,644,685 / 557,699,297). Not checked against the hub here.
LCB_REVISION = "0fe84c3912ea0c4d4a78037083943e8f0c4dd505"
_LCB_SHA256 = {
    "test.jsonl": "2bd02b38beb48e8c46b5b9987095d999ff38cd8efc255ea5d58974317c48f63f",
    "test2.jsonl": "095df7c5daf15f882c51a9deb84085cff1e073495a5dbcf95015a564d485f3a3",
    "test3.jsonl": "28ed26cc83363ce3f1fe2d5fad9f8393077beb1907b167a31bd3b32f80801b79",
    "test4.jsonl": "d711138ddaebfcf5f8ec6a4283ee677298c0f5c5d374a235af92aaf0584510da",
    "test5.jsonl": "7f77571c2a6df0c2a72a3277650309f67e01e0008e18117e624633df53f81214",
}
LCB_SOURCES: tuple[PinnedHubFile, ...] = tuple(
    PinnedHubFile(f"code/livecodebench/{name}", LCB_REPO, LCB_REVISION, name, _LCB_SHA256[name])
    for name in RELEASE_V5_FILES)

# evalplus release assets. sha256 of the DECOMPRESSED JSONL (what is stored and verified). The
# .gz assets themselves had, per the same third-party record, sha256 272720b9...c09f101
# (HumanEval+) and af43697e...225db63 (MBPP+); only the decompressed bytes are checked.
EVALPLUS_SOURCES: dict[str, PinnedReleaseAsset] = {
    "humaneval-plus": PinnedReleaseAsset(
        "code/evalplus/HumanEvalPlus-v0.1.10.jsonl", "evalplus/humanevalplus_release", "v0.1.10",
        "HumanEvalPlus.jsonl.gz", "42526ec0e7d5f3ee0b06d6ced98f8c8bae3d76519151bfb3d36f79010645bd7f", gunzip=True),
    "mbpp-plus": PinnedReleaseAsset(
        "code/evalplus/MbppPlus-v0.2.0.jsonl", "evalplus/mbppplus_release", "v0.2.0",
        "MbppPlus.jsonl.gz", "b54e762755248ca411b523c917fa9f93c07b5ff2966bf60b3917b853926a3dad", gunzip=True),
}
EVALPLUS_TASKS = {"humaneval-plus": 164, "mbpp-plus": 378}  # evalplus README; checked after parsing

# Where each source's suites go under suites_dir (both LCB windows share theirs).
SUITE_FOLDERS = {"lcb-2408-2501": "livecodebench-release_v5", "lcb-2305-2501": "livecodebench-release_v5",
                 "humaneval-plus": "humaneval-plus-v0.1.10", "mbpp-plus": "mbpp-plus-v0.2.0"}
# Bump when the way a suite is built from a row changes: reused LCB suites are then rebuilt.
SUITE_RULES = "1"


def ground_truth_dir() -> Path:
    """Where computed evalplus expected outputs are cached (keyed by the source's sha256)."""
    return cache_dir() / "code" / "evalplus-ground-truth"


def code_source(key: str) -> _CodeSource:
    """The format of a code benchmark, as its module declares it."""
    from repro.benchmarks import source_of  # the registry imports this module: not at load time

    return source_of(key, _CodeSource, "code")


# ------------------------------------------------------------------ loading


def load_code_benchmark(key: str, *, download: bool, suites_dir: Path,
                        progress: Progress | None = None) -> tuple[list[Problem], str, str]:
    """(problems, checksum, origin) of a code benchmark, its suites written under suites_dir.

    checksum: the source file's sha256 (evalplus), or for LiveCodeBench the sha256 of the
    lines "<file> <sha256>" of its five files. origin: "data folder", "cache", "downloaded",
    or several of them joined by "+". progress(n): n more units done (evalplus: canonical
    solutions run, only when the expected outputs are not cached yet; LCB: problems read)."""
    return code_source(key).read(key, download, Path(suites_dir) / SUITE_FOLDERS[key], progress)


def load_code_standin(key: str, count: int, folder: Path, suites_dir: Path, *,
                      progress: Progress | None = None) -> tuple[list[Problem], str]:
    """(problems, checksum) of a stand-in: its file is written if missing (write_standin_files)
    and read by the same code as the real files. Each problem's meta also carries
    "reference_solution", a complete program that passes its suite (simulated backends emit
    it). checksum: the stand-in file's sha256 (callers mark it as a stand-in's)."""
    source = code_source(key)
    path = write_standin_files(key, Path(folder), count)
    checksum = sha256_of(path)
    # One folder per count: problem i is the same for every count, but its evalplus timings are not.
    suite_folder = Path(suites_dir) / f"standin-{key}-{count}"
    return source.read_standin(key, path, checksum, suite_folder, progress), checksum


# Code stand-ins: this many problems at most (the smoke tier's simulated limit); the files are
# built in the benchmarks' real formats and read by the real loaders.
MAX_CODE_STANDINS = 100
STANDIN_NOTE = "stand-in problems written locally in the benchmark's real format (no data found)"


class _CodeSource:
    """A code benchmark's `DataSource`: its pinned files read into problems with their test
    suites (stored under the cache), or a stand-in written in the same format. Each format
    reads its files, and writes and reads its stand-in, its own way. Each also names its
    stand-in's file (`standin_file`: the real file's name)."""

    def load(self, benchmark: Benchmark, *, download: bool, progress=None) -> LoadedData:
        """`progress`: a factory (label, total) -> context giving update(n), as the pipeline's;
        it shows reading LiveCodeBench (minutes: 4.4 GB of rows, private tests decoded on first
        load) and running evalplus' canonical solutions (first load only)."""
        with started_on_first_update(progress, f"load {benchmark.title}", benchmark.size) as advance:
            problems, checksum, origin = load_code_benchmark(benchmark.key, download=download,
                                                             suites_dir=cache_dir() / "code-suites", progress=advance)
        return LoadedData(problems, checksum, origin)

    def stand_in(self, benchmark: Benchmark, *, progress=None) -> LoadedData:
        count = min(benchmark.size, max(MAX_CODE_STANDINS, benchmark.stand_in_problems or 0))
        problems, checksum = load_code_standin(benchmark.key, count, cache_dir() / "standins",
                                               cache_dir() / "code-suites")
        return LoadedData(problems, "standin:" + checksum, "synthetic", note=STANDIN_NOTE)

    def read(self, key: str, download: bool, folder: Path,
             progress: Progress | None) -> tuple[list[Problem], str, str]:
        raise NotImplementedError

    def read_standin(self, key: str, path: Path, checksum: str, folder: Path,
                     progress: Progress | None) -> list[Problem]:
        raise NotImplementedError

    def standin_rows(self, key: str, count: int, rng: random.Random) -> tuple[list[dict], dict[str, str] | None]:
        """(rows, reference programs by question id, where the rows carry none)."""
        raise NotImplementedError


@dataclass(frozen=True)
class LiveCodeBenchWindow(_CodeSource):
    """The problems of LiveCodeBench release_v5 (LCB_SOURCES) dated in the key's window
    (livecodebench.WINDOWS); stdin and call-based tests, public then private."""

    standin_file = "test.jsonl"

    def read(self, key: str, download: bool, folder: Path,
             progress: Progress | None) -> tuple[list[Problem], str, str]:
        found = [resolve(pinned, download=download) for pinned in LCB_SOURCES]
        checksum = lcb_checksum([(pinned.path, pinned.sha256) for pinned in LCB_SOURCES])
        problems = lcb_problems([path for path, _ in found], key, folder, checksum, progress)
        return problems, checksum, "+".join(dict.fromkeys(origin for _, origin in found))

    def read_standin(self, key: str, path: Path, checksum: str, folder: Path,
                     progress: Progress | None) -> list[Problem]:
        problems = lcb_problems([path], key, folder, checksum, progress)
        references = json.loads((path.parent / REFERENCE_FILE).read_text(encoding="utf-8"))
        for problem in problems:
            problem.meta["reference_solution"] = references[problem.problem_id.removeprefix("lcb/")]
        return problems

    def standin_rows(self, key: str, count: int, rng: random.Random) -> tuple[list[dict], dict[str, str] | None]:
        return lcb_standin_rows(key, count, rng)


@dataclass(frozen=True)
class EvalplusRelease(_CodeSource):
    """An evalplus release (EVALPLUS_SOURCES[key]): base then plus tests of each task, expected
    outputs computed by running the canonical solutions in the sandbox."""

    dataset: str  # "humaneval" or "mbpp": evalplus' task-specific oracles and input rules
    standin_file: str  # the release's file name
    standin_row: Callable[[int, random.Random], dict]  # a stand-in task in the release's format

    def read(self, key: str, download: bool, folder: Path,
             progress: Progress | None) -> tuple[list[Problem], str, str]:
        pinned = EVALPLUS_SOURCES[key]
        try:
            path, origin = resolve(pinned, download=download)
        except (DataMissingError, ChecksumMismatchError) as error:
            raise type(error)(
                f"{error}. (The release asset is gzip-compressed; the file to provide, and whose sha256 is "
                f"given, is the decompressed JSONL, as evalplus caches it under the name "
                f"{Path(pinned.relative_path).name}.)") from None
        problems = evalplus_problems(path, key, self.dataset, pinned.sha256, folder, progress,
                                     expected_tasks=EVALPLUS_TASKS[key])
        return problems, pinned.sha256, origin

    def read_standin(self, key: str, path: Path, checksum: str, folder: Path,
                     progress: Progress | None) -> list[Problem]:
        return evalplus_problems(path, key, self.dataset, checksum, folder, progress, keep_reference=True)

    def standin_rows(self, key: str, count: int, rng: random.Random) -> tuple[list[dict], dict[str, str] | None]:
        return [self.standin_row(index, rng) for index in range(count)], None


def prefetch(*, download: bool = True, livecodebench: bool = True) -> dict[str, tuple[Path, str]]:
    """Resolve every code benchmark file now (a container build, or before going offline).
    livecodebench=False leaves out LiveCodeBench's 4.4 GB (the image downloads it on first use)."""
    sources = LCB_SOURCES if livecodebench else ()
    found = {pinned.relative_path: resolve(pinned, download=download) for pinned in sources}
    found.update({pinned.relative_path: resolve(pinned, download=download) for pinned in EVALPLUS_SOURCES.values()})
    return found


# ------------------------------------------------------------------ LiveCodeBench


def lcb_checksum(files: Sequence[tuple[str, str]]) -> str:
    """One digest for several files: sha256 of "<name> <sha256>\\n" per file, in order."""
    return hashlib.sha256("".join(f"{name} {digest}\n" for name, digest in files).encode()).hexdigest()


def lcb_problems(paths: Sequence[Path], key: str, folder: Path, checksum: str,
                 progress: Progress | None = None) -> list[Problem]:
    """The problems of a window, numbered as LiveCodeBench's runner numbers them
    (livecodebench.HARNESS_ORDER): the rows of the files (in order) dated in the window, sorted
    by question_id as strings. `index` is the position in that order, which is what the
    paper's Table 5 counts (docs/table5_ordering.md); it is not the position in the files.

    A suite already written from the same source (index.json in the folder records its sha256)
    is reused without decoding the private tests again; anything else is rebuilt."""
    start, end = WINDOWS[key]
    index = _SuiteIndex(folder, checksum)
    read: list[tuple[str, Problem]] = []  # (sort key, problem) in release order; index not yet assigned
    seen: set[str] = set()
    for path in paths:
        with Path(path).open("r", encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                where = f"{Path(path).name} line {number}"
                try:
                    row = json.loads(line)
                    date = datetime.fromisoformat(row["contest_date"])
                except (ValueError, KeyError, TypeError) as error:
                    raise ReproError(f"{where}: not a LiveCodeBench row ({error})") from None
                # The same rule as livecodebench.in_window, applied before decoding the tests.
                if not start <= date < end:
                    continue
                try:
                    sort_key = harness_sort_key(row.get("question_id"))
                except ReproError as error:
                    raise ReproError(f"{where}: {error}") from None
                problem = _lcb_problem(row, 0, folder, index, where)
                if problem.problem_id in seen:
                    raise ReproError(f"{where}: question_id {row['question_id']!r} appears twice")
                seen.add(problem.problem_id)
                read.append((sort_key, problem))
                if progress is not None:
                    progress(1)
    index.save()
    ordered = [problem for _, problem in sorted(read, key=lambda pair: pair[0])]
    return [replace(problem, index=position) for position, problem in enumerate(ordered)]


def _lcb_problem(row: dict, position: int, folder: Path, index: _SuiteIndex, where: str) -> Problem:
    try:
        question_id = row["question_id"]
        func_name = json.loads(row.get("metadata") or "{}").get("func_name")
        fields = {name: row[name] for name in ("question_content", "platform", "difficulty", "contest_date")}
    except (KeyError, ValueError, AttributeError) as error:
        raise ReproError(f"{where}: malformed LiveCodeBench row ({error!r})") from None
    path = folder / f"{_file_stem(question_id)}.json.gz"
    reused = index.reusable(question_id, path)
    if reused is not None:
        suite_sha256, n_tests = reused
    else:
        try:
            parsed = parse_row(row)
            suite = TestSuite.livecodebench(parsed.tests, parsed.func_name)
        except ReproError as error:  # e.g. a pickle naming a class (UnsafeDataError): keep its type
            raise type(error)(f"{where} ({question_id}): {error}") from None
        except (ValueError, KeyError, TypeError) as error:
            raise ReproError(f"{where} ({question_id}): its tests cannot be read ({error})") from None
        suite_sha256, n_tests = write_suite(suite, path), len(suite.inputs)
        index.record(question_id, suite_sha256, n_tests)
    meta = {"starter_code": row.get("starter_code") or "", "suite_path": str(path.resolve()),
            "suite_sha256": suite_sha256, "platform": fields["platform"], "difficulty": fields["difficulty"],
            "contest_date": fields["contest_date"], "n_tests": n_tests, "title": row.get("question_title", "")}
    if func_name:
        meta["func_name"] = func_name
    return Problem(problem_id=f"lcb/{question_id}", index=position, question=fields["question_content"],
                   answer="", meta=meta)


class _SuiteIndex:
    """index.json of a suite folder: for one source checksum, each problem's suite sha256 and
    test count. A suite is reused only if the recorded source and rules are the current ones
    and its file still has the recorded sha256."""

    def __init__(self, folder: Path, checksum: str):
        self.path = Path(folder) / "index.json"
        self.header = {"format": SUITE_FORMAT, "rules": SUITE_RULES, "source": checksum}
        self.entries: dict[str, dict] = {}
        self.changed = False
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if all(data.get(name) == value for name, value in self.header.items()):
                self.entries = dict(data["suites"])
        except (OSError, ValueError, KeyError, TypeError):
            pass

    def reusable(self, question_id: str, path: Path) -> tuple[str, int] | None:
        entry = self.entries.get(question_id)
        if not isinstance(entry, dict) or not path.is_file():
            return None
        if sha256_of(path) != entry.get("sha256"):
            return None
        return entry["sha256"], int(entry["n_tests"])

    def record(self, question_id: str, sha256: str, n_tests: int) -> None:
        self.entries[question_id] = {"sha256": sha256, "n_tests": n_tests}
        self.changed = True

    def save(self) -> None:
        if not self.changed:
            return
        atomic_write(self.path, json.dumps({**self.header, "suites": self.entries}, sort_keys=True).encode("utf-8"))


# ------------------------------------------------------------------ evalplus


def evalplus_problems(path: Path, key: str, dataset: str, checksum: str, folder: Path,
                      progress: Progress | None = None, *, expected_tasks: int | None = None,
                      keep_reference: bool = False) -> list[Problem]:
    """The tasks of a release file in file order, each with its suite (base tests first, then
    plus tests; per-test limits max(1 s, 4 x the canonical solution's time); the task's atol)."""
    tasks = [parse_task(row, dataset) for row in read_release_rows(path)]
    if expected_tasks is not None and len(tasks) != expected_tasks:
        raise ReproError(f"{path} has {len(tasks)} tasks, expected {expected_tasks}")
    ids = [task.task_id for task in tasks]
    if len(set(ids)) != len(ids):
        raise ReproError(f"{path} has a task id twice")
    truth = load_ground_truth(tasks, checksum, ground_truth_dir(), progress=progress)
    problems = []
    for position, task in enumerate(tasks):
        gt = truth[task.task_id]
        suite = TestSuite.evalplus(task.entry_point, task.inputs, gt.outputs, ref_times_s=gt.seconds,
                                   atol=task.atol, dataset=dataset, plus_start=len(task.base_inputs))
        suite_path = Path(folder) / f"{_file_stem(task.task_id)}.json.gz"
        meta = {"starter_code": "", "suite_path": str(suite_path.resolve()),
                "suite_sha256": write_suite(suite, suite_path), "entry_point": task.entry_point,
                "n_tests": len(task.inputs), "n_base_tests": len(task.base_inputs), "dataset": dataset}
        if keep_reference:
            meta["reference_solution"] = task.reference_solution
        problems.append(Problem(problem_id=task.task_id, index=position, question=task.prompt, answer="",
                                meta=meta))
    return problems


def _file_stem(identifier: str) -> str:
    """A file name for a problem id ("HumanEval/0" -> "HumanEval_0"), refusing anything odd."""
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", identifier)
    if not stem or stem.startswith(".") or len(stem) > 200:
        raise ReproError(f"cannot name a suite file after problem id {identifier!r}")
    return stem
