"""The configs written to parquet in fixed row groups, in manifest order, in bounded memory.

A build's rows arrive in export order, a part of the export at a time (from worker processes).
Each part's record batches are compressed where they were built (``pack``) and spilled to a file
per config and split as they arrive, with an index of where each document's rows are;
``Spill.write`` then reads them back in manifest order and writes row groups of a fixed number of
rows, a thread per data file. So the published bytes depend neither on the export's order nor on
how it was cut into parts, and a build holds one row group and a spilled part or two at a time,
whatever the size of the export. The counts the card and the
datasheet report are taken off the row groups as they are written (``Published``): they describe
exactly what is published.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from crossclaim.dataset.tables import ROW_DOCUMENT, TablePart, Tables, arrow_schema, batch_schema
from crossclaim.formats.jsonstream import forget_pages, release_memory
from crossclaim.schema.scheme import CONFIGS, LAYERS, PAIR_LABELS, Attribute, attributes_of

# Rows per row group: about ten megabytes of arrow data each. Fixed, so that the bytes of a
# data file depend only on its rows; the small corpus fits in one row group per file.
ROW_GROUP = {"documents": 512, "tokens": 16384, "claim_pairs": 16384}
FORGET_EVERY = 16  # spilled batches between two hints to the kernel that their pages will not be used again
PARQUET = {"compression": "zstd", "use_dictionary": False, "write_statistics": False}


def data_file(out: Path, config: str, split: str) -> Path:
    return out / config / f"{split}-00000-of-00001.parquet"


def bool_attributes(layer: str) -> list[Attribute]:
    """The true/false attributes of a layer: each gets a count of its true spans."""
    return [a for a in attributes_of(layer) if a.kind == "bool"]


@dataclass
class Published:
    """What the data files hold, counted off their row groups as they were written."""

    files: list[Path] = field(default_factory=list)
    rows: dict[str, Counter] = field(default_factory=lambda: {c: Counter() for c in CONFIGS})
    bytes: dict[str, Counter] = field(default_factory=lambda: {c: Counter() for c in CONFIGS})
    characters: Counter = field(default_factory=Counter)  # per split
    tokens: Counter = field(default_factory=Counter)  # per split
    spans: Counter = field(default_factory=Counter)  # (layer, label or attribute, split)
    pairs: Counter = field(default_factory=Counter)  # (label, split)
    contradicts: dict[str, list] = field(default_factory=dict)  # split -> both claims of each CONTRADICTS pair
    publishers: Counter = field(default_factory=Counter)  # None: not named on the page
    tokens_cut: int = 0  # tokens cut at a span boundary inside a glued word
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, config: str, split: str, table: pa.Table) -> None:
        """Count a row group as written (data files are written in threads: one at a time in here)."""
        with self._lock:
            self.rows[config][split] += table.num_rows
            self.bytes[config][split] += table.nbytes
            if config == "documents":
                self.characters[split] += pc.sum(pc.utf8_length(table.column("text"))).as_py() or 0
                self.publishers.update(table.column("publisher").to_pylist())
                for layer in LAYERS:
                    found = pc.list_flatten(table.column(layer))
                    names = LAYERS[layer].label_names
                    labels = pc.struct_field(found, "label").to_pylist()
                    self.spans.update((layer, names[label], split) for label in labels)
                    for a in bool_attributes(layer):
                        self.spans[(layer, a.name, split)] += pc.sum(pc.struct_field(found, a.name)).as_py() or 0
            elif config == "tokens":
                self.tokens[split] += pc.sum(pc.list_value_length(table.column("tokens"))).as_py() or 0
            else:
                labels = table.column("label").to_pylist()
                self.pairs.update((PAIR_LABELS[label], split) for label in labels)
                self.contradicts.setdefault(split, []).extend(
                    _claims_of(table.filter(pc.equal(table.column("label"), PAIR_LABELS.index("CONTRADICTS"))))
                )


def _claims_of(pairs: pa.Table) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    """The two claims ``(document, claim id)`` of each row of the claim_pairs config."""
    sides = [
        zip(
            pc.struct_field(pairs.column(side), "document_id").to_pylist(),
            pc.struct_field(pairs.column(side), "claim_id").to_pylist(),
        )
        for side in ("claim_a", "claim_b")
    ]
    return list(zip(*sides))


class RowGroups:
    """One data file, written a row group of ``ROW_GROUP[config]`` rows at a time.

    Each row group is cast to the published schema (tag ids were one byte each while the build held
    them) and put in one canonical form (``canonical``) before it is written and counted.
    """

    def __init__(self, path: Path, config: str, split: str, published: Published) -> None:
        self.path, self.config, self.split, self.published = path, config, split, published
        self.schema = arrow_schema(config)
        self.size = ROW_GROUP[config]
        self.pending: list[pa.Table] = []
        self.held = 0
        self.writer: pq.ParquetWriter | None = None
        self.file = None  # the data file, written through this handle so its pages can be let go of

    def add(self, rows: pa.Table) -> None:
        self.pending.append(rows)
        self.held += rows.num_rows
        while self.held >= self.size:
            table = pa.concat_tables(self.pending)
            self._write(table.slice(0, self.size))
            rest = table.slice(self.size)
            self.pending, self.held = ([rest] if rest.num_rows else []), rest.num_rows

    def close(self) -> None:
        if self.held:
            self._write(pa.concat_tables(self.pending))
        self.pending, self.held = [], 0
        if self.writer is not None:
            self.writer.close()
            forget_pages(self.file, written=True)
            self.file.close()
            self.published.files.append(self.path)
            release_memory()  # the writer's buffers, before the next file's

    def _write(self, rows: pa.Table) -> None:
        group = canonical(rows.cast(self.schema) if rows.schema != self.schema else rows)
        if self.writer is None:  # an empty parquet file cannot be loaded: an empty split gets none
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.file = open(self.path, "wb")  # noqa: SIM115 (closed in ``close``)
            self.writer = pq.ParquetWriter(self.file, self.schema, **PARQUET)
        self.writer.write_table(group, row_group_size=self.size)
        forget_pages(self.file, written=True)
        self.published.count(self.config, self.split, group)


def canonical(table: pa.Table) -> pa.Table:
    """``table`` in one chunk, as read back from arrow IPC: one buffer layout (validity bitmaps only
    where there are nulls) whatever batches, slices or copies its rows came through, so that its byte
    size (the card's ``num_bytes``) depends on its rows alone."""
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table.combine_chunks())
    return ipc.open_stream(sink.getvalue()).read_all()


def write_table(out: Path, config: str, split: str, table: pa.Table, published: Published) -> None:
    """A table held whole (the claim pairs; every config of a build held in memory), as a data file."""
    rows = RowGroups(data_file(out, config, split), config, split, published)
    rows.add(table)
    rows.close()


def write_tables(tables: Tables, out: Path) -> Published:
    """Every config of a build held in memory, as data files under ``out``."""
    published = Published(tokens_cut=tables.tokens_cut)
    for config, by_split in tables.tables.items():
        for split, table in by_split.items():
            write_table(out, config, split, table, published)
    return published


# ---------------------------------------------------------------------------------------------
# rows met in export order, published in manifest order


SPILL_OPTIONS = ipc.IpcWriteOptions(compression="lz4")
Where = tuple[str, str]  # (config, split)


@dataclass(frozen=True)
class _Run:
    """Where a document's rows are: a block of a spill file (offset, size), a batch in it, its rows."""

    block: tuple[int, int]
    batch: int
    offset: int
    length: int


@dataclass
class Packed:
    """A part's rows as the worker that built them hands them over: per config and split, one
    compressed arrow IPC stream, and each document's (batch, first row, rows) in it."""

    streams: dict[Where, bytes]
    runs: dict[Where, list[tuple[str, int, int, int]]]
    claims: dict
    topics: dict
    tokens_cut: int


def pack(part: TablePart) -> Packed:
    """Serialise and compress a part's batches where they were built (in a worker, in parallel)."""
    streams: dict[Where, bytes] = {}
    runs: dict[Where, list[tuple[str, int, int, int]]] = {}
    for config, by_split in part.batches.items():
        for split, batches in by_split.items():
            if not batches:
                continue
            sink = pa.BufferOutputStream()
            with ipc.new_stream(sink, batch_schema(config), options=SPILL_OPTIONS) as writer:
                for batch in batches:
                    writer.write_batch(batch)
            streams[(config, split)] = sink.getvalue().to_pybytes()
            runs[(config, split)] = [
                (doc, n, start, length)
                for n, batch in enumerate(batches)
                for doc, start, length in _doc_runs(batch.column(ROW_DOCUMENT[config]).to_pylist())
            ]
    return Packed(streams, runs, part.claims, part.topics, part.tokens_cut)


def _doc_runs(keys: list[str]) -> Iterator[tuple[str, int, int]]:
    """(document, first row, rows) of each run of a batch's rows (a document's rows are consecutive)."""
    start = 0
    for k in range(1, len(keys) + 1):
        if k == len(keys) or keys[k] != keys[start]:
            yield keys[start], start, k - start
            start = k


class Spill:
    """The documents and tokens configs of a build, spilled as they arrive, written in manifest order.

    Each part's rows come as compressed IPC streams (``pack``), appended as blocks to a file per
    config and split; ``write`` reads each document's block back in manifest order.
    """

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.files: dict[Where, object] = {}  # the spill files' handles, appended to
        self.blocks: Counter = Counter()  # (config, split) -> blocks spilled
        self.runs: dict[Where, dict[str, _Run]] = {}  # (config, split) -> document -> its rows
        self.claims: dict = {}
        self.topics: dict = {}
        self.tokens_cut = 0

    def add(self, part: Packed) -> None:
        """Spill a part's rows."""
        for where, stream in part.streams.items():
            if where not in self.files:
                self.files[where] = open(self._path(*where), "wb")  # noqa: SIM115 (closed in ``write``)
                self.runs[where] = {}
            file = self.files[where]
            block = (file.tell(), len(stream))
            file.write(stream)
            runs = self.runs[where]
            for doc, batch, start, length in part.runs[where]:
                runs[doc] = _Run(block, batch, start, length)
            self.blocks[where] += 1
            if self.blocks[where] % FORGET_EVERY == 0:
                forget_pages(file, written=True)
        self.claims.update(part.claims)
        self.topics.update(part.topics)
        self.tokens_cut += part.tokens_cut

    def write(self, out: Path, order: Iterable[str], published: Published) -> None:
        """Write the spilled configs into ``out``, each split's documents in ``order``."""
        order = list(order)
        for file in self.files.values():
            forget_pages(file, written=True)
            file.close()

        def write_one(config: str, split: str) -> None:
            rows = RowGroups(data_file(out, config, split), config, split, published)
            for table in self._in_order(config, split, order):
                rows.add(table)
            rows.close()
            self._path(config, split).unlink()  # and its pages in the cache with it

        # one thread per data file: arrow casts, encodes and compresses without the interpreter lock
        with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
            for done in [pool.submit(write_one, *where) for where in sorted(self.files)]:
                done.result()
        published.tokens_cut += self.tokens_cut

    def _path(self, config: str, split: str) -> Path:
        return self.scratch / f"{config}-{split}.arrows"

    def _in_order(self, config: str, split: str, order: list[str]) -> Iterator[pa.Table]:
        """The split's rows in ``order``: consecutive documents of one spilled batch as one slice.

        A slice that leaves part of its batch behind is copied, so that rows held for a row group
        never keep whole batches alive (an export in random order would otherwise hold them all).
        """
        runs = self.runs[(config, split)]
        with open(self._path(config, split), "rb") as source:
            read = 0
            block, batches = None, []
            batch, at, start, end = None, None, 0, 0
            for run in (runs[doc] for doc in order if doc in runs):
                if (run.block, run.batch) == at and run.offset == end:
                    end += run.length
                    continue
                if batch is not None:
                    yield _row_slice(batch, start, end)
                if run.block != block:  # in an export in manifest order, each block is read once
                    block, batches = run.block, []
                    source.seek(block[0])
                    batches = list(ipc.open_stream(source.read(block[1])))
                    read += 1
                    if read % FORGET_EVERY == 0:
                        forget_pages(source)
                batch, at = batches[run.batch], (run.block, run.batch)
                start, end = run.offset, run.offset + run.length
            if batch is not None:
                yield _row_slice(batch, start, end)


def _row_slice(batch: pa.RecordBatch, start: int, end: int) -> pa.Table:
    rows = pa.Table.from_batches([batch.slice(start, end - start)])
    return rows if end - start == batch.num_rows else rows.take(pa.array(range(end - start), pa.int64()))
