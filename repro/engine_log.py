"""Where the engines' own messages go: a log file under the run folder, or stderr.

vLLM logs dozens of INFO lines per engine start (to stdout, by default), transformers and
huggingface_hub draw progress bars, torch prints warnings from Python and from C++. None of
it is the command's output, and on a cluster it buried the few lines that are. A command
that starts engines (`repro run`, `repro all`) therefore routes them, before any engine is
imported:

- `file` (the default): everything at `level` or above goes to
  `<out>/logs/engine-<UTC time>-<pid>.log` (created only when something is written), and the
  command ends with one line on stderr naming it. vLLM is pointed at the file through its own
  mechanism, a logging configuration file (VLLM_LOGGING_CONFIG_PATH), which its engine
  processes read too; the loggers of transformers, torch and huggingface_hub and Python's
  warnings get a handler on the same file; progress bars of the libraries are switched off
  (HF_HUB_DISABLE_PROGRESS_BARS); torch's C++ messages, which bypass Python, are limited to
  errors (TORCH_CPP_LOG_LEVEL).
- `stderr`: the libraries keep their own handlers, aimed at stderr at `level`
  (VLLM_LOGGING_STREAM, VLLM_LOGGING_LEVEL, TRANSFORMERS_VERBOSITY).

A variable the user has set is never overridden (VLLM_CONFIGURE_LOGGING=0 or a
VLLM_LOGGING_CONFIG_PATH of their own keeps vLLM's logging theirs).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from repro.errors import ReproError

LEVELS = ("debug", "info", "warning", "error")
TARGETS = ("file", "stderr")
# Libraries whose Python loggers go to the engine log (vLLM: through its own configuration).
LIBRARY_LOGGERS = ("vllm", "transformers", "torch", "huggingface_hub", "py.warnings")
_FORMAT = "%(asctime)s pid=%(process)d %(levelname)s %(name)s: %(message)s"
# "<level>:<log file>", set by `routed` for the processes the command starts (see `active`).
INHERITED_ENV = "REPRO_ENGINE_LOG"


class FolderMakingFileHandler(logging.FileHandler):
    """A FileHandler (opened at the first message) that makes the file's folder then: a command
    refused before any engine starts leaves no logs/ folder behind. Where the file cannot be
    written (a read-only or full disk), messages go to stderr instead, after one line saying so:
    a log must never stop an engine, nor bury the command's own error under logging tracebacks."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs["delay"] = True
        super().__init__(*args, **kwargs)
        self._failed = False

    def _open(self):
        os.makedirs(os.path.dirname(self.baseFilename), exist_ok=True)
        return super()._open()

    def emit(self, record: logging.LogRecord) -> None:
        if self.stream is None and not self._failed:
            try:
                self.stream = self._open()
            except OSError as error:
                self._give_up(error)
        if self._failed:
            try:
                sys.stderr.write(self.format(record) + "\n")
            except Exception:  # stderr gone too: nothing left to tell
                pass
            return
        super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        error = sys.exc_info()[1]
        if isinstance(error, OSError) and not self._failed:
            self._give_up(error)
            self.emit(record)
        elif not isinstance(error, OSError):
            super().handleError(record)

    def _give_up(self, error: OSError) -> None:
        self._failed = True
        sys.stderr.write(f"cannot write the engine log {self.baseFilename} ({error.strerror or error}); "
                         "engine messages follow on stderr\n")


@dataclass
class EngineLog:
    """The routing in force: `path` is the log file (None with target stderr)."""

    target: str
    level: str
    path: Path | None


_active: EngineLog | None = None


def check_choice(level: str, target: str) -> tuple[str, str]:
    """(level, target) lower-cased, or one line naming the choices (exit 2)."""
    level, target = level.strip().lower(), target.strip().lower()
    if level not in LEVELS:
        raise ReproError(f"--log-level {level!r} is not one of {', '.join(LEVELS)}")
    if target not in TARGETS:
        raise ReproError(f"--engine-log {target!r} is not one of {', '.join(TARGETS)}")
    return level, target


def log_path(root: Path, now: float | None = None, pid: int | None = None) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    return Path(root) / "logs" / f"engine-{stamp}-{os.getpid() if pid is None else pid}.log"


def vllm_logging_config(path: Path, level: str) -> dict:
    """The dictConfig vLLM applies (VLLM_LOGGING_CONFIG_PATH): its loggers to `path` only."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"engine": {"format": _FORMAT}},
        "handlers": {"engine": {"class": "repro.engine_log.FolderMakingFileHandler", "filename": str(path), "mode": "a",
                                "delay": True, "encoding": "utf-8", "level": level.upper(),
                                "formatter": "engine"}},
        "loggers": {"vllm": {"handlers": ["engine"], "level": level.upper(), "propagate": False}},
    }


def environment_for(target: str, level: str, config_file: Path | None, path: Path | None = None) -> dict[str, str]:
    """The variables the libraries read for this routing (before the user's own)."""
    if target == "stderr":
        return {"VLLM_LOGGING_STREAM": "ext://sys.stderr", "VLLM_LOGGING_LEVEL": level.upper(),
                "TRANSFORMERS_VERBOSITY": level}
    # transformers: errors only wherever its stderr handler is left, i.e. in vLLM's engine
    # processes; in this process adopt_library_handlers sends its messages at `level` to the file.
    # INHERITED_ENV: repro's own child processes (the data-parallel engines) route the same way.
    return {"VLLM_LOGGING_CONFIG_PATH": str(config_file), "HF_HUB_DISABLE_PROGRESS_BARS": "1",
            "TORCH_CPP_LOG_LEVEL": "ERROR", "TRANSFORMERS_VERBOSITY": "error",
            INHERITED_ENV: f"{level}:{path}"}


def _apply(variables: dict[str, str], environ: MutableMapping[str, str]) -> dict[str, str]:
    """Set what the user has not; vLLM's logging stays the user's if they configured it."""
    if environ.get("VLLM_CONFIGURE_LOGGING", "1") == "0" or "VLLM_LOGGING_CONFIG_PATH" in environ:
        variables = {key: value for key, value in variables.items() if not key.startswith("VLLM_")}
    applied = {key: value for key, value in variables.items() if key not in environ}
    environ.update(applied)
    return applied


@contextmanager
def routed(root: Path, level: str = "info", target: str = "file", *,
           environ: MutableMapping[str, str] | None = None, announce=None) -> Iterator[EngineLog]:
    """Route the engines' messages for the duration of a command (see the module docstring).
    `announce(line)` is told where the file is at the end, when one was written."""
    global _active
    level, target = check_choice(level, target)
    environ = os.environ if environ is None else environ
    if target == "stderr":
        applied = _apply(environment_for(target, level, None), environ)
        _active = EngineLog(target, level, None)
        try:
            yield _active
        finally:
            _active = None
            for key in applied:
                environ.pop(key, None)
        return
    path = log_path(root).absolute()
    # vLLM's configuration file lives only as long as the command (its engine processes read it)
    handle, name = tempfile.mkstemp(prefix="repro-vllm-logging-", suffix=".json")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(vllm_logging_config(path, level), out, indent=1)
    config_file = Path(name)
    applied = _apply(environment_for(target, level, config_file, path), environ)
    handler = FolderMakingFileHandler(path, mode="a", encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.setLevel(level.upper())
    saved = {name: _take_over(logging.getLogger(name), handler, level) for name in LIBRARY_LOGGERS}
    logging.captureWarnings(True)
    _active = EngineLog(target, level, path)
    try:
        yield _active
    finally:
        _active = None
        logging.captureWarnings(False)
        for name, state in saved.items():
            _give_back(logging.getLogger(name), handler, state)
        handler.close()
        _drop_handlers_of(path)
        for key in applied:
            environ.pop(key, None)
        config_file.unlink(missing_ok=True)
        if path.is_file() and path.stat().st_size and announce is not None:
            announce(f"engine messages: {path}")


def _take_over(logger: logging.Logger, handler: logging.Handler, level: str) -> tuple:
    state = (logger.level, logger.propagate)
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False
    return state


def _give_back(logger: logging.Logger, handler: logging.Handler, state: tuple) -> None:
    logger.removeHandler(handler)
    logger.setLevel(state[0])
    logger.propagate = state[1]


def _drop_handlers_of(path: Path) -> None:
    """Close the handlers vLLM made from the configuration file (it keeps them on its logger):
    in a process that goes on (tests, notebooks), later messages must not go to this file."""
    target = os.path.abspath(path)
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        for handler in logger.handlers[:]:
            if isinstance(handler, logging.FileHandler) and handler.baseFilename == target:
                logger.removeHandler(handler)
                handler.close()


def adopt_library_handlers() -> None:
    """Called once transformers is imported (by the engines): with the file target, its own
    stderr handler and progress bars are switched off, so its messages reach the file only.
    transformers installs that handler at its first use, after `routed` has run, hence here."""
    routing = active()
    if routing is None or routing.target != "file" or "transformers" not in sys.modules:
        return
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_default_handler()
    transformers_logging.disable_progress_bar()
    logging.getLogger("transformers").setLevel(routing.level.upper())


def active(environ: MutableMapping[str, str] | None = None) -> EngineLog | None:
    """The routing in force, None outside a command that routes. In a process the command
    started (a data-parallel engine, `python -m repro.data_parallel`), the routing comes from
    REPRO_ENGINE_LOG: the first call attaches the same file handler to the libraries' loggers
    and Python's warnings, for the rest of that process."""
    global _active
    if _active is not None:
        return _active
    level, _, where = (os.environ if environ is None else environ).get(INHERITED_ENV, "").partition(":")
    if level not in LEVELS or not where:
        return None
    handler = FolderMakingFileHandler(where, mode="a", encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.setLevel(level.upper())
    for name in LIBRARY_LOGGERS:
        _take_over(logging.getLogger(name), handler, level)
    logging.captureWarnings(True)
    _active = EngineLog("file", level, Path(where))
    return _active
