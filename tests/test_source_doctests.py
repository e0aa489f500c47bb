"""The input → output examples in the docstrings of the source-handling modules hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["qa.readers.text", "qa.readers.html", "qa.readers.pdf", "qa.metadata", "qa.uploads"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
