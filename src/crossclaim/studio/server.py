"""A Label Studio server: start it with secrets from the environment, stop it.

By default it listens on 127.0.0.1 and keeps its data in SQLite in its data directory. For a team
it may keep its data in PostgreSQL (``--database postgresql://USER@HOST:PORT/DB``, the password from
the environment) and listen on another address (``--host``); every address but 127.0.0.1 is
treated as one that others can reach (127.0.0.2 included: a container's port mapping or a tunnel
publishes such addresses), so it needs an admin password of at least ``MIN_PASSWORD`` characters.
Sign-up without the organization's invite link is always off: in Label Studio Community every
member has every permission, so whoever could sign up could read and change all the work.
"""

from __future__ import annotations

import contextlib
import ipaddress
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
from urllib.parse import unquote, urlsplit

import requests

from crossclaim.errors import InputError, StudioError, shown
from crossclaim.files import write_text_atomic

ENV_TOKEN = "CROSSCLAIM_LS_TOKEN"
ENV_URL = "CROSSCLAIM_LS_URL"
ENV_USER = "CROSSCLAIM_LS_USERNAME"
ENV_PASSWORD = "CROSSCLAIM_LS_PASSWORD"
ENV_DB_PASSWORD = "CROSSCLAIM_DB_PASSWORD"  # PostgreSQL's password; libpq's own PGPASSWORD is read too
DEFAULT_URL = "http://127.0.0.1:8080"
DEFAULT_USER = "admin@example.org"
DEFAULT_HOST = "127.0.0.1"
STATE_FILE = "server.json"
DATABASE_FILE = "database.txt"  # the database a data directory was first served with (no password)
MIN_PASSWORD = 12  # characters of the admin password of a server others can reach


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
# where the data lives, and who can reach the server


@dataclass(frozen=True)
class Database:
    """Where Label Studio keeps its data: SQLite in the data directory, or a PostgreSQL database.

    Holds no password: the URL is shown and recorded, the password only ever comes from the
    environment (``ENV_DB_PASSWORD`` or ``PGPASSWORD``) when a process connects.
    """

    kind: str = "sqlite"  # "sqlite" or "postgresql"
    user: str = ""
    host: str = ""
    port: int = 5432
    name: str = ""

    @property
    def url(self) -> str:
        if self.kind == "sqlite":
            return "sqlite"
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.name}"

    def env(self) -> dict[str, str]:
        """Label Studio's settings for this database (``core/settings/base.py``: ``DJANGO_DB``, ``POSTGRE_*``)."""
        if self.kind == "sqlite":
            return {"DJANGO_DB": "sqlite"}
        return {
            "DJANGO_DB": "default",  # Label Studio's name for its PostgreSQL configuration
            "POSTGRE_NAME": self.name,
            "POSTGRE_USER": self.user,
            "POSTGRE_PASSWORD": db_password(),
            "POSTGRE_HOST": self.host,
            "POSTGRE_PORT": str(self.port),
        }


def parse_database(url: str | None) -> Database:
    """``sqlite`` (or nothing) or ``postgresql://USER@HOST:PORT/DB``; a URL holding a password is refused
    (it would show in `ps`, the shell's history and the server record), and is never echoed."""
    if url is None or url == "sqlite":
        return Database()
    where = "--database"
    try:
        parts = urlsplit(url)
        port = parts.port or 5432
    except ValueError:
        raise InputError(where, "not a URL: postgresql://USER@HOST:PORT/DB (or sqlite, the default)") from None
    if parts.scheme not in ("postgresql", "postgres"):
        raise InputError(where, "a postgresql://USER@HOST:PORT/DB URL, or sqlite (the default)")
    if parts.password is not None:
        raise InputError(
            where,
            f"the URL holds a password: leave it out (postgresql://USER@HOST:PORT/DB) and set {ENV_DB_PASSWORD} "
            "(or PGPASSWORD) in the environment",
        )
    name = unquote(parts.path.lstrip("/"))
    named = (("user", parts.username), ("host", parts.hostname), ("database", name))
    missing = [what for what, value in named if not value]
    if missing:
        raise InputError(where, f"the URL names no {' and no '.join(missing)}: postgresql://USER@HOST:PORT/DB")
    if parts.query or parts.fragment or "/" in name:
        raise InputError(where, "only postgresql://USER@HOST:PORT/DB: no path, query or fragment after the database")
    return Database("postgresql", unquote(parts.username or ""), parts.hostname or "", port, name)


def db_password() -> str:
    """PostgreSQL's password, from the environment only (empty: libpq's other means, e.g. ~/.pgpass)."""
    return os.environ.get(ENV_DB_PASSWORD) or os.environ.get("PGPASSWORD") or ""


def check_database(database: Database) -> None:
    """Connect once before Label Studio boots, so a wrong password or host is one line within seconds,
    not a server that dies after a minute."""
    if database.kind != "postgresql":
        return
    import psycopg

    try:
        psycopg.connect(
            host=database.host,
            port=database.port,
            user=database.user,
            dbname=database.name,
            password=db_password() or None,
            connect_timeout=10,
        ).close()
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StudioError(f"cannot connect to PostgreSQL at {database.url}: {first}") from None


def check_host(host: str) -> str:
    """An IPv4 address to listen on (``0.0.0.0``: every interface)."""
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        raise InputError(
            "--host", f"{shown(host)} is not an IPv4 address (0.0.0.0 listens on every interface)"
        ) from None
    return host


def shared(host: str) -> bool:
    """Whether others may reach a server listening on ``host``: every address but 127.0.0.1."""
    return host != DEFAULT_HOST


def admin_password(host: str, given: str | None) -> str:
    """The admin's web password: given, from the environment, or (on 127.0.0.1 only) random.

    A server others can reach needs one of at least ``MIN_PASSWORD`` characters from the
    environment: a random one would leave the lead unable to log in, a short one is guessed.
    """
    password = given or os.environ.get(ENV_PASSWORD)
    if shared(host):
        if not password:
            raise InputError(
                f"--host {host}",
                f"others can reach this address: set {ENV_PASSWORD} to an admin password of at least "
                f"{MIN_PASSWORD} characters",
            )
        if len(password) < MIN_PASSWORD:
            raise InputError(
                f"--host {host}",
                f"{ENV_PASSWORD} has {len(password)} characters: a server others can reach needs at least "
                f"{MIN_PASSWORD}",
            )
    return password or secrets.token_urlsafe(16)


def client_host(host: str) -> str:
    """The address this machine reaches a server listening on ``host`` at."""
    return DEFAULT_HOST if host == "0.0.0.0" else host


# ---------------------------------------------------------------------------------------------
# the server process


def port_is_free(port: int, host: str = DEFAULT_HOST) -> bool:
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


def label_studio_env(data_dir: Path, database: Database) -> dict[str, str]:
    """Label Studio's settings for a data directory and database, by environment (never on the command
    line, where `ps` would show a secret), as the server and any process using its Django code need them.

    Label Studio reads each setting X as LABEL_STUDIO_X, HEARTEX_X or X, the first set winning
    (``core/utils/params.py``): every spelling of a setting given here is dropped from the inherited
    environment, so a stray one (say LABEL_STUDIO_DJANGO_DB) cannot point the server elsewhere. It also
    reads bare USERNAME, PASSWORD, PORT and HOST, which shells set for their own purposes; its other
    settings pass through (say LABEL_STUDIO_HOST and CSRF_TRUSTED_ORIGINS behind a TLS proxy).
    """
    settings = {
        "BASE_DATA_DIR": str(data_dir),
        "DISABLE_SIGNUP_WITHOUT_LINK": "true",  # sign-up only through the organization's invite link
        **database.env(),
    }
    ours = {*settings, "DATABASE_NAME"}  # DATABASE_NAME would move SQLite out of the data directory
    spellings = {prefix + key for key in ours for prefix in ("", "LABEL_STUDIO_", "HEARTEX_")}
    dropped = {"USERNAME", "PASSWORD", "PORT", "HOST"} | spellings  # LABEL_STUDIO_HOST (the public URL) stays
    return {
        **{k: v for k, v in os.environ.items() if k not in dropped},
        **{f"LABEL_STUDIO_{k}": v for k, v in settings.items()},
        "LATEST_VERSION_CHECK": "false",
        "COLLECT_ANALYTICS": "false",
        "SENTRY_DSN": "",
        "FRONTEND_SENTRY_DSN": "",
    }


def server_env(
    data_dir: Path, username: str, password: str, token: str, database: Database | None = None
) -> dict[str, str]:
    """The server's environment: its settings, and the admin's user, password and API token."""
    return {
        **label_studio_env(data_dir, database or Database()),
        "LABEL_STUDIO_USERNAME": username,
        "LABEL_STUDIO_PASSWORD": password,
        "LABEL_STUDIO_USER_TOKEN": token,
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
    }


@dataclass
class Server:
    pid: int
    port: int
    url: str
    data_dir: Path
    start_time: int | None = None  # /proc/<pid>/stat start time (clock ticks after boot)
    cmdline: tuple[str, ...] = ()  # /proc/<pid>/cmdline when it started
    host: str = DEFAULT_HOST  # the address it listens on
    database: str = "sqlite"  # Database.url: no password


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
    host: str = DEFAULT_HOST,
    database: Database | None = None,
) -> Server:
    """Start Label Studio on host:port with its own data directory and database; wait for /health.

    Everything is checked before the server starts: the address, the admin password a shared
    address needs, the port (on ``host`` and on 127.0.0.1, where Label Studio looks for a taken
    port to silently move away from), the database the data directory was served with before,
    and a connection to PostgreSQL.
    """
    data_dir = data_dir.resolve()
    database = database or Database()
    host = check_host(host)
    password = admin_password(host, password)
    running = read_state(data_dir)
    if running and is_our_server(running):
        raise StudioError(f"a server from {data_dir} is already running at {running.url} (pid {running.pid})")
    for where in dict.fromkeys((host, DEFAULT_HOST)):
        if not port_is_free(port, where):
            raise StudioError(
                f"port {port} on {where} is taken (Label Studio would silently move to another "
                "port): choose another with --port"
            )
    check_served_database(data_dir, database)
    check_database(database)
    data_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(data_dir / DATABASE_FILE, database.url + "\n")
    log = data_dir / "server.log"
    cmd = [
        label_studio_executable(),
        "start",
        "--no-browser",
        "--internal-host",
        host,
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
            env=server_env(data_dir, username, password, token, database),
            start_new_session=True,
        )
    start_time, cmdline = _identity_after_exec(proc.pid) or (None, ())
    url = f"http://{client_host(host)}:{port}"
    server = Server(proc.pid, port, url, data_dir, start_time, cmdline, host, database.url)
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


def check_served_database(data_dir: Path, database: Database) -> None:
    """A data directory keeps the database it was first served with: serving it again without
    ``--database`` would show the team an empty SQLite server (and the reverse)."""
    path = data_dir / DATABASE_FILE
    if not path.is_file():
        return
    before = path.read_text(encoding="utf-8", errors="replace").strip()
    if before != database.url:
        raise InputError(
            "--database",
            f"{data_dir} was served with {'--database ' + before if before != 'sqlite' else 'SQLite'}: "
            f"serve it with the same database, or use another --data-dir",
        )


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
        "host": server.host,
        "database": server.database,
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
            state.get("host", DEFAULT_HOST),
            state.get("database", "sqlite"),
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
        and isinstance(server.host, str)
        and isinstance(server.database, str)
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
