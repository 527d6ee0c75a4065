"""Checks of spans against their document and the schema, shared by build, studio and score."""

from __future__ import annotations

import bisect
from collections import defaultdict

from crossclaim.schema.records import Span
from crossclaim.schema.scheme import LAYERS, TOPICS, VALUE_RULES

Problem = tuple[str, str]


def span_problems(
    text: str,
    spans: list[Span],
    where: str,
    sentences: list[tuple[int, int]] | None = None,
    region_where=None,
    prediction: bool = False,
) -> list[Problem]:
    """Everything wrong with ``spans`` of one document, as (where, what) pairs.

    ``region_where(span)`` names a span in messages (default: ``where`` + layer and id).
    ``sentences`` (character ranges) enables the check that claims stay inside one sentence.
    A system's ``prediction`` must be well-formed (offsets, text, labels, value grammar) but
    may leave attributes out, overlap inside a layer and cross sentences: scoring projects it.
    """
    name = region_where or (lambda s: f"{where}, {s.layer} span {s.id}")
    out: list[Problem] = []
    ids: set[str] = set()
    by_layer: dict[str, list[Span]] = defaultdict(list)
    for s in spans:
        here = name(s)
        if s.id in ids:
            out.append((here, "duplicate span id"))
        ids.add(s.id)
        layer = LAYERS.get(s.layer)
        if layer is None:
            out.append((here, f"unknown layer {s.layer!r}"))
            continue
        if s.label not in layer.label_names:
            out.append(
                (here, f"unknown label {s.label!r} for layer {s.layer} (allowed: {', '.join(layer.label_names)})")
            )
        if not (isinstance(s.start, int) and isinstance(s.end, int) and 0 <= s.start < s.end <= len(text)):
            out.append((here, f"offsets {s.start}:{s.end} out of range (document has {len(text)} characters)"))
            continue
        if text[s.start : s.end] != s.text:
            out.append(
                (
                    here,
                    f"span text {s.text!r} is not the document text at {s.start}:{s.end} ({text[s.start : s.end]!r})",
                )
            )
        elif s.text != s.text.strip():
            out.append((here, f"span {s.text!r} starts or ends with white space"))
        out += [(here, p) for p in _attribute_problems(s, prediction)]
        by_layer[s.layer].append(s)
    if prediction:
        return out
    for layer_spans in by_layer.values():
        layer_spans.sort(key=lambda s: (s.start, s.end))
        for a, b in zip(layer_spans, layer_spans[1:]):
            if b.start < a.end:
                out.append(
                    (name(b), f"overlaps {a.layer} span {a.id} {a.text!r} ({a.start}:{a.end}) inside a flat layer")
                )
    hedges = {s.id: s for s in by_layer.get("hedges", [])}
    for c in by_layer.get("claims", []):
        for cue in c.cues:
            h = hedges.get(cue)
            if h is None:
                out.append((name(c), f"cue {cue!r} is not a hedge cue of this document"))
            elif not (c.start <= h.start and h.end <= c.end):
                out.append(
                    (
                        name(c),
                        f"cue {cue} {h.text!r} ({h.start}:{h.end}) is outside the claim ({c.start}:{c.end}): "
                        "a cue relation goes from a claim to a hedge cue inside it",
                    )
                )
        if c.hedged is False and c.cues:
            out.append((name(c), f"claim is hedged=false but has cue relations to {', '.join(c.cues)}"))
        if sentences is not None and not _inside_one(sentences, c.start, c.end):
            out.append((name(c), f"claim {c.text!r} crosses a sentence boundary"))
    return out


def _attribute_problems(s: Span, prediction: bool = False) -> list[str]:
    out = []
    if s.layer != "figures" and s.value is not None:
        out.append(f"unknown attribute 'value' on a {s.layer} span")
    if s.layer != "claims" and (s.hedged is not None or s.topic is not None or s.cues):
        out.append(f"unknown attribute (hedged/topic/cues) on a {s.layer} span")
    if s.layer == "figures":
        rule = VALUE_RULES.get(s.label)
        if not s.value:
            if not prediction:
                out.append(f"figure {s.text!r} has no value")
        elif rule is not None and not rule.matches(s.value):
            out.append(f"value {s.value!r} does not fit the {s.label} grammar: {rule.form}")
    if s.layer == "claims" and not prediction:
        if s.hedged is None:
            out.append(f"claim {s.text!r} has no 'hedged' choice")
        if s.topic not in TOPICS:
            out.append(f"claim topic {s.topic!r} is not in the controlled list")
    return out


def _inside_one(sentences: list[tuple[int, int]], start: int, end: int) -> bool:
    i = bisect.bisect_right(sentences, (start, float("inf"))) - 1
    return i >= 0 and sentences[i][0] <= start and end <= sentences[i][1]
