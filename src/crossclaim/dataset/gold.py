"""The validated gold: manifest documents, Label Studio exports, the gold annotation of each task.

``load_gold`` is the only way annotations/ is read; it raises InputError naming file, task and
region on bad input.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from crossclaim.errors import InputError
from crossclaim.formats.jsonio import read_json
from crossclaim.formats.labelstudio.annotations import choose_gold
from crossclaim.formats.labelstudio.pairs import PairTask, gold_pairs, parse_pair_tasks
from crossclaim.formats.labelstudio.spans import parse_span_export
from crossclaim.formats.manifest import load_manifest
from crossclaim.formats.predictions import ALL_TAG_LAYERS, Predictions
from crossclaim.schema.records import Annotation, Document, Pair, Span, Task


def gold_predictions(gold: Gold) -> Predictions:
    """The gold written as predictions: scoring it against itself must give 1.0 everywhere."""
    contradictory = gold.contradictory()
    return Predictions(
        {d.id: list(gold.spans(d.id)) for d in gold.docs},
        ALL_TAG_LAYERS,
        {d.id: set(contradictory.get(d.id, set())) for d in gold.docs},
        {p.id: p.label for p in gold.pairs},
    )


SPAN_EXPORT = Path("exports/spans.json")
PAIR_EXPORT = Path("exports/pairs.json")
PREDICTION_EXPORT = Path("exports/predictions.json")  # pre-annotations, kept apart from the gold


@dataclass
class Gold:
    """The validated gold: documents, each document's gold spans, pairs, and what was skipped.

    ``tasks`` and ``pair_tasks`` hold every annotator's work (for agreement and for what a pull changes).
    """

    docs: list[Document]
    tasks: dict[str, Task]
    gold: dict[str, Annotation]
    pairs: list[Pair]
    notes: list[str] = field(default_factory=list)
    pair_tasks: list[PairTask] = field(default_factory=list)

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
    annotations: Path,
    gold_annotator: str | None = None,
    spans_data: list | None = None,
    pairs_data: list | None = None,
    source: str | None = None,
) -> Gold:
    """Read and validate annotations/; raise InputError naming file, task and region on bad input.

    ``spans_data`` / ``pairs_data`` stand in for the export files (a pull validates what it
    would write before writing it); ``source`` names where they came from in messages.
    """
    docs = load_manifest(annotations)
    by_id = {d.id: d for d in docs}
    notes: list[str] = []
    tasks: dict[str, Task] = {}
    gold: dict[str, Annotation] = {}
    span_path = annotations / SPAN_EXPORT
    where = f"{source} span export" if source and spans_data is not None else str(span_path)
    if spans_data is not None or span_path.is_file():
        data = spans_data if spans_data is not None else read_json(span_path)
        problems: list[tuple[str, str]] = []
        for task in parse_span_export(data, where, by_id):
            tasks[task.doc_id] = task
            chosen = choose_gold(task.annotations, f"{where}: doc {task.doc_id}", gold_annotator, problems, notes)
            if chosen is not None:
                gold[task.doc_id] = chosen
        InputError.collect(problems)
    result = Gold(docs, tasks, gold, [], notes)
    pair_path = annotations / PAIR_EXPORT
    where = f"{source} claim-pair export" if source and pairs_data is not None else str(pair_path)
    if pairs_data is not None or pair_path.is_file():
        claims = result.claims()
        data = pairs_data if pairs_data is not None else read_json(pair_path)
        result.pair_tasks = parse_pair_tasks(data, where, claims)
        result.pairs = gold_pairs(result.pair_tasks, where, gold_annotator, notes)
        problems = []
        for p in result.pairs:
            for doc, cid in ((p.a_doc, p.a_claim), (p.b_doc, p.b_claim)):
                if claims[(doc, cid)].topic != p.topic:
                    problems.append(
                        (
                            f"{where}: pair {p.id}",
                            f"claim {doc}:{cid} has topic {claims[(doc, cid)].topic!r}, the pair says {p.topic!r}",
                        )
                    )
        InputError.collect(problems)
    return result


def pair_annotations(gold: Gold) -> dict[str, list[Pair]]:
    """Every annotator's pair labels (not only the gold), for agreement."""
    out: dict[str, list[Pair]] = defaultdict(list)
    for task in gold.pair_tasks:
        for a in task.annotations:
            if isinstance(a.payload, Pair) and not a.was_cancelled:
                out[a.annotator].append(a.payload)
    return dict(out)
