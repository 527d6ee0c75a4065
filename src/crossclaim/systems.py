"""Systems: documents in, predictions out. Baselines and plug-ins share one small interface.

A system is trained (``fit``) on gold documents when it learns, then ``predict`` gets documents
and the claim-pair queries to label (both gold claims with their documents and topic, never the
label). Plug-ins register a factory under the entry-point group ``crossclaim.systems``::

    [project.entry-points."crossclaim.systems"]
    my-system = "my_package.module:MySystem"

and are then run by ``crossclaim leaderboard`` like the built-in baselines.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points

from .errors import InputError
from .predictions import Predictions
from .records import Document, Pair, Span

ENTRY_POINT_GROUP = "crossclaim.systems"

# Built-in baselines, imported only when run (spaCy is slow to import and optional).
BUILTIN: dict[str, str] = {
    "regex": "crossclaim.baselines.regex:RegexSystem",
    "crf": "crossclaim.baselines.crf:CrfSystem",
    "spacy-sm": "crossclaim.baselines.spacy_sm:SpacySmSystem",
    "sentence-logreg": "crossclaim.baselines.sentence_logreg:SentenceLogregSystem",
}


@dataclass(frozen=True)
class ClaimRef:
    """One side of a claim pair: the gold claim and the document it is in."""

    doc: Document
    claim: Span


@dataclass(frozen=True)
class PairQuery:
    """A gold claim pair to label: the two claims and their shared topic, not the label."""

    id: str
    topic: str
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
    layers: frozenset[str] = frozenset()  # span layers it predicts (others are not scored)
    labels_pairs: bool = False

    def fit(self, train: TrainingSet) -> None:  # noqa: B027  (rule-based systems learn nothing)
        """Learn from gold training documents; rule-based systems ignore it."""

    @abstractmethod
    def predict(self, docs: list[Document], queries: list[PairQuery]) -> Predictions:
        """Spans for every document and, if the system labels pairs, a label for every query."""


def training_set(docs: list[Document], spans_of: Callable[[str], list[Span]], pairs: list[Pair]) -> TrainingSet:
    """The gold restricted to ``docs``: only pairs with both claims inside them are training pairs."""
    ids = {d.id for d in docs}
    inside = [p for p in pairs if p.a_doc in ids and p.b_doc in ids]
    contradictory: dict[str, set[str]] = {d: set() for d in ids}
    for p in inside:
        if p.label == "CONTRADICTS":
            contradictory[p.a_doc].add(p.a_claim)
            contradictory[p.b_doc].add(p.b_claim)
    return TrainingSet(list(docs), {d.id: list(spans_of(d.id)) for d in docs}, inside, contradictory)


def pair_queries(pairs: list[Pair], docs: dict[str, Document], claims: dict[tuple[str, str], Span]) -> list[PairQuery]:
    """Queries for gold pairs, in pair-id order: the label is withheld."""
    return [
        PairQuery(
            p.id,
            p.topic,
            ClaimRef(docs[p.a_doc], claims[(p.a_doc, p.a_claim)]),
            ClaimRef(docs[p.b_doc], claims[(p.b_doc, p.b_claim)]),
        )
        for p in sorted(pairs, key=lambda p: p.id)
    ]


# ---------------------------------------------------------------------------------------------
# registry


def _load(target: str) -> object:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def _plugins() -> dict[str, Callable[[], object]]:
    return {ep.name: ep.load for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)}


def system_names() -> list[str]:
    """Built-in baselines first (in their fixed order), then plug-ins by name."""
    return list(BUILTIN) + [n for n in _plugins() if n not in BUILTIN]


def make_system(name: str) -> System:
    """Instantiate a system by name; a plug-in may not shadow a built-in baseline."""
    plugins = _plugins()
    if name in BUILTIN:
        if name in plugins:
            raise InputError(f"entry point {name!r} ({ENTRY_POINT_GROUP})", "shadows a built-in baseline; rename it")
        factory = _load(BUILTIN[name])
    elif name in plugins:
        try:
            factory = plugins[name]()
        except Exception as exc:  # a broken plug-in is bad input, not a crash
            raise InputError(f"entry point {name!r} ({ENTRY_POINT_GROUP})", f"cannot be loaded: {exc}") from None
    else:
        raise InputError(f"system {name!r}", f"unknown (known: {', '.join(system_names())})")
    system = factory() if callable(factory) else factory
    if not callable(getattr(system, "predict", None)):
        raise InputError(f"system {name!r}", "its factory did not return an object with predict(docs, queries)")
    return system
