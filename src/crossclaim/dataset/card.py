"""The dataset card (Hugging Face README with YAML metadata), its licence and citation, and label tables.

All of it derives from the schema, the built tables and the changelog, so no label or count is typed
by hand. The metadata values are from the hub's documented vocabularies (a test checks them offline).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

from crossclaim.dataset.published import Published
from crossclaim.dataset.stats import CHART, stats_md
from crossclaim.dataset.tables import features
from crossclaim.schema.scheme import (
    ATTRIBUTES,
    CONFIGS,
    LAYERS,
    PAIR_LABEL_WHAT,
    SPLITS,
    TAG_LAYERS,
    TOPICS,
    VALUE_RULES,
)

# ---------------------------------------------------------------------------------------------
# release, licence, citation, split rules (shared by the card, Croissant, LICENSE.md and the datasheet)

PRETTY_NAME = "CrossClaim"
DESCRIPTION = (
    "News articles of one story cluster annotated with entities, figures with normalised values, hedge cues, "
    "claims (hedged or contradicting another article) and cross-document claim pairs."
)
TAGS = ("information-extraction", "named-entity-recognition", "hedge-detection", "claim-detection", "cross-document")
LICENSE_FILE = "LICENSE.md"
CHANGELOG_FILE = "CHANGELOG.md"
LICENSE_NAME = "cc-by-4.0-annotations-publisher-texts"
ANNOTATIONS_LICENSE = ("CC BY 4.0", "https://creativecommons.org/licenses/by/4.0/")
DEFAULT_CONFIG = "documents"
# The hub's size categories: the k-th holds fewer than 10**(k + 3) examples.
_SIZES = ("n<1K", "1K<n<10K", "10K<n<100K", "100K<n<1M", "1M<n<10M", "10M<n<100M", "100M<n<1B", "1B<n<10B")
_SIZES += ("10B<n<100B", "100B<n<1T")
_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


@dataclass(frozen=True)
class Release:
    """The release the build describes: the newest entry of the changelog (annotations/CHANGELOG.md)."""

    version: str
    date: str | None  # ISO date of the entry


_ENTRY = re.compile(r"^## (\d+\.\d+\.\d+)(?: \((\d{4}-\d{2}-\d{2})\))?", re.M)


def release_of(changelog: str | None) -> Release:
    """The newest ``## X.Y.Z (YYYY-MM-DD)`` entry of the changelog (entries are newest first)."""
    m = _ENTRY.search(changelog or "")
    return Release(m.group(1), m.group(2)) if m else Release("0.0.0", None)


def size_category(n: int) -> str:
    """The hub's size category for ``n`` examples."""
    return next((name for k, name in enumerate(_SIZES) if n < 10 ** (k + 3)), "n>1T")


def publishers(published: Published) -> str:
    """The publishers of the article texts, as the manifest names them, for the licence statement."""
    names = published.publishers
    parts = sorted(n for n in names if n)
    if names[None] == 1:
        parts.append("a site whose page does not name its publisher")
    elif names[None]:
        parts.append(f"{names[None]} sites whose pages do not name their publisher")
    return ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else "".join(parts)


def license_md(published: Published) -> str:
    """The licence statement: the annotations' licence, the terms of the article texts, removal."""
    name, url = ANNOTATIONS_LICENSE
    return f"""**Annotations.** The annotations (spans, attributes, normalised values, claim pairs, their labels
and rationales, and the token view derived from them) are released under
[{name}]({url}).

**Article texts.** The texts of the articles (each document's `text` and `headline`, and the token
and span strings quoted from them) are not covered by that licence, and no licence to them is
granted. They remain the copyright of their publishers:
{publishers(published)}.
They are reproduced unaltered, as published on the public web, and are included only so that the
annotations can be used for non-commercial research on information extraction. Any other use of
the texts (republication, commercial use) needs the permission of their rights holders.

**Removal.** A publisher or author who wants an article removed can open an issue in the CrossClaim
repository naming the document (its `id`, or its publisher and headline). The document is removed
from the next release of the dataset, and the removal is recorded in the dataset's `{CHANGELOG_FILE}`.
"""


def split_rules_md() -> str:
    """How documents, claim pairs and the derived ``contradictory`` flag are assigned to splits."""
    return """Splits are by document and nested in the order train → validation → test: every value published
in a split depends only on the documents of that split and of the splits before it (train values on
train documents only, validation values on train and validation documents, test values on all).

- A claim pair belongs to the later split of its two claims' documents: `test` when either claim is
  in a test document, else `validation` when either is, else `train`.
- A claim's `contradictory` flag (and the `contradictory_claim_tags` layer drawn from it) counts
  only the CONTRADICTS pairs of the claim's own split, i.e. pairs whose other claim is in the same
  split or an earlier one. A train claim is therefore never flagged because a validation or test
  article contradicts it; a test claim counts every pair. Scoring on the test split uses exactly
  these published flags; leave-one-document-out cross-validation holds each document out against
  all the others, and there every CONTRADICTS pair counts.
"""


def citation_bibtex(release: Release) -> str:
    year = f"  year = {{{release.date[:4]}}},\n" if release.date else ""
    return (
        "@misc{crossclaim,\n"
        "  title = {{CrossClaim}: Entities, Figures, Hedges and Contradicting Claims across the News "
        "Articles of One Story},\n"
        "  author = {{CrossClaim project}},\n"
        f"{year}"
        f"  note = {{Dataset, version {release.version}}}\n"
        "}\n"
    )


# ---------------------------------------------------------------------------------------------
# dataset card


def card_metadata(stats: dict, digests: dict[str, str]) -> dict:
    """The card's YAML metadata (configs with the default, features and sizes). Values from the hub's
    vocabularies: task_categories and task_ids from huggingface.js packages/tasks/src/pipelines.ts, the
    others from the dataset card specification.

    Each config's description carries the sha256 of its data files (``digests``): ``datasets`` keys
    its cache of a local directory on the card's metadata, not on the files, so a rebuild that changed
    a value but no size (a relabelled pair) would otherwise be loaded from the old cache."""
    splits = {c: [s for s in SPLITS if stats["rows"][c][s]] for c in CONFIGS if any(stats["rows"][c].values())}
    return {
        "license": "other",
        "license_name": LICENSE_NAME,
        "license_link": LICENSE_FILE,
        "language": ["en"],
        "multilinguality": ["monolingual"],
        "size_categories": [size_category(max(sum(stats["rows"][c].values()) for c in splits))] if splits else [],
        "source_datasets": ["original"],
        "annotations_creators": ["machine-generated"],  # the annotators were language-model agents (DATASHEET.md)
        "language_creators": ["found"],  # news articles as published on the web
        "pretty_name": PRETTY_NAME,
        "task_categories": ["token-classification", "text-classification"],
        "task_ids": ["named-entity-recognition", "natural-language-inference"],  # span layers; claim-pair labels
        "tags": list(TAGS),
        "configs": [
            {
                "config_name": c,
                **({"default": True} if c == DEFAULT_CONFIG else {}),
                "description": f"CrossClaim {c}; data files sha256 {digests[c]}",
                "data_files": [{"split": s, "path": f"{c}/{s}-*.parquet"} for s in present],
            }
            for c, present in splits.items()
        ],
        "dataset_info": [
            {
                "config_name": c,
                "features": features(c)._to_yaml_list(),
                "splits": [
                    {"name": s, "num_bytes": stats["bytes"][c][s], "num_examples": stats["rows"][c][s]} for s in present
                ],
            }
            for c, present in splits.items()
        ],
    }


def dataset_card(published: Published, stats: dict, release: Release, digests: dict[str, str]) -> str:
    header = yaml.safe_dump(card_metadata(stats, digests), sort_keys=False, allow_unicode=True, width=1000)
    tag_layers = _WORDS[len(TAG_LAYERS)] if len(TAG_LAYERS) < len(_WORDS) else str(len(TAG_LAYERS))
    body = f"""
# CrossClaim

{DESCRIPTION} The cluster is Xiaomi's electric-vehicle business (2025). Generated by
`crossclaim build` from `annotations/` in the CrossClaim repository; see `DATASHEET.md` there for
how it was made. Version {release.version} (changes: `{CHANGELOG_FILE}`).

## Configs

| config | one row per | |
|---|---|---|
| `documents` (default) | document | metadata, text, spans per layer (offsets, text, label, attributes), `furniture` |
| `tokens` | sentence | tokens, token character offsets, {tag_layers} IOB2 tag layers (what seqeval scores) |
| `claim_pairs` | pair of claims | both claims (document id, claim id, text), each one's topic, label, rationale |

```python
from datasets import load_dataset

docs = load_dataset("path/to/dataset")  # the default config, documents
tokens = load_dataset("path/to/dataset", "tokens")
pairs = load_dataset("path/to/dataset", "claim_pairs")
```

Offsets are Python character offsets into `text`, end-exclusive; `text` is a slice
(`slice_start`:`slice_end`) of the raw page `source_file` (sha256 given). `croissant.json`
describes the same files in Croissant 1.1 (typed fields, splits, label names).

## Splits

{split_rules_md()}
## Labels

{label_table_md()}
## Statistics

{stats_md(stats)}
![spans per label and split]({CHART})

## License

{license_md(published)}
The same statement is in `{LICENSE_FILE}`.

## Citation

```bibtex
{citation_bibtex(release)}```
"""
    return f"---\n{header}---\n{body}"


# ---------------------------------------------------------------------------------------------
# Documentation tables


def label_table_md() -> str:
    """Markdown tables of layers, labels, value grammar, attributes, topics and tag layers."""
    out = []
    for layer in LAYERS.values():
        out += [f"**{layer.title}** (`{layer.name}`)", "", "| label | what | examples |", "|---|---|---|"]
        out += [f"| {lab.name} | {lab.what} | {lab.examples} |" for lab in layer.labels]
        out.append("")
    out += ["**Figure values**", "", "| label | value form | examples |", "|---|---|---|"]
    for label, rule in VALUE_RULES.items():
        ex = "; ".join(f'"{a}" → `{b}`' for a, b in rule.examples)
        out.append(f"| {label} | {rule.form} | {ex} |")
    out += ["", "**Attributes**", "", "| layer | attribute | Label Studio control | what |", "|---|---|---|---|"]
    for a in sorted(ATTRIBUTES, key=lambda a: a.derived):  # annotated first, then derived
        out.append(f"| {a.layer} | `{a.name}` | {a.control or '(derived)'} | {a.what} |")
    out += ["", "**Claim topics**", "", "| topic | what |", "|---|---|"]
    out += [
        f"| `{k}` | {t.what}{' (catch-all: its claims are paired only where declared)' if t.catch_all else ''} |"
        for k, t in TOPICS.items()
    ]
    out += ["", "**Claim-pair labels**", "", "| label | what |", "|---|---|"]
    out += [f"| {k} | {v} |" for k, v in PAIR_LABEL_WHAT.items()]
    out += ["", "**Token view tag layers** (IOB2)", "", "| column | from | tags |", "|---|---|---|"]
    out += [f"| `{t.name}` | {t.what} | {', '.join(t.tag_names())} |" for t in TAG_LAYERS]
    return "\n".join(out) + "\n"
