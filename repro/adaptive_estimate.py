"""What the adaptive tier is expected to draw, simulated from the paper's own curves
(`repro plan --tier adaptive`).

The adaptive tier (repro.adaptive) stops sampling a problem once no open verdict needs it, so
its cost depends on the models' per-problem difficulty. Before anything runs, the best guess of
that difficulty is the paper's: each run's per-problem success probabilities are the simulated
backend's fit to the paper's curve (or histogram) of that arm (repro.pipeline
.calibrated_probabilities), over the benchmark's full size, with the problems in the simulated
backend's order. A rerun draws binomial successes from them, round by round, and runs
`repro.adaptive.run_adaptive` on those draws; the estimate of a run's samples is the mean over
a few reruns with a fixed seed (deterministic).

A unique run read by several experiments (repro.plan.unique_runs) is drawn once by the
adaptive tier, problem by problem up to the largest of what its experiments ask for (samples
are a prefix: the largest covers the others). The simulation does the same, per problem: in
each rerun, every experiment reading the run draws from the same random numbers (one stream per
run and round, whatever the experiment), its success counts from its own arm's fit (the paper's
curves of one model in two figures are two fits); the run's samples in the rerun are the sum over
problems of the largest count any of its experiments drew.

Each experiment's simulated counts are cached on disk (`$REPRO_CACHE_DIR/adaptive-estimate`,
repro.benchmarks.fetch.cache_dir), keyed by everything they depend on: this module's
SIMULATION_VERSION, the source of repro/adaptive.py (the decision rules) and of the fit to the
curves, the checksum of the paper data (expected/*.csv), the experiment's checks, its runs (n,
stream, calibration source, size, problem order), the seed and the reruns. The first plan of
all experiments simulates for about 25 s on one core (the decision rules' variances dominate);
later ones read the cache.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path

import numpy as np

from repro import adaptive
from repro.benchmarks import get_benchmark
from repro.benchmarks.fetch import cache_dir
from repro.costs import RunCost
from repro.errors import ReproError
from repro.expected import CURVES_FILE, HISTOGRAMS_FILE, PRINTED_FILE, SOLVED_FILE, expected_dir
from repro.experiments import Experiment
from repro.files import atomic_write
from repro.pipeline import calibrated_probabilities
from repro.plan import UNKNOWN_RANK, UniqueRun, calibration_source, printed_problem_ranks
from repro.tiers import SAMPLES_PER_ROUND

# Bump when the simulation below changes what it draws (the cache key also hashes
# repro/adaptive.py, whose decision rules change what the adaptive tier asks for).
SIMULATION_VERSION = 1
# docs/performance.md: the total GPU-hours of 3 reruns is within about 1% of 20 reruns' (one rerun
# varies by about 1.4%), and all experiments take about 25 s to simulate on one core.
DEFAULT_RERUNS = 3
DEFAULT_SEED = 0
CACHE_FOLDER = "adaptive-estimate"

RunKey = tuple[str, str]  # (arm, benchmark) of one experiment


# ----------------------------------------------------------------------------- probabilities


def simulation_order(benchmark: str, fitted: np.ndarray) -> np.ndarray:
    """A run's fitted probabilities (sorted as the fit returns them) placed as the simulated
    backend places them (repro.pipeline.simulated_backend): the problems that the paper's solved
    lists name first, so that solved sets can match the printed ones; by index where the
    pipeline breaks ties by a hash of the problem id (no problem ids here)."""
    ranks = printed_problem_ranks(benchmark)
    order = sorted(range(len(fitted)), key=lambda i: (ranks.get(i, UNKNOWN_RANK), i))
    placed = np.empty_like(fitted)
    placed[order] = fitted
    return placed


def run_probabilities(experiment: Experiment, arm: str, benchmark: str) -> np.ndarray:
    """Per-problem success probabilities of one run implied by the paper (its arm's curve or
    histogram, as the simulated backend fits it), over the benchmark's full size."""
    source = calibration_source(experiment, experiment.arm(arm), benchmark)
    return simulation_order(benchmark, calibrated_probabilities(source, get_benchmark(benchmark).size))


def probabilities(experiment: Experiment, runs: Iterable[RunKey] | None = None) -> dict[RunKey, np.ndarray]:
    """`run_probabilities` of every run of the experiment (or of `runs`)."""
    return {(arm, benchmark): run_probabilities(experiment, arm, benchmark)
            for arm, benchmark in (experiment.runs() if runs is None else runs)}


# ----------------------------------------------------------------------------- one experiment, simulated


def stream_name(model: str, benchmark: str, temperature: float) -> str:
    """What names a run's random numbers: the same for every experiment that reads the run."""
    return f"{model}/{benchmark}/T{temperature:g}"


def _stream_seed(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big")


class RunDraws:
    """Successes of one run in one rerun, round by round: round r of problem i is 32 uniform
    numbers from the stream (seed, rerun, run, r), a sample being correct where its number is
    below p_i. Every experiment reading the run sees the same numbers (its own p), so their
    counts go up and down together, as they do on one set of real samples."""

    def __init__(self, p: np.ndarray, seed: int, rerun: int, stream: str):
        self.p, self.key = p[:, None], [seed, rerun, _stream_seed(stream)]
        self.rounds: dict[int, np.ndarray] = {}

    def _round(self, r: int) -> np.ndarray:
        if r not in self.rounds:
            uniforms = np.random.default_rng(self.key + [r]).random((len(self.p), SAMPLES_PER_ROUND))
            self.rounds[r] = (uniforms < self.p).cumsum(axis=1)  # successes among the first j+1 samples
        return self.rounds[r]

    def __call__(self, idx: np.ndarray, start: int, stop: int) -> np.ndarray:
        total = np.zeros(len(idx), dtype=np.int64)
        for r in range(start // SAMPLES_PER_ROUND, -(-stop // SAMPLES_PER_ROUND)):
            first = r * SAMPLES_PER_ROUND
            upto = min(stop, first + SAMPLES_PER_ROUND) - first  # the last round may be partial (stop = n)
            total += self._round(r)[idx, upto - 1]
        return total


def simulate_experiment(experiment: Experiment, runs: Mapping[RunKey, int], streams: Mapping[RunKey, str],
                        probs: Mapping[RunKey, np.ndarray], reruns: int, seed: int) -> dict[RunKey, np.ndarray]:
    """Samples per problem that the adaptive tier draws on each run of the experiment, per rerun:
    {run: array (reruns, problems)}. `runs`: the full tier's n per run; `streams`: stream_name
    of each run."""
    checks = adaptive.checks_for(experiment, runs)
    out = {run: np.zeros((reruns, len(probs[run])), dtype=np.int64) for run in runs}
    for rerun in range(reruns):
        draws = {run: RunDraws(probs[run], seed, rerun, streams[run]) for run in runs}
        outcome = adaptive.run_adaptive(checks, runs, {run: len(probs[run]) for run in runs},
                                        lambda run, idx, start, stop: draws[run](idx, start, stop))
        for run, state in outcome.states.items():
            out[run][rerun] = state.m
    return out


# ----------------------------------------------------------------------------- cache


def paper_data_sha256() -> str:
    """Checksum of the paper data the curves, printed values, histograms and solved sets come from."""
    digest = hashlib.sha256()
    for name in (CURVES_FILE, HISTOGRAMS_FILE, PRINTED_FILE, SOLVED_FILE):
        digest.update(name.encode() + b"\0" + (expected_dir() / name).read_bytes())
    return digest.hexdigest()


def method_sha256() -> str:
    """What the simulation does, as code: the decision rules (repro/adaptive.py), the fit of
    probabilities to the paper's curves (repro/sampling/calibration.py and
    repro.pipeline.calibrated_probabilities) and this simulation's version."""
    from repro.sampling import calibration

    digest = hashlib.sha256(f"simulation {SIMULATION_VERSION}\0".encode())
    for module in (adaptive, calibration):
        digest.update(Path(module.__file__).read_bytes())
    digest.update(inspect.getsource(calibrated_probabilities).encode())
    return digest.hexdigest()


def cache_key(experiment: Experiment, runs: Mapping[RunKey, int], streams: Mapping[RunKey, str], reruns: int,
              seed: int, paper: str, method: str) -> str:
    """Everything an experiment's simulated counts depend on: the method, the paper data, the
    experiment's checks, each run's n, stream, calibration source, size and problem order."""
    digest = hashlib.sha256()
    described = sorted((run, runs[run], streams[run], calibration_source(experiment, experiment.arm(run[0]), run[1]),
                        get_benchmark(run[1]).size, sorted(printed_problem_ranks(run[1]).items())) for run in runs)
    for part in (method, paper, experiment.id, _canonical(adaptive.checks_for(experiment, runs)), _canonical(described),
                 f"{reruns}/{seed}"):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()


def _canonical(value) -> str:
    """A text of the checks that is the same in every process: repr, with sets sorted (their
    order follows string hashing, which changes from one process to the next)."""
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(sorted(_canonical(item) for item in value)) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_canonical(item) for item in value) + "]"
    if is_dataclass(value):
        return type(value).__name__ + "(" + ", ".join(
            f"{f.name}={_canonical(getattr(value, f.name))}" for f in fields(value)) + ")"
    return repr(value)


def _cache_path(experiment_id: str, key: str) -> Path:
    return cache_dir() / CACHE_FOLDER / f"{experiment_id}-{key[:20]}.npz"


def _run_name(run: RunKey) -> str:
    return f"{run[0]}|{run[1]}"


def _read_cache(path: Path, shapes: Mapping[RunKey, tuple[int, int]]) -> dict[RunKey, np.ndarray] | None:
    try:
        with np.load(path) as stored:
            counts = {run: stored[_run_name(run)].astype(np.int64) for run in shapes}
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):  # absent, or damaged: simulate again
        return None
    return counts if all(counts[run].shape == shape for run, shape in shapes.items()) else None


def _write_cache(path: Path, counts: Mapping[RunKey, np.ndarray]) -> None:
    buffer = io.BytesIO()
    # The paper's n (at most 2,048) fits 16 bits: a cached experiment is a few kilobytes.
    np.savez_compressed(buffer, **{_run_name(run): m.astype(np.uint16 if m.max(initial=0) < 2**16 else np.int64)
                                   for run, m in counts.items()})
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, buffer.getvalue())
    except OSError:
        pass  # a read-only cache only costs the next plan its time


def experiment_counts(experiment: Experiment, runs: Mapping[RunKey, int], streams: Mapping[RunKey, str],
                      reruns: int, seed: int, paper: str, method: str) -> tuple[dict[RunKey, np.ndarray], bool]:
    """`simulate_experiment`, from the cache where it holds this simulation; (counts, cached)."""
    path = _cache_path(experiment.id, cache_key(experiment, runs, streams, reruns, seed, paper, method))
    counts = _read_cache(path, {run: (reruns, get_benchmark(run[1]).size) for run in runs})
    if counts is not None:
        return counts, True
    counts = simulate_experiment(experiment, runs, streams, probabilities(experiment, runs), reruns, seed)
    _write_cache(path, counts)
    return counts, False


# ----------------------------------------------------------------------------- per unique run


@dataclass(frozen=True)
class RunEstimate:
    """The adaptive tier's expected samples of one unique run."""

    samples: float  # mean over the reruns
    per_rerun: tuple[int, ...]  # samples in each rerun
    full_samples: int  # problems x n of the unique run
    simulated: bool  # False: the method does not sample this run adaptively; the full tier's samples


@dataclass(frozen=True)
class Estimate:
    runs: dict[str, RunEstimate]  # by the unique run's key_sha256
    reruns: int
    seed: int
    cached: int  # experiments read from the cache
    simulated: int  # experiments simulated now
    uncalibrated: tuple[str, ...] = ()  # experiments with nothing in the paper to simulate: at the full n


def estimate(unique: Iterable[UniqueRun], experiments: Mapping[str, Experiment], reruns: int | None = None,
             seed: int = DEFAULT_SEED) -> Estimate:
    """Expected adaptive-tier samples of every unique run of a plan. A run that no experiment's
    adaptive loop samples (the AIME24 filter's direct answers), or whose experiment has nothing in
    the paper to fit a simulation to, counts at the full tier's n."""
    reruns = DEFAULT_RERUNS if reruns is None else reruns
    if reruns < 1:
        raise ReproError(f"the adaptive estimate needs at least one rerun, not {reruns}")
    unique = list(unique)
    paper, method = paper_data_sha256(), method_sha256()
    # Each experiment's runs as the plan has them (benchmarks it can grade), with their streams.
    wanted: dict[str, dict[RunKey, tuple[int, str]]] = {}
    for run in unique:
        spec = run.spec
        for use in run.uses:
            if use.experiment in experiments and (use.arm, spec.benchmark) in experiments[use.experiment].runs():
                wanted.setdefault(use.experiment, {})[(use.arm, spec.benchmark)] = (
                    use.spec.n, stream_name(spec.model, spec.benchmark, spec.temperature))
    counts: dict[tuple[str, RunKey], np.ndarray] = {}
    cached = simulated = 0
    uncalibrated = []
    for experiment_id, runs in wanted.items():
        try:
            found, hit = experiment_counts(experiments[experiment_id], {r: n for r, (n, _) in runs.items()},
                                           {r: s for r, (_, s) in runs.items()}, reruns, seed, paper, method)
        except ReproError:  # nothing in the paper to fit its runs to (a model the paper never saw)
            uncalibrated.append(experiment_id)
            continue
        cached, simulated = cached + hit, simulated + (not hit)
        counts.update({(experiment_id, run): m for run, m in found.items()})
    out = {}
    for run in unique:
        spec = run.spec
        size = get_benchmark(spec.benchmark).size
        # Per use, its counts; a use that no adaptive loop samples draws its full n.
        drawn = [counts.get((use.experiment, (use.arm, spec.benchmark)), np.full((reruns, size), use.spec.n))
                 for use in run.uses]
        some = any((use.experiment, (use.arm, spec.benchmark)) in counts for use in run.uses)
        # Per problem, the largest count any experiment drew in the same rerun.
        per_rerun = np.maximum.reduce(drawn).sum(axis=1)
        out[spec.key_sha256()] = RunEstimate(float(per_rerun.mean()), tuple(int(x) for x in per_rerun),
                                             size * spec.n, simulated=some)
    return Estimate(out, reruns, seed, cached, simulated, tuple(uncalibrated))


@dataclass(frozen=True)
class AdaptiveCost:
    """A unique run's adaptive estimate in the full tier's cost model (repro.costs): the same
    tokens per sample, throughput and GPUs, applied to the expected samples."""

    samples: float
    share: float  # of the full tier's samples
    output_tokens: float
    gpu_hours: float
    per_rerun_gpu_hours: tuple[float, ...]
    simulated: bool


def adaptive_cost(cost: RunCost, run: RunEstimate) -> AdaptiveCost:
    per_sample = cost.mean_tokens / cost.throughput / 3600 * cost.gpus  # GPU-hours of one sample
    return AdaptiveCost(run.samples, run.samples / cost.samples if cost.samples else 1.0,
                        run.samples * cost.mean_tokens, run.samples * per_sample,
                        tuple(drawn * per_sample for drawn in run.per_rerun), run.simulated)


def total_spread(costs: Iterable[AdaptiveCost]) -> float:
    """Standard error of the total GPU-hours' mean over the reruns (0 with one rerun)."""
    per_rerun = np.sum([c.per_rerun_gpu_hours for c in costs], axis=0)
    if np.ndim(per_rerun) == 0 or len(per_rerun) < 2:
        return 0.0
    return float(per_rerun.std(ddof=1) / np.sqrt(len(per_rerun)))


class PlanEstimate:
    """The adaptive estimate of a plan (`repro plan --tier adaptive`): per unique run, its
    AdaptiveCost beside the full tier's RunCost; totals; and what the estimate is, in words."""

    def __init__(self, estimate: Estimate, by_key: dict[str, AdaptiveCost]):
        self.estimate, self.by_key = estimate, by_key

    @classmethod
    def of(cls, unique: Iterable[UniqueRun], costs: Iterable[RunCost], experiments: Iterable[Experiment],
           reruns: int | None = None) -> PlanEstimate:
        found = estimate(unique, {e.id: e for e in experiments}, reruns)
        return cls(found, {c.run.spec.key_sha256(): adaptive_cost(c, found.runs[c.run.spec.key_sha256()])
                           for c in costs})

    def of_run(self, cost: RunCost) -> AdaptiveCost:
        return self.by_key[cost.run.spec.key_sha256()]

    def totals(self, costs: Iterable[RunCost]) -> dict:
        costs = list(costs)
        mine = [self.of_run(c) for c in costs]
        full_samples = sum(c.samples for c in costs)
        samples = sum(a.samples for a in mine)
        return {"samples": samples, "output_tokens": sum(a.output_tokens for a in mine),
                "gpu_hours": sum(a.gpu_hours for a in mine), "gpu_hours_standard_error": total_spread(mine),
                "share_of_full_samples": samples / full_samples if full_samples else 1.0,
                "runs_at_full_n": sum(1 for a in mine if not a.simulated)}

    def method(self) -> str:
        e = self.estimate
        return (f"a simulation from the paper's curves, not a measurement: each run's per-problem success "
                f"probabilities fitted to its paper curve (as the simulated backend draws them), "
                f"repro.adaptive.run_adaptive on {e.reruns} reruns of binomial draws (seed {e.seed}), the mean "
                f"samples per run; a run several experiments read draws, per problem, the most any of them asks "
                f"for. It assumes the models behave as the paper's curves say: a model that does not costs "
                f"differently, at most the full tier ({e.simulated} experiment(s) simulated now, {e.cached} read "
                f"from the cache; repro/adaptive_estimate.py)")
