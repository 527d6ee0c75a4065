"""Run the leaderboard (same as ``crossclaim leaderboard``; arguments are passed through).

python scripts/leaderboard.py [--out DIR] [--system NAME ...] [--predictions FILE --name NAME ...]
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from crossclaim.cli import app

if __name__ == "__main__":
    app(["leaderboard", *sys.argv[1:]], prog_name="leaderboard.py")
