"""The environment record (repro.provenance): its keys and types, nvidia-smi and git read
right, written beside results, in the store manifests and the report; `repro --version`."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from repro import __version__, provenance
from repro.provenance import (base_image, compact, environment_record, environment_summary, gpu_facts, git_state,
                              package_facts, parse_cuda_version, parse_git_status, parse_gpu_query)
from repro.store import SampleStore

PROJECT = Path(__file__).resolve().parent.parent

# Captured from `nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader,nounits`
# on a two-GPU node, and the banner of plain `nvidia-smi` on the same driver.
GPU_QUERY = "NVIDIA H100 80GB HBM3, 81559, 580.82.07\nNVIDIA H100 80GB HBM3, 81559, 580.82.07\n"
SMI_BANNER = """\
Mon Dec  7 08:23:31 2026
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 580.82.07              Driver Version: 580.82.07      CUDA Version: 13.0     |
|-----------------------------------------+------------------------+----------------------+
"""


@pytest.fixture
def no_gpu(monkeypatch):
    """A machine without nvidia-smi and without torch imported."""
    real_which = shutil.which
    monkeypatch.setattr(provenance.shutil, "which", lambda name: None if name == "nvidia-smi" else real_which(name))
    monkeypatch.delitem(provenance.sys.modules, "torch", raising=False)


def test_the_record_has_its_sections_and_types_on_a_cpu_machine(no_gpu, monkeypatch):
    monkeypatch.delenv(provenance.BUILD_INFO_ENV, raising=False)
    monkeypatch.delenv(provenance.IMAGE_DIGEST_ENV, raising=False)
    record = environment_record(command=["/somewhere/bin/repro", "run", "coverage"])
    assert set(record) == {"package", "python", "packages", "gpus", "cuda", "image", "host", "started_at", "ended_at",
                           "command"}
    assert record["package"]["name"] == "repro-limit-of-rlvr" and record["package"]["version"] == __version__
    assert record["gpus"] == [] and record["cuda"]["version"] == "none" and record["cuda"]["driver"] is None
    assert record["image"] is None and record["ended_at"] is None
    assert record["command"] == ["repro", "run", "coverage"]  # the program's folder is not kept
    assert isinstance(record["python"]["version"], str) and record["python"]["implementation"]
    assert all(isinstance(name, str) and isinstance(version, str) for name, version in record["packages"].items())
    assert record["packages"]["sympy"]  # a grader dependency, always installed
    assert record["host"]["hostname_sha256"] == hashlib.sha256(provenance.socket.gethostname().encode()).hexdigest()
    assert datetime.fromisoformat(record["started_at"]).utcoffset().total_seconds() == 0
    json.dumps(record)  # plain JSON
    assert "torch" not in provenance.sys.modules  # versions come from metadata: nothing was imported


def test_nvidia_smi_output_is_parsed():
    gpus = parse_gpu_query(GPU_QUERY)
    assert gpus == [{"name": "NVIDIA H100 80GB HBM3", "memory_mib": 81559, "driver": "580.82.07"}] * 2
    assert parse_gpu_query("NVIDIA RTX A6000, Ada, 49140, 550.54.15\n")[0]["name"] == "NVIDIA RTX A6000, Ada"
    assert parse_gpu_query("") == [] and parse_gpu_query("garbage\n") == []
    assert parse_cuda_version(SMI_BANNER) == "13.0" and parse_cuda_version("no banner") is None
    assert provenance.gpu_line(gpus) == "2 x NVIDIA H100 80GB HBM3 (81559 MiB)"


def test_gpus_are_read_from_nvidia_smi_when_it_is_on_the_path(tmp_path, monkeypatch):
    fake = tmp_path / "nvidia-smi"
    (tmp_path / "query.txt").write_text(GPU_QUERY)
    (tmp_path / "banner.txt").write_text(SMI_BANNER)
    fake.write_text(f"#!/bin/sh\ncase \"$1\" in --query-gpu=*) cat {tmp_path}/query.txt;; *) cat {tmp_path}/banner.txt;; "
                    "esac\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    gpus, cuda = gpu_facts()
    assert [gpu["name"] for gpu in gpus] == ["NVIDIA H100 80GB HBM3"] * 2
    assert cuda["driver"] == "580.82.07" and cuda["version"] == "13.0" and cuda["visible_devices"] == "0,1"


def _git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_the_commit_and_dirty_flag_come_from_a_git_checkout(tmp_path):
    _git(tmp_path, "init", "-q")
    assert git_state(tmp_path) is None  # no commit yet
    (tmp_path / "a.py").write_text("x = 1\n")
    _git(tmp_path, "add", "a.py")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "first")
    head = _git(tmp_path, "rev-parse", "HEAD")
    assert git_state(tmp_path) == (head, False)
    assert package_facts(tmp_path)["git_commit"] == head and package_facts(tmp_path)["commit_source"] == "git checkout"
    (tmp_path / "a.py").write_text("x = 2\n")
    assert git_state(tmp_path) == (head, True)
    assert git_state(tmp_path / "nowhere") is None


def test_git_status_output_is_parsed():
    commit = "a" * 40
    assert parse_git_status(f"# branch.oid {commit}\n# branch.head main\n") == (commit, False)
    assert parse_git_status(f"# branch.oid {commit}\n1 .M N... 100644 100644 100644 x y a.py\n") == (commit, True)
    assert parse_git_status(f"# branch.oid {commit}\n? new.py\n") == (commit, True)
    assert parse_git_status("# branch.oid (initial)\n") is None


def test_an_installed_package_takes_its_commit_from_the_build_record(tmp_path, monkeypatch):
    build = tmp_path / "build-info.json"
    build.write_text(json.dumps({"git_commit": "b" * 40, "dirty": False, "base_image": "x@sha256:1"}))
    monkeypatch.setenv(provenance.BUILD_INFO_ENV, str(build))
    monkeypatch.setenv(provenance.IMAGE_DIGEST_ENV, "repro@sha256:" + "c" * 64)
    facts = package_facts(tmp_path)  # not a git checkout
    assert (facts["git_commit"], facts["dirty"], facts["commit_source"]) == ("b" * 40, False, "build record")
    image = provenance.image_facts()
    assert image["digest"] == "repro@sha256:" + "c" * 64 and image["build"]["base_image"] == "x@sha256:1"
    monkeypatch.delenv(provenance.BUILD_INFO_ENV)
    assert package_facts(tmp_path)["git_commit"] is None


def test_the_build_record_names_the_pinned_base_image_and_the_lock(tmp_path):
    dockerfile = (PROJECT / "Dockerfile").read_text()
    base = base_image(dockerfile)
    assert base.startswith("nvidia/cuda:") and "@sha256:" in base  # the evaluation image's (last) FROM
    assert base_image("FROM --platform=linux/amd64 a:1 AS one\nRUN x\nFROM b:2@sha256:ff\n") == "b:2@sha256:ff"
    assert "python -m repro.provenance build-info" in dockerfile and provenance.BUILD_INFO_ENV in dockerfile
    (tmp_path / "Dockerfile").write_text("FROM base:1@sha256:00\n")
    (tmp_path / "lock.txt").write_text("x==1\n")
    record = provenance.build_info(tmp_path, "d" * 40, True, "lock.txt")
    assert record["base_image"] == "base:1@sha256:00" and record["git_commit"] == "d" * 40 and record["dirty"]
    assert record["requirements_lock_sha256"] == hashlib.sha256(b"x==1\n").hexdigest()


def test_version_prints_the_version_and_the_commit():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith(f"repro {__version__} (")
    state = git_state(PROJECT)
    if state is not None:
        assert state[0] in result.output
    else:
        assert "commit" in result.output


def test_the_summary_names_package_engines_gpus_and_times():
    record = {"package": {"version": "0.1.0", "git_commit": "e" * 40, "dirty": True},
              "python": {"version": "3.12.3"}, "packages": {"vllm": "0.32.0", "torch": "2.13.0", "sympy": "1.14"},
              "gpus": parse_gpu_query(GPU_QUERY), "cuda": {"driver": "580.82.07", "version": "13.0"},
              "image": {"digest": None, "build": {"base_image": "nvidia/cuda@sha256:1"}},
              "started_at": "2026-12-07T08:00:00+00:00", "ended_at": "2026-12-07T09:00:00+00:00",
              "command": ["repro", "all"]}
    text = "\n".join(environment_summary(record))
    for part in ("0.1.0", "e" * 12, "uncommitted", "vllm 0.32.0", "torch 2.13.0", "2 x NVIDIA H100", "580.82.07",
                 "CUDA 13.0", "nvidia/cuda@sha256:1", "08:00:00", "09:00:00", "repro all"):
        assert part in text
    assert compact(record)["gpus"] == "2 x NVIDIA H100 80GB HBM3 (81559 MiB)"


# ----------------------------------------------------------------------------- stores


def test_a_new_store_keeps_its_creators_environment_and_later_samplers_add_a_short_entry(tmp_path):
    first = {"started_at": "2026-12-07T08:00:00+00:00", "host": {"hostname_sha256": "1" * 64}, "package": {}}
    second = {"started_at": "2026-12-07T09:00:00+00:00", "host": {"hostname_sha256": "2" * 64}, "package": {}}
    store = SampleStore.open(tmp_path / "s", {"k": 1}, first)
    store.record_writer(first, compact(first))  # the creator: nothing more
    assert store.manifest()["environment"] == first and "writers" not in store.manifest()
    store.record_writer(second, compact(second))
    store.record_writer(second, compact(second))  # once per command
    reopened = SampleStore.open(tmp_path / "s", {"k": 1}, second)  # not the creator: the record stays
    assert reopened.manifest()["environment"] == first
    assert [entry["host_sha256"] for entry in reopened.manifest()["writers"]] == ["2" * 64]


def test_a_store_made_before_environments_were_recorded_still_opens_and_takes_entries(tmp_path):
    old = SampleStore.open(tmp_path / "s", {"k": 1})  # as older versions wrote it: no environment
    assert "environment" not in old.manifest()
    again = SampleStore.open(tmp_path / "s", {"k": 1}, {"started_at": "now"})
    again.bind_engine_facts({"backend": "simulated"})
    again.record_writer({"started_at": "now"}, {"started_at": "now"})
    assert again.manifest()["writers"] == [{"started_at": "now"}] and "environment" not in again.manifest()


# ----------------------------------------------------------------------------- a run


@pytest.mark.slow
def test_a_run_writes_its_environment_beside_its_results_and_in_its_stores_and_report(tmp_path, monkeypatch):
    arguments = ["run", "math-oat-zero", "--tier", "smoke", "--backend", "simulated", "--out", str(tmp_path)]
    monkeypatch.setattr(provenance.sys, "argv", ["/usr/local/bin/repro", *arguments])  # as the shell would start it
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    results = tmp_path / "experiments" / "math-oat-zero" / "smoke" / "simulated" / "results"
    assert (results / "specs.json").is_file()
    record = json.loads((results / "environment.json").read_text())
    assert datetime.fromisoformat(record["started_at"]) <= datetime.fromisoformat(record["ended_at"])
    assert record["command"] == ["repro", *arguments]
    manifests = list((tmp_path / "samples").rglob("manifest.json"))
    assert manifests and all(json.loads(path.read_text())["environment"]["started_at"] == record["started_at"]
                             for path in manifests)
    report = (tmp_path / "reports" / "smoke" / "report.md").read_text()
    assert "## Environment" in report and "math-oat-zero [simulated]" in report
    assert not (tmp_path / "models.lock.json").exists()  # no hub model in the smoke tier
    # Rebuilding the report reads the records back from the results folders.
    (tmp_path / "reports" / "smoke" / "report.md").unlink()
    assert CliRunner().invoke(app, ["report", "--tier", "smoke", "--out", str(tmp_path)]).exit_code == 0
    rebuilt = (tmp_path / "reports" / "smoke" / "report.md").read_text()
    assert record["started_at"] in rebuilt
