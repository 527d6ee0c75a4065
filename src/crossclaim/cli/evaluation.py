"""``crossclaim score``, ``predict`` and ``leaderboard``: the evaluation commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from crossclaim.cli.common import (
    ROOT,
    friendly,
    out,
    output_dir,
    output_file,
    progress_bar,
    project_root,
    steps_progress,
)
from crossclaim.errors import InputError
from crossclaim.systems.registry import BUILTIN, ENTRY_POINT_GROUP

SYSTEM_HELP = f"A built-in baseline ({', '.join(BUILTIN)}) or a plug-in (entry point group {ENTRY_POINT_GROUP})."
PREDICTED_SPLITS = "train, validation, test or all (a learned system never predicts a document it trains on)."


@friendly
def score(
    predictions: Annotated[Path, typer.Argument(help="Predictions file: JSON Lines, one document per line.")],
    split: Annotated[str, typer.Option(help="train, validation, test or all.")] = "test",
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the scores as JSON to this file.")] = None,
    root: ROOT = None,
) -> None:
    """Validate a predictions file and score it: seqeval strict and partial, values, pairs, bootstrap CIs."""
    import json

    from crossclaim.evaluation.score import format_scores, score_file
    from crossclaim.files import write_text_atomic

    root = project_root(root)
    if json_out is not None:
        output_file(json_out, "--json")
    result = score_file(root, predictions, split)
    out.print(format_scores(result), markup=False, highlight=False)
    if json_out is not None:
        write_text_atomic(json_out, json.dumps(result.to_json(), indent=2, sort_keys=True) + "\n")


@friendly
def leaderboard(
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Output directory. Default: ROOT/baselines, the committed board, written only by a run of "
            "exactly the built-in baselines; any other run needs --out.",
        ),
    ] = None,
    system: Annotated[
        list[str] | None, typer.Option("--system", help=f"Run only this system (repeat). {SYSTEM_HELP}")
    ] = None,
    predictions: Annotated[
        list[Path] | None, typer.Option("--predictions", help="Predictions file to rank on the test split (repeat).")
    ] = None,
    name: Annotated[list[str] | None, typer.Option("--name", help="Name of each --predictions file, in order.")] = None,
    root: ROOT = None,
) -> None:
    """Run every system on the test split and in leave-one-document-out CV; write the leaderboard."""
    import time

    from crossclaim.leaderboard.run import OUTPUTS, output_directory
    from crossclaim.leaderboard.run import leaderboard as run_leaderboard

    root = project_root(root)
    files = list(predictions or [])
    names = list(name or [])
    if len(files) != len(names):
        raise InputError("--predictions/--name", f"{len(files)} files but {len(names)} names: give one --name per file")
    # which runs may write the committed board is the leaderboard's rule; the CLI only checks the directory
    target = output_dir(output_directory(root, out_dir, system, files), "--out")
    began = time.perf_counter()
    with steps_progress("leaderboard") as progress:
        board = run_leaderboard(
            root, target, system or None, list(zip(names, files)), on_total=progress.set_total, tick=progress.tick
        )
    for ev, data in board.evaluations.items():
        for sys_name, scores in data.systems.items():
            f1s = {layer: s.strict.micro.f1 for layer, s in scores.layers.items()}
            f1 = ", ".join(f"{layer} {f:.3f}" for layer, f in f1s.items() if f is not None)
            out.print(f"{ev:4} {sys_name:16} {f1}", highlight=False)
    written = ", ".join(str(target / n) for n in OUTPUTS)
    out.print(f"wrote {written} in {time.perf_counter() - began:.1f} s", highlight=False)


@friendly
def predict(
    system: Annotated[str, typer.Argument(help=SYSTEM_HELP)],
    corpus: Annotated[
        Path | None,
        typer.Argument(
            help="A corpus outside the dataset to pre-annotate: {id, text} records, JSON Lines or parquet. "
            "Default: a split of the dataset (--split)."
        ),
    ] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Predictions file to write (JSON Lines).")] = ...,
    split: Annotated[str | None, typer.Option(help=f"{PREDICTED_SPLITS} Default: test.")] = None,
    num_proc: Annotated[
        int, typer.Option("--num-proc", min=1, help="Worker processes over a corpus (datasets.map).")
    ] = 1,
    root: ROOT = None,
) -> None:
    """Write a system's predictions for a split, or for any corpus, in the predictions format (learned
    systems train on the train split, or the splits they name)."""
    from crossclaim.dataset.gold import load_gold
    from crossclaim.files import write_text_atomic
    from crossclaim.leaderboard.run import fit_learned, predict_split
    from crossclaim.systems.registry import make_system

    root = project_root(root)
    output_file(output, "--output")
    if corpus is None:
        if num_proc != 1:
            raise InputError("--num-proc", "applies to a corpus INPUT; a split of the dataset runs in one process")
        split = split or "test"
        gold = load_gold(root / "annotations")
        text = predict_split(make_system(system), gold, split, system)
        write_text_atomic(output, text)
        out.print(f"wrote {text.count(chr(10))} lines of {system} predictions on the {split} split to {output}")
        return
    from crossclaim.formats.corpus import check_corpus
    from crossclaim.systems.corpus import predict_corpus

    if split is not None:
        raise InputError("--split", "applies to the dataset; a corpus INPUT is predicted whole")
    if output.resolve() == corpus.resolve():
        raise InputError(f"--output {output}", "is the corpus INPUT itself: write the predictions elsewhere")
    checked = check_corpus(corpus)  # before any training: a bad corpus fails in seconds
    model = make_system(system)
    fit_learned(model, load_gold(root / "annotations"), system)
    with progress_bar() as bar:
        task = bar.add_task(f"{system} on {corpus.name}", total=checked.records)
        lines = predict_corpus(model, system, checked, output, num_proc, advance=lambda n: bar.advance(task, n))
    out.print(f"wrote {lines} lines of {system} predictions on {checked.records} records of {corpus} to {output}")


@friendly
def explain(
    system: Annotated[str, typer.Argument(help=SYSTEM_HELP)],
    split: Annotated[str, typer.Option(help=PREDICTED_SPLITS)] = "test",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="HTML page to write. Default: explain-SYSTEM-SPLIT.html.")
    ] = None,
    root: ROOT = None,
) -> None:
    """Write one self-contained HTML page of a system's errors: spans per layer (TP, FP, FN, wrong label),
    figure values side by side, claim pairs (learned systems train as for the test split)."""
    import importlib.util

    from crossclaim.dataset.gold import load_gold
    from crossclaim.files import write_text_atomic
    from crossclaim.leaderboard.explain import explain_page
    from crossclaim.leaderboard.run import run_on_split
    from crossclaim.systems.registry import make_system

    root = project_root(root)
    output = output_file(output if output is not None else Path(f"explain-{system}-{split}.html"), "--output")
    if importlib.util.find_spec("spacy") is None:
        raise InputError(
            "explain", "draws spans with spaCy's displacy: install the spacy extra (pip install '.[spacy]')"
        )
    gold = load_gold(root / "annotations")
    preds, docs, pairs = run_on_split(make_system(system), gold, split, system)
    write_text_atomic(output, explain_page(gold, preds, docs, pairs, system, split))
    out.print(f"wrote the errors of {system} on the {split} split ({len(docs)} documents) to {output}")
