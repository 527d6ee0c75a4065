"""Generated documentation: dataset card, Croissant metadata, statistics, label tables, configs.

Every table of counts in the docs comes from here, so no number in a doc is typed by hand;
``crossclaim build`` rewrites them and a test fails when a committed one is stale.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections import Counter
from pathlib import Path

import yaml

from .build import Gold, Tables, features
from .files import write_text_atomic
from .schema import CONFIGS, LAYERS, PAIR_LABELS, SPLITS, label_table_md, pair_config_xml, span_config_xml

SPAN_CONFIG = Path("annotations/studio/span_config.xml")
PAIR_CONFIG = Path("annotations/studio/pair_config.xml")
DATASHEET = Path("DATASHEET.md")
GUIDELINES = Path("annotations/GUIDELINES.md")
CHART = "label_distribution.png"


def write_generated(root: Path, staging: Path, gold: Gold, tables: Tables, data_files: list[Path]) -> None:
    """Write the card, Croissant file and chart into ``staging``; refresh configs and doc tables."""
    stats = statistics(gold, tables)
    (staging / "README.md").write_text(dataset_card(tables, stats), encoding="utf-8")
    (staging / "croissant.json").write_text(croissant(staging, data_files), encoding="utf-8")
    (staging / CHART).write_bytes(label_chart(stats))
    write_configs(root)
    replace_block(root / DATASHEET, "statistics", stats_md(stats))
    replace_block(root / DATASHEET, "agreement", agreement_block(root, gold), required=False)
    replace_block(root / GUIDELINES, "labels", label_table_md(), required=False)


def agreement_block(root: Path, gold: Gold) -> str:
    from .agreement import agreement_md
    from .build import pair_annotations

    return agreement_md(list(gold.tasks.values()), pair_annotations(root / "annotations", gold))


def write_configs(root: Path) -> None:
    """Files generated from the schema: the Label Studio configs and the predictions JSON Schema."""
    from .predictions import SCHEMA_FILE, schema_text

    write_text_atomic(root / SPAN_CONFIG, span_config_xml())
    write_text_atomic(root / PAIR_CONFIG, pair_config_xml())
    package = root / "src" / "crossclaim"
    if package.is_dir():  # a checkout of the package (not a bare data repository)
        write_text_atomic(package / SCHEMA_FILE.name, schema_text())


def replace_block(path: Path, name: str, body: str, required: bool = True) -> None:
    """Replace the text between ``<!-- BEGIN GENERATED: name -->`` and its END marker.

    ``required=False``: a missing file or block is left alone (optional docs, test fixtures).
    """
    if not path.exists():
        if required:
            raise FileNotFoundError(f"{path}: missing; it must hold the generated block {name!r}")
        return
    text = path.read_text(encoding="utf-8")
    begin, end = f"<!-- BEGIN GENERATED: {name} -->", f"<!-- END GENERATED: {name} -->"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        if not required:
            return
        raise ValueError(f"{path}: no {begin} ... {end} block to regenerate")
    new = pattern.sub(lambda _: f"{begin}\n{body}{end}", text)
    if new != text:
        write_text_atomic(path, new)


# ---------------------------------------------------------------------------------------------
# statistics


def statistics(gold: Gold, tables: Tables) -> dict:
    split_of = {d.id: d.split for d in gold.docs}
    docs = Counter(d.split for d in gold.docs)
    spans: Counter = Counter()
    contradictory = gold.contradictory()
    for d in gold.docs:
        for s in gold.spans(d.id):
            spans[(s.layer, s.label, d.split)] += 1
            if s.layer == "claims":
                spans[("claims", "hedged", d.split)] += bool(s.hedged)
                spans[("claims", "contradictory", d.split)] += s.id in contradictory.get(d.id, set())
    pairs: Counter = Counter()
    for split, table in tables.tables["claim_pairs"].items():
        for label in table.column("label").to_pylist():
            pairs[(PAIR_LABELS[label], split)] += 1
    return {
        "documents": {s: docs[s] for s in SPLITS},
        "characters": {s: sum(len(d.text) for d in gold.docs if split_of[d.id] == s) for s in SPLITS},
        "sentences": {s: tables.tables["tokens"][s].num_rows for s in SPLITS},
        "tokens": {s: tables.stats["tokens"].get(s, 0) for s in SPLITS},
        "spans": spans,
        "pairs": pairs,
        "token_splits": tables.splits_made,
        "rows": {c: {s: tables.tables[c][s].num_rows for s in SPLITS} for c in CONFIGS},
        "bytes": {c: {s: tables.tables[c][s].nbytes for s in SPLITS} for c in CONFIGS},
    }


def _row(name: str, values: list[int]) -> str:
    return f"| {name} | " + " | ".join(str(v) for v in values) + f" | {sum(values)} |"


def stats_md(stats: dict) -> str:
    head = "| | " + " | ".join(SPLITS) + " | total |\n|---|" + "---:|" * (len(SPLITS) + 1)
    out = ["**Corpus**", "", head]
    for key in ("documents", "characters", "sentences", "tokens"):
        out.append(_row(key, [stats[key][s] for s in SPLITS]))
    out += ["", "**Spans per label**", "", head.replace("| |", "| layer / label |", 1)]
    for layer in LAYERS.values():
        for label in layer.label_names:
            out.append(_row(f"{layer.name} / {label}", [stats["spans"][(layer.name, label, s)] for s in SPLITS]))
    for extra in ("hedged", "contradictory"):
        out.append(_row(f"claims / {extra}", [stats["spans"][("claims", extra, s)] for s in SPLITS]))
    out += ["", "**Claim pairs per label**", "", head.replace("| |", "| label |", 1)]
    out += [_row(label, [stats["pairs"][(label, s)] for s in SPLITS]) for label in PAIR_LABELS]
    out += ["", f"Tokens split at a span boundary inside a glued word: {stats['token_splits']}.", ""]
    return "\n".join(out) + "\n"


def label_chart(stats: dict) -> bytes:
    """PNG bar chart of spans per label and split (no timestamps: byte-stable for a given matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [(layer.name, lab) for layer in LAYERS.values() for lab in layer.label_names]
    fig, ax = plt.subplots(figsize=(9, 4), dpi=100)
    bottom = [0] * len(labels)
    for split, color in zip(SPLITS, ("#4c72b0", "#dd8452", "#55a868")):
        vals = [stats["spans"][(layer, lab, split)] for layer, lab in labels]
        ax.bar(range(len(labels)), vals, bottom=bottom, label=split, color=color)
        bottom = [b + v for b, v in zip(bottom, vals)]
    ax.set_xticks(range(len(labels)), [lab for _, lab in labels], rotation=45, ha="right")
    ax.set_ylabel("spans")
    ax.set_title("CrossClaim: spans per label and split")
    ax.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# dataset card and Croissant


def dataset_card(tables: Tables, stats: dict) -> str:
    meta = {
        "license": "other",
        "language": ["en"],
        "pretty_name": "CrossClaim",
        "task_categories": ["token-classification", "text-classification"],
        "tags": [
            "information-extraction",
            "named-entity-recognition",
            "hedge-detection",
            "claim-detection",
            "cross-document",
        ],
        "configs": [
            {
                "config_name": c,
                "data_files": [{"split": s, "path": f"{c}/{s}-*.parquet"} for s in SPLITS if stats["rows"][c][s]],
            }
            for c in CONFIGS
            if any(stats["rows"][c].values())
        ],
        "dataset_info": [
            {
                "config_name": c,
                "features": features(c)._to_yaml_list(),
                "splits": [
                    {"name": s, "num_bytes": stats["bytes"][c][s], "num_examples": stats["rows"][c][s]}
                    for s in SPLITS
                    if stats["rows"][c][s]
                ],
            }
            for c in CONFIGS
            if any(stats["rows"][c].values())
        ],
    }
    header = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000)
    body = f"""
# CrossClaim

News articles from one story cluster (Xiaomi's electric-vehicle business, 2025) annotated with
entities, figures with normalised values, hedge cues and claims that are hedged or contradict
claims in other articles, plus cross-document claim pairs. Generated by `crossclaim build` from
`annotations/` in the CrossClaim repository; see `DATASHEET.md` there for how it was made.

## Configs

| config | one row per | |
|---|---|---|
| `documents` | document | metadata, text, and each layer as a list of spans (id, start, end, text, label, attributes) |
| `tokens` | sentence | tokens, token character offsets, five IOB2 tag layers (what seqeval scores) |
| `claim_pairs` | pair of same-topic claims | both claims (document id, claim id, text), topic, label, rationale |

```python
from datasets import load_dataset
docs = load_dataset("path/to/dataset", "documents")
tokens = load_dataset("path/to/dataset", "tokens")
pairs = load_dataset("path/to/dataset", "claim_pairs")
```

Offsets are Python character offsets into `text`, end-exclusive; `text` is a slice
(`slice_start`:`slice_end`) of the raw page `source_file` (sha256 given).

## Splits

Splits are by document (see the datasheet for the assignment). A claim pair is in `test` when
either claim is in a test document, else in `validation` when either is, else in `train`.

## Labels

{label_table_md()}
## Statistics

{stats_md(stats)}
![spans per label and split]({CHART})

## License

The annotations are released under CC BY 4.0. The article texts remain the copyright of their
publishers and are included for research on information extraction only.
"""
    return f"---\n{header}---\n{body}"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _croissant_type(feature) -> str:
    name = type(feature).__name__
    if name == "ClassLabel":
        return "sc:Integer"
    if name == "Value":
        return {"string": "sc:Text", "bool": "sc:Boolean", "float64": "sc:Float"}.get(feature.dtype, "sc:Integer")
    return "sc:Text"


def croissant(staging: Path, data_files: list[Path]) -> str:
    """Croissant 1.0 JSON-LD: one FileObject per data file (with sha256), one RecordSet per config."""
    distribution = []
    for path in sorted(data_files):
        rel = path.relative_to(staging).as_posix()
        distribution.append(
            {
                "@type": "cr:FileObject",
                "@id": rel,
                "name": rel,
                "contentUrl": rel,
                "encodingFormat": "application/x-parquet",
                "sha256": _sha256(path),
            }
        )
    record_sets = []
    for config in CONFIGS:
        fields = []
        for name, feat in features(config).items():
            field = {
                "@type": "cr:Field",
                "@id": f"{config}/{name}",
                "name": name,
                "dataType": _croissant_type(feat),
                "source": {"fileSet": {"@id": f"{config}-files"}, "extract": {"column": name}},
            }
            if type(feat).__name__ == "List":
                field["repeated"] = True
            fields.append(field)
        record_sets.append({"@type": "cr:RecordSet", "@id": config, "name": config, "field": fields})
        distribution.append(
            {
                "@type": "cr:FileSet",
                "@id": f"{config}-files",
                "name": f"{config}-files",
                "encodingFormat": "application/x-parquet",
                "includes": f"{config}/*.parquet",
            }
        )
    doc = {
        "@context": {
            "@language": "en",
            "@vocab": "https://schema.org/",
            "sc": "https://schema.org/",
            "cr": "http://mlcommons.org/croissant/",
            "rai": "http://mlcommons.org/croissant/RAI/",
            "dct": "http://purl.org/dc/terms/",
            "citeAs": "cr:citeAs",
            "column": "cr:column",
            "conformsTo": "dct:conformsTo",
            "data": {"@id": "cr:data", "@type": "@json"},
            "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
            "examples": {"@id": "cr:examples", "@type": "@json"},
            "extract": "cr:extract",
            "field": "cr:field",
            "fileProperty": "cr:fileProperty",
            "fileObject": "cr:fileObject",
            "fileSet": "cr:fileSet",
            "format": "cr:format",
            "includes": "cr:includes",
            "isLiveDataset": "cr:isLiveDataset",
            "jsonPath": "cr:jsonPath",
            "key": "cr:key",
            "md5": "cr:md5",
            "parentField": "cr:parentField",
            "path": "cr:path",
            "recordSet": "cr:recordSet",
            "references": "cr:references",
            "regex": "cr:regex",
            "repeated": "cr:repeated",
            "replace": "cr:replace",
            "separator": "cr:separator",
            "source": "cr:source",
            "subField": "cr:subField",
            "transform": "cr:transform",
        },
        "@type": "sc:Dataset",
        "name": "CrossClaim",
        "conformsTo": "http://mlcommons.org/croissant/1.0",
        "description": "News articles of one story cluster annotated with entities, figures, hedge cues, "
        "claims and cross-document claim pairs.",
        "license": "https://creativecommons.org/licenses/by/4.0/",
        "url": "https://huggingface.co/datasets/crossclaim/crossclaim",
        "version": "1.0.0",
        "inLanguage": "en",
        "distribution": distribution,
        "recordSet": record_sets,
    }
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
