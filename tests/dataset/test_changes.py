"""What a pull changes, per document, and what it would lose."""

from __future__ import annotations

import copy
import json

from conftest import make_gold

from crossclaim.dataset.changes import GoldDigest, changes, delta, lost_work
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
    assert changes(GoldDigest.of(with_tasks(make_gold())), GoldDigest.of(with_tasks(make_gold()))).lines() == [
        "no change"
    ]


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
    lines = changes(GoldDigest.of(old), GoldDigest.of(new)).lines()
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


def test_a_change_of_content_or_order_is_told_apart() -> None:
    """Digests compare content: an attribute's value changes the span, the order of attributes or regions does not."""
    old, new = with_tasks(make_gold()), with_tasks(make_gold())
    spans = new.gold["doc-a"].spans
    spans.reverse()
    c1 = next(s for s in spans if s.id == "c1")
    spans[spans.index(c1)] = Span(
        c1.layer, c1.id, c1.start, c1.end, c1.text, c1.label, dict(reversed(c1.attrs.items()))
    )
    assert changes(GoldDigest.of(old), GoldDigest.of(new)).lines() == ["no change"]
    spans[spans.index(c1)] = c1.replace(hedged=not c1.hedged)
    assert changes(GoldDigest.of(old), GoldDigest.of(new)).lines() == ["doc-a: gold spans 1 changed (c1)"]
