"""Plain records that flow between modules: documents, spans, annotations, claim pairs."""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from crossclaim.schema.scheme import ATTRIBUTE, ATTRIBUTES


@dataclass(frozen=True)
class Span:
    """One labelled character span (Python offsets into the document text, end-exclusive).

    Its attributes are whatever the schema declares for its layer, kept in ``attrs`` and read as
    ``span.value`` (None when absent, an empty tuple for span-id lists): a new attribute needs no change here.
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
        return dataclasses.replace(self, attrs={**self.attrs, **attrs})


@dataclass(frozen=True)
class Furniture:
    """A range of page furniture in a document (``scheme.FURNITURE`` kinds; offsets into its text, end-exclusive)."""

    start: int
    end: int
    kind: str


@dataclass(frozen=True)
class Document:
    """A document of the manifest: metadata and its text (a slice of a raw page), and the page furniture
    the manifest declares in it (sorted, disjoint)."""

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
    furniture: tuple[Furniture, ...] = ()

    def furniture_at(self, start: int, end: int) -> Furniture | None:
        """The first furniture range sharing a character with ``start:end`` (None: the span is article text).

        An empty span touches the range it stands in."""
        ranges = self.furniture
        k = bisect.bisect_right([f.end for f in ranges], start)  # the first range ending after ``start``
        if k < len(ranges) and ranges[k].start < max(end, start + 1):
            return ranges[k]
        return None


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
    updated_by: str | None = None  # who last saved it in Label Studio (None: nobody since a bulk import)
    pass_name: str | None = None  # the annotation pass it was made in (``crossclaim studio push --pass``), if any

    @property
    def empty(self) -> bool:
        return not self.spans and not self.payload


@dataclass(frozen=True)
class GoldRecord:
    """Which annotation of a task is gold, and the rule that chose it (``formats.labelstudio.annotations``).

    ``annotation`` indexes the task's annotations (in committed order); ``kept`` holds a previous gold
    that is no longer among them (a task in dispute keeps its previous gold). ``annotation`` and
    ``kept`` are both None when the task has no gold (not annotated yet, or in dispute with no
    previous gold); ``disputants`` names who disagree on a task in dispute.
    """

    rule: str
    annotation: int | None = None
    annotator: str | None = None
    kept: Annotation | None = None
    disputants: tuple[str, ...] = ()


@dataclass
class Task:
    """A span-project task: a document with every annotation and prediction made on it, and its gold."""

    doc_id: str
    text: str
    meta: dict = field(default_factory=dict)
    annotations: list[Annotation] = field(default_factory=list)
    predictions: list[Prediction] = field(default_factory=list)
    gold: GoldRecord | None = None  # as committed, or as the gold rule decided it


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
