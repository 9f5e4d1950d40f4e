"""`repro archive` then `repro verify` round-trip a smoke run, and a bundle changed after it was
made is rejected with one line naming what is wrong: a flipped byte, a removed sample, an edited
verdict or result -- also when the attacker rewrote MANIFEST.sha256 (and the store's own
checksums) to match, where re-grading and recounting must catch it."""

from __future__ import annotations

import gzip
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cli
from repro.bundle import MANIFEST_FILE, manifest_text, write_zip
from repro.store import WHOLE, SampleStore, canonical_json
from repro.store_audit import rebuild_index

EXPERIMENT = "math-oat-zero"
RESULTS = Path(f"run/experiments/{EXPERIMENT}/smoke/simulated/results")
WARNING = "SIMULATED RESULTS ARE NOT EVIDENCE"


def invoke(*args: str):
    return CliRunner().invoke(cli.app, list(args))


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    """A smoke run of one experiment (simulated backend)."""
    root = tmp_path_factory.mktemp("run")
    done = invoke("run", EXPERIMENT, "--tier", "smoke", "--backend", "simulated", "--out", str(root))
    assert done.exit_code == 0, done.output
    return root


@pytest.fixture(scope="module")
def bundle(made) -> Path:
    """That run, bundled."""
    root = made
    # Provenance records a run may write (another part of the package makes them): bundled
    # where they are, whatever they hold.
    results = root / RESULTS.relative_to("run")
    if not (results / "environment.json").exists():
        (results / "environment.json").write_text('{"python": "3.x"}\n')
    if not (root / "models.lock.json").exists():
        (root / "models.lock.json").write_text('{"models": {}}\n')
    path = root.parent / f"{root.name}-bundle.zip"
    done = invoke("archive", "--tier", "smoke", "--out", str(root), "--bundle", str(path))
    assert done.exit_code == 0, done.output
    assert WARNING in done.output
    return path


def verify(path: Path):
    return invoke("verify", str(path), "--workers", "2")


def _unpacked(bundle: Path, tmp_path: Path) -> Path:
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(tmp_path / "unpacked")
    (top,) = (tmp_path / "unpacked").iterdir()
    return top


def _repacked(top: Path, tmp_path: Path, rewrite_manifest: bool) -> Path:
    if rewrite_manifest:
        (top / MANIFEST_FILE).write_text(manifest_text(top))
    path = tmp_path / "changed" / f"{top.name}.zip"
    write_zip(top, path)
    return path


def _store(top: Path) -> SampleStore:
    return SampleStore(sorted(path.parent for path in (top / "run" / "samples").rglob("manifest.json"))[0])


def _one_line_error(done, *names: str) -> str:
    assert done.exit_code == 2, done.output
    lines = done.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.output
    for name in names:
        assert name in lines[0], lines[0]
    return lines[0]


def _one_difference(done, *names: str) -> str:
    assert done.exit_code == 1, done.output
    differences = [line for line in done.output.splitlines() if line.startswith("differs: ")]
    assert len(differences) == 1, done.output
    for name in names:
        assert name in differences[0], differences[0]
    return differences[0]


# ----------------------------------------------------------------------------- round trip


def test_archive_then_verify_round_trips_a_smoke_run(bundle):
    done = verify(bundle)
    assert done.exit_code == 0, done.output
    assert WARNING in done.output  # simulated results are said to be no evidence
    assert "matches its recomputation" in done.output
    for check in ("files against MANIFEST.sha256", "sample stores", "verdicts re-graded", "per-problem results",
                  "pass@k points", "claims"):
        assert check in done.output


def test_the_bundle_holds_what_a_reviewer_needs(bundle, tmp_path):
    top = _unpacked(bundle, tmp_path)
    listed = {line.split("  ", 1)[1] for line in (top / MANIFEST_FILE).read_text().splitlines()}
    on_disk = {path.relative_to(top).as_posix() for path in top.rglob("*") if path.is_file()} - {MANIFEST_FILE}
    assert listed == on_disk
    assert (top / RESULTS / "rl__aime24.csv").is_file() and (top / RESULTS / "specs.json").is_file()
    assert (top / "run/reports/smoke/points.csv").is_file()
    assert (top / RESULTS / "environment.json").is_file() and (top / "run/models.lock.json").is_file()
    assert not list((top / "run" / "samples").rglob("writer-*"))  # a machine's lock files stay behind
    record = json.loads((top / "bundle.json").read_text())
    assert record["tier"] == "smoke" and record["simulated"] is True
    assert [entry["experiment"] for entry in record["results"]] == [EXPERIMENT]
    assert len(record["stores"]) == 2
    zenodo = json.loads((top / ".zenodo.json").read_text())
    assert zenodo["title"].startswith("repro") and zenodo["license"] == "Apache-2.0"
    assert zenodo["related_identifiers"][0]["identifier"] == "10.48550/arXiv.2504.13837"
    assert WARNING in zenodo["description"]
    readme = (top / "README.md").read_text()
    assert WARNING in readme and "repro verify" in readme and "not the paper" in readme
    for badge in ("Artifacts Available", "Functional", "Results Reproduced"):
        assert badge in readme
    assert (top / "CITATION.cff").is_file()
    assert (top / "LICENSE").is_file() or "LICENSE" in readme  # present, or the README says it is not


def test_an_unpacked_bundle_folder_verifies_too(bundle, tmp_path):
    top = _unpacked(bundle, tmp_path)
    before = {path: path.stat().st_mtime_ns for path in top.rglob("*") if path.is_file()}
    done = verify(top)
    assert done.exit_code == 0, done.output
    assert before == {path: path.stat().st_mtime_ns for path in top.rglob("*") if path.is_file()}  # read only


def test_archive_of_a_run_folder_without_results_is_one_line(tmp_path):
    done = invoke("archive", "--tier", "smoke", "--out", str(tmp_path))
    _one_line_error(done, "no results for tier smoke")


def test_archive_refuses_damaged_samples_and_a_store_being_written(made, tmp_path):
    root = tmp_path / "run"
    shutil.copytree(made, root)
    store = SampleStore(sorted(path.parent for path in (root / "samples").rglob("manifest.json"))[0])
    with store.writing(WHOLE, sampling=False):
        _one_line_error(invoke("archive", "--tier", "smoke", "--out", str(root)), "is being written by")
    chunk = sorted((store.root / "chunks").iterdir())[0]
    chunk.write_bytes(chunk.read_bytes()[:-1])
    _one_line_error(invoke("archive", "--tier", "smoke", "--out", str(root)), chunk.name, "never archived")
    assert not (root / "archives").exists() or not list((root / "archives").iterdir())


# ----------------------------------------------------------------------------- tampering


@pytest.mark.parametrize("rewrite_manifest", [False, True])
def test_a_flipped_byte_in_a_sample_chunk_is_rejected(bundle, tmp_path, rewrite_manifest):
    top = _unpacked(bundle, tmp_path)
    chunk = sorted((_store(top).root / "chunks").iterdir())[0]
    data = bytearray(chunk.read_bytes())
    data[len(data) // 2] ^= 0x01
    chunk.write_bytes(bytes(data))
    line = _one_line_error(verify(_repacked(top, tmp_path, rewrite_manifest)), chunk.name)
    assert ("MANIFEST.sha256" in line) != rewrite_manifest  # else the store audit names it
    if rewrite_manifest:
        assert "corrupt" in line


@pytest.mark.parametrize("rewrite_manifest", [False, True])
def test_a_removed_chunk_is_rejected(bundle, tmp_path, rewrite_manifest):
    top = _unpacked(bundle, tmp_path)
    chunk = sorted((_store(top).root / "chunks").iterdir())[-1]
    chunk.unlink()
    line = _one_line_error(verify(_repacked(top, tmp_path, rewrite_manifest)), chunk.name)
    assert "missing" in line


@pytest.mark.parametrize("rewrite_grades", [False, True])
def test_a_sample_removed_from_a_chunk_with_everything_rehashed_is_rejected(bundle, tmp_path, rewrite_grades):
    """One unit (a problem's round) cut from a chunk, the chunk's index rebuilt and MANIFEST
    rewritten: the stale grades file gives it away to the store audit; with the grades rewritten
    to match too, the recount finds a problem short of its n samples."""
    top = _unpacked(bundle, tmp_path)
    store = _store(top)
    name, entry = sorted(store.chunk_listing().items())[0]
    records = store.read_chunk(name, entry["sha256"])
    removed = records.pop(0)
    chunk = store.root / "chunks" / name
    chunk.write_bytes(gzip.compress("".join(canonical_json(r) + "\n" for r in records).encode(), mtime=0))
    rebuild_index(store, "shard0of1")
    grader = next((store.root / "grades").iterdir()).name
    if rewrite_grades:
        old = json.loads(store.grades_path(grader, name).read_text())
        kept = [unit for unit in old["verdicts"] if (unit[0], unit[1]) != (removed["problem_id"], removed["round"])]
        store.write_grades(grader, name, store.chunk_listing()[name]["sha256"], kept)
    line = _one_line_error(verify(_repacked(top, tmp_path, rewrite_manifest=True)))
    if rewrite_grades:
        assert "rl__aime24.csv" in line or "base__aime24.csv" in line
        assert "do not hold" in line
    else:
        assert store.grades_path(grader, name).name in line and "unusable grades" in line


def _edit_a_verdict(store: SampleStore) -> tuple[str, str]:
    grades = sorted((store.root / "grades").glob("*/*.json"))[0]
    content = json.loads(grades.read_text())
    content["verdicts"][0][2][0] = not content["verdicts"][0][2][0]
    return grades, content


def test_an_edited_verdict_is_rejected(bundle, tmp_path):
    top = _unpacked(bundle, tmp_path)
    grades, content = _edit_a_verdict(_store(top))
    grades.write_text(json.dumps(content))
    _one_line_error(verify(_repacked(top, tmp_path, rewrite_manifest=False)), grades.name, "MANIFEST.sha256")


def test_an_edited_verdict_with_its_checksum_and_the_manifest_rewritten_is_caught_by_regrading(bundle, tmp_path):
    top = _unpacked(bundle, tmp_path)
    store = _store(top)
    grades, content = _edit_a_verdict(store)
    chunk = grades.stem + ".jsonl.gz"
    store.write_grades(grades.parent.name, chunk, content["chunk_sha256"],
                       [tuple(unit) for unit in content["verdicts"]])  # a valid file, checksum and all
    line = _one_difference(verify(_repacked(top, tmp_path, rewrite_manifest=True)), grades.name)
    assert "sample 0 is marked" in line and "when graded again" in line


@pytest.mark.parametrize("rewrite_manifest", [False, True])
def test_an_edited_result_is_rejected(bundle, tmp_path, rewrite_manifest):
    top = _unpacked(bundle, tmp_path)
    path = top / RESULTS / "rl__aime24.csv"
    lines = path.read_text().splitlines()
    problem, n, correct = lines[3].split(",")
    lines[3] = f"{problem},{n},{int(correct) + 1 if int(correct) < int(n) else int(correct) - 1}"
    path.write_text("\n".join(lines) + "\n")
    done = verify(_repacked(top, tmp_path, rewrite_manifest))
    if rewrite_manifest:
        _one_difference(done, "rl__aime24.csv line 4", problem)
    else:
        _one_line_error(done, "rl__aime24.csv", "MANIFEST.sha256")


def test_an_edited_report_point_is_caught_by_the_recomputation(bundle, tmp_path):
    top = _unpacked(bundle, tmp_path)
    path = top / "run/reports/smoke/points.csv"
    lines = path.read_text().splitlines()
    cells = lines[1].split(",")
    cells[-1] = "fail" if cells[-1] == "pass" else "pass"
    lines[1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    _one_difference(verify(_repacked(top, tmp_path, rewrite_manifest=True)), "points.csv")


def test_an_added_file_is_rejected(bundle, tmp_path):
    top = _unpacked(bundle, tmp_path)
    (top / RESULTS / "extra.txt").write_text("not archived")
    _one_line_error(verify(_repacked(top, tmp_path, rewrite_manifest=False)), "extra.txt", "not listed")


@pytest.mark.parametrize("member", ["../evil.txt", "/etc/evil.txt", "bundle/../../evil.txt"])
def test_a_member_outside_the_bundle_folder_is_refused_before_anything_is_written(tmp_path, member):
    path = tmp_path / "hostile.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("bundle/MANIFEST.sha256", "")
        archive.writestr(member, "x")
    _one_line_error(verify(path), "unsafe path")
    assert not (tmp_path / "evil.txt").exists()


def test_a_link_in_the_bundle_is_refused(tmp_path):
    path = tmp_path / "hostile.zip"
    with zipfile.ZipFile(path, "w") as archive:
        link = zipfile.ZipInfo("bundle/link")
        link.external_attr = (0o120777 << 16)
        archive.writestr(link, "/etc/passwd")
    _one_line_error(verify(path), "link")


def test_a_file_that_is_not_a_bundle_is_one_line(tmp_path):
    path = tmp_path / "notes.zip"
    path.write_text("not a zip")
    _one_line_error(verify(path), "not a zip file")
    shutil.rmtree(tmp_path / "absent", ignore_errors=True)
    _one_line_error(verify(tmp_path / "absent.zip"), "no such file")


# ----------------------------------------------------------------------------- Figure 12's filter


@pytest.fixture(scope="module")
def filtered_bundle(tmp_path_factory) -> Path:
    """A smoke run of math-aime-filtered: its AIME24 list is rebuilt from direct answers."""
    root = tmp_path_factory.mktemp("filtered")
    done = invoke("run", "math-aime-filtered", "--tier", "smoke", "--backend", "simulated", "--out", str(root))
    assert done.exit_code == 0, done.output
    path = root.parent / f"{root.name}-bundle.zip"
    done = invoke("archive", "--tier", "smoke", "--out", str(root), "--bundle", str(path))
    assert done.exit_code == 0, done.output
    return path


FILTERED = Path("run/experiments/math-aime-filtered/smoke/simulated")


def test_the_filter_list_and_its_direct_answers_are_bundled_and_recounted(filtered_bundle, tmp_path):
    done = verify(filtered_bundle)
    assert done.exit_code == 0, done.output
    assert "AIME24 filter lists" in done.output
    top = _unpacked(filtered_bundle, tmp_path)
    provenance = json.loads((top / FILTERED / "aime24-filter.json").read_text())["provenance"]
    assert (top / "run" / provenance["store"] / "manifest.json").is_file()


def test_a_problem_removed_from_the_filtered_results_is_rejected(filtered_bundle, tmp_path):
    top = _unpacked(filtered_bundle, tmp_path)
    path = top / FILTERED / "results" / "rl__aime24-filtered.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:1] + lines[2:]) + "\n")
    _one_line_error(verify(_repacked(top, tmp_path, rewrite_manifest=True)), "rl__aime24-filtered.csv",
                    "not the list")


def test_an_edited_count_of_the_filter_list_is_caught_by_the_recount(filtered_bundle, tmp_path):
    top = _unpacked(filtered_bundle, tmp_path)
    path = top / FILTERED / "aime24-filter.json"
    content = json.loads(path.read_text())
    removed = next(p for p in content["problems"] if p["decision"] != "kept" and (p["correct"] + 1) * 20 < p["n"])
    removed["correct"] += 1  # still under 5%: the list stays consistent with its own rule
    path.write_text(json.dumps(content))
    _one_difference(verify(_repacked(top, tmp_path, rewrite_manifest=True)), "aime24-filter.json",
                    removed["problem_id"])


# ----------------------------------------------------------------------------- parts


def test_zenodo_metadata_maps_people_entities_and_the_cited_paper():
    from repro.citation import zenodo_metadata

    citation = {"title": "A  tool\n for x", "type": "software", "version": "1.2",
                "authors": [{"family-names": "Lovelace", "given-names": "Ada", "affiliation": "Analytical",
                             "orcid": "https://orcid.org/0000-0002-1825-0097"}, {"name": "The developers"}],
                "license": "MIT", "keywords": ["pass@k"], "date-released": "2026-01-02",
                "preferred-citation": {"doi": "10.1/abc"}}
    record = zenodo_metadata(citation, "0.0.0", "what it is")
    assert record["title"] == "A tool for x" and record["version"] == "1.2" and record["license"] == "MIT"
    assert record["creators"] == [{"name": "Lovelace, Ada", "affiliation": "Analytical",
                                   "orcid": "0000-0002-1825-0097"}, {"name": "The developers"}]
    assert record["related_identifiers"] == [{"identifier": "10.1/abc", "relation": "isSupplementTo", "scheme": "doi",
                                              "resource_type": "publication-preprint"}]
    assert record["publication_date"] == "2026-01-02" and record["upload_type"] == "software"


def test_the_repository_citation_file_is_found_and_read():
    from repro.citation import project_file, read_citation

    path = project_file("CITATION.cff")
    assert path is not None and read_citation(path)["preferred-citation"]["doi"] == "10.48550/arXiv.2504.13837"


@pytest.mark.parametrize("line", ["not a line", f"{'0' * 64}  ../outside", f"{'g' * 64}  file", f"{'0' * 63}  file"])
def test_a_malformed_manifest_line_is_named(tmp_path, line):
    from repro.bundle import BundleError, read_manifest

    (tmp_path / MANIFEST_FILE).write_text(f"{'0' * 64}  fine.txt\n{line}\n")
    with pytest.raises(BundleError, match="line 2"):
        read_manifest(tmp_path / MANIFEST_FILE)


def test_the_manifest_is_what_sha256sum_writes(tmp_path):
    import hashlib

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_bytes(b"hello\n")
    (tmp_path / MANIFEST_FILE).write_text("left out of itself\n")
    digest = hashlib.sha256(b"hello\n").hexdigest()
    assert manifest_text(tmp_path) == f"{digest}  a/x.txt\n"
