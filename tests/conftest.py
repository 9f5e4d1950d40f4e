"""Shared test helpers.

Environment variables the tests read (each test that needs one skips without it):
- REPRO_SHARED_DIR: the read-only shared folder beside the project (paper, data);
- REPRO_DATA_DIR: a data folder with math/<benchmark>/test.jsonl (e.g. <shared>/data).
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from repro.results import RunResult


@pytest.fixture(autouse=True, scope="session")
def _sandbox_services_of_this_session(tmp_path_factory):
    """`repro sandbox` commands that tests run start sandbox services (repro/sandbox_client.py):
    their sockets go to a folder of this session's, and they end with it (SIGTERM to the peer
    of each socket), not a minute later."""
    import signal
    import struct

    from repro import sandbox_client

    folder = tmp_path_factory.mktemp("runtime")
    saved = {name: os.environ.get(name) for name in ("XDG_RUNTIME_DIR", sandbox_client.IDLE_ENV)}
    os.environ["XDG_RUNTIME_DIR"] = str(folder)
    os.environ[sandbox_client.IDLE_ENV] = "15"
    yield
    for path in (folder / "repro-sandbox").glob("*.sock"):
        connection = sandbox_client.connect(str(path))
        if connection is not None:
            with connection:
                pid, _, _ = struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                                      struct.calcsize("3i")))
            os.kill(pid, signal.SIGTERM)
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def shared_dir() -> Path | None:
    value = os.environ.get("REPRO_SHARED_DIR")
    return Path(value) if value and Path(value).is_dir() else None


@pytest.fixture
def data_dir() -> Path:
    value = os.environ.get("REPRO_DATA_DIR")
    if not value or not Path(value, "math").is_dir():
        pytest.skip("REPRO_DATA_DIR is not set to a folder with math/*/test.jsonl")
    return Path(value)


def simulated_result(arm: str, benchmark: str, p: np.ndarray, n: int, rng: np.random.Generator) -> RunResult:
    """A RunResult with c_i ~ Binomial(n, p_i): what a run of a model with these success
    probabilities would produce."""
    c = rng.binomial(n, p)
    ids = tuple(f"{benchmark}/{i:04d}" for i in range(len(p)))
    return RunResult(arm, benchmark, ids, tuple(range(len(p))), np.full(len(p), n), c, backend="test")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def isolated_downloads(tmp_path, monkeypatch):
    """A private cache, no data folder, downloads aimed at a closed local port, no proxy: a
    loader test can neither read this machine's data nor reach the network by accident."""
    from repro.benchmarks import fetch

    monkeypatch.setenv("REPRO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("REPRO_DATA_DIR", raising=False)
    monkeypatch.delenv("REPRO_OFFLINE", raising=False)
    for proxy in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(proxy, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    closed = f"http://127.0.0.1:{_closed_port()}"
    for name in ("RAW_BASE_URL", "HF_BASE_URL", "GITHUB_BASE_URL"):
        monkeypatch.setattr(fetch, name, closed)
    monkeypatch.setattr(fetch, "DOWNLOAD_TIMEOUT_S", 5.0)
    no_download_waits(monkeypatch)
    return tmp_path


@pytest.fixture
def formats() -> Path:
    """The real rows of the code and visual datasets (shared folder), or skip."""
    root = shared_dir()
    if root is None:
        pytest.skip("REPRO_SHARED_DIR is not set")
    return root / "data" / "formats"


class LocalFileServer:
    """Serves `files` (URL path -> bytes) on 127.0.0.1 and records the requested paths: the
    download code is tested against it, never against the network.

    It speaks as much HTTP as the two download clients need: GET with `Range: bytes=N-` (206
    and Content-Range; 416 past the end), and HEAD with the headers huggingface_hub reads from
    the hub's resolve endpoint (X-Repo-Commit, taken from `/resolve/<commit>/` in the path, and
    an ETag). `requests` records the GETs, `heads` the HEADs. `cut_after[path] = n` makes the
    next GET of that path send a full Content-Length but close the connection after n bytes
    (once); `fail_status = code` answers every request with that status; `honour_range = False`
    answers a Range request with the whole file."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        self.heads: list[str] = []
        self.ranges: list[str | None] = []
        self.cut_after: dict[str, int] = {}
        self.fail_status: int | None = None
        self.honour_range = True  # False: answer a Range request with the whole file (200)
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _headers_for(self, body: bytes) -> None:
                commit = re.search(r"/resolve/([0-9a-f]{40})/", self.path)
                if commit:
                    self.send_header("X-Repo-Commit", commit.group(1))
                self.send_header("ETag", f'"{hashlib.sha256(body).hexdigest()}"')
                self.send_header("Accept-Ranges", "bytes")

            def _refuse(self) -> bool:
                if server.fail_status is not None:
                    self.send_error(server.fail_status)
                    return True
                if self.path not in server.files:
                    self.send_error(404)
                    return True
                return False

            def do_HEAD(self):  # noqa: N802 (http.server's name)
                server.heads.append(self.path)
                if self._refuse():
                    return
                body = server.files[self.path]
                self.send_response(200)
                self._headers_for(body)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()

            def do_GET(self):  # noqa: N802
                server.requests.append(self.path)
                server.ranges.append(self.headers.get("Range"))
                if self._refuse():
                    return
                body = server.files[self.path]
                start = 0
                asked = re.fullmatch(r"bytes=([0-9]+)-", self.headers.get("Range") or "")
                if asked and server.honour_range:
                    start = int(asked.group(1))
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self._headers_for(body)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                cut = server.cut_after.pop(self.path, None)
                if cut is not None:
                    self.wfile.write(body[start:start + cut])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body[start:])

            def log_message(self, *args):
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def no_download_waits(monkeypatch) -> list[float]:
    """Take the waits out of both download clients' retries (ours and huggingface_hub's);
    returns the list the waits asked for are recorded in."""
    import types

    import huggingface_hub.file_download
    import huggingface_hub.utils._http

    from repro.benchmarks import transfer

    waits: list[float] = []
    fake_time = types.SimpleNamespace(sleep=waits.append)
    # both modules use their `time` import for sleep only
    monkeypatch.setattr(huggingface_hub.utils._http, "time", fake_time)
    monkeypatch.setattr(huggingface_hub.file_download, "time", fake_time)
    monkeypatch.setattr(transfer, "_sleep", waits.append)
    return waits


@pytest.fixture
def file_server():
    """A LocalFileServer for the test, closed afterwards (aim a base URL of fetch at .base)."""
    running = LocalFileServer()
    yield running
    running.close()


@pytest.fixture
def scratch_data_dir(tmp_path, monkeypatch) -> Path:
    """An empty data folder (REPRO_DATA_DIR) for a test to fill with `place_file`."""
    folder = tmp_path / "data"
    monkeypatch.setenv("REPRO_DATA_DIR", str(folder))
    return folder


def place_file(folder: Path, relative: str, content: bytes) -> str:
    """Write `content` at folder/relative (as a data folder holds it); returns its sha256."""
    target = folder / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    return hashlib.sha256(content).hexdigest()
