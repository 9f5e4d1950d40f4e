"""Histograms bar by bar and the printed solved sets (Tables 4, 5) are scored with their
sampling noise: a rerun like the paper's passes, a doctored one fails."""

from __future__ import annotations

import numpy as np
import pytest

from repro import stats
from repro.claims import FAILS, HOLDS, INCONCLUSIVE, HistogramShift
from repro.compare import FAIL, PASS, compare_histograms, solved_set_verdicts
from repro.expected import histogram_series, load_histograms, load_solved_sets
from repro.experiments import get_experiment
from repro.results import RunResult


def _result(arm: str, benchmark: str, c: list[int] | np.ndarray, n: int) -> RunResult:
    c = np.asarray(c)
    ids = tuple(f"{benchmark}/{i:04d}" for i in range(len(c)))
    return RunResult(arm, benchmark, ids, tuple(range(len(c))), np.full(len(c), n), c)


def _from_histogram(arm: str, benchmark: str, counts: list[int], n: int) -> RunResult:
    """A rerun whose accuracy histogram is exactly `counts` (problems per bin) at n samples."""
    c = []
    for b, count in enumerate(counts):
        correct = 0 if b == 0 else n if b == 11 else min(n - 1, round((b - 0.5) / 10 * n))
        c += [correct] * count
    return _result(arm, benchmark, c, n)


def _paper_counts(ref) -> list[int]:
    bars = histogram_series(load_histograms(), ref.figure, ref.panel, ref.family, ref.series)
    return [bar.count for bar in sorted(bars, key=lambda bar: bar.bin_index)]


def test_a_histogram_like_the_papers_passes_every_bar_and_a_doctored_one_fails():
    experiment = get_experiment("accuracy-histogram")
    ref = next(r for r in experiment.histograms if r.benchmark == "math500" and r.series == "RL")
    counts = _paper_counts(ref)
    results = {(ref.arm, ref.benchmark): _from_histogram(ref.arm, ref.benchmark, counts, 128)}
    bars = [p for p in compare_histograms(experiment, results) if p.arm == ref.arm and p.benchmark == ref.benchmark]
    assert len(bars) == 12 and all(p.verdict == PASS for p in bars)
    doctored = list(counts)
    moved = doctored[11] // 3  # a third of the always-solved problems now never solved
    doctored[11] -= moved
    doctored[0] += moved
    results = {(ref.arm, ref.benchmark): _from_histogram(ref.arm, ref.benchmark, doctored, 128)}
    bars = [p for p in compare_histograms(experiment, results) if p.arm == ref.arm and p.benchmark == ref.benchmark]
    assert [p.k for p in bars if p.verdict == FAIL] == [0, 11]


def test_a_stand_in_subset_widens_a_shares_tolerance_and_the_full_benchmark_does_not():
    assert stats.subset_share_variance(0.2, 500, 500) == 0.0
    assert stats.subset_share_variance(0.2, 100, 500) == pytest.approx(0.2 * 0.8 / 100 * 400 / 499)


def test_claim_3_needs_the_shift_beyond_noise():
    base = _result("base", "b", [0] * 10 + [5] * 60 + [10] * 30, 10)
    rl = _result("rl", "b", [0] * 25 + [5] * 20 + [10] * 55, 10)
    claim = HistogramShift("base", "rl", ("b",), "Family")
    (verdict,) = claim.evaluate({("base", "b"): base, ("rl", "b"): rl})
    assert verdict.verdict == HOLDS and verdict.scope == "Family, b"
    (reverse,) = claim.evaluate({("base", "b"): rl, ("rl", "b"): base})
    assert reverse.verdict == FAILS
    slight = _result("rl", "b", [0] * 11 + [5] * 58 + [10] * 31, 10)
    (unclear,) = claim.evaluate({("base", "b"): base, ("rl", "b"): slight})
    assert unclear.verdict == INCONCLUSIVE


def _coverage_results(listed_base: frozenset[int], listed_rl: frozenset[int], flip: int = 0) -> dict:
    """AIME24 reruns that solve the printed lists (many samples: solved where listed), with the
    status of `flip` problems turned around."""
    statuses = {}
    for arm, listed in (("base", listed_base), ("rl", listed_rl)):
        c = np.array([200 if i in listed else 0 for i in range(30)])
        c[:flip] = np.where(c[:flip] > 0, 0, 200)
        statuses[(arm, "aime24")] = _result(arm, "aime24", c, 1024)
    return statuses


def test_the_printed_solved_sets_hold_when_reproduced_and_fail_when_doctored():
    experiment = get_experiment("coverage")
    printed = load_solved_sets()
    refs = [ref for ref in experiment.solved_sets if ref.benchmark == "aime24"]
    base, rl = (printed[(ref.source, ref.model)] for ref in refs)
    verdicts = [v for v in solved_set_verdicts(experiment, _coverage_results(base, rl)) if "aime24" in v.scope]
    assert [v.verdict for v in verdicts] == [HOLDS, HOLDS]
    assert verdicts[0].evidence.startswith("0 of 30 problems disagree")
    doctored = [v for v in solved_set_verdicts(experiment, _coverage_results(base, rl, flip=12)) if "aime24" in v.scope]
    assert [v.verdict for v in doctored] == [FAILS, FAILS]


def test_a_simulation_orders_problems_by_the_printed_lists():
    from repro.plan import UNKNOWN_RANK, printed_problem_ranks

    ranks = printed_problem_ranks("aime24")
    printed = load_solved_sets()
    base, rl = printed[("Table 4", "Qwen2.5-7B-Base")], printed[("Table 4", "SimpleRL-Qwen2.5-7B")]
    assert all(ranks[i] == 0 for i in base & rl)
    assert all(ranks[i] == 1 for i in base ^ rl)
    assert all(ranks[i] > UNKNOWN_RANK for i in set(range(30)) - base - rl)
    window = printed_problem_ranks("lcb-2305-2501")
    assert set(window) == set(range(400, 451))
    assert printed_problem_ranks("gsm8k") == {}
