"""A small Label Studio API client: every server fault becomes one StudioError line."""

from __future__ import annotations

import json
import secrets
import time

import requests

from crossclaim.errors import StudioError
from crossclaim.studio.server import ENV_TOKEN, scrub

TIMEOUT = 8.0  # seconds for one API call: every server fault is reported well within 10 s


# ---------------------------------------------------------------------------------------------
# the API client


class Studio:
    """The few Label Studio API calls the round trip needs, with one-line errors."""

    def __init__(self, url: str, token: str) -> None:
        try:
            from label_studio_sdk import LabelStudio
        except ImportError:
            raise StudioError(
                "the studio commands need the Label Studio SDK: pip install 'crossclaim[studio]'"
            ) from None

        self.url = url.rstrip("/")
        self.token = token
        try:
            r = requests.get(f"{self.url}/health", timeout=3)
        except requests.RequestException:
            raise StudioError(
                f"no Label Studio server answers at {self.url} (not running, or the wrong port?): "
                "start one with `crossclaim studio serve`"
            ) from None
        if r.status_code != 200 or "UP" not in r.text:
            raise StudioError(
                f"{self.url} answers, but is not a healthy Label Studio server (/health gave HTTP {r.status_code})"
            )
        self.ls = LabelStudio(base_url=self.url, api_key=token, timeout=TIMEOUT)
        self.call(self.ls.users.whoami)

    def call(self, fn, *args, **kwargs):
        """Run an SDK call; turn HTTP and connection faults into one-line StudioErrors."""
        from label_studio_sdk.core.api_error import ApiError

        try:
            return fn(*args, **kwargs)
        except ApiError as exc:
            body = scrub(str(exc.body), self.token)[:300]
            if exc.status_code == 401:
                hint = (
                    "legacy API tokens are disabled on this server: enable them or use a personal access token"
                    if "legacy" in body.lower() or "disabled" in body.lower()
                    else f"check {ENV_TOKEN}"
                )
                raise StudioError(f"Label Studio refused the token (HTTP 401): {hint}") from None
            raise StudioError(f"Label Studio answered HTTP {exc.status_code}: {body}") from None
        except Exception as exc:  # connection faults of the HTTP client the SDK uses
            if type(exc).__module__.startswith(("httpx", "httpcore", "requests")):
                raise StudioError(f"lost the connection to {self.url}: {type(exc).__name__}") from None
            raise

    # --- projects and users

    def project(self, title: str, config: str) -> int:
        """Id of the project with this title, created or with its labeling config brought up to date."""
        for p in self.call(lambda: list(self.ls.projects.list())):
            if p.title == title:
                if (p.label_config or "").strip() != config.strip():
                    self.call(self.ls.projects.update, id=p.id, label_config=config)
                return p.id
        return self.call(self.ls.projects.create, title=title, label_config=config).id

    def user_ids(self, emails: set[str]) -> dict[str, int]:
        """Ids of the annotators' users, creating the missing ones, so annotator identity survives."""
        users = {u.email: u.id for u in self.call(lambda: list(self.ls.users.list()))}
        for email in sorted(emails - users.keys()):
            if email.startswith("user:"):
                raise StudioError(f"annotator {email!r} has no e-mail: cannot recreate the user")
            username = email.split("@")[0][:30] + "-" + secrets.token_hex(3)
            users[email] = self.call(self.ls.users.create, email=email, username=username).id
        return users

    # --- tasks

    def tasks(self, project: int) -> list:
        return self.call(lambda: list(self.ls.tasks.list(project=project, fields="all")))

    def import_tasks(self, project: int, tasks: list[dict]) -> None:
        if tasks:
            self.call(self.ls.projects.import_tasks, id=project, request=tasks, return_task_ids=True)

    def annotations(self, task_id: int) -> list:
        return self.call(lambda: list(self.ls.annotations.list(id=task_id)))

    def predictions(self, task_id: int) -> list:
        return self.call(lambda: list(self.ls.predictions.list(task=task_id)))

    def export(self, project: int) -> list[dict]:
        """Full export: every task, every annotator (with e-mail), full predictions."""
        options = {"predictions": {"only_id": False}, "annotations__completed_by": {"only_id": False}}
        snap = self.call(self.ls.projects.exports.create, project, serialization_options=options)
        for _ in range(100):
            snap = self.call(self.ls.projects.exports.get, project, snap.id)
            if snap.status == "completed":
                break
            if snap.status == "failed":
                raise StudioError(f"Label Studio failed to export project {project}")
            time.sleep(0.2)
        else:
            raise StudioError(f"Label Studio did not finish exporting project {project} within 20 s")
        data = b"".join(
            self.call(lambda: list(self.ls.projects.exports.download(project, snap.id, export_type="JSON")))
        )
        self.call(self.ls.projects.exports.delete, project, snap.id)
        return json.loads(data)
