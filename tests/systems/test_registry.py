"""The system interface and registry: training sets, pair queries, finding systems by name."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest
from conftest import make_gold

from crossclaim.errors import InputError
from crossclaim.systems import BUILTIN, ENTRY_POINT_GROUP, System, make_system, pair_queries, system_names, training_set


def test_training_set_keeps_only_pairs_inside_the_training_documents() -> None:
    gold = make_gold()
    train = [d for d in gold.docs if d.id in ("doc-a", "doc-c")]
    ts = training_set(train, gold.spans, gold.pairs)
    assert {d.id for d in ts.docs} == {"doc-a", "doc-c"} and set(ts.spans) == {"doc-a", "doc-c"}
    assert all({p.a_doc, p.b_doc} <= {"doc-a", "doc-c"} for p in ts.pairs) and len(ts.pairs) == 2
    assert ts.contradictory == {"doc-a": {"c1", "c2"}, "doc-c": {"c1", "c2"}}


def test_pair_queries_withhold_the_label_and_follow_pair_id_order() -> None:
    gold = make_gold()
    queries = pair_queries(gold.pairs, {d.id: d for d in gold.docs}, gold.claims())
    assert [q.id for q in queries] == sorted(p.id for p in gold.pairs)
    assert not any(hasattr(q, "label") for q in queries)
    q = queries[0]
    assert q.a.claim.text == q.a.doc.text[q.a.claim.start : q.a.claim.end]


def test_builtin_systems_load_by_name() -> None:
    assert system_names()[: len(BUILTIN)] == list(BUILTIN)
    regex = make_system("regex")
    assert isinstance(regex, System) and not regex.learned


def test_unknown_and_shadowing_and_broken_systems_are_input_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputError, match="unknown"):
        make_system("no-such-system")
    points = [
        EntryPoint("regex", "crossclaim.baselines.crf:CrfSystem", ENTRY_POINT_GROUP),
        EntryPoint("broken", "no_such_module:Thing", ENTRY_POINT_GROUP),
        EntryPoint("not-a-system", "builtins:object", ENTRY_POINT_GROUP),
    ]
    monkeypatch.setattr("crossclaim.systems.registry.entry_points", lambda group: points)
    with pytest.raises(InputError, match="shadows a built-in baseline"):
        make_system("regex")
    with pytest.raises(InputError, match="cannot be loaded"):
        make_system("broken")
    with pytest.raises(InputError, match="did not return an object with predict"):
        make_system("not-a-system")
    assert system_names() == [*BUILTIN, "broken", "not-a-system"]
