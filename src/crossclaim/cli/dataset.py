"""``crossclaim build``, ``release``, ``summary``, ``diff`` and ``ingest``: the dataset commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from crossclaim.cli.common import GOLD, ROOT, err, friendly, out, progress_bar, project_root, warn_unreleased


@friendly
def build(
    root: ROOT = None,
    gold: GOLD = None,
    utf16: Annotated[
        bool,
        typer.Option(
            "--utf16", help="The span export counts UTF-16 code units (older Label Studio): rewrite it in code points."
        ),
    ] = False,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Processes that read the span export (default: one per core).")
    ] = None,
    drop_stale_pairs: Annotated[
        bool,
        typer.Option(
            "--drop-stale-pairs",
            help="Remove claim-pair tasks whose pair is no longer in the pair set (labels included) from the "
            "committed pair export, naming each; without it they are an error.",
        ),
    ] = False,
) -> None:
    """Validate annotations/ and regenerate dataset/ and the generated docs, committed as one set."""
    from crossclaim.dataset.build import build as run_build
    from crossclaim.dataset.releases import read_releases
    from crossclaim.formats.manifest import load_manifest

    root = project_root(root)
    releases = read_releases(root)  # a bad record is refused before anything is written
    n = len(load_manifest(root / "annotations"))
    with progress_bar() as bar:
        task = bar.add_task("building", total=n)
        report = run_build(
            root,
            gold,
            progress=lambda: bar.advance(task),
            utf16=utf16,
            workers=workers,
            drop_stale_pairs=drop_stale_pairs,
            on_wait=lambda: err.print("waiting for another build of this project to finish..."),
        )
    for note in report.notes:
        err.print(f"note: {note}", markup=False, highlight=False)
    spans = ", ".join(f"{k} {v}" for k, v in sorted(report.spans.items()))
    out.print(
        f"built dataset/ from {report.documents} documents: {spans or 'no spans'}; "
        f"{report.pairs} claim pairs; {report.tokens_cut} tokens split at span boundaries",
        highlight=False,
    )
    warn_unreleased(root, releases)


@friendly
def release(
    version: Annotated[str, typer.Argument(help="The version released, X.Y.Z: the changelog's newest entry.")],
    root: ROOT = None,
    gold: GOLD = None,
) -> None:
    """Record VERSION as released with the gold dataset/ publishes (annotations/releases.json): only for a
    version greater than the last, named by the changelog's newest entry, with dataset/ built from annotations/ now."""
    from crossclaim.dataset.releases import RELEASES
    from crossclaim.dataset.releases import release as run

    root = project_root(root)
    made = run(root, version, gold)
    out.print(
        f"released {made.version}: {len(made.documents)} documents and the claim pairs of "
        f"{len(made.claim_pairs)} splits recorded in {RELEASES.as_posix()}",
        highlight=False,
    )


@friendly
def summary(root: ROOT = None) -> None:
    """Load every config of the local dataset/ with datasets.load_dataset (never the hub) and print it."""
    from crossclaim.dataset.summary import summarize

    out.print(summarize(project_root(root) / "dataset"), markup=False, highlight=False)


@friendly
def diff(
    old: Annotated[Path, typer.Argument(help="Directory holding the older spans.json and pairs.json exports.")],
    new: Annotated[Path, typer.Argument(help="Directory holding the newer spans.json and pairs.json exports.")],
    root: ROOT = None,
    gold: GOLD = None,
) -> None:
    """Print, as Markdown for the changelog, the gold spans (per document and layer) and claim pairs added,
    removed, relabelled or changed between two exports (read against this project's manifest)."""
    from crossclaim.dataset.diff import gold_diff
    from crossclaim.dataset.gold import read_export_dir

    annotations = project_root(root) / "annotations"
    before, after = (read_export_dir(annotations, d, gold) for d in (old, new))
    out.print(gold_diff(before, after, str(old), str(new)), markup=False, highlight=False)


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
    root: ROOT = None,
) -> None:
    """Add a raw page to annotations/ with its manifest entry (slice explicit or guessed, with preview)."""
    from crossclaim.formats.jsonio import read_text
    from crossclaim.formats.manifest import checked_ingest, guess_slice
    from crossclaim.formats.manifest import ingest as run_ingest
    from crossclaim.schema.records import Document

    root = project_root(root, new_project=True)
    text = read_text(raw)
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
    piece = checked_ingest(root / "annotations", raw, doc)[1].text  # a preview only of what would be ingested
    out.print(
        f"slice {start}:{end} ({len(piece)} characters)\n--- first lines ---\n"
        + "\n".join(piece.splitlines()[:3])
        + "\n--- last lines ---\n"
        + "\n".join(piece.splitlines()[-3:]),
    )
    if not yes:
        out.print("preview only: re-run with --yes to ingest")
        return
    new = run_ingest(root / "annotations", raw, doc)
    out.print(f"ingested {new.id} from {new.source_file}")
