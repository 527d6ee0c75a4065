"""A local Label Studio server and the push / pull round trip through its API.

Facts this module is built around (Label Studio 1.23, SDK 2.x): the user and API token are
created on first boot only; legacy tokens must be enabled explicitly; the server silently moves
to another port when the asked one is taken (so the port is checked first and /health is awaited
on exactly that port); the server accepts unknown labels and mismatching ``text`` without
complaint (so every pull goes through ``lsjson``'s validation before anything is written).
The token comes from the environment only and is never written to a file or printed.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from .errors import StudioError
from .lsjson import PairTask, pair_results, region_results, task_data
from .records import Annotation, Document, Prediction, Task

ENV_TOKEN = "CROSSCLAIM_LS_TOKEN"
ENV_URL = "CROSSCLAIM_LS_URL"
ENV_USER = "CROSSCLAIM_LS_USERNAME"
ENV_PASSWORD = "CROSSCLAIM_LS_PASSWORD"
DEFAULT_URL = "http://127.0.0.1:8080"
DEFAULT_USER = "admin@example.org"
SPAN_PROJECT = "CrossClaim spans"
PAIR_PROJECT = "CrossClaim claim pairs"
STATE_FILE = "server.json"
TIMEOUT = 8.0  # seconds for one API call: every server fault is reported well within 10 s


def token_from_env() -> str:
    token = os.environ.get(ENV_TOKEN, "")
    if not token:
        raise StudioError(
            f"no API token: set {ENV_TOKEN} (a token of your choosing for `serve`, or a "
            "legacy or personal access token of an existing Label Studio user)"
        )
    return token


def scrub(text: str, token: str) -> str:
    """Remove the token from text that may reach a log or the terminal."""
    return text.replace(token, "<token>") if token else text


# ---------------------------------------------------------------------------------------------
# the server process


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def label_studio_executable() -> str:
    here = Path(sys.executable).parent / "label-studio"
    found = str(here) if here.exists() else shutil.which("label-studio")
    if not found:
        raise StudioError("the Label Studio server is not installed: pip install 'crossclaim[studio]'")
    return found


def server_env(data_dir: Path, username: str, password: str, token: str) -> dict[str, str]:
    """Configuration by environment (never on the command line, where `ps` would show the token)."""
    # Label Studio also reads bare USERNAME, PASSWORD, PORT and HOST: stray ones must not leak in.
    inherited = {k: v for k, v in os.environ.items() if k not in ("USERNAME", "PASSWORD", "PORT", "HOST")}
    return {
        **inherited,
        "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir),
        "LABEL_STUDIO_USERNAME": username,
        "LABEL_STUDIO_PASSWORD": password,
        "LABEL_STUDIO_USER_TOKEN": token,
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
        "LATEST_VERSION_CHECK": "false",
        "COLLECT_ANALYTICS": "false",
        "SENTRY_DSN": "",
        "FRONTEND_SENTRY_DSN": "",
        "DJANGO_DB": "sqlite",
    }


@dataclass
class Server:
    pid: int
    port: int
    url: str
    data_dir: Path


def serve(
    data_dir: Path,
    port: int,
    token: str,
    username: str = DEFAULT_USER,
    password: str | None = None,
    wait: float = 300.0,
) -> Server:
    """Start Label Studio on 127.0.0.1:port with its own data directory; wait for /health."""
    data_dir = data_dir.resolve()
    running = read_state(data_dir)
    if running and _alive(running.pid):
        raise StudioError(f"a server from {data_dir} is already running at {running.url} (pid {running.pid})")
    if not port_is_free(port):
        raise StudioError(
            f"port {port} on 127.0.0.1 is taken (Label Studio would silently move to another "
            "port): choose another with --port"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    password = password or os.environ.get(ENV_PASSWORD) or secrets.token_urlsafe(16)
    log = data_dir / "server.log"
    cmd = [
        label_studio_executable(),
        "start",
        "--no-browser",
        "--internal-host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
    ]
    with open(log, "ab") as fh:
        proc = subprocess.Popen(
            cmd,
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=server_env(data_dir, username, password, token),
            start_new_session=True,
        )
    server = Server(proc.pid, port, f"http://127.0.0.1:{port}", data_dir)
    (data_dir / STATE_FILE).write_text(json.dumps({"pid": proc.pid, "port": port, "url": server.url}))
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            (data_dir / STATE_FILE).unlink(missing_ok=True)
            tail = scrub(log.read_text(errors="replace")[-600:], token).strip().splitlines()
            raise StudioError(
                f"Label Studio exited with code {proc.returncode}: {tail[-1] if tail else 'no output'} (log: {log})"
            )
        if health(server.url, timeout=2):
            return server
        time.sleep(1)
    stop(data_dir)
    raise StudioError(f"Label Studio did not answer /health on port {port} within {wait:.0f} s (log: {log})")


def health(url: str, timeout: float = 3) -> bool:
    try:
        r = requests.get(f"{url}/health", timeout=timeout)
    except requests.RequestException:
        return False
    return r.status_code == 200 and "UP" in r.text


def read_state(data_dir: Path) -> Server | None:
    path = data_dir / STATE_FILE
    if not path.exists():
        return None
    state = json.loads(path.read_text())
    return Server(state["pid"], state["port"], state["url"], data_dir)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def stop(data_dir: Path, wait: float = 20.0) -> bool:
    """Stop the server started from ``data_dir`` (its whole process group); False if none ran."""
    server = read_state(data_dir.resolve())
    if server is None:
        return False
    try:
        os.killpg(server.pid, signal.SIGTERM)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and _alive(server.pid):
            time.sleep(0.2)
            _reap(server.pid)
        if _alive(server.pid):
            os.killpg(server.pid, signal.SIGKILL)
            _reap(server.pid)
    except ProcessLookupError:
        pass
    (data_dir.resolve() / STATE_FILE).unlink(missing_ok=True)
    return True


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


# ---------------------------------------------------------------------------------------------
# the API client


class Studio:
    """The few Label Studio API calls the round trip needs, with one-line errors."""

    def __init__(self, url: str, token: str) -> None:
        from label_studio_sdk import LabelStudio

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


# ---------------------------------------------------------------------------------------------
# push: records -> Label Studio, idempotently


def annotation_payload(a: Annotation, result: list[dict], users: dict[str, int]) -> dict:
    return {
        "result": result,
        "completed_by": users[a.annotator],
        "ground_truth": a.ground_truth,
        "was_cancelled": a.was_cancelled,
        "lead_time": a.lead_time,
    }


def prediction_payload(p: Prediction, result: list[dict]) -> dict:
    return {"result": result, "model_version": p.model_version, "score": p.score}


@dataclass
class PushReport:
    created_tasks: int = 0
    kept_tasks: int = 0
    annotations_written: int = 0
    predictions_written: int = 0


RESULT_KEYS = ("id", "from_name", "to_name", "type", "value", "from_id", "to_id", "direction", "labels")


def _same(existing: list[dict], wanted: list[dict]) -> bool:
    def key(r: dict) -> str:
        return json.dumps(r, sort_keys=True)

    def strip(results: list[dict]) -> list[str]:
        return sorted(key({k: v for k, v in r.items() if k in RESULT_KEYS}) for r in results)

    return strip(existing) == strip(wanted)


def push_items(studio: Studio, project: int, items: list[dict], key: str, report: PushReport) -> None:
    """Make ``items`` (task dicts with ``data``, ``annotations``, ``predictions``) exist in ``project``.

    Tasks are keyed by ``data[key]`` (the document or pair id): a new key is imported with its
    annotations and predictions; an existing task keeps its id, each annotation is matched by
    annotator and each prediction by ``model_version`` and only written when it differs.
    """
    existing = {t.data.get(key): t for t in studio.tasks(project)}
    new = [it for it in items if it["data"][key] not in existing]
    studio.import_tasks(project, new)
    report.created_tasks += len(new)
    report.annotations_written += sum(len(it.get("annotations", [])) for it in new)
    report.predictions_written += sum(len(it.get("predictions", [])) for it in new)
    for it in items:
        task = existing.get(it["data"][key])
        if task is None:
            continue
        report.kept_tasks += 1
        if dict(task.data) != it["data"]:
            raise StudioError(
                f"task {task.id} ({key} {it['data'][key]}) has different data on the server than "
                "in annotations/: delete the task in Label Studio or pull first"
            )
        if it.get("meta") is not None and (task.meta or {}) != it["meta"]:
            studio.call(studio.ls.tasks.update, id=task.id, meta=it["meta"])
        have = {
            a.completed_by if isinstance(a.completed_by, int) else a.completed_by.get("id"): a
            for a in studio.annotations(task.id)
        }
        for ann in it.get("annotations", []):
            old = have.get(ann["completed_by"])
            if old is None:
                studio.call(studio.ls.annotations.create, id=task.id, **ann)
            elif not (
                _same([r if isinstance(r, dict) else r.dict() for r in old.result], ann["result"])
                and bool(old.ground_truth) == ann["ground_truth"]
                and old.lead_time == ann["lead_time"]
                and bool(old.was_cancelled) == ann["was_cancelled"]
            ):
                studio.call(studio.ls.annotations.update, id=old.id, **ann)
            else:
                continue
            report.annotations_written += 1
        preds = {p.model_version: p for p in studio.predictions(task.id)}
        for pred in it.get("predictions", []):
            old = preds.get(pred["model_version"])
            if old is not None and _same([r if isinstance(r, dict) else r.dict() for r in old.result], pred["result"]):
                continue
            if old is not None:
                studio.call(studio.ls.predictions.delete, id=old.id)
            studio.call(studio.ls.predictions.create, task=task.id, **pred)
            report.predictions_written += 1


def span_items(
    docs: list[Document],
    tasks: dict[str, Task],
    users: dict[str, int],
    with_annotations: bool,
    predictions: dict[str, list[Prediction]],
) -> list[dict]:
    """Span-project task dicts: every document, its annotations (optional) and predictions."""
    items = []
    for doc in docs:
        task = tasks.get(doc.id)
        item: dict = {"data": task_data(doc), "meta": task.meta if task else {}}
        if with_annotations and task:
            item["annotations"] = [
                annotation_payload(a, region_results(a.spans, doc.text), users) for a in task.annotations
            ]
        item["predictions"] = [
            prediction_payload(p, region_results(p.spans, doc.text, origin="prediction"))
            for p in predictions.get(doc.id, [])
        ]
        items.append(item)
    return items


def pair_items(tasks: list[PairTask], users: dict[str, int], with_annotations: bool) -> list[dict]:
    """Claim-pair task dicts from the committed pair export (every annotator's label)."""
    items = []
    for task in tasks:
        item: dict = {"data": task.data}
        if with_annotations:
            item["annotations"] = [
                annotation_payload(a, pair_results(a.payload) if a.payload else [], users) for a in task.annotations
            ]
        items.append(item)
    return items


def predictions_for_push(gold, systems: list[str], path: Path | None, name: str | None) -> dict[str, list[Prediction]]:
    """Pre-annotations: each named system (trained on the train split) on every document, and
    the spans of a predictions file; ``model_version`` names the system and its version."""
    from collections import defaultdict

    from . import __version__
    from .errors import InputError
    from .predictions import read_predictions
    from .systems import make_system, training_set

    out: dict[str, list[Prediction]] = defaultdict(list)
    for system_name in systems:
        system = make_system(system_name)
        train = [d for d in gold.docs if d.split == "train"]
        system.fit(training_set(train, gold.spans, gold.pairs))
        preds = system.predict(gold.docs, [])
        version = f"{system_name}@{getattr(system, 'version', None) or __version__}"
        for doc in gold.docs:
            out[doc.id].append(Prediction(doc.id, version, list(preds.spans.get(doc.id, []))))
    if path is not None:
        if not name:
            raise InputError(str(path), "--name is required with --predictions-file (it becomes model_version)")
        preds = read_predictions(path, gold.docs, gold.pairs)
        for doc_id, spans in preds.spans.items():
            out[doc_id].append(Prediction(doc_id, name, list(spans)))
    return dict(out)


# ---------------------------------------------------------------------------------------------
# the round trip


def push(root: Path, studio: Studio, with_annotations: bool, predictions: dict[str, list[Prediction]]) -> PushReport:
    """annotations/ → Label Studio: both projects, every document as a task, optionally the gold."""
    from .build import PAIR_EXPORT, load_gold
    from .lsjson import parse_pair_tasks, read_json
    from .schema import pair_config_xml, span_config_xml

    annotations = root / "annotations"
    gold = load_gold(annotations)  # validates everything before the server sees any of it
    pair_path = annotations / PAIR_EXPORT
    pair_tasks = parse_pair_tasks(read_json(pair_path), str(pair_path), gold.claims()) if pair_path.exists() else []
    emails = {a.annotator for t in gold.tasks.values() for a in t.annotations} if with_annotations else set()
    emails |= {a.annotator for t in pair_tasks for a in t.annotations} if with_annotations else set()
    users = studio.user_ids(emails)
    report = PushReport()
    span_project = studio.project(SPAN_PROJECT, span_config_xml())
    push_items(
        studio, span_project, span_items(gold.docs, gold.tasks, users, with_annotations, predictions), "doc_id", report
    )
    pair_project = studio.project(PAIR_PROJECT, pair_config_xml())
    push_items(studio, pair_project, pair_items(pair_tasks, users, with_annotations), "pair_id", report)
    return report


def find_project(studio: Studio, title: str) -> int:
    for p in studio.call(lambda: list(studio.ls.projects.list())):
        if p.title == title:
            return p.id
    raise StudioError(f"no project {title!r} on {studio.url}: run `crossclaim studio push` first")


def export_text(data: list[dict], key: str) -> str:
    """An export as committed: tasks ordered by document or pair id, keys sorted, one field a line."""
    data = sorted(data, key=lambda t: str(t.get("data", {}).get(key)))
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def pull(root: Path, studio: Studio, gold_annotator: str | None = None):
    """Label Studio → annotations/ → dataset/: export both projects, validate, write, rebuild."""
    from .build import PAIR_EXPORT, SPAN_EXPORT, build, load_gold
    from .files import write_text_atomic

    spans = studio.export(find_project(studio, SPAN_PROJECT))
    pairs = studio.export(find_project(studio, PAIR_PROJECT))
    annotations = root / "annotations"
    load_gold(annotations, gold_annotator, spans_data=spans, pairs_data=pairs)  # nothing is written if invalid
    write_text_atomic(annotations / SPAN_EXPORT, export_text(spans, "doc_id"))
    write_text_atomic(annotations / PAIR_EXPORT, export_text(pairs, "pair_id"))
    return build(root, gold_annotator)
