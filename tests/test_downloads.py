"""Downloads resume, retry and verify (repro.benchmarks.transfer), against a local server.

Plain URLs go through our Range-resuming loop over `requests`; hub files through
huggingface_hub's hf_hub_download, aimed at the local server (which answers the hub's HEAD
with X-Repo-Commit and ETag). No test waits: the retry sleeps are recorded, not slept.
"""

from __future__ import annotations

import gzip
import hashlib

import pytest

from repro.benchmarks import fetch, transfer
from repro.progress import size as _size
from repro.benchmarks.fetch import ChecksumMismatchError, DataMissingError, PinnedFile, PinnedHubFile, \
    PinnedReleaseAsset, resolve
from tests.conftest import LocalFileServer, no_download_waits

BODY = bytes(range(256)) * 4096  # 1 MiB, every byte value
SHA = hashlib.sha256(BODY).hexdigest()
COMMIT = "c" * 40


@pytest.fixture
def waits(isolated_downloads, monkeypatch):
    return no_download_waits(monkeypatch)


@pytest.fixture
def server(isolated_downloads, monkeypatch):
    running = LocalFileServer()
    for name in ("RAW_BASE_URL", "HF_BASE_URL", "GITHUB_BASE_URL"):
        monkeypatch.setattr(fetch, name, running.base)
    yield running
    running.close()


def _raw(sha256: str = SHA) -> PinnedFile:
    return PinnedFile("math/tiny/test.jsonl", "owner/repo", COMMIT, "data/test.jsonl", sha256)


def _hub(sha256: str = SHA) -> PinnedHubFile:
    return PinnedHubFile("code/tiny/test.jsonl", "owner/data", COMMIT, "test.jsonl", sha256)


RAW_PATH = f"/owner/repo/{COMMIT}/data/test.jsonl"
HUB_PATH = f"/datasets/owner/data/resolve/{COMMIT}/test.jsonl"


def _leftovers(root) -> list[str]:
    """Every hidden file or folder under the cache: part files, the hub client's staging folders."""
    cache = root / "cache"
    return sorted(str(p.relative_to(cache)) for p in cache.rglob(".*")) if cache.exists() else []


def _resumed_at(ranges: list[str | None], most: int) -> int:
    """The offset of the second request of a transfer cut after `most` bytes (0 < offset <= most)."""
    assert len(ranges) == 2 and ranges[0] is None, ranges
    offset = int(ranges[1].removeprefix("bytes=").removesuffix("-"))
    assert 0 < offset <= most, ranges
    return offset


# ----------------------------------------------------------------------------- plain URLs


def test_a_dropped_connection_is_resumed_with_range_and_verified(server, waits, isolated_downloads, capsys):
    server.files[RAW_PATH] = BODY
    server.cut_after[RAW_PATH] = 300_000
    path, origin = resolve(_raw())
    assert origin == "downloaded" and path.read_bytes() == BODY
    offset = _resumed_at(server.ranges, 300_000)  # the second request asked for the rest only
    assert len(waits) == 1 and _leftovers(isolated_downloads) == []
    # without a terminal: progress lines, the second try's saying where it resumed
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "download math/tiny/test.jsonl: 1.05 MB to do"
    assert lines[1].startswith("download math/tiny/test.jsonl: stopped at ")
    assert lines[2] == f"download math/tiny/test.jsonl: {_size(len(BODY) - offset)} to do (resumed at {_size(offset)})"
    assert lines[3].startswith("download math/tiny/test.jsonl: 1.05 MB/1.05 MB done in ")


def _left_part_file(pinned, root, content: bytes):
    """A killed run's part file beside the download's destination (named by its URL's hash);
    returns the destination."""
    destination = root / "cache" / pinned.relative_path
    destination.parent.mkdir(parents=True)
    tag = hashlib.sha256(pinned.url.encode()).hexdigest()[:12]
    (destination.parent / f".{destination.name}.{tag}.part").write_bytes(content)
    return destination


def test_a_part_file_of_a_killed_run_is_resumed(server, waits, isolated_downloads):
    server.files[RAW_PATH] = BODY
    pinned = _raw()
    destination = _left_part_file(pinned, isolated_downloads, BODY[:1000])
    assert resolve(pinned) == (destination, "downloaded") and destination.read_bytes() == BODY
    assert server.ranges == ["bytes=1000-"] and _leftovers(isolated_downloads) == []


def test_a_server_that_always_fails_is_retried_then_one_clear_error(server, waits, isolated_downloads):
    server.files[RAW_PATH] = BODY
    server.fail_status = 503
    with pytest.raises(DataMissingError) as caught:
        resolve(_raw())
    message = str(caught.value)
    assert "\n" not in message and f"after {transfer.ATTEMPTS} tries" in message and "HTTP 503" in message
    assert SHA in message and RAW_PATH in message
    assert len(server.requests) == transfer.ATTEMPTS
    assert waits == [2.0, 4.0, 8.0, 16.0]  # exponential backoff between the tries
    assert not (isolated_downloads / "cache" / "math" / "tiny" / "test.jsonl").exists()


def test_a_missing_file_is_not_retried(server, waits):
    with pytest.raises(DataMissingError) as caught:
        resolve(_raw())
    message = str(caught.value)
    assert "HTTP 404" in message and "math/tiny/test.jsonl" in message and SHA in message
    assert len(server.requests) == 1 and waits == []


def test_a_complete_part_file_is_finished_without_downloading_again(server, waits, isolated_downloads):
    # a run killed between the last byte and the rename: the server answers 416 to the Range
    server.files[RAW_PATH] = BODY
    pinned = _raw()
    destination = _left_part_file(pinned, isolated_downloads, BODY)
    assert resolve(pinned) == (destination, "downloaded") and destination.read_bytes() == BODY
    assert server.ranges == [f"bytes={len(BODY)}-"] and _leftovers(isolated_downloads) == []


def test_a_wrong_sha256_is_refused_and_the_partial_file_removed(server, waits, isolated_downloads):
    server.files[RAW_PATH] = BODY
    server.cut_after[RAW_PATH] = 5000  # resumed first: the whole file is then checked
    with pytest.raises(ChecksumMismatchError, match="refused, nothing was cached"):
        resolve(_raw("0" * 64))
    assert _leftovers(isolated_downloads) == []
    assert not (isolated_downloads / "cache" / "math" / "tiny" / "test.jsonl").exists()
    # the right bytes come through on the next try, from the start
    server.ranges.clear()
    assert resolve(_raw())[1] == "downloaded" and server.ranges == [None]


def test_a_resumed_gzip_asset_is_stored_decompressed(server, waits, isolated_downloads):
    content = b'{"task_id": "Mbpp/2"}\n' * 50_000
    packed = gzip.compress(content)
    asset = PinnedReleaseAsset("code/evalplus/Tiny.jsonl", "owner/release", "v1", "Tiny.jsonl.gz",
                               hashlib.sha256(content).hexdigest(), gunzip=True)
    url = "/owner/release/releases/download/v1/Tiny.jsonl.gz"
    server.files[url] = packed
    server.cut_after[url] = len(packed) // 2
    path, origin = resolve(asset)
    assert origin == "downloaded" and path.read_bytes() == content and len(server.requests) == 2
    assert _leftovers(isolated_downloads) == []


def test_a_server_that_ignores_range_restarts_the_file(server, waits, isolated_downloads):
    # a 200 to a Range request: the part file is rewritten from the start, not appended to
    server.files[RAW_PATH] = BODY
    server.honour_range = False
    pinned = _raw()
    destination = isolated_downloads / "cache" / pinned.relative_path
    destination.parent.mkdir(parents=True)
    tag = hashlib.sha256(pinned.url.encode()).hexdigest()[:12]
    (destination.parent / f".test.jsonl.{tag}.part").write_bytes(b"stale bytes")
    assert resolve(pinned)[1] == "downloaded" and destination.read_bytes() == BODY
    assert server.ranges == ["bytes=11-"]


# ----------------------------------------------------------------------------- hub files


def test_a_hub_file_goes_through_huggingface_hub_at_its_revision(server, waits, isolated_downloads, capsys):
    server.files[HUB_PATH] = BODY
    path, origin = resolve(_hub())
    assert origin == "downloaded" and path.read_bytes() == BODY
    assert server.heads == [HUB_PATH] and server.requests == [HUB_PATH]  # the hub's HEAD, then the GET
    lines = capsys.readouterr().err.splitlines()  # the client's bars, drawn as our progress lines
    assert lines[0] == "download code/tiny/test.jsonl: 1.05 MB to do"
    assert lines[-1].startswith("download code/tiny/test.jsonl: 1.05 MB/1.05 MB done in ")
    assert _leftovers(isolated_downloads) == []  # the client's staging folder is gone
    assert resolve(_hub()) == (path, "cache") and server.requests == [HUB_PATH]


def test_a_dropped_hub_transfer_is_resumed_by_the_client(server, waits, isolated_downloads, monkeypatch):
    from huggingface_hub import constants

    # the client writes 10 MB chunks; smaller ones let a 1 MiB file be resumed part-way
    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 1 << 16)
    server.files[HUB_PATH] = BODY
    server.cut_after[HUB_PATH] = 400_000
    path, origin = resolve(_hub())
    assert origin == "downloaded" and path.read_bytes() == BODY
    _resumed_at(server.ranges, 400_000)
    assert _leftovers(isolated_downloads) == []


def test_a_hub_file_with_a_wrong_sha256_is_refused_and_removed(server, waits, isolated_downloads):
    server.files[HUB_PATH] = BODY
    with pytest.raises(ChecksumMismatchError, match="refused, nothing was cached"):
        resolve(_hub("0" * 64))
    assert _leftovers(isolated_downloads) == []
    assert not (isolated_downloads / "cache" / "code" / "tiny" / "test.jsonl").exists()


def test_a_hub_that_always_fails_gives_one_clear_error(server, waits):
    server.files[HUB_PATH] = BODY
    server.fail_status = 500
    with pytest.raises(DataMissingError) as caught:
        resolve(_hub())
    message = str(caught.value)
    assert "\n" not in message and "code/tiny/test.jsonl" in message and SHA in message
    assert "huggingface.co/datasets/owner/data/resolve/" in message  # the public address, not the test's
    assert len(server.heads) > 1 and waits  # the client retried, with waits between
