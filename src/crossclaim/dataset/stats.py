"""Counts of the built dataset for the datasheet and the label-distribution chart."""

from __future__ import annotations

import io
from collections import Counter

import pyarrow.compute as pc

from crossclaim.dataset.tables import Tables
from crossclaim.schema.scheme import CONFIGS, LAYERS, PAIR_LABELS, SPLITS, Attribute, attributes_of

CHART = "label_distribution.png"


# ---------------------------------------------------------------------------------------------
# statistics


def statistics(tables: Tables) -> dict:
    """Counts per split, read off the built tables (so they describe exactly what is published)."""
    documents = tables.tables["documents"]
    spans: Counter = Counter()
    for split, table in documents.items():
        for layer in LAYERS:
            found = pc.list_flatten(table.column(layer))
            names = LAYERS[layer].label_names
            for label in pc.struct_field(found, "label").to_pylist():
                spans[(layer, names[label], split)] += 1
            for a in _flags(layer):
                spans[(layer, a.name, split)] += pc.sum(pc.struct_field(found, a.name)).as_py() or 0
    pairs: Counter = Counter()
    for split, table in tables.tables["claim_pairs"].items():
        for label in table.column("label").to_pylist():
            pairs[(PAIR_LABELS[label], split)] += 1
    return {
        "documents": {s: documents[s].num_rows for s in SPLITS},
        "characters": {s: pc.sum(pc.utf8_length(documents[s].column("text"))).as_py() or 0 for s in SPLITS},
        "sentences": {s: tables.tables["tokens"][s].num_rows for s in SPLITS},
        "tokens": {s: tables.stats["tokens"].get(s, 0) for s in SPLITS},
        "spans": spans,
        "pairs": pairs,
        "token_splits": tables.splits_made,
        "rows": {c: {s: tables.tables[c][s].num_rows for s in SPLITS} for c in CONFIGS},
        "bytes": {c: {s: tables.tables[c][s].nbytes for s in SPLITS} for c in CONFIGS},
    }


def _flags(layer: str) -> list[Attribute]:
    """The true/false attributes of a layer: each gets a count of its true spans."""
    return [a for a in attributes_of(layer) if a.kind == "bool"]


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
    for layer in LAYERS:
        for a in _flags(layer):
            out.append(_row(f"{layer} / {a.name}", [stats["spans"][(layer, a.name, s)] for s in SPLITS]))
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
