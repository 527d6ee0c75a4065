"""Typed score results: what ``summarize`` produces and the CLI, the leaderboard and its renderer read.

Frozen records instead of nested string-keyed dicts, so a renamed field is a type error rather than a
``KeyError`` in another module. Each has one ``to_json`` giving the JSON of ``crossclaim score --json``
and ``baselines/leaderboard.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass, replace

CI = tuple[float, float] | None  # a 95% interval, None where the metric is undefined in every resample
DIGITS = 4


def _ci(ci: CI) -> list[float] | None:
    return None if ci is None else list(ci)


@dataclass(frozen=True)
class PRF:
    """Precision, recall and F1 (None where undefined)."""

    precision: float | None
    recall: float | None
    f1: float | None

    def to_json(self) -> dict:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1}


@dataclass(frozen=True)
class LabelScore:
    """One label's P/R/F1 and its gold support."""

    prf: PRF
    support: int

    def to_json(self) -> dict:
        return self.prf.to_json() | {"support": self.support}


@dataclass(frozen=True)
class StrictScore:
    """seqeval's strict IOB2 scores of one tag layer: micro with its interval, then per label."""

    micro: PRF
    f1_ci: CI
    support: int  # gold spans
    predicted: int  # every predicted span, placed on the token view or not
    unplaced: int  # predicted spans the token view could not hold (each a false positive)
    labels: Mapping[str, LabelScore]
    by_document: Mapping[str, float | None] = field(default_factory=dict)  # micro F1 of each document alone

    def to_json(self) -> dict:
        extra = {
            "f1_ci": _ci(self.f1_ci),
            "support": self.support,
            "predicted": self.predicted,
            "unplaced": self.unplaced,
        }
        return {
            "micro": self.micro.to_json() | extra,
            "labels": {k: v.to_json() for k, v in self.labels.items()},
            "f1_by_document": dict(self.by_document),
        }


@dataclass(frozen=True)
class PartialScore:
    """Partial-match scores of one tag layer (type ignored in the micro row)."""

    micro: PRF
    f1_ci: CI
    exact: int
    overlap: int
    labels: Mapping[str, LabelScore]

    def to_json(self) -> dict:
        extra = {"f1_ci": _ci(self.f1_ci), "exact": self.exact, "overlap": self.overlap}
        return {"micro": self.micro.to_json() | extra, "labels": {k: v.to_json() for k, v in self.labels.items()}}


@dataclass(frozen=True)
class ValueAccuracy:
    """Share of strictly matched figures whose normalised value equals the gold value."""

    accuracy: float | None
    ci: CI
    matched: int
    correct: int

    def to_json(self) -> dict:
        return {"accuracy": self.accuracy, "ci": _ci(self.ci), "matched": self.matched, "correct": self.correct}


@dataclass(frozen=True)
class LayerScore:
    """Everything scored on one tag layer."""

    strict: StrictScore
    partial: PartialScore
    values: ValueAccuracy | None = None  # figures only

    def to_json(self) -> dict:
        out = {"strict": self.strict.to_json(), "partial": self.partial.to_json()}
        if self.values is not None:
            out["value_accuracy"] = self.values.to_json()
        return out


@dataclass(frozen=True)
class PairScore:
    """Claim-pair scores: CONTRADICTS P/R/F1 and macro-F1, with intervals."""

    contradicts: PRF
    f1_ci: CI
    macro_f1: float
    macro_f1_ci: CI
    n: int
    unlabelled: int
    macro_f1_by_document: Mapping[str, float] = field(default_factory=dict)  # pairs at home in each document

    def to_json(self) -> dict:
        return {
            "contradicts": self.contradicts.to_json() | {"f1_ci": _ci(self.f1_ci)},
            "macro_f1": self.macro_f1,
            "macro_f1_ci": _ci(self.macro_f1_ci),
            "macro_f1_by_document": dict(self.macro_f1_by_document),
            "n": self.n,
            "unlabelled": self.unlabelled,
        }


@dataclass(frozen=True)
class Sample:
    """What the intervals resample, in words (``span_unit``, ``pair_unit``) and in numbers: sentences
    within their documents; for pairs, the claims within their documents, each pair weighted by the
    draws of both its claims. The documents are held fixed. ``claim_groups`` is the number of connected
    groups of claims (pairs sharing a claim, transitively), the units the paired test on pairs swaps,
    and ``pair_p_floor`` the lowest p that test can reach with that many groups."""

    documents: int
    sentences: int
    pairs: int
    resamples: int
    distinct_sentence_resamples: int
    distinct_pair_resamples: int | None  # None when no pair is scored
    span_unit: str = ""
    pair_unit: str | None = None  # None when no pair is scored
    claims: int = 0  # distinct claims of the pairs in scope
    claim_groups: int | None = None  # connected groups of claims; None when no pair is scored
    pair_p_floor: float | None = None  # lowest p of the paired test on pairs; None when no pair is scored

    def to_json(self) -> dict:
        return {
            "documents": self.documents,
            "sentences": self.sentences,
            "pairs": self.pairs,
            "resamples": self.resamples,
            "distinct_sentence_resamples": self.distinct_sentence_resamples,
            "distinct_pair_resamples": self.distinct_pair_resamples,
            "span_unit": self.span_unit,
            "pair_unit": self.pair_unit,
            "claims": self.claims,
            "claim_groups": self.claim_groups,
            "pair_p_floor": self.pair_p_floor,
        }


@dataclass(frozen=True)
class PValue:
    """A p-value of the paired test, which swaps ``groups`` exchangeable units (sentences; connected
    groups of claims) between two systems. ``exact`` when all 2^groups swaps were enumerated (``rounds``
    is then 2^groups and p the exact permutation p). ``floor`` is the lowest p the test can reach:
    2^(1 - groups) (the identity and the full swap always reach the observed difference), or
    1 / (rounds + 1) when sampled; ``at_floor`` when p is there (sampled: a bound, not an estimate)."""

    p: float
    rounds: int
    at_floor: bool
    groups: int = 0
    floor: float = 0.0
    exact: bool = False

    def to_json(self) -> dict:
        return {
            "p": self.p,
            "rounds": self.rounds,
            "at_floor": self.at_floor,
            "groups": self.groups,
            "floor": self.floor,
            "exact": self.exact,
        }


@dataclass(frozen=True)
class Scores:
    """The scores of one system on one set of documents."""

    layers: Mapping[str, LayerScore]  # tag layer -> scores; only the layers the system predicts
    pairs: PairScore | None  # None when the system does not label pairs (or no pair is in scope)
    sample: Sample | None = None  # what the intervals resample

    def to_json(self) -> dict:
        return {
            "layers": {k: v.to_json() for k, v in self.layers.items()},
            "pairs": None if self.pairs is None else self.pairs.to_json(),
            "sample": None if self.sample is None else self.sample.to_json(),
        }


@dataclass(frozen=True)
class SplitScores:
    """A predictions file scored on a split (``crossclaim score``)."""

    scores: Scores
    split: str
    documents: tuple[str, ...]
    ignored_documents: tuple[str, ...]  # lines of documents outside the split

    def to_json(self) -> dict:
        return self.scores.to_json() | {
            "split": self.split,
            "documents": list(self.documents),
            "ignored_documents": list(self.ignored_documents),
        }


def rounded(x, digits: int = DIGITS):
    """The same records with every float rounded (deterministic output, no platform noise in last digits)."""
    if isinstance(x, float):
        return round(x, digits)
    if is_dataclass(x) and not isinstance(x, type):
        return replace(x, **{f.name: rounded(getattr(x, f.name), digits) for f in fields(x)})
    if isinstance(x, Mapping):
        return {k: rounded(v, digits) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(rounded(v, digits) for v in x)
    return x
