"""The ``crossclaim`` command line: thin wrappers that turn bad input into one-line errors (exit 2).

One module per command group (``dataset``, ``evaluation``, ``studio``) over the shared helpers of
``common``; this module only assembles them into one Typer application.
"""

from __future__ import annotations

import typer

from crossclaim.cli import dataset, evaluation
from crossclaim.cli.studio import studio_app

app = typer.Typer(
    help="CrossClaim: build, annotate, score and rank.", no_args_is_help=True, pretty_exceptions_enable=False
)
for command in (
    dataset.build,
    dataset.release,
    dataset.summary,
    dataset.diff,
    dataset.ingest,
    evaluation.score,
    evaluation.predict,
    evaluation.leaderboard,
    evaluation.explain,
):
    app.command()(command)
app.add_typer(studio_app, name="studio")
