"""The ``minilm`` baseline: the official weights or a clear refusal, figure comparisons, byte-identical runs."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO
from crossclaim.baselines import minilm
from crossclaim.baselines.minilm import (
    DEFAULT_C,
    EXTRA,
    FIGURE_LABELS,
    PAIR_C_GRID,
    WEIGHTS_SHA256,
    choose_c,
    figure_features,
    inner_folds,
    model_dir,
    side,
)
from typer.testing import CliRunner

from crossclaim.cli import app
from crossclaim.errors import InputError
from crossclaim.schema.records import Pair
from crossclaim.systems.cache import ENV as CACHE_ENV


def test_installed_weights_are_the_official_release() -> None:
    # hashlib reads the file on its own: the digest is the one the official release publishes
    weights = model_dir() / minilm.WEIGHTS_FILE
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == WEIGHTS_SHA256


def _fake_package(monkeypatch: pytest.MonkeyPatch, root: Path, weights: bytes | None) -> None:
    (root / "model").mkdir(parents=True)
    if weights is not None:
        (root / "model" / minilm.WEIGHTS_FILE).write_bytes(weights)
    module = types.ModuleType(minilm.MODEL_PACKAGE)
    module.__file__ = str(root / "__init__.py")
    monkeypatch.setitem(sys.modules, minilm.MODEL_PACKAGE, module)


@pytest.mark.parametrize("weights", [b"not the official weights", None])
def test_other_weights_are_refused_naming_the_extra(tmp_path: Path, monkeypatch, weights: bytes | None) -> None:
    _fake_package(monkeypatch, tmp_path / "pkg", weights)
    with pytest.raises(InputError) as err:
        model_dir()
    (line,) = err.value.lines()
    assert f"crossclaim[{EXTRA}]" in line and "minilm" in line


def test_missing_package_exits_2_with_one_line(tmp_path: Path, monkeypatch) -> None:
    # import fails as if not installed, here and in the pinned child (which gets this import path)
    stub = tmp_path / "stub" / minilm.MODEL_PACKAGE
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("raise ImportError('not installed (a test stub)')\n")
    monkeypatch.syspath_prepend(str(tmp_path / "stub"))
    monkeypatch.setitem(sys.modules, minilm.MODEL_PACKAGE, None)
    minilm.load_encoder.cache_clear()
    try:
        result = CliRunner().invoke(
            app, ["predict", "minilm", "--split", "test", "-o", str(tmp_path / "p.jsonl"), "--root", str(REPO)]
        )
    finally:
        minilm.load_encoder.cache_clear()
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and EXTRA in lines[0] and "Traceback" not in result.output
    assert not (tmp_path / "p.jsonl").exists()


def test_figure_features_compare_normalised_values() -> None:
    a = side("the EV unit would begin generating profits in the second half of 2025", "t", "2025-01-01")
    b = side("the EV venture is expected to become profitable by late 2023", "t", "2025-06-04")
    c = side("the company's EV business could be profitable by the second half of the year", "t", "2025-06-04")
    date = 3 * FIGURE_LABELS.index("DATE")
    assert figure_features(a, b)[date : date + 3] == [1.0, 0.0, 1.0]  # both dated, the dates cannot meet
    assert figure_features(a, c)[date : date + 3] == [1.0, 1.0, 0.0]  # 2025-H2 and 2025-H2


def test_figure_features_resolve_a_year_only_publication_date() -> None:
    # doc-000 is dated by its year alone: "the second half of the year" is 2025-H2, which late 2023 cannot meet
    a = side("Xiaomi's EV division is expected to turn profitable in the second half of the year", "t", "2025")
    b = side("the EV venture is expected to become profitable by late 2023", "t", "2025-06-04")
    date = 3 * FIGURE_LABELS.index("DATE")
    assert figure_features(a, b)[date : date + 3] == [1.0, 0.0, 1.0]


def _pairs(docs: list[tuple[str, str]]) -> list[Pair]:
    return [Pair(f"p{k}", b, f"c{k}", a, f"c{k}", "UNRELATED") for k, (a, b) in enumerate(docs)]


def test_inner_folds_hold_out_pairs_at_home_and_train_on_pairs_not_touching_the_document() -> None:
    pairs = _pairs([("d0", "d1"), ("d0", "d2"), ("d1", "d2"), ("d2", "d2")])  # sides given in reverse: home is d0
    assert inner_folds(pairs) == [([2, 3], [0, 1]), ([1, 3], [2]), ([0], [3])]
    assert inner_folds(_pairs([("d0", "d1")] * 3)) == []  # holding d0 out leaves no training pair; d1 is home to none


def _separable(n_docs: int, noise: float) -> tuple[np.ndarray, list[str], list[Pair]]:
    rng = np.random.default_rng(0)
    labels = ["AGREES", "CONTRADICTS", "UNRELATED"] * (4 * n_docs)
    x = np.eye(3)[[["AGREES", "CONTRADICTS", "UNRELATED"].index(y) for y in labels]]
    x = np.hstack([x * (1 - noise) + noise * rng.random(x.shape), rng.random((len(labels), 5))])
    docs = [(f"d{i % n_docs}", f"d{(i + 1) % n_docs}") for i in range(len(labels))]
    return x, labels, _pairs(docs)


def test_choose_c_follows_the_inner_folds() -> None:
    x, y, docs = _separable(4, 0.0)
    assert choose_c(x, y, docs) == max(PAIR_C_GRID)  # labels written in the features: little regularisation wins
    x, y, docs = _separable(4, 1.0)
    assert choose_c(x, y, docs) == min(PAIR_C_GRID)  # pure noise: the strongest regularisation wins
    assert choose_c(x, y, _pairs([("d0", "d1")] * len(y))) == DEFAULT_C  # no inner fold to choose on


def _predict(out: Path, cache: Path) -> bytes:
    cmd = [str(Path(sys.executable).with_name("crossclaim")), "predict", "minilm", "--split", "test", "-o", str(out)]
    env = {**os.environ, CACHE_ENV: str(cache)}
    subprocess.run([*cmd, "--root", str(REPO)], check=True, capture_output=True, env=env)
    return out.read_bytes()


def test_two_processes_write_byte_identical_predictions(tmp_path: Path) -> None:
    """Embeddings and classifiers are computed afresh in each process from an empty model cache (rounding and
    one thread make the bytes equal), and a third run, from the first one's cache, predicts the same bytes."""
    first = _predict(tmp_path / "a.jsonl", tmp_path / "cache-a")
    second = _predict(tmp_path / "b.jsonl", tmp_path / "cache-b")
    assert first == second
    assert {p.name for p in (tmp_path / "cache-a").iterdir()} == {"minilm", "minilm-embeddings"}
    assert _predict(tmp_path / "c.jsonl", tmp_path / "cache-a") == first
    assert b'"contradictory": true' in first and b'"label": "CONTRADICTS"' in first
