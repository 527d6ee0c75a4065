"""Label Studio accounts for the team of ``annotations/team.json``, and no account in sight for anyone else.

Two ways in, because Label Studio's API cannot set a password and `label-studio init` makes superusers:

- on a server `serve` started (its record names its data directory and database), Label Studio's
  own Django code, in a child process with the server's settings (``django_accounts``): accounts
  for the declared members, and, for a push, historical annotators kept without a password and
  out of the organization's member list;
- on any other server, its invite sign-up (``/user/signup/?token=...``, the organization's invite
  token read through the API), the way a member would sign up in a browser; the invite token is
  reset afterwards, so the link used is dead.

Passwords come from the environment only: ``CROSSCLAIM_TEAM_PASSWORDS`` holds lines ``EMAIL
PASSWORD``, or ``CROSSCLAIM_TEAM_PASSWORDS_FILE`` names a file of such lines that only its owner
may read. They are never printed, logged or passed on a command line.
"""

from __future__ import annotations

import html
import json
import os
import re
import selectors
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from crossclaim.errors import InputError, Problems, StudioError, shown
from crossclaim.formats.team import Team
from crossclaim.studio.client import TIMEOUT, Studio
from crossclaim.studio.server import MIN_PASSWORD, Server, label_studio_env, parse_database

ENV_TEAM_PASSWORDS = "CROSSCLAIM_TEAM_PASSWORDS"
ENV_TEAM_PASSWORDS_FILE = "CROSSCLAIM_TEAM_PASSWORDS_FILE"
BOOT_S = 180.0  # seconds for Label Studio's Django to load (about 5 s on an idle machine)
REQUEST_S = 120.0  # seconds for one request (a few database rows)
SIGNUP_S = 30.0  # seconds for one sign-up page


# ---------------------------------------------------------------------------------------------
# passwords, from the environment only


def read_passwords(team: Team) -> dict[str, str]:
    """Passwords by e-mail from ``CROSSCLAIM_TEAM_PASSWORDS`` or the file ``CROSSCLAIM_TEAM_PASSWORDS_FILE``.

    Every problem is named by its line, never echoing a password: a line without a password, an
    e-mail the team file does not declare, one given twice, a password shorter than ``MIN_PASSWORD``.
    """
    text, where = _password_source()
    declared = {e.lower(): e for e in team.members}
    problems = Problems()
    found: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 1)
        here = f"{where} line {n}"
        if len(parts) < 2:
            problems.add(here, "not EMAIL PASSWORD (a line holds an e-mail, a space and the password)")
            continue
        email, password = parts[0], parts[1].strip()
        if email.lower() not in declared:
            problems.add(here, f"{shown(email)} is not declared in annotations/team.json")
        elif declared[email.lower()] in found:
            problems.add(here, f"{email} is given a password twice")
        elif len(password) < MIN_PASSWORD:
            problems.add(here, f"the password of {email} has {len(password)} characters: at least {MIN_PASSWORD}")
        else:
            found[declared[email.lower()]] = password
    InputError.collect(problems)
    return found


def _password_source() -> tuple[str, str]:
    inline, path = os.environ.get(ENV_TEAM_PASSWORDS), os.environ.get(ENV_TEAM_PASSWORDS_FILE)
    if inline and path:
        raise InputError(ENV_TEAM_PASSWORDS, f"set it or {ENV_TEAM_PASSWORDS_FILE}, not both")
    if inline:
        return inline, f"${ENV_TEAM_PASSWORDS}"
    if not path:
        return "", f"${ENV_TEAM_PASSWORDS}"
    file = Path(path)
    try:
        mode = file.stat().st_mode
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"${ENV_TEAM_PASSWORDS_FILE} ({path})", f"cannot be read: {type(exc).__name__}") from None
    if mode & 0o077:
        raise InputError(
            f"${ENV_TEAM_PASSWORDS_FILE} ({path})", f"others can read it (mode {mode & 0o777:o}): chmod 600 {path}"
        )
    return text, path


# ---------------------------------------------------------------------------------------------
# Label Studio's Django code, on a server `serve` started


class LocalAccounts:
    """A child process running ``django_accounts`` with the settings of the server ``server``, kept for
    the length of one command (Label Studio's Django takes seconds to load; a request, milliseconds).

    ``team``: the declared members, whom a push never takes out of the organization.
    """

    def __init__(self, server: Server, team: tuple[str, ...] = ()) -> None:
        self.server = server
        self.team = team
        self._proc: subprocess.Popen | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by ``close``)
        self._buffer = b""

    def start(self) -> None:
        """Start loading Label Studio's Django now (it loads while the caller does other work)."""
        if self._proc is not None:
            return
        env = label_studio_env(self.server.data_dir, parse_database(self.server.database))
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "crossclaim.studio.django_accounts"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env,
        )
        self._ready = False

    def request(self, op: str, **payload: object) -> dict:
        """One request; a fault is one StudioError line (with the child's last words, never a password)."""
        self.start()
        assert self._proc is not None and self._proc.stdin is not None
        if not self._ready:
            self._answer(BOOT_S)
            self._ready = True
        try:
            self._proc.stdin.write(json.dumps({"op": op, **payload}).encode() + b"\n")
            self._proc.stdin.flush()
        except BrokenPipeError:
            raise StudioError(f"Label Studio's Django code stopped: {self._last_words()}") from None
        return self._answer(REQUEST_S)

    def _answer(self, timeout: float) -> dict:
        assert self._proc is not None and self._proc.stdout is not None
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(self._proc.stdout, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.close()
                    raise StudioError(f"Label Studio's Django code gave no answer within {timeout:.0f} s")
                if sel.select(left):
                    chunk = os.read(self._proc.stdout.fileno(), 1 << 16)
                    if not chunk:
                        raise StudioError(f"Label Studio's Django code stopped: {self._last_words()}")
                    self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        answer = json.loads(line)
        if "error" in answer:
            raise StudioError(f"Label Studio's Django code failed: {answer['error']}")
        return answer

    def _last_words(self) -> str:
        self._log.seek(0)
        lines = self._log.read().decode(errors="replace").strip().splitlines()
        return lines[-1][:300] if lines else "no output"

    def close(self) -> None:
        if self._proc is not None:
            if self._proc.stdin:
                self._proc.stdin.close()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            if self._proc.stdout:
                self._proc.stdout.close()
            self._proc = None
        self._log.close()

    # --- what push needs

    def user_ids(self, emails: set[str], keep: int | None) -> tuple[dict[str, int], set[int]]:
        """Ids of the annotators ``emails`` and those among them outside the organization (see
        ``django_accounts.accounts``)."""
        answer = self.request("accounts", emails=sorted(emails), team=list(self.team), keep=keep)
        users = answer["users"]
        return {e: u["id"] for e, u in users.items()}, {u["id"] for u in users.values() if not u["member"]}

    def admit(self, ids: set[int]) -> list[int]:
        return self.request("admit", ids=sorted(ids))["admitted"]

    def retire(self, ids: set[int]) -> list[int]:
        return self.request("retire", ids=sorted(ids))["retired"]

    def describe(self, emails: list[str]) -> dict[str, dict | None]:
        return self.request("describe", emails=emails)["users"]


# ---------------------------------------------------------------------------------------------
# the team command


@dataclass(frozen=True)
class Member:
    """What the team command did for one declared member."""

    email: str
    role: str
    action: str  # created, password set, kept its password, already has an account, signed up

    def line(self) -> str:
        return f"{self.email} ({self.role}): {self.action}"


def team_local(accounts: LocalAccounts, team: Team, passwords: dict[str, str], reset: bool) -> list[Member]:
    """Accounts for every declared member on a server `serve` started, through Label Studio's Django code."""
    members = [{"email": e, "password": passwords.get(e)} for e in team.members]
    answer = accounts.request("team", members=members, reset=reset)
    if "problems" in answer:
        raise InputError(*_problem(answer["problems"][0]), more=[_problem(p) for p in answer["problems"][1:]])
    done = []
    for m in answer["members"]:
        action = m["action"] + (", joined the organization" if m["joined"] else "")
        if m["superuser"] or m["staff"]:
            action += " (a superuser or staff account already: left as it is)"
        done.append(Member(m["email"], team.role(m["email"]) or "member", action))
    return done


def _problem(p: dict) -> tuple[str, str]:
    return (p["email"], f"{p['problem']} (give it in ${ENV_TEAM_PASSWORDS} or ${ENV_TEAM_PASSWORDS_FILE})")


def team_remote(studio: Studio, team: Team, passwords: dict[str, str]) -> list[Member]:
    """Accounts for the declared members on a server `serve` did not start: its invite sign-up.

    A member who already has an account keeps it (the API cannot set a password). Every member
    to sign up needs a password before anything is done. The invite token is reset afterwards,
    whatever happens, so the link used is dead.
    """
    existing = {u.email.lower() for u in studio.call(lambda: list(studio.ls.users.list()))}
    todo = [e for e in team.members if e.lower() not in existing]
    InputError.collect(_problem({"email": e, "problem": "has no password to set"}) for e in todo if e not in passwords)
    done = [Member(e, team.role(e) or "member", "already has an account: kept") for e in team.members if e not in todo]
    if not todo:
        return done
    token = json.loads(studio.raw("GET", "api/invite", TIMEOUT)).get("token")
    if not token:
        raise StudioError("Label Studio gave no invite token (GET /api/invite)")
    try:
        for email in todo:
            signup(studio.url, token, email, passwords[email])
            done.append(Member(email, team.role(email) or "member", "signed up through the invite link"))
    finally:
        studio.raw("POST", "api/invite/reset-token", TIMEOUT)
    return done


def signup(url: str, token: str, email: str, password: str) -> None:
    """Label Studio's sign-up page, as a browser fills it, with the organization's invite token."""
    page = f"{url}/user/signup/"
    with requests.Session() as s:
        try:
            s.get(page, params={"token": token}, timeout=SIGNUP_S)
            form = {
                "csrfmiddlewaretoken": s.cookies.get("csrftoken", ""),
                "email": email,
                "password": password,
                "allow_newsletters": "false",
                "how_find_us": "",
            }
            r = s.post(page, params={"token": token}, data=form, headers={"Referer": page}, timeout=SIGNUP_S,
                       allow_redirects=False)  # fmt: skip
        except requests.RequestException as exc:
            raise StudioError(f"sign-up of {email} at {url}: {type(exc).__name__}") from None
    if r.status_code in (301, 302, 303):
        return
    if r.status_code == 403:
        raise StudioError(f"sign-up of {email} at {url}: refused (HTTP 403): the invite token is not the server's")
    raise StudioError(
        f"sign-up of {email} at {url} failed: {'; '.join(form_errors(r.text)) or f'HTTP {r.status_code}'}"
    )


def form_errors(page: str) -> list[str]:
    """The messages a sign-up page shows under its fields (``<ul class="field_errors"><li>...``)."""
    lists = "".join(re.findall(r'<ul class="field_errors">(.*?)</ul>', page, re.S))
    return [html.unescape(re.sub(r"<[^>]+>", "", li)).strip() for li in re.findall(r"<li>(.*?)</li>", lists, re.S)]
