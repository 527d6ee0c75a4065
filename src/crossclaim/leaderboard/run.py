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

import contextlib
import json
import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crossclaim.dataset.gold import Gold, load_gold
from crossclaim.dataset.splits import pair_split
from crossclaim.errors import InputError
from crossclaim.evaluation.counts import PARTIAL_SCHEME, SNAPPING, Counts, GoldDoc, count, entities, index_gold
from crossclaim.evaluation.metrics import (
    PAIR_UNIT,
    RESAMPLES,
    ROUNDS,
    SEED,
    SPAN_UNIT,
    claim_groups,
    pair_macro_f1,
    randomization_test,
    sample,
    strict_f1,
    summarize,
)
from crossclaim.evaluation.results import Scores, rounded
from crossclaim.evaluation.score import pairs_of_split
from crossclaim.files import write_bytes_atomic, write_text_atomic
from crossclaim.formats.predictions import (
    Predictions,
    merge,
    parse_predictions,
    read_predictions,
    require_documents,
    to_jsonl,
)
from crossclaim.leaderboard.board import Board, Comparison, Evaluation, SystemInfo
from crossclaim.leaderboard.render import EVALUATIONS, chart, markdown
from crossclaim.schema.records import Document, Pair
from crossclaim.schema.scheme import SPLITS, TAG_LAYERS
from crossclaim.systems.base import PairQuery, System, TrainingSet, pair_queries, training_set
from crossclaim.systems.registry import BUILTIN, make_system, system_names

OUTPUTS = ("LEADERBOARD.md", "leaderboard.json", "leaderboard.png")


@dataclass
class Entry:
    """One row of the leaderboard: a system's predictions per evaluation."""

    name: str
    kind: str  # baseline, plug-in or file
    learned: bool
    predictions: dict[str, Predictions]  # evaluation -> predictions on its documents
    trained_on: tuple[str, ...] = ()  # a learned system: the splits it trains on for the test split


# ---------------------------------------------------------------------------------------------
# running systems (the only slow part)


def checked(preds: Predictions, name: str, gold: Gold, docs: list[Document]) -> Predictions:
    """A system's predictions through the file format and its validator: a plug-in's bad span is a
    clear error naming the system, document and field, and a file of the same output scores the same."""
    text = to_jsonl(preds, docs, gold.pairs)
    return parse_predictions(text, f"system {name} (as JSON Lines)", gold.docs, gold.pairs)


def fit_predict(system: System, train: TrainingSet, docs: list[Document], queries: list[PairQuery]) -> Predictions:
    """Train a learned system and predict: one fold (or the test run), run in a worker process."""
    system.fit(train)
    return system.predict(docs, queries)


def run_system(
    system: System, gold: Gold, tick: Callable[[], None], name: str = "", pool: Executor | None = None
) -> dict[str, Predictions]:
    """Predictions of one system for the test split and for every cross-validation fold.

    A learned system's six trainings (the test run and one per fold) are independent: with ``pool``
    they run in its worker processes, each on a copy of the untrained system, and their results
    are put back in fold order, so the output is the same as in one process.
    """
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
    train = training_docs(system, docs, {d.id for d in test})
    if not train:
        raise untrainable(system, name, docs)
    if len(docs) < 2:
        raise InputError(f"system {name}", "learns, but the corpus has fewer than two documents to cross-validate on")
    jobs = [(training_set(train, gold.spans, gold.pairs), test, pair_queries(test_pairs, by_id, claims))]
    for held in docs:
        rest = [d for d in docs if d.id != held.id]
        home = [p for p in gold.pairs if p.home() == held.id]
        jobs.append((training_set(rest, gold.spans, gold.pairs), [held], pair_queries(home, by_id, claims)))
    if pool is None:
        results = []
        for job in jobs:
            results.append(fit_predict(system, *job))
            tick()
    else:
        futures = [pool.submit(fit_predict, system, *job) for job in jobs]
        for future in as_completed(futures):
            future.result()
            tick()
        results = [f.result() for f in futures]
    out["test"] = checked(results[0], name, gold, test)
    out["cv"] = checked(merge(results[1:]), name, gold, docs)
    return out


def fit_splits(system: System) -> tuple[str, ...]:
    """The splits a learned system trains on for a test-split run (the train split unless it says otherwise)."""
    return tuple(getattr(system, "fit_splits", ("train",)))


def training_docs(system: System, docs: list[Document], predicted: set[str] | frozenset[str]) -> list[Document]:
    """The documents a learned system trains on to predict the documents ``predicted``: those of the
    splits it names (``fit_splits``), never one it is about to predict."""
    splits = set(fit_splits(system))
    return [d for d in docs if d.split in splits and d.id not in predicted]


def untrainable(system: System, name: str, docs: list[Document]) -> InputError:
    """Why a learned system has no document to train on: its splits are empty, or every document of
    them is one it is asked to predict."""
    splits = fit_splits(system)
    named = " and ".join(splits)
    if not any(d.split in splits for d in docs):
        return InputError(f"system {name}", f"learns on the {named} split, which the corpus does not have")
    return InputError(
        f"system {name}",
        f"learns on the {named} split, and is asked to predict every document of it: a learned system never "
        "predicts a document it trains on (predict another split; the leaderboard cross-validates over all)",
    )


def fit_learned(system: System, gold: Gold, name: str, predicted: set[str] | frozenset[str] = frozenset()) -> None:
    """Train a learned system on ``training_docs`` (as for the leaderboard's test evaluation)."""
    if system.learned:
        docs = sorted(gold.docs, key=lambda d: d.id)
        train = training_docs(system, docs, predicted)
        if not train:
            raise untrainable(system, name, docs)
        system.fit(training_set(train, gold.spans, gold.pairs))


def predict_on(system: System, gold: Gold, docs: list[Document], pairs: list[Pair], name: str) -> Predictions:
    """A system's checked predictions on ``docs`` and ``pairs``; a learned system is first trained (``fit_learned``)."""
    fit_learned(system, gold, name, {d.id for d in docs})
    return checked(
        system.predict(docs, pair_queries(pairs, {d.id: d for d in gold.docs}, gold.claims())), name, gold, docs
    )


def run_on_split(system: System, gold: Gold, split: str, name: str) -> tuple[Predictions, list[Document], list[Pair]]:
    """A system's checked predictions on a split (``all``: every document), with its documents and pairs."""
    if split not in (*SPLITS, "all"):
        raise InputError("--split", f"unknown split {split!r} (allowed: {', '.join(SPLITS)}, all)")
    docs = [d for d in sorted(gold.docs, key=lambda d: d.id) if split == "all" or d.split == split]
    pairs = pairs_of_split(gold.pairs, {d.id: d.split for d in gold.docs}, split)
    return predict_on(system, gold, docs, pairs, name), docs, pairs


def predict_split(system: System, gold: Gold, split: str, name: str) -> str:
    """The predictions file (JSON Lines text) of a system on a split (``all``: every document)."""
    preds, docs, pairs = run_on_split(system, gold, split, name)
    return to_jsonl(preds, docs, pairs)


# ---------------------------------------------------------------------------------------------
# scoring (pure)


def evaluation_docs(gold: Gold) -> dict[str, list[Document]]:
    docs = sorted(gold.docs, key=lambda d: d.id)
    return {"test": [d for d in docs if d.split == "test"], "cv": docs}


def evaluation_pairs(gold: Gold) -> dict[str, list[Pair]]:
    split_of = {d.id: d.split for d in gold.docs}
    return {"test": [p for p in gold.pairs if pair_split(p, split_of) == "test"], "cv": list(gold.pairs)}


def score_entries(gold: Gold, entries: list[Entry], tick: Callable[[], None] = lambda: None) -> Board:
    """The leaderboard: scores, CIs and p-values against the best system, every float rounded."""
    docs = evaluation_docs(gold)
    pairs = evaluation_pairs(gold)
    # the test split is scored with the flags the dataset publishes; cross-validation holds every
    # document out against all the others, so there every CONTRADICTS pair counts
    flags = {"test": gold.contradictory(), "cv": gold.contradictory(nested=False)}
    evaluations = {}
    for ev in EVALUATIONS:
        golds: list[GoldDoc] = [index_gold(d, gold.spans(d.id), flags[ev].get(d.id, set())) for d in docs[ev]]
        counts: dict[str, Counts] = {}
        systems: dict[str, Scores] = {}
        for e in entries:
            if ev not in e.predictions:
                continue
            counts[e.name] = count(golds, e.predictions[ev], pairs[ev])
            systems[e.name] = summarize(counts[e.name])
            tick()
        # the gold alone (no layer predicted, every pair unlabelled): the units and pair homes of this evaluation
        gold_counts = count(golds, Predictions({}, frozenset(), {}, {}), pairs[ev])
        evaluations[ev] = Evaluation(
            documents=tuple(d.id for d in docs[ev]),
            gold_spans={t.name: sum(len(entities(g.tags[t.name])) for g in golds) for t in TAG_LAYERS},
            gold_spans_by_document={
                t.name: {g.doc.id: len(entities(g.tags[t.name])) for g in golds} for t in TAG_LAYERS
            },
            pairs=len(pairs[ev]),
            pairs_by_document={
                doc: int(n)
                for doc, n in zip(gold_counts.docs, np.bincount(gold_counts.pair_docs, minlength=len(golds)))
            }
            if gold_counts.pair_docs is not None
            else {},
            sample=sample(gold_counts)[0],
            systems=systems,
            comparison=compare(counts),
        )
    board = Board(
        evaluations=evaluations,
        order=tuple(e.name for e in entries),
        systems={e.name: SystemInfo(e.kind, e.learned, tuple(sorted(e.predictions)), e.trained_on) for e in entries},
        settings=SETTINGS,
    )
    return rounded(board)


SETTINGS = {
    "bootstrap": (
        f"{RESAMPLES} resamples, seed {SEED}; 95% percentile intervals. Span layers: {SPAN_UNIT}. Pairs: {PAIR_UNIT}, "
        "because pairs that share a claim are not independent (most claims are in several pairs), so resampling "
        "pairs one by one understates the spread. Claims are drawn within their own document, as sentences are: "
        "the documents are held fixed, the intervals describe these documents, not news in general"
    ),
    "p_value": (
        f"two-sided approximate randomisation test ({ROUNDS} rounds, seed {SEED}) of strict micro F1 (span layers) "
        "or macro-F1 (pairs) against the best system of the layer: each round swaps the two systems' output on "
        "every exchangeable group with probability 1/2. Span layers: every sentence is a group. Pairs: a group "
        "is a connected group of claims (pairs sharing a claim, transitively), all its pairs swapped together; "
        f"with g groups there are 2^g swaps, all enumerated when 2^g <= {ROUNDS} (p = k / 2^g, exact), else "
        f"sampled (p = (k + 1) / ({ROUNDS} + 1)). The identity and the full swap always reach the observed "
        "difference, so p cannot go below 2^(1 - g) (nor 1 / (rounds + 1) when sampled): the sample's "
        "claim_groups and pair_p_floor give g and that floor for pairs; at_floor when p is at it (a bound)"
    ),
    "snapping": SNAPPING,
    "strict": (
        "seqeval classification_report, mode='strict', scheme=IOB2, on the token view; a snapped span the view "
        "cannot hold gets a pseudo-sentence whose gold is all O (a false positive): exact (start, end, label) "
        "matching of snapped spans"
    ),
    "partial": PARTIAL_SCHEME,
    "pairs": "CONTRADICTS P/R/F1 and macro-F1 over the labels present (scikit-learn); missing labels are wrong",
    "value_accuracy": "share of strictly matched figures whose value equals the gold value",
}


def compare(counts: dict[str, Counts]) -> dict[str, Comparison]:
    """Per layer (and pairs): the best system by strict micro F1 (pairs: macro-F1) and every other
    one's approximate randomisation p-value against it (pairs swapped by connected group of claims)."""
    out: dict[str, Comparison] = {}
    for key in [t.name for t in TAG_LAYERS] + ["pairs"]:
        per_unit = {
            name: c.pairs if key == "pairs" else c.strict.get(key)
            for name, c in counts.items()
            if (c.pairs if key == "pairs" else c.strict.get(key)) is not None
        }
        statistic = pair_macro_f1 if key == "pairs" else strict_f1
        observed = {name: float(statistic(x.sum(0))) for name, x in per_unit.items()}
        observed = {name: f for name, f in observed.items() if not np.isnan(f)}
        if not observed:
            continue
        best = max(observed, key=lambda n: (observed[n], -list(counts).index(n)))
        groups = claim_groups(counts[best].pair_claims) if key == "pairs" else None  # sentences: one each
        out[key] = Comparison(
            best,
            {
                name: randomization_test(per_unit[best], per_unit[name], statistic, groups=groups)
                for name in observed
                if name != best
            },
        )
    return out


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


def write_outputs(board: Board, out: Path) -> list[Path]:
    """Write the three outputs; each is written atomically."""
    md = out / "LEADERBOARD.md"
    js = out / "leaderboard.json"
    png = out / "leaderboard.png"
    write_text_atomic(js, json.dumps(board.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    write_text_atomic(md, markdown(board))
    write_bytes_atomic(png, chart(board))
    return [md, js, png]


WORKERS_ENV = "CROSSCLAIM_WORKERS"


@contextlib.contextmanager
def worker_pool(needed: bool) -> Iterator[Executor | None]:
    """Worker processes for the trainings, one per core (at most ``$CROSSCLAIM_WORKERS``); None on one core.

    Forked where the platform can (a worker then starts with everything imported, which matters when
    every model comes from the cache); a worker only trains and predicts, it never touches the
    caller's threads (the progress bar). Elsewhere spawned.
    """
    workers = min(os.cpu_count() or 1, int(os.environ.get(WORKERS_ENV) or 1 << 30))
    if not needed or workers < 2:
        yield None
        return
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method)) as pool:
        yield pool


def leaderboard(
    root: Path,
    out: Path,
    names: list[str] | None = None,
    files: list[tuple[str, Path]] | None = None,
    on_total: Callable[[int], None] = lambda n: None,
    tick: Callable[[], None] = lambda: None,
) -> Board:
    """Run, score and write the leaderboard; returns the board. Bad input fails before any run."""
    gold = load_gold(root / "annotations")
    names = names if names is not None else system_names()
    systems = {name: make_system(name) for name in names}
    loaded = file_entries(gold, files or [], set(systems))
    on_total(steps(systems, len(loaded), len(gold.docs)))
    with worker_pool(any(s.learned for s in systems.values())) as pool:
        entries = [
            Entry(
                name,
                "baseline" if name in BUILTIN else "plug-in",
                bool(s.learned),
                run_system(s, gold, tick, name, pool),
                fit_splits(s) if s.learned else (),
            )
            for name, s in systems.items()
        ]
    board = score_entries(gold, entries + loaded, tick)
    write_outputs(board, out)
    return board
