"""The hub card dataset/README.md, read by huggingface_hub's DatasetCard and checked offline against the
values the hub documents (``DatasetCard.validate()`` would contact the hub); its default config and
licence file, its BibTeX citation (read by pybtex) and the release version the changelog sets."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import REPO, gold_spans, task, write_repo
from datasets import load_dataset
from huggingface_hub import DatasetCard, DatasetCardData
from pybtex.database import parse_string
from typer.testing import CliRunner

from crossclaim.cli import app
from crossclaim.dataset.card import CHANGELOG_FILE, release_of

DATASET = REPO / "dataset"

# Allowed values, as the hub documents them.
# huggingface_hub DatasetCardData docstring (repocard_data.py) and datasets/utils/resources/creators.json:
ANNOTATIONS_CREATORS = {"found", "crowdsourced", "expert-generated", "machine-generated", "no-annotation", "other"}
LANGUAGE_CREATORS = {"found", "crowdsourced", "expert-generated", "machine-generated", "other"}
# same sources, multilingualities.json:
MULTILINGUALITY = {"monolingual", "multilingual", "translation", "other"}
# same sources, size_categories.json, in increasing order:
SIZE_CATEGORIES = [
    "n<1K",
    "1K<n<10K",
    "10K<n<100K",
    "100K<n<1M",
    "1M<n<10M",
    "10M<n<100M",
    "100M<n<1B",
    "1B<n<10B",
    "10B<n<100B",
    "100B<n<1T",
    "n>1T",
]
# huggingface.js packages/tasks/src/pipelines.ts (PIPELINE_DATA), the list the hub's dataset card
# specification (hub-docs datasetcard.md) points to: the task categories of modality "nlp", and the
# subtasks (task_ids) of the two this card uses.
NLP_TASK_CATEGORIES = {
    "text-classification",
    "token-classification",
    "table-question-answering",
    "question-answering",
    "zero-shot-classification",
    "translation",
    "summarization",
    "feature-extraction",
    "text-generation",
    "text2text-generation",
    "fill-mask",
    "sentence-similarity",
    "multiple-choice",
    "text-ranking",
    "text-retrieval",
    "table-to-text",
}
SUBTASKS = {
    "text-classification": {
        "acceptability-classification",
        "entity-linking-classification",
        "fact-checking",
        "intent-classification",
        "language-identification",
        "multi-class-classification",
        "multi-label-classification",
        "multi-input-text-classification",
        "natural-language-inference",
        "semantic-similarity-classification",
        "sentiment-classification",
        "topic-classification",
        "semantic-similarity-scoring",
        "sentiment-scoring",
        "sentiment-analysis",
        "hate-speech-detection",
        "text-scoring",
    },
    "token-classification": {
        "named-entity-recognition",
        "part-of-speech",
        "parsing",
        "lemmatization",
        "word-sense-disambiguation",
        "coreference-resolution",
    },
}
# hub-docs datasetcard.md: license_name is an id "like `my-license-1.0`" when license is `other`;
# license_link is "LICENSE" or "LICENSE.md" (a file of the repository) or a URL.
LICENSE_ID = re.compile(r"^[a-z0-9][a-z0-9.-]*$")
LICENSE_LINKS = {"LICENSE", "LICENSE.md"}
# hub-docs datasetcard.md: source_datasets examples "original", "extended|glue" (or a dataset id).
SOURCE_DATASET = re.compile(r"^(original|extended(\|[\w./-]+)?|[\w.-]+/[\w.-]+)$")


@pytest.fixture(scope="module")
def card() -> DatasetCard:
    return DatasetCard.load(DATASET / "README.md")


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A ``datasets`` cache of this module's own (a local folder's cache is keyed by its card, not its data)."""
    return str(tmp_path_factory.mktemp("hf-cache"))


def test_card_metadata_uses_the_hub_vocabularies(card: DatasetCard) -> None:
    data = card.data
    assert isinstance(data, DatasetCardData)
    assert data.annotations_creators and set(data.annotations_creators) <= ANNOTATIONS_CREATORS
    assert data.language_creators and set(data.language_creators) <= LANGUAGE_CREATORS
    assert data.multilinguality and set(data.multilinguality) <= MULTILINGUALITY
    assert data.size_categories and set(data.size_categories) <= set(SIZE_CATEGORIES)
    assert data.source_datasets and all(SOURCE_DATASET.match(s) for s in data.source_datasets)
    assert data.task_categories and set(data.task_categories) <= NLP_TASK_CATEGORIES
    allowed_ids = set().union(*(SUBTASKS[c] for c in data.task_categories))
    assert data.task_ids and set(data.task_ids) <= allowed_ids
    assert data.language == ["en"] and data.pretty_name


def test_embedded_vocabularies_match_the_copies_datasets_ships() -> None:
    """The lists above are the ones the ``datasets`` library still ships (its card-validation resources)."""
    import datasets

    resources = Path(datasets.__file__).parent / "utils" / "resources"
    if not resources.is_dir():
        pytest.skip("this datasets version ships no card-validation resources")
    creators = json.loads((resources / "creators.json").read_text())
    assert set(creators["annotations"]) == ANNOTATIONS_CREATORS
    assert set(creators["language"]) == LANGUAGE_CREATORS
    assert set(json.loads((resources / "multilingualities.json").read_text())) == MULTILINGUALITY
    assert json.loads((resources / "size_categories.json").read_text()) == ["unknown", *SIZE_CATEGORIES]
    assert "en" in json.loads((resources / "languages.json").read_text())


def test_size_category_fits_the_largest_config(card: DatasetCard, cache: str) -> None:
    largest = max(
        sum(ds.num_rows for ds in load_dataset(str(DATASET), c["config_name"], cache_dir=cache).values())
        for c in card.data.configs
    )
    bounds = [10**k for k in range(3, 13)]
    expected = SIZE_CATEGORIES[sum(largest >= b for b in bounds)]
    assert card.data.size_categories == [expected]


def test_default_config_is_what_load_dataset_gives_without_a_name(card: DatasetCard, cache: str) -> None:
    defaults = [c["config_name"] for c in card.data.configs if c.get("default")]
    assert len(defaults) == 1
    unnamed = load_dataset(str(DATASET), cache_dir=cache)
    named = load_dataset(str(DATASET), defaults[0], cache_dir=cache)
    assert unnamed.keys() == named.keys()
    for split in named:
        assert unnamed[split].features == named[split].features
        assert unnamed[split].to_list() == named[split].to_list()


def test_licence_is_other_with_a_name_and_a_linked_statement(card: DatasetCard, cache: str) -> None:
    data = card.data
    assert data.license == "other"
    assert LICENSE_ID.match(data.license_name), data.license_name
    assert data.license_link in LICENSE_LINKS and (DATASET / data.license_link).is_file()
    statement = (DATASET / data.license_link).read_text(encoding="utf-8")
    assert "CC BY 4.0" in statement and "https://creativecommons.org/licenses/by/4.0/" in statement
    assert "no licence to them is" in statement and "removed" in statement
    docs = load_dataset(str(DATASET), "documents", cache_dir=cache)
    publishers = {p for split in docs.values() for p in split["publisher"]}
    for name in publishers - {None}:
        assert name in statement, f"the statement does not name the publisher {name}"
    unnamed = sum(p is None for split in docs.values() for p in split["publisher"])
    if unnamed:
        assert ("a site" if unnamed == 1 else f"{unnamed} sites") in statement
    # the card body carries the same statement
    assert statement.split("\n", 2)[2].strip() in card.text


def test_citation_is_bibtex_with_the_release_version(card: DatasetCard) -> None:
    blocks = re.findall(r"```bibtex\n(.*?)```", card.text, re.S)
    assert len(blocks) == 1
    entries = parse_string(blocks[0], "bibtex").entries
    assert len(entries) == 1
    entry = next(iter(entries.values()))
    version = release_of((DATASET / CHANGELOG_FILE).read_text(encoding="utf-8")).version
    assert entry.fields["title"] and entry.persons["author"]
    assert f"version {version}" in entry.fields["note"]
    croissant = json.loads((DATASET / "croissant.json").read_text(encoding="utf-8"))
    assert croissant["citeAs"] == blocks[0] and croissant["version"] == version


def test_changelog_sets_the_release_and_is_carried_over(tmp_path: Path) -> None:
    root = write_repo(tmp_path, [task(gold_spans())])
    runner = CliRunner()
    assert runner.invoke(app, ["build", "--root", str(root)]).exit_code == 0
    assert not (root / "dataset" / CHANGELOG_FILE).exists()
    unreleased = DatasetCard.load(root / "dataset" / "README.md")
    assert "Version 0.0.0" in unreleased.text
    shutil.copy(DATASET / CHANGELOG_FILE, root / "annotations" / CHANGELOG_FILE)
    result = runner.invoke(app, ["build", "--root", str(root)])
    assert result.exit_code == 0, result.output
    changelog = (root / "dataset" / CHANGELOG_FILE).read_text(encoding="utf-8")
    assert changelog == (DATASET / CHANGELOG_FILE).read_text(encoding="utf-8")
    release = release_of(changelog)
    assert release.version != "0.0.0" and release.date
    assert f"Version {release.version}" in DatasetCard.load(root / "dataset" / "README.md").text
    assert json.loads((root / "dataset" / "croissant.json").read_text())["datePublished"] == release.date


def test_release_is_the_newest_changelog_entry() -> None:
    assert release_of("# Changelog\n\n## 2.1.0 (2027-03-04)\n\ntext\n\n## 2.0.0 (2027-01-01)\n").version == "2.1.0"
    assert release_of("## 1.2.3\n").date is None
    assert release_of(None).version == "0.0.0"


def test_the_card_says_what_stands_behind_the_contradicts_pairs_of_each_split() -> None:
    """Pairs, distinct claims and discrepancies per split, as the card states them, recounted from the published
    claim_pairs config with a union-find of the test's own; and the caution is there."""
    import pyarrow.parquet as pq
    from test_pairset import groups_by_hand

    from crossclaim.schema.scheme import PAIR_LABELS, SPLITS

    card = (DATASET / "README.md").read_text(encoding="utf-8")
    rows = {}
    for line in card.splitlines():
        for name in ("CONTRADICTS pairs", "distinct claims in them", "distinct discrepancies"):
            if line.startswith(f"| {name} |"):
                rows[name] = [int(x) for x in line.strip("|").split("|")[1:]]
    every = []
    for k, split in enumerate(SPLITS):
        path = DATASET / "claim_pairs" / f"{split}-00000-of-00001.parquet"
        table = pq.read_table(path).to_pylist() if path.exists() else []
        ends = [
            (
                (r["claim_a"]["document_id"], r["claim_a"]["claim_id"]),
                (r["claim_b"]["document_id"], r["claim_b"]["claim_id"]),
            )
            for r in table
            if r["label"] == PAIR_LABELS.index("CONTRADICTS")
        ]
        every += ends
        assert rows["CONTRADICTS pairs"][k] == len(ends), split
        assert rows["distinct claims in them"][k] == len({c for e in ends for c in e}), split
        assert rows["distinct discrepancies"][k] == groups_by_hand(ends), split
    assert rows["distinct discrepancies"][-1] == groups_by_hand(every)
    assert rows["CONTRADICTS pairs"][SPLITS.index("test")] > rows["distinct discrepancies"][SPLITS.index("test")]
    assert "The pairs are not independent" in card and "resample claims" in card
