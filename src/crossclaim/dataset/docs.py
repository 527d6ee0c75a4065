"""The generated documents: inside ``dataset/`` the card, Croissant file, licence and chart; outside it
the Label Studio configs and the generated blocks of DATASHEET.md and GUIDELINES.md. ``crossclaim build``
stages them with ``dataset/`` (they are committed together) and a test fails when a committed one is stale.
(The predictions JSON Schema depends on the code, not the annotations: ``scripts/predictions_schema.py``.)

The changelog is written by hand in ``annotations/CHANGELOG.md`` (a source, like the exports); the build
copies it to ``dataset/CHANGELOG.md`` and takes the release version from its newest entry.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from crossclaim.dataset.agreement import agreement_md
from crossclaim.dataset.card import (
    CHANGELOG_FILE,
    LICENSE_FILE,
    dataset_card,
    label_table_md,
    license_md,
    release_of,
    split_rules_md,
)
from crossclaim.dataset.croissant import croissant
from crossclaim.dataset.gold import Gold, pair_annotations
from crossclaim.dataset.published import Published
from crossclaim.dataset.stats import CHART, label_chart, statistics, stats_md
from crossclaim.errors import InputError
from crossclaim.files import Staged
from crossclaim.formats.labelstudio.config import pair_config_xml, span_config_xml
from crossclaim.formats.team import Team

SPAN_CONFIG = Path("annotations/studio/span_config.xml")
PAIR_CONFIG = Path("annotations/studio/pair_config.xml")
DATASHEET = Path("DATASHEET.md")
GUIDELINES = Path("annotations/GUIDELINES.md")


def write_generated(root: Path, staging: Path, published: Published, agreement: str, out: Staged) -> None:
    """Write the card, Croissant file, licence, changelog and chart into ``staging``; stage the configs
    and doc blocks in ``out``."""
    stats = statistics(published)
    changelog = root / "annotations" / CHANGELOG_FILE
    text = changelog.read_text(encoding="utf-8") if changelog.is_file() else None
    if text is not None:
        (staging / CHANGELOG_FILE).write_text(text, encoding="utf-8")
    release = release_of(text)
    files = file_digests(published)
    card = dataset_card(published, stats, release, config_digests(files))
    (staging / "README.md").write_text(card, encoding="utf-8")
    terms = f"# Terms of use of the CrossClaim dataset\n\n{license_md(published)}"
    (staging / LICENSE_FILE).write_text(terms, encoding="utf-8")
    (staging / "croissant.json").write_text(croissant(staging, published, release, files), encoding="utf-8")
    (staging / CHART).write_bytes(label_chart(stats))
    # the Label Studio configs, from the scheme, live in annotations/: annotators load them into the project
    out.write_text(SPAN_CONFIG, span_config_xml())
    out.write_text(PAIR_CONFIG, pair_config_xml())
    replace_block(out, DATASHEET, "statistics", stats_md(stats))
    replace_block(out, DATASHEET, "splits", split_rules_md(), required=False)
    replace_block(out, DATASHEET, "license", license_md(published), required=False)
    replace_block(out, DATASHEET, "agreement", agreement, required=False)
    replace_block(out, GUIDELINES, "labels", label_table_md(), required=False)


def file_digests(published: Published) -> dict[Path, str]:
    """Each data file's sha256, read once and streamed, for Croissant and the card."""
    digests = {}
    for path in sorted(published.files):
        with path.open("rb") as fh:
            digests[path] = hashlib.file_digest(fh, "sha256").hexdigest()
    return digests


def config_digests(files: dict[Path, str]) -> dict[str, str]:
    """A config's digest for the card: the sha256 of its files' names and digests, in name order."""
    lines: dict[str, str] = {}
    for path, digest in sorted(files.items()):
        lines[path.parent.name] = lines.get(path.parent.name, "") + f"{path.name} {digest}\n"
    return {config: hashlib.sha256(text.encode()).hexdigest() for config, text in lines.items()}


def agreement_block(gold: Gold, team: Team | None = None) -> str:
    """The datasheet's agreement tables, from a loaded gold (``crossclaim studio agreement``); the
    ``team``'s adjudicators are not compared."""
    return agreement_md(list(gold.tasks.values()), pair_annotations(gold.pair_tasks), team=team)


def replace_block(out: Staged, path: Path, name: str, body: str, required: bool = True) -> None:
    """Replace the text between ``<!-- BEGIN GENERATED: name -->`` and its END marker of ``path``.

    ``required=False``: a missing file or block is left alone (optional docs, test fixtures).
    """
    text = out.read_text(path)
    begin, end = f"<!-- BEGIN GENERATED: {name} -->", f"<!-- END GENERATED: {name} -->"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if text is not None and pattern.search(text):
        out.write_text(path, pattern.sub(lambda _: f"{begin}\n{body}{end}", text))
    elif required:
        if text is None:
            raise InputError(str(out.root / path), f"missing; it must hold the generated block {name!r}")
        raise InputError(str(out.root / path), f"no {begin} ... {end} block to regenerate")
