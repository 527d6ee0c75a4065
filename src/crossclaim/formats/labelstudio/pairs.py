"""The claim-pair project: task data, labels and rationales, validated against the gold claims."""

from __future__ import annotations

from collections.abc import Container, Mapping
from dataclasses import dataclass
from html import escape

from crossclaim.errors import InputError, Problems, shown
from crossclaim.formats.jsonio import described
from crossclaim.formats.labelstudio.annotations import (
    IN_DISPUTE,
    GoldPolicy,
    annotation_of,
    annotator,
    dispute_note,
    read_gold_record,
    settle_gold,
)
from crossclaim.formats.labelstudio.spans import items_of, tasks_of
from crossclaim.schema.records import Annotation, Document, GoldRecord, Pair, Span, pair_id
from crossclaim.schema.scheme import PAIR_LABELS, RATIONALE_REQUIRED
from crossclaim.text import sentence_bounds

PAIR_FIELDS = ("pair_id", "a_doc", "a_claim", "a_text", "b_doc", "b_claim", "b_text")


def pair_task_data(
    data: Mapping[str, str], docs: Mapping[str, Document], claims: Mapping[tuple[str, str], Span]
) -> dict:
    """A pair task's data as pushed and committed: ``PAIR_FIELDS`` and what the annotator reads beside each
    claim (its topic and sentence, its document's headline, publisher and date: the label depends on the
    reference time), recomputed from the gold every time (never read back), so it follows the claims."""
    out = {f: data[f] for f in PAIR_FIELDS}
    for side in ("a", "b"):
        doc, claim = docs[data[f"{side}_doc"]], claims[(data[f"{side}_doc"], data[f"{side}_claim"])]
        out |= {
            f"{side}_topic": claim.topic or "(no topic)",
            f"{side}_html": claim_in_sentence_html(doc.text, claim),
            f"{side}_headline": doc.headline or "(no headline)",
            f"{side}_publisher": doc.publisher or "publisher unknown",
            f"{side}_date": doc.publication_date or "date unknown",
            f"{side}_text": claim.text,
        }
    return out


def claim_in_sentence_html(text: str, claim: Span) -> str:
    """The sentence holding the claim, HTML-escaped, with the claim inside ``<mark>``."""
    start, end = next(((s, e) for s, e in sentence_bounds(text) if s <= claim.start < e), (claim.start, claim.end))
    start, end = min(start, claim.start), max(end, claim.end)
    before, inside, after = text[start : claim.start], text[claim.start : claim.end], text[claim.end : end]
    return f"{escape(before)}<mark>{escape(inside)}</mark>{escape(after)}"


# ---------------------------------------------------------------------------------------------
# claim-pair project


@dataclass
class PairTask:
    """A claim-pair task: its data and every annotation (``payload`` holds the parsed Pair)."""

    data: dict
    annotations: list[Annotation]
    where: str = ""  # "file: task N (pair ID)", for problems found later
    gold: GoldRecord | None = None  # as committed, or as the gold rule decided it


def parse_pair_tasks(data: object, where: str, claims: dict[tuple[str, str], Span] | None = None) -> list[PairTask]:
    """Validate a claim-pair export: task data, claims it names, every annotation's label."""
    if not isinstance(data, list):
        raise InputError(where, "a Label Studio export is a JSON list of tasks")
    problems = Problems()
    tasks: dict[str, PairTask] = {}
    for raw, here in tasks_of(data, where, problems):
        d = raw.get("data")
        if not isinstance(d, dict) or any(not isinstance(d.get(f), str) for f in PAIR_FIELDS):
            problems.add(here, f"data must hold the strings {', '.join(PAIR_FIELDS)}")
            continue
        here = f"{here} (pair {d['pair_id']})"
        if d["pair_id"] != pair_id(d["a_doc"], d["a_claim"], d["b_doc"], d["b_claim"]):
            problems.add(here, "pair_id does not match its two claims")
            continue
        if d["pair_id"] in tasks:
            problems.add(here, "duplicate task for this pair")
            continue
        annotations = [
            _pair_annotation(item, at, d, problems) for item, at in items_of(raw, "annotations", here, problems)
        ]
        tasks[d["pair_id"]] = PairTask({f: d[f] for f in PAIR_FIELDS}, annotations, here)
        tasks[d["pair_id"]].gold = read_gold_record(
            raw.get("gold"), here, problems, lambda item, at, d=d: _pair_annotation(item, at, d, problems)
        )
    if claims is not None:
        problems += unknown_claims(list(tasks.values()), claims)
    InputError.collect(problems)
    return list(tasks.values())


def unknown_claims(tasks: list[PairTask], claims: Container[tuple[str, str]]) -> list[tuple[str, str]]:
    """Pair tasks naming a claim that is not a gold claim (checked once every document is read)."""
    named = ((t.where, (t.data[f"{side}_doc"], t.data[f"{side}_claim"])) for t in tasks for side in "ab")
    return [
        (where, f"names unknown claim {shown(c)} of document {shown(doc)}")
        for where, (doc, c) in named
        if (doc, c) not in claims
    ]


def gold_pairs(
    tasks: list[PairTask], where: str, gold: GoldPolicy | str | None = None, notes: list | None = None
) -> list[Pair]:
    """The gold pair of each parsed claim-pair task (see ``settle_gold``), sorted by pair id. A task not
    labelled yet or in dispute is named in ``notes``; a gold annotation choosing no label is an error."""
    problems = Problems()
    pairs = []
    for task in tasks:
        here = f"{where}: pair {task.data['pair_id']}"
        before = len(problems)
        chosen = settle_gold(task, here, gold, problems, notes, empty_hint="choose a pair label")
        if chosen is not None and isinstance(chosen.payload, Pair):
            pairs.append(chosen.payload)
        elif chosen is not None:
            problems.add(here, f"the gold annotation (by {chosen.annotator}) chooses no pair label")
        elif len(problems) == before and notes is not None and task.gold and task.gold.rule == IN_DISPUTE:
            notes.append(f"{here}: {dispute_note(task.gold)}: left out of claim_pairs until it is settled")
        elif len(problems) == before and notes is not None:
            notes.append(f"{here}: no label yet (no annotation, or only cancelled ones): left out of claim_pairs")
    InputError.collect(problems)
    return sorted(pairs, key=lambda p: p.id)


def _pair_annotation(item: dict, here: str, d: dict, problems: Problems) -> Annotation:
    """One annotation of a claim-pair task (``d``: its data), its label and rationale parsed into a Pair."""
    who = annotator(item, here, problems)
    here = f"{here} by {who}"
    ann = annotation_of(item, "", who, [], here, problems)
    result = item.get("result")
    if ann.was_cancelled or not result:
        return ann
    if not isinstance(result, list):
        problems.add(here, "result is not a list")
        return ann
    found: dict[str, list[str]] = {}
    for r in result:
        name = r.get("from_name") if isinstance(r, dict) else None  # a list would not hash: checked below
        key = {"label": "choices", "rationale": "text"}.get(name) if isinstance(name, str) else None
        if key is None:
            problems.add(here, f"result item from_name {shown(name)} is not in the pair config")
            continue
        v = r.get("value")
        values = v.get(key) if isinstance(v, dict) else None
        at, what = here, None
        if name in found:  # the last one would win without a word
            at, what = f"{here}, region {shown(r.get('id'))}", f"a second result for control {name!r}"
        elif not isinstance(v, dict):
            what = f"{name} result: value is not a JSON object, got {described(v)}"
        elif not (isinstance(values, list) and all(isinstance(t, str) for t in values)):
            # [123, null] was published as "123\nNone"; a bare string was "not in the pair config"
            what = f"{name} {key} must be a list of strings, got {described(values)}"
        elif name == "label" and (len(values) != 1 or values[0] not in PAIR_LABELS):
            what = f"label must be one of {', '.join(PAIR_LABELS)}, got {shown(values)}"
        if what is not None:
            problems.add(at, what)
            return ann
        found[name] = values
    if "label" not in found:
        problems.add(here, "no pair label chosen")
        return ann
    label, rationale = found["label"][0], "\n".join(found.get("rationale", []))
    if label in RATIONALE_REQUIRED and not rationale.strip():
        problems.add(here, f"a {label} pair needs a rationale")
    sides = {k: d[k] for k in ("a_doc", "a_claim", "b_doc", "b_claim")}
    ann.payload = Pair(
        d["pair_id"], **sides, label=label, rationale=rationale, annotator=ann.annotator, lead_time=ann.lead_time
    )
    return ann


def pair_results(p: Pair) -> list[dict]:
    """A pair's label and rationale as Label Studio result items."""

    def item(name: str, kind: str, value: dict) -> dict:
        return {"id": name, "from_name": name, "to_name": "a_text", "type": kind, "value": value, "origin": "manual"}

    rationale = [item("rationale", "textarea", {"text": [p.rationale]})] if p.rationale else []
    return [item("label", "choices", {"choices": [p.label]}), *rationale]
