"""Run one untrusted Python program in isolation and collect what it did.

    run_program(source, stdin, time_limit_s=...) -> ExecutionResult

`detect_protections()` (detect.py) decides once which layers this machine supports; the run
itself (work directory, private uid, cgroup, `bootstrap.py` under `unshare`, the deadline and
the cleanup) is `execute` (execution.py), under those layers. Every result carries that report.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from repro.errors import EnvironmentNotSupportedError
from repro.sandbox import limits
from repro.sandbox.detect import detect_protections, protections_from_cache
from repro.sandbox.execution import ExecutionResult, SandboxStartError, execute


def run_program(source: str, stdin: str = "", *, time_limit_s: float, memory_mb: int = limits.MEMORY_MB,
                output_limit_bytes: int = limits.OUTPUT_LIMIT_BYTES, extra_files: dict[str, str] | None = None,
                on_stdout: Callable[[bytes], bool] | None = None, _reprobe: bool = False) -> ExecutionResult:
    """Run `source` as `python main.py` with `stdin`, under every layer this machine supports.

    `extra_files` are written next to main.py (plain names only). `on_stdout`, if given, sees
    each chunk of stdout as it arrives and may return True to stop the program at once
    (status "stopped"): the test harness uses it to stop at the first failing test.
    """
    protections = detect_protections(refresh=_reprobe)
    if os.geteuid() == 0 and not protections.private_uid and os.environ.get(limits.ALLOW_WEAK_ENV) != "1":
        # Root keeps its capabilities inside unshare's namespaces (no user namespace): it could
        # mount the host's disk. Without the private uid there is no real barrier.
        raise EnvironmentNotSupportedError(
            f"the code sandbox would run untrusted programs as root ({protections.summary()}); make "
            f"{limits.INTERPRETER_ENV} an interpreter that other users can run (e.g. /usr/bin/python3), "
            f"or set {limits.ALLOW_WEAK_ENV}=1 to accept the risk")
    try:
        return execute(protections, source, stdin, time_limit_s=time_limit_s, memory_mb=memory_mb,
                       output_limit_bytes=output_limit_bytes, extra_files=extra_files, on_stdout=on_stdout)
    except SandboxStartError:
        if not protections_from_cache():
            raise
    # The remembered layers no longer start a program (something outside the cache key
    # changed): probe again, remember the new finding, and run under it (the program had not
    # started, so it runs once).
    return run_program(source, stdin, time_limit_s=time_limit_s, memory_mb=memory_mb,
                       output_limit_bytes=output_limit_bytes, extra_files=extra_files, on_stdout=on_stdout,
                       _reprobe=True)
