"""Every limit of the code sandbox, in one place (like evalplus' `config.py`).

The numbers are chosen so that ordinary competitive-programming and LeetCode solutions never
hit them (a few hundred MB of lists, 10,000-deep recursion, a helper thread), while a hostile
program is stopped long before it can hurt the machine or other runs. docs/sandbox.md explains
each one.
"""

from __future__ import annotations

import os

# ---------------------------------------------------------------- benchmark rules (time)
# LiveCodeBench: `--timeout 6` per test; the parent kills the whole check after
# (timeout + 1) * #tests + 5 s (lcb_runner/evaluation/compute_code_generation_metrics.py).
LCB_TEST_TIMEOUT_S = 6.0
LCB_GLOBAL_PER_TEST_SLACK_S = 1.0
LCB_GLOBAL_SLACK_S = 5.0
# evalplus (evalplus/config.py, v0.3.1): per test max(1.0 s, 4.0 x ground-truth runtime); the
# whole task gets min(60 s, sum of the per-test limits) + 1 s, + 1 s for collecting results.
EVALPLUS_MIN_TIME_LIMIT_S = 1.0
EVALPLUS_GT_TIME_LIMIT_FACTOR = 4.0
EVALPLUS_TASK_TIMEOUT_CAP_S = 60.0
EVALPLUS_TASK_SLACK_S = 2.0
# evalplus compares floats with this absolute tolerance when the task gives none.
EVALPLUS_DEFAULT_FLOAT_ATOL = 1e-6
# Our own start-up (namespaces, interpreter, harness imports) is not part of any benchmark's
# budget, so every overall deadline gets this much on top.
SANDBOX_START_SLACK_S = 2.0

# ---------------------------------------------------------------- per-program resources
# Address space the program may add ON TOP of the interpreter's own size when it starts
# (measured in the child, never an absolute value copied from a big parent: that made
# every allocation fail and scored every answer 0 elsewhere, PRACTICE.md B5). 4 GiB matches
# evalplus' default; virtual size also counts thread stacks and malloc arenas, hence generous.
MEMORY_MB = 4096
# Processes + threads of the program. Enforced by RLIMIT_NPROC only for a non-root uid, and by
# the pids cgroup when there is one.
MAX_PROCESSES = 64
# With a cgroup, the run's whole tree is limited to the program's budget plus these extras:
# memory for the interpreter itself, the supervisor and the private /tmp (tmpfs pages count
# as memory); processes for `unshare`, the supervisor and the interpreter's own start.
CGROUP_EXTRA_MEMORY_MB = 256
CGROUP_EXTRA_PROCESSES = 4
# Largest single file the program may write (RLIMIT_FSIZE); beyond it writes fail (SIGXFSZ).
MAX_FILE_BYTES = 64 * 1024 * 1024
# Size of the private /tmp (and work directory) when a mount namespace is available: the bound
# on everything the program writes, not just one file.
TMPFS_BYTES = 128 * 1024 * 1024
# Size of the private /dev/shm, /var/tmp, /run/lock (multiprocessing needs a little /dev/shm).
SMALL_TMPFS_BYTES = 16 * 1024 * 1024
# Open file descriptors (RLIMIT_NOFILE).
MAX_OPEN_FILES = 64
# Main-thread stack (RLIMIT_STACK). glibc also uses it as every new thread's stack size, so a
# big value would eat the address-space budget thread by thread; 8 MiB is the usual default.
STACK_BYTES = 8 * 1024 * 1024
# Its hard limit is the memory budget: the evalplus harness raises the main thread's soft limit
# to the budget once the interpreter runs, as evalplus' reliability_guard does (so threads keep
# the 8 MiB above). Deep recursion through C calls (lru_cache, map, max over a generator)
# needs it: 20,000 levels crash under 8 MiB and pass in evalplus. RLIMIT_AS and the cgroup
# still bound what the stack really uses.
# RLIMIT_CPU = ceil(wall limit) + this; the hard limit one second later (SIGXCPU, then SIGKILL).
CPU_SLACK_S = 1

# ---------------------------------------------------------------- output
# stdout + stderr of a bare `run_program` call; past it the program is killed ("output-limit").
OUTPUT_LIMIT_BYTES = 1024 * 1024
# stderr kept for diagnostics when the harness runs tests (the program's own stderr prints).
HARNESS_STDERR_KEEP_BYTES = 4096
# Failure details (expected/got excerpts) are cut to this many characters.
DETAIL_CHARS = 300

# ---------------------------------------------------------------- identity and cleanup
# Each run gets its own unprivileged uid/gid from this range (never 0, never a login user):
# RLIMIT_NPROC counts per uid, `kill -1` reaches every process of the uid, and files are
# owned by it, so a private uid per run keeps parallel runs from counting, signalling or
# owning each other. Override with REPRO_SANDBOX_UID_BASE (e.g. 65534 and span 1 for
# `nobody` only, at the price of parallel runs sharing one process count).
UID_BASE = int(os.environ.get("REPRO_SANDBOX_UID_BASE", "2000000"))
UID_SPAN = int(os.environ.get("REPRO_SANDBOX_UID_SPAN", "65536"))
# After the deadline, how long to wait for the child tree to die before giving up loudly.
KILL_GRACE_S = 5.0
# Without a PID namespace: how long the supervisor gets to kill and reap the program after
# the deadline before its whole process group is killed.
SUPERVISOR_GRACE_S = 1.0

# ---------------------------------------------------------------- interpreter
# The interpreter the program runs under. It must be runnable by the unprivileged uid:
# /usr/bin/python3 normally is, a virtual environment under /root is not. Override with
# REPRO_SANDBOX_PYTHON; detect_protections() reports which one was used and whether the
# unprivileged uid could run it.
DEFAULT_INTERPRETER = "/usr/bin/python3"
# Preferred over it when present: a virtual environment made from the system Python that adds
# the modules LiveCodeBench's test process has importable (numpy at the version of LCB's lock;
# pandas, which rllm's prelude imports), created world-readable by scripts/install-cpu and the
# Dockerfile from requirements/sandbox.txt (docs/sandbox.md, "The programs' interpreter").
SANDBOX_ENV_INTERPRETER = "/opt/repro-sandbox/bin/python"
INTERPRETER_ENV = "REPRO_SANDBOX_PYTHON"
# Opt-in to running untrusted code as root without the private uid (namespaces do not take
# root's capabilities away: it could remount or mount the host's disk, and without a PID
# namespace `kill -9 -1` reaches everything): refused unless this variable is "1".
ALLOW_WEAK_ENV = "REPRO_SANDBOX_ALLOW_WEAK"
# "0": never fork runs from a fork server (fork_server.py); every run starts a fresh interpreter.
FORK_SERVER_ENV = "REPRO_SANDBOX_FORK_SERVER"
