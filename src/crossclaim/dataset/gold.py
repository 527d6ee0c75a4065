"""The validated gold: manifest documents, Label Studio exports, the gold annotation of each task.

``load_gold`` is the only way annotations/ is read; it raises InputError naming file, task and
region on bad input.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from crossclaim.dataset.splits import contradictory_claims
from crossclaim.errors import InputError
from crossclaim.formats.jsonio import read_json
from crossclaim.formats.labelstudio.annotations import choose_gold
from crossclaim.formats.labelstudio.pairs import parse_pair_export, parse_pair_tasks
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

    def split_of(self) -> dict[str, str]:
        return {d.id: d.split for d in self.docs}

    def contradictory(self, nested: bool = True) -> dict[str, set[str]]:
        """Contradictory claims per document, as published (``contradictory_claims`` with the splits).

        ``nested=False``: every pair counts, for an evaluation that holds each document out against
        all the others (leave-one-document-out).
        """
        return contradictory_claims(self.pairs, self.split_of() if nested else None)


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
