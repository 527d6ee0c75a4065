"""A FileSet is swapped in whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from crossclaim.files import FileSet


def test_commit_replaces_files_and_directories_and_leaves_unchanged_files_alone(tmp_path: Path) -> None:
    (tmp_path / "same.txt").write_text("same")
    os.utime(tmp_path / "same.txt", (1, 1))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "stale").write_text("stale")
    with FileSet() as files:
        files.write_text(tmp_path / "same.txt", "same")
        files.write_text(tmp_path / "new" / "a.txt", "ä")
        (files.directory(tmp_path / "out") / "fresh").write_text("fresh")
        files.commit()
    assert (tmp_path / "same.txt").stat().st_mtime == 1
    assert (tmp_path / "new" / "a.txt").read_text(encoding="utf-8") == "ä"
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["fresh"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new", "out", "same.txt"]


def test_text_that_cannot_be_written_fails_when_staged(tmp_path: Path) -> None:
    with FileSet() as files:
        staged = files.directory(tmp_path / "out")
        with pytest.raises(UnicodeEncodeError):
            files.write_text(tmp_path / "a.txt", "half an emoji \ud83d")
    assert not staged.exists() and list(tmp_path.iterdir()) == []


def test_a_file_staged_on_disk_replaces_its_target_only_on_commit_and_only_when_it_differs(tmp_path: Path) -> None:
    (tmp_path / "big.json").write_text("old")
    (tmp_path / "same.json").write_text("same")
    os.utime(tmp_path / "same.json", (1, 1))
    with FileSet() as files:
        files.file(tmp_path / "big.json").write_text("new")
        files.file(tmp_path / "same.json").write_text("same")
        assert (tmp_path / "big.json").read_text() == "old"
        files.commit()
    assert (tmp_path / "big.json").read_text() == "new"
    assert (tmp_path / "same.json").stat().st_mtime == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.json", "same.json"]


def test_a_file_staged_on_disk_and_not_committed_is_removed(tmp_path: Path) -> None:
    with FileSet() as files:
        staged = files.file(tmp_path / "big.json")
        staged.write_text("never")
    assert list(tmp_path.iterdir()) == []
