"""The intervals cover a known truth on synthetic data shaped like this corpus; the methods they replace do not.

Spans. Five documents of 94, 36, 48, 27 and 42 sentences (the corpus's sizes), with per-document effects as in
the corpus: gold spans per sentence differ tenfold between documents (as the figures do: 0.06 to 0.67
per sentence) and are overdispersed within a document (most sentences have none, a few have several),
and a synthetic system whose recall and false-positive rate differ by document. The target is what
the board claims its intervals describe: the F1 over *these* documents' sentences, i.e. the F1 of the
expected counts given the documents' effects (2 E[TP] / (E[predicted] + E[gold])). Every replicate
draws new document effects and new sentences and checks whether the interval covers that truth; whole
documents resampled do not. A second simulation makes about half the entities one string that recurs across
sentences and documents ("Xiaomi" is 123 of the corpus's 219 entities), handled alike by the system
wherever it occurs: the sentence bootstrap still covers (the string's effect is fixed for one system, as a
document's is), so sentences stay the unit.

Claim pairs. 106 pairs on a claim graph with the test split's 52 claim degrees (up to 11 pairs per claim);
every claim carries an effect on whether its pairs contradict and on whether the system says so. Pairs
resampled one by one within their home documents treat the pairs sharing a claim as independent and
cover too rarely; claims resampled within their documents (the pigeonhole bootstrap) cover, a little
conservatively (it is known to overstate the variance).

Seeded and vectorised (a few seconds each).
"""

from __future__ import annotations

import numpy as np
import pytest

from crossclaim.evaluation.metrics import (
    interval,
    pair_metrics,
    pigeonhole_weights,
    resampled,
    stratified_weights,
    strict_f1,
)
from crossclaim.schema.scheme import PAIR_LABELS

SIZES = np.array([94, 36, 48, 27, 42])  # sentences of doc-000 ... doc-004
DENSITY = np.array([0.20, 0.67, 0.06, 0.56, 0.48])  # gold figures per sentence in each document
TEST_SPLIT = [1, 3]  # doc-001 and doc-003
REPLICATES = 300
RESAMPLES = 400


def document_weights(groups: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """The previous method: whole documents drawn with replacement (every unit of a drawn document counts)."""
    n = int(groups.max()) + 1
    drawn = rng.integers(0, n, size=(resamples, n))
    per_doc = np.stack([np.bincount(row, minlength=n) for row in drawn])
    return per_doc[:, groups]


def replicate(docs: list[int], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, float]:
    """One synthetic corpus: per-sentence (1 label, TP / predicted / gold) counts, the document of every
    sentence, and the true F1 over these documents."""
    sizes, density = SIZES[docs], DENSITY[docs]
    recall = 1 / (1 + np.exp(-(1.2 + rng.normal(0, 0.3, len(docs)))))  # per-document difficulty
    false_pos = 0.25 * density * np.exp(rng.normal(0, 0.3, len(docs)))
    tp, gold, pred = (sizes * density * recall).sum(), (sizes * density).sum(), (sizes * false_pos).sum()
    truth = 2 * tp / (tp + pred + gold)
    groups = np.repeat(np.arange(len(docs)), sizes)
    n_gold = rng.poisson(np.repeat(density, sizes) * rng.gamma(1.0, 1.0, len(groups)))  # overdispersed
    n_tp = rng.binomial(n_gold, np.repeat(recall, sizes))
    n_pred = n_tp + rng.poisson(np.repeat(false_pos, sizes))
    return np.stack([n_tp, n_pred, n_gold], 1)[:, None, :], groups, float(truth)


def coverage(docs: list[int], method: str, seed: int = 7, draw=None) -> float:
    """Share of replicates (drawn by ``draw``, default ``replicate``) whose interval holds the truth."""
    rng = np.random.default_rng(seed)
    hits = 0
    for k in range(REPLICATES):
        units, groups, truth = (draw or replicate)(docs, rng)
        if method == "sentences":
            weights = stratified_weights(groups, RESAMPLES, seed + k)
        else:
            weights = document_weights(groups, RESAMPLES, rng)
        lo, hi = interval(strict_f1(resampled(units, weights)))
        hits += lo <= truth <= hi
    return hits / REPLICATES


@pytest.mark.parametrize("docs", [list(range(5)), TEST_SPLIT], ids=["cross-validation", "test-split"])
def test_sentence_intervals_cover_the_truth_where_document_resampling_does_not(docs: list[int]) -> None:
    ours, naive = coverage(docs, "sentences"), coverage(docs, "documents")
    print(f"coverage, {len(docs)} documents: sentences {ours:.1%}, whole documents {naive:.1%}")  # pytest -s
    assert ours >= 0.90, f"stratified sentence bootstrap covers the true F1 in only {ours:.1%} of replicates"
    assert naive < 0.90, f"the simulation is too easy: document resampling covers {naive:.1%}"


# ---------------------------------------------------------------------------------------------
# spans: one string ("Xiaomi", 123 of the 219 entities) recurs across sentences and documents

XIAOMI_SHARE = 123 / 219  # of the gold entities, as on the corpus
ENTITIES = 219 / SIZES.sum()  # gold entities per sentence


def recurring_string_replicate(docs: list[int], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, float]:
    """One corpus of entity spans where about half the gold entities are one string and the system treats that
    string alike wherever it occurs: its recall on the string and its false positives on it (the string
    tagged where the gold does not, as inside a product name) are drawn once per replicate, for every
    sentence of every document; the other entities get per-document recall as in ``replicate``.

    The target conditions on the string's effect as on the documents' effects: the board scores one
    system, whose rule for the string is fixed, on these documents; what is random is which sentences
    (so how many mentions, in which company) the documents hold. Mentions cluster within sentences
    (a few sentences name the string several times), so a sentence is a cluster of mentions."""
    sizes, n_docs = SIZES[docs], len(docs)
    string_recall = 1 / (1 + np.exp(-rng.normal(1.0, 2.0)))  # from near 0 to near 1
    string_false_pos = rng.exponential(0.3)  # per gold mention of the string
    other_recall = 1 / (1 + np.exp(-(1.2 + rng.normal(0, 0.3, n_docs))))
    other_false_pos = 0.2 * ENTITIES * np.exp(rng.normal(0, 0.3, n_docs))
    doc_rate = ENTITIES * np.exp(rng.normal(0, 0.5, n_docs))  # documents differ in entity density
    string_rate, other_rate = XIAOMI_SHARE * doc_rate, (1 - XIAOMI_SHARE) * doc_rate
    tp = (sizes * (string_rate * string_recall + other_rate * other_recall)).sum()
    gold = (sizes * doc_rate).sum()
    pred = tp + (sizes * (string_rate * string_false_pos + other_false_pos)).sum()
    truth = 2 * tp / (pred + gold)
    groups = np.repeat(np.arange(n_docs), sizes)
    per = len(groups)
    n_string = rng.poisson(np.repeat(string_rate, sizes) * rng.gamma(0.5, 2.0, per))  # clustered mentions
    n_other = rng.poisson(np.repeat(other_rate, sizes) * rng.gamma(1.0, 1.0, per))
    n_tp = rng.binomial(n_string, string_recall) + rng.binomial(n_other, np.repeat(other_recall, sizes))
    n_fp = rng.poisson(n_string * string_false_pos) + rng.poisson(np.repeat(other_false_pos, sizes))
    units = np.stack([n_tp, n_tp + n_fp, n_string + n_other], 1)[:, None, :]
    return units, groups, float(truth)


def recurring_string_coverage(docs: list[int], method: str, seed: int = 11) -> float:
    return coverage(docs, method, seed, recurring_string_replicate)


@pytest.mark.parametrize("docs", [list(range(5)), TEST_SPLIT], ids=["cross-validation", "test-split"])
def test_sentence_intervals_cover_the_truth_when_one_string_recurs_across_sentences(docs: list[int]) -> None:
    ours = recurring_string_coverage(docs, "sentences")
    print(f"coverage with a recurring string, {len(docs)} documents: sentences {ours:.1%}")  # pytest -s
    assert 0.90 <= ours <= 0.99, f"the sentence bootstrap covers the true F1 in {ours:.1%} of replicates"
    if docs == TEST_SPLIT:  # with two documents, resampling documents is far off: the simulation can fail
        naive = recurring_string_coverage(docs, "documents")
        assert naive < 0.90, f"the simulation is too easy: document resampling covers {naive:.1%}"


# ---------------------------------------------------------------------------------------------
# claim pairs: dyadic data on a claim graph with the test split's claim degrees

# degree of each of the test split's 52 claims (claims in (document, id) order) and the claims per document
DEGREES = np.array(
    [5, 5, 2, 2, 2, 4, 5, 5, 2, 1, 1, 2, 4, 5, 1, 10, 6, 6, 4, 1, 1, 3, 5, 3, 10, 3]
    + [3, 3, 5, 3, 2, 2, 1, 10, 2, 3, 1, 10, 4, 6, 6, 11, 6, 4, 3, 4, 2, 3, 5, 5, 6, 4]
)
CLAIM_DOCS = np.repeat(np.arange(5), [15, 15, 3, 10, 9])
CLAIM_EFFECT = (4.0, 2.0)  # sd of a claim's effect on the gold label (logit) and on the system's answer
BASE = (-2.0, 1.4, -2.2)  # logits: gold CONTRADICTS; system says CONTRADICTS on a CONTRADICTS pair, on another


def claim_graph(seed: int = 0) -> np.ndarray:
    """(106, 2) pairs of claims with exactly the degrees ``DEGREES``, each pair across two documents and
    no pair twice: stubs matched at random (configuration model), then a bad pair's second end swapped
    with a random pair's until none is left."""
    rng = np.random.default_rng(seed)
    pairs = rng.permutation(np.repeat(np.arange(len(DEGREES)), DEGREES)).reshape(-1, 2)

    def bad() -> np.ndarray:
        ordered = np.sort(pairs, 1)
        _, first, times = np.unique(ordered, axis=0, return_index=True, return_counts=True)
        repeated = np.ones(len(pairs), dtype=bool)
        repeated[first[times == 1]] = False
        return np.flatnonzero((CLAIM_DOCS[pairs[:, 0]] == CLAIM_DOCS[pairs[:, 1]]) | repeated)

    while (wrong := bad()).size:
        k, j = wrong[0], rng.integers(len(pairs))
        pairs[[k, j], 1] = pairs[[j, k], 1]
    return np.sort(pairs, 1)


def sigmoid(x: np.ndarray | float) -> np.ndarray:
    return 1 / (1 + np.exp(-np.asarray(x)))


def expected_sigmoid(logit: float, sd: float) -> float:
    """E[sigmoid(logit + sd (u_a + u_b))] for two independent standard normal claim effects (Gauss-Hermite)."""
    z, w = np.polynomial.hermite_e.hermegauss(80)
    return float((sigmoid(logit + sd * np.sqrt(2) * z) * w).sum() / w.sum())


def pair_truth() -> float:
    """The CONTRADICTS F1 of the expected counts: 2 E[TP] / (E[predicted] + E[gold]) per pair (the claim
    effects on the label and on the system are independent, so the expectations factor)."""
    gold = expected_sigmoid(BASE[0], CLAIM_EFFECT[0])
    hit, false_alarm = (expected_sigmoid(b, CLAIM_EFFECT[1]) for b in BASE[1:])
    return 2 * gold * hit / (gold * hit + (1 - gold) * false_alarm + gold)


def pair_replicate(pairs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(pairs, 3, 4) confusions: every claim draws an effect on how likely its pairs contradict and one
    on how likely the system says they do; a pair's logits add its two claims' effects."""
    u, v = rng.normal(size=(2, len(DEGREES)))
    gold = rng.random(len(pairs)) < sigmoid(BASE[0] + CLAIM_EFFECT[0] * u[pairs].sum(1))
    said = rng.random(len(pairs)) < sigmoid(np.where(gold, *BASE[1:]) + CLAIM_EFFECT[1] * v[pairs].sum(1))
    contradicts, unrelated = PAIR_LABELS.index("CONTRADICTS"), PAIR_LABELS.index("UNRELATED")
    out = np.zeros((len(pairs), len(PAIR_LABELS), len(PAIR_LABELS) + 1), dtype=np.int64)
    out[np.arange(len(pairs)), np.where(gold, contradicts, unrelated), np.where(said, contradicts, unrelated)] = 1
    return out


def pair_coverage(method: str, seed: int = 7) -> float:
    rng = np.random.default_rng(seed)
    pairs, truth = claim_graph(), pair_truth()
    home = CLAIM_DOCS[pairs].min(1)  # the first of the pair's two documents
    hits = 0
    for k in range(REPLICATES):
        confusions = pair_replicate(pairs, rng)
        if method == "claims":
            weights = pigeonhole_weights(pairs, CLAIM_DOCS, RESAMPLES, seed + k)
        else:
            weights = stratified_weights(home, RESAMPLES, seed + k)
        lo, hi = interval(pair_metrics(resampled(confusions, weights))[2])
        hits += lo <= truth <= hi
    return hits / REPLICATES


def test_claim_graph_has_the_test_splits_degrees() -> None:
    pairs = claim_graph()
    assert (np.bincount(pairs.ravel(), minlength=len(DEGREES)) == DEGREES).all()
    assert len(np.unique(pairs, axis=0)) == len(pairs) == 106
    assert (CLAIM_DOCS[pairs[:, 0]] != CLAIM_DOCS[pairs[:, 1]]).all()


def test_claim_intervals_cover_the_truth_where_pair_resampling_does_not() -> None:
    ours, naive = pair_coverage("claims"), pair_coverage("pairs")
    print(f"pair coverage: claims {ours:.1%}, pairs within home documents {naive:.1%}")  # pytest -s
    assert 0.90 <= ours <= 0.99, f"the bootstrap over claims covers the true F1 in {ours:.1%} of replicates"
    assert naive < 0.90, f"pairs resampled within their home documents cover {naive:.1%}: the simulation is too easy"
