"""The examples in docstrings are run: a rule's example is part of its statement."""

import doctest

import pytest

from crossclaim import text
from crossclaim.schema import tags


@pytest.mark.parametrize("module", [text, tags])
def test_docstring_examples_hold(module) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
