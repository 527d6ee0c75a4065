"""The annotator's round trip in a real browser: Debian's headless Chromium against the session's server.

A small repository made here (one annotated document, one with astral characters, one claim pair) is
pushed; in the browser an annotator draws regions by mouse, fills a figure value, a claim's ``hedged``
and ``topic``, draws a ``cue`` relation and labels the pair; then ``crossclaim studio pull`` rebuilds
the dataset, which ``datasets`` reads back. The browser is the authority on what Label Studio stores.

Skipped where no browser is installed, failing instead when ``CI=true``. On a failure the screenshot,
page and browser console go to a folder the test prints.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests
from conftest import STUDIO_TOKEN, add_document, delete_projects, gold_spans, task, write_repo
from datasets import load_dataset
from studio.browser import Annotator, chromium
from typer.testing import CliRunner

from crossclaim.cli import app
from crossclaim.formats.labelstudio.config import span_config_xml
from crossclaim.schema.records import pair_id
from crossclaim.schema.scheme import ATTRIBUTE, VALUE_RULES
from crossclaim.studio.server import DEFAULT_USER, ENV_PASSWORD, ENV_TOKEN, ENV_URL
from crossclaim.studio.sync import PAIR_PROJECT, SPAN_PROJECT

pytestmark = [pytest.mark.server, pytest.mark.browser]

PAGE = "Xiaomi 🚗 sold 76,000 cars in 2024 🎉 and is likely to sell more 𝐒𝐔𝟕 units."
CLAIM = "is likely to sell more 𝐒𝐔𝟕 units"
RATIONALE = "one says 2025, the other says late 2023 for the same question"
PAIR = pair_id("doc-x", "c1", "doc-x", "c2")
LABEL_KEYS = {e.get("value"): e.get("hotkey") for e in ET.fromstring(span_config_xml()).iter("Label")}


def small_repo(root: Path) -> Path:
    """doc-x with its gold (its two claims on one topic, so they make a pair), doc-y to annotate."""
    spans = [s.replace(topic="ev_profitability_timing") if s.id == "c2" else s for s in gold_spans()]
    data = {"pair_id": PAIR, "a_doc": "doc-x", "a_claim": "c1"}
    data |= {"a_text": spans[-2].text, "b_doc": "doc-x", "b_claim": "c2", "b_text": spans[-1].text}
    write_repo(root, [task(spans)], [{"data": data, "annotations": []}])
    add_document(root, "doc-y", PAGE, publisher="Browser Daily", headline="Astral characters")
    return root


class Api:
    """What the test reads from the server through its API (never through the browser)."""

    def __init__(self, url: str) -> None:
        self.url, self.http = url, requests.Session()
        self.http.headers["Authorization"] = f"Token {STUDIO_TOKEN}"

    def get(self, path: str):
        r = self.http.get(self.url + path, timeout=30)
        r.raise_for_status()
        return r.json()

    def project(self, title: str) -> int:
        (pid,) = [p["id"] for p in self.get("/api/projects?page_size=100")["results"] if p["title"] == title]
        return pid

    def task(self, project: int, key: str, value: str) -> int:
        (tid,) = [t["id"] for t in self.get(f"/api/tasks?project={project}")["tasks"] if t["data"][key] == value]
        return tid

    def saved(self, task: int) -> bool:
        return self.get(f"/api/tasks/{task}")["total_annotations"] >= 1


def test_annotate_in_the_browser_then_pull(browser_ready: None, server: str, tmp_path: Path) -> None:
    root = small_repo(tmp_path / "repo")
    env = {ENV_TOKEN: STUDIO_TOKEN, ENV_URL: server}
    delete_projects(server)  # the session's server: no project of another module
    outputs: list[str] = []
    try:
        pushed = CliRunner().invoke(app, ["studio", "push", "--root", str(root), "--gold"], env=env)
        outputs.append(pushed.output)
        assert pushed.exit_code == 0, pushed.output
        api = Api(server)
        spans, pairs = api.project(SPAN_PROJECT), api.project(PAIR_PROJECT)
        doc_y, pair = api.task(spans, "doc_id", "doc-y"), api.task(pairs, "pair_id", PAIR)
        ids = annotate(server, spans, doc_y, pairs, pair, api, tmp_path / "screenshots")
        pulled = CliRunner().invoke(app, ["studio", "pull", "--root", str(root)], env=env)
        outputs.append(pulled.output)
        assert pulled.exit_code == 0, pulled.output
    finally:
        delete_projects(server)
    assert "doc-y" in pulled.output and PAIR in pulled.output  # what changed is shown per document and pair
    secrets = (STUDIO_TOKEN, os.environ[ENV_PASSWORD])
    assert not [o for o in outputs for s in secrets if s in o]
    check_dataset(root, ids)


def annotate(url: str, spans: int, doc_y: int, pairs: int, pair: int, api: Api, shots: Path) -> dict[str, str]:
    """The annotator's session; returns the ids of the regions drawn."""
    with chromium() as driver:
        a = Annotator(driver, url)
        try:
            a.login(DEFAULT_USER, os.environ[ENV_PASSWORD])
            a.open_task(spans, doc_y)
            assert a.shown(".cc-side") and "Select a figure or claim" in a.visible(".cc-side").text
            ids = {
                "figure": a.make_region("QUANTITY", "76,000 cars"),
                "hedge": a.make_region("HEDGE", "likely", hotkey=LABEL_KEYS["HEDGE"]),  # after 🚗 and 🎉
                "product": a.make_region("PRODUCT", "𝐒𝐔𝟕"),  # astral characters themselves
                "claim": a.make_region("CLAIM", CLAIM, hotkey=LABEL_KEYS["CLAIM"]),
            }
            # each per-region control shows for the labels of its layer only, with its heading and hint
            a.select_region("QUANTITY")
            side = a.visible(".cc-side").text
            raw, value = VALUE_RULES["QUANTITY"].examples[0]
            assert "value" in side.splitlines() and raw in side and value in side, side
            assert not a.choice("true") and not a.choice("strategy_outlook")
            a.type_value("value", "76000 car")
            a.select_region("HEDGE")
            assert not a.visible("input[name='value']") and not a.choice("true")
            a.select_region("CLAIM")
            side = a.visible(".cc-side").text
            assert {"hedged", "topic", "cues"} <= set(side.splitlines()), side
            assert ATTRIBUTE["claims", "topic"].notes["strategy_outlook"] in side
            assert not a.visible("input[name='value']")
            a.choose("true")
            a.choose("strategy_outlook")
            a.relate("CLAIM", "HEDGE", "cue")
            a.submit(lambda: api.saved(doc_y))

            a.open_task(pairs, pair, object_css=".cc-card")
            cards = [e.text for e in a.shown(".cc-card")]
            marks = [e.text for e in a.shown(".cc-card mark")]
            assert marks == ["the unit could be profitable in 2025", "Xiaomiunveiled the SU7 in late 2023"], marks
            assert "Lei Jun said the unit could be profitable in 2025." in cards[0]
            assert all("Test Daily" in c and "2025-06-04" in c for c in cards), cards
            a.choose("CONTRADICTS")
            a.type_value("rationale", RATIONALE, enter=False)  # Submit commits typed text
            a.submit(lambda: api.saved(pair))
        except BaseException:
            a.evidence(shots, "failure")
            print(f"\n[browser test] screenshot, page and console of the failure in {shots}")
            raise
    return ids


def check_dataset(root: Path, drawn: dict[str, str]) -> None:
    """The rebuilt dataset, read by `datasets`: code-point offsets, text, attributes, relation, pair label;
    the regions' random ids replaced by readable ones, the map kept in the task's meta."""
    from crossclaim.formats.labelstudio.ids import ID_META

    exported = json.loads((root / "annotations" / "exports" / "spans.json").read_text(encoding="utf-8"))
    (meta,) = [t["meta"] for t in exported if t["data"]["doc_id"] == "doc-y"]
    ids = {what: meta[ID_META][rid] for what, rid in drawn.items()}
    assert ids == {"figure": "f1", "hedge": "h1", "product": "e1", "claim": "c1"}, (drawn, meta)
    docs = load_dataset(str(root / "dataset"), "documents", split="test")
    (row,) = [r for r in docs if r["id"] == "doc-y"]
    assert row["text"] == PAGE and row["annotator"] == DEFAULT_USER

    def spans(layer: str, *attrs: str) -> list[tuple]:
        name = docs.features[layer].feature["label"].int2str
        return [
            (s["id"], s["start"], s["end"], s["text"], name(s["label"]), *(s[a] for a in attrs)) for s in row[layer]
        ]

    def at(text: str) -> tuple[int, int]:
        start = PAGE.index(text)
        return start, start + len(text)

    assert spans("figures", "value") == [(ids["figure"], *at("76,000 cars"), "76,000 cars", "QUANTITY", "76000 car")]
    assert spans("hedges") == [(ids["hedge"], *at("likely"), "likely", "HEDGE")]
    assert spans("entities") == [(ids["product"], *at("𝐒𝐔𝟕"), "𝐒𝐔𝟕", "PRODUCT")]
    claim = (ids["claim"], *at(CLAIM), CLAIM, "CLAIM", True, "strategy_outlook", [ids["hedge"]])
    assert spans("claims", "hedged", "topic", "cues") == [claim]
    # Python offsets, as Label Studio stored them: "likely" comes after two astral characters
    start = row["hedges"][0]["start"]
    assert row["text"][start : row["hedges"][0]["end"]] == "likely"
    assert len(row["text"][:start].encode("utf-16-le")) // 2 == start + 2

    pairs = load_dataset(str(root / "dataset"), "claim_pairs", split="test")
    (p,) = [p for p in pairs if p["id"] == PAIR]
    assert pairs.features["label"].int2str(p["label"]) == "CONTRADICTS"
    assert (p["rationale"], p["annotator"]) == (RATIONALE, DEFAULT_USER)
    committed = json.loads((root / "annotations" / "exports" / "pairs.json").read_text(encoding="utf-8"))
    (data,) = [t["data"] for t in committed]
    assert data["a_html"] == "Lei Jun said <mark>the unit could be profitable in 2025</mark>."
