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

from crossclaim.errors import StudioError

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
        raise StudioError(
            f"no API token: set {ENV_TOKEN} (a token of your choosing for `serve`, or a "
            "legacy or personal access token of an existing Label Studio user)"
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
    if running and _alive(running.pid):
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
    server = Server(proc.pid, port, f"http://127.0.0.1:{port}", data_dir)
    (data_dir / STATE_FILE).write_text(json.dumps({"pid": proc.pid, "port": port, "url": server.url}))
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


def read_state(data_dir: Path) -> Server | None:
    path = data_dir / STATE_FILE
    if not path.exists():
        return None
    state = json.loads(path.read_text())
    return Server(state["pid"], state["port"], state["url"], data_dir)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def stop(data_dir: Path, wait: float = 20.0) -> bool:
    """Stop the server started from ``data_dir`` (its whole process group); False if none ran."""
    server = read_state(data_dir.resolve())
    if server is None:
        return False
    try:
        os.killpg(server.pid, signal.SIGTERM)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and _alive(server.pid):
            time.sleep(0.2)
            _reap(server.pid)
        if _alive(server.pid):
            os.killpg(server.pid, signal.SIGKILL)
            _reap(server.pid)
    except ProcessLookupError:
        pass
    (data_dir.resolve() / STATE_FILE).unlink(missing_ok=True)
    return True


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
