"""Counts of the built dataset for the datasheet and the label-distribution chart."""

from __future__ import annotations

import io

from crossclaim.dataset.pairset import Discrepancies, discrepancies
from crossclaim.dataset.published import Published, bool_attributes
from crossclaim.schema.scheme import CONFIGS, LAYERS, PAIR_LABELS, SPLITS

CHART = "label_distribution.png"


def statistics(published: Published) -> dict:
    """Counts per split, taken off the data files as they were written (so they describe exactly what is published)."""
    return {
        "documents": {s: published.rows["documents"][s] for s in SPLITS},
        "characters": {s: published.characters[s] for s in SPLITS},
        "sentences": {s: published.rows["tokens"][s] for s in SPLITS},
        "tokens": {s: published.tokens[s] for s in SPLITS},
        "spans": published.spans,
        "pairs": published.pairs,
        "discrepancies": {
            **{s: discrepancies(published.contradicts.get(s, [])) for s in SPLITS},
            "total": discrepancies([e for s in SPLITS for e in published.contradicts.get(s, [])]),
        },
        "tokens_cut": published.tokens_cut,
        "rows": {c: {s: published.rows[c][s] for s in SPLITS} for c in CONFIGS},
        "bytes": {c: {s: published.bytes[c][s] for s in SPLITS} for c in CONFIGS},
    }


_HEAD = "| | " + " | ".join(SPLITS) + " | total |\n|---|" + "---:|" * (len(SPLITS) + 1)  # of a table of counts


def _row(name: str, values: list[int]) -> str:
    return f"| {name} | " + " | ".join(str(v) for v in values) + f" | {sum(values)} |"


def stats_md(stats: dict) -> str:
    out = ["**Corpus**", "", _HEAD]
    out += [_row(key, [stats[key][s] for s in SPLITS]) for key in ("documents", "characters", "sentences", "tokens")]
    out += ["", "**Spans per label**", "", _HEAD.replace("| |", "| layer / label |", 1)]
    counted = [(layer.name, label) for layer in LAYERS.values() for label in layer.label_names]
    counted += [(layer, a.name) for layer in LAYERS for a in bool_attributes(layer)]
    out += [_row(f"{layer} / {what}", [stats["spans"][(layer, what, s)] for s in SPLITS]) for layer, what in counted]
    out += ["", "**Claim pairs per label**", "", _HEAD.replace("| |", "| label |", 1)]
    out += [_row(label, [stats["pairs"][(label, s)] for s in SPLITS]) for label in PAIR_LABELS]
    out += ["", *discrepancies_md(stats["discrepancies"])]
    out += ["", f"Tokens split at a span boundary inside a glued word: {stats['tokens_cut']}.", ""]
    return "\n".join(out) + "\n"


def discrepancies_md(found: dict[str, Discrepancies]) -> list[str]:
    """What stands behind the CONTRADICTS pairs of each split, and the caution that follows: pairs that
    share a claim are one discrepancy read once, not independent evidence."""
    rows = [("CONTRADICTS pairs", "pairs"), ("distinct claims in them", "claims"), ("distinct discrepancies", "groups")]
    out = ["**Claims behind the CONTRADICTS pairs**", "", _HEAD]
    out += [
        f"| {name} | " + " | ".join(str(getattr(found[s], key)) for s in (*SPLITS, "total")) + " |"
        for name, key in rows
    ]
    said = [
        f"{found[s].pairs} {s} CONTRADICTS pair{'s' if found[s].pairs != 1 else ''} rest on {found[s].claims} distinct "
        f"claims and {found[s].groups} discrepanc{'ies' if found[s].groups != 1 else 'y'}"
        for s in reversed(SPLITS)
        if found[s].pairs
    ]
    out += [
        "",
        "A discrepancy is a connected group of claims linked by CONTRADICTS pairs: two pairs are in one group when "
        "a chain of shared claims joins them (a claim may also sit in pairs of a later split, so the total column "
        "counts each claim and each group once). The pairs are not independent: "
        + ("; ".join(said) if said else "there is none")
        + ". Pairs that share a claim share its wording and how it is read: a system that misreads one claim "
        "tends to miss every pair of it, so a pair count overstates the evidence, which is better counted in "
        "claims and discrepancies. The leaderboard's pair intervals resample claims within their documents "
        "(each pair weighted by the draws of its two claims), and its paired test swaps whole connected groups "
        "of claims.",
    ]
    return out


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
