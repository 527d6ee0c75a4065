"""The token view: sentences of tokens with IOB2 tag layers, and the exact way back to spans."""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

from crossclaim.schema.records import Span
from crossclaim.schema.scheme import ATTRIBUTE, LAYERS, TAG_LAYERS, TagLayer
from crossclaim.text import sentence_bounds, tokens

TAG_NAMES: dict[str, list[str]] = {t.name: t.tag_names() for t in TAG_LAYERS}
TAG_LAYER: dict[str, TagLayer] = {t.name: t for t in TAG_LAYERS}
LABEL_INDEX: dict[str, dict[str, int]] = {
    name: {lab: n for n, lab in enumerate(layer.label_names)} for name, layer in LAYERS.items()
}


@dataclass
class TokenView:
    """One document's tokens (split at every gold span boundary) grouped into sentences."""

    starts: list[int]
    ends: list[int]
    sentences: list[tuple[int, int]]  # token index ranges [i, j)


def token_view(text: str, spans: list[Span]) -> TokenView:
    starts, ends, _ = tokens(text, {s.start for s in spans} | {s.end for s in spans})
    bounds = [(bisect.bisect_left(starts, a), bisect.bisect_left(starts, b)) for a, b in sentence_bounds(text)]
    return TokenView(starts, ends, [(i, j) for i, j in bounds if i < j])


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


def spans_to_tag_ids(starts: list[int], ends: list[int], spans: list[Span], tag_layer: str) -> list[int]:
    """IOB2 tag ids of a tag layer for one document's tokens (``tag_ids``, for lists of offsets).

    >>> spans_to_tag_ids([0, 7, 13], [6, 12, 17], [Span("entities", "e1", 0, 12, "Xiaomi Corp.", "ORG")], "entity_tags")
    [1, 2, 0]
    """
    labels = LABEL_INDEX[TAG_LAYER[tag_layer].layer]
    return tag_ids(
        np.asarray(starts, np.int64),
        np.asarray(ends, np.int64),
        np.fromiter((s.start for s in spans), np.int64, len(spans)),
        np.fromiter((s.end for s in spans), np.int64, len(spans)),
        np.fromiter((labels[s.label] for s in spans), np.int8, len(spans)),
    ).tolist()


def tag_ids(
    starts: np.ndarray, ends: np.ndarray, span_starts: np.ndarray, span_ends: np.ndarray, labels: np.ndarray
) -> np.ndarray:
    """IOB2 tag ids for tokens (``starts``, ``ends``: sorted offsets) from one tag layer's spans: a token
    is in a span when they share a character; ``labels`` holds each span's label as its index in the
    layer (B- then I- of each label follow O, see ``TagLayer.tag_names``).

    The one encoder, for gold: its spans fall on token boundaries (the token view cuts tokens to fit
    them) and never share a token with another span of their tag layer; anything else is a ValueError.
    Scoring places predicted spans its own way (``crossclaim.evaluation.counts.place``), losing none.
    """
    order = np.argsort(span_starts, kind="stable")
    span_starts, span_ends, labels = span_starts[order], span_ends[order], labels[order]
    tags = np.zeros(len(starts), np.int8)
    i = np.searchsorted(ends, span_starts, side="right")  # first token ending after the span starts
    j = np.searchsorted(starts, span_ends)  # first token starting at or after its end
    if (j <= i).any() or (i[1:] < j[:-1]).any():
        raise ValueError("spans of one tag layer that cover no token or share one: not gold")
    begin = 1 + 2 * labels.astype(np.int8)
    tags[i] = begin
    length = j - i - 1
    inside = np.repeat(i + 1 - np.cumsum(length) + length, length) + np.arange(length.sum())
    tags[inside] = np.repeat(begin + 1, length)
    return tags


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
