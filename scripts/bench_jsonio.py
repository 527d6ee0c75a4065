"""Benchmark: the strict JSON reader (``formats/jsonio``) against ``json.loads`` on the same text, same run.

Builds the synthetic Label Studio export of ``bench_build.py`` (default 500 tasks) in a temporary
directory and a predictions-sized file of the same documents, then times, best of three:

1. ``json.loads`` and ``read_json`` (the export path: C scanner, bounded numbers and depth, no
   duplicate-key check) on the export;
2. the same on the predictions-like JSON Lines through ``json_lines`` (pure-Python scanner with the
   duplicate-key check, as for hand-written inputs), against ``json.loads`` per line.

Prints MB/s of each and the ratio strict / reference (how many times slower the checks make reading).

    python scripts/bench_jsonio.py [--tasks 500]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from crossclaim.formats.jsonio import json_lines, read_json

sys.path.insert(0, str(Path(__file__).parent))
from bench_build import make_corpus  # noqa: E402


def best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="crossclaim-bench-") as tmp:
        export, _, _ = make_corpus(Path(tmp) / "repo", args.tasks, 4200, 80)
        data = export.read_bytes()
        tasks = json.loads(data)
        lines = "".join(
            json.dumps({"document_id": t["data"]["doc_id"], "result": t["annotations"][0]["result"]}) + "\n"
            for t in tasks
        )
        mb, mb_lines = len(data) / 1e6, len(lines.encode()) / 1e6
        ref = best(lambda: json.loads(export.read_text(encoding="utf-8")))
        strict = best(lambda: read_json(export))
        print(
            f"export {mb:.1f} MB: json.loads {mb / ref:6.1f} MB/s, read_json {mb / strict:6.1f} MB/s, "
            f"ratio {strict / ref:.2f}x"
        )
        ref = best(lambda: [json.loads(line) for line in lines.split("\n") if line])
        strict = best(lambda: json_lines(lines, "bench.jsonl", []))
        print(
            f"JSON Lines {mb_lines:.1f} MB: json.loads {mb_lines / ref:6.1f} MB/s, json_lines (unique keys) "
            f"{mb_lines / strict:6.1f} MB/s, ratio {strict / ref:.2f}x"
        )


if __name__ == "__main__":
    main()
