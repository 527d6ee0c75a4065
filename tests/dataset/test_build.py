"""Build: the dataset from annotations/, refusals on bad input, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import TEXT, add_document, built_tables, gold_spans, span, task, write_repo
from datasets import load_dataset
from typer.testing import CliRunner

from crossclaim.cli import app
from crossclaim.formats.labelstudio.pairs import pair_results
from crossclaim.schema.records import Pair, pair_id

runner = CliRunner()


def build(root: Path):
    return runner.invoke(app, ["build", "--root", str(root)])


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted((root / "dataset").rglob("*")) if p.is_file()}


def test_build_writes_three_loadable_configs(repo: Path) -> None:
    result = build(repo)
    assert result.exit_code == 0, result.output
    docs = load_dataset(str(repo / "dataset"), "documents")["test"]
    row = docs[0]
    assert row["text"] == TEXT
    assert [e["text"] for e in row["entities"]] == ["Xiaomi", "SU7", "Lei Jun", "BYD", "小米", "SU7"]
    names = docs.features["entities"].feature["label"].names
    assert [names[e["label"]] for e in row["entities"]] == ["ORG", "PRODUCT", "PERSON", "ORG", "ORG", "PRODUCT"]
    assert row["claims"][0]["cues"] == [] and row["claims"][1]["cues"] == ["h1"]
    assert row["figures"][0]["value"] == "2023-late"
    assert row["annotator"] == "a@example.org" and row["lead_time"] == 12.5
    assert json.loads(row["task_meta"]) == {"batch": 1}
    tokens = load_dataset(str(repo / "dataset"), "tokens")["test"]
    assert tokens[0]["tokens"][:3] == ["Xiaomi", "unveiled", "the"]  # glued word split at the span boundary
    assert "1 tokens split" in result.output


def test_rebuild_is_byte_identical(repo: Path) -> None:
    assert build(repo).exit_code == 0
    first = snapshot(repo)
    assert build(repo).exit_code == 0
    assert snapshot(repo) == first


def test_a_rebuild_that_changes_a_value_but_no_size_is_not_loaded_from_the_old_cache(tmp_path: Path) -> None:
    """datasets keys its cache of a local directory on the card's metadata, not on the files: a changed
    lead time (or a relabelled pair) leaves every size in the card as it was, so only the card's data
    digest tells the two builds apart."""
    cache = str(tmp_path / "hf-cache")
    root = write_repo(tmp_path / "repo", [task(gold_spans())])
    assert build(root).exit_code == 0
    assert load_dataset(str(root / "dataset"), "documents", cache_dir=cache)["test"]["lead_time"] == [12.5]
    write_repo(tmp_path / "repo", [task(gold_spans(), lead_time=99.5)])
    assert build(root).exit_code == 0
    assert load_dataset(str(root / "dataset"), "documents", cache_dir=cache)["test"]["lead_time"] == [99.5]


# two claims of the fixture document that contradict each other, as a labelled pair
PAIR = Pair(pair_id("doc-x", "c2", "doc-x", "c9"), "doc-x", "c2", "doc-x", "c9", "CONTRADICTS", "test rationale")


def contradiction(tmp_path: Path, annotations: list[dict] | None = None) -> Path:
    """A repository whose document holds the claims of ``PAIR`` and a claim-pair task on them (labelled
    as ``PAIR`` unless ``annotations`` are given)."""
    other = [span("claims", "c9", "BYD cut prices by a third in May", "CLAIM", hedged=False, topic="su7_launch_date")]
    spans = [s for s in gold_spans() if s.layer != "claims" or s.id == "c2"] + other
    sides = {"a_doc": "doc-x", "a_claim": "c2", "a_text": "x", "b_doc": "doc-x", "b_claim": "c9", "b_text": "y"}
    labelled = [{"id": 1, "completed_by": 1, "result": pair_results(PAIR)}]
    pair_task = {
        "id": 7,
        "data": {"pair_id": PAIR.id, **sides},
        "annotations": labelled if annotations is None else annotations,
    }
    return write_repo(tmp_path, [task(spans)], [pair_task])


def test_contradictory_claims_come_from_pairs(tmp_path: Path) -> None:
    tables = built_tables(contradiction(tmp_path))
    claims = tables["documents"]["test"].column("claims").to_pylist()[0]
    assert {c["id"]: c["contradictory"] for c in claims} == {"c2": True, "c9": True}
    assert tables["claim_pairs"]["test"].num_rows == 1


def test_a_pair_not_labelled_yet_is_named_and_a_gold_without_label_refused(tmp_path: Path) -> None:
    result = build(contradiction(tmp_path / "none", []))
    assert result.exit_code == 0, result.output
    assert f"pair {PAIR.id}: no label yet" in result.output and "0 claim pairs" in result.output
    labelled = {"id": 1, "completed_by": {"id": 1, "email": "a@example.org"}, "result": pair_results(PAIR)}
    empty_gold = {"id": 2, "completed_by": {"id": 2, "email": "b@example.org"}, "result": [], "ground_truth": True}
    refuse(
        contradiction(tmp_path / "empty", [labelled, empty_gold]),
        f"pair {PAIR.id}: the gold annotation (by b@example.org) chooses no pair label",
    )


def refuse(root: Path, *fragments: str) -> str:
    before = snapshot(root) if (root / "dataset").exists() else {}
    result = build(root)
    assert result.exit_code == 2, result.output
    for fragment in fragments:
        assert fragment in result.output, result.output
    assert snapshot(root) == before if before else not (root / "dataset").exists()
    return result.output


def test_refuses_sha256_mismatch(repo: Path) -> None:
    raw = repo / "annotations" / "raw" / "page.txt"
    raw.write_text(raw.read_text() + "edited", encoding="utf-8")
    refuse(repo, "manifest.json: document doc-x", "sha256 mismatch")


def test_refuses_slice_out_of_range(repo: Path) -> None:
    path = repo / "annotations" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["documents"][0]["slice"]["end"] = 10_000
    path.write_text(json.dumps(manifest))
    refuse(repo, "document doc-x", "slice", "out of range")


def _with_result(root: Path, edit) -> None:
    path = root / "annotations" / "exports" / "spans.json"
    tasks = json.loads(path.read_text())
    edit(tasks[0]["annotations"][0]["result"])
    path.write_text(json.dumps(tasks))


def _region(result: list, rid: str, from_name: str | None = None) -> dict:
    return next(r for r in result if r.get("id") == rid and (from_name is None or r["from_name"] == from_name))


def test_refuses_offsets_out_of_range(repo: Path) -> None:
    _with_result(repo, lambda res: _region(res, "e4", "entities")["value"].update(end=5000))
    refuse(repo, "spans.json: task 1 (doc doc-x)", "region e4", "out of range")


def test_refuses_text_not_matching_offsets(repo: Path) -> None:
    _with_result(repo, lambda res: _region(res, "e1", "entities")["value"].update(text="Xiaomu"))
    refuse(repo, "region e1", "'Xiaomu' does not match the text")


def test_refuses_overlap_in_flat_layer(repo: Path) -> None:
    def edit(res: list) -> None:
        e = _region(res, "e2", "entities")
        res.append(
            {
                **e,
                "id": "e9",
                "value": {
                    **e["value"],
                    "start": e["value"]["start"] - 4,
                    "text": TEXT[e["value"]["start"] - 4 : e["value"]["end"]],
                },
            }
        )

    _with_result(repo, edit)
    refuse(repo, "region e2", "overlaps entities span e9")


def test_refuses_unknown_label(repo: Path) -> None:
    _with_result(repo, lambda res: _region(res, "e1", "entities")["value"].update(labels=["COMPANY"]))
    refuse(repo, "region e1", "unknown label 'COMPANY'")


def test_refuses_unknown_attribute(repo: Path) -> None:
    def edit(res: list) -> None:
        e = _region(res, "e1", "entities")
        res.append(
            {
                "id": "e1",
                "from_name": "value",
                "to_name": "text",
                "type": "textarea",
                "value": {"start": e["value"]["start"], "end": e["value"]["end"], "text": ["USD 1"]},
            }
        )

    _with_result(repo, edit)
    refuse(repo, "region e1", "unknown attribute 'value' for a entities region")


def test_refuses_claim_crossing_sentence(repo: Path) -> None:
    def edit(res: list) -> None:
        c = _region(res, "c1", "claims")
        end = TEXT.index("BYD cut") + 3
        c["value"].update(end=end, text=TEXT[c["value"]["start"] : end])

    _with_result(repo, edit)
    refuse(repo, "region c1", "crosses a sentence boundary")


def test_refuses_pair_with_unknown_claim(tmp_path: Path) -> None:
    pid = pair_id("doc-x", "c1", "doc-x", "c404")
    pair = Pair(pid, "doc-x", "c1", "doc-x", "c404", "AGREES")
    pair_task = {
        "id": 3,
        "data": {
            "pair_id": pid,
            "a_doc": "doc-x",
            "a_claim": "c1",
            "a_text": "x",
            "b_doc": "doc-x",
            "b_claim": "c404",
            "b_text": "y",
        },
        "annotations": [{"id": 1, "completed_by": 1, "result": pair_results(pair)}],
    }
    root = write_repo(tmp_path, [task(gold_spans())], [pair_task])
    refuse(root, "pairs.json: task 3", "unknown claim 'c404' of document 'doc-x'")


@pytest.mark.parametrize("value", ["USD 10 billion", "2025-13", "P-1Y"])
def test_refuses_bad_figure_values(tmp_path: Path, value: str) -> None:
    label = {"USD 10 billion": "MONEY", "2025-13": "DATE", "P-1Y": "DURATION"}[value]
    spans = [span("figures", "f1", "late 2023", label, value=value)]
    refuse(write_repo(tmp_path, [task(spans)]), "region f1", f"value {value!r} does not fit the {label} grammar")


def test_cancelled_annotation_is_reported_and_never_gold(tmp_path: Path) -> None:
    t = task(gold_spans())
    cancelled = {
        **t["annotations"][0],
        "id": 2,
        "was_cancelled": True,
        "ground_truth": True,
        "completed_by": {"id": 2, "email": "b@example.org"},
        "result": [],
    }
    t["annotations"].append(cancelled)
    root = write_repo(tmp_path, [t])
    result = build(root)
    assert result.exit_code == 0, result.output
    assert "cancelled annotation by b@example.org is not used" in result.output
    row = load_dataset(str(root / "dataset"), "documents")["test"][0]
    assert row["annotator"] == "a@example.org" and len(row["entities"]) == 6


def test_gold_annotator_flag_chooses_among_several(tmp_path: Path) -> None:
    t = task(gold_spans())
    other = {
        **t["annotations"][0],
        "id": 2,
        "completed_by": {"id": 2, "email": "b@example.org"},
        "result": [r for r in t["annotations"][0]["result"] if r.get("from_name") == "entities"],
    }
    t["annotations"].append(other)
    root = write_repo(tmp_path, [t])
    disputed = build(root)  # two annotations that differ, no rule chooses: never a guess
    assert disputed.exit_code == 0, disputed.output
    assert "doc doc-x is in dispute (a@example.org, b@example.org disagree" in disputed.output
    assert "left out of the dataset until it is settled" in disputed.output and "from 0 documents" in disputed.output
    result = runner.invoke(app, ["build", "--root", str(root), "--gold", "b@example.org"])
    assert result.exit_code == 0, result.output
    row = load_dataset(str(root / "dataset"), "documents")["test"][0]
    assert row["annotator"] == "b@example.org" and row["figures"] == [] and len(row["entities"]) == 6


@pytest.mark.parametrize("flags", [[], ["--drop-stale-pairs"]])  # streamed, and read whole
def test_document_not_annotated_yet_is_named_and_left_out(tmp_path: Path, flags: list[str]) -> None:
    cancelled = {**task([], doc_id="doc-y", text="Lei Jun spoke.", was_cancelled=True), "id": 2}
    for tasks, why in (([], "has no task in the span export"), ([cancelled], "has no annotation (or only cancelled")):
        root = write_repo(tmp_path / str(len(tasks)), [task(gold_spans()), *tasks])
        add_document(root, "doc-y", "Lei Jun spoke.")
        result = runner.invoke(app, ["build", "--root", str(root), *flags])
        assert result.exit_code == 0, result.output
        assert f"doc doc-y {why}" in result.output and "not annotated yet, left out of the dataset" in result.output
        assert "from 1 documents" in result.output
        # not published as a gold document without spans
        assert load_dataset(str(root / "dataset"), "documents")["test"]["id"] == ["doc-x"]
