"""Inter-annotator agreement on tasks with several annotations (pure functions).

Who counts: annotators only. Adjudicators' annotations (``annotations/team.json``) are left out (they
often start from an annotator's work), and so are duplicates: an annotation identical to another of the
task (Label Studio's Duplicate Annotation copies regions with their ids), of which the first annotator's
counts. A claim-pair annotation is a duplicate only with a non-empty rationale: equal labels alone are agreement.

Span agreement is F1 between two annotators (symmetric): *strict* needs the same start, end and label,
*partial* pairs overlapping same-label spans one-to-one; figures add value agreement on strict matches.
Claim attributes (on claims drawn with the same offsets) and pair labels get Krippendorff's alpha (nominal)
per annotator pair and over all at once; pair labels also Cohen's kappa (scikit-learn) per pair."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable
from dataclasses import astuple, dataclass, field, replace
from itertools import combinations, groupby
from typing import TypeVar

from crossclaim.formats.labelstudio.annotations import gold_annotation
from crossclaim.formats.labelstudio.pairs import PairTask
from crossclaim.formats.team import Team
from crossclaim.schema.records import Annotation, Pair, Span, Task
from crossclaim.schema.scheme import LAYERS

ALPHA_ATTRIBUTES = ("hedged", "topic")  # claim attributes whose agreement is alpha
ALL = "all annotators"  # the overall row's name
_Item = TypeVar("_Item", Annotation, Pair)


@dataclass
class SpanAgreement:
    layer: str
    a: str
    b: str
    docs: int
    n_a: int
    n_b: int
    strict: int  # matched spans
    partial: int
    values_equal: int  # figures: matched spans with the same value


def _pooled(layer: str, a: str, b: str, counts: list[tuple[int, ...]]) -> SpanAgreement:
    """``counts`` (of the fields after the names) added up."""
    return SpanAgreement(layer, a, b, *map(sum, zip(*counts, strict=True)))


def strict_matches(a: list[Span], b: list[Span]) -> list[tuple[Span, Span]]:
    index = {(s.start, s.end, s.label): s for s in b}
    return [(s, index[(s.start, s.end, s.label)]) for s in a if (s.start, s.end, s.label) in index]


def partial_matches(a: list[Span], b: list[Span]) -> int:
    """One-to-one matches of overlapping same-label spans: exact matches first, then overlaps."""
    free_a, free_b = list(a), list(b)
    for exact in (True, False):
        for s in list(free_a):
            fits = (t for t in free_b if t.label == s.label and _overlap(s, t, exact))
            if (t := next(fits, None)) is not None:
                free_a.remove(s)
                free_b.remove(t)
    return len(a) - len(free_a)


def _overlap(s: Span, t: Span, exact: bool) -> bool:
    return (s.start, s.end) == (t.start, t.end) if exact else s.start < t.end and t.start < s.end


def span_agreement(tasks: list[Task]) -> list[SpanAgreement]:
    """Pairwise agreement per layer over the tasks both annotators annotated (``_compared``), a layer only
    where both annotated it, so a pass that skipped claims by design does not count as disagreeing on them."""
    acc: dict[tuple[str, str, str], list[tuple[int, ...]]] = defaultdict(list)
    for task in tasks:
        for x, y in combinations(_compared(task), 2):
            for layer in LAYERS:
                sa = [s for s in x.spans if s.layer == layer]
                sb = [s for s in y.spans if s.layer == layer]
                if not sa or not sb:
                    continue
                matched = strict_matches(sa, sb)
                equal = sum(1 for s, t in matched if s.value == t.value)
                counts = (1, len(sa), len(sb), len(matched), partial_matches(sa, sb), equal)
                acc[(layer, x.annotator, y.annotator)].append(counts)
    return [_pooled(*k, acc[k]) for k in sorted(acc, key=lambda k: (list(LAYERS).index(k[0]), k[1], k[2]))]


def _compared(task: Task) -> list[Annotation]:
    """A task's annotations that are compared, by annotator: not cancelled, and not an annotator's one of several
    (``repeated_annotators`` names them): no one of them is theirs more than another."""
    usable = [a for a in task.annotations if not a.was_cancelled]
    n = Counter(a.annotator for a in usable)
    return sorted((a for a in usable if n[a.annotator] == 1), key=lambda a: a.annotator)


def pair_kappa(by_annotator: dict[str, list[Pair]]) -> list[tuple[str, str, int, float]]:
    """Cohen's kappa between every two annotators over the pairs both labelled (each once)."""
    from sklearn.metrics import cohen_kappa_score

    out = []
    labels = {who: _single_labels(pairs) for who, pairs in by_annotator.items()}
    for a, b in combinations(sorted(labels), 2):
        if common := sorted(labels[a].keys() & labels[b].keys()):
            ya, yb = [labels[a][k] for k in common], [labels[b][k] for k in common]
            out.append((a, b, len(common), 1.0 if ya == yb else float(cohen_kappa_score(ya, yb))))
    return out


def _single_labels(pairs: list[Pair]) -> dict[str, str]:
    """Pair id -> label, leaving out pairs the annotator labelled more than once."""
    counts = Counter(p.id for p in pairs)
    return {p.id: p.label for p in pairs if counts[p.id] == 1}


def repeated_annotators(
    tasks: list[Task], pairs_by_annotator: dict[str, list[Pair]] | None = None
) -> list[tuple[str, str, int]]:
    """(task, annotator, annotations) wherever one annotator has several usable annotations on one task (such
    annotations are not compared with anyone)."""
    out = []
    for task in tasks:
        counts = Counter(a.annotator for a in task.annotations if not a.was_cancelled)
        out += [(task.doc_id, who, n) for who, n in counts.items() if n > 1]
    for who, pairs in (pairs_by_annotator or {}).items():
        out += [(pid, who, n) for pid, n in Counter(p.id for p in pairs).items() if n > 1]
    return sorted(out)


# ---------------------------------------------------------------------------------------------
# who counts: annotators, once per task


@dataclass
class Counted:
    """The annotations agreement compares, and what was left out and why."""

    tasks: list[Task]
    pairs: dict[str, list[Pair]]
    adjudicators: Counter[str] = field(default_factory=Counter)  # annotations left out, per adjudicator
    duplicates: list[tuple[str, str, str]] = field(default_factory=list)  # (task, annotator, identical to whom)


def counted(tasks: list[Task], pairs_by_annotator: dict[str, list[Pair]] | None, team: Team | None) -> Counted:
    """The annotations that count: no adjudicator's, no cancelled one, one of each set of identical ones."""
    adjudicators = set(team.adjudicators) if team else set()
    out = Counted([], {})
    for task in tasks:
        usable = [a for a in task.annotations if not a.was_cancelled]
        out.adjudicators.update(a.annotator for a in usable if a.annotator in adjudicators)
        usable = [a for a in usable if a.annotator not in adjudicators]
        out.tasks.append(replace(task, annotations=_first_of_identical(task.doc_id, usable, _content, out)))
    by_annotator = pairs_by_annotator or {}
    out.adjudicators.update({who: len(ps) for who, ps in by_annotator.items() if who in adjudicators})
    pairs = sorted((p for who, ps in by_annotator.items() if who not in adjudicators for p in ps), key=lambda p: p.id)
    for pid, same in groupby(pairs, key=lambda p: p.id):
        for p in _first_of_identical(pid, list(same), _pair_content, out):
            out.pairs.setdefault(p.annotator, []).append(p)
    out.duplicates.sort()
    return out


def _first_of_identical(
    where: str, items: list[_Item], content: Callable[[_Item], Hashable], out: Counted
) -> list[_Item]:
    """``items`` by annotator, leaving out (into ``out.duplicates``) any whose content another annotator's has."""
    first: dict = {}
    kept = []
    for x in sorted(items, key=lambda x: x.annotator):
        if first.setdefault(content(x), x.annotator) != x.annotator:
            out.duplicates.append((where, x.annotator, first[content(x)]))
        else:
            kept.append(x)
    return kept


def _pair_content(p: Pair) -> tuple:
    """Label and rationale; without a rationale the annotator too, so equal labels alone are never a copy."""
    return (p.label, p.rationale, "" if p.rationale.strip() else p.annotator)


def _content(a: Annotation) -> tuple:
    return tuple(sorted((s.layer, s.id, s.start, s.end, s.label, tuple(sorted(s.attrs.items()))) for s in a.spans))


GOLD = "gold"  # the name the gold annotation goes by when a pass is compared with it


def pass_against_gold(
    tasks: list[Task], pair_tasks: list[PairTask], pass_name: str
) -> tuple[list[Task], dict[str, list[Pair]]]:
    """Each task a pass annotated and that has gold, holding its gold annotation (as ``GOLD``) and the pass's.

    This measures a blind pass against the gold it was blind to, *before* adjudication takes the pass's
    corrections into the gold: how close an independent annotator comes to the gold.
    """
    span_tasks = []
    for task in tasks:
        gold, work = gold_annotation(task), [a for a in task.annotations if a.pass_name == pass_name]
        if gold is not None and work:
            span_tasks.append(replace(task, annotations=[replace(gold, annotator=GOLD), *work]))
    pairs: dict[str, list[Pair]] = defaultdict(list)
    for task in pair_tasks:
        gold, work = gold_annotation(task), [a for a in task.annotations if a.pass_name == pass_name]
        if gold is None or not isinstance(gold.payload, Pair) or not work:
            continue
        # named GOLD; without its rationale, so a pass's label is never taken for a copy of the gold's
        pairs[GOLD].append(replace(gold.payload, annotator=GOLD, rationale=""))
        for a in work:
            if isinstance(a.payload, Pair) and not a.was_cancelled:
                pairs[a.annotator].append(a.payload)
    return span_tasks, dict(pairs)


# ---------------------------------------------------------------------------------------------
# Krippendorff's alpha


@dataclass(frozen=True)
class Alpha:
    """Alpha over the units at least two of the coders gave a value (``units``); None when undefined
    (fewer than two such units, or every value the same: no variation to agree beyond chance on)."""

    what: str  # "pair label", or a claim attribute
    a: str  # an annotator, or ``ALL``
    b: str  # the other annotator ("" for ``ALL``)
    units: int
    alpha: float | None


def alpha_of(values: dict[str, dict[object, object]], what: str) -> list[Alpha]:
    """Alpha per pair of coders and over all of them; ``values``: coder -> unit -> value (nominal)."""
    rows = [_alpha(what, a, b, {a: values[a], b: values[b]}) for a, b in combinations(sorted(values), 2)]
    if len(values) > 2:
        rows.append(_alpha(what, ALL, "", values))
    return [r for r in rows if r.units]


def _alpha(what: str, a: str, b: str, values: dict[str, dict[object, object]]) -> Alpha:
    import krippendorff
    import numpy as np

    coders = sorted(values)
    seen = Counter(unit for c in coders for unit in values[c])
    units = sorted((u for u, n in seen.items() if n > 1), key=repr)
    codes = {v: k for k, v in enumerate(sorted({repr(values[c][u]) for c in coders for u in units if u in values[c]}))}
    if len(units) < 2 or len(codes) < 2:
        return Alpha(what, a, b, len(units), None)
    data = np.array([[codes[repr(values[c][u])] if u in values[c] else np.nan for u in units] for c in coders])
    value = float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
    return Alpha(what, a, b, len(units), None if math.isnan(value) else value)


def pair_alpha(by_annotator: dict[str, list[Pair]]) -> list[Alpha]:
    """Alpha of the pair labels (each annotator's pairs labelled once: see ``_single_labels``)."""
    return alpha_of({who: _single_labels(pairs) for who, pairs in by_annotator.items()}, "pair label")


def attribute_alpha(tasks: list[Task], attribute: str) -> list[Alpha]:
    """Alpha of a claim attribute over claims drawn with the same offsets (a unit: document, start, end)."""
    values: dict[str, dict[object, object]] = defaultdict(dict)
    for task in tasks:
        for a in _compared(task):
            for s in a.spans:
                if s.layer == "claims" and s.attrs.get(attribute) is not None:
                    values[a.annotator][(task.doc_id, s.start, s.end)] = s.attrs[attribute]
    return alpha_of(dict(values), attribute)


class AnnotatorTally:
    """Per annotator: tasks annotated, spans per layer, cancelled annotations, lead times; filled a task at a
    time, so a streamed build need not keep every task."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()  # (annotator, "tasks", "cancelled" or a layer)
        self._leads: dict[str, list[float]] = defaultdict(list)

    def add(self, task: Task) -> None:
        for a in task.annotations:
            self._counts[a.annotator, "cancelled" if a.was_cancelled else "tasks"] += 1
            if not a.was_cancelled:
                self._counts.update((a.annotator, s.layer) for s in a.spans)
                self._leads[a.annotator] += [] if a.lead_time is None else [a.lead_time]

    def merge(self, other: AnnotatorTally) -> None:
        self._counts += other._counts
        for name, leads in other._leads.items():
            self._leads[name] += leads

    def table(self) -> list[tuple[str, int, dict[str, int], int, float | None]]:
        """Per annotator: tasks, spans per layer, cancelled annotations, mean lead time."""
        n, mean = self._counts, {who: sum(ls) / len(ls) for who, ls in self._leads.items() if ls}
        return [
            (who, n[who, "tasks"], {k: n[who, k] for k in LAYERS if n[who, k]}, n[who, "cancelled"], mean.get(who))
            for who in sorted({who for who, _ in n})
        ]


def per_annotator(tasks: list[Task]) -> list[tuple[str, int, dict[str, int], int, float | None]]:
    """Per annotator: tasks annotated, spans per layer, cancelled annotations, mean lead time."""
    tally = AnnotatorTally()
    for task in tasks:
        tally.add(task)
    return tally.table()


def agreement_md(
    tasks: list[Task],
    pairs_by_annotator: dict[str, list[Pair]] | None = None,
    annotators: list[tuple[str, int, dict[str, int], int, float | None]] | None = None,
    team: Team | None = None,
) -> str:
    """Markdown: who is compared, span F1 per layer, alpha of claim attributes and pair labels, annotators
    (``annotators``: an ``AnnotatorTally`` table covering tasks not in ``tasks``); ``team`` names adjudicators."""
    kept = counted(tasks, pairs_by_annotator, team)
    spans = span_agreement(kept.tasks)
    by_layer = [list(rows) for _, rows in groupby(spans, key=lambda r: r.layer)]  # span_agreement's order
    spans += [_pooled(rows[0].layer, ALL, "", [astuple(r)[3:] for r in rows]) for rows in by_layer if len(rows) > 1]
    spans.sort(key=lambda r: (list(LAYERS).index(r.layer), r.a == ALL, r.a, r.b))
    alphas = [row for attr in ALPHA_ATTRIBUTES for row in attribute_alpha(kept.tasks, attr)]
    kappas = {(a, b): f"{k:.3f}" for a, b, _, k in pair_kappa(kept.pairs)}
    out = _who_md(kept)
    out += _table(
        "layer|annotator A|annotator B|documents:|spans A:|spans B:|strict F1:|partial F1:|figure value agreement:",
        list(map(_span_row, spans)),
    )
    out += _table(
        "claim attribute|annotator A|annotator B|claims (same offsets):|Krippendorff's alpha:",
        [(r.what, r.a, r.b, r.units, _shown_alpha(r.alpha)) for r in alphas],
    )
    out += _table(
        "pair labels: annotator A|annotator B|pairs:|Krippendorff's alpha:|Cohen's kappa:",
        [(r.a, r.b, r.units, _shown_alpha(r.alpha), kappas.get((r.a, r.b), "")) for r in pair_alpha(kept.pairs)],
    )
    repeated = repeated_annotators(kept.tasks, kept.pairs)
    if repeated:
        listed = "; ".join(f"{who} on {task} ({n} annotations)" for task, who, n in repeated)
        out += ["", f"Not compared (one annotator, several annotations of one task): {listed}."]
    rows = []
    for name, n, per_layer, cancelled, lead in annotators if annotators is not None else per_annotator(tasks):
        per = ", ".join(f"{k} {per_layer[k]}" for k in LAYERS if k in per_layer)
        role = (team.role(name) if team else None) or ""
        rows.append((name, role, n, per, cancelled, "" if lead is None else f"{lead:.1f}"))
    out += _table("annotator|role|tasks:|spans per layer|cancelled:|mean lead time (s):", rows, always=True)
    return "\n".join(out) + "\n"


def _table(columns: str, rows: list[tuple], always: bool = False) -> list[str]:
    """A Markdown table after a blank line, nothing without rows unless ``always``; ``columns``: the names
    split by ``|``, a name ending in ``:`` right-aligned."""
    names = columns.split("|")
    head = "| " + " | ".join(n.removesuffix(":") for n in names) + " |"
    align = "|" + "".join("---:|" if n.endswith(":") else "---|" for n in names)
    return ["", head, align, *("| " + " | ".join(map(str, r)) + " |" for r in rows)] if rows or always else []


def _span_row(r: SpanAgreement) -> tuple:
    """A row of the span table: strict and partial F1 (2 matched / all spans; 1 when neither annotator drew
    one), and for figures the share of strict matches with the same value."""
    n = r.n_a + r.n_b
    f1 = [f"{2 * m / n if n else 1.0:.3f}" for m in (r.strict, r.partial)]
    values = f"{r.values_equal / r.strict:.3f} ({r.values_equal}/{r.strict})" if r.strict else ""
    return (r.layer, r.a, r.b, r.docs, r.n_a, r.n_b, *f1, values if r.layer == "figures" else "")


def _shown_alpha(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.3f}"


def _who_md(kept: Counted) -> list[str]:
    """The sentences saying who is compared and who is left out."""
    out = [
        "Compared: annotators only, each with each (and all at once where there are more than two). "
        "Alpha is Krippendorff's (nominal); *undefined* where fewer than two units are shared or every value "
        "is the same."
    ]
    if kept.adjudicators:
        left = ", ".join(f"{who} ({n} annotations)" for who, n in sorted(kept.adjudicators.items()))
        out.append(f"Not compared (adjudicators, `annotations/team.json`): {left}.")
    if kept.duplicates:
        listed = "; ".join(f"{who} on {task} (identical to {whose})" for task, who, whose in kept.duplicates)
        out.append(f"Not compared (duplicates of another annotation of the task): {listed}.")
    return [" ".join(out)]
