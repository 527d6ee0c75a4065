"""The one orchestrator of ``crossclaim build``: validate annotations/, stage every output, swap it in.

``load_gold`` reads and validates everything; the tables, card, Croissant metadata and generated
docs are written into a staging directory that replaces ``dataset/`` only when all of it is written.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from crossclaim.dataset.docs import write_generated
from crossclaim.dataset.gold import load_gold
from crossclaim.dataset.tables import make_tables, write_tables
from crossclaim.files import replace_dir


@dataclass
class BuildReport:
    documents: int
    spans: dict[str, int]
    pairs: int
    token_splits: int
    notes: list[str]


def build(root: Path, gold_annotator: str | None = None, progress=None) -> BuildReport:
    """Validate annotations/ and regenerate dataset/ and every generated file under ``root``."""

    annotations = root / "annotations"
    gold = load_gold(annotations, gold_annotator)
    tables = make_tables(gold, progress)
    staging = Path(tempfile.mkdtemp(prefix=".dataset.", dir=root))
    try:
        data_files = write_tables(tables, staging)
        write_generated(root, staging, gold, tables, data_files)
        replace_dir(staging, root / "dataset")
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    spans: dict[str, int] = defaultdict(int)
    for d in gold.docs:
        for s in gold.spans(d.id):
            spans[s.layer] += 1
    return BuildReport(len(gold.docs), dict(spans), len(gold.pairs), tables.splits_made, gold.notes)
