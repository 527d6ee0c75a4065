"""Push gold and predictions into Label Studio, pull exports back into annotations/ and dataset/."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from crossclaim.errors import StudioError
from crossclaim.formats.labelstudio.pairs import PairTask, pair_results, pair_task_data
from crossclaim.formats.labelstudio.spans import region_results, task_data
from crossclaim.schema.records import Annotation, Document, Prediction, Span, Task
from crossclaim.studio.client import Studio

SPAN_PROJECT = "CrossClaim spans"
PAIR_PROJECT = "CrossClaim claim pairs"


# ---------------------------------------------------------------------------------------------
# push: records -> Label Studio, idempotently


def annotation_payload(a: Annotation, result: list[dict], users: dict[str, int]) -> dict:
    return {
        "result": result,
        "completed_by": users[a.annotator],
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


RESULT_KEYS = ("id", "from_name", "to_name", "type", "value", "from_id", "to_id", "direction", "labels")


def _same(existing: list[dict], wanted: list[dict]) -> bool:
    def key(r: dict) -> str:
        return json.dumps(r, sort_keys=True)

    def strip(results: list[dict]) -> list[str]:
        return sorted(key({k: v for k, v in r.items() if k in RESULT_KEYS}) for r in results)

    return strip(existing) == strip(wanted)


def push_items(studio: Studio, project: int, items: list[dict], key: str, report: PushReport) -> None:
    """Make ``items`` (task dicts with ``data``, ``annotations``, ``predictions``) exist in ``project``.

    Tasks are keyed by ``data[key]`` (the document or pair id): a new key is imported with its
    annotations and predictions; an existing task keeps its id, each annotation is matched by
    annotator and each prediction by ``model_version`` and only written when it differs.
    """
    existing = {t.data.get(key): t for t in studio.tasks(project)}
    new = [it for it in items if it["data"][key] not in existing]
    studio.import_tasks(project, new)
    report.created_tasks += len(new)
    report.annotations_written += sum(len(it.get("annotations", [])) for it in new)
    report.predictions_written += sum(len(it.get("predictions", [])) for it in new)
    for it in items:
        task = existing.get(it["data"][key])
        if task is None:
            continue
        report.kept_tasks += 1
        if dict(task.data) != it["data"]:
            raise StudioError(
                f"task {task.id} ({key} {it['data'][key]}) has different data on the server than "
                "in annotations/: delete the task in Label Studio or pull first"
            )
        if it.get("meta") is not None and (task.meta or {}) != it["meta"]:
            studio.call(studio.ls.tasks.update, id=task.id, meta=it["meta"])
        have = {
            a.completed_by if isinstance(a.completed_by, int) else a.completed_by.get("id"): a
            for a in studio.annotations(task.id)
        }
        for ann in it.get("annotations", []):
            old = have.get(ann["completed_by"])
            if old is None:
                studio.call(studio.ls.annotations.create, id=task.id, **ann)
            elif not (
                _same([r if isinstance(r, dict) else r.dict() for r in old.result], ann["result"])
                and bool(old.ground_truth) == ann["ground_truth"]
                and old.lead_time == ann["lead_time"]
                and bool(old.was_cancelled) == ann["was_cancelled"]
            ):
                studio.call(studio.ls.annotations.update, id=old.id, **ann)
            else:
                continue
            report.annotations_written += 1
        preds = {p.model_version: p for p in studio.predictions(task.id)}
        for pred in it.get("predictions", []):
            old = preds.get(pred["model_version"])
            if old is not None and _same([r if isinstance(r, dict) else r.dict() for r in old.result], pred["result"]):
                continue
            if old is not None:
                studio.call(studio.ls.predictions.delete, id=old.id)
            studio.call(studio.ls.predictions.create, task=task.id, **pred)
            report.predictions_written += 1


def span_items(
    docs: list[Document],
    tasks: dict[str, Task],
    users: dict[str, int],
    with_annotations: bool,
    predictions: dict[str, list[Prediction]],
) -> list[dict]:
    """Span-project task dicts: every document, its annotations (optional) and predictions."""
    items = []
    for doc in docs:
        task = tasks.get(doc.id)
        item: dict = {"data": task_data(doc), "meta": task.meta if task else {}}
        if with_annotations and task:
            item["annotations"] = [
                annotation_payload(a, region_results(a.spans, doc.text), users) for a in task.annotations
            ]
        item["predictions"] = [
            prediction_payload(p, region_results(p.spans, doc.text, origin="prediction"))
            for p in predictions.get(doc.id, [])
        ]
        items.append(item)
    return items


def pair_items(
    tasks: list[PairTask],
    users: dict[str, int],
    with_annotations: bool,
    docs: dict[str, Document],
    claims: dict[tuple[str, str], Span],
) -> list[dict]:
    """Claim-pair task dicts from the committed pair export (every annotator's label), each with the
    context its annotator reads, recomputed from the gold documents and claims."""
    items = []
    for task in tasks:
        item: dict = {"data": pair_task_data(task.data, docs, claims)}
        if with_annotations:
            item["annotations"] = [
                annotation_payload(a, pair_results(a.payload) if a.payload else [], users) for a in task.annotations
            ]
        items.append(item)
    return items


def predictions_for_push(gold, systems: list[str], path: Path | None, name: str | None) -> dict[str, list[Prediction]]:
    """Pre-annotations: each named system (trained on the train split) on every document, and
    the spans of a predictions file; ``model_version`` names the system and its version."""
    from collections import defaultdict

    from crossclaim import __version__
    from crossclaim.errors import InputError
    from crossclaim.formats.predictions import read_predictions
    from crossclaim.systems.base import training_set
    from crossclaim.systems.registry import make_system

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
    task for every pair of the pair set (``dataset.pairset``), new ones unlabelled."""
    from crossclaim.dataset.gold import PAIR_EXPORT, SPAN_EXPORT, load_gold
    from crossclaim.dataset.pairset import missing_pair_tasks
    from crossclaim.formats.jsonio import read_json
    from crossclaim.formats.labelstudio.config import pair_config_xml, span_config_xml
    from crossclaim.formats.labelstudio.pairs import parse_pair_tasks

    annotations = root / "annotations"
    # validates everything before the server sees any of it; stale pairs are pushed as they are, so that an
    # annotator can declare them (``compare_with``) before the pull that needs the pair set whole
    gold = load_gold(annotations, pair_set=False)
    pair_path = annotations / PAIR_EXPORT
    pair_tasks = parse_pair_tasks(read_json(pair_path), str(pair_path), gold.claims()) if pair_path.exists() else []
    pair_tasks += missing_pair_tasks(pair_tasks, gold.claims(), str(annotations / SPAN_EXPORT))  # new pairs
    emails = {a.annotator for t in gold.tasks.values() for a in t.annotations} if with_annotations else set()
    emails |= {a.annotator for t in pair_tasks for a in t.annotations} if with_annotations else set()
    users = studio.user_ids(emails)
    report = PushReport()
    span_project = studio.project(SPAN_PROJECT, span_config_xml())
    push_items(
        studio, span_project, span_items(gold.docs, gold.tasks, users, with_annotations, predictions), "doc_id", report
    )
    pair_project = studio.project(PAIR_PROJECT, pair_config_xml())
    docs, claims = {d.id: d for d in gold.docs}, gold.claims()
    push_items(studio, pair_project, pair_items(pair_tasks, users, with_annotations, docs, claims), "pair_id", report)
    return report


def find_project(studio: Studio, title: str) -> int:
    for p in studio.call(lambda: list(studio.ls.projects.list())):
        if p.title == title:
            return p.id
    raise StudioError(f"no project {title!r} on {studio.url}: run `crossclaim studio push` first")


def pull(
    root: Path,
    studio: Studio,
    gold_annotator: str | None = None,
    *,
    utf16: bool = False,
    accept_deletions: bool = False,
    with_predictions: bool = False,
    show=lambda lines: None,
):
    """Label Studio → annotations/ → dataset/: export both projects, then ``apply_exports``."""
    spans = studio.export(find_project(studio, SPAN_PROJECT))
    pairs = studio.export(find_project(studio, PAIR_PROJECT))
    return apply_exports(
        root,
        spans,
        pairs,
        gold_annotator,
        utf16=utf16,
        accept_deletions=accept_deletions,
        with_predictions=with_predictions,
        show=show,
    )


def read_exports(annotations: Path, paths: list[Path], project: str | None = None) -> tuple[object, object]:
    """The span and claim-pair exports to check: the files given (of ``project``, or told apart by their
    task data), the committed export for a project no file is given for."""
    from crossclaim.dataset.gold import PAIR_EXPORT, SPAN_EXPORT
    from crossclaim.errors import InputError
    from crossclaim.formats.jsonio import read_json

    given: dict[str, object] = {}
    for path in paths:
        data = read_json(path)  # parsed as a pull parses the server's answer
        first = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
        fields = first.get("data") if isinstance(first.get("data"), dict) else {}
        kind = project or ("pairs" if "pair_id" in fields else "spans" if "doc_id" in fields else None)
        if kind is None:
            raise InputError(
                str(path), "cannot tell the project: the first task has neither data.doc_id nor data.pair_id"
            )
        if kind in given:
            raise InputError(str(path), f"a second {kind} export: give at most one file per project")
        given[kind] = data
    for kind, rel in (("spans", SPAN_EXPORT), ("pairs", PAIR_EXPORT)):
        if kind not in given:
            given[kind] = read_json(annotations / rel) if (annotations / rel).is_file() else []
    return given["spans"], given["pairs"]


def apply_exports(
    root: Path,
    spans: object,
    pairs: object,
    gold_annotator: str | None = None,
    *,
    utf16: bool = False,
    accept_deletions: bool = False,
    with_predictions: bool = False,
    show=lambda lines: None,
    commit: bool = True,
    source: str = "Label Studio",
):
    """Replace annotations/exports/ with two server exports and rebuild, losing nothing silently.

    Both exports are validated in full; ``show`` gets what changes per document before anything is
    written; a task or annotation of the committed exports that the new ones lack is an error unless
    ``accept_deletions``. The committed exports (volatile fields dropped, see ``committed``),
    predictions (only ``with_predictions``), dataset/ and the generated docs are then staged and
    swapped in as one set: after a failure at any point, nothing has changed. ``commit=False`` does
    everything but the swap (``crossclaim studio check``).
    """
    from crossclaim.dataset.build import stage_build
    from crossclaim.dataset.changes import changes, lost_work
    from crossclaim.dataset.gold import PAIR_EXPORT, PREDICTION_EXPORT, SPAN_EXPORT, load_gold
    from crossclaim.errors import InputError
    from crossclaim.files import transaction
    from crossclaim.formats.jsonio import unwritable_strings
    from crossclaim.formats.labelstudio.committed import committed_exports, export_json
    from crossclaim.formats.labelstudio.spans import from_utf16

    annotations = root / "annotations"
    if utf16:
        spans = from_utf16(spans, f"{source} span export")
    had = (annotations / SPAN_EXPORT).exists() or (annotations / PAIR_EXPORT).exists()
    old = load_gold(annotations, gold_annotator, pair_set=False) if had else None  # made under its own rules
    lost = lost_work(old, spans, pairs) if old else []
    if lost and not accept_deletions:
        advice = "nothing was written: restore them in Label Studio, or accept the loss with --accept-deletions"
        raise InputError(*lost[0], more=[*lost[1:], ("annotations/exports", advice)])
    new = load_gold(annotations, gold_annotator, spans_data=spans, pairs_data=pairs, source=source)
    committed = committed_exports(spans, new.pair_tasks, {d.id: d for d in new.docs}, new.claims())
    show(changes(old, new).lines())
    with transaction(root) as out:
        outputs = {SPAN_EXPORT: committed.spans, PAIR_EXPORT: committed.pairs}
        if with_predictions:
            outputs[PREDICTION_EXPORT] = committed.predictions
        try:
            for path, data in outputs.items():
                out.write_text(Path("annotations") / path, export_json(data))
        except UnicodeEncodeError:  # a lone surrogate: name it (every string is searched only now)
            sources = ((f"{source} span export", spans), (f"{source} claim-pair export", pairs))
            InputError.collect([p for where, data in sources for p in unwritable_strings(data, where)])
            raise
        gold = load_gold(annotations, gold_annotator, spans_data=committed.spans, pairs_data=committed.pairs)
        report = stage_build(root, gold, out)
        if not commit:
            out.abandon()
    return report
