"""The AIME24 guessing filter of Figure 12 (App. D.2) and the chain-of-thought review (§3.1,
App. D.2): the rule at its boundaries, the list a run makes stored and used, the review sheet
holding exactly the correct chains of the problems in range, verdicts read back or refused."""

from __future__ import annotations

import csv
import json
from fractions import Fraction
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from repro import commands, review
from repro.benchmarks.sets import aime24_filtered
from repro.experiments import get_experiment
from repro.guess_filter import ProblemCount, build_list, is_guessable, read_list, write_list
from repro.pipeline import results_dir
from repro.progress import no_progress
from repro.results_csv import read_results_csv
from repro.store import SampleStore
from repro.errors import InputFileError

runner = CliRunner()


# ----------------------------------------------------------------------------- the filter rule


@pytest.mark.parametrize("n,correct,guessable", [
    (1024, 0, False),     # never answered directly: not guessable, kept
    (1024, 1, True),      # the smallest non-zero rate
    (100, 4, True),       # 4% < 5%
    (100, 5, False),      # exactly 5% is not "< 5%": kept
    (1000, 49, True),
    (1000, 50, False),
    (20, 1, False),       # 1 of 20 is exactly 5%
    (21, 1, True),        # 1 of 21 is just under
    (32, 1, True),        # the quick tier: one correct of 32 is 3.1%
    (32, 2, False),       # two are 6.25%
    (1024, 1024, False),  # always right directly: easy, kept
])
def test_the_rule_at_its_boundaries(n, correct, guessable):
    assert is_guessable(n, correct) is guessable


@pytest.mark.parametrize("n,correct", [(0, 0), (10, 11), (10, -1)])
def test_impossible_counts_are_refused(n, correct):
    with pytest.raises(ValueError):
        is_guessable(n, correct)


def test_the_threshold_is_a_parameter():
    assert is_guessable(100, 9, threshold=Fraction(1, 10))
    assert not is_guessable(100, 9)


def _counts(correct: list[int], n: int = 1024) -> list[ProblemCount]:
    return [ProblemCount(f"aime24/{i:04d}", i, n, c) for i, c in enumerate(correct)]


def test_the_list_follows_the_counts_and_a_doctored_count_changes_it(tmp_path):
    correct = [0, 3, 51, 52, 1024, 0, 50]  # 3/1024 and 50/1024 = 4.9% removed; 51/1024 = 4.98% removed too
    made = build_list(_counts(correct), {"model": "test"})
    assert made.kept_ids == ("aime24/0000", "aime24/0003", "aime24/0004", "aime24/0005")
    doctored = list(correct)
    doctored[1] = 0  # problem 1 never guessed: now kept
    doctored[3] = 10  # problem 3 now guessable: removed
    assert build_list(_counts(doctored), {}).kept_ids == ("aime24/0000", "aime24/0001", "aime24/0004",
                                                          "aime24/0005")
    path = tmp_path / "aime24-filter.json"
    write_list(path, made)
    again = read_list(path)
    assert again.kept_ids == made.kept_ids and again.counts == made.counts
    data = json.loads(path.read_text())
    data["kept_ids"] = ["aime24/0001"]  # kept ids that do not follow from the counts
    path.write_text(json.dumps(data))
    with pytest.raises(InputFileError, match="do not follow from its counts"):
        read_list(path)


# ----------------------------------------------------------------------------- the list of a run


def _run(root: Path, experiment: str) -> int:
    return commands.run([experiment], "smoke", "simulated", root, None, 0, no_progress)


def test_a_run_stores_its_list_and_samples_exactly_the_problems_it_keeps(tmp_path):
    assert _run(tmp_path, "math-aime-filtered") == 0
    stored = read_list(tmp_path / "experiments/math-aime-filtered/smoke/simulated/aime24-filter.json")
    assert stored.source == "rebuilt" and stored.stand_in and "simulated" in stored.stand_in_reason
    assert len(stored.counts) == 30 and stored.paper_kept == 18
    assert stored.provenance["n"] == 1024 and stored.provenance["template"] == "direct-answer"
    assert stored.provenance["max_new_tokens"] == 32 and stored.provenance["model"] == "qwen2.5-7b"
    assert (tmp_path / stored.provenance["store"] / "manifest.json").is_file()  # the direct answers are stored
    kept = [c.problem_id for c in stored.counts if c.kept]
    assert 0 < len(kept) < 30 and tuple(kept) == stored.kept_ids
    results = results_dir(tmp_path, "math-aime-filtered", "smoke", "simulated")
    for arm in ("base", "rl"):
        result = read_results_csv(results / f"{arm}__aime24-filtered.csv", arm, "aime24-filtered")
        assert result.problem_ids == stored.kept_ids
    report = (tmp_path / "reports/smoke/report.md").read_text()
    assert "AIME24 filter (rebuilt)" in report and "STAND-IN, not evidence" in report


def test_a_published_list_is_used_instead_of_rebuilding(tmp_path, monkeypatch):
    monkeypatch.setattr(aime24_filtered, "PUBLISHED_KEPT_IDS", ("aime24/0002", "aime24/0005", "aime24/0011"))
    monkeypatch.setattr(aime24_filtered, "PUBLISHED_SOURCE", "a test")
    # Three problems make a poor simulation of Figure 12: its comparison may fail (exit 1).
    assert _run(tmp_path, "math-aime-filtered") in (0, 1)
    stored = read_list(tmp_path / "experiments/math-aime-filtered/smoke/simulated/aime24-filter.json")
    assert stored.source == "published" and not stored.counts
    result = read_results_csv(results_dir(tmp_path, "math-aime-filtered", "smoke", "simulated")
                              / "base__aime24-filtered.csv", "base", "aime24-filtered")
    assert result.problem_ids == ("aime24/0002", "aime24/0005", "aime24/0011")
    assert not (tmp_path / "samples/simulated/qwen2.5-7b/aime24").exists()  # no direct answers sampled


def test_plan_lists_the_filter_run():
    planned = json.loads(commands.plan(["math-aime-filtered"], "smoke", "simulated", as_json=True))
    direct = [run for run in planned["runs"] if run["benchmark"] == "aime24"]
    assert len(direct) == 1 and direct[0]["n"] == 1024 and direct[0]["max_new_tokens"] == 32
    assert direct[0]["experiments"] == ["math-aime-filtered/aime24-filter"]
    assert direct[0]["mean_output_tokens"] <= 32  # no sample outgrows its 32 tokens


# ----------------------------------------------------------------------------- the review sheet


@pytest.fixture(scope="module")
def cot_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("cot")
    assert _run(root, "cot-validity") == 0
    return root


def _correct_chains_from_the_store(root: Path) -> set[str]:
    """What the sheet must hold, worked out from the stores and results directly."""
    folder = results_dir(root, "cot-validity", "smoke", "simulated")
    specs = json.loads((folder / commands.SPECS_FILE).read_text())
    wanted = set()
    for name, record in specs.items():
        arm, benchmark = name.removesuffix(".csv").split("__")
        result = read_results_csv(folder / name, arm, benchmark)
        hard = {pid: int(n) for pid, n, c in zip(result.problem_ids, result.n, result.c)
                if 0 < c and c / n < 0.05}
        store = SampleStore(root / record["store"])
        per_round = record["key"]["samples_per_round"]
        for chunk, entry in store.chunk_listing().items():
            grades = store.read_grades(record["grader"], chunk, entry["sha256"])
            for (pid, round_), marks in grades.items():
                for j, mark in enumerate(marks):
                    if pid in hard and mark and round_ * per_round + j < hard[pid]:
                        wanted.add(f"{arm}/{benchmark}/{pid}/{round_ * per_round + j}")
    return wanted


def test_the_sheet_holds_exactly_the_correct_chains_of_the_problems_in_range(cot_run):
    folder = review.review_dir(cot_run, "cot-validity", "smoke", "simulated")
    rows = review.read_verdicts(folder / "verdicts.csv")
    wanted = _correct_chains_from_the_store(cot_run)
    assert wanted  # the simulated run has problems in range
    assert {row["chain"] for row in rows} == wanted
    assert all(row["stand_in"] == "yes" and row["verdict"] == "" for row in rows)
    sheet = (folder / "sheet.md").read_text()
    assert "STAND-IN" in sheet and all(f"### Chain `{chain}`" in sheet for chain in wanted)
    assert sheet.count("### Chain `") == len(wanted)
    assert "STAND-IN" in (folder / "sheet.html").read_text()


@pytest.mark.parametrize("n,correct,hard", [(128, 0, False), (128, 1, True), (100, 5, False), (100, 4, True),
                                            (128, 128, False)])
def test_the_hardest_solved_problems_are_strictly_between_0_and_5_percent(n, correct, hard):
    assert review.in_range(n, correct) is hard


def test_exporting_again_keeps_recorded_verdicts(cot_run):
    folder = review.review_dir(cot_run, "cot-validity", "smoke", "simulated")
    path = folder / "verdicts.csv"
    rows = list(csv.DictReader(path.open()))
    rows[0]["verdict"], rows[0]["comment"] = "invalid", "guessed"
    _write(path, rows)
    result = runner.invoke(app, ["review", "export", "cot-validity", "--tier", "smoke", "--backend", "simulated",
                                 "--out", str(cot_run)])
    assert result.exit_code == 0, result.output
    assert "not evidence" in result.output
    again = {row["chain"]: row for row in review.read_verdicts(path)}
    assert again[rows[0]["chain"]]["verdict"] == "invalid" and again[rows[0]["chain"]]["comment"] == "guessed"


def _write(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=review.COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _row(arm: str, role: str, benchmark: str, pid: str, sample: int, verdict: str) -> dict:
    return {"chain": review.chain_id(arm, benchmark, pid, sample), "experiment": "cot-validity", "backend": "vllm",
            "arm": arm, "role": role, "benchmark": benchmark, "problem_id": pid, "sample": str(sample),
            "made_by": "Qwen/Qwen2.5-7B", "stand_in": "no", "verdict": verdict, "comment": ""}


def test_verdicts_are_counted_per_problem_and_set_beside_the_paper(tmp_path):
    rows = [
        _row("base", "base", "aime24-filtered", "aime24/0003", 7, "invalid"),
        _row("base", "base", "aime24-filtered", "aime24/0003", 90, "valid"),  # one valid chain suffices
        _row("base", "base", "aime24-filtered", "aime24/0008", 1, "unsure"),  # ambiguous: not checked
        _row("base", "base", "aime24-filtered", "aime24/0009", 4, "invalid"),
        _row("rl", "rl", "gsm8k", "gsm8k/0100", 3, ""),  # not judged yet
    ]
    path = tmp_path / "verdicts.csv"
    _write(path, rows)
    tallies = {(t.arm, t.group): t for t in review.tally(review.read_verdicts(path))}
    base = tallies[("base", "AIME24")]
    assert (base.answered, base.checked, base.valid, base.invalid, base.unsure) == (3, 2, 1, 1, 1)
    assert tallies[("rl", "GSM8K")].pending == 1
    assert review.paper_counts("base", "AIME24") == {"answered": 7, "checked": 6, "valid": 5}
    assert review.paper_counts("rl", "GSM8K") == {"answered": 25, "valid": 23}
    assert review.paper_counts("base", "MathVista and MathVision") == {"checked": 8, "valid": 7}
    result = runner.invoke(app, ["review", "read", str(path)])
    assert result.exit_code == 0, result.output
    assert "answered 7 / checked 6 / valid 5" in result.output and "1 of 5 chain(s) have no verdict" in result.output
    assert "STAND-IN" not in result.output


@pytest.mark.parametrize("edit,message", [
    (lambda rows: rows[0].update(verdict="maybe"), "verdict 'maybe'"),
    (lambda rows: rows.append(dict(rows[0])), "repeats line 2"),
    (lambda rows: rows[0].update(sample="x"), "not a whole number"),
    (lambda rows: rows[0].update(problem_id="aime24/0004"), "does not match"),
    (lambda rows: rows[0].update(stand_in="perhaps"), "stand_in 'perhaps'"),
])
def test_malformed_verdicts_are_one_line_exit_2(tmp_path, edit, message):
    rows = [_row("base", "base", "aime24-filtered", "aime24/0003", 7, "valid")]
    edit(rows)
    path = tmp_path / "verdicts.csv"
    _write(path, rows)
    result = runner.invoke(app, ["review", "read", str(path)])
    assert result.exit_code == 2 and message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_file_without_the_columns_or_absent_is_refused(tmp_path):
    path = tmp_path / "verdicts.csv"
    path.write_text("chain,verdict\nbase/gsm8k/gsm8k/0001/0,valid\n")
    result = runner.invoke(app, ["review", "read", str(path)])
    assert result.exit_code == 2 and "missing column(s)" in result.output
    result = runner.invoke(app, ["review", "read", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2 and "cannot be read" in result.output


def test_export_before_any_run_says_what_to_run(tmp_path):
    result = runner.invoke(app, ["review", "export", "cot-validity", "--tier", "smoke", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "repro run cot-validity --tier smoke" in result.output


def test_the_review_reads_the_specs_file_the_commands_write():
    assert review.SPECS_FILE == commands.SPECS_FILE


def test_list_does_not_call_the_review_a_measurement():
    listing = commands.list_experiments()
    line = next(line for line in listing.splitlines() if line.startswith("cot-validity"))
    assert "runs (all tiers)" not in line and "reviewer's verdicts" in line
    line = next(line for line in listing.splitlines() if line.startswith("math-aime-filtered"))
    assert "runs (all tiers)" in line
    assert get_experiment("cot-validity").needs == ("aime24-filter-list", "manual-check")


def test_review_help_teaches_the_steps():
    result = runner.invoke(app, ["review", "--help"])
    assert result.exit_code == 0 and "verdicts.csv" in result.output and "repro review read" in result.output
