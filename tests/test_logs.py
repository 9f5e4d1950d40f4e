"""Quiet, informative output: progress lines without a terminal (fake clock, no waiting), and
the engines' messages routed to a log file under the run folder (repro.engine_log)."""

from __future__ import annotations

import io
import json
import logging
import os
import warnings

import pytest

from repro import engine_log
from repro.errors import ReproError
from repro.progress import ProgressLines, duration, interval_s, line_progress, rate


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# ----------------------------------------------------------------------------- progress lines


def test_progress_lines_report_rate_and_time_left_every_interval():
    clock, stream = FakeClock(), io.StringIO()
    with line_progress("generate x [vllm]", 400, stream=stream, interval=30, clock=clock) as advance:
        for _ in range(40):  # 10 per 5 s: 2/s
            clock.now += 5
            advance(10)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "generate x [vllm]: 400 to do"
    # one line each 30 s (6 updates), none for the update that completes the stage
    assert lines[1] == "generate x [vllm]: 60/400 (15%), 2/s, about 2m50s left"
    assert lines[2] == "generate x [vllm]: 120/400 (30%), 2/s, about 2m20s left"
    assert len(lines) == 1 + 6 + 1
    assert lines[-1] == "generate x [vllm]: 400/400 done in 3m20s (2/s)"


def test_a_quick_stage_prints_its_start_and_end_only():
    clock, stream = FakeClock(), io.StringIO()
    with line_progress("grade x", 3, stream=stream, interval=30, clock=clock) as advance:
        clock.now += 2
        advance(3)
    assert stream.getvalue().splitlines() == ["grade x: 3 to do", "grade x: 3/3 done in 2s (1.5/s)"]


def test_a_stage_stopped_by_an_error_says_where_it_stopped():
    clock, stream = FakeClock(), io.StringIO()
    with pytest.raises(KeyboardInterrupt):
        with line_progress("generate y", 10, stream=stream, interval=30, clock=clock) as advance:
            clock.now += 60
            advance(4)
            raise KeyboardInterrupt
    assert stream.getvalue().splitlines()[-1] == "generate y: stopped at 4/10 after 1m00s (4/min)"


def test_slow_rates_and_long_durations_read_well():
    assert rate(2.0) == "2/s" and rate(0.05) == "3/min" and rate(1 / 7200) == "0.5/h"
    assert duration(7.4) == "7s" and duration(125) == "2m05s" and duration(3725) == "1h02m"
    lines = ProgressLines("z", 0, io.StringIO(), 30, FakeClock())
    lines.finish(True)  # nothing to do: no division by zero
    assert lines.stream.getvalue().splitlines()[-1] == "z: 0/0 done in 0s"


def test_the_interval_comes_from_the_environment_and_bad_values_are_refused():
    assert interval_s({}) == 30.0 and interval_s({"REPRO_PROGRESS_INTERVAL": "5"}) == 5.0
    for bad in ("0", "-3", "soon", "inf", "nan"):
        with pytest.raises(ReproError, match="REPRO_PROGRESS_INTERVAL"):
            interval_s({"REPRO_PROGRESS_INTERVAL": bad})


# ----------------------------------------------------------------------------- engine log


def test_engine_messages_go_to_a_file_under_the_run_folder(tmp_path):
    environ: dict[str, str] = {}
    said: list[str] = []
    # the loggers' state before (vLLM, once imported by another test, turns its propagation off)
    before = (logging.getLogger("vllm").propagate, list(logging.getLogger("torch").handlers))
    with engine_log.routed(tmp_path, "info", "file", environ=environ, announce=said.append) as routing:
        assert routing.path.parent == tmp_path / "logs" and routing.path.name.startswith("engine-")
        config = json.loads(open(environ["VLLM_LOGGING_CONFIG_PATH"], encoding="utf-8").read())
        assert config["handlers"]["engine"]["filename"] == str(routing.path)
        assert config["loggers"]["vllm"]["propagate"] is False
        assert environ["HF_HUB_DISABLE_PROGRESS_BARS"] == "1" and environ["TORCH_CPP_LOG_LEVEL"] == "ERROR"
        logging.getLogger("vllm.engine").info("engine started")  # before vLLM configures itself
        logging.getLogger("transformers.modeling").debug("below the level: dropped")
        logging.getLogger("huggingface_hub.file_download").warning("a hub warning")
        warnings.warn("a FutureWarning of some library", FutureWarning, stacklevel=1)
        path = routing.path
    text = path.read_text(encoding="utf-8")
    assert "INFO vllm.engine: engine started" in text and "WARNING huggingface_hub.file_download: a hub warning" in text
    assert "a FutureWarning of some library" in text and "dropped" not in text
    assert said == [f"engine messages: {path}"]
    assert environ == {}  # the variables are gone again, and so is vLLM's configuration file
    assert [p.name for p in (tmp_path / "logs").iterdir()] == [path.name]
    assert (logging.getLogger("vllm").propagate, list(logging.getLogger("torch").handlers)) == before  # restored


def test_nothing_written_means_no_file_and_no_announcement(tmp_path):
    said: list[str] = []
    environ: dict[str, str] = {}
    with engine_log.routed(tmp_path, "warning", "file", environ=environ, announce=said.append):
        logging.getLogger("vllm").info("an INFO line below --log-level warning")
        config_file = environ["VLLM_LOGGING_CONFIG_PATH"]
    assert said == [] and not (tmp_path / "logs").exists()  # a refused command leaves no folder
    assert not os.path.exists(config_file)


def test_vllm_applies_the_configuration_file_it_is_given(tmp_path):
    # vLLM's own dictConfig step, fed the file routed() writes: its loggers then write there only
    import logging.config

    path = tmp_path / "logs" / "engine.log"  # its folder is made at the first message
    logging.config.dictConfig(engine_log.vllm_logging_config(path, "debug"))
    try:
        logging.getLogger("vllm.worker").debug("from a worker")
    finally:
        for handler in logging.getLogger("vllm").handlers[:]:
            handler.close()
            logging.getLogger("vllm").removeHandler(handler)
        logging.getLogger("vllm").propagate = True
    assert "DEBUG vllm.worker: from a worker" in path.read_text(encoding="utf-8")


def test_stderr_target_and_the_users_own_settings(tmp_path):
    environ = {"VLLM_LOGGING_LEVEL": "ERROR"}
    with engine_log.routed(tmp_path, "WARNING", "stderr", environ=environ) as routing:
        assert routing.path is None
        assert environ == {"VLLM_LOGGING_LEVEL": "ERROR", "VLLM_LOGGING_STREAM": "ext://sys.stderr",
                           "TRANSFORMERS_VERBOSITY": "warning"}  # the user's level is kept
    assert environ == {"VLLM_LOGGING_LEVEL": "ERROR"}
    own = {"VLLM_LOGGING_CONFIG_PATH": "/their/config.json"}
    with engine_log.routed(tmp_path, "info", "file", environ=own):
        assert own["VLLM_LOGGING_CONFIG_PATH"] == "/their/config.json"  # vLLM's logging stays theirs
    for level, target in (("loud", "file"), ("info", "syslog")):
        with pytest.raises(ReproError, match="is not one of"):
            with engine_log.routed(tmp_path, level, target, environ={}):
                pass


def test_download_progress_counts_bytes_and_rates_this_run_only():
    from repro.progress import size

    assert size(950) == "950 B" and size(1_500_000) == "1.5 MB" and size(4.4e9) == "4.4 GB"
    clock, stream = FakeClock(), io.StringIO()
    with line_progress("download x", 4_000_000_000, stream=stream, interval=30, clock=clock, unit="bytes",
                       initial=1_000_000_000) as advance:
        clock.now += 30
        advance(300_000_000)  # 10 MB/s since this run started; the first GB came before
    lines = stream.getvalue().splitlines()
    assert lines == ["download x: 3 GB to do (resumed at 1 GB)",
                     "download x: 1.3 GB/4 GB (32%), 10 MB/s, about 4m30s left",
                     "download x: 1.3 GB/4 GB done in 30s (10 MB/s)"]
    unknown = io.StringIO()
    with line_progress("download y", 0, stream=unknown, interval=30, clock=clock, unit="bytes") as advance:
        clock.now += 40
        advance(2_000_000)
    assert unknown.getvalue().splitlines() == ["download y: started (size unknown)", "download y: 2 MB, 50 kB/s",
                                               "download y: 2 MB done in 40s (50 kB/s)"]


def test_an_unwritable_log_folder_sends_messages_to_stderr_with_one_line(tmp_path, capsys):
    blocked = tmp_path / "out"
    blocked.write_text("a file where the run folder should be")  # logs/ cannot be made under it
    handler = engine_log.FolderMakingFileHandler(blocked / "logs" / "engine.log")
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("vllm.test_unwritable")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("first")  # must not raise into the engine's code
        logger.warning("second")
    finally:
        logger.removeHandler(handler)
        handler.close()
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"cannot write the engine log {blocked / 'logs' / 'engine.log'} (")
    assert err[1:] == ["WARNING first", "WARNING second"]


def test_a_process_the_command_starts_routes_the_same_way(tmp_path, monkeypatch):
    # what a data-parallel engine process finds: the variable routed() sets, nothing else
    environ: dict[str, str] = {}
    with engine_log.routed(tmp_path, "info", "file", environ=environ) as routing:
        inherited = {engine_log.INHERITED_ENV: environ[engine_log.INHERITED_ENV]}
        parent_path = routing.path
    assert engine_log.active() is None  # the command ended: nothing routed in this process
    monkeypatch.setattr(engine_log, "_active", None)
    try:
        child = engine_log.active(inherited)
        assert child.target == "file" and child.level == "info" and child.path == parent_path
        assert engine_log.active(inherited) is child  # attached once
        logging.getLogger("vllm.worker").info("from the child")
    finally:
        for name in engine_log.LIBRARY_LOGGERS:
            logger = logging.getLogger(name)
            for handler in logger.handlers[:]:
                if isinstance(handler, engine_log.FolderMakingFileHandler):
                    logger.removeHandler(handler)
                    handler.close()
            logger.propagate = True
            logger.setLevel(logging.NOTSET)
        logging.captureWarnings(False)
        monkeypatch.setattr(engine_log, "_active", None)
    assert "INFO vllm.worker: from the child" in parent_path.read_text(encoding="utf-8")
    assert engine_log.active({engine_log.INHERITED_ENV: "loud:/x"}) is None  # malformed: ignored
