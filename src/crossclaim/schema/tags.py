"""The token view: sentences of tokens with IOB2 tag layers, and the exact way back to spans."""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from crossclaim.schema.records import Span
from crossclaim.schema.scheme import ATTRIBUTE, TAG_LAYERS, TagLayer
from crossclaim.text import sentence_bounds, split_at, tokens_of

TAG_NAMES: dict[str, list[str]] = {t.name: t.tag_names() for t in TAG_LAYERS}
TAG_IDS: dict[str, dict[str, int]] = {k: {n: i for i, n in enumerate(v)} for k, v in TAG_NAMES.items()}


@dataclass
class TokenView:
    """One document's tokens (split at every gold span boundary) grouped into sentences."""

    starts: list[int]
    ends: list[int]
    sentences: list[tuple[int, int]]  # token index ranges [i, j)
    splits: int  # tokens cut at a span boundary
    strings: list[str]  # the tokens' text


def token_view(text: str, spans: list[Span]) -> TokenView:
    starts, ends, strings = tokens_of(text)
    cuts = {s.start for s in spans} | {s.end for s in spans}
    starts, ends, splits = split_at(starts, ends, cuts)
    if splits:
        strings = [text[a:b] for a, b in zip(starts, ends)]
    sentences = []
    for a, b in sentence_bounds(text):
        i = bisect.bisect_left(starts, a)
        j = bisect.bisect_left(starts, b)
        if i < j:
            sentences.append((i, j))
    return TokenView(starts, ends, sentences, splits, strings)


def selected(tag_layer: TagLayer, spans: list[Span], contradictory: set[str]) -> list[Span]:
    """The spans a tag layer draws: its layer, kept only where its ``only`` flag is true."""
    return [s for s in spans if s.layer == tag_layer.layer and draws(tag_layer, s, contradictory)]


def draws(tag_layer: TagLayer, span: Span, contradictory: set[str]) -> bool:
    """Whether a span of the tag layer's layer is drawn: always, or where its ``only`` flag is true.

    A derived flag (``contradictory``) is true for the span ids in ``contradictory``.
    """
    if tag_layer.only is None:
        return True
    flag = ATTRIBUTE[(tag_layer.layer, tag_layer.only)]
    return span.id in contradictory if flag.derived else bool(span.attrs.get(flag.name))


def token_range(starts: list[int], ends: list[int], start: int, end: int) -> tuple[int, int]:
    """Tokens [i, j) that share a character with the span start:end (i == j: it covers white space only)."""
    i = bisect.bisect_right(ends, start)
    return i, max(i, bisect.bisect_left(starts, end))


def spans_to_tag_ids(starts: list[int], ends: list[int], spans: list[Span], tag_layer: str) -> tuple[list[int], int]:
    """IOB2 tag ids for the tokens; a token is in a span when they share a character.

    Meant for gold, whose spans fall on token boundaries by construction and never share a token.
    For anything else, a token already taken by an earlier span of the layer is not retagged and
    the number of spans that lost every token that way is returned; scoring therefore places
    predicted spans its own way (``crossclaim.evaluation.counts.place``), losing none.
    """
    ids = TAG_IDS[tag_layer]
    tags = [0] * len(starts)
    lost = 0
    for s in sorted(spans, key=lambda s: (s.start, s.end)):
        i, j = token_range(starts, ends, s.start, s.end)
        if i < j and not any(tags[i:j]):  # the usual case (gold): every token of the span is free
            tags[i] = ids[f"B-{s.label}"]
            tags[i + 1 : j] = [ids[f"I-{s.label}"]] * (j - i - 1)
            continue
        free = [k for k in range(i, j) if tags[k] == 0]
        if not free:
            lost += 1
            continue
        tags[free[0]] = ids[f"B-{s.label}"]
        inside = ids[f"I-{s.label}"]
        for k in free[1:]:
            tags[k] = inside
    return tags, lost


def tags_to_spans(tags: list[str], starts: list[int], ends: list[int]) -> list[tuple[int, int, str]]:
    """Decode IOB2 tags into (start, end, label) character spans; an I- without its B- opens a span."""
    out: list[tuple[int, int, str]] = []
    cur: list | None = None
    for tag, s, e in zip(tags, starts, ends):
        if tag == "O":
            cur = None
            continue
        prefix, label = tag.split("-", 1)
        if prefix == "I" and cur is not None and cur[2] == label:
            cur[1] = e
            continue
        cur = [s, e, label]
        out.append(cur)
    return [tuple(c) for c in out]
