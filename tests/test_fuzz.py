"""Fuzzing the input boundary: mutated manifests and predictions files through the real commands.

Hypothesis mutates a valid manifest and a valid predictions file (JSON types, structure, encodings,
sizes: wrong types at any path, deleted and unknown keys, duplicate keys, truncation, stray bytes,
UTF-16, Latin-1, byte-order marks, HTML pages, 5,000-digit numbers, 5,000-deep nesting, NaN, lone
surrogates, huge strings, rich markup in values, CRLF line ends, U+2028 in strings) and runs
``crossclaim build`` / ``crossclaim score`` through typer's CliRunner. Every run must end with
exit code 0 or 2, never a traceback; on 2 every line is one ``error:`` line and nothing is written.
"""

from __future__ import annotations

import copy
import json
import traceback
from pathlib import Path

import pytest
from conftest import gold_predictions, gold_spans, json_paths, task, write_repo
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from crossclaim.cli import app
from crossclaim.dataset.gold import load_gold
from crossclaim.formats.predictions import SCHEMA_FILE, to_jsonl

jsonschema = pytest.importorskip("jsonschema")

runner = CliRunner()
FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(
        ["[/x]", "[bold]x[/bold]", ":red_car:", "2025", "2025-07", "2025-13-01", "not a date", "a\u2028b", "doc-x"]
        + ["ORG", "test", "CLAIM", "raw/page.txt", "x" * 300]
    ),
    st.lists(st.integers(-5, 50) | st.text(max_size=3), max_size=3),
    st.dictionaries(st.sampled_from(["start", "end", "label", "id", "x"]), st.integers(-5, 50), max_size=3),
)


SAME_TYPE = {
    str: st.text(max_size=8) | st.sampled_from(["[/x]", "2025-07", "test", "ORG", "DATE", "HEDGE", "CLAIM", "doc-x"]),
    int: st.integers(-3, 300),
    bool: st.booleans(),
    type(None): st.none() | st.text(max_size=4),
}


def node(value: object, path: tuple) -> object:
    for step in path:
        value = value[step]
    return value


def mutate_structure(draw, value: object) -> object:
    value = copy.deepcopy(value)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(json_paths(value)))
        op = draw(st.sampled_from(["replace", "replace", "same_type", "same_type", "delete", "add", "repeat"]))
        if not path:
            if op == "replace":
                value = draw(JUNK)
            continue
        parent, last = node(value, path[:-1]), path[-1]
        if op == "replace":
            parent[last] = draw(JUNK)
        elif op == "same_type":  # often still valid: what a valid file may hold must pass
            parent[last] = draw(SAME_TYPE.get(type(parent[last]), JUNK))
        elif op == "delete":
            del parent[last]
        elif op == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "id", "x[/x]", ""]))] = draw(JUNK)
        elif op == "repeat" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))
    return value


TEXT_OPS = [
    *["none"] * 12,
    "truncate",
    "insert",
    "utf16",
    "utf32",
    "latin1",
    "bom",
    "html",
    "digits",
    "deep",
    "nan",
    "duplicate_key",
    "lone_surrogate",
    "huge",
    "crlf",
]


def mutate_text(draw, text: str) -> bytes:
    op = draw(st.sampled_from(TEXT_OPS))
    at = draw(st.integers(0, max(0, len(text) - 1)))
    if op == "truncate":
        text = text[:at]
    elif op == "insert":
        text = (
            text[:at] + draw(st.sampled_from(['"', "{", "]", ",", "\x00", "\\", "\u2028", "\n", "é", "🚗"])) + text[at:]
        )
    elif op == "digits":
        text = text.replace(": 0", ": " + "9" * 5000, 1).replace(":0", ":" + "9" * 5000, 1)
    elif op == "deep":
        text = text.replace("[]", "[" * 5000 + "]" * 5000, 1) if "[]" in text else "[" * 5000 + "]" * 5000
    elif op == "nan":
        text = text.replace("0", "NaN", 1)
    elif op == "duplicate_key":
        text = text.replace('{"', '{"split": "x", "', 1).replace('{"', '{"document_id": "x", "', 1)
    elif op == "lone_surrogate":
        text = text.replace('"', '"\\ud800', 2)
    elif op == "huge":
        text = text.replace('"', '"' + "y" * 200_000, 2)
    elif op == "crlf":
        text = text.replace("\n", "\r\n")
    elif op == "html":
        text = "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway [/x]</title></head></html>\n"
    if op == "utf16":
        return text.encode("utf-16")
    if op == "utf32":
        return text.encode(draw(st.sampled_from(["utf-32", "utf-32-be"])))
    if op == "latin1":
        return text.encode("latin-1", "replace")
    return (b"\xef\xbb\xbf" if op == "bom" else b"") + text.encode("utf-8", "surrogatepass")


# What the README documents, written as JSON Schema and checked by jsonschema: an accepted file must fit it.
MANIFEST_SCHEMA = {
    "type": "object",
    "required": ["documents"],
    "additionalProperties": False,
    "properties": {
        "documents": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "source_file", "sha256", "slice", "publisher", "headline", "authors"]
                + ["publication_date", "date_source", "split"],
                "properties": {
                    "id": {"type": "string", "pattern": "^[^\\s:~\\x00-\\x1f\\x7f]+$"},
                    "source_file": {"type": "string", "minLength": 1},
                    "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                    "slice": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["start", "end"],
                        "properties": {"start": {"type": "integer", "minimum": 0}, "end": {"type": "integer"}},
                    },
                    "publisher": {"type": ["string", "null"]},
                    "headline": {"type": ["string", "null"]},
                    "authors": {"type": "array", "items": {"type": "string"}},
                    "publication_date": {
                        "anyOf": [{"type": "null"}, {"type": "string", "pattern": "^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$"}]
                    },
                    "date_source": {"type": "string"},
                    "split": {"enum": ["train", "validation", "test"]},
                },
            },
        }
    },
}


def strict_json(text: str) -> object:
    """The standard library's parser with JSON's own rules: no NaN/Infinity, no repeated key."""

    def unique(pairs):
        keys = [k for k, _ in pairs]
        assert len(keys) == len(set(keys)), f"accepted a repeated key: {keys}"
        return dict(pairs)

    def no_constant(name):
        raise AssertionError(f"accepted {name}")

    return json.loads(text, object_pairs_hook=unique, parse_constant=no_constant)


def accepted_manifest_fits_the_documented_rules(data: bytes) -> None:
    jsonschema.validate(strict_json(data.decode("utf-8")), MANIFEST_SCHEMA)


def accepted_predictions_fit_the_schema(data: bytes) -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    for line in data.decode("utf-8").split("\n"):
        if line.strip():
            jsonschema.validate(strict_json(line), schema)


def check(result, written_before: dict[str, bytes], written_after: dict[str, bytes]) -> None:
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        trace = "".join(traceback.format_exception(result.exception))
        pytest.fail(f"traceback (exit {result.exit_code}):\n{trace}")
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output
    event(f"exit {result.exit_code}")
    if result.exit_code == 2:
        lines = result.output.splitlines()
        assert lines and all(line.startswith("error: ") and len(line) < 2100 for line in lines), result.output
        assert written_after == written_before, "something was written on exit code 2"


def outputs(root: Path) -> dict[str, bytes]:
    """Every file a command may write (inputs excluded), path -> bytes."""
    skip = {"annotations/manifest.json", "annotations/raw/page.txt", "annotations/exports/spans.json", "p.jsonl"}
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).as_posix() not in skip and p.name != "build.lock"
    }


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = write_repo(tmp_path_factory.mktemp("fuzz"), [task(gold_spans())])
    assert runner.invoke(app, ["build", "--root", str(root)]).exit_code == 0
    return root


@pytest.fixture(scope="module")
def valid_manifest(project: Path) -> dict:
    return json.loads((project / "annotations" / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def valid_predictions(project: Path) -> list[dict]:
    gold = load_gold(project / "annotations")
    return [json.loads(line) for line in to_jsonl(gold_predictions(gold), gold.docs, gold.pairs).splitlines()]


@FUZZ
@given(st.data())
def test_fuzzed_manifests_build_or_are_refused(project: Path, valid_manifest: dict, data) -> None:
    path = project / "annotations" / "manifest.json"
    mutated = mutate_structure(data.draw, valid_manifest)
    text = json.dumps(mutated, indent=data.draw(st.sampled_from([None, 1])), ensure_ascii=data.draw(st.booleans()))
    path.write_bytes(mutate_text(data.draw, text))
    try:
        before = outputs(project)
        result = runner.invoke(app, ["build", "--root", str(project)])
        check(result, before, outputs(project))
        if result.exit_code == 0:
            accepted_manifest_fits_the_documented_rules(path.read_bytes())
    finally:
        path.write_text(json.dumps(valid_manifest), encoding="utf-8")


@FUZZ
@given(st.data())
def test_fuzzed_predictions_score_or_are_refused(project: Path, valid_predictions: list[dict], data) -> None:
    mutated = mutate_structure(data.draw, valid_predictions)
    lines = mutated if isinstance(mutated, list) else [mutated]
    text = "\n".join(json.dumps(line, ensure_ascii=data.draw(st.booleans())) for line in lines) + "\n"
    preds = project / "p.jsonl"
    preds.write_bytes(mutate_text(data.draw, text))
    scores = project / "scores.json"
    before = outputs(project)
    result = runner.invoke(app, ["score", str(preds), "--split", "all", "--json", str(scores), "--root", str(project)])
    check(result, before, outputs(project))
    if result.exit_code == 0:
        accepted_predictions_fit_the_schema(preds.read_bytes())
    scores.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------
# cases the fuzzers found, kept as fixed examples (each once a traceback or a silent wrong value)


def refused(root: Path, args: list[str]) -> list[str]:
    """Run a command that must refuse its input: exit code 2, ``error:`` lines only, nothing written."""
    before = outputs(root)
    result = runner.invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 2, result.output
    lines = result.output.splitlines()
    assert lines and all(line.startswith("error: ") for line in lines), result.output
    assert outputs(root) == before, "something was written on exit code 2"
    return lines


def test_a_manifest_document_removed_while_its_task_and_pairs_remain(tmp_path: Path) -> None:
    """The span task names the document the manifest lost: that is said first, not a KeyError on a pair's split."""
    from conftest import TEXT_Y, add_document

    from crossclaim.formats.labelstudio.pairs import pair_results
    from crossclaim.schema.records import Pair, pair_id

    root = write_repo(tmp_path, [task(gold_spans()), {**task(gold_spans(), "doc-y", TEXT_Y), "id": 2}])
    add_document(root, "doc-y", TEXT_Y)
    pid = pair_id("doc-x", "c1", "doc-y", "c1")
    pair = Pair(pid, "doc-x", "c1", "doc-y", "c1", "CONTRADICTS", "both cannot be true")
    sides = {"a_doc": "doc-x", "a_claim": "c1", "a_text": "a", "b_doc": "doc-y", "b_claim": "c1", "b_text": "b"}
    item = {"id": 1, "completed_by": {"id": 2, "email": "b@example.org"}, "result": pair_results(pair)}
    (root / "annotations" / "exports" / "pairs.json").write_text(
        json.dumps([{"id": 11, "data": {"pair_id": pid, **sides}, "annotations": [item]}]), encoding="utf-8"
    )
    manifest = root / "annotations" / "manifest.json"
    docs = json.loads(manifest.read_text(encoding="utf-8"))
    manifest.write_text(json.dumps({"documents": docs["documents"][:1]}), encoding="utf-8")
    first = refused(root, ["build", "--root", str(root)])[0]
    assert first.endswith("task 2 (doc doc-y): unknown document id 'doc-y' (not in the manifest)")
