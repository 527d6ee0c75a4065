"""Generated files are current: configs, dataset, doc tables. And the README drives CI."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import REPO
from typer.testing import CliRunner

from crossclaim.cli import app
from crossclaim.files import WORK_DIR

GENERATED = [
    "annotations/studio/span_config.xml",
    "annotations/studio/pair_config.xml",
    "DATASHEET.md",
    "annotations/GUIDELINES.md",
]


def test_committed_dataset_and_docs_are_a_pure_function_of_annotations(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(REPO / "annotations", root / "annotations")
    for name in ("DATASHEET.md",):
        shutil.copy(REPO / name, root / name)
    for rel in GENERATED:
        target = root / rel
        if (REPO / rel).exists() and not target.exists():
            shutil.copy(REPO / rel, target)
    result = CliRunner().invoke(app, ["build", "--root", str(root)])
    assert result.exit_code == 0, result.output
    committed = {p.relative_to(REPO / "dataset"): p.read_bytes() for p in (REPO / "dataset").rglob("*") if p.is_file()}
    rebuilt = {p.relative_to(root / "dataset"): p.read_bytes() for p in (root / "dataset").rglob("*") if p.is_file()}
    assert sorted(rebuilt) == sorted(committed)
    for rel, data in rebuilt.items():
        assert data == committed[rel], f"dataset/{rel} is stale: run `crossclaim build`"
    for rel in GENERATED:
        if (REPO / rel).exists():
            assert (root / rel).read_bytes() == (REPO / rel).read_bytes(), f"{rel} is stale: run `crossclaim build`"


def test_a_build_writes_nothing_outside_the_data_and_its_docs(tmp_path: Path) -> None:
    """A data build never edits package source: a checkout's stale predictions schema stays as it was
    (``scripts/predictions_schema.py`` regenerates it)."""
    root = tmp_path / "repo"
    shutil.copytree(REPO / "annotations", root / "annotations")
    shutil.copy(REPO / "DATASHEET.md", root / "DATASHEET.md")
    schema = root / "src" / "crossclaim" / "formats" / "predictions.schema.json"
    schema.parent.mkdir(parents=True)
    schema.write_text("stale\n", encoding="utf-8")

    def outside() -> dict[str, bytes]:  # what the build may not write: all but the data, the datasheet, its lock
        mine = ("annotations", "dataset", "DATASHEET.md", WORK_DIR)
        files = (p for p in root.rglob("*") if p.is_file() and p.relative_to(root).parts[0] not in mine)
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in files}

    before = outside()
    result = CliRunner().invoke(app, ["build", "--root", str(root)])
    assert result.exit_code == 0, result.output
    assert outside() == before
    assert schema.read_text(encoding="utf-8") == "stale\n"


def test_readme_quickstart_runs_exactly_the_ci_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text().strip().splitlines()[-1]
    readme = (REPO / "README.md").read_text()
    assert ci in readme


def test_guidelines_hedge_inventory_matches_the_gold() -> None:
    """The cue inventory's counts and documents are typed in the guidelines: they must equal the gold."""
    import re
    from collections import defaultdict

    from crossclaim.dataset.gold import load_gold

    gold = load_gold(REPO / "annotations")
    found: dict[str, list[str]] = defaultdict(list)
    for doc in gold.docs:
        for s in gold.spans(doc.id):
            if s.layer == "hedges":
                found[s.text].append(doc.id)
    expected = {cue: (len(docs), ", ".join(sorted(set(docs)))) for cue, docs in found.items()}
    section = (REPO / "annotations" / "GUIDELINES.md").read_text().split("### 5.1", 1)[1].split("###", 1)[0]
    rows = re.findall(r"^\| ([^|*]+?) \| (\d+) \| ([^|]+?) \|", section, re.M)
    typed = {cue: (int(n), docs) for cue, n, docs in rows}
    assert typed == expected
    assert f"| **total** | **{sum(n for n, _ in expected.values())}** |" in section
