"""Regenerate the malformed Label Studio exports of this folder from the test fixture.

Each case is a small edit of a valid export of the fixture document (tests/conftest.py);
``expected.json`` maps each file to the fragments its error message must contain.
Run from the repository root: ``python tests/data/bad_exports/generate.py``.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parents[1]))

from conftest import TEXT, gold_spans, task  # noqa: E402

from crossclaim.formats.labelstudio.pairs import pair_results  # noqa: E402
from crossclaim.schema.records import Pair, pair_id  # noqa: E402

BASE = [task(gold_spans())]


def region(export: list, rid: str, from_name: str) -> dict:
    return next(r for r in export[0]["annotations"][0]["result"] if r.get("id") == rid and r["from_name"] == from_name)


def edit(fn):
    export = copy.deepcopy(BASE)
    fn(export)
    return export


def compare_with(export: list, rid: str, value: str) -> None:
    """Give claim ``rid`` a ``compare_with`` text, as the labeling config's TextArea stores it."""
    claim = region(export, rid, "claims")
    pos = {k: claim["value"][k] for k in ("start", "end")}
    item = {"id": rid, "from_name": "compare_with", "to_name": "text", "type": "textarea", "origin": "manual"}
    result(export).append({**item, "value": {**pos, "text": [value]}})


def result(export: list) -> list:
    return export[0]["annotations"][0]["result"]


def u16(py: int) -> int:
    return len(TEXT[:py].encode("utf-16-le")) // 2


def utf16(export: list) -> list:
    """Count every offset in UTF-16 code units, as older Label Studio versions did (cases run with --utf16)."""
    for r in result(export):
        if "start" in r.get("value", {}):
            r["value"].update(start=u16(r["value"]["start"]), end=u16(r["value"]["end"]))
    return export


def pair_case(fn=None, label="CONTRADICTS", rationale="both cannot be true", b_claim="c2"):
    pid = pair_id("doc-x", "c1", "doc-x", b_claim)
    pair = Pair(pid, "doc-x", "c1", "doc-x", b_claim, label, rationale)
    t = {
        "id": 11,
        "data": {
            "pair_id": pid,
            "a_doc": "doc-x",
            "a_claim": "c1",
            "a_text": "a",
            "b_doc": "doc-x",
            "b_claim": b_claim,
            "b_text": "b",
        },
        "annotations": [{"id": 5, "completed_by": {"id": 2, "email": "b@example.org"}, "result": pair_results(pair)}],
    }
    tasks = [t]
    if fn:
        fn(tasks)
    return tasks


SPAN_CASES = {
    "unknown-label": (
        edit(lambda e: region(e, "e1", "entities")["value"].update(labels=["COMPANY"])),
        ["region e1", "unknown label 'COMPANY'"],
    ),
    "from-name-not-in-config": (
        edit(lambda e: region(e, "e1", "entities").update(from_name="people")),
        ["region e1", "from_name 'people' is not in the labeling config"],
    ),
    "offsets-out-of-range": (
        edit(lambda e: region(e, "e4", "entities")["value"].update(end=9999)),
        ["region e4", "out of range"],
    ),
    "negative-offset": (
        edit(lambda e: region(e, "e1", "entities")["value"].update(start=-1)),
        ["region e1", "out of range"],
    ),
    "start-after-end": (
        edit(lambda e: region(e, "e1", "entities")["value"].update(start=5, end=2)),
        ["region e1", "offsets 5:2 end before they start"],
    ),
    "text-not-matching-offsets": (
        edit(lambda e: region(e, "e1", "entities")["value"].update(text="Xiaomu")),
        ["region e1", "'Xiaomu' does not match the text"],
    ),
    "astral-offsets-utf16-counted": (
        edit(
            lambda e: region(e, "e6", "entities")["value"].update(
                start=u16(TEXT.rindex("SU7")), end=u16(TEXT.rindex("SU7") + 3)
            )
        ),
        ["region e6", "'SU7' does not match the text", "UTF-16 code units 139:142 (code points 138:141)", "--utf16"],
    ),
    "utf16-offsets-split-surrogate-pair": (
        edit(lambda e: region(utf16(e), "e6", "entities")["value"].update(start=u16(TEXT.index("🚗")) + 1)),
        ["region e6", "split a character"],
    ),
    "utf16-flag-on-code-point-export": (edit(lambda e: None), ["region e6", "needs no --utf16"]),
    "overlap-in-flat-layer": (
        edit(lambda e: result(e).append({**region(e, "e2", "entities"), "id": "e9"})),
        ["region e", "overlaps entities span", "flat layer"],
    ),
    "relation-to-missing-region": (
        edit(
            lambda e: result(e).append(
                {"type": "relation", "from_id": "c1", "to_id": "h404", "direction": "right", "labels": ["cue"]}
            )
        ),
        ["task 1 (doc doc-x), annotation 1 by a@example.org, relation 'c1' -> 'h404': points to a missing region"],
    ),
    "relation-wrong-label": (
        edit(lambda e: next(r for r in result(e) if r["type"] == "relation").update(labels=["because"])),
        ["relation labels must be ['cue']"],
    ),
    "relation-wrong-direction": (
        edit(lambda e: next(r for r in result(e) if r["type"] == "relation").update(from_id="h1", to_id="c1")),
        ["goes from a claim to a hedge cue"],
    ),
    "per-region-attribute-without-region": (
        edit(lambda e: result(e).append({**region(e, "f1", "value"), "id": "f404"})),
        ["region f404", "per-region 'value' has no region 'f404'"],
    ),
    "attribute-on-wrong-layer": (
        edit(lambda e: result(e).append({**region(e, "f1", "value"), "id": "e1"})),
        ["region e1", "unknown attribute 'value' for a entities region"],
    ),
    "figure-without-value": (edit(lambda e: result(e).remove(region(e, "f2", "value"))), ["region f2", "has no value"]),
    "figure-value-bad-grammar": (
        edit(lambda e: region(e, "f3", "value")["value"].update(text=["a third"])),
        ["region f3", "does not fit the PERCENT grammar"],
    ),
    "figure-two-value-results": (
        edit(lambda e: result(e).append({**region(e, "f3", "value"), "value": {"text": ["33"]}})),
        ["region f3", "a second result for control 'value'"],
    ),
    "claim-two-hedged-results": (
        edit(lambda e: result(e).append({**region(e, "c1", "hedged"), "value": {"choices": ["false"]}})),
        ["region c1", "a second result for control 'hedged'"],
    ),
    "textarea-two-texts": (
        edit(lambda e: region(e, "f3", "value")["value"].update(text=["33.33", "33"])),
        ["region f3", "must hold exactly one text"],
    ),
    "claim-without-hedged": (
        edit(lambda e: result(e).remove(region(e, "c1", "hedged"))),
        ["region c1", "no 'hedged' choice"],
    ),
    "cue-outside-claim": (
        edit(
            lambda e: (
                region(e, "c2", "hedged")["value"].update(choices=["true"]),
                result(e).append(
                    {"type": "relation", "from_id": "c2", "to_id": "h1", "direction": "right", "labels": ["cue"]}
                ),
            )
        ),
        ["region c2", "cue h1 'could'", "is outside the claim", "hedge cue inside it"],
    ),
    "unhedged-claim-with-cue": (
        edit(lambda e: region(e, "c1", "hedged")["value"].update(choices=["false"])),
        ["region c1", "hedged=false but has cue relations to h1"],
    ),
    "was-cancelled-a-string": (
        edit(lambda e: e[0]["annotations"][0].update(was_cancelled="false")),
        ["task 1 (doc doc-x), annotation 1 by a@example.org", "was_cancelled must be a JSON boolean", "'false'"],
    ),
    "ground-truth-a-string": (
        edit(lambda e: e[0]["annotations"][0].update(ground_truth="false")),
        ["task 1 (doc doc-x), annotation 1 by a@example.org", "ground_truth must be a JSON boolean", "'false'"],
    ),
    "claim-compare-with-malformed": (
        edit(lambda e: compare_with(e, "c1", "doc-x c2")),
        ["region c1", "compare_with 'doc-x c2' does not fit the CLAIM grammar", "DOC:CLAIM"],
    ),
    "claim-compare-with-unknown-claim": (
        edit(lambda e: compare_with(e, "c1", "doc-x:c2 doc-y:c2")),
        ["doc doc-x, region c1, compare_with", "'doc-y:c2' is not a claim of the gold"],
    ),
    "claim-compare-with-itself": (
        edit(lambda e: compare_with(e, "c1", "doc-x:c1")),
        ["doc doc-x, region c1, compare_with", "'doc-x:c1' is the claim itself"],
    ),
    "claim-unknown-topic": (
        edit(lambda e: region(e, "c1", "topic")["value"].update(choices=["weather"])),
        ["region c1", "must be one of the configured choices"],
    ),
    "choices-a-string": (
        edit(lambda e: region(e, "c1", "hedged")["value"].update(choices="true")),
        ["region c1", "'hedged' choices must be a list, got 'true'"],
    ),
    "choice-not-in-config": (
        edit(lambda e: region(e, "c1", "hedged")["value"].update(choices=["maybe"])),
        ["region c1", "'hedged' must be one of the configured choices"],
    ),
    "claim-crossing-sentence": (
        edit(
            lambda e: region(e, "c1", "claims")["value"].update(
                end=TEXT.index("BYD") + 3, text=TEXT[TEXT.index("the unit") : TEXT.index("BYD") + 3]
            )
        ),
        ["region c1", "crosses a sentence boundary"],
    ),
    "span-with-outer-whitespace": (
        edit(
            lambda e: region(e, "e4", "entities")["value"].update(
                start=TEXT.index("BYD") - 1, text=TEXT[TEXT.index("BYD") - 1 : TEXT.index("BYD") + 3]
            )
        ),
        ["region e4", "white space"],
    ),
    "two-labels-on-one-region": (
        edit(lambda e: region(e, "e1", "entities")["value"].update(labels=["ORG", "PERSON"])),
        ["region e1", "exactly one label"],
    ),
    "labels-not-a-list": (
        edit(lambda e: region(e, "e1", "entities")["value"].update(labels="ORG")),
        ["region e1", "exactly one label"],
    ),
    "wrong-type-start-string": (
        edit(lambda e: region(e, "e1", "entities")["value"].update(start="0")),
        ["region e1", "must be integers"],
    ),
    "wrong-type-for-control": (
        edit(lambda e: region(e, "e1", "entities").update(type="choices")),
        ["region e1", "does not match control 'entities'"],
    ),
    "region-without-id": (edit(lambda e: region(e, "e1", "entities").pop("id")), ["missing region id"]),
    # the slip: a hedge cue selected, then the claim hotkey pressed (Label Studio adds the label)
    "two-layers-on-one-region": (
        edit(
            lambda e: result(e).append(
                {
                    **region(e, "h1", "hedges"),
                    "from_name": "claims",
                    "value": {**region(e, "h1", "hedges")["value"], "labels": ["CLAIM"]},
                }
            )
        ),
        ["annotation 1 by a@example.org", "region h1 carries labels of two layers: HEDGE and CLAIM"],
    ),
    "pass-not-a-name": (
        edit(lambda e: e[0]["annotations"][0].update({"pass": "round 2"})),
        ["annotation 1 by a@example.org", "pass 'round 2' is not a pass name"],
    ),
    "duplicate-region-id": (
        edit(lambda e: result(e).append({**region(e, "e1", "entities")})),
        ["region e1", "duplicate region id"],
    ),
    "value-not-an-object": (
        edit(lambda e: region(e, "e1", "entities").update(value=[0, 6])),
        ["region e1", "value is not a JSON object"],
    ),
    "result-not-a-list": (
        edit(lambda e: e[0]["annotations"][0].update(result={"id": "e1"})),
        ["annotation 1", "result is not a list"],
    ),
    "annotations-not-a-list": (
        edit(lambda e: e[0].update(annotations={"id": 1})),
        ["task 1 (doc doc-x)", "annotations is not a list"],
    ),
    "lead-time-not-a-number": (
        edit(lambda e: e[0]["annotations"][0].update(lead_time="ten")),
        ["annotation 1", "lead_time a string 'ten' is not a number"],
    ),
    # bool is an int in Python: true was published as a lead time of 1 s
    "lead-time-true": (
        edit(lambda e: e[0]["annotations"][0].update(lead_time=True)),
        ["annotation 1", "lead_time true"],
    ),
    "completed-by-a-list": (
        edit(lambda e: e[0]["annotations"][0].update(completed_by=["a@example.org"])),
        ["task 1 (doc doc-x), annotation 1", "completed_by a list ['a@example.org'] names no annotator"],
    ),
    "missing-data-text": (edit(lambda e: e[0]["data"].pop("text")), ["task 1", "missing data.text"]),
    "missing-doc-id": (edit(lambda e: e[0]["data"].pop("doc_id")), ["task 1", "missing data.doc_id"]),
    "unknown-document-id": (
        edit(lambda e: e[0]["data"].update(doc_id="doc-404")),
        ["task 1", "unknown document id 'doc-404'"],
    ),
    "text-differs-from-manifest": (
        edit(lambda e: e[0]["data"].update(text=TEXT + " extra")),
        ["task 1 (doc doc-x)", "differs from the manifest"],
    ),
    "duplicate-task-ids": (edit(lambda e: e.append({**copy.deepcopy(e[0])})), ["task 1", "duplicate task id"]),
    "duplicate-document-task": (
        edit(lambda e: e.append({**copy.deepcopy(e[0]), "id": 2})),
        ["task 2", "duplicate task for document doc-x"],
    ),
    "task-id-a-list": (edit(lambda e: e[0].update(id=[1])), ["task #0", "id a list [1] is not an integer or a string"]),
    "task-not-an-object": (edit(lambda e: e.append("doc-x")), ["task #1", "not a JSON object"]),
    "meta-not-an-object": (
        edit(lambda e: e[0].update(meta=["batch"])),
        ["task 1 (doc doc-x)", "meta is not a JSON object"],
    ),
    "gold-record-unknown-rule": (
        edit(lambda e: e[0].update(gold={"rule": "majority", "annotation": 0, "annotator": "a@example.org"})),
        ["task 1 (doc doc-x), gold", "rule 'majority' is not one of ground_truth"],
    ),
    "gold-record-out-of-range": (
        edit(lambda e: e[0].update(gold={"rule": "single", "annotation": 3, "annotator": "a@example.org"})),
        ["doc doc-x", "gold.annotation 3 is not an annotation of this task"],
    ),
    "gold-record-wrong-annotator": (
        edit(lambda e: e[0].update(gold={"rule": "single", "annotation": 0, "annotator": "b@example.org"})),
        ["doc doc-x", "gold.annotator 'b@example.org' is not the annotator of annotation 0 (a@example.org)"],
    ),
    "updated-by-a-string-list": (
        edit(lambda e: e[0]["annotations"][0].update(updated_by=["b@example.org"])),
        ["annotation 1 by a@example.org", "updated_by a list", "names no user"],
    ),
    "only-annotation-empty": (
        edit(lambda e: e[0]["annotations"][0].update(result=[])),
        ["doc doc-x", "is empty: not used as gold"],
    ),
}
PAIR_CASES = {
    "pairs-unknown-claim": (pair_case(b_claim="c404"), ["task 11", "unknown claim 'c404'"]),
    "pairs-id-mismatch": (
        pair_case(lambda t: t[0]["data"].update(pair_id="doc-x:c1~doc-x:c9")),
        ["task 11", "pair_id does not match its two claims"],
    ),
    "pairs-contradicts-without-rationale": (pair_case(rationale=""), ["task 11", "needs a rationale"]),
    "pairs-unknown-label": (
        pair_case(lambda t: t[0]["annotations"][0]["result"][0]["value"].update(choices=["MAYBE"])),
        ["task 11", "label must be one of CONTRADICTS, AGREES, UNRELATED"],
    ),
    "pairs-ground-truth-a-string": (
        pair_case(lambda t: t[0]["annotations"][0].update(ground_truth="false")),
        ["task 11", "annotation 5 by b@example.org", "ground_truth must be a JSON boolean", "'false'"],
    ),
    "pairs-was-cancelled-a-string": (
        pair_case(lambda t: t[0]["annotations"][0].update(was_cancelled="true")),
        ["task 11", "annotation 5 by b@example.org", "was_cancelled must be a JSON boolean", "'true'"],
    ),
    "pairs-rationale-lone-surrogate": (
        pair_case(rationale="half an emoji: \ud83d"),
        ["pairs.json, line 40", "is a lone surrogate, not a character"],
    ),
    "pairs-only-annotation-empty": (
        pair_case(lambda t: t[0]["annotations"][0].update(result=[])),
        ["pair doc-x:c1~doc-x:c2", "the only annotation (by b@example.org) is empty", "choose a pair label"],
    ),
    "pairs-missing-data": (pair_case(lambda t: t[0]["data"].pop("b_doc")), ["task 11", "data must hold"]),
    "pairs-task-id-an-object": (
        pair_case(lambda t: t[0].update(id={"id": 11})),
        ["task #0", "id an object {'id': 11} is not an integer or a string"],
    ),
    "pairs-annotations-an-integer": (
        pair_case(lambda t: t[0].update(annotations=3)),
        ["task 11 (pair doc-x:c1~doc-x:c2)", "annotations is not a list (got an integer 3)"],
    ),
    "pairs-annotations-a-float": (
        pair_case(lambda t: t[0].update(annotations=2.5)),
        ["task 11 (pair doc-x:c1~doc-x:c2)", "annotations is not a list (got a number 2.5)"],
    ),
    "pairs-annotations-true": (
        pair_case(lambda t: t[0].update(annotations=True)),
        ["task 11 (pair doc-x:c1~doc-x:c2)", "annotations is not a list (got true)"],
    ),
    "annotations-false": (
        edit(lambda e: e[0].update(annotations=False)),
        ["task 1 (doc doc-x)", "annotations is not a list (got false)"],
    ),
    "pairs-lead-time-a-string": (
        pair_case(lambda t: t[0]["annotations"][0].update(lead_time="12s")),
        ["task 11", "annotation 5 by b@example.org", "lead_time a string '12s' is not a number (seconds) or null"],
    ),
    "pairs-rationale-not-strings": (
        pair_case(lambda t: t[0]["annotations"][0]["result"][1]["value"].update(text=[123, None])),
        [
            "task 11",
            "annotation 5 by b@example.org",
            "rationale text must be a list of strings, got a list [123, None]",
        ],
    ),
    "pairs-completed-by-true": (
        pair_case(lambda t: t[0]["annotations"][0].update(completed_by=True)),
        ["task 11", "annotation 5", "completed_by true names no annotator"],
    ),
    "pairs-two-label-results": (
        pair_case(
            lambda t: t[0]["annotations"][0]["result"].append(
                {**t[0]["annotations"][0]["result"][0], "value": {"choices": ["AGREES"]}}
            )
        ),
        ["task 11", "annotation 5 by b@example.org, region 'label'", "a second result for control 'label'"],
    ),
    "pairs-choices-a-string": (
        pair_case(lambda t: t[0]["annotations"][0]["result"][0]["value"].update(choices="AGREES")),
        ["task 11", "annotation 5 by b@example.org", "label choices must be a list of strings, got a string 'AGREES'"],
    ),
    "pairs-rationale-a-string": (
        pair_case(lambda t: t[0]["annotations"][0]["result"][1]["value"].update(text="both cannot be true")),
        ["task 11", "rationale text must be a list of strings, got a string 'both cannot be true'"],
    ),
    "pairs-label-value-a-list": (
        pair_case(lambda t: t[0]["annotations"][0]["result"][0].update(value=["AGREES"])),
        ["task 11", "label result: value is not a JSON object, got a list ['AGREES']"],
    ),
    "pairs-unknown-document": (
        pair_case(lambda t: t[0]["data"].update(b_doc="doc-y", pair_id=pair_id("doc-x", "c1", "doc-y", "c2"))),
        ["task 11", "names unknown claim 'c2' of document 'doc-y'"],
    ),
    # c1 (ev_profitability_timing) and c2 (su7_launch_date): a cross-topic pair is one only when declared
    "pairs-cross-topic-undeclared": (
        pair_case(),
        ["pair doc-x:c1~doc-x:c2 (gold CONTRADICTS by b@example.org)", "different topics", "compare_with"],
    ),
}


def main() -> None:
    expected = {}
    for name, (export, fragments) in {**SPAN_CASES, **PAIR_CASES}.items():
        try:
            text = json.dumps(export, ensure_ascii=False, indent=1) + "\n"
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate can only be written as a JSON escape
            text = json.dumps(export, indent=1) + "\n"
        (HERE / f"{name}.json").write_text(text, encoding="utf-8")
        expected[f"{name}.json"] = fragments
    (HERE / "truncated-json.json").write_text(json.dumps(BASE, ensure_ascii=False)[:300], encoding="utf-8")
    expected["truncated-json.json"] = ["spans.json", "truncated: the file ends inside the array"]
    (HERE / "not-a-list.json").write_text(json.dumps(BASE[0]), encoding="utf-8")
    expected["not-a-list.json"] = ["spans.json", "not a JSON array (it begins '{"]
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
