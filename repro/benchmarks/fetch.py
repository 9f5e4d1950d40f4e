"""Find a pinned public data file, verified by sha256: data folder, then cache, then download.

A benchmark file is identified by its public source (a repository, a pinned commit and a
path) and by the sha256 of its bytes. It is looked up, in this order:

1. `$REPRO_DATA_DIR/<relative path>`: a folder provided by the container or the user;
2. `$REPRO_CACHE_DIR/<relative path>` (default `$XDG_CACHE_HOME/repro/benchmarks`, or
   `~/.cache/repro/benchmarks` without XDG_CACHE_HOME): earlier downloads;
3. the pinned URL, downloaded into the cache (`repro.benchmarks.transfer`: hub files through
   huggingface_hub, other URLs with HTTP Range resume; both retried). The bytes are hashed
   and moved into place only when the hash matches, so the cache never holds a partial or
   altered file. Downloads are off when `REPRO_OFFLINE=1`, and a failed download is an
   error that names the file, the URL and the expected sha256.

A file found locally whose hash differs is refused, never silently replaced: something
changed it, and a run on altered data must not happen unnoticed.

Three kinds of pinned source share this machinery (`resolve` only needs `relative_path`,
`sha256`, `url` and `pinned_url`): a file of a GitHub repository at a commit (`PinnedFile`),
a file of a Hugging Face dataset repository at a commit (`PinnedHubFile`), and a GitHub
release asset (`PinnedReleaseAsset`, optionally gzip-compressed: it is stored, and its sha256
taken, decompressed, the way evalplus caches its datasets).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from repro.benchmarks import transfer
from repro.benchmarks.transfer import ChecksumMismatchError, DataMissingError, sha256_of

__all__ = ["ChecksumMismatchError", "DataMissingError", "PinnedFile", "PinnedHubFile", "PinnedReleaseAsset",
           "cache_dir", "data_dir", "download_source", "hub_dataset_file_urls", "local_copy", "offline",
           "resolve", "sha256_of", "verify"]

DATA_DIR_ENV = "REPRO_DATA_DIR"
CACHE_DIR_ENV = "REPRO_CACHE_DIR"
OFFLINE_ENV = "REPRO_OFFLINE"

# Module-level so that tests can point downloads at a local server.
RAW_BASE_URL = "https://raw.githubusercontent.com"
HF_BASE_URL = "https://huggingface.co"
GITHUB_BASE_URL = "https://github.com"
DOWNLOAD_TIMEOUT_S = 60.0  # per request of a plain-URL download (hub files: huggingface_hub's own)


def hub_dataset_file_urls(repo: str, revision: str, path: str) -> tuple[str, str]:
    """(download URL, public URL) of a file of a Hugging Face dataset repository at a revision.
    The download URL uses HF_BASE_URL as it is at call time, so tests can redirect it."""
    tail = f"datasets/{repo}/resolve/{revision}/{path}"
    return f"{HF_BASE_URL}/{tail}", f"https://huggingface.co/{tail}"


@dataclass(frozen=True)
class PinnedFile:
    """One public file at a pinned commit, and the sha256 its bytes must have."""

    relative_path: str  # where it lives under a data folder or the cache, e.g. math/gsm8k/test.jsonl
    repo: str  # owner/name on GitHub
    commit: str  # full commit id: a branch name could move
    path: str  # path inside the repository
    sha256: str

    @property
    def url(self) -> str:
        """The raw download URL (read at call time, so tests can redirect it)."""
        return f"{RAW_BASE_URL}/{self.repo}/{self.commit}/{self.path}"

    @property
    def pinned_url(self) -> str:
        """The public URL, whatever base the downloader currently uses (for docs and manifests)."""
        return f"https://raw.githubusercontent.com/{self.repo}/{self.commit}/{self.path}"


@dataclass(frozen=True)
class PinnedHubFile:
    """One file of a Hugging Face dataset repository at a pinned commit, and its sha256.

    A hub commit id fixes the bytes the way a git commit does; the sha256 is checked anyway
    (and is what a data folder's copy is verified against)."""

    relative_path: str
    repo: str  # owner/name of the dataset repository
    revision: str  # full commit id on the hub
    path: str  # path inside the repository
    sha256: str
    on_hub = True  # downloaded through huggingface_hub (see download_source)

    @property
    def url(self) -> str:
        return hub_dataset_file_urls(self.repo, self.revision, self.path)[0]

    @property
    def pinned_url(self) -> str:
        return hub_dataset_file_urls(self.repo, self.revision, self.path)[1]


@dataclass(frozen=True)
class PinnedReleaseAsset:
    """A GitHub release asset. A release's assets can be replaced under the same tag, so only
    the sha256 pins the bytes. With `gunzip`, the asset is a .gz whose decompressed content is
    what is stored and hashed (the form a user's existing copy usually has)."""

    relative_path: str
    repo: str  # owner/name on GitHub
    tag: str
    asset: str  # file name of the asset
    sha256: str  # of the stored (decompressed, with gunzip) bytes
    gunzip: bool = False

    @property
    def url(self) -> str:
        return f"{GITHUB_BASE_URL}/{self.repo}/releases/download/{self.tag}/{self.asset}"

    @property
    def pinned_url(self) -> str:
        return f"https://github.com/{self.repo}/releases/download/{self.tag}/{self.asset}"


def data_dir() -> Path | None:
    value = os.environ.get(DATA_DIR_ENV)
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    value = os.environ.get(CACHE_DIR_ENV)
    if value:
        return Path(value).expanduser()
    # The container points XDG_CACHE_HOME at its data volume, so downloads persist there.
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path("~/.cache").expanduser()) / "repro" / "benchmarks"


def offline() -> bool:
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def local_copy(pinned: PinnedFile) -> tuple[Path, str] | None:
    """(path, origin) of a local copy, the data folder first; None when there is none.

    Nothing is hashed here: `resolve` verifies whatever it returns."""
    provided = data_dir()
    if provided is not None and (provided / pinned.relative_path).is_file():
        return provided / pinned.relative_path, "data folder"
    cached = cache_dir() / pinned.relative_path
    if cached.is_file():
        return cached, "cache"
    return None


def verify(path: Path, pinned: PinnedFile) -> None:
    actual = sha256_of(path)
    if actual != pinned.sha256:
        raise ChecksumMismatchError(
            f"{path} has sha256 {actual}, expected {pinned.sha256} (the file at {pinned.pinned_url}): "
            "refusing altered data; remove the file (or fix the folder it came from) to fetch the pinned one"
        )


def resolve(pinned: PinnedFile, *, download: bool = True) -> tuple[Path, str]:
    """(verified path, origin) of a pinned file; origin is "data folder", "cache" or "downloaded"."""
    found = local_copy(pinned)
    if found is not None:
        verify(found[0], pinned)
        return found
    if not download or offline():
        why = f"${OFFLINE_ENV}=1" if offline() else "not requested"
        provided = data_dir()
        raise DataMissingError(
            f"{pinned.relative_path} is missing and downloads are off ({why}): it is neither under "
            f"${DATA_DIR_ENV} ({provided if provided else 'not set'}) nor in the cache ({cache_dir()}). "
            f"Put the file from {pinned.pinned_url} (sha256 {pinned.sha256}) at "
            f"${DATA_DIR_ENV}/{pinned.relative_path}, or allow downloads"
        )
    destination = cache_dir() / pinned.relative_path
    download_verified(pinned, destination)
    return destination, "downloaded"


def download_verified(pinned: PinnedFile, destination: Path) -> None:
    """Download a pinned file into `destination`, refused unless its sha256 is the pinned one."""
    download_source(pinned, destination, expected_sha256=pinned.sha256)


def download_source(source, destination: Path, *, expected_sha256: str | None,
                    expected_note: str | None = None) -> str:
    """Download `source` (a pinned file, hub file or release asset) into `destination`;
    returns the sha256 of the stored bytes. A hub file (`on_hub`) goes through huggingface_hub
    at its revision, from HF_BASE_URL as it is at call time (tests point it at a local server);
    anything else is a plain URL. With `expected_sha256`, other bytes are refused and nothing is
    kept (`expected_note` names that hash and where it comes from, for the error)."""
    name = source.relative_path
    if getattr(source, "on_hub", False):
        return transfer.hub_download(source.repo, source.revision, source.path, destination, endpoint=HF_BASE_URL,
                                     name=name, url=source.pinned_url, expected_sha256=expected_sha256,
                                     expected_note=expected_note)
    return transfer.http_download(source.url, destination, name=name, expected_sha256=expected_sha256,
                                  gunzip=getattr(source, "gunzip", False), expected_note=expected_note,
                                  timeout_s=DOWNLOAD_TIMEOUT_S)
