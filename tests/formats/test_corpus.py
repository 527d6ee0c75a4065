"""A corpus of {id, text} records: JSON Lines and parquet checked alike, every fault named."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossclaim.errors import InputError
from crossclaim.formats.corpus import JSON, MAX_PROBLEMS, PARQUET, check_corpus, corpus_document


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(InputError) as exc:
        check_corpus(path)
    return exc.value.lines()


def test_a_corpus_is_checked_alike_as_json_lines_and_parquet(tmp_path: Path) -> None:
    rows = [{"id": "a", "text": "Xiaomi could 🚗\u2028 earn", "url": "https://example.org"}, {"id": "b", "text": ""}]
    jsonl = check_corpus(write_jsonl(tmp_path / "c.jsonl", rows))
    pq.write_table(pa.table({"id": ["a", "b"], "text": [r["text"] for r in rows]}), tmp_path / "c.parquet")
    parquet = check_corpus(tmp_path / "c.parquet")
    assert (jsonl.kind, jsonl.records) == (JSON, 2) and (parquet.kind, parquet.records) == (PARQUET, 2)


def test_bad_json_lines_records_are_named_by_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(
        '{"id": "a", "text": "x"}\n\n{"text": "y"}\n{"id": "a", "text": 3}\n{"id": 5}\n'
        '{"id": " ", "text": "z"}\nnot json\n[1]\n{"id": "b", "id": "c", "text": "t"}\n',
        encoding="utf-8",
    )
    assert problems(path) == [
        f"{path}, line 3, field id: missing (a corpus record is {{id, text}})",
        f"{path}, line 4, field text: must be a string, got an integer 3",
        f"{path}, line 4, field id: duplicate id 'a' (first on line 1)",
        f"{path}, line 5, field id: must be a string, got an integer 5",
        f"{path}, line 5, field text: missing (a corpus record is {{id, text}})",
        f"{path}, line 6, field id: is empty or white space: every record needs an id",
        f"{path}, line 7, column 1: not valid JSON (truncated or malformed): Expecting value",
        f"{path}, line 8: must be a JSON object {{id, text}}, got a list",
        f"{path}, line 9: duplicate key 'id' in one object (the last value would silently win)",
    ]


def test_bad_parquet_records_are_named_by_record_and_column(tmp_path: Path) -> None:
    path = tmp_path / "c.parquet"
    pq.write_table(pa.table({"id": ["a", "b", "a", None], "text": ["x", None, "y", "z"]}), path)
    assert problems(path) == [
        f"{path}, record 2, field text: must be a string, got null",
        f"{path}, record 3, field id: duplicate id 'a' (first on record 1)",
        f"{path}, record 4, field id: must be a string, got null",
    ]
    pq.write_table(pa.table({"id": ["a"], "text": [3]}), path)
    assert problems(path) == [f"{path}, column text: must hold strings, holds int64"]
    pq.write_table(pa.table({"id": ["a"], "body": ["x"]}), path)
    assert problems(path) == [f"{path}, column text: missing (a corpus needs columns id and text; has ['id', 'body'])"]


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"id,text\na,b\n", "line 1 is not JSON"),
        (b'[{"id": "a", "text": "b"}]\n', "line 1 is a list, not an object"),
        (b"\xff\xfe\x00\x01", "line 1 is not UTF-8 text"),
        (b"PAR1 and then no parquet at all", "it starts like parquet but pyarrow cannot read it"),
    ],
)
def test_a_file_that_is_neither_json_lines_nor_parquet_is_said_so(tmp_path: Path, content: bytes, why: str) -> None:
    path = tmp_path / "corpus.bin"
    path.write_bytes(content)
    (line,) = problems(path)
    assert line.startswith(f"{path}: is neither JSON Lines nor parquet: {why}")


def test_empty_files_directories_and_a_byte_order_mark_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_bytes(b"\n\n")
    assert problems(tmp_path / "empty.jsonl") == [
        f"{tmp_path / 'empty.jsonl'}: holds no records: a corpus needs at least one {{id, text}} record"
    ]
    assert problems(tmp_path) == [f"{tmp_path}: is a directory, not a corpus file"]
    (tmp_path / "bom.jsonl").write_bytes(b'\xef\xbb\xbf{"id": "a", "text": "b"}\n')
    assert problems(tmp_path / "bom.jsonl")[0].endswith("starts with a byte-order mark: save it as UTF-8 without BOM")


def test_a_wholly_wrong_file_is_said_in_a_screenful(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "c.jsonl", [{"id": "a", "text": "x"}] + [{"id": i} for i in range(1000)])
    lines = problems(path)
    assert len(lines) == MAX_PROBLEMS + 1 and lines[-1] == f"...: {2000 - MAX_PROBLEMS:,} more problems not shown"


def test_long_ids_are_cut_in_messages(tmp_path: Path) -> None:
    long = "x" * 10_000
    path = write_jsonl(tmp_path / "c.jsonl", [{"id": long, "text": "a"}, {"id": long, "text": "b"}])
    (line,) = problems(path)
    assert "(10,000 characters)" in line and len(line) < 250


def test_a_corpus_document_is_its_whole_text_with_no_date_or_split() -> None:
    doc = corpus_document("web-1", "Lei Jun said")
    assert (doc.id, doc.text, doc.slice_end, doc.publication_date, doc.split) == ("web-1", "Lei Jun said", 12, None, "")


records = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c", "d", "e", "f", "g", "h"]), st.text(max_size=20)), min_size=1, max_size=8
)


@settings(max_examples=40, deadline=None)
@given(rows=records)
def test_duplicates_are_found_exactly_when_there_are_some_in_either_format(tmp_path_factory, rows) -> None:
    tmp = tmp_path_factory.mktemp("corpus")
    ids = [i for i, _ in rows]
    jsonl = write_jsonl(tmp / "c.jsonl", [{"id": i, "text": t} for i, t in rows])
    pq.write_table(pa.table({"id": ids, "text": [t for _, t in rows]}), tmp / "c.parquet")
    for path in (jsonl, tmp / "c.parquet"):
        if len(set(ids)) == len(ids):
            assert check_corpus(path).records == len(rows)
        else:
            assert all("duplicate id" in line for line in problems(path))
