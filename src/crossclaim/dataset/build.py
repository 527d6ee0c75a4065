"""The one orchestrator of ``crossclaim build``: validate annotations/, stage every output, swap it in.

Everything is read and validated first; the tables, card, Croissant metadata, generated docs,
configs and schema are staged, then committed as one set (``files.transaction``: a lock serialises
builds, a journal lets the next command finish a build killed halfway through the swap).
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import gc
import multiprocessing
import os
import signal
import tempfile
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from crossclaim.dataset.agreement import AnnotatorTally, agreement_md
from crossclaim.dataset.docs import write_generated
from crossclaim.dataset.gold import (
    PAIR_EXPORT,
    SPAN_EXPORT,
    Gold,
    described_gold,
    gold_of_tasks,
    load_gold,
    named_claims,
    pair_annotations,
    pair_problems,
    read_pairs,
    stale_of,
    unannotated,
)
from crossclaim.dataset.pairset import declarations, topics_of
from crossclaim.dataset.published import Packed, Published, Spill, pack, write_table, write_tables
from crossclaim.dataset.splits import contradictory_claims
from crossclaim.dataset.tables import CorpusContext, TableBuilder, make_tables, pair_tables
from crossclaim.errors import InputError, Problems
from crossclaim.files import Staged, transaction
from crossclaim.formats.jsonio import read_json
from crossclaim.formats.jsonstream import (
    collector_paused,
    iter_array_raw,
    parse_element,
    release_memory,
    system_arrow_pool,
)
from crossclaim.formats.labelstudio.annotations import is_task_id
from crossclaim.formats.labelstudio.committed import export_json
from crossclaim.formats.labelstudio.spans import from_utf16, parse_span_tasks
from crossclaim.formats.manifest import load_manifest
from crossclaim.formats.team import load_team
from crossclaim.schema.records import Document, Task

DATASET = Path("dataset")


@dataclass
class BuildReport:
    documents: int
    spans: dict[str, int]
    pairs: int
    tokens_cut: int
    notes: list[str]


def build(
    root: Path,
    gold_annotator: str | None = None,
    progress=None,
    utf16: bool = False,
    workers: int | None = None,
    on_wait=None,
    drop_stale_pairs: bool = False,
) -> BuildReport:
    """Validate annotations/ and regenerate dataset/ and every generated file under ``root``, as one set.

    The span export is streamed: tasks are validated and turned into rows a part at a time, by
    ``workers`` processes (default: one per core, at most ``MAX_WORKERS``), so memory stays bounded
    by the output, not the export. Nothing is written before all of it is valid; the output does
    not depend on the number of workers. ``on_wait`` is called once if another build holds the
    lock (this one then waits for it).

    ``utf16``: the committed span export counts UTF-16 code units (older Label Studio); it is
    rewritten with code points, in the same set as everything else (read whole, not streamed).

    ``drop_stale_pairs``: pair tasks whose pair is no longer in the pair set (``dataset.pairset``) are
    removed from the committed claim-pair export with their labels, each named in the report's notes
    (without it they are an error naming each of them).
    """
    with transaction(root, on_wait) as out:
        if not (utf16 or drop_stale_pairs):
            return stage_streamed(root, out, gold_annotator, progress=progress, workers=workers)
        annotations = root / "annotations"
        spans_data = None
        if utf16:
            path = annotations / SPAN_EXPORT
            spans_data = from_utf16(read_json(path), str(path))
            out.write_text(Path("annotations") / SPAN_EXPORT, export_json(spans_data))
        gold = load_gold(annotations, gold_annotator, spans_data=spans_data, pair_set=not drop_stale_pairs)
        if drop_stale_pairs:
            gold = _without_stale_pairs(gold, annotations, out)
        return stage_build(root, gold, out, progress)


def _without_stale_pairs(gold: Gold, annotations: Path, out: Staged) -> Gold:
    """The gold without its stale pair tasks, the committed claim-pair export rewritten without them."""
    claims = gold.claims()
    topics = topics_of(claims)
    declared = declarations(claims, str(annotations / SPAN_EXPORT), topics)
    stale = {s.pair_id: s for s in stale_of(gold.pair_tasks, topics, declared)}
    if not stale:
        return gold
    labels = {p.id: p for p in gold.pairs}
    notes = [
        f"dropped stale pair {pid} ({described_gold(labels.get(pid))}; "
        f"{sum(len(t.annotations) for t in gold.pair_tasks if t.data['pair_id'] == pid)} annotations): {s.why}"
        for pid, s in stale.items()
    ]
    raw = read_json(annotations / PAIR_EXPORT)
    kept = [t for t in raw if t["data"]["pair_id"] not in stale]
    out.write_text(Path("annotations") / PAIR_EXPORT, export_json(kept))
    return dataclasses.replace(
        gold,
        pairs=[p for p in gold.pairs if p.id not in stale],
        pair_tasks=[t for t in gold.pair_tasks if t.data["pair_id"] not in stale],
        notes=[*gold.notes, *notes],
    )


def stage_build(root: Path, gold: Gold, out: Staged, progress=None) -> BuildReport:
    """Stage dataset/ and the generated files for a loaded ``gold`` in ``out`` (nothing is replaced yet)."""
    tables = make_tables(gold, progress)
    team = load_team(root / "annotations")
    agreement = agreement_md(list(gold.tasks.values()), pair_annotations(gold.pair_tasks), team=team)
    _stage_outputs(root, lambda staging: write_tables(tables, staging), agreement, out)
    spans = Counter(s.layer for d in gold.docs for s in gold.spans(d.id))
    where = str(root / "annotations" / SPAN_EXPORT)
    left = [unannotated(d, gold.tasks.get(d.id), where) for d in gold.docs if d.id not in gold.gold]
    return BuildReport(len(gold.gold), dict(spans), len(gold.pairs), tables.tokens_cut, gold.notes + left)


def _stage_outputs(root: Path, write: Callable[[Path], Published], agreement: str, out: Staged) -> None:
    """Stage dataset/ (its data files written by ``write``, then the card and the rest) and the generated docs."""
    staging = out.dir(DATASET)
    write_generated(root, staging, write(staging), agreement, out)


def stage_streamed(
    root: Path,
    out: Staged,
    gold_annotator: str | None = None,
    spans: Path | None = None,
    pairs_data: list | None = None,
    progress=None,
    workers: int | None = None,
) -> BuildReport:
    """Stage dataset/ and the generated files in ``out``, streaming the span export (nothing is replaced yet).

    Rows are spilled to a scratch directory in the stage as the parts of the export are built, and
    written to the data files in manifest order (``published``): memory is bounded by a part and
    a row group, not by the export. ``spans`` and ``pairs_data`` stand in for the committed exports
    (a pull builds from what it has staged); messages still name the committed files they are about
    to replace.
    """
    annotations = root / "annotations"
    notes: list[str] = []
    pair_tasks, pairs = read_pairs(annotations, gold_annotator, notes, pairs_data)
    with system_arrow_pool(), tempfile.TemporaryDirectory(prefix="spill-", dir=out.stage) as scratch:
        spill = Spill(Path(scratch))
        corpus, merged = _rows_of_parts(annotations, gold_annotator, spans, pair_tasks, pairs, spill, progress, workers)
        release_memory()  # the manifest's texts are gone: the spilled rows are all that is left
        where, span_where = str(annotations / PAIR_EXPORT), str(annotations / SPAN_EXPORT)
        InputError.collect(pair_problems(pair_tasks, pairs, spill.claims, where, span_where, topics=spill.topics))

        def write(staging: Path) -> Published:
            published = Published()
            spill.write(staging, sorted(corpus.order, key=corpus.order.__getitem__), published)
            for split, table in pair_tables(pairs, spill.claims, corpus.split_of).items():
                write_table(staging, "claim_pairs", split, table, published)
            return published

        team = load_team(annotations)  # its adjudicators are not compared
        agreement = agreement_md(
            merged.several, pair_annotations(pair_tasks), annotators=merged.tally.table(), team=team
        )
        _stage_outputs(root, write, agreement, out)
    return BuildReport(merged.documents, dict(merged.spans), len(pairs), spill.tokens_cut, notes + merged.notes)


def _rows_of_parts(
    annotations: Path,
    gold_annotator: str | None,
    spans: Path | None,
    pair_tasks: list,
    pairs: list,
    spill: Spill,
    progress,
    workers: int | None,
) -> tuple[CorpusContext, _Merged]:
    """Every annotated document's rows, validated and spilled (the manifest, texts and all, is let go of on
    return); the documents not annotated yet are named in the notes."""
    docs = load_manifest(annotations)
    split_of = {d.id: d.split for d in docs}
    # a pair naming a document the manifest lacks is reported after the span export (whose task for that
    # document says so first, the real cause); until then it has no split and flags no claim
    known = [p for p in pairs if p.a_doc in split_of and p.b_doc in split_of]
    published = contradictory_claims(known, split_of)
    job = _Job(
        CorpusContext.of(docs, published),
        {d.id: d for d in docs},
        annotations,
        gold_annotator,
        spans or annotations / SPAN_EXPORT,
        named_claims(pair_tasks),
    )
    merged = _Merged()
    for result in _parts(job, workers):
        merged.add(result, spill)
        if progress:
            for _ in range(result.tasks):
                progress()
    InputError.collect(merged.problems)
    for d in docs:
        if d.id not in merged.docs:
            merged.notes.append(unannotated(d, None, job.where))
            if progress:
                progress()
    return job.corpus, merged


# ---------------------------------------------------------------------------------------------
# the span export in parts, over worker processes

MAX_WORKERS = 4
PART = 64  # tasks per part


@dataclass(frozen=True)
class _Job:
    corpus: CorpusContext
    by_id: dict[str, Document]
    annotations: Path
    gold_annotator: str | None
    path: Path  # the span export read (the committed one, or one staged to replace it)
    claim_keys: set[tuple[str, str]]  # the claims pairs name: only those are kept for the pairs

    @property
    def where(self) -> str:
        return str(self.annotations / SPAN_EXPORT)


@dataclass
class _PartResult:
    """What one part of the export gave: its rows, tallies, and the problems found in it."""

    rows: Packed
    tasks: int
    documents: int  # those published (the others have no gold annotation yet)
    keys: list[tuple[object, object, str]]  # (task id, document id, where) of every task, for duplicates
    spans: Counter
    tally: AnnotatorTally
    several: list[Task]
    notes: list[str]
    problems: Problems


@dataclass
class _Merged:
    """The parts merged in export order, with the checks that span parts (duplicate tasks)."""

    ids: set = field(default_factory=set)
    docs: set = field(default_factory=set)
    documents: int = 0  # published
    spans: Counter = field(default_factory=Counter)
    tally: AnnotatorTally = field(default_factory=AnnotatorTally)
    several: list[Task] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: Problems = field(default_factory=Problems)

    def add(self, r: _PartResult, spill: Spill) -> None:
        spill.add(r.rows)
        ids = {i for i, _, _ in r.keys if is_task_id(i)}  # a malformed id is reported by the part's parser
        docs = {d for _, d, _ in r.keys if isinstance(d, str)}
        for task_id, doc_id, here in r.keys:
            if is_task_id(task_id) and task_id in self.ids:
                self.problems.add(here, "duplicate task id")
            if isinstance(doc_id, str) and doc_id in self.docs:
                self.problems.add(here, f"duplicate task for document {doc_id}")
        self.ids |= ids
        self.docs |= docs
        self.documents += r.documents
        self.spans += r.spans
        self.tally.merge(r.tally)
        self.several += r.several
        self.notes += r.notes
        self.problems += r.problems


_JOB: _Job | None = None  # the job a forked worker inherits


def _parts(job: _Job, workers: int | None) -> Iterator[_PartResult]:
    """Results of every part of the span export, in export order, at most two parts per worker ahead."""
    if not job.path.exists():
        return
    numbered = ((n * PART, list(chunk)) for n, chunk in enumerate(_chunks(iter_array_raw(job.path, job.where), PART)))
    workers = worker_count(workers)
    if workers == 1 or "fork" not in multiprocessing.get_all_start_methods():
        yield from (_build_part(part, job) for part in numbered)
        return
    global _JOB
    _JOB = job
    try:
        fork = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=fork, initializer=_start_worker, initargs=(os.getpid(),)) as pool:
            pending: deque = deque()
            for part in numbered:
                pending.append(pool.submit(_build_part, part))
                if len(pending) >= 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
    finally:
        _JOB = None


def worker_count(workers: int | None = None) -> int:
    """The processes a build spreads its parts over: ``workers``, by default one per core, at most ``MAX_WORKERS``."""
    return min(workers or os.cpu_count() or 1, MAX_WORKERS)


def _start_worker(parent: int) -> None:
    """A worker ends when the build that forked it does: a killed build leaves no idle orphans behind.

    Its garbage collector stays off: a worker parses and drops millions of objects that hold no
    reference cycles, and the collector, back on after each part, only rescanned them (5% of a build).
    """
    gc.disable()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # Linux
    if os.getppid() != parent:  # the build died before the line above
        os._exit(1)


_PR_SET_PDEATHSIG = 1


def _chunks(items: Iterator[bytes], size: int) -> Iterator[list[bytes]]:
    chunk: list[bytes] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _build_part(part: tuple[int, list[bytes]], job: _Job | None = None) -> _PartResult:
    """Parse, validate and build the rows of some tasks (in a worker process, or inline)."""
    job = job or _JOB
    assert job is not None
    start, raws = part
    keys: list[tuple[object, object, str]] = []

    def parsed() -> Iterator[object]:
        for n, raw in enumerate(raws, start):
            task = parse_element(raw, job.where, n)
            data = task.get("data") if isinstance(task, dict) else None
            doc_id = data.get("doc_id") if isinstance(data, dict) else None
            task_id = task.get("id") if isinstance(task, dict) else None
            keys.append((task_id, doc_id, f"{job.where}: task {task_id if task_id is not None else '#' + str(n)}"))
            yield task

    builder = TableBuilder(job.corpus, job.claim_keys)
    spans: Counter = Counter()
    tally, several, notes = AnnotatorTally(), [], []
    problems = Problems()
    try:
        with collector_paused():
            tasks = parse_span_tasks(parsed(), job.where, job.by_id, start)
            for g in gold_of_tasks(tasks, job.by_id, job.where, job.gold_annotator, notes):
                if g.annotation is None:
                    notes.append(unannotated(g.doc, g.task, job.where))
                else:
                    builder.add(g)
                    spans.update(s.layer for s in g.spans)
                if g.task is not None:
                    tally.add(g.task)
                    if sum(not a.was_cancelled for a in g.task.annotations) > 1:
                        several.append(g.task)
    except InputError as exc:
        problems = Problems(exc.problems)
    rows = pack(builder.flushed())
    return _PartResult(rows, len(raws), builder.documents, keys, spans, tally, several, notes, problems)
