"""What every command shares: the project found from any subdirectory, one-line errors printed
literally (no rich markup), output paths checked before any work, and a summary that stays local."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest
from conftest import REPO, gold_spans, task, write_repo
from typer.testing import CliRunner

from crossclaim.cli import app

runner = CliRunner()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return write_repo(tmp_path / "repo", [task(gold_spans())])


def one_error(result, fragment: str) -> str:
    assert result.exit_code == 2, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], result.output
    return lines[0]


def test_commands_find_the_project_from_a_subdirectory(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo / "annotations" / "raw")
    result = runner.invoke(app, ["build"])
    assert result.exit_code == 0, result.output
    assert (repo / "dataset" / "README.md").is_file() and not (repo / "annotations" / "raw" / "dataset").exists()
    monkeypatch.chdir(repo / "dataset")
    lines = runner.invoke(app, ["summary"]).output.splitlines()
    assert lines[0] == "CrossClaim dataset version 0.0.0" and lines[1].startswith("documents: test 1")


def test_summary_prints_the_release_of_the_changelog_as_the_card_does(repo: Path) -> None:
    (repo / "annotations" / "CHANGELOG.md").write_text("# Changelog\n\n## 1.1.0 (2026-12-02)\n\nx\n\n## 1.0.1\n")
    assert runner.invoke(app, ["build", "--root", str(repo)]).exit_code == 0
    lines = runner.invoke(app, ["summary", "--root", str(repo)]).output.splitlines()
    assert lines[0] == "CrossClaim dataset version 1.1.0 (2026-12-02)"
    assert "Version 1.1.0" in (repo / "dataset" / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "args",
    [
        ["build"],
        ["summary"],
        ["score", "p.jsonl"],
        ["predict", "regex", "-o", "p.jsonl"],
        ["leaderboard", "--out", "board"],
        ["studio", "agreement"],
        ["studio", "push"],
    ],
)
def test_outside_a_project_every_command_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    one_error(runner.invoke(app, args), "not inside a CrossClaim project (no annotations/manifest.json here or in any")
    assert list(tmp_path.iterdir()) == []


def test_root_that_is_not_a_project(tmp_path: Path) -> None:
    one_error(runner.invoke(app, ["build", "--root", str(tmp_path)]), "not a CrossClaim project")


def test_summary_never_contacts_the_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    """From src/ (where a relative dataset/ does not exist) with the hub switched on: no socket is opened."""
    import datasets.config
    import huggingface_hub.constants

    for module, name in (
        (huggingface_hub.constants, "HF_HUB_OFFLINE"),
        (datasets.config, "HF_HUB_OFFLINE"),
        (datasets.config, "HF_DATASETS_OFFLINE"),
    ):
        monkeypatch.setattr(module, name, False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    attempts: list[object] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network use in a test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.chdir(REPO / "src")
    result = runner.invoke(app, ["summary"])
    assert result.exit_code == 0, result.output
    assert attempts == []
    assert "documents: train 2, validation 1, test 2" in result.output
    assert huggingface_hub.constants.HF_HUB_OFFLINE is False  # restored after the call


def test_summary_without_a_built_dataset(repo: Path) -> None:
    one_error(runner.invoke(app, ["summary", "--root", str(repo)]), "no built dataset here: run `crossclaim build`")


@pytest.mark.parametrize("doc_id", ["[bold]doc[/bold]", "[/x]", "doc[:red_car:]", "a\nb"])
def test_ids_and_file_names_print_literally(repo: Path, tmp_path: Path, doc_id: str) -> None:
    (tmp_path / "pred[").mkdir()
    preds = tmp_path / "pred[/x] [bold].jsonl"
    preds.write_text(json.dumps({"document_id": doc_id}) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["score", str(preds), "--root", str(repo)])
    shown = repr(doc_id).replace("\n", "\\n") if "\n" in doc_id else repr(doc_id)
    line = one_error(result, f"unknown document {shown}")
    assert str(preds) in line


def test_markup_in_a_manifest_id_prints_literally(repo: Path) -> None:
    path = repo / "annotations" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["documents"][0]["split"] = "[red]test[/red]"
    manifest["documents"][0]["id"] = "[/doc]"
    path.write_text(json.dumps(manifest))
    one_error(
        runner.invoke(app, ["build", "--root", str(repo)]), "document [/doc], field split: split '[red]test[/red]'"
    )


def test_output_paths_are_checked_before_any_work(repo: Path, tmp_path: Path) -> None:
    preds = tmp_path / "p.jsonl"
    preds.write_text("{}\n")
    target = tmp_path / "scores"
    target.mkdir()
    one_error(runner.invoke(app, ["score", str(preds), "--json", str(target), "--root", str(repo)]), "is a directory")
    assert list(target.iterdir()) == []
    under_file = preds / "scores.json"
    one_error(runner.invoke(app, ["score", str(preds), "--json", str(under_file), "--root", str(repo)]), "is a file")
    one_error(runner.invoke(app, ["score", str(target), "--root", str(repo)]), "is a directory, not a file")
    unwritable = Path("/proc") / "scores.json"  # no file can be made in /proc, not even by root
    args = ["score", str(preds), "--json", str(unwritable), "--root", str(repo)]
    one_error(runner.invoke(app, args), f"--json {unwritable}: no file can be written in /proc")


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["predict", "regex", "--split", "test", "-o"], "--output"),
        (["explain", "regex", "-o"], "--output"),
        (["score", "PREDS", "--json"], "--json"),
        (["leaderboard", "--system", "regex", "--out"], "--out"),
        (["studio", "agreement", "--out"], "--out"),
    ],
)
def test_an_output_in_a_missing_directory_is_refused_and_nothing_is_made(
    repo: Path, tmp_path: Path, args: list[str], option: str
) -> None:
    """A mistyped directory is not created: the path is refused before any work."""
    preds = tmp_path / "p.jsonl"
    preds.write_text(json.dumps({"document_id": "doc-x"}) + "\n")
    target = tmp_path / "missing" / "deeper" / "out.jsonl"
    args = [str(preds) if a == "PREDS" else a for a in args]
    result = runner.invoke(app, [*args, str(target), "--root", str(repo)])
    one_error(result, f"{option} {target}: directory {target.parent} does not exist: create it first")
    assert not (tmp_path / "missing").exists()


def test_an_interrupted_build_is_finished_by_the_next_command(repo: Path) -> None:
    """A journal left by a killed build is rolled forward before any command reads the project."""
    from crossclaim.files import JOURNAL, WORK_DIR, Staged

    assert runner.invoke(app, ["build", "--root", str(repo)]).exit_code == 0
    stage = repo / WORK_DIR / "stage-test"
    staged = Staged(repo, stage)
    staged.write_text(Path("DATASHEET.md"), "new datasheet\n")
    (staged.dir(Path("dataset")) / "README.md").write_text("new card\n")
    # the journal as a build killed right after its commit point leaves it
    journal = {
        "stage": stage.name,
        "entries": [
            {"path": "DATASHEET.md", "kind": "file"},
            {"path": "dataset", "kind": "dir", "inode": list(_identity(stage / "files" / "dataset"))},
        ],
    }
    (repo / WORK_DIR / JOURNAL).write_text(json.dumps(journal))
    result = runner.invoke(app, ["studio", "agreement", "--root", str(repo)])
    assert result.exit_code == 0, result.output
    assert (repo / "DATASHEET.md").read_text() == "new datasheet\n"
    assert [p.name for p in (repo / "dataset").iterdir()] == ["README.md"]
    assert sorted(p.name for p in (repo / WORK_DIR).iterdir()) == ["build.lock"]
    shutil.rmtree(repo / "dataset")


def _identity(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_dev, st.st_ino


def test_steps_are_plain_lines_only_when_there_is_no_bar(capsys: pytest.CaptureFixture[str]) -> None:
    """On a terminal the bar alone shows progress; without one (stderr not a terminal) each step is a line."""
    import io

    from rich.console import Console
    from rich.progress import Progress

    from crossclaim.cli.common import Steps

    for disable in (False, True):
        with Progress(console=Console(file=io.StringIO()), disable=disable) as bar:
            steps = Steps(bar, "leaderboard")
            steps.set_total(2)
            steps.tick("crf: fold doc-001")
            steps.tick("scoring crf (cv)")
            assert bar.tasks[0].completed == 2
        printed = capsys.readouterr()
        assert printed.out == ""
        assert printed.err == (
            "leaderboard: crf: fold doc-001 done (1/2)\nleaderboard: scoring crf (cv) done (2/2)\n" if disable else ""
        )
