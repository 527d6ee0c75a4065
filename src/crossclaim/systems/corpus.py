"""Pre-annotating a corpus: a trained system over ``{id, text}`` records, a batch at a time, on N processes.

``BatchPredictor`` is the unit of work: a batch of records (columns ``id`` and ``text``) in, one
predictions line per record out, each line checked by the predictions validator. Here it runs through
``datasets.Dataset.map`` over the corpus loaded memory-mapped by ``datasets.load_dataset`` (the corpus
is never in memory; the Arrow copy and the map's output live in a temporary directory beside the
output file), with ``num_proc`` worker processes; the same callable runs unchanged as a Ray
``map_batches`` or a Spark ``mapInPandas`` step (see the README). The trained system is pickled once,
in the parent; each worker unpickles it once per shard.

A system may compare the documents of one call (the regex baseline flags a claim that contradicts a
claim of another document), so batches are fixed before the work is shared out: records 1-64, 65-128,
... become one row each, and the workers map whole rows. Lines come out in corpus order, and the same
bytes whatever the number of processes.
"""

from __future__ import annotations

import contextlib
import json
import pickle
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from crossclaim.errors import InputError, shown
from crossclaim.files import atomic_file
from crossclaim.formats.corpus import FIELDS, ID, PARQUET, TEXT, Corpus, corpus_document
from crossclaim.formats.predictions import parse_predictions, to_jsonl
from crossclaim.systems.base import System

LINE, PROBLEMS = "line", "problems"
IDS, TEXTS = "ids", "texts"  # a row holding one fixed batch
BATCH_SIZE = 64  # documents per call of the system: small enough for a smooth bar, large enough to amortise


class BatchPredictor:
    """A trained system as a batch function: ``{"id": [...], "text": [...]}`` -> ``{"line", "problems"}``.

    A bad span from a system (a plug-in's offsets out of range, say) becomes one row whose ``problems``
    holds the validator's messages (JSON), so it crosses process boundaries as data and the parent
    reports it; every other row has ``problems`` empty.
    """

    def __init__(self, system: System, name: str) -> None:
        self.name = name
        self.blob = pickle.dumps(system, protocol=pickle.HIGHEST_PROTOCOL)  # once, whatever the workers
        self._system: System | None = system

    def __getstate__(self) -> dict:
        return {"name": self.name, "blob": self.blob}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._system = None

    @property
    def system(self) -> System:
        if self._system is None:
            self._system = pickle.loads(self.blob)
        return self._system

    def __call__(self, batch: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
        docs = [corpus_document(i, t) for i, t in zip(batch[ID], batch[TEXT])]
        text = to_jsonl(self.system.predict(docs, []), docs, [])
        lines = text.split("\n")[:-1]  # to_jsonl ends every line with "\n"; U+2028 inside strings stays
        for doc, line in zip(docs, lines):
            try:
                parse_predictions(line, f"system {self.name} on corpus document {shown(doc.id)}", [doc], [])
            except InputError as exc:
                return {LINE: [""], PROBLEMS: [json.dumps(exc.problems)]}
        return {LINE: lines, PROBLEMS: [""] * len(lines)}

    def batches(self, rows: Mapping[str, Sequence[Sequence[str]]]) -> dict[str, list[str]]:
        """Rows that each hold one fixed batch (``ids``, ``texts``) -> the lines of all of them, in order."""
        out: dict[str, list[str]] = {LINE: [], PROBLEMS: []}
        for ids, texts in zip(rows[IDS], rows[TEXTS]):
            got = self({ID: ids, TEXT: texts})
            out[LINE] += got[LINE]
            out[PROBLEMS] += got[PROBLEMS]
        return out


def _fixed_batches(rows: Mapping[str, Sequence[str]]) -> dict[str, list[list[str]]]:
    return {IDS: [list(rows[ID])], TEXTS: [list(rows[TEXT])]}


def predict_corpus(
    system: System,
    name: str,
    corpus: Corpus,
    output: Path,
    num_proc: int = 1,
    advance: Callable[[int], None] = lambda n: None,
) -> int:
    """Write the predictions file of a trained ``system`` on a checked corpus; the number of lines.

    ``output`` is written beside itself and renamed into place: a failure leaves it as it was.
    ``advance(n)`` is called as records are done (from the parent, whatever the number of workers).
    """
    import datasets

    predictor = BatchPredictor(system, name)
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=f".{output.name}.") as work:
        with _quiet(lambda n: None):
            ds = _load(corpus, Path(work))
            rows = ds.map(  # one row per fixed batch, so the workers' shards never cut a batch
                _fixed_batches,
                batched=True,
                batch_size=BATCH_SIZE,
                remove_columns=ds.column_names,
                new_fingerprint="crossclaim-fixed-batches",
                load_from_cache_file=False,
            )
        done = 0

        def rows_done(n: int) -> None:  # the map counts rows (batches); the bar counts records
            nonlocal done
            before = min(done * BATCH_SIZE, corpus.records)
            done += n
            advance(min(done * BATCH_SIZE, corpus.records) - before)

        with _quiet(rows_done):
            out = rows.map(
                predictor.batches,
                batched=True,
                batch_size=1,
                num_proc=min(num_proc, len(rows)) if num_proc > 1 else None,
                remove_columns=rows.column_names,
                features=datasets.Features({LINE: datasets.Value("string"), PROBLEMS: datasets.Value("string")}),
                new_fingerprint=f"crossclaim-predict-{num_proc}",  # the function is never hashed (it holds a model)
                load_from_cache_file=False,
            )
        return _write(out, output)


def _load(corpus: Corpus, cache: Path):
    """The corpus as a memory-mapped ``datasets.Dataset`` of its ``id`` and ``text`` columns, in file order."""
    import datasets
    import pyarrow as pa

    extra = {"columns": list(FIELDS)} if corpus.kind == PARQUET else {}
    try:
        ds = datasets.load_dataset(
            corpus.kind, data_files=[str(corpus.path.resolve())], split="train", cache_dir=str(cache), **extra
        )
    except (pa.ArrowException, datasets.exceptions.DatasetGenerationError, ValueError, TypeError) as exc:
        # a field besides id and text that pyarrow cannot type, say: checked records, still no traceback
        cause = exc.__cause__ or exc
        raise InputError(str(corpus.path), f"datasets cannot load it: {shown(str(cause))}") from None
    return ds.select_columns(list(FIELDS))


def _write(out, output: Path) -> int:
    n = 0
    with atomic_file(output) as fh:
        for batch in out.with_format("arrow").iter(batch_size=4096):
            problems = [p for p in batch.column(PROBLEMS).to_pylist() if p]
            if problems:
                found = [tuple(p) for p in json.loads(problems[0])]
                raise InputError(*found[0], more=found[1:])
            lines = batch.column(LINE).to_pylist()
            fh.write("".join(line + "\n" for line in lines).encode("utf-8"))
            n += len(lines)
    return n


@contextlib.contextmanager
def _quiet(advance: Callable[[int], None]) -> Iterator[None]:
    """``datasets`` without its own bars and logs; the map's progress, which every worker reports to the
    parent through the bar ``Dataset.map`` opens, is routed to ``advance``."""
    import datasets
    import datasets.arrow_dataset as arrow_dataset

    class Ticks:
        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def __enter__(self) -> Ticks:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def update(self, n: int = 1) -> None:
            advance(n)

    bars = datasets.utils.are_progress_bars_disabled()
    verbosity = datasets.logging.get_verbosity()
    saved = arrow_dataset.hf_tqdm
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    arrow_dataset.hf_tqdm = Ticks
    try:
        yield
    finally:
        arrow_dataset.hf_tqdm = saved
        datasets.logging.set_verbosity(verbosity)
        if not bars:
            datasets.enable_progress_bars()
