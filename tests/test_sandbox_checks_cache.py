"""The sandbox's safety checks (protection probe, harness self-check) run once per machine and
configuration: remembered on disk, reused by later processes, run again when anything in
their key changes, when the file is damaged, or when the remembered layers fail to start."""

from __future__ import annotations

import json
import sys

import pytest

from repro.code_tests import TestSuite
from repro.grading import code
from repro.sandbox import checks_cache, detect, run_program
from repro.sandbox.detect import detect_protections

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sandbox needs Linux")


@pytest.fixture
def fresh_process(tmp_path, monkeypatch):
    """As if in a new process, with its own cache folder; counts the probes."""
    monkeypatch.setenv("REPRO_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv(checks_cache.RECHECK_ENV, raising=False)
    monkeypatch.setattr(detect, "_cached", None)
    monkeypatch.setattr(detect, "_from_file", False)
    monkeypatch.setattr(code, "_self_checked", set())
    probes = []
    real = detect._detect

    def counted():
        probes.append(1)
        return real()

    monkeypatch.setattr(detect, "_detect", counted)

    def new_process():
        monkeypatch.setattr(detect, "_cached", None)
        monkeypatch.setattr(code, "_self_checked", set())

    return probes, new_process


def cache_files(tmp_path):
    return sorted((tmp_path / "sandbox").glob("checks-*.json"))


def test_the_probe_runs_once_and_later_processes_reuse_what_it_found(fresh_process, tmp_path):
    probes, new_process = fresh_process
    first = detect_protections()
    assert probes == [1] and not detect.protections_from_cache()
    new_process()
    again = detect_protections()
    assert probes == [1] and detect.protections_from_cache()
    assert again == first and again.unshare_argv == first.unshare_argv
    assert again.cgroup_support == first.cgroup_support
    assert run_program("print(6 * 7)", time_limit_s=20).stdout == "42\n"
    (stored,) = cache_files(tmp_path)
    assert json.loads(stored.read_text())["facts"]["kernel"]


def test_a_change_of_configuration_runs_the_probe_again(fresh_process, tmp_path, monkeypatch):
    probes, new_process = fresh_process
    detect_protections()
    new_process()
    monkeypatch.setenv("REPRO_SANDBOX_PYTHON", sys.executable)  # another interpreter: another key
    changed = detect_protections()
    assert probes == [1, 1] and changed.interpreter == sys.executable
    assert len(cache_files(tmp_path)) == 2


def test_a_damaged_cache_file_is_ignored_and_rewritten(fresh_process, tmp_path):
    probes, new_process = fresh_process
    detect_protections()
    (stored,) = cache_files(tmp_path)
    for damage in ("{not json", json.dumps({"key": "another", "found": {}}),
                   json.dumps({"key": json.loads(stored.read_text())["key"], "found": {"protections": {"x": 1}}})):
        stored.write_text(damage)
        new_process()
        detect_protections()
        assert not detect.protections_from_cache()
    assert probes == [1, 1, 1, 1]
    new_process()
    detect_protections()
    assert detect.protections_from_cache() and probes == [1, 1, 1, 1]


def test_remembered_layers_that_no_longer_start_a_program_are_probed_again(fresh_process, tmp_path):
    probes, new_process = fresh_process
    protections = detect_protections()
    if not protections.unshare_argv:
        pytest.skip("no namespaces here: nothing outside the key to break")
    (stored,) = cache_files(tmp_path)
    content = json.loads(stored.read_text())
    content["found"]["protections"]["unshare_argv"][0] = str(tmp_path / "no-such-unshare")
    stored.write_text(json.dumps(content))
    new_process()
    assert detect_protections().unshare_argv[0].endswith("no-such-unshare")
    result = run_program("print('ran once')", time_limit_s=20)
    assert result.stdout == "ran once\n" and probes == [1, 1]
    assert result.protections.unshare_argv == protections.unshare_argv


def test_the_harness_self_check_is_remembered_with_the_layers_it_passed_under(fresh_process, monkeypatch):
    probes, new_process = fresh_process
    suite = TestSuite("stdin", ("2\n",), ("4\n",), (10.0,))
    assert code.check_program("print(2 * int(input()))", suite).correct
    checks = []
    real_check = code._check

    def counted(source, tests, memory_mb, *rules):
        checks.append(source)
        return real_check(source, tests, memory_mb, *rules)

    monkeypatch.setattr(code, "_check", counted)
    new_process()
    assert code.check_program("print(2 * int(input()))", suite).correct
    assert len(checks) == 1  # the program itself; the three self-check programs were remembered
    # Remembered under other layers: it runs again.
    detect.remember(code.SELF_CHECK, "another configuration")
    new_process()
    assert code.check_program("print(2 * int(input()))", suite).correct
    assert len(checks) == 1 + 3 + 1
    # rllm's rules have their own self-check (its prelude needs numpy and pandas), remembered apart.
    assert code.check_program("print(2 * int(input()))", suite, rules="rllm").correct
    assert len(checks) == 1 + 3 + 1 + 1 + 1
    new_process()
    assert code.check_program("print(2 * int(input()))", suite, rules="rllm").correct
    assert len(checks) == 1 + 3 + 1 + 1 + 1 + 1


def test_recheck_setting_ignores_the_cache(fresh_process, monkeypatch):
    probes, new_process = fresh_process
    detect_protections()
    monkeypatch.setenv(checks_cache.RECHECK_ENV, "1")
    new_process()
    detect_protections()
    assert probes == [1, 1]
