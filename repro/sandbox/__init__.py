"""Run untrusted (model-written) Python programs in isolation.

    from repro.sandbox import run_program, detect_protections
    result = run_program("print(input())", "hi\n", time_limit_s=2)
    result.status, result.stdout, result.protections.summary()

Layers (each detected at run time, reported in `Protections`): unshare namespaces (network,
PID, mount), a private unprivileged uid per run, a cgroup with pids and memory limits, and
resource limits (always). From a process's second run on, runs are forked by a fork server
with the test harness preloaded, under the same layers, where the machine allows it
(`Protections.launch`). See docs/sandbox.md.
"""

from repro.sandbox.detect import detect_protections
from repro.sandbox.execution import ExecutionResult, SandboxSetupError
from repro.sandbox.protections import Protections
from repro.sandbox.runner import run_program

__all__ = ["ExecutionResult", "Protections", "SandboxSetupError", "detect_protections", "run_program"]
