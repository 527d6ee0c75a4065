"""Reading a large JSON array one element at a time, in bounded memory.

A Label Studio export is one JSON array of tasks; parsing it whole holds every task as Python
objects at once (about 0.3 MB per task) and keeps the garbage collector rescanning them. Here the
file is read in chunks and cut into its top-level elements, each parsed by orjson on its own. A
buffer always starts right after an element boundary, so every scan starts outside any string at
depth 1 and no escape state crosses a buffer. The last boundary of a buffer is first guessed from
a small window at its end and confirmed by msgspec reading everything before it as whole elements
(``_speculated``); where that fails, numpy finds every boundary (commas at depth 1 outside strings).

Faults are reported, never guessed around: a file that is not a JSON array (an HTML error page, a
truncated download), nesting deeper than ``MAX_DEPTH``, integers of more than 18 digits (the bound
of ``jsonio``, for every JSON input), invalid UTF-8.

Passes over such a file (a build, a pull) keep their memory bounded with the helpers at the top:
no garbage collector rescans, arrow memory that goes back to the system, freed memory handed back.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec
import numpy as np
import orjson

from crossclaim.errors import InputError
from crossclaim.formats.jsonio import MAX_DEPTH, check_integers, deeper_than

CHUNK = 1 << 22  # bytes read at a time
WINDOW = 1 << 18  # bytes at the end of a buffer searched for a boundary first (``_speculated``)

_KIND = np.zeros(256, dtype=np.int8)  # 1 quote, 2 open, 3 close, 4 comma
for _byte, _kind in ((b'"', 1), (b"[", 2), (b"{", 2), (b"]", 3), (b"}", 3), (b",", 4)):
    _KIND[_byte[0]] = _kind


@contextmanager
def collector_paused() -> Iterator[None]:
    """Keep Python's cyclic garbage collector out of a parse that allocates millions of small objects.

    Parsed JSON holds no reference cycles, so nothing is leaked; reference counting frees each task.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@contextmanager
def system_arrow_pool() -> Iterator[None]:
    """Arrow allocations through the system allocator while a large build runs.

    Arrow's default pool (mimalloc) keeps what is freed: a build that rewrites each table once
    grew by the size of its tables. Freed system memory goes back with ``release_memory``. Each
    buffer remembers its pool, so the previous default is safely restored afterwards.
    """
    import pyarrow as pa

    before = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(before)


def release_memory() -> None:
    """Hand memory freed after a large pass back to the system.

    Freed memory stays with the allocator that held it: arrow's pool keeps it for reuse, and glibc
    keeps free pages between live ones (a pass that parsed every task, or pickled parts of a build,
    leaves hundreds of megabytes so). ``malloc_trim`` returns them; elsewhere this does nothing.
    """
    import ctypes

    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    own = ctypes.CDLL(None)  # this process's symbols: glibc's when it is glibc
    if hasattr(own, "malloc_trim"):
        own.malloc_trim(0)


def _boundaries(buf: bytes) -> list[int]:
    """The element boundaries of ``buf``, which starts outside any string at the array's depth: its
    depth-1 commas and the closing bracket of the array (nesting is bounded per element, by
    ``parse_element``)."""
    pos, kinds, outside = _structure(np.frombuffer(buf, dtype=np.uint8))
    steps = _steps(kinds, outside)
    depths = np.cumsum(steps, dtype=np.int32) + 1
    return pos[((kinds == 4) & outside & (depths == 1)) | ((steps == -1) & (depths == 0))].tolist()


def _structure(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Offsets and kinds of the structural bytes of ``a``, and which of them are outside strings if
    ``a`` starts outside one (if it starts inside one, every mark but a quote is on the other side)."""
    kinds_full = _KIND[a]
    pos = np.flatnonzero(kinds_full)
    kinds = kinds_full[pos]
    quotes = kinds == 1
    escaped = pos[quotes]
    escaped = escaped[escaped > 0]
    escaped = escaped[a[escaped - 1] == 0x5C]
    if len(escaped):  # a quote after an odd run of backslashes is part of the string
        odd = [p for p in escaped.tolist() if _backslashes_before(a, p) % 2]
        if odd:
            keep = ~np.isin(pos, np.array(odd, dtype=pos.dtype))
            pos, kinds, quotes = pos[keep], kinds[keep], quotes[keep]
    return pos, kinds, (np.cumsum(quotes, dtype=np.uint8) & 1) == 0


def _steps(kinds: np.ndarray, outside: np.ndarray) -> np.ndarray:
    """The depth step of each structural byte: +1 opens, -1 closes (outside strings), else 0."""
    steps = np.zeros(len(kinds), dtype=np.int8)
    steps[outside & (kinds == 2)] = 1
    steps[outside & (kinds == 3)] = -1
    return steps


_AFTER_STRING = np.zeros(256, dtype=bool)  # what may follow a string's closing quote in JSON
_AFTER_STRING[list(b":,}] \t\r\n")] = True


def _speculated(buf: bytes, window: int = WINDOW) -> tuple[list[bytes], int] | None:
    """The elements at the start of ``buf`` (which starts right after a boundary), found without scanning
    all of it, and the offset after them; None when the guess below fails (scan it all, ``_boundaries``).

    Only the last ``window`` bytes are scanned, as if they began outside a string and as if inside
    (the likelier first: where more closing quotes are followed by what JSON allows there): the last
    comma at the shallowest depth in the window ends an element if the window holds a boundary at
    all. A guess counts only if msgspec, a strict parser, reads everything before it as a complete
    JSON array. A prefix that parses as whole elements from the array's depth ends exactly at a
    boundary (the parser is in the same state there as on the whole file), so a wrong guess is
    refused, never accepted.
    """
    start = max(0, len(buf) - window)
    a = np.frombuffer(buf, dtype=np.uint8, offset=start)
    pos, kinds, outside = _structure(a)
    closes = (kinds == 1) & _AFTER_STRING[a[np.minimum(pos + 1, len(a) - 1)]]  # quotes that may end a string
    sides = (outside, ~outside)
    if np.count_nonzero(closes & outside) < np.count_nonzero(closes & ~outside):
        sides = sides[::-1]
    for side in sides:
        depths = np.cumsum(_steps(kinds, side), dtype=np.int32)
        commas = (kinds == 4) & side
        if not commas.any():
            continue
        shallowest = pos[commas & (depths == depths[commas].min())]
        end = start + int(shallowest[-1])
        try:
            elements = msgspec.json.decode(b"".join((b"[", memoryview(buf)[:end], b"]")), type=list[msgspec.Raw])
        except msgspec.DecodeError:
            continue
        return [bytes(e) for e in elements], end + 1
    return None


def _backslashes_before(a: np.ndarray, p: int) -> int:
    n = 0
    while p - n - 1 >= 0 and a[p - n - 1] == 0x5C:
        n += 1
    return n


def iter_array(path: Path, where: str | None = None, chunk: int = CHUNK, window: int = WINDOW) -> Iterator[object]:
    """Yield the elements of the JSON array in ``path`` one by one; InputError on any fault."""
    where = where or str(path)
    for n, piece in enumerate(iter_array_raw(path, where, chunk, window)):
        yield parse_element(piece, where, n)


def iter_array_raw(path: Path, where: str | None = None, chunk: int = CHUNK, window: int = WINDOW) -> Iterator[bytes]:
    """The bytes of each element of the JSON array in ``path`` (parse them with ``parse_element``)."""
    where = where or str(path)
    try:
        fh = open(path, "rb")  # noqa: SIM115 (closed below, also when the caller stops early)
    except OSError as exc:
        raise InputError(where, f"cannot read: {exc.strerror}") from None
    with fh:
        buf = fh.read(max(chunk, 64))
        head = buf.lstrip()
        if head.startswith(b"\xef\xbb\xbf"):
            head = head[3:].lstrip()
        if not head.startswith(b"["):
            raise InputError(where, f"not a JSON array (it begins {_preview(head)}): an export is a list of tasks")
        buf = head[1:]
        n, done = 0, False
        while not done:
            more = fh.read(chunk)
            forget_pages(fh)
            found = _speculated(buf, window) if more else None
            if found is not None:
                pieces, used = found
                yield from pieces
                n += len(pieces)
                buf = buf[used:] + more
                continue
            marks = _boundaries(buf)
            start = 0
            for m in marks:
                piece = buf[start:m]
                if buf[m : m + 1] == b"]":
                    done = True
                    if piece.strip() or n:
                        yield piece
                    if buf[m + 1 :].strip() or more.strip():
                        raise InputError(where, f"unexpected data after the array: {_preview(buf[m + 1 :] + more)}")
                    break
                yield piece
                n += 1
                start = m + 1
            if done:
                break
            if not more:
                raise InputError(where, f"truncated: the file ends inside the array (after {n} complete elements)")
            buf = buf[start:] + more


def forget_pages(fh, written: bool = False) -> None:
    """Tell the kernel the pages of ``fh`` so far will not be used again (``written``: write them out
    first, as only clean pages can be dropped). A pass over an export of gigabytes, or the scratch
    files of a build, would otherwise fill the page cache, memory charged to the build, with them."""
    if not hasattr(os, "posix_fadvise"):
        return
    with contextlib.suppress(OSError, ValueError):
        if written:
            fh.flush()
            os.fdatasync(fh.fileno())
        os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


def parse_element(piece: bytes, where: str, n: int) -> object:
    """One element's value; a malformed one is an InputError naming its position."""
    try:
        value = orjson.loads(piece)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{where}: element #{n}", f"not valid JSON: {exc}") from None
    check_integers(piece, f"{where}: element #{n}")  # the bounds every JSON input has
    if deeper_than(piece, MAX_DEPTH - 1):  # the array itself is one level
        raise InputError(f"{where}: element #{n}", f"nested deeper than {MAX_DEPTH} levels: not a Label Studio export")
    return value


def _preview(data: bytes) -> str:
    text = data[:60].decode("utf-8", "replace").strip()
    return repr(text + ("…" if len(data) > 60 else ""))
