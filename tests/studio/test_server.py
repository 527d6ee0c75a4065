"""`studio stop` stops only the process it can verify it started; a bad server record is one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crossclaim.cli import app
from crossclaim.studio.server import STATE_FILE, Server, process_identity, state_of, stop

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="process checks read /proc")


@pytest.fixture
def sleeper():
    """A stand-in process in its own session (as `serve` starts the server), killed after the test."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    yield proc
    proc.kill()
    proc.wait()


def record(data_dir: Path, pid: int, **changes) -> None:
    start_time, cmdline = process_identity(pid)
    server = Server(pid, 8080, "http://127.0.0.1:8080", data_dir, start_time, cmdline)
    (data_dir / STATE_FILE).write_text(json.dumps({**state_of(server), **changes}))


@pytest.mark.parametrize(
    "changes",
    [{"start_time": 1}, {"cmdline": ["label-studio", "start"]}, {"start_time": None}],
    ids=["other-start-time", "other-command-line", "unverifiable"],
)
def test_stop_leaves_a_process_it_cannot_verify_alone(tmp_path: Path, sleeper, changes) -> None:
    record(tmp_path, sleeper.pid, **changes)
    result = CliRunner().invoke(app, ["studio", "stop", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0 and "left alone" in result.output
    assert sleeper.poll() is None, "stop killed a process it did not start"
    assert not (tmp_path / STATE_FILE).exists()


def test_stop_stops_the_process_it_recorded(tmp_path: Path, sleeper) -> None:
    record(tmp_path, sleeper.pid)
    assert stop(tmp_path, wait=10) == "stopped"
    assert process_identity(sleeper.pid) is None  # gone (stop reaps it: the test process is its parent)
    assert stop(tmp_path) == "none"


@pytest.mark.parametrize(
    "content",
    ["{not json", "[]", '{"pid": 1}', '{"pid": "1", "port": 8080, "url": "x"}', "\udcff", ""],
    ids=["truncated", "a-list", "missing-fields", "pid-a-string", "not-utf8", "empty"],
)
def test_a_corrupt_server_record_is_one_line(tmp_path: Path, content: str) -> None:
    (tmp_path / STATE_FILE).write_bytes(content.encode("utf-8", "surrogateescape"))
    result = CliRunner().invoke(app, ["studio", "stop", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert f"{STATE_FILE} is not a server record" in result.output
