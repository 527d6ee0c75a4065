"""``crossclaim explain``: marks agree with the scorer, everything is escaped, and a real browser renders the page.

The page is opened in Debian's headless Chromium (the browser test's helpers): no console error, no
script of a document runs, and each expected mark sits on its token with its label.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from conftest import REPO, gold_spans, make_gold, task, write_repo
from typer.testing import CliRunner

from crossclaim.cli import app
from crossclaim.dataset.gold import Gold, load_gold
from crossclaim.evaluation.counts import count, index_gold
from crossclaim.formats.predictions import Predictions
from crossclaim.leaderboard.explain import KINDS, document_marks, explain_page
from crossclaim.leaderboard.run import run_on_split
from crossclaim.schema.records import Annotation, Span
from crossclaim.systems.registry import make_system

runner = CliRunner()
HOSTILE = 'Xiaomi <b>said</b> <script>document.title="pwned"</script> BYD & "friends" could win.'


def hostile_gold() -> Gold:
    """make_gold plus a test document whose text and headline are full of markup."""
    gold = make_gold()
    base = gold.docs[0]
    hostile = dataclasses.replace(
        base, id="doc-h", headline='<i>Headline</i> & "quotes"', publisher="<Pub>", text=HOSTILE, slice_end=len(HOSTILE)
    )
    byd = HOSTILE.index("BYD")
    spans = [Span("entities", "e1", 0, 6, "Xiaomi", "ORG"), Span("entities", "e2", byd, byd + 3, "BYD", "ORG")]
    annotations = dict(gold.gold) | {"doc-h": Annotation("doc-h", "gold@example.org", spans)}
    return Gold([*gold.docs, hostile], {}, annotations, gold.pairs)


def at(gold: Gold, doc_id: str, layer: str, frag: str, label: str, **attrs) -> Span:
    text = next(d.text for d in gold.docs if d.id == doc_id)
    start = text.index(frag)
    return Span(layer, f"p{start}", start, start + len(frag), frag, label, attrs)


def crafted(gold: Gold) -> Predictions:
    """One of each kind in doc-a, a different figure value, markup predicted in doc-h, one wrong pair."""
    a = [
        at(gold, "doc-a", "entities", "Xiaomi", "ORG"),  # TP
        at(gold, "doc-a", "entities", "SU7", "ORG"),  # gold PRODUCT: wrong label
        at(gold, "doc-a", "entities", "unit", "PERSON"),  # FP; "Lei Jun" and "小米" are FN
        at(gold, "doc-a", "entities", "BYD", "ORG"),
        at(gold, "doc-a", "figures", "late 2023", "DATE", value="2023-late"),
        at(gold, "doc-a", "figures", "2025", "DATE", value="2026"),  # matched, another value
    ]
    h = [at(gold, "doc-h", "entities", "Xiaomi", "ORG"), at(gold, "doc-h", "entities", "script", "ORG")]
    pairs = {p.id: p.label for p in gold.pairs}
    pairs[gold.pairs[3].id] = "UNRELATED"  # gold AGREES
    spans = {"doc-a": a, "doc-b": [], "doc-h": h}
    return Predictions(spans, frozenset({"entity_tags", "figure_tags"}), {}, pairs)


def page_of(gold: Gold, preds: Predictions) -> str:
    docs = [d for d in gold.docs if d.split == "test"]
    pairs = [p for p in gold.pairs if {p.a_doc, p.b_doc} <= {d.id for d in docs} | {"doc-c"}]
    return explain_page(gold, preds, docs, pairs, "crafted", "test")


def test_marks_are_the_kinds_the_scorer_counts() -> None:
    gold = hostile_gold()
    preds = crafted(gold)
    g = index_gold(gold.docs[0], gold.spans("doc-a"), set())
    marks = document_marks(g, preds)["entity_tags"]
    text = gold.docs[0].text
    assert [(m.kind, m.label, text[(m.gold or m.pred).start : (m.gold or m.pred).end]) for m in marks] == [
        ("TP", "ORG", "Xiaomi"),
        ("WRONG", "PRODUCT→ORG", "SU7"),
        ("FN", "PERSON", "Lei Jun"),
        ("FP", "PERSON", "unit"),
        ("TP", "ORG", "BYD"),
        ("FN", "ORG", "小米"),
        ("FN", "PRODUCT", "SU7"),
    ]


def test_marks_add_up_to_the_scored_counts_of_a_real_system() -> None:
    """regex on the committed test split: TP, FP + wrong label and FN + wrong label are the scorer's counts."""
    gold = load_gold(REPO / "annotations")
    preds, docs, pairs = run_on_split(make_system("regex"), gold, "test", "regex")
    flags = gold.contradictory()
    golds = [index_gold(d, gold.spans(d.id), flags.get(d.id, set())) for d in docs]
    c = count(golds, preds, pairs)
    for layer, per_unit in c.strict.items():
        marks = [m for g in golds for m in document_marks(g, preds)[layer]]
        n = {k: sum(m.kind == k for m in marks) for k in KINDS}
        tp, predicted, true = (int(x) for x in per_unit.sum(0).sum(0))
        assert (n["TP"], n["FP"] + n["WRONG"], n["FN"] + n["WRONG"]) == (tp, predicted - tp, true - tp), layer


def test_the_page_escapes_every_text() -> None:
    page = page_of(hostile_gold(), crafted(hostile_gold()))
    assert "<script" not in page and "<i>" not in page and "&lt; b &gt; said &lt; / b &gt;" in page  # token by token
    assert "&lt;i&gt;Headline&lt;/i&gt; &amp; &quot;quotes&quot;" in page and "&lt;Pub&gt;" in page


@pytest.mark.browser
def test_the_page_renders_in_chromium_with_its_marks(browser_ready: None, tmp_path: Path) -> None:
    from studio.browser import chromium

    gold = hostile_gold()
    path = tmp_path / "explain.html"
    path.write_text(page_of(gold, crafted(gold)), encoding="utf-8")
    with chromium() as driver:
        driver.get(path.as_uri())
        errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
        assert not errors, errors
        assert driver.title == "crafted on test: errors"  # the document's script did not run
        body = driver.find_element("tag name", "body").text
        assert "< b > said < / b >" in body and "pwned" in body and "<i>Headline</i>" in body  # shown as text
        assert driver.execute_script("return document.querySelectorAll('script, i').length") == 0
        # every displacy label with the text of the token it starts on
        marks = driver.execute_script(
            """return [...document.querySelectorAll('.spans span[style*="z-index: 10"]')].map(l => [
                 l.textContent.trim(), l.closest('span[style*="inline-block"]').firstChild.textContent.trim()]);"""
        )
        legend = driver.execute_script("return [...document.querySelectorAll('#legend li')].map(li => li.className)")
        figure_rows = driver.execute_script(
            "return [...document.querySelectorAll('table.figures tr')].map(r => r.innerText.split('\\t'))"
        )
        pairs = driver.execute_script("return [...document.querySelectorAll('#pairs tr.wrong')].map(r => r.innerText)")
    assert legend == [f"kind-{k}" for k in KINDS]
    for expected in [
        ["TP ORG", "Xiaomi"],
        ["WRONG PRODUCT→ORG", "SU7"],
        ["FN PERSON", "Lei"],
        ["FP PERSON", "unit"],
        ["FN ORG", "小米"],
        ["TP DATE", "late"],
        ["FP ORG", "script"],  # a predicted span inside the hostile text, drawn as text
    ]:
        assert expected in marks, (expected, marks)
    assert ["2025", "DATE", "2025", "DATE", "2026", "different value"] in figure_rows
    assert ["a third", "PERCENT", "33.33", "—", "—", "false negative"] in figure_rows
    assert len(pairs) == 1 and "AGREES\tUNRELATED\twrong" in pairs[0]


# ---------------------------------------------------------------------------------------------
# the command


def test_explain_command_writes_the_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_repo(tmp_path / "repo", [task(gold_spans())])
    out = tmp_path / "page.html"
    result = runner.invoke(app, ["explain", "regex", "--split", "test", "-o", str(out), "--root", str(root)])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "doc-x" in page and 'id="legend"' in page
    assert "not predicted by this system" in page  # regex predicts no entities
    monkeypatch.chdir(tmp_path)
    default = runner.invoke(app, ["explain", "regex", "--root", str(root)])
    assert default.exit_code == 0 and (tmp_path / "explain-regex-test.html").exists()
    bad = runner.invoke(app, ["explain", "regex", "--split", "dev", "-o", str(out), "--root", str(root)])
    assert bad.exit_code == 2 and "unknown split 'dev'" in bad.output
    unknown = runner.invoke(app, ["explain", "nope", "-o", str(tmp_path / "x.html"), "--root", str(root)])
    assert unknown.exit_code == 2 and not (tmp_path / "x.html").exists()
