"""The span project: task JSON ↔ spans, checked region by region, since Label Studio stores what it
is given without complaint (unknown labels, a ``text`` not at its offsets). Unlike its own converter,
relations, per-region attributes, overlapping regions and every <Labels> survive.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from crossclaim.errors import InputError, Problems, shown
from crossclaim.formats.jsonio import described
from crossclaim.formats.labelstudio.annotations import annotation_of, annotator, is_task_id, read_gold_record
from crossclaim.schema.records import Annotation, Document, Prediction, Span, Task
from crossclaim.schema.scheme import ATTRIBUTES, LAYERS, attributes_of
from crossclaim.schema.validate import offsets_problem, span_problems
from crossclaim.text import Utf16, sentence_bounds

# Per-region controls by name (their Label Studio ``from_name``), relations by label.
CONTROLS = {a.name: a for a in ATTRIBUTES if a.result_type is not None}
RELATIONS = {a.relation: a for a in ATTRIBUTES if a.kind == "refs" and not a.derived}
RESULT_TYPES = {**{name: "labels" for name in LAYERS}, **{a.name: a.result_type for a in CONTROLS.values()}}


# ---------------------------------------------------------------------------------------------
# span project: export -> tasks


def parse_span_tasks(
    raws: Iterable[object],
    where: str,
    docs: dict[str, Document] | None = None,
    start: int = 0,
    seen: TaskKeys | None = None,
) -> Iterator[Task]:
    """Validate tasks as they are read, yielding each good one; all problems are raised as one error after
    the last task (a staging caller keeps nothing of a bad export). ``start`` numbers a part's tasks as in
    the whole; ``seen``: the tasks met before, and after it those met here (``TaskKeys.merge``)."""
    problems = Problems()
    seen = TaskKeys() if seen is None else seen
    for raw, here in tasks_of(raws, where, problems, start):
        data = raw.get("data")
        problems.extend(seen.check(raw.get("id"), data.get("doc_id") if isinstance(data, dict) else None, here))
        before = len(problems)
        task = _parse_task(raw, here, docs, problems)
        if task is not None and len(problems) == before:  # only clean tasks go on; the rest is reported at the end
            yield task
    InputError.collect(problems)


def task_here(where: str, task_id: object, n: int) -> str:
    """How messages name a task: by its id, or by its position when it has no usable id."""
    return f"{where}: task {task_id if is_task_id(task_id) else '#' + str(n)}"


def tasks_of(raws: Iterable[object], where: str, problems: Problems, start: int = 0) -> Iterator[tuple[dict, str]]:
    """Each task of an export (of either project) that is an object with a usable id, and its name in messages."""
    for n, raw in enumerate(raws, start):
        if not isinstance(raw, dict):
            problems.add(f"{where}: task #{n}", "task is not a JSON object")
            continue
        task_id, here = raw.get("id"), task_here(where, raw.get("id"), n)
        if task_id is None or is_task_id(task_id):
            yield raw, here
        else:
            problems.add(here, f"id {described(task_id)} is not an integer or a string")


def items_of(raw: dict, kind: str, here: str, problems: Problems) -> Iterator[tuple[dict, str]]:
    """Each of a task's ``annotations`` or ``predictions`` that is an object, and its name in messages. The
    list may be absent or null; ``false`` read as "no annotation" would silently drop a task's work."""
    items = raw.get(kind)
    if items is not None and not isinstance(items, list):
        problems.add(here, f"{kind} is not a list (got {described(items)})")
    for k, item in enumerate(items if isinstance(items, list) else []):
        if isinstance(item, dict):
            yield item, f"{here}, {kind[:-1]} {item.get('id', '#' + str(k))}"
        else:
            problems.add(f"{here}, {kind[:-1]} #{k}", "not a JSON object")


@dataclass
class TaskKeys:
    """The task ids and documents met in an export, each with the first task that had it: a later task
    with either is a duplicate. A build checks each part on its own, then ``merge``s them in export order."""

    ids: dict = field(default_factory=dict)
    docs: dict[str, str] = field(default_factory=dict)

    def check(self, task_id: object, doc_id: object, here: str) -> list[tuple[str, str]]:
        """The duplicate problems of one more task (an id or document that is not valid is left to the parser)."""
        found = []
        if is_task_id(task_id):
            found += [(here, "duplicate task id")] if task_id in self.ids else []
            self.ids.setdefault(task_id, here)
        if isinstance(doc_id, str):
            found += [(here, f"duplicate task for document {doc_id}")] if doc_id in self.docs else []
            self.docs.setdefault(doc_id, here)
        return found

    def merge(self, later: TaskKeys) -> list[tuple[str, str]]:
        """The duplicates of a later part's tasks among these (the part has found those within itself)."""
        found = [p for key, here in later.ids.items() for p in self.check(key, None, here)]
        return found + [p for key, here in later.docs.items() for p in self.check(None, key, here)]


def _parse_task(raw: dict, here: str, docs: dict[str, Document] | None, problems: Problems) -> Task | None:
    data = raw.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        problems.add(here, "missing data.text (a string)")
        return None
    doc_id = data.get("doc_id")
    if not isinstance(doc_id, str):
        problems.add(here, "missing data.doc_id (a string)")
        return None
    here = f"{here} (doc {doc_id})"
    text = data["text"]
    if docs is not None and doc_id not in docs:
        problems.add(here, f"unknown document id {shown(doc_id)} (not in the manifest)")
        return None
    if docs is not None and docs[doc_id].text != text:
        problems.add(here, "data.text differs from the manifest document's text")
        return None
    meta = raw.get("meta") or {}
    if not isinstance(meta, dict):
        problems.add(here, "meta is not a JSON object")
        meta = {}
    task = Task(doc_id=doc_id, text=text, meta=meta)
    to_py, sentences = Utf16(text), sentence_bounds(text)

    def spans_of(item: dict, at: str, prediction: bool = False) -> list[Span] | None:
        spans = _parse_result(item.get("result"), text, to_py, at, problems)
        if spans is not None:
            problems.extend(span_problems(text, spans, sentences, lambda s: f"{at}, region {s.id}", prediction))
        return spans

    def annotation(item: dict, at: str) -> Annotation | None:
        who = annotator(item, at, problems)
        spans = spans_of(item, f"{at} by {who}")
        return None if spans is None else annotation_of(item, doc_id, who, spans, f"{at} by {who}", problems)

    for item, at in items_of(raw, "annotations", here, problems):
        if (ann := annotation(item, at)) is not None:
            task.annotations.append(ann)
    for item, at in items_of(raw, "predictions", here, problems):
        who, score = str(item.get("model_version") or ""), item.get("score")
        if (spans := spans_of(item, f"{at} ({who or 'no model_version'})", prediction=True)) is not None:
            task.predictions.append(Prediction(doc_id, who, spans, score if isinstance(score, (int, float)) else None))
    task.gold = read_gold_record(raw.get("gold"), here, problems, annotation)
    return task


def _parse_result(result: object, text: str, to_py: Utf16, at: str, problems: Problems) -> list[Span] | None:
    """The spans of one annotation's result; problems are named (``at``, region id) only when found."""
    if not isinstance(result, list):
        problems.add(at, "result is not a list")
        return None
    regions: dict[str, dict] = {}
    two_layers: set[str] = set()  # regions that also carry a label of another layer (reported once)
    attrs: list[dict] = []
    relations: list[dict] = []
    for r in result:
        if not isinstance(r, dict):
            problems.add(at, "a result item is not a JSON object")
            continue
        kind = r.get("type")
        if kind == "relation":
            relations.append(r)
            continue
        name, rid = r.get("from_name"), r.get("id")
        expected = RESULT_TYPES.get(name) if isinstance(name, str) else None
        what = None
        if expected is None:
            what = f"from_name {shown(name)} is not in the labeling config"
        elif kind != expected:
            what = f"type {shown(kind)} does not match control {shown(name)} (expected {expected!r})"
        elif not isinstance(rid, str) or not rid:
            what = "missing region id"
        elif not isinstance(r.get("value"), dict):
            what = "value is not a JSON object"
        elif name not in LAYERS:
            attrs.append(r)
        elif rid in regions and regions[rid]["from_name"] != name:
            # a label picked (or its hotkey pressed) while a region of another layer was selected
            if rid not in two_layers:
                both = f"{_label_of(regions[rid])} and {_label_of(r)}"
                problems.add(at, f"region {rid} carries labels of two layers: {both}")
            two_layers.add(rid)
        elif rid in regions:
            what = "duplicate region id"
        else:
            regions[rid] = r
        if what is not None:
            problems.add(f"{at}, region {rid}", what)
    spans: dict[str, tuple] = {}  # region id -> Span fields but its attributes
    for rid, r in regions.items():
        if rid in two_layers:
            continue  # its attributes and relations are not checked: the region itself is wrong
        fields = _region_span(rid, r, text, to_py, at, problems)
        if fields is not None:
            spans[rid] = fields
    found: dict[str, dict] = {rid: {} for rid in spans}  # region id -> its attributes
    for r in attrs:  # a refused attribute takes its region out of ``found``: no check says it is missing
        rid = r["id"]
        if rid not in regions:
            problems.add(
                f"{at}, region {rid}",
                f"per-region {shown(r['from_name'])} has no region {shown(rid)} in this annotation",
            )
        elif rid in found and (what := _attribute_problem(r, regions[rid]["from_name"], found[rid])) is not None:
            problems.add(f"{at}, region {rid}", what)
            del found[rid]
    for r in relations:
        if not any(isinstance(end, str) and end in two_layers for end in (r.get("from_id"), r.get("to_id"))):
            _apply_relation(at, r, regions, found, problems)
    return [Span(*fields, found[rid]) for rid, fields in spans.items() if rid in found]


def _one(values: object) -> str | None:
    """The string a one-string list holds (labels, a text, a relation's label), else None."""
    return values[0] if type(values) is list and len(values) == 1 and isinstance(values[0], str) else None


def _label_of(r: dict) -> str:
    """The label a labels result gives its region (its control's name when the value holds no single label)."""
    label = _one(r["value"].get("labels"))
    if label is None:
        return f"a {r['from_name']} label"
    return label if label in LAYERS[r["from_name"]].label_names else shown(label)


def _region_span(rid: str, r: dict, text: str, to_py: Utf16, at: str, problems: Problems) -> tuple | None:
    """(layer, id, start, end, text, label) of a labels region, or None with its problem added."""
    v = r["value"]
    labels = v.get("labels")
    start, end, rtext = v.get("start"), v.get("end"), v.get("text")
    if _one(labels) is None:
        what = f"value.labels must hold exactly one label, got {shown(labels)}"
    elif not (type(start) is int and type(end) is int):
        what = f"value.start/end must be integers, got {shown(start)}/{shown(end)}"
    elif not isinstance(rtext, str):
        what = "value.text must be a string"
    elif not (0 <= start < end <= len(text)):
        what = offsets_problem(start, end, len(text), "text") + _utf16_hint(v, text, to_py)
    elif text[start:end] != rtext:
        hint = _utf16_hint(v, text, to_py)
        what = f"value.text {shown(rtext)} does not match the text at {start}:{end} ({shown(text[start:end])}){hint}"
    else:
        return (r["from_name"], rid, start, end, rtext, labels[0])
    problems.add(f"{at}, region {rid}", what)
    return None


def _utf16_hint(v: dict, text: str, to_py: Utf16) -> str:
    """Name the --utf16 conversion when the region's text is at its offsets counted in UTF-16 code units."""
    ps, pe = to_py.to_py(v["start"]), to_py.to_py(v["end"])
    if ps is None or pe is None or (ps, pe) == (v["start"], v["end"]) or text[ps:pe] != v["text"]:
        return ""
    return (
        f"; it is the text at UTF-16 code units {v['start']}:{v['end']} (code points {ps}:{pe}): an export from an"
        " older Label Studio that counted UTF-16 code units (1.23 stores code points); convert it with --utf16"
    )


def _attribute_problem(r: dict, layer: str, attrs: dict) -> str | None:
    """Set a per-region attribute (``r``) on the attributes of its region, of ``layer``; or say what is wrong."""
    attr = CONTROLS[r["from_name"]]
    name, values = shown(attr.name), r["value"].get("text" if attr.kind == "text" else "choices")
    if attr.name in attrs:  # the last one would win without a word
        return f"a second result for control {name}: a region holds one"
    if layer != attr.layer:
        return f"unknown attribute {name} for a {layer} region"
    if attr.kind == "text" and _one(values) is None:
        return f"{name} must hold exactly one text, got {shown(values)}"
    if not isinstance(values, list):  # "true" is not ["true"]: say what the shape must be
        return f"{name} choices must be a list, got {shown(values)}"
    if attr.kind != "text" and (len(values) != 1 or values[0] not in attr.choice_values()):
        return f"{name} must be one of the configured choices, got {shown(values)}"
    attrs[attr.name] = (values[0] == "true") if attr.kind == "bool" else values[0]
    return None


def _apply_relation(at: str, r: dict, regions: dict, found: dict, problems: Problems) -> None:
    src, dst = r.get("from_id"), r.get("to_id")
    rid = r.get("id")  # Label Studio's relations have none: they are named by their two ends
    missing = [end for end in (src, dst) if not isinstance(end, str) or end not in regions]
    attr = RELATIONS.get(_one(r.get("labels")))
    if missing:
        what = f"points to a missing region {shown(missing[0])}"
    elif attr is None:
        what = f"relation labels must be [{', '.join(map(repr, RELATIONS))}], got {shown(r.get('labels'))}"
    elif (regions[src]["from_name"], regions[dst]["from_name"]) != (attr.layer, attr.refs):
        what = (
            f"a {attr.relation!r} relation goes from a {LAYERS[attr.layer].noun} to a "
            f"{LAYERS[attr.refs or ''].noun}, not {regions[src]['from_name']} -> {regions[dst]['from_name']}"
        )
    else:
        if src in found:
            found[src][attr.name] = tuple(sorted({*found[src].get(attr.name, ()), dst}, key=_natural))
        return
    problems.add(f"{at}, region {rid}" if rid is not None else f"{at}, relation {shown(src)} -> {shown(dst)}", what)


def _natural(rid: str) -> tuple:
    head = rid.rstrip("0123456789")
    return (head, int(rid[len(head) :] or -1), rid)


def from_utf16(data: object, where: str) -> object:
    """A span export whose offsets count UTF-16 code units (older Label Studio) with code points instead,
    in every result item; an offset inside a surrogate pair, or a text already at its offsets in code
    points (no conversion needed), is an error. Anything malformed is left for the parser."""
    if not isinstance(data, list):
        return data
    problems = Problems()
    out = copy.deepcopy(data)
    for n, raw in enumerate(out):
        d = raw.get("data") if isinstance(raw, dict) else None
        text = d.get("text") if isinstance(d, dict) else None
        to_py = Utf16(text) if isinstance(text, str) else None
        for at, v in _offset_values(raw, task_here(where, raw.get("id"), n)) if to_py else ():
            if not 0 <= v["start"] <= v["end"] <= to_py.units:
                continue  # out of range either way: the parser reports it
            start, end, rtext = to_py.to_py(v["start"]), to_py.to_py(v["end"]), v.get("text")
            if start is None or end is None:
                problems.add(at, f"UTF-16 offsets {v['start']}:{v['end']} split a character in two (a surrogate pair)")
            elif isinstance(rtext, str) and text[v["start"] : v["end"]] == rtext and text[start:end] != rtext:
                found = f"{v['start']}:{v['end']} in code points"
                problems.add(at, f"value.text {shown(rtext)} is at {found}: this export needs no --utf16")
            else:
                v["start"], v["end"] = start, end
    InputError.collect(problems)
    return out


def _offset_values(raw: dict, here: str):
    """(where, value) of every result item with integer offsets in a task's annotations and predictions."""
    for kind in ("annotations", "predictions"):
        for item, at in items_of(raw, kind, here, Problems()):  # what is malformed, the parser reports
            result = item.get("result")
            for r in result if isinstance(result, list) else []:
                v = r.get("value") if isinstance(r, dict) else None
                if isinstance(v, dict) and type(v.get("start")) is int and type(v.get("end")) is int:
                    yield f"{at}, region {r.get('id')}", v


# ---------------------------------------------------------------------------------------------
# span project: records -> task JSON (for import)


def region_results(spans: list[Span], text: str, origin: str = "manual") -> list[dict]:
    """Label Studio result items for spans, in offset order: a region each, per-region attributes, then
    cue relations. Offsets stay code points (Python offsets into ``text``): Label Studio 1.23 stores them so.
    """
    out: list[dict] = []
    relations: list[dict] = []
    for s in sorted(spans, key=lambda s: (s.start, s.end, s.layer, s.id)):
        pos = {"start": s.start, "end": s.end}
        base = {"id": s.id, "to_name": "text", "origin": origin}
        out.append(
            {**base, "from_name": s.layer, "type": "labels", "value": {**pos, "text": s.text, "labels": [s.label]}}
        )
        for attr in attributes_of(s.layer):
            value = s.attrs.get(attr.name)
            if attr.relation in RELATIONS:
                relations += [
                    {"from_id": s.id, "to_id": ref, "type": "relation", "direction": "right", "labels": [attr.relation]}
                    for ref in value or ()
                ]
            if attr.name in CONTROLS and value is not None:
                held = [("true" if value else "false") if attr.kind == "bool" else value]
                held_as = {"text" if attr.kind == "text" else "choices": held}
                out.append({**base, "from_name": attr.name, "type": attr.result_type, "value": {**pos, **held_as}})
    return out + relations


def task_data(doc: Document) -> dict:
    return {"doc_id": doc.id, "text": doc.text, "headline": doc.headline or ""}
