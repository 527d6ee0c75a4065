"""Screenshots of the labeling screens, so reviewers see what annotators see.

Starts a Label Studio server of its own (a temporary data directory; a random token and password, passed
by environment only), pushes one excerpt of a gold document with its gold annotation and one gold
CONTRADICTS claim pair into two projects with the generated configs, opens them in Debian's headless
Chromium and saves, into ``annotations/studio/``:

- ``span-figure-selected.png``: the span task with a figure selected (its value, the grammar hint);
- ``span-claim-selected.png``: the same task with a hedged claim selected (hedged, topic, cues);
- ``pair-task.png``: the claim pair, each claim highlighted in its sentence, with its label and rationale.

Drives the browser with the test suite's driver, ``tests/studio/browser.py``. Needs the ``test`` extra
(selenium) and Debian's ``chromium`` and ``chromium-driver``; the server boot
takes about a minute. Look at the PNGs before committing them; they are never compared byte for byte.

    python scripts/studio_screenshots.py [--doc doc-001] [--sentences 25:28] [--out annotations/studio]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import secrets
import sys
import tempfile
from pathlib import Path

import orjson

from crossclaim.dataset.gold import Gold, load_gold
from crossclaim.formats.labelstudio.config import pair_config_xml, span_config_xml
from crossclaim.formats.labelstudio.pairs import pair_results, pair_task_data
from crossclaim.formats.labelstudio.spans import region_results
from crossclaim.schema.records import Annotation, Span
from crossclaim.studio.client import Studio
from crossclaim.studio.server import DEFAULT_USER, ENV_PASSWORD, free_port, serve, stop
from crossclaim.studio.sync import annotation_payload
from crossclaim.text import sentence_bounds

ROOT = Path(__file__).resolve().parents[1]
# The browser driver is test tooling (it needs the `test` extra), kept with the browser test it serves.
sys.path.insert(0, str(ROOT / "tests"))
from studio.browser import Annotator, browser_missing, chromium  # noqa: E402


def excerpt(gold: Gold, doc_id: str, first: int, last: int) -> tuple[dict, Annotation]:
    """Task data of sentences ``first``..``last - 1`` of a document, and its gold annotation cut to them."""
    (doc,) = [d for d in gold.docs if d.id == doc_id]
    bounds = sentence_bounds(doc.text)
    start, end = bounds[first][0], bounds[last - 1][1]
    inside = [s for s in gold.spans(doc_id) if start <= s.start and s.end <= end]
    kept = {s.id for s in inside}

    def moved(s: Span) -> Span:
        s = dataclasses.replace(s, start=s.start - start, end=s.end - start)
        return s.replace(cues=tuple(c for c in s.cues if c in kept) or None) if s.layer == "claims" else s

    data = {"doc_id": doc_id, "text": doc.text[start:end], "headline": doc.headline or ""}
    return data, dataclasses.replace(gold.gold[doc_id], spans=[moved(s) for s in inside])


def contradicting_pair(gold: Gold, doc_id: str) -> tuple[dict, Annotation]:
    """The first gold CONTRADICTS pair with a claim of the document: its task data and gold annotation."""
    pairs = sorted((p for p in gold.pairs if p.label == "CONTRADICTS"), key=lambda p: (doc_id not in p.id, p.id))
    (task,) = [t for t in gold.pair_tasks if t.data["pair_id"] == pairs[0].id]
    (chosen,) = [a for a in task.annotations if a.payload == pairs[0]]
    return pair_task_data(task.data, {d.id: d for d in gold.docs}, gold.claims()), chosen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--doc", default="doc-001", help="document to take the span task from")
    parser.add_argument("--sentences", default="25:28", help="sentences FIRST:END of it (end exclusive)")
    parser.add_argument("--out", type=Path, default=ROOT / "annotations" / "studio")
    args = parser.parse_args()
    if reason := browser_missing():
        print(f"cannot take screenshots: {reason}", file=sys.stderr)
        return 1
    gold = load_gold(ROOT / "annotations")
    first, last = (int(n) for n in args.sentences.split(":"))
    span_data, span_gold = excerpt(gold, args.doc, first, last)
    pair_data, pair_gold = contradicting_pair(gold, args.doc)
    claim = next(s for s in span_gold.spans if s.layer == "claims" and s.hedged)
    figure = next((s for s in span_gold.spans if s.label == "MONEY"), None) or next(
        s for s in span_gold.spans if s.layer == "figures"
    )

    token, password = secrets.token_hex(20), secrets.token_urlsafe(16)
    os.environ[ENV_PASSWORD] = password  # `serve` reads the login password from the environment
    with tempfile.TemporaryDirectory(prefix="crossclaim-screenshots-") as tmp:
        data_dir = Path(tmp) / "studio"
        server = serve(data_dir, free_port(), token)
        try:
            studio = Studio(server.url, token)
            users = studio.user_ids({span_gold.annotator, pair_gold.annotator})
            spans = studio.project("CrossClaim spans", span_config_xml())
            pairs = studio.project("CrossClaim claim pairs", pair_config_xml())
            for project, data, gold_annotation, result in (
                (spans, span_data, span_gold, region_results(span_gold.spans, span_data["text"])),
                (pairs, pair_data, pair_gold, pair_results(pair_gold.payload)),
            ):
                payload = {
                    **annotation_payload(gold_annotation, result),
                    "completed_by": users[gold_annotation.annotator],
                }
                studio.import_tasks(project, orjson.dumps([{"data": data, "annotations": [payload]}]), 1)
            (span_task,) = [t["id"] for t in studio.list_tasks(spans, ("id",))]
            (pair_task,) = [t["id"] for t in studio.list_tasks(pairs, ("id",))]
            with chromium(1400, 1500) as driver:
                a = Annotator(driver, server.url)
                a.login(DEFAULT_USER, password)
                a.open_task(spans, span_task)
                a.select_region(figure.label, figure.text)
                print(a.screenshot(args.out / "span-figure-selected.png"))
                a.select_region(claim.label, claim.text)
                print(a.screenshot(args.out / "span-claim-selected.png"))
                a.open_task(pairs, pair_task, object_css=".cc-card")
                print(a.screenshot(args.out / "pair-task.png"))
        finally:
            stop(data_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
