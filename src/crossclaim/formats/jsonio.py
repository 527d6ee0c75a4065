"""Reading JSON input files with one clear error for unreadable or malformed files."""

from __future__ import annotations

import json
from pathlib import Path

from crossclaim.errors import InputError


def read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror}") from None
    except ValueError as exc:
        raise InputError(str(path), f"not valid JSON (truncated or malformed): {exc}") from None
