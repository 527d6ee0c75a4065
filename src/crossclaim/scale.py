"""The machinery for large exports, kept out of the code that says what a build or a pull does.

``in_order`` runs one pure function over the parts of a long job in forked workers (each inherits the
job, the export's places and the manifest, and receives only its part's bounds), results in order; with
one worker, or without ``fork``, the parts run inline. The memory helpers exist because a pass over tens
of thousands of tasks allocates millions of small objects without reference cycles, and writes scratch
files whose pages the kernel would otherwise keep as page cache charged to the build.
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
from typing import Any, TypeVar

R = TypeVar("R")
MAX_WORKERS = 4

_JOB: Any = None  # the job a forked worker inherits


def worker_count(workers: int | None = None) -> int:
    """``workers``, by default one per core, at most ``MAX_WORKERS``."""
    return min(workers or os.cpu_count() or 1, MAX_WORKERS)


def in_order(run: Callable[[Any, int, int], R], job: Any, items: int, part: int, workers: int) -> Iterator[R]:
    """``run(job, start, end)`` for each part ``[start, end)`` of ``range(items)``, in order, over
    ``workers`` forked processes at most two parts each ahead; a part's exception is raised in its turn."""
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
            while pending:  # popped, so that a part handed back is not held until the end
                yield pending.popleft().result()
    finally:
        _JOB = None


def _run_inherited(run: Callable[[Any, int, int], R], start: int, end: int) -> R:
    return run(_JOB, start, end)


def _start(parent: int) -> None:
    """A worker dies with the process that forked it (a killed build leaves no orphans); its garbage
    collector stays off, as it only rescanned the acyclic objects a worker parses (5% of a build)."""
    gc.disable()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # Linux: PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Keep the cyclic garbage collector out of a pass over parsed JSON, which holds no cycles."""
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


@contextlib.contextmanager
def system_arrow_pool() -> Iterator[None]:
    """Arrow allocations through the system allocator, whose freed memory ``release_memory`` hands back
    (Arrow's default pool kept a row group per writing thread); each buffer remembers its pool."""
    import pyarrow as pa  # only a build needs arrow; this module sits below everything

    before = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(before)


def forget_pages(path: os.PathLike | str) -> None:
    """Write a file's pages out, then drop them (``drop_cached``): a spilled part is read back once, later,
    and dirty pages cannot be reclaimed until written."""
    if hasattr(os, "posix_fadvise"):
        with contextlib.suppress(OSError), open(path, "rb+") as fh:
            os.fdatasync(fh.fileno())
            drop_cached(fh.fileno(), 0, 0)


def drop_cached(fd: int, offset: int, length: int) -> None:
    """Let the kernel drop the (clean) pages of a file just read, ``length`` 0 meaning to its end: a large
    export read once would otherwise fill the page cache, which is charged to the build that read it."""
    if hasattr(os, "posix_fadvise"):
        with contextlib.suppress(OSError):
            os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)
