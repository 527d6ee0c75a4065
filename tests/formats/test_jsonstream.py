"""The streaming array reader against Python's json on inputs hypothesis makes up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossclaim.errors import InputError
from crossclaim.formats.jsonstream import MAX_DEPTH, iter_array

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


@settings(max_examples=200, deadline=None)
@given(items=st.lists(JSON, max_size=6), indent=st.sampled_from([None, 1]), chunk=st.integers(1, 64))
def test_elements_equal_pythons_json_for_any_chunking(tmp_path_factory, items, indent, chunk) -> None:
    path = write(tmp_path_factory.mktemp("j"), json.dumps(items, indent=indent, ensure_ascii=indent is None))
    assert list(iter_array(path, chunk=chunk)) == items


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<!DOCTYPE html><html>502 Bad Gateway</html>", "not a JSON array (it begins '<!DOCTYPE html>"),
        ('[{"id": 1}, {"id": 2', "truncated: the file ends inside the array (after 1 complete elements)"),
        ('[{"id": 1}] trailing', "unexpected data after the array"),
        ("[1, 2,]", "element #2: not valid JSON"),
        ("[" + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "]", f"nested deeper than {MAX_DEPTH} levels"),
        ("[1" + "0" * 5000 + "]", "element #0: not valid JSON"),
        ("", "not a JSON array (it begins '')"),
    ],
)
def test_faults_are_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError) as err:
        list(iter_array(write(tmp_path, text), "export.json", chunk=8))
    assert message in str(err.value)


def test_a_byte_order_mark_and_an_empty_array_are_fine(tmp_path: Path) -> None:
    assert list(iter_array(write(tmp_path, b"\xef\xbb\xbf [ ]\n"))) == []
