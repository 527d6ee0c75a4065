"""The machinery for large exports, kept out of the code that says what a build or a pull does.

- ``in_order``: a long job cut into parts, run over forked worker processes, results handed back in
  order. On a large export the parsing and validation of tasks is most of a build, and it is the
  same pure function on every part. Workers are forked, so each starts with the job (the export's
  memory map, the manifest) already in memory and receives only the bounds of its next part. With
  one worker, or where ``fork`` does not exist, the parts run inline: the same function, the same
  results.
- ``collector_paused``, ``release_memory``, ``system_arrow_pool`` and ``forget_pages``: a pass over an
  export of tens of thousands of tasks allocates millions of small objects without reference cycles,
  and writes scratch files of hundreds of megabytes whose pages the kernel would otherwise keep (and
  charge to the build) as page cache.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

R = TypeVar("R")
MAX_WORKERS = 4

_JOB: Any = None  # the job a forked worker inherits


def worker_count(workers: int | None = None) -> int:
    """``workers``, by default one per core, at most ``MAX_WORKERS``."""
    return min(workers or os.cpu_count() or 1, MAX_WORKERS)


def in_order(run: Callable[[Any, int, int], R], job: Any, items: int, part: int, workers: int) -> Iterator[R]:
    """``run(job, start, end)`` for each part ``[start, end)`` of ``range(items)``, in order.

    Over ``workers`` forked processes, at most two parts per worker ahead of the one yielded; a
    part's exception is raised when its turn comes.
    """
    bounds = [(start, min(start + part, items)) for start in range(0, items, part)]
    if workers <= 1 or len(bounds) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        yield from (run(job, start, end) for start, end in bounds)
        return
    global _JOB
    _JOB = job
    try:
        fork = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=fork, initializer=_start, initargs=(os.getpid(),)) as pool:
            pending: deque = deque()
            for start, end in bounds:
                pending.append(pool.submit(_run_inherited, run, start, end))
                if len(pending) >= 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
    finally:
        _JOB = None


def _run_inherited(run: Callable[[Any, int, int], R], start: int, end: int) -> R:
    return run(_JOB, start, end)


def _start(parent: int) -> None:
    """A worker ends when the process that forked it does: a killed build leaves no idle orphans behind.

    Its garbage collector stays off: a worker parses and drops millions of objects that hold no
    reference cycles, and the collector only rescanned them (5% of a build).
    """
    gc.disable()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # Linux
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


_PR_SET_PDEATHSIG = 1


@contextmanager
def collector_paused() -> Iterator[None]:
    """Keep Python's cyclic garbage collector out of a pass that allocates millions of small objects.

    Parsed JSON holds no reference cycles, so nothing is leaked; reference counting frees each task.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def release_memory() -> None:
    """Hand memory freed after a large pass back to the system: glibc keeps free pages between live
    ones (a pass that parsed every task leaves hundreds of megabytes so) until ``malloc_trim``."""
    own = ctypes.CDLL(None)  # this process's symbols: glibc's when it is glibc
    if hasattr(own, "malloc_trim"):
        own.malloc_trim(0)


@contextmanager
def system_arrow_pool() -> Iterator[None]:
    """Arrow allocations through the system allocator, whose freed memory ``release_memory`` hands back.

    Arrow's default pool keeps what is freed for reuse: writing data files from several threads grew
    a large build by the size of its row groups per thread. Each buffer remembers its pool, so the
    previous default is safely restored afterwards.
    """
    import pyarrow as pa  # only a build needs arrow; this module sits below everything

    before = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(before)


def forget_pages(path: os.PathLike | str) -> None:
    """Write a file's pages out and tell the kernel they will not be read soon: a file written once and
    read back once later (a spilled part) would otherwise sit in the page cache, memory charged to the
    build that wrote it, and dirty pages cannot be reclaimed until written."""
    if not hasattr(os, "posix_fadvise"):
        return
    with contextlib.suppress(OSError), open(path, "rb+") as fh:
        os.fdatasync(fh.fileno())
        os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


def drop_cached(fd: int, offset: int, length: int) -> None:
    """Let the kernel drop the (clean) pages of a file just read, ``length`` 0 meaning to its end: a large
    export read once would otherwise fill the page cache, which is charged to the build that read it."""
    if hasattr(os, "posix_fadvise"):
        with contextlib.suppress(OSError):
            os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)
