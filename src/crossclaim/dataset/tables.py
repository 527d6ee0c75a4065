"""The three configs as arrow tables with features derived from the schema (pure functions)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from datasets import ClassLabel, Features, List, Value

from crossclaim.dataset.gold import DocGold, Gold
from crossclaim.dataset.splits import pair_split
from crossclaim.schema.records import Annotation, Document, Pair, Span, Task
from crossclaim.schema.scheme import CONFIGS, LAYERS, PAIR_LABELS, SPLITS, TAG_LAYERS, attributes_of
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
                "a_topic": Value("string"),
                "b_topic": Value("string"),
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

    def __len__(self) -> int:
        return len(self.doc_ids)

    def batch(self) -> pa.RecordBatch:
        """The sentences added so far as one record batch."""
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
        return pa.RecordBatch.from_arrays([columns[f.name] for f in schema], schema=schema)


def pair_row(p: Pair, claims: dict[tuple[str, str], Span]) -> dict:
    def side(doc: str, cid: str) -> dict:
        return {"document_id": doc, "claim_id": cid, "text": claims[(doc, cid)].text}

    return {
        "id": p.id,
        "a_topic": claims[(p.a_doc, p.a_claim)].topic,
        "b_topic": claims[(p.b_doc, p.b_claim)].topic,
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


@dataclass(frozen=True)
class Corpus:
    """What every document's rows depend on beyond the document itself."""

    order: dict[str, int]  # manifest position
    split_of: dict[str, str]
    contradictory: dict[str, set[str]]

    @classmethod
    def of(cls, docs: list[Document], contradictory: dict[str, set[str]]) -> Corpus:
        return cls({d.id: n for n, d in enumerate(docs)}, {d.id: d.split for d in docs}, contradictory)


@dataclass
class TablePart:
    """Rows of some documents (built in a worker process), to be merged in export order."""

    batches: dict[str, dict[str, list[pa.RecordBatch]]]
    claims: dict[tuple[str, str], Span]
    splits_made: int
    token_count: dict[str, int]
    ranks: dict[str, list[int]]  # manifest positions of the documents, as added, per split


class TableBuilder:
    """The three configs, filled one document at a time in bounded memory.

    Rows are kept as arrow record batches (flushed every ``BATCH`` documents), never as Python
    objects for the whole corpus; ``finish`` puts each split's rows in manifest order.
    """

    BATCH = 256

    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus
        self.rows: dict[str, list[dict]] = {s: [] for s in SPLITS}
        self.tokens = {s: TokenColumns() for s in SPLITS}
        self.part = TablePart(
            {c: {s: [] for s in SPLITS} for c in CONFIGS}, {}, 0, defaultdict(int), {s: [] for s in SPLITS}
        )

    def add(self, g: DocGold) -> None:
        d, spans, part = g.doc, g.spans, self.part
        part.ranks[d.split].append(self.corpus.order[d.id])
        flags = self.corpus.contradictory.get(d.id, set())
        self.rows[d.split].append(document_row(d, g.annotation, g.task, flags))
        view = self.tokens[d.split].add(d.id, d.text, spans, flags)
        part.splits_made += view.splits
        part.token_count[d.split] += len(view.starts)
        part.claims.update({(d.id, s.id): s for s in spans if s.layer == "claims"})
        if len(self.rows[d.split]) >= self.BATCH:
            self._flush(d.split)

    def _flush(self, split: str) -> None:
        if self.rows[split]:
            schema = features("documents").arrow_schema
            self.part.batches["documents"][split].append(pa.RecordBatch.from_pylist(self.rows[split], schema=schema))
            self.rows[split] = []
        if len(self.tokens[split]):
            self.part.batches["tokens"][split].append(self.tokens[split].batch())
            self.tokens[split] = TokenColumns()

    def flushed(self) -> TablePart:
        """Everything added so far, as record batches."""
        for split in SPLITS:
            self._flush(split)
        return self.part

    def merge(self, other: TablePart) -> None:
        """Append the rows another builder made of later documents."""
        part = self.flushed()
        for config, by_split in other.batches.items():
            for split, batches in by_split.items():
                part.batches[config][split] += batches
        part.claims.update(other.claims)
        part.splits_made += other.splits_made
        for split in SPLITS:
            part.token_count[split] += other.token_count.get(split, 0)
            part.ranks[split] += other.ranks[split]

    def finish(self, pairs: list[Pair]) -> Tables:
        part = self.flushed()
        tables: dict[str, dict[str, pa.Table]] = {}
        for config in ("documents", "tokens"):
            schema = features(config).arrow_schema
            key = "id" if config == "documents" else "document_id"
            tables[config] = {
                s: self._in_manifest_order(pa.Table.from_batches(b, schema=schema), key, part.ranks[s])
                for s, b in part.batches[config].items()
            }
        rows: dict[str, list[dict]] = {s: [] for s in SPLITS}
        for p in pairs:
            rows[pair_split(p, self.corpus.split_of)].append(pair_row(p, part.claims))
        schema = features("claim_pairs").arrow_schema
        tables["claim_pairs"] = {s: pa.Table.from_pylist(r, schema=schema) for s, r in rows.items()}
        return Tables(tables, part.splits_made, {"tokens": dict(part.token_count)})

    def _in_manifest_order(self, table: pa.Table, key: str, ranks: list[int]) -> pa.Table:
        """Rows sorted by their document's manifest position (a stable sort keeps sentence order).

        Always through ``take``, also when already in order, so the buffers (and the byte sizes the
        card reports) do not depend on the export's order or on how the rows were batched.
        """
        if ranks == sorted(ranks):
            order = pa.array(range(table.num_rows), pa.int64())
        else:
            rank = [self.corpus.order[d] for d in table.column(key).to_pylist()]
            order = pa.array(sorted(range(len(rank)), key=rank.__getitem__), pa.int64())
        return table.take(order).combine_chunks()


def make_tables(gold: Gold, progress=None) -> Tables:
    """All rows of all configs from a loaded gold, as arrow tables with the schema's features."""
    builder = TableBuilder(Corpus.of(gold.docs, gold.contradictory()))
    for d in gold.docs:
        builder.add(DocGold(d, gold.tasks.get(d.id), gold.gold.get(d.id)))
        if progress:
            progress()
    return builder.finish(gold.pairs)


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
