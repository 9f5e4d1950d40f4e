"""Adaptive tier against full tier, on the same simulated samples (no engine).

For every experiment with sample runs: each run's per-problem success probabilities are the
simulated backend's fit to the paper's curves (repro.pipeline.calibrated_probabilities) over the
benchmark's full size, at the paper's n. Each rerun draws the full tier's samples (binomial
counts per 32-sample round); the full tier's verdicts come from repro.compare / repro.claims on
all of them, the adaptive tier's from repro.adaptive on a prefix of the same rounds. Scenarios:

- honest: the paper's own curves;
- shifted: the experiment's first arm fitted to its curve 5 points lower;
- rl-wins: each Crossing claim's RL arm made better than base at every k
  (p_rl' = 1 - (1 - p_rl)(1 - p_base): it solves what either solves).

Tokens: samples x the assumed mean output length of the model family on the benchmark
(repro.costs.OUTPUT_TOKENS). Simulated: these numbers check the method, not the paper.

    python scripts/bench_adaptive.py --reruns 200 [--experiments ID ...] [--scenarios honest ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zlib
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from repro import adaptive, adaptive_estimate, adaptive_verdicts  # noqa: E402
from repro.benchmarks import get_benchmark  # noqa: E402
from repro.claims import Crossing  # noqa: E402
from repro.costs import OUTPUT_TOKENS, family  # noqa: E402
from repro.expected import load_curves  # noqa: E402
from repro.experiments import EXPERIMENTS  # noqa: E402
from repro.plan import calibration_source  # noqa: E402
from repro.results import RunResult  # noqa: E402
from repro.sampling.calibration import fit_success_probabilities  # noqa: E402
from repro.expected import curve_points  # noqa: E402

SHIFT = 0.05


def probabilities(experiment, scenario: str) -> dict:
    """Per-problem success probabilities of every run, as the simulated backend fits and orders
    them (repro.adaptive_estimate), doctored for the scenario."""
    if scenario != "shifted":
        out = adaptive_estimate.probabilities(experiment)
    else:
        out = {}
        first = experiment.arms[0].name
        for arm, benchmark in experiment.runs():
            source = calibration_source(experiment, experiment.arm(arm), benchmark)
            if arm == first and "curve" in source:
                points = curve_points(load_curves(), *source["curve"])
                fitted = fit_success_probabilities({p.k: max(p.value - SHIFT, 0.0) for p in points},
                                                   get_benchmark(benchmark).size)
                out[(arm, benchmark)] = adaptive_estimate.simulation_order(benchmark, fitted)
            else:
                out[(arm, benchmark)] = adaptive_estimate.run_probabilities(experiment, arm, benchmark)
    if scenario == "rl-wins":
        for claim in experiment.claims:
            if isinstance(claim, Crossing):
                for b in claim.benchmarks:
                    base, rl = out[(claim.base, b)], out[(claim.rl, b)]
                    out[(claim.rl, b)] = 1 - (1 - rl) * (1 - base)
    return out


def verdict_kind(key: tuple) -> str:
    """Group verdicts for the per-verdict cost: points at k <= 32 (one round), larger k,
    printed numbers, claims, and what runs at the full n."""
    if key[0] == "point":
        return "point k<=32" if key[-1] <= 32 else "point k>32"
    return {"printed": "printed", "claim": "claim"}.get(key[0], "full n (solved sets, histograms)")


def tokens_per_sample(experiment, run) -> float:
    return float(OUTPUT_TOKENS.get((family(experiment.arm(run[0]).model), run[1]), 1000))


def expected_samples_to_solve(p: np.ndarray, n: int) -> float:
    """Expected samples drawn on the ladder 32, 64, ... n when each problem goes up until it is
    solved once: what any method must draw to know whether the full tier's pass@n counts a
    problem (the crossing claim's largest k)."""
    sizes = adaptive.ladder(n)
    total = np.full(len(p), float(sizes[0]))
    for before, size in zip(sizes, sizes[1:]):
        total += (1 - p) ** before * (size - before)
    return float(total.sum())


def floor_tokens(experiment, probs, runs) -> float:
    """A lower bound on the adaptive tier's tokens: one round of every problem of every run, and
    the runs of a crossing claim until each problem is solved once."""
    crossing = {(arm, b) for claim in experiment.claims if isinstance(claim, Crossing)
                for b in claim.benchmarks for arm in (claim.base, claim.rl)}
    total = 0.0
    for run, p in probs.items():
        samples = expected_samples_to_solve(p, runs[run]) if run in crossing else len(p) * min(32, runs[run])
        total += samples * tokens_per_sample(experiment, run)
    return total


def one_rerun(experiment, probs, runs, checks, rng):
    blocks = {run: rng.binomial(32, np.repeat(p[:, None], runs[run] // 32, axis=1)).cumsum(axis=1)
              for run, p in probs.items()}

    def draw(run, idx, start, stop):
        before = blocks[run][idx, start // 32 - 1] if start else 0
        return blocks[run][idx, stop // 32 - 1] - before

    results = {run: RunResult(run[0], run[1], tuple(map(str, range(len(p)))), tuple(range(len(p))),
                              np.full(len(p), runs[run]), blocks[run][:, -1].copy())
               for run, p in probs.items()}
    full = adaptive_verdicts.full_tier_verdicts(experiment, results)
    outcome = adaptive.run_adaptive(checks, runs, {r: len(p) for r, p in probs.items()}, draw)
    # Verdicts the method leaves to the full tier's rule: taken on the adaptive tier's own
    # samples (their runs went to the full n, or every problem was solved once).
    own = {run: RunResult(run[0], run[1], results[run].problem_ids, results[run].problem_indices,
                          state.m.copy(), state.c.copy()) for run, state in outcome.states.items()}
    adaptive_verdicts.complete_decisions(experiment, outcome, own)
    return full, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reruns", type=int, default=200)
    parser.add_argument("--experiments", nargs="*")
    parser.add_argument("--scenarios", nargs="*", default=["honest", "shifted", "rl-wins"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write the per-experiment numbers here")
    parser.add_argument("--rule", choices=["predict", "own-points", "own"], default="predict",
                        help="predict: settle a verdict only once the full tier's is predicted; own-points: "
                             "points may also settle by the adaptive tier's own test; own: claims too")
    parser.add_argument("--resolution", type=float, default=0.03,
                        help="own tests: a point passes only once its own tolerance is within this (fraction)")
    args = parser.parse_args()
    chosen = [e for e in EXPERIMENTS if e.runs() and (not args.experiments or e.id in args.experiments)]
    report = {}
    for scenario in args.scenarios:
        totals = defaultdict(float)
        for experiment in chosen:
            if scenario == "rl-wins" and not any(isinstance(c, Crossing) for c in experiment.claims):
                continue
            started = time.time()
            runs = {run: n for run, n in experiment.runs().items() if n % 32 == 0}
            probs = {run: p for run, p in probabilities(experiment, scenario).items() if run in runs}
            rule = adaptive.Rule(own_points=args.rule != "predict", own_claims=args.rule == "own",
                                 resolution=args.resolution)
            checks = adaptive.checks_for(experiment, runs, rule)
            # zlib.crc32, not hash(): str hashes change from one process to the next.
            rng = np.random.default_rng([args.seed, zlib.crc32(experiment.id.encode()), len(scenario)])
            agree = defaultdict(int)
            unmatched = set()
            failing_full = failing_adaptive = all_agree = 0
            tokens_full = tokens_adaptive = 0.0
            spent = defaultdict(list)  # kind of verdict -> samples it took / the full tier's
            worst = None
            for _ in range(args.reruns):
                full, outcome = one_rerun(experiment, probs, runs, checks, rng)
                same = True
                for key, decision in outcome.decisions.items():
                    spent[verdict_kind(key)].append(decision.samples / decision.full_samples)
                    if key not in full and key not in (("full",), ("solved status",)):
                        unmatched.add(key)
                    if key in full:
                        ok = full[key] == decision.verdict
                        agree[key] += ok
                        same &= ok
                all_agree += same
                failing_full += any(v in ("fail", "fails") for v in full.values())
                failing_adaptive += any(d.verdict in ("fail", "fails") for d in outcome.decisions.values())
                for run, drawn in outcome.samples().items():
                    per = tokens_per_sample(experiment, run)
                    tokens_adaptive += drawn * per
                    tokens_full += len(probs[run]) * runs[run] * per
            floor = floor_tokens(experiment, probs, runs) / (tokens_full / args.reruns)
            if agree:
                worst = min(agree, key=agree.get)
            row = {"verdicts": len(agree), "min_agreement": (agree[worst] / args.reruns) if worst else None,
                   "worst_verdict": " / ".join(map(str, worst)) if worst else None,
                   "all_agree": all_agree / args.reruns, "any_fail_full": failing_full / args.reruns,
                   "any_fail_adaptive": failing_adaptive / args.reruns,
                   "token_share": tokens_adaptive / tokens_full, "floor_share": floor, "unmatched": len(unmatched),
                   "samples_per_verdict": {kind: float(np.mean(v)) for kind, v in sorted(spent.items())}, "seconds": round(time.time() - started, 1)}
            totals["full"] += tokens_full / args.reruns
            totals["adaptive"] += tokens_adaptive / args.reruns
            totals["floor"] += floor * tokens_full / args.reruns
            report.setdefault(scenario, {})[experiment.id] = row
            print(f"{scenario:8} {experiment.id:22} verdicts {row['verdicts']:4}  min agreement "
                  f"{row['min_agreement'] if row['min_agreement'] is None else round(row['min_agreement'], 3)}  "
                  f"all agree {row['all_agree']:.3f}  any fail full {row['any_fail_full']:.3f} adaptive "
                  f"{row['any_fail_adaptive']:.3f}  tokens {100 * row['token_share']:.1f}% (floor {100 * floor:.1f}%)  "
                  f"unmatched {len(unmatched)}  "
                  f"({row['seconds']} s)",
                  flush=True)
            print("         samples per verdict / the full tier's: " + ", ".join(
                f"{kind} {100 * share:.0f}%" for kind, share in row["samples_per_verdict"].items()), flush=True)
        if totals["full"]:
            report.setdefault(scenario, {})["_total_token_share"] = totals["adaptive"] / totals["full"]
            report.setdefault(scenario, {})["_total_floor_share"] = totals["floor"] / totals["full"]
            print(f"{scenario}: adaptive tokens / full tokens over all experiments = "
                  f"{100 * totals['adaptive'] / totals['full']:.1f}% (floor {100 * totals['floor'] / totals['full']:.1f}%)",
                  flush=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    main()
