"""The ``crossclaim`` command line: thin wrappers that turn bad input into one-line errors (exit 2)."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .errors import InputError, StudioError

app = typer.Typer(
    help="CrossClaim: build, annotate, score and rank.", no_args_is_help=True, pretty_exceptions_enable=False
)
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
                err.print(f"[red]error:[/red] {line}", markup=True, highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except StudioError as exc:
            err.print(f"[red]error:[/red] {exc}", markup=True, highlight=False, soft_wrap=True)
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


@app.command()
@friendly
def build(
    root: ROOT = Path("."),
    gold: Annotated[str | None, typer.Option(help="Annotator whose annotation is gold on every task.")] = None,
) -> None:
    """Validate annotations/ and regenerate dataset/ and the generated docs."""
    from .build import build as run_build
    from .corpus import load_manifest

    n = len(load_manifest(root / "annotations"))
    with progress_bar() as bar:
        task = bar.add_task("building", total=n)
        report = run_build(root, gold, progress=lambda: bar.advance(task))
    for note in report.notes:
        err.print(f"note: {note}", highlight=False)
    spans = ", ".join(f"{k} {v}" for k, v in sorted(report.spans.items()))
    out.print(
        f"built dataset/ from {report.documents} documents: {spans or 'no spans'}; "
        f"{report.pairs} claim pairs; {report.token_splits} tokens split at span boundaries",
        highlight=False,
    )


@app.command()
@friendly
def summary(root: ROOT = Path(".")) -> None:
    """Load every config with datasets.load_dataset and print its splits and sizes."""
    from .summary import summarize

    out.print(summarize(root / "dataset"))


@app.command()
@friendly
def ingest(
    raw: Annotated[Path, typer.Argument(help="Raw scraped page (UTF-8 text), copied unchanged.")],
    doc_id: Annotated[str, typer.Option("--id", help="New document id, e.g. doc-005.")],
    split: Annotated[str, typer.Option(help="train, validation or test.")],
    publisher: Annotated[str | None, typer.Option()] = None,
    headline: Annotated[str | None, typer.Option()] = None,
    author: Annotated[list[str] | None, typer.Option(help="Repeat for several authors.")] = None,
    date: Annotated[str | None, typer.Option(help="Publication date YYYY-MM-DD, if stated or inferable.")] = None,
    date_source: Annotated[str, typer.Option(help="How the date was established.")] = "not stated on the page",
    start: Annotated[int | None, typer.Option(help="Slice start (characters); default: heuristic.")] = None,
    end: Annotated[int | None, typer.Option(help="Slice end (characters, exclusive); default: heuristic.")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Write; without it only preview the slice.")] = False,
    root: ROOT = Path("."),
) -> None:
    """Add a raw page to annotations/ with its manifest entry (slice explicit or guessed, with preview)."""
    from .corpus import guess_slice
    from .corpus import ingest as run_ingest
    from .records import Document

    try:
        text = raw.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(raw), f"cannot read as UTF-8 text: {exc}") from None
    if start is None or end is None:
        gs, ge = guess_slice(text)
        start = gs if start is None else start
        end = ge if end is None else end
    doc = Document(
        id=doc_id,
        source_file="",
        sha256="",
        slice_start=start,
        slice_end=end,
        publisher=publisher,
        headline=headline,
        authors=tuple(author or ()),
        publication_date=date,
        date_source=date_source,
        split=split,
    )
    piece = text[start:end]
    out.print(
        f"slice {start}:{end} ({len(piece)} characters)\n--- first lines ---\n"
        + "\n".join(piece.splitlines()[:3])
        + "\n--- last lines ---\n"
        + "\n".join(piece.splitlines()[-3:]),
        highlight=False,
        markup=False,
    )
    if not yes:
        out.print("preview only: re-run with --yes to ingest")
        return
    new = run_ingest(root / "annotations", raw, doc)
    out.print(f"ingested {new.id} from {new.source_file}")


def main() -> None:  # pragma: no cover
    app()


@app.command()
@friendly
def score(
    predictions: Annotated[Path, typer.Argument(help="Predictions file: JSON Lines, one document per line.")],
    split: Annotated[str, typer.Option(help="train, validation, test or all.")] = "test",
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the scores as JSON to this file.")] = None,
    root: ROOT = Path("."),
) -> None:
    """Validate a predictions file and score it: seqeval strict and partial, values, pairs, bootstrap CIs."""
    import json

    from .files import write_text_atomic
    from .score import format_scores, score_file

    result = score_file(root, predictions, split)
    out.print(format_scores(result), markup=False, highlight=False)
    if json_out is not None:
        write_text_atomic(json_out, json.dumps(result, indent=2, sort_keys=True) + "\n")


@app.command()
@friendly
def leaderboard(
    out_dir: Annotated[Path | None, typer.Option("--out", help="Output directory (default: ROOT/baselines).")] = None,
    system: Annotated[list[str] | None, typer.Option("--system", help="Run only this system (repeat).")] = None,
    predictions: Annotated[
        list[Path] | None, typer.Option("--predictions", help="Predictions file to rank on the test split (repeat).")
    ] = None,
    name: Annotated[list[str] | None, typer.Option("--name", help="Name of each --predictions file, in order.")] = None,
    root: ROOT = Path("."),
) -> None:
    """Run every system on the test split and in leave-one-document-out CV; write the leaderboard."""
    import time

    from .leaderboard import OUTPUTS
    from .leaderboard import leaderboard as run_leaderboard

    files = list(predictions or [])
    names = list(name or [])
    if len(files) != len(names):
        raise InputError("--predictions/--name", f"{len(files)} files but {len(names)} names: give one --name per file")
    target = out_dir if out_dir is not None else root / "baselines"
    began = time.perf_counter()
    with progress_bar() as bar:
        task = bar.add_task("leaderboard", total=None)
        board = run_leaderboard(
            root,
            target,
            system or None,
            list(zip(names, files)),
            on_total=lambda n: bar.update(task, total=n),
            tick=lambda: bar.advance(task),
        )
    for ev, data in board["evaluations"].items():
        for sys_name, scores in data["systems"].items():
            f1 = ", ".join(
                f"{layer} {s['strict']['micro']['f1']:.3f}"
                for layer, s in scores["layers"].items()
                if s["strict"]["micro"]["f1"] is not None
            )
            out.print(f"{ev:4} {sys_name:16} {f1}", highlight=False)
    written = ", ".join(str(target / n) for n in OUTPUTS)
    out.print(f"wrote {written} in {time.perf_counter() - began:.1f} s", highlight=False)


from .studio_cli import studio_app  # noqa: E402  (the Label Studio round trip lives in its own module)

app.add_typer(studio_app, name="studio")
