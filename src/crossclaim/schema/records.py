"""Plain records that flow between modules: documents, spans, annotations, claim pairs."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from crossclaim.schema.scheme import ATTRIBUTE, ATTRIBUTES


@dataclass(frozen=True)
class Span:
    """One labelled character span (Python offsets into the document text, end-exclusive).

    Its attributes (a figure's ``value``, a claim's ``hedged``, ``topic`` and ``cues``, ...) are
    whatever the schema declares for its layer, kept in ``attrs`` and read as ``span.value``: a
    new attribute in the schema needs no change here. An attribute the span does not carry reads
    as None (an empty tuple for span-id lists).
    """

    layer: str
    id: str
    start: int
    end: int
    text: str
    label: str
    attrs: Mapping[str, object] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        # one form per content: an absent attribute is never stored as None or ()
        kept = {k: v for k, v in self.attrs.items() if v is not None and v != ()}
        object.__setattr__(self, "attrs", kept)

    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):
            raise AttributeError(name)
        attr = ATTRIBUTE.get((self.layer, name)) or next((a for a in ATTRIBUTES if a.name == name), None)
        if attr is None:
            raise AttributeError(f"{name!r} is neither a Span field nor an attribute of the schema")
        return self.attrs.get(name, attr.empty)

    def replace(self, **attrs: object) -> Span:
        """The same span with some attributes set (None removes one)."""
        merged = {**self.attrs, **attrs}
        return dataclasses.replace(self, attrs={k: v for k, v in merged.items() if v is not None})


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
    pass_name: str | None = None  # the annotation pass it was made in (``crossclaim studio push --pass``), if any

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
    """A labelled pair of claims (the claim-pair project). Its claims' topics are the claims' own
    (``Span.topic``): a pair may cross topics where an annotator declares it."""

    id: str
    a_doc: str
    a_claim: str
    b_doc: str
    b_claim: str
    label: str
    rationale: str = ""
    annotator: str = ""
    lead_time: float | None = None

    def home(self, doc_ids: set[str] | None = None) -> str:
        """The document that carries the pair (its predictions line, its CV fold, its score row):
        the first of its two documents, among ``doc_ids`` when given."""
        docs = sorted({self.a_doc, self.b_doc})
        if doc_ids is not None:
            docs = [d for d in docs if d in doc_ids] or docs
        return docs[0]


def pair_id(a_doc: str, a_claim: str, b_doc: str, b_claim: str) -> str:
    """Stable pair id, independent of the order the two claims are given in."""
    a, b = sorted([f"{a_doc}:{a_claim}", f"{b_doc}:{b_claim}"])
    return f"{a}~{b}"
