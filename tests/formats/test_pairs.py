"""A claim pair's task data: each claim highlighted in its sentence, escaped, with its document's context."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from conftest import doc

from crossclaim.errors import InputError
from crossclaim.formats.labelstudio.pairs import PAIR_FIELDS, pair_task_data, parse_pair_tasks
from crossclaim.schema.records import Document, Span, pair_id

TEXT = 'Intro line\nRivals said <b>"no"</b> & more. Xiaomi could sell 5 < 6 cars in 2025. Last one.'


class Shown(HTMLParser):
    """What a browser shows of the HTML: its text, the text inside <mark>, and which tags there are."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.text, self.marked, self.tags, self.inside = "", "", [], False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.inside = tag == "mark"

    def handle_endtag(self, tag):
        self.inside = False

    def handle_data(self, data):
        self.text += data
        self.marked += data if self.inside else ""


def claim(cid: str, text: str) -> Span:
    start = TEXT.index(text)
    return Span("claims", cid, start, start + len(text), text, "CLAIM", {"hedged": False, "topic": "t"})


def data_for(document: Document, a: str, b: str) -> dict:
    claims = {("d", "c1"): claim("c1", a), ("d", "c2"): claim("c2", b)}
    pair = {"pair_id": "p", "topic": "old", "a_doc": "d", "a_claim": "c1", "a_text": a, "b_doc": "d", "b_claim": "c2"}
    return pair_task_data({**pair, "b_text": b, "stale": "x"}, {"d": document}, claims)  # extra fields: dropped


def test_each_claim_is_marked_in_its_sentence_and_everything_else_is_escaped() -> None:
    data = data_for(doc("d", TEXT, "test"), "Xiaomi could sell 5 < 6 cars in 2025", 'said <b>"no"</b>')
    context = ("topic", "html", "headline", "publisher", "date")  # what the pair config shows beside each claim
    assert set(data) == set(PAIR_FIELDS) | {f"{side}_{f}" for side in "ab" for f in context}
    assert "topic" not in data, "a pair holds two topics, each claim's own (a_topic, b_topic)"
    a, b = Shown(data["a_html"]), Shown(data["b_html"])
    assert a.tags == b.tags == ["mark"], "the highlight is the only markup"
    assert (a.text, a.marked) == ("Xiaomi could sell 5 < 6 cars in 2025.", "Xiaomi could sell 5 < 6 cars in 2025")
    assert (b.text, b.marked) == ('Rivals said <b>"no"</b> & more.', 'said <b>"no"</b>')


def test_the_documents_context_is_shown_and_missing_metadata_says_so() -> None:
    known = Document(
        "d", "raw/x.txt", "0" * 64, 0, len(TEXT), "Test Daily", "A headline", (), "2025-06-04", "t", "x", TEXT
    )
    data = data_for(known, "Intro", "Last one")
    assert (data["a_headline"], data["a_publisher"], data["a_date"]) == ("A headline", "Test Daily", "2025-06-04")
    assert (data["a_html"], data["b_html"]) == ("<mark>Intro</mark> line", "<mark>Last one</mark>.")
    data = data_for(doc("d", TEXT, "test", date=None), "Intro", "Last one")
    context = (data["b_headline"], data["b_publisher"], data["b_date"])
    assert context == ("(no headline)", "publisher unknown", "date unknown")


def test_a_result_whose_from_name_is_not_a_string_is_refused_in_one_line() -> None:
    names = ("a_doc", "a_claim", "b_doc", "b_claim")
    task = dict(zip(names, ("doc-x", "c1", "doc-x", "c2"), strict=True)) | {"a_text": "a", "b_text": "b"}
    task["pair_id"] = pair_id("doc-x", "c1", "doc-x", "c2")
    item = {"from_name": [123, None], "type": "choices", "value": {"choices": ["AGREES"]}}
    with pytest.raises(InputError, match=r"from_name \[123, None\] is not in the pair config"):
        parse_pair_tasks([{"id": 1, "data": task, "annotations": [{"completed_by": 1, "result": [item]}]}], "x")
