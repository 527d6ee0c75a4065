"""A committed export written a task at a time, in any order, is the same text as the whole list dumped by ``json``."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import REPO
from hypothesis import given
from hypothesis import strategies as st

from crossclaim.formats.labelstudio.committed import SortedExport, export_element, export_lines

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)


def dumped(items: list) -> str:
    """The reference: the standard library's dump of the whole list, as the committed exports were always written."""
    return json.dumps(items, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


@given(st.lists(JSON, max_size=5))
def test_elements_joined_are_the_dump_of_the_list(items: list) -> None:
    assert "".join(export_lines(export_element(i) for i in items)) == dumped(items)


def test_the_committed_span_export_is_rebuilt_byte_for_byte_from_its_tasks_in_any_order(tmp_path: Path) -> None:
    path = REPO / "annotations" / "exports" / "spans.json"
    tasks = json.loads(path.read_text(encoding="utf-8"))
    sorted_export = SortedExport(tmp_path / "scratch")
    for t in reversed(tasks):
        sorted_export.add(t["data"]["doc_id"], t)
    sorted_export.write(tmp_path / "out.json")
    sorted_export.close()
    assert len(tasks) > 1 and [t["data"]["doc_id"] for t in tasks] == sorted(t["data"]["doc_id"] for t in tasks)
    assert (tmp_path / "out.json").read_bytes() == path.read_bytes()


def test_an_empty_export_is_an_empty_list(tmp_path: Path) -> None:
    empty = SortedExport(tmp_path / "scratch")
    empty.write(tmp_path / "out.json")
    empty.close()
    assert (tmp_path / "out.json").read_text() == dumped([]) == "[]\n"
