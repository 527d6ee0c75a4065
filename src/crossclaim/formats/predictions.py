"""Predictions: the JSON Lines format any system writes to be scored, read with one error per fault.

One line per document. A span layer's key present on any line means the system predicts that
layer (absent keys are not scored, so a hedge-only system is not punished on entities); the same
holds for ``pairs``, and for the ``contradictory`` flag of claims (the contradictory-claim tag
layer is scored when at least one claim carries it). The JSON Schema ``predictions.schema.json`` is
generated from the annotation scheme (``json_schema``, written by ``scripts/predictions_schema.py``; a
test fails while the committed file is stale)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from crossclaim.errors import InputError, Problems, shown
from crossclaim.formats.jsonio import described, json_lines, json_type, read_text
from crossclaim.schema.records import Document, Pair, Span
from crossclaim.schema.scheme import LAYERS, PAIR_LABELS, TAG_LAYERS, Attribute, attributes_of
from crossclaim.schema.validate import offsets_problem

SCHEMA_FILE = Path(__file__).with_name("predictions.schema.json")
SPAN_LAYERS: tuple[str, ...] = tuple(LAYERS)
PAIRS_KEY = "pairs"
DOC_KEY = "document_id"
CONTRADICTORY_LAYER = "contradictory_claim_tags"
ALL_TAG_LAYERS: frozenset[str] = frozenset(t.name for t in TAG_LAYERS)


def tag_layers_of(span_layers: set[str] | frozenset[str], contradictory: bool) -> frozenset[str]:
    """The tag layers scored for a system that predicts ``span_layers`` (and claim flags or not)."""
    out = {t.name for t in TAG_LAYERS if t.layer in span_layers}
    if not contradictory:
        out.discard(CONTRADICTORY_LAYER)
    return frozenset(out)


def span_layers_of(tag_layers: frozenset[str]) -> list[str]:
    return [layer for layer in SPAN_LAYERS if any(t.layer == layer and t.name in tag_layers for t in TAG_LAYERS)]


# Fields of a span object per layer: name -> (required, allowed JSON types as Python types).
_COMMON = {"start": (True, (int,)), "end": (True, (int,)), "label": (True, (str,)), "text": (False, (str,))}
_KIND_TYPES = {"text": (str, type(None)), "choice": (str, type(None)), "bool": (bool,)}


def _predicted(layer: str) -> list[Attribute]:
    """The attributes of a layer that are fields of the predictions format."""
    return [a for a in attributes_of(layer) if a.predicted]


def _spec(layer: str) -> dict[str, tuple[bool, tuple[type, ...]]]:
    return _COMMON | {a.name: (a.predicted_required, _KIND_TYPES[a.kind]) for a in _predicted(layer)}


@dataclass
class Predictions:
    """A system's output: spans per document, the layers it predicts, claim flags, pair labels."""

    spans: dict[str, list[Span]]
    layers: frozenset[str]  # tag layers the system predicts; the others are not scored
    contradictory: dict[str, set[str]] = field(default_factory=dict)
    pairs: dict[str, str] | None = None  # pair id -> label; None: the system does not label pairs

    def only(self, doc_ids: list[str]) -> Predictions:
        """The same predictions restricted to some documents (pair labels are kept whole)."""
        keep = set(doc_ids)
        return Predictions(
            {d: s for d, s in self.spans.items() if d in keep},
            self.layers,
            {d: c for d, c in self.contradictory.items() if d in keep},
            self.pairs,
        )


def merge(parts: list[Predictions]) -> Predictions:
    """Join predictions made on disjoint documents (cross-validation folds) into one."""
    labelled = [p.pairs for p in parts if p.pairs is not None]
    return Predictions(
        {d: s for p in parts for d, s in p.spans.items()},
        frozenset().union(*(p.layers for p in parts)),
        {d: c for p in parts for d, c in p.contradictory.items()},
        {k: v for pairs in labelled for k, v in pairs.items()} if labelled else None,
    )


# ---------------------------------------------------------------------------------------------
# writing


def span_json(s: Span, contradictory: set[str] | None) -> dict:
    """One span object; ``contradictory`` is None when the system does not flag claims."""
    row: dict = {"start": s.start, "end": s.end, "label": s.label, "text": s.text}
    for a in _predicted(s.layer):
        if not a.derived:
            value = s.attrs.get(a.name)
            row[a.name] = bool(value) if a.kind == "bool" else value
        elif contradictory is not None:
            row[a.name] = s.id in contradictory
    return row


def to_jsonl(preds: Predictions, docs: list[Document], pairs: list[Pair]) -> str:
    """The JSON Lines text of ``preds`` for ``docs`` (in their order); each pair on its home line."""
    ids = {d.id for d in docs}
    by_home: dict[str, list[dict]] = {}
    if preds.pairs is not None:
        for p in sorted(pairs, key=lambda p: p.id):
            if p.id in preds.pairs:
                by_home.setdefault(p.home(ids), []).append({"pair_id": p.id, "label": preds.pairs[p.id]})
    lines = []
    for d in docs:
        row: dict = {DOC_KEY: d.id}
        spans = preds.spans.get(d.id, [])
        flags = preds.contradictory.get(d.id, set()) if CONTRADICTORY_LAYER in preds.layers else None
        for layer in span_layers_of(preds.layers):
            chosen = sorted((s for s in spans if s.layer == layer), key=lambda s: (s.start, s.end))
            row[layer] = [span_json(s, flags) for s in chosen]
        if preds.pairs is not None:
            row[PAIRS_KEY] = by_home.get(d.id, [])
        lines.append(json.dumps(row, ensure_ascii=False, sort_keys=True))
    return "".join(line + "\n" for line in lines)


# ---------------------------------------------------------------------------------------------
# reading and validation


def read_predictions(path: Path, docs: list[Document], pairs: list[Pair], no_known_hint: str = "") -> Predictions:
    """Read and validate a predictions file against the corpus; InputError names line and field."""
    return parse_predictions(read_text(path), str(path), docs, pairs, no_known_hint=no_known_hint)


def parse_predictions(
    raw: str, where: str, docs: list[Document], pairs: list[Pair], first_line: int = 1, no_known_hint: str = ""
) -> Predictions:
    """Parse JSON Lines text; every problem of every line is collected before raising.

    Lines are parsed by the strict JSON layer (``jsonio.json_lines``): split on ``\\n`` only,
    duplicate keys refused, nesting and numbers bounded. ``first_line``: the number of the text's
    first line in its file (a large file validated a chunk at a time). ``no_known_hint``: when no
    line names a known document (the file is about other documents, such as a corpus outside the
    dataset), one problem for the file saying so and what to do, not one per line.
    """
    r = _Reader({d.id: d for d in docs}, {p.id: p for p in pairs})
    for n, row in json_lines(raw, where, r.problems, first_line):
        r.line(row, n, f"{where}, line {n}")
    problems = r.problems
    if no_known_hint and r.strangers and not r.doc_line:
        problems = _no_known_document(problems, r.strangers, sorted(r.docs), no_known_hint)
    InputError.collect(problems)
    return Predictions(r.spans, tag_layers_of(r.layers, r.flagged), r.contradictory, r.labels)


def require_documents(preds: Predictions, doc_ids: list[str], where: str, hint: str = "") -> None:
    """Every document to be scored must have its line: a silent gap would score as misses.

    An empty file is said to be empty (a list of every document would hide that); ``hint`` (what to
    do, e.g. which split the file's documents are in) ends the message when lines are missing.
    """
    missing = [d for d in doc_ids if d not in preds.spans]
    if missing and not preds.spans:
        raise InputError(where, "the file is empty (no document line): write one line per document of the scored split")
    if missing:
        what = f"no line for document(s) {', '.join(missing)} of the scored split"
        raise InputError(where, f"{what}; {hint}" if hint else what)


def _no_known_document(problems: Problems, unknown: list[tuple[str, str]], known: list[str], hint: str) -> Problems:
    """The problems of a file none of whose lines names a known document: the first such line, how many
    more, and ``hint``, in place of one problem per line."""
    where, doc_id = unknown[0]
    more = f" (and {len(unknown) - 1} more line{'s' if len(unknown) > 2 else ''})" if len(unknown) > 1 else ""
    said = f"unknown document {doc_id}{more}: no line of the file is a document of the dataset (known: {_some(known)})"
    places = {w for w, _ in unknown}
    return Problems([(where, f"{said}; {hint}"), *(p for p in problems if p[0] not in places)])


@dataclass
class _Reader:
    """One pass over the lines of a predictions file: what they predict, and every problem found."""

    docs: dict[str, Document]
    pairs: dict[str, Pair]
    problems: Problems = field(default_factory=Problems)
    spans: dict[str, list[Span]] = field(default_factory=dict)
    contradictory: dict[str, set[str]] = field(default_factory=dict)
    labels: dict[str, str] | None = None  # pair id -> label; None while no line has the pairs key
    doc_line: dict[str, int] = field(default_factory=dict)
    pair_line: dict[str, int] = field(default_factory=dict)
    layers: set[str] = field(default_factory=set)
    flagged: bool = False  # whether any claim carries `contradictory`
    strangers: list[tuple[str, str]] = field(default_factory=list)  # (where, id shown) naming unknown documents

    def line(self, row: object, n: int, here: str) -> None:
        if not isinstance(row, dict):
            self.problems.add(here, f"a line must be a JSON object, got {json_type(row)}")
            return
        doc_id, at = row.get(DOC_KEY), f"{here}, field {DOC_KEY}"
        doc = None
        if not isinstance(doc_id, str):
            self.problems.add(at, "missing or not a string")
        elif doc_id not in self.docs:
            self.strangers.append((at, shown(doc_id)))
            self.problems.add(at, f"unknown document {shown(doc_id)} (known: {_some(sorted(self.docs))})")
        elif doc_id in self.doc_line:
            self.problems.add(at, f"document {shown(doc_id)} already has line {self.doc_line[doc_id]}")
        else:
            self.doc_line[doc_id] = n
            doc = self.docs[doc_id]
        for key in sorted(set(row) - {DOC_KEY, PAIRS_KEY, *SPAN_LAYERS}):
            self.problems.add(
                f"{here}, field {_key(key)}", f"unknown field (allowed: {DOC_KEY}, {', '.join(SPAN_LAYERS)}, pairs)"
            )
        if doc is None:
            return
        self.spans[doc.id], self.contradictory[doc.id] = [], set()
        for layer in SPAN_LAYERS:
            if layer in row:
                self.layers.add(layer)
                got = self._layer(row[layer], layer, doc, f"{here}, field {layer}")
                self.spans[doc.id] += [s for s, _ in got]
                self.contradictory[doc.id] |= {s.id for s, flag in got if flag}
        if PAIRS_KEY in row:
            self.labels = self.labels or {}
            self._pairs(row[PAIRS_KEY], doc, f"{here}, field pairs", n)

    def _layer(self, items: object, layer: str, doc: Document, here: str) -> list[tuple[Span, bool]]:
        if not isinstance(items, list):
            self.problems.add(here, "must be a list of span objects")
            return []
        out: list[tuple[Span, bool]] = []
        for i, item in enumerate(items):
            got = self._span(item, layer, i, doc, f"{here}[{i}]")
            if got is not None:
                out.append(got)
                self.flagged |= any(a.derived and a.name in item for a in _predicted(layer))
        ordered = sorted(out, key=lambda x: (x[0].start, x[0].end))
        for (a, _), (b, _) in zip(ordered, ordered[1:]):
            if b.start < a.end:
                self.problems.add(
                    f"{here}[{_index(b)}]",
                    f"span {b.start}:{b.end} overlaps {layer}[{_index(a)}] {a.start}:{a.end} (layers are flat)",
                )
        return out

    def _span(self, item: object, layer: str, i: int, doc: Document, here: str) -> tuple[Span, bool] | None:
        """The span of a span object, and whether it is flagged ``contradictory``; None when it is wrong."""
        if not isinstance(item, dict):
            self.problems.add(here, "must be an object with start, end and label")
            return None
        spec = _spec(layer)
        wrong = [
            (f"{here}.{_key(key)}", f"unknown field for a {layer} span (allowed: {', '.join(spec)})")
            for key in sorted(set(item) - set(spec))
        ]
        for key, (required, types) in spec.items():
            value = item.get(key)
            if key not in item:
                if required:
                    wrong.append((f"{here}.{key}", "missing"))
            elif not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
                want = " or ".join("null" if t is type(None) else _JSON_TYPE[t] for t in types)
                wrong.append((f"{here}.{key}", f"must be {want}, got {described(value)}"))
        self.problems += wrong
        if wrong:
            return None
        start, end, label = item["start"], item["end"], item["label"]
        allowed = LAYERS[layer].label_names
        if label not in allowed:
            self.problems.add(
                f"{here}.label", f"unknown label {shown(label)} for {layer} (allowed: {', '.join(allowed)})"
            )
            return None
        if not 0 <= start < end <= len(doc.text):
            self.problems.add(f"{here}.start/end", offsets_problem(start, end, len(doc.text), f"document {doc.id}"))
            return None
        text = doc.text[start:end]
        if "text" in item and item["text"] != text:
            self.problems.add(
                f"{here}.text", f"{shown(item['text'])} is not the document text at {start}:{end} ({shown(text)})"
            )
            return None
        for a in _predicted(layer):
            value = item.get(a.name)
            if a.kind == "choice" and value is not None and value not in a.choices:
                self.problems.add(
                    f"{here}.{a.name}", f"unknown {a.name} {shown(value)} (see the controlled list in the card)"
                )
                return None
        attrs = {a.name: item.get(a.name) for a in _predicted(layer) if not a.derived}
        span = Span(layer=layer, id=f"{layer}-{i}", start=start, end=end, text=text, label=label, attrs=attrs)
        return span, any(bool(item.get(a.name)) for a in _predicted(layer) if a.derived)

    def _pairs(self, items: object, doc: Document, here: str, n: int) -> None:
        if not isinstance(items, list):
            self.problems.add(here, "must be a list of {pair_id, label} objects")
            return
        for i, item in enumerate(items):
            at = f"{here}[{i}]"
            if not isinstance(item, dict) or set(item) != {"pair_id", "label"}:
                self.problems.add(at, "must be an object with exactly pair_id and label")
                continue
            pid, label = item["pair_id"], item["label"]
            pair = self.pairs.get(pid) if isinstance(pid, str) else None
            if pair is None:
                self.problems.add(
                    f"{at}.pair_id", f"{shown(pid)} is not a gold claim pair (see the claim_pairs config)"
                )
            elif doc.id not in (pair.a_doc, pair.b_doc):
                homes = " or ".join(dict.fromkeys((pair.a_doc, pair.b_doc)))  # one document when the pair is within it
                self.problems.add(
                    f"{at}.pair_id",
                    f"pair {shown(pid)} does not involve document {doc.id}; put it on the line of {homes}",
                )
            elif label not in PAIR_LABELS:
                self.problems.add(
                    f"{at}.label", f"unknown pair label {shown(label)} (allowed: {', '.join(PAIR_LABELS)})"
                )
            elif pid in self.pair_line:
                self.problems.add(f"{at}.pair_id", f"pair {shown(pid)} already labelled on line {self.pair_line[pid]}")
            else:
                self.pair_line[pid] = n
                self.labels[pid] = label


_JSON_TYPE = {int: "an integer", str: "a string", bool: "true or false"}


def _index(s: Span) -> int:
    return int(s.id.rsplit("-", 1)[1])


def _key(key: str) -> str:
    """A JSON key as a location names it: as is when plain, else quoted and cut."""
    return key if key.isidentifier() and len(key) <= 40 else shown(key)


def _some(ids: list[str], n: int = 10) -> str:
    return ", ".join(ids[:n]) + (f" and {len(ids) - n} more" if len(ids) > n else "")


# ---------------------------------------------------------------------------------------------
# JSON Schema (generated; the committed file is checked by the tests)


def _span_schema(layer: str) -> dict:
    props: dict = {
        "start": {"type": "integer", "minimum": 0, "description": "Python character offset, inclusive"},
        "end": {"type": "integer", "minimum": 1, "description": "Python character offset, exclusive"},
        "label": {"enum": LAYERS[layer].label_names},
        "text": {"type": "string", "description": "optional; when given it must equal the document text at start:end"},
    }
    required = ["start", "end", "label"]
    for a in _predicted(layer):
        props[a.name] = _attribute_schema(a)
        if a.predicted_required:
            required.append(a.name)
    return {"type": "object", "properties": props, "required": required, "additionalProperties": False}


def _attribute_schema(a: Attribute) -> dict:
    if a.kind == "choice":
        prop: dict = {"enum": [*a.choices, None]}
    else:
        prop = {"type": "boolean" if a.kind == "bool" else ["string", "null"]}
    return prop | ({"description": a.prediction_note} if a.prediction_note else {})


def json_schema() -> dict:
    """The JSON Schema of one predictions line, derived from the annotation scheme."""
    props: dict = {DOC_KEY: {"type": "string", "description": "id of a document of the corpus"}}
    for layer in SPAN_LAYERS:
        props[layer] = {
            "type": "array",
            "items": _span_schema(layer),
            "description": f"{LAYERS[layer].title}; omit the key if the system does not predict this layer",
        }
    props[PAIRS_KEY] = {
        "type": "array",
        "description": "labels of gold claim pairs that involve this document; missing pairs count as wrong",
        "items": {
            "type": "object",
            "properties": {"pair_id": {"type": "string"}, "label": {"enum": list(PAIR_LABELS)}},
            "required": ["pair_id", "label"],
            "additionalProperties": False,
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "CrossClaim predictions: one JSON Lines line per document",
        "type": "object",
        "properties": props,
        "required": [DOC_KEY],
        "additionalProperties": False,
    }


def schema_text() -> str:
    """The committed ``predictions.schema.json``, byte for byte: the one source its regeneration and its
    staleness test both use."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
