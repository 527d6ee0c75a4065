"""A corpus to pre-annotate: ``{id, text}`` records outside the dataset, as JSON Lines or parquet.

The file is checked in one streaming pass before any system runs (a line at a time for JSON Lines, a
record batch at a time for parquet; only the ids are held, to find duplicates), so a crawl of any size
is refused with the line or record and field of every fault before anything is trained or written.
Other fields of a record (a URL, a crawl date) are allowed and ignored. A corpus document is not a
document of the dataset: it has no manifest entry, no split and no gold (``crossclaim ingest`` makes one).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from crossclaim.errors import InputError, Problems, shown
from crossclaim.formats.jsonio import described, json_line, json_type
from crossclaim.schema.records import Document

ID, TEXT = "id", "text"
FIELDS = (ID, TEXT)
JSON, PARQUET = "json", "parquet"  # the names of the ``datasets`` builders that load each kind
PARQUET_MAGIC = b"PAR1"
MAX_PROBLEMS = 50  # a wholly wrong file is said in a screenful, not in a million lines
_BATCH = 8192  # parquet records checked at a time


@dataclass(frozen=True)
class Corpus:
    """A checked corpus file: every record has a unique string ``id`` and a string ``text``."""

    path: Path
    kind: str  # JSON or PARQUET
    records: int


def corpus_document(doc_id: str, text: str) -> Document:
    """A corpus record as the ``Document`` a system reads: the whole text, no date, no split."""
    return Document(
        id=doc_id,
        source_file="",
        sha256="",
        slice_start=0,
        slice_end=len(text),
        publisher=None,
        headline=None,
        authors=(),
        publication_date=None,
        date_source="not given (a corpus record)",
        split="",
        text=text,
    )


def check_corpus(path: Path) -> Corpus:
    """Check a corpus file in one streaming pass; InputError names file, line or record, and field."""
    try:
        if path.is_dir():
            raise InputError(str(path), "is a directory, not a corpus file")
        with path.open("rb") as fh:
            head = fh.read(len(PARQUET_MAGIC))
        kind = PARQUET if head == PARQUET_MAGIC else JSON
        problems = _Capped()
        records = _check_parquet(path, problems) if kind == PARQUET else _check_jsonl(path, problems)
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror or exc}") from None
    problems.raise_any()
    if records == 0:
        raise InputError(str(path), "holds no records: a corpus needs at least one {id, text} record")
    return Corpus(path, kind, records)


class _Capped(Problems):
    """A collector keeping ``MAX_PROBLEMS`` problems and counting the rest (memory stays flat)."""

    def __init__(self) -> None:
        super().__init__()
        self.more = 0

    def add(self, where: str, what: str) -> None:
        if len(self) < MAX_PROBLEMS:
            super().add(where, what)
        else:
            self.more += 1

    def raise_any(self) -> None:
        if self.more:
            super().add("...", f"{self.more:,} more problems not shown")
        InputError.collect(self)


def _neither(path: Path, why: str) -> InputError:
    return InputError(str(path), f"is neither JSON Lines nor parquet: {why}")


def _check_jsonl(path: Path, problems: _Capped) -> int:
    seen: dict[str, int] = {}
    records = 0
    with path.open("rb") as fh:
        for n, raw in enumerate(fh, start=1):  # binary lines end at b"\n" only, as JSON Lines do
            here = f"{path}, line {n}"
            if n == 1 and raw.startswith(codecs.BOM_UTF8):
                raise InputError(here, "starts with a byte-order mark: save it as UTF-8 without BOM")
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                if not records:
                    raise _neither(path, f"line {n} is not UTF-8 text") from None
                problems.add(here, f"not UTF-8: byte 0x{raw[exc.start]:02x} at byte {exc.start + 1} of the line")
                continue
            if not line.strip():
                continue
            try:
                row = json_line(line, here)
            except InputError as exc:
                if not records:
                    raise _neither(path, f"line {n} is not JSON ({exc.problems[0][1]})") from None
                problems.add(*exc.problems[0])
                continue
            if not isinstance(row, dict):
                if not records:
                    raise _neither(path, f"line {n} is {json_type(row)}, not an object {{id, text}}")
                problems.add(here, f"must be a JSON object {{id, text}}, got {json_type(row)}")
                continue
            records += 1
            _record(row.get(ID), row.get(TEXT), set(row), here, "line", n, seen, problems)
    return records


def _check_parquet(path: Path, problems: _Capped) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        schema = pf.schema_arrow
    except (pa.ArrowException, OSError) as exc:
        raise _neither(path, f"it starts like parquet but pyarrow cannot read it ({shown(str(exc))})") from None
    for name in FIELDS:
        if name not in schema.names:
            raise InputError(
                f"{path}, column {name}", f"missing (a corpus needs columns id and text; has {shown(schema.names)})"
            )
        t = schema.field(name).type
        if not (pa.types.is_string(t) or pa.types.is_large_string(t)):
            raise InputError(f"{path}, column {name}", f"must hold strings, holds {t}")
    seen: dict[str, int] = {}
    n = 0
    try:
        for batch in pf.iter_batches(batch_size=_BATCH, columns=list(FIELDS)):
            for doc_id, null in zip(batch.column(0).to_pylist(), batch.column(1).is_null().to_pylist()):
                n += 1
                _record(doc_id, None if null else "", set(FIELDS), f"{path}, record {n}", "record", n, seen, problems)
    except pa.ArrowException as exc:
        raise InputError(f"{path}, record {n + 1}", f"pyarrow cannot read it ({shown(str(exc))})") from None
    return n


def _record(
    doc_id: object, text: object, keys: set, here: str, unit: str, n: int, seen: dict[str, int], problems: _Capped
) -> None:
    """Check one record's id and text (``text`` is only type-checked: a parquet text is never read here)."""
    for name, value in ((ID, doc_id), (TEXT, text)):
        if name not in keys:
            problems.add(f"{here}, field {name}", "missing (a corpus record is {id, text})")
        elif not isinstance(value, str):
            problems.add(f"{here}, field {name}", f"must be a string, got {described(value)}")
    if not isinstance(doc_id, str):
        return
    if not doc_id.strip():
        problems.add(f"{here}, field {ID}", "is empty or white space: every record needs an id")
    elif doc_id in seen:
        problems.add(f"{here}, field {ID}", f"duplicate id {shown(doc_id)} (first on {unit} {seen[doc_id]})")
    else:
        seen[doc_id] = n


def iter_records(corpus: Corpus) -> Iterator[tuple[str, str]]:
    """``(id, text)`` of every record of a checked corpus, in file order, one batch in memory at a time."""
    if corpus.kind == PARQUET:
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(corpus.path).iter_batches(batch_size=_BATCH, columns=list(FIELDS)):
            yield from zip(batch.column(0).to_pylist(), batch.column(1).to_pylist())
        return
    with corpus.path.open("rb") as fh:
        for n, raw in enumerate(fh, start=1):
            line = raw.decode("utf-8")
            if line.strip():
                row = json_line(line, f"{corpus.path}, line {n}")
                yield row[ID], row[TEXT]
