"""Math benchmark files: pinned sources, verification, cache and download, and the problems
read as the paper's evaluator reads them.

No test reaches the internet: every download goes to a local HTTP server on 127.0.0.1
(or to a closed local port), and the cache is a temporary folder. Tests on the real files
use REPRO_DATA_DIR and skip without it.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from pathlib import Path

import pytest

from repro.benchmarks import BENCHMARKS, OMNI_SPLIT_NOTE
from repro.benchmarks import fetch
from repro.benchmarks import math_files
from repro.benchmarks.fetch import ChecksumMismatchError, DataMissingError, PinnedFile, resolve
from repro.benchmarks.loading import load_benchmark
from repro.benchmarks.math_files import (
    MATH_SOURCES,
    SYNTHETIC_NOTE,
    answer_after_hashes,
    boxed_or_plain_answer,
    evaluator_boxed,
    first_final_answer,
    math_file,
    question_of,
)


def has_real_data(key: str) -> bool:
    """Whether a benchmark's file is here already (data folder or cache), without network."""
    from repro.benchmarks import get_benchmark

    return math_file(get_benchmark(key).data.file) is not None
from tests.conftest import LocalFileServer, no_download_waits

SIZES = {"gsm8k": 1319, "math500": 500, "minerva": 272, "olympiad": 675, "aime24": 30, "amc23": 40,
         "omni-math-train": 2000, "omni-math-test": 821}
OFFICIAL = "https://raw.githubusercontent.com/LeapLabTHU/limit-of-RLVR/fd2cf37f05cc7dced9c558fa358a18e0497cb463"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens there once the socket is closed


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """A private cache, no data folder, downloads aimed at a closed local port, no proxy."""
    monkeypatch.setenv("REPRO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("REPRO_DATA_DIR", raising=False)  # the real_data fixture sets it again
    monkeypatch.delenv("REPRO_OFFLINE", raising=False)
    for proxy in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(proxy, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setattr(fetch, "RAW_BASE_URL", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setattr(fetch, "DOWNLOAD_TIMEOUT_S", 5.0)
    no_download_waits(monkeypatch)
    return tmp_path


# Read before any test runs: the autouse fixture below hides it from the other tests.
_REAL_DATA_DIR = os.environ.get("REPRO_DATA_DIR")


@pytest.fixture
def real_data(monkeypatch) -> Path:
    """The real files (REPRO_DATA_DIR, which CI sets); skips without them."""
    if not _REAL_DATA_DIR or not Path(_REAL_DATA_DIR, "math").is_dir():
        pytest.skip("REPRO_DATA_DIR is not set to a folder with math/*/test.jsonl")
    monkeypatch.setenv("REPRO_DATA_DIR", _REAL_DATA_DIR)
    monkeypatch.setenv("REPRO_OFFLINE", "1")
    return Path(_REAL_DATA_DIR)


@pytest.fixture
def server(monkeypatch):
    running = LocalFileServer()
    monkeypatch.setattr(fetch, "RAW_BASE_URL", running.base)
    yield running
    running.close()


TINY_ROWS = [{"question": "What is 1 + 1?", "answer": "2", "id": "0"},
             {"question": "  What is 2 + 2?  ", "answer": "4", "id": "1"}]
TINY = "".join(json.dumps(row) + "\n" for row in TINY_ROWS).encode()


@pytest.fixture
def tiny_aime(monkeypatch) -> PinnedFile:
    """Stand AIME24's pinned file in for a tiny one the test server can serve."""
    pinned = PinnedFile("math/aime24/test.jsonl", "owner/repo", "0" * 40, "data/aime24/test.jsonl",
                        hashlib.sha256(TINY).hexdigest())
    monkeypatch.setitem(MATH_SOURCES, "aime24", pinned)
    return pinned


def _url_path(pinned: PinnedFile) -> str:
    return f"/{pinned.repo}/{pinned.commit}/{pinned.path}"


def _cache_files(tmp_path: Path) -> list[Path]:
    root = tmp_path / "cache"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


# ----------------------------------------------------------------------------- pinned sources


def test_every_file_has_a_pinned_public_url():
    for key, folder in (("gsm8k", "gsm8k"), ("math500", "math500"), ("minerva", "minerva_math"),
                        ("olympiad", "olympiadbench"), ("aime24", "aime24"), ("amc23", "amc23")):
        assert MATH_SOURCES[key].pinned_url == f"{OFFICIAL}/math/examples/math_eval/data/{folder}/test.jsonl"
        assert MATH_SOURCES[key].relative_path == f"math/{folder}/test.jsonl"
    assert MATH_SOURCES["omni-math-rule"].pinned_url == (
        "https://raw.githubusercontent.com/KbsdJames/omni-math-rule/4793415ef37d31c9cdb4e5b82dbe172f76f8cf08/"
        "evaluation/data/omni_math_rule/test.jsonl")
    for pinned in MATH_SOURCES.values():
        assert len(pinned.commit) == 40 and len(pinned.sha256) == 64


# ----------------------------------------------------------------------------- real files


def test_real_files_match_their_pins_and_sizes(real_data):
    for key, pinned in MATH_SOURCES.items():
        assert fetch.sha256_of(real_data / pinned.relative_path) == pinned.sha256, key
    for key, size in SIZES.items():
        loaded = load_benchmark(key, allow_synthetic=False)
        assert (len(loaded.problems), loaded.synthetic, loaded.origin) == (size, False, "data folder"), key
        assert has_real_data(key)
        # The evaluator's idx: position in the file; ids are unique.
        assert len({p.problem_id for p in loaded.problems}) == size


def _problems(key: str):
    return load_benchmark(key, allow_synthetic=False).problems


def test_ground_truth_spot_checks(real_data):
    gsm8k = _problems("gsm8k")
    assert gsm8k[0].answer == "18" and gsm8k[1318].answer == "14"
    assert gsm8k[146].answer == "2,125"  # thousands separators kept, as the evaluator keeps them
    math500 = _problems("math500")
    assert math500[0].answer == "\\left( 3, \\frac{\\pi}{2} \\right)"
    assert math500[45].answer == "2"  # several \boxed{} in the solution: the last one
    minerva = _problems("minerva")
    assert [p.answer for p in minerva[:3]] == ["1.6", "4.5e33", "41.8"]
    assert minerva[0].meta["data_name"] == "minerva_math"  # its grader keeps units
    olympiad = _problems("olympiad")
    assert olympiad[0].answer == "2"
    assert olympiad[1].answer == "\\frac{1}{2 n+2}"  # "$" stripped
    assert olympiad[5].answer == "(1,8,19), (2,7,13), (4,5,7)"
    assert olympiad[13].answer == "69$,$84"  # only the outer "$" go, as in the evaluator
    assert [p.answer for p in _problems("aime24")[:3]] == ["204", "113", "371"]
    amc23 = _problems("amc23")
    assert amc23[0].answer == "27.0" and amc23[39].answer == "8.0"  # stored as floats


def test_math500_boxed_answers_equal_its_answer_field(real_data):
    rows, _, _ = math_files.read_verified_rows("math500")
    assert [p.answer for p in _problems("math500")] == [row["answer"] for row in rows]


def test_questions_are_built_as_the_evaluator_builds_them(real_data):
    assert _problems("olympiad")[2].question.startswith("Find (in closed form)")  # leading newline stripped
    assert _problems("amc23")[30].question.endswith("afford to buy?")  # trailing space stripped
    for key in ("gsm8k", "math500", "minerva", "olympiad", "aime24", "amc23"):
        for problem in _problems(key):
            assert problem.question and problem.question == problem.question.strip()
            assert "(Yes or No)" not in problem.question and "(True or False)" not in problem.question


def test_omni_math_rule_parts(real_data):
    train = _problems("omni-math-train")
    test = _problems("omni-math-test")
    ids = {p.problem_id for p in train} | {p.problem_id for p in test}
    assert len(ids) == 2821 and not {p.problem_id for p in train} & {p.problem_id for p in test}
    boxed = {p.problem_id: p for p in train + test if "raw_answer" in p.meta}
    assert len(boxed) == 19
    assert boxed["omni-math-rule/0044"].answer == "60"
    assert boxed["omni-math-rule/0044"].meta["raw_answer"] == "\\boxed{60}"
    # The split is a fixed function of the file, pinned here so that it never changes unnoticed.
    assert [p.problem_id for p in test[:3]] == ["omni-math-rule/0000", "omni-math-rule/0006", "omni-math-rule/0007"]
    digest = hashlib.sha256(" ".join(p.problem_id for p in test).encode()).hexdigest()
    assert digest == "43e577cbbead7936bf046f6595cad8ab79419e81256fed81cbe27e42fcc1e49e"


# ----------------------------------------------------------------------------- verification


def test_an_altered_file_in_the_data_folder_is_refused(tmp_path, monkeypatch):
    pinned = MATH_SOURCES["math500"]
    path = tmp_path / "data" / pinned.relative_path
    path.parent.mkdir(parents=True)
    path.write_text('{"problem": "q", "solution": "\\\\boxed{1}"}\n')
    monkeypatch.setenv("REPRO_DATA_DIR", str(tmp_path / "data"))
    with pytest.raises(ChecksumMismatchError, match=pinned.sha256) as caught:
        load_benchmark("math500", allow_synthetic=False)
    assert str(path) in str(caught.value)
    # The smoke tier refuses it too: an altered file is never quietly replaced by a stand-in.
    with pytest.raises(ChecksumMismatchError):
        load_benchmark("math500", allow_synthetic=True)


def test_an_altered_cached_file_is_refused(tmp_path, tiny_aime, monkeypatch):
    cached = tmp_path / "cache" / tiny_aime.relative_path
    cached.parent.mkdir(parents=True)
    cached.write_bytes(TINY + b"\n")
    monkeypatch.setenv("REPRO_OFFLINE", "1")
    with pytest.raises(ChecksumMismatchError, match=tiny_aime.sha256):
        load_benchmark("aime24", allow_synthetic=False)


def test_the_data_folder_comes_before_the_cache(tmp_path, tiny_aime, monkeypatch):
    for root in (tmp_path / "data", tmp_path / "cache"):
        (root / tiny_aime.relative_path).parent.mkdir(parents=True)
        (root / tiny_aime.relative_path).write_bytes(TINY)
    monkeypatch.setenv("REPRO_DATA_DIR", str(tmp_path / "data"))
    assert resolve(tiny_aime, download=False) == (tmp_path / "data" / tiny_aime.relative_path, "data folder")


# ----------------------------------------------------------------------------- cache and download


def test_a_cached_file_is_used_without_network(tmp_path, tiny_aime, monkeypatch):
    cached = tmp_path / "cache" / tiny_aime.relative_path
    cached.parent.mkdir(parents=True)
    cached.write_bytes(TINY)
    monkeypatch.setenv("REPRO_OFFLINE", "1")
    loaded = load_benchmark("aime24", allow_synthetic=False)
    assert loaded.origin == "cache" and loaded.checksum == tiny_aime.sha256
    assert [p.answer for p in loaded.problems] == ["2", "4"]
    assert loaded.problems[1].question == "What is 2 + 2?"
    assert has_real_data("aime24")


def test_download_goes_through_the_cache_once(tmp_path, tiny_aime, server):
    server.files[_url_path(tiny_aime)] = TINY
    assert not has_real_data("aime24")
    first = load_benchmark("aime24", allow_synthetic=False)
    assert first.origin == "downloaded" and len(first.problems) == 2
    assert _cache_files(tmp_path) == [tmp_path / "cache" / tiny_aime.relative_path]
    second = load_benchmark("aime24", allow_synthetic=False)
    assert second.origin == "cache" and second.problems == first.problems
    assert server.requests == [_url_path(tiny_aime)]


def test_altered_bytes_from_the_server_are_refused_and_not_cached(tmp_path, tiny_aime, server):
    server.files[_url_path(tiny_aime)] = TINY.replace(b"1 + 1", b"1 + 2")
    with pytest.raises(ChecksumMismatchError) as caught:
        load_benchmark("aime24", allow_synthetic=False)
    message = str(caught.value)
    assert tiny_aime.sha256 in message and server.base + _url_path(tiny_aime) in message
    assert _cache_files(tmp_path) == []  # no file, and no partial file either


def test_a_server_that_is_down_gives_a_clear_error(tmp_path, tiny_aime):
    # The autouse fixture aims downloads at a closed port.
    with pytest.raises(DataMissingError) as caught:
        load_benchmark("aime24", allow_synthetic=False)
    message = str(caught.value)
    assert tiny_aime.relative_path in message and tiny_aime.sha256 in message
    assert f"{fetch.RAW_BASE_URL}/{tiny_aime.repo}/{tiny_aime.commit}/{tiny_aime.path}" in message
    assert _cache_files(tmp_path) == []


def test_a_missing_remote_file_gives_a_clear_error(tiny_aime, server):
    with pytest.raises(DataMissingError, match="404"):
        load_benchmark("aime24", allow_synthetic=False)


def test_offline_mode_never_downloads(tiny_aime, server, monkeypatch):
    server.files[_url_path(tiny_aime)] = TINY
    monkeypatch.setenv("REPRO_OFFLINE", "1")
    with pytest.raises(DataMissingError) as caught:
        load_benchmark("aime24", allow_synthetic=False)
    message = str(caught.value)
    assert "REPRO_OFFLINE" in message and tiny_aime.pinned_url in message and tiny_aime.sha256 in message
    assert server.requests == []


def test_the_smoke_tier_never_downloads(tiny_aime, server):
    server.files[_url_path(tiny_aime)] = TINY
    loaded = load_benchmark("aime24", allow_synthetic=True)
    assert loaded.synthetic and loaded.origin == "synthetic" and SYNTHETIC_NOTE in loaded.notes
    assert server.requests == []


def test_prefetch_resolves_every_file(tmp_path, server, monkeypatch):
    for key, pinned in list(MATH_SOURCES.items()):
        body = f'{{"question": "{key}", "answer": "1"}}\n'.encode()
        monkeypatch.setitem(MATH_SOURCES, key, PinnedFile(pinned.relative_path, pinned.repo, pinned.commit,
                                                          pinned.path, hashlib.sha256(body).hexdigest()))
        server.files[_url_path(pinned)] = body
    resolved = math_files.prefetch()
    assert {origin for _, origin in resolved.values()} == {"downloaded"}
    assert len(_cache_files(tmp_path)) == len(MATH_SOURCES)


# ----------------------------------------------------------------------------- rules on small rows


def test_gsm8k_ground_truth_keeps_commas_and_strips_space():
    assert answer_after_hashes({"answer": "work <<1+1=2>>\n#### 1,600"}) == "1,600"


def test_the_evaluators_boxed_rule():
    assert evaluator_boxed("a \\boxed{1} b \\boxed{\\frac{1}{2}} c") == "\\frac{1}{2}"
    assert evaluator_boxed("\\boxed 5$ and more") == "5"  # no brace: up to the next "$"
    assert evaluator_boxed("\\boxed{unclosed {x}") == "unclosed {x}"  # never closed: the rest
    assert evaluator_boxed("ends with boxed") == ""


def test_olympiad_and_omni_rules():
    assert first_final_answer({"final_answer": ["$x^2$", "$y$"]}) == "x^2"
    assert boxed_or_plain_answer({"answer": "\\[\n\\boxed{\\frac{1}{2}}\n\\]"}) == "\\frac{1}{2}"
    assert boxed_or_plain_answer({"answer": "\\frac{1}{2}"}) == "\\frac{1}{2}"


def test_yes_no_questions_get_the_evaluators_suffix():
    # Appended before the strip, as the evaluator does (hence two spaces here).
    assert question_of({"question": " Is 2 prime? "}, "Yes") == "Is 2 prime?  (Yes or No)"
    assert question_of({"problem": "Claim.", "question": "Q?"}, "$\\text{False}$") == "Q? (True or False)"
    assert question_of({"problem": "P"}, "3") == "P"


# ----------------------------------------------------------------------------- notes


def test_omni_parts_carry_the_unpublished_split_note(tmp_path, monkeypatch):
    monkeypatch.setenv("REPRO_OFFLINE", "1")
    for key in ("omni-math-train", "omni-math-test"):
        assert BENCHMARKS[key].note == OMNI_SPLIT_NOTE and "unpublished" in OMNI_SPLIT_NOTE
        stand_in = load_benchmark(key, allow_synthetic=True)
        assert OMNI_SPLIT_NOTE in stand_in.notes and OMNI_SPLIT_NOTE in stand_in.note


def test_real_omni_parts_carry_the_note(real_data):
    loaded = load_benchmark("omni-math-test", allow_synthetic=False)
    assert loaded.notes == (OMNI_SPLIT_NOTE,)
    assert load_benchmark("math500", allow_synthetic=False).notes == ()


def test_default_cache_location(tmp_path, monkeypatch):
    monkeypatch.delenv("REPRO_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert fetch.cache_dir() == tmp_path / "xdg" / "repro" / "benchmarks"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert fetch.cache_dir() == tmp_path / "home" / ".cache" / "repro" / "benchmarks"
