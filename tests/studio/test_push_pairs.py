"""Push creates a task for every pair of the pair set, a declared cross-topic pair included (real server)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import STUDIO_TOKEN, delete_projects, gold_spans, task, write_repo
from typer.testing import CliRunner

from crossclaim.cli import app
from crossclaim.studio.server import ENV_TOKEN, ENV_URL
from crossclaim.studio.sync import PAIR_PROJECT

pytestmark = pytest.mark.server


def test_push_creates_the_declared_pair_task_with_both_topics(server: str, tmp_path: Path) -> None:
    from label_studio_sdk import LabelStudio

    delete_projects(server)
    spans = [s.replace(compare_with="doc-x:c2") if s.id == "c1" else s for s in gold_spans()]
    root = write_repo(tmp_path, [task(spans)])
    env = {ENV_TOKEN: STUDIO_TOKEN, ENV_URL: server}
    pushed = CliRunner().invoke(app, ["studio", "push", "--root", str(root), "--gold"], env=env)
    assert pushed.exit_code == 0, pushed.output
    ls = LabelStudio(base_url=server, api_key=STUDIO_TOKEN)
    (project,) = [p.id for p in ls.projects.list() if p.title == PAIR_PROJECT]
    (pair,) = [t.data for t in ls.tasks.list(project=project)]
    assert (pair["pair_id"], pair["a_topic"], pair["b_topic"]) == (
        "doc-x:c1~doc-x:c2",
        "ev_profitability_timing",
        "su7_launch_date",
    )
    again = CliRunner().invoke(app, ["studio", "push", "--root", str(root), "--gold"], env=env)
    assert again.exit_code == 0 and "0 tasks created" in again.output, again.output
    pulled = CliRunner().invoke(app, ["studio", "pull", "--root", str(root)], env=env)
    assert pulled.exit_code == 0, pulled.output
    (back,) = json.loads((root / "annotations" / "exports" / "pairs.json").read_text(encoding="utf-8"))
    assert back["data"]["pair_id"] == "doc-x:c1~doc-x:c2" and back["annotations"] == []
    delete_projects(server)
