"""Per-document counts: seqeval on the token view, partial matches, figure values, pair confusions.

Every statistic is a function of these counts, so bootstrap resampling only re-adds rows.
"""

from __future__ import annotations

import bisect
import warnings
from dataclasses import dataclass

import numpy as np
from seqeval.metrics import classification_report
from seqeval.scheme import IOB2, Entities

from crossclaim.formats.predictions import Predictions
from crossclaim.schema.records import Document, Pair, Span
from crossclaim.schema.scheme import LAYERS, PAIR_LABELS, TAG_LAYERS
from crossclaim.schema.tags import TAG_NAMES, TokenView, selected, spans_to_tag_ids, token_view

PARTIAL_SCHEME = (
    "SemEval-2013 Task 9.1 'partial' schema (Segura-Bedmar et al. 2013): predicted and gold entities are "
    "matched one to one on the token view, type ignored; an exact boundary match counts 1 (COR), an "
    "overlap 0.5 (PAR); P = (COR + 0.5 PAR) / predicted, R = (COR + 0.5 PAR) / gold. Per-label partial "
    "scores apply the same schema to the entities of one label on both sides."
)
TAG_LAYER = {t.name: t for t in TAG_LAYERS}
LABELS = {t.name: LAYERS[t.layer].label_names for t in TAG_LAYERS}
MISSING = len(PAIR_LABELS)  # confusion column of pairs the system left unlabelled

Ent = tuple[int, int, int, str]  # sentence index, first token, end token (exclusive), label


# ---------------------------------------------------------------------------------------------
# the token view of one document


@dataclass
class GoldDoc:
    """The gold side of one document, computed once per evaluation and shared by every system."""

    doc: Document
    view: TokenView
    tags: dict[str, list[list[str]]]  # tag layer -> tags per sentence
    values: dict[int, str]  # first token of a gold figure -> its value


def index_gold(doc: Document, spans: list[Span], contradictory: set[str]) -> GoldDoc:
    view = token_view(doc.text, spans)
    tags = {name: layer_tags(view, spans, contradictory, name) for name in TAG_LAYER}
    values = {_first_token(view, s): s.value or "" for s in spans if s.layer == "figures"}
    return GoldDoc(doc, view, tags, values)


def layer_tags(view: TokenView, spans: list[Span], contradictory: set[str], tag_layer: str) -> list[list[str]]:
    """IOB2 tag names per sentence of one tag layer, spans projected by overlap."""
    chosen = selected(TAG_LAYER[tag_layer], spans, contradictory)
    ids, _ = spans_to_tag_ids(view.starts, view.ends, chosen, tag_layer)
    names = TAG_NAMES[tag_layer]
    return [[names[k] for k in ids[i:j]] for i, j in view.sentences]


def entities(seqs: list[list[str]]) -> list[Ent]:
    """seqeval's strict IOB2 entities, as plain tuples."""
    return [(e.sent_id, e.start, e.end, e.tag) for sent in Entities(seqs, IOB2).entities for e in sent]


def _first_token(view: TokenView, s: Span) -> int:
    return bisect.bisect_right(view.ends, s.start)


def predicted_values(view: TokenView, spans: list[Span]) -> dict[int, str | None]:
    """First token of each predicted figure -> its value, in projection order (first span wins)."""
    out: dict[int, str | None] = {}
    for s in sorted((s for s in spans if s.layer == "figures"), key=lambda s: (s.start, s.end)):
        out.setdefault(_first_token(view, s), s.value)
    return out


# ---------------------------------------------------------------------------------------------
# per-document counts (pure)


def strict_counts(true: list[Ent], pred: list[Ent], labels: list[str]) -> np.ndarray:
    """(labels, 3) array of TP, predicted, gold per label: seqeval's strict entity matching."""
    t, p = set(true), set(pred)
    out = np.zeros((len(labels), 3), dtype=np.int64)
    for k, label in enumerate(labels):
        tl = {e for e in t if e[3] == label}
        pl = {e for e in p if e[3] == label}
        out[k] = (len(tl & pl), len(pl), len(tl))
    return out


def partial_counts(true: list[Ent], pred: list[Ent]) -> np.ndarray:
    """COR, PAR, predicted, gold under the SemEval-2013 partial schema (type ignored, one to one)."""
    exact = {e[:3] for e in true} & {e[:3] for e in pred}
    rest_t = [e for e in true if e[:3] not in exact]
    rest_p = [e for e in pred if e[:3] not in exact]
    overlaps = []
    for i, a in enumerate(rest_t):
        for j, b in enumerate(rest_p):
            size = min(a[2], b[2]) - max(a[1], b[1])
            if a[0] == b[0] and size > 0:
                overlaps.append((-size, i, j))
    used_t: set[int] = set()
    used_p: set[int] = set()
    par = 0
    for _, i, j in sorted(overlaps):
        if i not in used_t and j not in used_p:
            used_t.add(i)
            used_p.add(j)
            par += 1
    return np.array([len(exact), par, len(pred), len(true)], dtype=np.int64)


def value_counts(
    true: list[Ent], pred: list[Ent], view: TokenView, gold: dict[int, str], predicted: dict[int, str | None]
) -> np.ndarray:
    """Matched figures (strict) and how many of them carry the gold value."""
    matched = set(true) & set(pred)
    correct = 0
    for sent, start, _, _ in matched:
        first = view.sentences[sent][0] + start
        correct += predicted.get(first) == gold.get(first)
    return np.array([len(matched), correct], dtype=np.int64)


def pair_confusion(pairs: list[Pair], labels: dict[str, str]) -> np.ndarray:
    """3 x 4 confusion of gold label by predicted label; column 4 is 'no prediction' (wrong)."""
    out = np.zeros((len(PAIR_LABELS), len(PAIR_LABELS) + 1), dtype=np.int64)
    for p in pairs:
        guess = labels.get(p.id)
        out[PAIR_LABELS.index(p.label), PAIR_LABELS.index(guess) if guess in PAIR_LABELS else MISSING] += 1
    return out


# ---------------------------------------------------------------------------------------------
# one system on one set of documents


@dataclass
class Counts:
    """Per-document counts of one system: everything the metrics and the bootstrap need."""

    docs: list[str]
    strict: dict[str, np.ndarray]  # tag layer -> (docs, labels, 3)
    partial: dict[str, np.ndarray]  # tag layer -> (docs, 4), type ignored
    partial_labels: dict[str, np.ndarray]  # tag layer -> (docs, labels, 4)
    values: np.ndarray | None  # (docs, 2) matched, correct
    pairs: np.ndarray | None  # (docs, 3, 4) confusion of the pairs at home in each document
    reports: dict[str, dict]  # tag layer -> seqeval classification_report (output_dict) on all documents
    y_pairs: tuple[list[str], list[str]] | None  # gold and predicted pair labels, for scikit-learn


def scored_layers(preds: Predictions) -> list[str]:
    return [t.name for t in TAG_LAYERS if t.name in preds.layers]


def count(golds: list[GoldDoc], preds: Predictions, pairs: list[Pair]) -> Counts:
    """Counts of ``preds`` against the gold of ``golds``; ``pairs`` are the gold pairs in scope."""
    layers = scored_layers(preds)
    n = len(golds)
    strict = {t: np.zeros((n, len(LABELS[t]), 3), dtype=np.int64) for t in layers}
    partial = {t: np.zeros((n, 4), dtype=np.int64) for t in layers}
    partial_labels = {t: np.zeros((n, len(LABELS[t]), 4), dtype=np.int64) for t in layers}
    values = np.zeros((n, 2), dtype=np.int64) if "figure_tags" in layers else None
    pooled: dict[str, tuple[list, list]] = {t: ([], []) for t in layers}
    for k, g in enumerate(golds):
        spans = preds.spans.get(g.doc.id, [])
        flags = preds.contradictory.get(g.doc.id, set())
        for t in layers:
            pred_seqs = layer_tags(g.view, spans, flags, t)
            true_e, pred_e = entities(g.tags[t]), entities(pred_seqs)
            strict[t][k] = strict_counts(true_e, pred_e, LABELS[t])
            partial[t][k] = partial_counts(true_e, pred_e)
            for m, label in enumerate(LABELS[t]):
                partial_labels[t][k, m] = partial_counts(
                    [e for e in true_e if e[3] == label], [e for e in pred_e if e[3] == label]
                )
            if t == "figure_tags":
                values[k] = value_counts(true_e, pred_e, g.view, g.values, predicted_values(g.view, spans))
            pooled[t][0].extend(g.tags[t])
            pooled[t][1].extend(pred_seqs)
    reports = {t: seqeval_report(*pooled[t]) for t in layers}
    pair_counts, y_pairs = None, None
    if preds.pairs is not None and pairs:
        home = {g.doc.id: k for k, g in enumerate(golds)}
        pair_counts = np.zeros((n, len(PAIR_LABELS), len(PAIR_LABELS) + 1), dtype=np.int64)
        for p in pairs:
            at = home[p.home(set(home))]
            pair_counts[at] += pair_confusion([p], preds.pairs)
        ordered = sorted(pairs, key=lambda p: p.id)
        y_pairs = ([p.label for p in ordered], [preds.pairs.get(p.id, "NONE") for p in ordered])
    return Counts([g.doc.id for g in golds], strict, partial, partial_labels, values, pair_counts, reports, y_pairs)


def seqeval_report(true: list[list[str]], pred: list[list[str]]) -> dict:
    """seqeval's strict IOB2 classification report (an empty dict when neither side has an entity)."""
    if not any(t != "O" for seq in true + pred for t in seq):
        return {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return classification_report(true, pred, mode="strict", scheme=IOB2, output_dict=True, zero_division=0)
