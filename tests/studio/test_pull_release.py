"""A pull that brings a new document under a released version warns (real server): the trial in which a
team's pulled document was published as the old version, unnoticed."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import STUDIO_TOKEN, TEXT_Y, add_document, delete_projects, gold_spans, task, write_repo
from typer.testing import CliRunner

from crossclaim.cli import app
from crossclaim.formats.labelstudio.spans import region_results
from crossclaim.studio.server import ENV_TOKEN, ENV_URL
from crossclaim.studio.sync import SPAN_PROJECT

pytestmark = pytest.mark.server


def test_a_document_pulled_into_a_released_version_is_named(server: str, tmp_path: Path) -> None:
    from label_studio_sdk import LabelStudio

    delete_projects(server)
    env = {ENV_TOKEN: STUDIO_TOKEN, ENV_URL: server}

    def run(*args: str):
        result = CliRunner().invoke(app, [*args, "--root", str(root)], env=env)
        assert result.exit_code == 0, result.output
        return result

    root = write_repo(tmp_path, [task(gold_spans())])
    (root / "annotations" / "CHANGELOG.md").write_text("# Changelog\n\n## 1.0.0 (2027-01-01)\n", encoding="utf-8")
    run("build")
    run("release", "1.0.0")
    run("studio", "push", "--gold")
    assert "warning" not in run("studio", "pull").output

    add_document(root, "doc-y", TEXT_Y)  # ingested: push makes its task, an annotator labels it
    assert "1 tasks created" in run("studio", "push", "--gold").output
    ls = LabelStudio(base_url=server, api_key=STUDIO_TOKEN)
    (project,) = [p.id for p in ls.projects.list() if p.title == SPAN_PROJECT]
    (new,) = [t for t in ls.tasks.list(project=project) if t.data["doc_id"] == "doc-y"]
    ls.annotations.create(id=new.id, result=region_results(gold_spans(), TEXT_Y), ground_truth=True)

    pulled = run("studio", "pull")
    assert "change: doc-y: gold spans 13 added" in pulled.output
    assert "warning: dataset/ publishes gold that differs from release 1.0.0" in pulled.output
    assert "documents added doc-y" in pulled.output and "still version 1.0.0" in pulled.output
    delete_projects(server)
