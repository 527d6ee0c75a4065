"""Annotations as Label Studio gives them: who made them, and which one is gold (never guessed)."""

from __future__ import annotations

import re
from collections import Counter

from crossclaim.errors import Problems, shown
from crossclaim.formats.jsonio import described
from crossclaim.schema.records import Annotation

PASS_KEY = "pass"  # an annotation's key in the committed exports naming the pass that brought it
PASS_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")  # a pass name: it is part of two project titles


def pass_of(item: dict, here: str, problems: Problems) -> str | None:
    """The annotation pass an annotation was made in (``pass`` in the committed exports), or None.

    Label Studio knows nothing of passes: a pull of a pass writes the key on each annotation it brings.
    """
    value = item.get(PASS_KEY)
    if value is None or (isinstance(value, str) and PASS_NAME.fullmatch(value)):
        return value
    problems.add(here, f"{PASS_KEY} {shown(value)} is not a pass name (letters, digits, '.', '_', '-')")
    return None


def annotator_of(completed_by: object) -> str:
    """Annotator identity: the e-mail Label Studio gives, or ``user:<id>`` when only an id is known."""
    if isinstance(completed_by, dict):
        return str(completed_by.get("email") or f"user:{completed_by.get('id')}")
    if isinstance(completed_by, str):
        return completed_by
    return f"user:{completed_by}"


def is_task_id(value: object) -> bool:
    """A task id as Label Studio gives it: an integer or a string (a JSON boolean is neither).

    Ids are compared and kept in sets to find duplicates, so a list or an object must be refused
    before that (it cannot be hashed), and ``true`` must not pass as the id 1.
    """
    return isinstance(value, int | str) and not isinstance(value, bool)


def task_id_problem(value: object) -> str | None:
    """What is wrong with a task's ``id`` (absent is fine: Label Studio's own exports always have one)."""
    return None if value is None or is_task_id(value) else f"id {described(value)} is not an integer or a string"


def items_of(raw: dict, kind: str, here: str, problems: Problems) -> list:
    """A task's ``annotations`` or ``predictions``: a list, or absent/null (none yet).

    Anything else (3, 2.5, true, false, an object) is a problem, not an empty list: ``false`` read as
    "no annotation" would silently drop a task's work.
    """
    items = raw.get(kind)
    if items is None:
        return []
    if not isinstance(items, list):
        problems.add(here, f"{kind} is not a list (got {described(items)})")
        return []
    return items


def annotators_by_task(data: object, key: str) -> dict[str, Counter[str]]:
    """Task key (``data[key]``: a document or pair id) -> its annotators, counted; read leniently.

    For what an export holds before it is validated: malformed tasks and annotations are skipped
    (validation reports them).
    """
    out: dict[str, Counter[str]] = {}
    for raw in data if isinstance(data, list) else []:
        d = raw.get("data") if isinstance(raw, dict) else None
        if isinstance(d, dict) and isinstance(d.get(key), str):
            items = raw.get("annotations")
            out[d[key]] = Counter(
                annotator_of(a.get("completed_by"))
                for a in (items if isinstance(items, list) else [])
                if isinstance(a, dict)
            )
    return out


def flag(item: dict, name: str, here: str, problems: Problems) -> bool:
    """A flag that decides gold (``ground_truth``, ``was_cancelled``): a JSON boolean, or absent (false).

    Anything else is a problem: the string "false" is truthy, and reading it as true would silently
    change which annotation is gold.
    """
    value = item.get(name, False)
    if isinstance(value, bool):
        return value
    problems.add(here, f"{name} must be a JSON boolean (true or false), got {shown(value)}")
    return False


def lead_time(item: dict, here: str, problems: Problems) -> float | None:
    """An annotation's ``lead_time`` (seconds spent, published with the gold): a JSON number, or absent/null.

    ``true`` is refused although Python's bool is an int (it would be published as 1.0 s), and so is a
    string such as "12s" (once silently dropped to null in the pair project).
    """
    value = item.get("lead_time")
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        return value
    problems.add(here, f"lead_time {described(value)} is not a number (seconds) or null")
    return None


def annotator(item: dict, here: str, problems: Problems) -> str:
    """Who made an annotation (published with the gold): ``completed_by`` as ``annotator_of`` names it.

    Label Studio gives a user object (its ``email``, or its integer ``id``), or the id alone (absent is
    left as it was read: a hand-made export may have none); anything
    else (true, a list, an e-mail that is a number) would be published as a made-up name like "user:True".
    """
    who = item.get("completed_by")
    if isinstance(who, dict):
        email, uid = who.get("email"), who.get("id")
        ok = (isinstance(email, str) and email != "") or (email in (None, "") and is_task_id(uid))
    else:
        ok = who is None or (isinstance(who, str) and who != "") or (isinstance(who, int) and not isinstance(who, bool))
    if not ok:
        problems.add(here, f"completed_by {described(who)} names no annotator (a user object with an email or id)")
    return annotator_of(who)


# ---------------------------------------------------------------------------------------------
# gold selection


def choose_gold(
    annotations: list[Annotation],
    here: str,
    gold: str | None,
    problems: Problems,
    notes: list | None = None,
    empty_hint: str = "mark it ground truth to accept an empty document",
) -> Annotation | None:
    """The gold annotation of a task, chosen explicitly, never guessed.

    Cancelled annotations are never gold. With ``gold`` (an annotator), that annotator's
    annotation is gold; otherwise the one marked ``ground_truth``; a single remaining
    annotation is gold unless it is empty (``empty_hint`` says what to do). Several candidates and no
    mark is an error. Returns None when the task has no usable annotation (not annotated yet: the
    caller names it) or after recording a problem. Skipped annotations are reported in ``notes``.
    """
    usable = []
    for a in annotations:
        if a.was_cancelled:
            if notes is not None:
                notes.append(f"{here}: cancelled annotation by {a.annotator} is not used")
            continue
        usable.append(a)
    if gold is not None:
        mine = [a for a in usable if a.annotator == gold]
        if len(mine) != 1:
            problems.add(here, f"gold annotator {shown(gold)} has {len(mine)} usable annotations on this task")
            return None
        return mine[0]
    marked = [a for a in usable if a.ground_truth]
    if len(marked) == 1:
        return marked[0]
    if len(marked) > 1 or len(usable) > 1:
        who = ", ".join(a.annotator for a in (marked or usable))
        problems.add(
            here,
            f"several annotations ({who}) and no single ground_truth mark: "
            "mark one as ground truth in Label Studio or pass --gold ANNOTATOR",
        )
        return None
    if usable and usable[0].empty:
        problems.add(
            here,
            f"the only annotation (by {usable[0].annotator}) is empty: not used as gold; {empty_hint}",
        )
        return None
    return usable[0] if usable else None
