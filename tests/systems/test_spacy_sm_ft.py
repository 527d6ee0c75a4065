"""spacy-sm-ft: deterministic training, cached models that predict exactly what fresh ones do."""

from __future__ import annotations

from pathlib import Path

from conftest import make_gold
from crossclaim.baselines.spacy_sm_ft import (
    LAYER_OF,
    FineTuning,
    SpacySmFtSystem,
    fine_tune,
    non_overlapping,
    training_gold,
)

from crossclaim.formats.predictions import to_jsonl
from crossclaim.systems.base import pair_queries, training_set

TINY = FineTuning(epochs=2)


def _run(tmp: Path, config: FineTuning = TINY) -> tuple[SpacySmFtSystem, str]:
    gold = make_gold()
    system = SpacySmFtSystem(config, cache=tmp)
    system.fit(training_set(gold.docs, gold.spans, gold.pairs))
    queries = pair_queries(gold.pairs, {d.id: d for d in gold.docs}, gold.claims())
    return system, to_jsonl(system.predict(gold.docs, queries), gold.docs, gold.pairs)


def test_two_trainings_from_empty_caches_predict_byte_identical_files(tmp_path: Path) -> None:
    _, first = _run(tmp_path / "one")
    _, second = _run(tmp_path / "two")
    assert first == second
    assert '"entities"' in first and '"figures"' in first  # the files hold predictions of the layers


def test_a_cached_model_predicts_what_the_freshly_trained_one_does(tmp_path: Path) -> None:
    system, from_cache = _run(tmp_path)  # fit() trained, saved, and loaded the saved model
    gold = make_gold()
    system.nlp = fine_tune(training_gold(training_set(gold.docs, gold.spans, gold.pairs)), TINY)  # never written
    queries = pair_queries(gold.pairs, {d.id: d for d in gold.docs}, gold.claims())
    assert to_jsonl(system.predict(gold.docs, queries), gold.docs, gold.pairs) == from_cache
    again, reloaded = _run(tmp_path)  # a second fit finds the entry: nothing new in the cache
    assert reloaded == from_cache and len(list((tmp_path / again.name).iterdir())) == 1


def test_the_key_follows_training_data_and_configuration() -> None:
    gold = make_gold()
    system = SpacySmFtSystem(TINY)
    everything = training_set(gold.docs, gold.spans, gold.pairs)
    fewer = training_set(gold.docs[1:], gold.spans, gold.pairs)
    assert system.key(everything) == SpacySmFtSystem(FineTuning(epochs=2)).key(everything)
    assert system.key(everything) != system.key(fewer)
    assert system.key(everything) != SpacySmFtSystem(FineTuning(epochs=3)).key(everything)
    # pairs are not what the model learns from: they do not change the key
    assert system.key(everything) == system.key(training_set(gold.docs, gold.spans, []))


def test_one_label_per_character_and_every_layer_in_one_ner() -> None:
    assert non_overlapping([(5, 9, "B"), (0, 6, "A"), (0, 3, "C"), (9, 12, "D")]) == [(0, 6, "A"), (9, 12, "D")]
    assert set(LAYER_OF.values()) == {"entities", "figures", "hedges"} and LAYER_OF["HEDGE"] == "hedges"
