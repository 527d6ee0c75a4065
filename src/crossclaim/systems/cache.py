"""A cache of learned models outside the committed tree, for any learned system.

A model is a directory, found under a key that hashes everything it depends on: its training data,
its configuration, the versions of the libraries that train and run it and the source of its code
(``cache_key``; ``crossclaim.systems.learned`` says what goes into a learned system's key). A
changed input gives a new key, never a stale model, so nothing is ever invalidated by hand.
``cached_dir`` builds a missing entry in a temporary directory beside it and renames it into place
(atomic): a killed run leaves no half-written model, and two processes building the same key at
once both end with one complete copy.

The cache lives in ``$CROSSCLAIM_CACHE`` if set, else in the user cache directory
(``$XDG_CACHE_HOME/crossclaim``, by default ``~/.cache/crossclaim``). Deleting it only costs time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pickle
import shutil
import tempfile
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

ENV = "CROSSCLAIM_CACHE"
KEY_VERSION = 1  # bump when the way keys are computed changes


def cache_root() -> Path:
    """Where models are cached: ``$CROSSCLAIM_CACHE``, else the user cache directory."""
    explicit = os.environ.get(ENV)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "crossclaim"


def _plain(obj: object) -> object:
    """JSON form of what goes into a key: dataclasses as dicts, sets sorted, paths as text."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=lambda x: json.dumps(x, sort_keys=True, default=_plain))
    if isinstance(obj, (Path, bytes)):
        return str(obj) if isinstance(obj, Path) else obj.hex()
    if hasattr(obj, "items"):  # read-only mappings (a span's attributes)
        return dict(obj.items())
    raise TypeError(f"cannot hash a {type(obj).__name__} into a cache key")


def cache_key(*parts: object) -> str:
    """A hex digest of ``parts`` (JSON-like values, dataclasses, sets) in canonical JSON."""
    text = json.dumps([KEY_VERSION, *parts], sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_plain)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def library_versions(*distributions: str) -> dict[str, str]:
    """Installed versions of the distributions a model depends on (absent ones as ``none``)."""
    out = {}
    for name in distributions:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "none"
    return out


def cached_dir(kind: str, key: str, build: Callable[[Path], None], root: Path | None = None) -> Path:
    """The directory of ``kind``/``key``, built by ``build(empty_dir)`` if it is not cached yet."""
    parent = (root or cache_root()) / kind
    target = parent / key
    if target.is_dir():
        return target
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{key[:16]}-"))
    try:
        build(tmp)
        try:
            os.rename(tmp, target)
        except OSError:
            if not target.is_dir():  # not another process finishing the same entry first
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def cached_object(kind: str, key: str, make: Callable[[], T], root: Path | None = None) -> T:
    """A picklable model (scikit-learn, CRFsuite) from the cache, made and stored if missing.

    Only ever reads what this cache wrote (pickles are code: never point the cache at files of others).
    """
    path = cached_dir(kind, key, lambda out: (out / "model.pickle").write_bytes(pickle.dumps(make(), protocol=5)), root)
    return pickle.loads((path / "model.pickle").read_bytes())
