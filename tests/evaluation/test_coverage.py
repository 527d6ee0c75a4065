"""The intervals cover a known true F1 on synthetic data shaped like this corpus; whole-document resampling does not.

Five documents of 94, 36, 48, 27 and 42 sentences (the corpus's sizes), with per-document effects as in
the corpus: gold spans per sentence differ tenfold between documents (as the figures do: 0.06 to 0.75
per sentence) and are overdispersed within a document (most sentences have none, a few have several),
and a synthetic system whose recall and false-positive rate differ by document. The target is what
the board claims its intervals describe: the F1 over *these* documents' sentences, i.e. the F1 of the
expected counts given the documents' effects (2 E[TP] / (E[predicted] + E[gold])). Every replicate
draws new document effects and new sentences and checks whether the interval covers that truth.

Seeded and vectorised (a few seconds).
"""

from __future__ import annotations

import numpy as np
import pytest

from crossclaim.evaluation.metrics import interval, resampled, stratified_weights, strict_f1

SIZES = np.array([94, 36, 48, 27, 42])  # sentences of doc-000 ... doc-004
DENSITY = np.array([0.21, 0.75, 0.06, 0.63, 0.48])  # gold figures per sentence in each document
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


def coverage(docs: list[int], method: str, seed: int = 7) -> float:
    rng = np.random.default_rng(seed)
    hits = 0
    for k in range(REPLICATES):
        units, groups, truth = replicate(docs, rng)
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
    assert ours >= 0.90, f"stratified sentence bootstrap covers the true F1 in only {ours:.1%} of replicates"
    assert naive < 0.90, f"the simulation is too easy: document resampling covers {naive:.1%}"
