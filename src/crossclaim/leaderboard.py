"""The leaderboard: every system on the test split and in leave-one-document-out cross-validation.

Learned systems are trained on the train split for the test evaluation and retrained on the other
documents for every cross-validation fold; rule-based and zero-shot systems are run once on every
document. Claim pairs are labelled in the fold of the first of their two documents (the pair's
"home"), with no pair that touches the held-out document in training. Predictions files given on
the command line are scored on the test split only (they cannot be retrained).

Outputs are deterministic (fixed seeds, sorted keys, rounded numbers, no timestamps, PNG without
software metadata), so a rerun reproduces the committed files byte for byte.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .build import Gold, load_gold, pair_split
from .errors import InputError
from .files import write_bytes_atomic, write_text_atomic
from .predictions import Predictions, merge, parse_predictions, read_predictions, require_documents, to_jsonl
from .records import Document, Pair
from .schema import TAG_LAYERS
from .score import (
    PARTIAL_SCHEME,
    RESAMPLES,
    SEED,
    Counts,
    GoldDoc,
    count,
    entities,
    index_gold,
    layer_statistic,
    pair_statistic,
    paired_p_value,
    resample_indices,
    summarize,
)
from .systems import BUILTIN, System, make_system, pair_queries, system_names, training_set

EVALUATIONS = ("test", "cv")
EVALUATION_TITLE = {
    "test": "Test split",
    "cv": "Leave-one-document-out cross-validation (all documents)",
}
LAYER_TITLE = {t.name: t.what for t in TAG_LAYERS}
DIGITS = 4
OUTPUTS = ("LEADERBOARD.md", "leaderboard.json", "leaderboard.png")


@dataclass
class Entry:
    """One row of the leaderboard: a system's predictions per evaluation."""

    name: str
    kind: str  # baseline, plug-in or file
    learned: bool
    predictions: dict[str, Predictions]  # evaluation -> predictions on its documents


# ---------------------------------------------------------------------------------------------
# running systems (the only slow part)


def _pairs_home(pairs: list[Pair], doc_id: str) -> list[Pair]:
    return [p for p in pairs if min(p.a_doc, p.b_doc) == doc_id]


def checked(preds: Predictions, name: str, gold: Gold, docs: list[Document]) -> Predictions:
    """A system's predictions through the file format and its validator: a plug-in's bad span is a
    clear error naming the system, document and field, and a file of the same output scores the same."""
    text = to_jsonl(preds, docs, gold.pairs)
    return parse_predictions(text, f"system {name} (as JSON Lines)", gold.docs, gold.pairs)


def run_system(system: System, gold: Gold, tick: Callable[[], None], name: str = "") -> dict[str, Predictions]:
    """Predictions of one system for the test split and for every cross-validation fold."""
    name = name or system.name or type(system).__name__
    docs = sorted(gold.docs, key=lambda d: d.id)
    by_id = {d.id: d for d in docs}
    claims = gold.claims()
    split_of = {d.id: d.split for d in docs}
    test = [d for d in docs if d.split == "test"]
    test_pairs = [p for p in gold.pairs if pair_split(p, split_of) == "test"]
    out: dict[str, Predictions] = {}
    if not system.learned:
        everything = checked(system.predict(docs, pair_queries(gold.pairs, by_id, claims)), name, gold, docs)
        tick()
        out["test"] = everything.only([d.id for d in test])
        out["cv"] = everything
        return out
    train = [d for d in docs if d.split == "train"]
    if not train or len(docs) < 2:
        raise InputError(f"system {name}", "learns, but the corpus has no training split")
    system.fit(training_set(train, gold.spans, gold.pairs))
    out["test"] = checked(system.predict(test, pair_queries(test_pairs, by_id, claims)), name, gold, test)
    tick()
    folds = []
    for held in docs:
        rest = [d for d in docs if d.id != held.id]
        system.fit(training_set(rest, gold.spans, gold.pairs))
        folds.append(system.predict([held], pair_queries(_pairs_home(gold.pairs, held.id), by_id, claims)))
        tick()
    out["cv"] = checked(merge(folds), name, gold, docs)
    return out


# ---------------------------------------------------------------------------------------------
# scoring (pure)


def evaluation_docs(gold: Gold) -> dict[str, list[Document]]:
    docs = sorted(gold.docs, key=lambda d: d.id)
    return {"test": [d for d in docs if d.split == "test"], "cv": docs}


def evaluation_pairs(gold: Gold) -> dict[str, list[Pair]]:
    split_of = {d.id: d.split for d in gold.docs}
    return {"test": [p for p in gold.pairs if pair_split(p, split_of) == "test"], "cv": list(gold.pairs)}


def score_entries(gold: Gold, entries: list[Entry], tick: Callable[[], None] = lambda: None) -> dict:
    """The leaderboard as a JSON-ready dict: scores, CIs and p-values against the best system."""
    contradictory = gold.contradictory()
    docs = evaluation_docs(gold)
    pairs = evaluation_pairs(gold)
    index = {d.id: index_gold(d, gold.spans(d.id), contradictory.get(d.id, set())) for d in gold.docs}
    result: dict = {"evaluations": {}}
    for ev in EVALUATIONS:
        golds: list[GoldDoc] = [index[d.id] for d in docs[ev]]
        idx = resample_indices(len(golds))
        counts: dict[str, Counts] = {}
        systems: dict = {}
        for e in entries:
            if ev not in e.predictions:
                continue
            counts[e.name] = count(golds, e.predictions[ev], pairs[ev])
            systems[e.name] = summarize(counts[e.name], idx)
            tick()
        result["evaluations"][ev] = {
            "documents": [d.id for d in docs[ev]],
            "gold_spans": {t.name: sum(len(entities(g.tags[t.name])) for g in golds) for t in TAG_LAYERS},
            "pairs": len(pairs[ev]),
            "systems": systems,
            "comparison": compare(counts, idx),
        }
    result["order"] = [e.name for e in entries]  # row order (JSON keys are sorted)
    result["systems"] = {
        e.name: {"kind": e.kind, "learned": e.learned, "evaluations": sorted(e.predictions)} for e in entries
    }
    result["settings"] = {
        "bootstrap": f"{RESAMPLES} resamples of documents with replacement, seed {SEED}; 95% percentile intervals",
        "p_value": "two-sided paired bootstrap (same resamples for both systems), against the best system of the layer",
        "strict": "seqeval classification_report, mode='strict', scheme=IOB2, on the token view",
        "partial": PARTIAL_SCHEME,
        "pairs": "CONTRADICTS P/R/F1 and macro-F1 over the labels present (scikit-learn); missing labels are wrong",
        "value_accuracy": "share of strictly matched figures whose value equals the gold value",
    }
    return rounded(result)


def compare(counts: dict[str, Counts], idx: np.ndarray) -> dict:
    """Per layer (and pairs): the best system by strict micro F1 and every other one's p-value."""
    out: dict = {}
    keys = [t.name for t in TAG_LAYERS] + ["pairs"]
    for key in keys:
        stats = {}
        for name, c in counts.items():
            stat = pair_statistic(c, idx) if key == "pairs" else layer_statistic(c, key, idx)
            if stat is not None and stat[1] is not None:
                stats[name] = stat
        if not stats:
            continue
        best = max(stats, key=lambda n: (stats[n][1], -list(counts).index(n)))
        out[key] = {
            "best": best,
            "p_vs_best": {
                name: paired_p_value(stats[best][0], boot, stats[best][1], obs)
                for name, (boot, obs) in stats.items()
                if name != best
            },
        }
    return out


def rounded(x):
    """Round every float (deterministic output, no platform noise in the last digits)."""
    if isinstance(x, float):
        return round(x, DIGITS)
    if isinstance(x, dict):
        return {k: rounded(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [rounded(v) for v in x]
    return x


# ---------------------------------------------------------------------------------------------
# rendering (pure)


def _f(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def _ci(ci: list[float] | None) -> str:
    return "" if not ci else f" [{ci[0]:.2f}, {ci[1]:.2f}]"


def _p(p: float | None, best: bool) -> str:
    if best:
        return "best"
    return "—" if p is None else f"{p:.3f}"


def markdown(board: dict) -> str:
    """LEADERBOARD.md: a table per layer and evaluation, then the pair task."""
    lines = [
        "# CrossClaim leaderboard",
        "",
        "<!-- Generated by `crossclaim leaderboard`; do not edit by hand. -->",
        "",
        "Scores of every system on the test split and in leave-one-document-out cross-validation",
        'over all documents. Strict: seqeval `classification_report` (`mode="strict"`, IOB2) on the token',
        "view of the `tokens` config, predicted spans projected onto it like the gold. Partial: the",
        "SemEval-2013 partial schema (exact boundary 1, overlap 0.5, type ignored). Brackets: 95%",
        f"bootstrap confidence intervals over documents ({RESAMPLES} resamples, seed {SEED}); *p*: two-sided",
        "paired bootstrap p-value against the best system of the table (strict micro F1; its floor is",
        f"1/{RESAMPLES + 1:,}). With so few documents the intervals are wide and coarse (two test documents",
        "give only three distinct resamples): read differences with them.",
        "",
        "Notes: the `regex` rules were written from the train and validation documents (doc-000, doc-002,",
        "doc-004), so its cross-validation scores on those documents are optimistic; learned systems are",
        "retrained per fold; predictions files are scored on the test split only. A dash means the system",
        "does not predict that layer.",
        "",
    ]
    unpredicted = [
        LAYER_TITLE[t.name]
        for t in TAG_LAYERS
        if not any(t.name in s["layers"] for ev in board["evaluations"].values() for s in ev["systems"].values())
    ]
    if unpredicted:
        lines += [f"No system predicts these layers yet: {'; '.join(unpredicted)}.", ""]
    for ev in EVALUATIONS:
        data = board["evaluations"][ev]
        lines += [
            f"## {EVALUATION_TITLE[ev]}",
            "",
            f"Documents: {', '.join(data['documents'])}; gold claim pairs: {data['pairs']}.",
            "",
        ]
        for t in TAG_LAYERS:
            lines += _layer_table(data, t.name, board["order"])
        lines += _pair_table(data, board["order"])
    lines += ["## Systems", "", "| system | kind | retrained per fold |", "|---|---|---|"]
    for name in board["order"]:
        info = board["systems"][name]
        lines.append(f"| {name} | {info['kind']} | {'yes' if info['learned'] else 'no'} |")
    lines.append("")
    return "\n".join(lines)


def _layer_table(data: dict, layer: str, order: list[str]) -> list[str]:
    comp = data["comparison"].get(layer, {})
    figures = layer == "figure_tags"
    head = "| system | P | R | F1 [95% CI] | *p* | partial P | partial R | partial F1 [95% CI] |"
    rule = "|---|---:|---:|---|---:|---:|---:|---|"
    if figures:
        head += " value accuracy [95% CI] |"
        rule += "---|"
    lines = [f"### {LAYER_TITLE[layer]} (`{layer}`)", "", head, rule]
    for name, s in ((n, data["systems"][n]) for n in order if n in data["systems"]):
        entry = s["layers"].get(layer)
        if entry is None:
            cells = ["—"] * (8 if figures else 7)
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
            continue
        st, pa = entry["strict"]["micro"], entry["partial"]["micro"]
        row = [
            name,
            _f(st["precision"]),
            _f(st["recall"]),
            _f(st["f1"]) + _ci(st["f1_ci"]),
            _p(comp.get("p_vs_best", {}).get(name), comp.get("best") == name),
            _f(pa["precision"]),
            _f(pa["recall"]),
            _f(pa["f1"]) + _ci(pa["f1_ci"]),
        ]
        if figures:
            va = entry.get("value_accuracy", {})
            row.append(_f(va.get("accuracy")) + _ci(va.get("ci")) + f" ({va.get('correct', 0)}/{va.get('matched', 0)})")
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", f"Gold spans: {data['gold_spans'][layer]}.", ""]
    return lines


def _pair_table(data: dict, order: list[str]) -> list[str]:
    comp = data["comparison"].get("pairs", {})
    lines = [
        "### Claim pairs",
        "",
        "| system | CONTRADICTS P | CONTRADICTS R | CONTRADICTS F1 [95% CI] | macro-F1 [95% CI] | *p* (macro-F1) |",
        "|---|---:|---:|---|---|---:|",
    ]
    for name, s in ((n, data["systems"][n]) for n in order if n in data["systems"]):
        p = s["pairs"]
        if p is None:
            lines.append(f"| {name} | — | — | — | — | — |")
            continue
        c = p["contradicts"]
        lines.append(
            f"| {name} | {_f(c['precision'])} | {_f(c['recall'])} | {_f(c['f1'])}{_ci(c['f1_ci'])} | "
            f"{_f(p['macro_f1'])}{_ci(p['macro_f1_ci'])} | "
            f"{_p(comp.get('p_vs_best', {}).get(name), comp.get('best') == name)} |"
        )
    lines.append("")
    return lines


def chart(board: dict) -> bytes:
    """leaderboard.png: strict micro F1 per layer and system (pair macro-F1 last), CI error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [t.name for t in TAG_LAYERS] + ["pairs"]
    labels = [LAYER_TITLE[k].replace("`", "") if k != "pairs" else "claim pairs (macro-F1)" for k in keys]
    names = board["order"]
    fig, axes = plt.subplots(len(EVALUATIONS), 1, figsize=(11, 7.5), sharey=True)
    width = 0.8 / max(1, len(names))
    for ax, ev in zip(axes, EVALUATIONS):
        systems = board["evaluations"][ev]["systems"]
        for k, name in enumerate(names):
            vals, lo, hi = [], [], []
            for key in keys:
                f, ci = _chart_value(systems.get(name), key)
                vals.append(np.nan if f is None else f)
                lo.append(0.0 if f is None or ci is None else max(0.0, f - ci[0]))
                hi.append(0.0 if f is None or ci is None else max(0.0, ci[1] - f))
            xs = np.arange(len(keys)) + (k - (len(names) - 1) / 2) * width
            ax.bar(xs, vals, width, yerr=[lo, hi], capsize=2, label=name)
        ax.set_title(EVALUATION_TITLE[ev], fontsize=10)
        ax.set_xticks(np.arange(len(keys)), labels, fontsize=8)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("strict micro F1")
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8, ncol=max(1, len(names)), loc="upper right")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _chart_value(s: dict | None, key: str) -> tuple[float | None, list[float] | None]:
    if s is None:
        return None, None
    if key == "pairs":
        p = s["pairs"]
        return (p["macro_f1"], p["macro_f1_ci"]) if p else (None, None)
    layer = s["layers"].get(key)
    if layer is None:
        return None, None
    m = layer["strict"]["micro"]
    return m["f1"], m["f1_ci"]


# ---------------------------------------------------------------------------------------------
# the whole job (I/O at the edges)


def file_entries(gold: Gold, files: list[tuple[str, Path]], taken: set[str]) -> list[Entry]:
    """Validated predictions files, scored on the test split only."""
    test_ids = [d.id for d in gold.docs if d.split == "test"]
    entries = []
    for name, path in files:
        if name in taken or any(e.name == name for e in entries):
            raise InputError(f"--name {name}", "already the name of another system")
        preds = read_predictions(path, gold.docs, gold.pairs)
        require_documents(preds, test_ids, str(path))
        entries.append(Entry(name, "file", False, {"test": preds.only(test_ids)}))
    return entries


def steps(systems: dict[str, System], files: int, n_docs: int) -> int:
    """How many progress ticks a run makes: system runs and folds, then one per scoring."""
    runs = sum(1 + n_docs if s.learned else 1 for s in systems.values())
    return runs + len(EVALUATIONS) * len(systems) + files


def write_outputs(board: dict, out: Path) -> list[Path]:
    """Write the three outputs; each is written atomically."""
    md = out / "LEADERBOARD.md"
    js = out / "leaderboard.json"
    png = out / "leaderboard.png"
    write_text_atomic(js, json.dumps(board, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    write_text_atomic(md, markdown(board))
    write_bytes_atomic(png, chart(board))
    return [md, js, png]


def leaderboard(
    root: Path,
    out: Path,
    names: list[str] | None = None,
    files: list[tuple[str, Path]] | None = None,
    on_total: Callable[[int], None] = lambda n: None,
    tick: Callable[[], None] = lambda: None,
) -> dict:
    """Run, score and write the leaderboard; returns the board. Bad input fails before any run."""
    gold = load_gold(root / "annotations")
    names = names if names is not None else system_names()
    systems = {name: make_system(name) for name in names}
    loaded = file_entries(gold, files or [], set(systems))
    on_total(steps(systems, len(loaded), len(gold.docs)))
    entries = [
        Entry(name, "baseline" if name in BUILTIN else "plug-in", bool(s.learned), run_system(s, gold, tick, name))
        for name, s in systems.items()
    ]
    board = score_entries(gold, entries + loaded, tick)
    write_outputs(board, out)
    return board
