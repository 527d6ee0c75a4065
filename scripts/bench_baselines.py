"""Throughput of the regex baseline beside spaCy-sm's NER, on the same text in the same run.

Prints MB/s (UTF-8 bytes) of each and their ratio (goal: regex at least 100x spaCy-sm). The text
is the corpus (all documents) repeated ``--repeat`` times, processed document by document as the
systems do: the regex baseline's whole ``predict`` (rules, values, topics, spans), spaCy's
``nlp.pipe`` with only tok2vec and ner. Both are timed in interleaved rounds and the best pass
of each is kept (shared machines are noisy; interleaving exposes both to the same noise); spaCy
gets one warm-up call first. A benchmark, not a test: it prints numbers and never fails on them.

    python scripts/bench_baselines.py [--root .] [--repeat 4] [--runs 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("."), help="repository root (holds annotations/)")
    parser.add_argument("--repeat", type=int, default=4, help="how many copies of the corpus to process")
    parser.add_argument("--runs", type=int, default=5, help="regex passes per round (it is fast: timer noise)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of regex and spaCy passes; the best of each is kept"
    )
    args = parser.parse_args()

    from crossclaim.baselines.regex import RegexSystem
    from crossclaim.baselines.spacy_sm import MODEL_VERSION, load_model

    from crossclaim.formats.manifest import load_manifest

    docs = load_manifest(args.root / "annotations") * args.repeat
    texts = [(d.text, d.publication_date) for d in docs]
    size = sum(len(t.encode("utf-8")) for t, _ in texts)
    chars = sum(len(t) for t, _ in texts)
    print(f"text: {len(docs)} documents ({args.repeat} x the corpus), {chars:,} characters, {size / 1e6:.3f} MB UTF-8")

    regex = RegexSystem()
    nlp = load_model()
    nlp("Xiaomi sold 76,000 cars in 2025.")  # warm-up
    regex_s, spacy_s = float("inf"), float("inf")
    for _ in range(args.rounds):  # interleaved, so a noisy moment of the machine hits both alike
        regex_s = min(regex_s, *(_timed(lambda: [regex.predict([d], []) for d in docs]) for _ in range(args.runs)))
        spacy_s = min(spacy_s, _timed(lambda: [doc.ents for doc in nlp.pipe([t for t, _ in texts])]))

    regex_mbs, spacy_mbs = size / regex_s / 1e6, size / spacy_s / 1e6
    print(f"regex baseline predict (figures + values, hedges, claims): {regex_mbs:8.3f} MB/s  ({regex_s:.3f} s)")
    print(f"spaCy en_core_web_sm {MODEL_VERSION} NER (tok2vec + ner):    {spacy_mbs:8.3f} MB/s  ({spacy_s:.3f} s)")
    print(f"ratio regex / spaCy-sm: {regex_mbs / spacy_mbs:.0f}x (goal: >= 100x)")


def _timed(fn) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


if __name__ == "__main__":
    main()
