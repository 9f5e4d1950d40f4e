#!/usr/bin/env python3
"""Regenerate the CSV files of this folder from the paper's digitization notes.

Usage:
    python expected/build_from_digitization.py SOURCE_DIR [--out OUT_DIR]

SOURCE_DIR is the folder that holds the digitization (``passk_curves.csv``,
``histogram_bars.csv``, ``TABLES.md``, and, for checking quotes, ``EXPERIMENTS.md`` and the
paper text ``limit_of_rlvr_v2.txt``); a folder whose ``paper/`` subfolder holds them works
too. OUT_DIR defaults to the folder of this script.

The package never runs this script: it reads only the CSV files written here. It exists so
that anyone can see, and redo, how every expected number was derived:

* ``passk_curves.csv``   - the digitized curves, copied row by row (same order, same text),
  with the column ``curve_label`` renamed ``curve`` and the constant ``source`` column
  replaced by ``provenance`` and ``abs_error`` (the 4-decimal rounding, 5e-5).
* ``histogram_bars.csv`` - the digitized bars, keeping the integer count
  (``frequency_rounded``) and the benchmark size; the PDF-geometry columns are dropped.
* ``printed_values.csv`` - Tables 2 and 3 parsed from TABLES.md (percent -> fraction), plus
  the numbers printed in figures and prose, entered below by hand. Every hand entry carries
  the phrase it comes from, and the script stops if that phrase is not in the sources.
* ``solved_sets.csv``    - Tables 4 and 5 parsed from TABLES.md, one row per index.

Only the standard library is used. Output is deterministic (byte-identical on rerun).
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from decimal import Decimal
from pathlib import Path

CURVE_COLUMNS = ["figure", "panel", "family", "curve", "role", "k", "pass_at_k", "provenance", "abs_error"]
HISTOGRAM_COLUMNS = [
    "figure", "panel", "family", "series", "role", "bin", "bin_index",
    "n_problems_in_bin", "n_problems", "provenance",
]
PRINTED_COLUMNS = ["source", "row", "benchmark", "metric", "k", "value", "unit", "provenance", "abs_error", "note"]
SOLVED_COLUMNS = ["source", "model", "benchmark", "problem_index", "provenance"]

DIGITIZED = "digitized (vector path)"
DIGITIZED_ABS_ERROR = "0.00005"  # pass_at_k is stored with 4 decimals
TABLE_ABS_ERROR = "0.0005"  # tables print percent with 1 decimal = fraction to 3 decimals

# Tables 2 and 3 name the benchmarks by short names; the figures add "(In Domain)" etc.
TABLE_FIGURES = {"Table 2": "Figure 14 (top)", "Table 3": "Figure 14 (bottom)"}
TABLE_PANELS = {
    "Omni-MATH-Train": "Omni-MATH-Train",
    "Omni-MATH-Test": "Omni-MATH-Test (In Domain)",
    "MATH500": "MATH500 (Out of Domain)",
}


class SourceError(Exception):
    """The digitization folder does not look as expected."""


def percent_to_fraction(text: str) -> str:
    """'9.9' -> '0.099', '67.0' -> '0.670': exact, and keeping the printed precision
    (Decimal avoids binary float noise such as 0.09900000000000001)."""
    return format(Decimal(text.strip()).scaleb(-2), "f")


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def write_csv(path: Path, columns: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)


# ---------------------------------------------------------------- curves and bars


def build_curves(source_rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Copy the digitized points verbatim; values stay as text so no digit changes."""
    return [
        {
            "figure": row["figure"],
            "panel": row["panel"],
            "family": row["family"],
            "curve": row["curve_label"],
            "role": row["role"],
            "k": row["k"],
            "pass_at_k": row["pass_at_k"],
            "provenance": DIGITIZED,
            "abs_error": DIGITIZED_ABS_ERROR,
        }
        for row in source_rows
    ]


def build_histograms(source_rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Keep the integer bar counts; bar heights are integers to 0.001 in the PDF."""
    return [
        {
            "figure": row["figure"],
            "panel": row["panel"],
            "family": row["family"],
            "series": row["series"],
            "role": row["role"],
            "bin": row["bin"],
            "bin_index": row["bin_index"],
            "n_problems_in_bin": row["frequency_rounded"],
            "n_problems": row["n_problems"],
            "provenance": DIGITIZED,
        }
        for row in source_rows
    ]


# ---------------------------------------------------------------- TABLES.md parsing


def markdown_section(text: str, heading_start: str) -> str:
    """The body of the '## <heading_start>...' section, up to the next '## ' heading."""
    match = re.search(r"^## " + re.escape(heading_start) + r".*?$(.*?)(?=^## |\Z)", text, re.M | re.S)
    if not match:
        raise SourceError(f"TABLES.md has no section starting '## {heading_start}'")
    return match.group(1)


def parse_pass_table(section: str) -> list[tuple[str, list[str]]]:
    """Rows of a '| model | bench pass@1 | pass@256 | ... |' table as (model, six cells)."""
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 7 or cells[0] in ("model", "---") or set(cells[0]) <= {"-"}:
            continue
        rows.append((cells[0], cells[1:]))
    if not rows:
        raise SourceError("a pass@k table in TABLES.md has no data rows")
    return rows


def parse_index_lists(section: str) -> list[tuple[str, list[int]]]:
    """'- Model: 0, 1, 4 (comment)' lines as (model, indices)."""
    lists = []
    for match in re.finditer(r"^- ([^:\n]+): ([0-9, ]+)", section, re.M):
        indices = [int(part) for part in match.group(2).split(",") if part.strip()]
        lists.append((match.group(1).strip(), indices))
    if not lists:
        raise SourceError("a solved-set table in TABLES.md has no '- model: indices' lines")
    return lists


def last_plotted_k(curves: list[dict[str, str]]) -> dict[tuple[str, str, str], int]:
    """(figure, panel, curve) -> largest plotted k; the tables call that point pass@256."""
    last: dict[tuple[str, str, str], int] = {}
    for row in curves:
        key = (row["figure"], row["panel"], row["curve"])
        last[key] = max(last.get(key, 0), int(row["k"]))
    return last


def table_rows(tables_md: str, curves: list[dict[str, str]]) -> tuple[list[dict[str, str]], dict]:
    """Printed rows of Tables 2 and 3, and {(table, model, bench, metric): fraction text}."""
    last_k = last_plotted_k(curves)
    benchmarks = list(TABLE_PANELS)
    out: list[dict[str, str]] = []
    lookup: dict[tuple[str, str, str, str], str] = {}
    for table in ("Table 2", "Table 3"):
        for model, cells in parse_pass_table(markdown_section(tables_md, table)):
            for position, cell in enumerate(cells):
                benchmark = benchmarks[position // 2]
                k = 1 if position % 2 == 0 else 256
                metric = f"pass@{k}"
                value = percent_to_fraction(cell)
                note = ""
                if k == 256:
                    figure = TABLE_FIGURES[table]
                    plotted = last_k.get((figure, TABLE_PANELS[benchmark], model))
                    if plotted is None:
                        raise SourceError(f"{table} row {model!r} has no curve in {figure}")
                    note = f"{figure} draws this point at k={plotted}, not 256"
                out.append({
                    "source": table, "row": model, "benchmark": benchmark, "metric": metric,
                    "k": str(k), "value": value, "unit": "fraction",
                    "provenance": f"printed ({table})", "abs_error": TABLE_ABS_ERROR, "note": note,
                })
                lookup[(table, model, benchmark, metric)] = value
    return out, lookup


def solved_rows(tables_md: str) -> list[dict[str, str]]:
    sections = {
        "Table 4": ("AIME24", markdown_section(tables_md, "Table 4")),
        "Table 5": ("LiveCodeBench (problems 400-450)", markdown_section(tables_md, "Table 5")),
    }
    out = []
    for table, (benchmark, section) in sections.items():
        for model, indices in parse_index_lists(section):
            for index in indices:
                out.append({
                    "source": table, "model": model, "benchmark": benchmark,
                    "problem_index": str(index), "provenance": f"printed ({table})",
                })
    return out


# ---------------------------------------------------------------- hand-entered numbers


def normalised(text: str) -> str:
    """Whitespace collapsed and typographic quotes straightened, for phrase checks."""
    return " ".join(text.replace("\u2019", "'").replace("\u2018", "'").split())


def curve_value(curves: list[dict[str, str]], figure: str, panel: str, family: str, curve: str, k: int) -> Decimal:
    for row in curves:
        if (row["figure"], row["panel"], row["family"], row["curve"], row["k"]) == (figure, panel, family, curve, str(k)):
            return Decimal(row["pass_at_k"])
    raise SourceError(f"no digitized point {figure} / {panel} / {family} / {curve} at k={k}")


def points(fraction_difference: Decimal) -> str:
    return format((fraction_difference * 100).quantize(Decimal("0.01")), "f")


def hand_entries(curves: list[dict[str, str]], table: dict) -> list[tuple[str, dict[str, str]]]:
    """Numbers printed outside Tables 2-5, as (phrase that must occur in the sources, row).

    Conventions: pass@k and Delta_SE as fractions (like the tables, after /100), loose
    "about N points" statements in points, counts as counts. abs_error is half a unit of
    the last printed digit; approximate wording is flagged in the note.
    """

    def row(source, row_label, benchmark, metric, k, value, unit, provenance, abs_error, note=""):
        return {
            "source": source, "row": row_label, "benchmark": benchmark, "metric": metric,
            "k": k, "value": value, "unit": unit, "provenance": provenance,
            "abs_error": abs_error, "note": note,
        }

    entries: list[tuple[str, dict[str, str]]] = []

    # Figure 8 annotations; each is the smallest Delta_SE of the panel in Table 2.
    for benchmark, value, winner in (
        ("Omni-MATH-Train", "0.358", "DAPO"), ("Omni-MATH-Test", "0.410", "RLOO"), ("MATH500", "0.206", "DAPO"),
    ):
        entries.append((f"{value} ({benchmark})", row(
            "Figure 8", "best RL algorithm", benchmark, "Delta_SE", "", value, "fraction",
            "printed (Figure 8 annotation)", "0.0005",
            f"Delta_SE = pass@256(base) - pass@1(RL); the panel minimum of Table 2 ({winner})",
        )))

    # Section 4.3 prose: two Delta_SE values that Table 2 does not give.
    base256 = Decimal(table[("Table 2", "Qwen2.5-7B", "Omni-MATH-Test", "pass@256")])
    for model, value in (("GRPO", "0.439"), ("RLOO", "0.426")):
        from_table = base256 - Decimal(table[("Table 2", model, "Omni-MATH-Test", "pass@1")])
        entries.append(("GRPO's 43.9 to RLOO's best 42.6", row(
            "Section 4.3", model, "Omni-MATH-Test", "Delta_SE", "", value, "fraction",
            "printed (Section 4.3 text)", "0.0005",
            f"disagrees with Table 2, which gives {format(from_table, 'f')}",
        )))
    entries.append(("consistently above 40 points", row(
        "Section 4.3", "every RL algorithm", "Omni-MATH-Test", "Delta_SE lower bound", "", "0.40", "fraction",
        "printed (Section 4.3 text)", "0",
        "claim 'above 40 points for every algorithm'; by Table 2 it holds on Omni-MATH-Test only",
    )))

    # Figure 17: the base model's output entropy at T = 0.6 (panel titles) and the caption.
    for benchmark, value in (("AIME24", "0.47"), ("AMC23", "0.51"), ("GSM8K", "0.75"),
                             ("MATH500", "0.72"), ("Minerva", "0.63"), ("Olympiad", "0.5")):
        one_decimal = value == "0.5"
        entries.append((f"{benchmark} {value}", row(
            "Figure 17", "Qwen2.5-7B base (T = 0.6)", benchmark, "output entropy", "", value, "entropy",
            "printed (Figure 17 panel title)", "0.05" if one_decimal else "0.005",
            "printed with one decimal (perhaps 0.50 without its trailing zero)" if one_decimal else "",
        )))
    for benchmark, label, value, phrase in (
        ("AMC23", "SimpleRL-Zoo (T = 0.9)", "0.47", "we set T = 0.9 to achieve ERL = 0.47"),
        ("AMC23", "SimpleRL-Zoo (T = 0.6)", "0.22", "0.22 on AMC23"),
        ("MATH500", "SimpleRL-Zoo (T = 0.6)", "0.33", "0.33 on MATH500"),
    ):
        entries.append((phrase, row(
            "Figure 17", label, benchmark, "output entropy", "", value, "entropy",
            "printed (Figure 17 caption)", "0.005", "RL model's entropy, from the caption",
        )))

    # Section 3.1: crossing of the curves.
    minerva_gap = (curve_value(curves, "Figure 2", "Minerva", "Qwen-2.5-32B", "Base", 128)
                   - curve_value(curves, "Figure 2", "Minerva", "Qwen-2.5-32B", "RL", 128))
    entries.append(("by about 9 points at k = 128", row(
        "Section 3.1", "Qwen2.5-32B base minus SimpleRL-Zoo", "Minerva", "pass@k gap (base - RL)", "128",
        "9", "points", "printed (Section 3.1 text)", "0.5",
        f"'approximately 9%'; digitized Figure 2 gives {points(minerva_gap)} points",
    )))
    oat_gap = (curve_value(curves, "Figure 10", "AIME24", "Qwen-2.5-Math-7B (Oat-Zero)", "Qwen-2.5-Math-7B-Oat-Zero", 1)
               - curve_value(curves, "Figure 10", "AIME24", "Qwen-2.5-Math-7B (Oat-Zero)", "Qwen-2.5-Math-7B", 1))
    dapo_gap = (curve_value(curves, "Figure 10", "AIME24", "Qwen-2.5-32B (DAPO)", "DAPO-32B", 1)
                - curve_value(curves, "Figure 10", "AIME24", "Qwen-2.5-32B (DAPO)", "Qwen-2.5-Base-32B", 1))
    entries.append(("RL starts nearly 30 points above base", row(
        "Section 3.1", "Oat-Zero-7B and DAPO-32B minus their bases", "AIME24", "pass@k gap (RL - base)", "1",
        "30", "points", "printed (Section 3.1 text)", "0.5",
        f"loose wording 'nearly 30% higher'; digitized Figure 10 gives {points(oat_gap)} (Oat-Zero) "
        f"and {points(dapo_gap)} (DAPO) points",
    )))

    # Chain-of-thought validity checks (manual inspection counts).
    cot = "printed (Section 3.1 text)"
    gsm_note = "problems with average accuracy in (0, 5%)"
    aime_note = ("problems with average accuracy below 5%; Appendix D.2 does this on the filtered "
                 "AIME24 (18 problems); one ambiguous base case excluded")
    for phrase, source, label, benchmark, metric, value, note, provenance in (
        ("base answered 25, 24", "Section 3.1", "base", "GSM8K", "hard problems answered", "25", gsm_note, cot),
        ("base answered 25, 24", "Section 3.1", "base", "GSM8K", "hard problems with a correct CoT", "24", gsm_note, cot),
        ("RL answered 25, 23", "Section 3.1", "RL", "GSM8K", "hard problems answered", "25", gsm_note, cot),
        ("RL answered 25, 23", "Section 3.1", "RL", "GSM8K", "hard problems with a correct CoT", "23", gsm_note, cot),
        ("base answered 7, 5 of 6", "Section 3.1", "base", "AIME24", "hard problems answered", "7", aime_note, cot),
        ("base answered 7, 5 of 6", "Section 3.1", "base", "AIME24", "hard problems checked", "6", aime_note, cot),
        ("base answered 7, 5 of 6", "Section 3.1", "base", "AIME24", "hard problems with a correct CoT", "5", aime_note, cot),
        ("RL answered 6, 4 valid", "Section 3.1", "RL", "AIME24", "hard problems answered", "6", aime_note, cot),
        ("RL answered 6, 4 valid", "Section 3.1", "RL", "AIME24", "hard problems with a correct CoT", "4", aime_note, cot),
        ("results in a subset of 18 questions", "Appendix D.2", "Qwen2.5-7B-Base", "AIME24",
         "problems kept by the guessing filter", "18",
         "of 30 AIME24 problems; removed: those Qwen2.5-7B-Base answers correctly without chain of thought with a low "
         "but non-zero probability (e.g. <5%); the list of 18 is not published", "printed (Appendix D.2 text)"),
        ("7 of 8 valid for both", "Section 3.3", "base", "MathVista and MathVision", "hard problems checked", "8",
         "problems with average accuracy below 5%", "printed (Section 3.3 text)"),
        ("7 of 8 valid for both", "Section 3.3", "base", "MathVista and MathVision", "hard problems with a correct CoT", "7",
         "problems with average accuracy below 5%", "printed (Section 3.3 text)"),
        ("7 of 8 valid for both", "Section 3.3", "RL", "MathVista and MathVision", "hard problems checked", "8",
         "problems with average accuracy below 5%", "printed (Section 3.3 text)"),
        ("7 of 8 valid for both", "Section 3.3", "RL", "MathVista and MathVision", "hard problems with a correct CoT", "7",
         "problems with average accuracy below 5%", "printed (Section 3.3 text)"),
    ):
        entries.append((phrase, row(source, label, benchmark, metric, "", value, "count", provenance, "0", note)))

    # Code-R1 on LiveCodeBench (stated in the Figure 24 caption, appendix).
    entries.append(("we reproduce a pass@1 score of 28.6", row(
        "Figure 24 caption", "Coder-R1 (the paper's evaluation)", "LiveCodeBench", "pass@1", "1", "0.286", "fraction",
        "printed (Figure 24 caption)", "0.0005",
        "original LiveCodeBench prompt with a python code fence appended; LiveCodeBench version not stated",
    )))
    entries.append(("close to the reported 29.7", row(
        "Figure 24 caption", "Coder-R1 (reported by its authors)", "LiveCodeBench", "pass@1", "1", "0.297", "fraction",
        "printed (Figure 24 caption, quoting Code-R1's README)", "0.0005",
        "the Code-R1 authors' number for CodeR1-Zero-Qwen2.5-7B-12k-832",
    )))

    # Section 4.4: training-set pass@1 along GRPO steps (the same numbers as Table 3).
    for model, value in (("GRPO-step150", "0.261"), ("GRPO-step450", "0.425")):
        if table[("Table 3", model, "Omni-MATH-Train", "pass@1")] != value:
            raise SourceError(f"Section 4.4 value {value} for {model} differs from Table 3")
        entries.append(("rises from 26.1 to 42.5", row(
            "Section 4.4", model, "Omni-MATH-Train", "pass@1", "1", value, "fraction",
            "printed (Section 4.4 text)", "0.0005", "equals Table 3",
        )))

    # Later paper version (v5), as quoted by an independent reproduction.
    v5 = "printed (v5, quoted by an independent reproduction)"
    for label, curve, value in (("Qwen2.5-7B", "Base", "0.960"), ("SimpleRL-Zoo", "RL", "0.934")):
        v2_value = curve_value(curves, "Figure 2", "MATH500", "Qwen-2.5-7B", curve, 128)
        entries.append(("pass@128: base 96.0, SimpleRL-Zoo 93.4", row(
            "v5", label, "MATH500", "pass@128", "128", value, "fraction", v5, "0.0005",
            f"n = 128; v2 Figure 2 (Qwen-2.5-7B, {curve}) gives {v2_value} at k = 128",
        )))
    for metric, value in (("solved by both", "462"), ("solved by base only", "18"),
                          ("solved by RL only", "5"), ("solved by neither", "15")):
        entries.append(("by both 462, base only 18, RL only 5, neither 15", row(
            "v5", "Qwen2.5-7B vs SimpleRL-Zoo", "MATH500", metric, "", value, "count", v5, "0",
            "solved = at least one correct answer in n = 128 samples",
        )))

    # The independent GPU run: a measured reference for run-to-run spread, not a paper number.
    measured = "measured (independent reproduction with the public checkpoints)"
    run_note = "4 seeds x 32 samples, T 0.6, top-p 0.95, 16,384 new tokens; shows run-to-run spread"
    for label, metric, k, value, phrase in (
        ("Qwen2.5-7B", "pass@1", "1", "0.6139", "base pass@1 61.39, pass@128 96.20"),
        ("Qwen2.5-7B", "pass@128", "128", "0.9620", "base pass@1 61.39, pass@128 96.20"),
        ("SimpleRL-Zoo", "pass@1", "1", "0.7793", "SimpleRL-Zoo pass@1 77.93, pass@128 93.00"),
        ("SimpleRL-Zoo", "pass@128", "128", "0.9300", "SimpleRL-Zoo pass@1 77.93, pass@128 93.00"),
    ):
        entries.append((phrase, row("independent reproduction", label, "MATH500", metric, k, value,
                                    "fraction", measured, "0.00005", run_note)))
    for metric, value in (("solved by both", "462"), ("solved by base only", "19"),
                          ("solved by RL only", "3"), ("solved by neither", "16")):
        entries.append(("solved by both 462, base only 19, RL only 3, neither 16", row(
            "independent reproduction", "Qwen2.5-7B vs SimpleRL-Zoo", "MATH500", metric, "", value, "count",
            measured, "0", run_note,
        )))
    return entries


def printed_rows(tables_md: str, quote_text: str, curves: list[dict[str, str]]) -> list[dict[str, str]]:
    rows, lookup = table_rows(tables_md, curves)
    haystack = normalised(quote_text)
    for phrase, entry in hand_entries(curves, lookup):
        if normalised(phrase) not in haystack:
            raise SourceError(f"phrase {phrase!r} (for {entry['source']} / {entry['metric']}) is not in the sources")
        rows.append(entry)
    return rows


# ---------------------------------------------------------------- main


def locate_source(folder: Path) -> Path:
    for candidate in (folder, folder / "paper"):
        if (candidate / "passk_curves.csv").is_file():
            return candidate
    raise SourceError(f"{folder} holds no passk_curves.csv (nor does {folder / 'paper'})")


def build(source: Path, out: Path) -> dict[str, int]:
    source = locate_source(source)
    curves = build_curves(read_csv(source / "passk_curves.csv"))
    bars = build_histograms(read_csv(source / "histogram_bars.csv"))
    tables_md = (source / "TABLES.md").read_text(encoding="utf-8")
    # Hand-entered phrases may come from any of these; the paper text is optional.
    quote_text = "\n".join(
        (source / name).read_text(encoding="utf-8")
        for name in ("TABLES.md", "EXPERIMENTS.md", "limit_of_rlvr_v2.txt")
        if (source / name).is_file()
    )
    printed = printed_rows(tables_md, quote_text, curves)
    solved = solved_rows(tables_md)

    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "passk_curves.csv", CURVE_COLUMNS, curves)
    write_csv(out / "histogram_bars.csv", HISTOGRAM_COLUMNS, bars)
    write_csv(out / "printed_values.csv", PRINTED_COLUMNS, printed)
    write_csv(out / "solved_sets.csv", SOLVED_COLUMNS, solved)
    return {"passk_curves.csv": len(curves), "histogram_bars.csv": len(bars),
            "printed_values.csv": len(printed), "solved_sets.csv": len(solved)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="folder with the digitization (or its parent)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent,
                        help="where to write the CSV files (default: this script's folder)")
    args = parser.parse_args(argv)
    try:
        counts = build(args.source, args.out)
    except (SourceError, OSError, KeyError) as error:
        print(f"build_from_digitization: {error}", file=sys.stderr)
        return 1
    for name, count in counts.items():
        print(f"{args.out / name}: {count} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
