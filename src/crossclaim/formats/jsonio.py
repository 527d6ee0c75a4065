"""Reading JSON input files with one clear error for unreadable or malformed files."""

from __future__ import annotations

import json
import re
from pathlib import Path

from crossclaim.errors import InputError

# A UTF-16 surrogate written as a JSON escape: the only way a UTF-8 file can yield a lone surrogate.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def read_json(path: Path) -> object:
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror}") from None
    except ValueError as exc:
        raise InputError(str(path), f"not valid JSON (truncated or malformed): {exc}") from None
    if _SURROGATE_ESCAPE.search(text):  # rare: only then look at every string
        InputError.collect(unwritable_strings(data, str(path)))
    return data


def unwritable_strings(data: object, where: str) -> list[tuple[str, str]]:
    """Strings of a Label Studio export that cannot be written as UTF-8, one problem each.

    JSON may carry a lone surrogate (``"\\ud83d"``, half an emoji); Python reads it, but writing
    it fails. Found here, such a value is refused by name before anything is written. It looks at
    every string: call it when writing has failed, or when the JSON text holds a surrogate escape.
    """
    problems: list[tuple[str, str]] = []
    for n, task in enumerate(data if isinstance(data, list) else []):
        here = f"{where}: task {task.get('id', '#' + str(n)) if isinstance(task, dict) else '#' + str(n)}"
        for path, value in _strings(task, ""):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                cut = value[max(0, exc.start - 30) : exc.start + 30]
                problems.append((here, f"{path.lstrip('.')} holds a lone surrogate, not text: {cut!r}"))
    return problems


def _strings(value: object, path: str):
    """(JSON path, string) of every string in ``value``, keys included."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k, f"{path} (key)")
            yield from _strings(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, f"{path}[{i}]")
