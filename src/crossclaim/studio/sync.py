"""Push gold and predictions into Label Studio, pull exports back into annotations/ and dataset/.

Both directions hold one task at a time. ``push`` validates annotations/ as it streams it, keeps
each task as it would send it in a scratch file, and compares it with one listing of the server
(fetched while the validation runs): new tasks go in through Label Studio's bulk import in chunks
of bounded size, and only tasks changed on either side since the last push cost a request each
(see ``plan``). ``pull`` streams both exports to scratch files and validates them once, a task at a
time: the old gold and the new are compared through digests, the committed exports are written a
task at a time, and dataset/ is built from the same validated gold by ``crossclaim build``'s path.
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import orjson

from crossclaim import __version__
from crossclaim.dataset.build import Validated, stage
from crossclaim.dataset.changes import GoldDigest, changes, losing_pull, lost_work
from crossclaim.dataset.gold import PAIR_EXPORT, PREDICTION_EXPORT, SPAN_EXPORT, DocGold, GoldStream
from crossclaim.dataset.pairset import missing_pair_tasks
from crossclaim.errors import InputError, Problems, StudioError
from crossclaim.files import Staged, transaction
from crossclaim.formats.corpus import Corpus, corpus_document, iter_records
from crossclaim.formats.jsonio import iter_array, read_json, unwritable_strings
from crossclaim.formats.labelstudio.annotations import (
    IN_DISPUTE,
    KEPT,
    annotators_by_task,
    dispute_note,
    exact_work,
    gold_annotation,
    named_user,
    settle_gold,
)
from crossclaim.formats.labelstudio.committed import (
    PUSH_META,
    SortedExport,
    committed_meta,
    committed_pairs,
    committed_predictions,
    committed_task,
    export_json,
)
from crossclaim.formats.labelstudio.config import pair_config_xml, span_config_xml
from crossclaim.formats.labelstudio.differences import differences
from crossclaim.formats.labelstudio.pairs import PairTask, pair_results, pair_task_data
from crossclaim.formats.labelstudio.spans import from_utf16, parse_span_tasks, region_results, task_data
from crossclaim.formats.predictions import parse_predictions, read_predictions, require_documents
from crossclaim.scale import collector_paused
from crossclaim.schema.records import Annotation, Document, GoldRecord, Pair, Prediction, Span, Task
from crossclaim.studio.carried import carried, prepared_pairs, prepared_spans, refuse_utf16_with_passes
from crossclaim.studio.client import IDS_PER_QUERY, Project, Studio
from crossclaim.studio.plan import (
    CHUNK_BYTES,
    LISTED_FIELDS,
    UPLOAD_LIMIT,
    Listed,
    Wanted,
    chunked,
    json_array,
    plan_push,
    push_record,
    task_writes,
    wanted,
)
from crossclaim.systems.base import training_set
from crossclaim.systems.registry import make_system

SOURCE = "Label Studio"  # where a pull's exports come from, in messages
SPAN_PROJECT = "CrossClaim spans"
PAIR_PROJECT = "CrossClaim claim pairs"
KEYS = {SPAN_PROJECT: ("doc_id", "document"), PAIR_PROJECT: ("pair_id", "claim pair")}


# ---------------------------------------------------------------------------------------------
# push: records -> Label Studio, idempotently


def annotation_payload(a: Annotation, result: list[dict]) -> dict:
    """An annotation as push sends it; ``completed_by`` is the annotator's e-mail until sent (then a user id)."""
    return {
        "result": result,
        "completed_by": a.annotator,
        "ground_truth": a.ground_truth,
        "was_cancelled": a.was_cancelled,
        "lead_time": a.lead_time,
    }


def prediction_payload(p: Prediction, result: list[dict]) -> dict:
    return {"result": result, "model_version": p.model_version, "score": p.score}


@dataclass
class PushReport:
    created_tasks: int = 0
    kept_tasks: int = 0
    annotations_written: int = 0
    predictions_written: int = 0


def span_item(doc: Document, task: Task | None, with_annotations: bool, predictions: list[Prediction]) -> dict:
    """A span-project task dict: the document, its annotations (optional) and predictions."""
    item: dict = {"data": task_data(doc), "meta": committed_meta(task.meta) if task else {}}
    if with_annotations and task:
        item["annotations"] = [
            annotation_payload(a, region_results(a.spans, doc.text)) for a in task.annotations if a.pass_name is None
        ]  # a pass's annotations live in the pass's projects (``studio.passes``)
    item["predictions"] = [
        prediction_payload(p, region_results(p.spans, doc.text, origin="prediction")) for p in predictions
    ]
    return item


def pair_item(
    task: PairTask, with_annotations: bool, docs: dict[str, Document], claims: dict[tuple[str, str], Span]
) -> dict:
    """A claim-pair task dict from the committed pair export (every annotator's label), with the
    context its annotator reads, recomputed from the gold documents and claims."""
    item: dict = {"data": pair_task_data(task.data, docs, claims)}
    if with_annotations:
        item["annotations"] = [
            annotation_payload(a, pair_results(a.payload) if a.payload else [])
            for a in task.annotations
            if a.pass_name is None
        ]
    return item


class Spool:
    """Task dicts as push would send them, in a scratch file: one canonical body each, in bounded memory."""

    def __init__(self) -> None:
        self._fh = tempfile.TemporaryFile()  # noqa: SIM115 (closed by ``close``)
        self._end = 0
        self.annotators: set[str] = set()

    def add(self, item: dict, key: str) -> Wanted:
        w, body = wanted(item, key, self._end)
        self._fh.seek(self._end)
        self._fh.write(body)
        self._end += len(body)
        self.annotators |= {a["completed_by"] for a in item.get("annotations", ())}
        return w

    def item(self, w: Wanted, users: dict[str, int]) -> dict:
        """The task dict of ``w`` with annotators as the server's user ids."""
        self._fh.seek(w.offset)
        item = orjson.loads(self._fh.read(w.length))
        for a in item.get("annotations", ()):
            a["completed_by"] = users[a["completed_by"]]
        return item

    def close(self) -> None:
        self._fh.close()


class Background:
    """A call running on a thread of its own: the server lists tasks while this process validates."""

    def __init__(self, fn: Callable[[], object]) -> None:
        self._value: object = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[[], object]) -> None:
        try:
            self._value = fn()
        except BaseException as exc:  # handed to the caller of ``result``
            self._error = exc

    def result(self) -> object:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


def push_items(
    studio: Studio,
    project: int,
    items: list[Wanted],
    listed: list[Listed],
    spool: Spool,
    users: dict[str, int],
    what: str,
    report: PushReport,
) -> None:
    """Make ``items`` exist in ``project``, given what the listing showed there (see ``plan_push``)."""
    plan = plan_push(items, listed, what)
    with studio.admitted() if plan.new else contextlib.nullcontext():
        for chunk in chunked(import_bodies(plan.new, spool, users, what), CHUNK_BYTES):
            done = studio.import_tasks(project, json_array(chunk), len(chunk))
            report.created_tasks += done.tasks
            report.annotations_written += done.annotations
            report.predictions_written += done.predictions
    report.kept_tasks += plan.unchanged + len(plan.check)
    for k in range(0, len(plan.check), IDS_PER_QUERY):
        part = plan.check[k : k + IDS_PER_QUERY]
        full = {t["id"]: t for t in studio.full_tasks(project, [t.id for _, t in part])}
        for w, t in part:
            if t.id not in full:
                raise StudioError(f"task {t.id} ({what} {w.key}) disappeared from the server during the push")
            _reconcile(studio, t.id, w, spool.item(w, users), full[t.id], report)


def import_bodies(items: tuple[Wanted, ...], spool: Spool, users: dict[str, int], what: str) -> Iterator[bytes]:
    """The JSON of each new task as imported: user ids for annotators, the push recorded in its meta."""
    for w in items:
        item = spool.item(w, users)
        item["meta"] = {**item.get("meta", {}), **_record(w, w.annotations, w.predictions)}
        body = orjson.dumps(item)
        if len(body) > UPLOAD_LIMIT:
            raise StudioError(f"{what} {w.key} is {len(body) / 2**20:.0f} MB: larger than Label Studio accepts")
        yield body


def _record(w: Wanted, annotations: int, predictions: int) -> dict:
    return {PUSH_META: push_record(w, annotations, predictions)}


def _reconcile(studio: Studio, task_id: int, w: Wanted, item: dict, server: dict, report: PushReport) -> None:
    """Write what differs between a server task and the wanted one, then record the push in its meta."""
    writes = task_writes(server, item)
    for ann in writes.create:
        studio.call(studio.ls.annotations.create, id=task_id, **ann)
    for ann_id, ann in writes.update:
        studio.call(studio.ls.annotations.update, id=ann_id, **ann)
    for pred_id in writes.delete_predictions:
        studio.call(studio.ls.predictions.delete, id=pred_id)
    for pred in writes.create_predictions:
        studio.call(studio.ls.predictions.create, task=task_id, **pred)
    report.annotations_written += len(writes.create) + len(writes.update)
    report.predictions_written += len(writes.create_predictions)
    meta = {**item.get("meta", {}), **_record(w, writes.annotations, writes.predictions)}
    data = {"data": item["data"]} if server.get("data") != item["data"] else {}  # the context shown, changed
    studio.call(studio.ls.tasks.update, id=task_id, meta=meta, **data)


def predictions_for_push(gold, systems: list[str], path: Path | None, name: str | None) -> dict[str, list[Prediction]]:
    """Pre-annotations: each named system (trained on the train split) on every document, and
    the spans of a predictions file; ``model_version`` names the system and its version."""

    out: dict[str, list[Prediction]] = defaultdict(list)
    for system_name in systems:
        system = make_system(system_name)
        train = [d for d in gold.docs if d.split == "train"]
        system.fit(training_set(train, gold.spans, gold.pairs))
        preds = system.predict(gold.docs, [])
        version = f"{system_name}@{getattr(system, 'version', None) or __version__}"
        for doc in gold.docs:
            out[doc.id].append(Prediction(doc.id, version, list(preds.spans.get(doc.id, []))))
    if path is not None:
        if not name:
            raise InputError(str(path), "--name is required with --predictions-file (it becomes model_version)")
        preds = read_predictions(path, gold.docs, gold.pairs)
        for doc_id, spans in preds.spans.items():
            out[doc_id].append(Prediction(doc_id, name, list(spans)))
    return dict(out)


# ---------------------------------------------------------------------------------------------
# the round trip


def push(root: Path, studio: Studio, with_annotations: bool, predictions: dict[str, list[Prediction]]) -> PushReport:
    """annotations/ → Label Studio: both projects, every document as a task, optionally the gold, and a
    task for every pair of the pair set (``dataset.pairset``), new ones unlabelled.

    Everything is validated before the server sees any of it; the listing of what the server
    already holds is fetched meanwhile (it only reads). Stale pairs are pushed as they are, so that
    an annotator can declare them (``compare_with``) before the pull that needs the pair set whole.
    """

    known = studio.projects()
    listings = {
        title: Background(
            lambda p=known[title].id, key=key: [Listed.of(t, key) for t in studio.list_tasks(p, LISTED_FIELDS)]
        )
        for title, (key, _) in KEYS.items()
        if title in known and known[title].tasks
    }
    spool = Spool()
    try:
        annotations = root / "annotations"
        # new pairs may join any claim; a gold span in page furniture goes up so it can be deleted there
        stream = GoldStream(annotations, pair_set=False, all_claims=True, furniture=False)
        with collector_paused():
            spans = [
                spool.add(span_item(g.doc, g.task, with_annotations, predictions.get(g.doc.id, [])), "doc_id")
                for g in stream
            ]
        docs, claims = {d.id: d for d in stream.docs}, stream.claims
        new_pairs = missing_pair_tasks(stream.pair_tasks, claims, str(annotations / SPAN_EXPORT), docs)
        pair_tasks = stream.pair_tasks + new_pairs
        pairs = [spool.add(pair_item(t, with_annotations, docs, claims), "pair_id") for t in pair_tasks]
        items = {SPAN_PROJECT: spans, PAIR_PROJECT: pairs}
        users = studio.user_ids(spool.annotators) if spool.annotators else {}
        report = PushReport()
        for title, config in ((SPAN_PROJECT, span_config_xml()), (PAIR_PROJECT, pair_config_xml())):
            project = studio.project(title, config, known)
            listed = listings[title].result() if title in listings else []
            push_items(studio, project, items[title], listed, spool, users, KEYS[title][1], report)
    finally:
        spool.close()
    return report


# ---------------------------------------------------------------------------------------------
# a corpus to pre-annotate: a project of its own, predictions only

CORPUS_CHUNK = 1000  # records and predictions lines validated together


def push_corpus(studio: Studio, corpus: Corpus, predictions: Path, name: str, title: str) -> PushReport:
    """A corpus outside the dataset → a pre-annotation project of its own: one task per record with the
    spans of its line of ``predictions`` (``model_version`` ``name``), idempotently; the gold projects
    are never touched. Its documents become gold only through ``crossclaim ingest``."""

    if title in KEYS:
        raise InputError(
            f"--project-title {title!r}", "is a gold project: a corpus goes to a pre-annotation project of its own"
        )
    known = studio.projects()
    listing = None
    if title in known and known[title].tasks:
        project_id = known[title].id
        listing = Background(lambda: [Listed.of(t, "doc_id") for t in studio.list_tasks(project_id, LISTED_FIELDS)])
    spool = Spool()
    try:
        items = [
            spool.add(span_item(doc, None, False, [pred]), "doc_id")
            for doc, pred in corpus_predictions(corpus, predictions, name)
        ]
        report = PushReport()
        project = studio.project(title, span_config_xml(), known)
        listed = listing.result() if listing is not None else []
        push_items(studio, project, items, listed, spool, {}, "document", report)
    finally:
        spool.close()
    return report


def corpus_predictions(corpus: Corpus, path: Path, name: str) -> Iterator[tuple[Document, Prediction]]:
    """Each record of ``corpus`` with the spans of its line of the predictions file ``path`` (one line per
    record, in corpus order, as ``crossclaim predict`` writes it), both read a chunk at a time and every
    line validated against its record."""

    order = (
        str(path),
        f"must have one line per record of {corpus.path}, in corpus order (as crossclaim predict writes it)",
    )
    records = iter_records(corpus)
    try:
        with path.open("rb") as fh:
            lines = enumerate(fh, start=1)
            while chunk := list(islice(records, CORPUS_CHUNK)):
                docs = [corpus_document(i, t) for i, t in chunk]
                first, raw = _predictions_lines(lines, len(docs), path)
                if sum(1 for line in raw if line.strip()) < len(docs):
                    raise InputError(*order)
                try:
                    preds = parse_predictions("".join(raw), str(path), docs, [], first_line=first)
                    require_documents(preds, [d.id for d in docs], str(path))
                except InputError as exc:
                    raise InputError(*exc.problems[0], more=[*exc.problems[1:], order]) from None
                for d in docs:
                    yield d, Prediction(d.id, name, sorted(preds.spans[d.id], key=lambda s: (s.layer, s.start, s.end)))
            if any(line.strip() for _, line in lines):
                raise InputError(*order)
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror or exc}") from None


def _predictions_lines(lines: Iterator[tuple[int, bytes]], wanted: int, path: Path) -> tuple[int, list[str]]:
    """The next lines holding ``wanted`` non-blank ones (blank ones kept, so line numbers stay exact)."""
    raw: list[str] = []
    first = 0
    for n, data in lines:
        first = first or n
        try:
            raw.append(data.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}, line {n}", f"not UTF-8: byte 0x{data[exc.start]:02x}") from None
        if raw[-1].strip():
            wanted -= 1
            if wanted == 0:
                break
    return first or 1, raw


def find_project(studio: Studio, title: str, known: dict[str, Project] | None = None) -> Project:
    found = (known if known is not None else studio.projects()).get(title)
    if found is None:
        raise StudioError(f"no project {title!r} on {studio.url}: run `crossclaim studio push` first")
    return found


@dataclass(frozen=True)
class PullOptions:
    """What a pull (or ``studio check``) accepts and how it reads the exports: its command's flags."""

    gold_annotator: str | None = None  # --gold: the annotator whose annotation is gold where they made one
    utf16: bool = False  # the exports count UTF-16 code units (older Label Studio)
    accept_deletions: bool = False  # a task or annotation the committed exports hold may be gone
    accept_edits: bool = False  # an annotation may have been last saved by someone other than its author
    with_predictions: bool = False  # keep the exports' predictions (annotations/exports/predictions.json)
    commit: bool = True  # False: everything but the swap (``crossclaim studio check``)
    source: str = SOURCE  # where the exports come from, in messages


def pull(root: Path, studio: Studio, options: PullOptions = PullOptions(), show=lambda lines: None):
    """Label Studio → annotations/ → dataset/: export both projects to scratch files, keep the passes'
    committed annotations beside them and give new regions readable ids (``studio.passes``), then
    ``apply_exports`` (who last saved each annotation by e-mail; push's own account is the token's user)."""
    known = studio.projects()
    spans_project, pairs_project = find_project(studio, SPAN_PROJECT, known), find_project(studio, PAIR_PROJECT, known)
    with tempfile.TemporaryDirectory(prefix="crossclaim-pull-") as scratch:
        spans = studio.export(spans_project, Path(scratch) / "spans.json")
        pairs = studio.export(pairs_project, Path(scratch) / "pairs.json")
        spans, pairs = prepared_exports(root / "annotations", spans, pairs, Path(scratch), options.utf16)
        return apply_exports(root, spans, pairs, options, show, Editors(studio.users(), studio.me))


def prepared_exports(
    annotations: Path, spans: list | Path, pairs: list | Path, scratch: Path, utf16: bool = False, source: str = SOURCE
) -> tuple[list | Path, list]:
    """A gold project's exports as a pull validates them: every pass's committed annotations kept beside
    them, regions Label Studio named at random given readable ids (``studio.passes``)."""

    carry = carried(annotations)
    if utf16:
        refuse_utf16_with_passes(carry)
    pair_where = f"{source} claim-pair export"
    pairs_data = list(iter_array(pairs, pair_where)) if isinstance(pairs, Path) else pairs
    return (
        prepared_spans(spans, carry, scratch, f"{source} span export"),
        prepared_pairs(pairs_data, carry, pair_where),
    )


def read_exports(annotations: Path, paths: list[Path], project: str | None = None) -> tuple[object, object]:
    """The span and claim-pair exports to check: the files given (of ``project``, or told apart by their
    task data), the committed export for a project no file is given for."""

    given = given_exports(paths, project)
    for kind, rel in (("spans", SPAN_EXPORT), ("pairs", PAIR_EXPORT)):
        if kind not in given:
            given[kind] = read_json(annotations / rel) if (annotations / rel).is_file() else []
    return given["spans"], given["pairs"]


def given_exports(paths: list[Path], project: str | None = None) -> dict[str, object]:
    """The export files given, by project (``spans``, ``pairs``): ``project``, or told apart by their task data."""

    given: dict[str, object] = {}
    for path in paths:
        data = read_json(path)  # parsed as a pull parses the server's answer
        first = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
        fields = first.get("data") if isinstance(first.get("data"), dict) else {}
        kind = project or ("pairs" if "pair_id" in fields else "spans" if "doc_id" in fields else None)
        if kind is None:
            why = "the first task has neither data.doc_id nor data.pair_id" if data else "it holds no task"
            raise InputError(str(path), f"cannot tell the project: {why} (say which with --project)")
        if kind in given:
            raise InputError(str(path), f"a second {kind} export: give at most one file per project")
        given[kind] = data
    return given


@dataclass
class _Seen:
    """What a pull notes of each raw span task as it streams by, before validation."""

    annotators: dict[str, Counter[str]] = field(default_factory=dict)  # document -> annotators, read leniently
    last: tuple[object, dict] = (None, {})  # (document id, raw task) of the task being validated
    utf16_problems: list[tuple[str, str]] = field(default_factory=list)


def _span_tasks(spans: list | Path, seen: _Seen, utf16: bool, where: str, editors: Editors) -> Iterator[object]:

    for raw in iter_array(spans, where) if isinstance(spans, Path) else spans:
        editors.name(raw)
        if utf16:
            try:
                (raw,) = from_utf16([raw], where)
            except InputError as exc:
                seen.utf16_problems += exc.problems
        seen.annotators.update(annotators_by_task([raw], "doc_id"))
        data = raw.get("data") if isinstance(raw, dict) else None
        seen.last = (data.get("doc_id") if isinstance(data, dict) else None, raw)
        yield raw


@dataclass
class _NewExports:
    """The new exports read once: their digest, committed form (in scratch files) and what was wrong."""

    digest: GoldDigest  # without the claim pairs until they are known to be valid
    stream: GoldStream  # the stream read (its claim-pair tasks and gold pairs)
    seen: _Seen
    invalid: InputError | None = None
    unwritable: list[tuple[str, str]] = field(default_factory=list)
    edits: list[Edit] = field(default_factory=list)  # annotations saved by someone other than their author
    notes: list[str] = field(default_factory=list)  # tasks in dispute whose previous gold is kept
    pair_edits: list[Edit] = field(default_factory=list)  # likewise of the claim pairs (settled first)
    pair_notes: list[str] = field(default_factory=list)
    accepted: list[tuple[str, str]] = field(default_factory=list)  # the edits described, once allowed


def _read_new(
    new: _NewExports, committed: SortedExport, predicted: SortedExport | None, old: Committed | None, editors: Editors
) -> Iterator[DocGold]:
    """Validate the new span export a task at a time (``new.stream``), putting each task in committed form
    as it goes, and yield each task's gold: the build takes it from here (``Validated``).

    Each task's gold is settled by the rule; a task in dispute keeps its previous gold (``old``), found
    among its annotations or else carried whole from the committed export. Each annotation is checked
    against its committed version (``Edit``). ``predicted`` is None unless predictions are asked for.
    Problems are kept, not raised: lost work is named first (``_checked``).
    """

    stream, seen = new.stream, new.seen
    where = stream.span_where
    carried: dict[str, tuple[dict, Task]] = {}  # document -> (data, task) whose previous gold must be read again
    try:
        for g in stream:
            carry = False  # its previous gold is to be read again from the committed export
            if g.task is not None and old is not None:
                new.edits += editors.check(f"document {g.doc.id}", g.task.annotations, old.annotations.get(g.doc.id))
                previous = old.gold.get(g.doc.id)
                if g.task.gold is not None and g.task.gold.rule == IN_DISPUTE and previous is not None:
                    found = _kept(g.task, previous)
                    if found is None:
                        carried[g.doc.id] = (seen.last[1]["data"], g.task)
                        carry = True
                    else:
                        g = DocGold(g.doc, g.task, found)
                        new.notes.append(_kept_note(f"{where}: doc {g.doc.id}", g.task))
            if not carry:
                new.digest.add(g)
            if g.task is None:
                continue
            doc_id, raw = seen.last
            if doc_id != g.doc.id:  # the stream validates each task as soon as it is read
                raise RuntimeError(f"task of {g.doc.id} validated out of turn")
            try:
                if not carry:
                    committed.add(g.doc.id, committed_task(raw["data"], g.task))
                if predicted is not None and (p := committed_predictions(raw["data"], g.task)):
                    predicted.add(g.doc.id, p)
            except UnicodeEncodeError:  # a lone surrogate: name it (every string is searched only now)
                new.unwritable += unwritable_strings([raw], where)
            if not carry:
                yield g
    except InputError as exc:
        new.invalid = exc
    if new.invalid is None and old is not None:
        yield from _carry_previous_gold(stream.annotations, carried, stream, new, committed, where)


def _identity(a: Annotation) -> tuple[str, int]:
    """An annotation's author and a hash of its work (region ids included): a previous gold found again."""

    return a.annotator, hash(repr(exact_work(a)))


def _kept(task: Task | PairTask, previous: tuple[str, int]) -> Annotation | None:
    """Settle a task in dispute on its previous gold where it is still among its annotations, unchanged."""
    assert task.gold is not None
    for n, a in enumerate(task.annotations):
        if not a.was_cancelled and _identity(a) == previous:
            task.gold = GoldRecord(KEPT, n, a.annotator, disputants=task.gold.disputants)
            return a
    return None


def _kept_note(here: str, task: Task | PairTask) -> str:

    assert task.gold is not None
    how = "kept" if task.gold.kept is None else "kept from the committed exports (no longer in Label Studio)"
    return f"{here}: {dispute_note(task.gold)}: its previous gold, by {task.gold.annotator}, is {how}"


def _carry_previous_gold(
    annotations: Path,
    carried: dict[str, tuple[dict, Task]],
    stream: GoldStream,
    new: _NewExports,
    committed: SortedExport,
    where: str,
) -> Iterator[DocGold]:
    """Tasks in dispute whose previous gold is no longer in Label Studio keep it from the committed export."""

    if not carried:
        return
    by_id = {d.id: d for d in stream.docs}
    for doc_id, before in _committed_tasks(annotations, set(carried), by_id).items():
        data, task = carried[doc_id]
        previous = gold_annotation(before)
        assert previous is not None and task.gold is not None
        task.gold = GoldRecord(KEPT, None, previous.annotator, previous, task.gold.disputants)
        g = DocGold(by_id[doc_id], task, previous)
        new.digest.add(g)
        committed.add(doc_id, committed_task(data, task))
        new.notes.append(_kept_note(f"{where}: doc {doc_id}", task))
        yield g


def _committed_tasks(annotations: Path, doc_ids: set[str], by_id: dict[str, Document]) -> dict[str, Task]:
    """The committed span tasks of ``doc_ids``, read again (rare: only to describe an edit or to keep a
    previous gold), each with its recorded gold settled."""

    path = annotations / SPAN_EXPORT
    wanted = (
        raw
        for raw in iter_array(path)
        if isinstance(raw, dict) and isinstance(raw.get("data"), dict) and raw["data"].get("doc_id") in doc_ids
    )
    out = {}
    for task in parse_span_tasks(wanted, str(path), by_id):
        settle_gold(task, f"{path}: doc {task.doc_id}", None, Problems())
        out[task.doc_id] = task
    return out


def _settle_pairs(new: _NewExports, old: Committed | None, editors: Editors) -> None:
    """The claim-pair tasks: each annotation checked against its committed version, and a task in dispute
    keeps its previous gold pair (found among its annotations, or carried from the committed export).

    Done before the span export is read: the build needs the pairs whole from its start."""
    if old is None:
        return
    stream = new.stream
    for task in stream.pair_tasks:
        pid = task.data["pair_id"]
        before = old.pair_tasks.get(pid)
        new.pair_edits += editors.check(
            f"claim pair {pid}", task.annotations, _entries(before.annotations) if before else None
        )
        previous = gold_annotation(before) if before is not None else None
        if task.gold is None or task.gold.rule != IN_DISPUTE or previous is None:
            continue
        here = f"{stream.pair_where}: pair {pid}"
        left_out = f"{here}: {dispute_note(task.gold)}: left out of claim_pairs until it is settled"
        stream.notes[:] = [n for n in stream.notes if n != left_out]  # its previous gold is kept instead
        if _kept(task, _identity(previous)) is None:
            task.gold = GoldRecord(KEPT, None, previous.annotator, previous, task.gold.disputants)
        assert isinstance(previous.payload, Pair)
        stream.pairs = sorted([*stream.pairs, previous.payload], key=lambda p: p.id)
        new.pair_notes.append(_kept_note(here, task))


def apply_exports(
    root: Path,
    spans: list | Path,
    pairs: list | Path,
    options: PullOptions = PullOptions(),
    show: Callable[[list[str]], None] = lambda lines: None,
    editors: Editors | None = None,
):
    """Replace annotations/exports/ with two server exports (lists, or files read a task at a time) and rebuild.

    Both exports are validated in full; ``show`` gets what changes per document before anything is
    written; a task or annotation of the committed exports that the new ones lack is an error unless
    ``options.accept_deletions``, and so is an annotation that differs from its committed version and was last
    saved by someone other than its author or push's own account, unless ``accept_edits`` (``editors``:
    who the exports' user ids are, and push's account). Each task's gold is settled by the rule
    (``formats.labelstudio.annotations``); a task in dispute keeps its previous gold, named in the notes.
    The committed exports (volatile fields dropped, see ``committed``), predictions (only
    ``with_predictions``), dataset/ and the generated docs are then staged and swapped in as one set:
    after a failure at any point, nothing has changed. ``commit=False`` does everything but the swap
    (``crossclaim studio check``); ``source`` names the exports in messages.
    """

    o = options
    annotations = root / "annotations"
    pair_where = f"{o.source} claim-pair export"
    for data, where in ((spans, f"{o.source} span export"), (pairs, pair_where)):
        if not isinstance(data, list | Path):
            raise InputError(where, "a Label Studio export is a JSON list of tasks")
    pairs_data = list(iter_array(pairs, pair_where)) if isinstance(pairs, Path) else pairs
    with contextlib.ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="crossclaim-pull-")))
        committed = stack.enter_context(contextlib.closing(SortedExport(scratch / "spans")))
        predicted = stack.enter_context(contextlib.closing(SortedExport(scratch / "predictions")))
        editors = editors or Editors()
        for raw in pairs_data:
            editors.name(raw)
        stack.enter_context(collector_paused())
        before = _committed(annotations, o.gold_annotator)
        seen = _Seen()
        tasks = _span_tasks(spans, seen, o.utf16, f"{o.source} span export", editors)
        new = _NewExports(GoldDigest(), GoldStream(annotations, o.gold_annotator, tasks, pairs_data, o.source), seen)
        _settle_pairs(new, before, editors)
        out = stack.enter_context(transaction(root))

        def golds() -> Iterator[DocGold]:  # the new export validated once, then the pull's own checks
            for g in _read_new(new, committed, predicted if o.with_predictions else None, before, editors):
                assert g.task is not None
                g.task.meta = committed_meta(g.task.meta)  # published as committed: without push's record
                yield g
            _checked(out, new, before, pairs_data, committed, predicted, o, show)

        stream = new.stream
        validated = Validated(golds(), stream.pair_tasks, stream.pairs, stream.notes)
        report = stage(root, out, validated, o.gold_annotator, workers=1)
        accepted = [f"{where}: {what} (accepted with --accept-edits)" for where, what in new.accepted]
        report.notes[:0] = new.notes + new.pair_notes + accepted
        if not o.commit:
            out.abandon()
    return report


def _checked(
    out: Staged,
    new: _NewExports,
    before: Committed | None,
    pairs_data: list,
    committed: SortedExport,
    predicted: SortedExport,
    o: PullOptions,
    show: Callable[[list[str]], None],
) -> None:
    """A pull's checks once the new exports are read, in this order: lost work (with the problems that may
    be its cause), then the export's problems, then edits of someone else's work, then strings that cannot
    be written; then ``show`` what changes and stage the committed exports."""
    old = before.digest if before is not None else None
    stream = new.stream
    lost = lost_work(old, new.seen.annotators, annotators_by_task(pairs_data, "pair_id")) if old else []
    if lost and not o.accept_deletions:
        causes = new.invalid.problems if new.invalid is not None and not stream.spans_valid else []
        InputError.collect(losing_pull(lost, causes, o.source))
    InputError.collect(new.seen.utf16_problems)
    if new.invalid is not None:
        raise new.invalid
    edits = new.edits + new.pair_edits
    annotations = stream.annotations
    new.accepted = described_edits(edits, annotations, stream, before, o.source) if edits else []
    if new.accepted and not o.accept_edits:
        InputError.collect([*new.accepted, (o.source, EDITS_ADVICE)])
    pair_export = committed_pairs(stream.pair_tasks, {d.id: d for d in stream.docs}, stream.claims)
    try:
        pair_text = export_json(pair_export).encode("utf-8")
    except UnicodeEncodeError:
        new.unwritable += unwritable_strings(pairs_data, str(stream.pair_where))
    InputError.collect(new.unwritable)
    new.digest.add_pairs(stream.pair_tasks, stream.pairs)
    show(changes(old, new.digest))
    committed.write(out.file(Path("annotations") / SPAN_EXPORT))
    out.file(Path("annotations") / PAIR_EXPORT).write_bytes(pair_text)
    if o.with_predictions:
        predicted.write(out.file(Path("annotations") / PREDICTION_EXPORT))


@dataclass
class Committed:
    """What a pull needs of the committed exports, read a document at a time: the digest of the gold
    (``changes``), per document each annotation's content hash and ``updated_by`` and the gold
    annotation (small: its spans are held only for documents with several annotations), and the
    claim-pair tasks whole (they are few)."""

    digest: GoldDigest
    annotations: dict[str, tuple[Entry, ...]] = field(default_factory=dict)
    gold: dict[str, tuple[str, int]] = field(default_factory=dict)  # document -> its gold's annotator and work
    pair_tasks: dict[str, PairTask] = field(default_factory=dict)


def _committed(annotations: Path, gold_annotator: str | None) -> Committed | None:
    """The committed gold, read a document at a time (None when nothing is committed yet)."""

    if not ((annotations / SPAN_EXPORT).exists() or (annotations / PAIR_EXPORT).exists()):
        return None
    out = Committed(GoldDigest())
    stream = GoldStream(annotations, gold_annotator, pair_set=False, furniture=False)  # made under its own rules
    for g in stream:
        out.digest.add(g)
        if g.task is not None:
            out.annotations[g.doc.id] = _entries(g.task.annotations)
            if g.annotation is not None:
                out.gold[g.doc.id] = _identity(g.annotation)
    out.digest.add_pairs(stream.pair_tasks, stream.pairs)
    out.pair_tasks = {t.data["pair_id"]: t for t in stream.pair_tasks}
    return out


# ---------------------------------------------------------------------------------------------
# provenance: who last saved each annotation, and edits of another person's work


@dataclass(frozen=True)
class Entry:
    """A committed annotation as a pull compares it: its author, content hash and last editor."""

    annotator: str
    content: int
    updated_by: str | None


def _content(a: Annotation) -> int:
    """A hash of what an annotation holds (its work with region ids, its flags, its lead time)."""

    return hash((repr(exact_work(a)), a.ground_truth, a.was_cancelled, a.lead_time))


def _entries(annotations: list[Annotation]) -> tuple[Entry, ...]:
    return tuple(Entry(a.annotator, _content(a), a.updated_by) for a in annotations)


@dataclass(frozen=True)
class Edit:
    """An annotation that differs from the committed exports, last saved by someone else than its author."""

    where: str  # "document doc-003", "claim pair doc-000:c1~doc-003:c3"
    annotation: Annotation
    before: Annotation | None = None  # its committed version, once read again (None: a new annotation)

    def described(self) -> str:

        a = self.annotation
        head = f"the annotation by {a.annotator} was last saved by {a.updated_by}, not its author"
        if self.before is None:
            return f"{head}: it is not in the committed exports"
        what = "; ".join(
            d.what if d.layer in ("pairs", "annotation") else f"{d.layer} {d.kind}: {d.what}"
            for d in differences(self.before, a, flags=True)
        )
        return f"{head}: {what or 'its content changed'}"


@dataclass
class Editors:
    """Who last saved the annotations of an export: the server's users by id, and push's own account.

    ``name`` puts each user's e-mail beside the id Label Studio exports in ``updated_by``; ``check``
    compares a task's annotations with their committed versions.
    """

    users: dict[int, str] = field(default_factory=dict)
    own: str | None = None  # the token's user: what push writes is saved by this account

    def name(self, raw: object) -> None:

        items = raw.get("annotations") if isinstance(raw, dict) else None
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and "updated_by" in item:
                item["updated_by"] = named_user(item["updated_by"], self.users)

    def check(self, where: str, annotations: list[Annotation], committed: tuple[Entry, ...] | None) -> list[Edit]:
        """The edits among a task's annotations (its committed entries: None for a new task).

        An annotation unchanged since the commit keeps its committed ``updated_by`` when the server's is
        empty or push's account (push wrote what was committed); one that changed and was last saved by
        neither its author, nor nobody, nor push's account is an ``Edit``.
        """
        edits = []
        for a in annotations:
            same = [e for e in committed or () if e.annotator == a.annotator and e.content == _content(a)]
            if same and a.updated_by in (None, self.own):
                a.updated_by = same[0].updated_by
            elif not same and a.updated_by not in (None, a.annotator, self.own):
                edits.append(Edit(where, a))
        return edits


EDITS_ADVICE = (
    "holds annotations changed by someone other than their author: nothing was written; ask the people named, "
    "restore the annotation in Label Studio, or take the edit with --accept-edits"
)


def described_edits(
    edits: list[Edit], annotations: Path, stream: GoldStream, before: Committed | None, source: str
) -> list[tuple[str, str]]:
    """Each edit of someone else's annotation as (where, what): both people and what changed (the
    committed version read again)."""
    spans = {e.where.removeprefix("document ") for e in edits if e.where.startswith("document ")}
    old_spans = _committed_tasks(annotations, spans, {d.id: d for d in stream.docs}) if spans else {}
    out = []
    for e in edits:
        if e.where.startswith("document "):
            task = old_spans.get(e.where.removeprefix("document "))
            olds = task.annotations if task is not None else []
        else:
            pair = before.pair_tasks.get(e.where.removeprefix("claim pair ")) if before is not None else None
            olds = pair.annotations if pair is not None else []
        mine = [a for a in olds if a.annotator == e.annotation.annotator]
        out.append((f"{source}: {e.where}", Edit(e.where, e.annotation, mine[0] if mine else None).described()))
    return out
