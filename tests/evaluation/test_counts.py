"""Exact span counting: strict scores are exact (start, end, label) matching of snapped spans.

The regression tests reproduce two miscounts seen on the committed corpus: a span crossing a
sentence boundary was cut to its first sentence (and could then match), and a span whose token
was already taken by another predicted span of the layer was dropped without counting.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import REPO, TEXT, gold_predictions, gold_spans, golds_of
from hypothesis import given, settings
from hypothesis import strategies as st

from crossclaim.dataset.gold import load_gold
from crossclaim.evaluation.counts import place, snap
from crossclaim.evaluation.score import evaluate
from crossclaim.formats.predictions import Predictions
from crossclaim.schema.records import Span
from crossclaim.schema.tags import token_view


@pytest.fixture(scope="module")
def corpus():
    return load_gold(REPO / "annotations")


def test_a_span_extended_across_a_sentence_is_a_false_positive(corpus) -> None:
    """Gold ``Tesla`` (doc-001, 2062:2067) predicted as 2062:2074, which runs into the next paragraph's
    ``Yet``: a false positive, not a match (the README's example)."""
    text = next(d.text for d in corpus.docs if d.id == "doc-001")
    tesla = next(s for s in corpus.spans("doc-001") if (s.start, s.end) == (2062, 2067))
    assert text[2062:2074].endswith("\n\nYet")  # the extension crosses a line, a hard sentence boundary
    wrong = replace(tesla, end=2074, text=text[2062:2074])
    preds = Predictions({"doc-001": [wrong]}, frozenset({"entity_tags"}))
    layer = evaluate(golds_of(corpus, ["doc-001"]), preds, [], resamples=10).layers["entity_tags"]
    n = sum(1 for s in corpus.spans("doc-001") if s.layer == "entities")
    assert (layer.strict.predicted, layer.strict.support, layer.strict.unplaced) == (1, n, 1)
    assert layer.strict.micro.precision == layer.strict.micro.recall == 0.0
    assert (layer.partial.exact, layer.partial.overlap) == (0, 1)  # it still overlaps a gold span
    assert layer.partial.micro.precision == 0.5


def test_two_spans_on_one_token_both_count(corpus) -> None:
    """``76`` and ``000`` inside the token ``76,000`` (doc-001, the README's example): both snap to the gold
    ``76,000``; one is placed and matches, the other cannot be placed and is a false positive."""
    text = next(d.text for d in corpus.docs if d.id == "doc-001")
    at = text.index("76,000 cars")
    extra = [
        Span("figures", "p1", at, at + 2, "76", "QUANTITY", {"value": "76000 car"}),
        Span("figures", "p2", at + 3, at + 6, "000", "QUANTITY", {"value": "76000 car"}),
    ]
    figures = [s for s in corpus.spans("doc-001") if s.layer == "figures"]
    assert sum((s.start, s.end) == (at, at + 6) for s in figures) == 1  # the gold 76,000
    others = [s for s in figures if (s.start, s.end) != (at, at + 6)]
    preds = Predictions({"doc-001": others + extra}, frozenset({"figure_tags"}))
    layer = evaluate(golds_of(corpus, ["doc-001"]), preds, [], resamples=10).layers["figure_tags"]
    n = len(figures)
    assert (layer.strict.predicted, layer.strict.support, layer.strict.unplaced) == (n + 1, n, 1)
    assert layer.strict.micro.precision == n / (n + 1) and layer.strict.micro.recall == 1.0
    assert layer.values.matched == layer.values.correct == n


def test_committed_gold_places_every_span(corpus) -> None:
    scores = evaluate(golds_of(corpus), gold_predictions(corpus), corpus.pairs, resamples=10)
    assert all(layer.strict.unplaced == 0 for layer in scores.layers.values())


# ---------------------------------------------------------------------------------------------
# the snapping rule of the README, checked by brute force over the tokens


def test_a_span_inside_a_glued_word_snaps_to_the_word() -> None:
    view = token_view(TEXT, gold_spans())  # the gold "Xiaomi" cuts "Xiaomiunveiled"
    [s] = snap(view, [Span("entities", "p", 0, 4, "Xiao", "ORG")])
    assert (s.start, s.end, TEXT[s.start : s.end]) == (0, 6, "Xiaomi")


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(TEXT) - 1), st.integers(1, 60))
def test_snapping_takes_exactly_the_tokens_sharing_a_character(start: int, length: int) -> None:
    end = min(len(TEXT), start + length)
    view = token_view(TEXT, gold_spans())
    [s] = snap(view, [Span("figures", "p", start, end, TEXT[start:end], "DATE")])
    shared = [(a, b) for a, b in zip(view.starts, view.ends) if a < end and start < b]
    if shared:
        assert (s.start, s.end) == (shared[0][0], shared[-1][1])
        assert (s.first, s.stop) == (view.starts.index(shared[0][0]), view.starts.index(shared[-1][0]) + 1)
    else:
        assert not TEXT[start:end].strip() and s.start == s.end == start


def test_every_span_is_placed_or_given_a_pseudo_sentence() -> None:
    view = token_view(TEXT, gold_spans())
    line = TEXT.index("\n")
    spans = snap(
        view,
        [
            Span("entities", "a", 0, 6, "Xiaomi", "ORG"),
            Span("entities", "b", 2, 5, "aom", "PERSON"),  # the same token as a
            Span("entities", "c", line - 4, line + 4, "", "ORG"),  # across the line break
            Span("entities", "d", 6, 7, "u", "ORG"),
        ],
    )
    placement = place(view, spans, {(0, 6, "ORG")})
    assert placement.unplaced == 2 and sorted(placement.placed) == [0, 1]
    assert placement.seqs[len(view.sentences) :] == [["B-PERSON"], ["B-ORG", "I-ORG", "I-ORG"]]
