"""What a plain pull keeps of the passes' work: the committed annotations a pass brought, added back to
the gold projects' exports before they are validated, and readable ids for regions Label Studio named
at random.

A pass's annotations live in the committed exports beside the gold projects' work and never in the
gold projects on the server (``push --gold`` leaves them out), so a plain pull adds them back; each
new region of the server's export gets the next readable id of its layer (``formats.labelstudio.ids``).
Below both ``sync`` and ``passes``, which use it.
"""

from __future__ import annotations

import mmap
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from crossclaim.dataset.gold import PAIR_EXPORT, SPAN_EXPORT
from crossclaim.errors import InputError
from crossclaim.formats.jsonio import array_file, iter_array, read_json
from crossclaim.formats.labelstudio.annotations import PASS_KEY
from crossclaim.formats.labelstudio.ids import ID_META, readable_ids


def export_tasks(data: object, where: str) -> Iterable[object]:

    if isinstance(data, Path):
        return iter_array(data, where)
    if not isinstance(data, list):
        raise InputError(where, "a Label Studio export is a JSON list of tasks")
    return data


def write_array(items: Iterable[object], dest: Path) -> Path:
    """A JSON array written one element at a time (a pull's scratch file, read back by the streaming reader)."""
    with open(dest, "wb") as fh:
        fh.write(b"[")
        for n, item in enumerate(items):
            fh.write((b"," if n else b"") + orjson.dumps(item))
        fh.write(b"]")
    return dest


# ---------------------------------------------------------------------------------------------
# a plain pull: the gold projects' export with the passes' committed annotations kept


@dataclass
class Carried:
    """What the committed exports hold that the gold projects do not: the passes' annotations, and the
    dataset ids handed out to Label Studio's random region ids (by document)."""

    spans: dict[str, list[dict]] = field(default_factory=dict)
    pairs: dict[str, list[dict]] = field(default_factory=dict)
    ids: dict[str, dict[str, str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.spans or self.pairs or self.ids)


def carried(annotations: Path) -> Carried:
    """Read from the committed exports what a plain pull keeps (see ``Carried``).

    The span export is searched once; only a task that mentions a pass or handed-out ids is parsed.
    """

    out = Carried()
    path = annotations / SPAN_EXPORT
    marks = (f'"{PASS_KEY}"'.encode(), f'"{ID_META}"'.encode())
    if path.is_file() and _mentions(path, marks):
        export = array_file(path)
        for n, piece in enumerate(export.elements()):
            if any(m in piece for m in marks):
                _carry(export.parse(piece, n), "doc_id", out.spans, out.ids)
    if (annotations / PAIR_EXPORT).is_file():
        for raw in read_json(annotations / PAIR_EXPORT):
            _carry(raw, "pair_id", out.pairs, None)
    return out


def _mentions(path: Path, marks: tuple[bytes, ...]) -> bool:
    """Whether a file holds any of ``marks`` (one search through the mapped file: most exports hold none)."""

    if path.stat().st_size == 0:
        return False
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return any(data.find(m) >= 0 for m in marks)


def _carry(raw: object, key: str, annotations: dict[str, list[dict]], ids: dict | None) -> None:
    if not isinstance(raw, dict) or not isinstance(raw.get("data"), dict):
        return
    task_key = raw["data"].get(key)
    anns = [a for a in raw.get("annotations") or [] if isinstance(a, dict) and a.get(PASS_KEY) is not None]
    if anns:
        annotations[task_key] = anns
    meta = raw.get("meta")
    if ids is not None and isinstance(meta, dict) and isinstance(meta.get(ID_META), dict):
        ids[task_key] = meta[ID_META]


def with_carried(raw: object, key: str, annotations: dict[str, list[dict]], ids: dict | None, where: str) -> object:
    """A task of a gold project's export with the passes' committed annotations added (for spans: and its
    regions given readable ids, with the ids the committed export handed out)."""
    if not isinstance(raw, dict):
        return raw
    data = raw.get("data")
    task_key = data.get(key) if isinstance(data, dict) else None
    if isinstance(task_key, str) and task_key in annotations and isinstance(raw.get("annotations", []), list):
        raw = {**raw, "annotations": [*(raw.get("annotations") or []), *annotations.pop(task_key)]}
    if ids is None:
        return raw
    return readable_ids(raw, where, ids.get(task_key) if isinstance(task_key, str) else None)


def prepared_spans(spans: object, carry: Carried, scratch: Path, where: str) -> list | Path:
    """A gold project's span export as a pull validates it: the passes' committed annotations added back,
    regions given readable ids; a file is rewritten to ``scratch`` a task at a time.

    A document whose task the export lacks gets none back: the lost work is named by the pull.
    """
    if not isinstance(spans, Path):
        return [with_carried(t, "doc_id", carry.spans, carry.ids, where) for t in export_tasks(spans, where)]

    def tasks() -> Iterator[bytes]:
        export = array_file(spans, where)
        for n, piece in enumerate(export.elements()):
            if carry.spans or carry.ids or _random_ids(piece):  # else the task goes on as the server wrote it
                piece = orjson.dumps(with_carried(export.parse(piece, n), "doc_id", carry.spans, carry.ids, where))
            yield piece

    dest = scratch / "prepared-spans.json"
    with open(dest, "wb") as fh:
        fh.write(b"[")
        for n, piece in enumerate(tasks()):
            fh.write((b"," if n else b"") + piece)
        fh.write(b"]")
    return dest


_ID_VALUES = re.compile(rb'"id"\s*:\s*"((?:[^"\\]|\\.)*)"')  # every string-valued "id" of a task's JSON
_READABLE = re.compile(rb"[a-z]+[0-9]+")


def _random_ids(piece: bytes) -> bool:
    """Whether a task's JSON holds a region id that is not readable (read without parsing the task)."""
    return any(_READABLE.fullmatch(value) is None for value in _ID_VALUES.findall(piece))


def prepared_pairs(pairs: object, carry: Carried, where: str) -> list:
    """A gold project's claim-pair export with the passes' committed annotations added back."""
    return [with_carried(t, "pair_id", carry.pairs, None, where) for t in export_tasks(pairs, where)]


def refuse_utf16_with_passes(carry: Carried) -> None:
    """``--utf16`` converts every region of an export: the passes' committed annotations count code points."""
    if carry.spans:
        raise InputError(
            "--utf16",
            "converts every annotation of the export, but the committed exports hold annotations of passes "
            "(in code points already): pull without it, from Label Studio 1.23",
        )
