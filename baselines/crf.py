"""The ``crf`` baseline: linear-chain CRFs (sklearn-crfsuite) on the token view.

One CRF per tag layer (entities, figures, hedge cues), trained on the gold token view of the
training documents, predicting on the plain tokenisation of new documents (the gold view splits
tokens at gold span boundaries, which a system must not see). Features: the word, its shape and
affixes, lexicon hits, and the same for two neighbours either side. Figure values come from the
shared rule-based normaliser. L-BFGS training is deterministic. Trained models are cached
(``crossclaim.systems.learned``), keyed by the training gold, the parameters, the libraries' versions
and the source of every project module this one imports (the features, the figure rules).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from types import MappingProxyType

import sklearn_crfsuite

from crossclaim.formats.predictions import Predictions, tag_layers_of
from crossclaim.schema.records import Document, Span
from crossclaim.schema.scheme import TAG_LAYERS
from crossclaim.schema.tags import TAG_NAMES, TokenView, selected, spans_to_tag_ids, tags_to_spans, token_view
from crossclaim.systems.base import PairQuery, TrainingSet
from crossclaim.systems.learned import LearnedSystem

from .figures import COUNT_NOUNS, MONTHS, WEEKDAYS, WORD_NUMBERS, WRITTEN_FROM, normalise
from .regex import HEDGE_WORDS

LAYERS = {"entity_tags": "entities", "figure_tags": "figures", "hedge_tags": "hedges"}
LEXICONS: dict[str, frozenset[str]] = {
    "hedge": frozenset(HEDGE_WORDS),
    "month": frozenset(m.lower() for m in MONTHS),
    "weekday": frozenset(d.lower() for d in WEEKDAYS),
    "numword": frozenset(WORD_NUMBERS) | {"hundred", "dozen", "half", "third", "quarter"},
    "scale": frozenset(["thousand", "million", "billion", "trillion", "bn", "mn", "k"]),
    "currency": frozenset(["$", "€", "£", "¥", "us$", "hk$", "yuan", "rmb", "usd", "cny", "dollars", "euros"]),
    "time_unit": frozenset(
        [
            "year",
            "years",
            "month",
            "months",
            "week",
            "weeks",
            "day",
            "days",
            "decade",
            "decades",
            "hour",
            "hours",
            "minute",
            "minutes",
        ]
    ),
    "count_noun": COUNT_NOUNS | {w + "s" for w in COUNT_NOUNS},
    "relative": frozenset(["this", "next", "last", "past", "coming", "previous", "early", "mid", "late", "end"]),
    "org_suffix": frozenset(
        [
            "group",
            "corp",
            "corporation",
            "inc",
            "ltd",
            "co",
            "motors",
            "technologies",
            "holdings",
            "bank",
            "agency",
            "daily",
        ]
    ),
    "title": frozenset(["ceo", "founder", "chairman", "president", "mr", "ms", "dr", "analyst", "executive"]),
}
_SHAPE = [(re.compile(r"[A-Z]"), "X"), (re.compile(r"[a-z]"), "x"), (re.compile(r"\d"), "d")]


def shape(word: str) -> str:
    """Word shape with runs collapsed: 'Xiaomi' -> 'Xx', '76,000' -> 'd,d', 'SU7' -> 'Xd'."""
    out = word
    for pattern, ch in _SHAPE:
        out = pattern.sub(ch, out)
    return re.sub(r"(.)\1+", r"\1", out)


def word_features(word: str) -> dict[str, object]:
    low = word.lower()
    feats: dict[str, object] = {
        "low": low,
        "shape": shape(word),
        "p2": low[:2],
        "p3": low[:3],
        "s2": low[-2:],
        "s3": low[-3:],
        "title": word[:1].isupper(),
        "upper": word.isupper(),
        "digit": word.isdigit(),
        "has_digit": any(c.isdigit() for c in word),
        "punct": not any(c.isalnum() for c in word),
    }
    for name, words in LEXICONS.items():
        if low in words:
            feats[f"lex:{name}"] = True
    return feats


NEIGHBOUR_KEYS = ("low", "shape", "title")


def sentence_features(words: list[str]) -> list[dict[str, object]]:
    """Features of every token of a sentence: its own and its neighbours' (±2)."""
    own = [word_features(w) for w in words]
    out = []
    for i, f in enumerate(own):
        feats = {"bias": 1.0, **f}
        for off in (-2, -1, 1, 2):
            j = i + off
            if 0 <= j < len(own):
                g = own[j]
                for key in NEIGHBOUR_KEYS:
                    feats[f"{off}:{key}"] = g[key]
                for key in g:
                    if key.startswith("lex:"):
                        feats[f"{off}:{key}"] = True
            else:
                feats[f"{off}:edge"] = True
        out.append(feats)
    return out


@functools.lru_cache(maxsize=64)
def _features(text: str, cuts: tuple[int, ...]) -> tuple[TokenView, list[list[dict[str, object]]]]:
    """Token view (split at ``cuts``) and features of a text, cached: folds reuse each document."""
    view = token_view(text, [Span("cut", "", c, c, "", "") for c in cuts])  # token_view only reads offsets
    feats = [
        sentence_features([text[a:b] for a, b in zip(view.starts[i:j], view.ends[i:j])]) for i, j in view.sentences
    ]
    return view, feats


def _training_rows(doc: Document, spans: list[Span], contradictory: set[str]) -> tuple[list, dict[str, list]]:
    cuts = tuple(sorted({s.start for s in spans} | {s.end for s in spans}))
    view, feats = _features(doc.text, cuts)
    by_layer = {}
    tag_layer = {t.name: t for t in TAG_LAYERS}
    for name in LAYERS:
        ids = spans_to_tag_ids(view.starts, view.ends, selected(tag_layer[name], spans, contradictory), name)
        tags = [TAG_NAMES[name][k] for k in ids]
        by_layer[name] = [tags[i:j] for i, j in view.sentences]
    return feats, by_layer


Models = dict[str, sklearn_crfsuite.CRF]  # tag layer -> its CRF


class CrfSystem(LearnedSystem[Models]):
    """Three CRFs (entities, figures, hedge cues) trained on the train split, retrained per fold."""

    name = "crf"
    fixed_kernels = True
    # figure lexicons (counted nouns, number words), the figure normaliser and HEDGE_WORDS come from the rules
    developed_on = MappingProxyType({m: WRITTEN_FROM for m in ("figure_tags", "figure_values", "hedge_tags")})
    learned = True
    layers = tag_layers_of({"entities", "figures", "hedges"}, contradictory=False)
    libraries = ("sklearn-crfsuite", "python-crfsuite")

    def __init__(self, c1: float = 0.05, c2: float = 0.05, max_iterations: int = 60, cache: Path | None = None) -> None:
        self.params = {"c1": c1, "c2": c2, "max_iterations": max_iterations}
        self.cache = cache  # None: the default cache root
        self.models: Models = {}

    def configuration(self) -> object:
        return self.params

    def use(self, model: Models) -> None:
        self.models = model

    def train(self, train: TrainingSet) -> Models:
        """The three CRFs, trained on the gold token view of the training documents."""
        X: list = []
        Y: dict[str, list] = {name: [] for name in LAYERS}
        for doc in train.docs:
            feats, tags = _training_rows(doc, train.spans[doc.id], train.contradictory.get(doc.id, set()))
            X += feats
            for name in LAYERS:
                Y[name] += tags[name]
        models = {}
        for name in LAYERS:
            crf = sklearn_crfsuite.CRF(algorithm="lbfgs", all_possible_transitions=True, **self.params)
            crf.fit(X, Y[name])
            models[name] = crf
        return models

    def predict(self, docs: list[Document], queries: list[PairQuery]) -> Predictions:
        if not self.models:
            raise RuntimeError("crf: fit() must be called before predict()")
        return Predictions({d.id: self._spans(d) for d in docs}, self.layers, {}, None)

    def _spans(self, doc: Document) -> list[Span]:
        view, feats = _features(doc.text, ())
        out: list[Span] = []
        for name, layer in LAYERS.items():
            found = []
            for (i, j), tags in zip(view.sentences, self.models[name].predict(feats)):
                found += tags_to_spans(tags, view.starts[i:j], view.ends[i:j])
            for k, (s, e, label) in enumerate(found):
                text = doc.text[s:e]
                value = (
                    normalise(label, text, doc.text[e : e + 80], doc.publication_date) if layer == "figures" else None
                )
                out.append(Span(layer, f"{layer}-{k}", s, e, text, label, {"value": value}))
        return out
