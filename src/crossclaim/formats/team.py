"""The annotation team, declared once in ``annotations/team.json``: it decides gold (a single
adjudicator's annotation), who counts in agreement (not adjudicators), whose Label Studio accounts are
made and how many annotators each task of a new pass goes to. Passwords never live here (environment).

    {"adjudicators": ["lead@example.org"], "annotators": ["ann1@example.org", "ann2@example.org"],
     "overlap": 2, "pre_annotations": "every"}
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from crossclaim.errors import InputError, Problems, shown
from crossclaim.formats.jsonio import described, read_json

TEAM = "team.json"
PRE_ANNOTATIONS = ("every", "none")  # pre-annotations go to every annotator of a pass, or to none
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_FIELDS = {"adjudicators", "annotators", "overlap", "pre_annotations"}


@dataclass(frozen=True)
class Team:
    """The declared team: annotators and adjudicators by e-mail, and the defaults of a new pass."""

    annotators: tuple[str, ...] = ()
    adjudicators: tuple[str, ...] = ()
    overlap: int = 2  # annotators per task in a pass
    pre_annotations: str = "every"

    @property
    def members(self) -> tuple[str, ...]:
        return self.annotators + self.adjudicators

    def role(self, email: str) -> str | None:
        """``"annotator"``, ``"adjudicator"`` or None (not declared: a historical annotator)."""
        return "adjudicator" if email in self.adjudicators else "annotator" if email in self.annotators else None


def load_team(annotations: Path) -> Team:
    """The team of ``annotations/team.json`` (an empty team when there is none), validated by ``parse_team``."""
    path = annotations / TEAM
    return parse_team(read_json(path), str(path)) if path.is_file() else Team()


def parse_team(raw: object, where: str) -> Team:
    """A ``Team`` from the parsed JSON of a team file; raises InputError naming every malformed field, an
    e-mail declared twice or in both roles."""
    if not isinstance(raw, dict):
        raise InputError(where, f"a team file is a JSON object, not {described(raw)}")
    problems = Problems()
    for key in sorted(set(raw) - _FIELDS):
        problems.add(f"{where}: field {shown(key)}", f"unknown field (known: {', '.join(sorted(_FIELDS))})")
    roles: dict[str, str] = {}
    for role in ("annotators", "adjudicators"):
        emails = raw.get(role, [])
        if not isinstance(emails, list):
            problems.add(f"{where}: field {role}", f"a list of e-mail addresses, not {described(emails)}")
        for n, email in enumerate(emails if isinstance(emails, list) else []):
            if not isinstance(email, str) or not _EMAIL.fullmatch(email):
                problems.add(f"{where}: {role}[{n}]", f"not an e-mail address: {shown(email)}")
            elif email in roles:
                problems.add(f"{where}: {role}[{n}]", f"{email} is declared twice (as {roles[email]} already)")
            else:
                roles[email] = role
    overlap, pre = raw.get("overlap", Team.overlap), raw.get("pre_annotations", Team.pre_annotations)
    if type(overlap) is not int or overlap < 1:
        problems.add(f"{where}: field overlap", f"a whole number of annotators, at least 1, not {shown(overlap)}")
    if pre not in PRE_ANNOTATIONS:
        problems.add(f"{where}: field pre_annotations", f"one of {', '.join(PRE_ANNOTATIONS)}, not {shown(pre)}")
    InputError.collect(problems)
    annotators, adjudicators = (
        tuple(e for e, r in roles.items() if r == role) for role in ("annotators", "adjudicators")
    )
    return Team(annotators, adjudicators, overlap, pre)
