"""Per-document counts: seqeval on the token view, partial matches, figure values, pair confusions.

Predicted spans are snapped to the gold token view and placed on it so that seqeval's strict
count is exact matching of snapped (start, end, label) spans: every predicted span is counted,
and one the token view cannot hold becomes a pseudo-sentence whose gold is all ``O``.
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
from crossclaim.schema.tags import TAG_NAMES, TokenView, selected, spans_to_tag_ids, token_range, token_view

SNAPPING = (
    "each predicted span is widened to the whole tokens of the token view it shares a character with "
    "(a span of white space only becomes empty: it matches and overlaps nothing)"
)
PARTIAL_SCHEME = (
    "SemEval-2013 Task 9.1 'partial' schema (Segura-Bedmar et al. 2013) on the snapped spans: predicted and "
    "gold spans of a document are matched one to one, type ignored; exact boundaries first (COR), then the "
    "remaining pairs by largest token overlap (PAR); P = (COR + 0.5 PAR) / predicted, R = (COR + 0.5 PAR) / "
    "gold. Per-label partial scores apply the same schema to the spans of one label on both sides."
)
TAG_LAYER = {t.name: t for t in TAG_LAYERS}
LABELS = {t.name: LAYERS[t.layer].label_names for t in TAG_LAYERS}
MISSING = len(PAIR_LABELS)  # confusion column of pairs the system left unlabelled

Ent = tuple[int, int, int, str]  # sentence index, first token, end token (exclusive), label


# ---------------------------------------------------------------------------------------------
# snapping and placing spans on the token view of one document


@dataclass(frozen=True)
class Snapped:
    """A span snapped to the token view: the character bounds of its whole tokens, and their range."""

    start: int
    end: int  # == start when the span covers white space only
    label: str
    first: int  # tokens [first, stop); first == stop when the span covers white space only
    stop: int
    value: str | None = None  # figures

    @property
    def key(self) -> tuple[int, int, str]:
        return (self.start, self.end, self.label)


def snap(view: TokenView, spans: list[Span]) -> list[Snapped]:
    """Each span widened to the tokens it shares a character with, in (start, end, label) order."""
    out = []
    for s in sorted(spans, key=lambda s: (s.start, s.end, s.label)):
        i, j = token_range(view.starts, view.ends, s.start, s.end)
        start, end = (view.starts[i], view.ends[j - 1]) if i < j else (s.start, s.start)
        out.append(Snapped(start, end, s.label, i, j, s.value))
    return out


@dataclass(frozen=True)
class Placement:
    """Predicted spans of one tag layer on the token view, every one of them counted."""

    seqs: list[list[str]]  # IOB2 tags per sentence of the view, then one pseudo-sentence per span not placed
    placed: dict[int, Snapped]  # first token -> the span placed there
    unplaced: int  # spans the view cannot hold: across sentences, on a taken token, or on no token


def sentence_of(view: TokenView) -> list[int]:
    """Sentence index of every token (-1 for a token outside every sentence)."""
    out = [-1] * len(view.starts)
    for k, (i, j) in enumerate(view.sentences):
        out[i:j] = [k] * (j - i)
    return out


def _iob(label: str, n: int) -> list[str]:
    return [f"B-{label}"] + [f"I-{label}"] * (n - 1)


def place(view: TokenView, spans: list[Snapped], gold: set[tuple[int, int, str]]) -> Placement:
    """Tag each span on its tokens if they are free and in one sentence; else give it a pseudo-sentence.

    Spans equal to a gold span are placed first (they never collide: gold spans of a layer are
    disjoint), so which of two colliding spans is placed never changes the number of matches.
    """
    sent = sentence_of(view)
    tags = ["O"] * len(view.starts)
    placed: dict[int, Snapped] = {}
    pseudo: list[list[str]] = []
    for s in sorted(spans, key=lambda s: s.key not in gold):  # stable: otherwise in snapping order
        fits = s.first < s.stop and sent[s.first] == sent[s.stop - 1] != -1
        if fits and all(t == "O" for t in tags[s.first : s.stop]):
            tags[s.first : s.stop] = _iob(s.label, s.stop - s.first)
            placed[s.first] = s
        else:
            pseudo.append(_iob(s.label, max(1, s.stop - s.first)))
    return Placement([tags[i:j] for i, j in view.sentences] + pseudo, placed, len(pseudo))


@dataclass
class GoldDoc:
    """The gold side of one document, computed once per evaluation and shared by every system."""

    doc: Document
    view: TokenView
    tags: dict[str, list[list[str]]]  # tag layer -> tags per sentence
    spans: dict[str, list[Snapped]]  # tag layer -> gold spans (already on token boundaries)
    values: dict[int, str]  # first token of a gold figure -> its value


def index_gold(doc: Document, spans: list[Span], contradictory: set[str]) -> GoldDoc:
    view = token_view(doc.text, spans)
    tags = {name: layer_tags(view, spans, contradictory, name) for name in TAG_LAYER}
    chosen = {name: snap(view, selected(TAG_LAYER[name], spans, contradictory)) for name in TAG_LAYER}
    values = {_first_token(view, s): s.value or "" for s in spans if s.layer == "figures"}
    return GoldDoc(doc, view, tags, chosen, values)


def layer_tags(view: TokenView, spans: list[Span], contradictory: set[str], tag_layer: str) -> list[list[str]]:
    """IOB2 tag names per sentence of one tag layer of the gold."""
    chosen = selected(TAG_LAYER[tag_layer], spans, contradictory)
    ids, _ = spans_to_tag_ids(view.starts, view.ends, chosen, tag_layer)
    names = TAG_NAMES[tag_layer]
    return [[names[k] for k in ids[i:j]] for i, j in view.sentences]


def predicted_spans(g: GoldDoc, spans: list[Span], contradictory: set[str], tag_layer: str) -> list[Snapped]:
    """A system's spans of one tag layer snapped to the gold token view of ``g``."""
    return snap(g.view, selected(TAG_LAYER[tag_layer], spans, contradictory))


def predicted_placement(g: GoldDoc, snapped: list[Snapped], tag_layer: str) -> Placement:
    """Snapped predicted spans placed on the gold token view of ``g``."""
    return place(g.view, snapped, {s.key for s in g.spans[tag_layer]})


def with_pseudo(gold: list[list[str]], placement: Placement) -> list[list[str]]:
    """The gold tags extended by an all-``O`` sentence for every pseudo-sentence of the placement."""
    return gold + [["O"] * len(seq) for seq in placement.seqs[len(gold) :]]


def entities(seqs: list[list[str]]) -> list[Ent]:
    """seqeval's strict IOB2 entities, as plain tuples."""
    return [(e.sent_id, e.start, e.end, e.tag) for sent in Entities(seqs, IOB2).entities for e in sent]


def ranges(spans: list[Snapped]) -> list[Ent]:
    """Snapped spans as entities over the whole document's tokens (one "sentence"), for partial matching."""
    return [(0, s.first, s.stop, s.label) for s in spans]


def _first_token(view: TokenView, s: Span) -> int:
    return bisect.bisect_right(view.ends, s.start)


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
    true: list[Ent], pred: list[Ent], view: TokenView, gold: dict[int, str], placement: Placement
) -> np.ndarray:
    """Matched figures (strict) and how many of them carry the gold value."""
    matched = set(true) & set(pred)
    correct = 0
    for sent, start, _, _ in matched:
        first = view.sentences[sent][0] + start
        correct += placement.placed[first].value == gold.get(first)
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
    unplaced: dict[str, np.ndarray]  # tag layer -> (docs,) predicted spans the token view could not hold
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
    unplaced = {t: np.zeros(n, dtype=np.int64) for t in layers}
    values = np.zeros((n, 2), dtype=np.int64) if "figure_tags" in layers else None
    pooled: dict[str, tuple[list, list]] = {t: ([], []) for t in layers}
    for k, g in enumerate(golds):
        spans = preds.spans.get(g.doc.id, [])
        flags = preds.contradictory.get(g.doc.id, set())
        for t in layers:
            snapped = predicted_spans(g, spans, flags, t)
            placement = predicted_placement(g, snapped, t)
            true_seqs = with_pseudo(g.tags[t], placement)
            true_e, pred_e = entities(true_seqs), entities(placement.seqs)
            strict[t][k] = strict_counts(true_e, pred_e, LABELS[t])
            unplaced[t][k] = placement.unplaced
            true_r, pred_r = ranges(g.spans[t]), ranges(snapped)
            partial[t][k] = partial_counts(true_r, pred_r)
            for m, label in enumerate(LABELS[t]):
                partial_labels[t][k, m] = partial_counts(
                    [e for e in true_r if e[3] == label], [e for e in pred_r if e[3] == label]
                )
            if t == "figure_tags":
                values[k] = value_counts(true_e, pred_e, g.view, g.values, placement)
            pooled[t][0].extend(true_seqs)
            pooled[t][1].extend(placement.seqs)
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
    return Counts(
        [g.doc.id for g in golds], strict, partial, partial_labels, unplaced, values, pair_counts, reports, y_pairs
    )


def seqeval_report(true: list[list[str]], pred: list[list[str]]) -> dict:
    """seqeval's strict IOB2 classification report (an empty dict when neither side has an entity)."""
    if not any(t != "O" for seq in true + pred for t in seq):
        return {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return classification_report(true, pred, mode="strict", scheme=IOB2, output_dict=True, zero_division=0)
