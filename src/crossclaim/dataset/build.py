"""``crossclaim build``: annotations/ in, dataset/ and every generated file out, replaced as one set.

One path, whatever starts it (``build`` with any flag, ``studio pull``, ``studio check``; a pull
hands over the gold it validated as it read the server's export, ``Validated``, instead of the parts):

    stage
      read_pairs          the manifest and the claim-pair export, validated            (gold)
      rows_of_part        each part of the span export, over worker processes (``scale``):
                            parse_span_tasks → gold_of_tasks → TableBuilder → spill  (formats, gold, tables)
      Summary.add         its counts and notes, duplicates checked across parts
      checked_pairs       the pairs against the gold claims (stale pairs named, or dropped)
      Sink.write          the data files, in manifest order, counted as written       (published)
      write_generated     card, Croissant, configs, datasheet and guideline blocks     (docs)

Everything is read and validated before anything is replaced: ``files.transaction`` stages every
output and swaps it in as one set.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from crossclaim.dataset.agreement import AnnotatorTally, agreement_md
from crossclaim.dataset.docs import write_generated
from crossclaim.dataset.gold import (
    PAIR_EXPORT,
    SPAN_EXPORT,
    DocGold,
    described_gold,
    gold_of_tasks,
    gold_policy,
    kept_claims,
    named_claims,
    pair_annotations,
    pair_problems,
    read_pairs,
    unannotated,
)
from crossclaim.dataset.pairset import declarations, stale_pairs
from crossclaim.dataset.published import Published, Run, Sink, Where, spill, write_file
from crossclaim.dataset.splits import contradictory_claims
from crossclaim.dataset.tables import TableBuilder, pair_tables
from crossclaim.errors import InputError, Problems
from crossclaim.files import Staged, transaction
from crossclaim.formats.jsonio import ArrayFile, array_file, read_json
from crossclaim.formats.labelstudio.annotations import GoldPolicy
from crossclaim.formats.labelstudio.committed import export_json
from crossclaim.formats.labelstudio.pairs import PairTask
from crossclaim.formats.labelstudio.spans import TaskKeys, from_utf16, parse_span_tasks
from crossclaim.formats.manifest import load_manifest
from crossclaim.formats.team import load_team
from crossclaim.scale import in_order, release_memory, system_arrow_pool, worker_count
from crossclaim.schema.records import Document, Pair, Span, Task

DATASET = Path("dataset")
PART = 64  # span tasks per part


@dataclass
class BuildReport:
    documents: int
    spans: dict[str, int]
    pairs: int
    tokens_cut: int
    notes: list[str]


@dataclass(frozen=True)
class Validated:
    """Exports a command has read and validated itself (a pull, a task at a time, with its own checks):
    the build takes their gold as it streams rather than reading an export a second time. The stream
    ends with the command's checks, so a problem there stops the build before anything is replaced."""

    golds: Iterator[DocGold]  # each span task's validated gold
    pair_tasks: list[PairTask]
    pairs: list[Pair]  # the gold pairs, already checked against the gold claims by the stream
    notes: list[str]  # what the command's reading noted (complete once ``golds`` is)


def build(
    root: Path,
    gold_annotator: str | None = None,
    progress: Callable[[], None] | None = None,
    utf16: bool = False,
    workers: int | None = None,
    on_wait: Callable[[], None] | None = None,
    drop_stale_pairs: bool = False,
) -> BuildReport:
    """Validate annotations/ and regenerate dataset/ and every generated file under ``root``, as one set.

    ``utf16``: the committed span export counts UTF-16 code units (older Label Studio); it is
    rewritten with code points, staged with everything else, and built from like any export.
    ``drop_stale_pairs``: pair tasks no longer in the pair set (``dataset.pairset``) are removed from
    the committed claim-pair export, each named in the report's notes (otherwise each is an error).
    ``workers``: processes that read the span export (default one per core); the output does not
    depend on it. ``on_wait`` is called once if another build holds the lock.
    """
    with transaction(root, on_wait) as out:
        spans = root / "annotations" / SPAN_EXPORT
        if utf16:
            rewritten = from_utf16(read_json(spans), str(spans))
            spans = out.file(Path("annotations") / SPAN_EXPORT)
            spans.write_text(export_json(rewritten), encoding="utf-8")
        return stage(root, out, spans, gold_annotator, progress, workers, drop_stale_pairs)


def stage(
    root: Path,
    out: Staged,
    exports: Path | Validated | None = None,
    gold_annotator: str | None = None,
    progress: Callable[[], None] | None = None,
    workers: int | None = None,
    drop_stale_pairs: bool = False,
) -> BuildReport:
    """Stage dataset/ and the generated files in ``out`` from ``exports``: a span export (default: the
    committed one) beside the committed claim-pair export, or what a command validated; nothing is
    replaced yet."""
    annotations = root / "annotations"
    validated = exports if isinstance(exports, Validated) else None
    notes = validated.notes if validated else []
    policy = gold_policy(annotations, gold_annotator)
    pair_tasks, pairs = (validated.pair_tasks, validated.pairs) if validated else read_pairs(annotations, policy, notes)
    with tempfile.TemporaryDirectory(prefix="spill-", dir=out.stage) as scratch:
        spans = None if validated else exports or annotations / SPAN_EXPORT
        job = Job.of(annotations, spans, policy, pair_tasks, pairs, Path(scratch))
        summary, sink = Summary(), Sink()
        if validated:
            parts = validated_parts(job, validated.golds)
        else:
            parts = in_order(rows_of_part, job, len(job.export), PART, worker_count(workers))
        for part in parts:
            summary.add(part)
            sink.add(part.runs)
            _tick(progress, part.end - part.start)
        InputError.collect(summary.problems)
        tasked = set(summary.tasked)
        left = [d for d in job.by_id.values() if d.id not in tasked]
        summary.notes += [unannotated(d, None, job.where) for d in left]
        _tick(progress, len(left))
        if validated is None:  # a command's stream checked its pairs against the gold claims already
            pair_tasks, pairs = checked_pairs(job, pair_tasks, pairs, summary, out if drop_stale_pairs else None)
        staging = out.dir(DATASET)
        published = Published(tokens_cut=summary.tokens_cut)
        with system_arrow_pool():
            sink.write(staging, list(job.by_id), published)
        release_memory()
        for split, table in pair_tables(pairs, summary.claims, job.split_of).items():
            write_file(staging, "claim_pairs", split, [table], published)
    team = load_team(annotations)  # its adjudicators are not compared
    agreement = agreement_md(summary.several, pair_annotations(pair_tasks), annotators=summary.tally.table(), team=team)
    write_generated(root, staging, published, agreement, out)
    documents = sum(published.rows["documents"].values())
    return BuildReport(documents, dict(summary.spans), len(pairs), summary.tokens_cut, notes + summary.notes)


def _tick(progress: Callable[[], None] | None, n: int) -> None:
    for _ in range(n if progress else 0):
        progress()


# ---------------------------------------------------------------------------------------------
# one part of the span export


@dataclass(frozen=True)
class Job:
    """What every part of a build needs: where the export's tasks are, the manifest, the pairs' claims."""

    export: ArrayFile | tuple  # where the span export's tasks are (``array_file``)
    by_id: dict[str, Document]  # the manifest's documents, in its order
    split_of: dict[str, str]
    contradictory: dict[str, set[str]]  # the claims flagged, per document (``contradictory_claims``)
    claim_keys: set[tuple[str, str]]  # the claims pairs name: only those are kept whole for the pairs
    gold: GoldPolicy  # how each task's gold is chosen where the export records none
    where: str  # the span export as messages name it (the committed file, also when a staged one is read)
    pair_where: str  # the claim-pair export, likewise
    scratch: Path  # where parts spill their rows

    @classmethod
    def of(
        cls,
        annotations: Path,
        spans: Path | None,
        policy: GoldPolicy,
        pair_tasks: list[PairTask],
        pairs: list[Pair],
        scratch: Path,
    ) -> Job:
        where = str(annotations / SPAN_EXPORT)
        docs = load_manifest(annotations)
        split_of = {d.id: d.split for d in docs}
        # a pair naming a document the manifest lacks is reported after the span export (whose task for
        # that document says so first, the real cause); until then it has no split and flags no claim
        known = [p for p in pairs if p.a_doc in split_of and p.b_doc in split_of]
        flagged = contradictory_claims(known, split_of)
        export = array_file(spans, where) if spans is not None and spans.exists() else ()
        by_id = {d.id: d for d in docs}
        pair_where = str(annotations / PAIR_EXPORT)
        return cls(export, by_id, split_of, flagged, named_claims(pair_tasks), policy, where, pair_where, scratch)


@dataclass
class Part:
    """What one part of the export gave (or the parts, ``Summary``): where its rows were spilled, what it
    counts and notes, its problems."""

    start: int = 0
    end: int = 0
    runs: dict[Where, dict[str, Run]] = field(default_factory=dict)
    seen: TaskKeys = field(default_factory=TaskKeys)  # its task ids and documents (duplicates within it found)
    tasked: list[str] = field(default_factory=list)  # the documents of its valid tasks
    spans: Counter = field(default_factory=Counter)
    tally: AnnotatorTally = field(default_factory=AnnotatorTally)
    several: list[Task] = field(default_factory=list)  # tasks with more than one annotation, for agreement
    claims: dict[tuple[str, str], Span] = field(default_factory=dict)
    topics: dict[tuple[str, str], str | None] = field(default_factory=dict)
    tokens_cut: int = 0
    notes: list[str] = field(default_factory=list)
    problems: Problems = field(default_factory=Problems)


def rows_of_part(job: Job, start: int, end: int) -> Part:
    """Tasks ``start`` to ``end`` of the span export: parsed, validated, their gold chosen, their rows
    built and spilled (in a worker process, or inline)."""
    part = Part(start, end)
    tasks = parse_span_tasks(job.export.tasks(start, end), job.where, job.by_id, start, part.seen)
    return rows_of_gold(job, part, gold_of_tasks(tasks, job.by_id, job.where, job.gold, part.notes))


def validated_parts(job: Job, golds: Iterator[DocGold]) -> Iterator[Part]:
    """The parts of gold a command validated itself (``Validated``): ``PART`` tasks each, built inline."""
    start = 0
    while chunk := list(islice(golds, PART)):
        yield rows_of_gold(job, Part(start, start + len(chunk)), chunk)
        start += len(chunk)


def rows_of_gold(job: Job, part: Part, golds: Iterable[DocGold]) -> Part:
    """``part`` with the rows of each task's gold built and spilled, its tallies, notes and problems."""
    builder = TableBuilder(job.split_of, job.contradictory)
    try:
        for g in golds:
            part.tasked.append(g.doc.id)
            if g.annotation is None:
                part.notes.append(unannotated(g.doc, g.task, job.where))
            else:
                builder.add(g)
                kept_claims(g, job.claim_keys, part.claims, part.topics)
                part.spans.update(s.layer for s in g.spans)
            if g.task is not None:
                part.tally.add(g.task)
                if sum(not a.was_cancelled for a in g.task.annotations) > 1:
                    part.several.append(g.task)
    except InputError as exc:
        part.problems = Problems(exc.problems)
    part.runs = spill(builder.flushed(), job.scratch, f"{part.start:09d}")
    part.tokens_cut = builder.tokens_cut
    return part


@dataclass
class Summary(Part):
    """The parts merged in export order (a later part's claims win), with the check that spans parts
    (duplicate tasks)."""

    def add(self, part: Part) -> None:
        self.problems += self.seen.merge(part.seen)
        self.tasked += part.tasked
        self.spans += part.spans
        self.tally.merge(part.tally)
        self.several += part.several
        self.claims.update(part.claims)
        self.topics.update(part.topics)
        self.tokens_cut += part.tokens_cut
        self.notes += part.notes
        self.problems += part.problems


def checked_pairs(
    job: Job, tasks: list[PairTask], pairs: list[Pair], summary: Summary, drop_into: Staged | None
) -> tuple[list[PairTask], list[Pair]]:
    """The pairs, checked against the gold claims (InputError naming each problem). A pair task whose pair
    is no longer in the pair set is an error, or with ``drop_into`` removed from the claim-pair export
    staged there, named in the notes with its gold label."""
    where = job.pair_where
    if drop_into is not None:
        declared = declarations(summary.claims, job.where, summary.topics)
        stale = stale_pairs(tasks, summary.topics, declared.pairs)
        if stale:
            labels = {p.id: p for p in pairs}
            for pid, why in stale.items():
                n = sum(len(t.annotations) for t in tasks if t.data["pair_id"] == pid)
                gold = described_gold(labels.get(pid))
                summary.notes.append(f"dropped stale pair {pid} ({gold}; {n} annotations): {why}")
            raw = read_json(Path(where))
            kept = [t for t in raw if t["data"]["pair_id"] not in stale]
            drop_into.write_text(Path("annotations") / PAIR_EXPORT, export_json(kept))
            tasks = [t for t in tasks if t.data["pair_id"] not in stale]
            pairs = [p for p in pairs if p.id not in stale]
    InputError.collect(pair_problems(tasks, pairs, summary.claims, summary.topics, where, job.where))
    return tasks, pairs
