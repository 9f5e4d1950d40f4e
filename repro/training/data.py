"""The training data in VeRL's parquet schema, built from the package's own loaders.

    training_rows(set_key, part)       -> list of row dicts (pure: no files written)
    write_training_set(set_key, folder) -> {part: (path, sha256)}; writes <part>.parquet and
                                          <part>.parquet.sha256 (sha256sum format) for train and test

One row (the schema of VeRL's examples/data_preprocess/*.py, read by
verl/utils/dataset/rl_dataset.py and the reward manager):
    data_source   the set's name (the reward manager passes it to the reward function)
    prompt        chat messages [{"role", "content"}]; VeRL applies the tokenizer's chat template
                  (for omni-math-rule a pass-through one: repro.training.engine_model)
    ability       "math"
    reward_model  {"style": "rule", "ground_truth": the answer as the package's grader compares it}
    extra_info    {"split", "index", "problem_id", "template"}
    images        (visual only) [{"bytes", "path"}], the "<image>" in the user message is its place

Sets:
- omni-math-rule: train = the package's deterministic 2,000-problem Omni-MATH-Rule split
  (benchmark omni-math-train), test = the other 821 (omni-math-test; VeRL requires a
  validation file even with validation off). The prompt is the Figure 27 text (template
  r1-zero) as one user message.
- geometry3k: Geometry3K train and test (repro.benchmarks.geometry3k), with the Figure 26
  system message (template visual-r1) and the question as the user message.

Never committed: the files are rebuilt from the verified sources, and their sha256 recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from repro.benchmarks.fetch import sha256_of
from repro.benchmarks.loading import load_benchmark
from repro.errors import ReproError
from repro.files import atomic_write_with_sha256
from repro.problems import Problem
from repro.prompts import get_template, render_prompt


@dataclass(frozen=True)
class TrainingSet:
    key: str
    template: str
    parts: dict[str, str]  # part -> where its problems come from (a benchmark key or a Geometry3K split)
    visual: bool = False
    # Whether the engine wraps the prompt in the model's chat template. False: the prompt is
    # plain text that evaluation sends as it is (repro.training.engine_model gives the engine a
    # pass-through template).
    chat_template: bool = False


TRAINING_SETS = {
    "omni-math-rule": TrainingSet("omni-math-rule", "r1-zero", {"train": "omni-math-train", "test": "omni-math-test"}),
    "geometry3k": TrainingSet("geometry3k", "visual-r1", {"train": "train", "test": "test"}, visual=True,
                             chat_template=True),
}


def get_training_set(key: str) -> TrainingSet:
    try:
        return TRAINING_SETS[key]
    except KeyError:
        raise ReproError(f"unknown training set {key!r}; known: {', '.join(TRAINING_SETS)}") from None


def visual_system_message(template: str = "visual-r1") -> str:
    """The system turn of the Figure 26 ChatML template (VeRL writes the ChatML itself)."""
    text = get_template(template).text
    start = "<|im_start|>system\n"
    if not text.startswith(start):
        raise ReproError(f"template {template} does not start with a system turn")
    return text[len(start):text.index("<|im_end|>")]


def math_row(problem: Problem, set_key: str, part: str, template: str) -> dict:
    return {
        "data_source": set_key,
        "prompt": [{"role": "user", "content": render_prompt(template, problem)}],
        "ability": "math",
        "reward_model": {"style": "rule", "ground_truth": problem.answer},
        "extra_info": {"split": part, "index": problem.index, "problem_id": problem.problem_id, "template": template},
    }


def visual_row(problem: Problem, set_key: str, part: str, template: str) -> dict:
    row = {
        "data_source": set_key,
        "prompt": [{"role": "system", "content": visual_system_message(template)},
                   {"role": "user", "content": problem.question}],
        "images": [{"bytes": problem.meta["image_bytes"], "path": None}],
        "ability": "math",
        "reward_model": {"style": "rule", "ground_truth": problem.answer},
        "extra_info": {"split": part, "index": problem.index, "problem_id": problem.problem_id, "template": template,
                       "image_sha256": problem.meta["image_sha256"]},
    }
    return row


def _problems(training_set: TrainingSet, part: str, download: bool) -> tuple[list[Problem], str]:
    source = training_set.parts[part]
    if training_set.visual:
        from repro.benchmarks.geometry3k import load_geometry3k

        problems, sha256, _ = load_geometry3k(source, download=download)
        return problems, sha256
    loaded = load_benchmark(source, allow_synthetic=False, download=download)
    return loaded.problems, loaded.checksum


def training_rows(set_key: str, part: str, *, download: bool = True) -> tuple[list[dict], str]:
    """(rows, sha256 of the source file) of one part ("train" or "test") of a training set."""
    training_set = get_training_set(set_key)
    problems, source_sha256 = _problems(training_set, part, download)
    build = visual_row if training_set.visual else math_row
    return [build(problem, set_key, part, training_set.template) for problem in problems], source_sha256


def write_rows(rows: list[dict], path: Path) -> str:
    """Write rows as parquet (atomically) and `<path>.sha256` beside it; returns the sha256."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buffer)
    return atomic_write_with_sha256(path, buffer.getvalue())


def write_training_set(set_key: str, folder: Path, *, download: bool = True) -> dict[str, tuple[Path, str]]:
    """Write train.parquet and test.parquet of a training set into `folder`."""
    written = {}
    for part in get_training_set(set_key).parts:
        rows, _ = training_rows(set_key, part, download=download)
        path = Path(folder) / f"{part}.parquet"
        written[part] = (path, write_rows(rows, path))
    return written


def verify_written(path: Path) -> str:
    """The sha256 of a written file, checked against its .sha256 record."""
    record = path.with_name(path.name + ".sha256").read_text().split()[0]
    actual = sha256_of(path)
    if actual != record:
        raise ReproError(f"{path} has sha256 {actual}, its record says {record}: rebuild it")
    return actual
