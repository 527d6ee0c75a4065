"""annotations/ → dataset/: the committed dataset is a pure function of the annotations.

``load_gold`` reads and validates everything (manifest, raw pages, Label Studio exports) and
``build`` writes the three configs, the card, Croissant metadata and the generated docs into
a staging directory that replaces ``dataset/`` only when all of it is written.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from datasets import ClassLabel, Features, List, Value

from .corpus import load_manifest
from .errors import InputError
from .files import replace_dir
from .lsjson import choose_gold, parse_pair_export, parse_pair_tasks, parse_span_export, read_json
from .records import Annotation, Document, Pair, Span, Task
from .schema import LAYERS, PAIR_LABELS, SPLITS, TAG_LAYERS
from .tags import TAG_NAMES, TokenView, selected, spans_to_tag_ids, token_view

SPAN_EXPORT = Path("exports/spans.json")
PAIR_EXPORT = Path("exports/pairs.json")


@dataclass
class Gold:
    """The validated gold: documents, each document's gold spans, pairs, and what was skipped."""

    docs: list[Document]
    tasks: dict[str, Task]
    gold: dict[str, Annotation]
    pairs: list[Pair]
    notes: list[str] = field(default_factory=list)

    def spans(self, doc_id: str) -> list[Span]:
        ann = self.gold.get(doc_id)
        return ann.spans if ann else []

    def claims(self) -> dict[tuple[str, str], Span]:
        return {(d.id, s.id): s for d in self.docs for s in self.spans(d.id) if s.layer == "claims"}

    def contradictory(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = defaultdict(set)
        for p in self.pairs:
            if p.label == "CONTRADICTS":
                out[p.a_doc].add(p.a_claim)
                out[p.b_doc].add(p.b_claim)
        return out


def load_gold(
    annotations: Path, gold_annotator: str | None = None, spans_data: list | None = None, pairs_data: list | None = None
) -> Gold:
    """Read and validate annotations/; raise InputError naming file, task and region on bad input.

    ``spans_data`` / ``pairs_data`` stand in for the export files (a pull validates what it
    would write before writing it).
    """
    docs = load_manifest(annotations)
    by_id = {d.id: d for d in docs}
    notes: list[str] = []
    tasks: dict[str, Task] = {}
    gold: dict[str, Annotation] = {}
    span_path = annotations / SPAN_EXPORT
    if spans_data is not None or span_path.exists():
        problems: list[tuple[str, str]] = []
        data = spans_data if spans_data is not None else read_json(span_path)
        for task in parse_span_export(data, str(span_path), by_id):
            tasks[task.doc_id] = task
            chosen = choose_gold(task.annotations, f"{span_path}: doc {task.doc_id}", gold_annotator, problems, notes)
            if chosen is not None:
                gold[task.doc_id] = chosen
        InputError.collect(problems)
    result = Gold(docs, tasks, gold, [], notes)
    pair_path = annotations / PAIR_EXPORT
    if pairs_data is not None or pair_path.exists():
        claims = result.claims()
        data = pairs_data if pairs_data is not None else read_json(pair_path)
        result.pairs = parse_pair_export(data, str(pair_path), claims, gold_annotator, notes)
        problems = []
        for p in result.pairs:
            for doc, cid in ((p.a_doc, p.a_claim), (p.b_doc, p.b_claim)):
                if claims[(doc, cid)].topic != p.topic:
                    problems.append(
                        (
                            f"{pair_path}: pair {p.id}",
                            f"claim {doc}:{cid} has topic {claims[(doc, cid)].topic!r}, the pair says {p.topic!r}",
                        )
                    )
        InputError.collect(problems)
    return result


def pair_annotations(annotations: Path, gold: Gold) -> dict[str, list[Pair]]:
    """Every annotator's pair labels (not only the gold), for agreement."""
    path = annotations / PAIR_EXPORT
    out: dict[str, list[Pair]] = defaultdict(list)
    if path.exists():
        for task in parse_pair_tasks(read_json(path), str(path), gold.claims()):
            for a in task.annotations:
                if isinstance(a.payload, Pair) and not a.was_cancelled:
                    out[a.annotator].append(a.payload)
    return dict(out)


# ---------------------------------------------------------------------------------------------
# features


def _span_struct(layer: str) -> dict:
    struct = {
        "id": Value("string"),
        "start": Value("int32"),
        "end": Value("int32"),
        "text": Value("string"),
        "label": ClassLabel(names=LAYERS[layer].label_names),
    }
    if layer == "figures":
        struct["value"] = Value("string")
    if layer == "claims":
        struct |= {
            "hedged": Value("bool"),
            "topic": Value("string"),
            "contradictory": Value("bool"),
            "cues": List(Value("string")),
        }
    return struct


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
    row = {
        "id": s.id,
        "start": s.start,
        "end": s.end,
        "text": s.text,
        "label": LAYERS[s.layer].label_names.index(s.label),
    }
    if s.layer == "figures":
        row["value"] = s.value
    if s.layer == "claims":
        row |= {
            "hedged": bool(s.hedged),
            "topic": s.topic,
            "contradictory": s.id in contradictory,
            "cues": list(s.cues),
        }
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


def pair_split(p: Pair, split_of: dict[str, str]) -> str:
    """A pair is in the test split if either claim is, else validation if either is, else train.

    No test claim is ever seen in training pairs, so pair scores on test stay clean.
    """
    sides = {split_of[p.a_doc], split_of[p.b_doc]}
    return next(s for s in ("test", "validation", "train") if s in sides)


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


@dataclass
class BuildReport:
    documents: int
    spans: dict[str, int]
    pairs: int
    token_splits: int
    notes: list[str]


def build(root: Path, gold_annotator: str | None = None, progress=None) -> BuildReport:
    """Validate annotations/ and regenerate dataset/ and every generated file under ``root``."""
    from .docs import write_generated

    annotations = root / "annotations"
    gold = load_gold(annotations, gold_annotator)
    tables = make_tables(gold, progress)
    staging = Path(tempfile.mkdtemp(prefix=".dataset.", dir=root))
    try:
        data_files = write_tables(tables, staging)
        write_generated(root, staging, gold, tables, data_files)
        replace_dir(staging, root / "dataset")
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    spans: dict[str, int] = defaultdict(int)
    for d in gold.docs:
        for s in gold.spans(d.id):
            spans[s.layer] += 1
    return BuildReport(len(gold.docs), dict(spans), len(gold.pairs), tables.splits_made, gold.notes)
