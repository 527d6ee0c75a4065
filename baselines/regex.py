"""The ``regex`` baseline: figures with values, hedge cues, hedged claims, claim-pair labels, and the
claims in a pair its rules call CONTRADICTS (among its own claims of the documents it is given).

Every rule was written from the train and validation documents (doc-000, doc-002, doc-004), the
annotation spec and the adjudication notes on those documents; the test documents were not read.
It is deterministic, needs no training, and is the speed reference of ``scripts/bench_baselines.py``.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from itertools import combinations
from types import MappingProxyType

from crossclaim.formats.predictions import Predictions, tag_layers_of
from crossclaim.schema.records import Document, Span
from crossclaim.schema.scheme import CATCH_ALL_TOPICS, TAG_LAYERS
from crossclaim.systems.base import PairQuery, System
from crossclaim.text import sentence_bounds

from .figures import WRITTEN_FROM, Figure, find_figures, trie_regex

# ---------------------------------------------------------------------------------------------
# hedge cues: the spec's list and the cues of the train/validation documents, with inflections

# fmt: off
HEDGE_WORDS = [
    "could", "may", "might", "likely", "unlikely", "possibly", "possible", "probably", "perhaps", "potentially",
    "reportedly", "expect", "expects", "expected", "expecting", "predict", "predicts", "predicted", "predicting",
    "projected", "projecting", "forecast", "forecasts", "forecasted", "forecasting", "suggest", "suggests",
    "suggested", "suggesting", "hope", "hopes", "hoped", "hoping", "hint", "hints", "hinted", "hinting",
    "appear", "appears", "appeared", "seem", "seems", "seemed", "would",
]
# fmt: on
HEDGE_PHRASES = ["bold but feasible", "set to", "Set to", "promising"]  # the last two are checked in context
_HEDGE_ALTS = HEDGE_WORDS + [w[0].upper() + w[1:] for w in HEDGE_WORDS if w != "may"] + HEDGE_PHRASES
HEDGE_RE = re.compile(rf"\b{trie_regex(sorted(set(_HEDGE_ALTS)))}\b")
_SET_TO_NEXT = re.compile(r" [A-Za-z]")  # "Xiaomi Set to Expand ..."
_PROMISING_BEFORE = re.compile(r"\b(?:looks|seems) $")  # "looks promising"
# "would" after a reporting verb in the same sentence is backshifted "will", not a hedge.
_REPORTED = re.compile(
    r"\b(?:said|says|stated|states|confirmed|announced|told|added|noted|projected|predicted|expected|declared"
    r"|claimed|promised|insisted|believed|hoped|thought|wrote|explained)\b[^.;:!?]*$"
)
_FORECAST_NOUN = re.compile(r"\b(?:this|the|a|an|its|his|her|their|our|bold|optimistic|[\w]+[’']s)\s$", re.IGNORECASE)


_IN_CONTEXT = frozenset(["would", "Would", "forecast", "Forecast", "set to", "Set to", "promising"])


def find_hedges(text: str) -> list[tuple[int, int]]:
    """Hedge cue spans: lexicon hits minus backshifted "would" and "forecast" used as a noun."""
    out = []
    for m in HEDGE_RE.finditer(text):
        word = m.group()
        if word in _IN_CONTEXT and not _cue_in_context(text, word.lower(), m.start(), m.end()):
            continue
        out.append(m.span())
    return out


def _cue_in_context(text: str, word: str, start: int, end: int) -> bool:
    before = text[max(0, start - 200) : start]
    if word == "would":
        return not _REPORTED.search(before)
    if word == "forecast":
        return not _FORECAST_NOUN.search(before[-30:])
    if word == "set to":
        return bool(_SET_TO_NEXT.match(text, end))
    return bool(_PROMISING_BEFORE.search(before[-10:]))


# ---------------------------------------------------------------------------------------------
# hedged claims: the clause around a cue

_INTRO = re.compile(
    r"^(?:By|To|As|Looking|Speaking|Moreover|However|Additionally|Furthermore|In|With|While|Although|Though|Since"
    r"|When|If|After|Before|For|Given|Despite|According|Still|Meanwhile|Also|Yet|Instead|Overall|Ultimately|Now"
    r"|Indeed|Nevertheless|Otherwise|Thus|Therefore|Even|Once|Unlike|Like|Amid|Following|\w+ing)\b"
)
_LEAD = re.compile(r"^(?:And|But|So|Yet|Or)\s+")
_LEFT_CUTS = [
    re.compile(r", (?:and|but|while|whereas|so) (?=(?:it|it’s|it's|they|he|she|we|this|that|these|those|there)\b)"),
    re.compile(
        r"\b(?:said|says|stated|declared|declaring|noted|announced|believes|argued|argues|confirmed|told \w+)"
        r" (?:that )?"
    ),
    re.compile(r"; "),
    re.compile(r", (?:calling|describing|labell?ing|terming|dubbing) "),  # "..., calling it a bold but feasible goal"
]
_RELATIVE = re.compile(r", (?=which\b|who\b)")
_RIGHT_CUTS = re.compile(
    r"—(?=(?:and|but|or|while)\b)| – |: |; |, an? (?=\w)|, according to\b"
    r"|, (?:[A-Z][\w’'.-]*(?: [A-Z][\w’'.-]*)*|he|she|they|analysts?|experts?) (?:said|says|added|noted|told|wrote)\b"
)
# A cue that is the source's own verb ("he projected that", "Xiaomi has hinted at", "predicting a
# turnaround") starts the claim: the source before it is attribution. Passive or adjectival uses
# ("is expected to", "the projected H2 profitability") are inside the proposition.
_SOURCE_VERB = re.compile(r"(?:predict|project|hint|expect|suggest|forecast)(?:s|ed|ing)?|hope[sd]?|hoping", re.I)
_NOT_A_VERB_BEFORE = re.compile(r"\b(?:the|a|an|is|are|was|were|be|been|being|its|their|his|her|this|that)\s+$", re.I)


def clause(sentence: str, cue_start: int, cue_end: int) -> tuple[int, int]:
    """The minimal clause of ``sentence`` around the cue at [cue_start, cue_end) (sentence offsets)."""
    end = len(sentence.rstrip(" .!?\"”’'"))
    cut = _RIGHT_CUTS.search(sentence, cue_end, end)
    if cut:
        end = cut.start()
    start = 0
    lead = _LEAD.match(sentence)
    if lead and lead.end() <= cue_start:
        start = lead.end()
    head = sentence[:cue_start]
    if _INTRO.match(sentence[start:]):
        comma = head.find(", ", start)
        if comma >= 0:
            start = comma + 2
    for pattern in _LEFT_CUTS:
        for m in pattern.finditer(head, start):
            start = max(start, m.end())
    for m in _RELATIVE.finditer(head, start):
        start = max(start, m.end())
    cue = sentence[cue_start:cue_end]
    if _SOURCE_VERB.fullmatch(cue) and cue_start > start and not _NOT_A_VERB_BEFORE.search(head[-30:]):
        start = cue_start
    return start, max(end, cue_end)


def find_claims(text: str, hedges: list[tuple[int, int]], sentences: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """One hedged claim per clause around cues; clauses of one sentence that overlap are merged."""
    starts = [a for a, _ in sentences]
    by_sentence: dict[int, list[tuple[int, int]]] = {}
    for cs, ce in hedges:
        k = bisect.bisect_right(starts, cs) - 1
        if k < 0 or ce > sentences[k][1]:
            continue
        a, b = sentences[k]
        if text[a:b].rstrip().endswith("?"):
            continue  # a question asserts nothing
        s, e = clause(text[a:b], cs - a, ce - a)
        by_sentence.setdefault(k, []).append((a + s, a + e))
    out = []
    for spans in by_sentence.values():
        spans.sort()
        merged = [list(spans[0])]
        for s, e in spans[1:]:
            if s < merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        out += [(s, e) for s, e in merged]
    return sorted(out)


# ---------------------------------------------------------------------------------------------
# topics of claims (keywords, first rule wins)

_TOPIC_CUES = {
    "crash": r"(?:crash|accident|fatal|died|killed)\w*",
    "profit": r"(?:profit\w*|turnaround|break[- ]even|in the black)",
    "results": r"(?:revenue|gross margin|losses|earnings|results)",
    "deliveries": r"(?:deliver\w*|sold|sells|orders|pre-orders|snapped up)",
    "second": r"(?:YU7|U7|second (?:EV|model|car)|SUV)",
    "su7": r"SU7",
    "event": r"(?:launch|unveil|showcas|debut)\w*",
    "invest": r"(?:invest|pledg)\w*",
    "announce": r"announc\w*",
    "entry": r"(?:entry|push|initiative|ambitions)",
    "global": r"(?:global\w*|international\w*|abroad|overseas|Europe|export\w*|outside China)",
    "production": r"(?:production|factor\w*|manufactur\w*|capacity|partner\w*|plant)",
    "regulation": r"(?:regulat\w*|government|sanction\w*|polic\w*|subsid\w*)",
    "features": r"(?:AI|feature\w*|ecosystem|integrat\w*|navigation|design|software|experience)",
    "market": r"(?:competit\w*|investors?|stock|prices?|industry|benchmark)",
}
# matched against the lower-cased claim (faster than re.IGNORECASE)
TOPIC_CUE_RE = re.compile("|".join(rf"\b(?P<{k}>{v.lower()})\b" for k, v in _TOPIC_CUES.items()))
# (topic, cues it needs), first satisfied rule wins; no rule: strategy_outlook.
TOPIC_RULES: tuple[tuple[str, frozenset[str]], ...] = tuple(
    (topic, frozenset(cues))
    for topic, cues in (
        ("crash_vehicle_model", {"crash"}),
        ("ev_profitability_timing", {"profit"}),
        ("ev_financial_results", {"results"}),
        ("ev_deliveries", {"deliveries"}),
        ("second_model", {"second"}),
        ("su7_launch_date", {"su7", "event"}),
        ("investment_pledges", {"invest"}),
        ("ev_entry_announcement", {"announce", "entry"}),
        ("global_expansion", {"global"}),
        ("production_capacity", {"production"}),
        ("regulatory_risk", {"regulation"}),
        ("product_features", {"features"}),
        ("market_impact", {"market"}),
    )
)


def topic_of(text: str) -> str:
    """The claim's topic from keyword cues found in one pass (first satisfied rule wins)."""
    cues = {m.lastgroup for m in TOPIC_CUE_RE.finditer(text.lower())}
    return next((topic for topic, need in TOPIC_RULES if need <= cues), "strategy_outlook")


# ---------------------------------------------------------------------------------------------
# claim pairs: compare the normalised figures of the two claims

EVENTS: tuple[tuple[str, re.Pattern], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        ("launch", r"\b(?:launch\w*|debut\w*|went on sale|released?)\b"),
        ("unveil", r"\b(?:unveil\w*|showcas\w*|shown|introduc\w*|present\w*)\b"),
        ("announce", r"\bannounc\w*\b"),
        ("profit", r"\b(?:profit\w*|turnaround|break[- ]even)\b"),
        ("deliver", r"\b(?:deliver\w*|sold|sells|sales)\b"),
    )
)
UNKNOWN_YEAR = "1000-07-01"  # stand-in reference date: relative dates of undated documents compare with each other
_SUB_MONTHS = {"H1": (1, 6), "H2": (7, 12), "early": (1, 4), "mid": (5, 8), "late": (9, 12)}


def events(text: str) -> set[str]:
    return {name for name, rule in EVENTS if rule.search(text)}


def month_range(value: str) -> tuple[str, int, int]:
    """A DATE value as (year, first month, last month); the year may be 'XXXX' or a stand-in."""
    year, *rest = value.split("-")
    lo, hi = 1, 12
    if rest and rest[0].isdigit():
        lo = hi = int(rest[0])
    for part in rest:
        if part in _SUB_MONTHS:
            lo, hi = max(lo, _SUB_MONTHS[part][0]), min(hi, _SUB_MONTHS[part][1])
        elif part[:1] == "Q" and part[1:].isdigit():
            lo, hi = 3 * int(part[1:]) - 2, 3 * int(part[1:])
    return year, lo, hi


def dates_compatible(a: str, b: str) -> bool:
    """Two DATE values can denote the same time: same year (when both known) and overlapping months."""
    ya, la, ha = month_range(a)
    yb, lb, hb = month_range(b)
    standin_a, standin_b = (y.isdigit() and int(y) < 1900 for y in (ya, yb))
    if "X" not in ya + yb and standin_a == standin_b and ya != yb:
        return False
    return la <= hb and lb <= ha


def _numbers(value: str) -> tuple[float, float] | None:
    m = re.search(r"(\d+(?:\.\d+)?)(?:\.\.(\d+(?:\.\d+)?))?", value)
    if not m:
        return None
    lo = float(m.group(1))
    return lo, float(m.group(2)) if m.group(2) else lo


def amounts_compatible(a: str, b: str) -> bool:
    """Two amounts agree when their ranges overlap (currencies must match for money)."""
    if a.split(" ")[0].isalpha() and b.split(" ")[0].isalpha() and a.split(" ")[0] != b.split(" ")[0]:
        return False
    na, nb = _numbers(a), _numbers(b)
    return na is None or nb is None or (na[0] <= nb[1] and nb[0] <= na[1])


def pair_label(a: list[Figure], b: list[Figure], events_a: set[str], events_b: set[str]) -> str:
    """UNRELATED without a shared figure type or with different events; else compare values."""
    shared = {f.label for f in a} & {f.label for f in b}
    if not shared or (events_a and events_b and not events_a & events_b):
        return "UNRELATED"
    va = {lab: [f.value for f in a if f.label == lab and f.value] for lab in shared}
    vb = {lab: [f.value for f in b if f.label == lab and f.value] for lab in shared}
    if "DATE" in shared:
        dates_ok = any(dates_compatible(x, y) for x in va["DATE"] for y in vb["DATE"])
        others = shared - {"DATE"}
        if others and not dates_ok:
            return "UNRELATED"  # different reference times
        if not dates_ok:
            return "CONTRADICTS"
        shared = others
    for lab in shared:
        if va[lab] and vb[lab] and not any(amounts_compatible(x, y) for x in va[lab] for y in vb[lab]):
            return "CONTRADICTS"
    return "AGREES"


def reference_date(doc: Document, cluster: str | None) -> str:
    """A document's own date, else the cluster's latest known date, else the stand-in."""
    return doc.publication_date or cluster or UNKNOWN_YEAR


def label_pairs(queries: list[PairQuery]) -> dict[str, str]:
    dates = sorted(d for q in queries for d in (q.a.doc.publication_date, q.b.doc.publication_date) if d)
    cluster = dates[-1] if dates else None
    out = {}
    for q in queries:
        sides = []
        for ref in (q.a, q.b):
            figs = find_figures(ref.claim.text, reference_date(ref.doc, cluster))
            sides.append((figs, events(ref.claim.text)))
        out[q.id] = pair_label(sides[0][0], sides[1][0], sides[0][1], sides[1][1])
    return out


def contradicting(docs: list[Document], spans: dict[str, list[Span]]) -> dict[str, set[str]]:
    """The claims of ``spans`` in a pair the rules call CONTRADICTS, end to end: pairs formed among the
    system's own claims as the pair set forms them (same non catch-all topic, different documents)."""
    dates = sorted(d.publication_date for d in docs if d.publication_date)
    cluster = dates[-1] if dates else None
    claims = [
        (d.id, s, find_figures(s.text, reference_date(d, cluster)), events(s.text))
        for d in docs
        for s in spans.get(d.id, [])
        if s.layer == "claims"
    ]
    out: dict[str, set[str]] = {d.id: set() for d in docs}
    for (da, a, fa, ea), (db, b, fb, eb) in combinations(claims, 2):
        paired = da != db and a.topic == b.topic and a.topic not in CATCH_ALL_TOPICS
        if paired and pair_label(fa, fb, ea, eb) == "CONTRADICTS":
            out[da].add(a.id)
            out[db].add(b.id)
    return out


# ---------------------------------------------------------------------------------------------
# the system


@dataclass
class Extraction:
    figures: list[Figure]
    hedges: list[tuple[int, int]]
    claims: list[tuple[int, int]]


def extract(text: str, publication_date: str | None) -> Extraction:
    """All rule output for one text (pure; what the throughput benchmark times)."""
    hedges = find_hedges(text)
    claims = find_claims(text, hedges, sentence_bounds(text)) if hedges else []
    return Extraction(find_figures(text, publication_date), hedges, claims)


def to_spans(text: str, ex: Extraction) -> list[Span]:
    spans = [
        Span("figures", f"f{i}", f.start, f.end, text[f.start : f.end], f.label, {"value": f.value})
        for i, f in enumerate(ex.figures)
    ]
    spans += [Span("hedges", f"h{i}", s, e, text[s:e], "HEDGE") for i, (s, e) in enumerate(ex.hedges)]
    spans += [
        Span("claims", f"c{i}", s, e, text[s:e], "CLAIM", {"hedged": True, "topic": topic_of(text[s:e])})
        for i, (s, e) in enumerate(ex.claims)
    ]
    return spans


class RegexSystem(System):
    """Rules only: figures (all five types, normalised), hedge cues, hedged claims, claim pairs."""

    name = "regex"
    # every metric it predicts comes from rules written from these documents
    developed_on = MappingProxyType(
        {
            m: WRITTEN_FROM
            for m in (
                *(t.name for t in TAG_LAYERS if t.layer in ("figures", "hedges", "claims")),
                "figure_values",
                "pairs",
            )
        }
    )
    layers = tag_layers_of({"figures", "hedges", "claims"}, contradictory=True)
    labels_pairs = True

    def predict(self, docs: list[Document], queries: list[PairQuery]) -> Predictions:
        spans = {d.id: to_spans(d.text, extract(d.text, d.publication_date)) for d in docs}
        return Predictions(spans, self.layers, contradicting(docs, spans), label_pairs(queries))
