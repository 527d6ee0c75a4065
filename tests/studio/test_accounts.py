"""`crossclaim studio team`: accounts for the declared team, as ordinary members, with passwords from the
environment; and historical annotators pushed without a password and outside the member list.

On the session's server (`serve` started it, so its data directory is known) accounts go through
Label Studio's own Django code; named by URL only, the same server is a remote one, reached through
its invite sign-up. Passwords must never show in any output.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
import requests
from conftest import STUDIO_TOKEN, gold_spans, task, write_repo
from typer.testing import CliRunner

from crossclaim.cli import app
from crossclaim.studio.accounts import ENV_TEAM_PASSWORDS, ENV_TEAM_PASSWORDS_FILE, LocalAccounts, form_errors
from crossclaim.studio.server import ENV_TOKEN, ENV_URL, Server

OUTPUTS: list[str] = []
PASSWORDS: list[str] = []


def run(*args: str, env: dict[str, str] | None = None):
    result = CliRunner().invoke(app, list(args), env=env)
    OUTPUTS.append(result.output)
    return result


def team_repo(root: Path, annotators: list[str], adjudicators: list[str] = (), tasks: list[dict] | None = None) -> Path:
    write_repo(root, tasks if tasks is not None else [task(gold_spans())])
    team = {"annotators": list(annotators), "adjudicators": list(adjudicators), "overlap": 2}
    (root / "annotations" / "team.json").write_text(json.dumps(team), encoding="utf-8")
    return root


def passwords_for(*emails: str) -> dict[str, str]:
    made = {e: secrets.token_urlsafe(15) for e in emails}
    PASSWORDS.extend(made.values())
    return made


def lines(passwords: dict[str, str]) -> str:
    return "".join(f"{e} {p}\n" for e, p in passwords.items())


def login(url: str, email: str, password: str) -> bool:
    """Label Studio's login page, as a browser fills it: True when it lets the user in."""
    with requests.Session() as s:
        s.get(f"{url}/user/login/", timeout=30)
        form = {"email": email, "password": password, "csrfmiddlewaretoken": s.cookies.get("csrftoken", "")}
        r = s.post(f"{url}/user/login/", data=form, allow_redirects=False, timeout=30)
    return r.status_code == 302


def members(url: str) -> set[str]:
    """The e-mails of the organization's member list, as Label Studio's People page reads it."""
    auth = {"Authorization": f"Token {STUDIO_TOKEN}"}
    org = requests.get(f"{url}/api/current-user/whoami", headers=auth, timeout=30).json()["active_organization"]
    page = requests.get(
        f"{url}/api/organizations/{org}/memberships", params={"page_size": 1000}, headers=auth, timeout=30
    ).json()
    return {m["user"]["email"] for m in page["results"]}


def invite_token(url: str) -> str:
    return requests.get(f"{url}/api/invite", headers={"Authorization": f"Token {STUDIO_TOKEN}"}, timeout=30).json()[
        "token"
    ]


def describe(server: Server, emails: list[str]) -> dict:
    accounts = LocalAccounts(server)
    try:
        return accounts.describe(emails)
    finally:
        accounts.close()


# ---------------------------------------------------------------------------------------------
# passwords: checked before any server is reached


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "stranger@example.org a-long-enough-password\n",
            "'stranger@example.org' is not declared in annotations/team.json",
        ),
        ("ann1@team.example short-pw1\n", "the password of ann1@team.example has 9 characters: at least 12"),
        ("ann1@team.example\n", "not EMAIL PASSWORD"),
        (
            "ann1@team.example a-long-enough-password\nANN1@team.example another-long-password\n",
            "given a password twice",
        ),
    ],
    ids=["undeclared", "short", "no-password", "twice"],
)
def test_bad_password_lines_are_named_by_line_and_never_echoed(tmp_path: Path, text: str, message: str) -> None:
    root = team_repo(tmp_path, ["ann1@team.example"])
    result = run("studio", "team", "--root", str(root), env={ENV_TEAM_PASSWORDS: text, ENV_TOKEN: "t"})
    assert result.exit_code == 2, result.output
    assert message in result.output and "$CROSSCLAIM_TEAM_PASSWORDS line" in result.output
    for secret in ("a-long-enough-password", "short-pw1", "another-long-password"):
        assert secret not in result.output


def test_a_password_file_others_can_read_is_refused(tmp_path: Path) -> None:
    root = team_repo(tmp_path / "repo", ["ann1@team.example"])
    file = tmp_path / "passwords"
    file.write_text("ann1@team.example a-long-enough-password\n")
    file.chmod(0o644)
    result = run("studio", "team", "--root", str(root), env={ENV_TEAM_PASSWORDS_FILE: str(file), ENV_TOKEN: "t"})
    assert result.exit_code == 2 and "others can read it (mode 644): chmod 600" in result.output, result.output


def test_a_team_file_without_members_is_refused(tmp_path: Path) -> None:
    root = team_repo(tmp_path, [])
    result = run("studio", "team", "--root", str(root), env={ENV_TOKEN: "t"})
    assert result.exit_code == 2 and "declares no annotator or adjudicator" in result.output, result.output


def test_sign_up_errors_are_read_from_the_page() -> None:
    page = '<ul class="field_errors"><li>User with this email already exists</li></ul><ul><li>menu</li></ul>'
    assert form_errors(page) == ["User with this email already exists"]


# ---------------------------------------------------------------------------------------------
# on the server `serve` started: Label Studio's Django code


@pytest.mark.server
def test_team_accounts_on_the_served_server_are_ordinary_members(studio: Server, tmp_path: Path) -> None:
    team = ["ann1@local.example", "ann2@local.example"], ["lead@local.example"]
    root = team_repo(tmp_path, *team)
    emails = [*team[0], *team[1]]
    passwords = passwords_for(*emails)
    file = tmp_path / "passwords"
    file.write_text(lines(passwords))
    file.chmod(0o600)
    base = ["studio", "team", "--root", str(root), "--data-dir", str(studio.data_dir)]
    env = {ENV_TEAM_PASSWORDS_FILE: str(file), ENV_TOKEN: STUDIO_TOKEN}

    made = run(*base, env=env)
    assert made.exit_code == 0, made.output
    assert "through Label Studio's own code" in made.output
    for email in emails:
        assert f"{email} ({'adjudicator' if email in team[1] else 'annotator'}): created" in made.output
        assert login(studio.url, email, passwords[email]), f"{email} cannot log in"
        assert not login(studio.url, email, "not-" + passwords[email])
    assert set(emails) <= members(studio.url)
    facts = describe(studio, emails)
    assert all(f == {"member": True, "listed": True, "password": True, "staff": False, "superuser": False}
               for f in facts.values()), facts  # fmt: skip

    again = run(*base, env=env)
    assert again.exit_code == 0 and again.output.count("kept its password") == 3, again.output

    fresh = passwords_for(*emails)
    file.write_text(lines(fresh))
    reset = run(*base, "--reset-passwords", env=env)
    assert reset.exit_code == 0 and reset.output.count("password set") == 3, reset.output
    assert login(studio.url, emails[0], fresh[emails[0]]) and not login(studio.url, emails[0], passwords[emails[0]])


@pytest.mark.server
def test_a_password_label_studio_refuses_changes_nothing(studio: Server, tmp_path: Path) -> None:
    root = team_repo(tmp_path, ["similar@local.example", "fine@local.example"])
    text = "similar@local.example similar@local.example\nfine@local.example " + passwords_for("x")["x"] + "\n"
    result = run(
        "studio", "team", "--root", str(root), "--data-dir", str(studio.data_dir),
        env={ENV_TEAM_PASSWORDS: text, ENV_TOKEN: STUDIO_TOKEN},
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "similar@local.example: The password is too similar to the email" in result.output
    assert describe(studio, ["fine@local.example"]) == {"fine@local.example": None}, "a member was made anyway"


# ---------------------------------------------------------------------------------------------
# on a server named by URL only: the invite sign-up


@pytest.mark.server
def test_team_accounts_on_another_server_sign_up_through_the_invite_link(studio: Server, tmp_path: Path) -> None:
    (root := tmp_path / "repo").mkdir()
    team_repo(root, ["ann1@remote.example"], ["lead@remote.example"])
    emails = ["ann1@remote.example", "lead@remote.example"]
    passwords = passwords_for(*emails)
    env = {ENV_TEAM_PASSWORDS: lines(passwords), ENV_TOKEN: STUDIO_TOKEN, ENV_URL: studio.url}

    missing = run(
        "studio", "team", "--root", str(root), env={**env, ENV_TEAM_PASSWORDS: lines({emails[0]: passwords[emails[0]]})}
    )
    assert missing.exit_code == 2 and "lead@remote.example: has no password to set" in missing.output, missing.output

    before = invite_token(studio.url)
    made = run("studio", "team", "--root", str(root), env=env)
    assert made.exit_code == 0, made.output
    assert "through its invite sign-up (the invite link was reset afterwards)" in made.output
    assert made.output.count("signed up through the invite link") == 2
    assert invite_token(studio.url) != before, "the invite link used still works"
    for email in emails:
        assert login(studio.url, email, passwords[email])
    assert set(emails) <= members(studio.url)
    assert all(f["member"] and not f["staff"] and not f["superuser"] for f in describe(studio, emails).values())

    again = run("studio", "team", "--root", str(root), env={**env, ENV_TEAM_PASSWORDS: ""})
    assert again.exit_code == 0 and again.output.count("already has an account: kept") == 2, again.output
    reset = run("studio", "team", "--root", str(root), "--reset-passwords", env=env)
    assert reset.exit_code == 2 and "Label Studio's API cannot set a password" in reset.output


# ---------------------------------------------------------------------------------------------
# push: historical annotators get no password and no place in the member list


@pytest.mark.server
def test_push_keeps_historical_annotators_out_of_the_member_list(studio: Server, tmp_path: Path) -> None:
    from conftest import delete_projects

    delete_projects(studio.url)
    historical, declared = "annotator-z@history.example", "ann9@history.example"
    first = task(gold_spans(), completed_by={"id": 7, "email": historical}, ground_truth=True)
    first["annotations"].append({**first["annotations"][0], "id": 2, "completed_by": {"id": 8, "email": declared},
                                 "ground_truth": False})  # fmt: skip
    root = team_repo(tmp_path, [declared], tasks=[first])
    env = {ENV_TOKEN: STUDIO_TOKEN, ENV_URL: studio.url}
    served = ["--root", str(root), "--data-dir", str(studio.data_dir)]

    pushed = run("studio", "push", *served, "--gold", env=env)
    assert pushed.exit_code == 0 and "1 tasks created" in pushed.output and "2 annotations" in pushed.output, (
        pushed.output
    )
    assert not {historical, declared} & members(studio.url)
    facts = describe(studio, [historical, declared])
    assert facts[historical] == {
        "member": False,
        "listed": False,
        "password": False,
        "staff": False,
        "superuser": False,
    }
    assert not facts[declared]["listed"] and not facts[declared]["password"], "made before `team` gave a password"

    pulled = run("studio", "pull", "--root", str(root), env=env)
    assert pulled.exit_code == 0, pulled.output
    export = json.loads((root / "annotations" / "exports" / "spans.json").read_text())
    assert sorted(a["completed_by"]["email"] for a in export[0]["annotations"]) == sorted([historical, declared])

    again = run("studio", "push", *served, "--gold", env=env)
    assert again.exit_code == 0 and "0 tasks created" in again.output and "0 annotations" in again.output, again.output

    # an annotation changed here is written to the server by the historical annotator's id (no import)
    (ann,) = [a for a in export[0]["annotations"] if a["completed_by"]["email"] == historical]
    ann["lead_time"] = 99.5
    (root / "annotations" / "exports" / "spans.json").write_text(json.dumps(export), encoding="utf-8")
    changed = run("studio", "push", *served, "--gold", env=env)
    assert changed.exit_code == 0 and "1 annotations" in changed.output, changed.output
    assert run("studio", "pull", "--root", str(root), env=env).exit_code == 0
    back = json.loads((root / "annotations" / "exports" / "spans.json").read_text())
    assert [a["lead_time"] for a in back[0]["annotations"] if a["completed_by"]["email"] == historical] == [99.5]

    passwords = passwords_for(declared)
    made = run("studio", "team", *served, env={ENV_TEAM_PASSWORDS: lines(passwords), ENV_TOKEN: STUDIO_TOKEN})
    assert made.exit_code == 0 and f"{declared} (annotator): password set, joined the organization" in made.output
    assert login(studio.url, declared, passwords[declared])
    assert run("studio", "push", *served, "--gold", env=env).exit_code == 0
    assert declared in members(studio.url) and historical not in members(studio.url)

    # pushed without the served server's data directory, the API alone cannot reach that account
    (root / "annotations" / "team.json").unlink()
    delete_projects(studio.url)
    remote = run("studio", "push", "--root", str(root), "--gold", env=env)
    assert remote.exit_code == 1 and f"annotator {historical} has an account outside the organization" in remote.output


@pytest.mark.server
def test_no_password_is_ever_printed() -> None:
    """Runs last in this module: every command output so far."""
    assert OUTPUTS and PASSWORDS
    assert not [o for o in OUTPUTS for p in PASSWORDS if p in o]
