"""``crossclaim score`` and ``leaderboard``: the evaluation commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from crossclaim.cli.common import ROOT, friendly, out, progress_bar
from crossclaim.errors import InputError


@friendly
def score(
    predictions: Annotated[Path, typer.Argument(help="Predictions file: JSON Lines, one document per line.")],
    split: Annotated[str, typer.Option(help="train, validation, test or all.")] = "test",
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the scores as JSON to this file.")] = None,
    root: ROOT = Path("."),
) -> None:
    """Validate a predictions file and score it: seqeval strict and partial, values, pairs, bootstrap CIs."""
    import json

    from crossclaim.evaluation.score import format_scores, score_file
    from crossclaim.files import write_text_atomic

    result = score_file(root, predictions, split)
    out.print(format_scores(result), markup=False, highlight=False)
    if json_out is not None:
        write_text_atomic(json_out, json.dumps(result.to_json(), indent=2, sort_keys=True) + "\n")


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

    from crossclaim.leaderboard.run import OUTPUTS
    from crossclaim.leaderboard.run import leaderboard as run_leaderboard

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
    for ev, data in board.evaluations.items():
        for sys_name, scores in data.systems.items():
            f1s = {layer: s.strict.micro.f1 for layer, s in scores.layers.items()}
            f1 = ", ".join(f"{layer} {f:.3f}" for layer, f in f1s.items() if f is not None)
            out.print(f"{ev:4} {sys_name:16} {f1}", highlight=False)
    written = ", ".join(str(target / n) for n in OUTPUTS)
    out.print(f"wrote {written} in {time.perf_counter() - began:.1f} s", highlight=False)
