"""Figure 17, measured: the base model's output entropy at T = 0.6, the RL model's temperature
whose entropy matches it, and the RL model's pass@k at that temperature (§4.5, App. D.7).

Output entropy (repro.scores): the token-mean, over the responses a model samples at T, of
the entropy of its full next-token distribution softmax(logits / T), computed by transformers
(the hf backend) from every logit. vLLM cannot give it (its log-probabilities are top-k only),
so on the vllm backend responses are sampled by vLLM and scored by transformers on the same
weights. Responses: one round (32 in the paper's tiers; the stand-in tier's n) of each of the
first MEASURE_PROBLEMS problems of the run, from the run's own sample store.

The search (repro.temperature_search) bisects T on [0.6, 2.0]. The matched temperature is then
used for a pass@k run of the RL model ("rl-matched"), and claim 9 is judged on it, beside the
runs at the paper's own temperatures (1.5, 0.9, 1.0, 0.85, 0.85, 1.0), which stay compared
with the paper's curves: both are recorded.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field, replace
from math import sqrt

from repro.analysis.responses import responses, score
from repro import stats
from repro.claims import LARGEST, ClaimVerdict, Greater
from repro.compare import FAIL, PASS, PointComparison, printed_title
from repro.errors import UnknownNameError
from repro.expected import find_printed, load_printed
from repro.experiments import Arm, Experiment
from repro.files import atomic_write
from repro.measurements import MeasurementCache
from repro.pipeline import RunContext, results_dir, run_spec
from repro.plan import RunSpec, plan_run
from repro.results import RunResult
from repro.results_csv import file_name, write_results_csv
from repro.sampling import get_backend
from repro.scores import token_mean_of_sums, token_mean_standard_error
from repro.temperature_search import match_temperature

BASE_TEMPERATURE = 0.6
MEASURE_PROBLEMS = 64  # problems whose responses are scored (all of AIME24/AMC23; the first 64 elsewhere)
MATCHED_ARM = "rl-matched"
SCORER = "hf"  # full-vocabulary entropies need transformers
CLAIM_TEXT = "RL at the measured entropy-matched temperature does not close the gap at large k"


@dataclass
class EntropyOutcome:
    claims: list[ClaimVerdict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)
    points: list[PointComparison] = field(default_factory=list)  # Figure 17's printed entropies, scored


@dataclass(frozen=True)
class Measured:
    """An output entropy measured over responses, with its standard error over them."""

    value: float
    standard_error: float


def score_printed_entropies(measured: list[tuple[str, str, str, Measured]],
                            family_rate: float = stats.PANEL_FALSE_ALARM_RATE) -> list[PointComparison]:
    """Figure 17's printed entropies against the measured ones: (printed row, panel name,
    benchmark, measured). The paper's value came from its own responses, as many as ours would
    be: each side gets the measured standard error, so |measured - printed| must be within
    z * sqrt(2) * se plus the printed rounding (0.005; 0.05 for the one printed with one
    decimal), z a Bonferroni z over the values compared."""
    rows = []
    for row, panel_name, benchmark, value in measured:
        try:
            rows.append((find_printed(load_printed(), "Figure 17", row, panel_name, "output entropy"), benchmark, value))
        except UnknownNameError:
            continue  # the paper prints no entropy for this model on this benchmark
    z = stats.bonferroni_z(len(rows), family_rate) if rows else None
    points = []
    for printed, benchmark, value in rows:
        tolerance = z * sqrt(2.0) * value.standard_error + printed.abs_error
        verdict = PASS if abs(value.value - printed.value) <= tolerance else FAIL
        points.append(PointComparison(printed_title("Figure 17"), f"{printed.row}: output entropy", printed.row,
                                      benchmark, 0, printed.value, printed.abs_error, value.value,
                                      value.standard_error, value.standard_error, z, tolerance, verdict, unit="nats"))
    return points


def _paper(metric_row: str, panel_name: str) -> float | None:
    try:
        return find_printed(load_printed(), "Figure 17", metric_row, panel_name, "output entropy").value
    except UnknownNameError:
        return None


def run_entropy(context: RunContext, experiment: Experiment, backend: str,
                results: dict[tuple[str, str], RunResult]) -> EntropyOutcome:
    outcome = EntropyOutcome()
    kind = get_backend(backend)
    if kind.simulated:
        outcome.notes.append(f"entropy [{backend}]: not measured, the simulated backend has no model; its RL runs use "
                             "the paper's temperatures only")
        return outcome
    base_arm, rl_arm = experiment.arm("base"), experiment.arm("rl")
    cache = MeasurementCache(context.root)
    measured_printed: list[tuple[str, str, str, Measured]] = []
    folder = results_dir(context.root, experiment.id, context.tier.name, backend)
    stand_in = False
    for panel in experiment.panels:
        bench = panel.benchmark
        panel_name = panel.curves[0][1].panel.split(" (")[0]
        paper_temperature = experiment.arm(panel.curves[2][0]).temperature

        def plan(arm: Arm, backend_name: str = backend) -> RunSpec:
            return plan_run(experiment, arm, bench, panel.n, context.tier, get_backend(backend_name),
                            run_seed=context.run_seed, checkpoints=context.checkpoints,
                            keep_dapo_answer=context.keep_dapo_answer, revisions=context.revisions)

        loaded = context.load(bench)
        base_spec = plan(base_arm)
        stand_in = stand_in or base_spec.weights.source == "tiny"
        problems = (loaded.problems[:base_spec.problem_limit] if base_spec.problem_limit
                    else loaded.problems)[:MEASURE_PROBLEMS]

        def measure(arm: Arm, temperature: float) -> Measured:
            sampled = plan(replace(arm, temperature=temperature))
            sampled = replace(sampled, n=sampled.samples_per_round)  # one round: shares the pass@k run's store
            answers = responses(context, sampled, problems, f"{experiment.id}/{arm.name}@T{temperature:g}/{bench} "
                                                            f"[{backend}]")
            scored = score(context, cache, plan(arm, SCORER), answers, temperature)
            kept = [s for rows in scored.values() for s in rows]
            sums, tokens = [s.entropy_sum for s in kept], [s.tokens for s in kept]
            return Measured(token_mean_of_sums(sums, tokens), token_mean_standard_error(sums, tokens))

        base_measured = measure(base_arm, BASE_TEMPERATURE)
        target = base_measured.value
        # Bisection midpoints are rounded to 4 decimals: they name sample stores and arms.
        found = match_temperature(lambda t: measure(rl_arm, round(t, 4)).value, target)
        # The entropies Figure 17 prints: the base at 0.6, the RL model at 0.6 and at the paper's temperature.
        printed_rows = [("Qwen2.5-7B base (T = 0.6)", base_measured),
                        ("SimpleRL-Zoo (T = 0.6)", measure(rl_arm, BASE_TEMPERATURE))]
        if _paper(f"SimpleRL-Zoo (T = {paper_temperature:g})", panel_name) is not None:
            printed_rows.append((f"SimpleRL-Zoo (T = {paper_temperature:g})", measure(rl_arm, paper_temperature)))
        measured_printed += [(row, panel_name, bench, value) for row, value in printed_rows]
        # Planned as the rl arm (the experiment's own arm names its template) at the new temperature.
        matched_spec = plan(replace(rl_arm, temperature=round(found.temperature, 4)))
        result, _, _ = run_spec(context, matched_spec, f"{experiment.id}/{MATCHED_ARM}/{bench} [{backend}]")
        if result is not None:
            result = replace(result, arm=MATCHED_ARM)
            write_results_csv(folder / file_name(MATCHED_ARM, bench), result)
            claim = Greater(9, CLAIM_TEXT, "base", LARGEST, MATCHED_ARM, LARGEST, bench)
            outcome.claims += claim.evaluate({**results, (MATCHED_ARM, bench): result})
        rl_at_base_t = next(e for t, e in found.evaluations if t == BASE_TEMPERATURE)
        outcome.rows.append({
            "benchmark": bench, "base_entropy_T0.6": target,
            "paper_base_entropy_T0.6": _paper("Qwen2.5-7B base (T = 0.6)", panel_name),
            "rl_entropy_T0.6": rl_at_base_t, "paper_rl_entropy_T0.6": _paper("SimpleRL-Zoo (T = 0.6)", panel_name),
            "matched_temperature": found.temperature, "paper_temperature": paper_temperature,
            "base_entropy_T0.6_standard_error": base_measured.standard_error,
            "rl_entropy_at_matched": found.entropy, "search": found.status,
            "evaluations": ";".join(f"{t:.4g}:{e:.5f}" for t, e in found.evaluations),
            "problems": len(problems), "responses_per_problem": base_spec.samples_per_round,
            "matched_run_key_sha256": matched_spec.key_sha256(),
        })
        outcome.notes.append(f"entropy [{backend}] {bench}: E_base(T=0.6) = {target:.4f}; RL matched at "
                             f"T = {found.temperature:.4g} (paper: {paper_temperature:g}); {found.describe()}")
    outcome.points = score_printed_entropies(measured_printed)
    _write(folder, outcome.rows, stand_in)
    outcome.notes.append(f"entropy [{backend}]: measured values in "
                         f"{(folder / 'entropy.csv').relative_to(context.root).as_posix()}"
                         + ("; made by tiny random stand-in models: NOT evidence about the paper" if stand_in else ""))
    return outcome


def _write(folder, rows: list[dict], stand_in: bool) -> None:
    if not rows:
        return
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(folder / "entropy.csv", out.getvalue().encode())
    summary = {
        "figure": "Figure 17",
        "evidence": ("NOT evidence: tiny random stand-in models checking the machinery" if stand_in
                     else "measured with the models named in specs.json"),
        "definition": ("token-mean over the responses sampled at T of the entropy of softmax(logits / T) over the "
                       "whole vocabulary (transformers), natural log; the paper gives no formula (docs/analysis.md)"),
        "search": "bisection of T on [0.6, 2.0], entropy tolerance 0.01, temperature tolerance 0.05",
        "rows": rows,
    }
    atomic_write(folder / "entropy.json", (json.dumps(summary, indent=2) + "\n").encode())
