"""The three configs as arrow tables with features derived from the schema (pure functions)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from datasets import ClassLabel, Features, List, Value

from crossclaim.dataset.gold import Gold
from crossclaim.dataset.splits import pair_split
from crossclaim.schema.records import Annotation, Document, Pair, Span, Task
from crossclaim.schema.scheme import LAYERS, PAIR_LABELS, SPLITS, TAG_LAYERS, attributes_of
from crossclaim.schema.tags import TAG_NAMES, TokenView, selected, spans_to_tag_ids, token_view

# ---------------------------------------------------------------------------------------------
# features


_FEATURES = {"text": Value("string"), "bool": Value("bool"), "choice": Value("string"), "refs": List(Value("string"))}


def _span_struct(layer: str) -> dict:
    """A span's HF struct: offsets, text, label, then the layer's attributes in declaration order."""
    struct = {
        "id": Value("string"),
        "start": Value("int32"),
        "end": Value("int32"),
        "text": Value("string"),
        "label": ClassLabel(names=LAYERS[layer].label_names),
    }
    return struct | {a.name: _FEATURES[a.kind] for a in attributes_of(layer)}


def features(config: str) -> Features:
    """Hugging Face features of each config, derived from the schema."""
    if config == "documents":
        return Features(
            {
                "id": Value("string"),
                "source_file": Value("string"),
                "sha256": Value("string"),
                "slice_start": Value("int32"),
                "slice_end": Value("int32"),
                "publisher": Value("string"),
                "headline": Value("string"),
                "authors": List(Value("string")),
                "publication_date": Value("string"),
                "date_source": Value("string"),
                "text": Value("string"),
                "annotator": Value("string"),
                "lead_time": Value("float64"),
                "task_meta": Value("string"),
                **{name: List(_span_struct(name)) for name in LAYERS},
            }
        )
    if config == "tokens":
        return Features(
            {
                "document_id": Value("string"),
                "sentence_index": Value("int32"),
                "tokens": List(Value("string")),
                "token_offsets": List(List(Value("int32"), length=2)),
                **{t.name: List(ClassLabel(names=TAG_NAMES[t.name])) for t in TAG_LAYERS},
            }
        )
    if config == "claim_pairs":
        claim = {"document_id": Value("string"), "claim_id": Value("string"), "text": Value("string")}
        return Features(
            {
                "id": Value("string"),
                "topic": Value("string"),
                "claim_a": claim,
                "claim_b": claim,
                "label": ClassLabel(names=list(PAIR_LABELS)),
                "rationale": Value("string"),
                "annotator": Value("string"),
            }
        )
    raise ValueError(config)


# ---------------------------------------------------------------------------------------------
# rows (pure)


def span_row(s: Span, contradictory: set[str]) -> dict:
    """One span as a row; a derived flag is true for the spans in ``contradictory``."""
    row = {
        "id": s.id,
        "start": s.start,
        "end": s.end,
        "text": s.text,
        "label": LAYERS[s.layer].label_names.index(s.label),
    }
    for a in attributes_of(s.layer):
        value = s.id in contradictory if a.derived else s.attrs.get(a.name, a.empty)
        row[a.name] = bool(value) if a.kind == "bool" else list(value) if a.kind == "refs" else value
    return row


def document_row(doc: Document, ann: Annotation | None, task: Task | None, contradictory: set[str]) -> dict:
    spans = ann.spans if ann else []
    row = {
        "id": doc.id,
        "source_file": doc.source_file,
        "sha256": doc.sha256,
        "slice_start": doc.slice_start,
        "slice_end": doc.slice_end,
        "publisher": doc.publisher,
        "headline": doc.headline,
        "authors": list(doc.authors),
        "publication_date": doc.publication_date,
        "date_source": doc.date_source,
        "text": doc.text,
        "annotator": ann.annotator if ann else None,
        "lead_time": ann.lead_time if ann else None,
        "task_meta": json.dumps(task.meta, sort_keys=True, ensure_ascii=False) if task and task.meta else None,
    }
    for layer in LAYERS:
        layer_spans = sorted((s for s in spans if s.layer == layer), key=lambda s: (s.start, s.end))
        row[layer] = [span_row(s, contradictory) for s in layer_spans]
    return row


class TokenColumns:
    """The tokens config of one split, built column by column.

    Sentences partition a document's tokens in order, so each column is one flat list plus
    sentence offsets; arrow assembles the nested lists without a Python object per sentence.
    """

    def __init__(self) -> None:
        self.doc_ids: list[str] = []
        self.sentence_index: list[int] = []
        self.offsets: list[int] = [0]
        self.tokens: list[str] = []
        self.bounds: list[int] = []  # start, end, start, end, ...
        self.tags: dict[str, list[int]] = {t.name: [] for t in TAG_LAYERS}

    def add(self, doc_id: str, text: str, spans: list[Span], contradictory: set[str]) -> TokenView:
        view = token_view(text, spans)
        first = view.sentences[0][0] if view.sentences else 0
        last = view.sentences[-1][1] if view.sentences else 0
        starts, ends = view.starts[first:last], view.ends[first:last]
        self.tokens.extend([text[a:b] for a, b in zip(starts, ends)])
        self.bounds.extend([x for pair in zip(starts, ends) for x in pair])
        for t in TAG_LAYERS:
            ids, _ = spans_to_tag_ids(view.starts, view.ends, selected(t, spans, contradictory), t.name)
            self.tags[t.name].extend(ids[first:last])
        base = self.offsets[-1] - first
        for n, (_, j) in enumerate(view.sentences):
            self.doc_ids.append(doc_id)
            self.sentence_index.append(n)
            self.offsets.append(base + j)
        return view

    def table(self) -> pa.Table:
        schema = features("tokens").arrow_schema
        offsets = pa.array(self.offsets, pa.int32())

        def nested(values: pa.Array, field: str) -> pa.Array:
            return pa.ListArray.from_arrays(offsets, values, type=schema.field(field).type)

        pairs = pa.FixedSizeListArray.from_arrays(pa.array(self.bounds, pa.int32()), 2)
        columns = {
            "document_id": pa.array(self.doc_ids, pa.string()),
            "sentence_index": pa.array(self.sentence_index, pa.int32()),
            "tokens": nested(pa.array(self.tokens, pa.string()), "tokens"),
            "token_offsets": nested(pairs.cast(schema.field("token_offsets").type.value_type), "token_offsets"),
            **{name: nested(pa.array(v, pa.int64()), name) for name, v in self.tags.items()},
        }
        return pa.Table.from_arrays([columns[f.name] for f in schema], schema=schema)


def pair_row(p: Pair, claims: dict[tuple[str, str], Span]) -> dict:
    def side(doc: str, cid: str) -> dict:
        return {"document_id": doc, "claim_id": cid, "text": claims[(doc, cid)].text}

    return {
        "id": p.id,
        "topic": p.topic,
        "claim_a": side(p.a_doc, p.a_claim),
        "claim_b": side(p.b_doc, p.b_claim),
        "label": PAIR_LABELS.index(p.label),
        "rationale": p.rationale,
        "annotator": p.annotator,
    }


@dataclass
class Tables:
    """The built configs: config -> split -> arrow table, plus counts for the report."""

    tables: dict[str, dict[str, pa.Table]]
    splits_made: int
    stats: dict


def make_tables(gold: Gold, progress=None) -> Tables:
    """All rows of all configs, as arrow tables with the schema's features (pure)."""
    contradictory = gold.contradictory()
    split_of = {d.id: d.split for d in gold.docs}
    rows: dict[str, dict[str, list]] = {c: {s: [] for s in SPLITS} for c in ("documents", "claim_pairs")}
    token_columns = {s: TokenColumns() for s in SPLITS}
    splits_made = 0
    token_count: dict[str, int] = defaultdict(int)
    for d in gold.docs:
        spans = gold.spans(d.id)
        c = contradictory.get(d.id, set())
        rows["documents"][d.split].append(document_row(d, gold.gold.get(d.id), gold.tasks.get(d.id), c))
        view = token_columns[d.split].add(d.id, d.text, spans, c)
        splits_made += view.splits
        token_count[d.split] += len(view.starts)
        if progress:
            progress()
    claims = gold.claims()
    for p in gold.pairs:
        rows["claim_pairs"][pair_split(p, split_of)].append(pair_row(p, claims))
    tables = {}
    for config, by_split in rows.items():
        schema = features(config).arrow_schema
        tables[config] = {s: pa.Table.from_pylist(r, schema=schema) for s, r in by_split.items()}
    tables["tokens"] = {s: cols.table() for s, cols in token_columns.items()}
    return Tables(tables, splits_made, {"tokens": dict(token_count)})


def write_tables(tables: Tables, out: Path) -> list[Path]:
    written = []
    for config, by_split in tables.tables.items():
        for split, table in by_split.items():
            if table.num_rows == 0:
                continue  # an empty parquet file cannot be loaded; the split is left out of the card
            path = out / config / f"{split}-00000-of-00001.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, path, compression="zstd", use_dictionary=False, write_statistics=False)
            written.append(path)
    return written
