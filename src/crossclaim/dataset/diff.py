"""What changed in the gold between two exports, as Markdown for the changelog (pure functions).

Both sides are read by ``load_gold`` (the one reader of exports); spans are matched by their region id
within a document, pairs by pair id. The order is fixed (documents and pairs by id, layers in schema
order, spans by offsets), so the same two exports always give the same text.
"""

from __future__ import annotations

from dataclasses import dataclass

from crossclaim.dataset.gold import Gold
from crossclaim.schema.records import Pair, Span
from crossclaim.schema.scheme import LAYERS, attributes_of

TEXT = 60  # characters of a span's text quoted in a line
KINDS = ("added", "removed", "relabelled", "moved", "attributes changed")
PAIR_KINDS = ("added", "removed", "relabelled", "rationale changed")


@dataclass(frozen=True)
class Line:
    """One change: its kind (one of ``KINDS`` or ``PAIR_KINDS``) and its Markdown text."""

    kind: str
    text: str


@dataclass(frozen=True)
class LayerDiff:
    doc_id: str
    layer: str
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class GoldDiff:
    layers: tuple[LayerDiff, ...]  # only layers with a change
    pairs: tuple[Line, ...]

    def counts(self) -> dict[str, int]:
        out = {f"spans {k}": 0 for k in KINDS} | {f"pairs {k}": 0 for k in PAIR_KINDS}
        for d in self.layers:
            for line in d.lines:
                out[f"spans {line.kind}"] += 1
        for line in self.pairs:
            out[f"pairs {line.kind}"] += 1
        return out

    def markdown(self, old: str, new: str) -> str:
        head = [f"Gold changes from `{old}` to `{new}`:", ""]
        counts = ", ".join(f"{k} {v}" for k, v in self.counts().items() if v)
        if not counts:
            return "\n".join([*head, "No change in the gold spans or pairs.", ""])
        out = [*head, counts, ""]
        for doc_id in dict.fromkeys(d.doc_id for d in self.layers):
            out += [f"#### {doc_id}", ""]
            for d in (d for d in self.layers if d.doc_id == doc_id):
                out.append(f"- {LAYERS[d.layer].title}")
                out += [f"  - {line.kind}: {line.text}" for line in d.lines]
            out.append("")
        if self.pairs:
            out += ["#### Claim pairs", ""]
            out += [f"- {line.kind}: {line.text}" for line in self.pairs]
            out.append("")
        return "\n".join(out)


def gold_diff(old: Gold, new: Gold) -> GoldDiff:
    """Spans per document and layer and pairs added, removed, relabelled or otherwise changed."""
    doc_ids = sorted({d.id for d in old.docs} | {d.id for d in new.docs})
    layers = []
    for doc_id in doc_ids:
        before = {s.id: s for s in old.spans(doc_id)}
        after = {s.id: s for s in new.spans(doc_id)}
        for layer in LAYERS:
            lines = _span_lines(
                {k: s for k, s in before.items() if s.layer == layer},
                {k: s for k, s in after.items() if s.layer == layer},
                before,
                after,
            )
            if lines:
                layers.append(LayerDiff(doc_id, layer, tuple(lines)))
    return GoldDiff(tuple(layers), tuple(_pair_lines({p.id: p for p in old.pairs}, {p.id: p for p in new.pairs})))


def _span_lines(old: dict[str, Span], new: dict[str, Span], all_old: dict, all_new: dict) -> list[Line]:
    """Changes of one layer of one document. A region that moved to another layer is removed from the
    old one and added to the new one (its line says so)."""
    out: list[tuple[int, tuple, Line]] = []
    for sid in old.keys() - new.keys():
        s = old[sid]
        moved = f" (now {all_new[sid].layer})" if sid in all_new else ""
        out.append((KINDS.index("removed"), _key(s), Line("removed", f"{_span(s)}{moved}")))
    for sid in new.keys() - old.keys():
        s = new[sid]
        was = f" (was {all_old[sid].layer})" if sid in all_old else ""
        out.append((KINDS.index("added"), _key(s), Line("added", f"{_span(s)}{was}")))
    for sid in old.keys() & new.keys():
        a, b = old[sid], new[sid]
        if a.label != b.label:
            out.append((KINDS.index("relabelled"), _key(b), Line("relabelled", f"{_ref(b)} {a.label} → {b.label}")))
        if (a.start, a.end) != (b.start, b.end):
            text = f"{_ref(b)} {a.start}:{a.end} {_quote(a.text)} → {b.start}:{b.end} {_quote(b.text)}"
            out.append((KINDS.index("moved"), _key(b), Line("moved", text)))
        changed = [
            f"{attr.name} {_value(a.attrs.get(attr.name))} → {_value(b.attrs.get(attr.name))}"
            for attr in attributes_of(b.layer)
            if a.attrs.get(attr.name) != b.attrs.get(attr.name)
        ]
        if changed:
            line = Line("attributes changed", f"{_ref(b)}: {'; '.join(changed)}")
            out.append((KINDS.index("attributes changed"), _key(b), line))
    return [line for *_, line in sorted(out, key=lambda t: (t[0], t[1]))]


def _pair_lines(old: dict[str, Pair], new: dict[str, Pair]) -> list[Line]:
    out = [Line("added", f"`{pid}` {new[pid].label}") for pid in sorted(new.keys() - old.keys())]
    out += [Line("removed", f"`{pid}` {old[pid].label}") for pid in sorted(old.keys() - new.keys())]
    for pid in sorted(old.keys() & new.keys()):
        a, b = old[pid], new[pid]
        if a.label != b.label:
            out.append(Line("relabelled", f"`{pid}` {a.label} → {b.label}"))
        if a.rationale != b.rationale:
            out.append(Line("rationale changed", f"`{pid}` {_quote(a.rationale)} → {_quote(b.rationale)}"))
    return sorted(out, key=lambda line: PAIR_KINDS.index(line.kind))  # stable: pair ids stay sorted per kind


def _key(s: Span) -> tuple:
    return (s.start, s.end, s.id)


def _ref(s: Span) -> str:
    return f"`{s.id}` {_quote(s.text)}"


def _span(s: Span) -> str:
    attrs = "; ".join(f"{a.name} {_value(s.attrs[a.name])}" for a in attributes_of(s.layer) if a.name in s.attrs)
    return f"{_ref(s)} {s.label}" + (f" ({attrs})" if attrs else "")


def _quote(text: str) -> str:
    """A text in double quotes on one line, cut to about ``TEXT`` characters."""
    flat = " ".join(text.split())
    return f'"{flat[:TEXT]}…"' if len(flat) > TEXT else f'"{flat}"'


def _value(value: object) -> str:
    if value is None or value == ():
        return "(none)"
    if isinstance(value, tuple):
        value = ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        value = "true" if value else "false"
    return "`" + " ".join(str(value).split()).replace("`", "'") + "`"
