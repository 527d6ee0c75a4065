"""What a push sends, decided from one task listing (pure functions: no server, no files).

Every task push writes carries, in its ``meta``, a record of what was pushed (``PUSH_META``): the
digest of the task as pushed (its data, meta, annotations and predictions, annotators by e-mail)
and how many annotations and predictions the server held right after. A task whose record
matches what would be pushed now, and whose counts the server still shows, needs no request at
all; only new tasks (imported in bulk, in chunks of bounded size) and tasks changed on either side
(read back in full, then reconciled) cost requests. Work done in Label Studio on a task whose
pushed content did not change is left alone: `pull` brings it back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import orjson

from crossclaim.errors import StudioError
from crossclaim.formats.labelstudio.committed import PUSH_META

CHUNK_BYTES = 32 * 2**20  # an import request's body: well under the server's upload limit, minutes of work at most
UPLOAD_LIMIT = 250 * 2**20  # Label Studio's DATA_UPLOAD_MAX_MEMORY_SIZE: a larger request is refused
LISTED_FIELDS = ("id", "data", "meta", "total_annotations", "cancelled_annotations", "total_predictions")
# Per task key, the data fields the server's annotations are tied to (a document's text: the offsets).
# Any other field of a task's data (the context shown to the annotator) is updated in place when it changes.
FIXED_FIELDS = {"doc_id": ("text",), "pair_id": ()}
RESULT_KEYS = ("id", "from_name", "to_name", "type", "value", "from_id", "to_id", "direction", "labels")


def canonical(value: object) -> bytes:
    """One byte form per JSON value (sorted keys), for digests."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True)
class Wanted:
    """A task as push would write it; its body (annotators by e-mail) is kept elsewhere, at ``offset``."""

    key: str  # the document or pair id
    data_digest: str
    fixed_digest: str  # of the data fields annotations are tied to (``FIXED_FIELDS``)
    digest: str  # of the whole body
    annotations: int
    predictions: int
    offset: int = 0
    length: int = 0


def wanted(item: dict, key: str, offset: int = 0) -> tuple[Wanted, bytes]:
    """The record and canonical body of a task dict (``data``, ``meta``, ``annotations``, ``predictions``)."""
    body = canonical(item)
    w = Wanted(
        item["data"][key],
        digest(canonical(item["data"])),
        fixed_digest(item["data"], key),
        digest(body),
        len(item.get("annotations", ())),
        len(item.get("predictions", ())),
        offset,
        len(body),
    )
    return w, body


@dataclass(frozen=True)
class Listed:
    """A task as the listing shows it (no annotations or predictions, only their counts)."""

    id: int
    key: object
    data_digest: str
    fixed_digest: str
    pushed: object  # meta[PUSH_META]: what push last wrote, if anything
    annotations: int
    predictions: int

    @classmethod
    def of(cls, raw: dict, key: str) -> Listed:
        data = raw.get("data") if isinstance(raw.get("data"), dict) else {}
        meta = raw.get("meta") if isinstance(raw.get("meta"), dict) else {}
        return cls(
            raw["id"],
            data.get(key),
            digest(canonical(data)),
            fixed_digest(data, key),
            meta.get(PUSH_META),
            int(raw.get("total_annotations") or 0) + int(raw.get("cancelled_annotations") or 0),
            int(raw.get("total_predictions") or 0),
        )


def fixed_digest(data: dict, key: str) -> str:
    return digest(canonical([data.get(f) for f in FIXED_FIELDS.get(key, ())]))


def push_record(w: Wanted, annotations: int, predictions: int) -> dict:
    """What goes into ``meta[PUSH_META]`` once ``w`` is on the server with these counts."""
    return {"digest": w.digest, "annotations": annotations, "predictions": predictions}


@dataclass(frozen=True)
class PushPlan:
    new: tuple[Wanted, ...]  # not on the server: imported in bulk
    check: tuple[tuple[Wanted, Listed], ...]  # changed here or there since the last push: read in full, reconciled
    unchanged: int  # as pushed, and untouched since: no request


def plan_push(items: Iterable[Wanted], listed: Iterable[Listed], what: str) -> PushPlan:
    """Decide, from one listing, which tasks to import, which to reconcile and which to leave alone.

    A task whose data on the server differs from annotations/ in a field its annotations are tied to
    (a document's text) is an error (the key names the document or pair; ``what`` says which); a
    difference elsewhere in its data (the context shown) is reconciled: the data is updated in place.
    """
    on_server = {t.key: t for t in listed}
    new, check, unchanged = [], [], 0
    for w in items:
        t = on_server.get(w.key)
        if t is None:
            new.append(w)
        elif t.fixed_digest != w.fixed_digest:
            raise StudioError(
                f"task {t.id} ({what} {w.key}) has different data on the server than in annotations/: "
                "delete the task in Label Studio or pull first"
            )
        elif t.data_digest == w.data_digest and t.pushed == push_record(w, t.annotations, t.predictions):
            unchanged += 1
        else:
            check.append((w, t))
    return PushPlan(tuple(new), tuple(check), unchanged)


def chunked(bodies: Iterable[bytes], limit: int = CHUNK_BYTES) -> Iterator[list[bytes]]:
    """Consecutive task bodies grouped so that each JSON array (brackets and commas) stays within ``limit`` bytes.

    A body larger than ``limit`` on its own makes a chunk of one.
    """
    chunk: list[bytes] = []
    size = 1  # "["
    for body in bodies:
        if chunk and size + 1 + len(body) > limit:
            yield chunk
            chunk, size = [], 1
        chunk.append(body)
        size += 1 + len(body)  # "," or "]"
    if chunk:
        yield chunk


def json_array(chunk: list[bytes]) -> bytes:
    return b"[" + b",".join(chunk) + b"]"


# ---------------------------------------------------------------------------------------------
# one task changed on either side: what to write


@dataclass(frozen=True)
class Writes:
    """The requests that make a server task hold a wanted one, and the counts it has then."""

    create: tuple[dict, ...]  # annotations to create
    update: tuple[tuple[int, dict], ...]  # (annotation id, its new content)
    delete_predictions: tuple[int, ...]  # predictions replaced (deleted, then created again)
    create_predictions: tuple[dict, ...]
    annotations: int
    predictions: int


def task_writes(server: dict, item: dict) -> Writes:
    """Annotations matched by annotator (``completed_by``, a user id in both), predictions by ``model_version``.

    Only what differs is written; annotations and predictions the server has beyond ``item`` stay.
    """
    have = {_user(a.get("completed_by")): a for a in server.get("annotations") or []}
    create, update = [], []
    for ann in item.get("annotations", []):
        old = have.get(ann["completed_by"])
        if old is None:
            create.append(ann)
        elif not (
            same_results(old.get("result") or [], ann["result"])
            and bool(old.get("ground_truth")) == ann["ground_truth"]
            and old.get("lead_time") == ann["lead_time"]
            and bool(old.get("was_cancelled")) == ann["was_cancelled"]
        ):
            update.append((old["id"], ann))
    preds = {p.get("model_version"): p for p in server.get("predictions") or []}
    delete, make = [], []
    for pred in item.get("predictions", []):
        old = preds.get(pred["model_version"])
        if old is not None and same_results(old.get("result") or [], pred["result"]):
            continue
        if old is not None:
            delete.append(old["id"])
        make.append(pred)
    return Writes(
        tuple(create),
        tuple(update),
        tuple(delete),
        tuple(make),
        len(server.get("annotations") or []) + len(create),
        len(server.get("predictions") or []) - len(delete) + len(make),
    )


def same_results(existing: list[dict], wanted: list[dict]) -> bool:
    """Equal results, whatever their order and whatever the server adds to each item."""

    def strip(results: list[dict]) -> list[str]:
        return sorted(json.dumps({k: v for k, v in r.items() if k in RESULT_KEYS}, sort_keys=True) for r in results)

    return strip(existing) == strip(wanted)


def _user(completed_by: object) -> object:
    return completed_by.get("id") if isinstance(completed_by, dict) else completed_by
