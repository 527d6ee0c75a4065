"""A team on the session's Label Studio server: the replayed incident (an annotator's Update over another's
pair annotation is refused by pull), and a dispute listed, settled by the adjudicator, taken as gold."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import STUDIO_TOKEN, add_document, committed_copy, delete_projects, git, gold_spans, task, write_repo
from studio.accounts import Member, member
from typer.testing import CliRunner

from crossclaim.cli import app
from crossclaim.formats.labelstudio.spans import region_results
from crossclaim.schema.records import Span
from crossclaim.studio.server import ENV_TOKEN, ENV_URL, Server
from crossclaim.studio.sync import PAIR_PROJECT, SPAN_PROJECT

pytestmark = pytest.mark.server
INCIDENT = "doc-000:c14~doc-003:c3"  # annotator-e's CONTRADICTS, the pair of the incident
PAGE_Y = "Lei Jun said Xiaomi could sell 300,000 cars in 2025."


def run(root: Path, url: str, *args: str):
    return CliRunner().invoke(app, ["studio", *args, "--root", str(root)], env={ENV_TOKEN: STUDIO_TOKEN, ENV_URL: url})


def tasks(admin: Member, title: str, key: str) -> dict[str, dict]:
    (project,) = [p["id"] for p in admin.call("GET", "/api/projects?page_size=100")["results"] if p["title"] == title]
    listed = admin.call("GET", f"/api/tasks?project={project}&page_size=1000&fields=all")["tasks"]
    return {t["data"][key]: t for t in listed}


@pytest.fixture
def fresh(server: str):
    delete_projects(server)
    yield server
    delete_projects(server)


def test_the_incident_an_update_over_another_annotators_pair_is_refused(
    fresh: str, studio: Server, tmp_path: Path
) -> None:
    root = committed_copy(tmp_path / "repo")
    pushed = run(root, fresh, "push", "--gold")
    assert pushed.exit_code == 0, pushed.output

    admin = Member(fresh, "admin", STUDIO_TOKEN)
    pair = tasks(admin, PAIR_PROJECT, "pair_id")[INCIDENT]
    (theirs,) = [a for a in pair["annotations"] if a["completed_by"] == _user_id(admin, "annotator-e@example.org")]
    second = member(fresh, STUDIO_TOKEN, studio.data_dir, "ann2@team.example")
    unrelated = [r for r in theirs["result"] if r["from_name"] == "label"]
    unrelated[0]["value"] = {"choices": ["UNRELATED"]}
    saved = second.update(theirs["id"], unrelated)
    assert saved["completed_by"] == _user_id(admin, "annotator-e@example.org")  # still "by annotator-e"
    assert saved["updated_by"] == _user_id(admin, "ann2@team.example")  # what Label Studio 1.23.2 records

    refused = run(root, fresh, "pull")
    assert refused.exit_code == 2, refused.output
    text = " ".join(refused.output.split())
    assert f"claim pair {INCIDENT}" in text and "the annotation by annotator-e@example.org" in text
    assert "last saved by ann2@team.example, not its author" in text and "label CONTRADICTS → UNRELATED" in text
    assert "--accept-edits" in text
    assert git(root, "status", "--porcelain") == ""  # nothing written

    taken = run(root, fresh, "pull", "--accept-edits")
    assert taken.exit_code == 0, taken.output
    committed = json.loads((root / "annotations" / "exports" / "pairs.json").read_text(encoding="utf-8"))
    (t,) = [t for t in committed if t["data"]["pair_id"] == INCIDENT]
    (e,) = [a for a in t["annotations"] if a["completed_by"]["email"] == "annotator-e@example.org"]
    assert e["updated_by"] == {"email": "ann2@team.example"} and e["result"][0]["value"]["choices"] == ["UNRELATED"]
    assert t["gold"]["rule"] == "ground_truth"  # the adjudicator's mark still decides the gold


def _user_id(admin: Member, email: str) -> int:
    (uid,) = [u["id"] for u in admin.call("GET", "/api/users") if u["email"] == email]
    return uid


def test_a_dispute_is_listed_then_the_adjudicators_annotation_becomes_gold(
    fresh: str, studio: Server, tmp_path: Path
) -> None:
    root = write_repo(tmp_path / "repo", [task(gold_spans())], [])
    add_document(root, "doc-y", PAGE_Y, publisher="Team Daily")
    team = {"adjudicators": ["lead@team.example"], "annotators": ["ann1@team.example", "ann2@team.example"]}
    (root / "annotations" / "team.json").write_text(json.dumps(team), encoding="utf-8")
    pushed = run(root, fresh, "push", "--gold")
    assert pushed.exit_code == 0, pushed.output

    emails = [*team["annotators"], *team["adjudicators"]]
    ann1, ann2, lead = (member(fresh, STUDIO_TOKEN, studio.data_dir, e) for e in emails)
    admin = Member(fresh, "admin", STUDIO_TOKEN)
    y = tasks(admin, SPAN_PROJECT, "doc_id")["doc-y"]
    lei = Span("entities", "e1", 0, 7, "Lei Jun", "PERSON")
    xiaomi = Span("entities", "e2", 13, 19, "Xiaomi", "ORG")
    ann1.annotate(y["id"], region_results([lei, xiaomi], PAGE_Y))
    ann2.annotate(y["id"], region_results([lei, Span("entities", "e2", 13, 19, "Xiaomi", "PRODUCT")], PAGE_Y))

    page = tmp_path / "disputes.html"
    listed = run(root, fresh, "disputes", "--out", str(page))
    assert listed.exit_code == 0, listed.output
    assert "document doc-y" in listed.output and "in dispute" in listed.output and "relabelled" in listed.output
    assert "1 task in dispute (1 document)" in " ".join(listed.output.split())
    html = page.read_text(encoding="utf-8")
    assert f"/data?task={y['id']}" in html and "ORG → PRODUCT" in html and "<script" not in html

    pulled = run(root, fresh, "pull")
    assert pulled.exit_code == 0, pulled.output
    assert "doc doc-y is in dispute (ann1@team.example, ann2@team.example disagree" in " ".join(pulled.output.split())
    assert "doc-y" not in _documents(root)

    lead.annotate(y["id"], region_results([lei, xiaomi], PAGE_Y))  # the adjudicator settles it
    settled = run(root, fresh, "pull")
    assert settled.exit_code == 0, settled.output
    assert _documents(root)["doc-y"] == "lead@team.example"
    committed = json.loads((root / "annotations" / "exports" / "spans.json").read_text(encoding="utf-8"))
    (t,) = [t for t in committed if t["data"]["doc_id"] == "doc-y"]
    gold = t["annotations"][t["gold"]["annotation"]]
    assert t["gold"]["rule"] == "adjudicator" and gold["completed_by"]["email"] == "lead@team.example"
    assert gold["updated_by"] == {"email": "lead@team.example"}
    again = run(root, fresh, "disputes", "--out", str(page))
    assert again.exit_code == 0 and "0 tasks in dispute" in again.output
    everything = run(root, fresh, "disputes", "--all", "--out", str(page))
    assert "settled: the one adjudicator's annotation (by lead@team.example)" in " ".join(everything.output.split())


def _documents(root: Path) -> dict[str, str]:
    from datasets import load_dataset

    docs = load_dataset(str(root / "dataset"), "documents")
    return {r["id"]: r["annotator"] for split in docs.values() for r in split}
