"""The exports as committed to annotations/exports/: what identifies the gold, and nothing volatile.

A Label Studio export carries what the server assigns or time-stamps (task, annotation and user ids,
``created_at``, ``updated_at``, ``created_ago``, ``inner_id``, ``unique_id``, comment counts, drafts).
None of it is gold, and all of it changes when the same work is pushed to another server or pulled
again. The committed form keeps what a rebuild and a push need: the task ``data`` and ``meta``; per
annotation the annotator's e-mail, ``ground_truth``, ``was_cancelled``, ``lead_time`` and the result,
regenerated from the validated records, so it is exactly what ``push`` sends (a pair task's data
gets the context shown to the annotator, recomputed from the gold). Predictions
(pre-annotations) are not gold: they go to a file of their own, and only when asked for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from crossclaim.formats.labelstudio.pairs import PairTask, pair_results, pair_task_data
from crossclaim.formats.labelstudio.spans import parse_span_export, region_results
from crossclaim.schema.records import Annotation, Document, Pair, Span


@dataclass(frozen=True)
class CommittedExports:
    spans: list[dict]
    pairs: list[dict]
    predictions: list[dict]


def export_json(data: list) -> str:
    """An export as committed: keys sorted, one field a line, UTF-8 text unescaped."""
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def committed_exports(
    spans_data: list, pair_tasks: list[PairTask], docs: dict[str, Document], claims: dict[tuple[str, str], Span]
) -> CommittedExports:
    """The committed form of a validated span export and the parsed claim-pair tasks (``claims``: the
    gold claims, from which each pair task's context is recomputed, as ``push`` does)."""
    tasks = {t.doc_id: t for t in parse_span_export(spans_data, "export", docs)}
    data = {raw["data"]["doc_id"]: raw["data"] for raw in spans_data}
    spans, predictions = [], []
    for doc_id in sorted(tasks):
        task, text = tasks[doc_id], data[doc_id]["text"]
        annotations = [_annotation(a, region_results(_ordered(a.spans), text)) for a in task.annotations]
        spans.append({"data": data[doc_id], "meta": task.meta, "annotations": _sorted(annotations)})
        preds = [
            {"model_version": p.model_version, "score": p.score, "result": region_results(_ordered(p.spans), text)}
            for p in task.predictions
        ]
        if preds:
            predictions.append({"data": data[doc_id], "predictions": _sorted(preds)})
    pairs = [
        {
            "data": pair_task_data(t.data, docs, claims),
            "annotations": _sorted(
                [_annotation(a, pair_results(a.payload) if isinstance(a.payload, Pair) else []) for a in t.annotations]
            ),
        }
        for t in sorted(pair_tasks, key=lambda t: t.data["pair_id"])
    ]
    return CommittedExports(spans, pairs, predictions)


def _annotation(a: Annotation, result: list[dict]) -> dict:
    return {
        "completed_by": {"email": a.annotator},
        "ground_truth": a.ground_truth,
        "was_cancelled": a.was_cancelled,
        "lead_time": a.lead_time,
        "result": result,
    }


def _ordered(spans: list[Span]) -> list[Span]:
    return sorted(spans, key=lambda s: (s.start, s.end, s.layer, s.id))


def _sorted(items: list[dict]) -> list[dict]:
    """Annotations by annotator, predictions by model version; ties by content: never server order."""
    return sorted(
        items,
        key=lambda d: (str(d.get("completed_by", {}).get("email", d.get("model_version"))), export_json([d])),
    )
