"""Inter-annotator agreement, checked against scikit-learn and against hand-counted matches."""

from __future__ import annotations

from dataclasses import replace

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
    fig = rows["figures"]
    assert (fig.strict, fig.values_equal) == (4, 3)
    table = agreement_md([task])  # F1: 2 * 5 matched / 11 spans; figure values: 3 of 4 strict matches agree
    assert "| entities | a@x | b@x | 1 | 6 | 5 | 0.909 | 0.909 |  |" in table
    assert "| figures | a@x | b@x | 1 | 4 | 4 | 1.000 | 1.000 | 0.750 (3/4) |" in table


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


# ---------------------------------------------------------------------------------------------
# Krippendorff's alpha, and who counts


def test_alpha_of_a_case_computed_by_hand() -> None:
    """Two coders, four units, nominal: A 1 1 2 2, B 1 1 2 1. Coincidences o11 = 4, o22 = 2, o12 = o21 = 1,
    n1 = 5, n2 = 3, n = 8: D_o = 2/8, D_e = 2 * 5 * 3 / (8 * 7) = 30/56, alpha = 1 - D_o / D_e = 8/15."""
    from crossclaim.dataset.agreement import pair_alpha

    a = [pair("p1", "AGREES"), pair("p2", "AGREES"), pair("p3", "UNRELATED"), pair("p4", "UNRELATED")]
    b = [pair("p1", "AGREES"), pair("p2", "AGREES"), pair("p3", "UNRELATED"), pair("p4", "AGREES")]
    ((row),) = pair_alpha({"a": a, "b": b})
    assert (row.a, row.b, row.units) == ("a", "b", 4)
    assert row.alpha == pytest.approx(8 / 15)


def test_alpha_is_one_on_identical_labels_falls_with_disagreement_and_is_undefined_without_variation() -> None:
    from crossclaim.dataset.agreement import ALL, pair_alpha

    labels = ["AGREES", "CONTRADICTS", "UNRELATED", "AGREES", "UNRELATED"]
    a = [pair(f"p{k}", lab) for k, lab in enumerate(labels)]
    same = {"a": a, "b": list(a), "c": list(a)}
    assert [r.alpha for r in pair_alpha(same)] == [1.0, 1.0, 1.0, 1.0]
    assert pair_alpha(same)[-1].a == ALL
    one_off = {**same, "c": [pair("p0", "UNRELATED"), *a[1:]]}
    rows = {(r.a, r.b): r.alpha for r in pair_alpha(one_off)}
    assert rows[("a", "b")] == 1.0 and rows[("a", "c")] < 1.0 and rows[(ALL, "")] < 1.0
    assert rows[(ALL, "")] > rows[("a", "c")]  # two coders of three still agree on p0
    flat = {"a": [pair("p1", "AGREES"), pair("p2", "AGREES")], "b": [pair("p1", "AGREES"), pair("p2", "AGREES")]}
    assert [r.alpha for r in pair_alpha(flat)] == [None]


def claims_of(hedged: tuple[bool, bool], topic: str = "ev_profitability_timing") -> list[Span]:
    spans = gold_spans()
    out = []
    for s in spans:
        if s.id == "c1":
            s = s.replace(hedged=hedged[0], topic=topic)
        elif s.id == "c2":
            s = s.replace(hedged=hedged[1])
        out.append(s)
    return out


def test_claim_attributes_get_alpha_on_claims_drawn_with_the_same_offsets() -> None:
    from crossclaim.dataset.agreement import attribute_alpha

    tasks = [
        Task("doc-x", TEXT, annotations=[annotation("a@x", claims_of((True, False))),
                                          annotation("b@x", claims_of((True, False)))]),
        Task("doc-y", TEXT, annotations=[annotation("a@x", claims_of((True, False))),
                                          annotation("b@x", claims_of((False, False), "market_impact"))]),
    ]  # fmt: skip
    ((hedged),) = attribute_alpha(tasks, "hedged")
    assert hedged.units == 4 and hedged.alpha == pytest.approx(8 / 15)  # the hand-computed case, as booleans
    ((topic),) = attribute_alpha(tasks, "topic")
    assert topic.units == 4 and topic.alpha < 1
    same = [Task("doc-x", TEXT, annotations=[annotation(w, claims_of((True, False))) for w in ("a@x", "b@x")])]
    assert [r.alpha for r in attribute_alpha(same, "hedged")] == [1.0]


def test_adjudicators_and_duplicates_are_not_counted_as_annotators() -> None:
    from crossclaim.formats.team import Team

    spans = gold_spans()
    other = [s for s in spans if s.id != "e1"]
    task = Task(
        "doc-x",
        TEXT,
        annotations=[
            annotation("ann1@x", spans),
            annotation("ann2@x", other),
            annotation("lead@x", list(other)),  # the adjudicator started from ann2's work
            annotation("zed@x", list(spans)),  # Label Studio's Duplicate Annotation of ann1's: ids and all
        ],
    )
    pairs = {
        "ann1@x": [Pair("p1", "d1", "c1", "d2", "c2", "AGREES", "same year", "ann1@x")],
        "ann2@x": [Pair("p1", "d1", "c1", "d2", "c2", "AGREES", "", "ann2@x")],
        "lead@x": [Pair("p1", "d1", "c1", "d2", "c2", "AGREES", "same year", "lead@x")],
        "zed@x": [Pair("p1", "d1", "c1", "d2", "c2", "AGREES", "same year", "zed@x")],
    }
    team = Team(annotators=("ann1@x", "ann2@x", "zed@x"), adjudicators=("lead@x",))
    rows = span_agreement(counted(task, pairs, team).tasks)
    assert {(r.a, r.b) for r in rows} == {("ann1@x", "ann2@x")}
    md = agreement_md([task], pairs, team=team)
    assert "Not compared (adjudicators, `annotations/team.json`): lead@x (2 annotations)." in md
    assert "zed@x on doc-x (identical to ann1@x); zed@x on p1 (identical to ann1@x)" in md
    assert "| lead@x | adjudicator |" in md
    # without a team, the lead's copy of ann2's work is a duplicate (of identical ones, the first name counts)
    assert "lead@x on doc-x (identical to ann2@x)" in agreement_md([task], pairs)
    rows = span_agreement(counted(task, pairs, None).tasks)
    assert {(r.a, r.b) for r in rows} == {("ann1@x", "ann2@x")}


def counted(task: Task, pairs: dict, team):
    from crossclaim.dataset.agreement import counted as select

    return select([task], pairs, team)


def test_a_pass_is_compared_with_each_tasks_gold_and_nothing_else() -> None:
    """The gold (whoever made it, adjudicator included) against the pass's annotators; the other annotators and
    the tasks the pass left alone are out."""
    from crossclaim.dataset.agreement import GOLD, pass_against_gold
    from crossclaim.formats.labelstudio.pairs import PairTask
    from crossclaim.schema.records import GoldRecord

    gold = gold_spans()
    mine = [s for s in gold if s.layer == "claims" and s.id != "c2"]
    annotated = Task(
        "doc-x",
        TEXT,
        annotations=[annotation("lead@x", gold), annotation("a@x", gold), annotation("f@x", mine, pass_name="p1")],
        gold=GoldRecord("ground_truth", 0, "lead@x"),
    )
    untouched = Task(
        "doc-y", TEXT, annotations=[annotation("lead@x", gold)], gold=GoldRecord("ground_truth", 0, "lead@x")
    )
    p_gold = Pair("p1", "doc-x", "c1", "doc-y", "c1", "AGREES", "why", "lead@x")
    p_mine = replace(p_gold, label="CONTRADICTS", annotator="f@x")
    pair_task = PairTask(
        {"pair_id": "p1"},
        [Annotation("", "lead@x", [], payload=p_gold), Annotation("", "f@x", [], payload=p_mine, pass_name="p1")],
        gold=GoldRecord("ground_truth", 0, "lead@x"),
    )
    tasks, pairs = pass_against_gold([annotated, untouched], [pair_task], "p1")
    assert [(t.doc_id, [a.annotator for a in t.annotations]) for t in tasks] == [("doc-x", [GOLD, "f@x"])]
    (claims,) = span_agreement(tasks)  # only the layer the pass annotated
    assert (claims.layer, claims.a, claims.b, claims.n_a, claims.n_b, claims.strict) == (
        "claims", "f@x", GOLD, len(mine), len(mine) + 1, len(mine),
    )  # fmt: skip
    assert {who: [(p.annotator, p.label) for p in ps] for who, ps in pairs.items()} == {
        GOLD: [(GOLD, "AGREES")],
        "f@x": [("f@x", "CONTRADICTS")],
    }
    assert pass_against_gold([annotated], [pair_task], "other") == ([], {})
    same = replace(pair_task, annotations=[pair_task.annotations[0], replace(pair_task.annotations[1], payload=p_gold)])
    _, copied = pass_against_gold([], [same], "p1")  # the same label and rationale as the gold: still compared
    assert "duplicates" not in agreement_md([], copied)
