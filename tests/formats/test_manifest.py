"""Ingest: raw pages are copied unchanged, the manifest records sha256 and slice; the heuristic previews."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import END, PAGE, REPO, START, write_repo
from typer.testing import CliRunner

from crossclaim.cli import app
from crossclaim.formats.manifest import guess_slice, load_manifest

runner = CliRunner()


def test_committed_pages_match_their_manifest() -> None:
    docs = load_manifest(REPO / "annotations")
    assert [d.id for d in docs] == ["doc-000", "doc-001", "doc-002", "doc-003", "doc-004"]
    assert all(d.text and d.text == d.text.strip() for d in docs)


def test_guess_slice_skips_menu_and_footer() -> None:
    raw = "• Home\n• Tech\n\nXiaomi CEO predicts his EV bet could soon make money\nBody line.\n\nPost a Comment\nx"
    start, end = guess_slice(raw)
    assert raw[start:end] == "Xiaomi CEO predicts his EV bet could soon make money\nBody line."


def test_ingest_previews_then_writes(tmp_path: Path) -> None:
    root = write_repo(tmp_path)
    raw = tmp_path / "new-page.txt"
    raw.write_text("MENU\nA new article about Xiaomi cars and profits today\nMore text.\nRelated Articles\n")
    args = ["ingest", str(raw), "--id", "doc-new", "--split", "train", "--root", str(root)]
    preview = runner.invoke(app, args)
    assert preview.exit_code == 0 and "preview only" in preview.output
    assert "doc-new" not in (root / "annotations" / "manifest.json").read_text()
    written = runner.invoke(app, [*args, "--publisher", "Test", "--yes"])
    assert written.exit_code == 0, written.output
    manifest = json.loads((root / "annotations" / "manifest.json").read_text())
    entry = next(d for d in manifest["documents"] if d["id"] == "doc-new")
    assert (root / "annotations" / entry["source_file"]).read_bytes() == raw.read_bytes()
    text = raw.read_text()[entry["slice"]["start"] : entry["slice"]["end"]]
    assert text == "A new article about Xiaomi cars and profits today\nMore text."
    again = runner.invoke(app, [*args, "--yes"])
    assert again.exit_code == 2 and "already in the manifest" in again.output


def test_ingest_refuses_slice_out_of_range(tmp_path: Path) -> None:
    root = write_repo(tmp_path)
    raw = tmp_path / "p.txt"
    raw.write_text(PAGE)
    result = runner.invoke(
        app,
        [
            "ingest",
            str(raw),
            "--id",
            "d2",
            "--split",
            "test",
            "--start",
            "0",
            "--end",
            "99999",
            "--yes",
            "--root",
            str(root),
        ],
    )
    assert result.exit_code == 2 and "out of range" in result.output


# ---------------------------------------------------------------------------------------------
# the manifest's JSON types, field by field: one clear error each, nothing written


def edited(root: Path, edit) -> Path:
    path = root / "annotations" / "manifest.json"
    manifest = json.loads(path.read_text())
    edit(manifest, manifest["documents"][0])
    path.write_text(json.dumps(manifest, indent=1))
    return root


BAD_MANIFESTS = {
    "slice as a string": (lambda m, d: d.update(slice="5:10"), "field slice: must be an object"),
    "slice start a float": (
        lambda m, d: d["slice"].update(start=5.0),
        "field slice.start: must be an integer, got a number 5.0",
    ),
    "slice null": (
        lambda m, d: d.update(slice=None),
        'field slice: must be an object {"start": ..., "end": ...}, got null',
    ),
    "slice end a bool": (
        lambda m, d: d["slice"].update(end=True),
        "field slice.end: must be an integer, got true",
    ),
    "documents not a list": (
        lambda m, d: m.update(documents=d),
        "field documents: must be a list of document objects, got an object",
    ),
    "authors a string": (
        lambda m, d: d.update(authors="Jane Doe"),
        "field authors: must be a list of strings (one per author), got a string 'Jane Doe'",
    ),
    "authors holding a number": (
        lambda m, d: d.update(authors=["A", 1]),
        "field authors[1]: must be a string, got an integer 1",
    ),
    "date not a date": (
        lambda m, d: d.update(publication_date="not a date"),
        "'not a date' is not an ISO 8601 date: YYYY, YYYY-MM or YYYY-MM-DD",
    ),
    "date not on the calendar": (
        lambda m, d: d.update(publication_date="2025-02-30"),
        "'2025-02-30' is not a calendar date",
    ),
    "date in another script": (lambda m, d: d.update(publication_date="٢٠٢٥"), "is not an ISO 8601 date"),
    "split a list": (
        lambda m, d: d.update(split=["test"]),
        "field split: must be a string (train, validation, test), got a list ['test']",
    ),
    "unknown field": (lambda m, d: d.update(language="en"), "field language: unknown field"),
    "missing field": (lambda m, d: d.pop("date_source"), "document doc-x, field date_source: missing"),
    "id with a colon": (lambda m, d: d.update(id="doc:1"), "'doc:1' is not a document id"),
    "id not a string": (lambda m, d: d.update(id=[1]), "document #0, field id: must be a string, got a list [1]"),
    "path outside": (
        lambda m, d: d.update(source_file="../../etc/passwd"),
        "must be a relative path inside annotations/",
    ),
    "bad digest": (lambda m, d: d.update(sha256="abc"), "'abc' is not a sha256 digest"),
    "top-level extra": (lambda m, d: m.update(version=2), "manifest.json, field version: unknown field"),
}


@pytest.mark.parametrize("case", sorted(BAD_MANIFESTS))
def test_bad_manifest_fields_are_refused(tmp_path: Path, case: str) -> None:
    edit, fragment = BAD_MANIFESTS[case]
    root = edited(write_repo(tmp_path), edit)
    result = runner.invoke(app, ["build", "--root", str(root)])
    assert result.exit_code == 2, result.output
    assert fragment in result.output, result.output
    assert not (root / "dataset").exists()


def test_duplicate_keys_in_the_manifest_are_refused_with_their_line(tmp_path: Path) -> None:
    root = write_repo(tmp_path)
    path = root / "annotations" / "manifest.json"
    text = json.dumps(json.loads(path.read_text()), indent=1).replace(
        '"split": "test"', '"split": "test",\n"split": "train"'
    )
    path.write_text(text)
    line = text.splitlines().index('"split": "train"') + 1
    result = runner.invoke(app, ["build", "--root", str(root)])
    assert result.exit_code == 2 and f"manifest.json, line {line}: duplicate key 'split'" in result.output, (
        result.output
    )


@pytest.mark.parametrize("date", ["2025", "2025-07", "2025-07-04", None])
def test_full_and_partial_iso_dates_are_accepted(tmp_path: Path, date: str | None) -> None:
    root = edited(write_repo(tmp_path), lambda m, d: d.update(publication_date=date))
    assert [d.publication_date for d in load_manifest(root / "annotations")] == [date]


def test_ingest_checks_the_date_before_writing(tmp_path: Path) -> None:
    root = write_repo(tmp_path)
    raw = tmp_path / "p.txt"
    raw.write_text("A new article about Xiaomi cars and profits today\n")
    before = (root / "annotations" / "manifest.json").read_bytes()
    args = ["ingest", str(raw), "--id", "doc-2", "--split", "test", "--date", "July 4", "--root", str(root)]
    for yes in ([], ["--yes"]):  # the preview checks what the ingest would write
        result = runner.invoke(app, [*args, *yes])
        assert result.exit_code == 2 and "'July 4' is not an ISO 8601 date" in result.output, result.output
    assert (root / "annotations" / "manifest.json").read_bytes() == before
    assert not (root / "annotations" / "raw" / "p.txt").exists()


def test_a_text_is_one_document_at_ingest_and_at_build(tmp_path: Path) -> None:
    """The same text from another raw file, or a slice overlapping another of the same page, would put an
    article in two documents (and a test text in the training split): refused, even as a preview."""
    root = write_repo(tmp_path)
    copy = tmp_path / "copy.txt"
    copy.write_text(PAGE, encoding="utf-8")
    same_page = tmp_path / "page.txt"  # ingested under the name the repository already holds it
    same_page.write_text(PAGE, encoding="utf-8")
    cases = [
        (copy, START, END, "has the same text as document doc-x (test split)"),
        (
            same_page,
            START + 10,
            END + 3,
            f"slice {START + 10}:{END + 3} overlaps the slice {START}:{END} of document doc-x (test split)"
            " on the same raw page",
        ),
    ]
    before = (root / "annotations" / "manifest.json").read_bytes()
    for raw, start, end, fragment in cases:
        args = ["ingest", str(raw), "--id", "doc-2", "--split", "train", "--start", str(start), "--end", str(end)]
        for yes in ([], ["--yes"]):
            result = runner.invoke(app, [*args, *yes, "--root", str(root)])
            assert result.exit_code == 2 and f"new document doc-2: {fragment}" in result.output, result.output
    assert (root / "annotations" / "manifest.json").read_bytes() == before
    assert not (root / "annotations" / "raw" / "copy.txt").exists()
    # a slice next to the other one is a document of its own
    ok = runner.invoke(
        app,
        [
            "ingest",
            str(same_page),
            "--id",
            "doc-2",
            "--split",
            "train",
            "--start",
            "0",
            "--end",
            str(START - 1),
            "--yes",
            "--root",
            str(root),
        ],
    )
    assert ok.exit_code == 0, ok.output
    # the same checks hold for a manifest edited by hand
    doc_x = next(
        d for d in json.loads((root / "annotations" / "manifest.json").read_text())["documents"] if d["id"] == "doc-x"
    )
    edited(root, lambda m, d: m["documents"].append({**doc_x, "id": "doc-3", "split": "train"}))
    result = runner.invoke(app, ["build", "--root", str(root)])
    assert result.exit_code == 2, result.output
    assert "manifest.json: document doc-3: has the same text as document doc-x (test split)" in result.output


# ---------------------------------------------------------------------------------------------
# page furniture declared per document

FANS = 122  # "Fans wrote 小米 🚗 SU7 online." closes the fixture text (149 characters)


def furniture(*ranges: tuple[int, int, str]) -> list[dict]:
    return [{"start": a, "end": b, "kind": k} for a, b, k in ranges]


BAD_FURNITURE = {
    "not a list": ({"start": 0, "end": 6, "kind": "byline"}, "field furniture: must be a list of ranges"),
    "unknown kind": (
        furniture((0, 6, "footer")),
        "furniture[0].kind: 'footer' is not a kind of furniture (allowed: byline",
    ),
    "kind a list": (furniture((0, 6, ["byline"])), "furniture[0].kind: ['byline'] is not a kind of furniture"),  # type: ignore[arg-type]
    "missing end": ([{"start": 0, "kind": "byline"}], "furniture[0].end: missing"),
    "end a string": ([{"start": 0, "end": "6", "kind": "byline"}], "furniture[0].end: must be an integer"),
    "extra field": ([{"start": 0, "end": 6, "kind": "byline", "text": "x"}], "furniture[0].text: unknown field"),
    "empty": (furniture((6, 6, "byline")), "furniture[0]: 6:6 is not a range of the document"),
    "overlapping": (
        furniture((0, 6, "byline"), (4, 9, "caption")),
        "furniture[1]: 4:9 overlaps the range before it, 0:6",
    ),
    "unsorted": (
        furniture((FANS, 149, "promo"), (0, 6, "byline")),
        f"furniture[1]: 0:6 comes before the range before it, {FANS}:149",
    ),
    "beyond the text": (
        furniture((FANS, 150, "promo")),
        f"furniture[0]: {FANS}:150 ends beyond the document (149 characters)",
    ),
    "cutting a token": (furniture((0, 4, "byline")), "furniture[0]: 0:4: its end 4 cuts the token 'Xiaomiunveiled'"),
}


@pytest.mark.parametrize("case", sorted(BAD_FURNITURE))
def test_bad_furniture_is_refused_in_one_line_naming_the_range(tmp_path: Path, case: str) -> None:
    value, fragment = BAD_FURNITURE[case]
    root = edited(write_repo(tmp_path), lambda m, d: d.update(furniture=value))
    result = runner.invoke(app, ["build", "--root", str(root)])
    assert result.exit_code == 2, result.output
    assert "manifest.json: document doc-x, field furniture" in result.output and fragment in result.output
    assert not (root / "dataset").exists()


def test_furniture_is_read_sorted_and_written_only_when_declared(tmp_path: Path) -> None:
    from crossclaim.formats.manifest import manifest_entry
    from crossclaim.schema.records import Furniture

    root = edited(write_repo(tmp_path), lambda m, d: d.update(furniture=furniture((FANS, 149, "promo"))))
    (doc,) = load_manifest(root / "annotations")
    assert doc.furniture == (Furniture(FANS, 149, "promo"),)
    assert doc.text[FANS:149] == "Fans wrote 小米 🚗 SU7 online."
    assert manifest_entry(doc)["furniture"] == furniture((FANS, 149, "promo"))
    assert "furniture" not in manifest_entry(load_manifest(write_repo(tmp_path / "plain") / "annotations")[0])
    assert doc.furniture_at(FANS - 5, FANS) is None and doc.furniture_at(FANS - 5, FANS + 1) is not None
    assert doc.furniture_at(148, 149) is not None and doc.furniture_at(FANS + 3, FANS + 3) is not None
