"""Releases: only `crossclaim release` writes the record, never for a version skipped back or a stale or
invalid build; `build` warns when the published gold moves on under a released version."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import REPO, TEXT_Y, add_document, gold_spans, task, write_repo
from typer.testing import CliRunner

from crossclaim.cli import app
from crossclaim.dataset.releases import RELEASES, published_gold, read_releases, releases_json, version_key

runner = CliRunner()
CHANGELOG = "# Changelog\n\n## {version} (2027-01-01)\n\nWhat changed.\n"


def run(root: Path, *args: str):
    return runner.invoke(app, [*args, "--root", str(root)])


def released(tmp_path: Path, version: str = "1.0.0") -> Path:
    """The one-document fixture repository, built and released as ``version``."""
    root = write_repo(tmp_path, [task(gold_spans())])
    (root / "annotations" / "CHANGELOG.md").write_text(CHANGELOG.format(version=version), encoding="utf-8")
    assert run(root, "build").exit_code == 0
    result = run(root, "release", version)
    assert result.exit_code == 0, result.output
    return root


def with_second_document(root: Path) -> None:
    """A document added to the manifest and annotated (its task in the span export), as a pull would bring it."""
    add_document(root, "doc-y", TEXT_Y)
    spans_json = root / "annotations" / "exports" / "spans.json"
    tasks = json.loads(spans_json.read_text(encoding="utf-8"))
    tasks.append({**task(gold_spans(), doc_id="doc-y", text=TEXT_Y), "id": 2})
    spans_json.write_text(json.dumps(tasks), encoding="utf-8")


def test_a_release_records_the_published_gold_and_a_rebuild_is_quiet(tmp_path: Path) -> None:
    root = released(tmp_path)
    (entry,) = read_releases(root)
    assert entry.version == "1.0.0" and list(entry.documents) == ["doc-x"]
    assert list(entry.claim_pairs) == [] and entry.differences(published_gold(root / "dataset")) == []
    assert (root / RELEASES).read_text(encoding="utf-8") == releases_json([entry])  # sorted, no timestamps
    again = run(root, "build")
    assert again.exit_code == 0 and "warning" not in again.output


def test_build_warns_when_a_new_document_is_published_under_the_released_version(tmp_path: Path) -> None:
    root = released(tmp_path)
    record = (root / RELEASES).read_bytes()
    with_second_document(root)
    built = run(root, "build")
    assert built.exit_code == 0, built.output
    assert "warning: dataset/ publishes gold that differs from release 1.0.0" in built.output
    assert "documents added doc-y" in built.output and "still version 1.0.0" in built.output
    assert (root / RELEASES).read_bytes() == record  # only `release` writes it

    # a new version silences it, once released; until then it is a release to come, not a warning
    refused = run(root, "release", "1.0.0")
    assert refused.exit_code == 2 and "not greater than the last release 1.0.0" in refused.output
    unnamed = run(root, "release", "1.1.0")
    assert unnamed.exit_code == 2 and "newest entry is 1.0.0, not 1.1.0" in unnamed.output
    changelog = root / "annotations" / "CHANGELOG.md"
    changelog.write_text(CHANGELOG.format(version="1.1.0") + "\n## 1.0.0 (2027-01-01)\n", encoding="utf-8")
    stale = run(root, "release", "1.1.0")  # the card still says 1.0.0: dataset/ is not built from annotations/
    assert stale.exit_code == 2 and "dataset/README.md" in stale.output and "build (and commit) first" in stale.output
    assert (root / RELEASES).read_bytes() == record
    rebuilt = run(root, "build")
    assert rebuilt.exit_code == 0 and "warning" not in rebuilt.output
    assert run(root, "release", "1.1.0").exit_code == 0
    assert [r.version for r in read_releases(root)] == ["1.0.0", "1.1.0"]
    quiet = run(root, "build")
    assert quiet.exit_code == 0 and "warning" not in quiet.output
    assert run(root, "release", "1.0.1").exit_code == 2  # older than the last: never gone back to


def test_release_refuses_invalid_annotations_and_writes_nothing(tmp_path: Path) -> None:
    root = released(tmp_path)
    record = (root / RELEASES).read_bytes()
    (root / "annotations" / "CHANGELOG.md").write_text(CHANGELOG.format(version="2.0.0"), encoding="utf-8")
    assert run(root, "build").exit_code == 0
    spans_json = root / "annotations" / "exports" / "spans.json"
    spans_json.write_text(spans_json.read_text(encoding="utf-8").replace('"ORG"', '"ORGANISATION"', 1))
    refused = run(root, "release", "2.0.0")
    assert refused.exit_code == 2 and "ORGANISATION" in refused.output and "Traceback" not in refused.output
    assert (root / RELEASES).read_bytes() == record
    assert run(root, "release", "2.0").exit_code == 2


def test_a_version_older_than_the_last_release_is_a_warning(tmp_path: Path) -> None:
    root = released(tmp_path, "1.2.0")
    (root / "annotations" / "CHANGELOG.md").write_text(CHANGELOG.format(version="1.1.0"), encoding="utf-8")
    built = run(root, "build")
    assert built.exit_code == 0 and "older than the last release 1.2.0" in built.output


def test_a_release_record_that_is_not_one_is_named_before_anything_is_built(tmp_path: Path) -> None:
    root = released(tmp_path)
    (root / RELEASES).write_text(json.dumps({"releases": [{"version": "one", "documents": {}}]}), encoding="utf-8")
    shutil.rmtree(root / "dataset")
    result = run(root, "build")
    assert (
        result.exit_code == 2
        and "releases.json, `$.releases[0]`: Object missing required field `claim_pairs`" in result.output
    )
    assert not (root / "dataset").exists()
    entry = {"version": "one", "documents": {}, "claim_pairs": {}}
    for releases, said in (
        ([entry], "releases.json, `$.releases[0].version`: 'one' is not a version X.Y.Z"),
        ([entry | {"version": "1.1.0"}, entry | {"version": "1.0.0"}], "`$.releases[1]`: 1.0.0 does not follow 1.1.0"),
        ([entry, entry | {"version": "two"}], "`$.releases[1].version`: 'two' is not a version"),  # every one named
        ([entry | {"x\ny": 1}], "'Object contains unknown field `x\\ny`'"),  # a key with a line break: one line
        ([entry | {"documents": {"doc-x": "ab"}}], "`$.releases[0].documents[...]`: Expected `str` matching"),
    ):
        (root / RELEASES).write_text(json.dumps({"releases": releases}), encoding="utf-8")
        result = run(root, "build")
        assert result.exit_code == 2 and said in result.output, result.output
        assert result.output.count("releases.json") == 1 + (releases[-1]["version"] == "two"), result.output


def test_a_sixth_document_pulled_into_the_committed_release_is_named(tmp_path: Path) -> None:
    """The trial that went unnoticed: the committed corpus with a sixth document annotated, built under the
    version it was released as. A committed version still in preparation (its changelog entry written,
    `crossclaim release` not yet run) is released in the copy first."""
    from crossclaim.dataset.releases import dataset_version

    root = tmp_path / "repo"
    shutil.copytree(REPO / "annotations", root / "annotations")
    shutil.copytree(REPO / "dataset", root / "dataset")
    shutil.copy(REPO / "DATASHEET.md", root / "DATASHEET.md")
    quiet = run(root, "build")
    assert quiet.exit_code == 0 and "warning" not in quiet.output, quiet.output
    version = dataset_version(root)
    if read_releases(root)[-1].version != version:
        made = run(root, "release", version)
        assert made.exit_code == 0, made.output
    page = tmp_path / "page.txt"
    page.write_text("Xiaomi delivered more cars in July. Lei Jun said the SU7 sold well.\n", encoding="utf-8")
    ingested = run(
        root, "ingest", str(page), "--id", "doc-005", "--split", "test", "--start", "0", "--end", "67", "--yes"
    )
    assert ingested.exit_code == 0, ingested.output
    spans_json = root / "annotations" / "exports" / "spans.json"
    tasks = json.loads(spans_json.read_text(encoding="utf-8"))
    text = page.read_text(encoding="utf-8")[:67]
    entity = {"id": "e1", "from_name": "entities", "to_name": "text", "type": "labels",
              "value": {"start": 0, "end": 6, "text": "Xiaomi", "labels": ["ORG"]}}  # fmt: skip
    tasks.append({**task([], doc_id="doc-005", text=text), "id": 999})
    tasks[-1]["annotations"][0]["result"] = [entity]
    spans_json.write_text(json.dumps(tasks), encoding="utf-8")
    built = run(root, "build")
    assert built.exit_code == 0, built.output
    assert read_releases(root)[-1].version == version
    assert f"differs from release {version}" in built.output and "documents added doc-005" in built.output
    assert f"still version {version}" in built.output


def test_a_column_that_holds_nothing_changes_no_digest(tmp_path: Path) -> None:
    """A new, empty column of the documents config (page furniture before any is declared) is no new gold."""
    dataset = tmp_path / "dataset"
    shutil.copytree(REPO / "dataset", dataset)
    for path in (dataset / "documents").glob("*.parquet"):  # the documents config as before the column
        table = pq.read_table(path)
        pq.write_table(table.drop_columns(["furniture"]) if "furniture" in table.column_names else table, path)
    before = published_gold(dataset)
    for path in (dataset / "documents").glob("*.parquet"):
        table = pq.read_table(path)
        empty = pa.array([[] for _ in range(table.num_rows)], pa.list_(pa.struct([("start", pa.int32())])))
        pq.write_table(table.append_column("furniture", empty), path)
    assert published_gold(dataset) == before
    path = next((dataset / "documents").glob("test-*.parquet"))
    table = pq.read_table(path)
    texts = table.column("text").to_pylist()
    pq.write_table(
        table.set_column(table.schema.get_field_index("text"), "text", pa.array([texts[0] + "!"] + texts[1:])), path
    )
    assert published_gold(dataset).differences(before) == [f"documents changed {table.column('id')[0]}"]


def test_the_committed_record_is_the_committed_gold_at_the_changelog_version() -> None:
    """The last release is the version the card says, and dataset/ publishes exactly its gold; or the card
    says a newer version still in preparation (its changelog entry written, `crossclaim release` not yet
    run), never an older one."""
    from crossclaim.dataset.releases import dataset_version

    last = read_releases(REPO)[-1]
    version = dataset_version(REPO)
    if version == last.version:
        assert last.differences(published_gold(REPO / "dataset")) == []
    else:
        assert version_key(version) > version_key(last.version), (version, last.version)


@pytest.mark.parametrize(("a", "b"), [("1.10.0", "1.9.9"), ("2.0.0", "1.99.99"), ("1.0.1", "1.0.0")])
def test_versions_are_ordered_as_numbers(a: str, b: str) -> None:
    assert version_key(a) > version_key(b)
    assert version_key("1.02.0") is None and version_key("v1.0.0") is None
