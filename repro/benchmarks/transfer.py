"""Bring one remote file into place, verified by sha256: resumable, retried, never half-written.

Two transports, chosen by where the file lives:

- `hub_download`: a file of a Hugging Face dataset repository at a pinned commit goes through
  `huggingface_hub.hf_hub_download` (the maintained client: it resumes an interrupted transfer
  with HTTP Range, retries transient failures, and reuses a copy already in the user's hub
  cache). It downloads into a staging folder beside the destination (the client's "local
  folder" mode, whose `.incomplete` file survives a killed run and is resumed by the next);
  the bytes are hashed there and moved into place only when the sha256 matches. Why not leave
  the file in the hub cache: the loaders read `<cache>/<relative path>` (and a data folder
  with the same layout), and a second 4.4 GB copy (LiveCodeBench) or a link into the hub's
  blobs (which an edit would change in both places) would cost more than it saves.
- `http_download`: any other URL (GitHub raw files and release assets) goes through `requests`
  (already required by vLLM) with a loop written here, because no maintained client resumes a
  plain URL into a file: the bytes accumulate in `.<name>.<url hash>.part` beside the
  destination, a failed transfer (connection dropped, timeout, HTTP 408/429/5xx) is retried
  with exponential backoff from where it stopped (`Range: bytes=<size>-`), and only a complete,
  verified file is renamed into place. A part file of another run is resumed too; a lock keeps
  two processes from writing the same part.

In both, a sha256 that differs from the expected one is refused and every partial byte removed;
a file that cannot be had after the retries is one `DataMissingError` naming the file, the URL
and the reason.
"""

from __future__ import annotations

import fcntl
import hashlib
import inspect
import os
import shutil
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from repro.errors import ReproError
from repro.files import FILE_MODE
from repro.progress import ProgressLines, byte_progress, interval_s

BLOCK = 1 << 20
# Network reads are smaller: a read that a dropped connection interrupts is lost, and the
# resume starts after the last complete one.
_READ = 1 << 16
ATTEMPTS = 5  # tries of one plain-URL download before it is an error
BACKOFF_S = 2.0  # first wait between tries; doubled each time, at most BACKOFF_MAX_S
BACKOFF_MAX_S = 60.0
# A status that may go away on its own: retried. Any other 4xx (404, 403) is final at once.
_TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


_sleep = time.sleep  # module-level so that tests can take the waits out


class DataMissingError(ReproError):
    """A benchmark file is neither provided nor cached, and could not be downloaded."""


class ChecksumMismatchError(ReproError):
    """A benchmark file's bytes differ from the pinned ones."""


class _Transient(Exception):
    """A failure worth another try (the network, not the request)."""


class _Final(Exception):
    """A failure no retry mends (404, 403...)."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def _mismatch(url: str, actual: str, expected: str, note: str | None) -> ChecksumMismatchError:
    return ChecksumMismatchError(
        f"the file downloaded from {url} has sha256 {actual}, {note or f'expected {expected}'}: "
        "refused, nothing was cached")


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


# ------------------------------------------------------------------ plain URLs


def http_download(url: str, destination: Path, *, name: str, expected_sha256: str | None,
                  gunzip: bool = False, expected_note: str | None = None, timeout_s: float = 60.0,
                  attempts: int = ATTEMPTS, sleep: Callable[[float], None] | None = None) -> str:
    """Download `url` to `destination` (resuming a part file, retrying with backoff); returns
    the sha256 of the stored bytes. With `gunzip`, the URL is a .gz whose decompressed content
    is stored and hashed. With `expected_sha256`, other bytes are refused and removed."""
    import requests

    destination.parent.mkdir(parents=True, exist_ok=True)
    tag = hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]
    part = destination.parent / f".{destination.name}.{tag}.part"
    with _folder_lock(destination.parent), requests.Session() as session:
        for attempt in range(1, attempts + 1):
            try:
                _transfer(session, url, part, timeout_s, f"download {name}")
                break
            except _Transient as error:
                if attempt == attempts:
                    raise DataMissingError(
                        f"could not download {name} from {url} after {attempts} tries ({error})"
                        f"{f'; expected sha256 {expected_sha256}' if expected_sha256 else ''}. The "
                        f"{part.stat().st_size if part.exists() else 0} bytes received are kept in {part} and "
                        "resumed by the next try; or provide the file under $REPRO_DATA_DIR") from None
                (sleep or _sleep)(min(BACKOFF_S * 2 ** (attempt - 1), BACKOFF_MAX_S))
            except _Final as error:
                part.unlink(missing_ok=True)
                raise DataMissingError(
                    f"could not download {name} from {url} ({error})"
                    f"{f'; expected sha256 {expected_sha256}' if expected_sha256 else ''}. Provide the file "
                    "under $REPRO_DATA_DIR, or check the pinned source") from None
        return _finish(part, destination, url=url, name=name, gunzip=gunzip,
                       expected_sha256=expected_sha256, expected_note=expected_note)


@contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on `folder` itself (flock on the directory): two processes never
    write the same part file, and no lock file is left behind in the cache."""
    handle = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # closing releases the lock


def _transfer(session, url: str, part: Path, timeout_s: float, label: str) -> None:
    """Append the rest of `url` to `part` (all of it when `part` is absent), showing progress
    under `label`. Raises _Transient for a failure worth another try, _Final for one that is not."""
    import requests

    offset = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    # identity: a Range counts bytes of the stored representation, not of a re-compressed one
    headers["Accept-Encoding"] = "identity"
    try:
        with session.get(url, headers=headers, stream=True, timeout=timeout_s) as response:
            status = response.status_code
            if status == 416 and offset:
                total = response.headers.get("Content-Range", "").rpartition("/")[2]
                if total == str(offset):
                    return  # the part was already complete (a run killed just before the rename)
                part.unlink()
                raise _Transient("the server refused to resume a part file of another size; starting over")
            if status in _TRANSIENT_STATUS:
                raise _Transient(f"HTTP {status}")
            if status >= 400:
                raise _Final(f"HTTP {status} {response.reason}")
            resumed = status == 206
            if resumed and not response.headers.get("Content-Range", "").startswith(f"bytes {offset}-"):
                part.unlink()
                raise _Transient("the server sent another range than the one asked for; starting over")
            expected = response.headers.get("Content-Length")
            start = offset if resumed else 0
            total = start + int(expected) if expected is not None else None
            received = 0
            with part.open("ab" if resumed else "wb") as out, byte_progress(label, total, start) as advance:
                for block in response.iter_content(_READ):
                    out.write(block)
                    received += len(block)
                    advance(len(block))
                out.flush()
                os.fsync(out.fileno())
            if expected is not None and received < int(expected):
                raise _Transient(f"the connection ended after {received} of {expected} bytes")
    except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as error:
        raise _Transient(_one_line(error)) from None


def _finish(part: Path, destination: Path, *, url: str, name: str, gunzip: bool,
            expected_sha256: str | None, expected_note: str | None) -> str:
    """Hash (and with `gunzip` inflate) the complete part file, then rename the result into
    place, or remove everything when the sha256 is not the expected one."""
    stored = part if not gunzip else part.with_name(part.name + ".inflated")
    try:
        if gunzip:
            try:
                actual = _inflate(part, stored)
            except (zlib.error, OSError) as error:
                part.unlink(missing_ok=True)
                raise DataMissingError(f"could not download {name} from {url} ({_one_line(error)})"
                                       f"{f'; expected sha256 {expected_sha256}' if expected_sha256 else ''}. "
                                       "Provide the file under $REPRO_DATA_DIR, or retry") from None
        else:
            actual = sha256_of(part)
        if expected_sha256 is not None and actual != expected_sha256:
            part.unlink(missing_ok=True)
            raise _mismatch(url, actual, expected_sha256, expected_note)
        os.chmod(stored, FILE_MODE)  # a cache may be shared
        os.replace(stored, destination)
        part.unlink(missing_ok=True)
        return actual
    finally:
        if gunzip:
            stored.unlink(missing_ok=True)


def _inflate(source: Path, target: Path) -> str:
    """Decompress the gzip file `source` into `target`; the sha256 of the decompressed bytes.
    Output comes in pieces of a few MB at most (a small block of a hostile .gz can expand
    enormously, and the sha256 check comes only at the end)."""
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    digest = hashlib.sha256()
    with source.open("rb") as handle, target.open("wb") as out:
        for block in iter(lambda: handle.read(BLOCK), b""):
            data = block
            while data:
                piece = inflate.decompress(data, 4 * BLOCK)
                digest.update(piece)
                out.write(piece)
                data = inflate.unconsumed_tail
        tail = inflate.flush()
        digest.update(tail)
        out.write(tail)
        if not inflate.eof:
            raise zlib.error("the gzip stream ended early")
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest()


# ------------------------------------------------------------------ Hugging Face hub files


def hub_download(repo: str, revision: str, path: str, destination: Path, *, endpoint: str, name: str,
                 url: str, expected_sha256: str | None, expected_note: str | None = None) -> str:
    """Download `path` of the hub dataset `repo` at commit `revision` from `endpoint` into
    `destination` with huggingface_hub; returns its sha256 (refused and removed when it is not
    `expected_sha256`). `url` names the file in messages."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = destination.parent / f".{destination.name}.hub"
    # On a terminal the client's own bars; without one (where its bars switch themselves off),
    # our progress lines.
    # (The training image has an older huggingface_hub, whose hf_hub_download may not take one.)
    options = {}
    if not sys.stderr.isatty() and "tqdm_class" in inspect.signature(hf_hub_download).parameters:
        options["tqdm_class"] = _lines_bar_class(f"download {name}")
    try:
        got = Path(hf_hub_download(repo, path, repo_type="dataset", revision=revision,
                                   local_dir=staging, endpoint=endpoint, **options))
    # The client's errors: its HTTP errors and offline mode are OSErrors; a transport failure past
    # its retries is httpx2's; a file missing at the revision; ValueError for a file too large.
    except (OSError, ValueError, EntryNotFoundError, *_http_client_errors()) as error:
        raise DataMissingError(
            f"could not download {name} from {url} ({_one_line(error)[:400]})"
            f"{f'; expected sha256 {expected_sha256}' if expected_sha256 else ''}. An interrupted "
            f"transfer is resumed by the next try; or provide the file under $REPRO_DATA_DIR") from None
    actual = sha256_of(got)
    if expected_sha256 is not None and actual != expected_sha256:
        shutil.rmtree(staging, ignore_errors=True)
        raise _mismatch(url, actual, expected_sha256, expected_note)
    os.chmod(got, FILE_MODE)
    os.replace(got, destination)
    shutil.rmtree(staging, ignore_errors=True)  # the client's metadata of a file now moved away
    return actual


def _http_client_errors() -> tuple[type[BaseException], ...]:
    """The base error of the HTTP client under huggingface_hub: httpx2 for 2.x, httpx for 1.x."""
    import importlib

    found = []
    for name in ("httpx2", "httpx"):
        try:
            found.append(importlib.import_module(name).HTTPError)
        except ImportError:
            continue
    return tuple(found)


def _lines_bar_class(label: str):
    """A tqdm class for huggingface_hub whose display is repro's progress lines on stderr (start,
    every REPRO_PROGRESS_INTERVAL seconds, end) instead of a bar redrawn into a log file. A
    subclass of tqdm, so that the client can use every attribute it expects of its bars."""
    from tqdm import tqdm

    class _Sink:
        def write(self, text: str) -> None:
            pass

        def flush(self) -> None:
            pass

    class LinesBar(tqdm):
        def __init__(self, *args, **kwargs) -> None:
            kwargs.pop("name", None)
            kwargs["file"] = _Sink()  # tqdm's own drawing goes nowhere
            super().__init__(*args, **kwargs)
            self._lines = ProgressLines(label, int(self.total or 0), sys.stderr, interval_s(), unit="bytes",
                                        initial=int(self.n))

        def update(self, n=1):
            self._lines.update(int(n))
            return super().update(n)

        def update_transfer(self, n: int) -> None:
            """Bytes received (the xet path reports them apart from bytes written): one count suffices."""

        def close(self) -> None:
            if getattr(self, "_lines", None) is not None:
                self._lines.finish(completed=self.total is None or self.n >= self.total)
                self._lines = None
            super().close()

    return LinesBar
