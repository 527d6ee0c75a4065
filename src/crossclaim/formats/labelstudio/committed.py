"""The exports as committed to annotations/exports/: what identifies the gold, nothing volatile (ids and
times the server assigns change at every push or pull; ``push``'s own record, ``PUSH_META``, too).

Kept: task ``data`` and ``meta`` (with ``ids.ID_META``); per annotation what ``push`` sends, regenerated
from the validated records (e-mail, flags, ``lead_time``, result, ``pass``); for provenance only,
``updated_by`` and the task's ``gold`` record. Predictions go to a file of their own. Each task is
put in committed form on its own, so a large export is written a task at a time (``export_element``).
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from crossclaim.formats.labelstudio.annotations import PASS_KEY, gold_record_json
from crossclaim.formats.labelstudio.pairs import PairTask, pair_results, pair_task_data
from crossclaim.formats.labelstudio.spans import region_results
from crossclaim.schema.records import Annotation, Document, GoldRecord, Pair, Span, Task

PUSH_META = "crossclaim_push"  # the key of a task's meta where `push` records what it wrote


def export_json(data: list) -> str:
    """An export as committed: keys sorted, one field a line, UTF-8 text unescaped."""
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def export_element(item: object) -> str:
    """One element of a committed export, as ``export_json`` writes it inside the array (indented one level)."""
    return " " + json.dumps(item, indent=1, sort_keys=True, ensure_ascii=False).replace("\n", "\n ")


def export_lines(elements: Iterable[str]) -> Iterator[str]:
    """The text of a committed export from its elements (``export_element``), in order."""
    empty = True
    for text in elements:
        yield ("[\n" if empty else ",\n") + text
        empty = False
    yield "[]\n" if empty else "\n]\n"


def committed_task(data: dict, task: Task) -> dict:
    """A validated span task in committed form (``data`` as the server gave it)."""

    def form(a: Annotation) -> dict:
        return _annotation(a, region_results(a.spans, data["text"]))

    return _with_gold({"data": data, "meta": committed_meta(task.meta)}, task.annotations, task.gold, form)


def committed_predictions(data: dict, task: Task) -> dict | None:
    """A span task's predictions in committed form, or None when it has none."""
    preds = [
        {"model_version": p.model_version, "score": p.score, "result": region_results(p.spans, data["text"])}
        for p in task.predictions
    ]
    return {"data": data, "predictions": _sorted(preds)} if preds else None


def committed_pairs(
    pair_tasks: list[PairTask], docs: dict[str, Document], claims: dict[tuple[str, str], Span]
) -> list[dict]:
    """Claim-pair tasks in committed form, each task's context recomputed from the gold ``claims``."""

    def form(a: Annotation) -> dict:
        return _annotation(a, pair_results(a.payload) if isinstance(a.payload, Pair) else [])

    return [
        _with_gold({"data": pair_task_data(t.data, docs, claims)}, t.annotations, t.gold, form)
        for t in sorted(pair_tasks, key=lambda t: t.data["pair_id"])
    ]


def _with_gold(out: dict, annotations: list[Annotation], gold: GoldRecord | None, form: Callable) -> dict:
    """``out`` with a task's annotations in committed form and order, and its gold record (its index in that order)."""
    formed = [form(a) for a in annotations]
    out["annotations"] = _sorted(formed)
    if gold is not None and gold.annotation is not None:
        # the gold's place after sorting; an equal twin (same annotator, same content) is the same annotation
        at = next(i for i, f in enumerate(out["annotations"]) if f is formed[gold.annotation])
        gold = GoldRecord(gold.rule, at, gold.annotator)
    if gold is not None:
        out["gold"] = gold_record_json(gold, form)
    return out


def committed_meta(meta: dict) -> dict:
    return {k: v for k, v in meta.items() if k != PUSH_META}


def _annotation(a: Annotation, result: list[dict]) -> dict:
    out = {
        "completed_by": {"email": a.annotator},
        "updated_by": {"email": a.updated_by} if a.updated_by is not None else None,
        "ground_truth": a.ground_truth,
        "was_cancelled": a.was_cancelled,
        "lead_time": a.lead_time,
        "result": result,
    }
    if a.pass_name is not None:  # brought by a pull of that pass (absent otherwise: older exports keep their bytes)
        out[PASS_KEY] = a.pass_name
    return out


def _sorted(items: list[dict]) -> list[dict]:
    """Annotations by annotator, predictions by model version, ties (rare) by committed text: never server order."""

    def who(d: dict) -> str:
        return str(d.get("completed_by", {}).get("email", d.get("model_version")))

    counts = Counter(who(d) for d in items)
    return sorted(items, key=lambda d: (who(d), export_json([d]) if counts[who(d)] > 1 else ""))


class SortedExport:
    """Elements of a committed export met in the server's order, held in an SQLite scratch file (bounded
    memory), written out in key order (SQLite orders text by its UTF-8 bytes, as Python orders str).
    ``add`` encodes at once: a lone surrogate fails there (``UnicodeEncodeError``), the element at hand."""

    def __init__(self, scratch: Path) -> None:
        self._db = sqlite3.connect(scratch)
        self._db.execute("CREATE TABLE elements (key TEXT PRIMARY KEY, element TEXT)")

    def add(self, key: str, element: dict) -> None:
        self._db.execute("INSERT OR REPLACE INTO elements VALUES (?, ?)", (key, export_element(element)))

    def write(self, dest: Path) -> None:
        with open(dest, "w", encoding="utf-8") as out:
            out.writelines(export_lines(e for (e,) in self._db.execute("SELECT element FROM elements ORDER BY key")))

    def close(self) -> None:
        self._db.close()
