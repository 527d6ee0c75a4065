"""Inter-annotator agreement, checked against scikit-learn and against hand-counted matches."""

from __future__ import annotations

import pytest
from conftest import (
    TEXT,
    gold_spans,
    make_gold,  # noqa: F401
    span,
)
from sklearn.metrics import cohen_kappa_score

from crossclaim.dataset.agreement import (
    agreement_md,
    pair_kappa,
    partial_matches,
    per_annotator,
    repeated_annotators,
    span_agreement,
    strict_matches,
)
from crossclaim.schema.records import Annotation, Pair, Span, Task


def annotation(who: str, spans: list[Span], **kw) -> Annotation:
    return Annotation("doc-x", who, spans, **kw)


def test_strict_and_partial_matches() -> None:
    a = [span("entities", "e1", "Lei Jun", "PERSON"), span("entities", "e2", "BYD", "ORG")]
    lei = a[0]
    b = [Span("entities", "x", lei.start, lei.start + 3, "Lei", "PERSON"), span("entities", "y", "BYD", "ORG")]
    assert [(s.id, t.id) for s, t in strict_matches(a, b)] == [("e2", "y")]
    assert partial_matches(a, b) == 2
    assert partial_matches(a, [Span("entities", "z", lei.start, lei.end, "Lei Jun", "ORG")]) == 0  # label differs


def test_span_agreement_per_layer_with_figure_values() -> None:
    gold = gold_spans()
    other = [s.replace(value="2025-H1") if s.id == "f2" else s for s in gold if s.id != "e1"]
    task = Task("doc-x", TEXT, annotations=[annotation("b@x", other), annotation("a@x", gold)])
    rows = {r.layer: r for r in span_agreement([task])}
    ent = rows["entities"]
    assert (ent.a, ent.b, ent.n_a, ent.n_b, ent.strict) == ("a@x", "b@x", 6, 5, 5)
    assert ent.strict_f1 == pytest.approx(2 * 5 / 11)
    fig = rows["figures"]
    assert (fig.strict, fig.values_equal, fig.value_agreement) == (4, 3, 0.75)


def test_cancelled_annotations_and_skipped_layers_are_not_compared() -> None:
    gold = gold_spans()
    no_claims = [s for s in gold if s.layer != "claims"]
    task = Task(
        "doc-x",
        TEXT,
        annotations=[annotation("a@x", gold), annotation("b@x", no_claims), annotation("c@x", [], was_cancelled=True)],
    )
    rows = span_agreement([task])
    assert {(r.a, r.b) for r in rows} == {("a@x", "b@x")}
    assert "claims" not in {r.layer for r in rows}


def pair(pid: str, label: str) -> Pair:
    return Pair(pid, "d1", "c1", "d2", pid, label)


def test_pair_kappa_equals_scikit_learn_on_the_common_pairs() -> None:
    a = [pair("p1", "AGREES"), pair("p2", "CONTRADICTS"), pair("p3", "UNRELATED"), pair("p4", "AGREES")]
    b = [pair("p1", "AGREES"), pair("p2", "UNRELATED"), pair("p3", "UNRELATED"), pair("p5", "AGREES")]
    ((x, y, n, kappa),) = pair_kappa({"b": b, "a": a})
    expected = cohen_kappa_score(["AGREES", "CONTRADICTS", "UNRELATED"], ["AGREES", "UNRELATED", "UNRELATED"])
    assert (x, y, n) == ("a", "b", 3) and kappa == pytest.approx(expected)


def test_per_annotator_counts_tasks_spans_cancellations_and_lead_time() -> None:
    gold = gold_spans()
    tasks = [
        Task("doc-x", TEXT, annotations=[annotation("a@x", gold, lead_time=10.0)]),
        Task(
            "doc-y",
            TEXT,
            annotations=[annotation("a@x", gold[:2], lead_time=20.0), annotation("b@x", [], was_cancelled=True)],
        ),
    ]
    rows = {r[0]: r for r in per_annotator(tasks)}
    assert rows["a@x"][1:] == (2, {"entities": 8, "figures": 4, "hedges": 1, "claims": 2}, 0, 15.0)
    assert rows["b@x"][1:] == (0, {}, 1, None)


# ---------------------------------------------------------------------------------------------
# Agreement never compares an annotator with themself.


def test_two_annotations_by_one_annotator_are_reported_not_paired() -> None:
    spans = gold_spans()
    task = Task(
        "doc-x",
        "",
        {},
        [
            Annotation("doc-x", "a@example.org", spans),
            Annotation("doc-x", "a@example.org", spans[:3]),
            Annotation("doc-x", "b@example.org", spans),
        ],
    )
    other = Task(
        "doc-y", "", {}, [Annotation("doc-y", "a@example.org", spans), Annotation("doc-y", "b@example.org", spans[:6])]
    )
    rows = span_agreement([task, other])
    assert {(r.a, r.b) for r in rows} == {("a@example.org", "b@example.org")}
    assert all(r.docs == 1 for r in rows)  # doc-x is left out for a, so only doc-y pairs a with b
    assert repeated_annotators([task, other]) == [("doc-x", "a@example.org", 2)]
    md = agreement_md([task, other])
    assert (
        "Not compared (one annotator, several annotations of one task): a@example.org on doc-x (2 annotations)." in md
    )


def test_a_pair_labelled_twice_by_one_annotator_is_not_compared() -> None:
    pairs = make_gold().pairs
    twice = {"a@example.org": [pairs[0], pairs[0], pairs[1]], "b@example.org": [pairs[0], pairs[1]]}
    assert pair_kappa(twice) == [("a@example.org", "b@example.org", 1, 1.0)]
    assert repeated_annotators([], twice) == [(pairs[0].id, "a@example.org", 2)]
