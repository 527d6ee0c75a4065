"""Tokens, sentences and offset conversion: the token view's foundations.

The tokenizer is one rule, written once with numpy over code points (``Joined``) so that a build
tokenises many texts at a time: a word with inner joiners (``76,000``, ``km/h``, ``R&D``, ``2025.Adek``),
an English clitic after an apostrophe (``'s``, ``’re``), or any other single non-space character. Glued
scraping artefacts stay one token, which the token view cuts at span boundaries as the spec requires.

    >>> tokens("Xiaomi’s SU7 sold 76,000 cars.")
    ([0, 6, 9, 13, 18, 25, 29], [6, 8, 12, 17, 24, 29, 30], 0)
    >>> tokens("Xiaomiunveiled it.", cuts=[6])  # a span ends after "Xiaomi"
    ([0, 6, 15, 17], [6, 14, 17, 18], 1)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate

import numpy as np

# . ! ? with closing quotes/brackets, before white space and an opening quote/bracket, capital or digit
_SENT_END_RE = re.compile(r"[.!?]+[\"”’')\]]*(?=[ \t]+[\"“‘'(\[]?[A-Z0-9])")
# the lower-cased word before a period that does not end a sentence: an abbreviation, or one character (U.S., J.)
_ABBREVIATION = re.compile(
    r"mrs?|ms|dr|prof|st|jr|sr|inc|corp|co|ltd|vs|no|fig|eng|gen|gov|sen|rep|u\.[sk]|e\.g|i\.e|etc|approx|."
)
_WORD_BEFORE_RE = re.compile(r"[\w.]*$")  # the word before a period, looked at up to 12 characters back


def tokens(text: str, cuts: Iterable[int] = ()) -> tuple[list[int], list[int], int]:
    """Token starts and ends of ``text`` (every non-space character is in one token), each token cut
    where an offset of ``cuts`` falls strictly inside it, and the number of such cuts.

    Spans are never moved to fit the tokenizer: the tokens are cut to fit the spans.
    """
    starts, ends, cut = Joined.of([text]).token_bounds(np.fromiter(cuts, np.int64))
    return starts.tolist(), ends.tolist(), cut


@lru_cache(maxsize=256)  # each document's text is met a few times in a row; 8192 texts held 100 MB
def sentence_bounds(text: str) -> tuple[tuple[int, int], ...]:
    """Character ranges of sentences, stripped of white space: lines are hard boundaries (scraped pages put
    headings, bylines and captions on lines of their own); inside a line a sentence ends at . ! ? before a
    capital, digit or quote, unless the word before the period is an abbreviation or one letter (U.S., J.).
    """
    bounds: list[tuple[int, int]] = []
    pos = 0
    for line in text.split("\n"):
        cuts = [0]
        for m in _SENT_END_RE.finditer(line):
            before = _WORD_BEFORE_RE.search(line, max(0, m.start() - 12), m.start()).group()
            if m.group().startswith(".") and _ABBREVIATION.fullmatch(before.lower()):
                continue
            cuts.append(m.end())
        cuts.append(len(line))
        for a, b in zip(cuts, cuts[1:]):
            seg = line[a:b]
            if stripped := seg.strip():
                lead = pos + a + len(seg) - len(seg.lstrip())
                bounds.append((lead, lead + len(stripped)))
        pos += len(line) + 1
    return tuple(bounds)


def py_to_utf16(text: str) -> list[int]:
    """Map each Python offset 0..len(text) to its UTF-16 code unit offset."""
    return [0, *accumulate(2 if ord(ch) > 0xFFFF else 1 for ch in text)]


class Utf16:
    """Offset conversion for one text; the identity (no tables built) when nothing is astral."""

    def __init__(self, text: str) -> None:
        self.units = len(text.encode("utf-16-le")) // 2
        self._to_py = {u: i for i, u in enumerate(py_to_utf16(text))} if self.units != len(text) else None

    def to_py(self, u: int) -> int | None:
        """Python offset of a UTF-16 offset, or None inside a surrogate pair."""
        return self._to_py.get(u) if self._to_py is not None else u


# the tokenizer: many texts at once, numpy over code points ----------------------------------------

_JOINERS = np.array([ord(c) for c in "-.,:/&"], dtype=np.uint32)  # the inner joiners of a word
_APOSTROPHES = np.array([ord(c) for c in "'’"], dtype=np.uint32)
_CLITICS = frozenset(["s", "S", "re", "ve", "ll", "d", "m", "t"])  # the clitics after an apostrophe, each ending a word


def _classes(chars: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Whether each character is white space (``str.isspace``, ``re``'s ``\\s``) and a word character (``\\w``)."""
    return np.array([c.isspace() for c in chars], bool), np.array([c.isalnum() or c == "_" for c in chars], bool)


_ASCII_SPACE, _ASCII_WORD = _classes([chr(i) for i in range(128)])


@dataclass(frozen=True)
class Joined:
    """Texts joined by newlines (a line boundary: no token or sentence crosses it), character classes
    computed once. Offsets into ``text`` are global; ``starts[k]`` is where text ``k`` begins."""

    text: str
    starts: np.ndarray  # int64 per text
    codes: np.ndarray  # uint32 code point per character
    space: np.ndarray  # bool per character: str.isspace (re's \s)
    word: np.ndarray  # bool per character: re's \w

    @classmethod
    def of(cls, texts: list[str]) -> Joined:
        text = "\n".join(texts)
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        lengths = np.fromiter(map(len, texts), np.int64, len(texts))
        starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1])).astype(np.int64)
        small = codes < 128
        index = np.where(small, codes, 0)
        space, word = _ASCII_SPACE[index], _ASCII_WORD[index]
        if not small.all():  # classify each distinct non-ASCII character once
            big = np.flatnonzero(~small)
            distinct, which = np.unique(codes[big], return_inverse=True)
            space[big], word[big] = (found[which] for found in _classes([chr(c) for c in distinct.tolist()]))
        return cls(text, starts, codes, space, word)

    def token_bounds(self, cuts: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        """Starts and ends of every text's tokens, cut at the global offsets ``cuts`` that fall inside a
        token, and the number of such cuts."""
        n = len(self.codes)
        start, end = self._token_marks()
        cuts = np.unique(cuts)
        cuts = cuts[(cuts > 0) & (cuts < n)]
        inside = cuts[~self.space[cuts] & ~start[cuts]]
        start[inside] = end[inside] = True
        return np.flatnonzero(start), np.flatnonzero(end), len(inside)

    def _token_marks(self) -> tuple[np.ndarray, np.ndarray]:
        """Where tokens start and end (end-exclusive), the tokenizer's alternatives in turn: runs of word
        characters, joined by single joiners; an apostrophe and a clitic that fills a run; any other
        non-space character alone."""
        n, codes, word = len(self.codes), self.codes, self.word
        start, end = np.zeros(n + 1, bool), np.zeros(n + 1, bool)
        alone = np.flatnonzero(~self.space & ~word)
        start[alone] = end[alone + 1] = True
        edges = np.diff(np.concatenate(([0], word.view(np.int8), [0])))
        run_starts, run_ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        start[run_starts] = end[run_ends] = True
        clitic = np.zeros(len(run_starts), bool)
        after = np.flatnonzero((run_starts > 0) & np.isin(codes[run_starts - 1], _APOSTROPHES))
        clitic[after] = [self.text[run_starts[k] : run_ends[k]] in _CLITICS for k in after.tolist()]
        stuck = run_starts[clitic]  # the apostrophe before it and the clitic are one token
        start[stuck] = end[stuck] = False
        gaps = run_ends[:-1]
        joined = (run_starts[1:] - gaps == 1) & np.isin(codes[np.minimum(gaps, n - 1)], _JOINERS) & ~clitic[:-1]
        joiners = gaps[joined]
        start[joiners] = end[joiners] = start[joiners + 1] = end[joiners + 1] = False
        return start[:n], end
