"""Metrics from counts: strict and partial P/R/F1, value accuracy, pair scores, bootstrap CIs and p-values."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.metrics import precision_recall_fscore_support

from crossclaim.dataset.pairset import claim_groups
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
# bootstrap over units: sentences within documents; claims within documents for pairs

SPAN_UNIT = "sentences within their documents"
PAIR_UNIT = (
    "claims within their documents, a pair counted as often as the product of its two claims' draws "
    "(pigeonhole bootstrap)"
)


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


def pigeonhole_weights(
    pair_claims: np.ndarray, claim_docs: np.ndarray, resamples: int = RESAMPLES, seed: int = SEED
) -> np.ndarray:
    """(resamples, pairs): the claims resampled within their documents, each pair weighted by the
    product of the draws of its two claims (the pigeonhole bootstrap for dyadic data; Owen 2007,
    Owen & Eckles 2012).

    Pairs are not independent: every pair that shares a claim shares its wording, so pairs resampled
    one by one understate the spread (20 of the test split's 34 CONTRADICTS pairs touch two claims).
    A claim drawn twice brings all its pairs twice, one not drawn drops them all. Claims are drawn
    within their own document (a pair's two claims come from two documents, so its home document is
    no stratum for it): the documents are held fixed, as for sentences, and every document keeps its
    number of claims. The scheme is conservative (its variance includes the pair-level term twice over
    in expectation), the side a small sample should err on.
    """
    claim_weights = stratified_weights(claim_docs, resamples, seed)
    return claim_weights[:, pair_claims[:, 0]] * claim_weights[:, pair_claims[:, 1]]


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
# paired test: approximate randomisation over exchangeable groups of units


def exhaustive(groups: int, rounds: int = ROUNDS) -> bool:
    """Whether the test enumerates every swap of ``groups`` units instead of sampling ``rounds`` of them."""
    return groups < 63 and 2**groups <= rounds


def p_floor(groups: int, rounds: int = ROUNDS) -> float:
    """The lowest p the test can reach: 2^(1 - groups) (the identity and the full swap always reach the
    observed difference), and never below 1 / (rounds + 1) when the swaps are sampled."""
    exact = 2.0 ** (1 - groups) if groups < 1024 else 0.0
    return exact if exhaustive(groups, rounds) else max(exact, 1 / (rounds + 1))


def swaps(groups: int, rounds: int, seed: int) -> np.ndarray:
    """(rounds, groups) 0/1 swaps: all 2^groups of them when they fit in ``rounds``, else a seeded sample."""
    if exhaustive(groups, rounds):
        return ((np.arange(2**groups)[:, None] >> np.arange(groups)) & 1).astype(np.int8)
    return np.random.default_rng(seed).integers(0, 2, size=(rounds, groups), dtype=np.int8)


def randomization_test(
    a: np.ndarray,
    b: np.ndarray,
    statistic: Callable[[np.ndarray], np.ndarray],
    rounds: int = ROUNDS,
    seed: int = SEED,
    groups: np.ndarray | None = None,
) -> PValue | None:
    """Two-sided approximate randomisation test of statistic(a) - statistic(b) (Noreen 1989; Yeh 2000).

    ``a`` and ``b`` are per-unit counts of two systems on the same gold (units × ...). Under the null
    the two systems' outputs are exchangeable group by group (``groups[k]`` is unit k's group; default:
    every unit its own), so each round swaps all units of a group together with probability 1/2. Units
    of one group must move together when they are dependent (pairs sharing a claim). With g groups there
    are 2^g swaps: when they fit in ``rounds`` all are enumerated and p = k / 2^g is exact (k counts the
    identity); otherwise p = (k + 1) / (rounds + 1) where k sampled rounds reach the observed absolute
    difference, and k = 0 puts p at its floor 1 / (rounds + 1): a bound, flagged, never exact.
    """
    obs = statistic(a.sum(0)) - statistic(b.sum(0))
    if np.isnan(obs):
        return None
    labels = np.unique(np.arange(len(a)) if groups is None else groups, return_inverse=True)[1]
    g = int(labels.max()) + 1 if len(a) else 0
    exact = exhaustive(g, rounds)
    shift = resampled(b - a, swaps(g, rounds, seed)[:, labels])
    diff = np.abs(statistic(a.sum(0) + shift) - statistic(b.sum(0) - shift))
    diff = diff[~np.isnan(diff)]
    extreme = int(np.sum(diff >= abs(float(obs)) - 1e-12))
    floor = p_floor(g, rounds)
    p = extreme / diff.size if exact else (extreme + 1) / (diff.size + 1)
    return PValue(p, diff.size, p <= floor * (1 + 1e-9), g, floor, exact)


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
    """Point estimates from scikit-learn, intervals from the bootstrap over claims (``pigeonhole_weights``)."""
    contradicts, macro = sklearn_pairs(*c.y_pairs)
    _, _, f_boot, macro_boot = pair_metrics(resampled(c.pairs, w))
    unlabelled = sum(1 for y in c.y_pairs[1] if y not in PAIR_LABELS)
    by_doc = {
        doc: f for doc, f in _by_document(c, c.pairs, pair_macro_f1, pairs=True).items() if f is not None
    }  # documents that are home to no pair are left out
    return PairScore(contradicts, _ci(f_boot), macro, _ci(macro_boot), len(c.y_pairs[0]), unlabelled, by_doc)


def pair_weights(c: Counts, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray | None:
    """The pairs' bootstrap weights: claims resampled within their documents (``pigeonhole_weights``)."""
    if c.pairs is None or c.pair_claims is None or c.claim_docs is None:
        return None
    return pigeonhole_weights(c.pair_claims, c.claim_docs, resamples, seed)


def sample(c: Counts, resamples: int = RESAMPLES, seed: int = SEED) -> tuple[Sample, np.ndarray, np.ndarray | None]:
    """What is resampled, with the weights: sentences within documents, claims within documents for pairs."""
    w = stratified_weights(c.units, resamples, seed)
    wp = pair_weights(c, resamples, seed)
    groups = None if wp is None else len(np.unique(claim_groups(c.pair_claims)))
    info = Sample(
        documents=len(c.docs),
        sentences=len(c.units),
        pairs=0 if c.pairs is None else len(c.pairs),
        resamples=resamples,
        distinct_sentence_resamples=distinct(w),
        distinct_pair_resamples=None if wp is None else distinct(wp),
        span_unit=SPAN_UNIT,
        pair_unit=None if wp is None else PAIR_UNIT,
        claims=0 if c.claim_docs is None else len(c.claim_docs),
        claim_groups=groups,
        pair_p_floor=None if groups is None else p_floor(groups),
    )
    return info, w, wp


def summarize(c: Counts, resamples: int = RESAMPLES, seed: int = SEED) -> Scores:
    """The scores of one system: point estimates from seqeval / scikit-learn, CIs by the bootstrap over
    sentences within documents (span layers) and over claims within documents (pairs)."""
    info, w, wp = sample(c, resamples, seed)
    layers = {}
    for t in c.strict:
        values = value_score(c.values, w) if t == "figure_tags" and c.values is not None else None
        layers[t] = LayerScore(strict_score(c, t, w), partial_score(c, t, w), values)
    pairs = pair_score(c, wp) if c.pairs is not None and c.y_pairs is not None else None
    return Scores(layers, pairs, info)
