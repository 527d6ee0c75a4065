"""The pair set: pairs by topic and declared pairs, stale pairs named (never dropped silently), new pairs pushed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import combinations
from pathlib import Path

import pytest
from conftest import TEXT_Y, add_document, gold_spans, task, write_repo
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import crossclaim.dataset.pairset as pairset
from crossclaim.cli import app
from crossclaim.dataset.pairset import declarations, missing_pair_tasks, wanted_pairs
from crossclaim.formats.labelstudio.pairs import pair_results
from crossclaim.schema.records import Pair, Span, pair_id
from crossclaim.schema.scheme import TOPICS

runner = CliRunner()


def with_compare(spans: list[Span], cid: str, value: str) -> list[Span]:
    return [s.replace(compare_with=value) if s.id == cid else s for s in spans]


def pair_task(a: tuple[str, str], b: tuple[str, str], label: str = "CONTRADICTS") -> dict:
    (a_doc, a_claim), (b_doc, b_claim) = sorted([a, b], key=lambda k: f"{k[0]}:{k[1]}")
    pid = pair_id(a_doc, a_claim, b_doc, b_claim)
    data = {"pair_id": pid, "a_doc": a_doc, "a_claim": a_claim, "a_text": "a"}
    data |= {"b_doc": b_doc, "b_claim": b_claim, "b_text": "b"}
    result = pair_results(Pair(pid, a_doc, a_claim, b_doc, b_claim, label, "why"))
    return {"data": data, "annotations": [{"completed_by": {"email": "c@example.org"}, "result": result}]}


def two_docs(tmp_path: Path, x_spans: list[Span], y_spans: list[Span], pairs: list[dict]) -> Path:
    """doc-x (test split) and doc-y (its text and a sentence more, train split), each with its gold spans, and
    claim pairs."""
    root = write_repo(tmp_path, [task(x_spans), {**task(y_spans, doc_id="doc-y", text=TEXT_Y), "id": 2}], pairs)
    add_document(root, "doc-y", TEXT_Y, split="train")
    return root


def build(root: Path, *flags: str):
    return runner.invoke(app, ["build", "--root", str(root), *flags])


# ---------------------------------------------------------------------------------------------
# the rule, against a brute-force reading of it


@st.composite
def corpora(draw):
    topics = ["ev_deliveries", "market_impact", "strategy_outlook"]
    claims = {}
    for doc in ("d1", "d2", "d3"):
        for n in range(draw(st.integers(0, 3))):
            claims[(doc, f"c{n}")] = Span(
                "claims", f"c{n}", 0, 1, "x", "CLAIM", {"topic": draw(st.sampled_from(topics))}
            )
    keys = sorted(claims)
    for key in keys:
        refs = draw(st.lists(st.sampled_from(keys), max_size=2)) if keys else []
        wanted = [r for r in refs if r != key]
        if wanted:
            claims[key] = claims[key].replace(compare_with=" ".join(f"{d}:{c}" for d, c in wanted))
    return claims


@settings(max_examples=200, deadline=None)
@given(corpora(), st.booleans())
def test_the_pair_set_is_pairs_by_topic_and_declared_pairs(claims, catch_all) -> None:
    with catch_all_topics(frozenset({"strategy_outlook"}) if catch_all else frozenset()):
        got = wanted_pairs(claims, "spans.json")
    by_topic, declared = set(), set()
    for a, b in combinations(sorted(claims), 2):
        ta, tb = claims[a].topic, claims[b].topic
        if a[0] != b[0] and ta == tb and not (catch_all and ta == "strategy_outlook"):
            by_topic.add(pair_id(*a, *b))
    for key, claim in claims.items():
        for ref in (claim.attrs.get("compare_with") or "").split():
            other = tuple(ref.split(":"))
            if pair_id(*key, *other) not in by_topic:
                declared.add(pair_id(*key, *other))
    assert set(got) == by_topic | declared
    assert list(got) == sorted(got)
    for pid, (a, b) in got.items():
        assert pid == f"{a[0]}:{a[1]}~{b[0]}:{b[1]}"


@contextmanager
def catch_all_topics(topics: frozenset[str]) -> Iterator[None]:
    """Declare topics catch-all inside the block (the committed schema marks none yet)."""
    saved = pairset.CATCH_ALL_TOPICS
    pairset.CATCH_ALL_TOPICS = topics
    try:
        yield
    finally:
        pairset.CATCH_ALL_TOPICS = saved


@pytest.fixture
def monkeypatch_catch_all(monkeypatch: pytest.MonkeyPatch):
    return lambda topics: monkeypatch.setattr(pairset, "CATCH_ALL_TOPICS", topics)


def test_declarations_naming_no_other_claim_or_a_pair_by_topic_are_problems() -> None:
    spans = {("d1", s.id): s for s in gold_spans() if s.layer == "claims"}
    spans |= {("d2", s.id): s for s in gold_spans() if s.layer == "claims"}
    spans[("d1", "c1")] = spans[("d1", "c1")].replace(compare_with="d1:c1 d2:c1 d9:c1 d1:c7 d2:c2")
    found = declarations(spans, "spans.json")
    assert [what for _, what in found.problems] == [
        "'d1:c1' is the claim itself",
        "'d2:c1' is paired already: both claims have topic 'ev_profitability_timing' (remove it)",
        "'d9:c1' is not a claim of the gold (no claim 'c1' in document 'd9')",
        "'d1:c7' is not a claim of the gold (no claim 'c7' in document 'd1')",
    ]
    assert {where for where, _ in found.problems} == {"spans.json: doc d1, region c1, compare_with"}
    assert list(found.pairs) == ["d1:c1~d2:c2"]


def test_every_topic_declares_whether_it_is_catch_all() -> None:
    assert all(isinstance(t.catch_all, bool) and t.what for t in TOPICS.values())


# ---------------------------------------------------------------------------------------------
# the build: cross-topic pairs when declared, stale pairs named or dropped on request


def test_a_declared_cross_topic_pair_is_built_with_each_claims_topic(tmp_path: Path) -> None:
    from datasets import load_dataset

    x = with_compare(gold_spans(), "c1", "doc-y:c2")
    root = two_docs(tmp_path, x, gold_spans(), [pair_task(("doc-x", "c1"), ("doc-y", "c2"))])
    result = build(root)
    assert result.exit_code == 0, result.output
    rows = load_dataset(str(root / "dataset"), "claim_pairs")["test"].to_list()
    assert [(r["id"], r["a_topic"], r["b_topic"]) for r in rows] == [
        ("doc-x:c1~doc-y:c2", "ev_profitability_timing", "su7_launch_date")
    ]
    claims = load_dataset(str(root / "dataset"), "documents")["test"][0]["claims"]
    assert [c["compare_with"] for c in claims] == [None, "doc-y:c2"]


def test_an_undeclared_cross_topic_pair_is_refused(tmp_path: Path) -> None:
    root = two_docs(tmp_path, gold_spans(), gold_spans(), [pair_task(("doc-x", "c1"), ("doc-y", "c2"))])
    result = build(root)
    assert result.exit_code == 2, result.output
    assert "pair doc-x:c1~doc-y:c2 (gold CONTRADICTS by c@example.org): not a pair any more" in result.output
    assert "different topics ('ev_profitability_timing', 'su7_launch_date')" in result.output
    assert not (root / "dataset").exists()


def test_pairs_sharing_only_a_catch_all_topic_are_named_then_dropped_only_when_asked(
    tmp_path: Path, monkeypatch_catch_all
) -> None:
    monkeypatch_catch_all(frozenset({"su7_launch_date"}))
    kept, stale = pair_task(("doc-x", "c1"), ("doc-y", "c1"), "AGREES"), pair_task(("doc-x", "c2"), ("doc-y", "c2"))
    root = two_docs(tmp_path, gold_spans(), gold_spans(), [kept, stale])
    before = (root / "annotations" / "exports" / "pairs.json").read_bytes()
    result = build(root)
    assert result.exit_code == 2, result.output
    assert "pair doc-x:c2~doc-y:c2 (gold CONTRADICTS by c@example.org): not a pair any more" in result.output
    assert "catch-all topic 'su7_launch_date'" in result.output and "--drop-stale-pairs" in result.output
    assert "doc-x:c1~doc-y:c1" not in result.output
    assert (root / "annotations" / "exports" / "pairs.json").read_bytes() == before
    assert not (root / "dataset").exists()

    result = build(root, "--drop-stale-pairs")
    assert result.exit_code == 0, result.output
    assert "dropped stale pair doc-x:c2~doc-y:c2 (gold CONTRADICTS by c@example.org; 1 annotations)" in result.output
    left = json.loads((root / "annotations" / "exports" / "pairs.json").read_text(encoding="utf-8"))
    assert [t["data"]["pair_id"] for t in left] == ["doc-x:c1~doc-y:c1"]
    assert build(root).exit_code == 0  # the committed exports are consistent again


def test_a_declared_pair_of_a_catch_all_topic_stays(tmp_path: Path, monkeypatch_catch_all) -> None:
    monkeypatch_catch_all(frozenset({"su7_launch_date"}))
    x = with_compare(gold_spans(), "c2", "doc-y:c2")
    root = two_docs(tmp_path, x, gold_spans(), [pair_task(("doc-x", "c2"), ("doc-y", "c2"))])
    result = build(root)
    assert result.exit_code == 0, result.output
    assert "1 claim pairs" in result.output


def test_push_gets_a_task_for_every_pair_without_one(monkeypatch_catch_all) -> None:
    monkeypatch_catch_all(frozenset({"su7_launch_date"}))
    claims = {(d, s.id): s for d in ("doc-x", "doc-y") for s in gold_spans() if s.layer == "claims"}
    claims[("doc-y", "c2")] = claims[("doc-y", "c2")].replace(compare_with="doc-x:c1")
    have = [pair_task(("doc-x", "c1"), ("doc-y", "c1"))]
    from crossclaim.formats.labelstudio.pairs import parse_pair_tasks

    tasks = parse_pair_tasks(have, "pairs.json")
    new = missing_pair_tasks(tasks, claims, "spans.json")
    assert [t.data for t in new] == [
        {
            "pair_id": "doc-x:c1~doc-y:c2",
            "a_doc": "doc-x",
            "a_claim": "c1",
            "a_text": claims[("doc-x", "c1")].text,
            "b_doc": "doc-y",
            "b_claim": "c2",
            "b_text": claims[("doc-y", "c2")].text,
        }
    ]
    assert new[0].annotations == []


# ---------------------------------------------------------------------------------------------
# the claim graph: what stands behind a set of pairs


def groups_by_hand(ends: list[tuple[tuple[str, str], tuple[str, str]]]) -> int:
    """Connected groups of claims, by union-find (an implementation independent of scipy's)."""
    parent: dict = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in ends:
        parent[find(a)] = find(b)
    return len({find(c) for end in ends for c in end})


def test_discrepancies_count_pairs_claims_and_connected_groups() -> None:
    a, b, c, d, e = (("d1", "c1"), ("d2", "c1"), ("d3", "c1"), ("d1", "c2"), ("d2", "c2"))
    found = pairset.discrepancies([(a, b), (b, c), (d, e)])  # a-b-c one discrepancy through b; d-e another
    assert (found.pairs, found.claims, found.groups) == (3, 5, 2)
    assert pairset.discrepancies([]) == pairset.Discrepancies(0, 0, 0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7)).filter(lambda t: t[0] != t[1]), max_size=12))
def test_discrepancies_agree_with_union_find(edges) -> None:
    ends = [((f"d{x % 3}", f"c{x}"), (f"d{y % 3}", f"c{y}")) for x, y in edges]
    found = pairset.discrepancies(ends)
    assert found.pairs == len(ends)
    assert found.claims == len({c for end in ends for c in end})
    assert found.groups == groups_by_hand(ends)
