"""What a pull changes, per document, and what it would lose."""

from __future__ import annotations

import copy
import json

from conftest import make_gold

from crossclaim.dataset.changes import GoldDigest, changes, delta, losing_pull, lost_work
from crossclaim.formats.labelstudio.annotations import annotators_by_task
from crossclaim.formats.labelstudio.pairs import PairTask
from crossclaim.schema.records import Annotation, Pair, Span, Task


def with_tasks(gold):
    """make_gold() with its span tasks and claim-pair tasks filled in from the gold."""
    gold.tasks = {d: Task(d, "", {}, [copy.deepcopy(a)]) for d, a in gold.gold.items()}
    gold.pair_tasks = [
        PairTask({"pair_id": p.id}, [Annotation("", "p@example.org", [], payload=p)]) for p in gold.pairs
    ]
    return gold


def test_unchanged_gold_shows_no_change() -> None:
    assert changes(GoldDigest.of(with_tasks(make_gold())), GoldDigest.of(with_tasks(make_gold()))) == ["no change"]


def test_changes_are_listed_per_document_with_spans_pairs_and_annotations() -> None:
    old, new = with_tasks(make_gold()), with_tasks(make_gold())
    spans = new.gold["doc-b"].spans
    spans.remove(next(s for s in spans if s.id == "e2"))
    f1 = next(s for s in spans if s.id == "f1")
    spans[spans.index(f1)] = f1.replace(value="300000 vehicle")
    spans.append(Span("entities", "e7", 0, 6, "Xiaomi", "ORG"))
    first = new.pairs[0]
    new.pairs[0] = Pair(**{**first.__dict__, "label": "AGREES"})
    new.tasks["doc-b"].annotations = [new.gold["doc-b"]]
    lines = changes(GoldDigest.of(old), GoldDigest.of(new))
    assert lines == [
        "doc-a: gold pairs 1 changed (doc-a:c2~doc-c:c1)",
        "doc-b: gold spans 1 added (e7), 1 changed (f1), 1 removed (e2); annotations 1 changed (gold@example.org)",
        "doc-c: gold pairs 1 changed (doc-a:c2~doc-c:c1)",
    ]


def test_long_lists_are_cut() -> None:
    d = delta({}, {f"e{n}": n for n in range(10)})
    assert d.describe("gold spans") == "gold spans 10 added (e0, e1, e2, e3, e4, e5 and 4 more)"


def test_lost_work_names_tasks_and_annotations_the_new_exports_lack() -> None:
    old = with_tasks(make_gold())
    old.tasks["doc-b"].annotations.append(Annotation("doc-b", "x@example.org", []))
    spans = [
        {"data": {"doc_id": "doc-a"}, "annotations": [{"completed_by": {"email": "gold@example.org"}}]},
        {"data": {"doc_id": "doc-b"}, "annotations": [{"completed_by": {"email": "gold@example.org"}}]},
    ]
    pairs = [{"data": {"pair_id": p.id}, "annotations": [{"completed_by": "p@example.org"}]} for p in old.pairs[1:]]

    def lost(spans: object, pairs: object) -> list:
        return lost_work(GoldDigest.of(old), annotators_by_task(spans, "doc_id"), annotators_by_task(pairs, "pair_id"))

    assert lost(json.loads(json.dumps(spans)), pairs) == [
        ("document doc-b", "the annotation by x@example.org is not in the new export"),
        ("document doc-c", "its task (1 annotation) is not in the new export"),
        ("claim pair doc-a:c2~doc-c:c1", "its task (1 annotation) is not in the new export"),
    ]
    assert lost("not an export", None)[0] == (
        "document doc-a",
        "its task (1 annotation) is not in the new export",
    )


def test_a_losing_pull_says_the_new_export_s_own_problems_first() -> None:
    """A task whose doc_id changed to an unknown id is why its document's task looks lost: the cause comes first."""
    lost = [("document doc-002", "its task (2 annotations) is not in the new export")]
    cause = [("x span export: task 3 (doc doc-777)", "unknown document id 'doc-777' (not in the manifest)")]
    said = losing_pull(lost, cause, "x")
    assert said[0] == cause[0]
    assert said[1] == ("x: document doc-002", "its task (2 annotations) is not in the new export")
    assert said[2][0] == "x" and "--accept-deletions" in said[2][1] and len(said) == 3
    assert losing_pull(lost, [], "x") == said[1:]


def test_studio_check_names_an_unknown_document_id_before_the_work_it_seems_to_lose(tmp_path) -> None:
    from conftest import gold_spans, project_files, task, write_repo
    from typer.testing import CliRunner

    from crossclaim.cli import app

    root = write_repo(tmp_path / "repo", [task(gold_spans())])
    before = project_files(root)
    moved = task(gold_spans())
    moved["data"]["doc_id"] = "doc-777"
    export = tmp_path / "export.json"
    export.write_text(json.dumps([moved]), encoding="utf-8")
    result = CliRunner().invoke(app, ["studio", "check", str(export), "--root", str(root), "--project", "spans"])
    assert result.exit_code == 2, result.output
    lines = result.output.splitlines()
    assert lines[0].endswith("task 1 (doc doc-777): unknown document id 'doc-777' (not in the manifest)"), lines
    assert lines[1].endswith("document doc-x: its task (1 annotation) is not in the new export"), lines
    assert "--accept-deletions" in lines[2] and len(lines) == 3
    assert project_files(root) == before


def test_a_change_of_content_or_order_is_told_apart() -> None:
    """Digests compare content: an attribute's value changes the span, the order of attributes or regions does not."""
    old, new = with_tasks(make_gold()), with_tasks(make_gold())
    spans = new.gold["doc-a"].spans
    spans.reverse()
    c1 = next(s for s in spans if s.id == "c1")
    spans[spans.index(c1)] = Span(
        c1.layer, c1.id, c1.start, c1.end, c1.text, c1.label, dict(reversed(c1.attrs.items()))
    )
    assert changes(GoldDigest.of(old), GoldDigest.of(new)) == ["no change"]
    spans[spans.index(c1)] = c1.replace(hedged=not c1.hedged)
    assert changes(GoldDigest.of(old), GoldDigest.of(new)) == ["doc-a: gold spans 1 changed (c1)"]
