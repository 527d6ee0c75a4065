"""`studio stop` stops only the process it can verify it started; a bad server record is one line;
`serve` refuses a bad database or address, and a shared address without a long admin password,
before anything starts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crossclaim.cli import app
from crossclaim.studio.server import (
    DATABASE_FILE,
    ENV_DB_PASSWORD,
    ENV_PASSWORD,
    STATE_FILE,
    Server,
    label_studio_env,
    parse_database,
    process_identity,
    state_of,
    stop,
)

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


# ---------------------------------------------------------------------------------------------
# serve's database and address: checked before anything starts


def test_a_postgresql_url_is_parsed_without_a_password() -> None:
    db = parse_database("postgresql://ls@db.team.example:5433/labelstudio")
    assert (db.kind, db.user, db.host, db.port, db.name) == ("postgresql", "ls", "db.team.example", 5433, "labelstudio")
    assert db.url == "postgresql://ls@db.team.example:5433/labelstudio"
    assert parse_database("postgres://ls@db/labelstudio").port == 5432
    assert parse_database(None).kind == parse_database("sqlite").kind == "sqlite"


@pytest.mark.parametrize(
    "url, message",
    [
        ("postgresql://ls:hunter2-secret@db:5432/labelstudio", "the URL holds a password"),
        ("postgresql://ls:@db:5432/labelstudio", "the URL holds a password"),
        ("mysql://ls@db/labelstudio", "a postgresql://USER@HOST:PORT/DB URL"),
        ("postgresql://db:5432/labelstudio", "names no user"),
        ("postgresql://ls@db:5432/", "names no database"),
        ("postgresql://ls@db:5432/labelstudio?sslmode=disable", "no path, query or fragment"),
        ("postgresql://ls@db:99999/labelstudio", "not a URL"),
    ],
    ids=["password", "empty-password", "not-postgresql", "no-user", "no-database", "query", "bad-port"],
)
def test_a_bad_database_url_is_refused_before_anything_starts(tmp_path: Path, url: str, message: str) -> None:
    result = CliRunner().invoke(
        app, ["studio", "serve", "--data-dir", str(tmp_path), "--database", url], env={"CROSSCLAIM_LS_TOKEN": "t" * 12}
    )
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert "hunter2" not in result.output, "a password in the URL was echoed"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "password, message",
    [(None, "set CROSSCLAIM_LS_PASSWORD to an admin password of at least 12"), ("short-pw", "has 8 characters")],
    ids=["no-password", "short-password"],
)
@pytest.mark.parametrize("host", ["127.0.0.2", "0.0.0.0"])
def test_an_address_others_can_reach_needs_a_long_admin_password(
    tmp_path: Path, host: str, password: str | None, message: str
) -> None:
    env = {"CROSSCLAIM_LS_TOKEN": "t" * 12, ENV_PASSWORD: password}
    result = CliRunner().invoke(app, ["studio", "serve", "--data-dir", str(tmp_path), "--host", host], env=env)
    assert result.exit_code == 2, result.output
    assert f"--host {host}" in result.output and message in result.output
    assert list(tmp_path.iterdir()) == [], "something was started or written"


def test_a_host_that_is_not_an_address_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["studio", "serve", "--data-dir", str(tmp_path), "--host", "team.example"],
        env={"CROSSCLAIM_LS_TOKEN": "t"},
    )
    assert result.exit_code == 2 and "is not an IPv4 address" in result.output, result.output


def test_a_data_directory_keeps_its_database(tmp_path: Path) -> None:
    (tmp_path / DATABASE_FILE).write_text("postgresql://ls@db:5432/labelstudio\n")
    result = CliRunner().invoke(app, ["studio", "serve", "--data-dir", str(tmp_path)], env={"CROSSCLAIM_LS_TOKEN": "t"})
    assert result.exit_code == 2, result.output
    assert "was served with --database postgresql://ls@db:5432/labelstudio" in result.output
    assert not (tmp_path / STATE_FILE).exists()


def test_the_environment_names_label_studios_own_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Label Studio 1.23.2's settings, loaded with the environment `serve` gives it: sign-up needs the
    invite link, the database is the one asked for (its password from the environment), and stray
    spellings of the same settings in the inherited environment do not win."""
    monkeypatch.setenv(ENV_DB_PASSWORD, "pg-secret-from-env")
    monkeypatch.setenv("LABEL_STUDIO_DJANGO_DB", "sqlite")  # would win over DJANGO_DB if inherited
    monkeypatch.setenv("HEARTEX_POSTGRE_HOST", "elsewhere.example")
    monkeypatch.setenv("DISABLE_SIGNUP_WITHOUT_LINK", "false")
    monkeypatch.setenv("LABEL_STUDIO_HOST", "https://ls.team.example")  # the public URL behind a TLS proxy
    env = label_studio_env(tmp_path, parse_database("postgresql://ls@db.team.example:5433/labelstudio"))
    assert env["LABEL_STUDIO_HOST"] == "https://ls.team.example"
    code = (
        "import json, os, sys, label_studio\n"
        "sys.path.insert(0, os.path.dirname(label_studio.__file__))\n"
        "from django.conf import settings\n"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'label_studio.core.settings.label_studio'\n"
        "db = settings.DATABASES['default']\n"
        "print(json.dumps({'signup_off': settings.DISABLE_SIGNUP_WITHOUT_LINK, 'engine': db['ENGINE'],\n"
        "  'where': [db['HOST'], db['PORT'], db['NAME'], db['USER']],\n"
        "  'password': db['PASSWORD'] == 'pg-secret-from-env'}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found == {
        "signup_off": True,
        "engine": "django.db.backends.postgresql",
        "where": ["db.team.example", 5433, "labelstudio", "ls"],
        "password": True,
    }
    sqlite = label_studio_env(tmp_path, parse_database(None))
    assert sqlite["LABEL_STUDIO_DJANGO_DB"] == "sqlite" and "LABEL_STUDIO_POSTGRE_PASSWORD" not in sqlite
    assert "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK" in sqlite, "sign-up needs the invite link on every server"
