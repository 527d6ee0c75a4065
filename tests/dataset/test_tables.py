"""Rows of the documents and tokens configs, column by column, against values written out by hand."""

from __future__ import annotations

from crossclaim.dataset.tables import DocumentColumns, TokenColumns
from crossclaim.schema.records import Annotation, Document, Span
from crossclaim.schema.scheme import LAYERS
from crossclaim.schema.tags import TAG_NAMES

TEXT = "Xiaomiunveiled it. BYD may profit in 2025.\nNext line"
CLAIM = Span(
    "claims",
    "c1",
    19,
    42,
    "BYD may profit in 2025.",
    "CLAIM",
    {"hedged": True, "topic": "ev_profitability_timing", "cues": ("h1",), "compare_with": "doc-t:c9 doc-a:c2"},
)
SPANS = [
    CLAIM,
    Span("entities", "e2", 19, 22, "BYD", "ORG"),
    Span("entities", "e1", 0, 6, "Xiaomi", "ORG"),  # cuts the glued token
    Span("hedges", "h1", 23, 26, "may", "HEDGE"),
    Span("figures", "f1", 37, 41, "2025", "DATE"),  # no value
]


def doc(doc_id: str = "doc-a", split: str = "train") -> Document:
    return Document(doc_id, "raw/a.txt", "0" * 64, 0, len(TEXT), None, "H", ("A", "B"), None, "page", split, TEXT)


def test_a_document_row_holds_its_layers_in_order_with_the_schemas_attributes() -> None:
    columns = DocumentColumns()
    columns.add(doc(), Annotation("doc-a", "ann", SPANS, lead_time=3.5), None, {"c1"}, {"doc-t": "test"})
    columns.add(doc("doc-b", "train"), None, None, set(), {})
    first, second = columns.batch().to_pylist()
    org = LAYERS["entities"].label_names.index("ORG")
    assert [(e["id"], e["start"], e["label"]) for e in first["entities"]] == [("e1", 0, org), ("e2", 19, org)]
    assert first["figures"] == [
        {
            "id": "f1",
            "start": 37,
            "end": 41,
            "text": "2025",
            "label": LAYERS["figures"].label_names.index("DATE"),
            "value": None,
        }
    ]
    (claim,) = first["claims"]
    assert claim["hedged"] is True and claim["contradictory"] is True and claim["cues"] == ["h1"]
    assert claim["compare_with"] == "doc-a:c2"  # a train row never names a test claim
    assert (first["annotator"], first["lead_time"], first["authors"], first["task_meta"]) == (
        "ann",
        3.5,
        ["A", "B"],
        None,
    )
    assert second["annotator"] is None and all(second[layer] == [] for layer in LAYERS)


def test_token_rows_are_sentences_with_tokens_cut_at_span_boundaries_and_iob2_tags() -> None:
    columns = TokenColumns()
    columns.add("doc-a", TEXT, SPANS, {"c1"})
    columns.add("doc-e", "", [], set())
    batch, splits = columns.batch()
    rows = batch.to_pylist()
    assert splits == 1 and [(r["document_id"], r["sentence_index"]) for r in rows] == [
        ("doc-a", 0),
        ("doc-a", 1),
        ("doc-a", 2),
    ]
    assert [r["tokens"] for r in rows] == [
        ["Xiaomi", "unveiled", "it", "."],
        ["BYD", "may", "profit", "in", "2025", "."],
        ["Next", "line"],
    ]
    assert rows[2]["token_offsets"] == [[43, 47], [48, 52]]
    assert [TAG_NAMES["entity_tags"][i] for i in rows[0]["entity_tags"]] == ["B-ORG", "O", "O", "O"]
    claims = [TAG_NAMES["contradictory_claim_tags"][i] for i in rows[1]["contradictory_claim_tags"]]
    assert claims == ["B-CLAIM"] + ["I-CLAIM"] * 5
    assert [TAG_NAMES["figure_tags"][i] for i in rows[1]["figure_tags"]] == ["O"] * 4 + ["B-DATE", "O"]
