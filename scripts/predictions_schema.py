"""Regenerate the predictions JSON Schema shipped in the package, ``src/crossclaim/formats/predictions.schema.json``.

The schema is a generated file kept in the package (users validate their predictions against it without
running code), generated from one source: ``crossclaim.formats.predictions.schema_text``. It depends on
the code and the annotation scheme, not on the annotations, so ``crossclaim build`` does not write it (a
data build never edits package source); run this after changing the scheme or the predictions format.
``tests/formats/test_predictions.py`` fails while the committed file differs.

    python scripts/predictions_schema.py          # rewrite the file when it is stale
    python scripts/predictions_schema.py --check  # exit 1 when it is stale, writing nothing
"""

from __future__ import annotations

import argparse
import sys

from crossclaim.formats.predictions import SCHEMA_FILE, schema_text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report whether the committed file is stale")
    args = parser.parse_args()
    text = schema_text()
    current = SCHEMA_FILE.read_text(encoding="utf-8") if SCHEMA_FILE.is_file() else None
    if current == text:
        print(f"{SCHEMA_FILE} is current")
        return 0
    if args.check:
        print(f"{SCHEMA_FILE} is stale: run python scripts/predictions_schema.py", file=sys.stderr)
        return 1
    SCHEMA_FILE.write_text(text, encoding="utf-8")
    print(f"wrote {SCHEMA_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
