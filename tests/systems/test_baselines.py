"""Baselines: the rules on the spec's examples, the fast scanner, and every system's contract."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REPO, make_gold
from crossclaim.baselines import figures, regex
from crossclaim.baselines.figures import FIGURE_RE, _scan, find_figures, normalise
from crossclaim.baselines.regex import (
    RegexSystem,
    clause,
    dates_compatible,
    find_hedges,
    label_pairs,
    pair_label,
)
from crossclaim.baselines.spacy_sm import adapt, is_duration, load_model, map_entity

from crossclaim.formats.manifest import load_manifest
from crossclaim.formats.predictions import parse_predictions, to_jsonl
from crossclaim.schema.scheme import VALUE_RULES
from crossclaim.systems.base import pair_queries, training_set
from crossclaim.systems.cache import ENV as CACHE_ENV
from crossclaim.systems.registry import BUILTIN, make_system, system_names

# ---------------------------------------------------------------------------------------------
# figures


@pytest.mark.parametrize(
    ("text", "date", "expected"),
    [
        ("pledging to invest over $10 billion", None, [("$10 billion", "MONEY", "USD 10000000000")]),
        ("a loss of 500 million yuan", None, [("500 million yuan", "MONEY", "CNY 500000000")]),
        ("sales rose 15% on", None, [("15%", "PERCENT", "15")]),
        ("BYD cut prices by a third of", None, [("a third", "PERCENT", "33.33")]),
        ("it sold almost 76,000 cars", None, [("76,000", "QUANTITY", "76000 car")]),
        ("with 673 horsepower and", None, [("673 horsepower", "QUANTITY", "673 hp")]),
        ("in the second half of the year", "2025-06-04", [("the second half of the year", "DATE", "2025-H2")]),
        ("in the second half of the year", None, [("the second half of the year", "DATE", "XXXX-H2")]),
        # a publication date known only to the year fixes the year, not the month (guidelines 4.3)
        ("in the second half of the year", "2025", [("the second half of the year", "DATE", "2025-H2")]),
        ("launched earlier this year", "2025", [("this year", "DATE", "2025")]),
        ("in May, with", "2025", [("May", "DATE", "2025-05")]),
        ("last month, people", "2025", [("last month", "DATE", "XXXX-XX")]),
        ("results for Q1 2025 show", None, [("Q1 2025", "DATE", "2025-Q1")]),
        ("unveiled in late 2023.", None, [("late 2023", "DATE", "2023-late")]),
        ("after 15 months of", None, [("15 months", "DURATION", "P15M")]),
        ("over the next decade.", None, [("the next decade", "DURATION", "P10Y")]),
        ("in just three minutes", None, [("three minutes", "DURATION", "PT3M")]),
        ("Xiaomi sells just 20,000 cars a month, a", None, [("20,000", "QUANTITY", "20000 car/month")]),
        ("delivered 300,000 electric vehicles", None, [("300,000", "QUANTITY", "300000 vehicle")]),
        ("last month, people", "2025-06-04", [("last month", "DATE", "2025-05")]),
        ("last month, people", None, [("last month", "DATE", "XXXX-XX")]),
        ("tens of thousands of pre-orders", None, [("tens of thousands", "QUANTITY", "10000..99999 pre-order")]),
        ("rivals Tesla’s Model 3 and BYD", None, []),
    ],
)
def test_figures_of_the_spec_with_values(text: str, date: str | None, expected: list) -> None:
    got = [(text[f.start : f.end], f.label, f.value) for f in find_figures(text, date)]
    assert got == expected


def test_values_fit_the_grammar_on_the_whole_corpus() -> None:
    for doc in load_manifest(REPO / "annotations"):
        for f in find_figures(doc.text, doc.publication_date):
            assert f.value is None or VALUE_RULES[f.label].matches(f.value), (
                doc.id,
                doc.text[f.start : f.end],
                f.value,
            )


def test_guarded_scanner_finds_exactly_what_the_plain_alternation_finds() -> None:
    synthetic = " ".join(
        f"{w} 2025, {w} 12 months ago; US$3.5bn, HK$2 m, ¥40; MercilliJune 4, 2025 {w} the next 3 years"
        for w in ("Twenty-five", "a few", "thirties", "H2", "2H 2024", "May be", "In May", "the end of 2025")
    )
    for text in [d.text for d in load_manifest(REPO / "annotations")] + [synthetic]:
        assert [m.span() for m in _scan(text)] == [m.span() for m in FIGURE_RE.finditer(text)]


def test_normalise_serves_spans_found_by_other_systems() -> None:
    assert normalise("MONEY", "US$2.5 billion", "", None) == "USD 2500000000"
    assert normalise("DATE", "the first quarter of 2025", "", None) == "2025-Q1"
    assert normalise("DURATION", "two years", "", None) == "P2Y"
    assert normalise("QUANTITY", "200,000", " people snapped up", None) == "200000 person"
    assert normalise("PERCENT", "no number", "", None) is None


@pytest.mark.parametrize(
    ("label", "text", "value"),
    [
        ("DURATION", "nan years", "PXY"),  # a word that Decimal reads, not a number
        ("DURATION", "infinity months", "PXM"),
        ("DURATION", "several quarters", "PXM"),
        ("MONEY", "$12345678901234567890123456789.5", "USD 12345678901234567890123456789.5"),  # past 28 digits
        ("QUANTITY", "lots", None),
        ("PERCENT", "%", None),
        ("MONEY", "dollars", None),
    ],
)
def test_generic_parses_take_any_text_and_say_none_without_a_value(label: str, text: str, value: str | None) -> None:
    # nothing catches an exception in ``normalise``: a text with no value gives None (or X) by design
    assert normalise(label, text, "", None) == value


def test_one_rule_per_kind_of_figure_builds_the_master_expression() -> None:
    kinds = [r.kind for r in figures.RULES]
    groups = sorted(FIGURE_RE.groupindex, key=FIGURE_RE.groupindex.__getitem__)
    assert len(set(kinds)) == len(kinds) and groups == kinds  # one named group per rule, in priority order
    assert all(r.forms and r.label in VALUE_RULES for r in figures.RULES)
    m = FIGURE_RE.fullmatch("12 March 2025")  # the second form of its rule
    assert m is not None and figures.rule_of(m) is figures.RULE_OF["date_full"]


# ---------------------------------------------------------------------------------------------
# hedges, claims, pairs


def test_hedge_cues_skip_backshifted_would_and_forecast_nouns() -> None:
    text = "Lei Jun stated that Xiaomi would explore it. This integration would help. This bold forecast could fail."
    assert [text[s:e] for s, e in find_hedges(text)] == ["would", "could"]
    other = "Xiaomi Set to Expand. It looks promising. A promising start."
    assert [other[s:e] for s, e in find_hedges(other)] == ["Set to", "promising"]


@pytest.mark.parametrize(
    ("sentence", "cue", "claim"),
    [
        ("Moreover, Xiaomi could integrate its ecosystem.", "could", "Xiaomi could integrate its ecosystem"),
        ("Lei Jun seems to know this—and is betting on it.", "seems", "Lei Jun seems to know this"),
        ("And that may be all he needs—again.", "may", "that may be all he needs—again"),
        ("It needs capital, which could impact its finances.", "could", "which could impact its finances"),
        ("Lei Jun has gone on record predicting a turnaround.", "predicting", "predicting a turnaround"),
        ("Looking ahead, Xiaomi has hinted at ambitions to expand.", "hinted", "hinted at ambitions to expand"),
        ("It is known for AI, and it’s likely that cars will follow.", "likely", "it’s likely that cars will follow"),
    ],
)
def test_claim_is_the_clause_around_the_cue(sentence: str, cue: str, claim: str) -> None:
    s, e = clause(sentence, sentence.index(cue), sentence.index(cue) + len(cue))
    assert sentence[s:e] == claim


def test_pair_labels_compare_normalised_values() -> None:
    launch_2025 = find_figures("the SU7 launched in 2025", None)
    launch_2024 = find_figures("the SU7 launched in March 2024", None)
    assert pair_label(launch_2025, launch_2024, {"launch"}, {"launch"}) == "CONTRADICTS"
    assert pair_label(launch_2024, launch_2024, {"launch"}, {"launch"}) == "AGREES"
    assert pair_label(launch_2025, launch_2024, {"launch"}, {"unveil"}) == "UNRELATED"
    assert pair_label(launch_2025, [], set(), set()) == "UNRELATED"
    assert dates_compatible("XXXX-H2", "2025-09") and not dates_compatible("2025-H1", "2025-09")


def test_regex_labels_every_query() -> None:
    gold = make_gold()
    queries = pair_queries(gold.pairs, {d.id: d for d in gold.docs}, gold.claims())
    labels = label_pairs(queries)
    assert sorted(labels) == sorted(p.id for p in gold.pairs)
    assert labels[gold.pairs[0].id] == "CONTRADICTS"  # launched in late 2023 vs launched in March 2024


# ---------------------------------------------------------------------------------------------
# spaCy mapping


def test_spacy_model_loads_offline_and_is_3_8_0() -> None:
    nlp = load_model()
    assert nlp.meta["version"] == "3.8.0" and nlp.pipe_names == ["tok2vec", "ner"]


def test_ontonotes_mapping_and_adapters() -> None:
    assert map_entity("GPE", "China") == ("entities", "LOC")
    assert map_entity("NORP", "Chinese") is None
    assert map_entity("DATE", "15 months") == ("figures", "DURATION")
    assert map_entity("DATE", "last year") == ("figures", "DATE")
    assert is_duration("the next decade") and not is_duration("this year")
    assert adapt("figures", "more than 300,000", 10, 27) == (20, 27)
    assert adapt("entities", "Xiaomi’s", 0, 8) == (0, 6)


# ---------------------------------------------------------------------------------------------
# every system: deterministic, valid output, same interface


@pytest.mark.parametrize("name", list(BUILTIN))
def test_every_baseline_is_deterministic_and_writes_valid_predictions(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gold = make_gold()
    docs = [d for d in gold.docs if d.split == "test"]
    queries = pair_queries(gold.pairs, {d.id: d for d in gold.docs}, gold.claims())
    runs = []
    for run in range(2):
        monkeypatch.setenv(CACHE_ENV, str(tmp_path / str(run)))  # an empty model cache: both runs train
        system = make_system(name)
        system.fit(training_set(gold.docs, gold.spans, gold.pairs))
        runs.append(to_jsonl(system.predict(docs, queries), docs, gold.pairs))
    assert runs[0] == runs[1]
    back = parse_predictions(runs[0], name, gold.docs, gold.pairs)  # the validator accepts it
    assert back.layers == make_system(name).layers
    assert (back.pairs is not None) == make_system(name).labels_pairs


def test_registry_lists_builtins_first() -> None:
    assert system_names()[:6] == ["regex", "crf", "spacy-sm", "sentence-logreg", "spacy-sm-ft", "minilm"]
    assert isinstance(make_system("regex"), RegexSystem)
    assert figures.RULES and regex.HEDGE_WORDS
