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
from pathlib import Path, PurePosixPath
from types import NoneType
from typing import Any

from crossclaim.errors import InputError, Problems, shown
from crossclaim.files import write_bytes_atomic, write_text_atomic
from crossclaim.formats.jsonio import decode, described, json_type, read_bytes, read_json
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
            if digest != doc.sha256:
                raise InputError(
                    where,
                    f"sha256 mismatch for {raw_path}: manifest {doc.sha256}, file {digest}"
                    " (raw pages are never edited; re-ingest a changed page)",
                )
            raw = decode(data, str(raw_path))
        except InputError as exc:
            problems += [(where, f"raw page: {w}: {what}") if w != where else (w, what) for w, what in exc.problems]
            continue
        if not doc.slice_end <= len(raw):
            span = f"{doc.slice_start}:{doc.slice_end}"
            problems.add(where, f"slice {span} is out of range for {raw_path} ({len(raw)} characters)")
            continue
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
    """Furniture ranges that end beyond the document's text, or that start or end inside a token: a range
    holds whole tokens, so that no token of the token view is partly furniture and partly article."""
    out = []
    starts, ends, _ = tokens(text) if doc.furniture else ([], [], 0)
    for n, f in enumerate(doc.furniture):
        here = f"{where}, field furniture[{n}]"
        if f.end > len(text):
            out.append((here, f"{f.start}:{f.end} ends beyond the document ({len(text)} characters)"))
            continue
        for name, at in (("start", f.start), ("end", f.end)):
            k = bisect.bisect_right(starts, at) - 1  # the last token starting at or before ``at``
            if k >= 0 and starts[k] < at < ends[k]:
                token = shown(text[starts[k] : ends[k]], 30)
                out.append(
                    (here, f"{f.start}:{f.end}: its {name} {at} cuts the token {token} (ranges hold whole tokens)")
                )
    return out


# ---------------------------------------------------------------------------------------------
# the manifest's JSON, field by field

_SHA256 = re.compile(r"[0-9a-f]{64}")
_DATE = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?")
_ID_FORBIDDEN = re.compile(r"[\s:~]|[\x00-\x1f\x7f]")


def parse_manifest(data: object, where: str) -> list[Document]:
    """Documents (without text) of the manifest's JSON; every problem of every entry in one InputError."""
    if not isinstance(data, dict):
        raise InputError(where, f'must be a JSON object {{"documents": [...]}}, got {json_type(data)}')
    problems = Problems(
        (f"{where}, field {_name(key)}", "unknown field (the manifest holds only documents)")
        for key in sorted(set(data) - {"documents"})
    )
    entries = data.get("documents")
    if not isinstance(entries, list):
        problems.add(f"{where}, field documents", f"must be a list of document objects, got {json_type(entries)}")
        InputError.collect(problems)
    docs: list[Document] = []
    seen: set[str] = set()
    for n, entry in enumerate(entries):
        doc = _entry(entry, n, where, problems)
        if doc is None:
            continue
        if doc.id in seen:
            problems.add(f"{where}: document {_name(doc.id)}", "duplicate document id")
            continue
        seen.add(doc.id)
        docs.append(doc)
    InputError.collect(problems)
    return docs


def _entry(entry: object, n: int, where: str, problems: Problems) -> Document | None:
    if not isinstance(entry, dict):
        problems.add(f"{where}: document #{n}", f"must be an object, got {json_type(entry)}")
        return None
    doc_id = entry.get("id")
    here = f"{where}: document {_name(doc_id) if isinstance(doc_id, str) and doc_id else f'#{n}'}"
    found = _unknown(entry, tuple(_FIELDS), f"{here}, field ")
    for key in _FIELDS:
        if key in entry:
            found += [(f"{here}, field {key}{sub}", what) for sub, what in _field_problems(key, entry[key])]
        elif key not in OPTIONAL:
            found.append((f"{here}, field {key}", "missing"))
    problems += found
    if found:
        return None
    return Document(
        **{key: value for key, value in entry.items() if key not in ("slice", "authors", "furniture")},
        slice_start=entry["slice"]["start"],
        slice_end=entry["slice"]["end"],
        authors=tuple(entry["authors"]),
        furniture=tuple(Furniture(**f) for f in entry.get("furniture", ())),
    )


Found = list[tuple[str, str]]  # (where below the field, e.g. "[2].end", what is wrong)


def _must(ok: Callable[[Any], object], what: str) -> Callable[[Any], Found]:
    """A check of a value of the right type: ``what`` (``{}``: the value shown) unless ``ok(value)``."""
    return lambda value: [] if ok(value) else [("", what.format(shown(value)))]


def _safe_path(value: str) -> bool:
    path = PurePosixPath(value)
    return (
        bool(value) and "\\" not in value and "\x00" not in value and not path.is_absolute() and ".." not in path.parts
    )


def _date_problems(value: str) -> Found:
    m = _DATE.fullmatch(value)
    if m is None:
        return [("", f"{shown(value)} is not an ISO 8601 date: YYYY, YYYY-MM or YYYY-MM-DD (or null when unknown)")]
    try:
        date(int(m[1]), int(m[2] or 1), int(m[3] or 1))
    except ValueError:
        return [("", f"{shown(value)} is not a calendar date")]
    return []


def _range_problems(value: dict, here: str, noun: str, kind: bool = False) -> Found:
    """A ``{"start", "end"}`` range (and its ``kind`` for furniture): known fields, integer bounds, and
    ``0 <= start < end``; ``noun`` names what it must be."""
    found = _unknown(value, ("start", "end", "kind") if kind else ("start", "end"), f"{here}.")
    found += [
        (f"{here}.{key}", "missing" if key not in value else f"must be an integer, got {described(value[key])}")
        for key in ("start", "end")
        if not isinstance(value.get(key), int) or isinstance(value.get(key), bool)
    ]
    got = value.get("kind")
    if kind and (not isinstance(got, str) or got not in FURNITURE):
        what = "missing" if "kind" not in value else f"{shown(got)} is not a kind of furniture"
        found.append((f"{here}.kind", f"{what} (allowed: {', '.join(FURNITURE)})"))
    if not found and not 0 <= value["start"] < value["end"]:
        found.append((here, f"{value['start']}:{value['end']} is not {noun} (0 <= start < end)"))
    return found


def _furniture_problems(value: list) -> Found:
    """Ranges in document offsets, sorted and not overlapping (that they fit the document's text and its
    tokens is checked with the text, ``furniture_problems``)."""
    found: Found = []
    previous: tuple[int, int] | None = None
    for n, item in enumerate(value):
        if not isinstance(item, dict):
            found.append(
                (f"[{n}]", f'must be an object {{"start": ..., "end": ..., "kind": ...}}, got {described(item)}')
            )
            continue
        wrong = _range_problems(item, f"[{n}]", "a range of the document", kind=True)
        found += wrong
        if wrong:
            continue
        start, end = item["start"], item["end"]
        if previous is not None and start < previous[1]:
            how = "overlaps" if start >= previous[0] else "comes before"
            before = f"{previous[0]}:{previous[1]}"
            found.append(
                (f"[{n}]", f"{start}:{end} {how} the range before it, {before} (ranges are sorted and disjoint)")
            )
        else:
            previous = (start, end)
    return found


# Every field of a manifest entry: (its JSON types, how a message names them, the check of a value not null).
_FIELDS: dict[str, tuple[type | tuple[type, ...], str, Callable[[Any], Found] | None]] = {
    "id": (
        str,
        "a string",
        _must(
            lambda v: v and not _ID_FORBIDDEN.search(v),
            "{} is not a document id: a non-empty string without white space, ':' or '~'",
        ),
    ),
    "source_file": (
        str,
        "a string",
        _must(_safe_path, "{} must be a relative path inside annotations/ (e.g. raw/page.txt)"),
    ),
    "sha256": (
        str,
        "a string",
        _must(_SHA256.fullmatch, "{} is not a sha256 digest (64 lowercase hexadecimal digits)"),
    ),
    "slice": (dict, 'an object {"start": ..., "end": ...}', lambda v: _range_problems(v, "", "a slice")),
    "publisher": ((str, NoneType), "a string or null", None),
    "headline": ((str, NoneType), "a string or null", None),
    "authors": (
        list,
        "a list of strings (one per author)",
        lambda v: [
            (f"[{i}]", f"must be a string, got {described(a)}") for i, a in enumerate(v) if not isinstance(a, str)
        ],
    ),
    "publication_date": ((str, NoneType), "a string or null", _date_problems),
    "date_source": (str, "a string", None),
    "split": (
        str,
        f"a string ({', '.join(SPLITS)})",
        _must(SPLITS.__contains__, f"split {{}} is not one of {', '.join(SPLITS)}"),
    ),
    "furniture": (list, 'a list of ranges {"start": ..., "end": ..., "kind": ...}', _furniture_problems),
}
OPTIONAL = ("furniture",)  # fields an entry may leave out (written only when not empty)


def _field_problems(key: str, value: object) -> Found:
    types, want, check = _FIELDS[key]
    if not isinstance(value, types):
        return [("", f"must be {want}, got {described(value)}")]
    return check(value) if check and value is not None else []


def _unknown(value: dict, allowed: tuple[str, ...], prefix: str) -> Found:
    """One problem per key of ``value`` not in ``allowed``, named after ``prefix``."""
    return [
        (f"{prefix}{_name(key)}", f"unknown field (allowed: {', '.join(allowed)})")
        for key in sorted(set(value) - set(allowed))
    ]


def _name(value: object) -> str:
    """An id or key as a message names it: as is when short and plain, else quoted and cut."""
    if isinstance(value, str) and 0 < len(value) <= 80 and value.isprintable() and value.strip() == value:
        return value
    return shown(value)


def manifest_entry(doc: Document) -> dict:
    """A document's manifest JSON: the fields in ``_FIELDS`` order, furniture only when there is some."""
    fields = dataclasses.asdict(doc) | {"slice": {"start": doc.slice_start, "end": doc.slice_end}}
    return {
        key: list(fields[key]) if key in ("authors", "furniture") else fields[key]
        for key in _FIELDS
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
    target.parent.mkdir(parents=True, exist_ok=True)
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
