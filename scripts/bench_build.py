"""Benchmark: `crossclaim build` against Label Studio's own CONLL2003 converter and against the limit.

Generates synthetic Label Studio exports (2,000 tasks of about 4,200 characters with about 80
regions each by default, in exactly the shape Label Studio exports, with per-region values, choices
and cue relations) in a temporary directory — never in dataset/ — and runs, each in a child process
of its own cgroup so that the peak memory of all its processes together is measured:

1. ``build``: all three configs from the export (validation, token view, parquet, card, Croissant, docs);
2. ``converter``: ``label_studio_sdk.converter.Converter(...).convert(..., "CONLL2003")`` on the same file;
3. ``limit``: the same export parsed whole with orjson (the garbage collector off) and the same tables
   (read before the clock starts) written with pyarrow: nothing else, a floor no build can beat.

Every child imports what it needs first and times only the work. Prints seconds, throughput (MB of
document text per second), memory and the ratios, the build's two phases (rows over the worker
processes, then the data files, card and docs in one process: Amdahl's serial part), then the curve of
build and limit over the sizes given.

Memory: each build runs in a memory cgroup of its own limited to 1 GiB with no swap (``memory.max``):
the kernel kills it if its processes together need more, and reclaims the page cache of the files it
reads and writes, which is not the build's memory. Printed: the peak of the anonymous memory of all
its processes (``memory.stat`` anon, sampled every 20 ms) and the cgroup's peak, page cache included.

``--baseline REF`` also builds with the code of git revision REF (checked out in a temporary worktree),
alternating runs of the two on the same corpus, and prints the median seconds of each and their ratio.

Goals: build >= 1.5x the converter's throughput at 2,000 tasks; at most 1 GiB at every size up to 20,000
tasks; time per task at 20,000 at most 1.2x that at 2,000; no more than 10% slower than REF.

    python scripts/bench_build.py [--sizes 2000 8000 20000] [--chars 4200] [--spans 80] [--baseline REF --rounds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from crossclaim.formats.labelstudio.config import span_config_xml
from crossclaim.formats.labelstudio.spans import region_results
from crossclaim.scale import worker_count
from crossclaim.schema.records import Span
from crossclaim.schema.scheme import CATCH_ALL_TOPICS

# Synthetic claims take the catch-all topic: thousands of documents of one story cluster would pair every
# two claims of a topic across documents (millions of claim-pair tasks); the benchmarks are about spans.
(CATCH_ALL,) = CATCH_ALL_TOPICS
FILLER = (
    "the company said its electric vehicle unit could turn profitable as demand rose while rivals cut prices and "
    "analysts expected deliveries to grow after the launch of a new sedan in the market"
)
WORDS = tuple(FILLER.split(" "))
ENTITIES = [
    ("Xiaomi", "ORG"),
    ("Lei Jun", "PERSON"),
    ("Beijing", "LOC"),
    ("SU7", "PRODUCT"),
    ("BYD", "ORG"),
    ("小米", "ORG"),
    ("YU7", "PRODUCT"),
]
FIGURES = [
    ("$10 billion", "MONEY", "USD 10000000000"),
    ("15%", "PERCENT", "15"),
    ("76,000", "QUANTITY", "76000 car"),
    ("March 2024", "DATE", "2024-03"),
    ("15 months", "DURATION", "P15M"),
]
HEDGES = ["could", "likely", "expected", "may"]


def synthetic_document(rng: random.Random, n_chars: int, n_spans: int) -> tuple[str, list[Span]]:
    """Sentences of filler words with entities, figures, hedge cues and hedged claims in them."""
    parts: list[str] = []
    spans: list[Span] = []
    pos = 0
    counts = {"e": 0, "f": 0, "h": 0, "c": 0}

    def add(text: str) -> int:
        nonlocal pos
        parts.append(text)
        start = pos
        pos += len(text)
        return start

    while pos < n_chars:
        if len(spans) < n_spans and rng.random() < 0.5:
            # a hedged claim: "<entity> <hedge> <filler> <figure>" with its cue relation
            ent, elabel = rng.choice(ENTITIES)
            fig, flabel, value = rng.choice(FIGURES)
            cue = rng.choice(HEDGES)
            claim_start = add(ent)
            spans.append(Span("entities", f"e{counts['e']}", claim_start, claim_start + len(ent), ent, elabel))
            add(" ")
            h = add(cue)
            hid = f"h{counts['h']}"
            spans.append(Span("hedges", hid, h, h + len(cue), cue, "HEDGE"))
            add(" " + " ".join(rng.choices(WORDS, k=6)) + " ")
            f = add(fig)
            spans.append(Span("figures", f"f{counts['f']}", f, f + len(fig), fig, flabel, {"value": value}))
            claim_text = "".join(parts)[claim_start:pos]
            spans.append(
                Span(
                    "claims",
                    f"c{counts['c']}",
                    claim_start,
                    pos,
                    claim_text,
                    "CLAIM",
                    {"hedged": True, "topic": CATCH_ALL, "cues": (hid,)},
                )
            )
            for k in counts:
                counts[k] += 1
            add(". ")
        else:
            add(" ".join(rng.choices(WORDS, k=12)).capitalize() + ". ")
        if rng.random() < 0.1:
            add("\n")
    return "".join(parts).rstrip(), spans


def make_corpus(root: Path, n_tasks: int, n_chars: int, n_spans: int) -> tuple[Path, int, int]:
    """Raw pages, manifest and a Label Studio export under ``root``; returns export path, chars, regions.

    The export is written task by task, so a large one never sits in this process's memory.
    """
    rng = random.Random(13)
    ann = root / "annotations"
    (ann / "raw").mkdir(parents=True)
    (ann / "exports").mkdir()
    manifest = []
    total_chars = regions = 0
    export = ann / "exports" / "spans.json"
    with export.open("w", encoding="utf-8") as out:
        out.write("[")
        for n in range(n_tasks):
            text, spans = synthetic_document(rng, n_chars, n_spans)
            raw = f"NAV Home\n{text}\nFooter\n"
            (ann / "raw" / f"page{n:05d}.txt").write_text(raw, encoding="utf-8")
            doc_id = f"syn-{n:05d}"
            manifest.append(
                {
                    "id": doc_id,
                    "source_file": f"raw/page{n:05d}.txt",
                    "sha256": hashlib.sha256(raw.encode()).hexdigest(),
                    "slice": {"start": 9, "end": 9 + len(text)},
                    "publisher": None,
                    "headline": None,
                    "authors": [],
                    "publication_date": None,
                    "date_source": "synthetic",
                    "split": ("train", "validation", "test")[n % 3],
                }
            )
            result = region_results(spans, text)
            regions += sum(1 for r in result if r["type"] == "labels")
            total_chars += len(text)
            out.write(("," if n else "") + json.dumps(label_studio_task(n, doc_id, text, result), ensure_ascii=False))
        out.write("]")
    (ann / "manifest.json").write_text(json.dumps({"documents": manifest}), encoding="utf-8")
    (root / "DATASHEET.md").write_text("<!-- BEGIN GENERATED: statistics -->\n<!-- END GENERATED: statistics -->\n")
    return export, total_chars, regions


def label_studio_task(n: int, doc_id: str, text: str, result: list[dict]) -> dict:
    """One task as Label Studio's JSON export writes it."""
    return {
        "id": n + 1,
        "data": {"doc_id": doc_id, "text": text, "headline": ""},
        "meta": {},
        "inner_id": n + 1,
        "annotations": [
            {
                "id": n + 1,
                "completed_by": {"id": 1, "email": "bench@example.org", "first_name": "", "last_name": ""},
                "result": result,
                "was_cancelled": False,
                "ground_truth": True,
                "lead_time": 42.0,
                "created_at": "2025-06-04T00:00:00Z",
                "updated_at": "2025-06-04T00:00:00Z",
                "task": n + 1,
                "project": 1,
                "prediction": {},
                "result_count": len(result),
            }
        ],
        "predictions": [],
        "drafts": [],
        "total_annotations": 1,
        "cancelled_annotations": 0,
        "created_at": "2025-06-04T00:00:00Z",
        "updated_at": "2025-06-04T00:00:00Z",
        "project": 1,
    }


# Each child imports first, then prints the seconds its work took (the last line of its output).
# The build's last line also gives the seconds after its last document's rows were merged (the
# progress callback's last call): writing the data files, card, Croissant and docs in one process.
BUILD = """
import sys, time
from pathlib import Path
import matplotlib.pyplot
from crossclaim.dataset.build import build
start = time.perf_counter()
last = [start]
build(Path(sys.argv[1]), progress=lambda: last.__setitem__(0, time.perf_counter()))
end = time.perf_counter()
print(end - start, end - last[0])
"""

CONVERT = """
import sys, time
from label_studio_sdk.converter import Converter
start = time.perf_counter()
Converter(config=open(sys.argv[1]).read(), project_dir=sys.argv[3]).convert(sys.argv[2], sys.argv[3], "CONLL2003",
                                                                            is_dir=False)
print(time.perf_counter() - start)
"""

LIMIT = """
import gc, sys, time
from pathlib import Path
import orjson
import pyarrow.parquet as pq
built, export, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
tables = {p.relative_to(built): pq.read_table(p) for p in sorted(built.rglob("*.parquet"))}
gc.disable()
start = time.perf_counter()
orjson.loads(export.read_bytes())
for rel, table in tables.items():
    (out / rel).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out / rel, compression="zstd", use_dictionary=False, write_statistics=False)
print(time.perf_counter() - start)
"""


class PeakMemory:
    """Memory of a child process and everything it starts, in a memory cgroup (v2) of its own limited to
    ``LIMIT`` with no swap, where one can be made: the peak of its anonymous memory (sampled) and the
    cgroup's own peak (page cache included); elsewhere the summed RSS of the process tree, sampled."""

    LIMIT = 1 << 30

    def __init__(self, cgroup: bool = True) -> None:
        self.group = self._make_group() if cgroup else None
        self.method = (
            "anonymous memory of all its processes, in a cgroup limited to 1 GiB without swap"
            if self.group
            else "sampled RSS of the process tree"
        )
        self.sampled = 0

    # per cgroup version: the limit files, the file of the peak (page cache included), the anonymous
    # memory's line in memory.stat, the file counting OOM kills
    VERSIONS = (
        (Path("/sys/fs/cgroup"), ("memory.max", "memory.swap.max"), "memory.peak", "anon", "memory.events"),
        (
            Path("/sys/fs/cgroup/memory"),
            ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes"),
            "memory.max_usage_in_bytes",
            "rss",
            "memory.oom_control",
        ),
    )

    @classmethod
    def _make_group(cls) -> tuple | None:
        for base, limits, peak, anon, events in cls.VERSIONS:
            if not (base / "cgroup.procs").exists():
                continue
            group = base / f"crossclaim-bench-{os.getpid()}-{time.monotonic_ns()}"
            try:
                group.mkdir()
            except OSError:
                continue
            try:
                for name in limits:  # memory, then memory and swap together: no swap
                    (group / name).write_text(str(cls.LIMIT) if name != "memory.swap.max" else "0")
            except OSError:
                group.rmdir()
                continue
            return group, peak, anon, events
        return None

    def enter(self) -> None:
        """Runs in the child before exec: join the cgroup."""
        if self.group:
            (self.group[0] / "cgroup.procs").write_text(str(os.getpid()))

    def watch(self, pid: int, done: threading.Event) -> None:
        while not done.wait(0.02):
            self.sampled = max(self.sampled, self._anon() if self.group else tree_rss(pid))

    def _anon(self) -> int:
        group, _, anon, _ = self.group
        with contextlib.suppress(OSError, ValueError):
            for row in (group / "memory.stat").read_text().splitlines():
                if row.split()[0] == anon:
                    return int(row.split()[1])
        return 0

    def peak_mb(self) -> tuple[float, float | None]:
        """(peak of the sampled memory, the cgroup's peak with page cache or None) in MB; removes the cgroup."""
        total = None
        if self.group:
            group, peak, _, events = self.group
            total = int((group / peak).read_text()) / 2**20
            killed = "oom_kill 0" not in (group / events).read_text().splitlines()
            group.rmdir()
            if killed:
                raise SystemExit("the build needed more than 1 GiB: the kernel killed it")
        return self.sampled / 2**20, total


def tree_rss(pid: int) -> int:
    """Summed RSS (bytes) of ``pid`` and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        with contextlib.suppress(OSError):
            total += int((Path("/proc") / str(p) / "statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return total


def run_child(
    code: str, *args: str, env: dict[str, str] | None = None, limited: bool = True
) -> tuple[list[float], tuple, str]:
    """Seconds of work (as the child measured it, and any more timings it printed), memory (MB: peak, and
    the cgroup's peak with page cache) and how it was measured. ``limited``: in the 1 GiB cgroup (the
    build's goal); the references (the limit, the converter) run without it, as they hold the whole export."""
    last, peak, method = run_watched(code, args, PeakMemory(cgroup=limited), env)
    return [float(x) for x in last.split()], peak, method


def run_watched(
    code: str, args: tuple[str, ...] | list[str], memory: PeakMemory, env: dict[str, str] | None = None
) -> tuple[str, tuple, str]:
    """Run ``code`` in a child Python: the last line it prints, its memory (``PeakMemory.peak_mb``) and how
    it was measured."""
    done = threading.Event()
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True, preexec_fn=memory.enter, env=env
    )
    watcher = threading.Thread(target=memory.watch, args=(proc.pid, done), daemon=True)
    watcher.start()
    out, _ = proc.communicate()
    done.set()
    watcher.join()
    if proc.returncode:
        what = {BUILD: "build", CONVERT: "converter", LIMIT: "limit"}.get(code, "child")
        killed = " (killed: over the memory limit?)" if proc.returncode == -9 else ""
        raise SystemExit(f"benchmark {what} failed with exit code {proc.returncode}{killed}")
    return out.strip().splitlines()[-1], memory.peak_mb(), memory.method


def line(name: str, seconds: float, mb: float, peak: tuple | None = None) -> None:
    memory = ""
    if peak is not None:
        memory = f"  peak {peak[0]:.0f} MB" + (f" ({peak[1]:.0f} MB with page cache)" if peak[1] is not None else "")
    print(f"  {name:34} {seconds:7.2f} s  {mb / seconds:6.2f} MB/s{memory}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 8000, 20000])
    parser.add_argument("--chars", type=int, default=4200)
    parser.add_argument("--spans", type=int, default=80)
    parser.add_argument("--baseline", metavar="REF", help="also build with the code of git revision REF, alternating")
    parser.add_argument("--rounds", type=int, default=3, help="builds of each kind per size (medians are printed)")
    args = parser.parse_args()
    curve = []
    cores, workers = os.cpu_count() or 1, worker_count()
    with baseline_env(args.baseline) as ref_env:
        for k, size in enumerate(args.sizes):
            with tempfile.TemporaryDirectory(prefix="crossclaim-bench-") as tmp:
                root = Path(tmp) / "repo"
                export, chars, regions = make_corpus(root, size, args.chars, args.spans)
                mb = chars / 1e6
                print(
                    f"\n{size} tasks: {chars / size:.0f} characters and {regions / size:.0f} regions per task, "
                    f"{export.stat().st_size / 1e6:.1f} MB of JSON"
                )
                runs, ref_runs = [], []
                for _ in range(args.rounds):
                    if ref_env is not None:
                        ref_runs.append(run_child(BUILD, str(root), env=ref_env))
                    runs.append(run_child(BUILD, str(root)))
                build_s, tail_s = (statistics.median(r[0][i] for r in runs) for i in (0, 1))
                build_mem = tuple(max((r[1][i] or 0) for r in runs) for i in (0, 1))
                how = runs[0][2]
                limit_out = Path(tmp) / "limit"
                (limit_s,), _, _ = run_child(LIMIT, str(root / "dataset"), str(export), str(limit_out), limited=False)
                line("crossclaim build (3 configs)", build_s, mb, build_mem)
                print(f"    {args.rounds} runs: " + ", ".join(f"{r[0][0]:.2f} s" for r in runs))
                print(
                    f"    manifest and rows (parse, validate, token view): {build_s - tail_s:.2f} s over {workers} "
                    f"worker processes; then data files, card, Croissant, docs: {tail_s:.2f} s in one"
                )
                if ref_runs:
                    ref_s = statistics.median(r[0][0] for r in ref_runs)
                    ref_mem = tuple(max((r[1][i] or 0) for r in ref_runs) for i in (0, 1))
                    line(f"build at {args.baseline} (baseline)", ref_s, mb, ref_mem)
                    print(f"    {args.rounds} runs: " + ", ".join(f"{r[0][0]:.2f} s" for r in ref_runs))
                    print(f"  build / baseline time: {build_s / ref_s:.3f} (goal <= 1.10)")
                line("limit (orjson + pyarrow write)", limit_s, mb)
                if k == 0:
                    config = Path(tmp) / "config.xml"
                    config.write_text(span_config_xml())
                    out = Path(tmp) / "conll"
                    out.mkdir()
                    (convert_s,), convert_mem, _ = run_child(CONVERT, str(config), str(export), str(out), limited=False)
                    line("Label Studio converter (CONLL2003)", convert_s, mb, convert_mem)
                    print(
                        f"  build / converter throughput: {convert_s / build_s:.2f}x (goal >= 1.5x on a quiet machine; "
                        f"{cores} cores)"
                    )
                print(f"  build / limit time: {build_s / limit_s:.2f}x; memory goal <= 1024 MB ({how})")
                curve.append((size, build_s, build_mem[0], limit_s))
    print("\ncurve: tasks, build s, build s per 1,000 tasks, build peak MB, limit s")
    for size, s, mem, lim in curve:
        print(f"  {size:6d}  {s:7.2f}  {1000 * s / size:6.2f}  {mem:6.0f}  {lim:6.2f}")
    if len(curve) > 1:
        first, last = curve[0], curve[-1]
        per_task = (last[1] / last[0]) / (first[1] / first[0])
        print(f"time per task at {last[0]} / at {first[0]}: {per_task:.2f} (goal <= 1.2)")


@contextlib.contextmanager
def baseline_env(ref: str | None):
    """An environment whose Python imports the package at git revision ``ref`` (a temporary worktree), or None."""
    if ref is None:
        yield None
        return
    repo = Path(__file__).resolve().parents[1]
    tree = Path(tempfile.mkdtemp(prefix="crossclaim-baseline-"))
    subprocess.run(
        ["git", "-C", str(repo), "worktree", "add", "--detach", str(tree), ref], check=True, capture_output=True
    )
    try:
        env = {**os.environ, "PYTHONPATH": str(tree / "src")}
        probe = subprocess.run(
            [sys.executable, "-c", "import crossclaim; print(crossclaim.__file__)"],
            env=env,
            capture_output=True,
            text=True,
        )
        assert probe.stdout.startswith(str(tree)), f"the baseline imports {probe.stdout.strip()}, not {tree}"
        yield env
    finally:
        subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", str(tree)], check=False)
        shutil.rmtree(tree, ignore_errors=True)


if __name__ == "__main__":
    main()
