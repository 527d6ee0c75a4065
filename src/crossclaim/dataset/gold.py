"""The validated gold: manifest documents, Label Studio exports, the gold annotation of each task.

``load_gold`` is the only way annotations/ is read; it raises InputError naming file, task and
region on bad input.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from crossclaim.dataset.pairset import STALE_ADVICE, Declarations, Stale, declarations, stale_pairs
from crossclaim.dataset.splits import contradictory_claims
from crossclaim.errors import InputError
from crossclaim.formats.jsonio import read_json
from crossclaim.formats.jsonstream import iter_array
from crossclaim.formats.labelstudio.annotations import choose_gold
from crossclaim.formats.labelstudio.pairs import PairTask, gold_pairs, parse_pair_tasks, unknown_claims
from crossclaim.formats.labelstudio.spans import parse_span_tasks
from crossclaim.formats.manifest import load_manifest
from crossclaim.schema.records import Annotation, Document, Pair, Span, Task

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

    def split_of(self) -> dict[str, str]:
        return {d.id: d.split for d in self.docs}

    def contradictory(self, nested: bool = True) -> dict[str, set[str]]:
        """Contradictory claims per document, as published (``contradictory_claims`` with the splits).

        ``nested=False``: every pair counts, for an evaluation that holds each document out against
        all the others (leave-one-document-out).
        """
        return contradictory_claims(self.pairs, self.split_of() if nested else None)


@dataclass(frozen=True)
class DocGold:
    """One manifest document with its task (None when it has none) and its gold annotation."""

    doc: Document
    task: Task | None
    annotation: Annotation | None

    @property
    def spans(self) -> list[Span]:
        return self.annotation.spans if self.annotation else []


def stream_gold(
    annotations: Path,
    docs: list[Document],
    gold_annotator: str | None,
    notes: list[str],
    data: list | None = None,
    where: str | None = None,
) -> Iterator[DocGold]:
    """Every document with its validated gold, one task at a time as the span export is read.

    Documents come in export order, then those without a task in manifest order. Problems are
    raised after the last document, so a build that stages its output writes nothing of a bad export.
    """
    path = annotations / SPAN_EXPORT
    where = where or str(path)
    by_id = {d.id: d for d in docs}
    seen: set[str] = set()
    if data is not None or path.is_file():
        raws = data if data is not None else iter_array(path)
        if not isinstance(raws, list | Iterator):
            raise InputError(where, "a Label Studio export is a JSON list of tasks")
        for g in gold_of_tasks(parse_span_tasks(raws, where, by_id), by_id, where, gold_annotator, notes):
            seen.add(g.doc.id)
            yield g
    for d in docs:
        if d.id not in seen:
            yield DocGold(d, None, None)


def gold_of_tasks(
    tasks: Iterable[Task], by_id: dict[str, Document], where: str, gold_annotator: str | None, notes: list[str]
) -> Iterator[DocGold]:
    """Each valid task with its gold annotation (``choose_gold``); problems raised after the last."""
    problems: list[tuple[str, str]] = []
    for task in tasks:
        before = len(problems)
        chosen = choose_gold(task.annotations, f"{where}: doc {task.doc_id}", gold_annotator, problems, notes)
        if len(problems) == before:
            yield DocGold(by_id[task.doc_id], task, chosen)
    InputError.collect(problems)


def read_pairs(
    annotations: Path, gold_annotator: str | None, notes: list[str], data: list | None = None, where: str | None = None
) -> tuple[list[PairTask], list[Pair]]:
    """The claim-pair tasks and their gold pairs, validated on their own (claims are checked later)."""
    path = annotations / PAIR_EXPORT
    where = where or str(path)
    if data is None and not path.is_file():
        return [], []
    tasks = parse_pair_tasks(data if data is not None else read_json(path), where)
    return tasks, gold_pairs(tasks, where, gold_annotator, notes)


def pair_problems(
    tasks: list[PairTask],
    pairs: list[Pair],
    claims: dict[tuple[str, str], Span],
    where: str,
    span_where: str,
    pair_set: bool = True,
) -> list[tuple[str, str]]:
    """Pairs must name gold claims, declarations (``compare_with``) must name other gold claims, and
    (``pair_set``) every pair task must be a pair of the pair set (``dataset.pairset``): a stale one is
    named with its gold label, never dropped silently."""
    out = unknown_claims(tasks, claims)
    declared = declarations(claims, span_where)
    out += declared.problems
    if not pair_set:
        return out
    gold = {p.id: p for p in pairs}
    stale = [
        (f"{where}: pair {s.pair_id} ({described_gold(gold.get(s.pair_id))})", f"not a pair any more: {s.why}")
        for s in stale_of(tasks, claims, declared)
    ]
    return out + stale + ([(where, STALE_ADVICE)] if stale else [])


def described_gold(p: Pair | None) -> str:
    """A pair's gold label and annotator, in messages about the pair."""
    return f"gold {p.label} by {p.annotator}" if p else "no gold label"


def stale_of(tasks: list[PairTask], claims: dict[tuple[str, str], Span], declared: Declarations) -> list[Stale]:
    """The pair tasks whose pair is not in the pair set."""
    sides = (
        (t.data["pair_id"], (t.data["a_doc"], t.data["a_claim"]), (t.data["b_doc"], t.data["b_claim"])) for t in tasks
    )
    return stale_pairs(sides, claims, declared.pairs)


def load_gold(
    annotations: Path,
    gold_annotator: str | None = None,
    spans_data: list | None = None,
    pairs_data: list | None = None,
    source: str | None = None,
    pair_set: bool = True,
) -> Gold:
    """Read and validate annotations/ whole; raise InputError naming file, task and region on bad input.

    ``spans_data`` / ``pairs_data`` stand in for the export files (a pull validates what it
    would write before writing it); ``source`` names where they came from in messages. ``pair_set=False``
    skips the check that every pair task is in the pair set (comparing exports of different scheme
    versions). The build streams instead (``stream_gold``).
    """
    docs = load_manifest(annotations)
    notes: list[str] = []
    span_where = f"{source} span export" if source and spans_data is not None else None
    pair_where = f"{source} claim-pair export" if source and pairs_data is not None else None
    pair_tasks, pairs = read_pairs(annotations, gold_annotator, notes, pairs_data, pair_where)
    streamed = list(stream_gold(annotations, docs, gold_annotator, notes, spans_data, span_where))
    tasks = {g.doc.id: g.task for g in streamed if g.task is not None}
    gold = {g.doc.id: g.annotation for g in streamed if g.annotation is not None}
    result = Gold(docs, tasks, gold, pairs, notes, pair_tasks)
    where = pair_where or str(annotations / PAIR_EXPORT)
    span_where = span_where or str(annotations / SPAN_EXPORT)
    InputError.collect(pair_problems(pair_tasks, pairs, result.claims(), where, span_where, pair_set))
    return result


def read_export_dir(annotations: Path, directory: Path, gold_annotator: str | None = None) -> Gold:
    """The gold of a directory holding a ``spans.json`` and a ``pairs.json`` export, read against the
    manifest of ``annotations`` as ``load_gold`` reads the committed ones. The pair-set check is left
    out: an older export was made under the rules of its own release."""
    data = []
    for name in (SPAN_EXPORT.name, PAIR_EXPORT.name):
        path = directory / name
        if not path.is_file():
            raise InputError(str(path), f"no {name} here: give a directory holding spans.json and pairs.json")
        data.append(read_json(path))
    return load_gold(annotations, gold_annotator, data[0], data[1], str(directory), pair_set=False)


def pair_annotations(tasks: list[PairTask]) -> dict[str, list[Pair]]:
    """Every annotator's pair labels (not only the gold), for agreement."""
    out: dict[str, list[Pair]] = defaultdict(list)
    for task in tasks:
        for a in task.annotations:
            if isinstance(a.payload, Pair) and not a.was_cancelled:
                out[a.annotator].append(a.payload)
    return dict(out)
