"""Pull without a server: what it shows, what it refuses, and that it replaces everything as one set or nothing."""

from __future__ import annotations

import contextlib
import copy
import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import TEXT, gold_spans, span, task, write_repo

import crossclaim.files
from crossclaim.dataset.build import build
from crossclaim.errors import InputError
from crossclaim.formats.labelstudio.pairs import pair_results
from crossclaim.formats.labelstudio.spans import region_results
from crossclaim.schema.records import Pair, pair_id
from crossclaim.studio.sync import PullOptions, apply_exports

PID = pair_id("doc-x", "c1", "doc-x", "c2")
B = {"id": 2, "email": "b@example.org"}


def pair_task(rationale: str = "one says 2025, the other late 2023") -> dict:
    pair = Pair(PID, "doc-x", "c1", "doc-x", "c2", "CONTRADICTS", rationale)
    data = {"pair_id": PID, "a_doc": "doc-x", "a_claim": "c1", "a_text": "a"}
    data |= {"b_doc": "doc-x", "b_claim": "c2", "b_text": "b"}
    return {"id": 11, "data": data, "annotations": [{"id": 5, "completed_by": B, "result": pair_results(pair)}]}


def same_topic_spans() -> list:
    return [s if s.id != "c2" else span("claims", "c2", s.text, "CLAIM", hedged=False, topic="ev_profitability_timing")
            for s in gold_spans()]  # fmt: skip


def span_task() -> dict:
    t = task(same_topic_spans())
    t["annotations"].append({**copy.deepcopy(t["annotations"][0]), "id": 2, "completed_by": B, "ground_truth": True})
    return t


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A repository whose committed exports came from a pull, with dataset/ built from them."""
    root = write_repo(tmp_path, [span_task()], [pair_task()])
    apply_exports(root, [span_task()], [pair_task()])
    return root


def tree(root: Path) -> dict[str, bytes]:
    """Every file of the project (the work directory of the lock and journal aside)."""
    files = sorted(p for p in root.rglob("*") if p.is_file() and ".crossclaim" not in p.relative_to(root).parts)
    return {str(p.relative_to(root)): p.read_bytes() for p in files}


def pull(root: Path, spans: list, pairs: list, **kw) -> list[str]:
    shown: list[str] = []
    apply_exports(root, spans, pairs, PullOptions(**kw), shown.extend)
    return shown


def test_a_pull_of_the_same_work_changes_no_byte(root: Path) -> None:
    before = tree(root)
    served = [span_task()]
    served[0].update(id=77, created_at="2031-01-01T00:00:00Z")
    served[0]["annotations"].reverse()
    assert pull(root, served, [pair_task()]) == ["no change"]
    assert tree(root) == before


def test_changes_are_shown_per_document_before_anything_is_written(root: Path) -> None:
    before = tree(root)
    changed = span_task()
    spans = [s for s in same_topic_spans() if s.id != "e4"]  # removed
    spans = [span("figures", "f1", "late 2023", "DATE", value="2023-12") if s.id == "f1" else s for s in spans]
    spans.append(span("entities", "e9", "Fans", "PERSON"))
    changed["annotations"][1]["result"] = region_results(spans, TEXT)
    seen_at_show = []
    apply_exports(root, [changed], [pair_task()], show=lambda lines: seen_at_show.append((lines, tree(root))))
    ((lines, tree_then),) = seen_at_show
    assert tree_then == before
    assert lines == [
        "doc-x: gold spans 1 added (e9), 1 changed (f1), 1 removed (e4); annotations 1 changed (b@example.org)"
    ]
    assert tree(root) != before


@pytest.mark.parametrize(
    ("spans", "pairs", "fragments"),
    [
        ([], [pair_task()], ["Label Studio: document doc-x: its task (2 annotations) is not in the new export"]),
        ([], [], ["document doc-x", "claim pair doc-x:c1~doc-x:c2: its task (1 annotation) is not in the new export"]),
        (
            [{**span_task(), "annotations": span_task()["annotations"][1:]}],
            [pair_task()],
            ["document doc-x: the annotation by a@example.org is not in the new export"],
        ),
        ([span_task()], [{**pair_task(), "annotations": []}], ["claim pair doc-x:c1~doc-x:c2: the annotation by b@"]),
    ],
    ids=["empty-span-export", "empty-exports", "annotation-gone", "pair-annotation-gone"],
)
def test_work_missing_from_the_server_is_an_error_and_nothing_is_written(root, spans, pairs, fragments) -> None:
    before = tree(root)
    with pytest.raises(InputError) as refused:
        pull(root, spans, pairs)
    text = "\n".join(refused.value.lines())
    for fragment in fragments:
        assert fragment in text
    assert "nothing was written" in text and "--accept-deletions" in text
    assert tree(root) == before


def test_deletions_are_written_only_when_accepted(root: Path) -> None:
    lines = pull(
        root, [{**span_task(), "annotations": span_task()["annotations"][1:]}], [pair_task()], accept_deletions=True
    )
    assert lines == ["doc-x: annotations 1 removed (a@example.org)"]
    committed = json.loads((root / "annotations" / "exports" / "spans.json").read_text())
    assert [a["completed_by"]["email"] for a in committed[0]["annotations"]] == ["b@example.org"]


@pytest.mark.parametrize(
    ("edit", "fragments"),
    [
        (
            lambda s, p: p[0]["annotations"][0]["result"][1]["value"]["text"].__setitem__(0, "half an emoji \ud83d"),
            ["claim-pair export: task 11", "annotations[0].result[1].value.text[0] holds a lone surrogate"],
        ),
        (
            lambda s, p: s[0]["annotations"][0].update(was_cancelled="false"),
            ["span export: task 1 (doc doc-x), annotation 1 by a@example.org", "was_cancelled must be a JSON boolean"],
        ),
    ],
    ids=["lone-surrogate-in-rationale", "flag-as-string"],
)
def test_a_bad_value_anywhere_changes_nothing(root: Path, edit, fragments) -> None:
    before = tree(root)
    spans, pairs = [span_task()], [pair_task()]
    edit(spans, pairs)
    with pytest.raises(InputError) as refused:
        pull(root, spans, pairs)
    for fragment in fragments:
        assert fragment in "\n".join(refused.value.lines())
    assert tree(root) == before


def test_a_pull_failing_at_any_step_of_the_swap_is_old_or_new_after_recovery(root: Path, monkeypatch) -> None:
    """Nothing is replaced before every output is staged and the journal written; a failure during the
    swap leaves the journal, and the next command (``recover``) finishes it: the tree is then entirely
    the old one or entirely the new one, never a mix."""
    changed = span_task()
    changed["annotations"][1]["result"] = region_results([s for s in same_topic_spans() if s.id != "e4"], TEXT)
    changed_pair = pair_task(rationale="a new rationale")
    pristine = root.parent / "pristine"
    shutil.copytree(root, pristine)
    before = tree(root)
    apply_exports(root, [changed], [changed_pair])
    new = tree(root)
    assert new != before
    real = {"replace": os.replace, "rename": os.rename}
    outcomes = set()
    for k in range(1, 12):
        shutil.rmtree(root)
        shutil.copytree(pristine, root)
        calls = [0]

        def failing(name: str, src, dst, k=k, calls=calls):
            calls[0] += 1
            if calls[0] == k:
                raise OSError(28, "No space left on device")
            return real[name](src, dst)

        for name in real:
            monkeypatch.setattr(crossclaim.files.os, name, lambda s, d, name=name: failing(name, s, d))
        with contextlib.suppress(OSError):
            apply_exports(root, [changed], [changed_pair])
        for name, fn in real.items():
            monkeypatch.setattr(crossclaim.files.os, name, fn)
        crossclaim.files.recover(root)
        after = tree(root)
        assert after in (before, new), f"a failure at rename {k} left a mix"
        outcomes.add("old" if after == before else "new")
        if calls[0] < k:  # this pull made fewer renames: every step has been failed once
            break
    assert outcomes == {"old", "new"}


def test_predictions_are_written_to_their_own_file_only_when_asked(root: Path) -> None:
    served = span_task()
    served["predictions"] = [
        {"model_version": "regex@1", "result": region_results(gold_spans()[:2], TEXT, "prediction")}
    ]
    exports = root / "annotations" / "exports"
    assert pull(root, [served], [pair_task()]) == ["no change"]
    assert not (exports / "predictions.json").exists()
    pull(root, [served], [pair_task()], with_predictions=True)
    (pred,) = json.loads((exports / "predictions.json").read_text())
    assert pred["data"]["doc_id"] == "doc-x" and pred["predictions"][0]["model_version"] == "regex@1"
    assert "predictions" not in json.loads((exports / "spans.json").read_text())[0]


def test_build_utf16_rewrites_the_span_export_in_code_points(tmp_path: Path) -> None:
    t = task(gold_spans())
    for r in t["annotations"][0]["result"]:
        if "start" in r.get("value", {}):
            r["value"].update({k: len(TEXT[: r["value"][k]].encode("utf-16-le")) // 2 for k in ("start", "end")})
    root = write_repo(tmp_path, [t])
    with pytest.raises(InputError, match="--utf16"):
        build(root)
    build(root, utf16=True)
    build(root)  # the rewritten export counts code points
    (converted,) = json.loads((root / "annotations" / "exports" / "spans.json").read_text())
    e6 = next(r for r in converted["annotations"][0]["result"] if r["id"] == "e6")
    assert TEXT[e6["value"]["start"] : e6["value"]["end"]] == "SU7" == e6["value"]["text"]


def test_a_pair_made_stale_by_a_catch_all_topic_is_named_and_pulled_once_declared(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import crossclaim.dataset.pairset

    monkeypatch.setattr(crossclaim.dataset.pairset, "CATCH_ALL_TOPICS", frozenset({"ev_profitability_timing"}))
    before = tree(root)
    with pytest.raises(InputError) as refused:
        pull(root, [span_task()], [pair_task()])
    assert f"pair {PID} (gold CONTRADICTS by b@example.org): not a pair any more" in "\n".join(refused.value.lines())
    assert "catch-all topic 'ev_profitability_timing'" in "\n".join(refused.value.lines())
    assert tree(root) == before
    declared = span_task()
    declared["annotations"][1]["result"] = region_results(
        [s.replace(compare_with="doc-x:c2") if s.id == "c1" else s for s in same_topic_spans()], TEXT
    )
    pull(root, [declared], [pair_task()])
    assert build(root).pairs == 1


def test_gold_in_page_furniture_is_refused_by_a_pull_until_deleted(tmp_path: Path) -> None:
    """Furniture declared in the manifest while the committed gold still holds spans in it: a pull of the same
    work names each such span and writes nothing; once they are deleted in Label Studio the pull goes through."""
    root = write_repo(tmp_path, [task(gold_spans())])
    apply_exports(root, [task(gold_spans())], [])
    path = root / "annotations" / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    fans = TEXT.index("Fans wrote")
    manifest["documents"][0]["furniture"] = [{"start": fans, "end": len(TEXT), "kind": "promo"}]
    path.write_text(json.dumps(manifest), encoding="utf-8")
    before = tree(root)
    with pytest.raises(InputError) as refused:
        pull(root, [task(gold_spans())], [])
    assert [where.rsplit(", ", 1)[-1] for where, _ in refused.value.problems] == ["region e5", "region e6"]
    assert tree(root) == before
    kept = [s for s in gold_spans() if s.end <= fans]
    assert pull(root, [task(kept)], []) == [
        "doc-x: gold spans 2 removed (e5, e6); annotations 1 changed (a@example.org)"
    ]
