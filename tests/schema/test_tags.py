"""Token view: tags <-> spans convert exactly both ways, including glued words split at boundaries."""

from __future__ import annotations

import pytest
from conftest import TEXT, gold_spans
from hypothesis import given, settings
from hypothesis import strategies as st

from crossclaim.schema.records import Span
from crossclaim.schema.scheme import TAG_LAYERS
from crossclaim.schema.tags import TAG_NAMES, selected, spans_to_tag_ids, tags_to_spans, token_view


def roundtrip(text: str, spans: list[Span]) -> None:
    view = token_view(text, spans)
    for t in TAG_LAYERS:
        chosen = selected(t, spans, {"c2"})
        ids = spans_to_tag_ids(view.starts, view.ends, chosen, t.name)
        names = [TAG_NAMES[t.name][i] for i in ids]
        back = tags_to_spans(names, view.starts, view.ends)
        assert back == sorted((s.start, s.end, s.label) for s in chosen), t.name


def test_fixture_roundtrip_and_glued_split() -> None:
    spans = gold_spans()
    view = token_view(TEXT, spans)
    words = [TEXT[a:b] for a, b in zip(view.starts, view.ends)]
    assert words[:2] == ["Xiaomi", "unveiled"]
    roundtrip(TEXT, spans)


def test_split_inside_number_and_name() -> None:
    text = "Born 2025.Adek Berry—AFP wrote."
    spans = [
        Span("figures", "f1", 5, 9, "2025", "DATE", {"value": "2025"}),
        Span("entities", "e1", 10, 20, "Adek Berry", "PERSON"),
        Span("entities", "e2", 21, 24, "AFP", "ORG"),
    ]
    view = token_view(text, spans)
    assert [text[a:b] for a, b in zip(view.starts, view.ends)][1:4] == ["2025", ".", "Adek"]
    roundtrip(text, spans)


def test_projected_prediction_inside_token_takes_the_token() -> None:
    view = token_view("Xiaomiunveiled it.", [])
    pred = [Span("entities", "p", 0, 6, "Xiaomi", "ORG")]
    ids = spans_to_tag_ids(view.starts, view.ends, pred, "entity_tags")
    assert [TAG_NAMES["entity_tags"][i] for i in ids] == ["B-ORG", "O", "O"]


def test_spans_that_share_a_token_are_not_gold() -> None:
    view = token_view("Xiaomi unveiled it.", [])
    both = [Span("entities", "a", 0, 6, "Xiaomi", "ORG"), Span("entities", "b", 3, 15, "omi unveiled", "ORG")]
    with pytest.raises(ValueError, match="share one"):
        spans_to_tag_ids(view.starts, view.ends, both, "entity_tags")


WORDS = st.sampled_from(["Xiaomi", "EV", "76,000", "cars", "said", "小米", "🚗", "U.S.", "2025.Adek", "’s", ",", "."])


@st.composite
def documents(draw):
    words = draw(st.lists(WORDS, min_size=1, max_size=40))
    seps = draw(st.lists(st.sampled_from([" ", " ", "", "\n"]), min_size=len(words), max_size=len(words)))
    text = "".join(w + s for w, s in zip(words, seps)).strip() or "x"
    cut_points = sorted(set(draw(st.lists(st.integers(0, len(text)), max_size=12))))
    spans, used = [], 0
    for a, b in zip(cut_points[::2], cut_points[1::2]):
        piece = text[a:b]
        if piece and piece == piece.strip() and "\n" not in piece and a >= used:
            layer, label = draw(st.sampled_from([("entities", "ORG"), ("figures", "DATE"), ("hedges", "HEDGE")]))
            spans.append(
                Span(layer, f"s{len(spans)}", a, b, piece, label, {"value": "2025" if layer == "figures" else None})
            )
            used = b
    return text, spans


@settings(max_examples=300, deadline=None)
@given(documents())
def test_property_tags_spans_roundtrip(doc) -> None:
    text, spans = doc
    # one layer at a time keeps each layer flat, as the schema requires
    for layer in ("entities", "figures", "hedges"):
        roundtrip(text, [s for s in spans if s.layer == layer])
