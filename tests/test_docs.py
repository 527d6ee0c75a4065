"""Generated files are current: configs, dataset, doc tables. And the README drives CI."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import REPO
from typer.testing import CliRunner

from crossclaim.cli import app

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


def test_readme_quickstart_runs_exactly_the_ci_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text().strip().splitlines()[-1]
    readme = (REPO / "README.md").read_text()
    assert ci in readme
