"""The model cache: keys follow every input, entries appear whole, the root follows the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from crossclaim.systems.cache import ENV, cache_key, cache_root, cached_dir, library_versions


@dataclass(frozen=True)
class Config:
    epochs: int
    seed: int


def test_the_key_changes_with_data_configuration_and_versions() -> None:
    data = [{"id": "doc-a", "text": "Xiaomi sold 100 cars.", "spans": [("entities", 0, 6, "ORG")]}]
    base = cache_key("m", Config(8, 1), data, {"spacy": "3.8.18"})
    assert base == cache_key("m", Config(8, 1), [dict(d) for d in data], {"spacy": "3.8.18"})  # same content
    edited = [{**data[0], "spans": [("entities", 0, 6, "PRODUCT")]}]
    others = [
        cache_key("m", Config(8, 1), edited, {"spacy": "3.8.18"}),
        cache_key("m", Config(9, 1), data, {"spacy": "3.8.18"}),
        cache_key("m", Config(8, 2), data, {"spacy": "3.8.18"}),
        cache_key("m", Config(8, 1), data, {"spacy": "3.8.19"}),
        cache_key("other", Config(8, 1), data, {"spacy": "3.8.18"}),
    ]
    assert len({base, *others}) == 6
    # sets are hashed in a canonical order, whatever order they were built in
    assert cache_key({"b", "a", "c"}) == cache_key({"c", "b", "a"})
    with pytest.raises(TypeError, match="cannot hash a object"):
        cache_key(object())


def test_library_versions_name_missing_distributions() -> None:
    versions = library_versions("numpy", "no-such-distribution-xyz")
    assert versions["numpy"][0].isdigit() and versions["no-such-distribution-xyz"] == "none"


def test_an_entry_is_built_once_and_never_seen_half_written(tmp_path: Path) -> None:
    calls = []

    def build(out: Path) -> None:
        calls.append(out)
        (out / "model.bin").write_bytes(b"weights")

    first = cached_dir("kind", "k1", build, tmp_path)
    again = cached_dir("kind", "k1", build, tmp_path)
    assert first == again == tmp_path / "kind" / "k1" and len(calls) == 1
    assert (first / "model.bin").read_bytes() == b"weights"

    def broken(out: Path) -> None:
        (out / "part").write_bytes(b"half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        cached_dir("kind", "k2", broken, tmp_path)
    assert sorted(os.listdir(tmp_path / "kind")) == ["k1"]  # no entry, no leftover staging directory


def test_the_root_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(ENV, str(tmp_path / "c"))
    assert cache_root() == tmp_path / "c"
    monkeypatch.delenv(ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "crossclaim"
