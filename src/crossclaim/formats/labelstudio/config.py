"""The Label Studio labeling configs of the span and claim-pair projects, generated from the schema."""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from crossclaim.schema.scheme import ATTRIBUTES, LAYERS, PAIR_LABEL_WHAT, PAIR_LABELS

# ---------------------------------------------------------------------------------------------
# Label Studio labeling configs


def span_config_xml() -> str:
    """Labeling config of the span project: one <Labels> per layer, per-region attributes, cues."""
    lines = ["<View>", '  <Header value="$headline"/>']
    for layer in LAYERS.values():
        lines.append(f'  <Labels name="{layer.name}" toName="text" choice="single">')
        lines += [f'    <Label value="{lab.name}" background="{layer.color}"/>' for lab in layer.labels]
        lines.append("  </Labels>")
    lines.append('  <Text name="text" value="$text"/>')
    for attr in ATTRIBUTES:
        common = (
            f'name="{attr.name}" toName="text" perRegion="true"'
            f' visibleWhen="region-selected" whenTagName="{attr.layer}"'
        )
        if attr.control == "TextArea":
            lines.append(f'  <TextArea {common} editable="true" maxSubmissions="1"/>')
        elif attr.control == "Choices":
            lines.append(f'  <Choices {common} choice="single">')
            lines += [f"    <Choice value={quoteattr(c)}/>" for c in attr.choice_values()]
            lines.append("  </Choices>")
    relations = [a.relation for a in ATTRIBUTES if a.control == "Relation"]
    if relations:
        lines += ["  <Relations>", *(f"    <Relation value={quoteattr(r)}/>" for r in relations), "  </Relations>"]
    lines += ["</View>", ""]
    return "\n".join(lines)


def pair_config_xml() -> str:
    """Labeling config of the claim-pair project: two claims in context, a label, a rationale."""
    lines = [
        "<View>",
        '  <Header value="Topic: $topic"/>',
        '  <Header value="$a_doc / $a_claim" size="6"/>',
        '  <Text name="a_text" value="$a_text"/>',
        '  <Header value="$b_doc / $b_claim" size="6"/>',
        '  <Text name="b_text" value="$b_text"/>',
        '  <Choices name="label" toName="a_text" choice="single" required="true">',
    ]
    lines += [f'    <Choice value="{lab}" hint={quoteattr(PAIR_LABEL_WHAT[lab])}/>' for lab in PAIR_LABELS]
    lines += [
        "  </Choices>",
        '  <TextArea name="rationale" toName="a_text" maxSubmissions="1" editable="true"'
        ' placeholder="Why (required for CONTRADICTS)"/>',
        "</View>",
        "",
    ]
    return "\n".join(lines)
