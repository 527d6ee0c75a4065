"""Disagreements between annotators, by task and layer, for the adjudicator (``crossclaim studio disputes``).

A task is *in dispute* when it has several annotations that differ and no rule chooses its gold
(``formats.labelstudio.annotations``). Each annotation of a task is compared with a reference: the
task's gold where a rule chose one, else the first annotator's (by e-mail). What differs is listed by
layer: regions added, missing, moved or relabelled, attribute values, a pair's label and rationale
(``formats.labelstudio.differences``), each task with its link in Label Studio. The adjudicator
settles a dispute with an annotation of their own; the next pull takes it as gold (the single
adjudicator rule). The same list is printed and written as one self-contained HTML page (no script,
no external resource; every text escaped).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from html import escape
from pathlib import Path

from crossclaim.dataset.gold import gold_policy
from crossclaim.errors import InputError, Problems
from crossclaim.files import write_text_atomic
from crossclaim.formats.jsonio import read_json
from crossclaim.formats.labelstudio.annotations import (
    IN_DISPUTE,
    RULE_NAMES,
    GoldPolicy,
    gold_annotation,
    settle_gold,
    work_of,
)
from crossclaim.formats.labelstudio.differences import KINDS, PAIRS, Difference, differences
from crossclaim.formats.labelstudio.pairs import parse_pair_tasks
from crossclaim.formats.labelstudio.spans import parse_span_tasks
from crossclaim.schema.scheme import LAYERS
from crossclaim.studio.sync import PAIR_PROJECT, SPAN_PROJECT, find_project


@dataclass(frozen=True)
class Versus:
    """One annotation compared with the task's reference annotation."""

    annotator: str
    differences: tuple[Difference, ...]  # empty: it says what the reference says


@dataclass(frozen=True)
class Dispute:
    """A task whose annotations disagree."""

    what: str  # "document" or "claim pair"
    key: str  # its document or pair id
    link: str | None  # the task in Label Studio
    settled: bool  # a rule chose its gold (listed only when every disagreement is asked for)
    status: str  # in words: "in dispute" or the rule that chose the gold
    reference: str  # the annotator every other annotation is compared with
    versus: tuple[Versus, ...]

    @property
    def layers(self) -> tuple[str, ...]:
        """The layers that differ, in schema order (a pair's label and rationale last)."""
        found = {d.layer for v in self.versus for d in v.differences}
        return tuple(x for x in (*LAYERS, PAIRS) if x in found)


def task_links(raws: list, key: str, url: str | None, project: int | None) -> dict[str, str]:
    """Each task's page in Label Studio by its document or pair id (none without a server)."""
    if url is None or project is None:
        return {}
    out = {}
    for raw in raws:
        data = raw.get("data") if isinstance(raw, dict) else None
        if isinstance(data, dict) and isinstance(data.get(key), str) and raw.get("id") is not None:
            out[data[key]] = f"{url.rstrip('/')}/projects/{project}/data?task={raw['id']}"
    return out


def find_disputes(
    spans_data: list,
    pairs_data: list,
    policy: GoldPolicy,
    links: dict[str, str] | None = None,
    everything: bool = False,
    where: str = "Label Studio",
) -> list[Dispute]:
    """Every task in dispute (``everything``: also every settled task whose annotations differ), documents
    first, then claim pairs, each by id. The exports are validated as a pull validates them."""
    links = links or {}
    problems = Problems()
    out: list[Dispute] = []
    try:
        for task in parse_span_tasks(spans_data, f"{where} span export"):
            found = _dispute("document", task.doc_id, task, policy, links, everything, problems)
            out += [found] if found else []
        for pt in parse_pair_tasks(pairs_data, f"{where} claim-pair export"):
            found = _dispute("claim pair", pt.data["pair_id"], pt, policy, links, everything, problems)
            out += [found] if found else []
    except InputError as exc:
        problems.extend(exc.problems)
    InputError.collect(problems)
    order = {"document": 0, "claim pair": 1}
    return sorted(out, key=lambda d: (order[d.what], d.key))


def _dispute(what, key, task, policy, links, everything, problems) -> Dispute | None:
    gold = settle_gold(task, f"{what} {key}", policy, problems)
    gold = gold or gold_annotation(task)
    usable = [a for a in task.annotations if not a.was_cancelled]
    in_dispute = task.gold is not None and task.gold.rule == IN_DISPUTE
    if len(usable) < 2 or len({repr(work_of(a)) for a in usable}) == 1 or not (in_dispute or everything):
        return None
    reference = gold if gold is not None else min(usable, key=lambda a: a.annotator)
    others = [a for a in sorted(usable, key=lambda a: a.annotator) if a is not reference]
    status = "in dispute" if in_dispute else f"settled: {RULE_NAMES[task.gold.rule]} (by {reference.annotator})"
    return Dispute(
        what,
        key,
        links.get(key),
        not in_dispute,
        status,
        reference.annotator,
        tuple(Versus(a.annotator, tuple(differences(reference, a))) for a in others),
    )


def disputes_on_server(
    studio, annotations: Path, gold: str | None = None, everything: bool = False, pass_name: str | None = None
) -> list[Dispute]:
    """Export both projects of ``studio`` and find the disputes (the gold rule with this project's team).

    ``pass_name``: the pass's projects instead, merged with the committed exports as ``pull --pass`` merges
    them (a pass's disagreement is judged beside the committed gold), each task linked in the pass's project.
    """
    import tempfile

    known = studio.projects()
    titles = (SPAN_PROJECT, PAIR_PROJECT)
    if pass_name is not None:
        from crossclaim.studio.passes import check_pass_name, pass_titles

        titles = pass_titles(check_pass_name(pass_name))
    spans_project, pairs_project = (find_project(studio, title, known) for title in titles)
    with tempfile.TemporaryDirectory(prefix="crossclaim-disputes-") as scratch:
        spans = read_json(studio.export(spans_project, Path(scratch) / "spans.json"))
        pairs = read_json(studio.export(pairs_project, Path(scratch) / "pairs.json"))
        links = task_links(spans, "doc_id", studio.url, spans_project.id)
        links |= task_links(pairs, "pair_id", studio.url, pairs_project.id)
        if pass_name is not None:
            from crossclaim.studio.passes import merge_pass

            merged, pairs = merge_pass(annotations, spans, pairs, pass_name, Path(scratch), f"pass {pass_name}")
            spans = read_json(merged)
    return find_disputes(spans, pairs, gold_policy(annotations, gold), links, everything)


def summary(disputes: list[Dispute]) -> str:
    """One line: how many tasks are in dispute, and how many settled ones are listed."""
    open_ = sum(1 for d in disputes if not d.settled)
    kinds = Counter(d.what for d in disputes if not d.settled)
    parts = [f"{n} {what}{'s' if n != 1 else ''}" for what, n in sorted(kinds.items())]
    line = f"{open_} task{'s' if open_ != 1 else ''} in dispute" + (f" ({', '.join(parts)})" if parts else "")
    settled = len(disputes) - open_
    return line + (f"; {settled} settled task{'s' if settled != 1 else ''} whose annotations differ" if settled else "")


# ---------------------------------------------------------------------------------------------
# the HTML page

CSS = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #1d1d1f; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin: 1.6em 0 .3em; }
.task { border: 1px solid #d0d0d7; border-radius: 6px; padding: .4em 1em 1em; margin: 1.2em 0; }
.task.open { border-left: 6px solid #c0392b; } .task.settled { border-left: 6px solid #27ae60; }
.status { font-weight: 600; } .open .status { color: #c0392b; } .settled .status { color: #1e8449; }
table { border-collapse: collapse; width: 100%; margin-top: .5em; table-layout: fixed; }
col.who { width: 24%; } col.kind { width: 9em; }
th, td { text-align: left; vertical-align: top; padding: .25em .6em; border-bottom: 1px solid #ececf0; }
th { background: #f5f5f8; font-weight: 600; }
.kind { font-family: ui-monospace, monospace; font-size: .9em; padding: .05em .4em; border-radius: 3px; }
.added { background: #e3f4e8; } .missing { background: #fbe4e2; } .moved { background: #fff2d6; }
.relabelled, .label { background: #ebe4fb; } .attribute, .rationale { background: #e2eefb; }
.agrees { color: #666; font-style: italic; }
.what { white-space: pre-wrap; word-break: break-word; }
"""


def disputes_html(disputes: list[Dispute], title: str = "CrossClaim disputes") -> str:
    """One self-contained page: a summary, then each task with its link and a table per layer."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p id="summary">{escape(summary(disputes))}. Each annotation is compared with the reference: the gold '
        "where a rule chose one, else the first annotator's. An adjudicator settles a dispute with an annotation "
        "of their own; the next <code>crossclaim studio pull</code> takes it as gold.</p>",
    ]
    if not disputes:
        parts.append('<p id="none">No disagreement.</p>')
    for d in disputes:
        parts.append(_task_html(d))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _task_html(d: Dispute) -> str:
    state = "settled" if d.settled else "open"
    name = escape(f"{d.what} {d.key}")
    link = f' — <a href="{escape(d.link, quote=True)}">open in Label Studio</a>' if d.link else ""
    out = [
        f'<section class="task {state}" data-key="{escape(d.key, quote=True)}">',
        f"<h2>{name}{link}</h2>",
        f'<p><span class="status">{escape(d.status)}</span> · reference: {escape(d.reference)} · '
        f"compared: {escape(', '.join(v.annotator for v in d.versus))}</p>",
    ]
    for layer in d.layers:
        out.append(f'<table class="layer" data-layer="{escape(layer, quote=True)}">')
        out.append(
            '<colgroup><col class="who"><col class="kind"><col></colgroup>'
            f"<tr><th colspan=3>{escape(layer)}</th></tr><tr><th>annotator</th><th>difference</th><th>what</th></tr>"
        )
        for v in d.versus:
            for diff in sorted((x for x in v.differences if x.layer == layer), key=lambda x: KINDS.index(x.kind)):
                out.append(
                    f"<tr><td>{escape(v.annotator)}</td>"
                    f'<td><span class="kind {escape(diff.kind, quote=True)}">{escape(diff.kind)}</span></td>'
                    f'<td class="what">{escape(diff.what)}</td></tr>'
                )
        out.append("</table>")
    agreeing = [v.annotator for v in d.versus if not v.differences]
    if agreeing:
        out.append(f'<p class="agrees">{escape(", ".join(agreeing))}: the same as the reference</p>')
    out.append("</section>")
    return "\n".join(out)


def write_page(path: Path, disputes: list[Dispute]) -> None:

    write_text_atomic(path, disputes_html(disputes))
