"""One error type for bad input, carrying where each problem is, and how values are echoed in it."""

from __future__ import annotations

import reprlib
from collections.abc import Iterable

ECHO = 80  # characters of an offending value echoed in a message: enough to recognise it, never a 200 MB field


class InputError(Exception):
    """Bad input: which file, task, region, line or field is wrong, and what is wrong with it.

    It may carry several problems (an annotator wants them all at once). The CLI prints one
    line per problem and exits with code 2; nothing is written.
    """

    def __init__(self, where: str, what: str, more: list[tuple[str, str]] | None = None) -> None:
        self.problems = [(where, what), *(more or [])]
        extra = f" (and {len(self.problems) - 1} more problems)" if len(self.problems) > 1 else ""
        super().__init__(f"{where}: {what}{extra}")

    @classmethod
    def collect(cls, problems: Iterable[tuple[str, str]]) -> None:
        """Raise one error for all ``problems``, if there are any."""
        found = list(problems)
        if found:
            raise cls(*found[0], more=found[1:])

    def lines(self) -> list[str]:
        return [f"{where}: {what}" for where, what in self.problems]

    def __reduce__(self) -> tuple:
        """Picklable with every problem: a system's bad input found in a child process comes back whole."""
        (where, what), *more = self.problems
        return (type(self), (where, what, more))


class Problems(list[tuple[str, str]]):
    """The one collector of a pass over an input: every (place, problem) found, in the order found,
    raised together (``InputError.collect``) when the pass is over.

    Readers pass it down to the functions that look at each task, region or field; checks that are
    pure functions return their problems as a list, which the reader adds here (``+=``).
    """

    def add(self, where: str, what: str) -> None:
        self.append((where, what))


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict, _SHORT.maxlong = 2, 4, 4, 40
_SHORT.maxstring = _SHORT.maxother = ECHO // 2


def shown(value: object, limit: int = ECHO) -> str:
    """``value`` as an error message echoes it: its repr, cut to about ``limit`` characters.

    Strings are cut before they are formatted (a huge field costs nothing) and say how long they were;
    containers are summarised by ``reprlib``; huge integers are described, not printed (Python refuses
    to print more than 4,300 digits).
    """
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return f"{value[:limit]!r}… ({len(value):,} characters)"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1:,} digits"
    text = _SHORT.repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class StudioError(Exception):
    """A Label Studio server fault (not running, refused token, wrong port): one line, exit code 1."""
