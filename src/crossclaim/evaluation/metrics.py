"""Metrics from counts: strict and partial P/R/F1, value accuracy, pair scores, bootstrap CIs and p-values."""

from __future__ import annotations

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
    Scores,
    StrictScore,
    ValueAccuracy,
)
from crossclaim.schema.scheme import PAIR_LABELS

RESAMPLES = 1000
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


def strict_score(c: Counts, t: str, idx: np.ndarray) -> StrictScore:
    """Point estimates from seqeval's report, the interval by bootstrap over documents."""
    report = c.reports[t]
    pooled = c.strict[t].sum(0)
    _, _, f_boot = strict_prf(resampled(c.strict[t], idx))
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
    )


def partial_score(c: Counts, t: str, idx: np.ndarray) -> PartialScore:
    pp, pr, pf = partial_prf(c.partial[t].sum(0))
    _, _, pf_boot = partial_prf(resampled(c.partial[t], idx))
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


def value_score(values: np.ndarray, idx: np.ndarray) -> ValueAccuracy:
    matched, correct = (int(x) for x in values.sum(0))
    return ValueAccuracy(
        correct / matched if matched else None, _ci(value_accuracy(resampled(values, idx))), matched, correct
    )


def pair_score(pairs: np.ndarray, y_pairs: tuple[list[str], list[str]], idx: np.ndarray) -> PairScore:
    """Point estimates from scikit-learn, intervals from the per-document confusions."""
    contradicts, macro = sklearn_pairs(*y_pairs)
    _, _, f_boot, macro_boot = pair_metrics(resampled(pairs, idx))
    unlabelled = sum(1 for y in y_pairs[1] if y not in PAIR_LABELS)
    return PairScore(contradicts, _ci(f_boot), macro, _ci(macro_boot), len(y_pairs[0]), unlabelled)


def summarize(c: Counts, idx: np.ndarray) -> Scores:
    """The scores of one system: point estimates from seqeval / scikit-learn, CIs by bootstrap."""
    layers = {}
    for t in c.strict:
        values = value_score(c.values, idx) if t == "figure_tags" and c.values is not None else None
        layers[t] = LayerScore(strict_score(c, t, idx), partial_score(c, t, idx), values)
    pairs = pair_score(c.pairs, c.y_pairs, idx) if c.pairs is not None and c.y_pairs is not None else None
    return Scores(layers, pairs)


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
