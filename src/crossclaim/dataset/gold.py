"""The validated gold: manifest documents, Label Studio exports, the gold annotation of each task.

The rules of reading annotations/ live here and in ``formats``: ``read_pairs`` (the claim-pair export),
``gold_of_tasks`` (each valid span task with its gold annotation) and ``pair_problems`` (pairs against the
gold claims). ``GoldStream`` applies them a document at a time, ``load_gold`` to the whole of annotations/,
a build to a part of the span export at a time (``dataset.build``); bad input raises InputError.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from crossclaim.dataset.pairset import (
    STALE_ADVICE,
    Topics,
    declarations,
    stale_pairs,
)
from crossclaim.dataset.splits import contradictory_claims
from crossclaim.errors import InputError, Problems, shown
from crossclaim.formats.jsonio import iter_array, read_json
from crossclaim.formats.labelstudio.annotations import IN_DISPUTE, GoldPolicy, dispute_note, settle_gold
from crossclaim.formats.labelstudio.pairs import PairTask, gold_pairs, parse_pair_tasks, unknown_claims
from crossclaim.formats.labelstudio.spans import parse_span_tasks
from crossclaim.formats.manifest import load_manifest
from crossclaim.formats.team import load_team
from crossclaim.schema.records import Annotation, Document, Pair, Span, Task
from crossclaim.schema.scheme import LAYERS

SPAN_EXPORT = Path("exports/spans.json")
PAIR_EXPORT = Path("exports/pairs.json")
PREDICTION_EXPORT = Path("exports/predictions.json")  # pre-annotations, kept apart from the gold


@dataclass
class Gold:
    """The validated gold: documents, each document's gold spans, pairs, and what was skipped; ``tasks``
    and ``pair_tasks`` hold every annotator's work (for agreement and for what a pull changes)."""

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

    def contradictory(self, nested: bool = True) -> dict[str, set[str]]:
        """Contradictory claims per document, as published (``contradictory_claims`` with the splits).

        ``nested=False``: every pair counts, for an evaluation that holds each document out against
        all the others (leave-one-document-out).
        """
        return contradictory_claims(self.pairs, {d.id: d.split for d in self.docs} if nested else None)


@dataclass(frozen=True)
class DocGold:
    """One manifest document with its task (None when it has none) and its gold annotation."""

    doc: Document
    task: Task | None
    annotation: Annotation | None

    @property
    def spans(self) -> list[Span]:
        return self.annotation.spans if self.annotation else []


def gold_policy(annotations: Path, gold_annotator: str | None) -> GoldPolicy:
    """The gold rule's inputs: the ``--gold`` annotator and the team's adjudicators (annotations/team.json)."""
    return GoldPolicy(gold_annotator, frozenset(load_team(annotations).adjudicators))


def unannotated(doc: Document, task: Task | None, where: str) -> str:
    """The note naming a manifest document left out of the dataset as it has no gold annotation yet (its
    empty layers would be scored as gold; an empty gold annotation does publish it, ``settle_gold``)."""
    if task is not None and task.gold is not None and task.gold.rule == IN_DISPUTE:
        return f"{where}: doc {doc.id} is {dispute_note(task.gold)}: left out of the dataset until it is settled"
    why = "has no task in the span export" if task is None else "has no annotation (or only cancelled ones)"
    return f"{where}: doc {doc.id} {why}: not annotated yet, left out of the dataset"


def gold_of_tasks(
    tasks: Iterable[Task],
    by_id: dict[str, Document],
    where: str,
    policy: GoldPolicy,
    notes: list[str],
    furniture: bool = True,
) -> Iterator[DocGold]:
    """Each valid task with its gold annotation (``settle_gold``); problems raised after the last.
    ``furniture``: a gold span in declared page furniture is a problem (``in_furniture``); off where exports
    are read under other rules (a push, so that such a span can be deleted; an older export)."""
    problems = Problems()
    for task in tasks:
        before = len(problems)
        here = f"{where}: doc {task.doc_id}"
        chosen = settle_gold(task, here, policy, problems, notes)
        if chosen is not None and furniture:
            problems += in_furniture(by_id[task.doc_id], chosen, here)
        if len(problems) == before:
            yield DocGold(by_id[task.doc_id], task, chosen)
    InputError.collect(problems)


def in_furniture(doc: Document, annotation: Annotation, here: str) -> list[tuple[str, str]]:
    """A problem for every gold span that shares a character with page furniture the manifest declares:
    furniture is not annotated (and a predicted span touching it is not scored, so such a gold span could
    never be found)."""
    return [
        (
            f"{here}, annotation by {annotation.annotator}, region {s.id}",
            f"{LAYERS[s.layer].noun} {shown(s.text, 40)} at {s.start}:{s.end} is in page furniture "
            f"({f.kind} {f.start}:{f.end}, annotations/manifest.json): furniture is never annotated; "
            "delete the region in Label Studio",
        )
        for s in annotation.spans
        if (f := doc.furniture_at(s.start, s.end)) is not None
    ]


def read_pairs(
    annotations: Path, policy: GoldPolicy, notes: list[str], data: list | None = None, where: str | None = None
) -> tuple[list[PairTask], list[Pair]]:
    """The claim-pair tasks and their gold pairs, validated on their own (claims are checked later)."""
    path = annotations / PAIR_EXPORT
    where = where or str(path)
    if data is None and not path.is_file():
        return [], []
    tasks = parse_pair_tasks(data if data is not None else read_json(path), where)
    return tasks, gold_pairs(tasks, where, policy, notes)


def named_claims(tasks: list[PairTask]) -> set[tuple[str, str]]:
    """(document, claim) of every claim the claim-pair tasks name."""
    return {(t.data[f"{side}_doc"], t.data[f"{side}_claim"]) for t in tasks for side in ("a", "b")}


def pair_problems(
    tasks: list[PairTask],
    pairs: list[Pair],
    claims: dict[tuple[str, str], Span],
    topics: Topics,
    where: str,
    span_where: str,
    pair_set: bool = True,
) -> list[tuple[str, str]]:
    """Pairs must name gold claims, declarations (``compare_with``) other gold claims, and (``pair_set``)
    every pair task must be in the pair set (``dataset.pairset``): a stale one is named with its gold label.
    ``claims`` holds at least those the tasks name or with a ``compare_with``, ``topics`` every gold claim's.
    """
    out = unknown_claims(tasks, claims)
    declared = declarations(claims, span_where, topics)
    out += declared.problems
    if not pair_set:
        return out
    gold = {p.id: p for p in pairs}
    stale = [
        (f"{where}: pair {pid} ({described_gold(gold.get(pid))})", f"not a pair any more: {why}")
        for pid, why in stale_pairs(tasks, topics, declared.pairs).items()
    ]
    return out + stale + ([(where, STALE_ADVICE)] if stale else [])


def described_gold(p: Pair | None) -> str:
    """A pair's gold label and annotator, in messages about the pair."""
    return f"gold {p.label} by {p.annotator}" if p else "no gold label"


class GoldStream:
    """annotations/ read one document at a time, validated in full by the time the iteration ends.

    The manifest and the claim-pair export are read first (``docs``, ``pair_tasks``, ``pairs``); iterating
    yields every document with its validated gold, then checks the pairs against the gold claims, raising
    every problem at the end (a caller that writes nothing before then writes nothing of bad input).
    ``spans_data`` / ``pairs_data`` stand in for the export files, named ``source`` in messages;
    ``pair_set=False`` / ``furniture=False`` leave out the pair-set and page-furniture checks (exports made
    under an older release's rules). After the iteration ``claims`` holds the gold claims the pair tasks
    name or with a ``compare_with`` (``all_claims``: every one; all whole would outweigh a large corpus).
    """

    def __init__(
        self,
        annotations: Path,
        gold_annotator: str | None = None,
        spans_data: Iterable | None = None,
        pairs_data: list | None = None,
        source: str | None = None,
        pair_set: bool = True,
        all_claims: bool = False,
        furniture: bool = True,
    ) -> None:
        self.annotations, self.spans_data = annotations, spans_data
        self.pair_set, self.all_claims, self.furniture = pair_set, all_claims, furniture
        self.policy = gold_policy(annotations, gold_annotator)
        # where the exports are, as messages name them
        self.span_where = (
            f"{source} span export" if source and spans_data is not None else str(annotations / SPAN_EXPORT)
        )
        self.pair_where = (
            f"{source} claim-pair export" if source and pairs_data is not None else str(annotations / PAIR_EXPORT)
        )
        self.docs = load_manifest(annotations)
        self.notes: list[str] = []
        self.pair_tasks, self.pairs = read_pairs(annotations, self.policy, self.notes, pairs_data, self.pair_where)
        self.claims: dict[tuple[str, str], Span] = {}
        self.spans_valid = False  # the span export read to its end without a problem (pairs are checked after)

    def __iter__(self) -> Iterator[DocGold]:
        """Every document with its validated gold, one task at a time as the span export is read: in
        export order, then those without a task in manifest order."""
        named = None if self.all_claims else named_claims(self.pair_tasks)
        self.claims, topics, self.spans_valid = {}, {}, False
        path = self.annotations / SPAN_EXPORT
        by_id = {d.id: d for d in self.docs}
        data = self.spans_data if self.spans_data is not None else iter_array(path) if path.is_file() else ()
        tasks = parse_span_tasks(data, self.span_where, by_id)
        seen: set[str] = set()
        for g in gold_of_tasks(tasks, by_id, self.span_where, self.policy, self.notes, self.furniture):
            seen.add(g.doc.id)
            kept_claims(g, named, self.claims, topics)
            yield g
        yield from (DocGold(d, None, None) for d in self.docs if d.id not in seen)
        self.spans_valid = True
        problems = pair_problems(
            self.pair_tasks, self.pairs, self.claims, topics, self.pair_where, self.span_where, self.pair_set
        )
        InputError.collect(problems)


def kept_claims(
    g: DocGold, named: set[tuple[str, str]] | None, claims: dict[tuple[str, str], Span], topics: dict
) -> None:
    """Note a document's claims as the pair checks need them: every topic, and whole the claims
    ``named`` (None: all) or with a ``compare_with``."""
    for s in g.spans:
        if s.layer == "claims":
            key = (g.doc.id, s.id)
            topics[key] = s.topic
            if named is None or key in named or s.attrs.get("compare_with"):
                claims[key] = s


def load_gold(
    annotations: Path,
    gold_annotator: str | None = None,
    spans_data: list | None = None,
    pairs_data: list | None = None,
    source: str | None = None,
    pair_set: bool = True,
    furniture: bool = True,
) -> Gold:
    """Read and validate annotations/ whole (``GoldStream``, whose arguments these are, holding every
    document); raise InputError naming file, task and region on bad input."""
    stream = GoldStream(
        annotations, gold_annotator, spans_data, pairs_data, source, pair_set, all_claims=True, furniture=furniture
    )
    golds = list(stream)
    tasks = {g.doc.id: g.task for g in golds if g.task is not None}
    gold = {g.doc.id: g.annotation for g in golds if g.annotation is not None}
    return Gold(stream.docs, tasks, gold, stream.pairs, stream.notes, stream.pair_tasks)


def read_export_dir(annotations: Path, directory: Path, gold_annotator: str | None = None) -> Gold:
    """The gold of a directory holding a ``spans.json`` and a ``pairs.json`` export, read against the
    manifest of ``annotations`` as ``load_gold`` reads the committed ones. The pair-set and page-furniture
    checks are left out: an older export was made under the rules of its own release."""
    data = []
    for name in (SPAN_EXPORT.name, PAIR_EXPORT.name):
        path = directory / name
        if not path.is_file():
            raise InputError(str(path), f"no {name} here: give a directory holding spans.json and pairs.json")
        data.append(read_json(path))
    return load_gold(annotations, gold_annotator, data[0], data[1], str(directory), pair_set=False, furniture=False)


def pair_annotations(tasks: list[PairTask]) -> dict[str, list[Pair]]:
    """Every annotator's pair labels (not only the gold), for agreement."""
    out: dict[str, list[Pair]] = defaultdict(list)
    for task in tasks:
        for a in task.annotations:
            if isinstance(a.payload, Pair) and not a.was_cancelled:
                out[a.annotator].append(a.payload)
    return dict(out)
