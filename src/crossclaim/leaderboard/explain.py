"""Error analysis: one self-contained HTML page of a system's output against the gold (``crossclaim explain``).

Spans are compared exactly as they are scored: snapped to whole tokens of the gold token view, then
matched on (start, end, label). Every predicted and gold span becomes one mark: a true positive, a
false positive, a false negative, or a wrong label (same tokens, another label: one false positive
and one false negative to the scorer). Text is drawn by spaCy's displacy span renderer (overlapping
marks stack), which escapes the tokens; everything else on the page is escaped here. No script, no
external resource: the page opens anywhere, offline.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from crossclaim.dataset.gold import Gold
from crossclaim.evaluation.counts import LABELS, GoldDoc, Snapped, index_gold, predicted_spans, unit_of_token
from crossclaim.evaluation.results import Scores
from crossclaim.evaluation.score import evaluate
from crossclaim.formats.predictions import Predictions
from crossclaim.schema.records import Document, Pair, Span
from crossclaim.schema.scheme import TAG_LAYERS

KINDS = ("TP", "FP", "FN", "WRONG")
KIND_TEXT = {
    "TP": "true positive: predicted span and label equal a gold span",
    "FP": "false positive: predicted, no gold span with these tokens",
    "FN": "false negative: gold span not predicted",
    "WRONG": "wrong label: a gold span's tokens predicted with another label (gold → predicted)",
}
KIND_COLOR = {"TP": "#7fc97f", "FP": "#fb8072", "FN": "#80b1d3", "WRONG": "#fdb462"}


@dataclass(frozen=True)
class Mark:
    """One span on the page: its tokens [first, stop), what it is, and its label(s)."""

    first: int
    stop: int
    kind: str  # TP, FP, FN or WRONG
    label: str  # the label, or "GOLD→PREDICTED" for a wrong label
    gold: Snapped | None
    pred: Snapped | None

    @property
    def tag(self) -> str:
        return f"{self.kind} {self.label}"


def classify(gold: list[Snapped], pred: list[Snapped]) -> list[Mark]:
    """Marks of one layer of one document, in text order.

    Exact matches first (a gold span is matched once, as the scorer places one of two equal
    predictions); then a prediction on an unmatched gold span's tokens with another label is a wrong
    label; every other prediction is a false positive and every other gold span a false negative.
    A prediction of white space only (no token) matches nothing and is left off the text.
    """
    by_key = {g.key: g for g in gold}
    by_bounds = {(g.start, g.end): g for g in gold}
    taken: set[tuple[int, int, str]] = set()
    marks: list[Mark] = []
    rest: list[Snapped] = []
    for p in pred:
        if p.key in by_key and p.key not in taken:
            taken.add(p.key)
            marks.append(Mark(p.first, p.stop, "TP", p.label, by_key[p.key], p))
        else:
            rest.append(p)
    for p in rest:
        g = by_bounds.get((p.start, p.end))
        if g is not None and g.key not in taken and p.first < p.stop:
            taken.add(g.key)
            marks.append(Mark(p.first, p.stop, "WRONG", f"{g.label}→{p.label}", g, p))
        elif p.first < p.stop:
            marks.append(Mark(p.first, p.stop, "FP", p.label, None, p))
    marks += [Mark(g.first, g.stop, "FN", g.label, g, None) for g in gold if g.key not in taken]
    return sorted(marks, key=lambda m: (m.first, m.stop, KINDS.index(m.kind), m.label))


def blocks(g: GoldDoc, marks: list[Mark]) -> list[tuple[int, int]]:
    """Token ranges to show: the sentences holding a mark, merged where a mark joins two of them."""
    unit = unit_of_token(g.view)
    sentences = g.view.sentences or [(0, len(g.view.starts))]
    spans = []
    for m in marks:
        a, b = sentences[unit[m.first]], sentences[unit[max(m.first, m.stop - 1)]]
        spans.append((min(a[0], m.first), max(b[1], m.stop)))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _displacy(g: GoldDoc, marks: list[Mark], labels: list[str]) -> str:
    """The marks of one layer drawn by displacy's span renderer, one block per run of sentences."""
    from spacy import displacy

    text = g.doc.text
    tokens = [text[s:e] for s, e in zip(g.view.starts, g.view.ends)]
    parsed = []
    for start, end in blocks(g, marks):
        inside = [m for m in marks if start <= m.first and m.stop <= end]
        spans = [{"start_token": m.first - start, "end_token": m.stop - start, "label": m.tag} for m in inside]
        parsed.append({"text": " ".join(tokens[start:end]), "tokens": tokens[start:end], "spans": spans})
    colors = {f"{k} {label}": KIND_COLOR[k] for k in ("TP", "FP", "FN") for label in labels}
    colors |= {f"WRONG {a}→{b}": KIND_COLOR["WRONG"] for a in labels for b in labels if a != b}
    return displacy.render(parsed, style="span", manual=True, jupyter=False, options={"colors": colors})


# ---------------------------------------------------------------------------------------------
# the page (pure)

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 70em; color: #222; }
h1 { font-size: 1.5em; } h2 { margin-top: 2em; border-bottom: 2px solid #ccc; } h3 { margin-top: 1.4em; }
table { border-collapse: collapse; margin: .5em 0 1em; font-size: .92em; }
td, th { border: 1px solid #ccc; padding: .25em .5em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } .num { text-align: right; }
.legend span.swatch { display: inline-block; width: 1.2em; height: .8em; margin-right: .4em; border-radius: 2px; }
.legend li { list-style: none; margin: .15em 0; } .legend { padding-left: 0; }
tr.ok td.verdict { color: #1b7a1b; } tr.wrong td.verdict { color: #b3261e; font-weight: bold; }
.note { color: #555; font-size: .9em; } .block { border-left: 3px solid #eee; padding-left: .6em; margin: .4em 0; }
"""


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


def legend() -> str:
    items = "".join(
        f'<li class="kind-{k}"><span class="swatch" style="background:{KIND_COLOR[k]}"></span>'
        f"<b>{k}</b> {_e(KIND_TEXT[k])}</li>"
        for k in KINDS
    )
    return f'<ul class="legend" id="legend">{items}</ul>'


def summary_table(scores: Scores, marks: dict[str, list[Mark]]) -> str:
    rows = []
    for t in TAG_LAYERS:
        entry = scores.layers.get(t.name)
        if entry is None:
            rows.append(f"<tr><td>{_e(t.what)}</td><td colspan='6'>not predicted</td></tr>")
            continue
        n = {k: sum(m.kind == k for m in marks[t.name]) for k in KINDS}
        f1 = entry.strict.micro.f1
        rows.append(
            f"<tr><td>{_e(t.what)}</td>"
            + "".join(f"<td class='num'>{n[k]}</td>" for k in KINDS)
            + f"<td class='num'>{'—' if f1 is None else f'{f1:.3f}'}</td></tr>"
        )
    head = "".join(f"<th>{k}</th>" for k in KINDS)
    return f"<table id='summary'><tr><th>layer</th>{head}<th>strict F1 (as scored)</th></tr>{''.join(rows)}</table>"


def figure_table(g: GoldDoc, marks: list[Mark]) -> str:
    """Gold and predicted figure values side by side, one row per mark."""
    text = g.doc.text
    rows = []
    for m in marks:
        span = m.gold or m.pred
        gold_value = "—" if m.gold is None else (m.gold.value or "")
        pred_value = "—" if m.pred is None else (m.pred.value if m.pred.value is not None else "null")
        same = m.gold is not None and m.pred is not None and gold_value == pred_value
        verdict = {"FP": "false positive", "FN": "false negative"}.get(m.kind) or (
            ("same value" if same else "different value") + (" (wrong label)" if m.kind == "WRONG" else "")
        )
        ok = m.kind == "TP" and same
        rows.append(
            f"<tr class='{'ok' if ok else 'wrong'}'><td>{_e(text[span.start : span.end])}</td>"
            f"<td>{_e('—' if m.gold is None else m.gold.label)}</td><td><code>{_e(gold_value)}</code></td>"
            f"<td>{_e('—' if m.pred is None else m.pred.label)}</td><td><code>{_e(pred_value)}</code></td>"
            f"<td class='verdict'>{_e(verdict)}</td></tr>"
        )
    if not rows:
        return "<p class='note'>No gold or predicted figure.</p>"
    head = "<tr><th>text</th><th>gold label</th><th>gold value</th><th>predicted label</th>"
    head += "<th>predicted value</th><th></th></tr>"
    return f"<table class='figures'>{head}{''.join(rows)}</table>"


def pair_table(pairs: list[Pair], claims: dict[tuple[str, str], Span], labels: dict[str, str]) -> str:
    """Every gold pair in scope: both claims, the gold label and the predicted one."""
    rows = []
    for p in sorted(pairs, key=lambda p: (labels.get(p.id) == p.label, p.id)):  # the errors first
        guess = labels.get(p.id)
        a, b = claims.get((p.a_doc, p.a_claim)), claims.get((p.b_doc, p.b_claim))
        ok = guess == p.label
        rows.append(
            f"<tr class='{'ok' if ok else 'wrong'}'><td><code>{_e(p.id)}</code></td>"
            f"<td>{_e(p.a_doc)}: {_e(a.text if a else p.a_claim)}</td>"
            f"<td>{_e(p.b_doc)}: {_e(b.text if b else p.b_claim)}</td>"
            f"<td>{_e(p.label)}</td><td>{_e(guess or '— (no prediction)')}</td>"
            f"<td class='verdict'>{'right' if ok else 'wrong'}</td></tr>"
        )
    wrong = sum(labels.get(p.id) != p.label for p in pairs)
    head = "<tr><th>pair</th><th>claim A</th><th>claim B</th><th>gold</th><th>predicted</th><th></th></tr>"
    return (
        f"<p>{len(rows)} gold claim pairs, {wrong} labelled wrongly or not at all (listed first).</p>"
        f"<table id='pairs'>{head}{''.join(rows)}</table>"
    )


def document_section(g: GoldDoc, preds: Predictions, marks: dict[str, list[Mark]]) -> str:
    d = g.doc
    meta = ", ".join(_e(x) for x in (d.publisher, d.publication_date) if x)
    parts = [
        f"<section class='document' id='{_e(d.id)}'><h2>{_e(d.id)}: {_e(d.headline or '(no headline)')}</h2>",
        f"<p class='note'>{meta or 'publisher and date not stated'}; split {_e(d.split)}.</p>",
    ]
    for t in TAG_LAYERS:
        parts.append(f"<h3>{_e(t.what)} <code>{_e(t.name)}</code></h3>")
        if t.name not in preds.layers:
            parts.append("<p class='note'>not predicted by this system.</p>")
            continue
        ms = marks[t.name]
        if not ms:
            parts.append("<p class='note'>no gold or predicted span.</p>")
            continue
        counts = ", ".join(f"{k} {sum(m.kind == k for m in ms)}" for k in KINDS)
        parts.append(f"<p class='note'>{counts}; only the sentences holding a mark are shown.</p>")
        parts.append(f"<div class='block layer-{_e(t.name)}'>{_displacy(g, ms, LABELS[t.name])}</div>")
        if t.name == "figure_tags":
            parts.append(figure_table(g, ms))
    parts.append("</section>")
    return "\n".join(parts)


def document_marks(g: GoldDoc, preds: Predictions) -> dict[str, list[Mark]]:
    spans = preds.spans.get(g.doc.id, [])
    flags = preds.contradictory.get(g.doc.id, set())
    return {
        t.name: classify(g.spans[t.name], predicted_spans(g, spans, flags, t.name))
        for t in TAG_LAYERS
        if t.name in preds.layers
    }


def explain_page(
    gold: Gold, preds: Predictions, docs: list[Document], pairs: list[Pair], system: str, split: str
) -> str:
    """The whole page for ``preds`` on ``docs`` (and the gold ``pairs`` in scope)."""
    contradictory = gold.contradictory()
    golds = [index_gold(d, gold.spans(d.id), contradictory.get(d.id, set())) for d in docs]
    marks = {g.doc.id: document_marks(g, preds) for g in golds}
    pooled = {t.name: [m for g in golds for m in marks[g.doc.id].get(t.name, [])] for t in TAG_LAYERS}
    scores = evaluate(golds, preds.only([d.id for d in docs]), pairs, resamples=10)
    body = [
        f"<h1>Errors of <code>{_e(system)}</code> on the {_e(split)} split</h1>",
        f"<p>Documents: {_e(', '.join(d.id for d in docs))}. Spans are compared as they are scored: snapped to "
        "whole tokens of the gold token view, then matched on start, end and label; a span that only "
        "overlaps a gold span shows as a false positive beside a false negative. Text is drawn token by token.</p>",
        legend(),
        summary_table(scores, pooled),
        *(document_section(g, preds, marks[g.doc.id]) for g in golds),
    ]
    if preds.pairs is not None and pairs:
        body += ["<h2 id='claim-pairs'>Claim pairs</h2>", pair_table(pairs, gold.claims(), preds.pairs)]
    elif pairs:
        body.append("<h2 id='claim-pairs'>Claim pairs</h2><p class='note'>not predicted by this system.</p>")
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{_e(system)} on {_e(split)}: errors</title><style>{STYLE}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )
