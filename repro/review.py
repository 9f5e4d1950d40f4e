"""The chain-of-thought validity check (paper §3.1, §3.3, App. D.2): export every correct chain
of thought of the hardest solved problems for a person to judge, and read the verdicts back.

The paper: "we manually inspect all CoTs that led to correct answers to the most challenging
solvable problems in the GSM8k dataset -- those with an average accuracy below 5% but above
0%" (§3.1); the same for the filtered AIME24 (App. D.2) and the visual sets (§3.3). So a
problem is in range when 0 < c/n < 5% over the run's n samples (strict on both sides), and
every sample the grader marked correct on it is exported.

A problem counts as having a valid chain of thought when at least one of its chains is judged
valid; as ambiguous when none is valid and one is unsure (the paper excluded "one ambiguous
case of correctness due to skipped reasoning steps"); otherwise invalid. The paper's counts
(expected/printed_values.csv) are shown beside the reviewer's.

Files (under the experiment's results folder, `review/`): sheet.md and sheet.html to read,
verdicts.csv to fill in (one row per chain; the `verdict` column takes valid, invalid or
unsure; blank: not judged yet). Exporting again keeps verdicts already recorded.
"""

from __future__ import annotations

import csv
import html
import io
import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from repro.benchmarks.fetch import DataMissingError
from repro.benchmarks.loading import load_benchmark
from repro.benchmarks.sets import aime24_filtered
from repro.errors import InputFileError, ReproError
from repro.expected import PrintedValue, find_printed, load_printed
from repro.experiments import Experiment
from repro.files import atomic_write
from repro.guess_filter import is_guessable
from repro.pipeline import results_dir
from repro.results_csv import file_name, read_results_csv
from repro.store import SampleStore

HARD_BELOW = Fraction(1, 20)  # "an average accuracy below 5% but above 0%"
VERDICTS = ("valid", "invalid", "unsure")
COLUMNS = ("chain", "experiment", "backend", "arm", "role", "benchmark", "problem_id", "sample", "made_by",
           "stand_in", "verdict", "comment")
REVIEW_DIR = "review"
VERDICTS_FILE = "verdicts.csv"
SPECS_FILE = "specs.json"  # written by repro.commands beside the results (tests check the two agree)
MAX_BYTES = 64 * 1024 * 1024

# Where the paper prints each benchmark's counts: (section, benchmark as printed). The visual
# sets are counted together there.
PRINTED_AS = {"gsm8k": ("Section 3.1", "GSM8K"), "aime24": ("Section 3.1", "AIME24"),
              "aime24-filtered": ("Section 3.1", "AIME24"),
              "mathvista-free": ("Section 3.3", "MathVista and MathVision"),
              "mathvision-open": ("Section 3.3", "MathVista and MathVision")}
PRINTED_ROW = {"base": "base", "rl": "RL"}
PRINTED_METRICS = (("answered", "hard problems answered"), ("checked", "hard problems checked"),
                   ("valid", "hard problems with a correct CoT"))
# Benchmarks whose problems are those of another (the question text is looked up there).
_QUESTIONS_FROM = {aime24_filtered.BENCHMARK.key: aime24_filtered.PARENT}


def in_range(n: int, correct: int) -> bool:
    """Whether a problem is one of the hardest solved: 0 < correct/n < 5%, the same band of rates
    as App. D.2's guessing filter (one rule, repro.guess_filter)."""
    return is_guessable(n, correct, HARD_BELOW)


@dataclass(frozen=True)
class Chain:
    chain: str
    arm: str
    role: str
    benchmark: str
    problem_id: str
    index: int
    sample: int  # position among the run's n samples of the problem (round x samples per round + j)
    n: int
    correct: int
    question: str
    answer: str
    text: str
    made_by: str
    stand_in: bool


def chain_id(arm: str, benchmark: str, problem_id: str, sample: int) -> str:
    return f"{arm}/{benchmark}/{problem_id}/{sample}"


def review_dir(root: Path, experiment_id: str, tier: str, backend: str) -> Path:
    return results_dir(root, experiment_id, tier, backend).parent / REVIEW_DIR


# ----------------------------------------------------------------------------- export


def collect_chains(experiment: Experiment, root: Path, tier: str, backend: str, allow_synthetic: bool) -> list[Chain]:
    """Every correct chain of the problems in range of every run of the experiment found in the
    run folder (per-problem results, their spec records and stores)."""
    folder = results_dir(root, experiment.id, tier, backend)
    specs_path = folder / SPECS_FILE
    if not specs_path.is_file():
        raise ReproError(f"no results of {experiment.id} ({tier}, {backend}) in {folder}; run "
                         f"`repro run {experiment.id} --tier {tier}` first")
    specs = json.loads(specs_path.read_text(encoding="utf-8"))
    chains: list[Chain] = []
    for arm, benchmark in experiment.runs():
        name = file_name(arm, benchmark)
        if not (folder / name).is_file() or name not in specs or "store" not in specs[name]:
            continue
        result = read_results_csv(folder / name, arm, benchmark, backend)
        wanted = {pid: (index, int(n), int(c)) for pid, index, n, c in
                  zip(result.problem_ids, result.problem_indices, result.n, result.c) if in_range(int(n), int(c))}
        if wanted:
            chains += _chains_of_run(experiment, arm, benchmark, wanted, specs[name], root, allow_synthetic)
    return chains


def _chains_of_run(experiment: Experiment, arm: str, benchmark: str, wanted: dict[str, tuple[int, int, int]],
                   record: dict, root: Path, allow_synthetic: bool) -> list[Chain]:
    store = SampleStore(root / record["store"])
    grader, per_round = record["grader"], int(record["key"]["samples_per_round"])
    weights = record["weights"]
    stand_in = record["key"]["model"]["source"] in ("tiny", "none")
    questions = _questions(benchmark, allow_synthetic)
    found: list[Chain] = []
    for name, entry in sorted(store.chunk_listing().items()):
        grades = store.read_grades(grader, name, entry["sha256"])
        if grades is None:
            raise ReproError(f"{store.root}: chunk {name} has no usable {grader} grades; run `repro grade "
                             f"{experiment.id}` first")
        for unit in store.read_chunk(name, entry["sha256"]):
            pid, round_ = unit["problem_id"], int(unit["round"])
            if pid not in wanted:
                continue
            index, n, correct = wanted[pid]
            for j, (sample, mark) in enumerate(zip(unit["samples"], grades[(pid, round_)], strict=True)):
                position = round_ * per_round + j
                if mark and position < n:  # the result counted the first n samples only
                    question, answer = questions.get(pid, ("(question not available here)", "?"))
                    found.append(Chain(chain_id(arm, benchmark, pid, position), arm, experiment.arm(arm).role,
                                       benchmark, pid, index, position, n, correct, question, answer, sample["text"],
                                       weights, stand_in))
    return sorted(found, key=lambda chain: (chain.arm, chain.benchmark, chain.index, chain.sample))


def _questions(benchmark: str, allow_synthetic: bool) -> dict[str, tuple[str, str]]:
    try:
        loaded = load_benchmark(_QUESTIONS_FROM.get(benchmark, benchmark), allow_synthetic=allow_synthetic,
                                download=False)
    except DataMissingError:
        return {}
    return {problem.problem_id: (problem.question, str(problem.answer)) for problem in loaded.problems}


def export(experiment: Experiment, root: Path, tier: str, backend: str, stand_in_tier: bool) -> tuple[Path, int, int]:
    """Write the review sheet (Markdown, HTML) and the verdicts file of one experiment's runs on
    one backend, keeping verdicts already recorded; (folder, chains, problems)."""
    chains = collect_chains(experiment, root, tier, backend, allow_synthetic=stand_in_tier)
    folder = review_dir(root, experiment.id, tier, backend)
    verdicts_path = folder / VERDICTS_FILE
    kept = {row["chain"]: row for row in read_verdicts(verdicts_path)} if verdicts_path.is_file() else {}
    stand_in = stand_in_tier or any(chain.stand_in for chain in chains)
    atomic_write(verdicts_path, _verdicts_csv(experiment, backend, chains, kept).encode())
    atomic_write(folder / "sheet.md", _markdown(experiment, tier, backend, chains, stand_in).encode())
    atomic_write(folder / "sheet.html", _html(experiment, tier, backend, chains, stand_in).encode())
    problems = len({(c.arm, c.benchmark, c.problem_id) for c in chains})
    return folder, len(chains), problems


def export_line(experiment: Experiment, root: Path, tier: str, backend: str, stand_in_tier: bool) -> str:
    """Export, and say in one line what was written and what to do next."""
    folder, chains, problems = export(experiment, root, tier, backend, stand_in_tier)
    line = (f"review sheet [{backend}]: {chains} correct chain(s) of {problems} problem(s) with accuracy in (0, 5%): "
            f"{folder / 'sheet.md'} (and sheet.html); record verdicts in {folder / VERDICTS_FILE}, then "
            f"`repro review read {folder / VERDICTS_FILE}`")
    if stand_in_tier:
        line += " (stand-in tier: not evidence)"
    return line


def _verdicts_csv(experiment: Experiment, backend: str, chains: list[Chain], kept: dict[str, dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for chain in chains:
        old = kept.get(chain.chain, {})
        writer.writerow([chain.chain, experiment.id, backend, chain.arm, chain.role, chain.benchmark, chain.problem_id,
                         chain.sample, chain.made_by, "yes" if chain.stand_in else "no", old.get("verdict", ""),
                         old.get("comment", "")])
    return out.getvalue()


def _warning(stand_in: bool) -> str:
    if not stand_in:
        return ""
    return ("STAND-IN: these chains were made by a tiny random model or the simulated backend (or on stand-in "
            "problems). They check the machinery and are not evidence about the paper.")


def _groups(chains: list[Chain]) -> dict[tuple[str, str, str], list[Chain]]:
    groups: dict[tuple[str, str, str], list[Chain]] = {}
    for chain in chains:
        groups.setdefault((chain.arm, chain.benchmark, chain.problem_id), []).append(chain)
    return groups


def _fence(text: str) -> str:
    """A backtick fence longer than any run of backticks in the text, so no chain can close it."""
    import re

    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _markdown(experiment: Experiment, tier: str, backend: str, chains: list[Chain], stand_in: bool) -> str:
    lines = [f"# Chain-of-thought review: {experiment.id} ({tier} tier, {backend})", ""]
    if stand_in:
        lines += [f"**{_warning(True)}**", ""]
    lines += ["Every chain of thought the grader marked correct, on the problems whose accuracy over the run's n "
              "samples is in (0, 5%) (paper §3.1, App. D.2). Judge each chain: does its reasoning reach the answer "
              "validly, or by luck (a wrong argument, a guess, skipped steps)?", "",
              f"Record each verdict in `{VERDICTS_FILE}` beside this file, column `verdict`: `valid`, `invalid` or "
              "`unsure` (a comment is optional). Then run `repro review read` on that file.", ""]
    if not chains:
        lines += ["No problem of these runs is in range: nothing to review."]
    for (arm, benchmark, pid), group in _groups(chains).items():
        first = group[0]
        lines += [f"## {arm} / {benchmark} / problem {pid} (index {first.index}): {first.correct} of {first.n} correct",
                  "", f"Reference answer: `{first.answer}`", "", "Question:", "", first.question, ""]
        for chain in group:
            fence = _fence(chain.text)
            lines += [f"### Chain `{chain.chain}`", "", f"{fence}text", chain.text, fence, "",
                      f"Verdict (in {VERDICTS_FILE}, row `{chain.chain}`): valid / invalid / unsure", ""]
    return "\n".join(lines) + "\n"


def _html(experiment: Experiment, tier: str, backend: str, chains: list[Chain], stand_in: bool) -> str:
    e = html.escape
    parts = ["<!doctype html><html><head><meta charset='utf-8'>",
             f"<title>Chain-of-thought review: {e(experiment.id)}</title>",
             "<style>pre{white-space:pre-wrap;background:#f6f6f6;padding:8px}.warn{color:#a00;font-weight:bold}"
             "</style></head><body>",
             f"<h1>Chain-of-thought review: {e(experiment.id)} ({e(tier)} tier, {e(backend)})</h1>"]
    if stand_in:
        parts.append(f"<p class='warn'>{e(_warning(True))}</p>")
    parts.append(f"<p>Correct chains of the problems with accuracy in (0, 5%). Record each verdict (valid, invalid, "
                 f"unsure) in <code>{VERDICTS_FILE}</code>, then run <code>repro review read</code> on it.</p>")
    if not chains:
        parts.append("<p>No problem of these runs is in range: nothing to review.</p>")
    for (arm, benchmark, pid), group in _groups(chains).items():
        first = group[0]
        parts += [f"<h2>{e(arm)} / {e(benchmark)} / problem {e(pid)} (index {first.index}): {first.correct} of "
                  f"{first.n} correct</h2>", f"<p>Reference answer: <code>{e(first.answer)}</code></p>",
                  f"<pre>{e(first.question)}</pre>"]
        for chain in group:
            parts += [f"<h3>Chain <code>{e(chain.chain)}</code></h3>", f"<pre>{e(chain.text)}</pre>",
                      f"<p>Verdict (in {VERDICTS_FILE}, row <code>{e(chain.chain)}</code>): valid / invalid / "
                      "unsure</p>"]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# ----------------------------------------------------------------------------- read


def read_verdicts(path: Path) -> list[dict[str, str]]:
    """The rows of a verdicts file, checked; InputFileError (one line, naming file and line)
    for anything malformed."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise InputFileError(f"{path}: larger than {MAX_BYTES // (1024 * 1024)} MiB; not a verdicts file")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputFileError(f"{path}: cannot be read as UTF-8 text ({error})") from None
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [column for column in COLUMNS if column not in header]
    if missing:
        raise InputFileError(f"{path} line 1: missing column(s) {', '.join(missing)}; a verdicts file has "
                             f"{','.join(COLUMNS)} (from `repro review export`)")
    rows, seen = [], {}
    for row in reader:
        line = reader.line_num
        if None in row or any(value is None for value in row.values()):
            raise InputFileError(f"{path} line {line}: {len(header)} cells expected")
        verdict = row["verdict"].strip().lower()
        if verdict not in (*VERDICTS, ""):
            raise InputFileError(f"{path} line {line}: verdict {row['verdict']!r}; write valid, invalid or unsure "
                                 "(blank: not judged yet)")
        if not row["sample"].isdigit():
            raise InputFileError(f"{path} line {line}: sample {row['sample']!r} is not a whole number")
        if row["chain"] != chain_id(row["arm"], row["benchmark"], row["problem_id"], int(row["sample"])):
            raise InputFileError(f"{path} line {line}: chain {row['chain']!r} does not match its arm, benchmark, "
                                 "problem_id and sample columns")
        if row["stand_in"] not in ("yes", "no"):
            raise InputFileError(f"{path} line {line}: stand_in {row['stand_in']!r}; yes or no")
        if row["chain"] in seen:
            raise InputFileError(f"{path} line {line}: chain {row['chain']} repeats line {seen[row['chain']]}")
        seen[row["chain"]] = line
        rows.append({**row, "verdict": verdict})
    return rows


@dataclass(frozen=True)
class Tally:
    arm: str
    role: str
    group: str  # the benchmark, or the paper's name for the benchmarks it counts together
    answered: int  # problems in range with a correct chain
    valid: int  # ... with at least one chain judged valid
    unsure: int  # ... with none valid and one unsure (the paper's "ambiguous", excluded)
    invalid: int  # ... every chain judged invalid
    pending: int  # ... none valid and one not judged yet

    @property
    def checked(self) -> int:
        return self.answered - self.unsure


def tally(rows: list[dict[str, str]]) -> list[Tally]:
    """Per (arm, benchmark group): problem-level counts from chain-level verdicts."""
    problems: dict[tuple[str, str, str], dict[tuple[str, str], set[str]]] = {}
    for row in rows:
        group = PRINTED_AS.get(row["benchmark"], ("", row["benchmark"]))[1]
        problems.setdefault((row["arm"], row["role"], group), {}).setdefault(
            (row["benchmark"], row["problem_id"]), set()).add(row["verdict"])
    tallies = []
    for (arm, role, group), verdicts in sorted(problems.items()):
        kinds = ["valid" if "valid" in v else "pending" if "" in v else "unsure" if "unsure" in v else "invalid"
                 for v in verdicts.values()]
        tallies.append(Tally(arm, role, group, len(kinds), kinds.count("valid"), kinds.count("unsure"),
                             kinds.count("invalid"), kinds.count("pending")))
    return tallies


def paper_counts(role: str, group: str, printed: list[PrintedValue] | None = None) -> dict[str, int]:
    """The paper's counts for a role on a benchmark group (those it prints)."""
    printed = load_printed() if printed is None else printed
    section = next((section for section, name in PRINTED_AS.values() if name == group), None)
    row = PRINTED_ROW.get(role)
    found: dict[str, int] = {}
    if section is None or row is None:
        return found
    for key, metric in PRINTED_METRICS:
        try:
            found[key] = int(find_printed(printed, section, row, group, metric).value)
        except ReproError:
            continue
    return found
