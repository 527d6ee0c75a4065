"""Label Studio JSON: every malformed export is refused with its message; records round-trip exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO, project_files, task, write_repo
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from crossclaim.cli import app
from crossclaim.errors import InputError, Problems
from crossclaim.formats.labelstudio.annotations import editor
from crossclaim.formats.labelstudio.spans import from_utf16, parse_span_tasks, region_results
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
    flags = ["--utf16"] if case.startswith("utf16-") else []  # an export counted in UTF-16 code units
    result = CliRunner().invoke(app, ["build", "--root", str(root), *flags])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for fragment in EXPECTED[case]:
        assert fragment in result.output, f"{case}: {fragment!r} not in {result.output!r}"
    # each problem is said once (a refused value is not also reported missing)
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == SEVERAL.get(case, 1), result.output
    assert not (root / "dataset").exists()


# the cases that are two problems: a task whose id and document both repeat; a stale pair and the advice
SEVERAL = {"duplicate-task-ids.json": 2, "pairs-cross-topic-undeclared.json": 2}


# a whole file that is not an export: `check` reads it as `pull` reads the server's answer
CHECK_EXPECTED = EXPECTED | {
    "not-a-list.json": ["not-a-list.json", "a Label Studio export is a JSON list of tasks"],
    "truncated-json.json": ["truncated-json.json", "not valid JSON (truncated or malformed)"],
}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_studio_check_finds_what_pull_would_and_writes_nothing(tmp_path: Path, case: str) -> None:
    from conftest import gold_spans

    root = write_repo(tmp_path, [task(gold_spans())])
    before = project_files(root)
    project = "pairs" if case.startswith("pairs-") else "spans"
    flags = ["--utf16"] if case.startswith("utf16-") else []
    args = ["studio", "check", str(BAD / case), "--root", str(root), "--project", project, "--accept-deletions"]
    result = CliRunner().invoke(app, [*args, *flags])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for fragment in CHECK_EXPECTED[case]:
        fragment = fragment.replace("pairs.json", case).replace("spans.json", case)  # the file checked is named
        assert fragment in result.output, f"{case}: {fragment!r} not in {result.output!r}"
    assert project_files(root) == before


def test_studio_check_of_an_empty_export_names_the_file_of_each_loss(tmp_path: Path) -> None:
    from conftest import gold_spans

    root = write_repo(tmp_path, [task(gold_spans())])
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    told = CliRunner().invoke(app, ["studio", "check", str(empty), "--root", str(root)])
    assert (
        told.exit_code == 2
        and f"{empty}: cannot tell the project: it holds no task (say which with --project)" in told.output
    )
    lost = CliRunner().invoke(app, ["studio", "check", str(empty), "--root", str(root), "--project", "spans"])
    assert lost.exit_code == 2
    assert f"{empty}: document doc-x: its task (1 annotation) is not in the new export" in lost.output
    assert f"{empty}: lacks work the committed exports (annotations/exports) hold: nothing was written" in lost.output


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
    hedges = [s for s in spans if s.layer == "hedges"]

    def cues(claim: Span) -> tuple[str, ...]:
        inside = [h.id for h in hedges if claim.start <= h.start and h.end <= claim.end]
        if not (claim.hedged and inside):
            return ()  # a cue is a hedge inside its claim, and only a hedged claim has cues
        return tuple(sorted(draw(st.sets(st.sampled_from(inside), max_size=2))))

    spans = [s.replace(cues=cues(s)) if s.layer == "claims" else s for s in spans]
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
    (parsed,) = parse_span_tasks([exported], "export.json")
    key = sorted
    assert parsed.meta == meta
    (ann,) = parsed.annotations
    assert (ann.annotator, ann.lead_time) == (who, lead)
    assert key(ann.spans, key=lambda s: (s.layer, s.id)) == key(spans, key=lambda s: (s.layer, s.id))
    (pred,) = parsed.predictions
    assert (pred.model_version, pred.score) == ("regex-1", 0.5)
    assert key(pred.spans, key=lambda s: (s.layer, s.id)) == key(spans, key=lambda s: (s.layer, s.id))


# ---------------------------------------------------------------------------------------------
# offsets: code points, as Label Studio 1.23 stores them

# Regions drawn in a real browser on a Label Studio 1.23.2 server over this text were stored with
# these offsets: the browser is the authority, and they are Python's text[start:end].
BROWSER_TEXT = "Xiaomi 🚗 sold 76,000 cars in 2024 🎉 and is likely to sell more 𝐒𝐔𝟕 units."
BROWSER_REGIONS = [(14, 25, "76,000 cars"), (43, 49, "likely"), (63, 66, "𝐒𝐔𝟕")]


def browser_export(regions: list[tuple[int, int, str]]) -> list[dict]:
    result = [
        {
            "id": f"r{n}",
            "from_name": "entities",
            "to_name": "text",
            "type": "labels",
            "origin": "manual",
            "value": {"start": a, "end": b, "text": t, "labels": ["PRODUCT"]},
        }
        for n, (a, b, t) in enumerate(regions)
    ]
    return [{"id": 1, "data": {"doc_id": "d", "text": BROWSER_TEXT}, "annotations": [{"id": 1, "result": result}]}]


def test_offsets_stored_by_the_browser_are_accepted_as_they_are() -> None:
    (parsed,) = parse_span_tasks(browser_export(BROWSER_REGIONS), "export.json")
    got = sorted((s.start, s.end, s.text) for s in parsed.annotations[0].spans)
    assert got == BROWSER_REGIONS
    assert all(BROWSER_TEXT[a:b] == t for a, b, t in got)


def test_pushed_regions_carry_the_offsets_the_browser_stores() -> None:
    spans = [Span("entities", f"r{n}", a, b, t, "PRODUCT") for n, (a, b, t) in enumerate(BROWSER_REGIONS)]
    pushed = [(r["value"]["start"], r["value"]["end"], r["value"]["text"]) for r in region_results(spans, BROWSER_TEXT)]
    assert pushed == BROWSER_REGIONS  # a prediction for "likely" is drawn over "likely", not "kely t"


def utf16_offset(text: str, i: int) -> int:
    """The UTF-16 code unit offset of code point ``i``, from Python's own UTF-16 codec."""
    return len(text[:i].encode("utf-16-le")) // 2


def test_an_export_counted_in_utf16_is_refused_with_the_flag_that_converts_it() -> None:
    regions = [(utf16_offset(BROWSER_TEXT, a), utf16_offset(BROWSER_TEXT, b), t) for a, b, t in BROWSER_REGIONS]
    with pytest.raises(InputError) as refused:
        list(parse_span_tasks(browser_export(regions), "export.json"))
    lines = refused.value.lines()
    assert len(lines) == 3  # one line per region, each saying what was found
    assert all("UTF-16 code units" in line and "--utf16" in line for line in lines)
    assert "'likely' does not match the text at 45:51" in lines[1] and "(code points 43:49)" in lines[1]
    assert not any("Python character offsets" in line for line in lines)
    (converted,) = parse_span_tasks(from_utf16(browser_export(regions), "export.json"), "export.json")
    assert sorted((s.start, s.end, s.text) for s in converted.annotations[0].spans) == BROWSER_REGIONS


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_property_utf16_exports_convert_to_code_points(doc) -> None:
    text, spans, *_ = doc
    code_points = region_results(spans, text)
    utf16 = json.loads(json.dumps(code_points))
    for r in utf16:
        if "start" in r.get("value", {}):
            r["value"].update(start=utf16_offset(text, r["value"]["start"]), end=utf16_offset(text, r["value"]["end"]))
    task = {"data": {"doc_id": "d", "text": text}, "annotations": [{"result": utf16}], "predictions": []}
    (converted,) = from_utf16([task], "export.json")
    assert converted["annotations"][0]["result"] == code_points


def test_an_editor_who_is_the_author_is_named_by_id_when_the_author_names_nobody() -> None:
    """updated_by 3 with completed_by {"id": 3} whose email is not a string: completed_by is the problem
    (``annotator`` says so), and updated_by still names user 3, with no second problem."""
    problems = Problems()
    item = {"updated_by": 3, "completed_by": {"id": 3, "email": 5}}
    assert editor(item, "here", problems) == "user:3" and not problems
    item = {"updated_by": 3, "completed_by": {"id": 3, "email": "a@example.org"}}
    assert editor(item, "here", problems) == "a@example.org" and not problems
    assert editor({"updated_by": [3]}, "here", problems) is None and len(problems) == 1
