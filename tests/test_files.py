"""files: atomic single writes and committed sets (the journal is exercised with SIGKILL in
tests/dataset/test_build_atomic.py)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from crossclaim.files import JOURNAL, WORK_DIR, RecoveryError, recover, transaction, write_text_atomic


def project(tmp_path: Path) -> Path:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.txt").write_text("old\n")
    (tmp_path / "doc.md").write_text("old doc\n")
    return tmp_path


def test_a_transaction_commits_every_path_together(tmp_path: Path) -> None:
    root = project(tmp_path)
    with transaction(root) as out:
        (out.dir(Path("out")) / "new.txt").write_text("new\n")
        out.write_text(Path("doc.md"), "new doc\n")
        out.write_text(Path("sub/added.md"), "added\n")
        assert (root / "doc.md").read_text() == "old doc\n" and out.read_text(Path("doc.md")) == "new doc\n"
    assert sorted(p.name for p in (root / "out").iterdir()) == ["new.txt"]
    assert (root / "doc.md").read_text() == "new doc\n" and (root / "sub" / "added.md").read_text() == "added\n"
    assert sorted(p.name for p in (root / WORK_DIR).iterdir()) == ["build.lock"]


def test_an_error_inside_changes_nothing(tmp_path: Path) -> None:
    root = project(tmp_path)
    with pytest.raises(RuntimeError), transaction(root) as out:
        out.dir(Path("out"))
        out.write_text(Path("doc.md"), "new doc\n")
        raise RuntimeError("validation failed")
    assert (root / "out" / "old.txt").exists() and (root / "doc.md").read_text() == "old doc\n"
    assert sorted(p.name for p in (root / WORK_DIR).iterdir()) == ["build.lock"]


def test_an_unchanged_file_is_not_rewritten(tmp_path: Path) -> None:
    root = project(tmp_path)
    before = (root / "doc.md").stat().st_ino
    with transaction(root) as out:
        out.write_text(Path("doc.md"), "old doc\n")
        assert out.entries == {}
    assert (root / "doc.md").stat().st_ino == before


def test_a_file_filled_on_disk_replaces_its_target_on_commit_and_only_when_it_differs(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "same.json").write_text("same")
    before = (root / "same.json").stat().st_ino
    with transaction(root) as out:
        out.file(Path("big.json")).write_text("new")
        out.file(Path("same.json")).write_text("same")
        assert not (root / "big.json").exists()
    assert (root / "big.json").read_text() == "new"
    assert (root / "same.json").stat().st_ino == before


def test_a_file_filled_on_disk_is_removed_when_the_block_fails(tmp_path: Path) -> None:
    root = project(tmp_path)
    with pytest.raises(RuntimeError), transaction(root) as out:
        out.file(Path("big.json")).write_text("never")
        raise RuntimeError("stop")
    assert not (root / "big.json").exists()
    assert sorted(p.name for p in (root / WORK_DIR).iterdir()) == ["build.lock"]


def test_a_journal_whose_stage_is_gone_is_reported_and_a_build_starts_over(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / WORK_DIR).mkdir()
    journal = {"stage": "stage-gone", "entries": [{"path": "out", "kind": "dir", "inode": [1, 2]}]}
    (root / WORK_DIR / JOURNAL).write_text(json.dumps(journal))
    with pytest.raises(RecoveryError, match="cannot finish an interrupted build.*run `crossclaim build`"):
        recover(root)
    with transaction(root) as out:  # a build rewrites every output: the broken journal is dropped
        out.write_text(Path("doc.md"), "new doc\n")
    assert not (root / WORK_DIR / JOURNAL).exists() and (root / "doc.md").read_text() == "new doc\n"


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_atomic_writes_follow_the_umask(tmp_path: Path, mask: int) -> None:
    previous = os.umask(mask)
    try:
        write_text_atomic(tmp_path / "f.txt", "x")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "f.txt").stat().st_mode) == 0o666 & ~mask


def test_a_file_that_cannot_be_written_is_named_not_its_temporary_file() -> None:
    target = Path("/proc") / "scores.json"
    with pytest.raises(OSError) as caught:
        write_text_atomic(target, "{}")
    assert caught.value.filename == str(target)
