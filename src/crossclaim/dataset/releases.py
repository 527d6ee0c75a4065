"""Releases: which version published which gold, so that no version is skipped.

``annotations/releases.json`` records each release's version and the digests of the gold it published.
Only ``crossclaim release VERSION`` writes it: for a version greater than the last, named by the
changelog's newest entry, and only when ``dataset/`` is what ``crossclaim build`` makes now. ``build`` and
``studio pull`` warn when ``dataset/`` publishes other gold under the last release's version.

**The published gold**, read back from ``dataset/``'s data files: per document the sha256 of its
``documents`` row with its split, per split the sha256 of its ``claim_pairs`` rows in pair-id order. A row
is digested as canonical JSON (keys sorted, class labels by name, null or empty values left out, so an
empty new column changes nothing), without ``PROCESS_FIELDS`` (how the gold was made, not what it is).
The ``tokens`` config is not recorded: a tokenizer change is not a change of gold.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from itertools import groupby, pairwise
from operator import itemgetter
from pathlib import Path
from typing import Annotated

import msgspec
import pyarrow.parquet as pq
from datasets import ClassLabel, List

from crossclaim.dataset.build import stage
from crossclaim.dataset.card import CHANGELOG_FILE, release_of
from crossclaim.dataset.changes import delta, listed
from crossclaim.dataset.tables import features
from crossclaim.errors import InputError, Problems, shown
from crossclaim.files import transaction, write_text_atomic
from crossclaim.formats.jsonio import read_json

RELEASES = Path("annotations/releases.json")
CHANGELOG = Path("annotations") / CHANGELOG_FILE
DATASET = Path("dataset")
PROCESS_FIELDS = frozenset({"annotator", "lead_time", "task_meta"})
_VERSION = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")
_SHA256 = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")]


def version_key(version: str) -> tuple[int, int, int] | None:
    """``X.Y.Z`` as numbers, for ordering (None when it is not of that form)."""
    m = _VERSION.fullmatch(version)
    return (int(m[1]), int(m[2]), int(m[3])) if m else None


class GoldDigests(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The digests of a published gold: per document its row's, per split its claim pairs'."""

    documents: dict[str, _SHA256]
    claim_pairs: dict[str, _SHA256]

    def differences(self, newer: GoldDigests) -> list[str]:
        """What ``newer`` changes, in words (documents added, changed or removed; the splits whose pairs changed)."""
        out = [f"documents {how} {listed(ids)}" for how, ids in delta(self.documents, newer.documents).kinds()]
        splits = sorted(k for _, ids in delta(self.claim_pairs, newer.claim_pairs).kinds() for k in ids)
        return out + ([f"claim pairs of {listed(splits)} changed"] if splits else [])


class ReleaseRecord(GoldDigests, frozen=True, forbid_unknown_fields=True):
    """One entry of the release record (``releases.json`` is ``{"releases": [entry, ...]}``), its types checked
    by msgspec when read."""

    version: str


# ---------------------------------------------------------------------------------------------
# the published gold, read back from dataset/


def published_gold(dataset: Path) -> GoldDigests:
    """The digests of the gold ``dataset`` publishes (see the module docstring)."""
    documents = {row["id"]: _digest({**row, "split": split}) for split, row in _rows(dataset, "documents")}
    by_split = groupby(_rows(dataset, "claim_pairs"), key=itemgetter(0))  # files, so splits, in name order
    claim_pairs = {split: _digest(sorted((r for _, r in rows), key=itemgetter("id"))) for split, rows in by_split}
    return GoldDigests(dict(sorted(documents.items())), claim_pairs)


def _rows(dataset: Path, config: str) -> Iterator[tuple[str, dict]]:
    """Every row of a config's data files with its split (the file name's prefix), class labels by name,
    a null or empty value left out, the process fields dropped."""
    feats = features(config)
    for path in sorted((dataset / config).glob("*.parquet")):
        for batch in pq.ParquetFile(path).iter_batches():
            for row in batch.to_pylist():
                yield path.name.split("-", 1)[0], _canonical({k: row[k] for k in row.keys() - PROCESS_FIELDS}, feats)


def _canonical(value: object, feature: object) -> object:
    """A value as digested: class labels by name (a label's number depends on the schema's order), null
    and empty values left out (None), so that a column or attribute that holds nothing counts as absent."""
    if value is None:
        return None
    if isinstance(feature, ClassLabel) and isinstance(value, int):
        return feature.names[value]
    if isinstance(value, list):
        inner = feature.feature if isinstance(feature, List) else None
        return [_canonical(v, inner) for v in value] or None
    if isinstance(value, dict):
        fields = feature if isinstance(feature, dict) else {}
        return {k: c for k, v in value.items() if (c := _canonical(v, fields.get(k))) is not None} or None
    return value


def _digest(value: object) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------------
# the record


class _Record(msgspec.Struct, forbid_unknown_fields=True):
    releases: list[ReleaseRecord]


def read_releases(root: Path) -> list[ReleaseRecord]:
    """The release record, oldest first (none when there is no record yet)."""
    path = root / RELEASES
    if not path.is_file():
        return []
    try:
        out = msgspec.convert(read_json(path, unique_keys=True), _Record).releases
    except msgspec.ValidationError as exc:
        what, sep, at = str(exc).rpartition(" - at ")  # a quoted key may hold " - at "
        if not sep:
            what, at = at, ""
        if not what.isprintable():  # a key with a line break: one line still
            what = shown(what)
        form = '{"releases": [{"version": "X.Y.Z", "documents": {id: sha256}, "claim_pairs": {split: sha256}}]}'
        raise InputError(f"{path}, {at}" if at else str(path), f"{what} (the record is {form})") from None
    problems = Problems()
    for n, (before, r) in enumerate(pairwise([None, *out])):  # numbered as msgspec's path numbers them
        if version_key(r.version) is None:
            problems.add(f"{path}, `$.releases[{n}].version`", f"{shown(r.version)} is not a version X.Y.Z")
        elif before and version_key(before.version) and version_key(r.version) <= version_key(before.version):
            problems.add(f"{path}, `$.releases[{n}]`", f"{r.version} does not follow {before.version}: oldest go first")
    InputError.collect(problems)
    return out


def releases_json(releases: list[ReleaseRecord]) -> str:
    """The record as committed: oldest release first, keys sorted, no timestamps."""
    record = msgspec.to_builtins(_Record(releases))
    return json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def dataset_version(root: Path) -> str:
    """The version ``dataset/`` is built as: the newest entry of the changelog (as the card says)."""
    path = root / CHANGELOG
    return release_of(path.read_text(encoding="utf-8") if path.is_file() else None).version


# ---------------------------------------------------------------------------------------------
# the check of build and pull, and the release itself


def unreleased_change(root: Path, releases: list[ReleaseRecord]) -> str | None:
    """One line when ``dataset/`` publishes gold other than the last release's under the same version (or
    a version older than the last release); None when it is that release's gold, when the version is
    newer (a release to come), or when nothing was ever released. ``releases``: the record, read before
    the command's work, so that a bad record is refused before anything is written."""
    if not releases:
        return None
    last, version = releases[-1], dataset_version(root)
    key = version_key(version)
    if key is not None and key > version_key(last.version):
        return None
    if key is not None and key < version_key(last.version):
        return (
            f"dataset/ is built as version {version} ({CHANGELOG.as_posix()}), older than the last release "
            f"{last.version} ({RELEASES.as_posix()}): a version is never published twice"
        )
    changed = last.differences(published_gold(root / DATASET))
    if not changed:
        return None
    return (
        f"dataset/ publishes gold that differs from release {last.version} ({RELEASES.as_posix()}: "
        f"{'; '.join(changed)}) but is still version {version}: add a changelog entry for a new version "
        f"({CHANGELOG.as_posix()}; `crossclaim diff` lists the gold's changes), build, then "
        "`crossclaim release VERSION`"
    )


def release(root: Path, version: str, gold_annotator: str | None = None) -> ReleaseRecord:
    """Record ``version`` as released with the gold ``dataset/`` publishes. Refused (nothing written) unless
    it is ``X.Y.Z``, above the last release and the changelog's newest entry, and ``annotations/`` build into
    exactly the committed ``dataset/`` and generated docs (a build into a stage thrown away, under the build
    lock the record is written under)."""
    if version_key(version) is None:
        raise InputError("VERSION", f"{version!r} is not a version X.Y.Z (e.g. 1.2.0)")
    releases = read_releases(root)
    if releases and version_key(version) <= version_key(releases[-1].version):
        raise InputError(
            str(root / RELEASES),
            f"version {version} is not greater than the last release {releases[-1].version}: "
            "a released version is never rewritten or gone back to",
        )
    newest = dataset_version(root)
    if newest != version:
        raise InputError(
            str(root / CHANGELOG),
            f"its newest entry is {newest}, not {version}: add a `## {version} (YYYY-MM-DD)` entry listing the "
            "changes (`crossclaim diff` lists the gold's), build, then release",
        )
    with transaction(root) as out:
        stage(root, out, gold_annotator=gold_annotator)
        stale = out.changed()
        out.abandon()
        if stale:
            raise InputError(
                str(root / stale[0]),
                f"is not what `crossclaim build` makes of annotations/ now ({listed(stale)} differ): "
                "build (and commit) first, then release",
            )
        gold = published_gold(root / DATASET)
        if not gold.documents:
            raise InputError(str(root / DATASET), "publishes no document: nothing to release")
        made = ReleaseRecord(gold.documents, gold.claim_pairs, version)
        write_text_atomic(root / RELEASES, releases_json([*releases, made]))
    return made
