"""A team in a real browser: two annotators and an adjudicator, each logging in to the session's server
through Label Studio's login page in headless Chromium, with accounts made by `crossclaim studio team`.

Both annotators label the one document of a pass from their own queue (Label All Tasks), blind to each
other; `pull --pass` finds the task in dispute and `disputes --pass` lists it; the adjudicator opens the
task from the task list and submits an annotation of their own, which the next pull takes as gold; then
the second annotator opens the first one's annotation from the task list and presses Update, and pull
refuses it, naming both. The browser is the only way a member acts; the test reads the server through
the admin's API.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
from conftest import STUDIO_TOKEN, delete_projects, write_repo
from studio.accounts import Member
from studio.browser import Annotator, chromium
from typer.testing import CliRunner

from crossclaim.cli import app
from crossclaim.studio.accounts import ENV_TEAM_PASSWORDS
from crossclaim.studio.passes import pass_titles
from crossclaim.studio.server import ENV_TOKEN, ENV_URL, Server

pytestmark = [pytest.mark.server, pytest.mark.browser]

ANN1, ANN2, LEAD = "ann1@blind.example", "ann2@blind.example", "lead@blind.example"
PASS = "blind"
OUTPUTS: list[str] = []


def run(root: Path, *args: str, env: dict[str, str]):
    result = CliRunner().invoke(app, ["studio", *args, "--root", str(root)], env=env)
    OUTPUTS.append(result.output)
    return result


def delete_pass_projects(admin: Member) -> None:
    for p in admin.call("GET", "/api/projects?page_size=100")["results"]:
        if p["title"] in pass_titles(PASS):
            admin.http.delete(f"{admin.url}/api/projects/{p['id']}", timeout=30).raise_for_status()


@pytest.fixture
def admin(server: str):
    """The admin's API session, on a server without the projects of another module or run."""
    admin = Member(server, "admin", STUDIO_TOKEN)
    delete_projects(server)
    delete_pass_projects(admin)
    yield admin
    delete_pass_projects(admin)


def test_two_annotators_blind_a_dispute_settled_by_the_adjudicator_and_an_edit_refused(
    browser_ready: None, studio: Server, admin: Member, tmp_path: Path
) -> None:
    root = write_repo(tmp_path / "repo", [], [])  # doc-x, annotated by nobody yet: the pass's one task
    team = {"annotators": [ANN1, ANN2], "adjudicators": [LEAD], "overlap": 2}
    (root / "annotations" / "team.json").write_text(json.dumps(team), encoding="utf-8")
    passwords = {e: secrets.token_urlsafe(15) for e in (ANN1, ANN2, LEAD)}
    lines = "".join(f"{e} {p}\n" for e, p in passwords.items())
    made = run(
        root, "team", "--data-dir", str(studio.data_dir), env={ENV_TEAM_PASSWORDS: lines, ENV_TOKEN: STUDIO_TOKEN}
    )
    assert made.exit_code == 0, made.output
    env = {ENV_TOKEN: STUDIO_TOKEN, ENV_URL: studio.url}
    pushed = run(root, "push", "--pass", PASS, env=env)
    assert pushed.exit_code == 0, pushed.output
    (project,) = [
        p["id"]
        for p in admin.call("GET", "/api/projects?page_size=100")["results"]
        if p["title"] == pass_titles(PASS)[0]
    ]
    (task,) = admin.call("GET", f"/api/tasks?project={project}")["tasks"]
    tid = task["id"]

    def annotations() -> dict[str, dict]:
        """The task's annotations on the server by author's e-mail."""
        emails = {u["id"]: u["email"] for u in admin.call("GET", "/api/users")}
        found = admin.call("GET", f"/api/tasks/{tid}/annotations")
        return {emails[a["completed_by"]]: a | {"updated_by": emails.get(a.get("updated_by"))} for a in found}

    shots = tmp_path / "screenshots"

    def as_member(email: str, steps) -> None:
        with chromium() as driver:
            a = Annotator(driver, studio.url)
            try:
                a.login(email, passwords[email])
                steps(a)
            except BaseException:
                a.evidence(shots, email.split("@")[0])
                print(f"\n[browser test] screenshot, page and console of the failure in {shots}")
                raise

    # 1. each annotator from their own queue, blind: ann2 is served the same task without ann1's annotation
    def first(a: Annotator) -> None:
        assert a.open_queue(project) == tid
        a.make_region("ORG", "BYD")
        a.submit(lambda: ANN1 in annotations())

    def second(a: Annotator) -> None:
        assert a.open_queue(project) == tid
        shown = a.annotations()
        assert len(shown) == 1 and shown[0]["pk"] is None and not a.regions(), shown  # only their own draft
        assert ANN1 not in a.d.find_element("tag name", "body").text
        a.make_region("PERSON", "BYD")
        a.submit(lambda: ANN2 in annotations())

    as_member(ANN1, first)
    as_member(ANN2, second)
    assert sorted(annotations()) == [ANN1, ANN2]

    # 2. the pull finds the task in dispute; disputes --pass lists it, with its link in the pass's project
    pulled = run(root, "pull", "--pass", PASS, env=env)
    assert pulled.exit_code == 0, pulled.output
    assert f"doc doc-x is in dispute ({ANN1}, {ANN2} disagree" in " ".join(pulled.output.split())
    page = tmp_path / "disputes.html"
    listed = run(root, "disputes", "--pass", PASS, "--out", str(page), env=env)
    assert listed.exit_code == 0, listed.output
    assert "document doc-x" in listed.output and "1 task in dispute (1 document)" in " ".join(listed.output.split())
    html = page.read_text(encoding="utf-8")
    assert f"/projects/{project}/data?task={tid}" in html and "ORG → PERSON" in html, html

    # 3. the adjudicator opens the task from the task list and submits an annotation of their own
    def settle(a: Annotator) -> None:
        a.open_task(project, tid)
        a.create_annotation()
        a.make_region("ORG", "BYD")
        a.submit(lambda: LEAD in annotations())

    as_member(LEAD, settle)
    settled = run(root, "pull", "--pass", PASS, env=env)
    assert settled.exit_code == 0, settled.output
    committed = json.loads((root / "annotations" / "exports" / "spans.json").read_text(encoding="utf-8"))
    (x,) = committed
    gold = x["annotations"][x["gold"]["annotation"]]
    assert x["gold"]["rule"] == "adjudicator" and gold["completed_by"]["email"] == LEAD
    from datasets import load_dataset

    docs = load_dataset(str(root / "dataset"), "documents", split="test")
    (row,) = list(docs)
    name = docs.features["entities"].feature["label"].int2str
    assert row["annotator"] == LEAD and [(e["text"], name(e["label"])) for e in row["entities"]] == [("BYD", "ORG")]

    # 4. ann2 opens ann1's annotation from the task list and presses Update after a change
    ann1_pk = str(annotations()[ANN1]["id"])

    def edit(a: Annotator) -> None:
        a.open_task(project, tid)
        assert {x["user"] for x in a.annotations()} == {LEAD, ANN2, ANN1}  # the task list shows everyone's
        a.select_annotation(ann1_pk)
        a.make_region("PERSON", "Lei Jun")
        a.submit(lambda: annotations()[ANN1]["updated_by"] == ANN2, button=a.UPDATE)

    as_member(ANN2, edit)
    refused = run(root, "pull", "--pass", PASS, env=env)
    assert refused.exit_code == 2, refused.output
    text = " ".join(refused.output.split())
    assert f"the annotation by {ANN1}" in text and f"last saved by {ANN2}, not its author" in text, text
    assert not [o for o in OUTPUTS for p in passwords.values() if p in o]
