"""Checks of spans against their document and the schema, shared by build, studio and score."""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable
from operator import attrgetter

from crossclaim.errors import shown
from crossclaim.schema.records import Span
from crossclaim.schema.scheme import ATTRIBUTE, LAYERS, Attribute, attributes_of

Problem = tuple[str, str]

# Per layer: the names of its attributes, and whether its spans must carry one (a span with none is then checked).
_NAMES = {layer: frozenset(a.name for a in attributes_of(layer)) for layer in LAYERS}
_REQUIRED = {layer for layer in LAYERS if any(a.required and not a.derived for a in attributes_of(layer))}


def span_problems(
    text: str,
    spans: list[Span],
    sentences: list[tuple[int, int]],
    name: Callable[[Span], str],
    prediction: bool = False,
) -> list[Problem]:
    """Everything wrong with ``spans`` of one document, as (where, what) pairs; ``name(span)`` says where.

    ``sentences`` (character ranges) are what a claim must stay inside. A system's ``prediction`` must
    be well-formed (offsets, text, labels, value grammar) but may leave attributes out, overlap inside
    a layer and cross sentences: scoring projects it.
    """
    out: list[Problem] = []
    ids: set[str] = set()
    by_layer: dict[str, list[Span]] = defaultdict(list)
    size = len(text)
    for s in spans:
        found: list[str] = []  # named once, only when something is wrong (most spans are fine)
        if s.id in ids:
            found.append("duplicate span id")
        ids.add(s.id)
        layer = LAYERS.get(s.layer)
        if layer is None:
            out.append((name(s), f"unknown layer {shown(s.layer)}"))
            continue
        if s.label not in layer.label_names:
            allowed = ", ".join(layer.label_names)
            found.append(f"unknown label {shown(s.label)} for layer {s.layer} (allowed: {allowed})")
        start, end = s.start, s.end
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= size):
            found.append(offsets_problem(start, end, size, "document"))
        else:
            if text[start:end] != s.text:
                there = shown(text[start:end])
                found.append(f"span text {shown(s.text)} is not the document text at {start}:{end} ({there})")
            elif s.text != s.text.strip():
                found.append(f"span {shown(s.text)} starts or ends with white space")
            if s.attrs or s.layer in _REQUIRED:
                found += _attribute_problems(s, prediction)
            by_layer[s.layer].append(s)
        if found:
            here = name(s)
            out += [(here, p) for p in found]
    if prediction:
        return out
    for layer_spans in by_layer.values():
        layer_spans.sort(key=attrgetter("start", "end"))
        for a, b in zip(layer_spans, layer_spans[1:]):
            if b.start < a.end:
                out.append(
                    (name(b), f"overlaps {a.layer} span {a.id} {shown(a.text)} ({a.start}:{a.end}) inside a flat layer")
                )
    for layer, layer_spans in by_layer.items():
        refs = any(a.kind == "refs" for a in attributes_of(layer))
        one_sentence = LAYERS[layer].in_one_sentence
        if not (refs or one_sentence):
            continue
        for s in layer_spans:
            if refs:
                out += [(name(s), p) for p in _reference_problems(s, by_layer)]
            if one_sentence and not _inside_one(sentences, s.start, s.end):
                out.append((name(s), f"{LAYERS[s.layer].noun} {shown(s.text)} crosses a sentence boundary"))
    return out


def offsets_problem(start: object, end: object, size: int, whole: str) -> str:
    """What is wrong with span offsets that are not ``0 <= start < end <= size`` (``whole``: what has the
    ``size`` characters, named in the message)."""
    if isinstance(start, int) and isinstance(end, int) and 0 <= end <= start <= size:
        return f"offsets {start}:{end} " + ("hold no character" if start == end else "end before they start")
    return f"offsets {start}:{end} out of range ({whole} has {size} characters)"


def _attribute_problems(s: Span, prediction: bool = False) -> list[str]:
    """Attributes the schema does not declare for the layer, missing required ones, wrong values."""
    out = (
        []
        if s.attrs.keys() <= _NAMES[s.layer]  # the common case, tested without building anything
        else [
            f"unknown attribute {shown(name)} on a {s.layer} span"
            for name in sorted(s.attrs)
            if (s.layer, name) not in ATTRIBUTE
        ]
    )
    for attr in attributes_of(s.layer):
        value = s.attrs.get(attr.name)
        if attr.derived or value is None or value == "":
            if attr.required and not attr.derived and not prediction:
                what = attr.name if attr.kind == "text" else f"{attr.name!r} choice"
                out.append(f"{LAYERS[s.layer].noun} {shown(s.text)} has no {what}")
            continue
        out += _value_problems(attr, s.label, value)
    return out


def _value_problems(attr: Attribute, label: str, value: object) -> list[str]:
    """A present attribute value against its declared kind, choices and grammar."""
    if attr.kind == "text":
        if not isinstance(value, str):
            return [f"{attr.name!r} must be text, got {shown(value)}"]
        rule = attr.rules.get(label)
        if rule is not None and not rule.matches(value):
            return [f"{attr.name} {shown(value)} does not fit the {label} grammar: {rule.form}"]
    elif attr.kind == "bool" and not isinstance(value, bool):
        return [f"{attr.name!r} must be true or false, got {shown(value)}"]
    elif attr.kind == "choice" and value not in attr.choices:
        return [f"{attr.name} {shown(value)} is not in the controlled list"]
    elif attr.kind == "refs" and not (isinstance(value, tuple) and all(isinstance(v, str) for v in value)):
        return [f"{attr.name!r} must be a list of span ids, got {shown(value)}"]
    return []


def _reference_problems(s: Span, by_layer: dict[str, list[Span]]) -> list[str]:
    """Span ids held by ``refs`` attributes: spans of the referenced layer, inside ``s`` where declared,
    and only while the attribute's ``only_if`` flag is true."""
    out = []
    noun = LAYERS[s.layer].noun
    for attr in attributes_of(s.layer):
        refs = s.attrs.get(attr.name, ())
        if attr.kind != "refs" or not refs:
            continue
        targets = {t.id: t for t in by_layer.get(attr.refs or "", [])}
        target_noun = LAYERS[attr.refs or ""].noun
        for r in refs:
            t = targets.get(r)
            if t is None:
                out.append(f"{attr.relation} {shown(r)} is not a {target_noun} of this document")
            elif attr.refs_inside and not (s.start <= t.start and t.end <= s.end):
                out.append(
                    f"{attr.relation} {r} {shown(t.text)} ({t.start}:{t.end}) is outside the {noun} "
                    f"({s.start}:{s.end}): "
                    f"a {attr.relation} relation goes from a {noun} to a {target_noun} inside it"
                )
        if attr.only_if and s.attrs.get(attr.only_if) is False:
            out.append(f"{noun} is {attr.only_if}=false but has {attr.relation} relations to {', '.join(refs)}")
    return out


def _inside_one(sentences: list[tuple[int, int]], start: int, end: int) -> bool:
    i = bisect.bisect_right(sentences, (start, float("inf"))) - 1
    return i >= 0 and sentences[i][0] <= start and end <= sentences[i][1]
