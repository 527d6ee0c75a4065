"""Scoring: seqeval on the token view, partial matching, figure values, claim pairs, bootstrap CIs.

Every span layer is scored as the IOB2 tag layers of the ``tokens`` config: the gold token view
(tokens split at gold span boundaries) with predicted spans projected onto it by the same
overlap rule as the gold (``tags.spans_to_tag_ids``). Strict scores are seqeval's
``classification_report(mode="strict", scheme=IOB2)``. For the bootstrap, per-document counts are
taken once with seqeval's own entity extraction and documents are resampled with numpy; the
pooled counts reproduce seqeval's micro scores exactly (same arithmetic, tested).
"""

from __future__ import annotations

import bisect
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from seqeval.metrics import classification_report
from seqeval.scheme import IOB2, Entities
from sklearn.metrics import precision_recall_fscore_support

from .errors import InputError
from .predictions import Predictions
from .records import Document, Pair, Span
from .schema import LAYERS, PAIR_LABELS, SPLITS, TAG_LAYERS
from .tags import TAG_NAMES, TokenView, selected, spans_to_tag_ids, token_view

RESAMPLES = 1000
SEED = 20250604
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
# metrics on (possibly resampled) pooled counts; leading axes are kept, NaN where undefined


def _div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """seqeval's and scikit-learn's division: 0 where the denominator is 0."""
    return np.where(den == 0, 0.0, num / np.where(den == 0, 1, den))


def strict_prf(c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Micro P, R, F1 from (..., labels, 3) counts, in seqeval's exact arithmetic."""
    tp, pred, true = c[..., 0].sum(-1), c[..., 1].sum(-1), c[..., 2].sum(-1)
    p, r = _div(tp, pred), _div(tp, true)
    denom = 1.0 * p + r
    denom = np.where(denom == 0.0, 1.0, denom)
    f = (1 + 1.0) * p * r / denom
    undefined = (pred == 0) & (true == 0)
    return p, r, np.where(undefined, np.nan, f)


def partial_prf(c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P, R, F1 from (..., 4) counts COR, PAR, predicted, gold."""
    score = c[..., 0] + 0.5 * c[..., 1]
    p, r = _div(score, c[..., 2]), _div(score, c[..., 3])
    f = _div(2 * p * r, p + r)
    return p, r, np.where((c[..., 2] == 0) & (c[..., 3] == 0), np.nan, f)


def value_accuracy(c: np.ndarray) -> np.ndarray:
    return np.where(c[..., 0] == 0, np.nan, _div(c[..., 1], c[..., 0]))


def pair_metrics(c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CONTRADICTS P, R, F1 and macro-F1 over the labels present (gold or predicted)."""
    n = len(PAIR_LABELS)
    tp = np.stack([c[..., k, k] for k in range(n)], -1)
    pred = c[..., :, :n].sum(-2)
    true = c.sum(-1)
    f = _div(2.0 * tp, 1.0 * true + pred)
    present = (true + pred) > 0
    macro = _div((f * present).sum(-1), present.sum(-1))
    empty = true.sum(-1) == 0
    k = PAIR_LABELS.index("CONTRADICTS")
    return (
        _div(tp[..., k], pred[..., k]),
        _div(tp[..., k], true[..., k]),
        np.where(present[..., k], f[..., k], np.nan),
        np.where(empty, np.nan, macro),
    )


# ---------------------------------------------------------------------------------------------
# bootstrap over documents


def resample_indices(n_docs: int, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """(resamples, n_docs) document indices drawn with replacement; shared by all systems (paired)."""
    return np.random.default_rng(seed).integers(0, n_docs, size=(resamples, n_docs))


def resampled(per_doc: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Pooled counts of every resample: (resamples, ...)."""
    return per_doc[idx].sum(axis=1)


def interval(samples: np.ndarray) -> list[float] | None:
    """95% percentile interval, ignoring resamples where the metric is undefined."""
    ok = samples[~np.isnan(samples)]
    if ok.size == 0:
        return None
    lo, hi = np.percentile(ok, [2.5, 97.5])
    return [float(lo), float(hi)]


def paired_p_value(a: np.ndarray, b: np.ndarray, a_obs: float, b_obs: float) -> float | None:
    """Two-sided paired bootstrap p-value of the difference a - b (shifted to the null, +1 smoothed).

    Resampled differences are centred on the observed one; p is the share at least as far from it
    as the observed difference is from zero (Berg-Kirkpatrick et al. 2012, two-sided).
    """
    if a_obs is None or b_obs is None:
        return None
    delta = a_obs - b_obs
    d = a - b
    d = d[~np.isnan(d)]
    if d.size == 0:
        return None
    extreme = int(np.sum(np.abs(d - delta) >= abs(delta) - 1e-12))
    return (extreme + 1) / (d.size + 1)


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
            at = home[min(d for d in (p.a_doc, p.b_doc) if d in home)]
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


def sklearn_pairs(y_true: list[str], y_pred: list[str]) -> dict:
    """CONTRADICTS P/R/F1 and macro-F1 (labels present in gold or predictions) with scikit-learn."""
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=["CONTRADICTS"], zero_division=0)
    present = [lab for lab in PAIR_LABELS if lab in set(y_true) | set(y_pred)]
    _, _, macro, _ = precision_recall_fscore_support(y_true, y_pred, labels=present, average="macro", zero_division=0)
    return {"precision": float(p[0]), "recall": float(r[0]), "f1": float(f[0]), "macro_f1": float(macro)}


def _num(x) -> float | None:
    return None if x is None or (isinstance(x, float) and np.isnan(x)) else float(x)


def summarize(c: Counts, idx: np.ndarray) -> dict:
    """The scores of one system (JSON-ready): point estimates from seqeval / scikit-learn, CIs by bootstrap."""
    out: dict = {"layers": {}, "pairs": None}
    for t in c.strict:
        report = c.reports[t]
        pooled = c.strict[t].sum(0)
        _, _, f_boot = strict_prf(resampled(c.strict[t], idx))
        micro = report.get("micro avg")
        strict = {
            "micro": {
                "precision": _num(micro["precision"]) if micro else None,
                "recall": _num(micro["recall"]) if micro else None,
                "f1": _num(micro["f1-score"]) if micro else None,
                "f1_ci": interval(f_boot),
                "support": int(pooled[:, 2].sum()),
                "predicted": int(pooled[:, 1].sum()),
            },
            "labels": {
                label: {
                    "precision": float(row["precision"]),
                    "recall": float(row["recall"]),
                    "f1": float(row["f1-score"]),
                    "support": int(row["support"]),
                }
                for label, row in sorted(report.items())
                if label in LABELS[t]
            },
        }
        pp, pr, pf = partial_prf(c.partial[t].sum(0))
        _, _, pf_boot = partial_prf(resampled(c.partial[t], idx))
        labels = {}
        for m, label in enumerate(LABELS[t]):
            lc = c.partial_labels[t][:, m].sum(0)
            if lc[2] or lc[3]:
                lp, lr, lf = partial_prf(lc)
                labels[label] = {
                    "precision": float(lp),
                    "recall": float(lr),
                    "f1": _num(float(lf)),
                    "support": int(lc[3]),
                }
        partial = {
            "micro": {
                "precision": float(pp),
                "recall": float(pr),
                "f1": _num(float(pf)),
                "f1_ci": interval(pf_boot),
                "exact": int(c.partial[t][:, 0].sum()),
                "overlap": int(c.partial[t][:, 1].sum()),
            },
            "labels": labels,
        }
        entry = {"strict": strict, "partial": partial}
        if t == "figure_tags" and c.values is not None:
            matched, correct = (int(x) for x in c.values.sum(0))
            entry["value_accuracy"] = {
                "accuracy": correct / matched if matched else None,
                "ci": interval(value_accuracy(resampled(c.values, idx))),
                "matched": matched,
                "correct": correct,
            }
        out["layers"][t] = entry
    if c.pairs is not None and c.y_pairs is not None:
        point = sklearn_pairs(*c.y_pairs)
        _, _, f_boot, macro_boot = pair_metrics(resampled(c.pairs, idx))
        out["pairs"] = {
            "contradicts": {
                "precision": point["precision"],
                "recall": point["recall"],
                "f1": point["f1"],
                "f1_ci": interval(f_boot),
            },
            "macro_f1": point["macro_f1"],
            "macro_f1_ci": interval(macro_boot),
            "n": len(c.y_pairs[0]),
            "unlabelled": sum(1 for y in c.y_pairs[1] if y not in PAIR_LABELS),
        }
    return out


# ---------------------------------------------------------------------------------------------
# statistics used by the paired test: one number per resample


def layer_statistic(c: Counts, tag_layer: str, idx: np.ndarray) -> tuple[np.ndarray, float | None] | None:
    """Strict micro F1 of every resample and the observed one (None if the layer is not scored)."""
    if tag_layer not in c.strict:
        return None
    _, _, obs = strict_prf(c.strict[tag_layer].sum(0))
    _, _, boot = strict_prf(resampled(c.strict[tag_layer], idx))
    return boot, _num(float(obs))


def pair_statistic(c: Counts, idx: np.ndarray) -> tuple[np.ndarray, float | None] | None:
    """Pair macro-F1 of every resample and the observed one."""
    if c.pairs is None:
        return None
    _, _, _, obs = pair_metrics(c.pairs.sum(0))
    _, _, _, boot = pair_metrics(resampled(c.pairs, idx))
    return boot, _num(float(obs))


# ---------------------------------------------------------------------------------------------
# the whole evaluation of one predictions object


def evaluate(
    golds: list[GoldDoc], preds: Predictions, pairs: list[Pair], resamples: int = RESAMPLES, seed: int = SEED
) -> dict:
    """Score ``preds`` on the documents of ``golds`` and the gold ``pairs`` in scope."""
    c = count(golds, preds, pairs)
    return summarize(c, resample_indices(len(golds), resamples, seed))


def pairs_of_split(pairs: list[Pair], split_of: dict[str, str], split: str) -> list[Pair]:
    """The gold pairs of a split as the claim_pairs config assigns them (``all``: every pair)."""
    from .build import pair_split

    return [p for p in pairs if split == "all" or pair_split(p, split_of) == split]


# ---------------------------------------------------------------------------------------------
# a predictions file on a split (the ``crossclaim score`` command)


def score_file(root: Path, path: Path, split: str) -> dict:
    """Validate ``path`` against the corpus and score it on ``split`` (train, validation, test or all)."""
    from .build import load_gold
    from .predictions import read_predictions, require_documents

    if split not in (*SPLITS, "all"):
        raise InputError("--split", f"unknown split {split!r} (allowed: {', '.join(SPLITS)}, all)")
    gold = load_gold(root / "annotations")
    preds = read_predictions(path, gold.docs, gold.pairs)
    docs = [d for d in sorted(gold.docs, key=lambda d: d.id) if split == "all" or d.split == split]
    ids = [d.id for d in docs]
    require_documents(preds, ids, str(path))
    contradictory = gold.contradictory()
    golds = [index_gold(d, gold.spans(d.id), contradictory.get(d.id, set())) for d in docs]
    pairs = pairs_of_split(gold.pairs, {d.id: d.split for d in gold.docs}, split)
    result = evaluate(golds, preds.only(ids), pairs)
    result |= {"split": split, "documents": ids, "ignored_documents": sorted(set(preds.spans) - set(ids))}
    return result


def format_scores(result: dict) -> str:
    """A plain-text report: per layer the seqeval table with CI, partial scores, values; then pairs."""

    def f(x: float | None) -> str:
        return "   n/a" if x is None else f"{x:6.3f}"

    def ci(c: list[float] | None) -> str:
        return "" if not c else f"  95% CI [{c[0]:.3f}, {c[1]:.3f}]"

    lines = [f"split {result['split']}: {', '.join(result['documents'])}"]
    if result["ignored_documents"]:
        lines.append(f"(lines of {', '.join(result['ignored_documents'])} are outside the split: not scored)")
    for layer, entry in result["layers"].items():
        lines += ["", f"{layer}", f"  {'label':<12} {'P':>6} {'R':>6} {'F1':>6} {'support':>8}"]
        for label, row in entry["strict"]["labels"].items():
            lines.append(f"  {label:<12} {f(row['precision'])} {f(row['recall'])} {f(row['f1'])} {row['support']:>8}")
        m = entry["strict"]["micro"]
        row = f"{f(m['precision'])} {f(m['recall'])} {f(m['f1'])} {m['support']:>8}"
        lines.append(f"  {'micro':<12} {row}{ci(m['f1_ci'])}")
        p = entry["partial"]["micro"]
        lines.append(f"  {'partial':<12} {f(p['precision'])} {f(p['recall'])} {f(p['f1'])} {'':>8}{ci(p['f1_ci'])}")
        if "value_accuracy" in entry:
            v = entry["value_accuracy"]
            lines.append(f"  value accuracy {f(v['accuracy'])} ({v['correct']}/{v['matched']} matched){ci(v['ci'])}")
    pairs = result["pairs"]
    if pairs is not None:
        c = pairs["contradicts"]
        lines += [
            "",
            f"claim pairs ({pairs['n']}, {pairs['unlabelled']} without a prediction)",
            f"  CONTRADICTS P {f(c['precision'])} R {f(c['recall'])} F1 {f(c['f1'])}{ci(c['f1_ci'])}",
            f"  macro-F1 {f(pairs['macro_f1'])}{ci(pairs['macro_f1_ci'])}",
        ]
    return "\n".join(lines)
