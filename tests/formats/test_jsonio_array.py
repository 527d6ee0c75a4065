"""A JSON array read an element at a time (a Label Studio export), against Python's json on made-up inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossclaim.errors import InputError
from crossclaim.formats import jsonio
from crossclaim.formats.jsonio import MAX_DEPTH, array_file, iter_array

TRICKY = st.sampled_from(['"', "\\", "\\\\", '\\"', ",", "[", "]", "{", "}", "小米", "🚗", "\u2028", " "])
STRINGS = st.lists(st.one_of(st.text(max_size=8), TRICKY), max_size=4).map("".join)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | STRINGS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(STRINGS, inner, max_size=4),
    max_leaves=20,
)


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "export.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


@settings(max_examples=300, deadline=None)
@given(items=st.lists(JSON, max_size=6), layout=st.sampled_from([{}, {"indent": 1}, {"separators": (",", ":")}]))
def test_elements_equal_pythons_json(tmp_path_factory, items, layout) -> None:
    text = json.dumps(items, ensure_ascii="indent" not in layout, **layout)
    assert list(iter_array(write(tmp_path_factory.mktemp("j"), text))) == items


def test_nesting_is_bounded_per_element(tmp_path: Path) -> None:
    deep = "[" * MAX_DEPTH + "]" * MAX_DEPTH  # one level too many inside the array
    with pytest.raises(InputError, match=f"element #1: nested deeper than {MAX_DEPTH} levels"):
        list(iter_array(write(tmp_path, f"[1, {deep}, 2, 3]")))
    assert list(iter_array(write(tmp_path, f"[1, {deep[1:-1]}, 2, 3]")))[0] == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<!DOCTYPE html><html>502 Bad Gateway</html>", "is an HTML page, not JSON"),
        ('{"id": 1}', "not a JSON array (it begins '{\"id\": 1}')"),
        ('[{"id": 1}, {"id": 2', "truncated: the file ends inside the array"),
        ('[{"id": 1}]\n trailing', "export.json, line 2: not valid JSON: trailing characters at byte offset 14"),
        ("[1, 2,]", "not valid JSON: trailing comma in array at byte offset 6"),
        ("[" + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "]", f"nested deeper than {MAX_DEPTH} levels"),
        ("[1" + "0" * 5000 + "]", "element #0: not valid JSON"),
        ("", "is empty"),
        ("\ufeff[1]", "starts with a byte-order mark"),
    ],
)
def test_faults_are_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError) as err:
        list(iter_array(write(tmp_path, text), "export.json"))
    assert message in str(err.value)


def test_an_empty_array_is_fine(tmp_path: Path) -> None:
    assert list(iter_array(write(tmp_path, b" [ ]\n"))) == []


@settings(max_examples=100, deadline=None)
@given(items=st.lists(JSON, max_size=8), cut=st.integers(0, 8))
def test_an_array_file_reads_back_each_run_of_elements(tmp_path_factory, items, cut) -> None:
    # a build keeps the places of the export's elements and reads a part's run of them back in one read
    path = write(tmp_path_factory.mktemp("j"), json.dumps(items, ensure_ascii=False, indent=1))
    found = array_file(path)
    cut = min(cut, len(found))
    back = [*found.elements(0, cut), *found.elements(cut, len(found))]
    assert [json.loads(e) for e in back] == items
    assert list(found.tasks(cut)) == items[cut:]


@settings(max_examples=50, deadline=None)
@given(items=st.lists(st.integers(0, 9), max_size=12), run=st.integers(1, 4), start=st.integers(0, 12))
def test_elements_are_read_a_run_at_a_time_and_numbered_from_the_array(tmp_path_factory, items, run, start) -> None:
    # one reader for a whole export and for a part of it: runs of RUN elements, counted from the array's start
    path = write(tmp_path_factory.mktemp("j"), json.dumps(items))
    found = array_file(path, "export.json")
    start = min(start, len(found))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jsonio, "RUN", run)
        assert [json.loads(e) for e in found.elements(start)] == items[start:]
        assert list(found.tasks(start, len(found))) == items[start:]
    if start < len(found):
        with pytest.raises(InputError, match=f"^export.json: element #{start}: not valid JSON"):
            found.parse(b"[1,", start)


def test_a_file_put_in_place_of_the_one_scanned_is_refused(tmp_path: Path) -> None:
    # the places found belong to the file scanned; another file at its path (a command's swap) is not read
    path = write(tmp_path, "[1, 2]")
    found = array_file(path, "export.json")
    (tmp_path / "new.json").write_text("[3, 4]")
    (tmp_path / "new.json").replace(path)
    with pytest.raises(InputError, match="^export.json: was replaced while it was read"):
        list(found.tasks())
    tasks = array_file(path).tasks()
    assert next(tasks) == 3
    path.unlink()  # the file being read is held open: its tasks are the ones scanned
    assert list(tasks) == [4]
