"""Scoring: seqeval on the same tags, gold against itself, partial matching, values, pairs, bootstrap."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, TEXT, doc, gold_predictions, gold_spans, golds_of, make_gold, task, write_repo
from hypothesis import given, settings
from hypothesis import strategies as st
from seqeval.metrics import classification_report
from seqeval.scheme import IOB2
from sklearn.metrics import f1_score, precision_recall_fscore_support
from typer.testing import CliRunner

from crossclaim.cli import app
from crossclaim.dataset.gold import Gold
from crossclaim.dataset.pairset import claim_groups
from crossclaim.evaluation.counts import (
    count,
    index_gold,
    layer_tags,
    partial_counts,
    predicted_placement,
    predicted_spans,
    with_pseudo,
)
from crossclaim.evaluation.metrics import (
    distinct,
    interval,
    pair_macro_f1,
    pair_metrics,
    pigeonhole_weights,
    randomization_test,
    resampled,
    sklearn_pairs,
    stratified_weights,
    strict_f1,
    strict_prf,
    summarize,
)
from crossclaim.evaluation.score import evaluate
from crossclaim.formats.predictions import ALL_TAG_LAYERS, Predictions, to_jsonl
from crossclaim.schema.records import Span
from crossclaim.schema.scheme import LAYERS, TAG_LAYERS

SCORES = ("precision", "recall", "f1", "macro_f1", "accuracy")
INTERVALS = ("f1_ci", "macro_f1_ci", "ci")


def ones(node, path: str = "") -> list[str]:
    """Paths of every score or interval bound that is not exactly 1.0."""
    if not isinstance(node, dict):
        return []
    bad = [f"{path}.{k}={v}" for k, v in node.items() if k in SCORES and v != 1.0]
    bad += [f"{path}.{k}={v}" for k, v in node.items() if k in INTERVALS and v != [1.0, 1.0]]
    for k, v in node.items():
        bad += ones(v, f"{path}.{k}")
    return bad


# ---------------------------------------------------------------------------------------------
# gold against itself


def test_gold_against_itself_is_exactly_one_everywhere() -> None:
    gold = make_gold()
    result = evaluate(golds_of(gold), gold_predictions(gold), gold.pairs)
    assert set(result.layers) == {t.name for t in TAG_LAYERS}
    # doc-a's two claims; doc-c is a train document whose claims contradict only test claims, so the
    # published (nested) flags leave them unflagged
    assert result.layers["contradictory_claim_tags"].strict.support == 2
    assert result.pairs.n == 4 and result.pairs.unlabelled == 0
    assert ones(result.to_json()) == []


def test_committed_gold_against_itself_is_exactly_one() -> None:
    from crossclaim.dataset.gold import load_gold

    gold = load_gold(REPO / "annotations")
    result = evaluate(golds_of(gold), gold_predictions(gold), gold.pairs, resamples=50)
    assert ones(result.to_json()) == []


# ---------------------------------------------------------------------------------------------
# the scorer against seqeval called directly on the same tags


def noisy(gold: Gold) -> Predictions:
    """Predictions with every kind of error: shifted, relabelled, missing, extra, inside a glued word."""
    out = {}
    for d in gold.docs:
        spans = []
        for k, s in enumerate(gold.spans(d.id)):
            if k % 5 == 1:
                continue  # missing
            if k % 5 == 2:
                s = Span(s.layer, s.id, s.start, max(s.start + 1, s.end - 2), "", s.label, s.attrs)
            if k % 5 == 3 and s.layer in ("entities", "figures"):
                other = [lab for lab in LAYERS[s.layer].label_names if lab != s.label][0]
                s = Span(s.layer, s.id, s.start, s.end, s.text, other, {**s.attrs, "value": "0"})
            spans.append(s)
        spans.append(Span("entities", "x1", 0, 4, "Xiao", "ORG"))  # inside the glued "Xiaomiunveiled" of doc-a
        out[d.id] = spans
    return Predictions(out, ALL_TAG_LAYERS, {d.id: {"c1"} for d in gold.docs}, {})


def test_strict_scores_equal_seqeval_called_directly_on_the_same_tags() -> None:
    gold = make_gold()
    preds = noisy(gold)
    golds = golds_of(gold)
    c = count(golds, preds, gold.pairs)
    for t in TAG_LAYERS:
        y_true, y_pred = [], []
        for g in golds:
            true = layer_tags(g.view, gold.spans(g.doc.id), gold.contradictory().get(g.doc.id, set()), t.name)
            snapped = predicted_spans(g, preds.spans[g.doc.id], preds.contradictory[g.doc.id], t.name)
            placement = predicted_placement(g, snapped, t.name)
            y_true += with_pseudo(true, placement)
            y_pred += placement.seqs
        direct = classification_report(y_true, y_pred, mode="strict", scheme=IOB2, output_dict=True, zero_division=0)
        assert c.reports[t.name] == direct, t.name
        p, r, f = strict_prf(c.strict[t.name].sum(0))
        micro = direct["micro avg"]
        assert (p, r, f) == (micro["precision"], micro["recall"], micro["f1-score"]), t.name  # exactly
        assert c.strict[t.name].sum(0)[:, 2].sum() == micro["support"]


WORDS = TEXT.split(" ")


@st.composite
def predictions(draw) -> list[Span]:
    spans, pos = [], 0
    for _ in range(draw(st.integers(0, 8))):
        start = draw(st.integers(pos, len(TEXT) - 1))
        end = draw(st.integers(start + 1, min(len(TEXT), start + 30)))
        spans.append(
            Span("figures", f"p{len(spans)}", start, end, TEXT[start:end], draw(st.sampled_from(["DATE", "MONEY"])))
        )
        pos = end
        if pos >= len(TEXT) - 1:
            break
    return spans


@settings(max_examples=40, deadline=None)
@given(predictions(), predictions())
def test_pooled_counts_reproduce_seqeval_micro_exactly(a: list[Span], b: list[Span]) -> None:
    docs = [doc("doc-1", TEXT, "test"), doc("doc-2", TEXT, "test")]
    gold_idx = [index_gold(d, gold_spans(), set()) for d in docs]
    preds = Predictions({"doc-1": a, "doc-2": b}, frozenset({"figure_tags"}), {}, None)
    c = count(gold_idx, preds, [])
    micro = c.reports["figure_tags"].get("micro avg")
    _, _, f = strict_prf(c.strict["figure_tags"].sum(0))
    if micro is None:
        assert np.isnan(f)
    else:
        assert f == micro["f1-score"]


# ---------------------------------------------------------------------------------------------
# partial matching, values, pairs


def test_partial_schema_counts_exact_overlap_spurious_and_missing() -> None:
    true = [(0, 0, 2, "ORG"), (0, 3, 5, "ORG"), (1, 0, 1, "LOC")]
    pred = [(0, 0, 2, "PERSON"), (0, 4, 6, "ORG"), (0, 8, 9, "ORG")]
    assert partial_counts(true, pred).tolist() == [1, 1, 3, 3]  # type ignored: one exact, one overlap
    assert partial_counts(true, [(0, 0, 5, "ORG")]).tolist() == [0, 1, 1, 3]  # one prediction, one match


def test_value_accuracy_counts_strict_matches_only() -> None:
    gold = make_gold()
    spans = {d.id: list(gold.spans(d.id)) for d in gold.docs}
    wrong = spans["doc-b"][2]
    spans["doc-b"][2] = Span(wrong.layer, wrong.id, wrong.start, wrong.end, wrong.text, wrong.label, {"value": "1 car"})
    short = spans["doc-b"][5]  # "the second half of the year" predicted as "the second half"
    spans["doc-b"][5] = Span(short.layer, short.id, short.start, short.start + 15, "", "DATE", {"value": "2025-H2"})
    result = evaluate(golds_of(gold), Predictions(spans, frozenset({"figure_tags"}), {}, None), [])
    va = result.layers["figure_tags"].values
    assert (va.matched, va.correct) == (9, 8)  # 10 gold figures, one shifted (unmatched), one wrong value


def test_pair_scores_equal_scikit_learn_and_missing_pairs_are_wrong() -> None:
    gold = make_gold()
    labels = {gold.pairs[0].id: "CONTRADICTS", gold.pairs[1].id: "AGREES", gold.pairs[2].id: "UNRELATED"}
    preds = Predictions({d.id: [] for d in gold.docs}, frozenset(), {}, labels)  # the AGREES pair is missing
    result = evaluate(golds_of(gold), preds, gold.pairs)
    y_true = [p.label for p in sorted(gold.pairs, key=lambda p: p.id)]
    y_pred = [labels.get(p.id, "NONE") for p in sorted(gold.pairs, key=lambda p: p.id)]
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=["CONTRADICTS"], zero_division=0)
    assert result.pairs.contradicts.f1 == f[0] == pytest.approx(2 / 3)
    macro = f1_score(y_true, y_pred, labels=["CONTRADICTS", "AGREES", "UNRELATED"], average="macro", zero_division=0)
    assert result.pairs.macro_f1 == macro
    assert result.pairs.unlabelled == 1
    c = count(golds_of(gold), preds, gold.pairs)
    _, _, f_conf, macro_conf = pair_metrics(c.pairs.sum(0))
    assert f_conf == pytest.approx(f[0]) and macro_conf == pytest.approx(macro)
    assert sklearn_pairs(y_true, y_pred)[1] == macro


# ---------------------------------------------------------------------------------------------
# bootstrap


def test_bootstrap_resamples_sentences_within_documents_seeded_and_brackets_the_estimate() -> None:
    gold = make_gold()
    golds = golds_of(gold)
    c = count(golds, noisy(gold), gold.pairs)
    assert len(c.units) == sum(len(g.view.sentences) for g in golds) > len(golds)
    w = stratified_weights(c.units)
    assert w.shape == (1000, len(c.units)) and (w == stratified_weights(c.units)).all()
    for k in range(len(golds)):  # every resample keeps each document's number of sentences
        assert (w[:, c.units == k].sum(1) == (c.units == k).sum()).all()
    assert distinct(w) == len(np.unique(w, axis=0)) > 3  # whole documents: at most 10 distinct for three
    a, b = summarize(c), summarize(c)
    assert a == b
    strict = a.layers["entity_tags"].strict
    lo, hi = strict.f1_ci
    assert lo <= strict.micro.f1 <= hi
    per_unit = c.strict["entity_tags"]
    assert (resampled(per_unit, w[:1])[0] == (per_unit * w[0][:, None, None]).sum(0)).all()
    assert a.sample.sentences == len(c.units) and a.sample.documents == 3 and a.sample.pairs == len(gold.pairs)


def test_sentence_counts_add_up_to_each_documents_seqeval_scores() -> None:
    """Per fold (document) F1 from the sentence units equals seqeval run on that document alone."""
    gold = make_gold()
    golds = golds_of(gold)
    preds = noisy(gold)
    scores = summarize(count(golds, preds, gold.pairs), resamples=10)
    for t in TAG_LAYERS:
        for g in golds:
            true = layer_tags(g.view, gold.spans(g.doc.id), gold.contradictory().get(g.doc.id, set()), t.name)
            placement = predicted_placement(g, predicted_spans(g, preds.spans[g.doc.id], {"c1"}, t.name), t.name)
            y_true = with_pseudo(true, placement)
            if not any(tag != "O" for seq in y_true + placement.seqs for tag in seq):
                assert scores.layers[t.name].strict.by_document[g.doc.id] is None
                continue
            direct = classification_report(
                y_true, placement.seqs, mode="strict", scheme=IOB2, output_dict=True, zero_division=0
            )
            assert scores.layers[t.name].strict.by_document[g.doc.id] == direct["micro avg"]["f1-score"], t.name


def test_randomization_test_agrees_with_scipys_exact_paired_permutation_test() -> None:
    """Our Monte Carlo rounds against scipy enumerating all 2^10 swaps of a small case."""
    from scipy.stats import permutation_test

    rng = np.random.default_rng(3)
    gold_n = rng.integers(0, 4, 10)
    a = np.stack([np.minimum(gold_n, rng.integers(0, 4, 10)), gold_n + 1, gold_n], 1)[:, None, :]
    b = np.stack([np.minimum(gold_n, rng.integers(0, 3, 10)), gold_n + 2, gold_n], 1)[:, None, :]
    a[:, :, 1] = np.maximum(a[:, :, 1], a[:, :, 0])
    b[:, :, 1] = np.maximum(b[:, :, 1], b[:, :, 0])

    both = np.concatenate([a, b])

    def diff(x: np.ndarray, y: np.ndarray) -> float:  # scipy swaps unit indices; F1 is on the pooled counts
        return float(strict_f1(both[x].sum(0)) - strict_f1(both[y].sum(0)))

    units = np.arange(len(a))
    exact = permutation_test(
        (units, units + len(a)), diff, permutation_type="samples", n_resamples=np.inf, vectorized=False
    )
    ours = randomization_test(a, b, strict_f1, rounds=20000)  # 2^10 swaps fit in the rounds: enumerated
    assert ours.exact and ours.rounds == 2**10 and ours.groups == 10 and ours.floor == 2**-9
    assert ours.p == pytest.approx(exact.pvalue, abs=0.015) and not ours.at_floor


def test_randomization_test_is_one_for_identical_systems_and_a_flagged_bound_for_a_clear_gap() -> None:
    gold = make_gold()
    golds = golds_of(gold)
    perfect = count(golds, gold_predictions(gold), gold.pairs)
    bad = count(golds, noisy(gold), gold.pairs)
    same = randomization_test(perfect.strict["entity_tags"], perfect.strict["entity_tags"], strict_f1)
    assert same.p == 1.0 and not same.at_floor
    gap = randomization_test(perfect.strict["entity_tags"], bad.strict["entity_tags"], strict_f1)
    assert gap.p < 0.2  # a handful of sentences: no floor reached
    many = np.tile(perfect.strict["entity_tags"], (30, 1, 1)), np.tile(bad.strict["entity_tags"], (30, 1, 1))
    floor = randomization_test(*many, strict_f1, rounds=999)
    assert floor.at_floor and floor.p == 1 / 1000
    assert randomization_test(perfect.pairs, perfect.pairs, pair_macro_f1).p == 1.0
    assert interval(np.array([np.nan])) is None


def test_pairs_carry_their_claims_and_the_bootstrap_resamples_claims_within_their_documents() -> None:
    gold = make_gold()
    c = count(golds_of(gold), gold_predictions(gold), gold.pairs)
    ordered = sorted(gold.pairs, key=lambda p: p.id)
    for k, p in enumerate(ordered):  # both ends of every pair, by document
        assert {str(c.claim_docs[i]) for i in c.pair_claims[k]} == {p.a_doc, p.b_doc}
    w = pigeonhole_weights(c.pair_claims, c.claim_docs, 200, 5)
    claims = stratified_weights(c.claim_docs, 200, 5)
    assert (w == claims[:, c.pair_claims[:, 0]] * claims[:, c.pair_claims[:, 1]]).all()
    for d in np.unique(c.claim_docs):  # every document keeps its number of claims
        assert (claims[:, c.claim_docs == d].sum(1) == (c.claim_docs == d).sum()).all()
    s = summarize(c).sample
    assert s.claims == len(c.claim_docs) and s.claim_groups == len(np.unique(claim_groups(c.pair_claims)))
    assert s.pair_p_floor == 2.0 ** (1 - s.claim_groups) and "claims" in s.pair_unit


def test_pairs_sharing_a_claim_are_one_group_and_move_together_in_the_paired_test() -> None:
    pair_claims = np.array([[0, 1], [1, 2], [3, 4], [5, 6], [6, 7], [2, 8]])
    groups = claim_groups(pair_claims)
    assert len(np.unique(groups)) == 3 and len({groups[0], groups[1], groups[5]}) == 1
    assert groups[3] == groups[4] != groups[2] != groups[0]
    rng = np.random.default_rng(0)
    a = np.zeros((6, 3, 4), dtype=np.int64)
    a[np.arange(6), rng.integers(0, 3, 6), rng.integers(0, 3, 6)] = 1
    b = np.zeros_like(a)
    b[np.arange(6), 0, 1] = 1  # always wrong on CONTRADICTS
    test = randomization_test(a, b, pair_macro_f1, groups=groups)
    assert test.exact and test.rounds == 8 and test.groups == 3 and test.floor == 0.25
    by_hand = []  # every one of the 2^3 swaps of whole groups
    for bits in range(8):
        swap = ((bits >> groups) & 1).astype(bool)[:, None, None]
        x, y = np.where(swap, b, a).sum(0), np.where(swap, a, b).sum(0)
        by_hand.append(abs(pair_macro_f1(x) - pair_macro_f1(y)))
    observed = abs(pair_macro_f1(a.sum(0)) - pair_macro_f1(b.sum(0)))
    assert test.p == pytest.approx(np.mean(np.array(by_hand) >= observed - 1e-12)) and test.p >= test.floor


# ---------------------------------------------------------------------------------------------
# the command


def test_score_command_scores_the_gold_as_one_and_writes_json(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "repo", [task(gold_spans())])
    from crossclaim.dataset.gold import load_gold

    gold = load_gold(root / "annotations")
    pred = tmp_path / "gold.jsonl"
    pred.write_text(to_jsonl(gold_predictions(gold), gold.docs, gold.pairs), encoding="utf-8")
    out = tmp_path / "scores.json"
    result = CliRunner().invoke(app, ["score", str(pred), "--split", "test", "--root", str(root), "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "entity_tags" in result.output and "micro" in result.output
    assert "Span intervals resample sentences within their documents: 4 sentences of 1 document " in result.output
    assert "not news in general" in result.output
    scores = json.loads(out.read_text())
    assert scores["documents"] == ["doc-x"]
    assert scores["layers"]["figure_tags"]["strict"]["micro"]["f1"] == 1.0
    bad = CliRunner().invoke(app, ["score", str(pred), "--split", "dev", "--root", str(root)])
    assert bad.exit_code == 2 and "unknown split" in bad.output


def score_error(args: list[str]) -> str:
    """The one error line of a refused ``crossclaim score`` on the committed corpus."""
    result = CliRunner().invoke(app, ["score", *args, "--root", str(REPO)])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert len(result.output.splitlines()) == 1, result.output
    return result.output


def lines_of(path: Path, ids: list[str]) -> Path:
    path.write_text("".join(json.dumps({"document_id": d}) + "\n" for d in ids), encoding="utf-8")
    return path


def test_a_file_of_another_split_is_told_its_split_and_the_option(tmp_path: Path) -> None:
    test_file = lines_of(tmp_path / "test.jsonl", ["doc-001", "doc-003"])
    said = score_error([str(test_file), "--split", "validation"])
    assert (
        "no line for document(s) doc-004 of the scored split; the file's documents doc-001, doc-003 are in the " in said
    )
    assert said.rstrip().endswith("test split: pass --split test")
    mixed = lines_of(tmp_path / "mixed.jsonl", ["doc-000", "doc-001", "doc-002"])
    said = score_error([str(mixed), "--split", "validation"])
    assert "the file's documents are in the train split (doc-000, doc-002) and the test split (doc-001): " in said
    assert said.rstrip().endswith("pass --split train")  # the test split lacks doc-003
    partial = lines_of(tmp_path / "partial.jsonl", ["doc-001"])  # a gap in the split asked for: no hint
    assert score_error([str(partial), "--split", "test"]).rstrip().endswith("doc-003 of the scored split")


@pytest.mark.parametrize("text", ["", "\n\n"])
def test_an_empty_predictions_file_is_said_to_be_empty(tmp_path: Path, text: str) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text(text, encoding="utf-8")
    said = score_error([str(empty)])
    assert f"{empty}: the file is empty (no document line)" in said and "doc-001" not in said


def test_predictions_of_a_corpus_are_told_a_corpus_has_no_gold(tmp_path: Path) -> None:
    """No line names a document of the dataset (``crossclaim predict SYSTEM CORPUS``): one error, not one per line."""
    corpus = lines_of(tmp_path / "crawl.pred.jsonl", ["a1", "a2", "a3"])
    said = score_error([str(corpus)])
    assert (
        f"{corpus}, line 1, field document_id: unknown document 'a1' (and 2 more lines): no line of the file is "
        in said
    )
    assert "a corpus outside the dataset has no gold to score against" in said and "Pre-annotating a corpus" in said
    board = ["leaderboard", "--root", str(REPO), "--out", str(tmp_path / "out"), "--system", "regex"]
    result = CliRunner().invoke(app, [*board, "--predictions", str(corpus), "--name", "crawl"])
    assert result.exit_code == 2 and "a corpus outside the dataset has no gold" in result.output, result.output
    typo = lines_of(tmp_path / "typo.jsonl", ["doc-001", "doc-03"])  # one stray id among known ones: said per line
    said = score_error([str(typo)])
    assert "line 2, field document_id: unknown document 'doc-03' (known: " in said and "no gold" not in said
