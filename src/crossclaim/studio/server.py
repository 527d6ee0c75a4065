"""A local Label Studio server: start it on 127.0.0.1 with secrets from the environment, stop it."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from crossclaim.errors import InputError, StudioError
from crossclaim.files import write_text_atomic

ENV_TOKEN = "CROSSCLAIM_LS_TOKEN"
ENV_URL = "CROSSCLAIM_LS_URL"
ENV_USER = "CROSSCLAIM_LS_USERNAME"
ENV_PASSWORD = "CROSSCLAIM_LS_PASSWORD"
DEFAULT_URL = "http://127.0.0.1:8080"
DEFAULT_USER = "admin@example.org"
STATE_FILE = "server.json"


def token_from_env() -> str:
    token = os.environ.get(ENV_TOKEN, "")
    if not token:
        raise InputError(
            f"environment variable {ENV_TOKEN}",
            f"no API token: set {ENV_TOKEN} (a token of your choosing for `serve`, or a "
            "legacy or personal access token of an existing Label Studio user)",
        )
    return token


def scrub(text: str, token: str) -> str:
    """Remove the token from text that may reach a log or the terminal."""
    return text.replace(token, "<token>") if token else text


# ---------------------------------------------------------------------------------------------
# the server process


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def label_studio_executable() -> str:
    here = Path(sys.executable).parent / "label-studio"
    found = str(here) if here.exists() else shutil.which("label-studio")
    if not found:
        raise StudioError("the Label Studio server is not installed: pip install 'crossclaim[studio]'")
    return found


def server_env(data_dir: Path, username: str, password: str, token: str) -> dict[str, str]:
    """Configuration by environment (never on the command line, where `ps` would show the token)."""
    # Label Studio also reads bare USERNAME, PASSWORD, PORT and HOST: stray ones must not leak in.
    inherited = {k: v for k, v in os.environ.items() if k not in ("USERNAME", "PASSWORD", "PORT", "HOST")}
    return {
        **inherited,
        "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir),
        "LABEL_STUDIO_USERNAME": username,
        "LABEL_STUDIO_PASSWORD": password,
        "LABEL_STUDIO_USER_TOKEN": token,
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
        "LATEST_VERSION_CHECK": "false",
        "COLLECT_ANALYTICS": "false",
        "SENTRY_DSN": "",
        "FRONTEND_SENTRY_DSN": "",
        "DJANGO_DB": "sqlite",
    }


@dataclass
class Server:
    pid: int
    port: int
    url: str
    data_dir: Path
    start_time: int | None = None  # /proc/<pid>/stat start time (clock ticks after boot)
    cmdline: tuple[str, ...] = ()  # /proc/<pid>/cmdline when it started


# ---------------------------------------------------------------------------------------------
# knowing the process: a pid alone may have been reused by anything since


def process_identity(pid: int) -> tuple[int, tuple[str, ...]] | None:
    """Start time and command line of a running process, from /proc; None if it is gone (or no /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) ", which may hold spaces
    if fields[0] in ("Z", "X"):
        return None  # exited, not yet reaped
    return int(fields[19]), tuple(cmdline.decode(errors="replace").split("\0")[:-1])


def _identity_after_exec(pid: int, tries: int = 100) -> tuple[int, tuple[str, ...]] | None:
    """``process_identity`` of a process just started: its command line reads empty while the kernel
    is still setting up the new program (seen under load), which would make the record unverifiable."""
    found = process_identity(pid)
    for _ in range(tries):
        if found is None or found[1]:
            break
        time.sleep(0.02)
        found = process_identity(pid)
    return found


def is_our_server(server: Server) -> bool:
    """True when ``server.pid`` is still the process `serve` started: same start time, same command line."""
    if server.start_time is None:
        return False
    return process_identity(server.pid) == (server.start_time, server.cmdline)


def _same_process(server: Server) -> bool:
    """Still the process that was verified (an exiting process loses its command line first)."""
    found = process_identity(server.pid)
    return found is not None and found[0] == server.start_time


def serve(
    data_dir: Path,
    port: int,
    token: str,
    username: str = DEFAULT_USER,
    password: str | None = None,
    wait: float = 300.0,
) -> Server:
    """Start Label Studio on 127.0.0.1:port with its own data directory; wait for /health."""
    data_dir = data_dir.resolve()
    running = read_state(data_dir)
    if running and is_our_server(running):
        raise StudioError(f"a server from {data_dir} is already running at {running.url} (pid {running.pid})")
    if not port_is_free(port):
        raise StudioError(
            f"port {port} on 127.0.0.1 is taken (Label Studio would silently move to another "
            "port): choose another with --port"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    password = password or os.environ.get(ENV_PASSWORD) or secrets.token_urlsafe(16)
    log = data_dir / "server.log"
    cmd = [
        label_studio_executable(),
        "start",
        "--no-browser",
        "--internal-host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
    ]
    with open(log, "ab") as fh:
        proc = subprocess.Popen(
            cmd,
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=server_env(data_dir, username, password, token),
            start_new_session=True,
        )
    start_time, cmdline = _identity_after_exec(proc.pid) or (None, ())
    server = Server(proc.pid, port, f"http://127.0.0.1:{port}", data_dir, start_time, cmdline)
    write_text_atomic(data_dir / STATE_FILE, json.dumps(state_of(server), indent=1) + "\n")
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            (data_dir / STATE_FILE).unlink(missing_ok=True)
            tail = scrub(log.read_text(errors="replace")[-600:], token).strip().splitlines()
            raise StudioError(
                f"Label Studio exited with code {proc.returncode}: {tail[-1] if tail else 'no output'} (log: {log})"
            )
        if health(server.url, timeout=2):
            return server
        time.sleep(1)
    stop(data_dir)
    raise StudioError(f"Label Studio did not answer /health on port {port} within {wait:.0f} s (log: {log})")


def health(url: str, timeout: float = 3) -> bool:
    try:
        r = requests.get(f"{url}/health", timeout=timeout)
    except requests.RequestException:
        return False
    return r.status_code == 200 and "UP" in r.text


def state_of(server: Server) -> dict:
    return {
        "pid": server.pid,
        "port": server.port,
        "url": server.url,
        "start_time": server.start_time,
        "cmdline": list(server.cmdline),
    }


def read_state(data_dir: Path) -> Server | None:
    """The server `serve` recorded in ``data_dir``; a record it cannot read is a one-line StudioError."""
    path = data_dir / STATE_FILE
    if not path.exists():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        server = Server(
            state["pid"],
            state["port"],
            state["url"],
            data_dir,
            state.get("start_time"),
            tuple(state.get("cmdline", ())),
        )
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise StudioError(
            f"{path} is not a server record ({type(exc).__name__}): delete it if no server runs"
        ) from None
    types_ok = (
        type(server.pid) is int
        and type(server.port) is int
        and isinstance(server.url, str)
        and (server.start_time is None or type(server.start_time) is int)
        and all(isinstance(a, str) for a in server.cmdline)
    )
    if not types_ok:
        raise StudioError(f"{path} is not a server record (a field has the wrong type): delete it if no server runs")
    return server


def stop(data_dir: Path, wait: float = 20.0) -> str:
    """Stop the server started from ``data_dir`` (its whole process group), only if it is verifiably that server.

    Returns "stopped", "none" (no record) or "stale" (the recorded process is gone, or its pid now
    belongs to another process, which is left alone); the record is removed in each case.
    """
    data_dir = data_dir.resolve()
    server = read_state(data_dir)
    if server is None:
        return "none"
    if not is_our_server(server):
        (data_dir / STATE_FILE).unlink(missing_ok=True)
        return "stale"
    try:
        os.killpg(server.pid, signal.SIGTERM)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and _same_process(server):
            time.sleep(0.2)
            _reap(server.pid)
        if _same_process(server):
            os.killpg(server.pid, signal.SIGKILL)
        _reap(server.pid)
    except ProcessLookupError:
        pass
    (data_dir / STATE_FILE).unlink(missing_ok=True)
    return "stopped"


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
