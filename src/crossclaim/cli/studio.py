"""``crossclaim studio``: the Label Studio round trip (serve, stop, push, pull, agreement).

Server faults exit with code 1, bad exports with code 2; both print one line per problem."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from crossclaim.cli.common import ROOT, err, friendly, out, output_file, project_root
from crossclaim.studio.client import Studio
from crossclaim.studio.server import DEFAULT_URL, DEFAULT_USER, ENV_URL, ENV_USER, read_state, token_from_env

studio_app = typer.Typer(help="Annotation round trips with a local Label Studio server.", no_args_is_help=True)
DATA_DIR = Annotated[Path | None, typer.Option(help="Server data directory (default: ROOT/.studio).")]
URL = Annotated[str | None, typer.Option(help=f"Server URL (default: ${ENV_URL}, the served one, or {DEFAULT_URL}).")]


def _data_dir(root: Path | None, data_dir: Path | None) -> Path:
    """The server's data directory: the server needs no manifest, so --root may be any directory."""
    return data_dir or project_root(root, new_project=True) / ".studio"


def connect(root: Path, url: str | None) -> Studio:
    state = read_state(root / ".studio")
    return Studio(url or os.environ.get(ENV_URL) or (state.url if state else DEFAULT_URL), token_from_env())


@studio_app.command()
@friendly
def serve(
    root: ROOT = None,
    data_dir: DATA_DIR = None,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (never silently changed).")] = 8080,
) -> None:
    """Start a local Label Studio (user and token from the environment) and wait for /health."""
    from crossclaim.studio.server import serve as run

    user = os.environ.get(ENV_USER, DEFAULT_USER)
    err.print(f"starting Label Studio on 127.0.0.1:{port} (first boot takes about a minute)...")
    server = run(_data_dir(root, data_dir), port, token_from_env(), user)
    login = (
        f"log in as {user} with $CROSSCLAIM_LS_PASSWORD"
        if os.environ.get("CROSSCLAIM_LS_PASSWORD")
        else "no $CROSSCLAIM_LS_PASSWORD was set, so the web login has a random password: the API works"
    )
    out.print(f"Label Studio is up at {server.url} (pid {server.pid}); {login}", highlight=False)


@studio_app.command()
@friendly
def stop(root: ROOT = None, data_dir: DATA_DIR = None) -> None:
    """Stop the server started by `serve` (its whole process group)."""
    from crossclaim.studio.server import stop as run

    out.print("stopped" if run(_data_dir(root, data_dir)) else "no server was running")


@studio_app.command()
@friendly
def push(
    root: ROOT = None,
    url: URL = None,
    gold: Annotated[bool, typer.Option("--gold", help="Also push every committed annotation.")] = False,
    predictions: Annotated[list[str] | None, typer.Option(help="A system whose output to push as predictions.")] = None,
    predictions_file: Annotated[Path | None, typer.Option(help="A predictions JSONL file to push.")] = None,
    name: Annotated[str | None, typer.Option(help="model_version for --predictions-file.")] = None,
) -> None:
    """Create or update both projects and import every document as a task, idempotently."""
    from crossclaim.studio.sync import push as run

    root = project_root(root)
    preds = _predictions(root, predictions or [], predictions_file, name)
    report = run(root, connect(root, url), gold, preds)
    out.print(
        f"pushed: {report.created_tasks} tasks created, {report.kept_tasks} already there; "
        f"{report.annotations_written} annotations and {report.predictions_written} predictions written"
    )


def _predictions(root: Path, systems: list[str], path: Path | None, name: str | None) -> dict:
    from collections import defaultdict

    from crossclaim.dataset.gold import load_gold

    found: dict = defaultdict(list)
    if not systems and path is None:
        return found
    from crossclaim.studio.sync import predictions_for_push

    gold = load_gold(root / "annotations")
    for doc_id, preds in predictions_for_push(gold, systems, path, name).items():
        found[doc_id].extend(preds)
    return found


@studio_app.command()
@friendly
def pull(
    root: ROOT = None,
    url: URL = None,
    gold: Annotated[str | None, typer.Option(help="Annotator whose annotations are gold.")] = None,
) -> None:
    """Export both projects, validate, write annotations/exports atomically and rebuild dataset/."""
    from crossclaim.studio.sync import pull as run

    root = project_root(root)
    report = run(root, connect(root, url), gold)
    for note in report.notes:
        err.print(f"note: {note}", highlight=False)
    out.print(
        f"pulled and rebuilt: {report.documents} documents, {sum(report.spans.values())} gold spans, "
        f"{report.pairs} claim pairs"
    )


@studio_app.command()
@friendly
def agreement(
    root: ROOT = None,
    output: Annotated[Path | None, typer.Option("--out", help="Also write the tables to this Markdown file.")] = None,
) -> None:
    """Pairwise agreement on tasks with several annotations (from annotations/exports)."""
    from crossclaim.dataset.docs import agreement_block
    from crossclaim.dataset.gold import load_gold

    root = project_root(root)
    if output:
        output_file(output, "--out")
    text = agreement_block(root, load_gold(root / "annotations"))
    out.print(text, markup=False, highlight=False)
    if output:
        from crossclaim.files import write_text_atomic

        write_text_atomic(output, text)
