"""Ingest: raw pages are copied unchanged, the manifest records sha256 and slice; the heuristic previews."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import PAGE, REPO, write_repo
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
