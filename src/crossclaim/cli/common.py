"""What every command shares: the consoles, finding the project (``--root``), progress bars, and the
error boundary."""

from __future__ import annotations

import contextlib
import functools
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from crossclaim.errors import InputError, StudioError
from crossclaim.files import RecoveryError, recover
from crossclaim.formats.manifest import MANIFEST

# Nothing printed is read as rich markup or emoji codes: ids, file names and e-mails print literally.
out = Console(soft_wrap=True, markup=False, emoji=False, highlight=False)
err = Console(stderr=True, soft_wrap=True, markup=False, emoji=False, highlight=False)
ROOT = Annotated[
    Path | None,
    typer.Option(
        "--root",
        help="Project root (holds annotations/manifest.json). Default: the nearest such directory "
        "at or above the working directory.",
    ),
]
GOLD = Annotated[
    str | None,
    typer.Option(
        help="Annotator whose annotation is gold on the tasks they annotated, where no annotation is marked ground "
        "truth (the gold rule, in the README)."
    ),
]
PROJECT_FILE = Path("annotations") / MANIFEST
MAX_LINE = 2000  # a backstop: values in messages are already cut to about 80 characters


def find_root(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` that holds annotations/manifest.json."""
    start = start.resolve()
    return next((d for d in (start, *start.parents) if (d / PROJECT_FILE).is_file()), None)


def project_root(root: Path | None, new_project: bool = False) -> Path:
    """The project a command works on, after finishing any interrupted build in it.

    ``--root`` wins; otherwise the project is found by walking up from the working directory, so
    every command works from any subdirectory. ``new_project``: ``--root`` may name a directory
    that is not a project (yet): ingest creates the manifest, a server only keeps its data there.
    """
    if root is None:
        found = find_root(Path.cwd())
        if found is None:
            raise InputError(
                str(Path.cwd()),
                f"not inside a CrossClaim project (no {PROJECT_FILE.as_posix()} here or in any parent directory): "
                "cd into one or give --root",
            )
        root = found
    elif not new_project and not (root / PROJECT_FILE).is_file():
        raise InputError(str(root), f"not a CrossClaim project (no {PROJECT_FILE.as_posix()})")
    if root.is_dir():
        try:
            recover(root, on_wait=lambda: err.print("waiting for a build to finish..."))
        except RecoveryError as exc:
            raise InputError(exc.where, exc.what) from None
    return root


def output_file(path: Path, option: str) -> Path:
    """A file the command will write: refused up front (before any work) if it cannot be one."""
    if path.is_dir():
        raise InputError(f"{option} {path}", "is a directory: give a file name")
    _check_parent(path, option)
    return path


def output_dir(path: Path, option: str) -> Path:
    """A directory the command will write into: refused up front if it is a file. It may not exist
    yet (the command makes it), but the directory it goes in must."""
    if path.exists() and not path.is_dir():
        raise InputError(f"{option} {path}", "is a file, not a directory")
    _check_parent(path, option)
    return path


def _check_parent(path: Path, option: str) -> None:
    """The directory ``path`` goes in exists and a file can be made in it (outputs are written beside
    their target, then renamed: ``files.atomic_file``).

    A missing directory is refused, not created: a mistyped path would otherwise leave a tree of
    directories behind and the output where nobody looks for it.
    """
    parent = path.absolute().parent
    if not parent.exists():
        raise InputError(
            f"{option} {path}", f"directory {parent} does not exist: create it first, or give a path in an existing one"
        )
    if not parent.is_dir():
        raise InputError(f"{option} {path}", f"{parent} is a file, not a directory")
    try:
        tempfile.TemporaryFile(dir=parent).close()
    except OSError as exc:
        raise InputError(f"{option} {path}", f"no file can be written in {parent}: {exc.strerror or exc}") from None


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


def one_line(text: str) -> str:
    """``text`` on one terminal line: control and line-breaking characters escaped, length capped."""
    text = _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
    return text if len(text) <= MAX_LINE else text[: MAX_LINE - 1] + "…"


def warn_unreleased(root: Path, releases: list) -> None:
    """A warning on stderr (the command still succeeds) when dataset/ publishes gold other than the last
    release's under the same version (``dataset.releases``); ``releases``: the record, read before the work."""
    from crossclaim.dataset.releases import unreleased_change

    warning = unreleased_change(root, releases)
    if warning:
        err.print(f"warning: {warning}", markup=False, highlight=False)


def print_error(line: str) -> None:
    err.print(Text.assemble(("error:", "red"), " ", one_line(line)))


def friendly(fn):
    """Bad input: one line per problem, exit code 2. A server or system fault: one line, exit code 1.
    No traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            for line in exc.lines():
                print_error(line)
            raise typer.Exit(2) from None
        except StudioError as exc:
            print_error(str(exc))
            raise typer.Exit(1) from None
        except OSError as exc:  # a full disk, a permission: the system's fault, said in one line
            where = f"{exc.filename}: " if exc.filename else ""
            print_error(f"{where}{exc.strerror or exc}")
            raise typer.Exit(1) from None

    return wrapper


def progress_bar() -> Progress:
    """A transient bar on stderr; disabled (it prints nothing) when stderr is not a terminal."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not sys.stderr.isatty(),
    )


class Steps:
    """Progress of a job made of named steps, on stderr only (stdout and the files written never see it).

    On a terminal a rich bar; elsewhere (a log file, a CI job) the bar is off, so each finished step is
    one plain line, ``leaderboard: crf: fold doc-001 done (7/40)``: a run of minutes is never silent.
    """

    def __init__(self, bar: Progress, label: str) -> None:
        self.bar, self.label = bar, label
        self.task = bar.add_task(label, total=None)
        self.total: int | None = None
        self.done = 0

    def set_total(self, total: int) -> None:
        self.total = total
        self.bar.update(self.task, total=total)

    def tick(self, step: str) -> None:
        """``step`` (what just finished) is done."""
        self.done += 1
        self.bar.advance(self.task)
        if self.bar.disable:
            of = f"/{self.total}" if self.total is not None else ""
            err.print(one_line(f"{self.label}: {step} done ({self.done}{of})"))


@contextlib.contextmanager
def steps_progress(label: str) -> Iterator[Steps]:
    """A ``Steps`` reporter for the duration of the block (the bar is removed at its end)."""
    with progress_bar() as bar:
        yield Steps(bar, label)
