"""Split rules: which split a claim pair belongs to, and which pairs make a claim ``contradictory``.

Splits are by document and nested in the order train → validation → test: a value published in a
split depends only on the documents of that split and of the splits before it. Train values never
encode a validation or test label, and validation values never encode a test label.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from crossclaim.schema.records import Pair, Span
from crossclaim.schema.scheme import SPLITS


def pair_split(p: Pair, split_of: Mapping[str, str]) -> str:
    """A pair belongs to the later split of its two claims' documents (train < validation < test).

    No test claim is ever seen in training pairs, so pair scores on test stay clean.
    """
    return max(split_of[p.a_doc], split_of[p.b_doc], key=SPLITS.index)


def contradictory_claims(pairs: Iterable[Pair], split_of: Mapping[str, str] | None) -> dict[str, set[str]]:
    """The claims flagged ``contradictory``, per document: those in a CONTRADICTS pair that counts for them.

    The one derivation of the flag. With ``split_of`` (the published rule) a pair counts for a claim only
    when the other claim is in the same or an earlier split: a train claim is never flagged because of a
    validation or test claim. With ``split_of=None`` every pair counts: the documents form one pool (a
    training set of chosen documents, a leave-one-document-out evaluation).
    """
    out: dict[str, set[str]] = defaultdict(set)
    for p in pairs:
        if p.label != "CONTRADICTS":
            continue
        split = pair_split(p, split_of) if split_of is not None else None
        for doc, claim in ((p.a_doc, p.a_claim), (p.b_doc, p.b_claim)):
            if split is None or split_of[doc] == split:
                out[doc].add(claim)
    return dict(out)


def nested_declarations(claim: Span, split: str, split_of: Mapping[str, str]) -> Span:
    """A claim as published: its ``compare_with`` keeps only claims of documents in the same or an
    earlier split (the nested rule of ``contradictory_claims``). A declaration points at a pair, and
    most declared pairs cross topics because they contradict: a train row naming a test claim would
    tell a system where the test contradictions are."""
    refs = claim.attrs.get("compare_with")
    if not isinstance(refs, str):
        return claim
    kept = [r for r in refs.split() if SPLITS.index(split_of.get(r.partition(":")[0], split)) <= SPLITS.index(split)]
    return claim.replace(compare_with=" ".join(kept) or None) if len(kept) != len(refs.split()) else claim
