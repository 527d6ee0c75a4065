"""One schema: a layer with one attribute, declared in scheme.py alone, flows everywhere.

The package is copied to a temporary directory and only its ``schema/scheme.py`` is extended (a
layer ``events`` with a required ``polarity`` choice and a tag layer). A child process imports
that copy and checks that the Label Studio config, validation, the build (features, rows, tags),
the predictions validator and JSON Schema, the docs tables and the summary all handle the new
layer with no other code change.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import crossclaim

TESTS = Path(__file__).resolve().parents[1]

EXTRA = """

LAYERS["events"] = Layer(
    "events", "Events", (Label("LAUNCH", "a product launch", "unveiled"),), "#9467bd", "event"
)
ATTRIBUTES = (
    *ATTRIBUTES,
    Attribute("polarity", "events", "choice", "good or bad news", required=True, predicted=True,
              choices=("positive", "negative")),
)
ATTRIBUTE = {(a.layer, a.name): a for a in ATTRIBUTES}
TAG_LAYERS = (*TAG_LAYERS, TagLayer("event_tags", "events", what="events"))
"""

CHILD = r"""
import json, sys
from pathlib import Path
import crossclaim
assert Path(crossclaim.__file__).resolve().is_relative_to(Path(sys.argv[1]).resolve()), crossclaim.__file__
import pyarrow.parquet as pq
from conftest import TEXT, gold_spans, task, write_repo
from crossclaim.dataset.build import build
from crossclaim.dataset.card import label_table_md
from crossclaim.dataset.gold import load_gold
from crossclaim.dataset.summary import summarize
from crossclaim.errors import InputError
from crossclaim.formats.labelstudio.config import span_config_xml
from crossclaim.formats.predictions import json_schema, parse_predictions
from crossclaim.schema.records import Span

def errors(fn):
    try:
        fn()
        return "accepted"
    except InputError as exc:
        return " | ".join(exc.lines())

def event(**attrs):
    at = TEXT.index("unveiled")
    return Span("events", "v1", at, at + len("unveiled"), "unveiled", "LAUNCH", attrs)

root = Path(sys.argv[2])
write_repo(root, [task([*gold_spans(), event(polarity="positive")])])
build(root)
docs = load_gold(root / "annotations").docs
rows = pq.read_table(root / "dataset" / "documents" / "test-00000-of-00001.parquet").to_pylist()
tokens = pq.read_table(root / "dataset" / "tokens" / "test-00000-of-00001.parquet").to_pylist()
out = {
    "config": span_config_xml(),
    "events": rows[0]["events"],
    "event_tags": [t for row in tokens for t in row["event_tags"]],
    "summary": summarize(root / "dataset"),
    "table": label_table_md(),
    "card": (root / "dataset" / "README.md").read_text(),
    "schema": json_schema()["properties"]["events"],
}
at = TEXT.index("unveiled")
line = {"document_id": "doc-x", "events": [{"start": at, "end": at + 8, "label": "LAUNCH", "polarity": "negative"}]}
out["predicted"] = [s.attrs for s in parse_predictions(json.dumps(line) + "\n", "p.jsonl", docs, []).spans["doc-x"]]
line["events"][0]["polarity"] = "neutral"
out["bad_prediction"] = errors(lambda: parse_predictions(json.dumps(line) + "\n", "p.jsonl", docs, []))
out["problems"] = []
for bad in (event(), event(polarity="neutral")):
    write_repo(root, [task([*gold_spans(), bad])])
    out["problems"].append(errors(lambda: build(root)))
print(json.dumps(out))
"""


def test_a_layer_declared_only_in_the_schema_flows_through_every_stage(tmp_path: Path) -> None:
    package = tmp_path / "pkg" / "crossclaim"
    shutil.copytree(Path(crossclaim.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__"))
    scheme = package / "schema" / "scheme.py"
    scheme.write_text(scheme.read_text(encoding="utf-8") + EXTRA, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(package.parent), str(TESTS)])}
    repo = tmp_path / "repo"
    repo.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(package.parent), str(repo)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout)

    assert '<Labels name="events" toName="text"' in out["config"]
    assert 'name="polarity"' in out["config"] and '<Choice value="negative"' in out["config"]
    assert '<Choices name="polarity" toName="text" perRegion="true" visibleWhen="region-selected"' in out["config"]
    assert 'whenTagName="events" whenLabelValue="LAUNCH" required="true"' in out["config"]
    (event,) = out["events"]
    assert (event["text"], event["label"], event["polarity"]) == ("unveiled", 0, "positive")
    assert out["event_tags"].count(1) == 1  # one B-LAUNCH
    assert "events 1" in out["summary"]
    assert "| events | `polarity` | Choices | good or bad news |" in out["table"]
    assert "`event_tags`" in out["table"] and "six IOB2 tag layers" in out["card"]
    assert out["schema"]["items"]["properties"]["polarity"] == {"enum": ["positive", "negative", None]}
    missing, unknown = out["problems"]
    assert "event 'unveiled' has no 'polarity' choice" in missing
    assert "region v1: 'polarity' must be one of the configured choices, got ['neutral']" in unknown
    assert out["predicted"] == [{"polarity": "negative"}]
    assert "unknown polarity 'neutral'" in out["bad_prediction"]
