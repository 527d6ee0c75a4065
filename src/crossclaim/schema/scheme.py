"""The annotation scheme, declared once.

Everything else derives from this module: the Label Studio labeling configs, the Hugging Face
features, the IOB2 tag names, validation of spans and values, and the label tables in the docs.
Changing a label here and running ``crossclaim build`` regenerates all of them."""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Label:
    name: str
    what: str
    examples: str


@dataclass(frozen=True)
class Layer:
    """A flat span layer: no two spans of one layer overlap."""

    name: str  # also the Label Studio ``from_name`` and the documents-config column
    title: str
    labels: tuple[Label, ...]
    color: str
    noun: str  # one span of the layer, in messages ("a figure", "a hedge cue")
    in_one_sentence: bool = False  # every span stays inside one sentence

    @property
    def prefix(self) -> str:
        """Its span ids are this prefix and a number (``c14``)."""
        return self.name[0]

    @functools.cached_property
    def label_names(self) -> list[str]:
        return [label.name for label in self.labels]


@dataclass(frozen=True)
class ValueRule:
    """Grammar of a figure's normalised ``value`` for one label."""

    pattern: str
    form: str
    examples: tuple[tuple[str, str], ...]

    def matches(self, value: str) -> bool:
        return self._compiled.fullmatch(value) is not None

    @functools.cached_property
    def _compiled(self) -> re.Pattern:
        return re.compile(self.pattern)


@dataclass(frozen=True)
class TagLayer:
    """One IOB2 tag sequence of the token view, drawn from a span layer."""

    name: str
    layer: str
    only: str | None = None  # keep only spans whose boolean attribute of this name is true
    what: str = ""

    def tag_names(self) -> list[str]:
        labels = LAYERS[self.layer].label_names
        return ["O"] + [f"{p}-{lab}" for lab in labels for p in ("B", "I")]


_LAYERS = (
    Layer(
        "entities",
        "Entities",
        (
            Label(
                "ORG",
                "companies, government bodies, media, agencies, organised groups",
                "Xiaomi, BAIC Group, People's Daily, Financial Times",
            ),
            Label("PERSON", "named people, misspellings included", "Lei Jun, Lei, Lee"),
            Label("LOC", "countries, regions, cities, provinces", "China, Anhui province, Southeast Asia"),
            Label("PRODUCT", "named products, car models, software, chips", "SU7, YU7, U7, Model 3, HyperOS"),
        ),
        "#1f77b4",
        "entity",
    ),
    Layer(
        "figures",
        "Figures",
        (
            Label("MONEY", "amounts of money", '"$10 billion" → `USD 10000000000`'),
            Label("PERCENT", "percentages and fractions", '"15%" → `15`; "a third" → `33.33`'),
            Label("QUANTITY", "counts and measures", '"76,000" (cars) → `76000 car`'),
            Label(
                "DATE",
                "calendar points and periods, absolute or relative",
                '"the second half of the year" → `2025-H2`',
            ),
            Label("DURATION", "lengths of time", '"15 months" → `P15M`'),
        ),
        "#2ca02c",
        "figure",
    ),
    Layer(
        "hedges",
        "Hedge cues",
        (
            Label(
                "HEDGE",
                "word or fixed phrase marking a statement as uncertain, predicted or unconfirmed",
                "could, likely, expected, suggested, bold but feasible",
            ),
        ),
        "#ff7f0e",
        "hedge cue",
    ),
    Layer(
        "claims",
        "Claims",
        (
            Label(
                "CLAIM",
                "a hedged or contradicting proposition about the story (minimal clause)",
                "Xiaomi's EV division is expected to turn profitable in the second half of the year",
            ),
        ),
        "#d62728",
        "claim",
        in_one_sentence=True,
    ),
)
LAYERS: dict[str, Layer] = {layer.name: layer for layer in _LAYERS}

# Colours of the labels in the labeling configs: each layer's first label keeps its layer's colour and every
# other label takes the next colour of PALETTE that no layer holds, in declaration order. No two labels share
# a colour, so a label swapped for another of its layer (a hotkey pressed while a region is selected) shows
# in the text and in Label Studio's side-by-side comparison.
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363",
)  # fmt: skip


def label_colors() -> dict[tuple[str, str], str]:
    """(layer, label) -> its colour (``#rrggbb``), all different; computed from ``LAYERS`` when asked."""
    taken = {layer.color.lower() for layer in LAYERS.values()}
    spare = (c for c in itertools.chain(PALETTE, _more_colors()) if c.lower() not in taken)
    out: dict[tuple[str, str], str] = {}
    for layer in LAYERS.values():
        for n, label in enumerate(layer.labels):
            out[(layer.name, label.name)] = layer.color if n == 0 else next(spare)
    return out


def _more_colors() -> Iterator[str]:
    """Colours beyond the palette, should a scheme need them: hues a golden angle apart."""
    import colorsys

    hue = 0.0
    while True:
        hue = (hue + 0.381966) % 1.0
        r, g, b = colorsys.hls_to_rgb(hue, 0.45, 0.65)
        yield f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


_NUM = r"\d+(?:\.\d+)?"
_AMOUNT = rf"{_NUM}(?:\.\.{_NUM})?"  # a number, or a LOW..HIGH range for vague amounts
_YEAR = r"(?:\d{4}|\d{3}X|\d{2}XX|XXXX)"
_DATE_PART = r"(?:(?:0[1-9]|1[0-2]|XX)(?:-(?:0[1-9]|[12]\d|3[01]|XX))?|Q[1-4]|H[12])"
_DUR_NUM = rf"(?:{_NUM}|X)"

VALUE_RULES: dict[str, ValueRule] = {
    "MONEY": ValueRule(
        rf"[A-Z]{{3}} {_AMOUNT}",
        "`CUR AMOUNT` (ISO 4217 code, plain number or LOW..HIGH)",
        (("$10 billion", "USD 10000000000"), ("500 million yuan", "CNY 500000000")),
    ),
    "PERCENT": ValueRule(
        _AMOUNT, "`NUMBER` (percent, up to two decimals for fractions)", (("15%", "15"), ("a third", "33.33"))
    ),
    "QUANTITY": ValueRule(
        rf"{_AMOUNT} [a-z][a-z0-9/_-]*",
        "`NUMBER unit` (unit or counted noun, singular)",
        (
            ("76,000 (cars)", "76000 car"),
            ("673 horsepower", "673 hp"),
            ("tens of thousands (of pre-orders)", "10000..99999 pre-order"),
        ),
    ),
    "DATE": ValueRule(
        rf"{_YEAR}(?:-{_DATE_PART})?(?:-(?:early|mid|late))?",
        "TIMEX3-like `YYYY[-MM[-DD]|-Qn|-Hn][-early|-mid|-late]`, X for unknown digits",
        (
            ("the second half of the year", "2025-H2"),
            ("Q1 2025", "2025-Q1"),
            ("late 2023", "2023-late"),
            ("the second half of the year, publication date unknown", "XXXX-H2"),
        ),
    ),
    "DURATION": ValueRule(
        rf"P(?=.)(?:{_DUR_NUM}[YMWD])*(?:T(?:{_DUR_NUM}[HMS])+)?",
        "ISO 8601 duration, X for an unknown number",
        (("15 months", "P15M"), ("the next decade", "P10Y"), ("three minutes", "PT3M")),
    ),
}

# How each kind of attribute is edited in Label Studio: (control, result type).
KINDS: dict[str, tuple[str, str | None]] = {
    "text": ("TextArea", "textarea"),  # free text, e.g. a normalised value
    "bool": ("Choices", "choices"),  # a true/false choice
    "choice": ("Choices", "choices"),  # one key of a declared list
    "refs": ("Relation", None),  # ids of spans of another layer, drawn as relations
}


@dataclass(frozen=True)
class Attribute:
    """A per-span attribute of one layer, declared once.

    Its ``kind`` says how it is stored everywhere (Label Studio control, HF feature, JSON type);
    ``required`` attributes must be present on gold spans; ``derived`` ones are computed by the
    build from other annotations and never annotated; ``predicted`` ones are fields of the
    predictions format (``predicted_required``: a system must give them).
    """

    name: str
    layer: str
    kind: str
    what: str
    required: bool = False
    derived: bool = False
    predicted: bool = False
    predicted_required: bool = False
    choices: tuple[str, ...] = ()
    refs: str | None = None  # kind "refs": the layer whose span ids it holds
    relation: str | None = None  # kind "refs": the Label Studio relation label
    refs_inside: bool = False  # kind "refs": the referenced spans lie inside this one
    only_if: str | None = None  # kind "refs": may hold ids only while this bool attribute is true
    prediction_note: str = ""  # its description in the predictions JSON Schema
    rules: dict[str, ValueRule] = field(default_factory=dict, hash=False, compare=False)  # grammar per label
    notes: dict[str, str] = field(default_factory=dict, hash=False, compare=False)  # one line per choice

    @property
    def control(self) -> str | None:
        """The Label Studio control that edits it (None for derived attributes)."""
        return None if self.derived else KINDS[self.kind][0]

    @property
    def result_type(self) -> str | None:
        return None if self.derived else KINDS[self.kind][1]

    @property
    def empty(self) -> object:
        """The value of a span that does not carry the attribute."""
        return () if self.kind == "refs" else None

    def choice_values(self) -> tuple[str, ...]:
        """Label Studio choice values: the declared keys, or true/false."""
        return ("true", "false") if self.kind == "bool" else self.choices


@dataclass(frozen=True)
class Topic:
    """A controlled claim topic. Claims of one topic in different documents are paired for labelling;
    a ``catch_all`` topic names no comparable proposition, so its claims are paired only where an
    annotator declares a pair (``compare_with``)."""

    what: str
    catch_all: bool = False


# Controlled claim topics for this story cluster (see annotations/GUIDELINES.md).
TOPICS: dict[str, Topic] = {
    "ev_profitability_timing": Topic("when Xiaomi's EV business turns (or turned) profitable"),
    "ev_financial_results": Topic("EV unit revenue, gross profit or losses for a stated period"),
    "ev_deliveries": Topic("how many EVs Xiaomi delivered or sold, over which period"),
    "su7_launch_date": Topic("when the SU7, Xiaomi's first EV, was unveiled, shown or launched"),
    "second_model": Topic('Xiaomi\'s second EV (the YU7; one article writes "U7"): its type and launch'),
    "crash_vehicle_model": Topic("the fatal crash: which model, when, who died"),
    "investment_pledges": Topic("amounts Xiaomi pledged to invest, in what, over what period"),
    "ev_entry_announcement": Topic("when Xiaomi announced its entry into EVs"),
    "global_expansion": Topic("selling Xiaomi EVs outside China: where and when"),
    "production_capacity": Topic("manufacturing, factories, production capacity and production partners"),
    "strategy_outlook": Topic(
        "whether Xiaomi's EV bet pays off: its prospects and its market positioning", catch_all=True
    ),
    "market_impact": Topic("effects on competition, prices, the industry or investors"),
    "product_features": Topic("features of Xiaomi EVs (AI, ecosystem, software, design)"),
    "regulatory_risk": Topic("regulation, government rules or sanctions affecting Xiaomi"),
}
CATCH_ALL_TOPICS: frozenset[str] = frozenset(k for k, t in TOPICS.items() if t.catch_all)

# A claim's ``compare_with``: ids of other claims (``DOC:CLAIM``), separated by white space.
CLAIM_REF = r"[^\s:~]+:[^\s:~]+"
COMPARE_WITH_RULE = ValueRule(
    rf"{CLAIM_REF}(?:\s+{CLAIM_REF})*",
    "claim ids `DOC:CLAIM` (document id, colon, claim id), separated by spaces or line breaks",
    (("one claim", "doc-001:c4"), ("two claims", "doc-001:c4 doc-003:c2")),
)

ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute(
        "value",
        "figures",
        "text",
        "normalised value, grammar per label (required)",
        required=True,
        predicted=True,
        prediction_note="normalised value (grammar in the dataset card); compared as a string",
        rules=VALUE_RULES,
    ),
    Attribute(
        "hedged",
        "claims",
        "bool",
        "a hedge cue scopes over the claim (required)",
        required=True,
        predicted=True,
        predicted_required=True,
    ),
    Attribute(
        "topic",
        "claims",
        "choice",
        "key from the controlled topic list (required)",
        required=True,
        predicted=True,
        choices=tuple(TOPICS),
        notes={
            k: t.what + (" (catch-all: paired only where declared)" if t.catch_all else "") for k, t in TOPICS.items()
        },
    ),
    Attribute(
        "compare_with",
        "claims",
        "text",
        "other claims to pair this one with whatever their topic, as `DOC:CLAIM` ids separated by spaces"
        " (`doc-001:c4 doc-003:c2`); optional: claims of one topic in different documents are paired already",
        rules={"CLAIM": COMPARE_WITH_RULE},
    ),
    Attribute(
        "contradictory",
        "claims",
        "bool",
        "true when the claim is in a CONTRADICTS pair of its own split (see the split rules)",
        derived=True,
        predicted=True,
        prediction_note="the claim is in a CONTRADICTS pair (default false)",
    ),
    Attribute(
        "cues",
        "claims",
        "refs",
        "relation `cue` from the claim to each hedge cue inside it (none when `hedged` is false)",
        refs="hedges",
        relation="cue",
        refs_inside=True,
        only_if="hedged",
    ),
)
ATTRIBUTE: dict[tuple[str, str], Attribute] = {(a.layer, a.name): a for a in ATTRIBUTES}

PAIR_LABELS: tuple[str, ...] = ("CONTRADICTS", "AGREES", "UNRELATED")
PAIR_LABEL_WHAT = {
    "CONTRADICTS": "both cannot be true for the same reference time",
    "AGREES": "the same proposition with compatible values",
    "UNRELATED": "a different proposition, reference time or aspect",
}
RATIONALE_REQUIRED: tuple[str, ...] = ("CONTRADICTS",)  # pair labels that need a rationale

TAG_LAYERS: tuple[TagLayer, ...] = (
    TagLayer("entity_tags", "entities", what="entities"),
    TagLayer("figure_tags", "figures", what="figures"),
    TagLayer("hedge_tags", "hedges", what="hedge cues"),
    TagLayer("hedged_claim_tags", "claims", only="hedged", what="claims with `hedged`"),
    TagLayer("contradictory_claim_tags", "claims", only="contradictory", what="claims in a CONTRADICTS pair"),
)

# Page furniture: text of the page inside a document's slice that is not the article (the manifest declares
# its ranges per document). It is never annotated, predicted spans touching it are not scored, and no claim
# in it is paired (annotations/GUIDELINES.md).
FURNITURE: dict[str, str] = {
    "byline": "the author's name, title or dateline, and the scraper's repetitions of them",
    "caption": "a photo or video caption, credit or label",
    "share-bar": "share buttons and the names of the services they share to",
    "navigation": "menus, breadcrumbs, tags and links to other pages",
    "promo": "advertising, newsletter and subscription prompts, recommended or related content",
}

CONFIGS = ("documents", "tokens", "claim_pairs")
SPLITS = ("train", "validation", "test")


@functools.cache
def attributes_of(layer: str) -> tuple[Attribute, ...]:
    """The attributes of a layer, in declaration order (the order of the HF struct fields)."""
    return tuple(a for a in ATTRIBUTES if a.layer == layer)
