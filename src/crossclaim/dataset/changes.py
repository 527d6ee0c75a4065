"""What replacing one validated gold with another changes, per document (pure functions).

A pull shows this before it writes anything, and refuses to drop work silently: a task or an
annotation present before but absent now is *lost*, and lost work is only accepted when asked for.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from crossclaim.dataset.gold import Gold
from crossclaim.formats.labelstudio.annotations import annotators_by_task
from crossclaim.schema.records import Annotation, Span

SHOWN = 6  # ids listed per kind of change before "and N more"


@dataclass(frozen=True)
class Delta:
    """Keys added, changed and removed between two keyed collections."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def describe(self, what: str) -> str:
        parts = [
            f"{len(ids)} {how} ({_ids(ids)})"
            for how, ids in (("added", self.added), ("changed", self.changed), ("removed", self.removed))
            if ids
        ]
        return f"{what} {', '.join(parts)}"


def delta(old: dict[str, object], new: dict[str, object]) -> Delta:
    return Delta(
        tuple(sorted(new.keys() - old.keys())),
        tuple(sorted(k for k in old.keys() & new.keys() if old[k] != new[k])),
        tuple(sorted(old.keys() - new.keys())),
    )


@dataclass(frozen=True)
class DocChanges:
    doc_id: str
    spans: Delta  # the gold annotation's spans, by span id
    pairs: Delta  # gold claim pairs with a claim in this document, by pair id
    annotations: Delta  # every annotator's annotation of the document's span task


@dataclass(frozen=True)
class Changes:
    docs: tuple[DocChanges, ...]
    pair_annotations: Delta  # every annotator's claim-pair labels, by "pair id by annotator"

    def lines(self) -> list[str]:
        """One line per changed document, then the claim-pair annotations; "no change" when nothing changes."""
        out = []
        for d in self.docs:
            kinds = [(d.spans, "gold spans"), (d.pairs, "gold pairs"), (d.annotations, "annotations")]
            out.append(f"{d.doc_id}: " + "; ".join(x.describe(what) for x, what in kinds if x))
        if self.pair_annotations:
            out.append(self.pair_annotations.describe("claim-pair annotations:"))
        return out or ["no change"]


def changes(old: Gold | None, new: Gold) -> Changes:
    """Per document: gold spans, gold pairs and annotations added, changed or removed."""
    old_docs = set(old.tasks) if old else set()
    docs = []
    for doc_id in sorted(old_docs | set(new.tasks)):
        d = DocChanges(
            doc_id,
            delta(_gold_spans(old, doc_id), _gold_spans(new, doc_id)),
            delta(_gold_pairs(old, doc_id), _gold_pairs(new, doc_id)),
            delta(_span_annotations(old, doc_id), _span_annotations(new, doc_id)),
        )
        if d.spans or d.pairs or d.annotations:
            docs.append(d)
    return Changes(tuple(docs), delta(_pair_annotations(old), _pair_annotations(new)))


def lost_work(old: Gold, spans_data: object, pairs_data: object) -> list[tuple[str, str]]:
    """(where, what) of every task and annotation of ``old`` that the new exports lack.

    Read from the new exports leniently, before they are validated, so that missing work is named
    even when its absence also breaks something else (a claim pair whose claim went with its task).
    """
    lost: list[tuple[str, str]] = []
    old_spans = {doc_id: Counter(a.annotator for a in t.annotations) for doc_id, t in old.tasks.items()}
    old_pairs = {t.data["pair_id"]: Counter(a.annotator for a in t.annotations) for t in old.pair_tasks}
    for what, key, before, data in (
        ("document", "doc_id", old_spans, spans_data),
        ("claim pair", "pair_id", old_pairs, pairs_data),
    ):
        now = annotators_by_task(data, key)
        for task_key in sorted(before):
            if task_key not in now:
                n = sum(before[task_key].values())
                held = f"{n} annotation{'s' if n != 1 else ''}"
                lost.append((f"{what} {task_key}", f"its task ({held}) is not in the new export"))
                continue
            for who, n in sorted((before[task_key] - now[task_key]).items()):
                many = f"{n} annotations by {who} are" if n > 1 else f"the annotation by {who} is"
                lost.append((f"{what} {task_key}", f"{many} not in the new export"))
    return lost


def _gold_spans(gold: Gold | None, doc_id: str) -> dict[str, object]:
    return {s.id: s for s in gold.spans(doc_id)} if gold else {}


def _gold_pairs(gold: Gold | None, doc_id: str) -> dict[str, object]:
    return {p.id: p for p in gold.pairs if doc_id in (p.a_doc, p.b_doc)} if gold else {}


def _span_annotations(gold: Gold | None, doc_id: str) -> dict[str, object]:
    task = gold.tasks.get(doc_id) if gold else None
    return _by_annotator(task.annotations if task else [], lambda a: tuple(sorted(a.spans, key=_span_key)))


def _pair_annotations(gold: Gold | None) -> dict[str, object]:
    out: dict[str, object] = {}
    for task in gold.pair_tasks if gold else []:
        for who, value in _by_annotator(task.annotations, lambda a: a.payload).items():
            out[f"{task.data['pair_id']} by {who}"] = value
    return out


def _by_annotator(annotations: list[Annotation], content) -> dict[str, object]:
    """Annotations keyed by annotator (a second one by the same annotator as "name #2"), with what they hold."""
    seen: Counter[str] = Counter()
    out: dict[str, object] = {}
    for a in sorted(annotations, key=lambda a: (a.annotator, repr(content(a)))):
        seen[a.annotator] += 1
        key = a.annotator if seen[a.annotator] == 1 else f"{a.annotator} #{seen[a.annotator]}"
        out[key] = (content(a), a.ground_truth, a.was_cancelled, a.lead_time)
    return out


def _span_key(s: Span) -> tuple:
    return (s.layer, s.id)


def _ids(ids: tuple[str, ...]) -> str:
    shown = ", ".join(ids[:SHOWN])
    return shown if len(ids) <= SHOWN else f"{shown} and {len(ids) - SHOWN} more"
