"""The one orchestrator of ``crossclaim build``: validate annotations/, stage every output, swap it in.

``load_gold`` reads and validates everything; the tables, card, Croissant metadata and generated
docs are written into a staging directory that replaces ``dataset/`` only when all of it is written.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from crossclaim.dataset.agreement import AnnotatorTally, agreement_md
from crossclaim.dataset.docs import write_generated
from crossclaim.dataset.gold import (
    PAIR_EXPORT,
    contradictory_claims,
    pair_annotations,
    pair_problems,
    read_pairs,
    stream_gold,
)
from crossclaim.dataset.tables import TableBuilder, write_tables
from crossclaim.errors import InputError
from crossclaim.files import replace_dir
from crossclaim.formats.jsonstream import collector_paused
from crossclaim.formats.manifest import load_manifest


@dataclass
class BuildReport:
    documents: int
    spans: dict[str, int]
    pairs: int
    token_splits: int
    notes: list[str]


def build(root: Path, gold_annotator: str | None = None, progress=None) -> BuildReport:
    """Validate annotations/ and regenerate dataset/ and every generated file under ``root``.

    The span export is streamed: each task is validated and turned into rows as it is read, so
    memory stays bounded by the output, not the export. Nothing is written before all of it is valid.
    """
    annotations = root / "annotations"
    docs = load_manifest(annotations)
    notes: list[str] = []
    pair_tasks, pairs = read_pairs(annotations, gold_annotator, notes)
    builder = TableBuilder(docs, contradictory_claims(pairs))
    tally, several, spans = AnnotatorTally(), [], Counter()
    with collector_paused():
        for g in stream_gold(annotations, docs, gold_annotator, notes):
            builder.add(g)
            spans.update(s.layer for s in g.spans)
            if g.task is not None:
                tally.add(g.task)
                if sum(not a.was_cancelled for a in g.task.annotations) > 1:
                    several.append(g.task)
            if progress:
                progress()
    InputError.collect(pair_problems(pair_tasks, pairs, builder.claims, str(annotations / PAIR_EXPORT)))
    tables = builder.finish(pairs)
    agreement = agreement_md(several, pair_annotations(pair_tasks), annotators=tally.table())
    staging = Path(tempfile.mkdtemp(prefix=".dataset.", dir=root))
    try:
        data_files = write_tables(tables, staging)
        write_generated(root, staging, tables, data_files, agreement)
        replace_dir(staging, root / "dataset")
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return BuildReport(len(docs), dict(spans), len(pairs), tables.splits_made, notes)
