"""Fuzz `crossclaim studio check` with mutated Label Studio exports: exit 0 or 2, never a traceback,
nothing written. The same validation runs in `pull`, so this covers what a server could send."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import gold_spans, json_paths, project_files, task, write_repo
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from crossclaim.cli import app

ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(["false", "true", "", "[/x]", "[bold]doc[/bold]", "\ud800", "\u2028", "x" * 300]),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.sampled_from(["id", "text", "value"]), st.integers(), max_size=2),
)


def mutate(tree: object, path: tuple, value: object, delete: bool) -> object:
    if not path:
        return value
    parent = tree
    for key in path[:-1]:
        parent = parent[key]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return tree


@st.composite
def exports(draw) -> bytes:
    tree = [task(gold_spans())]
    kind = draw(st.sampled_from(["value", "delete", "bytes", "nest", "duplicate"]))
    if kind in ("value", "delete"):
        path = draw(st.sampled_from(json_paths(tree)))
        tree = mutate(tree, path, draw(ODD_VALUES), kind == "delete")
    if kind == "duplicate":
        tree = tree + tree
    text = json.dumps(tree, ensure_ascii=draw(st.booleans()))
    if kind == "nest":
        depth = draw(st.integers(1, 5000))
        text = "[" * depth + text + "]" * depth
    data = text.encode("utf-8", "surrogatepass")
    if kind == "bytes":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"", b"\xff\xfe", b"<html>", b"\x00", b"}"])) + data[at + 1 :]
    return data


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=exports())
def test_mutated_exports_give_exit_0_or_2_and_write_nothing(tmp_path: Path, data: bytes) -> None:
    root = (
        write_repo(tmp_path / "repo", [task(gold_spans())]) if not (tmp_path / "repo").exists() else tmp_path / "repo"
    )
    before = project_files(root)
    export = tmp_path / "export.json"
    export.write_bytes(data)
    args = ["studio", "check", str(export), "--root", str(root), "--project", "spans", "--accept-deletions"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code in (0, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert project_files(root) == before
