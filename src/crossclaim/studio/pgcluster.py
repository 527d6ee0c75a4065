"""A throwaway PostgreSQL cluster on 127.0.0.1, for the tests and the benchmark of a server on PostgreSQL.

It uses the ``initdb`` and ``pg_ctl`` of an installed PostgreSQL (Debian's ``postgresql`` package
keeps them in /usr/lib/postgresql/VERSION/bin), in a fresh temporary directory, on a free port,
with password authentication (scram-sha-256) only, no Unix socket, and stops and removes it at
the end. PostgreSQL refuses to run as root, so under root the cluster belongs to an unprivileged
system user (``postgres`` where the package made one, else ``nobody``).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from crossclaim.errors import StudioError
from crossclaim.studio.server import free_port

HOST = "127.0.0.1"
USER = "crossclaim"  # the cluster's superuser
START_S = 60  # seconds pg_ctl waits for the cluster to accept connections


def postgres_bin() -> Path | None:
    """The directory of ``initdb`` and ``pg_ctl``: on PATH, else Debian's newest /usr/lib/postgresql/*/bin."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).parent

    def version(path: str) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", path.split("/")[-3]))

    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=version)
    return Path(candidates[-1]).parent if candidates else None


def missing() -> str | None:
    """Why no cluster can be started here (None: one can)."""
    if postgres_bin() is None:
        return (
            "PostgreSQL is not installed (no initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin): "
            "apt-get install postgresql"
        )
    if os.geteuid() == 0 and _system_user() is None:
        return "running as root with no unprivileged user (postgres or nobody) to run PostgreSQL as"
    return None


def _system_user() -> pwd.struct_passwd | None:
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    return None


@dataclass
class Cluster:
    """A running cluster: its directory, port and superuser (password ``password``)."""

    directory: Path
    port: int
    password: str
    bin: Path
    run_as: pwd.struct_passwd | None  # the system user it runs as, when started by root
    user: str = USER

    def url(self, database: str) -> str:
        """The `serve --database` URL of one of its databases (no password in it)."""
        return f"postgresql://{self.user}@{HOST}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new, empty database; returns its URL."""
        import psycopg

        with psycopg.connect(
            host=HOST, port=self.port, user=self.user, password=self.password, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # a name of our own making, never input
        return self.url(name)

    def run(self, *args: str) -> subprocess.CompletedProcess:
        user = {"user": self.run_as.pw_uid, "group": self.run_as.pw_gid} if self.run_as else {}
        done = subprocess.run(
            [str(self.bin / args[0]), *args[1:]], cwd=self.directory, capture_output=True, text=True, **user
        )
        if done.returncode != 0:
            last = (done.stderr or done.stdout).strip().splitlines()
            raise StudioError(f"{args[0]} failed with code {done.returncode}: {last[-1] if last else 'no output'}")
        return done

    def stop(self) -> None:
        """Stop the cluster (fast shutdown) and remove its directory."""
        try:
            if (self.directory / "data" / "postmaster.pid").exists():
                self.run("pg_ctl", "-D", "data", "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


def start(password: str, durable: bool = True) -> Cluster:
    """Start a fresh cluster on a free port of 127.0.0.1.

    ``durable=False`` turns off fsync and synchronous commit, for tests that never need the data
    after a crash; a benchmark keeps PostgreSQL's defaults, as a team's server would.
    """
    bin_dir = postgres_bin()
    reason = missing()
    if bin_dir is None or reason:
        raise StudioError(reason or "PostgreSQL is not installed")
    run_as = _system_user() if os.geteuid() == 0 else None
    directory = Path(tempfile.mkdtemp(prefix="crossclaim-pg-"))
    cluster = Cluster(directory, free_port(), password, bin_dir, run_as)
    try:
        pwfile = directory / "pwfile"
        pwfile.write_text(password + "\n", encoding="utf-8")
        pwfile.chmod(0o600)
        if run_as is not None:
            for path in (directory, pwfile):
                os.chown(path, run_as.pw_uid, run_as.pw_gid)
        cluster.run(
            "initdb", "-D", "data", "-U", USER, "--pwfile", "pwfile", "--auth", "scram-sha-256", "-E", "UTF8",
            "--locale", "C.UTF-8", "--no-sync",
        )  # fmt: skip
        pwfile.unlink()
        options = [f"-c listen_addresses={HOST}", f"-p {cluster.port}", "-c unix_socket_directories=''"]
        if not durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        cluster.run("pg_ctl", "-D", "data", "-l", "log", "-w", "-t", str(START_S), "-o", " ".join(options), "start")
    except BaseException:
        cluster.stop()
        raise
    return cluster


@contextlib.contextmanager
def running(password: str, durable: bool = True) -> Iterator[Cluster]:
    """A cluster for the length of a ``with`` block, stopped and removed whatever happens."""
    cluster = start(password, durable)
    try:
        yield cluster
    finally:
        cluster.stop()
