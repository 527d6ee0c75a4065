"""The one reader of JSON input: strict, bounded, and precise about what is wrong and where.

The manifest, Label Studio exports and predictions files are read here: a file whole by the standard
library, or an export a task at a time (``ArrayFile``: msgspec checks the syntax and finds the elements
over a memory map, orjson parses each). Around the parsers go the checks they lack:

- integers fit a signed 64-bit column, floats are finite, ``NaN`` / ``Infinity`` are refused;
- nesting is bounded (``MAX_DEPTH``), so no code walking the data hits Python's recursion limit;
- a lone surrogate escape (``"\\ud800"``), which could never be written out as UTF-8, is refused;
- hand-written inputs (``unique_keys=True``) may not repeat a key, where the last value would silently
  win (Label Studio's machine-written exports skip that check: an object hook costs about 20%);
- an empty or truncated file, an HTML page, a byte-order mark, UTF-16 or UTF-32 and bytes that are not
  UTF-8 each get a message of their own, with the line;
- JSON Lines are split on ``\\n`` only: U+2028, U+2029 and U+0085 are valid inside JSON strings.

These cost a few byte-level passes (``bytes.translate``, ``replace``), never a Python loop over the data.
"""

from __future__ import annotations

import codecs
import json
import json.decoder
import json.scanner
import math
import mmap
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import msgspec
import numpy as np
import orjson

from crossclaim.errors import InputError, Problems, shown
from crossclaim.scale import drop_cached

MAX_DEPTH = 64  # the deepest legitimate input, a Label Studio export, nests 8 levels
INT_MIN, INT_MAX = -(2**63), 2**63 - 1  # every integer fits a signed 64-bit column (int64 in parquet)
_INT_DIGITS = 19  # a literal of 19 digits may be out of range, one of fewer never is
MAX_BYTES = 1 << 30  # a JSON input is parsed in memory: refuse anything beyond 1 GiB up front


class _Refused(ValueError):
    """A value the parser accepted and this layer does not; ``needle`` locates it in the text."""

    def __init__(self, message: str, needle: str | None = None, start: int = 0) -> None:
        super().__init__(message)
        self.needle, self.start = needle, start


# files -> text ------------------------------------------------------------------------------------


def read_bytes(path: Path) -> bytes:
    """The bytes of an input file, at most ``MAX_BYTES``; a directory, a missing or unreadable file, or
    one too big is one clear InputError."""
    try:
        if path.is_dir():
            raise InputError(str(path), "is a directory, not a file")
        size = path.stat().st_size
        if size > MAX_BYTES:  # a regular file too big is refused before a byte is read
            raise InputError(str(path), f"is {size:,} bytes; inputs are limited to {MAX_BYTES:,} bytes")
        with path.open("rb") as fh:
            return read_bounded(fh, str(path), MAX_BYTES, size)
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror or exc}") from None


CHUNK = 1 << 24  # bytes read at a time past the size the file system reported


def read_bounded(fh: BinaryIO, where: str, limit: int, size: int = 0) -> bytes:
    """All of ``fh``, counting the bytes as they are read: past ``limit`` it is refused, not read on.

    The size a file system reports is only a hint (0 for a pipe, a device or /proc; a file may grow):
    the first read asks for it and one byte more, and only if that byte comes is the rest read in chunks.
    """
    first = min(size, limit) + 1
    data = fh.read(first)
    if len(data) < first:  # the end came where the file system said it would (or sooner)
        return data
    chunks, total = [data], len(data)
    while total <= limit and (chunk := fh.read(min(CHUNK, limit + 1 - total))):
        chunks.append(chunk)
        total += len(chunk)
    if total > limit:
        raise InputError(where, f"is more than {limit:,} bytes; inputs are limited to {limit:,} bytes")
    return b"".join(chunks)


def decode(data: bytes, where: str) -> str:
    """UTF-8 text of ``data``; a byte-order mark or a byte that is not UTF-8 is named with its line."""
    if (wrong := _not_utf8(data)) is not None:
        raise InputError(where, wrong)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{where}, line {line}", f"not UTF-8: byte 0x{data[exc.start]:02x} at byte offset {exc.start:,}"
        ) from None


# UTF-32's marks first: the UTF-32-LE mark begins with the UTF-16-LE one (FF FE)
_MARKS = {"UTF-32": (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE), "UTF-16": (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)}
_ZERO_BYTES = {"000.": "UTF-32", ".000": "UTF-32", "0.0.": "UTF-16", ".0.0": "UTF-16"}  # of the first 4 bytes


def _not_utf8(data: bytes) -> str | None:
    """What its start shows that ``data`` is not plain UTF-8: a byte-order mark, or UTF-16 or UTF-32 by where
    the zero bytes of its first two characters fall (JSON text begins with ASCII; RFC 4627, section 3)."""
    if data.startswith(codecs.BOM_UTF8):
        return "starts with a byte-order mark: save it as UTF-8 without BOM"
    for name, marks in _MARKS.items():
        if data.startswith(marks):
            return f"is {name} (it starts with a {name} byte-order mark): save it as UTF-8"
    if name := _ZERO_BYTES.get("".join("." if b else "0" for b in data[:4])):
        return f"is {name} without a byte-order mark (zero bytes between its first characters): save it as UTF-8"
    return None


def read_text(path: Path) -> str:
    """A UTF-8 text input file (predictions, raw pages), with the errors of ``read_bytes`` and ``decode``."""
    return decode(read_bytes(path), str(path))


def read_json(path: Path, *, unique_keys: bool = False) -> object:
    """Parse a JSON input file strictly (see the module docstring)."""
    data = read_bytes(path)
    return _loads(decode(data, str(path)), str(path), unique_keys, data, last_line=True)


def json_lines(text: str, where: str, problems: Problems, first: int = 1) -> list[tuple[int, object]]:
    """(line number, value) of every non-blank line of JSON Lines text, parsed strictly with unique keys.

    A bad line adds its problems to ``problems`` and is skipped, so every line is checked in one run; an
    empty file, a byte-order mark, an HTML page or a JSON array over several lines is one error for the
    whole file. ``first``: the number of the text's first line (a file read a chunk at a time).
    """
    _check_start(text, where, allow_empty=True)
    lines = text.split("\n")
    if first == 1 and next((line for line in lines if line.strip()), "").strip() == "[":
        raise InputError(
            where, "is a JSON array written over several lines, not JSON Lines: write one JSON object per line"
        )
    out: list[tuple[int, object]] = []
    for n, line in enumerate(lines, start=first):
        if not line.strip():
            continue
        try:
            out.append((n, json_line(line, f"{where}, line {n}", last_line=n == first + len(lines) - 1)))
        except InputError as exc:
            problems.extend(exc.problems)
    return out


def json_line(line: str, where: str, last_line: bool = False) -> object:
    """One line of JSON Lines parsed strictly with unique keys; ``where`` names the file and line, and a
    fault is located by column only (a streamed corpus is read a line at a time)."""
    return _loads(line, where, True, None, last_line=last_line, in_line=True)


# a JSON array an element at a time (a Label Studio export) ----------------------------------------

RUN = 64  # elements read from the file at a time (a build's part is one run)


@dataclass(frozen=True)
class ArrayFile:
    """The elements of a JSON array file (an export's tasks), found once (``array_file``), read back a run
    at a time: the one way an export file is read.

    It holds their places, not their bytes: each part of a build reads its run in one call, and the pages
    read are let go of at once (``scale.drop_cached``), so the page cache charged to the reader stays small.
    """

    path: Path
    where: str  # the file as messages name it
    bounds: tuple[tuple[int, int], ...]  # (byte offset, length) of each element
    identity: tuple[int, int, int]  # (device, inode, size) of the file scanned: a file put in its place is refused

    def __len__(self) -> int:
        return len(self.bounds)

    def elements(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Elements ``start`` to ``end`` (default: to the last), undecoded (a caller may look for a mark
        before it parses), read ``RUN`` at a time, each run in one read of the file."""
        end = len(self) if end is None else end
        try:
            fh = self.path.open("rb")
        except OSError as exc:
            raise InputError(self.where, f"cannot read: {exc.strerror or exc}") from None
        with fh:  # held to the last: the file read is the one scanned
            if _identity(fh) != self.identity:
                raise InputError(self.where, "was replaced while it was read (by another command?): run it again")
            for at in range(start, end, RUN):
                run = self.bounds[at : min(at + RUN, end)]
                first, last = run[0][0], sum(run[-1])
                data = os.pread(fh.fileno(), last - first, first)
                drop_cached(fh.fileno(), first, last - first)
                yield from (data[offset - first : offset - first + n] for offset, n in run)

    def tasks(self, start: int = 0, end: int | None = None) -> Iterator[object]:
        """Elements ``start`` to ``end`` (default: to the last), each parsed (``parse``)."""
        for n, element in enumerate(self.elements(start, end), start):
            yield self.parse(element, n)

    def parse(self, element: bytes, n: int) -> object:
        """Element ``n``, parsed by orjson under this module's bounds (integers, nesting)."""
        here = f"{self.where}: element #{n}"
        try:
            value = orjson.loads(element)
        except orjson.JSONDecodeError as exc:
            raise InputError(here, f"not valid JSON: {exc}") from None
        if _has_digit_run(element):  # orjson takes up to 2**64 - 1: only then is it parsed again, bounded
            _loads(element.decode("utf-8", "surrogatepass"), here, False, element, last_line=True, in_line=True)
        if deeper_than(element, MAX_DEPTH - 1):  # the array itself is one level
            raise InputError(here, f"nested deeper than {MAX_DEPTH} levels: not a Label Studio export")
        return value


def array_file(path: Path, where: str | None = None) -> ArrayFile:
    """The JSON array in ``path``, its elements kept as places in the file; InputError unless the whole
    file is one. msgspec checks its syntax and cuts it into elements over a memory map: a file of gigabytes
    is never copied into memory, and a truncated or malformed one is refused before any task is used."""
    where = where or str(path)
    try:
        with path.open("rb") as fh:
            identity = _identity(fh)
            head = fh.read(4096)
            _check_start(head.decode("utf-8", "replace"), where)
            if (wrong := _not_utf8(head)) is not None:
                raise InputError(where, wrong)
            if not head.lstrip().startswith(b"["):
                begins = shown(head.lstrip()[:40].decode("utf-8", "replace"))
                raise InputError(where, f"not a JSON array (it begins {begins}): an export is a list of tasks")
            mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            if hasattr(mmap, "MADV_SEQUENTIAL"):
                mapped.madvise(mmap.MADV_SEQUENTIAL)  # one pass, front to back: pages may go soon after they are read
            try:
                elements = msgspec.json.decode(mapped, type=list[msgspec.Raw])
            except msgspec.DecodeError as exc:
                raise InputError(*_array_fault(mapped, where, str(exc))) from None
            base = np.frombuffer(mapped, np.uint8).ctypes.data
            bounds = tuple((np.frombuffer(e, np.uint8).ctypes.data - base, len(e)) for e in elements)
            del elements  # they point into the map, which cannot close while they live
            mapped.close()
            drop_cached(fh.fileno(), 0, 0)  # msgspec read every page once: none is needed before it is read back
    except OSError as exc:
        raise InputError(where, f"cannot read: {exc.strerror or exc}") from None
    return ArrayFile(path, where, bounds, identity)


def _identity(fh: BinaryIO) -> tuple[int, int, int]:
    found = os.fstat(fh.fileno())
    return found.st_dev, found.st_ino, found.st_size


def iter_array(path: Path, where: str | None = None) -> Iterator[object]:
    """The tasks of the array in ``path``, parsed one by one (``ArrayFile.tasks``); the file is looked
    at only when the first is asked for, so a caller's earlier checks speak first."""
    yield from array_file(path, where).tasks()


def _array_fault(data: mmap.mmap, where: str, message: str) -> tuple[str, str]:
    """Where (with the line) and what for msgspec's account of a malformed array."""
    if message.startswith("Input data was truncated"):
        return where, "truncated: the file ends inside the array (an interrupted download?)"
    found = re.search(r"(.*) \(byte (\d+)\)$", message)
    if found is None:
        return where, f"not valid JSON: {message}"
    what, at = found.group(1).removeprefix("JSON is malformed: "), int(found.group(2))
    line = data[:at].count(b"\n") + 1
    return f"{where}, line {line}", f"not valid JSON: {what} at byte offset {at:,}"


# text -> value ------------------------------------------------------------------------------------


def _loads(
    text: str, where: str, unique_keys: bool, data: bytes | None, last_line: bool, in_line: bool = False
) -> object:
    if not in_line:
        _check_start(text, where)
    data = text.encode("utf-8", "surrogatepass") if data is None else data
    try:
        try:
            value = json.loads(
                text,
                parse_float=_finite,
                parse_constant=_no_constant,
                parse_int=_bounded_int if _has_digit_run(data) else None,
                object_pairs_hook=_unique_pairs if unique_keys else None,
            )
        except _Duplicate:  # found by the C scanner; the pure-Python one tells where
            value = _StrictDecoder(text).decode(text)
        if deeper_than(data, MAX_DEPTH):
            raise RecursionError  # refused as the parser refuses deeper nesting
        if (b"\\ud" in data or b"\\uD" in data) and (lone := _lone_surrogate(text)) is not None:
            raise _Refused(
                f"{text[lone : lone + 6]} is a lone surrogate, not a character (not valid Unicode)", None, lone
            )
    except json.JSONDecodeError as exc:
        at = where if in_line else f"{where}, line {exc.lineno}"
        early = last_line and (exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"))
        what = "it ends before the JSON is complete (an interrupted download?)" if early else exc.msg
        raise InputError(f"{at}, column {exc.colno}", f"not valid JSON (truncated or malformed): {what}") from None
    except _Refused as exc:  # its line is found by its literal text (its needle), or its offset
        pos = text.find(exc.needle, exc.start) if exc.needle is not None else exc.start
        at = where if in_line else f"{where}, line {text.count(chr(10), 0, max(pos, 0)) + 1}"
        raise InputError(at, str(exc)) from None
    except RecursionError:
        raise InputError(where, f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # anything else the parser refuses: still one line, never a traceback
        raise InputError(where, f"not valid JSON: {shown(str(exc))}") from None
    return value


_HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)


def _check_start(text: str, where: str, allow_empty: bool = False) -> None:
    """The faults visible at the first character: nothing at all, a byte-order mark, an HTML page."""
    head = text[:4096].lstrip()
    if not head and not allow_empty and not text.strip():
        raise InputError(where, "is empty: no JSON value (an interrupted download?)")
    if text.startswith("\ufeff"):
        raise InputError(where, "starts with a byte-order mark: save it as UTF-8 without BOM")
    if head.startswith("<"):
        title = _HTML_TITLE.search(text[:65536])
        named = f" (titled {shown(' '.join(title.group(1).split()))})" if title else ""
        raise InputError(where, f"is an HTML page{named}, not JSON: an error or login page saved in place of the file?")


# numbers and constants ---------------------------------------------------------------------------

_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")


def _has_digit_run(data: bytes) -> bool:
    """Whether any run of digits (in a number or a string) is long enough to be out of range."""
    return b"0" * _INT_DIGITS in data.translate(_DIGITS_TO_ZERO)


def _bounded_int(literal: str) -> int:
    if len(literal.lstrip("-")) > _INT_DIGITS or not INT_MIN <= int(literal) <= INT_MAX:
        raise _Refused(f"integer {shown(literal, 40)} does not fit 64 bits (-2**63 to 2**63-1)", literal)
    return int(literal)


def _finite(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise _Refused(f"number {shown(literal, 40)} is too large (it overflows to infinity)", literal)
    return value


def _no_constant(name: str) -> float:
    raise _Refused(f"{name} is not a JSON value (JSON has no NaN or Infinity)", name)


# nesting -----------------------------------------------------------------------------------------

_ALL = bytes(range(256))
_NOT_STRUCTURE = _ALL.translate(None, b'[]{}"')
_CURLY_TO_SQUARE = bytes.maketrans(b"{}", b"[]")
_STRING = re.compile(rb'"[^"]*"')


def deeper_than(data: bytes, limit: int) -> bool:
    """Whether the valid JSON ``data`` nests deeper than ``limit``: byte passes, no parse tree walk.

    Escaped backslashes and quotes are dropped, so every remaining quote delimits a string; the data
    is reduced to its brackets and quotes; adjacent quotes go in pairs (that keeps every bracket on
    the same side of a string boundary), strings that still hold brackets are cut out; then each
    ``replace(b"[]", b"")`` peels exactly one level of nesting.
    """
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    if b"\\\\" in data:
        data = data.replace(b"\\\\", b"")
    if b'\\"' in data:
        data = data.replace(b'\\"', b"")
    skeleton = data.translate(_CURLY_TO_SQUARE, _NOT_STRUCTURE)
    while b'""' in skeleton:
        skeleton = skeleton.replace(b'""', b"")
    if b'"' in skeleton:
        skeleton = _STRING.sub(b"", skeleton)
    for _ in range(limit):
        if not skeleton:
            return False
        skeleton = skeleton.replace(b"[]", b"")
    return bool(skeleton)


# strings -----------------------------------------------------------------------------------------

# a pair of surrogate escapes (high, low), or a lone one (group 1), each after any escaped backslashes
_SURROGATE_ESCAPE = re.compile(
    r"(?<!\\)(?:\\\\)*(?:\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|(\\u[dD][89a-fA-F][0-9a-fA-F]{2}))"
)


def _lone_surrogate(text: str) -> int | None:
    """Offset of the first ``\\uD800``-``\\uDFFF`` escape that is not half of a surrogate pair."""
    return next((m.start(1) for m in _SURROGATE_ESCAPE.finditer(text) if m.group(1)), None)


# duplicate keys ----------------------------------------------------------------------------------


class _Duplicate(Exception):
    """A repeated key, found by the fast scanner (which cannot say where)."""


def _unique_pairs(pairs: list[tuple[str, object]]) -> dict:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _Duplicate
    return obj


class _StrictDecoder(json.JSONDecoder):
    """The pure-Python scanner, with an object hook that knows where each object starts: run only to
    locate a repeated key the C scanner found (its object hook gets no position)."""

    def __init__(self, text: str) -> None:
        super().__init__(parse_float=_finite, parse_int=_bounded_int, parse_constant=_no_constant)
        self.text = text
        self.parse_object = self._object
        self.scan_once = json.scanner.py_make_scanner(self)

    def _object(self, s_and_end, strict, scan_once, object_hook, object_pairs_hook, memo=None):
        start = s_and_end[1]

        def unique(pairs: list[tuple[str, object]]) -> dict:
            obj = dict(pairs)
            if len(obj) != len(pairs):
                seen: set[str] = set()
                dup = next(k for k, _ in pairs if k in seen or seen.add(k))
                key = json.dumps(dup, ensure_ascii=False)
                first = self.text.find(key, start)
                raise _Refused(
                    f"duplicate key {shown(dup)} in one object (the last value would silently win)",
                    key,
                    first + len(key) if first >= 0 else start,
                )
            return obj

        return json.decoder.JSONObject(s_and_end, strict, scan_once, object_hook, unique, memo)


def json_type(value: object) -> str:
    """The JSON type of a parsed value, as a message names it ("a string", "null", ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    return {int: "an integer", float: "a number", str: "a string", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__
    )


def described(value: object) -> str:
    """A parsed value as a type error echoes it: ``null``, ``true``, or its type and (cut) value."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    return f"{json_type(value)} {shown(value)}"


def unwritable_strings(data: object, where: str) -> list[tuple[str, str]]:
    """Strings of a Label Studio export that cannot be written as UTF-8 (a lone surrogate, ``"\\ud83d"``:
    half an emoji), one problem each; it looks at every string, so it is called when writing has failed."""
    problems: list[tuple[str, str]] = []
    for n, task in enumerate(data if isinstance(data, list) else []):
        here = f"{where}: task {task.get('id', '#' + str(n)) if isinstance(task, dict) else '#' + str(n)}"
        for path, value in _strings(task, ""):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                cut = value[max(0, exc.start - 30) : exc.start + 30]
                problems.append((here, f"{path.lstrip('.')} holds a lone surrogate, not text: {cut!r}"))
    return problems


def _strings(value: object, path: str):
    """(JSON path, string) of every string in ``value``, keys included."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k, f"{path} (key)")
            yield from _strings(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, f"{path}[{i}]")
