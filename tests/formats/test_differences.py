"""What one annotation says differently from another: regions added, missing, moved, relabelled, attribute
values (cues by the text they name), a pair's label and rationale; region ids never count."""

from __future__ import annotations

from conftest import TEXT, gold_spans, span

from crossclaim.formats.labelstudio.differences import differences
from crossclaim.schema.records import Annotation, Pair


def ann(spans, who: str = "b@example.org", **kw) -> Annotation:
    return Annotation("doc-x", who, list(spans), **kw)


def at(text: str) -> str:
    start = TEXT.index(text)
    return f"'{text}' ({start}–{start + len(text)})"


def said(reference: Annotation, other: Annotation, flags: bool = False) -> list[tuple[str, str, str]]:
    return [(d.layer, d.kind, d.what) for d in differences(reference, other, flags)]


def test_the_same_work_under_other_region_ids_differs_in_nothing() -> None:
    other = [type(s)(s.layer, f"z{s.id}", s.start, s.end, s.text, s.label, s.attrs) for s in gold_spans()]
    other = [s.replace(cues=tuple(f"z{c}" for c in s.cues) or None) if s.layer == "claims" else s for s in other]
    assert said(ann(gold_spans()), ann(other)) == []


def test_each_kind_of_span_difference_is_named_by_layer() -> None:
    gold = gold_spans()
    other = [s for s in gold if s.id not in ("e4", "h1")]  # BYD missing; the hedge too
    other = [span("entities", "e2", "SU7", "ORG") if s.id == "e2" else s for s in other]  # relabelled
    other = [span("figures", "f1", "in late 2023", "DATE", value="2023-late") if s.id == "f1" else s for s in other]
    other = [s.replace(hedged=False, cues=None) if s.id == "c1" else s for s in other]
    other.append(span("entities", "e9", "Fans", "PERSON"))
    found = said(ann(gold), ann(other))
    claim = "the unit could be profitable in 2025"
    assert ("entities", "relabelled", f"{at('SU7')}: PRODUCT → ORG") in found
    assert ("entities", "missing", f"ORG {at('BYD')}") in found
    assert ("entities", "added", f"PERSON {at('Fans')}") in found
    assert ("figures", "moved", f"DATE {at('late 2023')} → {at('in late 2023')}") in found
    assert ("hedges", "missing", f"HEDGE {at('could')}") in found
    assert ("claims", "attribute", f"CLAIM {at(claim)}: cues ['could'] → (none)") in found
    assert ("claims", "attribute", f"CLAIM {at(claim)}: hedged true → false") in found
    assert len(found) == 7, found
    layers = [layer for layer, _, _ in found]
    assert layers == sorted(layers, key=["entities", "figures", "hedges", "claims"].index)


def test_a_pair_label_and_rationale_and_the_flags_of_an_edit() -> None:
    def pair(label: str, rationale: str, **kw) -> Annotation:
        return Annotation("", "e@example.org", [], payload=Pair("p", "d", "c1", "e", "c2", label, rationale), **kw)

    before = pair("CONTRADICTS", "2025 versus late 2023", lead_time=12.0)
    after = pair("UNRELATED", "", lead_time=30.5)
    assert said(before, after, flags=True) == [
        ("pairs", "label", "label CONTRADICTS → UNRELATED"),
        ("pairs", "rationale", "rationale '2025 versus late 2023' → ''"),
        ("annotation", "flag", "lead_time 12.0 → 30.5"),
    ]
    assert said(before, pair("CONTRADICTS", "2025 versus late 2023")) == []
