"""Figure 6: the perplexity of the base and RL models on each other's responses (§4.1).

Two AIME24 problems, 16 responses of each model per problem (sampled with the paper's
protocol, T = 0.6, top-p 0.95, through the ordinary sample stores), each response scored by
both models at temperature 1: PPL_m(Y | x) = exp(-mean_t log P_m(y_t | x, y_<t))
(repro.scores). The paper says it "randomly sample[s] two problems from AIME24" without
naming them, so they are drawn here with a fixed seed (PROBLEM_SEED) from the problems the
run has, and named in the output. The paper's third set, 8 responses of OpenAI-o1, cannot be
regenerated; responses of any other source can be given as a JSONL file and are scored too.

Claim 4 is judged per problem by repro.perplexity_claim.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from repro.analysis.responses import Responses, Scored, responses, score
from repro.claims import ClaimVerdict
from repro.errors import InputFileError
from repro.experiments import Experiment
from repro.files import atomic_write
from repro.measurements import MeasurementCache
from repro.perplexity_claim import QUANTILE, ALPHA, low_part_verdict
from repro.pipeline import RunContext, results_dir
from repro.plan import plan_run
from repro.problems import Problem
from repro.sampling import get_backend
from repro.scores import perplexity

BENCHMARK = "aime24"
RESPONSES = 16  # per model and problem (Figure 6)
PROBLEMS = 2
PROBLEM_SEED = 0  # random.Random(0).sample over the run's problems, in benchmark order
SCORING_TEMPERATURE = 1.0  # perplexity is of the model's own distribution


@dataclass
class PerplexityOutcome:
    claims: list[ClaimVerdict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    points: list = field(default_factory=list)  # the paper prints no perplexity value: none to score


def chosen_problems(problems: list[Problem], count: int = PROBLEMS, seed: int = PROBLEM_SEED) -> list[Problem]:
    picked = random.Random(seed).sample(range(len(problems)), min(count, len(problems)))
    return [problems[i] for i in sorted(picked)]


MAX_RESPONSES_BYTES = 64 * 2**20  # 16 responses of two problems by a few models: far below this


def read_external(path: Path, problems: list[Problem]) -> dict[str, dict[str, list[str]]]:
    """source -> problem id -> responses, from JSONL rows {"problem_id", "response", "source"}
    (e.g. the paper's OpenAI-o1 responses, if one has them). Rows of other problems are refused."""
    known = {problem.problem_id for problem in problems}
    found: dict[str, dict[str, list[str]]] = {}
    path = Path(path)
    # Untrusted input, like external results (repro.results_csv): a regular file of bounded size.
    if not path.is_file():
        raise InputFileError(f"{path}: not a regular file")
    if path.stat().st_size > MAX_RESPONSES_BYTES:
        raise InputFileError(f"{path}: a responses file is at most {MAX_RESPONSES_BYTES // 2**20} MiB")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise InputFileError(f"{path}: not a UTF-8 file ({error.reason} at byte {error.start})") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            problem_id, text, source = row["problem_id"], row["response"], str(row.get("source", "external"))
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise InputFileError(f"{path} line {number}: needs a JSON object with problem_id and response ({error})")
        if problem_id not in known:
            raise InputFileError(f"{path} line {number}: problem {problem_id!r} is not one of the scored problems "
                                 f"({', '.join(sorted(known))})")
        found.setdefault(source, {}).setdefault(problem_id, []).append(str(text))
    return found


def _perplexities(scored: dict[str, list[Scored]]) -> dict[str, list[float]]:
    """Per problem, the perplexity of every response with at least one token."""
    # The kept sums give the mean log-probability; perplexity of that one-number mean is the
    # same exp(-mean) as of the token list.
    return {pid: [perplexity([s.logprob_sum / s.tokens]) for s in rows if s.tokens] for pid, rows in scored.items()}


def run_perplexity(context: RunContext, experiment: Experiment, backend: str,
                   external: Path | None = None) -> PerplexityOutcome:
    outcome = PerplexityOutcome()
    kind = get_backend(backend)
    if kind.simulated:
        outcome.notes.append(f"perplexity [{backend}]: not measured, the simulated backend has no model to score with")
        return outcome
    specs = {arm.name: plan_run(experiment, arm, BENCHMARK, RESPONSES, context.tier, kind, run_seed=context.run_seed,
                                checkpoints=context.checkpoints, keep_dapo_answer=context.keep_dapo_answer,
                                revisions=context.revisions)
             for arm in experiment.arms}
    loaded = context.load(BENCHMARK)
    limit = specs["base"].problem_limit
    problems = chosen_problems(loaded.problems[:limit] if limit else loaded.problems)
    answers: dict[str, Responses] = {
        arm: responses(context, spec, problems, f"{experiment.id}/{arm}/{BENCHMARK} [{backend}]")
        for arm, spec in specs.items()}
    if external is not None:
        for source, texts in read_external(external, problems).items():
            digest = hashlib.sha256(json.dumps(texts, sort_keys=True).encode()).hexdigest()
            base = answers["base"]
            answers[source] = Responses(base.spec, f"external:{digest}", texts,
                                        {pid: base.prompts[pid] for pid in texts})
    cache = MeasurementCache(context.root)
    table: dict[tuple[str, str], dict[str, list[float]]] = {}  # (scorer, responses of) -> problem -> PPLs
    for scorer in specs:
        for source, answer in answers.items():
            table[(scorer, source)] = _perplexities(score(context, cache, specs[scorer], answer, SCORING_TEMPERATURE))
    for problem in problems:
        pid = problem.problem_id
        outcome.claims.append(low_part_verdict(table[("base", "rl")][pid], table[("base", "base")][pid], pid))
    folder = results_dir(context.root, experiment.id, context.tier.name, backend)
    _write(folder, experiment, specs, problems, table, outcome.claims)
    stand_in = specs["base"].weights.source == "tiny"
    outcome.notes.append(
        f"perplexity [{backend}]: problems {', '.join(p.problem_id for p in problems)} (drawn with seed {PROBLEM_SEED}; "
        f"the paper does not name its two), {specs['base'].n} responses per model; per-response values in "
        f"{(folder / 'perplexity.csv').relative_to(context.root).as_posix()}, box plot perplexity.png beside it"
        + ("; made by tiny random stand-in models: NOT evidence about the paper" if stand_in else ""))
    return outcome


def _write(folder: Path, experiment: Experiment, specs, problems: list[Problem],
           table: dict[tuple[str, str], dict[str, list[float]]], claims: list[ClaimVerdict]) -> None:
    from repro.report.boxplot import plot_perplexity

    stand_in = specs["base"].weights.source == "tiny"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["problem_id", "scorer", "responses_of", "response", "perplexity"])
    for (scorer, source), per_problem in sorted(table.items()):
        for pid, values in sorted(per_problem.items()):
            writer.writerows([pid, scorer, source, i, f"{value:.6g}"] for i, value in enumerate(values))
    atomic_write(folder / "perplexity.csv", out.getvalue().encode())
    summary = {
        "experiment": experiment.id, "figure": "Figure 6",
        "evidence": ("NOT evidence: tiny random stand-in models checking the machinery" if stand_in
                     else "measured with the models named in specs"),
        "definition": "PPL_m(Y|x) = exp(-(1/T) sum_t log P_m(y_t | x, y_<t)), natural log, temperature 1, "
                      "response tokenized alone and appended to the prompt's tokens (paper §4.1)",
        "problems": [p.problem_id for p in problems], "problem_seed": PROBLEM_SEED,
        "responses_per_model": specs["base"].n,
        "specs": {arm: {"key_sha256": spec.key_sha256(), "weights": spec.weights.describe(),
                        "temperature": spec.temperature, "top_p": spec.top_p} for arm, spec in specs.items()},
        "claim_test": {"quantile": QUANTILE, "alpha": ALPHA, "test": "one-sided Mann-Whitney U, exact null"},
        "claims": [{"scope": c.scope, "verdict": c.verdict, "evidence": c.evidence} for c in claims],
        "medians": {f"PPL_{scorer}(Y_{source})": {pid: statistics.median(v) if v else None
                                                  for pid, v in per_problem.items()}
                    for (scorer, source), per_problem in table.items()},
    }
    atomic_write(folder / "perplexity.json", (json.dumps(summary, indent=2) + "\n").encode())
    plot_perplexity(folder / "perplexity.png", table, [p.problem_id for p in problems], stand_in)
