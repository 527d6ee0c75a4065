"""Span checks: every rule of the schema, for gold and for a system's predictions."""

from __future__ import annotations

from conftest import TEXT, gold_spans, span

from crossclaim.schema.records import Span
from crossclaim.schema.validate import span_problems
from crossclaim.text import sentence_bounds


def problems(spans: list[Span], prediction: bool = False) -> list[str]:
    return [what for _, what in span_problems(TEXT, spans, sentence_bounds(TEXT), lambda s: s.id, prediction)]


def test_the_fixture_gold_is_valid() -> None:
    assert problems(gold_spans()) == []


def test_offsets_text_labels_and_ids() -> None:
    good = span("entities", "e1", "Xiaomi", "ORG")
    assert "duplicate span id" in problems([good, good])
    assert "unknown layer 'people'" in problems([Span("people", "p", 0, 6, "Xiaomi", "ORG")])[0]
    assert "unknown label 'COMPANY'" in problems([Span("entities", "e", 0, 6, "Xiaomi", "COMPANY")])[0]
    assert "out of range" in problems([Span("entities", "e", 5, 5000, "x", "ORG")])[0]
    assert "offsets 9:5 end before they start" in problems([Span("entities", "e", 9, 5, "x", "ORG")])[0]
    assert "offsets 5:5 hold no character" in problems([Span("entities", "e", 5, 5, "", "ORG")])[0]
    assert "is not the document text at 0:6" in problems([Span("entities", "e", 0, 6, "Xiaomx", "ORG")])[0]
    assert "white space" in problems([Span("entities", "e", 14, 18, TEXT[14:18], "ORG")])[0]


def test_overlaps_inside_a_layer_are_refused_for_gold_and_allowed_for_predictions() -> None:
    a = span("entities", "e1", "Lei Jun", "PERSON")
    b = Span("entities", "e2", a.start + 4, a.end, "Jun", "PERSON")
    assert any("inside a flat layer" in p for p in problems([a, b]))
    assert problems([a, b], prediction=True) == []


def test_required_attributes_by_kind() -> None:
    figure = span("figures", "f1", "late 2023", "DATE")
    claim = span("claims", "c2", "Xiaomiunveiled the SU7 in late 2023", "CLAIM")
    assert problems([figure]) == ["figure 'late 2023' has no value"]
    assert problems([claim]) == [
        "claim 'Xiaomiunveiled the SU7 in late 2023' has no 'hedged' choice",
        "claim 'Xiaomiunveiled the SU7 in late 2023' has no 'topic' choice",
    ]
    assert problems([figure, claim], prediction=True) == []  # a system may leave attributes out


def test_attribute_values_are_checked_against_kind_choices_and_grammar() -> None:
    bad_value = span("figures", "f1", "late 2023", "DATE", value="late 2023")
    assert problems([bad_value]) == ["value 'late 2023' does not fit the DATE grammar: " + _date_form()]
    assert problems([bad_value], prediction=True) != []  # the grammar holds for systems too
    claim = span("claims", "c2", "Xiaomiunveiled the SU7 in late 2023", "CLAIM", hedged="yes", topic="weather")
    assert problems([claim]) == [
        "'hedged' must be true or false, got 'yes'",
        "topic 'weather' is not in the controlled list",
    ]
    stray = span("entities", "e1", "Xiaomi", "ORG", value="x")
    assert problems([stray]) == ["unknown attribute 'value' on a entities span"]


def test_cues_must_name_hedge_cues_of_the_document_and_claims_stay_in_one_sentence() -> None:
    claim = next(s for s in gold_spans() if s.id == "c1").replace(cues=("h9",))
    assert problems([claim]) == ["cue 'h9' is not a hedge cue of this document"]
    across = Span(
        "claims",
        "c9",
        0,
        TEXT.index("BYD") + 3,
        TEXT[: TEXT.index("BYD") + 3],
        "CLAIM",
        {"hedged": False, "topic": "ev_deliveries"},
    )
    assert any("crosses a sentence boundary" in p for p in problems([across]))


def _date_form() -> str:
    from crossclaim.schema.scheme import VALUE_RULES

    return VALUE_RULES["DATE"].form
