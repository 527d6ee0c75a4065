"""The data files: rows that come in any order, written as parquet in manifest order, in bounded memory.

Each worker spills its part's record batches to arrow files (``spill``); the ``Sink`` keeps where each
document's rows are and ``Sink.write`` reads them back (memory-mapped) in manifest order as row groups of
a fixed number of rows, a thread per data file. So the published bytes depend neither on the export's
order nor on its parts, and a build holds a row group at a time. The card's counts are taken off the row
groups as they are written (``Published``).
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

from crossclaim.dataset.tables import ROW_DOCUMENT, Batches, arrow_schema, batch_schema
from crossclaim.scale import forget_pages
from crossclaim.schema.scheme import CONFIGS, LAYERS, PAIR_LABELS, Attribute, attributes_of

# Rows per row group: about ten megabytes of arrow data each. Fixed, so that the bytes of a
# data file depend only on its rows; the small corpus fits in one row group per file.
ROW_GROUP = {"documents": 512, "tokens": 16384, "claim_pairs": 16384}
PARQUET = {"compression": "zstd", "use_dictionary": False, "write_statistics": False}


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
                contradicts = table.filter(pc.equal(table.column("label"), PAIR_LABELS.index("CONTRADICTS")))
                self.contradicts.setdefault(split, []).extend(  # the two claims (document, claim id) of each
                    tuple((p[side]["document_id"], p[side]["claim_id"]) for side in ("claim_a", "claim_b"))
                    for p in contradicts.select(["claim_a", "claim_b"]).to_pylist()
                )


def write_file(out: Path, config: str, split: str, tables: Iterable[pa.Table], published: Published) -> None:
    """The rows of a config's split, as its data file in ``out``: row groups of ``ROW_GROUP[config]`` rows,
    each cast to the published schema (tag ids were one byte each while the build held them) and made
    ``canonical`` before it is counted. An empty split gets no file (an empty parquet file cannot be loaded)."""
    path, schema, size = out / config / f"{split}-00000-of-00001.parquet", arrow_schema(config), ROW_GROUP[config]
    writer = None
    for rows in _row_groups(tables, size):
        group = canonical(rows.cast(schema) if rows.schema != schema else rows)
        if writer is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            writer = pq.ParquetWriter(path, schema, **PARQUET)
        writer.write_table(group, row_group_size=size)
        published.count(config, split, group)
    if writer is not None:
        writer.close()
        published.files.append(path)


def _row_groups(tables: Iterable[pa.Table], size: int) -> Iterator[pa.Table]:
    """The rows of ``tables`` cut into tables of ``size`` rows, the last one shorter."""
    pending: list[pa.Table] = []
    held = 0
    for rows in tables:
        pending.append(rows)
        held += rows.num_rows
        while held >= size:
            table = pa.concat_tables(pending)
            rest = table.slice(size)
            yield table.slice(0, size)
            pending, held = ([rest] if rest.num_rows else []), rest.num_rows
    if held:
        yield pa.concat_tables(pending)


def canonical(table: pa.Table) -> pa.Table:
    """``table`` in one chunk, as read back from arrow IPC: one buffer layout (validity bitmaps only
    where there are nulls) whatever batches, slices or copies its rows came through, so that its byte
    size (the card's ``num_bytes``) depends on its rows alone."""
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table.combine_chunks())
    return ipc.open_stream(sink.getvalue()).read_all()


# ---------------------------------------------------------------------------------------------
# rows met in export order, published in manifest order

SPILL = ipc.IpcWriteOptions(compression="lz4")  # a third of the bytes to write and read back
Where = tuple[str, str]  # (config, split)
Run = tuple[Path, int, int, int]  # a document's rows: spill file, batch in it, first row, rows


def spill(part: Batches, scratch: Path, name: str) -> dict[Where, dict[str, Run]]:
    """Write a part's batches to arrow files in ``scratch`` (named after ``name``); where each document's rows are."""
    runs: dict[Where, dict[str, Run]] = {}
    for config, by_split in part.items():
        for split, batches in by_split.items():
            if not batches:
                continue
            path = scratch / f"{config}-{split}-{name}.arrow"
            with ipc.new_file(path, batch_schema(config), options=SPILL) as writer:
                for batch in batches:
                    writer.write_batch(batch)
            forget_pages(path)
            runs[(config, split)] = {}
            for n, batch in enumerate(batches):  # a document's rows are consecutive: one run each
                docs = pc.run_end_encode(batch.column(ROW_DOCUMENT[config]))
                ends = docs.run_ends.to_pylist()
                for doc, start, end in zip(docs.values.to_pylist(), [0, *ends], ends):
                    runs[(config, split)][doc] = (path, n, start, end - start)
    return runs


class Sink:
    """The documents and tokens configs of a build: where each document's spilled rows are, until
    ``write`` publishes them in manifest order."""

    def __init__(self) -> None:
        self.runs: dict[Where, dict[str, Run]] = {}

    def add(self, runs: dict[Where, dict[str, Run]]) -> None:
        for where, docs in runs.items():
            self.runs.setdefault(where, {}).update(docs)

    def write(self, out: Path, order: list[str], published: Published) -> None:
        """Write the spilled configs into ``out``, each split's documents in ``order``: a thread per data
        file, as arrow casts, encodes and compresses without the interpreter lock."""
        with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
            list(pool.map(lambda w: write_file(out, *w, _in_order(self.runs[w], order), published), sorted(self.runs)))


def _in_order(runs: dict[str, Run], order: list[str]) -> Iterator[pa.Table]:
    """The rows of ``runs`` in ``order``: consecutive documents of one spilled batch as one slice."""
    slices: list[list] = []  # [spill file, batch, first row, end row]
    for path, batch, start, length in (runs[doc] for doc in order if doc in runs):
        if slices and slices[-1][:2] == [path, batch] and slices[-1][3] == start:
            slices[-1][3] += length
        else:
            slices.append([path, batch, start, start + length])
    readers: dict[Path, ipc.RecordBatchFileReader] = {}
    for path, batch, start, end in slices:
        if path not in readers:
            readers[path] = ipc.open_file(pa.memory_map(str(path)))
        yield pa.Table.from_batches([readers[path].get_batch(batch).slice(start, end - start)])
