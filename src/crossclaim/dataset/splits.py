"""Which split each claim pair belongs to (splits are by document)."""

from __future__ import annotations

from crossclaim.schema.records import Pair


def pair_split(p: Pair, split_of: dict[str, str]) -> str:
    """A pair is in the test split if either claim is, else validation if either is, else train.

    No test claim is ever seen in training pairs, so pair scores on test stay clean.
    """
    sides = {split_of[p.a_doc], split_of[p.b_doc]}
    return next(s for s in ("test", "validation", "train") if s in sides)
