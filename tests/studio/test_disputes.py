"""The disputes list without a server: what it finds, and its HTML page as headless Chromium renders it."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from conftest import TEXT, gold_spans, task

from crossclaim.dataset.gold import gold_policy
from crossclaim.formats.labelstudio.annotations import GoldPolicy
from crossclaim.formats.labelstudio.pairs import pair_results
from crossclaim.formats.labelstudio.spans import region_results
from crossclaim.schema.records import Pair, pair_id
from crossclaim.studio.disputes import disputes_html, find_disputes, summary, task_links, write_page

SIDES = ("doc-x", "c1", "doc-x", "c2")
PID = pair_id(*SIDES)
MARKUP = "<script>document.title='owned'</script><b>not bold</b> & \"quoted\""
A, B, LEAD = "a@example.org", "b@example.org", "lead@example.org"


def span_task() -> dict:
    t = task(gold_spans())
    other = [s.replace(value="2023-12") if s.id == "f1" else s for s in gold_spans() if s.id != "e4"]
    t["annotations"].append(
        {
            **copy.deepcopy(t["annotations"][0]),
            "id": 2,
            "completed_by": {"id": 2, "email": B},
            "result": region_results(other, TEXT),
        }  # fmt: skip
    )
    return t


def pair_task(*labels: tuple[str, str, str]) -> dict:
    data = {"pair_id": PID, "a_doc": "doc-x", "a_claim": "c1", "a_text": "a", "b_doc": "doc-x", "b_claim": "c2"}
    annotations = [
        {"id": n, "completed_by": {"id": n, "email": who}, "result": pair_results(Pair(PID, *SIDES, label, why))}
        for n, (who, label, why) in enumerate(labels, start=5)
    ]
    return {"id": 11, "data": {**data, "b_text": "b"}, "annotations": annotations}


def test_every_disagreement_by_task_and_layer_with_its_link() -> None:
    spans = [span_task()]
    pairs = [pair_task((A, "CONTRADICTS", "2025 versus late 2023"), (B, "AGREES", MARKUP))]
    links = task_links(spans, "doc_id", "http://127.0.0.1:8080/", 3) | task_links(pairs, "pair_id", "http://h", 4)
    found = find_disputes(spans, pairs, GoldPolicy(), links)
    assert [(d.what, d.key, d.status, d.reference) for d in found] == [
        ("document", "doc-x", "in dispute", A),
        ("claim pair", PID, "in dispute", A),
    ]
    doc, pair = found
    assert (
        doc.link == "http://127.0.0.1:8080/projects/3/data?task=1" and pair.link == "http://h/projects/4/data?task=11"
    )
    assert doc.layers == ("entities", "figures")
    (versus,) = doc.versus
    assert [(d.layer, d.kind) for d in versus.differences] == [("entities", "missing"), ("figures", "attribute")]
    assert "value 2023-late → 2023-12" in versus.differences[1].what
    label, rationale = pair.versus[0].differences
    assert (label.kind, label.what) == ("label", "label CONTRADICTS → AGREES")
    assert rationale.kind == "rationale" and rationale.what.startswith("rationale '2025 versus late 2023' → ")
    assert summary(found) == "2 tasks in dispute (1 claim pair, 1 document)"


def test_a_settled_task_is_listed_only_when_every_disagreement_is_asked_for(tmp_path: Path) -> None:
    pairs = [pair_task((A, "CONTRADICTS", "why"), (B, "AGREES", "why"), (LEAD, "AGREES", "why"))]
    (tmp_path / "team.json").write_text(json.dumps({"adjudicators": [LEAD]}), encoding="utf-8")
    policy = gold_policy(tmp_path, None)
    assert find_disputes([], pairs, policy) == []
    (d,) = find_disputes([], pairs, policy, everything=True)
    assert d.settled and d.reference == LEAD and d.status == f"settled: the one adjudicator's annotation (by {LEAD})"
    assert [(v.annotator, [x.kind for x in v.differences]) for v in d.versus] == [(A, ["label"]), (B, [])]
    assert "the same as the reference" in disputes_html([d])
    # the same three with every label equal: no disagreement at all
    assert find_disputes([], [pair_task((A, "AGREES", "why"), (B, "AGREES", "why"))], policy, everything=True) == []


@pytest.mark.browser
def test_the_page_renders_every_dispute_and_runs_nothing_of_the_text(browser_ready: None, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from studio.browser import chromium

    spans = [span_task()]
    pairs = [pair_task((A, "CONTRADICTS", "2025 versus late 2023"), (B, "AGREES", MARKUP))]
    found = find_disputes(spans, pairs, GoldPolicy(), task_links(spans, "doc_id", "http://127.0.0.1:8080", 3))
    page = tmp_path / "disputes.html"
    write_page(page, found)
    with chromium(1300, 1100) as driver:
        driver.get(page.as_uri())
        shot = tmp_path / "disputes.png"
        driver.save_screenshot(str(shot))
        print(f"disputes page screenshot: {shot}")
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == [], errors
        assert driver.title == "CrossClaim disputes"  # the rationale's script did not run
        assert driver.execute_script("return document.scripts.length") == 0
        sections = driver.find_elements(By.CSS_SELECTOR, "section.task.open")
        assert [s.get_attribute("data-key") for s in sections] == ["doc-x", PID]
        doc, pair = sections
        assert (
            doc.find_element(By.TAG_NAME, "a").get_attribute("href") == "http://127.0.0.1:8080/projects/3/data?task=1"
        )
        layers = [t.get_attribute("data-layer") for t in doc.find_elements(By.CSS_SELECTOR, "table.layer")]
        assert layers == ["entities", "figures"]
        kinds = [k.text for k in doc.find_elements(By.CSS_SELECTOR, "span.kind")]
        assert kinds == ["missing", "attribute"]
        assert "ORG 'BYD'" in doc.text and "value 2023-late → 2023-12" in doc.text
        assert not pair.find_elements(By.TAG_NAME, "b")  # shown as text, never as markup
        assert "label CONTRADICTS → AGREES" in pair.text and "<b>not bold</b>" in pair.text
        assert "2 tasks in dispute" in driver.find_element(By.ID, "summary").text
        assert shot.stat().st_size > 10_000
