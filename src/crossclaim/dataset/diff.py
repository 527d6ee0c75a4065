"""What changed in the gold between two exports, as Markdown for the changelog (pure functions).

Both sides are read by ``load_gold`` (the one reader of exports); spans are matched by their region id
within a document, pairs by pair id. The order is fixed (documents and pairs by id, layers in schema
order, spans by offsets), so the same two exports always give the same text.
"""

from __future__ import annotations

from collections import Counter

from crossclaim.dataset.changes import delta
from crossclaim.dataset.gold import Gold
from crossclaim.schema.records import Pair, Span
from crossclaim.schema.scheme import LAYERS, attributes_of

TEXT = 60  # characters of a span's text quoted in a line
KINDS = ("added", "removed", "relabelled", "moved", "attributes changed")
PAIR_KINDS = ("added", "removed", "relabelled", "rationale changed")
Line = tuple[str, str]  # one change: its kind (one of ``KINDS`` or ``PAIR_KINDS``) and its Markdown text


def gold_diff(old: Gold, new: Gold, old_name: str, new_name: str) -> str:
    """Markdown: the spans per document and layer, then the pairs, added, removed, relabelled or changed."""
    kinds: Counter[tuple[str, str]] = Counter()  # ("spans" or "pairs", kind) -> changes
    body: list[str] = []
    for doc_id in sorted({d.id for d in old.docs} | {d.id for d in new.docs}):
        before, after = {s.id: s for s in old.spans(doc_id)}, {s.id: s for s in new.spans(doc_id)}
        by_layer = [(LAYERS[k].title, lines) for k in LAYERS if (lines := _span_lines(k, before, after))]
        kinds.update(("spans", kind) for _, lines in by_layer for kind, _ in lines)
        if by_layer:
            body += [f"#### {doc_id}", ""]
            for title, lines in by_layer:
                body += [f"- {title}", *(f"  - {kind}: {text}" for kind, text in lines)]
            body.append("")
    if pairs := _pair_lines({p.id: p for p in old.pairs}, {p.id: p for p in new.pairs}):
        kinds.update(("pairs", kind) for kind, _ in pairs)
        body += ["#### Claim pairs", "", *(f"- {kind}: {text}" for kind, text in pairs), ""]
    order = [("spans", k) for k in KINDS] + [("pairs", k) for k in PAIR_KINDS]
    counts = ", ".join(f"{what} {k} {kinds[what, k]}" for what, k in order if kinds[what, k])
    head = f"Gold changes from `{old_name}` to `{new_name}`:\n\n"
    return head + ("\n".join([counts, "", *body]) if counts else "No change in the gold spans or pairs.\n")


def _span_lines(layer: str, all_old: dict[str, Span], all_new: dict[str, Span]) -> list[Line]:
    """Changes of one layer of one document, by kind then offsets. A region that moved to another layer is
    removed from the old one and added to the new one (its line says so)."""
    old = {k: s for k, s in all_old.items() if s.layer == layer}
    new = {k: s for k, s in all_new.items() if s.layer == layer}
    out: list[tuple[Span, Line]] = []
    changes = delta(old, new)
    for sid in changes.removed:
        moved = f" (now {all_new[sid].layer})" if sid in all_new else ""
        out.append((old[sid], ("removed", f"{_span(old[sid])}{moved}")))
    for sid in changes.added:
        was = f" (was {all_old[sid].layer})" if sid in all_old else ""
        out.append((new[sid], ("added", f"{_span(new[sid])}{was}")))
    for sid in changes.changed:
        a, b = old[sid], new[sid]
        if a.label != b.label:
            out.append((b, ("relabelled", f"{_ref(b)} {a.label} → {b.label}")))
        if (a.start, a.end) != (b.start, b.end):
            out.append(
                (b, ("moved", f"{_ref(b)} {a.start}:{a.end} {_quote(a.text)} → {b.start}:{b.end} {_quote(b.text)}"))
            )
        changed = [
            f"{attr.name} {_value(a.attrs.get(attr.name))} → {_value(b.attrs.get(attr.name))}"
            for attr in attributes_of(b.layer)
            if a.attrs.get(attr.name) != b.attrs.get(attr.name)
        ]
        if changed:
            out.append((b, ("attributes changed", f"{_ref(b)}: {'; '.join(changed)}")))
    return [line for _, line in sorted(out, key=lambda x: (KINDS.index(x[1][0]), x[0].start, x[0].end, x[0].id))]


def _pair_lines(old: dict[str, Pair], new: dict[str, Pair]) -> list[Line]:
    changes = delta(old, new)
    out = [("added", f"`{pid}` {new[pid].label}") for pid in changes.added]
    out += [("removed", f"`{pid}` {old[pid].label}") for pid in changes.removed]
    for pid in changes.changed:
        a, b = old[pid], new[pid]
        if a.label != b.label:
            out.append(("relabelled", f"`{pid}` {a.label} → {b.label}"))
        if a.rationale != b.rationale:
            out.append(("rationale changed", f"`{pid}` {_quote(a.rationale)} → {_quote(b.rationale)}"))
    return sorted(out, key=lambda line: PAIR_KINDS.index(line[0]))  # stable: pair ids stay sorted per kind


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
