"""Blind double annotation in passes: push a pass, annotate it from two annotators' own queues on a real
server, pull it beside the committed work (``crossclaim.studio.passes``)."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from conftest import STUDIO_TOKEN, TEXT, TEXT_Y, add_document, span, write_repo
from test_pull import pair_task as unmarked_pair_task
from test_pull import span_task
from typer.testing import CliRunner

from crossclaim.cli import app
from crossclaim.errors import InputError
from crossclaim.formats.labelstudio.annotations import PASS_KEY
from crossclaim.formats.labelstudio.ids import ID_META
from crossclaim.formats.labelstudio.pairs import pair_results
from crossclaim.formats.labelstudio.spans import region_results
from crossclaim.formats.team import Team
from crossclaim.schema.records import Pair
from crossclaim.studio.passes import (
    check_pass_name,
    merged_with_pass,
    pass_overlap,
    pass_settings,
    pass_titles,
    pass_work,
    pre_annotation_version,
)
from crossclaim.studio.server import ENV_TOKEN, ENV_URL, Server, server_env
from crossclaim.studio.sync import apply_exports

ANN1, ANN2, LEAD = "ann1@team.example", "ann2@team.example", "lead@team.example"
NAME = "round-2"


def pair_task(gt: bool = False) -> dict:
    task = unmarked_pair_task()
    task["annotations"][0]["ground_truth"] = gt
    return task


# ---------------------------------------------------------------------------------------------
# without a server


def test_pass_names_overlap_and_pre_annotations_are_checked() -> None:
    assert check_pass_name("round-2") == "round-2"
    for bad in ("", "two words", "a" * 41, "-lead", "ünï"):
        with pytest.raises(InputError, match="pass name"):
            check_pass_name(bad)
    team = Team(annotators=(ANN1, ANN2), adjudicators=(LEAD,), overlap=2)
    assert pass_overlap(team, None) == 2 and pass_overlap(team, 1) == 1
    with pytest.raises(InputError, match="declares 2"):
        pass_overlap(team, 3)
    with pytest.raises(InputError, match="at least 1"):
        pass_overlap(team, 0)
    from crossclaim.schema.records import Prediction

    preds = {"doc-x": [Prediction("doc-x", "regex@1", [])]}
    assert pre_annotation_version(team, preds) == "regex@1" and pre_annotation_version(team, {}) is None
    with pytest.raises(InputError, match="pre_annotations to none"):
        pre_annotation_version(Team(pre_annotations="none"), preds)
    with pytest.raises(InputError, match="one system's"):
        pre_annotation_version(team, {"doc-x": [Prediction("doc-x", "a@1", []), Prediction("doc-x", "b@1", [])]})
    settings = pass_settings(2, "regex@1")
    assert settings["maximum_annotations"] == 2 and settings["model_version"] == "regex@1"
    assert settings["show_collab_predictions"] is True and pass_settings(3, None)["show_collab_predictions"] is False
    assert pass_titles(NAME) == ("CrossClaim spans (pass round-2)", "CrossClaim claim pairs (pass round-2)")


def ann(who: str, n: int, **kw) -> dict:
    return {"id": n, "completed_by": {"id": n, "email": who}, "result": [], **kw}


def test_a_pass_replaces_only_what_it_brought_before_and_adds_new_tasks() -> None:
    committed = [
        {"data": {"doc_id": "doc-x"}, "meta": {}, "annotations": [ann("a@x", 1), ann("b@x", 2, **{PASS_KEY: NAME})]},
        {"data": {"doc_id": "doc-z"}, "meta": {}, "annotations": [ann("c@x", 3, **{PASS_KEY: "other"})]},
    ]
    served = [
        {"data": {"doc_id": "doc-x"}, "annotations": [ann(ANN1, 7)], "predictions": [{"result": []}]},
        {"data": {"doc_id": "doc-y", "text": "t"}, "annotations": [ann(ANN2, 8)]},
        {"data": {"doc_id": "doc-z"}, "annotations": []},
    ]
    work = pass_work(served, "doc_id", NAME)
    merged = list(merged_with_pass(committed, work, "doc_id", NAME))
    x, z, y = merged
    assert [(a["completed_by"]["email"], a.get(PASS_KEY)) for a in x["annotations"]] == [("a@x", None), (ANN1, NAME)]
    assert z == committed[1]  # another pass's work and tasks this pass did not touch: as they were
    assert y == {"data": {"doc_id": "doc-y", "text": "t"}, "annotations": [{**ann(ANN2, 8), PASS_KEY: NAME}]}
    assert all("predictions" not in t for t in merged)


def pass_export(text: str = TEXT) -> list[dict]:
    """The pass's span project as Label Studio exports it: ann1 drew an entity and a claim (random ids) on doc-x."""
    claim = span("claims", "dljnItd8xT", "BYD cut prices by a third in May", "CLAIM", hedged=False,
                 topic="market_impact")  # fmt: skip
    annotation = {"id": 40, "completed_by": {"id": 9, "email": ANN1}, "lead_time": 3.0, "result": region_results(
        [span("entities", "Qw3_rT-yU8", "Xiaomi", "ORG"), claim], text)}  # fmt: skip
    prediction = {"model_version": "regex@1", "result": region_results([span("entities", "e1", "BYD", "ORG")], text)}
    data = {"doc_id": "doc-x", "text": text, "headline": ""}
    return [{"id": 70, "data": data, "meta": {}, "annotations": [annotation], "predictions": [prediction]}]


def files(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and ".crossclaim" not in str(p)}


def test_check_and_pull_of_a_pass_offline_and_a_plain_pull_after_it(team_repo: Path) -> None:
    from crossclaim.dataset.gold import load_gold
    from crossclaim.studio.passes import merge_pass
    from crossclaim.studio.sync import prepared_exports

    root = team_repo
    exports = root / "annotations" / "exports"
    committed_pairs = json.loads((exports / "pairs.json").read_text(encoding="utf-8"))
    main_export = [span_task()]  # what the gold projects hold: no pass annotation
    path = root.parent / "pass-spans.json"
    path.write_text(json.dumps(pass_export()), encoding="utf-8")
    before = files(root)
    checked = CliRunner().invoke(app, ["studio", "check", str(path), "--root", str(root), "--pass", NAME])
    assert checked.exit_code == 0, checked.output
    assert f"change: doc-x: annotations 1 added ({ANN1})" in checked.output and "nothing written" in checked.output
    as_main = CliRunner().invoke(app, ["studio", "check", str(path), "--root", str(root)])
    assert as_main.exit_code == 2 and "the annotation by a@example.org is not in the new export" in as_main.output
    assert files(root) == before

    spans, pairs = merge_pass(root / "annotations", pass_export(), None, NAME, root.parent, "Label Studio pass")
    apply_exports(root, spans, pairs)
    (x,) = json.loads((exports / "spans.json").read_text(encoding="utf-8"))
    brought = [a for a in x["annotations"] if a.get(PASS_KEY) == NAME]
    assert [r["id"] for r in brought[0]["result"] if r["from_name"] in ("entities", "claims")] == ["e7", "c3"]
    assert json.loads((exports / "pairs.json").read_text(encoding="utf-8")) == committed_pairs
    assert load_gold(root / "annotations").gold["doc-x"].annotator == "b@example.org"
    against = CliRunner().invoke(app, ["studio", "agreement", "--root", str(root), "--pass", NAME])
    assert against.exit_code == 0, against.output
    assert f"| {ANN1} | gold | 1 |" in against.output  # the pass's annotator against the task's gold
    other = CliRunner().invoke(app, ["studio", "agreement", "--root", str(root), "--pass", "nobody"])
    assert other.exit_code == 2 and "no annotation of pass 'nobody'" in other.output

    after = files(root)
    shown: list[str] = []
    spans, pairs = prepared_exports(root / "annotations", main_export, [pair_task(gt=True)], root.parent)
    apply_exports(root, spans, pairs, show=shown.extend)
    assert shown == ["no change"] and files(root) == after  # the gold projects' pull keeps the pass's work
    path.write_text(json.dumps(main_export), encoding="utf-8")
    again = CliRunner().invoke(app, ["studio", "check", str(path), "--root", str(root)])
    assert again.exit_code == 0 and "change: no change" in again.output, again.output
    redone = CliRunner().invoke(app, ["studio", "check", str(root.parent / "p.json"), "--root", str(root)])
    assert redone.exit_code == 2 and "Traceback" not in redone.output


def test_refused_combinations_say_why(team_repo: Path) -> None:
    cases = [
        (["push", "--pass", NAME, "--gold"], "a pass starts with no annotation"),
        (["push", "--pass", "two words"], "a pass name is"),
        (["push", "--overlap", "2"], "is the overlap of a --pass"),
        (["pull", "--pass", NAME, "--utf16"], "not with --pass"),
        (["pull", "--pass", NAME, "--with-predictions"], "pre-annotations never join"),
    ]
    for args, message in cases:
        result = CliRunner().invoke(app, ["studio", *args, "--root", str(team_repo)], env={ENV_TOKEN: "t"})
        assert result.exit_code == 2 and message in result.output, (args, result.output)


# ---------------------------------------------------------------------------------------------
# on the session's server: two annotators, blind, each from their own queue


def make_annotator(studio: Server, email: str) -> str:
    """An ordinary member of the server's organisation with a legacy API token, made through Label
    Studio's own Django code (the API cannot read another user's token); the token goes by environment."""
    token = secrets.token_hex(20)
    script = (
        "import os, sys\n"
        "from label_studio.server import _setup_env\n"
        "_setup_env()\n"
        "from organizations.models import Organization\n"
        "from rest_framework.authtoken.models import Token\n"
        "from users.models import User\n"
        "email = os.environ['CROSSCLAIM_TEST_EMAIL']\n"
        "user = User.objects.filter(email=email).first() or User.objects.create_user(email=email, password=None)\n"
        "org = Organization.objects.order_by('id').first()\n"
        "org.add_user(user)\n"
        "user.active_organization = org\n"
        "user.save()\n"
        "Token.objects.filter(user=user).update(key=os.environ['CROSSCLAIM_TEST_KEY'])\n"
    )
    env = {**server_env(studio.data_dir, "", "", ""), "CROSSCLAIM_TEST_EMAIL": email, "CROSSCLAIM_TEST_KEY": token}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return token


class Annotator:
    """An annotator working through the API as the web interface does: the next task of their queue, then submit."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.headers = url, {"Authorization": f"Token {token}"}

    def next(self, project: int) -> dict | None:
        r = requests.get(f"{self.url}/api/projects/{project}/next", headers=self.headers, timeout=30)
        if r.status_code == 404:
            return None
        r.raise_for_status()
        return r.json()

    def submit(self, project: int, task: dict, result: list[dict], **kw) -> None:
        body = {"result": result, "lead_time": 4.5, **kw}
        r = requests.post(
            f"{self.url}/api/tasks/{task['id']}/annotations?project={project}",
            json=body,
            headers=self.headers,
            timeout=30,
        )
        assert r.status_code == 201, r.text


def run(*args: str, url: str):
    return CliRunner().invoke(app, list(args), env={ENV_TOKEN: STUDIO_TOKEN, ENV_URL: url})


@pytest.fixture
def team_repo(tmp_path: Path) -> Path:
    """A project whose committed work came from a pull (doc-x: two annotations, one of them gold; a pair and
    its gold label), a document nobody has annotated yet (doc-y), and a declared team."""
    labelled = pair_task(gt=True)  # committed tasks have their gold marked
    root = write_repo(tmp_path, [span_task()], [labelled])
    apply_exports(root, [span_task()], [labelled])
    add_document(root, "doc-y", TEXT_Y)
    team = {"annotators": [ANN1, ANN2], "adjudicators": [LEAD], "overlap": 2, "pre_annotations": "every"}
    (root / "annotations" / "team.json").write_text(json.dumps(team), encoding="utf-8")
    return root


def delete_pass_projects(url: str) -> None:
    from label_studio_sdk import LabelStudio

    ls = LabelStudio(base_url=url, api_key=STUDIO_TOKEN)
    for p in list(ls.projects.list()):
        if p.title.startswith("CrossClaim"):
            ls.projects.delete(id=p.id)


@pytest.mark.server
def test_a_pass_is_annotated_blind_from_each_queue_and_pulled_beside_the_committed_work(
    studio: Server, team_repo: Path
) -> None:
    from label_studio_sdk import LabelStudio

    url = studio.url
    delete_pass_projects(url)
    root = team_repo
    exports = root / "annotations" / "exports"
    assert run("studio", "push", "--root", str(root), "--gold", url=url).exit_code == 0
    committed_spans = json.loads((exports / "spans.json").read_text(encoding="utf-8"))
    committed_pairs = (exports / "pairs.json").read_bytes()

    pushed = run("studio", "push", "--root", str(root), "--pass", NAME, "--predictions", "regex", url=url)
    assert pushed.exit_code == 0, pushed.output
    assert "each task goes to 2 annotators" in pushed.output
    again = run("studio", "push", "--root", str(root), "--pass", NAME, "--predictions", "regex", url=url)
    assert again.exit_code == 0 and "0 tasks created" in again.output, again.output

    ls = LabelStudio(base_url=url, api_key=STUDIO_TOKEN)
    span_title, pair_title = pass_titles(NAME)
    projects = {p.title: p for p in ls.projects.list()}
    spans_p, pairs_p = projects[span_title], projects[pair_title]
    assert (spans_p.maximum_annotations, spans_p.show_collab_predictions) == (2, True)
    assert spans_p.model_version.startswith("regex@") and pairs_p.maximum_annotations == 2
    tasks = list(ls.tasks.list(project=spans_p.id, fields="all"))
    assert sorted(t.data["doc_id"] for t in tasks) == ["doc-x", "doc-y"]
    assert all(not t.annotations and t.predictions for t in tasks)  # pre-annotations, no annotation

    one, two = (Annotator(url, make_annotator(studio, who)) for who in (ANN1, ANN2))
    # ann1 takes the first task of the queue; ann2's queue gives the same task (breadth first), blind
    first = one.next(spans_p.id)
    assert first["data"]["doc_id"] == "doc-x" and first["predictions"] and not first["annotations"]
    new_claim = span("claims", "dljnItd8xT", "BYD cut prices by a third in May", "CLAIM", hedged=False,
                     topic="market_impact")  # fmt: skip
    mine = [span("entities", "e1", "Xiaomi", "ORG"), new_claim]
    one.submit(spans_p.id, first, region_results(mine, first["data"]["text"]))
    seen = two.next(spans_p.id)
    assert seen["id"] == first["id"] and seen["annotations"] == []  # ann1's work is not shown to ann2
    assert seen["predictions"] == first["predictions"]  # the same pre-annotations for every annotator
    two.submit(spans_p.id, seen, region_results(mine[:1], seen["data"]["text"]))
    y1 = one.next(spans_p.id)
    assert y1["data"]["doc_id"] == "doc-y"
    one.submit(spans_p.id, y1, region_results([span("entities", "x9Fq_-Lm0Z", "Xiaomi", "ORG")], TEXT_Y))
    y2 = two.next(spans_p.id)
    assert y2["id"] == y1["id"] and y2["annotations"] == []
    two.submit(spans_p.id, y2, [], was_cancelled=True)  # skipped
    assert one.next(spans_p.id) is None and two.next(spans_p.id) is None  # each task went to two annotators
    pair = one.next(pairs_p.id)
    label = Pair(pair["data"]["pair_id"], "", "", "", "", "UNRELATED", "")
    one.submit(pairs_p.id, pair, pair_results(label))

    pulled = run("studio", "pull", "--root", str(root), "--pass", NAME, url=url)
    assert pulled.exit_code == 0, pulled.output
    spans = {t["data"]["doc_id"]: t for t in json.loads((exports / "spans.json").read_text(encoding="utf-8"))}
    x = spans["doc-x"]
    before = [a for a in x["annotations"] if PASS_KEY not in a]
    assert before == committed_spans[0]["annotations"]  # the committed work, byte for byte as it was
    brought = {a["completed_by"]["email"]: a for a in x["annotations"] if a.get(PASS_KEY) == NAME}
    assert sorted(brought) == [ANN1, ANN2] and all(not a["ground_truth"] for a in brought.values())
    ids = {r["id"] for r in brought[ANN1]["result"] if r["from_name"] == "claims"}
    assert ids == {"c3"}  # the random id became the next claim id of the task (c1 and c2 are taken)
    assert x["meta"][ID_META] == {"dljnItd8xT": "c3"}
    y = spans["doc-y"]
    assert {a["completed_by"]["email"]: a["was_cancelled"] for a in y["annotations"]} == {ANN1: False, ANN2: True}
    assert [r["id"] for r in y["annotations"][0]["result"]] == ["e1"]
    assert "predictions" not in x and not (exports / "predictions.json").exists()
    (pair_back,) = json.loads((exports / "pairs.json").read_text(encoding="utf-8"))
    assert {a["completed_by"]["email"]: a.get(PASS_KEY) for a in pair_back["annotations"]} == {
        "b@example.org": None,
        ANN1: NAME,
    }
    kept = [a for a in pair_back["annotations"] if PASS_KEY not in a]
    assert kept == json.loads(committed_pairs)[0]["annotations"]
    from crossclaim.dataset.gold import load_gold

    gold = load_gold(root / "annotations")
    assert gold.gold["doc-x"].annotator == "b@example.org"  # the committed gold stays gold
    assert gold.gold["doc-y"].annotator == ANN1  # the one usable annotation of a new document

    after = {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and ".crossclaim" not in str(p)}
    for args in (("--pass", NAME), ()):  # the pass again, then the gold projects: nothing changes
        again = run("studio", "pull", "--root", str(root), *args, url=url)
        assert again.exit_code == 0, again.output
        assert "change: no change" in again.output
        assert {p: p.read_bytes() for p in after} == after
    regold = run("studio", "push", "--root", str(root), "--gold", url=url)
    assert regold.exit_code == 0, regold.output
    main = {p.title: p.id for p in ls.projects.list()}["CrossClaim spans"]
    emails = {u.id: u.email for u in ls.users.list()}
    for t in ls.tasks.list(project=main, fields="all"):  # a pass's annotations stay in the pass's projects
        who = {emails.get(a["completed_by"] if isinstance(a, dict) else a.completed_by) for a in t.annotations or []}
        assert who == {"a@example.org", "b@example.org"} if t.data["doc_id"] == "doc-x" else not who
    delete_pass_projects(url)
