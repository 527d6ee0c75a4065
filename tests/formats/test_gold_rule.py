"""The gold of a task by one declared rule, in order, never a guess; the record the committed exports keep."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import TEXT, gold_spans, task, write_repo
from typer.testing import CliRunner

from crossclaim.cli import app
from crossclaim.dataset.gold import load_gold
from crossclaim.errors import Problems
from crossclaim.formats.labelstudio.annotations import (
    ADJUDICATOR,
    GOLD_ANNOTATOR,
    GROUND_TRUTH,
    IN_DISPUTE,
    SINGLE,
    UNANIMOUS,
    UNANNOTATED,
    GoldPolicy,
    decide_gold,
    settle_gold,
)
from crossclaim.formats.labelstudio.committed import committed_task
from crossclaim.formats.labelstudio.spans import parse_span_tasks, region_results
from crossclaim.schema.records import Annotation, Pair

A, B, ADJ = "a@example.org", "b@example.org", "lead@example.org"


def ann(who: str, spans=None, gt: bool = False, cancelled: bool = False, pass_name: str | None = None) -> Annotation:
    spans = list(gold_spans() if spans is None else spans)
    return Annotation("doc-x", who, spans, None, gt, cancelled, pass_name=pass_name)


def fewer() -> list:
    return [s for s in gold_spans() if s.layer != "figures"]


def renamed() -> list:
    """The gold spans with other region ids (the claim's cue follows its hedge): the same work."""
    out = []
    for s in gold_spans():
        s = s.replace(cues=tuple(f"x{c}" for c in s.cues) or None) if s.layer == "claims" else s
        out.append(type(s)(s.layer, f"x{s.id}", s.start, s.end, s.text, s.label, s.attrs))
    return out


def rule(annotations: list[Annotation], policy: GoldPolicy | None = None) -> tuple[str, str | None]:
    record = decide_gold(annotations, policy or GoldPolicy())
    return record.rule, record.annotator


def test_the_rules_apply_in_their_declared_order() -> None:
    adj = GoldPolicy(adjudicators=frozenset({ADJ}))
    marked = [ann(A, fewer()), ann(B, gt=True), ann(ADJ, fewer())]
    assert rule(marked, GoldPolicy(A, frozenset({ADJ}))) == (GROUND_TRUTH, B)  # the mark first
    assert rule([ann(A, fewer()), ann(B), ann(ADJ)], GoldPolicy(A, frozenset({ADJ}))) == (GOLD_ANNOTATOR, A)
    assert rule([ann(A, fewer()), ann(B), ann(ADJ, [])], adj) == (ADJUDICATOR, ADJ)  # even an empty one
    assert rule([ann(A, fewer())], adj) == (SINGLE, A)
    assert rule([ann(B), ann(A, renamed())], adj) == (UNANIMOUS, A)  # region ids aside; the first annotator's
    assert rule([ann(A), ann(B, fewer())], adj) == (IN_DISPUTE, None)
    assert decide_gold([ann(A), ann(B, fewer())], adj).disputants == (A, B)
    assert rule([], adj) == (UNANNOTATED, None)


def test_gold_annotator_applies_per_task_and_never_fails_a_task_they_did_not_touch() -> None:
    policy = GoldPolicy(ADJ)
    assert rule([ann(A), ann(B, fewer())], policy) == (IN_DISPUTE, None)  # not theirs: the next rules
    assert rule([ann(A, fewer())], policy) == (SINGLE, A)
    assert rule([ann(A), ann(ADJ, fewer())], policy) == (GOLD_ANNOTATOR, ADJ)
    # two of their own annotations that differ: the rule does not pick one of them
    assert rule([ann(ADJ), ann(ADJ, fewer())], policy) == (IN_DISPUTE, None)


def test_two_marks_or_two_adjudicators_decide_nothing_alone() -> None:
    both = GoldPolicy(adjudicators=frozenset({A, B}))
    assert rule([ann(A, gt=True), ann(B, fewer(), gt=True)]) == (IN_DISPUTE, None)
    assert rule([ann(A), ann(B, fewer())], both) == (IN_DISPUTE, None)
    assert rule([ann(A), ann(B, renamed())], both) == (UNANIMOUS, A)


def test_cancelled_annotations_are_never_gold_and_an_empty_single_one_is_refused() -> None:
    (t,) = parse_span_tasks([task(gold_spans())], "x")
    t.annotations.append(ann(B, fewer(), gt=True, cancelled=True))
    notes: list[str] = []
    chosen = settle_gold(t, "here", None, Problems(), notes)
    assert chosen is t.annotations[0] and t.gold.rule == SINGLE
    assert notes == [f"here: cancelled annotation by {B} is not used"]
    t.annotations[-1] = ann(B, fewer(), cancelled=True, pass_name="round-2")  # a pass's Skip: no note
    notes.clear()
    t.gold = None
    assert settle_gold(t, "here", None, Problems(), notes) is t.annotations[0] and notes == []
    (empty,) = parse_span_tasks([task([])], "x")
    problems = Problems()
    assert settle_gold(empty, "here", None, problems) is None
    ((_, what),) = list(problems)
    assert "is empty: not used as gold" in what and "adjudicator" in what


def test_a_pair_annotations_equal_in_label_and_rationale_are_unanimous() -> None:
    def pair(who: str, label: str, rationale: str = "why") -> Annotation:
        return Annotation("", who, [], payload=Pair("p", "d", "c1", "e", "c2", label, rationale, who))

    assert rule([pair(B, "AGREES"), pair(A, "AGREES")]) == (UNANIMOUS, A)
    assert rule([pair(B, "AGREES"), pair(A, "UNRELATED")]) == (IN_DISPUTE, None)
    assert rule([pair(B, "AGREES", "one"), pair(A, "AGREES", "two")]) == (IN_DISPUTE, None)


def test_the_committed_record_names_the_gold_in_committed_order_and_is_read_back(tmp_path: Path) -> None:
    raw = task(gold_spans())
    raw["annotations"] = [
        {**raw["annotations"][0], "id": 2, "completed_by": {"id": 2, "email": B}},
        {**raw["annotations"][0], "id": 1, "result": region_results(fewer(), TEXT), "ground_truth": True},
    ]
    (parsed,) = parse_span_tasks([raw], "x")
    settle_gold(parsed, "here", None, Problems())
    assert (parsed.gold.rule, parsed.gold.annotation) == (GROUND_TRUTH, 1)  # in the server's order
    committed = committed_task(raw["data"], parsed)
    assert committed["gold"] == {"annotation": 0, "annotator": "a@example.org", "rule": GROUND_TRUTH}  # sorted
    assert [a["completed_by"]["email"] for a in committed["annotations"]] == ["a@example.org", B]
    # the record decides on reading, not the rule: here the --gold annotator is ignored
    root = write_repo(tmp_path, [committed])
    gold = load_gold(root / "annotations", B)
    assert gold.gold["doc-x"].annotator == "a@example.org" and len(gold.gold["doc-x"].spans) == len(fewer())


@pytest.mark.parametrize("flags", [[], ["--workers", "1"]])
def test_a_build_names_a_document_in_dispute_and_leaves_it_out(tmp_path: Path, flags: list[str]) -> None:
    t = task(gold_spans())
    t["annotations"].append(
        {**t["annotations"][0], "id": 2, "completed_by": {"id": 2, "email": B}, "result": region_results(fewer(), TEXT)}
    )
    root = write_repo(tmp_path, [t])
    result = CliRunner().invoke(app, ["build", "--root", str(root), *flags])
    assert result.exit_code == 0, result.output
    assert f"doc doc-x is in dispute (a@example.org, {B} disagree" in result.output
    assert "crossclaim studio disputes" in result.output
