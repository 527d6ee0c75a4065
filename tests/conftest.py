"""Shared fixtures: a tiny repository made by the tests (one raw page, one document)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from crossclaim.lsjson import region_results
from crossclaim.records import Span

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

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


def span(layer: str, sid: str, text: str, label: str, occurrence: int = 0, **attrs) -> Span:
    """A span found by its text in the fixture document (the n-th occurrence)."""
    pos = -1
    for _ in range(occurrence + 1):
        pos = TEXT.index(text, pos + 1)
    return Span(layer=layer, id=sid, start=pos, end=pos + len(text), text=text, label=label, **attrs)


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


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return write_repo(tmp_path, [task(gold_spans())])
