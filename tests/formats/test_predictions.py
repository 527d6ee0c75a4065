"""Predictions format: round trip, the generated JSON Schema, and one clear refusal per bad line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO, gold_predictions, gold_spans, make_gold, task, write_repo
from typer.testing import CliRunner

from crossclaim.cli import app
from crossclaim.errors import InputError
from crossclaim.formats.predictions import (
    ALL_TAG_LAYERS,
    SCHEMA_FILE,
    Predictions,
    merge,
    parse_predictions,
    require_documents,
    schema_text,
    to_jsonl,
)
from crossclaim.schema.records import Span

BAD = REPO / "tests" / "data" / "bad_predictions"
EXPECTED: dict[str, str] = json.loads((BAD / "expected.json").read_text(encoding="utf-8"))


def key(s: Span) -> tuple:
    return (s.layer, s.start, s.end, s.text, s.label, s.value, s.hedged, s.topic)


def test_gold_round_trips_through_json_lines() -> None:
    gold = make_gold()
    preds = gold_predictions(gold)
    text = to_jsonl(preds, gold.docs, gold.pairs)
    assert text == to_jsonl(preds, gold.docs, gold.pairs)  # deterministic
    back = parse_predictions(text, "gold.jsonl", gold.docs, gold.pairs)
    assert back.layers == ALL_TAG_LAYERS
    assert back.pairs == {p.id: p.label for p in gold.pairs}
    for d in gold.docs:
        assert sorted(map(key, back.spans[d.id])) == sorted(map(key, gold.spans(d.id)))
        texts = {s.text for s in back.spans[d.id] if s.id in back.contradictory[d.id]}
        assert texts == {s.text for s in gold.spans(d.id) if s.id in gold.contradictory().get(d.id, set())}
    first = json.loads(text.splitlines()[0])
    assert set(first) == {"document_id", "entities", "figures", "hedges", "claims", "pairs"}


def test_absent_layers_are_not_scored_and_claim_flags_are_optional() -> None:
    gold = make_gold()
    text = "".join(json.dumps({"document_id": d.id, "hedges": [], "claims": []}) + "\n" for d in gold.docs)
    preds = parse_predictions(text, "p.jsonl", gold.docs, gold.pairs)
    assert preds.layers == {"hedge_tags", "hedged_claim_tags"} and preds.pairs is None
    line = {
        "document_id": "doc-a",
        "claims": [{"start": 0, "end": 6, "label": "CLAIM", "hedged": True, "contradictory": False}],
    }
    flagged = parse_predictions(json.dumps(line), "p.jsonl", gold.docs, gold.pairs)
    assert "contradictory_claim_tags" in flagged.layers


def test_every_split_document_needs_its_line() -> None:
    preds = Predictions({"doc-a": []}, frozenset(), {}, None)
    with pytest.raises(InputError, match="doc-b"):
        require_documents(preds, ["doc-a", "doc-b"], "p.jsonl")


def test_merge_joins_folds() -> None:
    a = Predictions({"d1": []}, frozenset({"entity_tags"}), {}, {"p1": "AGREES"})
    b = Predictions({"d2": []}, frozenset({"hedge_tags"}), {}, None)
    m = merge([a, b])
    assert set(m.spans) == {"d1", "d2"} and m.layers == {"entity_tags", "hedge_tags"} and m.pairs == {"p1": "AGREES"}


def test_committed_schema_is_generated_from_the_scheme() -> None:
    # `crossclaim build` does not write the package's schema, so this is what keeps it current
    assert SCHEMA_FILE.read_bytes() == schema_text().encode("utf-8"), (
        f"{SCHEMA_FILE.name} is stale: run python scripts/predictions_schema.py"
    )


def test_schema_and_validator_agree() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(schema_text())
    gold = make_gold()
    for line in to_jsonl(gold_predictions(gold), gold.docs, gold.pairs).splitlines():
        jsonschema.validate(json.loads(line), schema)
    for name in ("unknown_label.jsonl", "missing_hedged.jsonl", "unknown_field.jsonl", "wrong_type.jsonl"):
        row = json.loads((BAD / name).read_text(encoding="utf-8").splitlines()[0])
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(row, schema)


@pytest.fixture(scope="module")
def fixture_repo(tmp_path_factory) -> Path:
    return write_repo(tmp_path_factory.mktemp("repo"), [task(gold_spans())])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_predictions_are_refused_naming_line_and_field(fixture_repo: Path, name: str) -> None:
    result = CliRunner().invoke(app, ["score", str(BAD / name), "--split", "test", "--root", str(fixture_repo)])
    assert result.exit_code == 2, result.output
    assert EXPECTED[name] in result.output, result.output
    assert "Traceback" not in result.output
    assert len(result.output.splitlines()) == 1, result.output  # one problem, said once


def test_readme_documents_the_format() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "## Predictions format" in readme and "predictions.schema.json" in readme


def test_line_separators_inside_strings_are_valid_and_keep_line_numbers() -> None:
    from conftest import doc

    text = "Lei Jun\u2028said\x85it. BYD\u2029cut prices."
    docs = [doc("d1", text, "test"), doc("d2", "Xiaomi", "test")]
    span = {"start": 0, "end": 12, "label": "PERSON", "text": "Lei Jun\u2028said"}
    lines = [
        json.dumps({"document_id": "d1", "entities": [span]}, ensure_ascii=False),
        json.dumps({"document_id": "d2", "entities": [{"start": 0, "end": 6, "label": "COMPANY"}]}),
    ]
    with pytest.raises(InputError) as caught:
        parse_predictions("\n".join(lines) + "\n", "p.jsonl", docs, [])
    (only,) = caught.value.lines()
    assert only.startswith("p.jsonl, line 2, field entities[0].label: unknown label 'COMPANY'"), only
    preds = parse_predictions(lines[0] + "\n", "p.jsonl", docs, [])
    assert [s.text for s in preds.spans["d1"]] == ["Lei Jun\u2028said"]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('{"document_id": "doc-a", "entities": [], "entities": []}\n', "p.jsonl, line 1: duplicate key 'entities'"),
        ("<html><head><title>Not Found</title></head></html>\n", "p.jsonl: is an HTML page (titled 'Not Found')"),
        (
            '{"document_id": "doc-a", "entities": [{"start": ' + "1" * 5000 + "}]}\n",
            "(5,000 characters) does not fit 64 bits",
        ),
        ('{"document_id": "doc-a", "entities": ' + "[" * 3000 + "]" * 3000 + "}\n", "nested deeper than 64 levels"),
        ('{"document_id": "doc-a"}\n{"document_id": "doc-b", "hedges": [{"sta', "line 2, column 38: not valid JSON"),
    ],
)
def test_reader_level_faults_are_named(text: str, fragment: str) -> None:
    gold = make_gold()
    with pytest.raises(InputError) as caught:
        parse_predictions(text, "p.jsonl", gold.docs, gold.pairs)
    assert any(fragment in line for line in caught.value.lines()), caught.value.lines()


def test_huge_values_are_cut_in_messages() -> None:
    gold = make_gold()
    line = json.dumps({"document_id": "doc-a", "entities": [{"start": 0, "end": 6, "label": "X" * 1_000_000}]})
    with pytest.raises(InputError) as caught:
        parse_predictions(line, "p.jsonl", gold.docs, gold.pairs)
    (message,) = caught.value.lines()
    assert len(message) < 300 and "(1,000,000 characters)" in message, message


def test_a_pair_on_another_documents_line_is_told_which_line_it_belongs_on() -> None:
    gold = make_gold()
    across, within = gold.pairs[0], gold.pairs[2]  # doc-a with doc-c; two claims of doc-b
    line = {"document_id": "doc-b", "pairs": [{"pair_id": across.id, "label": "AGREES"}]}
    with pytest.raises(InputError, match="does not involve document doc-b; put it on the line of doc-a or doc-c$"):
        parse_predictions(json.dumps(line), "p.jsonl", gold.docs, gold.pairs)
    line = {"document_id": "doc-a", "pairs": [{"pair_id": within.id, "label": "AGREES"}]}
    with pytest.raises(InputError, match="does not involve document doc-a; put it on the line of doc-b$"):
        parse_predictions(json.dumps(line), "p.jsonl", gold.docs, gold.pairs)
