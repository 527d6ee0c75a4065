"""Leaderboard: the committed outputs are reproduced exactly; plug-ins and files are ranked."""

from __future__ import annotations

import json
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from conftest import REPO, gold_predictions, gold_spans, task, write_repo
from typer.testing import CliRunner

from crossclaim.cli import app
from crossclaim.dataset.gold import load_gold
from crossclaim.errors import InputError
from crossclaim.formats.predictions import Predictions, to_jsonl
from crossclaim.leaderboard.run import OUTPUTS, output_directory
from crossclaim.schema.records import Span
from crossclaim.systems.base import System
from crossclaim.systems.registry import BUILTIN, ENTRY_POINT_GROUP

runner = CliRunner()


def test_committed_leaderboard_is_reproduced_byte_for_byte(tmp_path: Path) -> None:
    result = runner.invoke(app, ["leaderboard", "--root", str(REPO), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for name in OUTPUTS:
        assert (tmp_path / name).read_bytes() == (REPO / "baselines" / name).read_bytes(), (
            f"baselines/{name} is stale: run `crossclaim leaderboard`"
        )
    board = json.loads((tmp_path / "leaderboard.json").read_text(encoding="utf-8"))
    assert set(board["evaluations"]) == {"test", "cv"}
    assert set(board["evaluations"]["test"]["systems"]) >= {"regex", "crf", "spacy-sm", "sentence-logreg"}


def test_the_board_reports_what_its_intervals_resample_and_never_prints_a_floor_as_exact() -> None:
    board = json.loads((REPO / "baselines" / "leaderboard.json").read_text(encoding="utf-8"))
    md = (REPO / "baselines" / "LEADERBOARD.md").read_text(encoding="utf-8")
    test, cv = board["evaluations"]["test"]["sample"], board["evaluations"]["cv"]["sample"]
    # two test documents resampled whole give three distinct resamples; their sentences give a thousand
    assert test["documents"] == 2 and test["sentences"] > 50 and test["distinct_sentence_resamples"] == 1000
    assert cv["documents"] == 5 and cv["pairs"] == board["evaluations"]["cv"]["pairs"]
    assert md.index("## Headline: Leave-one-document-out") < md.index("## Test split")
    assert "not news in general" in md and "Strict micro F1 per fold" in md
    floors = [
        (ev, layer, name)
        for ev, data in board["evaluations"].items()
        for layer, comp in data["comparison"].items()
        for name, p in comp["p_vs_best"].items()
        if p is not None and p["at_floor"]
    ]
    assert floors and "| 0.0001 |" not in md and md.count("| ≤ 0.0001 |") == len(floors)
    crf = board["evaluations"]["cv"]["systems"]["crf"]["layers"]["entity_tags"]["strict"]
    assert set(crf["f1_by_document"]) == set(board["evaluations"]["cv"]["documents"])


def plugin(monkeypatch: pytest.MonkeyPatch, name: str, target: str) -> None:
    point = EntryPoint(name=name, value=target, group=ENTRY_POINT_GROUP)
    monkeypatch.setattr(
        "crossclaim.systems.registry.entry_points", lambda group: [point] if group == ENTRY_POINT_GROUP else []
    )


@pytest.fixture
def fixture_repo(tmp_path: Path) -> Path:
    return write_repo(tmp_path / "repo", [task(gold_spans())])


def test_plugins_and_prediction_files_are_ranked(
    fixture_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plugin(monkeypatch, "echo", "crossclaim.baselines.regex:RegexSystem")
    gold = load_gold(fixture_repo / "annotations")
    oracle = tmp_path / "oracle.jsonl"
    oracle.write_text(to_jsonl(gold_predictions(gold), gold.docs, gold.pairs), encoding="utf-8")
    out = tmp_path / "board"
    args = ["leaderboard", "--root", str(fixture_repo), "--out", str(out), "--system", "regex", "--system", "echo"]
    result = runner.invoke(app, [*args, "--predictions", str(oracle), "--name", "oracle"])
    assert result.exit_code == 0, result.output
    board = json.loads((out / "leaderboard.json").read_text(encoding="utf-8"))
    test = board["evaluations"]["test"]["systems"]
    assert board["order"] == ["regex", "echo", "oracle"] and set(test) == set(board["order"])
    assert test["echo"] == test["regex"]
    micro = [layer["strict"]["micro"] for layer in test["oracle"]["layers"].values()]
    assert all(m["f1"] == 1.0 for m in micro if m["support"]) and all(
        m["f1"] is None for m in micro if not m["support"]
    )
    assert "oracle" not in board["evaluations"]["cv"]["systems"]  # a file cannot be retrained
    assert board["systems"]["echo"]["kind"] == "plug-in" and board["systems"]["oracle"]["kind"] == "file"
    assert board["evaluations"]["test"]["comparison"]["entity_tags"]["best"] == "oracle"
    md = (out / "LEADERBOARD.md").read_text(encoding="utf-8")
    assert "| oracle | 1.000 | 1.000 | 1.000" in md and "### figures (`figure_tags`)" in md
    assert (out / "leaderboard.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_leaderboard_input_exits_2(fixture_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = ["leaderboard", "--root", str(fixture_repo), "--out", str(tmp_path / "out")]
    unknown = runner.invoke(app, [*base, "--system", "nope"])
    assert unknown.exit_code == 2 and "unknown" in unknown.output
    unnamed = runner.invoke(app, [*base, "--system", "regex", "--predictions", str(tmp_path / "x.jsonl")])
    assert unnamed.exit_code == 2 and "--name" in unnamed.output
    plugin(monkeypatch, "regex", "crossclaim.baselines.crf:CrfSystem")
    shadow = runner.invoke(app, [*base, "--system", "regex"])
    assert shadow.exit_code == 2 and "shadows a built-in" in shadow.output
    assert not (tmp_path / "out").exists()  # nothing written


class BadSystem(System):
    """A plug-in that emits a label outside the scheme."""

    layers = frozenset({"entity_tags"})

    def predict(self, docs, queries) -> Predictions:
        return Predictions({d.id: [Span("entities", "e", 0, 6, d.text[:6], "COMPANY")] for d in docs}, self.layers)


def test_a_plugins_bad_output_is_refused_by_name(fixture_repo: Path, tmp_path: Path, monkeypatch) -> None:
    plugin(monkeypatch, "bad", "test_leaderboard:BadSystem")
    result = runner.invoke(app, ["leaderboard", "--root", str(fixture_repo), "--out", str(tmp_path), "--system", "bad"])
    assert result.exit_code == 2, result.output
    assert "system bad" in result.output and "unknown label 'COMPANY'" in result.output


# ---------------------------------------------------------------------------------------------
# crossclaim predict, and which runs may write the committed board


@pytest.mark.parametrize("name", ["regex", "sentence-logreg", "spacy-sm-ft"])
def test_predict_writes_the_file_the_leaderboard_scores(tmp_path: Path, name: str) -> None:
    """`predict` then `score` reproduces the committed board's test row (learned systems train on train)."""
    from crossclaim.evaluation.results import rounded

    preds, scores = tmp_path / "p.jsonl", tmp_path / "s.json"
    made = runner.invoke(app, ["predict", name, "--split", "test", "-o", str(preds), "--root", str(REPO)])
    assert made.exit_code == 0, made.output
    scored = runner.invoke(app, ["score", str(preds), "--split", "test", "--json", str(scores), "--root", str(REPO)])
    assert scored.exit_code == 0, scored.output
    board = json.loads((REPO / "baselines" / "leaderboard.json").read_text(encoding="utf-8"))
    row = board["evaluations"]["test"]["systems"][name]
    result = rounded(json.loads(scores.read_text(encoding="utf-8")))
    assert {k: result[k] for k in row} == row
    assert [json.loads(line)["document_id"] for line in preds.read_text().splitlines()] == ["doc-001", "doc-003"]


def test_only_the_builtin_baselines_write_the_committed_board(
    fixture_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    committed = fixture_repo / "baselines"
    base = ["leaderboard", "--root", str(fixture_repo)]
    selection = runner.invoke(app, [*base, "--system", "regex"])
    assert selection.exit_code == 2 and selection.output.count("\n") == 1, selection.output
    assert "--out: required: a run with a selection of systems does not write the committed board" in selection.output
    into_committed = runner.invoke(app, [*base, "--system", "regex", "--out", str(committed)])
    assert into_committed.exit_code == 2 and "is the committed board" in into_committed.output
    plugin(monkeypatch, "echo", "crossclaim.baselines.regex:RegexSystem")
    with_plugin = runner.invoke(app, base)
    assert with_plugin.exit_code == 2 and "a run with plug-ins does not write" in with_plugin.output
    oracle = tmp_path / "oracle.jsonl"
    oracle.write_text("")
    with_file = runner.invoke(app, [*base, "--system", "regex", "--predictions", str(oracle), "--name", "o"])
    assert with_file.exit_code == 2 and "a run with predictions files" in with_file.output
    assert not committed.exists()


def test_output_directory_keeps_the_committed_board_for_the_builtin_baselines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rule itself, without the CLI: only exactly the built-in baselines default to the committed board."""
    committed, elsewhere = tmp_path / "baselines", tmp_path / "elsewhere"
    monkeypatch.setattr("crossclaim.systems.registry.entry_points", lambda group: [])
    assert output_directory(tmp_path, None, None, []) == committed
    assert output_directory(tmp_path, None, list(reversed(BUILTIN)), []) == committed  # every baseline, any order
    assert output_directory(tmp_path, elsewhere, None, []) == elsewhere
    assert output_directory(tmp_path, elsewhere, ["regex"], [tmp_path / "p.jsonl"]) == elsewhere
    refused = [
        (["regex"], [], None, "--out", "required: a run with a selection of systems does not write the committed"),
        (["regex"], [], committed, f"--out {committed}", "is the committed board: a run with a selection of systems"),
        (None, [tmp_path / "p.jsonl"], None, "--out", "required: a run with predictions files does not write"),
        ([*BUILTIN, "echo"], [], tmp_path / "." / "baselines", "--out", "is the committed board: a run with plug-ins"),
    ]
    for names, files, out, where, message in refused:
        with pytest.raises(InputError) as caught:
            output_directory(tmp_path, out, names, files)
        ((said_where, said),) = caught.value.problems
        assert said_where.startswith(where) and message in said, caught.value
    plugin(monkeypatch, "echo", "crossclaim.baselines.regex:RegexSystem")
    with pytest.raises(InputError, match="a run with plug-ins does not write the committed board"):
        output_directory(tmp_path, None, None, [])


def test_predict_refuses_bad_arguments(fixture_repo: Path, tmp_path: Path) -> None:
    base = ["predict", "--root", str(fixture_repo)]
    unknown = runner.invoke(app, [*base, "nope", "-o", str(tmp_path / "p.jsonl")])
    assert unknown.exit_code == 2 and "system 'nope': unknown" in unknown.output
    split = runner.invoke(app, [*base, "regex", "--split", "dev", "-o", str(tmp_path / "p.jsonl")])
    assert split.exit_code == 2 and "unknown split 'dev'" in split.output
    into_dir = runner.invoke(app, [*base, "regex", "-o", str(tmp_path)])
    assert into_dir.exit_code == 2 and "is a directory" in into_dir.output
    assert not (tmp_path / "p.jsonl").exists()


def test_the_chart_caption_names_documents_sentences_and_pairs(fixture_repo: Path, tmp_path: Path) -> None:
    from crossclaim.leaderboard.render import chart_caption
    from crossclaim.leaderboard.run import leaderboard

    board = leaderboard(fixture_repo, tmp_path, ["regex"])
    caption = chart_caption(board)
    for ev in ("cv", "test"):
        s = board.evaluations[ev].sample
        assert f"{s.documents} documents, {s.sentences} sentences, {board.evaluations[ev].pairs} claim pairs" in caption
    assert "not news in general" in caption and "not predict" in caption
    assert (tmp_path / "leaderboard.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_system_trains_for_the_test_split_on_the_splits_it_names_and_the_board_says_so() -> None:
    from crossclaim.leaderboard.run import predict_on

    class Recorder(System):
        name, learned = "recorder", True

        def fit(self, train) -> None:
            self.seen = sorted(d.id for d in train.docs)

        def predict(self, docs, queries) -> Predictions:
            return Predictions({d.id: [] for d in docs}, frozenset(), {}, None)

    gold = load_gold(REPO / "annotations")
    test = [d for d in gold.docs if d.split == "test"]
    by_split = {s: sorted(d.id for d in gold.docs if d.split == s) for s in ("train", "validation")}
    system = Recorder()
    predict_on(system, gold, test, [], "recorder")
    assert system.seen == by_split["train"]
    system.fit_splits = ("train", "validation", "test")  # a test document is never trained on
    predict_on(system, gold, test, [], "recorder")
    assert system.seen == sorted(by_split["train"] + by_split["validation"])
    board = json.loads((REPO / "baselines" / "leaderboard.json").read_text())
    assert board["systems"]["minilm"]["trained_on"] == ["train", "validation"]
    committed = (REPO / "baselines" / "LEADERBOARD.md").read_text()
    assert "`minilm` is trained on the train and validation documents for the test split" in committed
    assert "| minilm | baseline | yes | train, validation |" in committed
    # asked to predict every document it would train on, it says so (not that the corpus has no train split)
    train = [d for d in gold.docs if d.split == "train"]
    system.fit_splits = ("train",)
    with pytest.raises(InputError, match="learns on the train split, and is asked to predict every document of it"):
        predict_on(system, gold, train, [], "recorder")
    system.fit_splits = ("dev",)
    with pytest.raises(InputError, match="learns on the dev split, which the corpus does not have"):
        predict_on(system, gold, test, [], "recorder")


def test_folds_in_parallel_children_give_what_one_child_at_a_time_gives(tmp_path: Path, monkeypatch) -> None:
    """The trainings run in parallel come back in fold order: the same predictions as one at a time."""
    from conftest import make_gold

    from crossclaim.formats.predictions import to_jsonl as jsonl
    from crossclaim.leaderboard.run import run_system
    from crossclaim.systems.cache import ENV
    from crossclaim.systems.registry import make_system

    gold = make_gold()
    monkeypatch.setenv(ENV, str(tmp_path / "one"))
    alone = run_system(make_system("crf"), gold, name="crf", workers=1)
    monkeypatch.setenv(ENV, str(tmp_path / "two"))  # the children inherit it: they train too
    ticks: list[str] = []
    pooled = run_system(make_system("crf"), gold, ticks.append, "crf", workers=2)
    assert sorted(ticks) == sorted(["crf: test split"] + [f"crf: fold {d.id}" for d in gold.docs])
    for ev in ("test", "cv"):
        assert jsonl(pooled[ev], gold.docs, gold.pairs) == jsonl(alone[ev], gold.docs, gold.pairs)
    assert len(list((tmp_path / "two" / "crf").iterdir())) == 1 + len(gold.docs)  # every fold trained there


def test_leaderboard_progress_is_plain_lines_on_stderr_when_it_is_not_a_terminal(
    fixture_repo: Path, tmp_path: Path
) -> None:
    """Output sent to a file: one line per system run and per scoring, on stderr, never in stdout or the outputs."""
    from crossclaim.leaderboard.run import leaderboard

    out = tmp_path / "out"
    result = runner.invoke(app, ["leaderboard", "--root", str(fixture_repo), "--out", str(out), "--system", "regex"])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "leaderboard: regex: every document done (1/3)",
        "leaderboard: scoring regex (cv) done (2/3)",
        "leaderboard: scoring regex (test) done (3/3)",
    ]
    assert "leaderboard:" not in result.stdout and "wrote " in result.stdout
    quiet = tmp_path / "quiet"
    leaderboard(fixture_repo, quiet, ["regex"])  # no progress reported at all
    for name in OUTPUTS:
        assert (out / name).read_bytes() == (quiet / name).read_bytes()
        assert b"done (" not in (out / name).read_bytes()


def test_a_learned_system_reports_its_test_run_and_every_fold_by_name() -> None:
    from conftest import make_gold

    from crossclaim.leaderboard.run import Entry, run_system, score_entries

    class Empty(System):
        name, learned = "empty", True

        def fit(self, train) -> None:
            pass

        def predict(self, docs, queries) -> Predictions:
            return Predictions({d.id: [] for d in docs}, frozenset(), {}, None)

    gold = make_gold()
    ticks: list[str] = []
    predictions = run_system(Empty(), gold, ticks.append, "empty")
    assert ticks == ["empty: test split", "empty: fold doc-a", "empty: fold doc-b", "empty: fold doc-c"]
    score_entries(gold, [Entry("empty", "plug-in", True, predictions)], ticks.append)
    assert ticks[4:] == ["scoring empty (cv)", "scoring empty (test)"]
