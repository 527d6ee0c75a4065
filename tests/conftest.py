"""Shared fixtures: a tiny repository made by the tests (one raw page, one document), one Label
Studio server for the whole session, and one on PostgreSQL for the tests that need it."""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from crossclaim.dataset.gold import Gold
from crossclaim.evaluation.counts import index_gold
from crossclaim.formats.labelstudio.spans import region_results
from crossclaim.formats.predictions import ALL_TAG_LAYERS, Predictions
from crossclaim.schema.records import Annotation, Document, Pair, Span, pair_id
from crossclaim.studio.server import (
    ENV_DB_PASSWORD,
    ENV_PASSWORD,
    STATE_FILE,
    Server,
    free_port,
    parse_database,
    port_is_free,
    process_identity,
    serve,
    stop,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
# datasets keys its cache of a local folder by the card, not the data: a fresh cache per test run
os.environ["HF_DATASETS_CACHE"] = tempfile.mkdtemp(prefix="crossclaim-hf-cache-")
# learned models: an empty cache per test run (shared by its tests), never the user's
os.environ["CROSSCLAIM_CACHE"] = tempfile.mkdtemp(prefix="crossclaim-model-cache-")
atexit.register(shutil.rmtree, os.environ["CROSSCLAIM_CACHE"], ignore_errors=True)  # models take ~50 MB

REPO = Path(__file__).resolve().parents[1]
PAGE = (
    "MENU Home\n"
    "Xiaomiunveiled the SU7 in late 2023. Lei Jun said the unit could be profitable in 2025.\n"
    "BYD cut prices by a third in May. Fans wrote 小米 🚗 SU7 online.\n"
    "Footer links\n"
)
START = PAGE.index("Xiaomiunveiled")
END = PAGE.index("Footer") - 1
TEXT = PAGE[START:END]
# doc-y of the two-document fixtures: the fixture text and a sentence more, so spans at the same offsets fit
# both (the same text twice would be one article in two documents, which the manifest refuses)
TEXT_Y = TEXT + " Analysts were not surprised."


def span(layer: str, sid: str, text: str, label: str, occurrence: int = 0, **attrs) -> Span:
    """A span found by its text in the fixture document (the n-th occurrence)."""
    pos = -1
    for _ in range(occurrence + 1):
        pos = TEXT.index(text, pos + 1)
    return Span(layer=layer, id=sid, start=pos, end=pos + len(text), text=text, label=label, attrs=attrs)


def gold_spans() -> list[Span]:
    return [
        span("entities", "e1", "Xiaomi", "ORG"),
        span("entities", "e2", "SU7", "PRODUCT"),
        span("entities", "e3", "Lei Jun", "PERSON"),
        span("entities", "e4", "BYD", "ORG"),
        span("figures", "f1", "late 2023", "DATE", value="2023-late"),
        span("figures", "f2", "2025", "DATE", value="2025"),
        span("figures", "f3", "a third", "PERCENT", value="33.33"),
        span("figures", "f4", "May", "DATE", value="XXXX-05"),
        span("entities", "e5", "小米", "ORG"),
        span("entities", "e6", "SU7", "PRODUCT", occurrence=1),
        span("hedges", "h1", "could", "HEDGE"),
        span(
            "claims",
            "c1",
            "the unit could be profitable in 2025",
            "CLAIM",
            hedged=True,
            topic="ev_profitability_timing",
            cues=("h1",),
        ),
        span("claims", "c2", "Xiaomiunveiled the SU7 in late 2023", "CLAIM", hedged=False, topic="su7_launch_date"),
    ]


def task(spans: list[Span], doc_id: str = "doc-x", text: str = TEXT, **ann) -> dict:
    annotation = {
        "id": 1,
        "completed_by": {"id": 1, "email": "a@example.org"},
        "result": region_results(spans, text),
        "was_cancelled": False,
        "ground_truth": False,
        "lead_time": 12.5,
        **ann,
    }
    return {
        "id": 1,
        "data": {"doc_id": doc_id, "text": text, "headline": ""},
        "meta": {"batch": 1},
        "annotations": [annotation],
        "predictions": [],
    }


def write_repo(root: Path, tasks: list[dict] | None = None, pairs: list[dict] | None = None) -> Path:
    ann = root / "annotations"
    (ann / "raw").mkdir(parents=True, exist_ok=True)
    (ann / "raw" / "page.txt").write_text(PAGE, encoding="utf-8")
    manifest = {
        "documents": [
            {
                "id": "doc-x",
                "source_file": "raw/page.txt",
                "sha256": hashlib.sha256(PAGE.encode()).hexdigest(),
                "slice": {"start": START, "end": END},
                "publisher": "Test Daily",
                "headline": None,
                "authors": [],
                "publication_date": "2025-06-04",
                "date_source": "test",
                "split": "test",
            }
        ]
    }
    (ann / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (ann / "exports").mkdir(exist_ok=True)
    if tasks is not None:
        (ann / "exports" / "spans.json").write_text(json.dumps(tasks), encoding="utf-8")
    if pairs is not None:
        (ann / "exports" / "pairs.json").write_text(json.dumps(pairs), encoding="utf-8")
    (root / "DATASHEET.md").write_text("<!-- BEGIN GENERATED: statistics -->\n<!-- END GENERATED: statistics -->\n")
    return root


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


def committed_copy(root: Path) -> Path:
    """The committed annotations/, dataset/, DATASHEET.md and .gitignore in ``root``, under git so that any
    changed byte shows."""
    root.mkdir(parents=True, exist_ok=True)
    for name in ("annotations", "dataset"):
        shutil.copytree(REPO / name, root / name)
    for name in ("DATASHEET.md", ".gitignore"):
        shutil.copy(REPO / name, root / name)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "-c", "user.name=test", "-c", "user.email=test@example.org", "commit", "-q", "-m", "committed")
    return root


def built_tables(root: Path) -> dict[str, dict[str, object]]:
    """Build ``root`` (the one build path) and read its data files back: config -> split -> arrow table
    (an empty table for a split without a data file)."""
    import pyarrow.parquet as pq

    from crossclaim.dataset.build import build as run_build
    from crossclaim.dataset.tables import arrow_schema
    from crossclaim.schema.scheme import CONFIGS, SPLITS

    if not (root / "DATASHEET.md").exists():
        (root / "DATASHEET.md").write_text("<!-- BEGIN GENERATED: statistics -->\n<!-- END GENERATED: statistics -->\n")
    run_build(root, workers=1)
    return {
        config: {
            split: pq.read_table(path)
            if (path := root / "dataset" / config / f"{split}-00000-of-00001.parquet").exists()
            else arrow_schema(config).empty_table()
            for split in SPLITS
        }
        for config in CONFIGS
    }


def add_document(root: Path, doc_id: str, page: str, **meta: object) -> None:
    """Add a document to a repository made by ``write_repo``: a raw page of its own, taken whole."""
    ann = root / "annotations"
    (ann / "raw" / f"{doc_id}.txt").write_text(page, encoding="utf-8")
    manifest = json.loads((ann / "manifest.json").read_text(encoding="utf-8"))
    (entry,) = [dict(d) for d in manifest["documents"] if d["id"] == "doc-x"]
    entry |= {"id": doc_id, "source_file": f"raw/{doc_id}.txt", "sha256": hashlib.sha256(page.encode()).hexdigest()}
    entry |= {"slice": {"start": 0, "end": len(page)}, **meta}
    manifest["documents"].append(entry)
    (ann / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return write_repo(tmp_path, [task(gold_spans())])


# ---------------------------------------------------------------------------------------------
# one Label Studio server for the session: a boot takes about a minute (tests using it are marked `server`)

STUDIO_TOKEN = "crossclaim-test-token-7f3a9c"  # made up for the test server; must never leak


@pytest.fixture(scope="session")
def browser_ready() -> None:
    """Debian's headless Chromium can run (else skipped, or a failure when CI=true); requested before a
    server boots, so a missing browser is known first."""
    from studio.browser import browser_missing

    reason = browser_missing()
    if reason and os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the browser test must run)")
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The server, started on a free loopback port with a fresh data directory and stopped at the end,
    whatever happens. Its web login password is generated and set in the environment, as for `serve`."""
    data_dir = tmp_path_factory.mktemp("studio")
    with pytest.MonkeyPatch.context() as env:
        env.setenv(ENV_PASSWORD, secrets.token_urlsafe(16))
        srv = serve(data_dir, free_port(), STUDIO_TOKEN)
        try:
            yield srv
        finally:
            stop_verified(srv)


@pytest.fixture(scope="session")
def server(studio: Server) -> str:
    return studio.url


def stop_verified(srv: Server) -> None:
    """Stop a server a fixture started, and check that it is gone and its port free."""
    record = srv.data_dir / STATE_FILE
    seen = (process_identity(srv.pid), record.read_text(encoding="utf-8") if record.exists() else "no record")
    assert stop(srv.data_dir) == "stopped", f"stop could not verify the server it started: {seen}"
    deadline = time.monotonic() + 20
    while not port_is_free(srv.port, srv.host) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert port_is_free(srv.port, srv.host), "the server process outlived stop()"


# ---------------------------------------------------------------------------------------------
# PostgreSQL: a throwaway cluster and a Label Studio server on it, once per session (marked `postgres`)

SHARED_HOST = "127.0.0.2"  # loopback, yet an address `serve` treats as one others can reach
PG_ADMIN_PASSWORD = "crossclaim-pg-admin-password-5d1e"  # made up for the test server; must never leak


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL cluster on a free port of 127.0.0.1 (skipped with the reason where
    PostgreSQL is not installed, a failure when CI=true), stopped and removed at the end."""
    from crossclaim.studio import pgcluster

    reason = pgcluster.missing()
    if reason and os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the PostgreSQL tests must run)")
    if reason:
        pytest.skip(reason)
    with pgcluster.running(secrets.token_urlsafe(18), durable=False) as cluster:
        yield cluster


@pytest.fixture
def pg_password(postgres, monkeypatch: pytest.MonkeyPatch) -> str:
    """The cluster's password in the environment, as a command that reaches the database reads it."""
    monkeypatch.setenv(ENV_DB_PASSWORD, postgres.password)
    return postgres.password


@pytest.fixture(scope="session")
def pg_studio(postgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Label Studio on PostgreSQL, listening on 127.0.0.2: an address `serve` treats as shared, so it
    runs as a team's server would (an admin password of 12 characters or more, sign-up only through
    the invite link), yet nothing outside this machine can reach it."""
    data_dir = tmp_path_factory.mktemp("pg-studio")
    url = postgres.create_database("labelstudio")
    with pytest.MonkeyPatch.context() as env:
        env.setenv(ENV_DB_PASSWORD, postgres.password)  # read when the server starts, never kept in the session
        srv = serve(
            data_dir,
            free_port(),
            STUDIO_TOKEN,
            password=PG_ADMIN_PASSWORD,
            host=SHARED_HOST,
            database=parse_database(url),
        )
    try:
        yield srv
    finally:
        stop_verified(srv)


def delete_projects(url: str) -> None:
    """Remove the projects `push` makes, so a test module starts from an empty server."""
    from label_studio_sdk import LabelStudio

    from crossclaim.studio.sync import PAIR_PROJECT, SPAN_PROJECT

    ls = LabelStudio(base_url=url, api_key=STUDIO_TOKEN)
    for p in list(ls.projects.list()):
        if p.title in (SPAN_PROJECT, PAIR_PROJECT):
            ls.projects.delete(id=p.id)


# ---------------------------------------------------------------------------------------------
# an in-memory gold of three documents with every layer and every pair label

TEXT_B = "Xiaomi expects to sell 300,000 cars in 2025. BYD may cut prices by 15% in the second half of the year."
TEXT_C = "Lei Jun said the SU7 launched in March 2024. Xiaomi could turn a profit in 2026."


def at(text: str, layer: str, sid: str, frag: str, label: str, occurrence: int = 0, **attrs) -> Span:
    pos = -1
    for _ in range(occurrence + 1):
        pos = text.index(frag, pos + 1)
    return Span(layer, sid, pos, pos + len(frag), frag, label, attrs)


def doc(doc_id: str, text: str, split: str, date: str | None = "2025-06-04") -> Document:
    return Document(doc_id, "raw/x.txt", "0" * 64, 0, len(text), None, None, (), date, "test", split, text)


def spans_b() -> list[Span]:
    t = TEXT_B
    return [
        at(t, "entities", "e1", "Xiaomi", "ORG"),
        at(t, "entities", "e2", "BYD", "ORG"),
        at(t, "figures", "f1", "300,000", "QUANTITY", value="300000 car"),
        at(t, "figures", "f2", "2025", "DATE", value="2025"),
        at(t, "figures", "f3", "15%", "PERCENT", value="15"),
        at(t, "figures", "f4", "the second half of the year", "DATE", value="2025-H2"),
        at(t, "hedges", "h1", "expects", "HEDGE"),
        at(t, "hedges", "h2", "may", "HEDGE"),
        at(t, "claims", "c1", "expects to sell 300,000 cars in 2025", "CLAIM", hedged=True, topic="ev_deliveries"),
        at(
            t,
            "claims",
            "c2",
            "BYD may cut prices by 15% in the second half of the year",
            "CLAIM",
            hedged=True,
            topic="market_impact",
        ),  # fmt: skip
    ]


def spans_c() -> list[Span]:
    t = TEXT_C
    return [
        at(t, "entities", "e1", "Lei Jun", "PERSON"),
        at(t, "entities", "e2", "SU7", "PRODUCT"),
        at(t, "entities", "e3", "Xiaomi", "ORG"),
        at(t, "figures", "f1", "March 2024", "DATE", value="2024-03"),
        at(t, "figures", "f2", "2026", "DATE", value="2026"),
        at(t, "hedges", "h1", "could", "HEDGE"),
        at(t, "claims", "c1", "the SU7 launched in March 2024", "CLAIM", hedged=False, topic="su7_launch_date"),
        at(
            t,
            "claims",
            "c2",
            "Xiaomi could turn a profit in 2026",
            "CLAIM",
            hedged=True,
            topic="ev_profitability_timing",
        ),
    ]


def pair(a: tuple[str, str], b: tuple[str, str], label: str) -> Pair:
    return Pair(pair_id(*a, *b), *a, *b, label, "why")


def make_gold() -> Gold:
    docs = [doc("doc-a", TEXT, "test"), doc("doc-b", TEXT_B, "test"), doc("doc-c", TEXT_C, "train", None)]
    spans = {"doc-a": gold_spans(), "doc-b": spans_b(), "doc-c": spans_c()}
    pairs = [
        pair(("doc-a", "c2"), ("doc-c", "c1"), "CONTRADICTS"),
        pair(("doc-a", "c1"), ("doc-c", "c2"), "CONTRADICTS"),
        pair(("doc-b", "c1"), ("doc-b", "c2"), "UNRELATED"),
        pair(("doc-a", "c1"), ("doc-b", "c2"), "AGREES"),
    ]
    gold = {d: Annotation(d, "gold@example.org", s) for d, s in spans.items()}
    return Gold(docs, {}, gold, pairs)


def golds_of(gold: Gold, ids: list[str] | None = None):
    flags = gold.contradictory()
    return [index_gold(d, gold.spans(d.id), flags.get(d.id, set())) for d in gold.docs if ids is None or d.id in ids]


def gold_predictions(gold: Gold) -> Predictions:
    """The gold written as predictions: scoring it against itself must give 1.0 everywhere."""
    contradictory = gold.contradictory()
    return Predictions(
        {d.id: list(gold.spans(d.id)) for d in gold.docs},
        ALL_TAG_LAYERS,
        {d.id: set(contradictory.get(d.id, set())) for d in gold.docs},
        {p.id: p.label for p in gold.pairs},
    )


def project_files(root: Path) -> dict[Path, bytes]:
    """Every file of a project and its bytes, the work directory of the build lock and journal aside."""
    return {
        p: p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".crossclaim" not in p.relative_to(root).parts
    }


def json_paths(value: object, prefix: tuple = ()) -> list[tuple]:
    """Every path to a node of a parsed JSON value (for fuzzing: mutate the node at a path)."""
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += json_paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            found += json_paths(child, (*prefix, i))
    return found
