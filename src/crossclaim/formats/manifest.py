"""Raw pages and the document manifest (the ingest step).

A document is one contiguous slice of a raw scraped page; the raw page is copied unchanged
into ``annotations/raw/`` and the manifest records its sha256 and the slice, so every offset
of the dataset maps back to the page and any edit of a raw page is caught at build time."""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import json
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import msgspec
from msgspec.structs import astuple

from crossclaim.errors import InputError, Problems, shown
from crossclaim.files import write_bytes_atomic, write_text_atomic
from crossclaim.formats.jsonio import decode, read_bytes, read_json
from crossclaim.schema.records import Document, Furniture
from crossclaim.schema.scheme import FURNITURE, SPLITS
from crossclaim.text import tokens

MANIFEST = "manifest.json"
RAW_DIR = "raw"
# Lines that end an article body on the pages seen so far (the ingest heuristic's stop list).
FOOTER_MARKERS = (
    "Post a Comment",
    "Previous Post",
    "Related Articles",
    "Related Posts",
    "About the Author",
    "Join us at",
    "Expand Your Tech Knowledge",
    "Hashtags",
    "Comments",
    "Add A Comment",
    "Share.",
    "Latest in",
    "Most Popular",
    "Try Our AI Features",
)


def load_manifest(annotations: Path) -> list[Document]:
    """Read the manifest and each raw page, checking sha256 and slice; return documents with text."""
    path = annotations / MANIFEST
    docs = parse_manifest(read_json(path, unique_keys=True), str(path))
    problems = Problems()
    out = []
    for doc in docs:
        where = f"{path}: document {_name(doc.id)}"
        raw_path = annotations / doc.source_file
        try:
            data = read_bytes(raw_path)
            digest = hashlib.sha256(data).hexdigest()
            raw = decode(data, str(raw_path)) if digest == doc.sha256 else ""
        except InputError as exc:
            problems += [(where, f"raw page: {w}: {what}") for w, what in exc.problems]
            continue
        if digest != doc.sha256:
            what = f"sha256 mismatch for {raw_path}: manifest {doc.sha256}, file {digest}"
            problems.add(where, f"{what} (raw pages are never edited; re-ingest a changed page)")
        elif doc.slice_end > len(raw):
            span = f"{doc.slice_start}:{doc.slice_end}"
            problems.add(where, f"slice {span} is out of range for {raw_path} ({len(raw)} characters)")
        else:
            text = raw[doc.slice_start : doc.slice_end]
            problems += furniture_problems(doc, text, where)
            out.append(dataclasses.replace(doc, text=text))
    problems += shared_text(out, lambda d: f"{path}: document {_name(d.id)}")
    InputError.collect(problems)
    return out


def shared_text(docs: list[Document], where: Callable[[Document], str]) -> Problems:
    """Documents holding a text another one holds: the same text from two raw files, or overlapping
    slices of one raw page. An article is one document: twice, it would be counted twice, or sit in
    two splits (a test text in the training data). ``where(doc)`` names the later document."""
    problems = Problems()
    by_text: dict[str, Document] = {}
    by_page: dict[str, list[Document]] = {}
    for doc in docs:
        first = by_text.setdefault(doc.text, doc)
        if first is not doc:
            problems.add(where(doc), f"has the same text as document {_name(first.id)} ({first.split} split)")
            continue
        page = by_page.setdefault(doc.sha256, [])
        for other in page:
            if doc.slice_start < other.slice_end and other.slice_start < doc.slice_end:
                problems.add(
                    where(doc),
                    f"slice {doc.slice_start}:{doc.slice_end} overlaps the slice {other.slice_start}:{other.slice_end}"
                    f" of document {_name(other.id)} ({other.split} split) on the same raw page",
                )
                break
        page.append(doc)
    return problems


def furniture_problems(doc: Document, text: str, where: str) -> list[tuple[str, str]]:
    """Furniture ranges of an unknown kind, empty, beyond the document's text, not sorted and disjoint, or
    starting or ending inside a token: a range holds whole tokens, so that no token of the token view is
    partly furniture and partly article."""
    out = []
    starts, ends, _ = tokens(text) if doc.furniture else ([], [], 0)
    before: Furniture | None = None
    for n, f in enumerate(doc.furniture):
        here, span = f"{where}, field furniture[{n}]", f"{f.start}:{f.end}"
        if f.kind not in FURNITURE:
            out.append(
                (f"{here}.kind", f"{shown(f.kind)} is not a kind of furniture (allowed: {', '.join(FURNITURE)})")
            )
        if not 0 <= f.start < f.end:
            out.append((here, f"{span} is not a range of the document (0 <= start < end)"))
        elif f.end > len(text):
            out.append((here, f"{span} ends beyond the document ({len(text)} characters)"))
        elif before is not None and f.start < before.end:
            how = "overlaps" if f.start >= before.start else "comes before"
            what = f"{how} the range before it, {before.start}:{before.end} (ranges are sorted and disjoint)"
            out.append((here, f"{span} {what}"))
        else:
            before = f
            for name, at in (("start", f.start), ("end", f.end)):
                k = bisect.bisect_right(starts, at) - 1  # the last token starting at or before ``at``
                if k >= 0 and starts[k] < at < ends[k]:
                    token = shown(text[starts[k] : ends[k]], 30)
                    out.append((here, f"{span}: its {name} {at} cuts the token {token} (ranges hold whole tokens)"))
    return out


# ---------------------------------------------------------------------------------------------
# the manifest's JSON, field by field

_DATE = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?")
_ID_FORBIDDEN = re.compile(r"[\s:~]|[\x00-\x1f\x7f]")
_UNSAFE_PATH = re.compile(r"^/|\\|\x00|(^|/)\.\.(/|$)")  # absolute, a backslash or NUL, a ".." part


class _Range(msgspec.Struct, forbid_unknown_fields=True):
    start: int
    end: int


class _Furniture(_Range, forbid_unknown_fields=True):
    kind: str


class _Entry(msgspec.Struct, forbid_unknown_fields=True):
    """A manifest entry's shape (msgspec checks the types, required and unknown fields); its fields in
    the order the manifest writes them, ``furniture`` only when there is some."""

    id: str
    source_file: str
    sha256: Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")]
    slice: _Range
    publisher: str | None
    headline: str | None
    authors: tuple[str, ...]
    publication_date: str | None
    date_source: str
    split: str
    furniture: list[_Furniture] = []


class _Manifest(msgspec.Struct, forbid_unknown_fields=True):
    documents: list[Any]  # each entry is converted on its own, so that every bad entry is reported


def parse_manifest(data: object, where: str) -> list[Document]:
    """Documents (without text) of the manifest's JSON; the problems of every entry (its first wrong type,
    or every rule it breaks) in one InputError."""
    try:
        entries = msgspec.convert(data, _Manifest).documents
    except msgspec.ValidationError as exc:
        at, what = _said(exc, where)
        raise InputError(at, f'{what} (the manifest is {{"documents": [...]}})') from None
    problems = Problems()
    docs: dict[str, Document] = {}
    for n, entry in enumerate(entries):
        doc_id = entry.get("id") if isinstance(entry, dict) else None
        here = f"{where}: document {_name(doc_id) if isinstance(doc_id, str) and doc_id else f'#{n}'}"
        try:
            doc = _document(msgspec.convert(entry, _Entry))
        except msgspec.ValidationError as exc:
            problems.add(*_said(exc, here))
            continue
        problems += [(f"{here}, field {field}", what) for field, what in _entry_problems(doc)]
        if docs.setdefault(doc.id, doc) is not doc:
            problems.add(here, "duplicate document id")
    InputError.collect(problems)  # so that a document with a problem is never returned
    return list(docs.values())


def _said(exc: msgspec.ValidationError, here: str) -> tuple[str, str]:
    """msgspec's message placed at its JSON path below ``here``, cut to one short line (it may quote a key)."""
    what, at, path = str(exc).rpartition(" - at `$")
    what, field = (what, path.strip(".`")) if at else (path, "")
    short = what if what.isprintable() and len(what) <= 200 else shown(what, 200)
    return (f"{here}, field {field}" if field else here), short


def _document(entry: _Entry) -> Document:
    fields = msgspec.structs.asdict(entry) | {"furniture": tuple(Furniture(*astuple(f)) for f in entry.furniture)}
    del fields["slice"]
    return Document(**fields, slice_start=entry.slice.start, slice_end=entry.slice.end)


def _entry_problems(doc: Document) -> list[tuple[str, str]]:
    """(field, what is wrong) by the rules beyond the types: id, path, date, split and slice (the furniture is
    checked with the text, ``furniture_problems``)."""
    found = []
    if not doc.id or _ID_FORBIDDEN.search(doc.id):
        found.append(
            ("id", f"{shown(doc.id)} is not a document id: a non-empty string without white space, ':' or '~'")
        )
    if not doc.source_file or _UNSAFE_PATH.search(doc.source_file):
        found.append(
            ("source_file", f"{shown(doc.source_file)} must be a relative path inside annotations/ (e.g. raw/page.txt)")
        )
    if doc.publication_date is not None and (wrong := _date_problem(doc.publication_date)):
        found.append(("publication_date", wrong))
    if doc.split not in SPLITS:
        found.append(("split", f"split {shown(doc.split)} is not one of {', '.join(SPLITS)}"))
    if not 0 <= doc.slice_start < doc.slice_end:
        found.append(("slice", f"{doc.slice_start}:{doc.slice_end} is not a slice (0 <= start < end)"))
    return found


def _date_problem(value: str) -> str | None:
    m = _DATE.fullmatch(value)
    if m is None:
        return f"{shown(value)} is not an ISO 8601 date: YYYY, YYYY-MM or YYYY-MM-DD (or null when unknown)"
    try:
        date(int(m[1]), int(m[2] or 1), int(m[3] or 1))
    except ValueError:
        return f"{shown(value)} is not a calendar date"
    return None


def _name(value: object) -> str:
    """An id or key as a message names it: as is when short and plain, else quoted and cut."""
    if isinstance(value, str) and 0 < len(value) <= 80 and value.isprintable() and value.strip() == value:
        return value
    return shown(value)


def manifest_entry(doc: Document) -> dict:
    """A document's manifest JSON: the fields in ``_Entry`` order, furniture only when there is some."""
    fields = dataclasses.asdict(doc) | {"slice": {"start": doc.slice_start, "end": doc.slice_end}}
    return {
        key: list(fields[key]) if key in ("authors", "furniture") else fields[key]
        for key in _Entry.__struct_fields__
        if key != "furniture" or doc.furniture
    }


def write_manifest(annotations: Path, docs: list[Document]) -> None:
    entries = [manifest_entry(d) for d in sorted(docs, key=lambda d: d.id)]
    write_text_atomic(annotations / MANIFEST, json.dumps({"documents": entries}, indent=2, ensure_ascii=False) + "\n")


def guess_slice(raw: str) -> tuple[int, int]:
    """The documented ingest heuristic: from the first headline-like line to the last body line.

    Start: the first line of at least six words that is not a bullet or menu item.
    End: the end of the last non-empty line before the first footer marker line
    (``FOOTER_MARKERS``) that follows the start, or the end of the page.
    """
    pos = 0
    start = None
    end = len(raw.rstrip())
    for line in raw.split("\n"):
        stripped = line.strip()
        lead = len(line) - len(line.lstrip())
        if start is None:
            if len(stripped.split()) >= 6 and not re.match(r"[•\-*|>]", stripped):
                start = pos + lead
        elif any(stripped.startswith(m) for m in FOOTER_MARKERS):
            end = len(raw[:pos].rstrip())
            break
        pos += len(line) + 1
    if start is None:
        raise InputError("raw page", "no line of six or more words: give --start and --end")
    return start, end


def ingest(annotations: Path, raw_file: Path, doc: Document) -> Document:
    """Copy a raw page unchanged into ``annotations/raw`` and add it to the manifest.

    The new entry passes every check (``checked_ingest``) before anything is written.
    """
    docs, new, data = checked_ingest(annotations, raw_file, doc)
    target = annotations / new.source_file
    if not target.exists():
        write_bytes_atomic(target, data)
    write_manifest(annotations, [*docs, new])
    return new


def checked_ingest(annotations: Path, raw_file: Path, doc: Document) -> tuple[list[Document], Document, bytes]:
    """The manifest's documents, the new one (with its text) and the raw page's bytes, once the new entry
    has passed the manifest's own checks (a preview shows only what an ingest would write)."""
    docs = load_manifest(annotations) if (annotations / MANIFEST).exists() else []
    if any(d.id == doc.id for d in docs):
        raise InputError(str(raw_file), f"document id {_name(doc.id)} is already in the manifest")
    data = read_bytes(raw_file)
    raw = decode(data, str(raw_file))
    if not (0 <= doc.slice_start < doc.slice_end <= len(raw)):
        raise InputError(str(raw_file), f"slice {doc.slice_start}:{doc.slice_end} out of range ({len(raw)} chars)")
    target = annotations / RAW_DIR / raw_file.name
    if target.exists() and target.read_bytes() != data:
        raise InputError(str(target), "a different raw page with this name is already ingested")
    source = f"{RAW_DIR}/{raw_file.name}"
    new = dataclasses.replace(doc, source_file=source, sha256=hashlib.sha256(data).hexdigest())
    parse_manifest({"documents": [manifest_entry(new)]}, f"new manifest entry ({raw_file})")
    new = dataclasses.replace(new, text=raw[doc.slice_start : doc.slice_end])
    InputError.collect(shared_text([*docs, new], lambda d: f"{raw_file}: new document {_name(d.id)}"))
    return docs, new, data
