"""The Label Studio round trip against a real server on a free loopback port.

The session's one server (``studio`` in tests/conftest.py) is emptied of projects first. Server
faults are checked to give one line, quickly, no traceback.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import threading
import time
from pathlib import Path

import pytest
import requests
from conftest import REPO, STUDIO_TOKEN, committed_copy, delete_projects, git
from typer.testing import CliRunner

from crossclaim.cli import app
from crossclaim.formats.labelstudio.spans import parse_span_tasks
from crossclaim.studio.server import ENV_PASSWORD, ENV_TOKEN, ENV_URL, Server, free_port

pytestmark = pytest.mark.server
TOKEN = STUDIO_TOKEN
OUTPUTS: list[str] = []


def run(*args: str, env: dict[str, str] | None = None):
    result = CliRunner().invoke(app, list(args), env=env)
    OUTPUTS.append(result.output)
    return result


@pytest.fixture(scope="module", autouse=True)
def empty_server(server: str) -> None:
    """The session's server shared with other modules: start from no project."""
    delete_projects(server)


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed annotations/, dataset/, DATASHEET.md and .gitignore, under git so that any changed byte shows."""
    return committed_copy(tmp_path_factory.mktemp("repo"))


def changed_files(root: Path) -> str:
    """`git status`: every file added, changed or removed since the committed state."""
    return git(root, "status", "--porcelain", "--untracked-files=all")


def env(url: str, token: str = TOKEN) -> dict[str, str]:
    return {ENV_TOKEN: token, ENV_URL: url}


def test_roundtrip_is_lossless_and_push_is_idempotent(server: str, repo_copy: Path) -> None:
    first = run("studio", "push", "--root", str(repo_copy), "--gold", "--predictions", "regex", env=env(server))
    assert first.exit_code == 0, first.output
    assert "0 already there" in first.output
    again = run("studio", "push", "--root", str(repo_copy), "--gold", "--predictions", "regex", env=env(server))
    assert again.exit_code == 0, again.output
    assert "0 tasks created" in again.output and "0 annotations and 0 predictions written" in again.output

    committed = {p.relative_to(REPO / "dataset"): p.read_bytes() for p in (REPO / "dataset").rglob("*") if p.is_file()}
    shutil.rmtree(repo_copy / "dataset")  # a pure function of annotations/: the pull rebuilds all of it
    pulled = run("studio", "pull", "--root", str(repo_copy), env=env(server))
    assert pulled.exit_code == 0, pulled.output
    rebuilt = {
        p.relative_to(repo_copy / "dataset"): p.read_bytes() for p in (repo_copy / "dataset").rglob("*") if p.is_file()
    }
    assert sorted(rebuilt) == sorted(committed)
    for rel, data in committed.items():
        assert rebuilt[rel] == data, f"dataset/{rel} differs after the round trip"
    # the committed exports are exactly what a pull writes: no server id, time or order gets in
    assert changed_files(repo_copy) == ""
    assert "change: no change" in pulled.output
    again = run("studio", "pull", "--root", str(repo_copy), env=env(server))
    assert again.exit_code == 0, again.output
    assert changed_files(repo_copy) == ""

    # the baseline's predictions came back intact, in a file of their own
    from crossclaim.dataset.gold import load_gold
    from crossclaim.studio.sync import predictions_for_push

    with_predictions = run("studio", "pull", "--root", str(repo_copy), "--with-predictions", env=env(server))
    assert with_predictions.exit_code == 0, with_predictions.output
    assert changed_files(repo_copy) == "?? annotations/exports/predictions.json\n"
    gold = load_gold(repo_copy / "annotations")
    pushed = predictions_for_push(gold, ["regex"], None, None)
    export = json.loads((repo_copy / "annotations" / "exports" / "predictions.json").read_text())
    tasks = {t.doc_id: t for t in parse_span_tasks(export, "predictions.json")}
    for doc_id, preds in pushed.items():
        (back,) = [p for p in tasks[doc_id].predictions if p.model_version == preds[0].model_version]
        key = lambda s: (s.layer, s.start, s.end, s.id)  # noqa: E731
        assert sorted(back.spans, key=key) == sorted(preds[0].spans, key=key)
    (repo_copy / "annotations" / "exports" / "predictions.json").unlink()

    agreement = run("studio", "agreement", "--root", str(repo_copy))
    assert agreement.exit_code == 0 and "strict F1" in agreement.output


def test_a_task_deleted_on_the_server_is_named_and_nothing_is_written(server: str, repo_copy: Path) -> None:
    from label_studio_sdk import LabelStudio

    from crossclaim.studio.sync import SPAN_PROJECT

    ls = LabelStudio(base_url=server, api_key=TOKEN)
    (project,) = [p.id for p in ls.projects.list() if p.title == SPAN_PROJECT]
    task = next(t for t in ls.tasks.list(project=project) if t.data["doc_id"] == "doc-003")
    ls.tasks.delete(id=task.id)
    refused = run("studio", "pull", "--root", str(repo_copy), env=env(server))
    assert refused.exit_code == 2, refused.output
    committed = json.loads((repo_copy / "annotations" / "exports" / "spans.json").read_text(encoding="utf-8"))
    (n,) = [len(t["annotations"]) for t in committed if t["data"]["doc_id"] == "doc-003"]
    assert f"document doc-003: its task ({n} annotations) is not in the new export" in refused.output
    assert "--accept-deletions" in refused.output and "Traceback" not in refused.output
    assert changed_files(repo_copy) == ""
    restored = run("studio", "push", "--root", str(repo_copy), "--gold", env=env(server))
    assert restored.exit_code == 0 and "1 tasks created" in restored.output, restored.output
    pulled = run("studio", "pull", "--root", str(repo_copy), env=env(server))
    assert pulled.exit_code == 0, pulled.output
    assert changed_files(repo_copy) == ""


def test_a_pair_task_shown_with_other_context_is_updated_in_place(server: str, repo_copy: Path) -> None:
    """A pair task pushed before a context field existed (or before a headline changed) gets today's data."""
    from label_studio_sdk import LabelStudio

    from crossclaim.studio.sync import PAIR_PROJECT

    ls = LabelStudio(base_url=server, api_key=TOKEN)
    (project,) = [p.id for p in ls.projects.list() if p.title == PAIR_PROJECT]
    task = next(iter(ls.tasks.list(project=project)))
    ls.tasks.update(id=task.id, data={k: v for k, v in task.data.items() if k != "a_headline"})
    pushed = run("studio", "push", "--root", str(repo_copy), "--gold", env=env(server))
    assert pushed.exit_code == 0 and "0 tasks created" in pushed.output, pushed.output
    assert ls.tasks.get(id=task.id).data == task.data
    pulled = run("studio", "pull", "--root", str(repo_copy), env=env(server))
    assert pulled.exit_code == 0, pulled.output
    assert changed_files(repo_copy) == ""


def test_wrong_token_is_one_line_within_10_s(server: str, repo_copy: Path) -> None:
    start = time.monotonic()
    result = run("studio", "pull", "--root", str(repo_copy), env=env(server, "not-the-token"))
    assert time.monotonic() - start < 10
    assert result.exit_code == 1
    assert "refused the token (HTTP 401)" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_personal_access_token_works_and_disabled_legacy_tokens_are_explained(server: str, repo_copy: Path) -> None:
    from label_studio_sdk import LabelStudio

    pat = LabelStudio(base_url=server, api_key=TOKEN).tokens.create().token
    settings = f"{server}/api/jwt/settings"
    r = requests.post(
        settings,
        json={"api_tokens_enabled": True, "legacy_api_tokens_enabled": False},
        headers={"Authorization": f"Token {TOKEN}"},
        timeout=10,
    )
    assert r.status_code == 200
    try:
        start = time.monotonic()
        refused = run("studio", "pull", "--root", str(repo_copy), env=env(server))
        assert time.monotonic() - start < 10
        assert refused.exit_code == 1 and "legacy API tokens are disabled" in refused.output
        assert "Traceback" not in refused.output
        with_pat = run("studio", "push", "--root", str(repo_copy), env=env(server, pat))
        assert with_pat.exit_code == 0, with_pat.output
    finally:
        access = requests.post(f"{server}/api/token/refresh/", json={"refresh": pat}, timeout=10).json()["access"]
        requests.post(
            settings,
            json={"api_tokens_enabled": True, "legacy_api_tokens_enabled": True},
            headers={"Authorization": f"Bearer {access}"},
            timeout=10,
        )


def test_no_server_is_one_line_within_10_s(repo_copy: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    start = time.monotonic()
    result = run("studio", "push", "--root", str(repo_copy), env=env(url))
    assert time.monotonic() - start < 10
    assert result.exit_code == 1 and "no Label Studio server answers" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_wrong_port_with_another_server_is_explained(repo_copy: Path) -> None:
    httpd = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}"
        start = time.monotonic()
        result = run("studio", "pull", "--root", str(repo_copy), env=env(url))
        assert time.monotonic() - start < 10
        assert result.exit_code == 1 and "is not a healthy Label Studio server" in result.output
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_serve_refuses_a_taken_port(tmp_path: Path) -> None:
    httpd = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    try:
        port = httpd.server_address[1]
        result = run("studio", "serve", "--root", str(tmp_path), "--port", str(port), env={ENV_TOKEN: TOKEN})
        assert result.exit_code == 1 and f"port {port} on 127.0.0.1 is taken" in result.output
    finally:
        httpd.server_close()


def test_missing_token_is_explained(repo_copy: Path) -> None:
    result = run("studio", "push", "--root", str(repo_copy), env={ENV_TOKEN: "", ENV_URL: "http://127.0.0.1:9"})
    assert result.exit_code == 2 and f"environment variable {ENV_TOKEN}: no API token: set {ENV_TOKEN}" in result.output


def test_token_never_written_or_printed(studio: Server, repo_copy: Path) -> None:
    """Runs last in this module: every command output so far and every file the round trip wrote.

    Only the server's own database holds the token and the password (it must, to check them).
    """
    assert OUTPUTS, "no command ran"
    secrets = [TOKEN, os.environ[ENV_PASSWORD]]
    assert not [o for o in OUTPUTS for secret in secrets if secret in o]
    written = [p for p in repo_copy.rglob("*") if p.is_file()]
    written += [p for p in studio.data_dir.iterdir() if p.is_file() and not p.name.endswith(".sqlite3")]
    assert written
    assert not [p for p in written for secret in secrets if secret.encode() in p.read_bytes()]
