"""Visual benchmark loaders: pinned sources, the free-form filters, images stored as checked
files, the sha256 of MathVista's image archive recorded at first use, and the stand-ins.

No test reaches the internet: downloads go to a local HTTP server on 127.0.0.1 or to a closed
local port, and the cache is a temporary folder. Tests on real rows read the shared folder
(REPRO_SHARED_DIR: data/formats/mathvista and mathvision) and skip without it.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest

from repro.benchmarks import fetch, visual_files
from repro.benchmarks.fetch import ChecksumMismatchError, DataMissingError, PinnedFile, resolve
from repro.benchmarks.visual_files import (
    MATHVISION_COMMIT,
    MATHVISION_IMAGE_SHA256,
    MATHVISION_ROWS,
    MATHVISTA_ANNOTATIONS,
    MATHVISTA_HUB_REVISION,
    MATHVISTA_IMAGES,
    ZipImages,
    build_problems,
    image_format,
    load_visual_benchmark,
    load_visual_standin,
    mathvision_image,
    parse_mathvision,
    parse_mathvista,
    recorded_sha256,
    verify_image,
    write_visual_standins,
)
from repro.errors import ReproError, UnknownNameError

# The visual benchmarks of the registry.
VISUAL_KEYS = ("mathvista-free", "mathvision-open")
from repro.grading.visual import easyr1_accuracy, grade
from tests.conftest import LocalFileServer, place_file

HEX = set("0123456789abcdef")


@pytest.fixture(autouse=True)
def isolated(isolated_downloads):
    return isolated_downloads


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _png(size=(8, 6), color=(10, 20, 30)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


# ----------------------------------------------------------------------------- pinned sources


def test_sources_are_pinned_public_files():
    for pinned in (MATHVISTA_ANNOTATIONS, MATHVISION_ROWS):
        assert len(pinned.commit) == 40 and set(pinned.commit) <= HEX
        assert len(pinned.sha256) == 64 and set(pinned.sha256) <= HEX
        assert pinned.relative_path.startswith("visual/")
    assert MATHVISTA_ANNOTATIONS.pinned_url == ("https://raw.githubusercontent.com/lupantech/MathVista/"
                                                "53d525874bdde205128e6b160b7357a88277d479/data/testmini.json")
    assert MATHVISTA_IMAGES.pinned_url == (f"https://huggingface.co/datasets/AI4Math/MathVista/resolve/"
                                           f"{MATHVISTA_HUB_REVISION}/images.zip")
    assert len(MATHVISTA_HUB_REVISION) == 40
    # 114 MathVision images, each pinned by sha256 at the same commit as the rows.
    assert len(MATHVISION_IMAGE_SHA256) == 114 == len(set(MATHVISION_IMAGE_SHA256.values()))
    assert all(len(digest) == 64 and set(digest) <= HEX for digest in MATHVISION_IMAGE_SHA256.values())
    image = mathvision_image("images/4.jpg")
    assert image.commit == MATHVISION_COMMIT == MATHVISION_ROWS.commit
    assert image.pinned_url.endswith("/mathllm/MATH-V/" + MATHVISION_COMMIT + "/images/4.jpg")
    assert image.relative_path == "visual/mathvision/images/4.jpg"
    for unknown in ("images/6.jpg", "images/4.png", "../4.jpg"):  # 6 has options: not kept, not pinned
        with pytest.raises(ReproError):
            mathvision_image(unknown)


def test_missing_files_name_the_file_where_to_put_it_and_the_sha256(scratch_data_dir):
    with pytest.raises(DataMissingError) as caught:
        load_visual_benchmark("mathvista-free", download=False, images_dir=scratch_data_dir / "images")
    message = str(caught.value)
    assert "visual/mathvista/testmini.json" in message and MATHVISTA_ANNOTATIONS.sha256 in message
    assert "REPRO_DATA_DIR" in message and "allow downloads" in message
    with pytest.raises(DataMissingError) as caught:
        load_visual_benchmark("mathvision-open", download=False, images_dir=scratch_data_dir / "images")
    assert "visual/mathvision/testmini.jsonl" in str(caught.value) and MATHVISION_ROWS.sha256 in str(caught.value)


def test_a_download_that_fails_is_a_clear_error(tmp_path):
    # The autouse fixture aims downloads at a closed port.
    with pytest.raises(DataMissingError, match="testmini.jsonl"):
        load_visual_benchmark("mathvision-open", download=True, images_dir=tmp_path / "images")


def test_altered_files_are_refused(scratch_data_dir):
    place_file(scratch_data_dir, MATHVISTA_ANNOTATIONS.relative_path, b"{}")
    with pytest.raises(ChecksumMismatchError, match=MATHVISTA_ANNOTATIONS.sha256):
        load_visual_benchmark("mathvista-free", download=False, images_dir=scratch_data_dir / "images")
    place_file(scratch_data_dir, MATHVISION_ROWS.relative_path, b"\n")
    with pytest.raises(ChecksumMismatchError, match=MATHVISION_ROWS.sha256):
        load_visual_benchmark("mathvision-open", download=False, images_dir=scratch_data_dir / "images")


def test_unknown_keys_and_bad_counts_are_refused(tmp_path):
    with pytest.raises(UnknownNameError):
        load_visual_benchmark("mathvista", download=False, images_dir=tmp_path)
    with pytest.raises(UnknownNameError):
        write_visual_standins("gsm8k", tmp_path, 3)
    for count in (0, -1, 2.5, True, 10**6):
        with pytest.raises(ReproError):
            write_visual_standins("mathvision-open", tmp_path, count)


# ----------------------------------------------------------------------------- real rows


def _mathvista_sample(formats: Path) -> dict:
    return json.loads((formats / "mathvista" / "testmini.sample5.json").read_text(encoding="utf-8"))


def _mathvista_sample_zip(formats: Path) -> bytes:
    """images.zip as the README lays it out (images/<pid>.jpg), holding the notebook's PNG
    renders of the HF images (PNG bytes behind .jpg names, as some HF images are)."""
    folder = formats / "mathvista" / "images_from_notebook"
    return _zip({f"images/{path.stem.removeprefix('pid')}.jpg": path.read_bytes()
                 for path in sorted(folder.glob("pid*.png"))})


def test_real_mathvista_rows_are_filtered_to_free_form(formats):
    data = _mathvista_sample(formats)
    rows, total = parse_mathvista(data)
    assert total == 5
    assert [row.source_id for row in rows] == ["106", "225", "824", "852"]  # 540 is multi_choice
    by_id = {row.source_id: row for row in rows}
    assert by_id["106"].meta["answer_type"] == "integer" and by_id["106"].answer == "0"
    assert by_id["225"].meta["answer_type"] == "list"
    assert by_id["225"].answer == "[0, 2, 0, 2, 1, 7, 1, 2, 0, 3, 0, 6]"
    assert by_id["824"].meta["answer_type"] == "float" and by_id["824"].meta["precision"] == 2
    assert by_id["824"].answer == "0.13" and by_id["824"].meta["unit"] is None
    # The question, not the query: no "Hint:" line.
    assert by_id["852"].question == "Which number is missing?"
    assert all(row.image == f"images/{row.source_id}.jpg" for row in rows)
    # The HF rows print precision as a float: the same value.
    data["824"]["precision"] = 2.0
    assert parse_mathvista(data)[0][2].meta["precision"] == 2


def test_real_mathvista_images_are_stored_with_their_sha256(formats, tmp_path):
    rows, _ = parse_mathvista(_mathvista_sample(formats))
    archive = tmp_path / "images.zip"
    archive.write_bytes(_mathvista_sample_zip(formats))
    with ZipImages(archive) as images:
        problems = build_problems("mathvista-free", rows, lambda row: images.read(row.image), tmp_path / "out")
    metadata = _mathvista_sample(formats)
    assert [p.problem_id for p in problems] == ["mathvista/106", "mathvista/225", "mathvista/824", "mathvista/852"]
    assert [p.index for p in problems] == [0, 1, 2, 3]
    for p in problems:
        pid = p.problem_id.split("/")[1]
        source = (formats / "mathvista" / "images_from_notebook" / f"pid{pid}.png").read_bytes()
        stored = Path(p.meta["image_path"])
        assert stored == (tmp_path / "out" / f"{pid}.png").resolve()  # named by its real format
        assert stored.read_bytes() == source
        assert p.meta["image_sha256"] == hashlib.sha256(source).hexdigest()
        assert p.meta["image_format"] == "png" and p.meta["source_image"] == f"images/{pid}.jpg"
        size = metadata[pid]["metadata"]
        assert p.meta["image_size"] == [size["img_width"], size["img_height"]]
        assert verify_image(p) == stored
        # The ground truth, boxed, is right; another value is not.
        assert grade(p, f"<think>...</think> \\boxed{{{p.answer}}}").correct
        assert not grade(p, "<think>...</think> \\boxed{999}").correct


def test_real_mathvista_sample_loads_end_to_end_and_records_the_archive(formats, scratch_data_dir, monkeypatch, tmp_path):
    sample = (formats / "mathvista" / "testmini.sample5.json").read_bytes()
    sha = place_file(scratch_data_dir, MATHVISTA_ANNOTATIONS.relative_path, sample)
    monkeypatch.setattr(visual_files, "MATHVISTA_ANNOTATIONS", PinnedFile(
        MATHVISTA_ANNOTATIONS.relative_path, "lupantech/MathVista", "0" * 40, "data/testmini.json", sha))
    archive = _mathvista_sample_zip(formats)
    archive_sha = place_file(scratch_data_dir, MATHVISTA_IMAGES.relative_path, archive)
    # The pinned counts are the full file's: the 5-row sample is refused until they are changed.
    with pytest.raises(ReproError, match="1000 and 460"):
        load_visual_benchmark("mathvista-free", download=False, images_dir=tmp_path / "images")
    monkeypatch.setitem(visual_files.EXPECTED_COUNTS, "mathvista-free", (5, 4))
    problems, checksum, origin, selection = load_visual_benchmark("mathvista-free", download=False,
                                                                  images_dir=tmp_path / "images")
    assert selection == {"source_rows": 5, "kept": 4, "rule": "question_type == 'free_form'"}
    assert origin == "data folder" and len(problems) == 4
    assert recorded_sha256(MATHVISTA_IMAGES) == archive_sha  # recorded at first use
    assert all(Path(p.meta["image_path"]).parent == (tmp_path / "images" / "mathvista-free").resolve()
               for p in problems)
    again = load_visual_benchmark("mathvista-free", download=False, images_dir=tmp_path / "images")
    assert again[1] == checksum and [p.meta for p in again[0]] == [p.meta for p in problems]
    # A different archive later is refused, naming the record.
    place_file(scratch_data_dir, MATHVISTA_IMAGES.relative_path, archive + b"\0")
    with pytest.raises(ChecksumMismatchError, match="recorded at this file's first use"):
        load_visual_benchmark("mathvista-free", download=False, images_dir=tmp_path / "images")


def test_a_missing_image_archive_names_the_file_and_says_its_sha256_is_recorded(formats, scratch_data_dir, monkeypatch):
    sha = place_file(scratch_data_dir, MATHVISTA_ANNOTATIONS.relative_path,
                 (formats / "mathvista" / "testmini.sample5.json").read_bytes())
    monkeypatch.setattr(visual_files, "MATHVISTA_ANNOTATIONS", PinnedFile(
        MATHVISTA_ANNOTATIONS.relative_path, "lupantech/MathVista", "0" * 40, "data/testmini.json", sha))
    monkeypatch.setitem(visual_files.EXPECTED_COUNTS, "mathvista-free", (5, 4))
    with pytest.raises(DataMissingError) as caught:
        load_visual_benchmark("mathvista-free", download=False, images_dir=scratch_data_dir / "images")
    message = str(caught.value)
    assert "visual/mathvista/images.zip" in message and MATHVISTA_HUB_REVISION in message
    assert "recorded at first use" in message and "REPRO_DATA_DIR" in message


def test_real_mathvision_rows_are_filtered_and_their_image_matches_the_pin(formats, scratch_data_dir, monkeypatch, tmp_path):
    folder = formats / "mathvision"
    text = (folder / "testmini.sample5.jsonl").read_text(encoding="utf-8")
    rows, total = parse_mathvision(text)
    assert total == 5 and [row.source_id for row in rows] == ["4"]  # the other four have options
    assert rows[0].answer == "6" and rows[0].question.endswith("<image1>")
    assert rows[0].meta["answer_type"] is None and rows[0].meta["subject"] == "counting"
    # The real JPEG has exactly the pinned sha256.
    image = (folder / "images" / "4.jpg").read_bytes()
    assert hashlib.sha256(image).hexdigest() == MATHVISION_IMAGE_SHA256["4"]
    # End to end through the pinned-file machinery (rows re-pinned to the 5-row sample).
    sha = place_file(scratch_data_dir, MATHVISION_ROWS.relative_path, text.encode("utf-8"))
    monkeypatch.setattr(visual_files, "MATHVISION_ROWS", PinnedFile(
        MATHVISION_ROWS.relative_path, "mathllm/MATH-V", MATHVISION_COMMIT, "data/testmini.jsonl", sha))
    monkeypatch.setitem(visual_files.EXPECTED_COUNTS, "mathvision-open", (5, 1))
    with pytest.raises(DataMissingError, match="visual/mathvision/images/4.jpg"):
        load_visual_benchmark("mathvision-open", download=False, images_dir=tmp_path / "images")
    place_file(scratch_data_dir, "visual/mathvision/images/4.jpg", image)
    problems, checksum, origin, selection = load_visual_benchmark("mathvision-open", download=False,
                                                                  images_dir=tmp_path / "images")
    assert selection == {"source_rows": 5, "kept": 1, "rule": "options == []"}
    (only,) = problems
    assert only.problem_id == "mathvision/4" and only.index == 0 and only.answer == "6"
    assert only.meta["image_format"] == "jpg" and only.meta["image_size"] == [304, 290]
    assert Path(only.meta["image_path"]).read_bytes() == image
    assert grade(only, "<think>I count.</think> \\boxed{6}").correct
    place_file(scratch_data_dir, "visual/mathvision/images/4.jpg", image[:-10])
    with pytest.raises(ChecksumMismatchError, match=MATHVISION_IMAGE_SHA256["4"]):
        load_visual_benchmark("mathvision-open", download=False, images_dir=tmp_path / "images")


def test_malformed_rows_are_refused_clearly():
    good = {"question": "q", "image": "images/1.jpg", "choices": None, "unit": None, "precision": None,
            "answer": "1", "question_type": "free_form", "answer_type": "integer", "pid": "1", "metadata": {}}
    assert len(parse_mathvista({"1": good})[0]) == 1
    for change, message in (({"question_type": "open"}, "question_type"), ({"answer_type": "number"}, "answer_type"),
                            ({"pid": "2"}, "pid"), ({"answer": 1}, "strings"), ({"choices": ["a"]}, "choices"),
                            ({"answer_type": "float"}, "precision"), ({"precision": 1.5}, "precision")):
        with pytest.raises(ReproError, match=message):
            parse_mathvista({"1": {**good, **change}})
    with pytest.raises(ReproError, match="missing"):
        parse_mathvista({"1": {key: value for key, value in good.items() if key != "answer"}})
    with pytest.raises(ReproError, match="object keyed by pid"):
        parse_mathvista([good])
    row = {"id": "1", "question": "q", "options": [], "answer": "1", "solution": None, "level": 1,
           "subject": "counting", "image": "images/1.jpg"}
    assert len(parse_mathvision(json.dumps(row) + "\n\n")[0]) == 1
    with pytest.raises(ReproError, match="line 1"):
        parse_mathvision(json.dumps({**row, "options": "A"}))
    with pytest.raises(ReproError, match="line 2"):
        parse_mathvision(json.dumps(row) + "\n{not json\n")
    with pytest.raises(ReproError, match="strings"):
        parse_mathvision(json.dumps({**row, "id": 1}))


def test_zip_members_and_image_formats(tmp_path):
    archive = tmp_path / "images.zip"
    archive.write_bytes(_zip({"MathVista/images/1.jpg": _png(), "__MACOSX/images/._2.jpg": b"junk",
                              "images/3.jpg": b"not an image"}))
    with ZipImages(archive) as images:
        assert images.read("images/1.jpg") == _png()  # found under one more top folder
        with pytest.raises(ReproError, match="no member"):
            images.read("images/2.jpg")  # macOS metadata is not an image
    rows = [visual_files.VisualRow("3", "q", "1", "images/3.jpg")]
    with ZipImages(archive) as images, pytest.raises(ReproError, match="mathvista/3"):
        build_problems("mathvista-free", rows, lambda row: images.read(row.image), tmp_path / "out")
    truncated = _png((40, 40))[:-20]
    with pytest.raises(ReproError, match="cannot be decoded"):
        build_problems("mathvista-free", rows, lambda row: truncated, tmp_path / "out")
    assert image_format(b"RIFF\0\0\0\0WEBPVP8 ") == "webp" and image_format(b"GIF89a...") == "gif"
    assert image_format(b"\xff\xd8\xff\xe0") == "jpg"
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    with pytest.raises(ReproError, match="not a readable zip"):
        ZipImages(tmp_path / "bad.zip")


# ----------------------------------------------------------------------------- downloads


@pytest.fixture
def server(monkeypatch):
    running = LocalFileServer()
    for name in ("RAW_BASE_URL", "HF_BASE_URL"):
        monkeypatch.setattr(fetch, name, running.base)
    yield running
    running.close()


def test_the_image_archive_downloads_from_its_revision_and_is_recorded(server, tmp_path):
    url = f"/datasets/AI4Math/MathVista/resolve/{MATHVISTA_HUB_REVISION}/images.zip"
    first = _zip({"images/1.jpg": _png()})
    server.files[url] = first
    path, digest, origin = visual_files.resolve_recorded(MATHVISTA_IMAGES, download=True)
    assert origin == "downloaded" and path.read_bytes() == first
    assert digest == hashlib.sha256(first).hexdigest() == recorded_sha256(MATHVISTA_IMAGES)
    assert visual_files.resolve_recorded(MATHVISTA_IMAGES, download=True) == (path, digest, "cache")
    assert len(server.requests) == 1
    # The cached copy disappears and the server now sends other bytes: refused, not cached.
    path.unlink()
    server.files[url] = _zip({"images/1.jpg": _png(color=(0, 0, 0))})
    with pytest.raises(ChecksumMismatchError, match="recorded at its first use"):
        visual_files.resolve_recorded(MATHVISTA_IMAGES, download=True)
    assert not path.exists()
    # Once its sha256 is known, the archive is pinned like every other file.
    server.files[url] = first
    assert visual_files.resolve_recorded(MATHVISTA_IMAGES, download=True, known_sha256=digest)[1] == digest


def test_mathvision_images_download_from_the_pinned_commit(server, formats):
    image = (formats / "mathvision" / "images" / "4.jpg").read_bytes()
    server.files[f"/mathllm/MATH-V/{MATHVISION_COMMIT}/images/4.jpg"] = image
    path, origin = resolve(mathvision_image("images/4.jpg"))
    assert origin == "downloaded" and path.read_bytes() == image
    server.files[f"/mathllm/MATH-V/{MATHVISION_COMMIT}/images/5.jpg"] = image  # wrong bytes for id 5
    with pytest.raises(ChecksumMismatchError):
        resolve(mathvision_image("images/5.jpg"))


# ----------------------------------------------------------------------------- stand-ins


@pytest.mark.parametrize("key", VISUAL_KEYS)
def test_standins_are_deterministic_and_problem_i_does_not_depend_on_the_count(key, tmp_path):
    first = write_visual_standins(key, tmp_path / "a", 12).parent
    second = write_visual_standins(key, tmp_path / "b", 12).parent
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for relative in files:
        assert (first / relative).read_bytes() == (second / relative).read_bytes(), relative
    small, _, _ = load_visual_standin(key, 5, tmp_path / "a", tmp_path / "images")
    large, _, _ = load_visual_standin(key, 12, tmp_path / "a", tmp_path / "images")
    for a, b in zip(small, large[:5], strict=True):
        assert (a.problem_id, a.question, a.answer, a.meta["image_sha256"]) == \
            (b.problem_id, b.question, b.answer, b.meta["image_sha256"])


def test_mathvista_standin_has_the_real_format_and_multi_choice_rows_to_drop(tmp_path):
    path = write_visual_standins("mathvista-free", tmp_path, 10)
    text = path.read_text(encoding="utf-8")
    data = json.loads(text)
    assert text == json.dumps(data, indent=4)  # the upstream serialization
    keys = ["question", "image", "choices", "unit", "precision", "answer", "question_type", "answer_type", "pid",
            "metadata"]
    assert all(list(entry) == keys for entry in data.values())
    assert list(data) == [str(i) for i in range(1, len(data) + 1)]
    dropped = [e for e in data.values() if e["question_type"] == "multi_choice"]
    assert dropped and all(e["choices"] and e["answer"] in e["choices"] for e in dropped)
    kept = [e for e in data.values() if e["question_type"] == "free_form"]
    assert len(kept) == 10 and len(data) == 10 + len(dropped)
    assert {e["answer_type"] for e in kept} == {"integer", "float", "list"}
    assert {e["precision"] for e in kept if e["answer_type"] == "float"} == {1, 2}
    assert any(e["unit"] == "years" for e in kept)
    with zipfile.ZipFile(path.parent / "images.zip") as archive:
        names = archive.namelist()
    assert names == [e["image"] for e in data.values()]  # every row has its image, dropped ones too
    problems, checksum, selection = load_visual_standin("mathvista-free", 10, tmp_path, tmp_path / "images")
    assert selection == {"source_rows": len(data), "kept": 10, "rule": "question_type == 'free_form'"}
    assert [p.index for p in problems] == list(range(10))
    assert [p.problem_id for p in problems] == [f"mathvista/{e['pid']}" for e in kept]
    assert len(checksum) == 64


def test_mathvision_standin_has_the_real_format_and_rows_with_options_to_drop(tmp_path):
    path = write_visual_standins("mathvision-open", tmp_path, 9)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert all(list(row) == ["id", "question", "options", "answer", "solution", "level", "subject", "image"]
               for row in rows)
    assert all(isinstance(row["id"], str) and row["image"] == f"images/{row['id']}.jpg" for row in rows)
    dropped = [row for row in rows if row["options"]]
    assert dropped and all(len(row["options"]) == 5 and row["answer"] in "ABCDE" for row in dropped)
    assert all((path.parent / row["image"]).is_file() for row in rows)
    problems, _, selection = load_visual_standin("mathvision-open", 9, tmp_path, tmp_path / "images")
    assert selection == {"source_rows": len(rows), "kept": 9, "rule": "options == []"}
    answers = [p.answer for p in problems]
    assert any(a.isdigit() for a in answers) and any("." in a for a in answers)
    assert any(a in ("A", "B", "C") for a in answers) and any(a.startswith("(") for a in answers)


@pytest.mark.parametrize("key", VISUAL_KEYS)
def test_every_standin_reference_answer_is_graded_correct_and_a_wrong_one_wrong(key, tmp_path):
    problems, _, _ = load_visual_standin(key, 20, tmp_path, tmp_path / "images")
    for p in problems:
        reference = p.meta["reference_answer_text"]
        assert reference.startswith("<think>") and "\\boxed{" in reference
        assert grade(p, reference).correct, (p.problem_id, p.answer, reference)
        assert easyr1_accuracy(reference, p.answer), (p.problem_id, reference)  # no extra rule needed
        assert not grade(p, "<think>I guess.</think> \\boxed{999}").correct
        assert not grade(p, reference.replace("\\boxed", "")).correct
        assert p.meta["image_format"] == "png" and p.meta["image_size"] == [112, 84]


@pytest.mark.parametrize("key", VISUAL_KEYS)
def test_a_changed_or_missing_image_is_refused(key, tmp_path):
    problems, checksum, _ = load_visual_standin(key, 3, tmp_path, tmp_path / "images")
    target = problems[0]
    path = verify_image(target)
    assert path.is_file()
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(ChecksumMismatchError, match=target.problem_id):
        verify_image(target)
    path.unlink()
    with pytest.raises(DataMissingError, match="load the benchmark again"):
        verify_image(target)
    # Loading again restores the image from its source, with the same checksum.
    again, checksum_again, _ = load_visual_standin(key, 3, tmp_path, tmp_path / "images")
    assert checksum_again == checksum and verify_image(again[0]) == path
