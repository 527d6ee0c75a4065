"""Tokens, sentences and UTF-16 offsets."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from crossclaim.text import TOKEN_RE, Utf16, py_to_utf16, sentence_bounds, tokenize, tokens_of


def test_tokens_cover_every_non_space_character() -> None:
    text = "Xiaomi’s SU7 sold 76,000 cars (US$2.5 billion) — in Q1 2025.Adek 🚗!"
    starts, ends = tokenize(text)
    covered = {i for a, b in zip(starts, ends) for i in range(a, b)}
    assert covered == {i for i, ch in enumerate(text) if not ch.isspace()}
    words = [text[a:b] for a, b in zip(starts, ends)]
    assert "’s" in words and "76,000" in words and "2025.Adek" in words


@given(st.text(alphabet=st.sampled_from(list("ab1 ,.-'’s\n\t🚗小$%")), max_size=60) | st.text(max_size=60))
def test_tokens_from_the_split_are_the_regex_matches(text: str) -> None:
    # the build's tokens come from one split and summed lengths: they must be exactly the matches
    starts, ends, strings = tokens_of(text)
    matches = list(TOKEN_RE.finditer(text))
    assert list(zip(starts, ends)) == [m.span() for m in matches]
    assert strings == [m.group() for m in matches]


def test_sentences_respect_lines_and_abbreviations() -> None:
    text = "New U.S. rules hit Xiaomi. It said so.\nHeadline line\n\nThird para? Yes."
    got = [text[a:b] for a, b in sentence_bounds(text)]
    assert got == ["New U.S. rules hit Xiaomi.", "It said so.", "Headline line", "Third para?", "Yes."]


def test_utf16_offsets_both_ways() -> None:
    text = "A🚗小米B"
    table = py_to_utf16(text)
    assert table == [0, 1, 3, 4, 5, 6]
    offsets = Utf16(text)
    assert offsets.units == 6 and offsets.to_utf16(2) == 3
    assert offsets.to_py(3) == 2 and offsets.to_py(2) is None  # the middle of the surrogate pair
    ascii_text = Utf16("plain")
    assert ascii_text.to_py(4) == 4 and ascii_text.to_utf16(5) == 5
