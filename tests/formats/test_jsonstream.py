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


@settings(max_examples=300, deadline=None)
@given(
    items=st.lists(JSON, max_size=6),
    layout=st.sampled_from([{}, {"indent": 1}, {"separators": (",", ":")}]),
    chunk=st.integers(1, 64),
    window=st.integers(1, 96),
)
def test_elements_equal_pythons_json_for_any_chunking(tmp_path_factory, items, layout, chunk, window) -> None:
    # a buffer's boundaries are first guessed in a window at its end (inside a string or not, any depth),
    # and a guess msgspec refuses falls back to the full scan: whatever the window, the same elements
    text = json.dumps(items, ensure_ascii="indent" not in layout, **layout)
    path = write(tmp_path_factory.mktemp("j"), text)
    assert list(iter_array(path, chunk=chunk, window=window)) == items


def test_nesting_is_bounded_also_where_boundaries_are_guessed(tmp_path: Path) -> None:
    deep = "[" * MAX_DEPTH + "]" * MAX_DEPTH  # one level too many inside the array
    path = write(tmp_path, f"[1, {deep}, 2, 3, 4, 5, 6, 7, 8, 9]")
    with pytest.raises(InputError, match=f"element #1: nested deeper than {MAX_DEPTH} levels"):
        list(iter_array(path, chunk=len(deep) + 6, window=4))
    assert list(iter_array(write(tmp_path, f"[1, {deep[1:-1]}, 2, 3]"), chunk=8, window=4))[0] == 1


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
