"""Inter-annotator agreement on tasks with several annotations (pure functions).

Span agreement is F1 between two annotators (symmetric: precision of one is recall of the
other): *strict* needs the same start, end and label; *partial* pairs spans one-to-one that
overlap and share the label. Figures add value agreement on strictly matched spans. Pair
labels get Cohen's kappa (scikit-learn) over pairs both annotators labelled."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations

from crossclaim.schema.records import Pair, Span, Task
from crossclaim.schema.scheme import LAYERS


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

    @property
    def strict_f1(self) -> float:
        return _f1(self.strict, self.n_a, self.n_b)

    @property
    def partial_f1(self) -> float:
        return _f1(self.partial, self.n_a, self.n_b)

    @property
    def value_agreement(self) -> float | None:
        return self.values_equal / self.strict if self.layer == "figures" and self.strict else None


def _f1(matched: int, n_a: int, n_b: int) -> float:
    return 2 * matched / (n_a + n_b) if n_a + n_b else 1.0


def strict_matches(a: list[Span], b: list[Span]) -> list[tuple[Span, Span]]:
    index = {(s.start, s.end, s.label): s for s in b}
    return [(s, index[(s.start, s.end, s.label)]) for s in a if (s.start, s.end, s.label) in index]


def partial_matches(a: list[Span], b: list[Span]) -> int:
    """One-to-one matches of overlapping same-label spans: exact matches first, then overlaps."""
    used_a: set[int] = set()
    used_b: set[int] = set()
    for exact in (True, False):
        for i, s in enumerate(a):
            if i in used_a:
                continue
            for k, t in enumerate(b):
                if k in used_b or t.label != s.label:
                    continue
                if (s.start, s.end) == (t.start, t.end) if exact else (s.start < t.end and t.start < s.end):
                    used_a.add(i)
                    used_b.add(k)
                    break
    return len(used_a)


def span_agreement(tasks: list[Task], layers: list[str] | None = None) -> list[SpanAgreement]:
    """Pairwise agreement per layer over every task both annotators annotated (not cancelled).

    A layer is compared on a task only when at least one of the two annotated it, so a pass
    that skipped claims by design does not count as disagreeing on claims.
    """
    layers = layers or list(LAYERS)
    acc: dict[tuple[str, str, str], SpanAgreement] = {}
    for task in tasks:
        anns = sorted((a for a in task.annotations if not a.was_cancelled), key=lambda a: a.annotator)
        for x, y in combinations(anns, 2):
            for layer in layers:
                sa = [s for s in x.spans if s.layer == layer]
                sb = [s for s in y.spans if s.layer == layer]
                if not sa or not sb:
                    continue
                key = (layer, x.annotator, y.annotator)
                agg = acc.setdefault(key, SpanAgreement(layer, x.annotator, y.annotator, 0, 0, 0, 0, 0, 0))
                matched = strict_matches(sa, sb)
                agg.docs += 1
                agg.n_a += len(sa)
                agg.n_b += len(sb)
                agg.strict += len(matched)
                agg.partial += partial_matches(sa, sb)
                agg.values_equal += sum(1 for s, t in matched if s.value == t.value)
    return [acc[k] for k in sorted(acc, key=lambda k: (list(LAYERS).index(k[0]), k[1], k[2]))]


def pair_kappa(by_annotator: dict[str, list[Pair]]) -> list[tuple[str, str, int, float]]:
    """Cohen's kappa between every two annotators over the pairs both labelled."""
    from sklearn.metrics import cohen_kappa_score

    out = []
    for a, b in combinations(sorted(by_annotator), 2):
        la = {p.id: p.label for p in by_annotator[a]}
        lb = {p.id: p.label for p in by_annotator[b]}
        common = sorted(la.keys() & lb.keys())
        if not common:
            continue
        ya, yb = [la[k] for k in common], [lb[k] for k in common]
        kappa = 1.0 if ya == yb else float(cohen_kappa_score(ya, yb))
        out.append((a, b, len(common), kappa))
    return out


class AnnotatorTally:
    """Per annotator: tasks annotated, spans per layer, cancelled annotations, lead times.

    Filled one task at a time, so a streamed build need not keep every task.
    """

    def __init__(self) -> None:
        self._rows: dict[str, dict] = defaultdict(_new_row)

    def add(self, task: Task) -> None:
        for a in task.annotations:
            r = self._rows[a.annotator]
            if a.was_cancelled:
                r["cancelled"] += 1
                continue
            r["tasks"] += 1
            for s in a.spans:
                r["spans"][s.layer] += 1
            if a.lead_time is not None:
                r["lead"].append(a.lead_time)

    def merge(self, other: AnnotatorTally) -> None:
        for name, r in other._rows.items():
            mine = self._rows[name]
            mine["tasks"] += r["tasks"]
            mine["cancelled"] += r["cancelled"]
            mine["lead"] += r["lead"]
            for layer, n in r["spans"].items():
                mine["spans"][layer] += n

    def table(self) -> list[tuple[str, int, dict[str, int], int, float | None]]:
        return [
            (name, r["tasks"], dict(r["spans"]), r["cancelled"], sum(r["lead"]) / len(r["lead"]) if r["lead"] else None)
            for name, r in sorted(self._rows.items())
        ]


def _new_row() -> dict:
    return {"tasks": 0, "spans": defaultdict(int), "cancelled": 0, "lead": []}


def per_annotator(tasks: list[Task]) -> list[tuple[str, int, dict[str, int], int, float | None]]:
    """Per annotator: tasks annotated, spans per layer, cancelled annotations, mean lead time."""
    tally = AnnotatorTally()
    for task in tasks:
        tally.add(task)
    return tally.table()


def agreement_md(
    tasks: list[Task],
    pairs_by_annotator: dict[str, list[Pair]] | None = None,
    only: tuple[str, str] | None = None,
    annotators: list[tuple[str, int, dict[str, int], int, float | None]] | None = None,
) -> str:
    """Markdown tables: span agreement per layer and annotator pair, pair-label kappa, annotators.

    ``annotators`` (an ``AnnotatorTally`` table) covers tasks not passed in ``tasks``.
    """
    rows = span_agreement(tasks)
    if only:
        rows = [r for r in rows if {r.a, r.b} == set(only)]
    out = [
        "| layer | annotator A | annotator B | documents | spans A | spans B | strict F1 | partial F1 | "
        "figure value agreement |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        value = "" if r.value_agreement is None else f"{r.value_agreement:.3f} ({r.values_equal}/{r.strict})"
        out.append(
            f"| {r.layer} | {r.a} | {r.b} | {r.docs} | {r.n_a} | {r.n_b} | {r.strict_f1:.3f} | "
            f"{r.partial_f1:.3f} | {value} |"
        )
    if pairs_by_annotator:
        kappas = pair_kappa(pairs_by_annotator)
        if kappas:
            out += ["", "| pair labels: annotator A | annotator B | pairs | Cohen's kappa |", "|---|---|---:|---:|"]
            out += [f"| {a} | {b} | {n} | {k:.3f} |" for a, b, n, k in kappas]
    out += ["", "| annotator | tasks | spans per layer | cancelled | mean lead time (s) |", "|---|---:|---|---:|---:|"]
    for name, n, spans, cancelled, lead in annotators if annotators is not None else per_annotator(tasks):
        per = ", ".join(f"{k} {spans[k]}" for k in LAYERS if k in spans)
        out.append(f"| {name} | {n} | {per} | {cancelled} | {'' if lead is None else f'{lead:.1f}'} |")
    return "\n".join(out) + "\n"
