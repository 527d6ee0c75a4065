"""``crossclaim studio``: the Label Studio round trip (serve, stop, team, push, pull, agreement).

Server faults exit with code 1, bad exports with code 2; both print one line per problem."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Annotated

import typer

from crossclaim.cli.common import GOLD, ROOT, err, friendly, out, output_file, project_root, warn_unreleased
from crossclaim.errors import InputError, StudioError
from crossclaim.studio.client import Studio
from crossclaim.studio.server import (
    DEFAULT_HOST,
    DEFAULT_URL,
    DEFAULT_USER,
    ENV_DB_PASSWORD,
    ENV_PASSWORD,
    ENV_URL,
    ENV_USER,
    MIN_PASSWORD,
    Server,
    is_our_server,
    read_state,
    token_from_env,
)

studio_app = typer.Typer(help="Annotation round trips with a Label Studio server.", no_args_is_help=True)
DATA_DIR = Annotated[Path | None, typer.Option(help="Server data directory (default: ROOT/.studio).")]
URL = Annotated[str | None, typer.Option(help=f"Server URL (default: ${ENV_URL}, the served one, or {DEFAULT_URL}).")]
SERVED = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data directory of the server `serve` started (default: ROOT/.studio); on that server accounts "
        "are made through Label Studio's own code.",
    ),
]


def _data_dir(root: Path | None, data_dir: Path | None) -> Path:
    """The server's data directory: the server needs no manifest, so --root may be any directory."""
    return data_dir or project_root(root, new_project=True) / ".studio"


def served(root: Path, data_dir: Path | None) -> Server | None:
    """The server `serve` started from the data directory, if it still runs (verified in /proc)."""
    state = read_state((data_dir or root / ".studio").resolve())
    return state if state is not None and is_our_server(state) else None


def connect(root: Path, url: str | None, data_dir: Path | None = None, accounts: bool = False) -> Studio:
    """A client of the server at ``url`` (or $CROSSCLAIM_LS_URL, or the served one).

    ``accounts``: when that server is the one `serve` started, users are made through Label Studio's
    Django code (historical annotators kept out of the member list), started now so that it loads
    while the caller validates.
    """
    url = url or os.environ.get(ENV_URL)
    local = None
    if not url:
        local = served(root, data_dir)
    elif accounts:
        with contextlib.suppress(StudioError):  # a server named by URL needs no readable record here
            local = served(root, data_dir)
    if not url:
        if local is None:
            state = read_state((data_dir or root / ".studio").resolve())  # recorded, not verified
            url = state.url if state else DEFAULT_URL
        else:
            url = local.url
    helper = None
    if accounts and local is not None and local.url.rstrip("/") == url.rstrip("/"):
        from crossclaim.formats.team import load_team
        from crossclaim.studio.accounts import LocalAccounts

        helper = LocalAccounts(local, load_team(root / "annotations").members)
        helper.start()
    try:
        return Studio(url, token_from_env(), helper)
    except BaseException:
        if helper is not None:
            helper.close()
        raise


@studio_app.command()
@friendly
def serve(
    root: ROOT = None,
    data_dir: DATA_DIR = None,
    port: Annotated[int, typer.Option(help="Port to listen on (never silently changed).")] = 8080,
    host: Annotated[
        str,
        typer.Option(
            help=f"IPv4 address to listen on; any but {DEFAULT_HOST} (0.0.0.0: every interface) needs "
            f"${ENV_PASSWORD} of at least {MIN_PASSWORD} characters."
        ),
    ] = DEFAULT_HOST,
    database: Annotated[
        str | None,
        typer.Option(
            help=f"postgresql://USER@HOST:PORT/DB to keep the data in PostgreSQL (the password from "
            f"${ENV_DB_PASSWORD} or $PGPASSWORD, never in the URL); default: SQLite in the data directory."
        ),
    ] = None,
) -> None:
    """Start Label Studio (user, token and passwords from the environment) and wait for /health."""
    from crossclaim.studio.server import parse_database
    from crossclaim.studio.server import serve as run

    db = parse_database(database)
    user = os.environ.get(ENV_USER, DEFAULT_USER)
    where = "SQLite" if db.kind == "sqlite" else db.url
    err.print(f"starting Label Studio on {host}:{port} with {where} (first boot takes a minute or two)...")
    server = run(_data_dir(root, data_dir), port, token_from_env(), user, host=host, database=db)
    login = (
        f"log in as {user} with ${ENV_PASSWORD}"
        if os.environ.get(ENV_PASSWORD)
        else f"no ${ENV_PASSWORD} was set, so the web login has a random password: the API works"
    )
    out.print(f"Label Studio is up at {server.url} (pid {server.pid}); {login}", highlight=False)
    if host != DEFAULT_HOST:
        out.print(
            f"listening on {host}: plain HTTP, so put TLS in front of it; sign-up needs the invite link "
            "(`crossclaim studio team` makes the team's accounts)",
            highlight=False,
        )


@studio_app.command()
@friendly
def stop(root: ROOT = None, data_dir: DATA_DIR = None) -> None:
    """Stop the server started by `serve` (its whole process group), once verified to be that server."""
    from crossclaim.studio.server import stop as run

    messages = {
        "stopped": "stopped",
        "none": "no server was running",
        "stale": "no server was running: the recorded process is gone or is another program now (left alone); "
        "the stale record was removed",
    }
    out.print(messages[run(_data_dir(root, data_dir))], highlight=False)


@studio_app.command()
@friendly
def team(
    root: ROOT = None,
    url: URL = None,
    data_dir: SERVED = None,
    reset_passwords: Annotated[
        bool,
        typer.Option("--reset-passwords", help="Also set the password of members who have one already."),
    ] = False,
) -> None:
    """Label Studio accounts for the members of annotations/team.json, as ordinary members.

    Passwords from $CROSSCLAIM_TEAM_PASSWORDS (lines EMAIL PASSWORD) or the file named by
    $CROSSCLAIM_TEAM_PASSWORDS_FILE. On the server `serve` started: Label Studio's own code; on
    another: its invite sign-up, after which the invite link is reset.
    """
    from crossclaim.formats.team import TEAM, load_team
    from crossclaim.studio.accounts import LocalAccounts, read_passwords, team_local, team_remote

    root = project_root(root)
    declared = load_team(root / "annotations")
    if not declared.members:
        raise InputError(f"annotations/{TEAM}", "declares no annotator or adjudicator: nobody to make an account for")
    passwords = read_passwords(declared)
    url = url or os.environ.get(ENV_URL)
    local = served(root, data_dir)
    if local is not None and (url is None or url.rstrip("/") == local.url.rstrip("/")):
        accounts = LocalAccounts(local)
        try:
            done = team_local(accounts, declared, passwords, reset_passwords)
        finally:
            accounts.close()
        how = f"on the server serve started ({local.url}), through Label Studio's own code"
    else:
        if reset_passwords:
            raise InputError(
                "--reset-passwords", "needs the server `serve` started: Label Studio's API cannot set a password"
            )
        studio = connect(root, url, data_dir)
        done = team_remote(studio, declared, passwords)
        how = f"on {studio.url}, through its invite sign-up (the invite link was reset afterwards)"
    for member in done:
        out.print(member.line(), markup=False, highlight=False)
    out.print(f"team: {len(done)} members {how}", highlight=False)


@studio_app.command()
@friendly
def push(
    root: ROOT = None,
    url: URL = None,
    data_dir: SERVED = None,
    gold: Annotated[bool, typer.Option("--gold", help="Also push every committed annotation.")] = False,
    predictions: Annotated[list[str] | None, typer.Option(help="A system whose output to push as predictions.")] = None,
    predictions_file: Annotated[Path | None, typer.Option(help="A predictions JSONL file to push.")] = None,
    name: Annotated[str | None, typer.Option(help="model_version for --predictions-file.")] = None,
    corpus: Annotated[
        Path | None,
        typer.Option(
            help="A corpus outside the dataset ({id, text} records, JSON Lines or parquet): push it with "
            "--predictions-file (its predictions) to the pre-annotation project --project-title, never to the "
            "gold ones."
        ),
    ] = None,
    project_title: Annotated[str | None, typer.Option(help="The pre-annotation project of --corpus.")] = None,
    pass_name: Annotated[
        str | None,
        typer.Option(
            "--pass",
            help="A pass of blind annotation: its own two projects (titled with NAME), every document and pair, "
            "pre-annotations, no annotation; each task goes to --overlap annotators through their own queues.",
        ),
    ] = None,
    overlap: Annotated[
        int | None, typer.Option(help="Annotators per task of the --pass (default: annotations/team.json's overlap).")
    ] = None,
) -> None:
    """Create or update both projects and import every document as a task, idempotently (with --corpus: a
    pre-annotation project of its own instead; with --pass: a pass's projects)."""
    root = project_root(root)
    if corpus is not None or project_title is not None:
        if pass_name is not None:
            raise InputError("--pass", "a pass annotates the gold documents: not with --corpus")
        _push_corpus(root, url, corpus, project_title, predictions_file, name, gold or bool(predictions))
        return
    if pass_name is not None:
        _push_pass(root, url, pass_name, overlap, gold, predictions or [], predictions_file, name)
        return
    if overlap is not None:
        raise InputError("--overlap", "is the overlap of a --pass: the gold projects take every annotation pushed")
    from crossclaim.studio.sync import push as run

    preds = _predictions(root, predictions or [], predictions_file, name)
    studio = connect(root, url, data_dir, accounts=gold)
    try:
        report = run(root, studio, gold, preds)
    finally:
        if studio.accounts is not None:
            studio.accounts.close()
    out.print(
        f"pushed: {report.created_tasks} tasks created, {report.kept_tasks} already there; "
        f"{report.annotations_written} annotations and {report.predictions_written} predictions written"
    )


def _push_pass(
    root: Path,
    url: str | None,
    name: str,
    overlap: int | None,
    gold: bool,
    systems: list[str],
    path: Path | None,
    model_version: str | None,
) -> None:
    from crossclaim.formats.team import load_team
    from crossclaim.studio.passes import check_pass_name, pass_titles, push_pass

    check_pass_name(name)
    if gold:
        raise InputError("--gold", "a pass starts with no annotation: annotators make them, blind")
    team = load_team(root / "annotations")
    preds = _predictions(root, systems, path, model_version)
    report, n = push_pass(root, connect(root, url), name, team, overlap, preds)
    titles = " and ".join(repr(t) for t in pass_titles(name))
    out.print(
        f"pushed pass {name} to {titles}: {report.created_tasks} tasks created, {report.kept_tasks} already there; "
        f"{report.predictions_written} predictions written; each task goes to {n} annotators",
        highlight=False,
    )


def _push_corpus(
    root: Path, url: str | None, corpus: Path | None, title: str | None, path: Path | None, name: str | None, gold: bool
) -> None:
    from crossclaim.formats.corpus import check_corpus
    from crossclaim.studio.sync import push_corpus

    if corpus is None or title is None:
        raise InputError("--corpus/--project-title", "go together: a corpus is pushed to a project of its own")
    if path is None or not name:
        raise InputError("--corpus", "needs --predictions-file PRED.jsonl (from crossclaim predict) and --name")
    if gold:
        raise InputError("--corpus", "pushes pre-annotations only: --gold and --predictions are for the gold projects")
    checked = check_corpus(corpus)
    report = push_corpus(connect(root, url), checked, path, name, title)
    out.print(
        f"pushed {corpus} to {title!r}: {report.created_tasks} tasks created, {report.kept_tasks} already there; "
        f"{report.predictions_written} predictions written"
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
    gold: GOLD = None,
    utf16: Annotated[
        bool, typer.Option("--utf16", help="The server counts offsets in UTF-16 code units (older Label Studio).")
    ] = False,
    accept_deletions: Annotated[
        bool,
        typer.Option(
            "--accept-deletions", help="Accept that tasks or annotations missing on the server leave the gold."
        ),
    ] = False,
    accept_edits: Annotated[
        bool,
        typer.Option(
            "--accept-edits",
            help="Accept annotations changed in Label Studio by someone other than their author (or push's account).",
        ),
    ] = False,
    with_predictions: Annotated[
        bool,
        typer.Option(
            "--with-predictions", help="Also write the pre-annotations to annotations/exports/predictions.json."
        ),
    ] = False,
    pass_name: Annotated[
        str | None,
        typer.Option(
            "--pass",
            help="Pull one pass: its annotations join the committed exports (replacing what it brought before), "
            "nothing else changes.",
        ),
    ] = None,
) -> None:
    """Export both projects, validate, show what changes, then replace annotations/exports and dataset/ as one set.

    Each task's gold is chosen by the rule (see the README): a task in dispute keeps its previous gold,
    or stays out of the dataset, and is named in a note; `crossclaim studio disputes` lists what differs."""
    root = project_root(root)
    from crossclaim.dataset.releases import read_releases
    from crossclaim.studio.passes import pull_pass
    from crossclaim.studio.sync import PullOptions
    from crossclaim.studio.sync import pull as run

    releases = read_releases(root)  # a bad record is refused before anything is written

    def show(lines: list[str]) -> None:
        for line in lines:
            err.print(f"change: {line}", markup=False, highlight=False)

    if pass_name is not None:
        for flag, given in (("--utf16", utf16), ("--with-predictions", with_predictions)):
            if given:
                raise InputError(
                    flag,
                    "not with --pass: a pass's export comes from Label Studio 1.23 and its "
                    "pre-annotations never join the committed exports",
                )
    options = PullOptions(gold, utf16, accept_deletions, accept_edits, with_predictions)
    if pass_name is not None:
        report = pull_pass(root, connect(root, url), pass_name, options, show)
    else:
        report = run(root, connect(root, url), options, show)
    for note in report.notes:
        err.print(f"note: {note}", markup=False, highlight=False)
    out.print(
        f"pulled and rebuilt: {report.documents} documents, {sum(report.spans.values())} gold spans, "
        f"{report.pairs} claim pairs"
    )
    warn_unreleased(root, releases)


@studio_app.command()
@friendly
def check(
    exports: Annotated[
        list[Path], typer.Argument(help="A Label Studio JSON export of the span or the claim-pair project (or both).")
    ],
    root: ROOT = None,
    gold: GOLD = None,
    utf16: Annotated[bool, typer.Option("--utf16", help="The export counts offsets in UTF-16 code units.")] = False,
    accept_deletions: Annotated[
        bool, typer.Option("--accept-deletions", help="Accept that work missing from the export leaves the gold.")
    ] = False,
    accept_edits: Annotated[
        bool, typer.Option("--accept-edits", help="Accept annotations changed by someone other than their author.")
    ] = False,
    project: Annotated[
        str | None, typer.Option(help="spans or pairs: which project the files come from (default: from their data).")
    ] = None,
    pass_name: Annotated[
        str | None, typer.Option("--pass", help="The files are exports of this pass's projects (as `pull --pass`).")
    ] = None,
) -> None:
    """Validate export files offline exactly as `pull` would (the other project's export: the committed one).

    Prints what would change per document, then the problems (exit 2) or `ok`; writes nothing.
    """
    import shutil
    import tempfile

    root = project_root(root)
    from crossclaim.studio.passes import exports_to_check
    from crossclaim.studio.sync import PullOptions, apply_exports, given_exports

    if project not in (None, "spans", "pairs"):
        raise InputError("--project", f"{project!r} is not a project: spans or pairs")
    source = " + ".join(str(p) for p in exports)
    given = given_exports(exports, project)
    scratch = Path(tempfile.mkdtemp(prefix="crossclaim-check-"))
    try:
        spans, pairs = exports_to_check(root / "annotations", given, pass_name, utf16, scratch, source)

        def show(lines: list[str]) -> None:
            for line in lines:
                out.print(f"change: {line}", markup=False, highlight=False)

        options = PullOptions(gold, utf16, accept_deletions, accept_edits, commit=False, source=source)
        report = apply_exports(root, spans, pairs, options, show)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    out.print(
        f"ok: {report.documents} documents, {sum(report.spans.values())} gold spans, {report.pairs} claim pairs "
        "(nothing written)",
        highlight=False,
    )


@studio_app.command()
@friendly
def agreement(
    root: ROOT = None,
    output: Annotated[Path | None, typer.Option("--out", help="Also write the tables to this Markdown file.")] = None,
    pass_name: Annotated[
        str | None,
        typer.Option(
            "--pass",
            help="Compare this pass's annotators with each task's gold as committed, instead (run it before "
            "adjudication takes the pass's corrections into the gold).",
        ),
    ] = None,
) -> None:
    """Agreement on tasks with several annotations (from annotations/exports): span F1 per layer, Krippendorff's
    alpha of claim attributes and pair labels, per annotator pair and overall; adjudicators not compared."""
    from crossclaim.dataset.agreement import agreement_md, pass_against_gold
    from crossclaim.dataset.docs import agreement_block
    from crossclaim.dataset.gold import load_gold
    from crossclaim.formats.team import load_team
    from crossclaim.studio.passes import check_pass_name

    root = project_root(root)
    if output:
        output_file(output, "--out")
    gold = load_gold(root / "annotations")
    if pass_name is None:
        text = agreement_block(gold, load_team(root / "annotations"))
    else:
        tasks, pairs = pass_against_gold(list(gold.tasks.values()), gold.pair_tasks, check_pass_name(pass_name))
        if not tasks and not pairs:
            raise InputError("--pass", f"no annotation of pass {pass_name!r} on a task with gold (annotations/exports)")
        text = agreement_md(tasks, pairs)
    out.print(text, markup=False, highlight=False)
    if output:
        from crossclaim.files import write_text_atomic

        write_text_atomic(output, text)


@studio_app.command()
@friendly
def disputes(
    root: ROOT = None,
    url: URL = None,
    gold: GOLD = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Also list settled tasks whose annotations differ (with their gold).")
    ] = False,
    output: Annotated[Path, typer.Option("--out", help="The HTML page to write.")] = Path("disputes.html"),
    pass_name: Annotated[
        str | None,
        typer.Option(
            "--pass", help="The disputes of this pass's projects (beside the committed work, as `pull --pass`)."
        ),
    ] = None,
) -> None:
    """List every disagreement between annotators by task and layer, with each task's link in Label Studio;
    also written as one self-contained HTML page. An adjudicator settles a dispute with an annotation of
    their own: the next pull takes it as gold."""
    from rich.table import Table
    from rich.text import Text

    from crossclaim.studio.disputes import disputes_on_server, summary, write_page

    root = project_root(root)
    output_file(output, "--out")
    found = disputes_on_server(connect(root, url), root / "annotations", gold, everything, pass_name)
    for d in found:
        title = Text.assemble((f"{d.what} {d.key}", "bold"), "  ", (d.status, "red" if not d.settled else "green"))
        table = Table(title=title, title_justify="left", show_lines=False, expand=False)
        for column in ("layer", "annotator", "difference", "what"):
            table.add_column(column, overflow="fold")
        for layer in d.layers:
            for v in d.versus:
                for diff in (x for x in v.differences if x.layer == layer):
                    table.add_row(Text(layer), Text(v.annotator), Text(diff.kind), Text(diff.what))
        out.print(table)
        out.print(Text(f"  reference: {d.reference}" + (f"; open {d.link}" if d.link else "")))
    write_page(output, found)
    out.print(Text(f"{summary(found)}; written to {output}"))
