"""The gold follows the conventions of annotations/GUIDELINES.md where a machine can check them.

Unit rule (4.2): one unit lemma per counted concept, whatever noun the article writes. Year rule (4.3):
relative dates resolve against the publication date the page states or fixes itself, never against
another article; ``-late`` is written where the span says it, never from a word outside the span. Claim
rule (6.1): an unhedged claim is annotated only to be compared, so it takes part in a pair.
"""

from __future__ import annotations

import re

import pytest
from conftest import REPO

from crossclaim.dataset.gold import Gold, load_gold

# The counted nouns met in the corpus, as written, and the one unit lemma of their concept (GUIDELINES 4.2).
COUNTED_NOUNS = {
    "car": ("electric vehicles", "cars", "units", "EVs"),
    "person": ("university students", "people"),
    "user": ("monthly active users",),
    "pre-order": ("pre-orders",),
}
# Measures whose unit is not a noun after the span: an age in decades is counted in years.
MEASURES = {"thirties": "year"}
RATE = re.compile(r" an? (month|week|day|year)\b")
# Relative date expressions: without a publication year they keep X for the year (GUIDELINES 4.3).
RELATIVE = re.compile(
    r"^(this year|last year|the year|last month|the second half of the year|the first quarter( of the year)?|H[12]|"
    r"the end of this year|(January|February|March|April|May|June|July|August|September|October|November|December))$",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def gold() -> Gold:
    return load_gold(REPO / "annotations")


def figures(gold: Gold, label: str):
    for doc in gold.docs:
        for span in gold.spans(doc.id):
            if span.layer == "figures" and span.label == label:
                yield doc, span


def expected_unit(text: str, span) -> str | None:
    """The unit the rule gives a QUANTITY: the lemma of the counted noun after the span (and a rate's period)."""
    if span.text in MEASURES:
        return MEASURES[span.text]
    after = text[span.end :].removeprefix(" of")
    for lemma, nouns in COUNTED_NOUNS.items():
        for noun in nouns:
            if after.startswith(" " + noun):
                rate = RATE.match(after[len(noun) + 1 :])
                return f"{lemma}/{rate.group(1)}" if rate else lemma
    return None


def test_one_unit_lemma_per_counted_concept(gold):
    seen = 0
    for doc, span in figures(gold, "QUANTITY"):
        unit = str(span.attrs["value"]).split(" ", 1)[1]
        want = expected_unit(doc.text, span)
        assert want is not None, f"{doc.id}:{span.id} {span.text!r}: counted noun not in the declared table"
        assert unit == want, f"{doc.id}:{span.id} {span.text!r}: unit {unit!r}, the rule gives {want!r}"
        seen += 1
    assert seen >= 10  # the corpus's quantities were all looked at


def test_the_declared_table_gives_each_written_noun_one_lemma():
    nouns = [n for ns in COUNTED_NOUNS.values() for n in ns]
    assert len(nouns) == len(set(nouns))


def test_no_unknown_year_in_a_page_that_fixes_its_year(gold):
    dated = {d.id for d in gold.docs if d.publication_date}
    assert "doc-000" in dated  # its own statements fix 2025 (GUIDELINES 4.3)
    bad = [
        f"{doc.id}:{s.id} {s.text!r} = {s.attrs['value']}"
        for doc, s in figures(gold, "DATE")
        if doc.id in dated and "X" in str(s.attrs["value"])[:4]
    ]
    assert not bad


def test_relative_dates_of_an_undated_page_borrow_no_year(gold):
    undated = {d.id for d in gold.docs if not d.publication_date}
    relative = [(doc, s) for doc, s in figures(gold, "DATE") if doc.id in undated and RELATIVE.match(s.text)]
    assert relative  # doc-004's "last month", "last year", "the year", "March"
    assert all(str(s.attrs["value"]).startswith("XXXX") for _, s in relative), [
        (d.id, s.text, s.attrs["value"]) for d, s in relative
    ]


def test_late_is_written_where_the_span_says_it(gold):
    """ "late 2023" and "the end of this year" are ``-late``; "before the year ends" is span "the year", whose
    value is the year: "ends" is the event, outside the span like "before" (GUIDELINES 4.3, Gold 1.2)."""
    says = re.compile(r"\b(late|end)\b", re.IGNORECASE)
    dates = list(figures(gold, "DATE"))
    wrong = [
        (doc.id, s.text, s.attrs["value"])
        for doc, s in dates
        if str(s.attrs["value"]).endswith("-late") != bool(says.search(s.text))
    ]
    assert not wrong
    assert (
        sum(str(s.attrs["value"]).endswith("-late") for _, s in dates) >= 3
    )  # "late 2023", "late May", "the end of ..."
    outside = [(doc.id, s.attrs["value"]) for doc, s in dates if doc.text[s.end :].startswith(" ends")]
    assert outside and all(not str(v).endswith("-late") for _, v in outside)  # doc-004 "before the year ends"


def test_rationales_do_not_call_a_dated_page_undated(gold):
    dated = {d.id for d in gold.docs if d.publication_date}
    bad = [
        p.id
        for p in gold.pairs
        for doc in dated
        if re.search(rf"{doc}'s (date is unknown|year is unstated)", p.rationale)
    ]
    assert not bad


def test_every_unhedged_claim_is_compared(gold):
    paired = {(p.a_doc, p.a_claim) for p in gold.pairs} | {(p.b_doc, p.b_claim) for p in gold.pairs}
    unhedged = [key for key, claim in gold.claims().items() if claim.attrs.get("hedged") is False]
    assert len(unhedged) >= 20
    lonely = [f"{d}:{c}" for d, c in unhedged if (d, c) not in paired]
    assert not lonely


# What each blind pass's edition of the guidelines quotes of the gold (DATASHEET.md and ADJUDICATION.md
# state it): a text counts as quoted when it stands inside one of the edition's double-quoted examples.
QUOTED_CLAIMS = {  # the gold claims the claim and pair editions still quote, as examples of other rules
    "worries that China’s EV sector is about to sink into another price war",
    "an expected launch in July",
    "Xiaomi’s EV Division Set for Profits in 2023",
}


def quoted_gold(edition: str, gold: Gold, docs: tuple[str, ...], layer: str) -> tuple[set[str], set[str]]:
    """(the distinct gold texts of ``layer`` in ``docs`` quoted by the edition, all those texts)."""
    texts = {s.text for d in docs for s in gold.gold[d].spans if s.layer == layer}
    examples = re.findall(r'"([^"]+)"', edition)
    return {t for t in texts if any(t in example for example in examples)}, texts


def test_the_blind_editions_quote_of_the_gold_what_the_datasheet_says(gold: Gold) -> None:
    editions = {p.parent.name: p.read_text(encoding="utf-8") for p in (REPO / "annotations" / "passes").glob("*/*")}
    assert set(editions) == {"blind-1.2", "blind-1.2-efh", "blind-1.2-pairs"}
    for name in ("blind-1.2", "blind-1.2-pairs"):
        quoted, _ = quoted_gold(editions[name], gold, tuple(gold.gold), "claims")
        assert quoted == QUOTED_CLAIMS, name
        counts = [tuple(map(len, quoted_gold(editions[name], gold, ("doc-000", "doc-002"), layer))) for layer in
                  ("entities", "figures", "hedges")]  # fmt: skip
        assert counts == [(20, 20), (17, 17), (12, 14)], name  # every entity and figure text
    efh = editions["blind-1.2-efh"]
    assert quoted_gold(efh, gold, tuple(gold.gold), "claims")[0] == set()
    assert quoted_gold(efh, gold, ("doc-000", "doc-002"), "entities")[0] == set()
    figures = quoted_gold(efh, gold, ("doc-000", "doc-002"), "figures")[0]
    assert figures == {"this year", "weeks", "years"}  # words of its invented examples ("earlier this year")
