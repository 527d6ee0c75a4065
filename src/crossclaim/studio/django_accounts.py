"""Run inside Label Studio's own Django (``python -m crossclaim.studio.django_accounts``, with the
server's settings in the environment): the account work Label Studio's API cannot do.

The API cannot set a password, and every user it creates joins the organization (its member list
shows them, and in Community Edition every member has every permission). So accounts are made here,
with Label Studio's own models, the way its sign-up page makes them (``users/functions/common.py``):

- ``team``: each declared member gets an account (a password that passes Label Studio's password
  validators, never staff or superuser) and an ordinary membership of the organization;
- ``accounts``: the annotators of annotations being pushed, by e-mail. One missing on the server is
  made without a password and outside the organization; a historical annotator (not declared in the
  team file, not the pushing account, not staff) is taken out of the organization;
- ``admit`` / ``retire``: Label Studio's bulk import takes annotations only by members
  (``tasks/serializers.py``), so those outsiders are members for the length of an import only;
- ``describe``: what the server holds for some e-mails (no secrets), for reports and tests.

Protocol: one JSON request per line on stdin, one JSON answer per line on the protocol stream
(the original stdout; anything Label Studio prints goes to stderr). Passwords arrive on stdin only.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def setup_django() -> None:
    """Label Studio's settings, as ``label-studio start`` loads them (``label_studio/server.py``)."""
    import label_studio

    sys.path.insert(0, os.path.dirname(label_studio.__file__))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "label_studio.core.settings.label_studio")
    import django

    django.setup()


def organization():
    from organizations.models import Organization

    org = Organization.objects.order_by("pk").first()
    if org is None:
        raise LookupError("the server has no organization yet: start it once with `crossclaim studio serve`")
    return org


def users_by_email(emails: list[str]) -> dict:
    """The users of ``emails``, keyed by lower-cased e-mail (Label Studio lower-cases e-mails at sign-up)."""
    from django.db.models import Q
    from users.models import User

    if not emails:
        return {}
    query = Q()
    for email in emails:
        query |= Q(email__iexact=email)
    return {u.email.lower(): u for u in User.objects.filter(query)}


def has_password(user) -> bool:
    """A password one can log in with (a user the API made has an empty one, which never matches)."""
    return bool(user.password) and user.has_usable_password()


def unique_username(email: str) -> str:
    """Label Studio's sign-up uses the e-mail's local part; the username must be unique (30 characters)."""
    from users.models import User

    base = email.split("@")[0][:24] or "user"
    name, n = base, 1
    while User.objects.filter(username=name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


def make_user(email: str, password: str | None):
    """An ordinary user (never staff or superuser); no password: one nobody can log in with."""
    from users.models import User

    user = User.objects.create_user(email=email, password=password)
    user.username = unique_username(email)
    user.save(update_fields=["username"])
    return user


def join(org, user) -> bool:
    """Make ``user`` an active member of ``org`` (undoing a soft delete); True if that changed anything."""
    from organizations.models import OrganizationMember

    member = OrganizationMember.objects.filter(user=user, organization=org).first()
    changed = False
    if member is None:
        org.add_user(user)
        changed = True
    elif member.deleted_at is not None:
        member.deleted_at = None
        member.save(update_fields=["deleted_at"])
        changed = True
    if user.active_organization_id != org.pk:
        user.active_organization = org
        user.save(update_fields=["active_organization"])
    return changed


def leave(org, user) -> bool:
    """Take ``user`` out of ``org`` altogether (a soft-deleted member still shows in Community's list)."""
    from organizations.models import OrganizationMember

    found = OrganizationMember.objects.filter(user=user, organization=org).exists()
    if found:
        org.remove_user(user)
    return found


def team(request: dict) -> dict:
    """Accounts for the declared members: ``{"members": [{"email", "password"}], "reset": bool}``.

    Every password is validated first (Label Studio's validators, against its user), so a bad one
    changes nothing. A member who has a password keeps it unless ``reset``; one without (made by a
    push) gets the one given.
    """
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError
    from django.db import transaction
    from users.models import User

    org = organization()
    members = request["members"]
    users = users_by_email([m["email"] for m in members])
    problems, plan = [], []
    for m in members:
        user = users.get(m["email"].lower())
        needs = user is None or not has_password(user) or request.get("reset", False)
        if needs:
            if not m.get("password"):
                problems.append({"email": m["email"], "problem": "has no password to set"})
                continue
            try:
                validate_password(m["password"], user or User(email=m["email"]))
            except ValidationError as exc:
                problems.append({"email": m["email"], "problem": " ".join(exc.messages)})
                continue
        plan.append((m, user, needs))
    if problems:
        return {"problems": problems}
    done = []
    with transaction.atomic():
        for m, user, needs in plan:
            if user is None:
                user = make_user(m["email"], m["password"])
                action = "created"
            elif needs:
                user.set_password(m["password"])
                user.save(update_fields=["password"])
                action = "password set"
            else:
                action = "kept its password"
            joined = join(org, user)
            done.append({"email": m["email"], "action": action, "joined": joined, **facts(org, user)})
    return {"members": done}


def accounts(request: dict) -> dict:
    """User ids for annotators being pushed: ``{"emails": [...], "team": [...], "keep": user id}``.

    Returns ``{"users": {email: {"id": id, "member": bool}}}``. Missing users are made without a
    password, outside the organization; historical annotators (not in ``team``, not ``keep``, not
    staff) are taken out of it.
    """
    org = organization()
    declared = {e.lower() for e in request.get("team", [])}
    found = users_by_email(request["emails"])
    out: dict[str, Any] = {}
    for email in request["emails"]:
        user = found.get(email.lower()) or make_user(email, None)
        historical = email.lower() not in declared and user.pk != request.get("keep") and not user.is_staff
        if historical:
            leave(org, user)
        out[email] = {"id": user.pk, "member": org.has_permission(user)}
    return {"users": out}


def admit(request: dict) -> dict:
    """Make the users ``ids`` members (for an import); returns those that were not."""
    from users.models import User

    org = organization()
    return {"admitted": [u.pk for u in User.objects.filter(pk__in=request["ids"]) if join(org, u)]}


def retire(request: dict) -> dict:
    """Take the users ``ids`` out of the organization again."""
    from users.models import User

    org = organization()
    return {"retired": [u.pk for u in User.objects.filter(pk__in=request["ids"]) if leave(org, u)]}


def facts(org, user) -> dict:
    from organizations.models import OrganizationMember

    return {
        "member": OrganizationMember.objects.filter(user=user, organization=org, deleted_at__isnull=True).exists(),
        "listed": OrganizationMember.objects.filter(user=user, organization=org).exists(),
        "password": has_password(user),
        "staff": bool(user.is_staff),
        "superuser": bool(user.is_superuser),
    }


def describe(request: dict) -> dict:
    """What the server holds for ``emails`` (``None``: no such user); no secrets."""
    org = organization()
    found = users_by_email(request["emails"])
    return {"users": {e: (facts(org, found[e.lower()]) if e.lower() in found else None) for e in request["emails"]}}


OPS = {"team": team, "accounts": accounts, "admit": admit, "retire": retire, "describe": describe}


def main() -> None:
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # whatever Label Studio prints goes to stderr, never into the protocol
    try:
        setup_django()
    except Exception as exc:  # reported to the caller as one line
        proto.write(json.dumps({"error": f"Label Studio's Django did not start: {type(exc).__name__}: {exc}"}) + "\n")
        proto.flush()
        return
    proto.write(json.dumps({"ready": True}) + "\n")
    proto.flush()
    for line in sys.stdin:
        try:
            request = json.loads(line)
            answer = OPS[request["op"]](request)
        except Exception as exc:  # one answer per request, whatever happens
            answer = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}
        proto.write(json.dumps(answer) + "\n")
        proto.flush()


if __name__ == "__main__":
    main()
