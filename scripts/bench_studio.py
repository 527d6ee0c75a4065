"""Benchmark: `crossclaim studio` push and pull against a real Label Studio, beside its own bulk import.

Starts a Label Studio server of its own on a free port of 127.0.0.1 (a fresh data directory in a
temporary directory, stopped at the end), makes a synthetic project with ``scripts/bench_build.py``'s
generator (2,000 documents of about 4,200 characters with about 80 regions each, one gold
annotation per document) in a temporary repository, and runs, each in a child process of its own:

1. ``bare import``: Label Studio's own ``POST /api/projects/<id>/import`` fed the very tasks the
   first push sends (annotations included), in the same chunks, into a project of its own;
2. ``first push``: ``push --gold`` into an empty server project;
3. ``no-op re-push``: the same push again (nothing to write);
4. ``pull``: export, validate, show changes, write the committed exports and rebuild dataset/;
5. ``bare import, again``: as 1, into another project. An import slows as the server's database
   grows, so the two bracket the first push and the ratio is taken against their mean.

For each step: seconds of work (timed inside the child, after its imports), HTTP requests made,
and the peak RSS of the client side (the child and every process it starts, summed, sampled every
20 ms; shared pages of forked workers count once per process, so it errs high). The server's own
processes are not counted. Prints the ratio of the first push to the bare import and the machine's
load (the server and client share its cores). Goals: 10,000 tasks push and pull without error;
first push within 2x of the bare import; a no-op re-push of 2,000 tasks in <= 10 s; pull peak
RSS <= 1 GB at 10,000 tasks. Run by hand (about ten minutes at 10,000 tasks), never in CI.

    python scripts/bench_studio.py [--tasks 2000] [--chars 4200] [--spans 80]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import tempfile
from pathlib import Path

from bench_build import PeakMemory, make_corpus, run_watched

from crossclaim.studio.server import ENV_TOKEN, ENV_URL, free_port, serve, stop

# Each child imports first, times only the work, and prints one JSON line last.
PREPARE = """
import json, os, sys
from pathlib import Path
from crossclaim.dataset.gold import GoldStream
from crossclaim.formats.labelstudio.config import span_config_xml
from crossclaim.studio.client import Studio
from crossclaim.studio.plan import CHUNK_BYTES, chunked, json_array
from crossclaim.studio.sync import Spool, import_bodies, span_item
root, out = Path(sys.argv[1]), Path(sys.argv[2])
studio = Studio(os.environ["CROSSCLAIM_LS_URL"], os.environ["CROSSCLAIM_LS_TOKEN"])
projects = [studio.project(f"Bare import {n}", span_config_xml()) for n in (1, 2)]
spool = Spool()
wanted = tuple(spool.add(span_item(g.doc, g.task, True, []), "doc_id") for g in GoldStream(root / "annotations"))
users = studio.user_ids(spool.annotators)
files = []
for n, chunk in enumerate(chunked(import_bodies(wanted, spool, users, "document"), CHUNK_BYTES)):
    path = out / f"chunk-{n:03d}.json"
    path.write_bytes(json_array(chunk))
    files.append((str(path), len(chunk)))
print(json.dumps({"projects": projects, "chunks": files}))
"""

BARE = """
import json, os, sys, time
import httpx
chunks, project = json.loads(sys.argv[1]), int(sys.argv[2])
url, token = os.environ["CROSSCLAIM_LS_URL"], os.environ["CROSSCLAIM_LS_TOKEN"]
client = httpx.Client(timeout=3600, limits=httpx.Limits(max_keepalive_connections=0))
bodies = [(open(path, "rb").read(), n) for path, n in chunks["chunks"]]
start = time.perf_counter()
for body, n in bodies:
    r = client.post(f"{url}/api/projects/{project}/import", content=body,
                    headers={"Authorization": f"Token {token}", "Content-Type": "application/json"})
    r.raise_for_status()
    assert r.json()["task_count"] == n, r.text[:200]
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "requests": len(bodies), "result": f"{sum(n for _, n in bodies)} tasks"}))
"""

PUSH = """
import json, os, sys, time
from pathlib import Path
from crossclaim.dataset.gold import GoldStream
from crossclaim.formats.labelstudio.config import span_config_xml
from crossclaim.studio.client import Studio
from crossclaim.studio.sync import push
import httpx, orjson
from label_studio_sdk import LabelStudio
start = time.perf_counter()
studio = Studio(os.environ["CROSSCLAIM_LS_URL"], os.environ["CROSSCLAIM_LS_TOKEN"])
r = push(Path(sys.argv[1]), studio, True, {})
seconds = time.perf_counter() - start
result = f"{r.created_tasks} created, {r.kept_tasks} kept, {r.annotations_written} annotations written"
print(json.dumps({"seconds": seconds, "requests": studio.requests, "result": result}))
"""

PULL = """
import json, os, sys, time
from pathlib import Path
from crossclaim.dataset.build import build
from crossclaim.studio.client import Studio
from crossclaim.dataset.changes import GoldDigest
from crossclaim.studio.sync import pull
import httpx, orjson, pyarrow, matplotlib.pyplot
from label_studio_sdk import LabelStudio
start = time.perf_counter()
studio = Studio(os.environ["CROSSCLAIM_LS_URL"], os.environ["CROSSCLAIM_LS_TOKEN"])
shown = []
r = pull(Path(sys.argv[1]), studio, show=shown.extend)
seconds = time.perf_counter() - start
change = shown[0] if shown == ["no change"] else f"{len(shown)} changed documents"
result = f"{r.documents} documents, {sum(r.spans.values())} gold spans; {change}"
print(json.dumps({"seconds": seconds, "requests": studio.requests, "result": result}))
"""


def run_child(code: str, env: dict[str, str], *args: str) -> tuple[dict, float]:
    """The child's JSON report and the peak summed RSS (MB) of its process tree (the client alone: the
    server is not its child)."""
    last, peak, _ = run_watched(code, args, PeakMemory(cgroup=False), env)
    return json.loads(last), peak


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--chars", type=int, default=4200)
    parser.add_argument("--spans", type=int, default=80)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="crossclaim-bench-studio-") as tmp:
        root = Path(tmp) / "repo"
        export, chars, regions = make_corpus(root, args.tasks, args.chars, args.spans)
        token = secrets.token_urlsafe(24)  # for this run's own server only; handed to children in the environment
        data_dir = Path(tmp) / "studio"
        print(f"starting Label Studio on 127.0.0.1 ({load()})...", flush=True)
        server = serve(data_dir, free_port(), token)
        env = {**os.environ, ENV_TOKEN: token, ENV_URL: server.url}
        try:
            print(
                f"\n{args.tasks} tasks: {chars / args.tasks:.0f} characters and {regions / args.tasks:.0f} regions "
                f"per task, {export.stat().st_size / 1e6:.1f} MB of JSON; server {server.url} "
                "(its processes are not counted below)"
            )
            chunks_dir = Path(tmp) / "chunks"
            chunks_dir.mkdir()
            prepared, _ = run_child(PREPARE, env, str(root), str(chunks_dir))
            print(f"  {'step':22} {'seconds':>8} {'requests':>9} {'client peak RSS':>16}  result")
            rows = {}
            chunks = json.dumps(prepared)
            for name, code, args in (
                (f"bare import ({len(prepared['chunks'])} chunks)", BARE, (chunks, str(prepared["projects"][0]))),
                ("first push", PUSH, (str(root),)),
                ("no-op re-push", PUSH, (str(root),)),
                ("pull", PULL, (str(root),)),
                ("bare import, again", BARE, (chunks, str(prepared["projects"][1]))),
            ):
                report, peak = run_child(code, env, *args)
                rows[name.split(" (")[0]] = report["seconds"]
                print(
                    f"  {name:22} {report['seconds']:8.1f} {report['requests']:9d} {peak:13.0f} MB  {report['result']}",
                    flush=True,
                )
            bare = (rows["bare import"] + rows["bare import, again"]) / 2
            print(f"  first push / bare import (mean of the two): {rows['first push'] / bare:.2f}x (goal <= 2x)")
            print(f"  no-op re-push: {rows['no-op re-push']:.1f} s (goal <= 10 s at 2,000 tasks)")
            print("  pull peak RSS goal: <= 1024 MB at 10,000 tasks")
            print(f"  {load()}")
        finally:
            stop(data_dir)


if __name__ == "__main__":
    main()
