"""Label Studio JSON ↔ records, with validation (the annotations/studio step).

Label Studio stores what it is given without complaint (unknown labels, a ``text`` that does
not match its offsets) and its offsets count UTF-16 code units, as the browser does. This
module is the gate: every export is checked region by region before it becomes gold, and
offsets are converted between UTF-16 code units and Python characters in both directions.
Its own converter would drop relations, per-region attributes, overlapping regions and all
but the first <Labels>; here every one of them survives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError
from .records import Annotation, Document, Pair, Prediction, Span, Task, pair_id
from .schema import ATTRIBUTES, CUE_RELATION, LAYERS, PAIR_LABELS
from .text import Utf16, sentence_bounds
from .validate import span_problems

ATTR_CONTROLS = {a.name: a for a in ATTRIBUTES if a.control != "Relation"}
RESULT_TYPES = {**{name: "labels" for name in LAYERS}, **{a.name: a.control.lower() for a in ATTR_CONTROLS.values()}}
PAIR_FIELDS = ("pair_id", "topic", "a_doc", "a_claim", "a_text", "b_doc", "b_claim", "b_text")


def read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror}") from None
    except ValueError as exc:
        raise InputError(str(path), f"not valid JSON (truncated or malformed): {exc}") from None


def annotator_of(completed_by: object) -> str:
    """Annotator identity: the e-mail Label Studio gives, or ``user:<id>`` when only an id is known."""
    if isinstance(completed_by, dict):
        return str(completed_by.get("email") or f"user:{completed_by.get('id')}")
    if isinstance(completed_by, str):
        return completed_by
    return f"user:{completed_by}"


# ---------------------------------------------------------------------------------------------
# span project: export -> tasks


def parse_span_export(data: object, where: str, docs: dict[str, Document] | None = None) -> list[Task]:
    """Validate a span-project export and turn it into tasks; raise one error listing every problem."""
    if not isinstance(data, list):
        raise InputError(where, "a Label Studio export is a JSON list of tasks")
    problems: list[tuple[str, str]] = []
    tasks: list[Task] = []
    seen_ids: set = set()
    seen_docs: set[str] = set()
    for n, raw in enumerate(data):
        here = f"{where}: task #{n}"
        if not isinstance(raw, dict):
            problems.append((here, "task is not a JSON object"))
            continue
        here = f"{where}: task {raw.get('id', '#' + str(n))}"
        if raw.get("id") is not None:
            if raw["id"] in seen_ids:
                problems.append((here, "duplicate task id"))
            seen_ids.add(raw["id"])
        task = _parse_task(raw, here, docs, problems)
        if task is None:
            continue
        if task.doc_id in seen_docs:
            problems.append((here, f"duplicate task for document {task.doc_id}"))
        seen_docs.add(task.doc_id)
        tasks.append(task)
    InputError.collect(problems)
    return tasks


def _parse_task(raw: dict, here: str, docs: dict[str, Document] | None, problems: list) -> Task | None:
    data = raw.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        problems.append((here, "missing data.text (a string)"))
        return None
    doc_id = data.get("doc_id")
    if not isinstance(doc_id, str):
        problems.append((here, "missing data.doc_id (a string)"))
        return None
    here = f"{here} (doc {doc_id})"
    text = data["text"]
    if docs is not None:
        if doc_id not in docs:
            problems.append((here, f"unknown document id {doc_id!r} (not in the manifest)"))
            return None
        if docs[doc_id].text != text:
            problems.append((here, "data.text differs from the manifest document's text"))
            return None
    meta = raw.get("meta") or {}
    if not isinstance(meta, dict):
        problems.append((here, "meta is not a JSON object"))
        meta = {}
    task = Task(doc_id=doc_id, text=text, meta=meta)
    to_py = Utf16(text)
    sentences = sentence_bounds(text)
    for kind in ("annotations", "predictions"):
        items = raw.get(kind) or []
        if not isinstance(items, list):
            problems.append((here, f"{kind} is not a list"))
            continue
        for k, item in enumerate(items):
            if not isinstance(item, dict):
                problems.append((f"{here}, {kind[:-1]} #{k}", "not a JSON object"))
                continue
            if kind == "annotations":
                who = annotator_of(item.get("completed_by"))
                at = f"{here}, annotation {item.get('id', '#' + str(k))} by {who}"
            else:
                who = str(item.get("model_version") or "")
                at = f"{here}, prediction {item.get('id', '#' + str(k))} ({who or 'no model_version'})"
            spans = _parse_result(item.get("result"), text, to_py, at, problems)
            if spans is None:
                continue
            problems.extend(
                span_problems(
                    text,
                    spans,
                    at,
                    sentences,
                    lambda s, at=at: f"{at}, region {s.id}",
                    prediction=kind == "predictions",
                )
            )
            if kind == "annotations":
                lead = item.get("lead_time")
                if lead is not None and not isinstance(lead, (int, float)):
                    problems.append((at, f"lead_time {lead!r} is not a number"))
                    lead = None
                task.annotations.append(
                    Annotation(
                        doc_id=doc_id,
                        annotator=who,
                        spans=spans,
                        lead_time=lead,
                        ground_truth=bool(item.get("ground_truth")),
                        was_cancelled=bool(item.get("was_cancelled")),
                    )
                )
            else:
                score = item.get("score")
                task.predictions.append(
                    Prediction(doc_id, who, spans, score if isinstance(score, (int, float)) else None)
                )
    return task


def _parse_result(result: object, text: str, to_py: Utf16, at: str, problems: list) -> list[Span] | None:
    if not isinstance(result, list):
        problems.append((at, "result is not a list"))
        return None
    regions: dict[str, dict] = {}
    attrs: list[tuple[str, dict]] = []
    relations: list[tuple[str, dict]] = []
    for r in result:
        if not isinstance(r, dict):
            problems.append((at, "a result item is not a JSON object"))
            continue
        rid = r.get("id")
        here = f"{at}, region {rid}"
        if r.get("type") == "relation":
            relations.append((here, r))
            continue
        name = r.get("from_name")
        if name not in RESULT_TYPES:
            problems.append((here, f"from_name {name!r} is not in the labeling config"))
            continue
        if r.get("type") != RESULT_TYPES[name]:
            problems.append(
                (here, f"type {r.get('type')!r} does not match control {name!r} (expected {RESULT_TYPES[name]!r})")
            )
            continue
        if not isinstance(rid, str) or not rid:
            problems.append((here, "missing region id"))
            continue
        if not isinstance(r.get("value"), dict):
            problems.append((here, "value is not a JSON object"))
            continue
        if name in LAYERS:
            if rid in regions:
                problems.append((here, "duplicate region id"))
                continue
            regions[rid] = r
        else:
            attrs.append((here, r))
    spans: dict[str, dict] = {}
    for rid, r in regions.items():
        span = _region_span(rid, r, text, to_py, f"{at}, region {rid}", problems)
        if span is not None:
            spans[rid] = span
    for here, r in attrs:
        _apply_attribute(here, r, regions, spans, problems)
    for here, r in relations:
        _apply_relation(here, r, regions, spans, problems)
    return [Span(**fields) for fields in spans.values()]


def _region_span(rid: str, r: dict, text: str, to_py: Utf16, here: str, problems: list) -> dict | None:
    v = r["value"]
    labels = v.get("labels")
    start, end, rtext = v.get("start"), v.get("end"), v.get("text")
    if not (isinstance(labels, list) and len(labels) == 1 and isinstance(labels[0], str)):
        problems.append((here, f"value.labels must hold exactly one label, got {labels!r}"))
        return None
    if not (type(start) is int and type(end) is int):
        problems.append((here, f"value.start/end must be integers, got {start!r}/{end!r}"))
        return None
    if not isinstance(rtext, str):
        problems.append((here, "value.text must be a string"))
        return None
    if not (0 <= start < end <= to_py.units):
        problems.append((here, f"offsets {start}:{end} out of range (text has {to_py.units} UTF-16 code units)"))
        return None
    ps, pe = to_py.to_py(start), to_py.to_py(end)
    if ps is None or pe is None:
        problems.append((here, f"offsets {start}:{end} split a character in two (UTF-16 surrogate pair)"))
        return None
    if text[ps:pe] != rtext:
        hint = ""
        if start <= len(text) and end <= len(text) and text[start:end] == rtext:
            hint = " (these look like Python character offsets; Label Studio counts UTF-16 code units)"
        problems.append(
            (here, f"value.text {rtext!r} does not match the text at {start}:{end} ({text[ps:pe]!r}){hint}")
        )
        return None
    return {"layer": r["from_name"], "id": rid, "start": ps, "end": pe, "text": rtext, "label": labels[0]}


def _apply_attribute(here: str, r: dict, regions: dict, spans: dict, problems: list) -> None:
    rid, name, v = r["id"], r["from_name"], r["value"]
    attr = ATTR_CONTROLS[name]
    if rid not in regions:
        problems.append((here, f"per-region {name!r} has no region {rid!r} in this annotation"))
        return
    if rid not in spans:
        return  # the region itself is already reported
    if regions[rid]["from_name"] != attr.layer:
        problems.append((here, f"unknown attribute {name!r} for a {regions[rid]['from_name']} region"))
        return
    if attr.control == "TextArea":
        texts = v.get("text")
        if not (isinstance(texts, list) and len(texts) == 1 and isinstance(texts[0], str)):
            problems.append((here, f"{name!r} must hold exactly one text, got {texts!r}"))
            return
        spans[rid][name] = texts[0]
        return
    choices = v.get("choices")
    if not (isinstance(choices, list) and len(choices) == 1 and choices[0] in attr.choices):
        problems.append((here, f"{name!r} must be one of the configured choices, got {choices!r}"))
        return
    spans[rid][name] = (choices[0] == "true") if name == "hedged" else choices[0]


def _apply_relation(here: str, r: dict, regions: dict, spans: dict, problems: list) -> None:
    src, dst = r.get("from_id"), r.get("to_id")
    for end_id in (src, dst):
        if end_id not in regions:
            problems.append((here, f"relation {src!r} -> {dst!r} points to a missing region {end_id!r}"))
            return
    if r.get("labels") != [CUE_RELATION]:
        problems.append((here, f"relation labels must be [{CUE_RELATION!r}], got {r.get('labels')!r}"))
        return
    if regions[src]["from_name"] != "claims" or regions[dst]["from_name"] != "hedges":
        problems.append(
            (
                here,
                f"a {CUE_RELATION!r} relation goes from a claim to a hedge cue, not "
                f"{regions[src]['from_name']} -> {regions[dst]['from_name']}",
            )
        )
        return
    if src in spans:
        spans[src]["cues"] = tuple(sorted({*spans[src].get("cues", ()), dst}, key=_natural))


def _natural(rid: str) -> tuple:
    head = rid.rstrip("0123456789")
    tail = rid[len(head) :]
    return (head, int(tail) if tail else -1, rid)


# ---------------------------------------------------------------------------------------------
# span project: records -> task JSON (for import)


def region_results(spans: list[Span], text: str, origin: str = "manual") -> list[dict]:
    """Label Studio result items for spans: a region each, per-region attributes, cue relations."""
    to16 = Utf16(text).to_utf16
    out: list[dict] = []
    for s in sorted(spans, key=lambda s: (s.start, s.end, s.layer, s.id)):
        pos = {"start": to16(s.start), "end": to16(s.end)}
        base = {"id": s.id, "to_name": "text", "origin": origin}
        out.append(
            {**base, "from_name": s.layer, "type": "labels", "value": {**pos, "text": s.text, "labels": [s.label]}}
        )
        if s.value is not None:
            out.append({**base, "from_name": "value", "type": "textarea", "value": {**pos, "text": [s.value]}})
        if s.hedged is not None:
            out.append(
                {
                    **base,
                    "from_name": "hedged",
                    "type": "choices",
                    "value": {**pos, "choices": ["true" if s.hedged else "false"]},
                }
            )
        if s.topic is not None:
            out.append({**base, "from_name": "topic", "type": "choices", "value": {**pos, "choices": [s.topic]}})
    for s in spans:
        for cue in s.cues:
            out.append(
                {"from_id": s.id, "to_id": cue, "type": "relation", "direction": "right", "labels": [CUE_RELATION]}
            )
    return out


def task_data(doc: Document) -> dict:
    return {"doc_id": doc.id, "text": doc.text, "headline": doc.headline or ""}


# ---------------------------------------------------------------------------------------------
# claim-pair project


@dataclass
class PairTask:
    """A claim-pair task: its data and every annotation (``payload`` holds the parsed Pair)."""

    data: dict
    annotations: list[Annotation]


def parse_pair_tasks(data: object, where: str, claims: dict[tuple[str, str], Span] | None = None) -> list[PairTask]:
    """Validate a claim-pair export: task data, claims it names, every annotation's label."""
    if not isinstance(data, list):
        raise InputError(where, "a Label Studio export is a JSON list of tasks")
    problems: list[tuple[str, str]] = []
    tasks: dict[str, PairTask] = {}
    for n, raw in enumerate(data):
        here = f"{where}: task {raw.get('id', '#' + str(n)) if isinstance(raw, dict) else '#' + str(n)}"
        d = raw.get("data") if isinstance(raw, dict) else None
        if not isinstance(d, dict) or any(not isinstance(d.get(f), str) for f in PAIR_FIELDS):
            problems.append((here, f"data must hold the strings {', '.join(PAIR_FIELDS)}"))
            continue
        here = f"{here} (pair {d['pair_id']})"
        if d["pair_id"] != pair_id(d["a_doc"], d["a_claim"], d["b_doc"], d["b_claim"]):
            problems.append((here, "pair_id does not match its two claims"))
            continue
        if d["pair_id"] in tasks:
            problems.append((here, "duplicate task for this pair"))
            continue
        if claims is not None:
            for side in ("a", "b"):
                key = (d[f"{side}_doc"], d[f"{side}_claim"])
                if key not in claims:
                    problems.append((here, f"names unknown claim {key[1]!r} of document {key[0]!r}"))
        task = PairTask({f: d[f] for f in PAIR_FIELDS}, [])
        for k, item in enumerate(raw.get("annotations") or []):
            if not isinstance(item, dict):
                problems.append((f"{here}, annotation #{k}", "not a JSON object"))
                continue
            ann = _pair_annotation(item)
            at = f"{here}, annotation {item.get('id', '#' + str(k))} by {ann.annotator}"
            if not ann.was_cancelled and item.get("result"):
                label, rationale = _pair_result(item.get("result"), at, problems)
                if label == "CONTRADICTS" and not rationale.strip():
                    problems.append((at, "a CONTRADICTS pair needs a rationale"))
                if label is not None:
                    ann.payload = Pair(
                        id=d["pair_id"],
                        a_doc=d["a_doc"],
                        a_claim=d["a_claim"],
                        b_doc=d["b_doc"],
                        b_claim=d["b_claim"],
                        topic=d["topic"],
                        label=label,
                        rationale=rationale,
                        annotator=ann.annotator,
                        lead_time=ann.lead_time,
                    )
            task.annotations.append(ann)
        tasks[d["pair_id"]] = task
    InputError.collect(problems)
    return list(tasks.values())


def parse_pair_export(
    data: object,
    where: str,
    claims: dict[tuple[str, str], Span] | None = None,
    gold: str | None = None,
    notes: list | None = None,
) -> list[Pair]:
    """The gold pair of every claim-pair task (see ``choose_gold``), sorted by pair id."""
    problems: list[tuple[str, str]] = []
    pairs = []
    for task in parse_pair_tasks(data, where, claims):
        chosen = choose_gold(task.annotations, f"{where}: pair {task.data['pair_id']}", gold, problems, notes)
        if chosen is not None and isinstance(chosen.payload, Pair):
            pairs.append(chosen.payload)
    InputError.collect(problems)
    return sorted(pairs, key=lambda p: p.id)


def _pair_annotation(a: dict) -> Annotation:
    lead = a.get("lead_time")
    return Annotation(
        doc_id="",
        annotator=annotator_of(a.get("completed_by")),
        spans=[],
        lead_time=lead if isinstance(lead, (int, float)) else None,
        ground_truth=bool(a.get("ground_truth")),
        was_cancelled=bool(a.get("was_cancelled")),
    )


def _pair_result(result: object, here: str, problems: list) -> tuple[str | None, str]:
    label, rationale = None, ""
    if not isinstance(result, list):
        problems.append((here, "result is not a list"))
        return None, ""
    for r in result:
        name = r.get("from_name") if isinstance(r, dict) else None
        v = r.get("value") if isinstance(r, dict) else None
        if name == "label" and isinstance(v, dict) and isinstance(v.get("choices"), list):
            if len(v["choices"]) != 1 or v["choices"][0] not in PAIR_LABELS:
                problems.append((here, f"label must be one of {', '.join(PAIR_LABELS)}, got {v['choices']!r}"))
                return None, ""
            label = v["choices"][0]
        elif name == "rationale" and isinstance(v, dict) and isinstance(v.get("text"), list):
            rationale = "\n".join(str(t) for t in v["text"])
        else:
            problems.append((here, f"result item from_name {name!r} is not in the pair config"))
    if label is None:
        problems.append((here, "no pair label chosen"))
    return label, rationale


def pair_task(p: Pair, claims: dict[tuple[str, str], Span]) -> dict:
    a, b = claims[(p.a_doc, p.a_claim)], claims[(p.b_doc, p.b_claim)]
    return {
        "pair_id": p.id,
        "topic": p.topic,
        "a_doc": p.a_doc,
        "a_claim": p.a_claim,
        "a_text": a.text,
        "b_doc": p.b_doc,
        "b_claim": p.b_claim,
        "b_text": b.text,
    }


def pair_results(p: Pair) -> list[dict]:
    out = [
        {
            "id": "label",
            "from_name": "label",
            "to_name": "a_text",
            "type": "choices",
            "value": {"choices": [p.label]},
            "origin": "manual",
        }
    ]
    if p.rationale:
        out.append(
            {
                "id": "rationale",
                "from_name": "rationale",
                "to_name": "a_text",
                "type": "textarea",
                "value": {"text": [p.rationale]},
                "origin": "manual",
            }
        )
    return out


# ---------------------------------------------------------------------------------------------
# gold selection


def choose_gold(
    annotations: list[Annotation], here: str, gold: str | None, problems: list, notes: list | None = None
) -> Annotation | None:
    """The gold annotation of a task, chosen explicitly, never guessed.

    Cancelled annotations are never gold. With ``gold`` (an annotator), that annotator's
    annotation is gold; otherwise the one marked ``ground_truth``; a single remaining
    annotation is gold unless it is empty. Several candidates and no mark is an error.
    Returns None when the task has no annotation (its layers stay empty) or after recording
    a problem. Skipped annotations are reported in ``notes``.
    """
    usable = []
    for a in annotations:
        if a.was_cancelled:
            if notes is not None:
                notes.append(f"{here}: cancelled annotation by {a.annotator} is not used")
            continue
        usable.append(a)
    if gold is not None:
        mine = [a for a in usable if a.annotator == gold]
        if len(mine) != 1:
            problems.append((here, f"gold annotator {gold!r} has {len(mine)} usable annotations on this task"))
            return None
        return mine[0]
    marked = [a for a in usable if a.ground_truth]
    if len(marked) == 1:
        return marked[0]
    if len(marked) > 1 or len(usable) > 1:
        who = ", ".join(a.annotator for a in (marked or usable))
        problems.append(
            (
                here,
                f"several annotations ({who}) and no single ground_truth mark: "
                "mark one as ground truth in Label Studio or pass --gold ANNOTATOR",
            )
        )
        return None
    if usable and usable[0].empty:
        problems.append(
            (
                here,
                f"the only annotation (by {usable[0].annotator}) is empty: not used as gold;"
                " mark it ground truth to accept an empty document",
            )
        )
        return None
    return usable[0] if usable else None
