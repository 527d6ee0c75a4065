"""Annotations as Label Studio gives them: who made them, and which one is gold (never guessed)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from crossclaim.errors import Problems, shown
from crossclaim.formats.jsonio import described
from crossclaim.schema.records import Annotation, GoldRecord, Pair, Span
from crossclaim.schema.scheme import ATTRIBUTES

PASS_KEY = "pass"  # an annotation's key in the committed exports naming the pass that brought it
PASS_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")  # a pass name: it is part of two project titles


def annotator_of(completed_by: object) -> str:
    """Annotator identity: the e-mail Label Studio gives, or ``user:<id>`` when only an id is known."""
    if isinstance(completed_by, dict):
        return str(completed_by.get("email") or f"user:{completed_by.get('id')}")
    return completed_by if isinstance(completed_by, str) else f"user:{completed_by}"


def is_task_id(value: object) -> bool:
    """A task id: an integer or a string; not a list or an object (ids must hash), not ``true`` (not id 1)."""
    return isinstance(value, int | str) and not isinstance(value, bool)


def annotators_by_task(data: object, key: str) -> dict[str, Counter[str]]:
    """Task key (``data[key]``: a document or pair id) -> its annotators, counted, read from an export
    not yet validated: malformed tasks and annotations are skipped (validation reports them)."""
    out: dict[str, Counter[str]] = {}
    for raw in data if isinstance(data, list) else []:
        d = raw.get("data") if isinstance(raw, dict) else None
        if isinstance(d, dict) and isinstance(d.get(key), str):
            items = raw["annotations"] if isinstance(raw.get("annotations"), list) else []
            out[d[key]] = Counter(annotator_of(a.get("completed_by")) for a in items if isinstance(a, dict))
    return out


# The fields every annotation has, never coerced: "false" is truthy (it would change the gold), ``true``
# would be published as a lead time of 1.0 s. Field -> (value when absent, accepted values, what is wrong
# with another: {s} the value shown, {d} described).
_FIELDS = {
    "lead_time": (None, lambda v: type(v) in (int, float, type(None)), "{d} is not a number (seconds) or null"),
    "ground_truth": (False, lambda v: type(v) is bool, "must be a JSON boolean (true or false), got {s}"),
    "was_cancelled": (False, lambda v: type(v) is bool, "must be a JSON boolean (true or false), got {s}"),
    # Label Studio knows nothing of passes: a pull of a pass writes the key on each annotation it brings
    PASS_KEY: (
        None,
        lambda v: v is None or (type(v) is str and PASS_NAME.fullmatch(v) is not None),
        "{s} is not a pass name (letters, digits, '.', '_', '-')",
    ),
}


def _field(item: dict, name: str, here: str, problems: Problems) -> Any:
    absent, accepted, wrong = _FIELDS[name]
    value = item.get(name, absent)
    if accepted(value):
        return value
    problems.add(here, f"{name} " + wrong.format(s=shown(value), d=described(value)))
    return absent


def _user(who: object) -> str | None:
    """A user as Label Studio names one: a user object's e-mail, else ``user:<id>``; None if it names nobody."""
    if isinstance(who, dict):
        email, uid = who.get("email"), who.get("id")
        if isinstance(email, str) and email:
            return email
        return f"user:{uid}" if email in (None, "") and is_task_id(uid) else None
    return f"user:{who}" if type(who) is int else None


def editor(item: dict, here: str, problems: Problems) -> str | None:
    """Who last saved an annotation in Label Studio (``updated_by``: a user id, ``{"id", "email"}`` from a
    pull, ``{"email"}`` committed): an e-mail, ``user:<id>``, or None (nobody since a bulk import)."""
    who, author = item.get("updated_by"), item.get("completed_by")
    if who is None:
        return None
    by_author = isinstance(author, dict) and type(who) is int and author.get("id") == who
    name = (by_author and _user(author)) or _user(who)  # an author naming nobody is completed_by's problem
    if name is None:
        problems.add(here, f"updated_by {described(who)} names no user (a user id, or an object with an email)")
    return name


def annotator(item: dict, here: str, problems: Problems) -> str:
    """Who made an annotation (published with the gold): ``completed_by`` as ``annotator_of`` names it.
    Absent is left as read; one that names no user would be published as a made-up "user:True"."""
    who = item.get("completed_by")
    if who is not None and not (isinstance(who, str) and who) and _user(who) is None:
        problems.add(here, f"completed_by {described(who)} names no annotator (a user object with an email or id)")
    return annotator_of(who)


def annotation_of(item: dict, doc_id: str, who: str, spans: list[Span], at: str, problems: Problems) -> Annotation:
    """An annotation of either project (``spans``: what its project parsed), its common fields checked."""
    lead, truth, cancelled = (
        _field(item, name, at, problems) for name in ("lead_time", "ground_truth", "was_cancelled")
    )
    updated_by = editor(item, at, problems)
    return Annotation(
        doc_id, who, spans, lead, truth, cancelled, None, updated_by, _field(item, PASS_KEY, at, problems)
    )


# ---------------------------------------------------------------------------------------------
# gold: one declared rule, never a guess

GROUND_TRUTH, GOLD_ANNOTATOR, ADJUDICATOR, SINGLE = "ground_truth", "gold_annotator", "adjudicator", "single"
UNANIMOUS, KEPT, IN_DISPUTE, UNANNOTATED = "unanimous", "in_dispute_kept", "in_dispute", "unannotated"
# The rules in the order they are tried (see ``decide_gold``), as notes name them; the committed exports
# record which one chose each task's gold.
RULE_NAMES = {
    GROUND_TRUTH: "the one annotation marked ground truth",
    GOLD_ANNOTATOR: "the --gold annotator's annotation",
    ADJUDICATOR: "the one adjudicator's annotation",
    SINGLE: "the only annotation",
    UNANIMOUS: "all annotations equal",
    KEPT: "in dispute: previous gold kept",
    IN_DISPUTE: "in dispute: no gold",
    UNANNOTATED: "not annotated yet",
}
RULES = tuple(RULE_NAMES)


@dataclass(frozen=True)
class GoldPolicy:
    """What the gold rule is given besides the annotations: the ``--gold`` annotator and the adjudicators."""

    annotator: str | None = None
    adjudicators: frozenset[str] = field(default_factory=frozenset)


class Gradable(Protocol):
    """A task of either project: its annotations and its gold record."""

    annotations: list[Annotation]
    gold: GoldRecord | None


_REFS = {(attr.layer, attr.name) for attr in ATTRIBUTES if attr.kind == "refs"}


def work_of(a: Annotation) -> object:
    """What an annotation says, region ids aside (``cues`` by the regions they name): equal if two say the same."""
    if isinstance(a.payload, Pair):
        return (a.payload.label, a.payload.rationale)
    at = {s.id: (s.layer, s.start, s.end, s.label) for s in a.spans}

    def value(s: Span, name: str, v: object) -> object:
        return tuple(sorted(at.get(r, (r,)) for r in v)) if (s.layer, name) in _REFS and isinstance(v, tuple) else v

    return tuple(
        sorted(
            (s.layer, s.start, s.end, s.label, tuple(sorted((k, value(s, k, v)) for k, v in s.attrs.items())))
            for s in a.spans
        )
    )


def decide_gold(annotations: list[Annotation], policy: GoldPolicy) -> GoldRecord:
    """The gold of a task's annotations (never a cancelled one) by the first rule that applies, in
    ``RULES`` order; otherwise the task is in dispute (the caller may keep a previous gold). Pure."""
    usable = [i for i, a in enumerate(annotations) if not a.was_cancelled]

    def only(rule: str, keep: Callable[[Annotation], bool]) -> GoldRecord | None:
        found = [i for i in usable if keep(annotations[i])]
        return GoldRecord(rule, found[0], annotations[found[0]].annotator) if len(found) == 1 else None

    if not usable:
        return GoldRecord(UNANNOTATED)
    chosen = (
        only(GROUND_TRUTH, lambda a: a.ground_truth)
        or (policy.annotator and only(GOLD_ANNOTATOR, lambda a: a.annotator == policy.annotator))
        or only(ADJUDICATOR, lambda a: a.annotator in policy.adjudicators)
        or only(SINGLE, lambda a: True)
    )
    if chosen:
        return chosen
    if len({repr(work_of(annotations[i])) for i in usable}) == 1:  # the first annotator's ids become the dataset's
        first = min(usable, key=lambda i: (annotations[i].annotator, repr(exact_work(annotations[i]))))
        return GoldRecord(UNANIMOUS, first, annotations[first].annotator)
    return GoldRecord(IN_DISPUTE, disputants=tuple(sorted({annotations[i].annotator for i in usable})))


def settle_gold(
    task: Gradable,
    here: str,
    gold: GoldPolicy | str | None,
    problems: Problems,
    notes: list | None = None,
    empty_hint: str = "an adjudicator's annotation (annotations/team.json) or a ground_truth mark accepts an empty "
    "document",
) -> Annotation | None:
    """The gold annotation of a task: its committed record, checked, or else ``decide_gold``'s (set as
    ``task.gold``). Cancelled annotations are named in ``notes`` (not a pass's: a Skip of a task outside
    the annotator's assignment). An empty one is not gold by the ``single`` or ``unanimous`` rule
    (``empty_hint`` says what to do). None: no gold (``task.gold`` says why), or a problem recorded."""
    for a in task.annotations:
        if a.was_cancelled and a.pass_name is None and notes is not None:
            notes.append(f"{here}: cancelled annotation by {a.annotator} is not used")
    if task.gold is not None:
        return _recorded(task, here, problems)
    record = task.gold = decide_gold(task.annotations, gold if isinstance(gold, GoldPolicy) else GoldPolicy(gold))
    chosen = None if record.annotation is None else task.annotations[record.annotation]
    if chosen is not None and chosen.empty and record.rule in (SINGLE, UNANIMOUS):
        whose = f"the only annotation (by {chosen.annotator})" if record.rule == SINGLE else "every annotation"
        problems.add(here, f"{whose} is empty: not used as gold; {empty_hint}")
        return None
    return chosen


def gold_annotation(task: Gradable) -> Annotation | None:
    """The annotation a task's gold record names (None: no record, or no gold)."""
    record = task.gold
    if record is None or record.annotation is None:
        return record.kept if record else None
    return task.annotations[record.annotation]


def dispute_note(record: GoldRecord) -> str:
    """What a task in dispute is, in notes: who disagree, and what settles it."""
    who = ", ".join(record.disputants) if record.disputants else "its annotators"
    return (
        f"in dispute ({who} disagree, and no ground truth mark, --gold annotator or single adjudicator "
        "decides; see crossclaim studio disputes)"
    )


def _recorded(task: Gradable, here: str, problems: Problems) -> Annotation | None:
    """The gold a committed record names, once checked against the task's annotations."""
    record = task.gold
    assert record is not None
    if record.rule in (KEPT, IN_DISPUTE) and not record.disputants:  # who disagree: not committed, derived
        who = tuple(sorted({a.annotator for a in task.annotations if not a.was_cancelled}))
        record = task.gold = replace(record, disputants=who)
    n = record.annotation
    if n is None:
        return record.kept
    chosen = task.annotations[n] if 0 <= n < len(task.annotations) else None
    if chosen is None:
        what = f"gold.annotation {n} is not an annotation of this task"
    elif chosen.annotator != record.annotator:
        what = f"gold.annotator {shown(record.annotator)} is not the annotator of annotation {n} ({chosen.annotator})"
    elif chosen.was_cancelled:
        what = f"gold.annotation {n} (by {chosen.annotator}) is cancelled: never gold"
    else:
        return chosen
    problems.add(here, what)
    return None


def read_gold_record(
    raw: object, here: str, problems: Problems, kept: Callable[[dict, str], Annotation | None]
) -> GoldRecord | None:
    """A task's committed ``gold`` record, its shape checked (absent: None, the rule decides): ``{"rule",
    "annotation": INDEX or null, "annotator"}``, and a previous gold kept in dispute, read by ``kept``."""
    if raw is None:
        return None
    at = f"{here}, gold"
    if not isinstance(raw, dict):
        problems.add(at, f"must be a JSON object, not {described(raw)}")
        return None
    unknown = sorted(set(raw) - {"rule", "annotation", "annotator", "kept"})
    rule, index, who, held = raw.get("rule"), raw.get("annotation"), raw.get("annotator"), raw.get("kept")
    none = rule in (IN_DISPUTE, UNANNOTATED)  # rules that choose no gold
    wrong = (  # (is it wrong, what is wrong): the first wrong is said
        (unknown, f"unknown field {', '.join(map(shown, unknown))} (known: annotation, annotator, kept, rule)"),
        (rule not in RULES, f"rule {shown(rule)} is not one of {', '.join(RULES)}"),
        (
            type(index) not in (int, type(None)),
            f"annotation {described(index)} is not an index into the task's annotations, or null",
        ),
        (type(who) not in (str, type(None)), f"annotator {described(who)} is not an e-mail, or null"),
        (
            (index is None) != (who is None) and held is None,
            "annotation and annotator go together (both null when the task has no gold)",
        ),
        (none and (index is not None or held is not None), f"a task whose rule is {rule} has no gold annotation"),
        (not none and index is None and held is None, f"rule {rule} names no gold annotation"),
        (
            held is not None and (rule != KEPT or index is not None),
            f"kept is the previous gold of a task in dispute (rule {KEPT}, annotation null)",
        ),
    )
    what = next((what for bad, what in wrong if bad), None)
    if what is not None:
        problems.add(at, what)
        return None
    if held is not None and not isinstance(held, dict):
        problems.add(f"{at}.kept", f"must be an annotation (a JSON object), not {described(held)}")
        return None
    if held is not None:
        held = kept(held, f"{at}.kept")
        if held is None:
            return None
        who = held.annotator
    return GoldRecord(rule, index, who, held)


def gold_record_json(record: GoldRecord, kept: Callable[[Annotation], dict] | None = None) -> dict:
    """A gold record as committed (see ``read_gold_record``); ``kept`` puts a kept annotation in committed form."""
    out: dict = {"rule": record.rule, "annotation": record.annotation, "annotator": record.annotator}
    if record.kept is not None and kept is not None:
        out["kept"] = kept(record.kept)
    return out


def exact_work(a: Annotation) -> object:
    """An annotation's work with its region ids (what the dataset publishes of it)."""
    if isinstance(a.payload, Pair):
        return (a.payload.label, a.payload.rationale)
    return tuple(sorted((s.layer, s.id, s.start, s.end, s.label, tuple(sorted(s.attrs.items()))) for s in a.spans))


def named_user(who: object, users: Mapping[int, str]) -> object:
    """For a pull: an export's ``updated_by`` user id as ``{"id", "email"}`` (anything else as it is)."""
    return {"id": who, "email": users[who]} if type(who) is int and who in users else who
