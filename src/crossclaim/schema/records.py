"""Plain records that flow between modules: documents, spans, annotations, claim pairs."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Span:
    """One labelled character span (Python offsets into the document text, end-exclusive)."""

    layer: str
    id: str
    start: int
    end: int
    text: str
    label: str
    value: str | None = None  # figures
    hedged: bool | None = None  # claims
    topic: str | None = None  # claims
    cues: tuple[str, ...] = ()  # claims: ids of the hedge cues related to the claim


@dataclass(frozen=True)
class Document:
    """A document of the manifest: metadata and its text (a slice of a raw page)."""

    id: str
    source_file: str
    sha256: str
    slice_start: int
    slice_end: int
    publisher: str | None
    headline: str | None
    authors: tuple[str, ...]
    publication_date: str | None
    date_source: str
    split: str
    text: str = ""


@dataclass
class Annotation:
    """One annotator's work on one document (a Label Studio annotation)."""

    doc_id: str
    annotator: str
    spans: list[Span]
    lead_time: float | None = None
    ground_truth: bool = False
    was_cancelled: bool = False
    payload: object = None  # the parsed result of projects whose result is not spans (a Pair)

    @property
    def empty(self) -> bool:
        return not self.spans and not self.payload


@dataclass
class Task:
    """A span-project task: a document with every annotation and prediction made on it."""

    doc_id: str
    text: str
    meta: dict = field(default_factory=dict)
    annotations: list[Annotation] = field(default_factory=list)
    predictions: list[Prediction] = field(default_factory=list)


@dataclass
class Prediction:
    """A system's output on one document, as Label Studio stores it (``model_version``)."""

    doc_id: str
    model_version: str
    spans: list[Span]
    score: float | None = None


@dataclass(frozen=True)
class Pair:
    """A labelled pair of claims with the same topic (the claim-pair project)."""

    id: str
    a_doc: str
    a_claim: str
    b_doc: str
    b_claim: str
    topic: str
    label: str
    rationale: str = ""
    annotator: str = ""
    lead_time: float | None = None


def pair_id(a_doc: str, a_claim: str, b_doc: str, b_claim: str) -> str:
    """Stable pair id, independent of the order the two claims are given in."""
    a, b = sorted([f"{a_doc}:{a_claim}", f"{b_doc}:{b_claim}"])
    return f"{a}~{b}"
