"""Agreement never compares an annotator with themself."""

from __future__ import annotations

from conftest import gold_spans, make_gold

from crossclaim.dataset.agreement import agreement_md, pair_kappa, repeated_annotators, span_agreement
from crossclaim.schema.records import Annotation, Task


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
