"""Push and pull against a real server with more tasks than one import chunk holds.

Bulk import in chunks, the push record in task meta (a re-push costs one listing, not requests per
task), work changed in Label Studio since the push, and the streamed pull. The server's side is
read with the Label Studio SDK directly, not through our client. One server for the module.
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import END, PAGE, START, TEXT, gold_spans, task

import crossclaim.studio.sync as sync
from crossclaim.formats.labelstudio.committed import PUSH_META
from crossclaim.schema.scheme import CATCH_ALL_TOPICS
from crossclaim.studio.client import Studio
from crossclaim.studio.server import Server, free_port, port_is_free, serve, stop

pytestmark = pytest.mark.server
TOKEN = "crossclaim-scale-test-token-2b81"  # made up for the test server
N = 30


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("studio")
    srv = serve(data_dir, free_port(), TOKEN)
    try:
        yield srv
    finally:
        assert stop(data_dir) == "stopped"
        deadline = time.monotonic() + 20
        while not port_is_free(srv.port) and time.monotonic() < deadline:
            time.sleep(0.5)


def spans():
    """The fixture's gold spans, its claim given the catch-all topic: the same claim in all N documents
    would otherwise be paired across every two of them (N(N-1)/2 claim-pair tasks), and these tests
    are about the span project at scale."""
    (catch_all,) = CATCH_ALL_TOPICS
    return [s.replace(topic=catch_all) if s.layer == "claims" else s for s in gold_spans()]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """N documents (the fixture page each time, its text ending in a sentence of its own: the same text
    twice is refused), each with one gold annotation by a@example.org."""
    root = tmp_path_factory.mktemp("repo")
    ann = root / "annotations"
    (ann / "raw").mkdir(parents=True)
    (ann / "exports").mkdir()
    docs, tasks = [], []
    for k in range(N):
        own = f" This is page {k}."
        page = PAGE[:END] + own + PAGE[END:]
        (ann / "raw" / f"page{k:03d}.txt").write_text(page, encoding="utf-8")
        sliced = {"start": START, "end": END + len(own)}
        doc = {"id": f"doc-{k:03d}", "source_file": f"raw/page{k:03d}.txt", "slice": sliced}
        doc |= {"sha256": hashlib.sha256(page.encode()).hexdigest(), "publisher": None, "headline": None}
        doc |= {"authors": [], "publication_date": None, "date_source": "test", "split": ("train", "test")[k % 2]}
        docs.append(doc)
        t = task(spans(), doc_id=doc["id"], text=TEXT + own)
        del t["id"], t["annotations"][0]["id"]
        tasks.append(t)
    (ann / "manifest.json").write_text(json.dumps({"documents": docs}), encoding="utf-8")
    (ann / "exports" / "spans.json").write_text(json.dumps(tasks), encoding="utf-8")
    (root / "DATASHEET.md").write_text("<!-- BEGIN GENERATED: statistics -->\n<!-- END GENERATED: statistics -->\n")
    return root


def server_tasks(url: str) -> dict[str, dict]:
    """The span project's tasks as Label Studio's own SDK lists them, by document id."""
    from label_studio_sdk import LabelStudio

    ls = LabelStudio(base_url=url, api_key=TOKEN)
    (project,) = [p.id for p in ls.projects.list() if p.title == sync.SPAN_PROJECT]
    return {t.data["doc_id"]: t for t in ls.tasks.list(project=project, fields="all")}


def test_a_first_push_imports_in_chunks_and_a_second_costs_one_listing(studio: Server, repo: Path, monkeypatch):
    body = len(json.dumps(task(spans())))
    monkeypatch.setattr(sync, "CHUNK_BYTES", body * 12)  # about 11 tasks a chunk
    chunks: list[tuple[int, int]] = []
    real_import = Studio.import_tasks

    def counting(self, project, data, tasks):
        chunks.append((tasks, len(data)))
        return real_import(self, project, data, tasks)

    monkeypatch.setattr(Studio, "import_tasks", counting)
    first = Studio(studio.url, TOKEN)
    report = sync.push(repo, first, True, {})
    assert (report.created_tasks, report.kept_tasks, report.annotations_written) == (N, 0, N)
    assert len(chunks) >= 3 and sum(n for n, _ in chunks) == N
    assert all(size <= body * 12 for _, size in chunks)

    on_server = server_tasks(studio.url)
    assert sorted(on_server) == [f"doc-{k:03d}" for k in range(N)]
    for t in on_server.values():
        assert len(t.annotations) == 1 and t.meta[PUSH_META]["annotations"] == 1

    again = Studio(studio.url, TOKEN)
    report = sync.push(repo, again, True, {})
    assert (report.created_tasks, report.kept_tasks, report.annotations_written) == (0, N, 0)
    assert again.requests < 12, f"a re-push of {N} unchanged tasks made {again.requests} requests"


def test_work_changed_in_label_studio_is_restored_or_left_for_pull(studio: Server, repo: Path) -> None:
    from label_studio_sdk import LabelStudio

    sync.push(repo, Studio(studio.url, TOKEN), True, {})
    ls = LabelStudio(base_url=studio.url, api_key=TOKEN)
    on_server = server_tasks(studio.url)
    deleted, edited = on_server["doc-003"], on_server["doc-007"]
    ls.annotations.delete(id=deleted.annotations[0]["id"])
    ls.annotations.update(id=edited.annotations[0]["id"], lead_time=99.0)

    report = sync.push(repo, Studio(studio.url, TOKEN), True, {})
    assert report.annotations_written == 1, "the deleted annotation is pushed again; the edited one is left alone"
    on_server = server_tasks(studio.url)
    assert len(on_server["doc-003"].annotations) == 1
    assert on_server["doc-007"].annotations[0]["lead_time"] == 99.0

    shown: list[str] = []
    sync.pull(repo, Studio(studio.url, TOKEN), show=shown.extend)
    assert shown == ["doc-007: annotations 1 changed (a@example.org)"]
    committed = json.loads((repo / "annotations" / "exports" / "spans.json").read_text(encoding="utf-8"))
    assert [t["annotations"][0]["lead_time"] for t in committed if t["data"]["doc_id"] == "doc-007"] == [99.0]
    assert PUSH_META not in json.dumps(committed), "the push record is the server's business, never committed"

    before = (repo / "annotations" / "exports" / "spans.json").read_bytes()
    shown.clear()
    sync.pull(repo, Studio(studio.url, TOKEN), show=shown.extend)
    assert shown == ["no change"]
    assert (repo / "annotations" / "exports" / "spans.json").read_bytes() == before


def test_a_task_changed_here_is_reconciled_with_what_the_listing_returns(studio: Server, repo: Path) -> None:
    sync.push(repo, Studio(studio.url, TOKEN), True, {})
    path = repo / "annotations" / "exports" / "spans.json"
    committed = json.loads(path.read_text(encoding="utf-8"))
    changed = copy.deepcopy(committed)
    for t in changed[:3]:
        t["annotations"][0]["lead_time"] = 7.5
    path.write_text(json.dumps(changed), encoding="utf-8")
    try:
        studio_client = Studio(studio.url, TOKEN)
        report = sync.push(repo, studio_client, True, {})
        assert (report.created_tasks, report.annotations_written) == (0, 3)
        # one listing, one full read of the three, then per task an update and its push record
        assert studio_client.requests < 12 + 3 * 2
        on_server = server_tasks(studio.url)
        assert [on_server[t["data"]["doc_id"]].annotations[0]["lead_time"] for t in changed[:3]] == [7.5] * 3
        assert sync.push(repo, Studio(studio.url, TOKEN), True, {}).annotations_written == 0
    finally:
        path.write_text(json.dumps(committed), encoding="utf-8")
