"""What isolation a sandboxed run actually had: the report every result carries."""

from __future__ import annotations

from dataclasses import dataclass, field

from repro.sandbox.cgroups import CgroupSupport

# Always set in the program's process before it starts. RLIMIT_NPROC comes on top with a
# private uid or for an unprivileged caller (the kernel ignores it for root).
BASE_RLIMITS = ("AS", "CPU", "FSIZE", "NOFILE", "STACK", "CORE")


@dataclass(frozen=True)
class Protections:
    """Layers that were verified to work on this machine (by running a probe program)."""

    interpreter: str  # the Python the program runs under
    interpreter_version: str = ""
    # Subset of ("user", "net", "pid", "mount"): `unshare` namespaces around the program.
    namespaces: tuple[str, ...] = ()
    # The root file system (everything outside the work dir and private /tmp) is read-only.
    readonly_root: bool = False
    # Each run executes as its own unprivileged uid/gid (root only).
    private_uid: bool = False
    # "v1" / "v2" and the controllers limited per run ("pids", "memory"), or None.
    cgroup: str | None = None
    cgroup_controllers: tuple[str, ...] = ()
    rlimits: tuple[str, ...] = BASE_RLIMITS
    # Why a layer is missing (one line each), for the report.
    notes: tuple[str, ...] = ()
    # How the run's processes were started: "interpreter" (a fresh interpreter under `unshare`)
    # or "fork-server" (forked, same layers, by a server with the harness imported; fork_server.py).
    # Chosen per run, not probed: not part of the comparison, nor of `as_dict` (what is stored
    # and printed with verdicts, which must not depend on a process's earlier runs).
    launch: str = field(default="interpreter", compare=False)
    # How to apply the layers (not part of the report).
    unshare_argv: tuple[str, ...] = field(default=(), repr=False, compare=False)
    cgroup_support: CgroupSupport | None = field(default=None, repr=False, compare=False)

    @property
    def network_isolated(self) -> bool:
        return "net" in self.namespaces

    @property
    def pid_isolated(self) -> bool:
        return "pid" in self.namespaces

    @property
    def private_filesystem(self) -> bool:
        """Private /tmp, /var/tmp, /dev/shm: writes outside the work dir vanish with the run."""
        return "mount" in self.namespaces

    @property
    def process_limit(self) -> bool:
        """A fork bomb is bounded (RLIMIT_NPROC, which root ignores, or the pids cgroup)."""
        return "NPROC" in self.rlimits or "pids" in self.cgroup_controllers

    @property
    def memory_limit_total(self) -> bool:
        """Memory is bounded for the whole process tree, not just per process."""
        return "memory" in self.cgroup_controllers

    @property
    def signal_isolated(self) -> bool:
        """The program cannot signal processes outside its run (the harness included)."""
        return self.pid_isolated or self.private_uid

    def summary(self) -> str:
        cgroup = f"{self.cgroup}({','.join(self.cgroup_controllers)})" if self.cgroup else "none"
        parts = [
            f"namespaces={','.join(self.namespaces) or 'none'}",
            f"readonly_root={'yes' if self.readonly_root else 'no'}",
            f"uid={'private' if self.private_uid else 'caller'}",
            f"cgroup={cgroup}",
            f"rlimits={','.join(self.rlimits)}",
            f"interpreter={self.interpreter} ({self.interpreter_version})",
            f"launch={self.launch}",
        ]
        return " ".join(parts)

    def as_dict(self) -> dict:
        return {
            "interpreter": self.interpreter,
            "interpreter_version": self.interpreter_version,
            "namespaces": list(self.namespaces),
            "readonly_root": self.readonly_root,
            "private_uid": self.private_uid,
            "cgroup": self.cgroup,
            "cgroup_controllers": list(self.cgroup_controllers),
            "rlimits": list(self.rlimits),
            "network_isolated": self.network_isolated,
            "pid_isolated": self.pid_isolated,
            "process_limit": self.process_limit,
            "signal_isolated": self.signal_isolated,
            "notes": list(self.notes),
        }
