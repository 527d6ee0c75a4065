"""``crossclaim diff``: the gold changes between two exports, made here with known differences."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import TEXT, TEXT_Y, add_document, gold_spans, span, task, write_repo
from test_pairset import pair_task
from typer.testing import CliRunner

from crossclaim.cli import app
from crossclaim.schema.records import Span

runner = CliRunner()


def exports(directory: Path, x_spans: list[Span], pairs: list[dict]) -> Path:
    directory.mkdir()
    spans = [task(x_spans), {**task(gold_spans(), doc_id="doc-y", text=TEXT_Y), "id": 2}]
    (directory / "spans.json").write_text(json.dumps(spans), encoding="utf-8")
    (directory / "pairs.json").write_text(json.dumps(pairs), encoding="utf-8")
    return directory


def edited(spans: list[Span]) -> list[Span]:
    """doc-x with one change of every kind."""
    out = []
    for s in spans:
        if s.id == "e4":
            continue  # removed
        if s.id == "e1":
            s = Span(s.layer, s.id, s.start, s.end, s.text, "PRODUCT", s.attrs)  # relabelled
        if s.id == "e3":
            s = span("entities", "e3", "Jun", "PERSON")  # moved
        if s.id == "f3":
            s = s.replace(value="33")
        if s.id == "c2":
            s = s.replace(topic="strategy_outlook", compare_with="doc-y:c1")
        out.append(s)
    return [*out, span("entities", "e7", "Fans", "PERSON")]


def test_diff_lists_every_change_per_document_and_layer_then_the_pairs(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "repo")
    add_document(root, "doc-y", TEXT_Y, split="train")
    old = exports(
        tmp_path / "old",
        gold_spans(),
        [pair_task(("doc-x", "c1"), ("doc-y", "c1"), "AGREES"), pair_task(("doc-x", "c2"), ("doc-y", "c2"))],
    )
    new = exports(
        tmp_path / "new",
        edited(gold_spans()),
        [pair_task(("doc-x", "c1"), ("doc-y", "c1"), "UNRELATED"), pair_task(("doc-x", "c2"), ("doc-y", "c1"))],
    )
    result = runner.invoke(app, ["diff", str(old), str(new), "--root", str(root)])
    assert result.exit_code == 0, result.output
    lei = TEXT.index("Lei Jun")
    assert result.output == "\n".join(
        [
            f"Gold changes from `{old}` to `{new}`:",
            "",
            "spans added 1, spans removed 1, spans relabelled 1, spans moved 1, spans attributes changed 2, "
            "pairs added 1, pairs removed 1, pairs relabelled 1",
            "",
            "#### doc-x",
            "",
            "- Entities",
            '  - added: `e7` "Fans" PERSON',
            '  - removed: `e4` "BYD" ORG',
            '  - relabelled: `e1` "Xiaomi" ORG → PRODUCT',
            f'  - moved: `e3` "Jun" {lei}:{lei + 7} "Lei Jun" → {lei + 4}:{lei + 7} "Jun"',
            "- Figures",
            '  - attributes changed: `f3` "a third": value `33.33` → `33`',
            "- Claims",
            '  - attributes changed: `c2` "Xiaomiunveiled the SU7 in late 2023": topic `su7_launch_date` → '
            "`strategy_outlook`; compare_with (none) → `doc-y:c1`",
            "",
            "#### Claim pairs",
            "",
            "- added: `doc-x:c2~doc-y:c1` CONTRADICTS",
            "- removed: `doc-x:c2~doc-y:c2` CONTRADICTS",
            "- relabelled: `doc-x:c1~doc-y:c1` AGREES → UNRELATED",
            "",
            "",
        ]
    )
    again = runner.invoke(app, ["diff", str(old), str(new), "--root", str(root)])
    assert again.output == result.output
    same = runner.invoke(app, ["diff", str(old), str(old), "--root", str(root)])
    assert "No change in the gold spans or pairs." in same.output


def test_diff_names_a_directory_without_an_export(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "repo")
    (tmp_path / "empty").mkdir()
    result = runner.invoke(app, ["diff", str(tmp_path / "empty"), str(tmp_path / "empty"), "--root", str(root)])
    assert result.exit_code == 2
    assert "empty/spans.json: no spans.json here" in result.output and "Traceback" not in result.output


def test_diff_names_a_bad_export_as_the_build_does(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "repo")
    add_document(root, "doc-y", TEXT_Y, split="train")
    old = exports(tmp_path / "old", gold_spans(), [])
    bad = exports(tmp_path / "bad", [s.replace(value="3 thirds") if s.id == "f3" else s for s in gold_spans()], [])
    result = runner.invoke(app, ["diff", str(old), str(bad), "--root", str(root)])
    assert result.exit_code == 2
    assert "region f3" in result.output and "does not fit the PERCENT grammar" in result.output
