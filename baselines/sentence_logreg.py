"""The ``sentence-logreg`` baseline: TF-IDF + logistic regression over sentences, for hedged claims.

A sentence is positive when it overlaps a gold hedged claim of the training documents. A positive
sentence becomes one hedged claim spanning the sentence without its final punctuation (claims are
minimal clauses, so strict boundaries are hard for it; the partial scores show how close it is).
A second TF-IDF + logistic regression, trained on the gold claims, gives each claim a topic.
Trained models are cached (``crossclaim.systems.learned``).
"""

from __future__ import annotations

from pathlib import Path

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline

from crossclaim.formats.predictions import Predictions, tag_layers_of
from crossclaim.schema.records import Document, Span
from crossclaim.systems.base import PairQuery, TrainingSet
from crossclaim.systems.learned import LearnedSystem
from crossclaim.text import sentence_bounds

_TRAILING = " .!?\"”’')"
# what ``fit`` learns: the claim classifier, the topic classifier (None without two classes to tell
# apart) and the topic of claims when there is no topic classifier
Models = tuple[Pipeline | None, Pipeline | None, str]


def sentences(text: str) -> list[tuple[int, int]]:
    """Sentence ranges without final punctuation (the claim candidate of each sentence)."""
    out = []
    for a, b in sentence_bounds(text):
        e = a + len(text[a:b].rstrip(_TRAILING))
        if e > a:
            out.append((a, e))
    return out


def labelled_sentences(doc: Document, spans: list[Span]) -> tuple[list[str], list[int]]:
    claims = [s for s in spans if s.layer == "claims" and s.hedged]
    texts, ys = [], []
    for a, b in sentences(doc.text):
        texts.append(doc.text[a:b])
        ys.append(int(any(c.start < b and a < c.end for c in claims)))
    return texts, ys


def _pipeline(multiclass: bool = False) -> Pipeline:
    """TF-IDF of word uni- and bigrams, then a balanced logistic regression (deterministic solvers)."""
    model = (
        LogisticRegression(C=1.0, class_weight="balanced", solver="lbfgs", max_iter=1000)
        if multiclass
        else LogisticRegression(C=10.0, class_weight="balanced", solver="liblinear")
    )
    return make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True), model)


class SentenceLogregSystem(LearnedSystem[Models]):
    """Sentence classifier for hedged claims, trained on the train split, retrained per fold."""

    name = "sentence-logreg"
    fixed_kernels = True
    learned = True
    layers = tag_layers_of({"claims"}, contradictory=False)
    libraries = ("scikit-learn", "scipy", "numpy")

    def __init__(self, cache: Path | None = None) -> None:
        self.cache = cache  # None: the default cache root
        self.claims: Pipeline | None = None
        self.topics: Pipeline | None = None
        self.default_topic = "strategy_outlook"

    def use(self, model: Models) -> None:
        self.claims, self.topics, self.default_topic = model

    def train(self, train: TrainingSet) -> Models:
        """Both classifiers, trained on the sentences and gold claims of the training documents."""
        texts: list[str] = []
        ys: list[int] = []
        topic_texts: list[str] = []
        topic_ys: list[str] = []
        for doc in train.docs:
            t, y = labelled_sentences(doc, train.spans[doc.id])
            texts += t
            ys += y
            for s in train.spans[doc.id]:
                if s.layer == "claims" and s.topic:
                    topic_texts.append(s.text)
                    topic_ys.append(s.topic)
        claims = _pipeline().fit(texts, ys) if len(set(ys)) > 1 else None
        topics = _pipeline(multiclass=True).fit(topic_texts, topic_ys) if len(set(topic_ys)) > 1 else None
        default = max(sorted(set(topic_ys)), key=topic_ys.count) if topic_ys else "strategy_outlook"
        return claims, topics, default

    def predict(self, docs: list[Document], queries: list[PairQuery]) -> Predictions:
        return Predictions({d.id: self._claims(d) for d in docs}, self.layers, {}, None)

    def _claims(self, doc: Document) -> list[Span]:
        if self.claims is None:
            return []
        ranges = sentences(doc.text)
        texts = [doc.text[a:b] for a, b in ranges]
        if not texts:
            return []
        keep = [r for r, y in zip(ranges, self.claims.predict(texts)) if y == 1]
        chosen = [doc.text[a:b] for a, b in keep]
        topics = list(self.topics.predict(chosen)) if self.topics is not None and chosen else []
        topics += [self.default_topic] * (len(chosen) - len(topics))
        return [
            Span("claims", f"c{k}", a, b, doc.text[a:b], "CLAIM", {"hedged": True, "topic": str(topic)})
            for k, ((a, b), topic) in enumerate(zip(keep, topics))
        ]
