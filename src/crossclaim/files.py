"""Atomic writes: nothing is ever half-written."""

from __future__ import annotations

import contextlib
import filecmp
import os
import shutil
import tempfile
from pathlib import Path


def write_text_atomic(path: Path, text: str) -> None:
    """Write to a temporary file beside ``path``, then rename it over ``path``."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class FileSet:
    """Outputs staged in full, then swapped in as one set: after a failure at any point, nothing has changed.

    Text is encoded when it is staged, so a value that cannot be written (a lone surrogate) fails
    before anything is replaced; a directory is written into a staging directory beside its target,
    and so is a file too large to hold in memory (``file``).
    ``commit`` writes every changed file to a temporary beside its target, then renames each into
    place, keeping the old one; if any step fails, the ones already swapped are put back. Use it as
    a context manager: whatever was not committed is removed on exit.
    """

    def __init__(self) -> None:
        self._files: dict[Path, bytes] = {}
        self._on_disk: dict[Path, Path] = {}
        self._dirs: dict[Path, Path] = {}

    def __enter__(self) -> FileSet:
        return self

    def __exit__(self, *exc) -> None:
        self.discard()

    def write_text(self, path: Path, text: str) -> None:
        self._files[path] = text.encode("utf-8")

    def write_bytes(self, path: Path, data: bytes) -> None:
        self._files[path] = data

    def read_text(self, path: Path) -> str:
        """The staged text of ``path``, or the file on disk when nothing is staged for it."""
        data = self._files.get(path)
        return data.decode("utf-8") if data is not None else path.read_text(encoding="utf-8")

    def directory(self, target: Path) -> Path:
        """A new empty directory to fill; it replaces ``target`` on commit."""
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".staged", dir=target.parent))
        self._dirs[target] = staged
        return staged

    def file(self, target: Path) -> Path:
        """A new empty file to fill (beside ``target``, so that the commit is a rename); it replaces ``target``."""
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, staged = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".staged", dir=target.parent)
        os.close(fd)
        self._on_disk[target] = Path(staged)
        return Path(staged)

    def paths(self) -> list[Path]:
        """Every target this set replaces, sorted."""
        return sorted({*self._files, *self._on_disk, *self._dirs})

    def commit(self) -> None:
        temps: dict[Path, Path] = {}
        swapped: list[tuple[Path, Path, Path | None]] = []  # (target, its replacement, the old one kept)
        try:
            for path, data in sorted(self._files.items()):
                if path.is_file() and path.read_bytes() == data:
                    continue  # unchanged: left alone, so an unchanged output keeps its bytes and times
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
                temps[path] = Path(tmp)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
            for path, staged in sorted(self._on_disk.items()):
                if path.is_file() and filecmp.cmp(path, staged, shallow=False):
                    staged.unlink()
                    continue
                with open(staged, "rb") as fh:
                    os.fsync(fh.fileno())
                temps[path] = staged
            for target, new in [*sorted(temps.items()), *sorted(self._dirs.items())]:
                backup = _backup(target)
                swapped.append((target, new, backup))
                os.replace(new, target)  # a file is replaced atomically; a directory was moved aside first
        except BaseException:
            for target, new, backup in reversed(swapped):
                _restore(target, new, backup)
            for tmp in temps.values():
                tmp.unlink(missing_ok=True)
            raise
        for _target, _new, backup in swapped:
            if backup is not None:
                _remove(backup)
        self._files.clear()
        self._on_disk.clear()
        self._dirs.clear()

    def discard(self) -> None:
        for staged in self._dirs.values():
            shutil.rmtree(staged, ignore_errors=True)
        for staged in self._on_disk.values():
            staged.unlink(missing_ok=True)
        self._files.clear()
        self._on_disk.clear()
        self._dirs.clear()


def _backup(target: Path) -> Path | None:
    """Keep the current ``target`` beside it: a hard link to a file (it stays in place until replaced),
    a directory moved aside."""
    if not target.exists():
        return None
    backup = target.with_name(f".{target.name}.{os.getpid()}.old")
    _remove(backup)
    if target.is_dir():
        target.rename(backup)
    else:
        try:
            os.link(target, backup)
        except OSError:
            shutil.copy2(target, backup)
    return backup


def _restore(target: Path, new: Path, backup: Path | None) -> None:
    """Undo one step of a commit: ``target`` as it was before ``new`` was (or was about to be) moved in."""
    moved_in = not new.exists()
    if backup is None:
        if moved_in:
            _remove(target)
    elif backup.is_dir():  # the old directory was moved aside
        if moved_in:
            _remove(target)
        os.replace(backup, target)
    elif moved_in:  # a file: the backup is a second link to the old one
        os.replace(backup, target)
    else:
        backup.unlink()  # the old file never left its place


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
