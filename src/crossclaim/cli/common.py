"""What every command shares: the consoles, the ``--root`` option, progress bars, and the error boundary."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from crossclaim.errors import InputError, StudioError

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
ROOT = Annotated[Path, typer.Option("--root", help="Repository root (holds annotations/ and dataset/).")]


def friendly(fn):
    """Bad input: one line per problem, exit code 2. A server fault: one line, exit code 1. No traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            for line in exc.lines():
                err.print(f"[red]error:[/red] {escape(line)}", markup=True, highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except StudioError as exc:
            err.print(f"[red]error:[/red] {escape(str(exc))}", markup=True, highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not sys.stderr.isatty(),
    )
