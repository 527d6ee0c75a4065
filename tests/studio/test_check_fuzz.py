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
    st.sampled_from(["false", "true", "", "[/x]", "[bold]doc[/bold]", "\ud800", "\u2028", "x" * 300, "12s", "AGREES"]),
    st.sampled_from([3, 2.5, [123, None], [1], {"id": 1}]),
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


# ---------------------------------------------------------------------------------------------
# the claim-pair project: the same, with a valid pair export of the fixture (c1 declares c2)


def pair_repo(root: Path) -> Path:
    spans = [s.replace(compare_with="doc-x:c2") if s.id == "c1" else s for s in gold_spans()]
    return write_repo(root, [task(spans)])


def pair_export() -> list[dict]:
    from crossclaim.formats.labelstudio.pairs import pair_results
    from crossclaim.schema.records import Pair, pair_id

    pid = pair_id("doc-x", "c1", "doc-x", "c2")
    pair = Pair(pid, "doc-x", "c1", "doc-x", "c2", "CONTRADICTS", "both cannot be true")
    data = {"pair_id": pid, "a_doc": "doc-x", "a_claim": "c1", "a_text": "a"}
    data |= {"b_doc": "doc-x", "b_claim": "c2", "b_text": "b"}
    item = {"id": 5, "completed_by": {"id": 2, "email": "b@example.org"}, "lead_time": 3.5}
    item |= {"result": pair_results(pair), "was_cancelled": False, "ground_truth": False}
    return [{"id": 11, "data": data, "annotations": [item]}]


@st.composite
def pair_exports(draw) -> bytes:
    tree = pair_export()
    kind = draw(st.sampled_from(["value", "value", "delete", "repeat"]))
    path = draw(st.sampled_from(json_paths(tree)))
    if kind == "repeat":  # a result, an annotation or a task twice
        parent = tree
        for key in path[:-1]:
            parent = parent[key]
        if isinstance(parent, list) and path:
            parent.append(json.loads(json.dumps(parent[path[-1]])))
    else:
        tree = mutate(tree, path, draw(ODD_VALUES), kind == "delete")
    return json.dumps(tree, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")


def test_the_valid_pair_export_passes(tmp_path: Path) -> None:
    root = pair_repo(tmp_path / "repo")
    export = tmp_path / "pairs.json"
    export.write_text(json.dumps(pair_export()), encoding="utf-8")
    args = ["studio", "check", str(export), "--root", str(root), "--project", "pairs"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=pair_exports())
def test_mutated_pair_exports_give_exit_0_or_2_and_write_nothing(tmp_path: Path, data: bytes) -> None:
    root = pair_repo(tmp_path / "repo") if not (tmp_path / "repo").exists() else tmp_path / "repo"
    before = project_files(root)
    export = tmp_path / "pairs.json"
    export.write_bytes(data)
    args = ["studio", "check", str(export), "--root", str(root), "--project", "pairs", "--accept-deletions"]
    result = CliRunner().invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output
    assert project_files(root) == before
    if result.exit_code == 0:  # what passes is what a pair annotation may hold: no wrong type published
        for task_ in json.loads(data):
            for item in task_.get("annotations") or []:
                lead = item.get("lead_time")
                assert lead is None or (isinstance(lead, int | float) and not isinstance(lead, bool)), lead
                if item.get("was_cancelled") or not item.get("result"):
                    continue
                names = [r["from_name"] for r in item["result"]]
                assert len(set(names)) == len(names), names
                for r in item["result"]:
                    assert all(isinstance(t, str) for t in r["value"].get("text", [])), r
