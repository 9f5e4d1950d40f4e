"""How many reruns `repro plan --tier adaptive` needs, and what they cost.

Plans every runnable experiment of the adaptive tier (as `repro plan --tier adaptive` does),
simulates the adaptive tier's samples with --reruns reruns (repro.adaptive_estimate, its cache
in a fresh temporary folder unless --keep-cache), and prints the total GPU-hours of each rerun
and the mean of the first 1, 2, 3, 5, 10, ... reruns with its standard error, then the runs whose
samples vary most between reruns. Simulated from the paper's curves: it measures the estimate,
not any model.

    python scripts/bench_adaptive_estimate.py --reruns 20
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from repro import adaptive_estimate  # noqa: E402
from repro.aime_filter import filter_runs  # noqa: E402
from repro.costs import run_cost  # noqa: E402
from repro.experiments import EXPERIMENTS  # noqa: E402
from repro.plan import plan_experiment, unique_runs  # noqa: E402
from repro.sampling import get_backend  # noqa: E402
from repro.stages import missing_stages  # noqa: E402
from repro.tiers import get_tier  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reruns", type=int, default=20)
    parser.add_argument("--seed", type=int, default=adaptive_estimate.DEFAULT_SEED)
    parser.add_argument("--keep-cache", action="store_true", help="use (and fill) the usual cache")
    args = parser.parse_args()
    if not args.keep_cache:
        os.environ["REPRO_CACHE_DIR"] = tempfile.mkdtemp(prefix="adaptive-estimate-")
    tier, backend = get_tier("adaptive"), get_backend("vllm")
    experiments = {e.id: e for e in EXPERIMENTS if not missing_stages(e, tier)}
    planned = []
    for experiment in experiments.values():
        planned += filter_runs(experiment, tier, ("vllm",)) + plan_experiment(experiment, tier, backend)
    unique = unique_runs(planned)
    costs = {cost.run.spec.key_sha256(): cost for cost in map(run_cost, unique)}
    started = time.time()
    found = adaptive_estimate.estimate(unique, experiments, reruns=args.reruns, seed=args.seed)
    print(f"{len(unique)} unique runs of {len(experiments)} experiments: {args.reruns} reruns simulated in "
          f"{time.time() - started:.0f} s ({found.simulated} experiments simulated, {found.cached} from the cache)")
    full = sum(cost.gpu_hours for cost in costs.values())
    hours = np.zeros(args.reruns)
    spread = []
    for key, run in found.runs.items():
        cost = costs[key]
        hours += np.asarray(run.per_rerun) * cost.gpu_hours / cost.samples
        drawn = np.asarray(run.per_rerun, dtype=float)
        if run.simulated and args.reruns > 1 and drawn.mean() > 0:
            spread.append((drawn.std(ddof=1) / drawn.mean(), f"{cost.run.spec.model}/{cost.run.spec.benchmark}",
                           drawn.mean() / run.full_samples))
    print(f"full tier: {full:,.1f} GPU-hours")
    print("adaptive GPU-hours per rerun: " + ", ".join(f"{h:.1f}" for h in hours))
    for count in (1, 2, 3, 5, 10, 20, 50, 100, 200):
        if count <= args.reruns:
            error = hours[:count].std(ddof=1) / np.sqrt(count) if count > 1 else float("nan")
            print(f"  mean of the first {count:3}: {hours[:count].mean():7.1f} GPU-hours (standard error {error:.2f})")
    if args.reruns > 1:
        print(f"one rerun's standard deviation: {hours.std(ddof=1):.2f} GPU-hours "
              f"({100 * hours.std(ddof=1) / hours.mean():.1f}% of the mean)")
        spread.sort(reverse=True)
        print("runs that vary most (one rerun's sd / mean, share of the full n): " + "; ".join(
            f"{name} {100 * sd:.0f}% ({100 * share:.0f}%)" for sd, name, share in spread[:5]))


if __name__ == "__main__":
    main()
