"""The client's paging, chunk checks and connections against a stand-in server (no Label Studio needed)."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import pytest

from crossclaim.errors import StudioError
from crossclaim.studio import client
from crossclaim.studio.client import Studio

pytest.importorskip("label_studio_sdk")
TASKS = [{"id": n, "data": {"doc_id": f"doc-{n:03d}"}, "meta": {}} for n in range(1, 24)]


class StandIn(http.server.BaseHTTPRequestHandler):
    """Just enough of Label Studio's API: health, the token check, the task listing, the bulk import."""

    protocol_version = "HTTP/1.1"  # it would keep connections alive if the client asked
    seen: list[tuple[str, dict, int]] = []  # (path, query, client port) of every request
    imported: int | None = None  # how many tasks an import says it created (None: all it was sent)
    slow = 0.0  # seconds the listing waits before answering

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.seen.append((url.path, query, self.client_address[1]))
        if url.path == "/health":
            self.answer({"status": "UP"})
        elif url.path == "/api/current-user/whoami":
            self.answer({"id": 1, "email": "admin@example.org"})
        elif url.path == "/api/tasks":
            time.sleep(self.slow)
            tasks = TASKS
            if "query" in query:
                included = json.loads(query["query"])["selectedItems"]["included"]
                tasks = [t for t in TASKS if t["id"] in included]
            size, page = int(query["page_size"]), int(query["page"])
            if (page - 1) * size >= len(tasks) > 0:
                self.answer({"detail": "Invalid page."}, 404)
            else:
                self.answer({"total": len(tasks), "tasks": tasks[(page - 1) * size : page * size]})
        else:
            self.answer({"detail": "not found"}, 404)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append((urlparse(self.path).path, {}, self.client_address[1]))
        sent = len(json.loads(body))
        created = sent if self.imported is None else self.imported
        self.answer({"task_count": created, "annotation_count": 0, "prediction_count": 0}, 201)

    def answer(self, body: dict, status: int = 200) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def stand_in() -> Iterator[str]:
    StandIn.seen, StandIn.imported, StandIn.slow = [], None, 0.0
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_the_listing_is_read_page_by_page_to_its_end(stand_in: str, monkeypatch) -> None:
    monkeypatch.setattr(client, "PAGE", 10)
    studio = Studio(stand_in, "token")
    listed = list(studio.list_tasks(7, ("id", "data", "meta")))
    assert [t["id"] for t in listed] == [t["id"] for t in TASKS]
    pages = [q for path, q, _ in StandIn.seen if path == "/api/tasks"]
    assert [q["page"] for q in pages] == ["1", "2", "3"], "no request past the last page"
    assert {q["include"] for q in pages} == {"id,data,meta"} and {q["project"] for q in pages} == {"7"}


def test_tasks_read_in_full_are_asked_for_by_id_a_few_hundred_at_a_time(stand_in: str, monkeypatch) -> None:
    monkeypatch.setattr(client, "IDS_PER_QUERY", 5)
    ids = [2, 3, 5, 7, 11, 13, 17, 19, 23]
    got = list(Studio(stand_in, "token").full_tasks(7, ids))
    assert [t["id"] for t in got] == ids
    queries = [json.loads(q["query"]) for path, q, _ in StandIn.seen if path == "/api/tasks"]
    assert [q["selectedItems"]["included"] for q in queries] == [ids[:5], ids[5:]]


def test_every_request_has_a_connection_of_its_own(stand_in: str, monkeypatch) -> None:
    """The development server stalls on kept-alive connections: each request opens a fresh one."""
    monkeypatch.setattr(client, "PAGE", 5)
    studio = Studio(stand_in, "token")
    list(studio.list_tasks(7, ("id",)))
    ports = [port for _, _, port in StandIn.seen]
    assert len(ports) == studio.requests == 2 + 5  # health, token check, five pages
    assert len(set(ports)) == len(ports)


def test_an_import_the_server_did_not_take_whole_is_an_error(stand_in: str) -> None:
    StandIn.imported = 2
    with pytest.raises(StudioError, match="imported 2 of 3 tasks into project 7"):
        Studio(stand_in, "token").import_tasks(7, b'[{"data": {}}, {"data": {}}, {"data": {}}]', 3)


def test_a_listing_slower_than_its_allowance_is_one_line_soon_after(stand_in: str, monkeypatch) -> None:
    monkeypatch.setattr(client, "TIMEOUT", 0.5)
    monkeypatch.setattr(client, "LISTED_S", 0.0)
    StandIn.slow = 3.0
    studio = Studio(stand_in, "token")
    start = time.monotonic()
    with pytest.raises(StudioError, match="timed out talking to"):
        list(studio.list_tasks(7, ("id",)))
    assert time.monotonic() - start < 2.5, "the listing was retried or waited past its allowance"
