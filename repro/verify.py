"""`repro verify BUNDLE`: check a bundle written by `repro archive` (repro.archive), from its
bytes to its conclusions.

1. Unpack it safely (repro.bundle.unpack), or read an unpacked bundle folder as it is.
2. Every file against MANIFEST.sha256: a file missing, added or changed is named.
3. Every sample store audited (repro.store_audit): a chunk that is not the one its index lists,
   a chunk missing, grades not made from their chunk or edited, is named.
4. Every stored sample graded again, on CPU, with this package's graders (code in its sandbox),
   into a scratch copy of the stores (chunks linked, never changed): the new verdicts must be
   the bundled ones, sample for sample. This catches an edited verdict whose file checksum and
   MANIFEST line were rewritten too: the verdict is recomputed from the sample, not trusted.
5. Each problem's (n, correct) counted again from the new verdicts, exactly as `repro run` counts
   them (repro.pipeline.counts: the first n samples of each problem); the bundled CSVs must hold
   the same rows. A sample removed (a record cut from a chunk and everything rehashed) leaves a
   problem short of n samples and is named.
6. The comparison with the paper recomputed (repro.compare) from the recomputed counts: every
   pass@k point must be the bundled report's (points.csv, the same number to the last digit,
   the same verdict), and every claim's verdict and evidence the bundle's (comparison.json,
   and stated in report.md).

Why the stores are re-graded directly rather than through `repro grade`: a store is found by
its key, which names the engine's package versions (vLLM, torch); a reviewer's CPU machine has
other versions or none, and must still check a GPU run. The stores are the ones the bundled
specs.json name; the problems are loaded from the benchmark files and must be the ones the
store's key names (their sha256), so nothing of the bundle is trusted for what the answers are.

Exit status: 0 all matches, 1 a recomputed number differs from the bundle's (the first named),
2 the bundle is malformed or was changed (BundleError, one line).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from repro import __version__
from repro.benchmarks.sets import aime24_filtered
from repro.bundle import BUNDLE_JSON, COMPARISON_JSON, RUN_FOLDER, BundleError, check_manifest, unpack
from repro.compare import compare_experiment
from repro.errors import ReproError
from repro.experiments import get_experiment
from repro.guess_filter import LIST_FILE, read_list
from repro.pipeline import RunContext, counts, grade_store
from repro.plan import grader_for
from repro.results import RunResult
from repro.results_csv import read_results_csv
from repro.sampling import get_backend
from repro.store import CHUNK_SUFFIX, SampleStore, key_digest
from repro.store_audit import audit, find_stores
from repro.tiers import get_tier

SPECS_FILE = "specs.json"


@dataclass
class Check:
    """One line of the summary: what was checked, how much of it, and the first difference."""

    name: str
    detail: str = ""
    difference: str | None = None  # None: everything matched

    @property
    def ok(self) -> bool:
        return self.difference is None


@dataclass
class Verification:
    bundle: str
    tier: str
    simulated: bool
    stand_ins: bool  # a tier of stand-ins (smoke): tiny models, few problems
    checks: list[Check] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def differences(self) -> list[str]:
        return [check.difference for check in self.checks if check.difference]


@dataclass(frozen=True)
class _Spec:
    """One bundled result file and what is needed to recompute it."""

    experiment: str
    tier: str
    backend: str
    arm: str
    benchmark: str
    csv_path: Path  # in the bundle
    n: int
    grader: str
    store: str  # relative to the run folder


def verify(bundle: Path, scratch: Path, grading_workers: int | None = None) -> Verification:
    """Check a bundle (a .zip, or the folder one unpacks to) using `scratch` as a private work
    folder. BundleError when it is malformed or tampered; the differences otherwise."""
    if bundle.is_dir():
        top = bundle
    else:
        top = unpack(bundle, scratch / "unpacked")
    files = check_manifest(top)
    record = _read_json(top / BUNDLE_JSON)
    tier = get_tier(str(record.get("tier", "")))
    run = top / RUN_FOLDER
    if not run.is_dir():
        raise BundleError(f"{RUN_FOLDER}/ is missing from the bundle")
    outcome = Verification(record.get("name", top.name), tier.name, bool(record.get("simulated")), tier.uses_stand_ins)
    outcome.checks.append(Check("files against MANIFEST.sha256", f"{files} files, every sha256 as listed"))
    made_with = (record.get("package") or {}).get("version")
    if made_with != __version__:
        outcome.warnings.append(f"the bundle was made with repro {made_with}, this is repro {__version__}")

    specs = _specs(run, tier.name)
    lists = _filter_lists(run, tier.name)
    outcome.simulated = outcome.simulated or any(get_backend(spec.backend).simulated for spec in specs)
    stores = sorted({spec.store for spec in specs} | {spec.store for spec in lists.values()})
    _audit_stores(run, stores)
    chunks = sum(len(SampleStore(run / store).chunk_listing()) for store in stores)
    outcome.checks.append(Check("sample stores (store audit)", f"{len(stores)} stores, {chunks} chunks: sound"))

    work = scratch / "work"
    results, verdict_check = _regrade(run, work, [*specs, *lists.values()], tier, grading_workers, outcome.warnings)
    outcome.checks.append(verdict_check)
    outcome.checks.append(_compare_csvs(run, specs, results))
    if lists:
        outcome.checks.append(_compare_filter_lists(run, lists, specs, results))
    points_check, claims_check = _compare_comparisons(top, run, tier.name, specs, results)
    outcome.checks += [points_check, claims_check]
    return outcome


def _read_json(path: Path, where: str | None = None) -> dict[str, Any]:
    """A JSON object of the bundle; `where`: its path as the message names it (default: its name)."""
    where = where or path.name
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(f"{where} is missing from the bundle") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise BundleError(f"{where} is not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise BundleError(f"{where} is not a JSON object")
    return value


def _specs(run: Path, tier: str) -> list[_Spec]:
    """Every bundled result file of the tier, with the store and settings its specs.json gives."""
    specs = []
    folders = sorted((run / "experiments").glob(f"*/{tier}/*/results"))
    if not folders:
        raise BundleError(f"the bundle holds no results of tier {tier}")
    for folder in folders:
        experiment, backend = folder.parents[2].name, folder.parent.name
        try:
            get_experiment(experiment)
            get_backend(backend)
        except ReproError as error:
            raise BundleError(f"{folder.relative_to(run.parent)}: {error}") from None
        records = _read_json(folder / SPECS_FILE, (folder / SPECS_FILE).relative_to(run.parent).as_posix())
        csvs = {path.name for path in folder.glob("*.csv")}
        for name in sorted(csvs - set(records)):
            raise BundleError(f"{(folder / name).relative_to(run.parent)}: not in its {SPECS_FILE}, so no store "
                              "says where its samples are")
        for name, spec in sorted(records.items()):
            where = (folder / name).relative_to(run.parent)
            if name not in csvs:
                raise BundleError(f"{where}: named in {SPECS_FILE} but missing (a result removed?)")
            arm, separator, benchmark = name.removesuffix(".csv").partition("__")
            if not separator or not isinstance(spec, dict) or "store" not in spec:
                raise BundleError(f"{where}: its {SPECS_FILE} entry names no store")
            specs.append(_Spec(experiment, tier, backend, arm, benchmark, folder / name, int(spec["n"]),
                               str(spec["grader"]), str(spec["store"])))
    return specs


def _filter_lists(run: Path, tier: str) -> dict[Path, _Spec]:
    """Every AIME24 filter list a run rebuilt (repro.aime_filter), with the run of direct
    answers it was counted from, to be re-graded and recounted like a result."""
    lists = {}
    for path in sorted((run / "experiments").glob(f"*/{tier}/*/{LIST_FILE}")):
        try:
            made = read_list(path)
        except ReproError as error:
            raise BundleError(str(error).replace(str(run.parent) + os.sep, "")) from None
        provenance = made.provenance
        if made.source != "rebuilt" or "store" not in provenance:
            continue  # a published list: nothing of this run to recount
        lists[path] = _Spec(path.parents[1].name, tier, path.parent.name, "direct", str(provenance["benchmark"]), path,
                            int(provenance["n"]), str(provenance["grader"]), str(provenance["store"]))
    return lists


def _audit_stores(run: Path, stores: list[str]) -> None:
    for store in stores:
        path = run / store
        if not path.is_dir():
            raise BundleError(f"{RUN_FOLDER}/{store}: named by a {SPECS_FILE} but missing from the bundle")
    for path in find_stores([run / "samples"]) if (run / "samples").is_dir() else []:
        findings = audit(path).findings
        if findings:
            first = findings[0]
            where = first.path.relative_to(run.parent) if first.path.is_relative_to(run.parent) else first.path
            raise BundleError(f"{where}: {first.problem}")


# ----------------------------------------------------------------------------- re-grading


def _link_store(source: Path, target: Path) -> None:
    """A scratch copy of a store without its grades: files hard-linked where the file system
    allows (grading writes new files beside them and never changes one), copied otherwise."""
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if not path.is_file() or relative.parts[0] == "grades":
            continue
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, destination)
        except OSError:
            shutil.copy2(path, destination)


def _regrade(run: Path, work: Path, specs: list[_Spec], tier, grading_workers: int | None,
             warnings: list[str]) -> tuple[dict[_Spec, RunResult], Check]:
    """Grade every sample of every store again; count each result's problems. Returns the
    recomputed results and the check of the new verdicts against the bundled ones."""
    context = RunContext(work, tier, tuple(sorted({spec.backend for spec in specs})), grading_workers=grading_workers,
                         warn=warnings.append)
    results: dict[_Spec, RunResult] = {}
    verdicts_of: dict[tuple[str, str], dict[tuple[str, int], list[bool]]] = {}
    try:
        for spec in specs:
            if grader_for(spec.benchmark) != spec.grader:
                raise ReproError(f"{spec.csv_path.relative_to(run.parent)} was graded by {spec.grader}, and this "
                                 f"version of repro grades {spec.benchmark} with {grader_for(spec.benchmark)}: verify "
                                 "the bundle with the repro version its bundle.json names")
            store = SampleStore(work / spec.store)
            if not store.root.exists():
                _link_store(run / spec.store, store.root)
            key = SampleStore(run / spec.store).manifest()["key"]
            problems, synthetic = _problems(context, spec, key, run)
            template = key.get("template", {}).get("name", "")
            if (spec.store, spec.grader) not in verdicts_of:
                verdicts_of[(spec.store, spec.grader)] = grade_store(
                    store, {p.problem_id: p for p in problems}, context, f"{spec.experiment}/{spec.arm}", spec.benchmark,
                    template)
            table = counts(problems, verdicts_of[(spec.store, spec.grader)], spec.n, int(key["samples_per_round"]))
            if table is None:
                raise BundleError(f"{spec.csv_path.relative_to(run.parent)}: the samples in {RUN_FOLDER}/{spec.store} "
                                  f"do not hold {spec.n} for every problem (samples removed?)")
            results[spec] = RunResult(spec.arm, spec.benchmark, tuple(p.problem_id for p in problems),
                                      tuple(p.index for p in problems), table[0], table[1], backend=spec.backend,
                                      synthetic=synthetic)
    finally:
        context.close()
    return results, _compare_verdicts(run, work, sorted(verdicts_of))


def _problems(context: RunContext, spec: _Spec, key: dict[str, Any], run: Path):
    """The problems a result was counted over, loaded from the benchmark files and checked
    against the store's key (the data's sha256, and for a selection, which problems)."""
    if not Path(spec.store).name.endswith(key_digest(key)[:16]):
        raise BundleError(f"{RUN_FOLDER}/{spec.store}/manifest.json: its key is not the one the store's folder is "
                          "named by (the key was edited)")
    data = key.get("data", {})
    if spec.benchmark == aime24_filtered.BENCHMARK.key:
        # The list was made by the run (repro.aime_filter); its ids are checked against the
        # sha256 the store's key holds, so the bundled CSV cannot change which problems count.
        parent = context.load(aime24_filtered.PARENT)
        ids = read_results_csv(spec.csv_path, spec.arm, spec.benchmark).problem_ids
        by_id = {problem.problem_id: problem for problem in parent.problems}
        problems = [by_id[i] for i in ids if i in by_id]
        selection = dict(data.get("selection") or {})
        selection.update({"source_rows": len(parent.problems), "kept": len(problems),
                          "ids_sha256": hashlib.sha256("\n".join(ids).encode()).hexdigest()})
        loaded = replace(parent, key=spec.benchmark, problems=problems, selection=selection)
    else:
        loaded = context.load(spec.benchmark)
        # A simulated run records how many problems it was fitted to (repro.plan.plan_run widens
        # the tier's limit for some benchmarks); an engine's limit is the tier's.
        calibration = key.get("calibration") or {}
        limit = calibration.get("problem_limit", context.tier.problem_limit(get_backend(spec.backend)))
        problems = loaded.problems[:limit] if limit else loaded.problems
    expected = {"dataset_sha256": loaded.checksum, "problems_sha256": loaded.problems_sha256}
    if loaded.selection:
        expected["selection"] = loaded.selection
    where = spec.csv_path.relative_to(run.parent)
    if spec.benchmark == aime24_filtered.BENCHMARK.key and expected.get("selection") != data.get("selection"):
        raise BundleError(f"{where}: its problems are not the list its samples were drawn for "
                          f"({RUN_FOLDER}/{spec.store}/manifest.json names another)")
    if expected != data:
        raise BundleError(f"{where}: the {spec.benchmark} benchmark files here are not the ones its samples were "
                          f"drawn for ({RUN_FOLDER}/{spec.store}/manifest.json); `repro fetch` gets the pinned files")
    return problems, loaded.synthetic


def _grades(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None


def _compare_verdicts(run: Path, work: Path, graded: list[tuple[str, str]]) -> Check:
    """Every bundled verdict (and code grading detail) against the one just recomputed."""
    samples = chunks = 0
    for store, grader in graded:
        for name in sorted(SampleStore(work / store).chunk_listing()):
            stem = name.removesuffix(CHUNK_SUFFIX)
            bundled_path = run / store / "grades" / grader / f"{stem}.json"
            bundled, new = _grades(bundled_path), _grades(work / store / "grades" / grader / f"{stem}.json")
            if bundled is None or new is None:
                continue  # a chunk the run had not graded yet: nothing bundled to compare
            chunks += 1
            where = bundled_path.relative_to(run.parent)
            difference = _first_verdict_difference(bundled, new)
            if difference:
                return Check("verdicts re-graded on CPU", f"{chunks} chunks", f"{where}: {difference}")
            samples += sum(len(unit[2]) for unit in new["verdicts"])
    return Check("verdicts re-graded on CPU", f"{samples:,} samples in {chunks} chunks: identical")


def _first_verdict_difference(bundled: dict[str, Any], new: dict[str, Any]) -> str | None:
    old_units = {(pid, int(r)): marks for pid, r, marks in bundled.get("verdicts", [])}
    new_units = {(pid, int(r)): marks for pid, r, marks in new["verdicts"]}
    if set(old_units) != set(new_units):
        return "it grades other problems or rounds than its chunk holds"
    for (pid, r), marks in sorted(new_units.items()):
        old = old_units[(pid, r)]
        if len(old) != len(marks):
            return f"problem {pid} round {r}: {len(old)} verdicts bundled, {len(marks)} samples"
        for index, (was, now) in enumerate(zip(old, marks)):
            if bool(was) != bool(now):
                return (f"problem {pid} round {r} sample {index} is marked {_mark(was)} in the bundle, "
                        f"{_mark(now)} when graded again")
    if "details" in new and bundled.get("details") != new["details"]:
        return "the code grader's details differ from the bundled ones"
    return None


def _mark(value: Any) -> str:
    return "correct" if value else "wrong"


# ----------------------------------------------------------------------------- results


def _compare_csvs(run: Path, specs: list[_Spec], results: dict[_Spec, RunResult]) -> Check:
    rows = 0
    for spec in specs:
        where = spec.csv_path.relative_to(run.parent)
        try:
            bundled = read_results_csv(spec.csv_path, spec.arm, spec.benchmark, spec.backend)
        except ReproError as error:
            raise BundleError(str(error).replace(str(run.parent) + os.sep, "")) from None
        mine = results[spec]
        if bundled.problem_ids != mine.problem_ids:
            return Check("per-problem results (CSVs)", "", f"{where}: its problems are not those the samples were "
                         f"drawn for ({len(bundled.problem_ids)} rows, {len(mine.problem_ids)} problems)")
        for row, (pid, n_old, c_old, n_new, c_new) in enumerate(
                zip(mine.problem_ids, bundled.n, bundled.c, mine.n, mine.c), start=2):
            if (int(n_old), int(c_old)) != (int(n_new), int(c_new)):
                return Check("per-problem results (CSVs)", "", f"{where} line {row} ({pid}): n,correct = "
                             f"{n_old},{c_old} in the bundle, {n_new},{c_new} recomputed")
        rows += len(mine.problem_ids)
    return Check("per-problem results (CSVs)", f"{len(specs)} files, {rows:,} rows: identical")


def _compare_filter_lists(run: Path, lists: dict[Path, _Spec], specs: list[_Spec],
                          results: dict[_Spec, RunResult]) -> Check:
    """Each filter list's per-problem counts against the recounted direct answers (its kept
    problems follow from them: read_list checks the rule), and the filtered results' problems
    against its kept list."""
    problems = 0
    for path, spec in lists.items():
        where = path.relative_to(run.parent)
        made = read_list(path)
        recounted = dict(zip(results[spec].problem_ids, zip(results[spec].n, results[spec].c)))
        for count in made.counts:
            n, correct = recounted.get(count.problem_id, (None, None))
            if (n, correct) != (count.n, count.correct):
                return Check("AIME24 filter lists", "", f"{where}: {count.problem_id} has n,correct = {count.n},"
                             f"{count.correct} in the list, {n},{correct} recounted")
        if len(made.counts) != len(recounted):
            return Check("AIME24 filter lists", "", f"{where}: {len(made.counts)} problems listed, "
                         f"{len(recounted)} recounted")
        for other in specs:
            if ((other.experiment, other.backend) == (spec.experiment, spec.backend)
                    and other.benchmark == aime24_filtered.BENCHMARK.key
                    and results[other].problem_ids != made.kept_ids):
                return Check("AIME24 filter lists", "", f"{other.csv_path.relative_to(run.parent)}: its problems are "
                             f"not the {len(made.kept_ids)} that {where} keeps")
        problems += len(made.counts)
    return Check("AIME24 filter lists", f"{len(lists)} list(s), {problems} problems recounted: identical")


def _compare_comparisons(top: Path, run: Path, tier: str, specs: list[_Spec],
                         results: dict[_Spec, RunResult]) -> tuple[Check, Check]:
    """pass@k points against the report's points.csv; claims against comparison.json and report.md."""
    report = run / "reports" / tier
    bundled_points = _points_csv(report / "points.csv")
    report_text = (report / "report.md").read_text(encoding="utf-8") if (report / "report.md").is_file() else None
    claimed = {(entry["experiment"], entry["backend"]): entry["claims"]
               for entry in _read_json(top / COMPARISON_JSON).get("comparisons", [])}
    groups: dict[tuple[str, str], dict[tuple[str, str], RunResult]] = {}
    for spec in specs:
        groups.setdefault((spec.experiment, spec.backend), {})[(spec.arm, spec.benchmark)] = results[spec]
    points_checked = claims_checked = 0
    points_difference = claims_difference = None
    for (experiment_id, backend), recomputed in sorted(groups.items()):
        comparison = compare_experiment(get_experiment(experiment_id), recomputed, backend)
        for point in comparison.points:
            if bundled_points is None or points_difference:
                break
            key = (experiment_id, backend, point.panel, point.curve, point.arm, point.benchmark, str(point.k))
            row = bundled_points.get(key)
            rerun = "" if point.rerun is None else str(point.rerun)
            label = f"{experiment_id} [{backend}] {point.panel} / {point.curve} k={point.k}"
            if row is None:
                points_difference = f"reports/{tier}/points.csv has no row for {label}"
            elif row["rerun"] != rerun or row["verdict"] != point.verdict:
                points_difference = (f"reports/{tier}/points.csv: {label} is {row['rerun'] or '-'} ({row['verdict']}) "
                                     f"in the bundle, {rerun or '-'} ({point.verdict}) recomputed")
            points_checked += 1
        recomputed_claims = [{"claim": c.paper_claim, "scope": c.scope, "verdict": c.verdict, "evidence": c.evidence}
                             for c in comparison.claims]
        if claims_difference is None:
            claims_difference = _claims_difference(experiment_id, backend, claimed.get((experiment_id, backend)),
                                                   recomputed_claims, report_text, tier)
            claims_checked += len(recomputed_claims)
    if bundled_points is None:
        points = Check("pass@k points vs the report", "no report in the bundle: not compared")
    else:
        compared = {key[:2] for key in groups}
        others = sum(1 for key in bundled_points if tuple(key[:2]) in compared) - points_checked
        detail = f"{points_checked:,} points: identical"
        if others > 0:  # rows of scoring stages (perplexity, entropy), which need a model to recompute
            detail += f" ({others:,} rows of scoring stages not recomputed)"
        points = Check("pass@k points vs the report", detail, points_difference)
    claims = Check("claims vs comparison.json and report.md", f"{claims_checked} claim(s): identical", claims_difference)
    return points, claims


POINT_COLUMNS = ("experiment", "backend", "panel", "curve", "arm", "benchmark", "k", "paper", "paper_error", "rerun",
                 "sd_rerun", "sd_paper", "z", "tolerance", "verdict")


def _points_csv(path: Path) -> dict[tuple[str, ...], dict[str, str]] | None:
    """The report's points.csv, keyed by (experiment, backend, panel, curve, arm, benchmark, k)."""
    if not path.is_file():
        return None
    with path.open(newline="", encoding="utf-8") as stream:
        rows = list(csv.reader(stream))
    if not rows or tuple(rows[0]) != POINT_COLUMNS:
        raise BundleError(f"{path.name}: its header is not {','.join(POINT_COLUMNS)}")
    points = {}
    for number, cells in enumerate(rows[1:], start=2):
        if len(cells) != len(POINT_COLUMNS):
            raise BundleError(f"{path.name} line {number}: {len(cells)} cells, {len(POINT_COLUMNS)} columns")
        row = dict(zip(POINT_COLUMNS, cells))
        points[tuple(row[name] for name in POINT_COLUMNS[:7])] = row
    return points


def _claims_difference(experiment: str, backend: str, bundled: list[dict] | None, recomputed: list[dict],
                       report_text: str | None, tier: str) -> str | None:
    if bundled is None:
        return f"{COMPARISON_JSON} has no entry for {experiment} [{backend}]"
    for old, new in zip(bundled, recomputed):
        if old != new:
            return (f"{COMPARISON_JSON}: claim {new['claim']} of {experiment} [{backend}] ({new['scope']}) is "
                    f"{old.get('verdict')} ({old.get('evidence')}) in the bundle, {new['verdict']} ({new['evidence']}) "
                    "recomputed")
        if report_text is not None and new["evidence"] and new["evidence"] not in report_text:
            return (f"reports/{tier}/report.md does not state claim {new['claim']} of {experiment} [{backend}] as "
                    f"recomputed: {new['verdict']}, {new['evidence']}")
    if len(bundled) != len(recomputed):
        return f"{COMPARISON_JSON}: {len(bundled)} claims of {experiment} [{backend}] bundled, {len(recomputed)} recomputed"
    return None

