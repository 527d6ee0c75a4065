"""Tokens, sentences and UTF-16 offsets."""

from __future__ import annotations

import bisect
import re

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from crossclaim.text import Joined, Utf16, py_to_utf16, sentence_bounds, tokens

# An independent statement of the tokenizer's rule, as a regular expression: a word with inner joiners,
# an English clitic after an apostrophe, or any other single non-space character.
TOKEN_RE = re.compile(r"\w+(?:[-.,:/&]\w+)*|[’'](?:s|S|re|ve|ll|d|m|t)\b|\S")


def regex_tokens(text: str, cuts: set[int]) -> tuple[list[int], list[int], int]:
    """The regular expression's tokens, each cut where an offset of ``cuts`` falls strictly inside it."""
    starts, ends, cut = [], [], 0
    inside = sorted(cuts)
    for m in TOKEN_RE.finditer(text):
        a, b = m.span()
        k = bisect.bisect_right(inside, a)
        while k < len(inside) and inside[k] < b:
            starts.append(a)
            ends.append(inside[k])
            a, k, cut = inside[k], k + 1, cut + 1
        starts.append(a)
        ends.append(b)
    return starts, ends, cut


def test_tokens_cover_every_non_space_character() -> None:
    text = "Xiaomi’s SU7 sold 76,000 cars (US$2.5 billion) — in Q1 2025.Adek 🚗!"
    starts, ends, _ = tokens(text)
    covered = {i for a, b in zip(starts, ends) for i in range(a, b)}
    assert covered == {i for i, ch in enumerate(text) if not ch.isspace()}
    words = [text[a:b] for a, b in zip(starts, ends)]
    assert "’s" in words and "76,000" in words and "2025.Adek" in words


@given(st.text(alphabet=st.sampled_from(list("ab1 ,.-'’s\n\t🚗小$%")), max_size=60) | st.text(max_size=60))
def test_tokens_are_the_regex_matches(text: str) -> None:
    starts, ends, cut = tokens(text)
    assert (list(zip(starts, ends)), cut) == ([m.span() for m in TOKEN_RE.finditer(text)], 0)


TEXTS = st.lists(
    st.text(alphabet=st.sampled_from(list("aZ1_ ,.-:/&'’sSretvldm!?\"”“(\n\t\u00a0🚗小²Ⅻ$")), max_size=50)
    | st.text(max_size=30),
    max_size=4,
)


@given(TEXTS, st.data())
def test_joined_texts_give_each_texts_tokens(texts: list[str], data) -> None:
    # the build tokenises many texts at once: text for text, the regex's tokens cut at the span boundaries
    assert_joined_like_each(texts, [sorted(data.draw(st.sets(st.integers(0, len(t))))) for t in texts])


def test_joined_texts_on_the_tokenizers_corner_cases() -> None:
    texts = ["it's-x don't 'sa 're.b ’ll,", "a-b-c .5 x.-y state-backed 2025.Adek U.S. rules. Next", "", "'s"]
    assert_joined_like_each(texts, [[3, 9], [1, 20], [0], [1, 2]])


def assert_joined_like_each(texts: list[str], cuts: list[list[int]]) -> None:
    joined = Joined.of(texts)
    bases = joined.starts.tolist()
    starts, ends, splits = joined.token_bounds(np.array([c + b for cs, b in zip(cuts, bases) for c in cs], np.int64))
    want_splits = 0
    for text, base, cs in zip(texts, bases, cuts):
        mine = (starts >= base) & (starts <= base + len(text))
        want_s, want_e, n = regex_tokens(text, set(cs))
        want_splits += n
        assert list(zip((starts[mine] - base).tolist(), (ends[mine] - base).tolist())) == list(zip(want_s, want_e))
    assert splits == want_splits and len(starts) == len(ends)


def test_sentences_respect_lines_and_abbreviations() -> None:
    text = "New U.S. rules hit Xiaomi. It said so.\nHeadline line\n\nThird para? Yes."
    got = [text[a:b] for a, b in sentence_bounds(text)]
    assert got == ["New U.S. rules hit Xiaomi.", "It said so.", "Headline line", "Third para?", "Yes."]


def test_utf16_offsets_both_ways() -> None:
    text = "A🚗小米B"
    table = py_to_utf16(text)
    assert table == [0, 1, 3, 4, 5, 6]
    offsets = Utf16(text)
    assert offsets.units == 6
    assert offsets.to_py(3) == 2 and offsets.to_py(2) is None  # the middle of the surrogate pair
    ascii_text = Utf16("plain")
    assert ascii_text.to_py(4) == 4
