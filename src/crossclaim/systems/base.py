"""The system interface: training sets, claim-pair queries, and the ``System`` base class."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from crossclaim.dataset.splits import contradictory_claims
from crossclaim.formats.predictions import Predictions
from crossclaim.schema.records import Document, Pair, Span


@dataclass(frozen=True)
class ClaimRef:
    """One side of a claim pair: the gold claim and the document it is in."""

    doc: Document
    claim: Span


@dataclass(frozen=True)
class PairQuery:
    """A gold claim pair to label: the two claims and each one's topic (a declared pair may cross
    topics), not the label."""

    id: str
    a_topic: str
    b_topic: str
    a: ClaimRef
    b: ClaimRef


@dataclass
class TrainingSet:
    """Gold of the training documents: spans per document, the pairs among them, contradictory claims."""

    docs: list[Document]
    spans: dict[str, list[Span]]
    pairs: list[Pair] = field(default_factory=list)
    contradictory: dict[str, set[str]] = field(default_factory=dict)


class System(ABC):
    """A system under evaluation. Deterministic: the same input gives the same predictions."""

    name: str = ""
    learned: bool = False  # retrained on every cross-validation fold
    layers: frozenset[str] = frozenset()  # the tag layers it predicts (entity_tags, ...): the others are not scored
    labels_pairs: bool = False
    # the splits it trains on for a test-split run; a pair system may add validation, as the train
    # split alone may lack a label (the leaderboard says so)
    fit_splits: tuple[str, ...] = ("train",)
    # its arithmetic goes through BLAS or a neural library: the leaderboard, ``predict`` and
    # ``explain`` run it in a child process with fixed kernels (``systems.kernels``), which needs
    # the system to be picklable (a class defined at the top level of a module)
    fixed_kernels: bool = False
    # metric (a tag layer, "figure_values" or "pairs") -> the documents its rules were written from,
    # including those of rules it imports: the leaderboard never scores it on them
    developed_on: Mapping[str, frozenset[str]] = MappingProxyType({})

    def fit(self, train: TrainingSet) -> None:  # noqa: B027  (rule-based systems learn nothing)
        """Learn from gold training documents; rule-based systems ignore it."""

    @abstractmethod
    def predict(self, docs: list[Document], queries: list[PairQuery]) -> Predictions:
        """Spans for every document and, if the system labels pairs, a label for every query."""


def training_set(docs: list[Document], spans_of: Callable[[str], list[Span]], pairs: list[Pair]) -> TrainingSet:
    """The gold restricted to ``docs``: only pairs with both claims inside them are training pairs."""
    ids = {d.id for d in docs}
    inside = [p for p in pairs if p.a_doc in ids and p.b_doc in ids]
    # the training documents are one pool: every pair among them counts (the published nesting
    # concerns the fixed splits, a training set is whatever documents a fold trains on)
    contradictory = {d: set() for d in ids} | contradictory_claims(inside, None)
    return TrainingSet(list(docs), {d.id: list(spans_of(d.id)) for d in docs}, inside, contradictory)


def pair_queries(pairs: list[Pair], docs: dict[str, Document], claims: dict[tuple[str, str], Span]) -> list[PairQuery]:
    """Queries for gold pairs, in pair-id order: the label is withheld."""
    out = []
    for p in sorted(pairs, key=lambda p: p.id):
        a, b = claims[(p.a_doc, p.a_claim)], claims[(p.b_doc, p.b_claim)]
        out.append(PairQuery(p.id, str(a.topic), str(b.topic), ClaimRef(docs[p.a_doc], a), ClaimRef(docs[p.b_doc], b)))
    return out
