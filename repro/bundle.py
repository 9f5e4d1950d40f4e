"""The file format of a run's bundle (`repro archive`, `repro verify`): one zip file holding one
top-level folder, with `MANIFEST.sha256` (the sha256 of every other file, in the format that
`sha256sum -c` reads) beside what was bundled.

Why zip and not tar.zst: the Python standard library writes and reads it (no extra package on a
reviewer's machine), every operating system opens it, archives such as Zenodo preview it file
by file, and a sample chunk is already gzip-compressed, so zstd would gain little. Chunks are
stored as they are; other files are deflated.

Reading is for untrusted input: a member with an absolute path, a `..` component, a link, a
device, a duplicate name, or more bytes than BUNDLE_LIMIT in all is refused before anything
is written (zipfile.extract would quietly rename such names instead of refusing them).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from repro.errors import ReproError

MANIFEST_FILE = "MANIFEST.sha256"
BUNDLE_JSON = "bundle.json"  # the machine-readable manifest
RUN_FOLDER = "run"  # the bundled parts of the run folder, with the run folder's own layout
COMPARISON_JSON = "comparison.json"  # the comparison the bundled results give (archive time)
BUNDLE_SUFFIX = ".zip"

# Nothing a run writes comes near this (a full tier's samples are a few GB compressed); it
# keeps a hostile file from filling the disk when unpacked.
BUNDLE_LIMIT = 64 * 1024**3

_LINE = re.compile(r"([0-9a-f]{64}) [ *](.+)")
_ALREADY_COMPRESSED = (".gz", ".png", ".zip", ".zst")


class BundleError(ReproError):
    """A bundle that is malformed or was changed after it was made: one line naming what."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def bundle_files(folder: Path) -> list[str]:
    """Every regular file under `folder`, as sorted POSIX paths relative to it."""
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file())


def manifest_text(folder: Path) -> str:
    """MANIFEST.sha256 of every file under `folder` but itself: "<sha256>  <path>" per line."""
    return "".join(f"{sha256_of(folder / name)}  {name}\n" for name in bundle_files(folder) if name != MANIFEST_FILE)


def read_manifest(path: Path) -> dict[str, str]:
    """path -> sha256 from a MANIFEST.sha256; a malformed line is named."""
    if not path.is_file():
        raise BundleError(f"{MANIFEST_FILE} is missing: not a bundle made by `repro archive`")
    entries: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        match = _LINE.fullmatch(line)
        if not match or not _safe_name(match.group(2)):
            raise BundleError(f"{MANIFEST_FILE} line {number} is malformed (expected '<sha256>  <relative path>')")
        if match.group(2) in entries:
            raise BundleError(f"{MANIFEST_FILE} line {number}: {match.group(2)} is listed twice")
        entries[match.group(2)] = match.group(1)
    return entries


def check_manifest(folder: Path) -> int:
    """Every file under `folder` against its MANIFEST.sha256: the first file missing, not listed,
    or with another sha256 is named (BundleError). Returns how many files were checked."""
    listed = read_manifest(folder / MANIFEST_FILE)
    present = set(bundle_files(folder)) - {MANIFEST_FILE}
    for name in sorted(set(listed) - present):
        raise BundleError(f"{name}: listed in {MANIFEST_FILE} but missing from the bundle")
    for name in sorted(present - set(listed)):
        raise BundleError(f"{name}: in the bundle but not listed in {MANIFEST_FILE} (added after archiving)")
    for name in sorted(listed):
        actual = sha256_of(folder / name)
        if actual != listed[name]:
            raise BundleError(f"{name}: its sha256 ({actual[:12]}) is not the one {MANIFEST_FILE} lists "
                              f"({listed[name][:12]}): the file was changed after archiving")
    return len(listed)


def write_zip(folder: Path, destination: Path) -> None:
    """Zip `folder` (its name becomes the top-level folder of the bundle) into `destination`,
    written beside it under a temporary name and renamed, so a crash leaves no half bundle."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = destination.with_name(f".{destination.name}.tmp")
    try:
        with zipfile.ZipFile(temporary, "w", allowZip64=True) as archive:
            for name in bundle_files(folder):
                method = zipfile.ZIP_STORED if name.endswith(_ALREADY_COMPRESSED) else zipfile.ZIP_DEFLATED
                archive.write(folder / name, f"{folder.name}/{name}", compress_type=method)
        with temporary.open("rb") as stream:
            os.fsync(stream.fileno())
        os.replace(temporary, destination)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _safe_name(name: str) -> bool:
    path = PurePosixPath(name)
    return (bool(name) and not path.is_absolute() and "\\" not in name and ".." not in path.parts
            and not re.match(r"^[A-Za-z]:", name) and "\0" not in name)


def unpack(bundle: Path, into: Path) -> Path:
    """Unpack a bundle into the folder `into`, after checking every member; returns the bundle's
    top-level folder. Refused (BundleError, one line): not a zip file, a member outside one
    top-level folder, an unsafe name, a link or special file, a duplicate, too many bytes."""
    if not bundle.is_file():
        raise BundleError(f"{bundle}: no such file")
    if not zipfile.is_zipfile(bundle):
        raise BundleError(f"{bundle}: not a zip file (a bundle is the .zip that `repro archive` writes)")
    try:
        with zipfile.ZipFile(bundle) as archive:
            members = archive.infolist()
            top = _check_members(bundle, members)
            for member in members:
                target = into / member.filename
                if member.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as source, target.open("wb") as sink:
                    for block in iter(lambda: source.read(1 << 20), b""):
                        sink.write(block)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as error:
        raise BundleError(f"{bundle}: damaged zip file ({error})") from None
    return into / top


def _check_members(bundle: Path, members: Iterable[zipfile.ZipInfo]) -> str:
    tops: set[str] = set()
    seen: set[str] = set()
    total = 0
    for member in members:
        name = member.filename
        if not _safe_name(name):
            raise BundleError(f"{bundle}: member {name!r} has an unsafe path (absolute, or with '..'): refused")
        kind = stat.S_IFMT(member.external_attr >> 16)  # 0: no Unix mode (a zip made elsewhere)
        if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise BundleError(f"{bundle}: member {name!r} is a link or a special file: refused")
        if name.rstrip("/") in seen:
            raise BundleError(f"{bundle}: member {name!r} appears twice")
        seen.add(name.rstrip("/"))
        tops.add(PurePosixPath(name).parts[0])
        if not member.is_dir() and len(PurePosixPath(name).parts) < 2:
            raise BundleError(f"{bundle}: member {name!r} is outside the bundle's top-level folder")
        total += member.file_size
        if total > BUNDLE_LIMIT:
            raise BundleError(f"{bundle}: more than {BUNDLE_LIMIT:,} bytes unpacked: refused")
    if len(tops) != 1:
        raise BundleError(f"{bundle}: {len(tops)} top-level folders; a bundle has exactly one")
    return tops.pop()
