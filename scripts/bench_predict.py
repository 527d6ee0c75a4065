"""Throughput of corpus pre-annotation (``crossclaim predict regex CORPUS``) with 1 and 2 worker processes.

A synthetic corpus of about ``--size-mb`` MB of JSON Lines (the gold documents' texts, cycled, under new
ids) is written to a temporary directory, checked once (the streaming pass every run starts with), then
run through ``predict_corpus`` with ``--num-proc 1`` and ``2`` in the same process, each end to end:
loading into Arrow, ``datasets.map`` over the workers, validating and writing every line. Prints MB/s
of corpus per run, their ratio, and whether the two outputs are byte-identical. As the reference, the
same ``BatchPredictor`` over the same batches held in memory is run by a plain ``multiprocessing.Pool``
of 1 and 2 processes (no ``datasets``: no Arrow copy, no shards), so the ratio ``datasets.map`` reaches
can be read against the one the machine offers at that moment. A benchmark, not a test: it prints
numbers and never fails on them (on a shared machine the second core may be busy).

    python scripts/bench_predict.py [--root .] [--size-mb 100]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("."), help="repository root (holds annotations/)")
    parser.add_argument("--size-mb", type=float, default=100.0, help="size of the synthetic corpus (MB of JSON Lines)")
    args = parser.parse_args()

    from crossclaim.formats.corpus import check_corpus
    from crossclaim.formats.manifest import load_manifest
    from crossclaim.systems.corpus import predict_corpus
    from crossclaim.systems.registry import make_system

    texts = [d.text for d in load_manifest(args.root / "annotations")]
    with tempfile.TemporaryDirectory(prefix="crossclaim-bench-predict-") as tmp:
        corpus = Path(tmp) / "corpus.jsonl"
        records = _write_corpus(corpus, texts, int(args.size_mb * 1e6))
        mb = corpus.stat().st_size / 1e6
        print(f"corpus: {records:,} records, {mb:.1f} MB of JSON Lines ({len(texts)} gold texts cycled)")

        began = time.perf_counter()
        checked = check_corpus(corpus)
        check_s = time.perf_counter() - began
        print(f"check (one streaming pass, serial):  {mb / check_s:7.2f} MB/s  ({check_s:.1f} s)")

        seconds, digests = {}, {}
        for procs in (1, 2):
            out = Path(tmp) / f"pred-{procs}.jsonl"
            began = time.perf_counter()
            predict_corpus(make_system("regex"), "regex", checked, out, procs)
            seconds[procs] = time.perf_counter() - began
            digests[procs] = hashlib.sha256(out.read_bytes()).hexdigest()
            print(f"regex predict, --num-proc {procs}:       {mb / seconds[procs]:7.2f} MB/s  ({seconds[procs]:.1f} s)")
            out.unlink()
        print(f"ratio 2 / 1 processes: {seconds[1] / seconds[2]:.2f}x (2 cores at most)")
        print(f"outputs byte-identical: {digests[1] == digests[2]}")

        reference = {}
        batches = _batches(texts, records)
        for procs in (1, 2):
            reference[procs], digest = _pool_run(make_system("regex"), batches, procs)
            rate = mb / reference[procs]
            print(f"reference, multiprocessing.Pool({procs}):  {rate:7.2f} MB/s  ({reference[procs]:.1f} s)")
            if digest != digests[1]:
                print("  (its lines differ from crossclaim predict's!)")
        print(f"reference ratio 2 / 1 processes: {reference[1] / reference[2]:.2f}x")
        print(
            f"datasets.map against the reference: {reference[1] / seconds[1]:.2f}x (1 process), "
            f"{reference[2] / seconds[2]:.2f}x (2 processes)"
        )


def _batches(texts: list[str], records: int, size: int = 64) -> list[dict[str, list[str]]]:
    """The corpus's records as the batches ``datasets.map`` hands the predictor (the texts shared, not copied)."""
    ids = [f"syn-{n:07d}" for n in range(records)]
    return [
        {"id": ids[k : k + size], "text": [texts[n % len(texts)] for n in range(k, min(k + size, records))]}
        for k in range(0, records, size)
    ]


def _pool_run(system, batches: list[dict[str, list[str]]], procs: int) -> tuple[float, str]:
    import multiprocessing

    from crossclaim.systems.corpus import BatchPredictor

    predictor = BatchPredictor(system, "regex")
    digest = hashlib.sha256()
    began = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(procs) as pool:
        for out in pool.imap(predictor, batches):
            digest.update("".join(line + "\n" for line in out["line"]).encode("utf-8"))
    return time.perf_counter() - began, digest.hexdigest()


def _write_corpus(path: Path, texts: list[str], size: int) -> int:
    """JSON Lines of {id, text} records until ``size`` bytes; the number of records."""
    n, written = 0, 0
    with path.open("w", encoding="utf-8") as fh:
        while written < size:
            line = json.dumps({"id": f"syn-{n:07d}", "text": texts[n % len(texts)]}, ensure_ascii=False) + "\n"
            fh.write(line)
            written += len(line.encode("utf-8"))
            n += 1
    return n


if __name__ == "__main__":
    main()
