"""Benchmark: `crossclaim studio` push and pull against a real Label Studio, on SQLite and on PostgreSQL.

The same synthetic project (``scripts/bench_build.py``'s generator: 2,000 documents of about 4,200
characters with about 80 regions each, one gold annotation per document, in a temporary
repository, copied once per database) goes to two Label Studio servers in turn, each on a free
port of 127.0.0.1 with a fresh data directory, stopped at the end: one on SQLite (the default),
one on PostgreSQL (a throwaway cluster of the installed PostgreSQL, with its default durability
settings, as a team's server would run; see ``crossclaim.studio.pgcluster``). Against each, in a
child process of its own:

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
processes are not counted. Then, per step, PostgreSQL's seconds over SQLite's. Goals: first push
within 2x of the bare import; a no-op re-push of 2,000 tasks in <= 10 s; pull peak RSS <= 1 GB at
10,000 tasks; PostgreSQL no slower than 1.5x SQLite on first push, no-op re-push and pull. Run by
hand (about ten minutes at 2,000 tasks), never in CI.

    python scripts/bench_studio.py [--tasks 2000] [--chars 4200] [--spans 80] [--databases sqlite postgresql]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import tempfile
from pathlib import Path

from bench_build import PeakMemory, make_corpus, run_watched

from crossclaim.studio import pgcluster
from crossclaim.studio.server import ENV_DB_PASSWORD, ENV_TOKEN, ENV_URL, free_port, parse_database, serve, stop

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


def bench_database(name: str, root: Path, tmp: Path) -> dict[str, float]:
    """Serve Label Studio on database ``name`` (sqlite or postgresql), run the five steps against it with
    the repository ``root``, print a row per step; returns the seconds per step."""
    token = secrets.token_urlsafe(24)  # for this run's own server only; handed to children in the environment
    data_dir = tmp / f"studio-{name}"
    with contextlib.ExitStack() as stack:
        database = None
        if name == "postgresql":
            cluster = stack.enter_context(pgcluster.running(secrets.token_urlsafe(18)))
            database = parse_database(cluster.create_database("labelstudio"))
            os.environ[ENV_DB_PASSWORD] = cluster.password  # read by `serve` only, as a team's server would
        print(f"\nstarting Label Studio on {name} ({load()})...", flush=True)
        server = serve(data_dir, free_port(), token, database=database)
        stack.callback(stop, data_dir)
        os.environ.pop(ENV_DB_PASSWORD, None)
        env = {**os.environ, ENV_TOKEN: token, ENV_URL: server.url}
        chunks_dir = tmp / f"chunks-{name}"
        chunks_dir.mkdir()
        prepared, _ = run_child(PREPARE, env, str(root), str(chunks_dir))
        print(f"  {'step':22} {'seconds':>8} {'requests':>9} {'client peak RSS':>16}  result")
        rows = {}
        chunks = json.dumps(prepared)
        for step, code, args in (
            (f"bare import ({len(prepared['chunks'])} chunks)", BARE, (chunks, str(prepared["projects"][0]))),
            ("first push", PUSH, (str(root),)),
            ("no-op re-push", PUSH, (str(root),)),
            ("pull", PULL, (str(root),)),
            ("bare import, again", BARE, (chunks, str(prepared["projects"][1]))),
        ):
            report, peak = run_child(code, env, *args)
            rows[step.split(" (")[0]] = report["seconds"]
            print(
                f"  {step:22} {report['seconds']:8.1f} {report['requests']:9d} {peak:13.0f} MB  {report['result']}",
                flush=True,
            )
        bare = (rows["bare import"] + rows["bare import, again"]) / 2
        print(f"  first push / bare import (mean of the two): {rows['first push'] / bare:.2f}x (goal <= 2x)")
        print(f"  no-op re-push: {rows['no-op re-push']:.1f} s (goal <= 10 s at 2,000 tasks)")
        print(f"  {load()}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--chars", type=int, default=4200)
    parser.add_argument("--spans", type=int, default=80)
    parser.add_argument("--databases", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite", "postgresql"])
    args = parser.parse_args()
    if "postgresql" in args.databases and pgcluster.missing():
        parser.error(pgcluster.missing())
    with tempfile.TemporaryDirectory(prefix="crossclaim-bench-studio-") as tmp:
        corpus = Path(tmp) / "corpus"
        export, chars, regions = make_corpus(corpus, args.tasks, args.chars, args.spans)
        print(
            f"{args.tasks} tasks: {chars / args.tasks:.0f} characters and {regions / args.tasks:.0f} regions "
            f"per task, {export.stat().st_size / 1e6:.1f} MB of JSON (the server's processes are not counted below)"
        )
        seconds = {}
        for name in args.databases:
            root = Path(tmp) / f"repo-{name}"
            shutil.copytree(corpus, root)  # the same tasks, untouched by the other database's pull
            seconds[name] = bench_database(name, root, Path(tmp))
        if len(seconds) == 2:
            print("\nPostgreSQL / SQLite, seconds (goal <= 1.5x on first push, no-op re-push and pull):")
            for step in ("bare import", "first push", "no-op re-push", "pull", "bare import, again"):
                lite, pg = seconds["sqlite"][step], seconds["postgresql"][step]
                print(f"  {step:22} {lite:8.1f} s {pg:8.1f} s  {pg / lite:5.2f}x")


if __name__ == "__main__":
    main()
