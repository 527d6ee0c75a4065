"""One error type for bad input, carrying where each problem is."""

from __future__ import annotations


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
    def collect(cls, problems: list[tuple[str, str]]) -> None:
        """Raise one error for all ``problems``, if there are any."""
        if problems:
            raise cls(*problems[0], more=problems[1:])

    def lines(self) -> list[str]:
        return [f"{where}: {what}" for where, what in self.problems]


class StudioError(Exception):
    """A Label Studio server fault (not running, refused token, wrong port): one line, exit code 1."""
