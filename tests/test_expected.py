"""Tests for repro.expected: the shipped files of the paper's numbers, and the validation
that refuses malformed copies of them."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from repro import expected
from repro.errors import ExpectedTableError, UnknownNameError

REPO_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_DIR = REPO_ROOT / "expected"

# Tables 2 and 3 print the values of Figure 14's curves; the figure names panels longer.
TABLE_FIGURES = {"Table 2": "Figure 14 (top)", "Table 3": "Figure 14 (bottom)"}
TABLE_PANELS = {
    "Omni-MATH-Train": "Omni-MATH-Train",
    "Omni-MATH-Test": "Omni-MATH-Test (In Domain)",
    "MATH500": "MATH500 (Out of Domain)",
}
TABLE_FAMILY = "Qwen2.5-7B"


@pytest.fixture(autouse=True)
def _shipped_files(monkeypatch):
    """Every test sees the shipped folder unless it sets the override itself."""
    monkeypatch.delenv(expected.ENV_VAR, raising=False)


# ---------------------------------------------------------------- shipped files


def test_default_folder_is_next_to_the_package():
    assert expected.DEFAULT_EXPECTED_DIR == SHIPPED_DIR
    assert expected.expected_dir() == SHIPPED_DIR


def test_shipped_files_load_with_expected_counts():
    curves = expected.load_curves()
    bars = expected.load_histograms()
    printed = expected.load_printed()
    solved = expected.load_solved_sets()
    assert len(curves) == 4103
    assert len(bars) == 600
    assert len(expected.curve_keys(curves)) == 172
    assert all(point.provenance == "digitized (vector path)" and point.abs_error == 0.00005 for point in curves)
    table2 = [value for value in printed if value.source == "Table 2"]
    assert len(table2) == 7 * 6
    assert len({value.row for value in table2}) == 7
    assert len([value for value in printed if value.source == "Table 3"]) == 4 * 6
    assert len(solved) == 4


def test_table4_and_table5_solved_sets():
    solved = expected.load_solved_sets()
    base, rl = solved[("Table 4", "Qwen2.5-7B-Base")], solved[("Table 4", "SimpleRL-Qwen2.5-7B")]
    assert (len(base), len(rl)) == (23, 19)
    assert rl <= base
    instruct, coder = solved[("Table 5", "Qwen2.5-7B-Instruct-1M")], solved[("Table 5", "Coder-R1")]
    assert coder - instruct == {430}
    assert all(400 <= index <= 450 for index in instruct | coder)


def test_tables_2_and_3_agree_with_figure_14_curves():
    """A real cross-check: printed table (±0.0005) vs digitized curve (±0.00005)."""
    curves = expected.load_curves()
    checked = 0
    for value in expected.load_printed():
        if value.source not in TABLE_FIGURES:
            continue
        points = expected.curve_points(curves, TABLE_FIGURES[value.source], TABLE_PANELS[value.benchmark],
                                       TABLE_FAMILY, value.row)
        point = points[0] if value.k == 1 else points[-1]
        assert value.k in (1, 256)
        assert point.k == 1 if value.k == 1 else point.k in (232, 240, 248)
        if value.k == 256:  # the note must say where the figure really draws it
            assert f"k={point.k}" in value.note
        tolerance = value.abs_error + point.abs_error + 1e-12
        assert abs(point.value - value.value) <= tolerance, (value, point)
        checked += 1
    assert checked == 42 + 24


def test_figure8_annotations_are_the_table2_minimum_gap():
    """Delta_SE = pass@256(base) - pass@1(RL); Figure 8 prints its per-panel minimum."""
    printed = expected.load_printed()
    rl_models = {value.row for value in printed if value.source == "Table 2"} - {"Qwen2.5-7B"}
    for benchmark in TABLE_PANELS:
        base = expected.find_printed(printed, "Table 2", "Qwen2.5-7B", benchmark, "pass@256").value
        gaps = [base - expected.find_printed(printed, "Table 2", model, benchmark, "pass@1").value
                for model in rl_models]
        annotation = expected.find_printed(printed, "Figure 8", "best RL algorithm", benchmark, "Delta_SE")
        assert abs(min(gaps) - annotation.value) < 1e-9


def test_every_histogram_sums_to_its_benchmark_size():
    bars = expected.load_histograms()
    series: dict[tuple, list] = {}
    for bar in bars:
        series.setdefault(bar.series_key, []).append(bar)
    assert len(series) == 50
    sizes = {"AIME24": 30, "AMC23": 40, "MATH500": 500, "Minerva": 272, "GSM8K": 1319, "Olympiad": 675}
    for key, members in series.items():
        assert sorted(bar.bin_index for bar in members) == list(range(12))
        assert sum(bar.count for bar in members) == members[0].n_problems == sizes[key[1]]


def test_histograms_agree_with_the_last_point_of_figures_2_and_9():
    """pass@k at the largest k = share of problems not in bin 0.0 (the DIGITIZATION check)."""
    curves = expected.load_curves()
    bars = expected.load_histograms()
    compared = 0
    for bar in bars:
        if bar.figure != "Figure 13" or bar.bin_index != 0:
            continue
        figure = "Figure 9" if bar.panel in ("AMC23", "GSM8K") else "Figure 2"
        last = expected.curve_points(curves, figure, bar.panel, bar.family, bar.series)[-1]
        assert abs(last.value - (bar.n_problems - bar.count) / bar.n_problems) <= last.abs_error + 1e-9
        compared += 1
    assert compared == 48


def test_loading_is_fast():
    for loader in (expected._load_curves_cached, expected._load_histograms_cached,
                   expected._load_printed_cached, expected._load_solved_cached):
        loader.cache_clear()
    start = time.perf_counter()
    expected.load_curves(), expected.load_histograms(), expected.load_printed(), expected.load_solved_sets()
    # Measured ~0.06 s; the bound only catches a pathological slowdown on a busy machine.
    assert time.perf_counter() - start < 1.5


# ---------------------------------------------------------------- curve_points and lookups


def _point(k: int, value: float, curve: str = "A") -> expected.ExpectedPoint:
    return expected.ExpectedPoint("Figure X", "P", "F", curve, "base", k, value, "test", 0.00005)


def test_curve_points_sorts_and_drops_identical_repeats():
    points = [_point(4, 0.5), _point(1, 0.1), _point(1, 0.1), _point(2, 0.3), _point(1, 0.9, curve="B")]
    chosen = expected.curve_points(points, "Figure X", "P", "F", "A")
    assert [(point.k, point.value) for point in chosen] == [(1, 0.1), (2, 0.3), (4, 0.5)]


def test_curve_points_refuses_disagreeing_repeats_and_unknown_curves():
    with pytest.raises(ExpectedTableError, match="k=1 has two values"):
        expected.curve_points([_point(1, 0.1), _point(1, 0.2)], "Figure X", "P", "F", "A")
    with pytest.raises(UnknownNameError, match="no expected curve"):
        expected.curve_points([_point(1, 0.1)], "Figure X", "P", "F", "missing")


def test_lookups_of_printed_values_and_histograms():
    printed = expected.load_printed()
    grpo = expected.find_printed(printed, "Table 2", "GRPO", "MATH500", "pass@1")
    assert (grpo.k, grpo.value, grpo.unit) == (1, 0.744, "fraction")
    with pytest.raises(UnknownNameError):
        expected.find_printed(printed, "Table 2", "GRPO", "MATH500", "pass@2")
    bars = expected.histogram_series(expected.load_histograms(), "Figure 5", "Minerva", "Qwen-2.5-7B", "Base")
    assert [bar.bin_index for bar in bars] == list(range(12))


# ---------------------------------------------------------------- malformed files

CURVE_HEADER = ",".join(expected.CURVE_COLUMNS)
HISTOGRAM_HEADER = ",".join(expected.HISTOGRAM_COLUMNS)
PRINTED_HEADER = ",".join(expected.PRINTED_COLUMNS)
SOLVED_HEADER = ",".join(expected.SOLVED_COLUMNS)


def curve_line(k, value, curve="A", role="base", abs_error="0.00005"):
    return f"Figure X,Panel,Fam,{curve},{role},{k},{value},digitized (vector path),{abs_error}"


def bar_lines(counts, n_problems=10, series="Base"):
    return [f'Figure 13,AIME24,Fam,{series},base,"{label}",{index},{count},{n_problems},digitized (vector path)'
            for index, (label, count) in enumerate(zip(expected.BIN_LABELS, counts))]


def printed_line(value="0.5", unit="fraction", k="1", metric="pass@1", abs_error="0.0005"):
    return f"Table 2,GRPO,MATH500,{metric},{k},{value},{unit},printed (Table 2),{abs_error},"


GOOD_BINS = [1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0]  # sums to 10

# (loader, file lines, the line the message must name, a fragment of what is wrong)
MALFORMED = {
    "curve header": ("load_curves", ["figure,panel,family,curve_label,role,k,pass_at_k,provenance,abs_error",
                                     curve_line(1, 0.1)], 1, "header must be exactly"),
    "curve missing column": ("load_curves", [CURVE_HEADER.replace(",abs_error", ""), curve_line(1, 0.1)],
                             1, "missing abs_error"),
    "value above 1": ("load_curves", [CURVE_HEADER, curve_line(1, 0.1), curve_line(2, 1.3)],
                      3, "pass_at_k 1.3 is outside [0, 1]"),
    "k zero": ("load_curves", [CURVE_HEADER, curve_line(0, 0.1)], 2, "k 0 is below 1"),
    "k fractional": ("load_curves", [CURVE_HEADER, curve_line(2.5, 0.1)], 2, "k 2.5 is not an integer"),
    "value not numeric": ("load_curves", [CURVE_HEADER, curve_line(1, 0.1), curve_line(2, "abc")],
                          3, "pass_at_k 'abc' is not a number"),
    "k not numeric": ("load_curves", [CURVE_HEADER, curve_line("one", 0.1)], 2, "k 'one' is not a number"),
    "decreasing curve": ("load_curves", [CURVE_HEADER, curve_line(1, 0.1), curve_line(2, 0.5),
                                         curve_line(4, 0.4)], 4, "cannot decrease"),
    "disagreeing duplicate": ("load_curves", [CURVE_HEADER, curve_line(1, 0.1), curve_line(2, 0.2),
                                              curve_line(1, 0.15)], 4, "disagrees with 0.1 on line 2"),
    "unknown role": ("load_curves", [CURVE_HEADER, curve_line(1, 0.1, role="teacher")], 2, "unknown role 'teacher'"),
    "negative abs_error": ("load_curves", [CURVE_HEADER, curve_line(1, 0.1, abs_error="-0.1")],
                           2, "abs_error -0.1 is negative"),
    "empty field": ("load_curves", [CURVE_HEADER, curve_line(1, 0.1, curve="")], 2, "empty field 'curve'"),
    "short row": ("load_curves", [CURVE_HEADER, "Figure X,Panel,Fam,A,base,1,0.1"], 2, "7 fields, expected 9"),
    "empty file": ("load_curves", [], 1, "empty file"),
    "histogram sum": ("load_histograms", [HISTOGRAM_HEADER] + bar_lines([1, 2, 3, 5, 0, 0, 0, 0, 0, 0, 0, 0]),
                      13, "sum to 11, not n_problems 10"),
    "histogram bin_index": ("load_histograms", [HISTOGRAM_HEADER, bar_lines(GOOD_BINS)[0].replace(",0,1,10,", ",12,1,10,")],
                            2, "bin_index 12 is outside 0..11"),
    "histogram negative count": ("load_histograms", [HISTOGRAM_HEADER] + bar_lines([-1] + GOOD_BINS[1:]),
                                 2, "n_problems_in_bin -1 is below 0"),
    "histogram repeated bin": ("load_histograms", [HISTOGRAM_HEADER] + bar_lines(GOOD_BINS)[:2] + bar_lines(GOOD_BINS)[1:2],
                               4, "bin_index 1 repeats line 3"),
    "printed fraction": ("load_printed", [PRINTED_HEADER, printed_line(value="1.3")], 2, "value 1.3 is outside [0, 1]"),
    "printed unit": ("load_printed", [PRINTED_HEADER, printed_line(unit="percent")], 2, "unknown unit 'percent'"),
    "printed count": ("load_printed", [PRINTED_HEADER, printed_line(value="2.5", unit="count", k="")],
                      2, "value 2.5 is not an integer"),
    "printed k": ("load_printed", [PRINTED_HEADER, printed_line(k="0")], 2, "k 0 is below 1"),
    "printed repeat": ("load_printed", [PRINTED_HEADER, printed_line(), printed_line(value="0.6")], 3, "repeats line 2"),
    "solved index": ("load_solved_sets", [SOLVED_HEADER, "Table 4,M,AIME24,-1,printed (Table 4)"],
                     2, "problem_index -1 is below 0"),
    "solved repeat": ("load_solved_sets", [SOLVED_HEADER, "Table 4,M,AIME24,3,printed (Table 4)",
                                           "Table 4,M,AIME24,3,printed (Table 4)"], 3, "problem_index 3 repeats line 2"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_files_are_refused(tmp_path, case):
    loader_name, lines, line_number, fragment = MALFORMED[case]
    path = tmp_path / f"{case.replace(' ', '_')}.csv"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    with pytest.raises(ExpectedTableError) as caught:
        getattr(expected, loader_name)(path)
    message = str(caught.value)
    assert path.name in message
    assert f" line {line_number}: " in message
    assert fragment in message
    assert "\n" not in message


def test_missing_file_is_named(tmp_path):
    missing = tmp_path / "nowhere" / "passk_curves.csv"
    with pytest.raises(ExpectedTableError, match="passk_curves.csv: file not found"):
        expected.load_curves(missing)


def test_small_dip_within_rounding_and_identical_repeats_are_accepted(tmp_path):
    path = tmp_path / "curves.csv"
    rows = [CURVE_HEADER, curve_line(1, 0.1), curve_line(1, 0.1), curve_line(2, 0.3), curve_line(4, 0.2999)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    points = expected.load_curves(path)
    assert len(points) == 4
    assert [point.k for point in expected.curve_points(points, "Figure X", "Panel", "Fam", "A")] == [1, 2, 4]


def test_env_var_overrides_folder_and_edits_are_reloaded(tmp_path, monkeypatch):
    path = tmp_path / expected.CURVES_FILE
    path.write_text(f"{CURVE_HEADER}\n{curve_line(1, 0.1)}\n", encoding="utf-8")
    monkeypatch.setenv(expected.ENV_VAR, str(tmp_path))
    assert [point.value for point in expected.load_curves()] == [0.1]
    path.write_text(f"{CURVE_HEADER}\n{curve_line(1, 0.2)}\n{curve_line(2, 0.3)}\n", encoding="utf-8")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))  # a new mtime even on coarse clocks
    assert [point.value for point in expected.load_curves()] == [0.2, 0.3]


def test_returned_lists_do_not_share_the_cache():
    first = expected.load_curves()
    first.clear()
    assert len(expected.load_curves()) == 4103


# ---------------------------------------------------------------- against the digitization source


def _shared_paper_dir() -> Path:
    """The folder with the digitization, from REPRO_SHARED_DIR (relative: to cwd or repo)."""
    setting = os.environ.get("REPRO_SHARED_DIR")
    if not setting:
        pytest.skip("REPRO_SHARED_DIR is not set (it names the shared folder with paper/passk_curves.csv)")
    for base in (Path.cwd(), REPO_ROOT):
        folder = (base / setting).resolve()
        for candidate in (folder / "paper", folder):
            if (candidate / "passk_curves.csv").is_file():
                return candidate
    pytest.fail(f"REPRO_SHARED_DIR={setting} holds no passk_curves.csv (nor paper/passk_curves.csv)")


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_shipped_curves_equal_the_source_rows():
    source = _csv_rows(_shared_paper_dir() / "passk_curves.csv")
    shipped = _csv_rows(SHIPPED_DIR / expected.CURVES_FILE)
    assert len(shipped) == len(source) == 4103
    for line, (ours, theirs) in enumerate(zip(shipped, source), start=2):
        assert (ours["figure"], ours["panel"], ours["family"], ours["curve"], ours["role"], ours["k"],
                ours["pass_at_k"]) == (theirs["figure"], theirs["panel"], theirs["family"], theirs["curve_label"],
                                       theirs["role"], theirs["k"], theirs["pass_at_k"]), f"line {line}"
        assert (ours["provenance"], ours["abs_error"]) == ("digitized (vector path)", "0.00005"), f"line {line}"


def test_shipped_histograms_equal_the_source_rows():
    source = _csv_rows(_shared_paper_dir() / "histogram_bars.csv")
    shipped = _csv_rows(SHIPPED_DIR / expected.HISTOGRAMS_FILE)
    assert len(shipped) == len(source) == 600
    for ours, theirs in zip(shipped, source):
        assert ours["n_problems_in_bin"] == theirs["frequency_rounded"]
        assert abs(float(theirs["frequency"]) - int(theirs["frequency_rounded"])) < 0.01
        for column in ("figure", "panel", "family", "series", "role", "bin", "bin_index", "n_problems"):
            assert ours[column] == theirs[column]


def test_generator_reproduces_the_shipped_files(tmp_path):
    source = _shared_paper_dir()
    script = SHIPPED_DIR / "build_from_digitization.py"
    result = subprocess.run([sys.executable, str(script), str(source), "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for name in (expected.CURVES_FILE, expected.HISTOGRAMS_FILE, expected.PRINTED_FILE, expected.SOLVED_FILE):
        assert (tmp_path / name).read_bytes() == (SHIPPED_DIR / name).read_bytes(), name
