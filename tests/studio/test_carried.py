"""What a plain pull keeps of the passes' work: their committed annotations added back, readable ids."""

from __future__ import annotations

from crossclaim.formats.labelstudio.annotations import PASS_KEY
from crossclaim.formats.labelstudio.ids import ID_META
from crossclaim.studio.carried import Carried, with_carried

ANN1, NAME = "ann1@team.example", "round-2"


def ann(who: str, n: int, **kw) -> dict:
    return {"id": n, "completed_by": {"id": n, "email": who}, "result": [], **kw}


def test_a_plain_pull_keeps_the_passes_committed_annotations_and_ids() -> None:
    carry = Carried(
        spans={"doc-x": [{**ann(ANN1, 0), PASS_KEY: NAME}]},
        pairs={},
        ids={"doc-x": {"dljnItd8xT": "c7"}},
    )
    region = {"id": "dljnItd8xT", "from_name": "claims", "type": "labels", "value": {"start": 0, "end": 1}}
    served = {"data": {"doc_id": "doc-x"}, "meta": {}, "annotations": [ann("a@x", 1, result=[region])]}
    out = with_carried(served, "doc_id", carry.spans, carry.ids, "export")
    assert [a.get(PASS_KEY) for a in out["annotations"]] == [None, NAME]
    assert out["annotations"][0]["result"][0]["id"] == "c7"
    assert out["meta"][ID_META] == {"dljnItd8xT": "c7"}
