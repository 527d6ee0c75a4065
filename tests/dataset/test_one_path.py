"""One build path: every flag of `crossclaim build`, `studio check` and `studio pull` reach the one writer."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import gold_spans, task, write_repo
from typer.testing import CliRunner

from crossclaim.cli import app
from crossclaim.dataset import build as build_module
from crossclaim.dataset.published import Sink
from crossclaim.studio import sync
from crossclaim.studio.sync import PullOptions, apply_exports
from crossclaim.text import py_to_utf16

runner = CliRunner()


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The staging directories the one writer (``Sink.write``, called from ``stage``) wrote data files into."""
    seen: list[Path] = []
    staged: list[int] = []
    write, stage = Sink.write, build_module.stage

    def recorded_write(self, out, order, published):
        seen.append(out)
        return write(self, out, order, published)

    def recorded_stage(*args, **kwargs):
        staged.append(1)
        return stage(*args, **kwargs)

    monkeypatch.setattr(Sink, "write", recorded_write)
    monkeypatch.setattr(build_module, "stage", recorded_stage)
    monkeypatch.setattr(sync, "stage", recorded_stage)  # pull's name for the same function
    seen_stages = staged
    yield seen
    assert len(seen_stages) == len(seen), "a data file was written outside stage()"


FLAGS = [[], ["--workers", "1"], ["--workers", "2"], ["--utf16"], ["--drop-stale-pairs"], ["--gold", "a@example.org"]]


@pytest.mark.parametrize("flags", FLAGS)
def test_every_build_flag_reaches_the_one_writer(tmp_path: Path, writes: list[Path], flags: list[str]) -> None:
    root = write_repo(tmp_path, [in_utf16(task(gold_spans())) if "--utf16" in flags else task(gold_spans())])
    result = runner.invoke(app, ["build", "--root", str(root), *flags])
    assert result.exit_code == 0, result.output
    assert len(writes) == 1 and (root / "dataset" / "documents" / "test-00000-of-00001.parquet").is_file()


def in_utf16(t: dict) -> dict:
    """A task as an older Label Studio exports it: offsets in UTF-16 code units."""
    to16 = py_to_utf16(t["data"]["text"])
    assert to16[-1] != len(t["data"]["text"]), "the fixture needs a character beyond the BMP"
    for a in t["annotations"]:
        for r in a["result"]:
            value = r.get("value", {})
            if "start" in value:
                value["start"], value["end"] = to16[value["start"]], to16[value["end"]]
    return t


@pytest.mark.parametrize("commit", [True, False])  # pull, and check (everything but the swap)
def test_pull_and_check_reach_the_one_writer(tmp_path: Path, writes: list[Path], commit: bool) -> None:
    root = write_repo(tmp_path, [task(gold_spans())])
    apply_exports(root, [task(gold_spans())], [], PullOptions(commit=commit))
    assert len(writes) == 1
    assert (root / "dataset").exists() == commit


def test_pull_validates_the_new_export_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The build takes the gold the pull validated as it read the export: no task is parsed twice."""
    from crossclaim.dataset import gold as gold_module
    from crossclaim.formats.labelstudio import spans as spans_module

    root = write_repo(tmp_path, [task(gold_spans())])
    for committed in (root / "annotations" / "exports").glob("*.json"):
        committed.unlink()  # nothing committed yet: the only span export read is the new one
    parsed: list[str] = []

    def counted(tasks, where, *args, **kwargs):
        for t in spans_module.parse_span_tasks(tasks, where, *args, **kwargs):
            parsed.append(f"{where}: doc {t.doc_id}")
            yield t

    for module in (gold_module, build_module, sync):
        monkeypatch.setattr(module, "parse_span_tasks", counted)
    apply_exports(root, [task(gold_spans())], [])
    assert parsed == ["Label Studio span export: doc doc-x"]
    pulled = {p: p.read_bytes() for p in sorted((root / "dataset").rglob("*")) if p.is_file()}
    assert runner.invoke(app, ["build", "--root", str(root)]).exit_code == 0  # the same dataset, built from the commit
    assert {p: p.read_bytes() for p in sorted((root / "dataset").rglob("*")) if p.is_file()} == pulled
