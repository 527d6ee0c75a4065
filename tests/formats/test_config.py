"""The generated labeling configs: what the editor needs to show each control where it belongs.

Label Studio's own behaviour with these configs (visibility, required checks, hotkeys) is checked in a
real browser by tests/studio/test_browser.py; here, that the XML says what the schema declares.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from conftest import TEXT, doc, gold_spans

from crossclaim.formats.labelstudio.config import pair_config_xml, span_config_xml
from crossclaim.formats.labelstudio.pairs import pair_task_data
from crossclaim.formats.labelstudio.spans import task_data
from crossclaim.schema.scheme import (
    ATTRIBUTES,
    COMPARE_WITH_RULE,
    LAYERS,
    PAIR_LABELS,
    RATIONALE_REQUIRED,
    TOPICS,
    VALUE_RULES,
)

LS_REFERENCE = re.compile(r"\$[\w[\].{}]+")  # what Label Studio replaces by task data (utils/data.js parseValue)
LS_KEYS = {"u", "h", "r"}  # single keys Label Studio binds itself in a text task


def parsed(xml: str) -> tuple[ET.Element, dict[ET.Element, ET.Element]]:
    root = ET.fromstring(xml)
    return root, {child: parent for parent in root.iter() for child in parent}


def control(root: ET.Element, name: str) -> ET.Element:
    (el,) = [e for e in root.iter() if e.get("name") == name]
    return el


def test_each_per_region_control_shows_for_the_labels_of_its_layer_under_a_heading() -> None:
    root, parent = parsed(span_config_xml())
    edited = [a for a in ATTRIBUTES if a.control in ("TextArea", "Choices")]
    assert {a.name for a in edited} == {"value", "hedged", "topic", "compare_with"}
    for attr in edited:
        el = control(root, attr.name)
        labels = ",".join(LAYERS[attr.layer].label_names)
        assert el.tag == attr.control and el.get("perRegion") == "true"
        assert (el.get("whenTagName"), el.get("whenLabelValue")) == (attr.layer, labels)
        assert (el.get("required") == "true") == attr.required and attr.name in (el.get("requiredMessage") or attr.name)
        view = parent[el]
        assert view.tag == "View" and view.get("visibleWhen") == "region-selected"
        assert (view.get("whenTagName"), view.get("whenLabelValue")) == (attr.layer, labels)
        assert attr.name in [h.get("value") for h in view.iter("Header")]


def test_every_figure_label_and_the_claims_compare_with_show_their_grammar_with_two_examples() -> None:
    root, _ = parsed(span_config_xml())
    hints = {m.get("whenLabelValue"): m.get("value") for m in root.iter("Markdown") if m.get("whenLabelValue")}
    assert set(hints) == set(VALUE_RULES) | {"CLAIM"} and set(VALUE_RULES) == set(LAYERS["figures"].label_names)
    for label, rule in [*VALUE_RULES.items(), ("CLAIM", COMPARE_WITH_RULE)]:
        shown = hints[label].replace("&#36;", "$")  # Markdown shows the entity as "$"
        assert rule.form in shown
        for raw, value in rule.examples[:2]:
            assert f'"{raw}" → `{value}`' in shown


def test_each_topic_shows_its_one_line_description_and_stores_its_key() -> None:
    root, _ = parsed(span_config_xml())
    choices = {c.get("value"): c.get("html") for c in control(root, "topic").iter("Choice")}
    assert list(choices) == list(TOPICS)
    for key, topic in TOPICS.items():
        text = re.sub(r"<[^>]+>", "", choices[key]).replace("&#x27;", "'").replace("&quot;", '"')
        assert text.startswith(f"{key} {topic.what}")
        assert ("catch-all" in text) == topic.catch_all


def test_hotkeys_do_not_clash_with_each_other_or_label_studio() -> None:
    for xml in (span_config_xml(), pair_config_xml()):
        root, _ = parsed(xml)
        keyed = [e for e in root.iter() if e.tag in ("Label", "Choice")]
        keys = [e.get("hotkey") for e in keyed]
        assert None not in keys, "an element without a hotkey gets one assigned by Label Studio"
        assert len(set(keys)) == len(keys) and not set(keys) & LS_KEYS
        assert all(len(k) == 1 for k in keys)


def test_every_task_data_reference_is_a_field_of_the_task() -> None:
    claims = {("doc-x", s.id): s for s in gold_spans() if s.layer == "claims"}
    pair = {"pair_id": "p", "a_doc": "doc-x", "a_claim": "c1", "a_text": "a"}
    pair |= {"b_doc": "doc-x", "b_claim": "c2", "b_text": "b"}
    tasks = [
        (span_config_xml(), task_data(doc("doc-x", TEXT, "test"))),
        (pair_config_xml(), pair_task_data(pair, {"doc-x": doc("doc-x", TEXT, "test")}, claims)),
    ]
    for xml, data in tasks:
        root, _ = parsed(xml)
        used = {ref[1:] for e in root.iter() for v in e.attrib.values() for ref in LS_REFERENCE.findall(v)}
        assert used and used <= set(data), used - set(data)
    assert {"a_topic", "b_topic"} <= used, "the pair screen shows each claim's own topic"


def test_the_pair_label_is_required_and_the_rationale_for_the_labels_that_need_one() -> None:
    root, _ = parsed(pair_config_xml())
    label = control(root, "label")
    assert label.get("required") == "true" and [c.get("value") for c in label.iter("Choice")] == list(PAIR_LABELS)
    rationale = control(root, "rationale")
    assert rationale.get("required") == "true" and rationale.get("visibleWhen") == "choice-selected"
    assert rationale.get("whenTagName") == "label" and rationale.get("whenChoiceValue") == ",".join(RATIONALE_REQUIRED)
    assert [h.get("name") for h in root.iter("HyperText")] == ["a_text", "b_text"]  # the results' to_name


def test_every_label_has_a_colour_of_its_own_from_the_schema() -> None:
    """A label swapped for another of its layer (a hotkey pressed with a region selected) must show."""
    from crossclaim.schema.scheme import label_colors

    root, _ = parsed(span_config_xml())
    shown = {(labels.get("name"), lab.get("value")): lab.get("background") for labels in root.iter("Labels")
             for lab in labels.iter("Label")}  # fmt: skip
    assert shown == label_colors()
    assert len(set(shown.values())) == len(shown) == sum(len(layer.labels) for layer in LAYERS.values())
    for layer in LAYERS.values():
        assert shown[(layer.name, layer.labels[0].name)] == layer.color
        assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in shown.values())
