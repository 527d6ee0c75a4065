"""The three configs as arrow tables with features derived from the schema (pure functions)."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from operator import attrgetter
from typing import NamedTuple

import numpy as np
import pyarrow as pa
from datasets import ClassLabel, Features, List, Value

from crossclaim.dataset.gold import DocGold
from crossclaim.dataset.splits import nested_declarations, pair_split
from crossclaim.schema.records import Annotation, Document, Pair, Span, Task
from crossclaim.schema.scheme import (
    FURNITURE,
    LAYERS,
    PAIR_LABELS,
    SPLITS,
    TAG_LAYERS,
    TagLayer,
    attributes_of,
)
from crossclaim.schema.tags import LABEL_INDEX, TAG_NAMES, draws, tag_ids
from crossclaim.text import Joined, sentence_bounds

# ---------------------------------------------------------------------------------------------
# features


STRING = Value("string")
_FEATURES = {"text": STRING, "bool": Value("bool"), "choice": STRING, "refs": List(STRING)}
# the manifest's fields a document row starts with, in column order (the split is the file; the furniture
# is a column of its own), and their types where not a string
_MANIFEST = [f.name for f in fields(Document) if f.name not in ("split", "furniture")]
_MANIFEST_TYPES = {"slice_start": Value("int32"), "slice_end": Value("int32"), "authors": List(STRING)}
# page furniture: one column of the documents config, from the manifest (kinds from ``scheme.FURNITURE``)
FURNITURE_FEATURE = List(
    {"start": Value("int32"), "end": Value("int32"), "kind": ClassLabel(names=list(FURNITURE)), "text": STRING}
)


def _span_struct(layer: str) -> dict:
    """A span's HF struct: offsets, text, label, then the layer's attributes in declaration order."""
    struct = {"id": STRING, "start": Value("int32"), "end": Value("int32"), "text": STRING}
    struct["label"] = ClassLabel(names=LAYERS[layer].label_names)
    return struct | {a.name: _FEATURES[a.kind] for a in attributes_of(layer)}


def features(config: str) -> Features:
    """Hugging Face features of each config, derived from the schema."""
    if config == "documents":
        return Features(
            {name: _MANIFEST_TYPES.get(name, STRING) for name in _MANIFEST}
            | {"annotator": STRING, "lead_time": Value("float64"), "task_meta": STRING}
            | {name: List(_span_struct(name)) for name in LAYERS}
            | {"furniture": FURNITURE_FEATURE}
        )
    if config == "tokens":
        return Features(
            {
                "document_id": STRING,
                "sentence_index": Value("int32"),
                "tokens": List(STRING),
                "token_offsets": List(List(Value("int32"), length=2)),
                **{t.name: List(ClassLabel(names=TAG_NAMES[t.name])) for t in TAG_LAYERS},
            }
        )
    if config == "claim_pairs":
        claim = {"document_id": STRING, "claim_id": STRING, "text": STRING}
        pair = {"id": STRING, "a_topic": STRING, "b_topic": STRING, "claim_a": claim, "claim_b": claim}
        return Features(pair | {"label": ClassLabel(names=list(PAIR_LABELS)), "rationale": STRING, "annotator": STRING})
    raise ValueError(config)


@functools.cache
def arrow_schema(config: str) -> pa.Schema:
    """The arrow schema of a config's features (made once: a build asks for it every batch)."""
    return features(config).arrow_schema


ROW_DOCUMENT = {"documents": "id", "tokens": "document_id"}  # the column naming a row's document

# ---------------------------------------------------------------------------------------------
# rows (pure)


class DocumentColumns:
    """The documents config of one split, built column by column with no Python dict per span.

    A row holds each layer's spans in order of offsets (a derived flag true for the span ids in the
    document's ``contradictory``); claims name only claims of the same or an earlier split
    (``nested_declarations``).
    """

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.spans: dict[str, list[Span]] = {layer: [] for layer in LAYERS}
        self.flags: dict[str, list[set[str]]] = {layer: [] for layer in LAYERS}  # each span's ``contradictory``
        self.offsets: dict[str, list[int]] = {layer: [0] for layer in LAYERS}

    def add(
        self, doc: Document, ann: Annotation | None, task: Task | None, contradictory: set[str], split_of: Mapping
    ) -> None:
        kinds = list(FURNITURE)  # the manifest's metadata, the text, the gold annotation's; furniture kinds as ids
        self.rows.append(
            {name: getattr(doc, name) for name in _MANIFEST}
            | {
                "annotator": ann.annotator if ann else None,
                "lead_time": ann.lead_time if ann else None,
                "task_meta": json.dumps(task.meta, sort_keys=True, ensure_ascii=False) if task and task.meta else None,
                "furniture": [
                    {"start": f.start, "end": f.end, "kind": kinds.index(f.kind), "text": doc.text[f.start : f.end]}
                    for f in doc.furniture
                ],
            }
        )
        by_layer: dict[str, list[Span]] = {layer: [] for layer in LAYERS}
        for s in ann.spans if ann else ():
            by_layer[s.layer].append(nested_declarations(s, doc.split, split_of) if s.layer == "claims" else s)
        for layer, spans in by_layer.items():
            spans.sort(key=attrgetter("start", "end"))
            self.spans[layer] += spans
            self.flags[layer] += [contradictory] * len(spans)
            self.offsets[layer].append(len(self.spans[layer]))

    def __len__(self) -> int:
        return len(self.rows)

    def batch(self) -> pa.RecordBatch:
        schema = arrow_schema("documents")
        columns = {name: pa.array([r[name] for r in self.rows], schema.field(name).type) for name in self.rows[0]}
        for layer in LAYERS:
            list_type = schema.field(layer).type
            struct = list_type.value_type
            values = self._span_columns(layer)
            spans = pa.StructArray.from_arrays([pa.array(values[f.name], f.type) for f in struct], fields=list(struct))
            columns[layer] = pa.ListArray.from_arrays(pa.array(self.offsets[layer], pa.int32()), spans, type=list_type)
        return pa.RecordBatch.from_arrays([columns[f.name] for f in schema], schema=schema)

    def _span_columns(self, layer: str) -> dict[str, list]:
        spans, labels = self.spans[layer], LABEL_INDEX[layer]
        columns = {name: [getattr(s, name) for s in spans] for name in ("id", "start", "end", "text")}
        columns["label"] = [labels[s.label] for s in spans]
        for a in attributes_of(layer):
            if a.derived:
                columns[a.name] = [s.id in flags for s, flags in zip(spans, self.flags[layer])]
            else:
                values = [s.attrs.get(a.name) for s in spans]
                columns[a.name] = [_CAST[a.kind](v) for v in values] if a.kind in _CAST else values
        return columns


_CAST = {"bool": bool, "refs": lambda v: list(v or ())}  # an absent flag is false, an absent list empty


class _TokenDoc(NamedTuple):
    id: str
    text: str
    spans: list[Span]
    contradictory: set[str]


class TokenColumns:
    """The tokens config of one split, built a batch of documents at a time: their texts tokenised together
    (``text.Joined``, numpy over code points), every column one flat array plus sentence offsets, with no
    Python object per token or sentence (a large build has millions of tokens)."""

    def __init__(self) -> None:
        self.docs: list[_TokenDoc] = []

    def add(self, doc_id: str, text: str, spans: list[Span], contradictory: set[str]) -> None:
        self.docs.append(_TokenDoc(doc_id, text, spans, contradictory))

    def __len__(self) -> int:
        return len(self.docs)

    def batch(self) -> tuple[pa.RecordBatch, int]:
        """The sentences of the documents added so far as one record batch (tag ids in one byte each,
        see ``batch_schema``), and the number of tokens cut at a span boundary."""
        schema = batch_schema("tokens")
        joined = Joined.of([d.text for d in self.docs])
        spans = _SpanColumns.of(self.docs, joined.starts)
        starts, ends, splits = joined.token_bounds(np.concatenate((spans.starts, spans.ends)))
        first, last = _sentences(self.docs, joined.starts)
        # every token is inside one sentence (sentences end before white space): a sentence's tokens are
        # those up to the next sentence's
        offsets = pa.array(np.concatenate(([0], np.searchsorted(starts, last))).astype(np.int32))
        doc_of_sentence = np.searchsorted(joined.starts, first, side="right") - 1
        base = joined.starts[np.searchsorted(joined.starts, starts, side="right") - 1]
        bounds = np.empty(2 * len(starts), dtype=np.int32)
        bounds[0::2], bounds[1::2] = starts - base, ends - base

        def nested(values: pa.Array, field: str) -> pa.Array:
            return pa.ListArray.from_arrays(offsets, values, type=schema.field(field).type)

        pairs = pa.FixedSizeListArray.from_arrays(pa.array(bounds), 2)
        columns = {
            "document_id": pa.array([d.id for d in self.docs], pa.string()).take(pa.array(doc_of_sentence)),
            "sentence_index": pa.array(
                np.arange(len(first)) - np.searchsorted(doc_of_sentence, doc_of_sentence), pa.int32()
            ),
            "tokens": nested(_token_strings(joined, starts, ends), "tokens"),
            "token_offsets": nested(pairs.cast(schema.field("token_offsets").type.value_type), "token_offsets"),
            **{t.name: nested(pa.array(spans.tags(t, starts, ends)), t.name) for t in TAG_LAYERS},
        }
        return pa.RecordBatch.from_arrays([columns[f.name] for f in schema], schema=schema), splits


def _sentences(docs: list[_TokenDoc], bases: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Global starts and ends of the documents' sentences (``sentence_bounds``: a build has just
    checked its claims against them, so they come from its cache)."""
    found = [np.array(sentence_bounds(d.text), np.int64).reshape(-1, 2) + base for d, base in zip(docs, bases)]
    both = np.concatenate(found) if found else np.empty((0, 2), np.int64)
    return both[:, 0], both[:, 1]


@dataclass(frozen=True)
class _SpanColumns:
    """The spans of a batch of documents as arrays: global offsets, layer and label (index in its layer)."""

    spans: list[Span]
    contradictory: list[set[str]]  # each span's document's
    starts: np.ndarray
    ends: np.ndarray
    layers: np.ndarray
    labels: np.ndarray

    @classmethod
    def of(cls, docs: list[_TokenDoc], bases: np.ndarray) -> _SpanColumns:
        spans = [s for d in docs for s in d.spans]
        contradictory = [d.contradictory for d in docs for _ in d.spans]
        base = np.repeat(bases, [len(d.spans) for d in docs])
        n = len(spans)
        return cls(
            spans,
            contradictory,
            np.fromiter((s.start for s in spans), np.int64, n) + base,
            np.fromiter((s.end for s in spans), np.int64, n) + base,
            np.fromiter((_LAYER_INDEX[s.layer] for s in spans), np.int8, n),
            np.fromiter((LABEL_INDEX[s.layer][s.label] for s in spans), np.int8, n),
        )

    def tags(self, t: TagLayer, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """IOB2 tag ids of tag layer ``t`` for every token of the batch (``tag_ids``)."""
        chosen = np.flatnonzero(self.layers == _LAYER_INDEX[t.layer])
        if t.only is not None:
            chosen = chosen[[draws(t, self.spans[k], self.contradictory[k]) for k in chosen.tolist()]]
        return tag_ids(starts, ends, self.starts[chosen], self.ends[chosen], self.labels[chosen])


_LAYER_INDEX = {name: n for n, name in enumerate(LAYERS)}


def _token_strings(joined: Joined, starts: np.ndarray, ends: np.ndarray) -> pa.Array:
    """The tokens' text as one arrow string array over the UTF-8 bytes of the joined texts: tokens hold
    every non-space character once, in order, so their bytes are those of the non-space characters."""
    data = np.frombuffer(joined.text.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    if len(data) == len(joined.codes):
        kept, byte_at = data[~joined.space], None
    else:
        codes = joined.codes
        width = 1 + (codes >= 0x80).astype(np.int64) + (codes >= 0x800) + (codes >= 0x10000)
        kept = data[np.repeat(~joined.space, width)]
        byte_at = np.concatenate(([0], np.cumsum(width)))
    lengths = (ends - starts) if byte_at is None else byte_at[ends] - byte_at[starts]
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int32)
    return pa.StringArray.from_buffers(len(starts), pa.py_buffer(offsets), pa.py_buffer(kept))


def batch_schema(config: str) -> pa.Schema:
    """The arrow schema of a config's rows while a build holds them: tag ids (class labels, int64 when
    published) in one byte each, as they were a third of a large build's memory (``write_file`` casts them)."""
    schema = arrow_schema(config)
    if config != "tokens":
        return schema
    assert all(len(names) <= 127 for names in TAG_NAMES.values())
    return pa.schema(
        [pa.field(f.name, pa.list_(pa.int8())) if f.name in TAG_NAMES else f for f in schema], metadata=schema.metadata
    )


Batches = dict[str, dict[str, list[pa.RecordBatch]]]  # config -> split -> record batches


class TableBuilder:
    """The documents and tokens configs, filled one document at a time in bounded memory.

    Rows are kept as arrow record batches (flushed every ``BATCH`` documents), never as Python
    objects for the whole corpus; the sink (``published``) puts each split's rows in manifest order.
    ``contradictory``: the flagged claims of each document.
    """

    BATCH = 256

    def __init__(self, split_of: dict[str, str], contradictory: dict[str, set[str]]) -> None:
        self.split_of, self.contradictory = split_of, contradictory
        self.rows = {s: DocumentColumns() for s in SPLITS}
        self.tokens = {s: TokenColumns() for s in SPLITS}
        self.batches: Batches = {c: {s: [] for s in SPLITS} for c in ROW_DOCUMENT}
        self.tokens_cut = 0  # tokens cut at a span boundary inside a glued word

    def add(self, g: DocGold) -> None:
        d = g.doc
        flags = self.contradictory.get(d.id, set())
        self.rows[d.split].add(d, g.annotation, g.task, flags, self.split_of)
        self.tokens[d.split].add(d.id, d.text, g.spans, flags)
        if len(self.rows[d.split]) >= self.BATCH:
            self._flush(d.split)

    def _flush(self, split: str) -> None:
        if len(self.rows[split]):
            self.batches["documents"][split].append(self.rows[split].batch())
            self.rows[split] = DocumentColumns()
        if len(self.tokens[split]):
            batch, cut = self.tokens[split].batch()
            self.tokens_cut += cut
            if batch.num_rows:
                self.batches["tokens"][split].append(batch)
            self.tokens[split] = TokenColumns()

    def flushed(self) -> Batches:
        """Everything added so far, as record batches."""
        for split in SPLITS:
            self._flush(split)
        return self.batches


def pair_tables(
    pairs: list[Pair], claims: dict[tuple[str, str], Span], split_of: dict[str, str]
) -> dict[str, pa.Table]:
    """The claim_pairs config, per split (a pair goes to the later split of its two documents)."""
    rows: dict[str, list[dict]] = {s: [] for s in SPLITS}
    for p in pairs:
        a, b = claims[(p.a_doc, p.a_claim)], claims[(p.b_doc, p.b_claim)]
        rows[pair_split(p, split_of)].append(
            {
                "id": p.id,
                "a_topic": a.topic,
                "b_topic": b.topic,
                "claim_a": {"document_id": p.a_doc, "claim_id": p.a_claim, "text": a.text},
                "claim_b": {"document_id": p.b_doc, "claim_id": p.b_claim, "text": b.text},
                "label": PAIR_LABELS.index(p.label),
                "rationale": p.rationale,
                "annotator": p.annotator,
            }
        )
    schema = arrow_schema("claim_pairs")
    return {s: pa.Table.from_pylist(r, schema=schema) for s, r in rows.items()}
