"""`repro archive`: one bundle of a finished run, for a reviewer or an archive (Zenodo).

    <name>.zip
      <name>/
        README.md            for the reviewer: what is here, how to check it, what each ACM badge rests on
        MANIFEST.sha256      sha256 of every other file (`sha256sum -c MANIFEST.sha256` reads it)
        bundle.json          machine-readable: package version and commit, tier, experiments, stores, time
        comparison.json      what the bundled results say against the paper (points tallied, claims)
        CITATION.cff, LICENSE, .zenodo.json (Zenodo metadata made from CITATION.cff)
        package/             the pinned requirements and every installed distribution's version
        run/                 the run folder's parts, in its own layout:
          experiments/<experiment>/<tier>/<backend>/           results/ (per-problem CSVs, specs.json, environment.json),
                                                               and what the run made beside them (aime24-filter.json, review/)
          samples/<backend>/<model>/<benchmark>/<key>/          the stores those specs (and filter lists) name (no lock files)
          reports/<tier>/                                      the report as it is
          models.lock.json                                     where the run wrote one

The layout follows the conventions of artifact evaluation (ACM's "Artifacts Available",
"Artifacts Evaluated - Functional", "Results Reproduced" badges: an archived, citable artifact,
a documented way to exercise it, and results a reviewer can regenerate) and of a Zenodo upload
(one file, metadata in .zenodo.json). `repro verify` (repro.verify) checks a bundle.

Stores are audited before they are bundled (repro.store_audit): damaged samples are refused,
never archived.
"""

from __future__ import annotations

import json
import platform
import shutil
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from repro import __version__
from repro.bundle import (BUNDLE_JSON, BUNDLE_SUFFIX, COMPARISON_JSON, MANIFEST_FILE, RUN_FOLDER, manifest_text,
                          write_zip)
from repro.citation import CITATION_FILE, LICENSE_FILE, project_file, read_citation, zenodo_metadata
from repro.compare import compare_experiment
from repro.errors import ReproError, StoreError
from repro.experiments import get_experiment
from repro.files import atomic_write
from repro.guess_filter import LIST_FILE, read_list
from repro.model_lock import LOCK_FILE
from repro.provenance import package_facts
from repro.results_csv import file_name, read_results_csv
from repro.sampling import get_backend
from repro.store import TEMPORARY_GLOB
from repro.store_audit import audit
from repro.tiers import get_tier

SPECS_FILE = "specs.json"  # beside the result CSVs (repro.commands writes it): the stores behind them
BUNDLE_FORMAT = 1
# The pins, and the hashed lock the container image installs (scripts/lock).
REQUIREMENTS = ("requirements/cpu.txt", "requirements/gpu.txt", "requirements/gpu.lock", "requirements/grader.txt")
# Never bundled: a store's writer lock and owner files say who wrote it on that machine.
_STORE_SKIP = ("writer-*.lock", "writer-*.owner", TEMPORARY_GLOB)


@dataclass(frozen=True)
class ResultsFolder:
    experiment: str
    tier: str
    backend: str
    path: Path  # .../experiments/<experiment>/<tier>/<backend>/results

    @property
    def relative(self) -> str:
        return f"experiments/{self.experiment}/{self.tier}/{self.backend}/results"


@dataclass(frozen=True)
class Archived:
    bundle: Path
    files: int
    results: list[ResultsFolder]
    stores: list[str]
    simulated: bool
    missing: list[str]  # what a bundle would carry but this one does not (said in its README)


def results_folders(root: Path, tier: str, experiments: list[str] | None = None) -> list[ResultsFolder]:
    """Every results folder of the tier under the run folder (of the experiments named, if any)
    that holds at least one per-problem CSV."""
    wanted = {get_experiment(name).id for name in experiments} if experiments else None
    found = []
    for path in sorted((root / "experiments").glob(f"*/{tier}/*/results")):
        experiment, backend = path.parents[2].name, path.parent.name
        if (wanted is None or experiment in wanted) and any(path.glob("*.csv")):
            found.append(ResultsFolder(experiment, tier, backend, path))
    return found


def stores_of(folder: ResultsFolder) -> dict[str, str]:
    """Result file -> the store (relative to the run folder) its specs.json names."""
    specs_path = folder.path / SPECS_FILE
    if not specs_path.is_file():
        raise ReproError(f"{specs_path} is missing, so the samples behind these results are unknown; rerun "
                         f"`repro run {folder.experiment} --tier {folder.tier} --backend {folder.backend}` to write it")
    try:
        records = json.loads(specs_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ReproError(f"{specs_path} is corrupt ({error}); rerun `repro run {folder.experiment} --tier "
                         f"{folder.tier}` to write it again") from None
    return {name: record["store"] for name, record in sorted(records.items()) if "store" in record}


def _filter_list_stores(folder: ResultsFolder) -> list[str]:
    """The store of the direct answers an AIME24 filter list beside the results was made from."""
    path = folder.path.parent / LIST_FILE
    if not path.is_file():
        return []
    store = read_list(path).provenance.get("store")
    return [store] if store else []


def archive(root: Path, tier_name: str, destination: Path | None = None, experiments: list[str] | None = None,
            say=print) -> Archived:
    """Write the bundle of the tier's results under the run folder `root`; returns what it holds."""
    tier = get_tier(tier_name)
    if tier.adaptive:
        # `repro verify` recomputes each comparison from the bundled counts with the full tier's
        # rule; an adaptive run's verdicts come from its record (adaptive.json), not from those.
        raise ReproError(f"--tier {tier.name}: bundles of an adaptive run are not supported yet (`repro verify` "
                         "could not recompute its verdicts); run the full tier into the same folder (it reuses "
                         "every sample) and archive that")
    folders = results_folders(root, tier.name, experiments)
    if not folders:
        raise ReproError(f"no results for tier {tier.name} under {root}"
                         + (f" for {', '.join(experiments)}" if experiments else "")
                         + "; run `repro run` or `repro all` first")
    stores = sorted({store for folder in folders for store in stores_of(folder).values()}
                    | {store for folder in folders for store in _filter_list_stores(folder)})
    for store in stores:
        _check_store(root, store)
    created = time.gmtime()
    name = f"repro-{tier.name}-{time.strftime('%Y%m%dT%H%M%SZ', created)}"
    destination = destination or (root / "archives" / f"{name}{BUNDLE_SUFFIX}")
    if destination.suffix != BUNDLE_SUFFIX:
        raise ReproError(f"{destination}: a bundle is a {BUNDLE_SUFFIX} file; give a name ending in {BUNDLE_SUFFIX}")
    if destination.exists():
        raise ReproError(f"{destination} exists; give another --bundle name (a bundle is never overwritten)")
    name = destination.name.removesuffix(BUNDLE_SUFFIX)
    simulated = any(get_backend(folder.backend).simulated for folder in folders)
    destination.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".bundle-", dir=destination.parent) as scratch:
        staging = Path(scratch) / name
        run = staging / RUN_FOLDER
        for folder in folders:
            # The whole <experiment>/<tier>/<backend>/ folder: the results, and beside them what
            # the run made for them (the AIME24 filter list, a review sheet and its verdicts).
            _copy_tree(folder.path.parent, run / folder.relative.removesuffix("/results"))
        for store in stores:
            _copy_tree(root / store, run / store, skip=_STORE_SKIP)
        missing = []
        report = root / "reports" / tier.name
        if report.is_dir():
            _copy_tree(report, run / "reports" / tier.name)
        else:
            missing.append(f"the report (reports/{tier.name}/ is not in the run folder: `repro report --tier "
                           f"{tier.name}` writes it)")
        if (root / LOCK_FILE).is_file():
            shutil.copy2(root / LOCK_FILE, run / LOCK_FILE)
        missing += _project_files(staging)
        comparison = _comparison(folders)
        _write_json(staging / COMPARISON_JSON, comparison)
        record = _bundle_record(name, created, tier.name, folders, stores, simulated, missing)
        _write_json(staging / BUNDLE_JSON, record)
        citation_path = staging / CITATION_FILE
        citation = read_citation(citation_path) if citation_path.is_file() else None
        if citation is not None:
            _write_json(staging / ".zenodo.json", zenodo_metadata(citation, __version__, _description(record)))
        (staging / "README.md").write_text(readme(record, comparison, citation), encoding="utf-8")
        manifest = manifest_text(staging)
        (staging / MANIFEST_FILE).write_text(manifest, encoding="utf-8")
        files = len(manifest.splitlines())
        write_zip(staging, destination)
    say(f"bundle: {destination} ({files} files, {destination.stat().st_size / 1e6:,.1f} MB)")
    return Archived(destination, files, folders, stores, simulated, missing)


def _check_store(root: Path, store: str) -> None:
    path = root / store
    if not path.is_dir():
        raise StoreError(f"{path} is named by the results' specs.json but is not in the run folder; a bundle "
                         "carries the samples behind its results: restore the store or rerun to sample it")
    result = audit(path)
    if result.writers:  # its index could list a chunk written after the chunks were copied
        tag, holder = sorted(result.writers.items())[0]
        raise StoreError(f"{path} ({tag}) is being written by {holder}; archive the run when it has finished")
    findings = result.findings
    if findings:
        first = findings[0]
        where = first.path.relative_to(path) if first.path.is_relative_to(path) else first.path
        raise StoreError(f"{path} is damaged ({where}: {first.problem}); `repro store check --out {root}` lists "
                         f"all, `repro store repair --out {root}` mends them; damaged samples are never archived")


def _copy_tree(source: Path, target: Path, skip: tuple[str, ...] = ()) -> None:
    """Copy the regular files of a folder (links and special files are not copied: a bundle holds
    only files whose bytes MANIFEST.sha256 can vouch for)."""
    for path in sorted(source.rglob("*")):
        if path.is_symlink() or not path.is_file() or any(path.match(pattern) for pattern in skip):
            continue
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)


def _project_files(staging: Path) -> list[str]:
    """CITATION.cff, LICENSE, the pinned requirements and the installed versions; returns what
    was not found."""
    missing = []
    for name in (CITATION_FILE, LICENSE_FILE):
        found = project_file(name)
        if found is None:
            missing.append(f"{name} (not found beside the installed package)")
        else:
            shutil.copy2(found, staging / name)
    package = staging / "package"
    package.mkdir()
    for name in REQUIREMENTS:
        found = project_file(name)
        if found is not None:
            shutil.copy2(found, package / Path(name).name)
    installed = sorted({f"{dist.metadata['Name']}=={dist.version}" for dist in metadata.distributions()
                        if dist.metadata["Name"]}, key=str.lower)
    (package / "installed.txt").write_text(
        f"# every distribution installed where this bundle was made (Python {platform.python_version()})\n"
        + "\n".join(installed) + "\n", encoding="utf-8")
    return missing


def _comparison(folders: list[ResultsFolder]) -> dict[str, Any]:
    """The comparison with the paper that the bundled CSVs give, per experiment and backend:
    points tallied by verdict, and every claim's verdict and evidence."""
    entries = []
    for folder in folders:
        experiment = get_experiment(folder.experiment)
        results = {(arm, benchmark): read_results_csv(folder.path / file_name(arm, benchmark), arm, benchmark,
                                                      folder.backend)
                   for arm, benchmark in experiment.runs() if (folder.path / file_name(arm, benchmark)).is_file()}
        comparison = compare_experiment(experiment, results, folder.backend)
        entries.append({"experiment": folder.experiment, "backend": folder.backend, "points": comparison.counts(),
                        "claims": [{"claim": claim.paper_claim, "scope": claim.scope, "verdict": claim.verdict,
                                    "evidence": claim.evidence} for claim in comparison.claims]})
    return {"note": "computed by `repro archive` from the bundled per-problem CSVs; `repro verify` recomputes it "
                    "from the re-graded samples", "comparisons": entries}


def _bundle_record(name: str, created, tier: str, folders: list[ResultsFolder], stores: list[str],
                   simulated: bool, missing: list[str]) -> dict[str, Any]:
    return {
        "format": BUNDLE_FORMAT,
        "name": name,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", created),
        # name, version, git commit, dirty, and where the commit came from (repro.provenance)
        "package": {**package_facts(), "python": platform.python_version()},
        "tier": tier,
        "simulated": simulated,
        "experiments": sorted({f.experiment for f in folders}),
        "backends": sorted({f.backend for f in folders}),
        "results": [{"experiment": f.experiment, "backend": f.backend, "folder": f"{RUN_FOLDER}/{f.relative}",
                     "files": sorted(p.name for p in f.path.glob("*.csv"))} for f in folders],
        "stores": [f"{RUN_FOLDER}/{store}" for store in stores],
        "not_included": missing,
    }


def _write_json(path: Path, value: Any) -> None:
    atomic_write(path, (json.dumps(value, indent=2, sort_keys=True) + "\n").encode())


SIMULATED_WARNING = ("SIMULATED RESULTS ARE NOT EVIDENCE: results in this bundle came from the simulated backend, "
                     "which runs no model and draws samples from success probabilities fitted to the paper's own "
                     "curves (agreement with the paper is by construction). They check the machinery only.")
STAND_INS_WARNING = ("smoke tier: tiny stand-in models and the simulated backend on a few problems; these results check "
                     "the machinery, not the paper.")


def _description(record: dict[str, Any]) -> str:
    experiments = sorted({entry["experiment"] for entry in record["results"]})
    text = (f"Bundle of a {record['tier']}-tier run of repro {record['package']['version']} reproducing 'Does "
            "Reinforcement Learning Really Incentivize Reasoning Capacity in LLMs Beyond the Base Model?' (arXiv "
            f"2504.13837): samples, verdicts, per-problem results and the report of {', '.join(experiments)}. "
            "Check it with `repro verify`.")
    return text + (" " + SIMULATED_WARNING if record["simulated"] else "")


def readme(record: dict[str, Any], comparison: dict[str, Any], citation: dict[str, Any] | None) -> str:
    """The bundle's README.md, for the reviewer."""
    lines = [f"# {record['name']}: a run of repro, bundled for review", ""]
    if record["simulated"]:
        lines += [f"**{SIMULATED_WARNING}**", ""]
    if get_tier(record["tier"]).uses_stand_ins:
        lines += [f"**{STAND_INS_WARNING[0].upper()}{STAND_INS_WARNING[1:]}**", ""]
    package = record["package"]
    commit = (package.get("git_commit") or "unknown (neither a git checkout nor a build record)") \
        + (" with uncommitted changes" if package.get("dirty") else "")
    lines += [
        f"Made by `repro archive` on {record['created_at']} with repro {record['package']['version']} (commit "
        f"{commit}, Python {record['package']['python']}), tier `{record['tier']}`. The paper: Yue et al., *Does "
        "Reinforcement Learning Really Incentivize Reasoning Capacity in LLMs Beyond the Base Model?*, arXiv "
        "2504.13837 (doi:10.48550/arXiv.2504.13837).", "",
        "## What is here", "",
        "| path | what |", "|---|---|",
        "| `run/experiments/<experiment>/<tier>/<backend>/` | `results/`: per-problem results (`problem_id,n,correct`), "
        "`specs.json` (every run's settings and the store its samples are in), `environment.json` where the run "
        "wrote one; beside it what the run made for them: `aime24-filter.json` (Figure 12's problem list), "
        "`review/` (a chain-of-thought review sheet and its verdicts) |",
        "| `run/samples/...` | the sample stores those results were counted from: `manifest.json` (the key: model, "
        "data, prompt, sampling, seeds, engine), `index-*.json`, `chunks/*.jsonl.gz` (every sample), "
        "`grades/<grader>/` (every verdict) |",
        f"| `run/reports/{record['tier']}/` | the report (`report.md`, `report.html`, `points.csv`, plots) |",
        "| `run/models.lock.json` | the models' resolved revisions, where the run recorded them |",
        f"| `{BUNDLE_JSON}` | package version and commit, tier, experiments, stores, creation time |",
        f"| `{COMPARISON_JSON}` | the comparison with the paper that the bundled results give |",
        f"| `{MANIFEST_FILE}` | the sha256 of every other file |",
        "| `package/` | the pinned requirements and every installed package's version |",
        "| `CITATION.cff`, `LICENSE`, `.zenodo.json` | how to cite, the license, Zenodo metadata |", "",
        "Experiments: " + ", ".join(f"{entry['experiment']} [{entry['backend']}]" for entry in record["results"])
        + ".", "",
    ]
    if record["not_included"]:
        lines += ["Not included: " + "; ".join(record["not_included"]) + ".", ""]
    lines += [
        "## How to check it", "",
        "1. Install repro at the version above (`pip install` from its source at that commit; "
        "`package/` lists the exact versions used) and fetch the benchmark files (`repro fetch`).",
        f"2. Run `repro verify {record['name']}.zip`. It checks every file against `{MANIFEST_FILE}`, audits every "
        "sample store, re-grades every stored sample on CPU with the package's graders (code runs in its "
        "sandbox; no GPU, no model), recomputes each problem's counts, pass@k and the comparison with the paper, "
        "and compares them with the bundled CSVs, verdicts and report. Exit 0: everything matches; 1: a "
        "recomputed number differs (named); 2: the bundle is malformed or was changed (one line naming what).",
        f"3. Without repro: `sha256sum -c {MANIFEST_FILE}` in the unpacked folder checks the files.", "",
        "## ACM badges: what each would rest on", "",
        "- **Artifacts Available**: this bundle, deposited in an archive with a DOI (`.zenodo.json` holds the "
        "metadata for a Zenodo upload; the DOI exists once it is deposited).",
        "- **Artifacts Evaluated - Functional**: `repro verify` passes on this bundle, and the package's tests pass "
        "(`pytest`), on the reviewer's machine.",
        "- **Results Reproduced**: the comparison verdicts (below, and `report.md`): each pass@k point against the "
        "paper's within its statistical tolerance, and each claim's verdict. "
        + ("They are NOT evidence here: the results are simulated or come from stand-in models."
           if record["simulated"] or get_tier(record["tier"]).uses_stand_ins else
           "A reviewer reproduces them by rerunning `repro run` with the settings in `specs.json`."), "",
        "## The comparison in this bundle", "",
        "| experiment | backend | points pass | fail | not run | claims |", "|---|---|---|---|---|---|",
    ]
    for entry in comparison["comparisons"]:
        claims = ", ".join(f"claim {c['claim']} ({c['scope']}): {c['verdict']}" for c in entry["claims"]) or "-"
        points = entry["points"]
        lines.append(f"| {entry['experiment']} | {entry['backend']} | {points.get('pass', 0)} | "
                     f"{points.get('fail', 0)} | {points.get('not run', 0)} | {claims} |")
    lines += [""]
    if citation is not None:
        lines += ["## How to cite", "", "See `CITATION.cff` (the paper is the preferred citation).", ""]
    return "\n".join(lines)

