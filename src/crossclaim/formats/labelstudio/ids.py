"""Readable, stable dataset ids for the regions Label Studio names at random.

A span's id is part of the dataset (pair ids ``doc-000:c10~doc-005:c15``, ``compare_with``, ``cues``),
but Label Studio's are random (``dljnItd8xT``). A pull gives each region whose id is not *readable*
(its layer's prefix and a number, ``c15``) the next number of that prefix on the task, in a fixed order.
The task's ``meta`` keeps what was handed out (``ID_META``), committed and pushed back, so a region keeps
its id in every annotation at every later pull, and a number is never handed out twice.
"""

from __future__ import annotations

import re
from collections import defaultdict

from crossclaim.errors import InputError
from crossclaim.schema.scheme import LAYERS

ID_META = "crossclaim_ids"  # a span task's meta: Label Studio region id -> the dataset id handed out for it
READABLE = re.compile(r"([a-z]+)([0-9]+)")


def readable(region_id: object) -> bool:
    return isinstance(region_id, str) and READABLE.fullmatch(region_id) is not None


def readable_ids(task: object, where: str, handed_out: dict[str, str] | None = None) -> object:
    """Give, in place, each region of a raw span task's annotations (not predictions: never gold) whose id
    is not readable its dataset id; attributes and relations follow. ``handed_out``: ids handed out
    before (the committed ``ID_META``). Anything malformed is left for validation, but ``ID_META``."""
    if not isinstance(task, dict):
        return task
    meta = task.get("meta")
    known = _handed_out(meta.get(ID_META) if isinstance(meta, dict) else None, where)
    known |= handed_out or {}
    annotations = task["annotations"] if isinstance(task.get("annotations"), list) else []
    results = [a["result"] for a in annotations if isinstance(a, dict) and isinstance(a.get("result"), list)]
    items = [r for result in results for r in result if isinstance(r, dict)]
    new = {}
    for r in items:
        rid, layer = r.get("id"), r.get("from_name")
        if isinstance(rid, str) and not readable(rid) and rid not in known and layer in LAYERS:
            value = r.get("value") if isinstance(r.get("value"), dict) else {}
            new.setdefault(rid, (list(LAYERS).index(layer), _int(value.get("start")), _int(value.get("end")), rid))
    if not new and not known:
        return task
    top: dict[str, int] = defaultdict(int)
    for rid in [*(r.get("id") for r in items), *known.values()]:
        if found := readable(rid) and READABLE.fullmatch(rid):
            top[found[1]] = max(top[found[1]], int(found[2]))
    for layer_index, _, _, rid in sorted(new.values()):
        prefix = list(LAYERS.values())[layer_index].prefix
        top[prefix] += 1
        known[rid] = f"{prefix}{top[prefix]}"
    for r in items:
        for key in ("id", "from_id", "to_id"):
            if isinstance(r.get(key), str) and r[key] in known:
                r[key] = known[r[key]]
    task["meta"] = {**(meta if isinstance(meta, dict) else {}), ID_META: dict(sorted(known.items()))}
    return task


def _handed_out(value: object, where: str) -> dict[str, str]:
    if value is None or (isinstance(value, dict) and all(not readable(k) and readable(v) for k, v in value.items())):
        return dict(value or {})
    raise InputError(
        where,
        f"meta.{ID_META} must map Label Studio region ids to readable ids such as 'c15' (the ids a pull hands out)",
    )


def _int(value: object) -> int:
    return value if type(value) is int else -1
