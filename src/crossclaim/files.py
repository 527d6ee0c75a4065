"""Writing so that nothing is ever half-written: one file atomically, or a set of paths as one commit.

A single file is written beside its target and renamed over it. A set of outputs (what a build
writes) cannot be renamed at once, so ``transaction`` stages them under ``.crossclaim/``, writes a
journal listing them (the commit point), renames each staged file over its target and swaps each
staged directory with its target (``renameat2(RENAME_EXCHANGE)`` where the system has it, so
``dataset/`` never goes missing), then removes the journal and the stage. Every step after the
journal can be redone, so the next command (``recover``) rolls a killed commit forward: the tree is
entirely old or entirely new. A POSIX record lock (released by the kernel when its holder dies, never
inherited by forked workers) serialises builds. Modes follow the umask.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import filecmp
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

WORK_DIR = ".crossclaim"  # under the project root: lock, journal and stages (git-ignored)
LOCK = "build.lock"
JOURNAL = "build.journal"
STAGE_PREFIX = "stage-"
LEGACY_STAGES = ".dataset.*"  # staging directories of earlier versions, never removed by them


class RecoveryError(Exception):
    """An interrupted commit that cannot be finished (its stage is gone or its journal unreadable)."""

    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"{where}: {what}")
        self.where, self.what = where, what


# one file -----------------------------------------------------------------------------------------


def write_text_atomic(path: Path, text: str) -> None:
    """Write to a temporary file beside ``path``, then rename it over ``path``."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    with atomic_file(path) as fh:
        fh.write(data)


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A binary file written beside ``path`` and renamed over it when the block ends without an error.

    It is made with mode 0o666 (not ``mkstemp``'s 0o600), so the kernel applies the umask as to any file.
    """
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:  # named by the file the caller asked for, not the temporary one
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# a set of paths, committed together ---------------------------------------------------------------


class Staged:
    """The outputs of one transaction: files and directories staged to replace paths under ``root``."""

    def __init__(self, root: Path, stage: Path) -> None:
        self.root = root
        self.stage = stage
        self.entries: dict[str, str] = {}  # relative target path -> "file" or "dir"
        self.committed = False  # the journal is written: the stage now belongs to the roll-forward
        self.abandoned = False  # everything was staged to check it; nothing is to be replaced

    def _staged(self, rel: Path) -> Path:
        return self.stage / "files" / rel

    def dir(self, rel: Path) -> Path:
        """A new, empty directory that will replace ``root/rel`` (modes follow the umask)."""
        path = self._staged(rel)
        path.mkdir(parents=True)
        self.entries[rel.as_posix()] = "dir"
        return path

    def read_text(self, rel: Path) -> str | None:
        """The text ``root/rel`` will have after the commit (None: no such file)."""
        path = self._staged(rel) if rel.as_posix() in self.entries else self.root / rel
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def write_text(self, rel: Path, text: str) -> None:
        """Stage ``text`` for ``root/rel``; a file that already holds exactly it is left untouched."""
        if rel.as_posix() in self.entries or self.read_text(rel) != text:
            self.file(rel).write_bytes(text.encode("utf-8"))

    def file(self, rel: Path) -> Path:
        """A new, empty file to fill on disk that replaces ``root/rel``, unless it ends up holding the same bytes."""
        path = self._staged(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
        self.entries[rel.as_posix()] = "file"
        return path

    def abandon(self) -> None:
        """Keep nothing: the transaction ends without replacing anything (a dry run)."""
        self.abandoned = True

    def changed(self) -> list[str]:
        """The paths under ``root`` (relative, sorted) that a commit would change: a dry run's answer to
        "are the outputs up to date?" (for a staged directory, every file of it new, different or gone)."""
        out: list[str] = []
        for rel, kind in sorted(self.entries.items()):
            staged, target = self._staged(Path(rel)), self.root / rel
            if kind == "file":
                out += [] if _same(staged, target) else [rel]
            else:
                names = _files_under(staged) | _files_under(target)
                out += [f"{rel}/{n}" for n in sorted(names) if not _same(staged / n, target / n)]
        return out

    def commit(self) -> None:
        """Write the journal (the commit point), then move every staged path into place."""
        entries = []
        for rel, kind in sorted(self.entries.items()):
            target = self.root / rel
            if kind == "file" and _same(self._staged(Path(rel)), target):
                continue  # a file staged on disk that holds what the target holds
            target.parent.mkdir(parents=True, exist_ok=True)
            if os.stat(target.parent).st_dev != os.stat(self.stage).st_dev:
                raise OSError(errno.EXDEV, "on another file system than the project: cannot be swapped in", str(target))
            entry: dict = {"path": rel, "kind": kind}
            if kind == "dir":
                entry["inode"] = _identity(self._staged(Path(rel)))
            entries.append(entry)
        work = self.stage.parent
        journal = {"stage": self.stage.name, "entries": entries}
        write_bytes_atomic(work / JOURNAL, json.dumps(journal, indent=1).encode("utf-8"))
        _fsync_dir(work)
        self.committed = True
        _roll_forward(self.root, journal)


@contextlib.contextmanager
def transaction(root: Path, on_wait: Callable[[], None] | None = None) -> Iterator[Staged]:
    """Stage outputs under ``root`` and commit them together when the block ends without an error (an
    error removes the stage). Holds the build lock throughout, after finishing an interrupted commit."""
    with _locked(root, on_wait):
        _recover_locked(root, discard_broken=True)  # this transaction rewrites the outputs anyway
        _remove_stale(root)
        stage = Path(tempfile.mkdtemp(prefix=STAGE_PREFIX, dir=root / WORK_DIR))
        staged = Staged(root, stage)
        try:
            yield staged
            if not staged.abandoned:
                staged.commit()
        finally:
            if not staged.committed and stage.exists():
                shutil.rmtree(stage)


def recover(root: Path, on_wait: Callable[[], None] | None = None) -> bool:
    """Finish an interrupted commit (its journal is still there), after a running build; True if there was one."""
    if not (root / WORK_DIR / JOURNAL).exists():
        return False
    with _locked(root, on_wait):
        return _recover_locked(root)


def _recover_locked(root: Path, discard_broken: bool = False) -> bool:
    path = root / WORK_DIR / JOURNAL
    if not path.exists():
        return False
    try:
        _roll_forward(root, json.loads(path.read_text(encoding="utf-8")))
    except (RecoveryError, ValueError, KeyError, TypeError) as exc:
        if not discard_broken:
            what = str(exc) if isinstance(exc, RecoveryError) else f"unreadable journal ({exc})"
            raise RecoveryError(
                str(path), f"cannot finish an interrupted build: {what}; run `crossclaim build`"
            ) from None
        path.unlink()
    return True


def _roll_forward(root: Path, journal: dict) -> None:
    """Move every staged path of ``journal`` into place (each step idempotent), then clean up."""
    work = root / WORK_DIR
    stage = work / journal["stage"]
    for entry in journal["entries"]:
        target = root / entry["path"]
        staged = stage / "files" / entry["path"]
        if entry["kind"] == "file":
            if staged.exists():
                os.replace(staged, target)
            continue
        wanted = tuple(entry["inode"])
        if _identity(target) == wanted:
            continue  # already swapped in
        if _identity(staged) != wanted:
            raise RecoveryError(str(staged), f"the staged {entry['path']}/ is gone")
        if not target.exists():
            os.rename(staged, target)
        elif not _exchange(staged, target):
            old = stage / "old" / entry["path"]
            old.parent.mkdir(parents=True, exist_ok=True)
            os.rename(target, old)
            os.rename(staged, target)
    os.unlink(work / JOURNAL)
    _fsync_dir(work)
    shutil.rmtree(stage, ignore_errors=True)


def _remove_stale(root: Path) -> None:
    """What killed builds left (stages, a half-written journal): called under the lock after recovery."""
    for path in (root / WORK_DIR).iterdir():
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        elif path.name != LOCK:
            path.unlink(missing_ok=True)
    for path in root.glob(LEGACY_STAGES):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def _locked(root: Path, on_wait: Callable[[], None] | None) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # no POSIX locks on this system: builds are not serialised
        fcntl = None
    work = root / WORK_DIR
    work.mkdir(exist_ok=True)
    if fcntl is None:
        yield
        return
    fd = os.open(work / LOCK, os.O_RDWR | os.O_CREAT, 0o666)  # the umask applies
    try:
        # A record lock, not a flock: forked workers do not inherit it, so a killed build's orphans cannot hold it.
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (BlockingIOError, PermissionError):  # EAGAIN or EACCES: another build holds it
            if on_wait is not None:
                on_wait()
            fcntl.lockf(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor (or the process ending) releases the lock


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2`` with ``RENAME_EXCHANGE``); False where unsupported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(a))


def _same(staged: Path, target: Path) -> bool:
    """Whether two paths are files with the same bytes."""
    return staged.is_file() and target.is_file() and filecmp.cmp(staged, target, shallow=False)


def _files_under(path: Path) -> set[str]:
    """The files under ``path``, relative POSIX paths (none when it is not a directory)."""
    return {p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()} if path.is_dir() else set()
