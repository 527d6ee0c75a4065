"""Blind double annotation in passes, and what every pull does to a server's export before it is validated.

A Label Studio task counts every distinct annotator towards its overlap, and the committed tasks hold
two to four annotations each, so a new round of annotation goes to fresh projects: ``push --pass NAME``
makes the pass's span and claim-pair projects (titled with the name) holding every document and every
pair of the pair set, with pre-annotations (to every annotator, or to none: ``annotations/team.json``)
and no annotation, each task going to N annotators (the overlap) through their own queue.

Each committed annotation belongs to one project: a pass's annotations (``"pass": NAME`` in the
committed exports) to that pass's projects, the others to the gold projects. ``pull --pass NAME``
takes the committed exports, replaces that pass's annotations with what the pass's projects hold now
and changes nothing else; a plain ``pull`` keeps every pass's committed annotations beside what the
gold projects hold, and ``push --gold`` never sends them there. Predictions of a pass never reach the
committed exports: pre-annotations are not gold.

Every pull also gives the regions Label Studio named at random their readable dataset ids
(``formats.labelstudio.ids``), with what the committed exports handed out before.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from crossclaim.dataset.gold import PAIR_EXPORT, SPAN_EXPORT, GoldStream
from crossclaim.dataset.pairset import missing_pair_tasks
from crossclaim.errors import InputError, StudioError
from crossclaim.formats.jsonio import iter_array, read_json
from crossclaim.formats.labelstudio.annotations import PASS_KEY, PASS_NAME
from crossclaim.formats.labelstudio.config import pair_config_xml, span_config_xml
from crossclaim.formats.labelstudio.ids import readable_ids
from crossclaim.formats.team import Team
from crossclaim.scale import collector_paused
from crossclaim.schema.records import Prediction
from crossclaim.studio.carried import (
    carried,
    export_tasks,
    prepared_pairs,
    prepared_spans,
    refuse_utf16_with_passes,
    write_array,
)
from crossclaim.studio.client import Studio
from crossclaim.studio.plan import LISTED_FIELDS, Listed
from crossclaim.studio.sync import (
    PAIR_PROJECT,
    SOURCE,
    SPAN_PROJECT,
    Background,
    Editors,
    PullOptions,
    PushReport,
    Spool,
    apply_exports,
    find_project,
    pair_item,
    push_items,
    span_item,
)

SAMPLING = "Sequential sampling"  # documents in manifest order; with an overlap above 1 a started task comes first


def check_pass_name(name: str) -> str:
    if not PASS_NAME.fullmatch(name):
        raise InputError(
            f"--pass {name!r}", "a pass name is 1 to 40 letters, digits, '.', '_' or '-' (it names two projects)"
        )
    return name


def pass_titles(name: str) -> tuple[str, str]:
    """The titles of a pass's span and claim-pair projects."""

    return f"{SPAN_PROJECT} (pass {name})", f"{PAIR_PROJECT} (pass {name})"


def pass_settings(overlap: int, model_version: str | None) -> dict:
    """Label Studio project settings that give each task to ``overlap`` annotators through their own queues.

    ``maximum_annotations`` is the overlap (a task leaves the queue once that many annotators submitted
    it), for every task (``overlap_cohort_percentage`` 100). The queue shows an annotator only their own
    work; pre-annotations are shown to everyone when the project's ``model_version`` is theirs.
    """
    return {
        "maximum_annotations": overlap,
        "overlap_cohort_percentage": 100,
        "show_overlap_first": True,
        "sampling": SAMPLING,
        "show_collab_predictions": model_version is not None,
        "model_version": model_version or "",
        "reveal_preannotations_interactively": False,
        "show_annotation_history": False,
        "show_skip_button": True,
        "enable_empty_annotation": False,
    }


# ---------------------------------------------------------------------------------------------
# push --pass


def pass_overlap(team: Team, overlap: int | None) -> int:
    """The overlap asked for (``--overlap``), or the team file's; checked against the declared annotators."""
    n = team.overlap if overlap is None else overlap
    if n < 1:
        raise InputError("--overlap", f"a task goes to at least 1 annotator, not {n}")
    if team.annotators and n > len(team.annotators):
        raise InputError(
            "--overlap",
            f"each task would go to {n} annotators, but annotations/team.json declares {len(team.annotators)}",
        )
    return n


def pre_annotation_version(team: Team, predictions: dict[str, list[Prediction]]) -> str | None:
    """The one model version a pass shows as pre-annotations, or None; refused where the team wants none."""
    versions = sorted({p.model_version for preds in predictions.values() for p in preds})
    if versions and team.pre_annotations == "none":
        raise InputError(
            "--predictions", "annotations/team.json sets pre_annotations to none: a pass shows no pre-annotations"
        )
    if len(versions) > 1:
        raise InputError(
            "--predictions", f"a pass shows one system's pre-annotations to everyone, not {', '.join(versions)}"
        )
    return versions[0] if versions else None


def push_pass(root: Path, studio: Studio, name: str, team: Team, overlap: int | None, predictions: dict):
    """Make (or bring up to date, idempotently) the pass's two projects: every manifest document and every
    pair of the pair set as a task, pre-annotations if any, no annotation; the pass settings applied."""

    check_pass_name(name)
    n = pass_overlap(team, overlap)
    version = pre_annotation_version(team, predictions)
    span_title, pair_title = pass_titles(name)
    known = studio.projects()
    keys = {span_title: "doc_id", pair_title: "pair_id"}
    listings = {
        title: Background(
            lambda p=known[title].id, key=key: [Listed.of(t, key) for t in studio.list_tasks(p, LISTED_FIELDS)]
        )
        for title, key in keys.items()
        if title in known and known[title].tasks
    }
    spool = Spool()
    try:
        annotations = root / "annotations"
        stream = GoldStream(annotations, pair_set=False, all_claims=True, furniture=False)  # as push reads it
        with collector_paused():
            spans = [spool.add(span_item(g.doc, None, False, predictions.get(g.doc.id, [])), "doc_id") for g in stream]
        docs, claims = {d.id: d for d in stream.docs}, stream.claims
        new_pairs = missing_pair_tasks(stream.pair_tasks, claims, str(annotations / SPAN_EXPORT), docs)
        pair_tasks = stream.pair_tasks + new_pairs
        pairs = [spool.add(pair_item(t, False, docs, claims), "pair_id") for t in pair_tasks]
        report = PushReport()
        for title, config, items, what, shown in (
            (span_title, span_config_xml(), spans, "document", version),
            (pair_title, pair_config_xml(), pairs, "claim pair", None),
        ):
            project = studio.project(title, config, known)
            listed = listings[title].result() if title in listings else []
            push_items(studio, project, items, listed, spool, {}, what, report)
            # after the import: Label Studio accepts a model_version only once predictions of it exist
            studio.call(studio.ls.projects.update, id=project, **pass_settings(n, shown))
    finally:
        spool.close()
    return report, n


# ---------------------------------------------------------------------------------------------
# pull --pass: the committed exports with one pass's annotations replaced


@dataclass
class PassWork:
    """A pass export's annotations by task key, each marked with the pass (the tasks' data for new ones)."""

    annotations: dict[str, list[dict]] = field(default_factory=dict)
    data: dict[str, dict] = field(default_factory=dict)


def pass_work(tasks: Iterable[object], key: str, name: str) -> PassWork:
    """The annotations of a pass's export (its predictions are left out: they never become gold).

    Anything malformed goes on unchanged for validation to name (an unreadable key keeps its task whole).
    """
    out = PassWork()
    for n, raw in enumerate(tasks):
        data = raw.get("data") if isinstance(raw, dict) else None
        task_key = data.get(key) if isinstance(data, dict) else None
        if not isinstance(task_key, str):
            task_key = f"#{n}"  # validation names it
        anns = raw.get("annotations") if isinstance(raw, dict) else None
        if anns in (None, []):
            continue
        if not isinstance(anns, list):
            out.annotations[task_key] = anns  # validation says what is wrong
        else:
            out.annotations[task_key] = [{**a, PASS_KEY: name} if isinstance(a, dict) else a for a in anns]
        out.data[task_key] = data if isinstance(data, dict) else {}
    return out


def merged_with_pass(committed: Iterable[object], work: PassWork, key: str, name: str) -> Iterator[object]:
    """The committed tasks, each with the pass's annotations in place of those it brought before, then
    new tasks for the keys the committed export lacks (a document or pair annotated first in this pass).

    A committed task's ``gold`` record is left out: the pull settles each task's gold by the rule, as a
    pull of the gold projects does (a ground truth mark stays gold; a dispute keeps the previous gold).
    """
    left = dict(work.annotations)
    for raw in committed:
        data = raw.get("data") if isinstance(raw, dict) else None
        task_key = data.get(key) if isinstance(data, dict) else None
        if isinstance(raw, dict) and isinstance(raw.get("annotations"), list):
            kept = [a for a in raw["annotations"] if not (isinstance(a, dict) and a.get(PASS_KEY) == name)]
            brought = left.pop(task_key, []) if isinstance(task_key, str) else []
            raw = {k: v for k, v in raw.items() if k != "gold"}
            raw["annotations"] = kept + (brought if isinstance(brought, list) else [brought])
        yield raw
    for task_key, anns in left.items():
        yield {"data": work.data.get(task_key, {}), "annotations": anns}


def pull_pass(root: Path, studio: Studio, name: str, options: PullOptions, show=lambda lines: None):
    """One pass's annotations → annotations/exports (replacing what that pass brought before) → dataset/."""

    check_pass_name(name)
    span_title, pair_title = pass_titles(name)
    known = studio.projects()
    for title in (span_title, pair_title):
        if title not in known:
            raise StudioError(f"no project {title!r} on {studio.url}: run `crossclaim studio push --pass {name}` first")
    spans_project, pairs_project = find_project(studio, span_title, known), find_project(studio, pair_title, known)
    with tempfile.TemporaryDirectory(prefix="crossclaim-pass-") as scratch:
        spans = studio.export(spans_project, Path(scratch) / "pass-spans.json")
        pairs = studio.export(pairs_project, Path(scratch) / "pass-pairs.json")
        source = f"{SOURCE} pass {name}"
        merged_spans, merged_pairs = merge_pass(root / "annotations", spans, pairs, name, Path(scratch), source)
        options = dataclasses.replace(options, source=source)
        return apply_exports(root, merged_spans, merged_pairs, options, show, Editors(studio.users(), studio.me))


def merge_pass(
    annotations: Path, spans: list | Path | None, pairs: list | Path | None, name: str, scratch: Path, source: str
) -> tuple[Path, list]:
    """The committed exports with pass ``name``'s annotations replaced by those of its exports (files or
    lists; None: that project's committed export unchanged), the span export written to ``scratch`` a task
    at a time, regions given readable ids."""

    span_where, pair_where = f"{source} span export", f"{source} claim-pair export"
    committed = annotations / SPAN_EXPORT
    base = iter_array(committed) if committed.is_file() else iter(())
    if spans is not None:
        work = pass_work(export_tasks(spans, span_where), "doc_id", name)
        base = (readable_ids(t, span_where) for t in merged_with_pass(base, work, "doc_id", name))
    merged_spans = write_array(base, scratch / "merged-spans.json")
    pair_base = read_json(annotations / PAIR_EXPORT) if (annotations / PAIR_EXPORT).is_file() else []
    if pairs is None:
        return merged_spans, pair_base
    pair_work = pass_work(export_tasks(pairs, pair_where), "pair_id", name)
    return merged_spans, list(merged_with_pass(pair_base, pair_work, "pair_id", name))


def exports_to_check(
    annotations: Path, given: dict[str, object], name: str | None, utf16: bool, scratch: Path, source: str
) -> tuple[list | Path, list]:
    """What ``crossclaim studio check`` validates: the export files ``given`` (by project) as the pull of the
    gold projects, or of pass ``name``, would prepare them; the committed export for a project not given."""

    if name is not None:
        check_pass_name(name)
        if utf16:
            raise InputError("--utf16", "not with --pass: a pass's export comes from Label Studio 1.23")
        return merge_pass(annotations, given.get("spans"), given.get("pairs"), name, scratch, source)  # type: ignore[arg-type]
    carry = carried(annotations)
    if utf16:
        refuse_utf16_with_passes(carry)
    committed = {
        kind: read_json(annotations / rel) if (annotations / rel).is_file() else []
        for kind, rel in (("spans", SPAN_EXPORT), ("pairs", PAIR_EXPORT))
        if kind not in given
    }
    spans = prepared_spans(given["spans"], carry, scratch, f"{source} span export") if "spans" in given else None
    pairs = prepared_pairs(given["pairs"], carry, f"{source} claim-pair export") if "pairs" in given else None
    return (committed["spans"] if spans is None else spans), (committed["pairs"] if pairs is None else pairs)
