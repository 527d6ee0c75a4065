"""Page furniture out of the scores: a predicted span touching declared furniture is dropped before scoring
(seqeval's path and nervaluate's cross-check alike), and no gold or scored token is inside furniture."""

from __future__ import annotations

import dataclasses

from conftest import TEXT, at, make_gold
from hypothesis import given, settings
from hypothesis import strategies as st
from test_nervaluate import assert_strict_agrees, system_spans

from crossclaim.dataset.gold import Gold
from crossclaim.evaluation.counts import TAG_LAYER, count, entities, index_gold, predicted_placement, predicted_spans
from crossclaim.evaluation.metrics import summarize
from crossclaim.formats.predictions import ALL_TAG_LAYERS, Predictions
from crossclaim.schema.records import Furniture

FANS = TEXT.index("Fans wrote")
PROMO = Furniture(FANS, len(TEXT), "promo")  # "Fans wrote 小米 🚗 SU7 online."


def furnished_gold() -> Gold:
    """``make_gold`` with doc-a's last sentence declared promo furniture and its gold spans there removed
    (the build refuses gold in furniture)."""
    gold = make_gold()
    docs = [dataclasses.replace(d, furniture=(PROMO,)) if d.id == "doc-a" else d for d in gold.docs]
    ann = gold.gold["doc-a"]
    kept = dataclasses.replace(ann, spans=[s for s in ann.spans if s.end <= FANS])
    return dataclasses.replace(gold, docs=docs, gold={**gold.gold, "doc-a": kept})


def as_predictions(gold: Gold, extra: list) -> Predictions:
    contradictory = gold.contradictory()
    spans = {d.id: list(gold.spans(d.id)) + (extra if d.id == "doc-a" else []) for d in gold.docs}
    return Predictions(spans, ALL_TAG_LAYERS, {d: set(contradictory.get(d, set())) for d in spans}, None)


def test_a_predicted_span_in_furniture_is_not_scored() -> None:
    gold = furnished_gold()
    golds = [index_gold(d, gold.spans(d.id), gold.contradictory().get(d.id, set())) for d in gold.docs]
    in_furniture = [
        at(TEXT, "entities", "p1", "小米", "ORG"),
        at(TEXT, "entities", "p2", "Fans", "PERSON"),
        at(TEXT, "entities", "p3", "May. Fans", "ORG"),  # reaches into furniture from the article text
        at(TEXT, "figures", "p4", "SU7 online", "QUANTITY", value="7 car"),
    ]
    perfect = count(golds, as_predictions(gold, []), [])
    with_furniture = count(golds, as_predictions(gold, in_furniture), [])
    for t in perfect.strict:
        assert (with_furniture.strict[t] == perfect.strict[t]).all(), t
        assert (with_furniture.partial[t] == perfect.partial[t]).all(), t
    scores = summarize(with_furniture, resamples=10)
    assert scores.layers["entity_tags"].strict.micro.precision == 1.0
    # the same spans outside any furniture are counted: the test can fail
    bare = [dataclasses.replace(g, doc=dataclasses.replace(g.doc, furniture=())) for g in golds]
    assert (
        count(bare, as_predictions(gold, in_furniture), []).strict["entity_tags"].sum(0).sum(0)[1]
        > (perfect.strict["entity_tags"].sum(0).sum(0)[1])
    )


def furniture_tokens(g) -> set[int]:
    return {k for k, (a, b) in enumerate(zip(g.view.starts, g.view.ends)) if PROMO.start < b and a < PROMO.end}


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_no_gold_or_scored_token_is_inside_furniture(data) -> None:
    gold = furnished_gold()
    doc_a = next(d for d in gold.docs if d.id == "doc-a")
    spans = data.draw(system_spans(doc_a.text, make_gold().spans("doc-a")))  # near-misses of the gold in it too
    preds = as_predictions(gold, spans)
    g = index_gold(doc_a, gold.spans("doc-a"), gold.contradictory().get("doc-a", set()))
    inside = furniture_tokens(g)
    assert inside  # the promo block holds tokens
    for t in TAG_LAYER:
        for seqs in (g.tags[t],):
            assert not any(
                tag != "O"
                for (i, j), seq in zip(g.view.sentences, seqs)
                for k, tag in zip(range(i, j), seq)
                if k in inside
            ), t
        snapped = predicted_spans(g, preds.spans["doc-a"], preds.contradictory["doc-a"], t)
        assert not any(set(range(s.first, s.stop)) & inside for s in snapped), t
        placement = predicted_placement(g, snapped, t)
        for sent, first, stop, _ in entities(placement.seqs[: len(g.view.sentences)]):
            base = g.view.sentences[sent][0]
            assert not set(range(base + first, base + stop)) & inside, t


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_nervaluate_cross_check_drops_the_same_spans(data) -> None:
    gold = furnished_gold()
    spans = {d.id: data.draw(system_spans(d.text, make_gold().spans(d.id))) for d in gold.docs}
    assert_strict_agrees(gold, Predictions(spans, ALL_TAG_LAYERS, {d: set() for d in spans}, None))
