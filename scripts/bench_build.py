"""Benchmark: `crossclaim build` against Label Studio's own CONLL2003 converter, same export, same run.

Generates a synthetic Label Studio export (default 2,000 tasks of about 4,200 characters with
about 80 regions each, in exactly the shape Label Studio exports, with per-region values,
choices and cue relations) in a temporary directory — never in dataset/ — then, each in a
child process so that its peak memory is its own:

1. builds all three configs from it (validation, token view, parquet, card, Croissant, docs);
2. converts the same file with ``label_studio_sdk.converter.Converter(...).convert(..., "CONLL2003")``.

Prints both throughputs (MB of document text per second), their ratio and the peak RSS of the
build. Goal: build ≥ 5x the converter with peak RSS ≤ 1 GB.

    python scripts/bench_build.py [--tasks 2000] [--chars 4200] [--spans 80]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from crossclaim.formats.labelstudio.config import span_config_xml
from crossclaim.formats.labelstudio.spans import region_results
from crossclaim.schema.records import Span
from crossclaim.schema.scheme import TOPICS

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
            spans.append(Span("figures", f"f{counts['f']}", f, f + len(fig), fig, flabel, value=value))
            claim_text = "".join(parts)[claim_start:pos]
            spans.append(
                Span(
                    "claims",
                    f"c{counts['c']}",
                    claim_start,
                    pos,
                    claim_text,
                    "CLAIM",
                    hedged=True,
                    topic=rng.choice(sorted(TOPICS)),
                    cues=(hid,),
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
    """Raw pages, manifest and a Label Studio export under ``root``; returns export path, chars, regions."""
    rng = random.Random(13)
    ann = root / "annotations"
    (ann / "raw").mkdir(parents=True)
    (ann / "exports").mkdir()
    manifest, tasks = [], []
    total_chars = regions = 0
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
        tasks.append(
            {
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
        )
    (ann / "manifest.json").write_text(json.dumps({"documents": manifest}), encoding="utf-8")
    export = ann / "exports" / "spans.json"
    export.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    (root / "DATASHEET.md").write_text("<!-- BEGIN GENERATED: statistics -->\n<!-- END GENERATED: statistics -->\n")
    return export, total_chars, regions


BUILD = """
import sys
from pathlib import Path
from crossclaim.dataset.build import build
build(Path(sys.argv[1]))
"""

CONVERT = """
import sys
from label_studio_sdk.converter import Converter
Converter(config=open(sys.argv[1]).read(), project_dir=sys.argv[3]).convert(sys.argv[2], sys.argv[3], "CONLL2003",
                                                                            is_dir=False)
"""


def timed_child(code: str, *args: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of a child Python process running ``code``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, *args], check=True)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--chars", type=int, default=4200)
    parser.add_argument("--spans", type=int, default=80)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="crossclaim-bench-") as tmp:
        root = Path(tmp) / "repo"
        export, chars, regions = make_corpus(root, args.tasks, args.chars, args.spans)
        mb = chars / 1e6
        print(
            f"synthetic export: {args.tasks} tasks, {chars / args.tasks:.0f} characters and "
            f"{regions / args.tasks:.0f} regions per task, {export.stat().st_size / 1e6:.1f} MB of JSON"
        )
        build_s, build_rss = timed_child(BUILD, str(root))
        config = Path(tmp) / "config.xml"
        config.write_text(span_config_xml())
        out = Path(tmp) / "conll"
        out.mkdir()
        convert_s, _ = timed_child(CONVERT, str(config), str(export), str(out))
        build_rate, convert_rate = mb / build_s, mb / convert_s
        print(
            f"crossclaim build (3 configs):       {build_s:7.2f} s  {build_rate:6.2f} MB/s  peak RSS {build_rss:.0f} MB"
        )
        print(f"Label Studio converter (CONLL2003): {convert_s:7.2f} s  {convert_rate:6.2f} MB/s")
        print(f"ratio build / converter: {build_rate / convert_rate:.2f}x (goal >= 5x); peak RSS goal <= 1024 MB")


if __name__ == "__main__":
    main()
