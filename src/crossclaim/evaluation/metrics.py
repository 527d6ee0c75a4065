"""Metrics from counts: strict and partial P/R/F1, value accuracy, pair scores, bootstrap CIs and p-values."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.metrics import precision_recall_fscore_support

from crossclaim.evaluation.counts import LABELS, Counts
from crossclaim.evaluation.results import (
    CI,
    PRF,
    LabelScore,
    LayerScore,
    PairScore,
    PartialScore,
    PValue,
    Sample,
    Scores,
    StrictScore,
    ValueAccuracy,
)
from crossclaim.schema.scheme import PAIR_LABELS

RESAMPLES = 1000  # bootstrap resamples for the intervals
ROUNDS = 9999  # rounds of the approximate randomisation test: p's floor is 1/10,000
SEED = 20250604


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
# bootstrap over units (sentences, claim pairs), stratified by document


def stratified_weights(groups: np.ndarray, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """(resamples, units): how often each unit is drawn when every document's units are resampled
    with replacement within that document (its size kept).

    The documents are held fixed: the intervals describe these documents, not news in general (with
    two to five documents no interval can). Same groups and seed, same weights, for every system.
    """
    rng = np.random.default_rng(seed)
    out = np.zeros((resamples, len(groups)), dtype=np.int64)
    for g in np.unique(groups):
        members = np.flatnonzero(groups == g)
        out[:, members] = rng.multinomial(len(members), np.full(len(members), 1 / len(members)), size=resamples)
    return out


def resampled(per_unit: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Pooled counts of every resample: (resamples, ...)."""
    flat = per_unit.reshape(len(per_unit), -1)
    return (weights @ flat).reshape(weights.shape[0], *per_unit.shape[1:])


def distinct(weights: np.ndarray) -> int:
    """How many of the drawn resamples differ (three in all for two documents resampled as wholes)."""
    return 0 if weights.size == 0 else len(np.unique(weights, axis=0))


def interval(samples: np.ndarray) -> list[float] | None:
    """95% percentile interval, ignoring resamples where the metric is undefined."""
    ok = samples[~np.isnan(samples)]
    if ok.size == 0:
        return None
    lo, hi = np.percentile(ok, [2.5, 97.5])
    return [float(lo), float(hi)]


# ---------------------------------------------------------------------------------------------
# paired test: approximate randomisation over units


def randomization_test(
    a: np.ndarray,
    b: np.ndarray,
    statistic: Callable[[np.ndarray], np.ndarray],
    rounds: int = ROUNDS,
    seed: int = SEED,
) -> PValue | None:
    """Two-sided approximate randomisation test of statistic(a) - statistic(b) (Noreen 1989; Yeh 2000).

    ``a`` and ``b`` are per-unit counts of two systems on the same gold (units × ...). Under the null
    the two systems' outputs are exchangeable unit by unit, so each round swaps every unit's counts
    between them with probability 1/2; p = (k + 1) / (rounds + 1) where k rounds reach the observed
    absolute difference. k = 0 puts p at its floor 1 / (rounds + 1): a bound, flagged, never exact.
    """
    obs = statistic(a.sum(0)) - statistic(b.sum(0))
    if np.isnan(obs):
        return None
    swaps = np.random.default_rng(seed).integers(0, 2, size=(rounds, len(a)), dtype=np.int8)
    shift = resampled(b - a, swaps)
    diff = np.abs(statistic(a.sum(0) + shift) - statistic(b.sum(0) - shift))
    diff = diff[~np.isnan(diff)]
    extreme = int(np.sum(diff >= abs(float(obs)) - 1e-12))
    return PValue((extreme + 1) / (diff.size + 1), diff.size, extreme == 0)


def strict_f1(c: np.ndarray) -> np.ndarray:
    """Strict micro F1 of (..., labels, 3) counts (the statistic of the paired test on span layers)."""
    return strict_prf(c)[2]


def pair_macro_f1(c: np.ndarray) -> np.ndarray:
    """Pair macro-F1 of (..., 3, 4) confusions (the statistic of the paired test on pairs)."""
    return pair_metrics(c)[3]


def sklearn_pairs(y_true: list[str], y_pred: list[str]) -> tuple[PRF, float]:
    """CONTRADICTS P/R/F1 and macro-F1 (labels present in gold or predictions) with scikit-learn."""
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=["CONTRADICTS"], zero_division=0)
    present = [lab for lab in PAIR_LABELS if lab in set(y_true) | set(y_pred)]
    _, _, macro, _ = precision_recall_fscore_support(y_true, y_pred, labels=present, average="macro", zero_division=0)
    return PRF(float(p[0]), float(r[0]), float(f[0])), float(macro)


def _num(x) -> float | None:
    return None if x is None or (isinstance(x, float) and np.isnan(x)) else float(x)


def _ci(samples: np.ndarray) -> CI:
    bounds = interval(samples)
    return None if bounds is None else (bounds[0], bounds[1])


def _by_document(c: Counts, per_unit: np.ndarray, metric: Callable, pairs: bool = False) -> dict[str, float | None]:
    """A metric on each document's own units (a fold of leave-one-document-out CV)."""
    return {doc: _num(float(v)) for doc, v in zip(c.docs, metric(c.by_document(per_unit, pairs)))}


def strict_score(c: Counts, t: str, w: np.ndarray) -> StrictScore:
    """Point estimates from seqeval's report, the interval by the stratified bootstrap over sentences."""
    report = c.reports[t]
    pooled = c.strict[t].sum(0)
    f_boot = strict_f1(resampled(c.strict[t], w))
    micro = report.get("micro avg")
    return StrictScore(
        micro=PRF(
            _num(micro["precision"]) if micro else None,
            _num(micro["recall"]) if micro else None,
            _num(micro["f1-score"]) if micro else None,
        ),
        f1_ci=_ci(f_boot),
        support=int(pooled[:, 2].sum()),
        predicted=int(pooled[:, 1].sum()),
        unplaced=int(c.unplaced[t].sum()),
        labels={
            label: LabelScore(
                PRF(float(row["precision"]), float(row["recall"]), float(row["f1-score"])), int(row["support"])
            )
            for label, row in sorted(report.items())
            if label in LABELS[t]
        },
        by_document=_by_document(c, c.strict[t], strict_f1),
    )


def partial_score(c: Counts, t: str, w: np.ndarray) -> PartialScore:
    pp, pr, pf = partial_prf(c.partial[t].sum(0))
    _, _, pf_boot = partial_prf(resampled(c.partial[t], w))
    labels = {}
    for m, label in enumerate(LABELS[t]):
        lc = c.partial_labels[t][:, m].sum(0)
        if lc[2] or lc[3]:
            lp, lr, lf = partial_prf(lc)
            labels[label] = LabelScore(PRF(float(lp), float(lr), _num(float(lf))), int(lc[3]))
    return PartialScore(
        micro=PRF(float(pp), float(pr), _num(float(pf))),
        f1_ci=_ci(pf_boot),
        exact=int(c.partial[t][:, 0].sum()),
        overlap=int(c.partial[t][:, 1].sum()),
        labels=labels,
    )


def value_score(values: np.ndarray, w: np.ndarray) -> ValueAccuracy:
    matched, correct = (int(x) for x in values.sum(0))
    return ValueAccuracy(
        correct / matched if matched else None, _ci(value_accuracy(resampled(values, w))), matched, correct
    )


def pair_score(c: Counts, w: np.ndarray) -> PairScore:
    """Point estimates from scikit-learn, intervals from the stratified bootstrap over claim pairs."""
    contradicts, macro = sklearn_pairs(*c.y_pairs)
    _, _, f_boot, macro_boot = pair_metrics(resampled(c.pairs, w))
    unlabelled = sum(1 for y in c.y_pairs[1] if y not in PAIR_LABELS)
    by_doc = {
        doc: f for doc, f in _by_document(c, c.pairs, pair_macro_f1, pairs=True).items() if f is not None
    }  # documents that are home to no pair are left out
    return PairScore(contradicts, _ci(f_boot), macro, _ci(macro_boot), len(c.y_pairs[0]), unlabelled, by_doc)


def sample(c: Counts, resamples: int = RESAMPLES, seed: int = SEED) -> tuple[Sample, np.ndarray, np.ndarray | None]:
    """What is resampled, with the weights: sentences within documents, claim pairs within home documents."""
    w = stratified_weights(c.units, resamples, seed)
    wp = stratified_weights(c.pair_docs, resamples, seed) if c.pairs is not None else None
    info = Sample(
        documents=len(c.docs),
        sentences=len(c.units),
        pairs=0 if c.pairs is None else len(c.pairs),
        resamples=resamples,
        distinct_sentence_resamples=distinct(w),
        distinct_pair_resamples=None if wp is None else distinct(wp),
    )
    return info, w, wp


def summarize(c: Counts, resamples: int = RESAMPLES, seed: int = SEED) -> Scores:
    """The scores of one system: point estimates from seqeval / scikit-learn, CIs by the stratified bootstrap."""
    info, w, wp = sample(c, resamples, seed)
    layers = {}
    for t in c.strict:
        values = value_score(c.values, w) if t == "figure_tags" and c.values is not None else None
        layers[t] = LayerScore(strict_score(c, t, w), partial_score(c, t, w), values)
    pairs = pair_score(c, wp) if c.pairs is not None and c.y_pairs is not None else None
    return Scores(layers, pairs, info)
