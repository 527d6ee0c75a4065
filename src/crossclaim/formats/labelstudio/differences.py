"""What one annotation of a task says differently from another, in words for a person (``studio
disputes``, a pull refusing an edit). Region ids are never compared: two annotators' regions get
different ids for the same text. Regions are paired by layer and offsets, then by overlap (*moved*);
what is left is *added* (only in the other) or *missing* (only in the reference).
"""

from __future__ import annotations

from dataclasses import dataclass

from crossclaim.schema.records import Annotation, Pair, Span
from crossclaim.schema.scheme import ATTRIBUTES, LAYERS

ADDED, MISSING, MOVED, RELABELLED, ATTRIBUTE = "added", "missing", "moved", "relabelled", "attribute"
LABEL, RATIONALE, FLAG = "label", "rationale", "flag"
KINDS = (ADDED, MISSING, MOVED, RELABELLED, ATTRIBUTE, LABEL, RATIONALE, FLAG)
PAIRS = "pairs"  # the layer name of a claim pair's label and rationale, in reports
_REFS = {(a.layer, a.name): a.refs for a in ATTRIBUTES if a.kind == "refs"}
QUOTED = 60  # characters of a span's or rationale's text quoted before an ellipsis


@dataclass(frozen=True)
class Difference:
    """One thing ``other`` says differently from the reference, in words (``what``) for a person."""

    layer: str  # a span layer, or ``PAIRS``
    kind: str  # one of ``KINDS``
    what: str


def differences(reference: Annotation, other: Annotation, flags: bool = False) -> list[Difference]:
    """Everything ``other`` says differently from ``reference``, by layer (schema order), then kind;
    ``flags`` adds ``ground_truth``, ``was_cancelled`` and ``lead_time`` (what an edit may also change)."""
    out: list[Difference] = []
    if isinstance(reference.payload, Pair) or isinstance(other.payload, Pair):
        (label, rationale), (label2, rationale2) = _pair(reference), _pair(other)
        if label != label2:
            out.append(Difference(PAIRS, LABEL, f"label {label or '(none)'} → {label2 or '(none)'}"))
        if rationale != rationale2:
            out.append(Difference(PAIRS, RATIONALE, f"rationale '{rationale}' → '{rationale2}'"))  # whole: it is read
    else:
        for layer in LAYERS:
            out += _span_differences(layer, reference.spans, other.spans)
    for name in ("ground_truth", "was_cancelled", "lead_time") if flags else ():
        before, after = getattr(reference, name), getattr(other, name)
        if before != after:
            out.append(Difference("annotation", FLAG, f"{name} {_plain(before)} → {_plain(after)}"))
    return out


def _pair(a: Annotation) -> tuple[str | None, str]:
    return (a.payload.label, a.payload.rationale) if isinstance(a.payload, Pair) else (None, "")


def _span_differences(layer: str, ref_all: list[Span], other_all: list[Span]) -> list[Difference]:
    """The differences of one layer's regions (``*_all``: every region, which a claim's ``cues`` name)."""
    out: list[Difference] = []
    ref_ids, other_ids = {s.id: s for s in ref_all}, {s.id: s for s in other_all}
    left = sorted((s for s in ref_all if s.layer == layer), key=_at)
    right = sorted((s for s in other_all if s.layer == layer), key=_at)
    paired: list[tuple[Span, Span]] = []
    for same in (lambda r, s: (r.start, r.end) == (s.start, s.end), lambda r, s: r.start < s.end and s.start < r.end):
        for s in list(right):
            match = next((r for r in left if same(r, s)), None)
            if match is not None:
                paired.append((match, s))
                left.remove(match)
                right.remove(s)
    for r, s in sorted(paired, key=lambda p: _at(p[0])):
        if (r.start, r.end) != (s.start, s.end):
            out.append(Difference(layer, MOVED, f"{r.label} {_span(r)} → {_span(s)}"))
        if r.label != s.label:
            out.append(Difference(layer, RELABELLED, f"{_span(s)}: {r.label} → {s.label}"))
        for name in sorted(set(r.attrs) | set(s.attrs)):
            before, after = _value(r, name, ref_ids), _value(s, name, other_ids)
            if before != after:
                out.append(Difference(layer, ATTRIBUTE, f"{s.label} {_span(s)}: {name} {before} → {after}"))
    out += [Difference(layer, ADDED, f"{s.label} {_span(s)}{_attrs(s, other_ids)}") for s in right]
    out += [Difference(layer, MISSING, f"{r.label} {_span(r)}{_attrs(r, ref_ids)}") for r in left]
    return out


def _at(s: Span) -> tuple:
    return (s.start, s.end, s.label, s.id)


def _span(s: Span) -> str:
    return f"{_quote(s.text)} ({s.start}–{s.end})"


def _value(s: Span, name: str, regions: dict[str, Span]) -> str:
    """An attribute's value in words; region ids (a claim's cues) by the text of the regions they name."""
    v = s.attrs.get(name)
    if v is None:
        return "(none)"
    if (s.layer, name) in _REFS and isinstance(v, tuple):
        named = [regions[r] for r in v if r in regions]
        return "[" + ", ".join(_quote(r.text) for r in sorted(named, key=_at)) + "]"
    return _plain(v)


def _attrs(s: Span, regions: dict[str, Span]) -> str:
    shown = [f"{name} {_value(s, name, regions)}" for name in sorted(s.attrs)]
    return f" with {', '.join(shown)}" if shown else ""


def _plain(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return "(none)" if v is None else str(v)


def _quote(text: str) -> str:
    """A text in quotes, on one line, cut at ``QUOTED`` characters (quotes inside are not escaped: it is read)."""
    text = " ".join(text.split())
    return "'" + (text if len(text) <= QUOTED else text[: QUOTED - 1] + "…") + "'"
