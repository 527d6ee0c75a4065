"""Page furniture in the gold: a gold span in a declared range is refused at build and pull (one line each,
nothing written), a push lets it through so it can be deleted in Label Studio, and no claim in furniture
enters the pair set."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import TEXT, gold_spans, span, task, write_repo
from datasets import load_dataset
from typer.testing import CliRunner

from crossclaim.cli import app
from crossclaim.dataset.gold import GoldStream, load_gold
from crossclaim.dataset.pairset import missing_pair_tasks, wanted_pairs
from crossclaim.schema.records import Furniture

runner = CliRunner()
FANS = TEXT.index("Fans wrote")  # "Fans wrote 小米 🚗 SU7 online.": the fixture's last sentence, as a promo block
PROMO = (FANS, len(TEXT), "promo")


def furnished(root: Path, *ranges: tuple[int, int, str]) -> Path:
    """The repository with page furniture declared in its document."""
    path = root / "annotations" / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["documents"][0]["furniture"] = [{"start": a, "end": b, "kind": k} for a, b, k in ranges]
    path.write_text(json.dumps(manifest), encoding="utf-8")
    return root


def outside(spans):
    return [s for s in spans if s.end <= FANS]


def test_a_gold_span_in_furniture_is_a_build_error_naming_it(tmp_path: Path) -> None:
    root = furnished(write_repo(tmp_path, [task(gold_spans())]), PROMO)
    result = runner.invoke(app, ["build", "--root", str(root)])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 2, result.output  # 小米 and the second SU7, one line each
    assert "doc doc-x, annotation by a@example.org, region e5: entity '小米' at" in lines[0]
    assert f"is in page furniture (promo {FANS}:{len(TEXT)}, annotations/manifest.json)" in lines[0]
    assert "region e6: entity 'SU7'" in lines[1] and "delete the region in Label Studio" in lines[1]
    assert not (root / "dataset").exists()


def test_gold_outside_furniture_builds_and_every_reader_sees_the_ranges(tmp_path: Path) -> None:
    root = furnished(write_repo(tmp_path, [task(outside(gold_spans()))]), PROMO)
    result = runner.invoke(app, ["build", "--root", str(root)])
    assert result.exit_code == 0, result.output
    gold = load_gold(root / "annotations")
    assert gold.docs[0].furniture == (Furniture(*PROMO),)
    assert all(gold.docs[0].furniture_at(s.start, s.end) is None for s in gold.spans("doc-x"))
    docs = load_dataset(str(root / "dataset"), "documents")["test"]
    kinds = docs.features["furniture"].feature["kind"].names
    ((published,),) = docs["furniture"]
    assert (published["start"], published["end"], kinds[published["kind"]]) == PROMO
    assert published["text"] == "Fans wrote 小米 🚗 SU7 online."


def test_without_furniture_the_column_is_empty(tmp_path: Path) -> None:
    root = write_repo(tmp_path, [task(gold_spans())])
    assert runner.invoke(app, ["build", "--root", str(root)]).exit_code == 0
    assert load_dataset(str(root / "dataset"), "documents")["test"]["furniture"] == [[]]


def test_a_push_reads_gold_in_furniture_so_it_can_be_deleted_there(tmp_path: Path) -> None:
    """What a push reads (``furniture=False``) passes; what a build or pull reads refuses it."""
    root = furnished(write_repo(tmp_path, [task(gold_spans())]), PROMO)
    pushed = GoldStream(root / "annotations", pair_set=False, all_claims=True, furniture=False)
    assert [len(g.spans) for g in pushed] == [len(gold_spans())]
    assert load_gold(root / "annotations", furniture=False).spans("doc-x") == load_gold(
        write_repo(tmp_path / "plain", [task(gold_spans())]) / "annotations"
    ).spans("doc-x")


def test_no_claim_in_furniture_enters_the_pair_set(tmp_path: Path) -> None:
    """A claim in furniture (let through by a push) is paired with none: no pair by topic, no declared pair."""
    fans = span("claims", "c9", "Fans wrote 小米 🚗 SU7 online", "CLAIM", hedged=False, topic="su7_launch_date")
    other = [s.replace(compare_with="doc-x:c9") if s.id == "c1" else s for s in outside(gold_spans())]
    root = furnished(write_repo(tmp_path, [task([*other, fans])]), PROMO)
    stream = GoldStream(root / "annotations", pair_set=False, all_claims=True, furniture=False)
    list(stream)
    docs = {d.id: d for d in stream.docs}
    assert set(wanted_pairs(stream.claims, "spans.json")) == {"doc-x:c1~doc-x:c9"}  # without the documents
    assert wanted_pairs(stream.claims, "spans.json", docs) == {}
    assert missing_pair_tasks([], stream.claims, "spans.json", docs) == []
