"""The committed form of the exports: the same gold, nothing volatile, the same bytes whatever the server order."""

from __future__ import annotations

import copy
import json
import random
from dataclasses import dataclass

from conftest import REPO, TEXT, doc, gold_spans, task

from crossclaim.dataset.gold import PAIR_EXPORT, SPAN_EXPORT, load_gold
from crossclaim.errors import Problems
from crossclaim.formats.jsonio import read_json
from crossclaim.formats.labelstudio.annotations import PASS_KEY, PASS_NAME, settle_gold
from crossclaim.formats.labelstudio.committed import (
    committed_pairs,
    committed_predictions,
    committed_task,
    export_json,
)
from crossclaim.formats.labelstudio.pairs import PairTask, parse_pair_tasks
from crossclaim.formats.labelstudio.spans import parse_span_tasks, region_results
from crossclaim.schema.records import Document, Span

ANNOTATIONS = REPO / "annotations"
TASK_KEYS = {"data", "meta", "annotations", "gold"}
ANNOTATION_KEYS = {"completed_by", "updated_by", "ground_truth", "was_cancelled", "lead_time", "result"}


def served(export: list[dict], seed: int) -> list[dict]:
    """The export as a server might hand it back: its own ids and times, any order, no gold record (the
    rule finds the same gold). ``updated_by`` is as pull names it: empty where nobody saved the annotation
    since a bulk import, the editor's e-mail where someone did (the adjudicator's edits of 1.2)."""
    rng = random.Random(seed)
    out = copy.deepcopy(export)
    rng.shuffle(out)
    for n, t in enumerate(out):
        t.pop("gold", None)
        t.update(id=1000 + n, inner_id=n, created_at=f"2030-01-0{seed % 9 + 1}T00:00:00Z", updated_by=seed, project=7)
        for k, a in enumerate(t["annotations"]):
            a.update(id=5000 + k + seed, created_ago=f"{seed} minutes", unique_id=f"u-{seed}-{k}", task=1000 + n)
            a["completed_by"] = {**a["completed_by"], "id": seed + k, "first_name": ""}
            rng.shuffle(a["result"])
        rng.shuffle(t["annotations"])
    return out


@dataclass(frozen=True)
class CommittedExports:
    spans: list[dict]
    pairs: list[dict]
    predictions: list[dict]


def committed_exports(
    spans_data: list, pair_tasks: list[PairTask], docs: dict[str, Document], claims: dict[tuple[str, str], Span]
) -> CommittedExports:
    """The committed form of a validated span export and the parsed claim-pair tasks (``claims``: the
    gold claims, from which each pair task's context is recomputed, as ``push`` does), task by task as
    ``pull`` commits them. A span task without a gold record gets the rule's, with no ``--gold``
    annotator and no adjudicator."""
    tasks = {t.doc_id: t for t in parse_span_tasks(spans_data, "export", docs)}
    for t in tasks.values():  # the gold record of an export that has none (a server's): by the rule
        settle_gold(t, f"export: doc {t.doc_id}", None, Problems())
    data = {raw["data"]["doc_id"]: raw["data"] for raw in spans_data}
    spans = [committed_task(data[doc_id], tasks[doc_id]) for doc_id in sorted(tasks)]
    predictions = [p for doc_id in sorted(tasks) if (p := committed_predictions(data[doc_id], tasks[doc_id]))]
    return CommittedExports(spans, committed_pairs(pair_tasks, docs, claims), predictions)


def committed_of(spans: list[dict], pairs: list[dict]):
    gold = load_gold(ANNOTATIONS, spans_data=spans, pairs_data=pairs)
    return committed_exports(spans, gold.pair_tasks, {d.id: d for d in gold.docs}, gold.claims())


def test_the_committed_exports_are_in_committed_form() -> None:
    spans, pairs = read_json(ANNOTATIONS / SPAN_EXPORT), read_json(ANNOTATIONS / PAIR_EXPORT)
    c = committed_of(spans, pairs)
    assert export_json(c.spans) == (ANNOTATIONS / SPAN_EXPORT).read_text(encoding="utf-8")
    assert export_json(c.pairs) == (ANNOTATIONS / PAIR_EXPORT).read_text(encoding="utf-8")
    for t in [*spans, *pairs]:
        assert set(t) - {"meta"} == TASK_KEYS - {"meta"} and set(t["gold"]) == {"annotation", "annotator", "rule"}
        for a in t["annotations"]:
            assert set(a) - {PASS_KEY} == ANNOTATION_KEYS and set(a["completed_by"]) == {"email"}
        assert all(PASS_NAME.fullmatch(a[PASS_KEY]) for a in t["annotations"] if PASS_KEY in a)  # a pass's work
        gold = t["annotations"][t["gold"]["annotation"]]
        assert gold["completed_by"]["email"] == t["gold"]["annotator"] and gold["ground_truth"]


def test_server_ids_times_and_order_change_no_committed_byte() -> None:
    spans, pairs = read_json(ANNOTATIONS / SPAN_EXPORT), read_json(ANNOTATIONS / PAIR_EXPORT)
    first = committed_of(served(spans, 1), served(pairs, 1))
    second = committed_of(served(spans, 2), served(pairs, 2))
    assert export_json(first.spans) == export_json(second.spans) == export_json(spans)
    assert export_json(first.pairs) == export_json(second.pairs) == export_json(pairs)


def test_committed_form_keeps_every_annotation_and_the_gold() -> None:
    spans, pairs = served(read_json(ANNOTATIONS / SPAN_EXPORT), 3), served(read_json(ANNOTATIONS / PAIR_EXPORT), 3)
    before = load_gold(ANNOTATIONS, spans_data=spans, pairs_data=pairs)
    c = committed_of(spans, pairs)
    after = load_gold(ANNOTATIONS, spans_data=c.spans, pairs_data=c.pairs)
    assert after.pairs == before.pairs
    assert {d: sorted(a.spans, key=repr) for d, a in after.gold.items()} == {
        d: sorted(a.spans, key=repr) for d, a in before.gold.items()
    }

    def every_annotation(gold) -> list:
        out = []
        for t in gold.tasks.values():
            for a in t.annotations:
                spans_ = sorted(a.spans, key=lambda s: s.id)
                out.append((t.doc_id, a.annotator, a.ground_truth, a.was_cancelled, a.lead_time, spans_))
        for t in gold.pair_tasks:
            out += [(t.data["pair_id"], a.annotator, a.ground_truth, a.was_cancelled, a.payload) for a in t.annotations]
        return sorted(out, key=repr)

    assert every_annotation(after) == every_annotation(before)
    assert sum(len(t.annotations) for t in after.tasks.values()) == sum(len(t["annotations"]) for t in spans)


def test_predictions_stay_out_of_the_gold_export() -> None:
    t = task(gold_spans())
    t["predictions"] = [
        {
            "id": 9,
            "model_version": "regex@1",
            "score": None,
            "created_ago": "0 minutes",
            "result": region_results(gold_spans()[:3], TEXT, "prediction"),
        }
    ]
    c = committed_exports([t], [], {"doc-x": doc("doc-x", TEXT, "test")}, {})
    assert "predictions" not in c.spans[0]
    (only,) = c.predictions
    assert set(only) == {"data", "predictions"} and set(only["predictions"][0]) == {"model_version", "score", "result"}
    (parsed,) = parse_span_tasks(c.predictions, "predictions.json")
    assert [p.model_version for p in parsed.predictions] == ["regex@1"] and len(parsed.predictions[0].spans) == 3


def test_committed_pairs_parse_to_the_same_tasks() -> None:
    pairs = read_json(ANNOTATIONS / PAIR_EXPORT)
    claims = load_gold(ANNOTATIONS).claims()
    c = committed_of(read_json(ANNOTATIONS / SPAN_EXPORT), served(pairs, 4))
    assert json.loads(export_json(c.pairs)) == pairs
    assert len(parse_pair_tasks(c.pairs, "pairs.json", claims)) == len(pairs)
