"""Pull without a server: the gold rule across pulls (disputes keep the previous gold, an adjudicator settles
them) and provenance (who last saved each annotation; another person's edit is refused)."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
from conftest import REPO, TEXT, add_document, gold_spans, task, write_repo
from datasets import load_dataset

from crossclaim.errors import InputError
from crossclaim.formats.labelstudio.pairs import pair_results
from crossclaim.formats.labelstudio.spans import region_results
from crossclaim.schema.records import Pair, Span, pair_id
from crossclaim.studio.sync import Editors, PullOptions, apply_exports

A = {"id": 1, "email": "a@example.org"}
B = {"id": 2, "email": "b@example.org"}
LEAD = {"id": 3, "email": "lead@example.org"}
E = {"id": 4, "email": "annotator-e@example.org"}
ADMIN = {"id": 9, "email": "admin@example.org"}
USERS = {u["id"]: u["email"] for u in (A, B, LEAD, E, ADMIN)}
PID = pair_id("doc-x", "c1", "doc-x", "c2")
PAGE_Y = "Lei Jun said Xiaomi could sell 300,000 cars."


def fewer() -> list:
    return [s for s in gold_spans() if s.layer != "figures"]


def annotation(who: dict, spans: list, n: int, text: str = TEXT, **kw) -> dict:
    return {"id": n, "completed_by": who, "result": region_results(spans, text), "lead_time": 10.0, **kw}


def span_task(*annotations: dict) -> dict:
    t = task(gold_spans())
    t["annotations"] = list(annotations)
    return t


def pair_task(*annotations: dict) -> dict:
    data = {"pair_id": PID, "a_doc": "doc-x", "a_claim": "c1", "a_text": "a"}
    data |= {"b_doc": "doc-x", "b_claim": "c2", "b_text": "b"}
    return {"id": 11, "data": data, "annotations": list(annotations)}


def pair_annotation(who: dict, label: str, rationale: str, n: int, **kw) -> dict:
    pair = Pair(PID, "doc-x", "c1", "doc-x", "c2", label, rationale)
    return {"id": n, "completed_by": who, "result": pair_results(pair), **kw}


def same_topic() -> list:
    return [s.replace(topic="ev_profitability_timing") if s.id == "c2" else s for s in gold_spans()]


def committed(root: Path, name: str) -> list[dict]:
    return json.loads((root / "annotations" / "exports" / name).read_text(encoding="utf-8"))


def rows(root: Path) -> dict[str, dict]:
    return {r["id"]: r for r in load_dataset(str(root / "dataset"), "documents")["test"]}


def pull(root: Path, spans: list, pairs: list, **kw):
    spans, pairs = copy.deepcopy(spans), copy.deepcopy(pairs)
    return apply_exports(root, spans, pairs, PullOptions(**kw), editors=Editors(USERS, ADMIN["email"]))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """doc-x annotated by a alone (gold by the single rule), with a team whose adjudicator is lead."""
    root = write_repo(tmp_path, [span_task(annotation(A, gold_spans(), 1))], [])
    (root / "annotations" / "team.json").write_text(json.dumps({"adjudicators": [LEAD["email"]]}), encoding="utf-8")
    pull(root, [span_task(annotation(A, gold_spans(), 1))], [])
    assert committed(root, "spans.json")[0]["gold"] == {"annotation": 0, "annotator": A["email"], "rule": "single"}
    return root


def test_a_dispute_keeps_the_previous_gold_then_the_adjudicator_settles_it(root: Path) -> None:
    spans = [span_task(annotation(A, gold_spans(), 1), annotation(B, fewer(), 2, updated_by=2))]
    report = pull(root, spans, [])
    (note,) = [n for n in report.notes if "doc doc-x" in n]
    assert (
        "in dispute (a@example.org, b@example.org disagree" in note
        and "previous gold, by a@example.org, is kept" in note
    )
    (t,) = committed(root, "spans.json")
    assert t["gold"] == {"annotation": 0, "annotator": A["email"], "rule": "in_dispute_kept"}
    assert [a["updated_by"] for a in t["annotations"]] == [None, {"email": B["email"]}]
    assert len(rows(root)["doc-x"]["figures"]) == 4  # a's gold, not b's

    settled = copy.deepcopy(spans)
    settled[0]["annotations"].append(annotation(LEAD, fewer(), 3, updated_by=3))
    report = pull(root, settled, [])
    assert not [n for n in report.notes if "in dispute" in n]
    (t,) = committed(root, "spans.json")
    assert t["gold"] == {"annotation": 2, "annotator": LEAD["email"], "rule": "adjudicator"}
    assert rows(root)["doc-x"]["annotator"] == LEAD["email"] and rows(root)["doc-x"]["figures"] == []


def test_a_previous_gold_changed_by_its_author_is_kept_from_the_committed_export(root: Path) -> None:
    before = rows(root)["doc-x"]
    spans = [span_task(annotation(A, fewer()[:3], 1, updated_by=1), annotation(B, fewer(), 2, updated_by=2))]
    report = pull(root, spans, [])
    assert any("kept from the committed exports (no longer in Label Studio)" in n for n in report.notes)
    (t,) = committed(root, "spans.json")
    assert t["gold"]["rule"] == "in_dispute_kept" and t["gold"]["annotation"] is None
    assert t["gold"]["kept"]["completed_by"] == {"email": A["email"]}
    assert len(t["annotations"]) == 2 and rows(root)["doc-x"] == before  # the published gold is unchanged
    text = (root / "annotations" / "exports" / "spans.json").read_bytes()
    assert pull(root, spans, []).notes  # the next pull of the same work: still in dispute, the same bytes
    assert (root / "annotations" / "exports" / "spans.json").read_bytes() == text


def test_a_new_document_in_dispute_stays_out_and_the_pull_says_so(root: Path) -> None:
    add_document(root, "doc-y", PAGE_Y)
    lei = Span("entities", "e1", 0, 7, "Lei Jun", "PERSON")
    xiaomi = Span("entities", "e2", 13, 19, "Xiaomi", "ORG")
    y = {
        "id": 2,
        "data": {"doc_id": "doc-y", "text": PAGE_Y, "headline": ""},
        "annotations": [annotation(A, [lei], 5, PAGE_Y), annotation(B, [lei, xiaomi], 6, PAGE_Y)],
    }
    report = pull(root, [span_task(annotation(A, gold_spans(), 1)), y], [])
    assert any("doc doc-y is in dispute (a@example.org, b@example.org disagree" in n for n in report.notes)
    assert sorted(rows(root)) == ["doc-x"]
    y_task = [t for t in committed(root, "spans.json") if t["data"]["doc_id"] == "doc-y"][0]
    assert y_task["gold"] == {"annotation": None, "annotator": None, "rule": "in_dispute"}


def test_an_annotation_saved_by_someone_else_is_refused_unless_accepted(tmp_path: Path) -> None:
    """The incident: a second annotator pressed Update on annotator-e's pair annotation."""
    spans = [span_task(annotation(A, same_topic(), 1))]
    pairs = [pair_task(pair_annotation(E, "CONTRADICTS", "2025 versus late 2023", 5))]
    root = write_repo(tmp_path, spans, pairs)
    pull(root, spans, pairs)
    before = {name: (root / "annotations" / "exports" / name).read_bytes() for name in ("spans.json", "pairs.json")}
    edited = [pair_task(pair_annotation(E, "UNRELATED", "", 5, updated_by=B["id"]))]
    with pytest.raises(InputError) as refused:
        pull(root, spans, edited)
    message = " | ".join(f"{where}: {what}" for where, what in refused.value.problems)
    assert f"claim pair {PID}" in message and "annotation by annotator-e@example.org" in message
    assert "last saved by b@example.org, not its author" in message and "label CONTRADICTS → UNRELATED" in message
    assert "--accept-edits" in message
    assert all((root / "annotations" / "exports" / n).read_bytes() == b for n, b in before.items())

    report = pull(root, spans, edited, accept_edits=True)
    (accepted,) = [n for n in report.notes if "(accepted with --accept-edits)" in n]
    assert "last saved by b@example.org" in accepted and "label CONTRADICTS → UNRELATED" in accepted
    (t,) = committed(root, "pairs.json")
    assert t["annotations"][0]["updated_by"] == {"email": B["email"]}


def test_push_s_account_and_the_author_may_save_and_an_unchanged_annotation_keeps_its_editor(root: Path) -> None:
    by_author = [span_task(annotation(A, fewer(), 1, updated_by=1))]
    pull(root, by_author, [])
    assert committed(root, "spans.json")[0]["annotations"][0]["updated_by"] == {"email": A["email"]}
    # push wrote the same annotation again (its account), or a bulk import left it empty: still the author's
    for who in (ADMIN["id"], None):
        again = [span_task(annotation(A, fewer(), 1, updated_by=who))]
        pull(root, again, [])
        assert committed(root, "spans.json")[0]["annotations"][0]["updated_by"] == {"email": A["email"]}
    # push's account changing it (the lead logged in as admin) is no one else's edit of a's work
    pull(root, [span_task(annotation(A, gold_spans(), 1, updated_by=ADMIN["id"]))], [])
    assert committed(root, "spans.json")[0]["annotations"][0]["updated_by"] == {"email": ADMIN["email"]}
    # an id this server does not know is named as such
    with pytest.raises(InputError, match="last saved by user:77"):
        pull(root, [span_task(annotation(A, fewer(), 1, updated_by=77))], [])


def test_todays_gold_is_kept_under_the_rule_dataset_rebuilds_byte_for_byte(tmp_path: Path) -> None:
    """Every committed task without its record: the rule (with the team) chooses the same gold, and a
    build from the records it writes makes the committed dataset/ again, byte for byte."""
    root = tmp_path / "repo"
    shutil.copytree(REPO / "annotations", root / "annotations")
    for name in ("DATASHEET.md", "README.md"):
        shutil.copy(REPO / name, root / name)
    for rel in ("spans.json", "pairs.json"):
        path = root / "annotations" / "exports" / rel
        committed = json.loads(path.read_text(encoding="utf-8"))
        stripped = copy.deepcopy(committed)
        for t in stripped:
            assert t.pop("gold")["rule"] == "ground_truth"
        path.write_text(json.dumps(stripped), encoding="utf-8")
    spans = json.loads((root / "annotations" / "exports" / "spans.json").read_text(encoding="utf-8"))
    pairs = json.loads((root / "annotations" / "exports" / "pairs.json").read_text(encoding="utf-8"))
    apply_exports(root, spans, pairs)
    for rel in ("spans.json", "pairs.json"):
        assert (root / "annotations" / "exports" / rel).read_bytes() == (
            REPO / "annotations" / "exports" / rel
        ).read_bytes()
    built = {p.relative_to(root / "dataset"): p.read_bytes() for p in (root / "dataset").rglob("*") if p.is_file()}
    committed = {p.relative_to(REPO / "dataset"): p.read_bytes() for p in (REPO / "dataset").rglob("*") if p.is_file()}
    assert sorted(built) == sorted(committed)
    assert all(built[k] == committed[k] for k in committed), [str(k) for k in committed if built[k] != committed[k]]
