"""``LearnedSystem``: the base class of systems that train, owning training, caching and the cache key.

A trained model is cached (``crossclaim.systems.cache``) under a key of everything it depends on:
the system's name, its configuration, its training data in canonical form, the versions of the
libraries that train and run it, and the source of the code it is built from. The code is not a
hand-kept list of modules (one forgotten module and an edited rule would silently reuse a stale
model): it is every module of the project (``crossclaim.*``, the baselines included) that the
system's own module imports, followed transitively through the ``import`` statements of each
(``project_modules``), read from the files themselves.

This module imports ``crossclaim.systems.kernels`` on purpose: learned systems train in the child
process that module starts with pinned numeric kernels, so its code shapes every model's numbers,
and importing it puts it in the import closure of every learned system (each imports this module).

A subclass supplies only what differs: how to train (``train``), what the trained model sets on the
system (``use``), the libraries it depends on (``libraries``), and where needed its configuration,
the view of the training data it learns from, how to save and load a model (a pickle by default)
and what it prepares before training (``prepare``: state that is not part of the cached model).
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import pickle
from abc import abstractmethod
from pathlib import Path
from typing import Generic, TypeVar

from crossclaim.systems import kernels
from crossclaim.systems.base import System, TrainingSet
from crossclaim.systems.cache import cache_key, cached_dir, library_versions

M = TypeVar("M")

PROJECT = "crossclaim"
RUNNER = kernels.__name__  # the code learned systems run under (see the module docstring)
PICKLE = "model.pickle"


def module_source(name: str) -> bytes:
    """The source of a project module, as a cache key hashes it (tests replace it to edit a module)."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        raise ModuleNotFoundError(f"no Python source for module {name}")
    return Path(spec.origin).read_bytes()


def _is_module(name: str) -> bool:
    """Whether ``name`` is a module (a package's submodule), not an attribute of a module."""
    parent = importlib.util.find_spec(name.rpartition(".")[0])
    return parent is not None and parent.submodule_search_locations is not None and _has_spec(name)


def _has_spec(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def _in_project(name: str) -> bool:
    return name == PROJECT or name.startswith(PROJECT + ".")


def imported_modules(name: str) -> set[str]:
    """The project modules that the ``import`` statements of module ``name`` name, wherever they are
    (functions included), relative imports resolved. ``from package import x`` names the submodule
    ``package.x`` when there is one, else ``package`` itself (where ``x`` is defined)."""
    spec = importlib.util.find_spec(name)
    package = name if spec is not None and spec.submodule_search_locations is not None else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(module_source(name), filename=name)):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names if _in_project(alias.name)}
        elif isinstance(node, ast.ImportFrom):
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            if not _in_project(base):
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                out.add(sub if alias.name != "*" and _is_module(sub) else base)
    return out


def project_modules(name: str) -> list[str]:
    """Module ``name`` and every project module it imports, transitively, sorted (a stable order)."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo += sorted(imported_modules(current) - seen)
    return sorted(seen)


def code_digest(modules: list[str]) -> str:
    """A digest of the names and sources of ``modules``: editing any of them gives a new key."""
    h = hashlib.sha256()
    for name in modules:
        h.update(name.encode() + b"\0" + module_source(name) + b"\0")
    return h.hexdigest()


class LearnedSystem(System, Generic[M]):
    """A system that learns a model of type ``M`` from the training set, cached under a derived key."""

    learned = True
    libraries: tuple[str, ...] = ()  # distributions whose versions are part of the key
    cache: Path | None = None  # the cache root; None: the default (``cache_root``)

    @abstractmethod
    def train(self, train: TrainingSet) -> M:
        """Train a model (only called when the cache has none for the key)."""

    @abstractmethod
    def use(self, model: M) -> None:
        """Set a trained (or cached) model on the system, ready to predict."""

    def prepare(self, train: TrainingSet) -> None:  # noqa: B027  (most systems need nothing)
        """Before the key and training: checks, and state taken from the training set that is not cached."""

    def configuration(self) -> object:
        """Settings that change the model (part of the key)."""
        return None

    def training_data(self, train: TrainingSet) -> object:
        """What the model learns from, in a canonical form (part of the key); by default all of it."""
        return train

    def versions(self) -> dict[str, str]:
        """Versions of what the model depends on outside the project (part of the key)."""
        return library_versions(*self.libraries)

    def code(self) -> list[str]:
        """The project modules the system is built from: its module and all it imports, transitively."""
        return project_modules(type(self).__module__)

    def key(self, train: TrainingSet) -> str:
        """The cache key of the model ``fit`` would train on ``train``."""
        return cache_key(
            self.name, self.configuration(), self.training_data(train), self.versions(), code_digest(self.code())
        )

    def save(self, model: M, directory: Path) -> None:
        """Write a trained model into an empty directory of the cache (a pickle unless overridden)."""
        (directory / PICKLE).write_bytes(pickle.dumps(model, protocol=5))

    def load(self, directory: Path) -> M:
        """Read a model back; only ever what ``save`` wrote into this cache (pickles are code)."""
        return pickle.loads((directory / PICKLE).read_bytes())

    def fit(self, train: TrainingSet) -> None:
        """Train (or load from the model cache) the model: the model always comes from the cache."""
        self.prepare(train)
        path = cached_dir(self.name, self.key(train), lambda out: self.save(self.train(train), out), self.cache)
        self.use(self.load(path))
