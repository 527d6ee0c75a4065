"""Readable, stable dataset ids for the regions Label Studio names at random (``formats.labelstudio.ids``)."""

from __future__ import annotations

import copy

import pytest
from conftest import TEXT, gold_spans, span

from crossclaim.errors import InputError
from crossclaim.formats.labelstudio.ids import ID_META, readable_ids
from crossclaim.formats.labelstudio.spans import parse_span_tasks, region_results


def served(*annotations: list) -> dict:
    """A span task as Label Studio exports it, one annotation per list of spans."""
    anns = [
        {"id": n, "completed_by": {"id": n, "email": f"a{n}@example.org"}, "result": region_results(spans, TEXT)}
        for n, spans in enumerate(annotations, start=1)
    ]
    return {"id": 1, "data": {"doc_id": "doc-x", "text": TEXT, "headline": ""}, "meta": {}, "annotations": anns}


def with_new_claim(rid: str = "dljnItd8xT", cue: str | None = "h1") -> list:
    """The fixture's spans (claims c1, c2, hedge h1) and a claim drawn in Label Studio, with its cue."""
    cues = (cue,) if cue else ()
    new = span("claims", rid, "Lei Jun said the unit could be profitable in 2025", "CLAIM", hedged=True,
               topic="ev_profitability_timing", cues=cues)  # fmt: skip
    return [s for s in gold_spans() if s.id != "c1"] + [new]


def ids(task: dict, layer: str = "claims") -> list[str]:
    (parsed,) = parse_span_tasks([task], "export")
    return sorted(s.id for a in parsed.annotations for s in a.spans if s.layer == layer)


def test_a_random_id_becomes_the_next_number_of_its_layer_and_its_attributes_and_relations_follow() -> None:
    task = readable_ids(served(with_new_claim()), "export")
    assert ids(task) == ["c2", "c3"]
    assert task["meta"][ID_META] == {"dljnItd8xT": "c3"}
    (parsed,) = parse_span_tasks([task], "export")
    (claim,) = [s for s in parsed.annotations[0].spans if s.id == "c3"]
    assert (claim.hedged, claim.topic, claim.cues) == (True, "ev_profitability_timing", ("h1",))


def test_ids_are_stable_at_every_later_pull_and_never_handed_out_twice() -> None:
    first = readable_ids(served(with_new_claim()), "export")
    handed_out = first["meta"][ID_META]
    # a later export: the server still has the random id, another claim was drawn before it in the text,
    # and the first pull's map comes from the committed export (the server's meta does not have it yet)
    later = served(with_new_claim() + [span("claims", "A1b2C3d4E5", "BYD cut prices by a third in May", "CLAIM",
                                            hedged=False, topic="market_impact")])  # fmt: skip
    readable_ids(later, "export", handed_out)
    assert later["meta"][ID_META] == {"dljnItd8xT": "c3", "A1b2C3d4E5": "c4"}
    # the claim c3 is deleted in Label Studio and a new one drawn: c3 is not handed out again
    gone = served([*[s for s in gold_spans() if s.id != "c1"], span("claims", "Zz9_y-8xW7", "BYD cut prices by a "
                   "third in May", "CLAIM", hedged=False, topic="market_impact")])  # fmt: skip
    readable_ids(gone, "export", later["meta"][ID_META])
    assert gone["meta"][ID_META]["Zz9_y-8xW7"] == "c5"


def test_the_same_random_id_in_two_annotations_gets_one_id_and_readable_ids_stay() -> None:
    task = served(with_new_claim(), with_new_claim())  # Duplicate Annotation copies region ids
    task["predictions"] = [{"model_version": "m", "result": region_results(with_new_claim("Pq7_rs8TuV"), TEXT)}]
    before = copy.deepcopy(task)
    readable_ids(task, "export")
    assert ids(task) == ["c2", "c2", "c3", "c3"]
    assert task["predictions"] == before["predictions"]  # predictions are never gold: left as they are
    untouched = served(gold_spans())
    assert readable_ids(copy.deepcopy(untouched), "export") == untouched  # nothing to rename: no meta added


def test_new_regions_are_numbered_in_a_fixed_order() -> None:
    a = served([span("entities", "zzzzzzzzzz", "BYD", "ORG"), span("entities", "aaaaaaaaaa", "Lei Jun", "PERSON")])
    readable_ids(a, "export")
    assert a["meta"][ID_META] == {"aaaaaaaaaa": "e1", "zzzzzzzzzz": "e2"}  # by offset: Lei Jun comes first


def test_a_malformed_map_is_named() -> None:
    task = served(with_new_claim())
    task["meta"][ID_META] = {"dljnItd8xT": "claim three"}
    with pytest.raises(InputError, match="meta.crossclaim_ids must map Label Studio region ids"):
        readable_ids(task, "Label Studio span export: task 1")
