"""Label Studio JSON: every malformed export is refused with its message; records round-trip exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO, task, write_repo
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from crossclaim.cli import app
from crossclaim.formats.labelstudio.spans import parse_span_export, region_results
from crossclaim.schema.records import Span
from crossclaim.schema.scheme import LAYERS, TOPICS, VALUE_RULES
from crossclaim.text import sentence_bounds

BAD = REPO / "tests" / "data" / "bad_exports"
EXPECTED = json.loads((BAD / "expected.json").read_text())


def test_the_corpus_has_at_least_30_cases() -> None:
    assert len(EXPECTED) >= 30
    assert sorted(EXPECTED) == sorted(p.name for p in BAD.glob("*.json") if p.name != "expected.json")


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_bad_export_is_refused_with_its_message(tmp_path: Path, case: str) -> None:
    from conftest import gold_spans

    root = write_repo(tmp_path)
    exports = root / "annotations" / "exports"
    if case.startswith("pairs-"):
        (exports / "spans.json").write_text(json.dumps([task(gold_spans())]), encoding="utf-8")
        (exports / "pairs.json").write_bytes((BAD / case).read_bytes())
    else:
        (exports / "spans.json").write_bytes((BAD / case).read_bytes())
    result = CliRunner().invoke(app, ["build", "--root", str(root)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for fragment in EXPECTED[case]:
        assert fragment in result.output, f"{case}: {fragment!r} not in {result.output!r}"
    assert not (root / "dataset").exists()


# ---------------------------------------------------------------------------------------------
# property: records -> Label Studio JSON -> records, with emoji and CJK text

ALPHABET = st.sampled_from(list("abcXYZ 019.,’-") + ["小", "米", "🚗", "😀", "𝔸", "\n"])


@st.composite
def documents(draw):
    text = draw(st.text(ALPHABET, min_size=1, max_size=120))
    spans: list[Span] = []
    for layer in LAYERS.values():
        cuts = sorted(draw(st.sets(st.integers(0, len(text)), max_size=8)))
        for n, (a, b) in enumerate(zip(cuts[::2], cuts[1::2])):
            piece = text[a:b]
            if not piece or piece != piece.strip():
                continue
            if layer.name == "claims" and not any(x <= a and b <= y for x, y in sentence_bounds(text)):
                continue
            label = draw(st.sampled_from(layer.label_names))
            attrs = {}
            if layer.name == "figures":
                attrs["value"] = draw(st.sampled_from([ex for _, ex in VALUE_RULES[label].examples]))
            if layer.name == "claims":
                attrs = {"hedged": draw(st.booleans()), "topic": draw(st.sampled_from(sorted(TOPICS)))}
            spans.append(Span(layer.name, f"{layer.name[0]}{n}", a, b, piece, label, attrs))
    hedges = [s.id for s in spans if s.layer == "hedges"]
    spans = [
        s.replace(cues=tuple(sorted(draw(st.sets(st.sampled_from(hedges), max_size=2)))))
        if s.layer == "claims" and hedges
        else s
        for s in spans
    ]
    meta = draw(st.dictionaries(st.sampled_from(["batch", "source", "小米"]), st.integers(0, 9), max_size=2))
    lead = draw(st.one_of(st.none(), st.floats(0, 1e4, allow_nan=False)))
    who = draw(st.sampled_from(["a@example.org", "b@example.org"]))
    return text, spans, meta, lead, who


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_property_records_roundtrip_through_label_studio_json(doc) -> None:
    text, spans, meta, lead, who = doc
    raw = {
        "id": 7,
        "data": {"doc_id": "d", "text": text},
        "meta": meta,
        "annotations": [
            {"id": 1, "completed_by": {"id": 3, "email": who}, "lead_time": lead, "result": region_results(spans, text)}
        ],
        "predictions": [
            {"model_version": "regex-1", "score": 0.5, "result": region_results(spans, text, "prediction")}
        ],
    }
    exported = json.loads(json.dumps(raw))  # what a server hands back is plain JSON
    (parsed,) = parse_span_export([exported], "export.json")
    key = sorted
    assert parsed.meta == meta
    (ann,) = parsed.annotations
    assert (ann.annotator, ann.lead_time) == (who, lead)
    assert key(ann.spans, key=lambda s: (s.layer, s.id)) == key(spans, key=lambda s: (s.layer, s.id))
    (pred,) = parsed.predictions
    assert (pred.model_version, pred.score) == ("regex-1", 0.5)
    assert key(pred.spans, key=lambda s: (s.layer, s.id)) == key(spans, key=lambda s: (s.layer, s.id))
