"""Wall-clock time of the whole leaderboard: once with an empty model cache, then again with the cache it filled.

Each run is ``crossclaim leaderboard`` in a fresh process (imports and worker start-up included, as
a user waits for it), writing to a temporary directory with ``$CROSSCLAIM_CACHE`` pointing at a
temporary cache: the clean run trains every learned model (the goal: at most 120 s on 2 cores), the
cached run loads them (the goal: at most 15 s). Prints both times, their ratio, and whether the two
runs wrote the same bytes as each other and as the committed board. A benchmark, not a test: it
prints numbers and never fails on them (times depend on what else the machine runs).

    python scripts/bench_leaderboard.py [--root .]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OUTPUTS = ("LEADERBOARD.md", "leaderboard.json", "leaderboard.png")
LEADERBOARD = Path(__file__).resolve().parent / "leaderboard.py"


def run(root: Path, out: Path, cache: Path) -> float:
    """Seconds one ``crossclaim leaderboard`` process takes, from start to exit."""
    env = {**os.environ, "CROSSCLAIM_CACHE": str(cache)}
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, str(LEADERBOARD), "--root", str(root), "--out", str(out)],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - began


def same(a: Path, b: Path) -> bool:
    return all((a / n).read_bytes() == (b / n).read_bytes() for n in OUTPUTS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("."), help="repository root (holds annotations/)")
    args = parser.parse_args()
    root = args.root.resolve()
    with tempfile.TemporaryDirectory(prefix="crossclaim-bench-") as tmp:
        cache, clean, cached = Path(tmp) / "cache", Path(tmp) / "clean", Path(tmp) / "cached"
        clean_s = run(root, clean, cache)
        cached_s = run(root, cached, cache)
        print(f"cores: {os.cpu_count()}, workers: {os.environ.get('CROSSCLAIM_WORKERS') or 'one per core'}")
        print(f"clean run (empty model cache): {clean_s:7.1f} s  (goal: <= 120 s on 2 cores)")
        print(f"cached run (models loaded):    {cached_s:7.1f} s  (goal: <= 15 s)")
        print(f"ratio clean / cached: {clean_s / cached_s:.1f}x")
        print(f"clean and cached outputs byte-identical: {same(clean, cached)}")
        print(f"identical to the committed board (baselines/): {same(clean, root / 'baselines')}")


if __name__ == "__main__":
    main()
