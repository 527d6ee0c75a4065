"""What replacing one validated gold with another changes, per document (pure functions).

A pull shows this before it writes anything, and refuses to drop work (a task or annotation absent now)
unless asked. Both golds are compared through a ``GoldDigest`` built a document at a time (content hashes
of each gold span and annotation, packed), so a pull of tens of thousands of documents never holds either
gold whole. Claim pairs are few and kept as they are.
"""

from __future__ import annotations

import json
from array import array
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from itertools import groupby

from crossclaim.dataset.gold import DocGold, Gold
from crossclaim.formats.labelstudio.pairs import PairTask
from crossclaim.schema.records import Annotation, Pair, Span

SHOWN = 6  # ids listed per kind of change before "and N more"


@dataclass(frozen=True)
class Delta:
    """Keys added, changed and removed between two keyed collections."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def kinds(self) -> list[tuple[str, tuple[str, ...]]]:
        """("added", keys), ("changed", keys), ("removed", keys), those with keys only."""
        named = (("added", self.added), ("changed", self.changed), ("removed", self.removed))
        return [(how, ids) for how, ids in named if ids]

    def describe(self, what: str) -> str:
        return f"{what} {', '.join(f'{len(ids)} {how} ({listed(ids)})' for how, ids in self.kinds())}"


def delta(old: dict[str, object], new: dict[str, object]) -> Delta:
    return Delta(
        tuple(sorted(new.keys() - old.keys())),
        tuple(sorted(k for k in old.keys() & new.keys() if old[k] != new[k])),
        tuple(sorted(old.keys() - new.keys())),
    )


# ---------------------------------------------------------------------------------------------
# digests


@dataclass(frozen=True)
class Keyed:
    """Content hashes by key, packed in two objects (the keys as a JSON list, the 64-bit hashes as bytes):
    a document's eighty span ids as eighty strings would outweigh all else a pull holds per document."""

    keys: str = "[]"  # (json: orjson's output keeps a kilobyte of buffer however short it is)
    hashes: bytes = b""

    @classmethod
    def of(cls, content: dict[str, Hashable]) -> Keyed:
        keys = sorted(content)
        return cls(json.dumps(keys, ensure_ascii=False), array("q", [hash(content[k]) for k in keys]).tobytes())

    def as_dict(self) -> dict[str, int]:
        return dict(zip(json.loads(self.keys), array("q", self.hashes), strict=True))


def keyed_delta(old: Keyed, new: Keyed) -> Delta:
    return Delta() if old == new else delta(old.as_dict(), new.as_dict())


@dataclass(frozen=True)
class DocDigest:
    spans: Keyed  # the gold annotation's spans, by span id
    annotations: Keyed  # every annotation, by annotator ("name #2" for a second one)
    annotators: tuple[str, ...]  # one entry per annotation, for what a new export lacks


@dataclass
class GoldDigest:
    """What a pull compares of a gold: a ``DocDigest`` per document with a task, the claim pairs whole."""

    docs: dict[str, DocDigest] = field(default_factory=dict)
    pairs: dict[str, dict[str, Pair]] = field(default_factory=dict)  # document -> its gold pairs by id
    pair_annotations: dict[str, object] = field(default_factory=dict)  # "pair id by annotator" -> content
    pair_annotators: dict[str, Counter[str]] = field(default_factory=dict)  # pair id -> its annotators

    def add(self, g: DocGold) -> None:
        if g.task is None:
            return
        annotations = _by_annotator(g.task.annotations, lambda a: hash(tuple(sorted(map(_span_content, a.spans)))))
        self.docs[g.doc.id] = DocDigest(
            Keyed.of({s.id: _span_content(s) for s in g.spans}),
            Keyed.of(annotations),
            tuple(sorted(a.annotator for a in g.task.annotations)),
        )

    def add_pairs(self, pair_tasks: list[PairTask], pairs: list[Pair]) -> None:
        for p in pairs:
            for doc in {p.a_doc, p.b_doc}:
                self.pairs.setdefault(doc, {})[p.id] = p
        for task in pair_tasks:
            pid = task.data["pair_id"]
            self.pair_annotators[pid] = Counter(a.annotator for a in task.annotations)
            for who, value in _by_annotator(task.annotations, lambda a: a.payload).items():
                self.pair_annotations[f"{pid} by {who}"] = value

    @classmethod
    def of(cls, gold: Gold) -> GoldDigest:
        out = cls()
        for doc in gold.docs:
            out.add(DocGold(doc, gold.tasks.get(doc.id), gold.gold.get(doc.id)))
        out.add_pairs(gold.pair_tasks, gold.pairs)
        return out


# ---------------------------------------------------------------------------------------------
# changes and lost work


def changes(old: GoldDigest | None, new: GoldDigest) -> list[str]:
    """One line per document whose gold spans, gold pairs (by pair id) or annotations (by annotator) were
    added, changed or removed, then the claim-pair annotations; "no change" when nothing changes."""
    old = old or GoldDigest()
    none = DocDigest(Keyed(), Keyed(), ())
    out = []
    for doc_id in sorted(old.docs.keys() | new.docs.keys()):
        before, after = old.docs.get(doc_id, none), new.docs.get(doc_id, none)
        kinds = [
            ("gold spans", keyed_delta(before.spans, after.spans)),
            ("gold pairs", delta(old.pairs.get(doc_id, {}), new.pairs.get(doc_id, {}))),
            ("annotations", keyed_delta(before.annotations, after.annotations)),
        ]
        if any(d for _, d in kinds):
            out.append(f"{doc_id}: " + "; ".join(d.describe(what) for what, d in kinds if d))
    if pairs := delta(old.pair_annotations, new.pair_annotations):
        out.append(pairs.describe("claim-pair annotations:"))
    return out or ["no change"]


def lost_work(old: GoldDigest, spans: dict[str, Counter[str]], pairs: dict[str, Counter[str]]) -> list[tuple[str, str]]:
    """(where, what) of every task and annotation of ``old`` that the new exports lack. ``spans`` and ``pairs``
    count the annotators of each task of the new exports, read before they are validated, so that missing work
    is named even when its absence breaks something else too (a claim pair whose claim went with its task)."""
    lost: list[tuple[str, str]] = []
    old_spans = {doc_id: Counter(d.annotators) for doc_id, d in old.docs.items()}
    for what, before, now in (("document", old_spans, spans), ("claim pair", old.pair_annotators, pairs)):
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


def losing_pull(lost: list[tuple[str, str]], causes: list[tuple[str, str]], source: str) -> list[tuple[str, str]]:
    """The problems of new exports that lack committed work, in the order to say them.

    ``causes``, the problems of the new span export's own tasks, come first: one may be why work looks lost
    (a ``data.doc_id`` changed to an unknown id takes its document's task away). Later problems (a claim pair
    naming a claim that went with its task) are consequences of the loss, left for after it is accepted.
    """
    advice = (
        "lacks work the committed exports (annotations/exports) hold: nothing was written; restore it in "
        "Label Studio, or accept the loss with --accept-deletions"
    )
    return [*causes, *((f"{source}: {where}", what) for where, what in lost), (source, advice)]


def _span_content(s: Span) -> tuple:
    return (s.layer, s.id, s.start, s.end, s.text, s.label, tuple(sorted(s.attrs.items())))


def _by_annotator(annotations: list[Annotation], content: Callable[[Annotation], object]) -> dict[str, Hashable]:
    """Annotations keyed by annotator (a second one by the same annotator as "name #2"), with what they hold."""
    held = sorted(((a, content(a)) for a in annotations), key=lambda x: (x[0].annotator, repr(x[1])))
    return {
        who if n == 1 else f"{who} #{n}": (value, a.ground_truth, a.was_cancelled, a.lead_time)
        for who, theirs in groupby(held, key=lambda x: x[0].annotator)
        for n, (a, value) in enumerate(theirs, 1)
    }


def listed(ids: Sequence[str]) -> str:
    """The first ``SHOWN`` ids, then how many more."""
    shown = ", ".join(ids[:SHOWN])
    return shown if len(ids) <= SHOWN else f"{shown} and {len(ids) - SHOWN} more"
