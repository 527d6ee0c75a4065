"""The strict JSON layer: the standard library's values for valid input, one clear error for the rest."""

from __future__ import annotations

import codecs
import contextlib
import io
import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crossclaim.errors import InputError
from crossclaim.formats import jsonio
from crossclaim.formats.jsonio import MAX_DEPTH, deeper_than, json_lines, read_json

# JSON values as the standard library writes them; strings full of what trips hand-made scanners
TRICKY = st.text(st.sampled_from(list('ab[]{}",:\\ \n\t') + ["\u2028", "\u2029", "\x85", "🚗", "小", "\ud7ff"]))
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TRICKY
)
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TRICKY, inner, max_size=4), max_leaves=30
)


def loads(text: str, where: str, *, unique_keys: bool = False) -> object:
    """JSON text parsed as ``read_json`` parses a file's; ``where`` names the input in every message."""
    return jsonio._loads(text, where, unique_keys, None, last_line=True)


def depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    return 0


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(VALUES, st.booleans(), st.booleans())
def test_valid_json_reads_as_the_standard_library_reads_it(value, ascii_only: bool, unique_keys: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert loads(text, "v.json", unique_keys=unique_keys) == json.loads(text)


@settings(max_examples=400, deadline=None)
@given(VALUES, st.integers(0, 8))
def test_the_byte_level_depth_check_agrees_with_the_parse_tree(value, limit: int) -> None:
    for ascii_only in (True, False):
        data = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8")
        assert deeper_than(data, limit) == (depth(value) > limit)


DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize(
    ("text", "unique", "fragment"),
    [
        ("", False, "is empty"),
        ('{"a": 1, "b": {"c": 2, "c": 3}}', True, "line 1: duplicate key 'c'"),
        ('{\n "a": 1,\n "a": 2\n}', True, "line 3: duplicate key 'a'"),
        (DEEP, False, f"nested deeper than {MAX_DEPTH} levels"),
        (DEEP, True, f"nested deeper than {MAX_DEPTH} levels"),
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), False, "nested deeper"),
        ("[" + "9" * 5000 + "]", False, "(5,000 characters) does not fit 64 bits"),
        ('{"n": 9223372036854775808}', True, "integer '9223372036854775808' does not fit 64 bits"),
        ("[-9223372036854775809]", False, "integer '-9223372036854775809' does not fit 64 bits"),
        ("[1e400]", False, "too large (it overflows to infinity)"),
        ('{"x": NaN}', False, "NaN is not a JSON value"),
        ("[-Infinity]", True, "-Infinity is not a JSON value"),
        ('["\\ud800"]', False, "\\ud800 is a lone surrogate"),
        ('["a", "\\udc00b"]', True, "\\udc00 is a lone surrogate"),
        (
            '[{"id": 1, "data": {"text": "cut',
            False,
            "line 1, column 29: not valid JSON (truncated or malformed): it ends",
        ),
        ("<!DOCTYPE html>\n<title>502 Bad Gateway</title>", False, "is an HTML page (titled '502 Bad Gateway')"),
        ("\ufeff[]", False, "byte-order mark"),
        ("[1] [2]", False, "Extra data"),
    ],
)
def test_bad_json_is_one_clear_error(text: str, unique: bool, fragment: str) -> None:
    with pytest.raises(InputError) as caught:
        loads(text, "in.json", unique_keys=unique)
    (line,) = caught.value.lines()
    assert line.startswith("in.json") and fragment in line, line


def test_valid_but_unusual_json_is_accepted() -> None:
    assert loads('["\\ud83d\\ude97", "\\\\ud800", "\\u2028"]', "x") == ["🚗", "\\ud800", "\u2028"]
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH, "x") is not None
    assert loads('{"a": 1, "a": 2}', "export.json") == {"a": 2}  # machine-written exports skip the key check
    assert loads("[9223372036854775807, -9223372036854775808, -1.5e300]", "x", unique_keys=True) == [
        2**63 - 1,
        -(2**63),
        -1.5e300,
    ]


def test_files_that_are_not_utf8_json(tmp_path: Path) -> None:
    cases = {
        "dir": None,
        "utf16.json": codecs.BOM_UTF16_LE + "[]".encode("utf-16-le"),
        "utf32.json": "[]".encode("utf-32"),  # its mark begins with UTF-16-LE's
        "utf32-be.json": "[1]".encode("utf-32-be"),
        "utf16-le.json": '{"a": 1}'.encode("utf-16-le"),
        "latin1.json": b'{"a": 1}\n{"b": "caf\xe9"}',
        "missing.json": ...,
    }
    expected = {
        "dir": "is a directory",
        "utf16.json": "is UTF-16",
        "utf32.json": "is UTF-32 (it starts with a UTF-32 byte-order mark): save it as UTF-8",
        "utf32-be.json": "is UTF-32 without a byte-order mark",
        "utf16-le.json": "is UTF-16 without a byte-order mark",
        "latin1.json": "line 2: not UTF-8: byte 0xe9",
        "missing.json": "cannot read: No such file or directory",
    }
    (tmp_path / "dir").mkdir()
    for name, data in cases.items():
        if isinstance(data, bytes):
            (tmp_path / name).write_bytes(data)
        with pytest.raises(InputError) as caught:
            read_json(tmp_path / name)
        assert expected[name] in caught.value.lines()[0], caught.value.lines()


def test_json_lines_split_on_newline_only() -> None:
    rows = [{"t": "a\u2028b"}, {"t": "c\u2029d\x85e"}, {"t": "f\r"}]
    text = "\r\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n" + '{"k": 1, "k": 2}\n{"cut": '
    problems: list[tuple[str, str]] = []
    assert json_lines(text, "p.jsonl", problems) == [(1, rows[0]), (2, rows[1]), (3, rows[2])]
    assert [w for w, _ in problems] == ["p.jsonl, line 5", "p.jsonl, line 6, column 9"]
    assert "duplicate key 'k'" in problems[0][1] and "ends before the JSON is complete" in problems[1][1]


def test_exports_streamed_element_by_element_have_the_same_integer_bound(tmp_path: Path) -> None:
    from crossclaim.formats.jsonio import iter_array

    path = tmp_path / "export.json"
    path.write_text('[{"id": 1, "text": "' + "1" * 40 + '"}, {"id": 9223372036854775813}]')
    with pytest.raises(InputError) as caught:
        list(iter_array(path))
    (line,) = caught.value.lines()
    assert line == f"{path}: element #1: integer '9223372036854775813' does not fit 64 bits (-2**63 to 2**63-1)"


# ---------------------------------------------------------------------------------------------
# the size bound counts bytes as they are read: a pipe or a device reports a size of 0


class _Endless(io.RawIOBase):
    """A file object that never ends (like /dev/zero), counting what was read from it."""

    def __init__(self) -> None:
        self.served = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        buffer[:] = b"0" * len(buffer)
        self.served += len(buffer)
        return len(buffer)


def test_an_endless_file_is_refused_after_the_bound_not_read_on() -> None:
    from crossclaim.formats.jsonio import read_bounded

    endless = _Endless()
    with pytest.raises(InputError) as caught:
        read_bounded(io.BufferedReader(endless, 64), "endless", 1000)
    assert caught.value.lines() == ["endless: is more than 1,000 bytes; inputs are limited to 1,000 bytes"]
    assert endless.served < 1000 + 64 + 1


@pytest.mark.parametrize("size", [0, 10, 999, 1000])
def test_a_file_system_size_that_is_wrong_is_only_a_hint(size: int) -> None:
    from crossclaim.formats.jsonio import read_bounded

    assert read_bounded(io.BytesIO(b"x" * 1000), "f", 1000, size) == b"x" * 1000
    with pytest.raises(InputError):
        read_bounded(io.BytesIO(b"x" * 1001), "f", 1000, size)


def test_a_pipe_past_the_bound_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    monkeypatch.setattr(jsonio, "MAX_BYTES", 1000)
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)

    def write(data: bytes) -> None:
        with contextlib.suppress(BrokenPipeError), fifo.open("wb") as fh:
            fh.write(data)

    for data, fits in ((b"[" + b"0," * 400 + b"0]", True), (b" " * 5000 + b"[]", False)):
        writer = threading.Thread(target=write, args=(data,))
        writer.start()
        try:
            if fits:
                assert read_json(fifo) == [0] * 401
            else:
                with pytest.raises(InputError, match="is more than 1,000 bytes"):
                    read_json(fifo)
        finally:
            writer.join(5)


def test_score_dev_zero_is_refused_with_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from conftest import gold_spans, task, write_repo
    from typer.testing import CliRunner

    from crossclaim.cli import app

    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    monkeypatch.setattr(jsonio, "MAX_BYTES", 1 << 20)
    root = write_repo(tmp_path, [task(gold_spans())])
    assert CliRunner().invoke(app, ["build", "--root", str(root)]).exit_code == 0
    result = CliRunner().invoke(app, ["score", "/dev/zero", "--root", str(root)])
    assert result.exit_code == 2, result.output
    assert result.output == "error: /dev/zero: is more than 1,048,576 bytes; inputs are limited to 1,048,576 bytes\n"
