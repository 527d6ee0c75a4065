"""The ``minilm`` baseline: the official weights or a clear refusal, figure comparisons, byte-identical runs."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import types
from pathlib import Path

import pytest
from conftest import REPO
from crossclaim.baselines import minilm
from crossclaim.baselines.minilm import EXTRA, FIGURE_LABELS, WEIGHTS_SHA256, figure_features, model_dir, side
from typer.testing import CliRunner

from crossclaim.cli import app
from crossclaim.errors import InputError


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
    monkeypatch.setitem(sys.modules, minilm.MODEL_PACKAGE, None)  # import fails as if not installed
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


def _predict(out: Path) -> bytes:
    cmd = [str(Path(sys.executable).with_name("crossclaim")), "predict", "minilm", "--split", "test", "-o", str(out)]
    subprocess.run([*cmd, "--root", str(REPO)], check=True, capture_output=True)
    return out.read_bytes()


def test_two_processes_write_byte_identical_predictions(tmp_path: Path) -> None:
    """Embeddings are computed afresh in each process: rounding and one thread make the bytes equal."""
    first, second = _predict(tmp_path / "a.jsonl"), _predict(tmp_path / "b.jsonl")
    assert first == second
    assert b'"contradictory": true' in first and b'"label": "CONTRADICTS"' in first
