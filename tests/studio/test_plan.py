"""What a push sends, decided without a server: chunks by bytes, the push record in task meta, reconciling writes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossclaim.errors import StudioError
from crossclaim.formats.labelstudio.committed import PUSH_META
from crossclaim.studio.plan import (
    Listed,
    chunked,
    json_array,
    plan_push,
    push_record,
    same_results,
    task_writes,
    wanted,
)

REGION = {"id": "e1", "from_name": "entities", "to_name": "text", "type": "labels"}
REGION |= {"value": {"start": 0, "end": 6, "text": "Xiaomi", "labels": ["ORG"]}}


def item(doc_id: str = "doc-a", text: str = "Xiaomi sold cars.", annotators=("a@example.org",), preds=()) -> dict:
    return {
        "data": {"doc_id": doc_id, "text": text, "headline": ""},
        "meta": {"batch": 1},
        "annotations": [
            {"result": [REGION], "completed_by": who, "ground_truth": False, "was_cancelled": False, "lead_time": 2.5}
            for who in annotators
        ],
        "predictions": [{"result": [REGION], "model_version": v, "score": None} for v in preds],
    }


def listed(raw_item: dict, task_id: int = 7, annotations: int | None = None, predictions: int | None = None, **meta):
    """A task as the listing shows it after push wrote ``raw_item`` (or with other counts / meta)."""
    w, _ = wanted(raw_item, "doc_id")
    n_ann = len(raw_item["annotations"]) if annotations is None else annotations
    n_pred = len(raw_item["predictions"]) if predictions is None else predictions
    record = push_record(w, len(raw_item["annotations"]), len(raw_item["predictions"]))
    raw = {
        "id": task_id,
        "data": raw_item["data"],
        "meta": {**raw_item["meta"], PUSH_META: record, **meta},
        "total_annotations": n_ann,
        "cancelled_annotations": 0,
        "total_predictions": n_pred,
    }
    return Listed.of(json.loads(json.dumps(raw)), "doc_id")


# ---------------------------------------------------------------------------------------------
# chunks


@given(st.lists(st.binary(min_size=1, max_size=40), max_size=60), st.integers(min_value=2, max_value=200))
def test_chunks_keep_order_and_stay_within_the_limit(bodies: list[bytes], limit: int) -> None:
    chunks = list(chunked(bodies, limit))
    assert [b for c in chunks for b in c] == bodies
    for c in chunks:
        assert c, "no empty chunk"
        assert len(json_array(c)) <= limit or len(c) == 1, "only a body too large on its own may exceed the limit"
    for c, nxt in zip(chunks, chunks[1:], strict=False):
        assert len(json_array([*c, nxt[0]])) > limit, "a chunk is cut only when the next body would not fit"


def test_a_chunk_is_a_json_array_of_the_tasks() -> None:
    tasks = [item(f"doc-{n}") for n in range(5)]
    bodies = [json.dumps(t).encode() for t in tasks]
    chunks = list(chunked(bodies, len(bodies[0]) * 2 + 3))
    assert [len(c) for c in chunks] == [2, 2, 1]
    assert [t for c in chunks for t in json.loads(json_array(c))] == tasks


# ---------------------------------------------------------------------------------------------
# the push record and the plan


def test_the_digest_is_of_the_content_whatever_the_key_order() -> None:
    a = item()
    b = json.loads(json.dumps(a, sort_keys=True))
    b["data"] = dict(reversed(list(b["data"].items())))
    assert wanted(a, "doc_id")[0] == wanted(b, "doc_id")[0]
    c = item()
    c["annotations"][0]["lead_time"] = 3.0
    assert wanted(c, "doc_id")[0].digest != wanted(a, "doc_id")[0].digest
    assert wanted(c, "doc_id")[0].data_digest == wanted(a, "doc_id")[0].data_digest


def test_a_task_as_pushed_and_untouched_needs_no_request() -> None:
    mine = [item("doc-a"), item("doc-b", preds=("regex@1",)), item("doc-c")]
    on_server = [listed(mine[0], 1), listed(mine[1], 2)]
    plan = plan_push([wanted(t, "doc_id")[0] for t in mine], on_server, "document")
    assert [w.key for w in plan.new] == ["doc-c"]
    assert plan.check == () and plan.unchanged == 2


@pytest.mark.parametrize(
    ("served", "why"),
    [
        (lambda: listed(item(annotators=("a@example.org", "b@example.org")), 1), "an annotation added here"),
        (lambda: listed(item(), 1, annotations=0), "its annotation deleted in Label Studio"),
        (lambda: listed(item(), 1, annotations=2), "an annotation added in Label Studio"),
        (lambda: listed(item(), 1, predictions=1), "a prediction added in Label Studio"),
        (lambda: Listed.of({"id": 1, "data": item()["data"], "meta": {"batch": 1}}, "doc_id"), "pushed before records"),
        (lambda: listed(item(), 1, **{PUSH_META: "garbled"}), "a record that is not ours"),
    ],
    ids=["changed-here", "deleted-there", "added-there", "prediction-there", "no-record", "garbled-record"],
)
def test_a_task_changed_on_either_side_is_read_back_and_reconciled(served, why) -> None:
    mine = item()
    plan = plan_push([wanted(mine, "doc_id")[0]], [served()], "document")
    assert plan.new == () and plan.unchanged == 0 and len(plan.check) == 1, why


def test_a_different_text_on_the_server_is_an_error_naming_the_task() -> None:
    on_server = listed(item(text="Xiaomi sold more cars."), 41)
    with pytest.raises(StudioError, match=r"task 41 \(document doc-a\) has different data on the server"):
        plan_push([wanted(item(), "doc_id")[0]], [on_server], "document")


def test_other_data_changed_since_the_push_is_reconciled_in_place() -> None:
    """The context shown to the annotator (a headline here; a pair's sentences and topics) may change."""
    served = item()
    served["data"]["headline"] = "an older headline"
    plan = plan_push([wanted(item(), "doc_id")[0]], [listed(served, 41)], "document")
    assert plan.new == () and plan.unchanged == 0 and [t.id for _, t in plan.check] == [41]


def test_listing_counts_cancelled_annotations_too() -> None:
    raw = {"id": 3, "data": {"doc_id": "d"}, "meta": None, "total_annotations": 2, "cancelled_annotations": 1}
    t = Listed.of(raw, "doc_id")
    assert (t.id, t.key, t.annotations, t.predictions, t.pushed) == (3, "d", 3, 0, None)


# ---------------------------------------------------------------------------------------------
# reconciling one task


def server_task(annotations: list[dict], predictions: list[dict]) -> dict:
    """A task as the full listing gives it: the server's ids, times and extra fields on everything."""
    extra = {"created_ago": "3 minutes", "updated_at": "2030-01-01T00:00:00Z", "project": 1}
    return {
        "id": 9,
        "annotations": [
            {**extra, **a, "result": [{**r, "origin": "manual"} for r in a["result"]]} for a in annotations
        ],
        "predictions": [{**extra, **p} for p in predictions],
    }


def test_nothing_is_written_when_the_server_holds_the_same_work() -> None:
    mine = item(annotators=(1,), preds=("regex@1",))
    served = server_task(
        [{**mine["annotations"][0], "id": 100, "completed_by": {"id": 1, "email": "a@example.org"}}],
        [{**mine["predictions"][0], "id": 200}],
    )
    writes = task_writes(served, mine)
    assert (writes.create, writes.update, writes.delete_predictions, writes.create_predictions) == ((), (), (), ())
    assert (writes.annotations, writes.predictions) == (1, 1)


def test_only_what_differs_is_written_and_the_rest_of_the_server_stays() -> None:
    mine = item(annotators=(1, 2), preds=("regex@1", "crf@2"))
    mine["annotations"][0]["ground_truth"] = True
    served = server_task(
        [
            {**item(annotators=(1,))["annotations"][0], "id": 100},  # ground_truth differs: updated
            {**item(annotators=(3,))["annotations"][0], "id": 101},  # another annotator's: left alone
        ],
        [{**mine["predictions"][0], "id": 200, "result": []}],  # regex@1 differs: replaced; crf@2 is new
    )
    writes = task_writes(served, mine)
    assert [a["completed_by"] for a in writes.create] == [2]
    assert [(i, a["completed_by"]) for i, a in writes.update] == [(100, 1)]
    assert writes.delete_predictions == (200,)
    assert [p["model_version"] for p in writes.create_predictions] == ["regex@1", "crf@2"]
    assert (writes.annotations, writes.predictions) == (3, 2)


def test_results_compare_by_content_whatever_the_order_and_server_fields() -> None:
    other = {**REGION, "id": "e2", "value": {**REGION["value"], "labels": ["PRODUCT"]}}
    assert same_results([{**other, "origin": "prediction"}, {**REGION, "score": 0.5}], [REGION, other])
    assert not same_results([REGION], [other])
