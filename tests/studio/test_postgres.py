"""Label Studio on PostgreSQL, served as a team's server would be (tests/conftest.py: ``pg_studio``,
listening on 127.0.0.2 with a long admin password): sign-up only through the invite link, the
round trip writing the same committed bytes as on SQLite, and a pull while four annotators submit.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
import time
from pathlib import Path

import pytest
import requests
from conftest import END, PAGE, REPO, START, STUDIO_TOKEN, TEXT, committed_copy, delete_projects, git, span
from typer.testing import CliRunner

from crossclaim.cli import app
from crossclaim.formats.labelstudio.spans import region_results
from crossclaim.studio.accounts import ENV_TEAM_PASSWORDS
from crossclaim.studio.server import ENV_DB_PASSWORD, ENV_TOKEN, ENV_URL, Server

pytestmark = [pytest.mark.server, pytest.mark.postgres]
OUTPUTS: list[str] = []


def run(*args: str, env: dict[str, str] | None = None):
    result = CliRunner().invoke(app, list(args), env=env)
    OUTPUTS.append(result.output)
    return result


def env(url: str) -> dict[str, str]:
    return {ENV_TOKEN: STUDIO_TOKEN, ENV_URL: url}


def files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts and ".crossclaim" not in p.relative_to(root).parts
    }


def test_a_wrong_database_password_is_one_line_before_label_studio_starts(postgres, tmp_path: Path) -> None:
    url = postgres.url("postgres")
    start = time.monotonic()
    result = run(
        "studio", "serve", "--data-dir", str(tmp_path), "--database", url,
        env={ENV_TOKEN: STUDIO_TOKEN, ENV_DB_PASSWORD: "not-" + postgres.password},
    )  # fmt: skip
    assert time.monotonic() - start < 20
    assert result.exit_code == 1, result.output
    assert (
        f"cannot connect to PostgreSQL at {url}" in result.output and "password authentication failed" in result.output
    )
    assert "Traceback" not in result.output and postgres.password not in result.output
    assert not (tmp_path / "server.json").exists()


def test_sign_up_needs_the_invite_link_and_the_team_command_resets_it(pg_studio: Server, tmp_path: Path) -> None:
    """On the team's server (127.0.0.2: an address `serve` treats as shared), nobody signs up without
    the organization's invite token; `team` signs the members up with it, then resets it."""
    url = pg_studio.url
    page = f"{url}/user/signup/"
    auth = {"Authorization": f"Token {STUDIO_TOKEN}"}

    def sign_up(email: str, token: str | None) -> int:
        params = {"token": token} if token else {}
        with requests.Session() as s:
            s.get(page, params=params, timeout=30)
            form = {"csrfmiddlewaretoken": s.cookies.get("csrftoken", ""), "email": email}
            form["password"] = "a-password-for-the-test-1"
            return s.post(page, params=params, data=form, allow_redirects=False, timeout=30).status_code

    assert sign_up("intruder@outside.example", None) == 403
    assert sign_up("intruder@outside.example", "not-the-invite-token") == 403
    users = requests.get(f"{url}/api/users", headers=auth, timeout=30).json()
    assert "intruder@outside.example" not in {u["email"] for u in users}

    root = tmp_path / "repo"
    shutil.copytree(REPO / "annotations", root / "annotations")
    team = {"annotators": ["ann1@pg.example"], "adjudicators": ["lead@pg.example"], "overlap": 2}
    (root / "annotations" / "team.json").write_text(json.dumps(team))
    before = requests.get(f"{url}/api/invite", headers=auth, timeout=30).json()["token"]
    passwords = "ann1@pg.example pg-annotator-password-1\nlead@pg.example pg-lead-password-12\n"
    made = run("studio", "team", "--root", str(root), env={**env(url), ENV_TEAM_PASSWORDS: passwords})
    assert made.exit_code == 0 and made.output.count("signed up through the invite link") == 2, made.output
    after = requests.get(f"{url}/api/invite", headers=auth, timeout=30).json()["token"]
    assert after != before
    assert sign_up("intruder@outside.example", before) == 403, "the invite token used still lets anyone in"
    assert "pg-annotator-password-1" not in made.output


def test_round_trip_on_postgresql_writes_the_same_bytes_as_on_sqlite(
    pg_studio: Server, studio: Server, pg_password: str, tmp_path: Path
) -> None:
    """The committed exports, pushed and pulled through Label Studio on PostgreSQL (through the served
    server's data directory: historical annotators are kept out of its member list) and on SQLite
    (through the API alone), come back byte for byte the same: the committed files."""
    pulled = {}
    for name, srv, served in (("postgresql", pg_studio, True), ("sqlite", studio, False)):
        delete_projects(srv.url)
        root = committed_copy(tmp_path / name)
        where = ["--root", str(root), *(["--data-dir", str(srv.data_dir)] if served else [])]
        pushed = run("studio", "push", *where, "--gold", env=env(srv.url))
        assert pushed.exit_code == 0 and "0 already there" in pushed.output, f"{name}: {pushed.output}"
        pull = run("studio", "pull", "--root", str(root), env=env(srv.url))
        assert pull.exit_code == 0, f"{name}: {pull.output}"
        assert git(root, "status", "--porcelain", "--untracked-files=all") == "", f"{name}: the pull changed files"
        pulled[name] = files(root)
    assert pulled["postgresql"] == pulled["sqlite"]


# ---------------------------------------------------------------------------------------------
# under load: four annotators submit through the API while a pull runs

ANNOTATORS = [f"ann{k}@load.example" for k in range(1, 5)]
GOLD_DOCS = 4  # documents with committed gold (by a historical annotator)
PER_ANNOTATOR = 40  # documents each annotator annotates: all but the last while a pull may run, the last after it
SUBMIT_EVERY_S = 0.1


def load_repo(root: Path) -> Path:
    """GOLD_DOCS documents with gold, then PER_ANNOTATOR per annotator without: the fixture page, each
    text ending in a sentence of its own (the same text twice is refused), no claim (no pair tasks)."""
    ann = root / "annotations"
    (ann / "raw").mkdir(parents=True)
    (ann / "exports").mkdir()
    docs, tasks = [], []
    for k in range(GOLD_DOCS + PER_ANNOTATOR * len(ANNOTATORS)):
        own = f" This is page {k}."
        page = PAGE[:END] + own + PAGE[END:]
        (ann / "raw" / f"page{k:03d}.txt").write_text(page, encoding="utf-8")
        doc = {
            "id": f"doc-{k:03d}",
            "source_file": f"raw/page{k:03d}.txt",
            "slice": {"start": START, "end": END + len(own)},
        }
        doc |= {"sha256": hashlib.sha256(page.encode()).hexdigest(), "publisher": None, "headline": None}
        doc |= {"authors": [], "publication_date": None, "date_source": "test", "split": ("train", "test")[k % 2]}
        docs.append(doc)
        if k < GOLD_DOCS:
            result = region_results(entities(0), TEXT + own)
            annotation = {"completed_by": {"email": "annotator-h@example.org"}, "result": result}
            annotation |= {"ground_truth": False, "was_cancelled": False, "lead_time": 1.0}
            tasks.append(
                {"data": {"doc_id": doc["id"], "text": TEXT + own, "headline": ""}, "annotations": [annotation]}
            )
    (ann / "manifest.json").write_text(json.dumps({"documents": docs}), encoding="utf-8")
    (ann / "exports" / "spans.json").write_text(json.dumps(tasks), encoding="utf-8")
    (ann / "team.json").write_text(json.dumps({"annotators": ANNOTATORS, "adjudicators": [], "overlap": 1}))
    (root / "DATASHEET.md").write_text("<!-- BEGIN GENERATED: statistics -->\n<!-- END GENERATED: statistics -->\n")
    return root


def entities(k: int):
    """Annotator k's regions: k + 1 entities, so that every annotator's work differs."""
    found = [("Xiaomi", "ORG"), ("SU7", "PRODUCT"), ("Lei Jun", "PERSON"), ("BYD", "ORG"), ("小米", "ORG")]
    return [span("entities", f"e{n}", text, label) for n, (text, label) in enumerate(found[: k + 1], 1)]


class Annotator(threading.Thread):
    """Logs in as a browser does and submits one annotation per task, one every SUBMIT_EVERY_S, until
    told to stop or out of tasks; then, once told to stop, its last task (so that every annotator
    submits something after the pull). Records each submission and when it was answered."""

    def __init__(self, url: str, email: str, password: str, k: int, tasks: list[tuple[int, str, str]], stop) -> None:
        super().__init__(daemon=True)
        self.url, self.email, self.password, self.k, self.tasks, self.stop = url, email, password, k, tasks, stop
        self.submitted: dict[str, tuple[float, list[dict]]] = {}  # doc id -> (time answered, result)
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with requests.Session() as s:
                s.get(f"{self.url}/user/login/", timeout=30)
                form = {"email": self.email, "password": self.password, "csrfmiddlewaretoken": s.cookies["csrftoken"]}
                assert (
                    s.post(f"{self.url}/user/login/", data=form, allow_redirects=False, timeout=30).status_code == 302
                )
                headers = {"X-CSRFToken": s.cookies["csrftoken"], "Referer": f"{self.url}/"}
                for task in self.tasks[:-1]:
                    self.submit(s, headers, *task)
                    if self.stop.wait(SUBMIT_EVERY_S):
                        break
                self.stop.wait(600)
                self.submit(s, headers, *self.tasks[-1])
        except BaseException as exc:  # handed to the test
            self.error = exc

    def submit(self, s: requests.Session, headers: dict, task_id: int, text: str, doc_id: str) -> None:
        result = region_results(entities(self.k), text)
        body = {"result": result, "lead_time": 3.5 + self.k, "was_cancelled": False}
        r = s.post(f"{self.url}/api/tasks/{task_id}/annotations/", json=body, headers=headers, timeout=60)
        assert r.status_code == 201, f"{self.email}: HTTP {r.status_code} {r.text[:200]}"
        self.submitted[doc_id] = (time.monotonic(), result)


def by_annotator(export: list[dict]) -> dict[tuple[str, str], list[dict]]:
    """Every team annotation of a committed span export: (doc id, e-mail) -> the results found (twice: a bug)."""
    found: dict[tuple[str, str], list[dict]] = {}
    for t in export:
        for a in t["annotations"]:
            if a["completed_by"]["email"] in ANNOTATORS:
                found.setdefault((t["data"]["doc_id"], a["completed_by"]["email"]), []).append(a["result"])
    return found


def same(a: list[dict], b: list[dict]) -> bool:
    keep = ("id", "from_name", "type", "value")
    return sorted(json.dumps({k: r[k] for k in keep}, sort_keys=True) for r in a) == sorted(
        json.dumps({k: r[k] for k in keep}, sort_keys=True) for r in b
    )


def test_a_pull_while_four_annotators_submit_takes_each_annotation_wholly_or_not_at_all(
    pg_studio: Server, pg_password: str, tmp_path: Path
) -> None:
    url = pg_studio.url
    delete_projects(url)
    root = load_repo(tmp_path / "repo")
    served = ["--root", str(root), "--data-dir", str(pg_studio.data_dir)]
    passwords = {e: f"load-test-password-{k}-x" for k, e in enumerate(ANNOTATORS)}
    made = run("studio", "team", *served, env={ENV_TEAM_PASSWORDS: "".join(f"{e} {p}\n" for e, p in passwords.items())})
    assert made.exit_code == 0, made.output
    pushed = run("studio", "push", *served, "--gold", env=env(url))
    assert pushed.exit_code == 0, pushed.output

    from label_studio_sdk import LabelStudio

    ls = LabelStudio(base_url=url, api_key=STUDIO_TOKEN)
    (project,) = [p.id for p in ls.projects.list() if p.title == "CrossClaim spans"]
    open_tasks = sorted(
        (t.data["doc_id"], t.id, t.data["text"]) for t in ls.tasks.list(project=project) if not t.total_annotations
    )
    assert len(open_tasks) == PER_ANNOTATOR * len(ANNOTATORS)
    stop = threading.Event()
    annotators = [
        Annotator(
            url, e, passwords[e], k, [(tid, text, doc) for doc, tid, text in open_tasks[k :: len(ANNOTATORS)]], stop
        )
        for k, e in enumerate(ANNOTATORS)
    ]
    for a in annotators:
        a.start()
    while sum(len(a.submitted) for a in annotators) < len(ANNOTATORS) and all(a.is_alive() for a in annotators):
        time.sleep(0.05)
    started = time.monotonic()
    first = run("studio", "pull", "--root", str(root), env=env(url))
    ended = time.monotonic()
    stop.set()
    for a in annotators:
        a.join(120)
        assert a.error is None, a.error
    assert first.exit_code == 0, first.output

    submitted = {(doc, a.email): r for a in annotators for doc, r in a.submitted.items()}
    answered = {(doc, a.email): when for a in annotators for doc, (when, _) in a.submitted.items()}
    during = [k for k, when in answered.items() if started < when < ended]
    assert during, "no annotation was submitted while the pull ran: the test raced nothing"
    export = json.loads((root / "annotations" / "exports" / "spans.json").read_text(encoding="utf-8"))
    taken = by_annotator(export)
    assert all(len(results) == 1 for results in taken.values()), "an annotation is in the export twice"
    assert set(taken) <= set(submitted)
    assert all(same(taken[k][0], submitted[k][1]) for k in taken), "an annotation is in the export in part"
    before = {k for k, when in answered.items() if when < started}
    assert before <= set(taken), "a submission made before the pull is missing"
    left = set(submitted) - set(taken)
    after = len(answered) - len(before) - len(during)
    print(
        f"pull of {ended - started:.1f} s: {len(before)} annotations submitted before it, {len(during)} during it "
        f"({len([k for k in during if k in taken])} of them in its export), {after} after"
    )
    assert left, "every submission made it into the first pull: nothing was left for the next"

    second = run("studio", "pull", "--root", str(root), env=env(url))
    assert second.exit_code == 0, second.output
    export = json.loads((root / "annotations" / "exports" / "spans.json").read_text(encoding="utf-8"))
    taken = by_annotator(export)
    assert set(taken) == set(submitted) and all(len(r) == 1 and same(r[0], submitted[k][1]) for k, r in taken.items())
