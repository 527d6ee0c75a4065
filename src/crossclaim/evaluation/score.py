"""Scoring one predictions object or file on a split (the ``crossclaim score`` command)."""

from __future__ import annotations

from pathlib import Path

from crossclaim.errors import InputError
from crossclaim.evaluation.counts import GoldDoc, count, index_gold
from crossclaim.evaluation.metrics import RESAMPLES, SEED, summarize
from crossclaim.evaluation.results import CI, Sample, Scores, SplitScores
from crossclaim.formats.predictions import Predictions
from crossclaim.schema.records import Pair
from crossclaim.schema.scheme import SPLITS

# ---------------------------------------------------------------------------------------------
# the whole evaluation of one predictions object


def evaluate(
    golds: list[GoldDoc], preds: Predictions, pairs: list[Pair], resamples: int = RESAMPLES, seed: int = SEED
) -> Scores:
    """Score ``preds`` on the documents of ``golds`` and the gold ``pairs`` in scope."""
    return summarize(count(golds, preds, pairs), resamples, seed)


def pairs_of_split(pairs: list[Pair], split_of: dict[str, str], split: str) -> list[Pair]:
    """The gold pairs of a split as the claim_pairs config assigns them (``all``: every pair)."""
    from crossclaim.dataset.splits import pair_split

    return [p for p in pairs if split == "all" or pair_split(p, split_of) == split]


# ---------------------------------------------------------------------------------------------
# a predictions file on a split (the ``crossclaim score`` command)

# what a file of predictions on documents outside the dataset (a corpus: ``crossclaim predict SYSTEM CORPUS``) is told
NO_GOLD = (
    "a corpus outside the dataset has no gold to score against; its predictions are pre-annotations "
    '(see "Pre-annotating a corpus" in the README)'
)


def score_file(root: Path, path: Path, split: str) -> SplitScores:
    """Validate ``path`` against the corpus and score it on ``split`` (train, validation, test or all)."""
    from crossclaim.dataset.gold import load_gold
    from crossclaim.formats.predictions import read_predictions, require_documents

    if split not in (*SPLITS, "all"):
        raise InputError("--split", f"unknown split {split!r} (allowed: {', '.join(SPLITS)}, all)")
    gold = load_gold(root / "annotations")
    preds = read_predictions(path, gold.docs, gold.pairs, NO_GOLD)
    docs = [d for d in sorted(gold.docs, key=lambda d: d.id) if split == "all" or d.split == split]
    ids = [d.id for d in docs]
    split_of = {d.id: d.split for d in gold.docs}
    require_documents(preds, ids, str(path), split_hint(sorted(preds.spans), split_of, split))
    contradictory = gold.contradictory()
    golds = [index_gold(d, gold.spans(d.id), contradictory.get(d.id, set())) for d in docs]
    pairs = pairs_of_split(gold.pairs, split_of, split)
    scores = evaluate(golds, preds.only(ids), pairs)
    return SplitScores(scores, split, tuple(ids), tuple(sorted(set(preds.spans) - set(ids))))


def split_hint(file_ids: list[str], split_of: dict[str, str], split: str) -> str:
    """Which split(s) a predictions file's documents are in, when none is in the split asked for: a file
    written for another split (``--split`` forgotten) is told the option that scores it."""
    if not file_ids or split == "all" or any(split_of[d] == split for d in file_ids):
        return ""
    by_split = {s: [d for d in file_ids if split_of[d] == s] for s in SPLITS}
    by_split = {s: ids for s, ids in by_split.items() if ids}
    if len(by_split) == 1:
        said = f"the file's documents {_some(file_ids)} are in the {next(iter(by_split))} split"
    else:
        said = "the file's documents are in " + " and ".join(f"the {s} split ({_some(i)})" for s, i in by_split.items())
    complete = [s for s, ids in by_split.items() if len(ids) == sum(1 for t in split_of.values() if t == s)]
    return f"{said}: pass --split {' or --split '.join(complete)}" if complete else said


def _some(ids: list[str], n: int = 10) -> str:
    return ", ".join(ids[:n]) + (f" and {len(ids) - n} more" if len(ids) > n else "")


def sample_note(s: Sample) -> str:
    """How the intervals were drawn: the unit each one resamples, resamples, and how many are distinct."""
    text = (
        f"95% CIs: {s.resamples:,} bootstrap resamples. Span intervals resample {s.span_unit or 'sentences'}: "
        f"{s.sentences} sentences of {s.documents} document{'s' if s.documents != 1 else ''} "
        f"({s.distinct_sentence_resamples:,} distinct)"
    )
    if s.distinct_pair_resamples is not None:
        text += (
            f". Pair intervals resample {s.pair_unit}: {s.claims} claims of {s.pairs} pairs "
            f"({s.distinct_pair_resamples:,} distinct)"
        )
    return text + ". They describe these documents, not news in general"


def unplaced_note(n: int) -> str:
    return f"{n} predicted span{'s' if n != 1 else ''} could not be placed on the token view"


def format_scores(result: SplitScores) -> str:
    """A plain-text report: per layer the seqeval table with CI, partial scores, values; then pairs."""

    def f(x: float | None) -> str:
        return "   n/a" if x is None else f"{x:6.3f}"

    def ci(c: CI) -> str:
        return "" if not c else f"  95% CI [{c[0]:.3f}, {c[1]:.3f}]"

    lines = [f"split {result.split}: {', '.join(result.documents)}"]
    s = result.scores.sample
    if s is not None:
        lines.append(sample_note(s))
    if result.ignored_documents:
        lines.append(f"(lines of {', '.join(result.ignored_documents)} are outside the split: not scored)")
    for layer, entry in result.scores.layers.items():
        lines += ["", f"{layer}", f"  {'label':<12} {'P':>6} {'R':>6} {'F1':>6} {'support':>8}"]
        for label, row in entry.strict.labels.items():
            p = row.prf
            lines.append(f"  {label:<12} {f(p.precision)} {f(p.recall)} {f(p.f1)} {row.support:>8}")
        m, p = entry.strict.micro, entry.partial.micro
        support = f"{entry.strict.support:>8}"
        lines.append(f"  {'micro':<12} {f(m.precision)} {f(m.recall)} {f(m.f1)} {support}{ci(entry.strict.f1_ci)}")
        lines.append(f"  {'partial':<12} {f(p.precision)} {f(p.recall)} {f(p.f1)} {'':>8}{ci(entry.partial.f1_ci)}")
        if entry.strict.unplaced:
            lines.append(f"  {unplaced_note(entry.strict.unplaced)} (counted as false positives)")
        if entry.values is not None:
            v = entry.values
            lines.append(f"  value accuracy {f(v.accuracy)} ({v.correct}/{v.matched} matched){ci(v.ci)}")
    pairs = result.scores.pairs
    if pairs is not None:
        c = pairs.contradicts
        lines += [
            "",
            f"claim pairs ({pairs.n}, {pairs.unlabelled} without a prediction)",
            f"  CONTRADICTS P {f(c.precision)} R {f(c.recall)} F1 {f(c.f1)}{ci(pairs.f1_ci)}",
            f"  macro-F1 {f(pairs.macro_f1)}{ci(pairs.macro_f1_ci)}",
        ]
    return "\n".join(lines)
