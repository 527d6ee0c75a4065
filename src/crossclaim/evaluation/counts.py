"""Per-document counts: seqeval on the token view, partial matches, figure values, pair confusions.

Predicted spans are snapped to the gold token view and placed on it so that seqeval's strict
count is exact matching of snapped (start, end, label) spans: every predicted span is counted,
and one the token view cannot hold becomes a pseudo-sentence whose gold is all ``O``.

Counts are kept per *unit*: a sentence of the token view for the span layers (a span the view cannot
hold belongs to the sentence of its first token), a claim pair for the pair layer. Summed over units
they are the document's counts, so every statistic is a function of them and bootstrap resampling only
re-adds rows (weighted). Pairs are not independent units: pairs that share a claim share its wording
and its difficulty, so each pair also records its two claims, the unit the pair intervals resample.
"""

from __future__ import annotations

import bisect
import warnings
from dataclasses import dataclass

import numpy as np
from seqeval.metrics import classification_report
from seqeval.scheme import IOB2, Entities

from crossclaim.dataset.pairset import claim_graph
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
    pseudo_first: tuple[int, ...] = ()  # first token of the span of every pseudo-sentence, in order


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
    firsts: list[int] = []
    for s in sorted(spans, key=lambda s: s.key not in gold):  # stable: otherwise in snapping order
        fits = s.first < s.stop and sent[s.first] == sent[s.stop - 1] != -1
        if fits and all(t == "O" for t in tags[s.first : s.stop]):
            tags[s.first : s.stop] = _iob(s.label, s.stop - s.first)
            placed[s.first] = s
        else:
            pseudo.append(_iob(s.label, max(1, s.stop - s.first)))
            firsts.append(s.first)
    return Placement([tags[i:j] for i, j in view.sentences] + pseudo, placed, len(pseudo), tuple(firsts))


def unit_of_token(view: TokenView) -> list[int]:
    """The sentence unit of every token position (and of the position after the last token).

    A token outside every sentence belongs to the sentence before it (the first one if none): every
    span, placed or not, is counted in exactly one unit of its document.
    """
    starts = [i for i, _ in view.sentences]
    last = max(0, len(starts) - 1)
    return [min(last, max(0, bisect.bisect_right(starts, k) - 1)) for k in range(len(view.starts) + 1)]


def units_of(view: TokenView) -> int:
    """Sentence units of a document: its sentences (one empty unit for a document without any)."""
    return max(1, len(view.sentences))


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
    ids = spans_to_tag_ids(view.starts, view.ends, chosen, tag_layer)
    names = TAG_NAMES[tag_layer]
    return [[names[k] for k in ids[i:j]] for i, j in view.sentences]


def predicted_spans(g: GoldDoc, spans: list[Span], contradictory: set[str], tag_layer: str) -> list[Snapped]:
    """A system's spans of one tag layer snapped to the gold token view of ``g``, those touching the
    document's page furniture dropped first (``outside_furniture``): every scorer goes through here."""
    return snap(g.view, selected(TAG_LAYER[tag_layer], outside_furniture(g.doc, spans), contradictory))


def outside_furniture(doc: Document, spans: list[Span]) -> list[Span]:
    """The spans that share no character with the page furniture the manifest declares in ``doc``.

    Furniture (bylines, captions, share bars, ...) is not annotated, so a span there is neither right nor
    wrong: it is dropped before scoring, as is one that reaches into furniture from the article text
    (its snapped tokens would hold furniture)."""
    if not doc.furniture:
        return spans
    return [s for s in spans if doc.furniture_at(s.start, s.end) is None]


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


def partial_matching(true: list[Ent], pred: list[Ent]) -> tuple[set[tuple[int, int, int]], list[Ent]]:
    """SemEval-2013 partial matching (type ignored, one to one): the exact ranges, and the gold spans
    matched by overlap (largest token overlap first)."""
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
    for _, i, j in sorted(overlaps):
        if i not in used_t and j not in used_p:
            used_t.add(i)
            used_p.add(j)
    return exact, [rest_t[i] for i in sorted(used_t)]


def partial_counts(true: list[Ent], pred: list[Ent]) -> np.ndarray:
    """COR, PAR, predicted, gold under the SemEval-2013 partial schema (type ignored, one to one)."""
    exact, overlapped = partial_matching(true, pred)
    return np.array([len(exact), len(overlapped), len(pred), len(true)], dtype=np.int64)


def partial_counts_by_unit(true: list[Ent], pred: list[Ent], unit: list[int], n: int) -> np.ndarray:
    """(n, 4) partial counts per unit: a match counts in the unit of its gold span's first token, a
    prediction in the unit of its own (``unit`` maps a token to its unit)."""
    exact, overlapped = partial_matching(true, pred)
    out = np.zeros((n, 4), dtype=np.int64)
    for column, entities_ in ((0, sorted(exact)), (1, overlapped), (2, pred), (3, true)):
        for e in entities_:
            out[unit[e[1]], column] += 1
    return out


def strict_counts_by_unit(true: list[Ent], pred: list[Ent], labels: list[str], unit: list[int], n: int) -> np.ndarray:
    """(n, labels, 3) TP, predicted, gold per unit and label: seqeval's strict entity matching.

    ``unit`` maps a sequence (sentence or pseudo-sentence) of the placement to its unit."""
    index = {label: k for k, label in enumerate(labels)}
    out = np.zeros((n, len(labels), 3), dtype=np.int64)
    t, p = set(true), set(pred)
    for column, ents in ((0, t & p), (1, p), (2, t)):
        for e in ents:
            if e[3] in index:
                out[unit[e[0]], index[e[3]], column] += 1
    return out


def value_counts(
    true: list[Ent], pred: list[Ent], view: TokenView, gold: dict[int, str], placement: Placement, n: int
) -> np.ndarray:
    """(n, 2) matched figures (strict) and how many of them carry the gold value, per sentence unit.

    A match is always on a sentence of the view (a pseudo-sentence's gold is all ``O``)."""
    out = np.zeros((n, 2), dtype=np.int64)
    for sent, start, _, _ in set(true) & set(pred):
        first = view.sentences[sent][0] + start
        out[sent] += (1, placement.placed[first].value == gold.get(first))
    return out


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
    """Per-unit counts of one system: everything the metrics and the bootstrap need.

    Span layers are counted per sentence unit (``units[k]`` is the document of unit ``k``), the pair
    layer per claim pair (``pair_docs[k]`` is the home document of pair ``k``, pairs in id order;
    ``pair_claims[k]`` its two claims, indices into ``claim_docs``, the document of every claim).
    """

    docs: list[str]
    units: np.ndarray  # (units,) index into docs of every sentence unit
    strict: dict[str, np.ndarray]  # tag layer -> (units, labels, 3)
    partial: dict[str, np.ndarray]  # tag layer -> (units, 4), type ignored
    partial_labels: dict[str, np.ndarray]  # tag layer -> (units, labels, 4)
    unplaced: dict[str, np.ndarray]  # tag layer -> (units,) predicted spans the token view could not hold
    values: np.ndarray | None  # (units, 2) matched, correct
    pairs: np.ndarray | None  # (pairs, 3, 4) confusion of each gold pair, in id order
    pair_docs: np.ndarray | None  # (pairs,) index into docs of each pair's home document
    reports: dict[str, dict]  # tag layer -> seqeval classification_report (output_dict) on all documents
    y_pairs: tuple[list[str], list[str]] | None  # gold and predicted pair labels, for scikit-learn
    pair_claims: np.ndarray | None = None  # (pairs, 2) index of each pair's two claims, claims in (doc, id) order
    claim_docs: np.ndarray | None = None  # (claims,) document id of every claim of a pair in scope

    def by_document(self, per_unit: np.ndarray, pairs: bool = False) -> np.ndarray:
        """Per-unit counts summed per document: (docs, ...)."""
        owner = self.pair_docs if pairs else self.units
        out = np.zeros((len(self.docs), *per_unit.shape[1:]), dtype=per_unit.dtype)
        np.add.at(out, owner, per_unit)
        return out


def scored_layers(preds: Predictions) -> list[str]:
    return [t.name for t in TAG_LAYERS if t.name in preds.layers]


def count(golds: list[GoldDoc], preds: Predictions, pairs: list[Pair]) -> Counts:
    """Counts of ``preds`` against the gold of ``golds``; ``pairs`` are the gold pairs in scope."""
    layers = scored_layers(preds)
    sizes = [units_of(g.view) for g in golds]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    n = int(offsets[-1])
    strict = {t: np.zeros((n, len(LABELS[t]), 3), dtype=np.int64) for t in layers}
    partial = {t: np.zeros((n, 4), dtype=np.int64) for t in layers}
    partial_labels = {t: np.zeros((n, len(LABELS[t]), 4), dtype=np.int64) for t in layers}
    unplaced = {t: np.zeros(n, dtype=np.int64) for t in layers}
    values = np.zeros((n, 2), dtype=np.int64) if "figure_tags" in layers else None
    pooled: dict[str, tuple[list, list]] = {t: ([], []) for t in layers}
    for k, g in enumerate(golds):
        rows = slice(offsets[k], offsets[k + 1])
        size = sizes[k]
        unit = unit_of_token(g.view)
        spans = preds.spans.get(g.doc.id, [])
        flags = preds.contradictory.get(g.doc.id, set())
        for t in layers:
            snapped = predicted_spans(g, spans, flags, t)
            placement = predicted_placement(g, snapped, t)
            seq_unit = list(range(len(g.view.sentences))) + [unit[first] for first in placement.pseudo_first]
            true_seqs = with_pseudo(g.tags[t], placement)
            true_e, pred_e = entities(true_seqs), entities(placement.seqs)
            strict[t][rows] = strict_counts_by_unit(true_e, pred_e, LABELS[t], seq_unit, size)
            np.add.at(unplaced[t][rows], [unit[first] for first in placement.pseudo_first], 1)
            true_r, pred_r = ranges(g.spans[t]), ranges(snapped)
            partial[t][rows] = partial_counts_by_unit(true_r, pred_r, unit, size)
            for m, label in enumerate(LABELS[t]):
                partial_labels[t][rows, m] = partial_counts_by_unit(
                    [e for e in true_r if e[3] == label], [e for e in pred_r if e[3] == label], unit, size
                )
            if t == "figure_tags":
                values[rows] = value_counts(true_e, pred_e, g.view, g.values, placement, size)
            pooled[t][0].extend(true_seqs)
            pooled[t][1].extend(placement.seqs)
    reports = {t: seqeval_report(*pooled[t]) for t in layers}
    pair_counts, pair_docs, y_pairs, pair_claims, claim_docs = None, None, None, None, None
    if preds.pairs is not None and pairs:
        home = {g.doc.id: k for k, g in enumerate(golds)}
        ordered = sorted(pairs, key=lambda p: p.id)
        pair_counts = np.stack([pair_confusion([p], preds.pairs) for p in ordered])
        pair_docs = np.array([home[p.home(set(home))] for p in ordered], dtype=np.int64)
        y_pairs = ([p.label for p in ordered], [preds.pairs.get(p.id, "NONE") for p in ordered])
        pair_claims, claim_docs = claims_of(ordered)
    units = np.repeat(np.arange(len(golds)), sizes)
    return Counts(
        [g.doc.id for g in golds],
        units,
        strict,
        partial,
        partial_labels,
        unplaced,
        values,
        pair_counts,
        pair_docs,
        reports,
        y_pairs,
        pair_claims,
        claim_docs,
    )


def claims_of(pairs: list[Pair]) -> tuple[np.ndarray, np.ndarray]:
    """Each pair's two claims as indices into the claims of ``pairs`` in (doc, id) order, and the
    document of every claim: the claim graph (claims as nodes, pairs as edges) the pair intervals and
    the paired test on pairs need."""
    pair_claims, claims = claim_graph([((p.a_doc, p.a_claim), (p.b_doc, p.b_claim)) for p in pairs])
    return pair_claims, np.array([doc for doc, _ in claims], dtype=str)


def seqeval_report(true: list[list[str]], pred: list[list[str]]) -> dict:
    """seqeval's strict IOB2 classification report (an empty dict when neither side has an entity)."""
    if not any(t != "O" for seq in true + pred for t in seq):
        return {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return classification_report(true, pred, mode="strict", scheme=IOB2, output_dict=True, zero_division=0)
