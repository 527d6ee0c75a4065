"""Raw pages and the document manifest (the ingest step).

A document is one contiguous slice of a raw scraped page; the raw page is copied unchanged
into ``annotations/raw/`` and the manifest records its sha256 and the slice, so every offset
of the dataset maps back to the page and any edit of a raw page is caught at build time."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict
from pathlib import Path

from crossclaim.errors import InputError
from crossclaim.files import write_text_atomic
from crossclaim.schema.records import Document
from crossclaim.schema.scheme import SPLITS

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


def sha256_text(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_manifest(annotations: Path) -> list[Document]:
    """Read the manifest and each raw page, checking sha256 and slice; return documents with text."""
    path = annotations / MANIFEST
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))["documents"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(str(path), f"cannot read the manifest: {exc}") from None
    docs = []
    seen = set()
    for n, e in enumerate(entries):
        where = f"{path}: document {e.get('id', n)!s}"
        try:
            doc = Document(
                id=e["id"],
                source_file=e["source_file"],
                sha256=e["sha256"],
                slice_start=e["slice"]["start"],
                slice_end=e["slice"]["end"],
                publisher=e["publisher"],
                headline=e["headline"],
                authors=tuple(e["authors"]),
                publication_date=e["publication_date"],
                date_source=e["date_source"],
                split=e["split"],
            )
        except (KeyError, TypeError) as exc:
            raise InputError(where, f"missing or malformed field {exc}") from None
        if doc.id in seen:
            raise InputError(where, "duplicate document id")
        seen.add(doc.id)
        if doc.split not in SPLITS:
            raise InputError(where, f"split {doc.split!r} is not one of {', '.join(SPLITS)}")
        raw_path = annotations / doc.source_file
        try:
            data = raw_path.read_bytes()
        except OSError as exc:
            raise InputError(where, f"cannot read raw page {raw_path}: {exc.strerror}") from None
        digest = sha256_text(data)
        if digest != doc.sha256:
            raise InputError(
                where,
                f"sha256 mismatch for {raw_path}: manifest {doc.sha256}, file {digest}"
                " (raw pages are never edited; re-ingest a changed page)",
            )
        raw = data.decode("utf-8")
        if not (0 <= doc.slice_start < doc.slice_end <= len(raw)):
            raise InputError(
                where, f"slice {doc.slice_start}:{doc.slice_end} is out of range for {raw_path} ({len(raw)} characters)"
            )
        docs.append(_with_text(doc, raw[doc.slice_start : doc.slice_end]))
    return docs


def _with_text(doc: Document, text: str) -> Document:
    return Document(**{**asdict(doc), "authors": doc.authors, "text": text})


def manifest_entry(doc: Document) -> dict:
    return {
        "id": doc.id,
        "source_file": doc.source_file,
        "sha256": doc.sha256,
        "slice": {"start": doc.slice_start, "end": doc.slice_end},
        "publisher": doc.publisher,
        "headline": doc.headline,
        "authors": list(doc.authors),
        "publication_date": doc.publication_date,
        "date_source": doc.date_source,
        "split": doc.split,
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
    """Copy a raw page unchanged into ``annotations/raw`` and add it to the manifest."""
    docs = load_manifest(annotations) if (annotations / MANIFEST).exists() else []
    if any(d.id == doc.id for d in docs):
        raise InputError(str(raw_file), f"document id {doc.id} is already in the manifest")
    data = raw_file.read_bytes()
    raw = data.decode("utf-8")
    if not (0 <= doc.slice_start < doc.slice_end <= len(raw)):
        raise InputError(str(raw_file), f"slice {doc.slice_start}:{doc.slice_end} out of range ({len(raw)} chars)")
    target = annotations / RAW_DIR / raw_file.name
    if target.exists() and target.read_bytes() != data:
        raise InputError(str(target), "a different raw page with this name is already ingested")
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
    new = _with_text(
        Document(
            **{
                **asdict(doc),
                "source_file": f"{RAW_DIR}/{raw_file.name}",
                "sha256": sha256_text(data),
                "authors": doc.authors,
            }
        ),
        raw[doc.slice_start : doc.slice_end],
    )
    write_manifest(annotations, [*docs, new])
    return new
