"""The scored leaderboard as typed records: built by ``run``, read by ``render``, written as leaderboard.json."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from crossclaim.evaluation.results import PValue, Sample, Scores


@dataclass(frozen=True)
class Comparison:
    """The best system of a layer (strict micro F1, or pair macro-F1) and every other one's paired p-value."""

    best: str
    p_vs_best: Mapping[str, PValue | None]

    def to_json(self) -> dict:
        return {
            "best": self.best,
            "p_vs_best": {k: None if v is None else v.to_json() for k, v in self.p_vs_best.items()},
        }


@dataclass(frozen=True)
class Evaluation:
    """Every system scored on one set of documents (the test split, or cross-validation)."""

    documents: tuple[str, ...]
    gold_spans: Mapping[str, int]  # tag layer -> gold spans
    gold_spans_by_document: Mapping[str, Mapping[str, int]]  # tag layer -> document -> gold spans
    pairs: int  # gold claim pairs in scope
    pairs_by_document: Mapping[str, int]  # home document -> gold claim pairs
    sample: Sample  # what the intervals resample
    systems: Mapping[str, Scores]
    comparison: Mapping[str, Comparison]  # tag layer or "pairs" -> comparison

    def to_json(self) -> dict:
        return {
            "documents": list(self.documents),
            "gold_spans": dict(self.gold_spans),
            "gold_spans_by_document": {k: dict(v) for k, v in self.gold_spans_by_document.items()},
            "pairs": self.pairs,
            "pairs_by_document": dict(self.pairs_by_document),
            "sample": self.sample.to_json(),
            "systems": {k: v.to_json() for k, v in self.systems.items()},
            "comparison": {k: v.to_json() for k, v in self.comparison.items()},
        }


@dataclass(frozen=True)
class SystemInfo:
    kind: str  # baseline, plug-in or file
    learned: bool
    evaluations: tuple[str, ...]
    trained_on: tuple[str, ...] = ()  # a learned system: the splits it trains on for the test split
    # metric (tag layer, figure_values, pairs) -> the documents it was developed on, never scored
    developed_on: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def to_json(self) -> dict:
        out = {"kind": self.kind, "learned": self.learned, "evaluations": list(self.evaluations)}
        out |= {"developed_on": {k: list(v) for k, v in self.developed_on.items()}} if self.developed_on else {}
        return out | ({"trained_on": list(self.trained_on)} if self.trained_on else {})


@dataclass(frozen=True)
class Board:
    """The whole leaderboard."""

    evaluations: Mapping[str, Evaluation]  # "test", "cv"
    order: tuple[str, ...]  # row order (JSON keys are sorted)
    systems: Mapping[str, SystemInfo]
    settings: Mapping[str, str]  # how every number was computed, in words

    def to_json(self) -> dict:
        return {
            "evaluations": {k: v.to_json() for k, v in self.evaluations.items()},
            "order": list(self.order),
            "systems": {k: v.to_json() for k, v in self.systems.items()},
            "settings": dict(self.settings),
        }
