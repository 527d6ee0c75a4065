"""The learned systems' cache key follows the code they import, found from the code itself."""

from __future__ import annotations

import pytest
from crossclaim.baselines.crf import CrfSystem
from crossclaim.baselines.minilm import MiniLMSystem
from crossclaim.baselines.sentence_logreg import SentenceLogregSystem
from crossclaim.baselines.spacy_sm_ft import SpacySmFtSystem

from crossclaim.systems import learned
from crossclaim.systems.base import TrainingSet
from crossclaim.systems.learned import LearnedSystem, imported_modules, project_modules

COMMON = {"crossclaim.systems.base", "crossclaim.systems.learned", "crossclaim.systems.kernels", "crossclaim.text"}
# each learned baseline, and project modules it imports (directly or not) that its model depends on
IMPORTS: dict[type[LearnedSystem], set[str]] = {
    CrfSystem: {"crossclaim.baselines.figures", "crossclaim.baselines.regex", "crossclaim.schema.tags"},
    MiniLMSystem: {"crossclaim.baselines.figures", "crossclaim.baselines.regex", "crossclaim.schema.scheme"},
    SentenceLogregSystem: {"crossclaim.formats.predictions"},
    SpacySmFtSystem: {"crossclaim.baselines.spacy_sm", "crossclaim.baselines.figures", "crossclaim.schema.tags"},
}


@pytest.mark.parametrize("cls", list(IMPORTS), ids=lambda c: c.name)
def test_the_code_of_a_learned_system_is_every_project_module_it_imports(cls: type[LearnedSystem]) -> None:
    code = cls().code()
    assert code == sorted(code) and code == project_modules(cls.__module__)  # deterministic
    assert {cls.__module__} | COMMON | IMPORTS[cls] <= set(code)
    assert all(m == "crossclaim" or m.startswith("crossclaim.") for m in code)  # no library is read
    assert "crossclaim.cli" not in code and "crossclaim.leaderboard" not in code  # only what it imports


def test_imports_resolve_relative_and_submodule_forms() -> None:
    # ``from .figures import X`` (relative, an attribute) and ``from crossclaim.systems import kernels``
    # (a submodule named in a from-import) are both followed
    assert "crossclaim.baselines.figures" in imported_modules("crossclaim.baselines.spacy_sm")
    assert "crossclaim.systems.kernels" in imported_modules("crossclaim.systems.learned")
    assert "crossclaim.systems" not in imported_modules("crossclaim.systems.learned")


@pytest.mark.parametrize("cls", list(IMPORTS), ids=lambda c: c.name)
def test_editing_any_imported_module_changes_the_key(cls: type[LearnedSystem], monkeypatch) -> None:
    system = cls()
    train = TrainingSet([], {})
    before = system.key(train)
    assert system.key(train) == before
    read = learned.module_source
    for edited in sorted(IMPORTS[cls] | {"crossclaim.systems.kernels"}):
        monkeypatch.setattr(
            learned, "module_source", lambda n, e=edited: read(n) + (b"\n# edited\n" if n == e else b"")
        )
        assert system.key(train) != before, edited
    monkeypatch.setattr(learned, "module_source", read)
    assert system.key(train) == before


def test_the_key_follows_the_configuration() -> None:
    train = TrainingSet([], {})
    assert CrfSystem().key(train) == CrfSystem().key(train)
    assert CrfSystem(c1=0.1).key(train) != CrfSystem().key(train)
