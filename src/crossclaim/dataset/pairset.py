"""Which claim pairs exist: pairs by topic, plus the pairs annotators declare (pure functions).

A pair *by topic* joins two claims of one topic in different documents, unless the topic is a
catch-all (``Topic.catch_all``), which names no comparable proposition. A claim's ``compare_with``
*declares* a pair with any other claim, whatever its topic (a contradiction that crosses topics).
Two claims of one (non catch-all) topic in the same document may also form a pair, kept where the
article contradicts itself; no such pair is made automatically. Every other pair task is *stale*:
its pair is not in the set (an undeclared cross-topic pair, or a pair that only shares a catch-all
topic), and the build names it rather than drop its gold silently. No claim in page furniture enters
the set.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from crossclaim.formats.labelstudio.pairs import PairTask
from crossclaim.schema.records import Document, Span, pair_id
from crossclaim.schema.scheme import CATCH_ALL_TOPICS

ClaimKey = tuple[str, str]  # (document id, claim id)
Problem = tuple[str, str]


def _ref(key: ClaimKey) -> str:
    return f"{key[0]}:{key[1]}"


Topics = Mapping[ClaimKey, "str | None"]  # every gold claim's topic: all a pair-set check needs of most claims


def topics_of(claims: Mapping[ClaimKey, Span]) -> dict[ClaimKey, str | None]:
    return {key: claim.topic for key, claim in claims.items()}


def by_topic(a: ClaimKey, b: ClaimKey, topics: Topics) -> bool:
    """The two claims are paired by their topic: same topic, not a catch-all, different documents."""
    ta, tb = topics[a], topics[b]
    return a[0] != b[0] and ta == tb and ta not in CATCH_ALL_TOPICS


@dataclass(frozen=True)
class Declarations:
    """The pairs declared through ``compare_with``, by pair id, and what is wrong with the declarations."""

    pairs: dict[str, tuple[ClaimKey, ClaimKey]]
    problems: list[Problem]


def declarations(claims: Mapping[ClaimKey, Span], where: str, topics: Topics | None = None) -> Declarations:
    """Every declared pair; an id that names no gold claim, the claim itself or a claim its topic pairs it
    with already is a problem (``where``: the span export). ``claims`` must hold every claim with a
    ``compare_with``, ``topics`` every gold claim (default: those of ``claims``): a build keeps few whole.
    """
    topics = topics_of(claims) if topics is None else topics
    pairs: dict[str, tuple[ClaimKey, ClaimKey]] = {}
    problems: list[Problem] = []
    for key in sorted(claims):
        refs = claims[key].attrs.get("compare_with")  # ``DOC:CLAIM`` ids, as written
        here = f"{where}: doc {key[0]}, region {key[1]}, compare_with"
        for ref in refs.split() if isinstance(refs, str) else ():
            doc, _, cid = ref.partition(":")  # the form is checked with the span (COMPARE_WITH_RULE)
            other = (doc, cid)
            if other not in topics:
                problems.append((here, f"{ref!r} is not a claim of the gold (no claim {cid!r} in document {doc!r})"))
            elif other == key:
                problems.append((here, f"{ref!r} is the claim itself"))
            elif by_topic(key, other, topics):
                problems.append(
                    (here, f"{ref!r} is paired already: both claims have topic {topics[key]!r} (remove it)")
                )
            else:
                a, b = sorted((key, other), key=_ref)
                pairs[pair_id(*a, *b)] = (a, b)
    return Declarations(pairs, problems)


def topic_pairs(topics: Topics) -> Iterator[tuple[ClaimKey, ClaimKey]]:
    """Every pair by topic (``by_topic``), its two claims in pair-id order."""
    by: dict[str, list[ClaimKey]] = defaultdict(list)
    for key, topic in topics.items():
        if topic and topic not in CATCH_ALL_TOPICS:
            by[topic].append(key)
    for topic in sorted(by):
        for a, b in combinations(sorted(by[topic], key=_ref), 2):
            if a[0] != b[0]:
                yield a, b


def wanted_pairs(
    claims: Mapping[ClaimKey, Span], where: str, docs: Mapping[str, Document] | None = None
) -> dict[str, tuple[ClaimKey, ClaimKey]]:
    """The pairs that need a task: every pair by topic and every declared pair, by pair id (sorted); with
    ``docs``, no claim in page furniture (refused at build; a push, which lets it through so that it can be
    deleted, pairs it with none)."""
    if docs is not None:
        claims = {k: c for k, c in claims.items() if k[0] not in docs or not docs[k[0]].furniture_at(c.start, c.end)}
    out = {pair_id(*a, *b): (a, b) for a, b in topic_pairs(topics_of(claims))}
    out |= declarations(claims, where).pairs
    return dict(sorted(out.items()))


def stale_pairs(tasks: Iterable[PairTask], topics: Topics, declared: Mapping[str, object]) -> dict[str, str]:
    """Why each pair task (by pair id, sorted) is stale: neither topic nor declaration allows its pair. A
    pair of two claims of one (non catch-all) topic in one document is allowed, kept where the article
    contradicts itself. Pairs naming an unknown claim are left out (reported elsewhere)."""
    out = {}
    for t in tasks:
        pid, a, b = t.data["pair_id"], (t.data["a_doc"], t.data["a_claim"]), (t.data["b_doc"], t.data["b_claim"])
        if a not in topics or b not in topics or pid in declared:
            continue
        ta, tb = topics[a], topics[b]
        if a != b and ta == tb and ta not in CATCH_ALL_TOPICS:  # by topic, or within one document
            continue
        if ta == tb and ta in CATCH_ALL_TOPICS:
            why = f"both claims have the catch-all topic {ta!r}, which pairs only declared claims"
        elif ta != tb:
            why = f"its claims have different topics ({ta!r}, {tb!r}) and neither declares the other in compare_with"
        else:
            why = "a pair of a claim with itself"
        out[pid] = why
    return dict(sorted(out.items()))


def missing_pair_tasks(
    tasks: Iterable[PairTask],
    claims: Mapping[ClaimKey, Span],
    where: str,
    docs: Mapping[str, Document] | None = None,
) -> list[PairTask]:
    """New, unlabelled tasks for the pairs of the pair set that have none yet (what ``push`` creates);
    ``docs``: the documents, whose page furniture no claim of a new pair may be in."""
    have = {t.data["pair_id"] for t in tasks}
    out = []
    for pid, (a, b) in wanted_pairs(claims, where, docs).items():
        if pid not in have:
            data = {"pair_id": pid}
            for side, (doc, cid) in (("a", a), ("b", b)):
                data |= {f"{side}_doc": doc, f"{side}_claim": cid, f"{side}_text": claims[(doc, cid)].text}
            out.append(PairTask(data, [], f"new pair {pid}"))
    return out


STALE_ADVICE = (
    "declare the pair in a claim's compare_with, or drop these pair tasks and their labels with"
    " `crossclaim build --drop-stale-pairs` (each dropped pair is printed, for the changelog)"
)


# ---------------------------------------------------------------------------------------------
# the claim graph: claims as nodes, pairs as edges


def claim_graph(ends: Sequence[tuple[ClaimKey, ClaimKey]]) -> tuple[np.ndarray, list[ClaimKey]]:
    """(pairs, 2): each pair's two claims as indices into the claims of ``ends`` in (document, id)
    order, and those claims."""
    claims = sorted({c for end in ends for c in end})
    index = {c: k for k, c in enumerate(claims)}
    pair_claims = np.array([[index[a], index[b]] for a, b in ends], dtype=np.int64).reshape(len(ends), 2)
    return pair_claims, claims


def claim_groups(pair_claims: np.ndarray) -> np.ndarray:
    """(pairs,): the connected group of the claim graph (claims as nodes, pairs as edges) of every pair.

    Two pairs are in one group when a chain of shared claims links them: the smallest sets of pairs
    that share nothing with the rest. The leaderboard's paired test swaps them as its exchangeable
    units; the card counts those of the CONTRADICTS pairs as the distinct discrepancies behind them.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = int(pair_claims.max()) + 1 if pair_claims.size else 0
    graph = coo_matrix((np.ones(len(pair_claims)), (pair_claims[:, 0], pair_claims[:, 1])), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    return label[pair_claims[:, 0]]


@dataclass(frozen=True)
class Discrepancies:
    """What stands behind a set of pairs (the CONTRADICTS pairs of a split): how many pairs, how many
    distinct claims they join, and how many connected groups of claims they form (``claim_groups``):
    pairs of one group share a claim, directly or through others, so they are not independent."""

    pairs: int
    claims: int
    groups: int


def discrepancies(ends: Sequence[tuple[ClaimKey, ClaimKey]]) -> Discrepancies:
    """Pairs, distinct claims and connected groups of claims of the pairs ``ends`` (their two claims each)."""
    if not ends:
        return Discrepancies(0, 0, 0)
    pair_claims, claims = claim_graph(ends)
    return Discrepancies(len(ends), len(claims), len(np.unique(claim_groups(pair_claims))))
