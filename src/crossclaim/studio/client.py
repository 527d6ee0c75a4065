"""A small Label Studio API client: every server fault becomes one StudioError line.

Timeouts are sized per kind of call. A small call (the token check, a project, a user, one
annotation) gets ``TIMEOUT``, so a dead or wrong server is reported within seconds; a call whose
work grows with the data (a listing page, an import chunk, an export) gets ``TIMEOUT`` plus an
allowance per task or per megabyte, generous enough for a loaded machine. Connections are not kept
alive: the development server stalls about 40 ms on every request of a kept-alive connection
(about 50 ms per request instead of about 10 ms on a fresh one).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from crossclaim.errors import StudioError
from crossclaim.studio.server import ENV_TOKEN, scrub

TIMEOUT = 8.0  # seconds for one small API call: every server fault is reported well within 10 s
PAGE = 2000  # tasks per listing page: large pages list faster (2,000 tasks: 4-6 s as one page, 6-7 s as four)
LISTED_S = 0.05  # seconds allowed per task of a listing page (measured: about 2.5 ms without annotations)
LISTED_FULL_S = 0.15  # ... per task of a listing page with annotations and predictions (measured: about 8 ms)
IMPORTED_S_PER_MB = 2.0  # seconds allowed per megabyte of an import request (measured: about 0.2 s)
EXPORTED_S = 0.05  # seconds allowed per task of an export snapshot (measured: about 6 ms)
IDS_PER_QUERY = 200  # task ids per filtered listing request (they travel in the URL)


@dataclass(frozen=True)
class Project:
    id: int
    title: str
    label_config: str
    tasks: int


@dataclass(frozen=True)
class Imported:
    tasks: int
    annotations: int
    predictions: int


# ---------------------------------------------------------------------------------------------
# the API client


class Studio:
    """The few Label Studio API calls the round trip needs, with one-line errors.

    ``requests`` counts every HTTP request made (the benchmark prints it).
    """

    def __init__(self, url: str, token: str) -> None:
        try:
            import httpx
            from label_studio_sdk import LabelStudio
        except ImportError:
            raise StudioError(
                "the studio commands need the Label Studio SDK: pip install 'crossclaim[studio]'"
            ) from None

        self.url = url.rstrip("/")
        self.token = token
        self.requests = 1
        try:
            r = requests.get(f"{self.url}/health", timeout=3, headers={"Connection": "close"})
        except requests.RequestException:
            raise StudioError(
                f"no Label Studio server answers at {self.url} (not running, or the wrong port?): "
                "start one with `crossclaim studio serve`"
            ) from None
        if r.status_code != 200 or "UP" not in r.text:
            raise StudioError(
                f"{self.url} answers, but is not a healthy Label Studio server (/health gave HTTP {r.status_code})"
            )
        self.http = httpx.Client(
            timeout=TIMEOUT,
            follow_redirects=True,
            limits=httpx.Limits(max_keepalive_connections=0),
            event_hooks={"request": [self._count]},
        )
        self.ls = LabelStudio(base_url=self.url, api_key=token, timeout=TIMEOUT, httpx_client=self.http)
        me = self.call(self.ls.users.whoami)
        self.me: str | None = getattr(me, "email", None) or None  # the token's user: push's own account

    def _count(self, request) -> None:
        self.requests += 1

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
                what = "timed out" if "Timeout" in type(exc).__name__ else "lost the connection"
                raise StudioError(f"{what} talking to {self.url}: {type(exc).__name__}") from None
            raise

    def raw(self, method: str, path: str, timeout: float, retries: int = 2, **kwargs) -> bytes:
        """One API request through the SDK's own HTTP client (its authentication, also for personal
        access tokens), for what the SDK would parse into objects one by one: the body, as bytes.

        The client is the SDK's ``_client_wrapper.httpx_client``, not public API: the SDK's version is pinned.
        """
        from label_studio_sdk.core.api_error import ApiError

        def send() -> bytes:
            r = self.ls._client_wrapper.httpx_client.request(
                path, method=method, request_options={"timeout": timeout, "max_retries": retries}, **kwargs
            )
            if r.status_code >= 400:
                raise ApiError(status_code=r.status_code, headers=dict(r.headers), body=r.text)
            return r.content

        return self.call(send)

    # --- projects and users

    def projects(self) -> dict[str, Project]:
        """Every project by title (the first of several with one title)."""
        found: dict[str, Project] = {}
        for p in self.call(lambda: list(self.ls.projects.list())):
            found.setdefault(p.title, Project(p.id, p.title, p.label_config or "", p.task_number or 0))
        return found

    def project(self, title: str, config: str, known: dict[str, Project] | None = None) -> int:
        """Id of the project with this title, created or with its labeling config brought up to date."""
        p = (known if known is not None else self.projects()).get(title)
        if p is None:
            return self.call(self.ls.projects.create, title=title, label_config=config).id
        if p.label_config.strip() != config.strip():
            self.call(self.ls.projects.update, id=p.id, label_config=config)
        return p.id

    def users(self) -> dict[int, str]:
        """Every user's e-mail by id (an export names who last saved an annotation by id alone)."""
        return {u.id: u.email for u in self.call(lambda: list(self.ls.users.list())) if u.email}

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

    def list_tasks(self, project: int, fields: tuple[str, ...]) -> Iterator[dict]:
        """Every task of ``project`` with only ``fields`` (no annotations or predictions), page by page."""
        params = {"project": project, "page_size": PAGE, "include": ",".join(fields)}
        yield from self._pages(params, TIMEOUT + PAGE * LISTED_S)

    def full_tasks(self, project: int, ids: list[int]) -> Iterator[dict]:
        """The tasks ``ids`` of ``project`` with their annotations and predictions in full."""
        for k in range(0, len(ids), IDS_PER_QUERY):
            part = ids[k : k + IDS_PER_QUERY]
            query = json.dumps({"selectedItems": {"all": False, "included": part}})
            params = {"project": project, "page_size": len(part), "fields": "all", "query": query}
            yield from self._pages(params, TIMEOUT + len(part) * LISTED_FULL_S)

    def _pages(self, params: dict, timeout: float) -> Iterator[dict]:
        import orjson

        seen, page = 0, 1
        while True:
            body = orjson.loads(self.raw("GET", "api/tasks", timeout, params={**params, "page": page}))
            tasks = body.get("tasks") if isinstance(body, dict) else None
            if not isinstance(tasks, list):
                raise StudioError(f"Label Studio's task listing is not a page of tasks: {str(body)[:100]}")
            yield from tasks
            seen += len(tasks)
            if not tasks or len(tasks) < params["page_size"] or seen >= body.get("total", 0):
                return
            page += 1

    def import_tasks(self, project: int, body: bytes, tasks: int) -> Imported:
        """Label Studio's bulk import of one JSON array of tasks (never retried: it is not idempotent)."""
        import orjson

        timeout = TIMEOUT + len(body) / 1e6 * IMPORTED_S_PER_MB
        answer = orjson.loads(
            self.raw(
                "POST",
                f"api/projects/{project}/import",
                timeout,
                retries=0,
                content=body,
                headers={"Content-Type": "application/json"},
            )
        )
        done = Imported(answer.get("task_count"), answer.get("annotation_count"), answer.get("prediction_count"))
        if done.tasks != tasks:
            raise StudioError(f"Label Studio imported {done.tasks} of {tasks} tasks into project {project}")
        return done

    def export(self, project: Project, dest: Path) -> Path:
        """Full export (every task, every annotator with e-mail, full predictions), streamed to ``dest``.

        Without a job queue the server builds the snapshot while the create request waits, so that
        request gets time in proportion to the project's tasks; with one, the snapshot is polled
        until done, within the same allowance.
        """
        allowance = TIMEOUT + project.tasks * EXPORTED_S
        options = {"predictions": {"only_id": False}, "annotations__completed_by": {"only_id": False}}
        slow = {"timeout": allowance, "max_retries": 0}
        snap = self.call(
            self.ls.projects.exports.create, project.id, serialization_options=options, request_options=slow
        )
        deadline = time.monotonic() + allowance
        while snap.status not in ("completed", "failed") and time.monotonic() < deadline:
            time.sleep(0.5)
            snap = self.call(self.ls.projects.exports.get, project.id, snap.id)
        if snap.status != "completed":
            state = "failed" if snap.status == "failed" else f"did not finish within {allowance:.0f} s"
            raise StudioError(f"Label Studio's export of project {project.id} ({project.tasks} tasks) {state}")

        def download() -> None:
            with open(dest, "wb") as fh:
                for chunk in self.ls.projects.exports.download(
                    project.id,
                    snap.id,
                    export_type="JSON",
                    request_options={"timeout": allowance, "chunk_size": 1 << 20},
                ):
                    fh.write(chunk)

        self.call(download)
        self.call(self.ls.projects.exports.delete, project.id, snap.id)
        return dest
