"""Typed results: rounding reaches every float of the nested records, and to_json is plain JSON."""

from __future__ import annotations

import json

from conftest import gold_predictions, golds_of, make_gold

from crossclaim.evaluation.results import PRF, LabelScore, StrictScore, rounded
from crossclaim.evaluation.score import evaluate


def test_rounded_rounds_nested_floats_and_keeps_the_types() -> None:
    label = LabelScore(PRF(1 / 3, None, 2 / 3), 3)
    strict = StrictScore(PRF(1 / 7, 0.5, None), (1 / 9, 0.123456), 3, 4, 0, {"ORG": label})
    r = rounded(strict)
    assert isinstance(r, StrictScore) and isinstance(r.labels["ORG"], LabelScore)
    assert r.micro == PRF(0.1429, 0.5, None) and r.f1_ci == (0.1111, 0.1235)
    assert r.labels["ORG"] == LabelScore(PRF(0.3333, None, 0.6667), 3)
    assert r.to_json()["micro"] == {
        "precision": 0.1429,
        "recall": 0.5,
        "f1": None,
        "f1_ci": [0.1111, 0.1235],
        "support": 3,
        "predicted": 4,
        "unplaced": 0,
    }
    assert r.to_json()["f1_by_document"] == {}


def test_scores_to_json_is_plain_json_with_every_layer() -> None:
    gold = make_gold()
    scores = evaluate(golds_of(gold), gold_predictions(gold), gold.pairs, resamples=20)
    data = json.loads(json.dumps(scores.to_json()))
    assert set(data) == {"layers", "pairs", "sample"} and set(data["layers"]) == set(scores.layers)
    figures = data["layers"]["figure_tags"]
    assert set(figures) == {"strict", "partial", "value_accuracy"}
    assert set(figures["partial"]["micro"]) == {"precision", "recall", "f1", "f1_ci", "exact", "overlap"}
    assert "value_accuracy" not in data["layers"]["entity_tags"]
    assert data["pairs"]["contradicts"]["f1"] == scores.pairs.contradicts.f1
