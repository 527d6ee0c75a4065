"""The streamed build in parts: the same bytes whatever the number of workers or the export order."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from conftest import REPO

from crossclaim.dataset.build import PART, build
from crossclaim.errors import InputError

sys.path.insert(0, str(REPO / "scripts"))
from bench_build import make_corpus  # noqa: E402

TASKS = 2 * PART + 7  # three parts, the last one short


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus") / "repo"
    make_corpus(root, TASKS, 600, 12)
    return root


def built(root: Path, workers: int) -> dict[str, bytes]:
    build(root, workers=workers)
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted((root / "dataset").rglob("*")) if p.is_file()}


def copy(corpus: Path, tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(corpus, root)
    return root


def test_workers_and_export_order_do_not_change_a_byte(corpus: Path, tmp_path: Path) -> None:
    one = built(copy(corpus, tmp_path / "a"), workers=1)
    two = built(copy(corpus, tmp_path / "b"), workers=2)
    assert one == two and len(one) > 9
    shuffled = copy(corpus, tmp_path / "c")
    export = shuffled / "annotations" / "exports" / "spans.json"
    tasks = json.loads(export.read_text(encoding="utf-8"))
    export.write_text(json.dumps(tasks[::-1], ensure_ascii=False), encoding="utf-8")
    assert built(shuffled, workers=2) == one  # rows follow the manifest, not the export


def test_a_duplicate_in_a_later_part_is_named_and_nothing_is_written(corpus: Path, tmp_path: Path) -> None:
    root = copy(corpus, tmp_path)
    export = root / "annotations" / "exports" / "spans.json"
    tasks = json.loads(export.read_text(encoding="utf-8"))
    twin = {**tasks[0], "id": 99999}
    export.write_text(json.dumps([*tasks, twin], ensure_ascii=False), encoding="utf-8")
    with pytest.raises(InputError) as err:
        build(root, workers=2)
    assert "task 99999: duplicate task for document syn-00000" in str(err.value)
    assert not (root / "dataset").exists()


def test_row_groups_of_fixed_size_whatever_the_export_order_or_the_way_built(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small row groups, so that the corpus makes several: an export in random order changes nothing,
    and every row group but the last of a file holds exactly its fixed number of rows."""
    import random

    import pyarrow.parquet as pq

    from crossclaim.dataset import published

    monkeypatch.setattr(published, "ROW_GROUP", {"documents": 10, "tokens": 50, "claim_pairs": 7})
    ordered = built(copy(corpus, tmp_path / "a"), workers=2)
    shuffled = copy(corpus, tmp_path / "b")
    export = shuffled / "annotations" / "exports" / "spans.json"
    tasks = json.loads(export.read_text(encoding="utf-8"))
    random.Random(7).shuffle(tasks)
    export.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    assert built(shuffled, workers=2) == ordered

    data_files = sorted(p for p in (shuffled / "dataset").rglob("*.parquet"))
    for path in data_files:
        size = published.ROW_GROUP[path.parent.name]
        meta = pq.ParquetFile(path).metadata
        rows = [meta.row_group(k).num_rows for k in range(meta.num_row_groups)]
        assert all(n == size for n in rows[:-1]) and 0 < rows[-1] <= size, (path.name, rows)
    assert max(pq.ParquetFile(p).metadata.num_row_groups for p in data_files) > 2
