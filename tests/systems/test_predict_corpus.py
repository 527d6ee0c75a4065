"""Pre-annotating a corpus: the same bytes from JSON Lines and parquet and from one or two processes, a file
the predictions validator and the JSON Schema accept, and bad input refused with nothing written."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import REPO
from typer.testing import CliRunner

from crossclaim.cli import app
from crossclaim.dataset.gold import load_gold
from crossclaim.errors import InputError
from crossclaim.formats.corpus import check_corpus, corpus_document
from crossclaim.formats.predictions import SCHEMA_FILE, Predictions, read_predictions, tag_layers_of
from crossclaim.schema.records import Document, Span
from crossclaim.systems.base import System, TrainingSet
from crossclaim.systems.corpus import BATCH_SIZE, BatchPredictor, predict_corpus

runner = CliRunner()


def corpus_rows() -> list[dict]:
    """Real news text (the gold documents cut into pieces, four times over under new ids: more than two
    batches, with claims the regex baseline flags as contradicting one another) and the awkward cases."""
    rows = []
    for _ in range(4):
        for doc in sorted(load_gold(REPO / "annotations").docs, key=lambda d: d.id):
            for k in range(0, len(doc.text), 700):
                rows.append({"id": f"web-{len(rows):04d}", "text": doc.text[k : k + 700]})
    rows += [
        {"id": "astral 🚗", "text": "小米 🚗 could sell 10,000 cars\u2028in May 2025."},
        {"id": "empty", "text": ""},
    ]
    return rows


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, Path, list[dict]]:
    tmp = tmp_path_factory.mktemp("corpus")
    rows = corpus_rows()
    jsonl = tmp / "corpus.jsonl"
    jsonl.write_text("".join(json.dumps(r | {"crawled": "2025-07-01"}) + "\n" for r in rows), encoding="utf-8")
    parquet = tmp / "corpus.parquet"
    pq.write_table(pa.table({"text": [r["text"] for r in rows], "id": [r["id"] for r in rows]}), parquet)
    return jsonl, parquet, rows


def predict(*args: str) -> object:
    return runner.invoke(app, ["predict", *args, "--root", str(REPO)])


def test_json_lines_and_parquet_and_one_or_two_processes_give_the_same_bytes(corpus, tmp_path: Path) -> None:
    jsonl, parquet, rows = corpus
    outputs = []
    for source, procs in ((jsonl, "1"), (jsonl, "2"), (parquet, "1"), (parquet, "2")):
        out = tmp_path / f"{source.suffix}-{procs}.jsonl"
        result = predict("regex", str(source), "-o", str(out), "--num-proc", procs)
        assert result.exit_code == 0, result.output
        outputs.append(out.read_bytes())
    assert len(set(outputs)) == 1
    lines = outputs[0].decode("utf-8").split("\n")
    assert lines[-1] == "" and [json.loads(line)["document_id"] for line in lines[:-1]] == [r["id"] for r in rows]
    assert len(rows) > 2 * BATCH_SIZE and any(json.loads(line)["figures"] for line in lines[:-1])
    # the regex baseline compares the claims of one call: fixed batches keep that independent of --num-proc
    assert any('"contradictory": true' in line for line in lines)


def test_the_output_passes_the_predictions_validator_and_the_json_schema(corpus, tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonl, _, rows = corpus
    out = tmp_path / "p.jsonl"
    assert predict("regex", str(jsonl), "-o", str(out), "--num-proc", "2").exit_code == 0
    docs = [corpus_document(r["id"], r["text"]) for r in rows]
    preds = read_predictions(out, docs, [])  # offsets, labels, the text of every span against its document
    assert set(preds.spans) == {r["id"] for r in rows} and preds.pairs == {}
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    for line in out.read_text(encoding="utf-8").split("\n")[:-1]:
        jsonschema.validate(json.loads(line), schema)


class Memorised(System):
    """A learned toy: marks every ORG string seen in training. Unfitted it marks nothing, so a worker
    that did not receive the trained model would give different output."""

    name = "memorised"
    learned = True
    layers = tag_layers_of({"entities"}, contradictory=False)

    def __init__(self) -> None:
        self.orgs: list[str] = []

    def fit(self, train: TrainingSet) -> None:
        self.orgs = sorted({s.text for spans in train.spans.values() for s in spans if s.label == "ORG"})

    def predict(self, docs: list[Document], queries: list) -> Predictions:
        spans = {}
        for d in docs:
            found, at = [], 0
            for org in self.orgs:
                while (at := d.text.find(org, at)) >= 0:
                    found.append(Span("entities", f"e{at}", at, at + len(org), org, "ORG"))
                    at += len(org)
                at = 0
            spans[d.id] = sorted({(s.start, s.end): s for s in found}.values(), key=lambda s: s.start)
        return Predictions({d: _flat(s) for d, s in spans.items()}, self.layers)


def _flat(spans: list[Span]) -> list[Span]:
    out: list[Span] = []
    for s in spans:
        if not out or s.start >= out[-1].end:
            out.append(s)
    return out


def test_a_trained_model_reaches_the_worker_processes_and_progress_reaches_the_parent(corpus, tmp_path: Path) -> None:
    jsonl, _, rows = corpus
    system = Memorised()
    system.fit(TrainingSet([], {"d": [Span("entities", "e", 0, 6, "Xiaomi", "ORG")]}))
    texts = []
    for procs in (1, 2):
        ticks: list[int] = []
        out = tmp_path / f"m{procs}.jsonl"
        assert predict_corpus(system, "memorised", check_corpus(jsonl), out, procs, ticks.append) == len(rows)
        assert sum(ticks) == len(rows)
        texts.append(out.read_text(encoding="utf-8"))
    assert texts[0] == texts[1] and '"text": "Xiaomi"' in texts[0]


def test_the_model_is_pickled_once_and_unpickled_in_a_worker() -> None:
    system = Memorised()
    system.orgs = ["BYD"]
    predictor = BatchPredictor(system, "memorised")
    copy = pickle.loads(pickle.dumps(predictor))
    assert copy.blob is not None and copy._system is None
    got = copy({"id": ["x"], "text": ["BYD and BYD"]})
    assert got["problems"] == [""] and json.loads(got["line"][0])["entities"][1]["start"] == 8


class OutOfRange(System):
    name = "broken"
    layers = tag_layers_of({"entities"}, contradictory=False)

    def predict(self, docs: list[Document], queries: list) -> Predictions:
        return Predictions({d.id: [Span("entities", "e", 0, len(d.text) + 5, "", "ORG")] for d in docs}, self.layers)


@pytest.mark.parametrize("procs", [1, 2])
def test_a_system_writing_a_bad_span_is_named_and_nothing_is_written(corpus, tmp_path: Path, procs: int) -> None:
    jsonl, _, rows = corpus
    out = tmp_path / "p.jsonl"
    out.write_text("before\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        predict_corpus(OutOfRange(), "broken", check_corpus(jsonl), out, procs)
    first = f"system broken on corpus document '{rows[0]['id']}', line 1, field entities[0].start/end: offsets"
    assert exc.value.lines()[0].startswith(first)
    assert out.read_text(encoding="utf-8") == "before\n" and sorted(p.name for p in tmp_path.iterdir()) == ["p.jsonl"]


def test_bad_corpus_input_exits_2_with_no_traceback_and_nothing_written(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "x"}\n{"id": "a", "text": ["x"]}\n', encoding="utf-8")
    out = tmp_path / "p.jsonl"
    out.write_text("before\n", encoding="utf-8")
    result = predict("regex", str(bad), "-o", str(out))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"error: {bad}, line 2, field text: must be a string, got a list" in result.output
    assert f"error: {bad}, line 2, field id: duplicate id 'a' (first on line 1)" in result.output
    assert out.read_text(encoding="utf-8") == "before\n" and sorted(p.name for p in tmp_path.iterdir()) == [
        "bad.jsonl",
        "p.jsonl",
    ]


def test_options_that_do_not_apply_are_refused(corpus, tmp_path: Path) -> None:
    jsonl, _, _ = corpus
    out = str(tmp_path / "p.jsonl")
    split = predict("regex", str(jsonl), "-o", out, "--split", "test")
    assert split.exit_code == 2 and "--split: applies to the dataset" in split.output
    procs = predict("regex", "-o", out, "--num-proc", "2")
    assert procs.exit_code == 2 and "--num-proc: applies to a corpus INPUT" in procs.output
    itself = predict("regex", str(jsonl), "-o", str(jsonl))
    assert itself.exit_code == 2 and "is the corpus INPUT itself" in itself.output
    assert not (tmp_path / "p.jsonl").exists()
