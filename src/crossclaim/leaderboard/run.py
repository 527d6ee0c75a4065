"""The leaderboard: every system on the test split and in leave-one-document-out cross-validation.

Learned systems are trained on the train split for the test evaluation and retrained on the other
documents for every cross-validation fold; rule-based and zero-shot systems are run once on every
document. Claim pairs are labelled in the fold of the first of their two documents (the pair's
"home"), with no pair that touches the held-out document in training. Predictions files given on
the command line are scored on the test split only (they cannot be retrained).

Outputs are deterministic (fixed seeds, fixed numeric kernels for every system that computes in
floats (``systems.kernels``), sorted keys, numbers rounded once, no timestamps, PNG without software
metadata), so a rerun on any x86-64 machine reproduces the committed files byte for byte.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from crossclaim.dataset.gold import Gold, load_gold
from crossclaim.dataset.pairset import claim_groups
from crossclaim.dataset.splits import pair_split
from crossclaim.errors import InputError
from crossclaim.evaluation.counts import PARTIAL_SCHEME, SNAPPING, Counts, GoldDoc, count, entities, index_gold
from crossclaim.evaluation.metrics import (
    PAIR_UNIT,
    RESAMPLES,
    ROUNDS,
    SEED,
    SPAN_UNIT,
    pair_macro_f1,
    randomization_test,
    sample,
    strict_f1,
    summarize,
)
from crossclaim.evaluation.results import Scores, rounded
from crossclaim.evaluation.score import NO_GOLD, pairs_of_split
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
from crossclaim.systems.base import System, TrainingSet, pair_queries, training_set
from crossclaim.systems.kernels import Job, run, run_jobs
from crossclaim.systems.registry import BUILTIN, make_system, system_names

OUTPUTS = ("LEADERBOARD.md", "leaderboard.json", "leaderboard.png")
COMMITTED = "baselines"  # the committed board's directory, under the project root


def output_directory(root: Path, out: Path | None, names: Sequence[str] | None, files: Sequence[Path]) -> Path:
    """Where a run writes its board: by default the committed one, ``root/baselines``.

    Only a run of exactly the built-in baselines writes the committed board, so it always means the
    same thing: plug-ins, a selection of systems or predictions files never change it. Such a run must
    name ``out`` and may not name the committed board there; both are refused before anything runs.
    ``names`` is the systems the run was asked for (None: every system found).
    """
    committed = root / COMMITTED
    runs = list(names) if names else system_names()
    if sorted(runs) != sorted(BUILTIN) or files:
        what = "predictions files" if files else ("plug-ins" if set(runs) - set(BUILTIN) else "a selection of systems")
        if out is None:
            raise InputError("--out", f"required: a run with {what} does not write the committed board {committed}")
        if out.resolve() == committed.resolve():
            raise InputError(f"--out {out}", f"is the committed board: a run with {what} writes elsewhere")
    return out if out is not None else committed


@dataclass
class Entry:
    """One row of the leaderboard: a system's predictions per evaluation."""

    name: str
    kind: str  # baseline, plug-in or file
    learned: bool
    predictions: dict[str, Predictions]  # evaluation -> predictions on its documents
    trained_on: tuple[str, ...] = ()  # a learned system: the splits it trains on for the test split
    developed_on: Mapping[str, frozenset[str]] = field(default_factory=dict)  # metric -> documents left out


# ---------------------------------------------------------------------------------------------
# running systems (the only slow part)


def checked(preds: Predictions, name: str, gold: Gold, docs: list[Document]) -> Predictions:
    """A system's predictions through the file format and its validator: a plug-in's bad span is a
    clear error naming the system, document and field, and a file of the same output scores the same."""
    text = to_jsonl(preds, docs, gold.pairs)
    return parse_predictions(text, f"system {name} (as JSON Lines)", gold.docs, gold.pairs)


def system_jobs(system: System, gold: Gold, name: str) -> list[Job]:
    """The runs that give a system's predictions (pure): a system that does not learn runs once
    over every document; a learned one trains for the test split, then once per held-out document."""
    docs = sorted(gold.docs, key=lambda d: d.id)
    by_id = {d.id: d for d in docs}
    claims = gold.claims()
    if not system.learned:
        return [Job(system, None, docs, pair_queries(gold.pairs, by_id, claims), f"{name}: every document")]
    test = [d for d in docs if d.split == "test"]
    train = training_docs(system, docs, {d.id for d in test})
    if not train:
        raise untrainable(system, name, docs)
    if len(docs) < 2:
        raise InputError(f"system {name}", "learns, but the corpus has fewer than two documents to cross-validate on")
    split_of = {d.id: d.split for d in docs}
    test_pairs = [p for p in gold.pairs if pair_split(p, split_of) == "test"]
    jobs = [
        Job(
            system,
            training_set(train, gold.spans, gold.pairs),
            test,
            pair_queries(test_pairs, by_id, claims),
            f"{name}: test split",
        )
    ]
    for held in docs:
        rest = [d for d in docs if d.id != held.id]
        home = [p for p in gold.pairs if p.home() == held.id]
        jobs.append(
            Job(
                system,
                training_set(rest, gold.spans, gold.pairs),
                [held],
                pair_queries(home, by_id, claims),
                f"{name}: fold {held.id}",
            )
        )
    return jobs


def assemble(system: System, gold: Gold, name: str, results: list[Predictions]) -> dict[str, Predictions]:
    """A system's checked predictions per evaluation, from the results of its ``system_jobs`` in order."""
    docs = sorted(gold.docs, key=lambda d: d.id)
    test = [d for d in docs if d.split == "test"]
    if not system.learned:
        everything = checked(results[0], name, gold, docs)
        return {"test": everything.only([d.id for d in test]), "cv": everything}
    return {"test": checked(results[0], name, gold, test), "cv": checked(merge(results[1:]), name, gold, docs)}


def run_jobs_of(jobs: list[Job], workers: int, tick: Callable[[str], None]) -> list[Predictions]:
    """Every job: those of systems with fixed kernels in pinned child processes (``workers`` at a
    time), the others here, one after another; results in job order."""
    pinned = [k for k, job in enumerate(jobs) if job.system.fixed_kernels]
    results: dict[int, Predictions] = dict(zip(pinned, run_jobs([jobs[k] for k in pinned], workers, tick)))
    for k, job in enumerate(jobs):
        if k not in results:
            results[k] = run(job)
            tick(job.label)
    return [results[k] for k in range(len(jobs))]


def run_systems(
    systems: dict[str, System], gold: Gold, tick: Callable[[str], None] = lambda label: None, workers: int = 1
) -> dict[str, dict[str, Predictions]]:
    """Predictions of every system for the test split and for every cross-validation fold. Bad input
    (a system that cannot train) fails before any run."""
    jobs = {name: system_jobs(s, gold, name) for name, s in systems.items()}
    flat = [job for name in systems for job in jobs[name]]
    results = iter(run_jobs_of(flat, workers, tick))
    return {name: assemble(s, gold, name, [next(results) for _ in jobs[name]]) for name, s in systems.items()}


def run_system(
    system: System, gold: Gold, tick: Callable[[str], None] = lambda label: None, name: str = "", workers: int = 1
) -> dict[str, Predictions]:
    """Predictions of one system for the test split and for every cross-validation fold."""
    name = name or system.name or type(system).__name__
    return run_systems({name: system}, gold, tick, workers)[name]


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
    train = training_of(system, gold, name, predicted)
    if train is not None:
        system.fit(train)


def training_of(system: System, gold: Gold, name: str, predicted: set[str] | frozenset[str]) -> TrainingSet | None:
    """What a learned system trains on to predict the documents ``predicted`` (None: it does not learn)."""
    if not system.learned:
        return None
    docs = sorted(gold.docs, key=lambda d: d.id)
    train = training_docs(system, docs, predicted)
    if not train:
        raise untrainable(system, name, docs)
    return training_set(train, gold.spans, gold.pairs)


def predict_on(system: System, gold: Gold, docs: list[Document], pairs: list[Pair], name: str) -> Predictions:
    """A system's checked predictions on ``docs`` and ``pairs``, a learned system trained first
    (``training_of``); a system with fixed kernels runs in a pinned child, as on the leaderboard."""
    queries = pair_queries(pairs, {d.id: d for d in gold.docs}, gold.claims())
    job = Job(system, training_of(system, gold, name, {d.id for d in docs}), docs, queries, name)
    return checked(run_jobs_of([job], 1, lambda label: None)[0], name, gold, docs)


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


METRICS = (*(t.name for t in TAG_LAYERS), "figure_values", "pairs")  # what development documents are declared for


class Scorer:
    """Counts of every system on one evaluation's documents, leaving out the documents a system was
    developed on (per metric), cached by the documents left out: most systems need one count, a
    system with rules two."""

    def __init__(self, golds: list[GoldDoc], pairs: list[Pair], entries: list[Entry], ev: str) -> None:
        self.golds, self.pairs = golds, pairs
        self.preds = {e.name: e.predictions[ev] for e in entries if ev in e.predictions}
        ids = {g.doc.id for g in golds}
        self.left_out = {e.name: {m: frozenset(e.developed_on.get(m, ())) & ids for m in METRICS} for e in entries}
        self._counts: dict[tuple[str, frozenset[str]], Counts] = {}

    def counts(self, name: str, drop: frozenset[str]) -> Counts:
        """Counts of ``name`` on the documents outside ``drop``, and on the pairs touching none of them."""
        key = (name, drop)
        if key not in self._counts:
            golds = [g for g in self.golds if g.doc.id not in drop]
            pairs = [p for p in self.pairs if p.a_doc not in drop and p.b_doc not in drop]
            self._counts[key] = count(golds, self.preds[name], pairs)
        return self._counts[key]

    def scores(self, name: str) -> Scores:
        """A system's scores, each metric on the documents it was not developed on."""
        drops = self.left_out[name]
        summaries = {d: summarize(self.counts(name, d)) for d in sorted(set(drops.values()), key=sorted)}
        layers = {}
        for t in [t.name for t in TAG_LAYERS]:
            own = summaries[drops[t]].layers.get(t)
            if own is None:
                continue
            values = summaries[drops["figure_values"]].layers[t].values if t == "figure_tags" else None
            layers[t] = replace(own, values=values)
        return Scores(layers, summaries[drops["pairs"]].pairs, next(iter(summaries.values())).sample)

    def per_unit(self, name: str, key: str, drop: frozenset[str]) -> np.ndarray | None:
        c = self.counts(name, drop)
        return c.pairs if key == "pairs" else c.strict.get(key)

    def compare(self) -> dict[str, Comparison]:
        """Per layer (and pairs): the best system by strict micro F1 (pairs: macro-F1) on its own
        scored documents, and every other one's approximate randomisation p-value against it on the
        documents both are scored on (pairs swapped by connected group of claims)."""
        out: dict[str, Comparison] = {}
        for key in [t.name for t in TAG_LAYERS] + ["pairs"]:
            statistic = pair_macro_f1 if key == "pairs" else strict_f1
            observed = {}
            for name in self.preds:
                x = self.per_unit(name, key, self.left_out[name][key])
                if x is not None and len(x) and not np.isnan(f := float(statistic(x.sum(0)))):
                    observed[name] = f
            if not observed:
                continue
            order = list(self.preds)
            best = max(observed, key=lambda n: (observed[n], -order.index(n)))
            p_values = {}
            for name in observed:
                if name == best:
                    continue
                drop = self.left_out[best][key] | self.left_out[name][key]
                a, b = self.per_unit(best, key, drop), self.per_unit(name, key, drop)
                if a is None or b is None or not len(a):
                    p_values[name] = None
                    continue
                # pairs sharing a claim are swapped together (sentences: one group each)
                groups = claim_groups(self.counts(best, drop).pair_claims) if key == "pairs" else None
                p_values[name] = randomization_test(a, b, statistic, groups=groups)
            out[key] = Comparison(best, p_values)
        return out


def score_entries(gold: Gold, entries: list[Entry], tick: Callable[[str], None] = lambda label: None) -> Board:
    """The leaderboard: scores, CIs and p-values against the best system (floats unrounded: the
    outputs round them once, ``write_outputs``)."""
    docs = evaluation_docs(gold)
    pairs = evaluation_pairs(gold)
    # the test split is scored with the flags the dataset publishes; cross-validation holds every
    # document out against all the others, so there every CONTRADICTS pair counts
    flags = {"test": gold.contradictory(), "cv": gold.contradictory(nested=False)}
    evaluations = {}
    for ev in EVALUATIONS:
        golds: list[GoldDoc] = [index_gold(d, gold.spans(d.id), flags[ev].get(d.id, set())) for d in docs[ev]]
        scorer = Scorer(golds, pairs[ev], entries, ev)
        systems: dict[str, Scores] = {}
        for name in scorer.preds:
            systems[name] = scorer.scores(name)
            tick(f"scoring {name} ({ev})")
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
            comparison=scorer.compare(),
        )
    board = Board(
        evaluations=evaluations,
        order=tuple(e.name for e in entries),
        systems={
            e.name: SystemInfo(
                e.kind,
                e.learned,
                tuple(sorted(e.predictions)),
                e.trained_on,
                {m: tuple(sorted(d)) for m, d in sorted(e.developed_on.items()) if d},
            )
            for e in entries
        },
        settings=SETTINGS,
    )
    return board


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


# ---------------------------------------------------------------------------------------------
# the whole job (I/O at the edges)


def file_entries(gold: Gold, files: list[tuple[str, Path]], taken: set[str]) -> list[Entry]:
    """Validated predictions files, scored on the test split only."""
    test_ids = [d.id for d in gold.docs if d.split == "test"]
    entries = []
    for name, path in files:
        if name in taken or any(e.name == name for e in entries):
            raise InputError(f"--name {name}", "already the name of another system")
        preds = read_predictions(path, gold.docs, gold.pairs, NO_GOLD)
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
    # one rounding each, from the unrounded board: JSON to DIGITS places, the page and the plot to theirs
    write_text_atomic(js, json.dumps(rounded(board).to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    write_text_atomic(md, markdown(board))
    write_bytes_atomic(png, chart(board))
    return [md, js, png]


WORKERS_ENV = "CROSSCLAIM_WORKERS"


def worker_count() -> int:
    """Child processes run at once: one per core, at most ``$CROSSCLAIM_WORKERS``."""
    return max(1, min(os.cpu_count() or 1, int(os.environ.get(WORKERS_ENV) or 1 << 30)))


def leaderboard(
    root: Path,
    out: Path,
    names: list[str] | None = None,
    files: list[tuple[str, Path]] | None = None,
    on_total: Callable[[int], None] = lambda n: None,
    tick: Callable[[str], None] = lambda label: None,
) -> Board:
    """Run, score and write the leaderboard; returns the board. Bad input fails before any run.

    ``on_total`` gets the number of steps (``steps``), then ``tick`` is called once per step with what
    finished; neither ever reaches the outputs.
    """
    gold = load_gold(root / "annotations")
    names = names if names is not None else system_names()
    systems = {name: make_system(name) for name in names}
    loaded = file_entries(gold, files or [], set(systems))
    on_total(steps(systems, len(loaded), len(gold.docs)))
    runs = run_systems(systems, gold, tick, worker_count())
    entries = [
        Entry(
            name,
            "baseline" if name in BUILTIN else "plug-in",
            bool(s.learned),
            runs[name],
            fit_splits(s) if s.learned else (),
            dict(s.developed_on),
        )
        for name, s in systems.items()
    ]
    board = score_entries(gold, entries + loaded, tick)
    write_outputs(board, out)
    return board
