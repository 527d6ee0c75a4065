"""The Label Studio labeling configs of the span and claim-pair projects, generated from the schema.

What the generated XML relies on was checked in headless Chromium against Label Studio 1.23.2
(``tests/studio/test_browser.py`` keeps checking it):

- A per-region ``TextArea`` ignores ``whenTagName`` for display; only ``whenLabelValue`` (a list) hides
  it, so every per-region control names the labels of its layer (which ``required`` then follows).
- ``Header`` has no visibility of its own: it sits in a ``View`` with the control's ``visibleWhen``.
- ``$name`` in a ``Markdown`` value reads task data (``$10``: field "10"): static ``$`` is an HTML entity.
- Controls without a ``hotkey`` get the next of ``HOTKEYS`` after the explicit ones, so every label and
  choice gets an explicit one from that sequence: none clash.
- ``<Choice alias="true">`` crashes the editor: a choice's note is shown through ``html``.
"""

from __future__ import annotations

from collections.abc import Iterator
from html import escape
from xml.sax.saxutils import quoteattr

from crossclaim.schema.scheme import (
    ATTRIBUTES,
    LAYERS,
    PAIR_LABEL_WHAT,
    PAIR_LABELS,
    RATIONALE_REQUIRED,
    Attribute,
    label_colors,
)

# Label Studio's own order for assigning hotkeys (it leaves out h, r and u, which it binds itself).
HOTKEYS = "1234567890qwetasdfgzxcvbyiopjklnm"

STYLE = """  <Style>
    .cc-labels { display: flex; flex-wrap: wrap; column-gap: 16px; }
    .cc-grid { display: grid; grid-template-columns: minmax(0, 1fr) minmax(300px, 1fr); gap: 16px; align-items: start; }
    .cc-side { position: sticky; top: 0; padding: 4px 12px; border-left: 3px solid #ddd; }
    .cc-hint { font-size: 13px; color: #555; margin-bottom: 4px; }
    .cc-note { font-size: 12px; color: #666; }
    .cc-pair { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
    .cc-card { border: 1px solid #ddd; border-radius: 6px; padding: 8px 12px; }
    .cc-card mark { background: #ffe08a; padding: 0 2px; border-radius: 2px; }
  </Style>"""
META_STYLE = "font-size: 13px; font-weight: normal; color: #555; margin: 0 0 6px 0"


def _md(text: str) -> str:
    """A quoted Markdown value shown as written: ``$`` would start a task-data reference."""
    return quoteattr(text.replace("$", "&#36;"))


def _key(keys: Iterator[str]) -> str:
    key = next(keys, None)
    return f' hotkey="{key}"' if key else ""


def _choice(value: str, note: str, keys: Iterator[str]) -> str:
    """One choice, its value in bold and its one-line note beside it (``html`` shows, ``value`` is stored)."""
    html = f'<b>{escape(value)}</b> <span class="cc-note">{escape(note)}</span>' if note else None
    shown = f" html={quoteattr(html)}" if html else ""
    return f"<Choice value={quoteattr(value)}{shown}{_key(keys)}/>"


def _attribute(attr: Attribute, when: str, keys: Iterator[str]) -> list[str]:
    """Heading, hint and control of one per-region attribute (``when``: the layer's visibility)."""
    layer = LAYERS[attr.layer]
    pad = "        "
    lines = [
        f'{pad}<Header value="{attr.name}" size="5"/>',
        f'{pad}<Markdown className="cc-hint" value={_md(attr.what)}/>',
    ]
    message = quoteattr(f'"{attr.name}" is required for every {layer.noun}.')
    required = f' required="true" requiredMessage={message}' if attr.required else ""
    control = f'name="{attr.name}" toName="text" perRegion="true" {when}{required}'
    if attr.control == "TextArea":
        for label in layer.label_names:
            rule = attr.rules.get(label)
            if rule is not None:
                examples = "; ".join(f'"{raw}" → `{value}`' for raw, value in rule.examples[:2])
                hint = f"**{label}**: {rule.form}. {examples}"
                lines.append(
                    f'{pad}<Markdown visibleWhen="region-selected" whenLabelValue="{label}" className="cc-hint"'
                    f" value={_md(hint)}/>"
                )
        placeholder = quoteattr(f"{attr.name} (see the hint), then Enter")
        lines.append(f'{pad}<TextArea {control} editable="true" maxSubmissions="1" placeholder={placeholder}/>')
    elif attr.control == "Choices":
        layout = ' layout="inline"' if attr.kind == "bool" else ""
        lines.append(f'{pad}<Choices {control} choice="single-radio"{layout}>')
        lines += [f"{pad}  {_choice(c, attr.notes.get(c, ''), keys)}" for c in attr.choice_values()]
        lines.append(f"{pad}</Choices>")
    elif attr.control == "Relation":
        target = LAYERS[attr.refs].noun if attr.refs else "region"
        how = (
            f"To draw one: select the {layer.noun}, press Alt+R (or the Create Relation button), click the {target},"
            f" then pick the label *{attr.relation}* in the Relations tab."
        )
        lines.append(f'{pad}<Markdown className="cc-hint" value={_md(how)}/>')
    return lines


def span_config_xml() -> str:
    """Labeling config of the span project: one <Labels> per layer, the text beside a column with the
    selected region's attributes (each shown only for the labels of its layer), and the relations."""
    keys = iter(HOTKEYS)
    colors = label_colors()
    lines = ["<View>", STYLE, '  <Header value="$headline"/>', '  <View className="cc-labels">']
    for layer in LAYERS.values():
        lines.append(f'    <Labels name="{layer.name}" toName="text" choice="single">')
        lines += [
            f'      <Label value="{lab.name}" background="{colors[(layer.name, lab.name)]}"{_key(keys)}/>'
            for lab in layer.labels
        ]
        lines.append("    </Labels>")
    lines.append("  </View>")
    edited = [a for a in ATTRIBUTES if a.control]
    layers = list(dict.fromkeys(a.layer for a in edited))
    nouns = " or ".join(LAYERS[name].noun for name in layers)
    lines += [
        '  <View className="cc-grid">',
        '    <Text name="text" value="$text"/>',
        '    <View className="cc-side">',
        '      <View visibleWhen="no-region-selected">',
        f'        <Markdown className="cc-hint" value={_md(f"Select a {nouns} to edit its attributes.")}/>',
        "      </View>",
    ]
    for name in layers:
        labels = ",".join(LAYERS[name].label_names)
        when = f'visibleWhen="region-selected" whenTagName="{name}" whenLabelValue="{labels}"'
        lines.append(f"      <View {when}>")
        for attr in edited:
            if attr.layer == name:
                lines += _attribute(attr, when, keys)
        lines.append("      </View>")
    lines += ["    </View>", "  </View>"]
    relations = [a.relation for a in edited if a.control == "Relation"]
    if relations:
        lines += ["  <Relations>", *(f"    <Relation value={quoteattr(r)}/>" for r in relations), "  </Relations>"]
    lines += ["</View>", ""]
    return "\n".join(lines)


def pair_config_xml() -> str:
    """Labeling config of the claim-pair project: each claim in its sentence with its own topic and its
    document's headline, publisher and date; a label, and a rationale where the label needs one."""
    keys = iter(HOTKEYS)
    lines = ["<View>", STYLE, '  <View className="cc-pair">']
    for side in ("a", "b"):
        lines += [
            '    <View className="cc-card">',
            f'      <Header value="{side.upper()}: ${side}_headline" size="5"/>',
            f'      <Header value="${side}_doc · ${side}_publisher · ${side}_date" size="6" style="{META_STYLE}"/>',
            f'      <Header value="Topic: ${side}_topic" size="6" style="{META_STYLE}"/>',
            f'      <HyperText name="{side}_text" value="${side}_html" inline="true"/>',
            "    </View>",
        ]
    labels = ", ".join(PAIR_LABELS[:-1]) + f" or {PAIR_LABELS[-1]}"
    needs = ", ".join(RATIONALE_REQUIRED)
    lines += [
        "  </View>",
        '  <Header value="Relation between the two highlighted claims" size="5"/>',
        f'  <Choices name="label" toName="a_text" choice="single-radio" required="true"'
        f" requiredMessage={quoteattr(f'Choose {labels}.')}>",
        *(f"    {_choice(lab, PAIR_LABEL_WHAT[lab], keys)}" for lab in PAIR_LABELS),
        "  </Choices>",
        '  <Header value="Rationale" size="5"/>',
        # TextArea display ignores visibleWhen, but its required check honours it: required only for these labels
        '  <TextArea name="rationale" toName="a_text" maxSubmissions="1" editable="true" rows="2" required="true"'
        f' visibleWhen="choice-selected" whenTagName="label" whenChoiceValue="{",".join(RATIONALE_REQUIRED)}"'
        f" requiredMessage={quoteattr(f'A {needs} pair needs a rationale.')}"
        f" placeholder={quoteattr(f'Why (required for {needs})')}/>",
        "</View>",
        "",
    ]
    return "\n".join(lines)
