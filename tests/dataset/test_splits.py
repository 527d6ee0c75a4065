"""Nested splits: train values depend only on train documents, validation values on train and
validation, test values on all. Checked by rebuilding without the later splits' annotations."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import REPO, built_tables

from crossclaim.dataset.gold import load_gold
from crossclaim.dataset.splits import contradictory_claims, pair_split
from crossclaim.schema.records import Pair, pair_id
from crossclaim.schema.scheme import CONFIGS, SPLITS


def _pair(a: tuple[str, str], b: tuple[str, str], label: str = "CONTRADICTS") -> Pair:
    return Pair(pair_id(*a, *b), *a, *b, label)


SPLIT_OF = {"tr": "train", "tr2": "train", "va": "validation", "te": "test"}


def test_a_pair_goes_to_the_later_split_of_its_two_documents() -> None:
    assert pair_split(_pair(("tr", "c1"), ("tr2", "c1")), SPLIT_OF) == "train"
    assert pair_split(_pair(("va", "c1"), ("tr", "c1")), SPLIT_OF) == "validation"
    assert pair_split(_pair(("tr", "c1"), ("te", "c1")), SPLIT_OF) == "test"
    assert pair_split(_pair(("te", "c1"), ("va", "c1")), SPLIT_OF) == "test"


def test_a_claim_counts_only_pairs_with_the_same_or_an_earlier_split() -> None:
    pairs = [
        _pair(("tr", "c1"), ("tr2", "c1")),  # train-train: both flagged
        _pair(("tr", "c2"), ("va", "c1")),  # train-validation: only the validation claim
        _pair(("va", "c2"), ("te", "c1")),  # validation-test: only the test claim
        _pair(("tr", "c3"), ("te", "c2")),  # train-test: only the test claim
        _pair(("tr", "c4"), ("tr2", "c2"), "AGREES"),  # not a contradiction
    ]
    assert contradictory_claims(pairs, SPLIT_OF) == {
        "tr": {"c1"},
        "tr2": {"c1"},
        "va": {"c1"},
        "te": {"c1", "c2"},
    }
    # one pool (a training set, leave-one-document-out): every pair counts
    assert contradictory_claims(pairs, None) == {
        "tr": {"c1", "c2", "c3"},
        "tr2": {"c1"},
        "va": {"c1", "c2"},
        "te": {"c1", "c2"},
    }


def _without(src: Path, dest: Path, dropped: set[str]) -> set[str]:
    """A copy of annotations/ without the documents of the ``dropped`` splits: their manifest entries,
    their span tasks and every pair task touching them. Returns the dropped document ids."""
    shutil.copytree(src, dest)
    manifest = json.loads((src / "manifest.json").read_text(encoding="utf-8"))
    gone = {d["id"] for d in manifest["documents"] if d["split"] in dropped}
    manifest["documents"] = [d for d in manifest["documents"] if d["id"] not in gone]
    (dest / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    spans = json.loads((src / "exports" / "spans.json").read_text(encoding="utf-8"))
    spans = [t for t in spans if t["data"]["doc_id"] not in gone]
    for t in spans:  # a declaration of a pair with a dropped document's claim goes with the document
        for a in t["annotations"]:
            for r in a["result"]:
                if r.get("from_name") == "compare_with":
                    refs = [x for x in r["value"]["text"][0].split() if x.partition(":")[0] not in gone]
                    r["value"]["text"] = [" ".join(refs)]
            a["result"] = [r for r in a["result"] if r.get("from_name") != "compare_with" or r["value"]["text"][0]]
    (dest / "exports" / "spans.json").write_text(json.dumps(spans), encoding="utf-8")
    pairs = json.loads((src / "exports" / "pairs.json").read_text(encoding="utf-8"))
    pairs = [t for t in pairs if not {t["data"]["a_doc"], t["data"]["b_doc"]} & gone]
    (dest / "exports" / "pairs.json").write_text(json.dumps(pairs), encoding="utf-8")
    return gone


@pytest.fixture(scope="module")
def full_tables(tmp_path_factory):
    root = tmp_path_factory.mktemp("full")
    shutil.copytree(REPO / "annotations", root / "annotations")
    return built_tables(root)


@pytest.mark.parametrize("kept", [("train",), ("train", "validation")])
def test_earlier_splits_are_unchanged_without_the_later_splits(tmp_path: Path, full_tables, kept) -> None:
    dropped = set(SPLITS) - set(kept)
    gone = _without(REPO / "annotations", tmp_path / "annotations", dropped)
    gold = load_gold(tmp_path / "annotations")
    assert gone and not {d.id for d in gold.docs} & gone
    assert {d.split for d in gold.docs} == set(kept)
    rebuilt = built_tables(tmp_path)
    for config in CONFIGS:
        for split in kept:
            assert full_tables[config][split].num_rows > 0, f"{config}/{split} is empty: the check would be vacuous"
            before = full_tables[config][split].to_pylist()
            after = rebuilt[config][split].to_pylist()
            assert after == before, f"{config}/{split} depends on documents of {', '.join(sorted(dropped))}"
        for split in dropped:
            assert rebuilt[config][split].num_rows == 0
