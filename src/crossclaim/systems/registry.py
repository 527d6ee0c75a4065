"""Finding systems by name: the built-in baselines and plug-ins under the ``crossclaim.systems`` entry point.

Plug-ins register a factory::

    [project.entry-points."crossclaim.systems"]
    my-system = "my_package.module:MySystem"
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import entry_points

from crossclaim.errors import InputError
from crossclaim.systems.base import System

ENTRY_POINT_GROUP = "crossclaim.systems"

# Built-in baselines, imported only when run (spaCy is slow to import and optional).
BUILTIN: dict[str, str] = {
    "regex": "crossclaim.baselines.regex:RegexSystem",
    "crf": "crossclaim.baselines.crf:CrfSystem",
    "spacy-sm": "crossclaim.baselines.spacy_sm:SpacySmSystem",
    "sentence-logreg": "crossclaim.baselines.sentence_logreg:SentenceLogregSystem",
    "spacy-sm-ft": "crossclaim.baselines.spacy_sm_ft:SpacySmFtSystem",
    "minilm": "crossclaim.baselines.minilm:MiniLMSystem",
}


# ---------------------------------------------------------------------------------------------
# registry


def _load(target: str) -> object:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def _plugins() -> dict[str, Callable[[], object]]:
    return {ep.name: ep.load for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)}


def system_names() -> list[str]:
    """Built-in baselines first (in their fixed order), then plug-ins by name."""
    return list(BUILTIN) + [n for n in _plugins() if n not in BUILTIN]


def make_system(name: str) -> System:
    """Instantiate a system by name; a plug-in may not shadow a built-in baseline."""
    plugins = _plugins()
    if name in BUILTIN:
        if name in plugins:
            raise InputError(f"entry point {name!r} ({ENTRY_POINT_GROUP})", "shadows a built-in baseline; rename it")
        factory = _load(BUILTIN[name])
    elif name in plugins:
        try:
            factory = plugins[name]()
        except Exception as exc:  # a broken plug-in is bad input, not a crash
            raise InputError(f"entry point {name!r} ({ENTRY_POINT_GROUP})", f"cannot be loaded: {exc}") from None
    else:
        raise InputError(f"system {name!r}", f"unknown (known: {', '.join(system_names())})")
    system = factory() if callable(factory) else factory
    if not callable(getattr(system, "predict", None)):
        raise InputError(f"system {name!r}", "its factory did not return an object with predict(docs, queries)")
    return system
