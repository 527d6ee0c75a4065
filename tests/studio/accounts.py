"""Members of the session's Label Studio server, each with an API token of their own (test tooling).

Label Studio's API makes users but gives no way to act as one of them: a member's token is made
through Label Studio's own Django code, against the server's data directory, in a child process
(the server holds the same SQLite database; Django waits for its lock). The test then calls the API
with that token, so Label Studio records the member as the one who saved (``updated_by``), exactly
as it does for a click in the browser (the labeling screen sends the same ``PATCH``/``POST``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import requests

TOKEN_CODE = """
import os, sys
import label_studio
sys.path.insert(0, os.path.dirname(label_studio.__file__))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings.label_studio")
import django
django.setup()
from rest_framework.authtoken.models import Token
from users.models import User
token, _ = Token.objects.get_or_create(user=User.objects.get(email=sys.argv[1]))
print(token.key)
"""


class Member:
    """One member's API session (their own token)."""

    def __init__(self, url: str, email: str, token: str) -> None:
        self.url, self.email = url.rstrip("/"), email
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Token {token}"

    def call(self, method: str, path: str, **kw) -> dict:
        r = self.http.request(method, self.url + path, timeout=30, **kw)
        assert r.status_code < 300, f"{method} {path} as {self.email}: HTTP {r.status_code} {r.text[:300]}"
        return r.json()

    def annotate(self, task: int, result: list[dict]) -> dict:
        """Submit an annotation of their own, as the labeling screen's Submit does."""
        return self.call("POST", f"/api/tasks/{task}/annotations", json={"result": result, "lead_time": 5.0})

    def update(self, annotation: int, result: list[dict]) -> dict:
        """Press Update on an annotation (anyone's: Label Studio Community lets every member)."""
        return self.call("PATCH", f"/api/annotations/{annotation}", json={"result": result})


def member(url: str, admin_token: str, data_dir: Path, email: str) -> Member:
    """The member ``email`` of the admin's organisation (made through the API when missing), with a token."""
    admin = requests.Session()
    admin.headers["Authorization"] = f"Token {admin_token}"
    users = admin.get(f"{url}/api/users", timeout=30).json()
    if email not in {u["email"] for u in users}:
        r = admin.post(f"{url}/api/users", json={"email": email, "username": email.split("@")[0]}, timeout=30)
        assert r.status_code < 300, r.text
    env = {**os.environ, "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir), "DJANGO_DB": "sqlite"}
    done = subprocess.run(
        [sys.executable, "-c", TOKEN_CODE, email], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return Member(url, email, done.stdout.strip().splitlines()[-1])
