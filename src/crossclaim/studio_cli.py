"""``crossclaim studio``: the Label Studio round trip (serve, stop, push, pull, agreement)."""

from __future__ import annotations

import typer

studio_app = typer.Typer(help="Annotation round trips with a local Label Studio server.", no_args_is_help=True)
