"""The one orchestrator of ``crossclaim build``: validate annotations/, stage every output, swap it in.

``load_gold`` reads and validates everything; the tables, card, Croissant metadata, generated docs,
configs and schema are staged, then committed as one set (``files.transaction``: a lock serialises
builds, a journal lets the next command finish a build killed halfway through the swap).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from crossclaim.dataset.docs import write_generated
from crossclaim.dataset.gold import load_gold
from crossclaim.dataset.tables import make_tables, write_tables
from crossclaim.files import transaction

DATASET = Path("dataset")


@dataclass
class BuildReport:
    documents: int
    spans: dict[str, int]
    pairs: int
    token_splits: int
    notes: list[str]


def build(root: Path, gold_annotator: str | None = None, progress=None, on_wait=None) -> BuildReport:
    """Validate annotations/ and regenerate dataset/ and every generated file under ``root``, as one set.

    ``on_wait`` is called once if another build holds the lock (this one then waits for it).
    """
    with transaction(root, on_wait) as out:
        gold = load_gold(root / "annotations", gold_annotator)
        tables = make_tables(gold, progress)
        staging = out.dir(DATASET)
        data_files = write_tables(tables, staging)
        write_generated(root, staging, gold, tables, data_files, out)
    spans: dict[str, int] = defaultdict(int)
    for d in gold.docs:
        for s in gold.spans(d.id):
            spans[s.layer] += 1
    return BuildReport(len(gold.docs), dict(spans), len(gold.pairs), tables.splits_made, gold.notes)
