"""A corpus outside the dataset goes to a pre-annotation project of its own: its records with their
predictions, read in lockstep with the predictions file; the gold projects are never touched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO, STUDIO_TOKEN, delete_projects, gold_spans, task, write_repo
from typer.testing import CliRunner

from crossclaim.cli import app
from crossclaim.errors import InputError
from crossclaim.formats.corpus import check_corpus
from crossclaim.studio import sync
from crossclaim.studio.server import ENV_TOKEN, ENV_URL

runner = CliRunner()
TITLE = "CrossClaim pre-annotation: test crawl"
TEXTS = [
    "Xiaomi could deliver 300,000 cars in 2025, up 35%.",
    "Lei Jun said the SU7 is likely to turn a profit by the second half of 2026.",
    "小米 🚗 sold 10,000 units in May.",
    "",
]


def write_corpus(path: Path, ids: list[str]) -> Path:
    path.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in zip(ids, TEXTS)), encoding="utf-8")
    return path


def predicted(tmp_path: Path, ids: list[str]) -> tuple[Path, Path]:
    corpus = write_corpus(tmp_path / "crawl.jsonl", ids)
    preds = tmp_path / "crawl.pred.jsonl"
    made = runner.invoke(app, ["predict", "regex", str(corpus), "-o", str(preds), "--root", str(REPO)])
    assert made.exit_code == 0, made.output
    return corpus, preds


IDS = ["web-1", "web-2", "web-3", "web-4"]


def test_predictions_are_read_in_lockstep_with_exact_line_numbers(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(sync, "CORPUS_CHUNK", 3)  # the fourth record is in a second chunk
    corpus, preds = predicted(tmp_path, IDS)
    got = list(sync.corpus_predictions(check_corpus(corpus), preds, "regex"))
    assert [d.id for d, _ in got] == IDS and all(p.model_version == "regex" for _, p in got)
    assert any(s.label == "PERCENT" for s in got[0][1].spans)

    lines = preds.read_text(encoding="utf-8").split("\n")
    bad = json.loads(lines[3])
    bad["hedges"] = [{"start": 0, "end": 99, "label": "HEDGE"}]
    (tmp_path / "bad.jsonl").write_text("\n".join([*lines[:3], "", json.dumps(bad), ""]), encoding="utf-8")
    with pytest.raises(InputError) as exc:
        list(sync.corpus_predictions(check_corpus(corpus), tmp_path / "bad.jsonl", "regex"))
    assert exc.value.lines()[0].startswith(f"{tmp_path / 'bad.jsonl'}, line 5, field hedges[0].start/end: offsets 0:99")

    for name, text in (
        ("short", lines[:2]),
        ("long", [*lines[:4], lines[0]]),
        ("across chunks", [lines[3], lines[1], lines[2], lines[0]]),
    ):
        (tmp_path / name).write_text("\n".join(text) + "\n", encoding="utf-8")
        with pytest.raises(InputError) as exc:
            list(sync.corpus_predictions(check_corpus(corpus), tmp_path / name, "regex"))
        assert exc.value.lines()[-1].endswith(
            f"must have one line per record of {corpus}, in corpus order (as crossclaim predict writes it)"
        )


@pytest.mark.server
def test_a_corpus_goes_to_a_project_of_its_own_with_predictions_only(server: str, tmp_path: Path) -> None:
    from label_studio_sdk import LabelStudio

    ls = LabelStudio(base_url=server, api_key=STUDIO_TOKEN)
    delete_projects(server)
    for p in list(ls.projects.list()):
        if p.title == TITLE:
            ls.projects.delete(id=p.id)
    root = write_repo(tmp_path / "repo", [task(gold_spans())])
    env = {ENV_TOKEN: STUDIO_TOKEN, ENV_URL: server}
    assert runner.invoke(app, ["studio", "push", "--root", str(root), "--gold"], env=env).exit_code == 0
    gold_before = {p.title: p.task_number for p in ls.projects.list() if p.title != TITLE}

    corpus, preds = predicted(tmp_path, IDS)
    args = ["studio", "push", "--root", str(root), "--corpus", str(corpus), "--predictions-file", str(preds)]
    args += ["--name", "regex", "--project-title", TITLE]
    first = runner.invoke(app, args, env=env)
    assert first.exit_code == 0, first.output
    assert "4 tasks created, 0 already there; 4 predictions written" in first.output
    again = runner.invoke(app, args, env=env)
    assert again.exit_code == 0 and "0 tasks created, 4 already there; 0 predictions written" in again.output

    (project,) = [p.id for p in ls.projects.list() if p.title == TITLE]
    tasks = {t.data["doc_id"]: t for t in ls.tasks.list(project=project, fields="all")}
    assert sorted(tasks) == IDS and [tasks[i].data["text"] for i in IDS] == TEXTS
    for line in preds.read_text(encoding="utf-8").split("\n")[:-1]:
        row = json.loads(line)
        t = tasks[row["document_id"]]
        assert not t.annotations and len(t.predictions) == 1
        (pred,) = t.predictions
        pred = pred if isinstance(pred, dict) else pred.dict()
        assert pred["model_version"] == "regex"
        on_server = {
            (r["value"]["start"], r["value"]["end"], r["value"]["labels"][0])
            for r in pred["result"]
            if r["type"] == "labels"
        }
        in_file = {(s["start"], s["end"], s["label"]) for layer in ("figures", "hedges", "claims") for s in row[layer]}
        assert on_server == in_file
    assert {p.title: p.task_number for p in ls.projects.list() if p.title != TITLE} == gold_before

    gold = runner.invoke(app, [*args[:-1], sync.SPAN_PROJECT], env=env)
    assert gold.exit_code == 2 and "is a gold project" in gold.output
    assert {p.title: p.task_number for p in ls.projects.list() if p.title != TITLE} == gold_before
