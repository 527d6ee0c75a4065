"""The one orchestrator of ``crossclaim build``: validate annotations/, stage every output, swap it in.

``load_gold`` reads and validates everything; the tables, card, Croissant metadata and generated
docs are staged in a ``FileSet`` that replaces ``dataset/`` and the generated files only when all
of it is written.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from crossclaim.dataset.docs import write_generated
from crossclaim.dataset.gold import SPAN_EXPORT, Gold, load_gold
from crossclaim.dataset.tables import make_tables, write_tables
from crossclaim.files import FileSet
from crossclaim.formats.jsonio import read_json
from crossclaim.formats.labelstudio.committed import export_json
from crossclaim.formats.labelstudio.spans import from_utf16


@dataclass
class BuildReport:
    documents: int
    spans: dict[str, int]
    pairs: int
    token_splits: int
    notes: list[str]


def build(root: Path, gold_annotator: str | None = None, progress=None, utf16: bool = False) -> BuildReport:
    """Validate annotations/ and regenerate dataset/ and every generated file under ``root``.

    ``utf16``: the committed span export counts UTF-16 code units (older Label Studio); it is
    rewritten with code points, in the same set as everything else.
    """
    annotations = root / "annotations"
    with FileSet() as files:
        spans_data = None
        if utf16:
            path = annotations / SPAN_EXPORT
            spans_data = from_utf16(read_json(path), str(path))
            files.write_text(path, export_json(spans_data))
        gold = load_gold(annotations, gold_annotator, spans_data=spans_data)
        report = stage_build(root, gold, files, progress)
        files.commit()
    return report


def stage_build(root: Path, gold: Gold, files: FileSet, progress=None) -> BuildReport:
    """Stage dataset/ and the generated files for ``gold`` in ``files`` (nothing is replaced yet)."""
    tables = make_tables(gold, progress)
    staging = files.directory(root / "dataset")
    data_files = write_tables(tables, staging)
    write_generated(root, staging, gold, tables, data_files, files)
    spans: dict[str, int] = defaultdict(int)
    for d in gold.docs:
        for s in gold.spans(d.id):
            spans[s.layer] += 1
    return BuildReport(len(gold.docs), dict(spans), len(gold.pairs), tables.splits_made, gold.notes)
