"""The input → output examples in the docstrings of the source-handling modules hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["qa.sources.readers.text", "qa.sources.readers.html", "qa.sources.readers.pdf", "qa.sources.metadata", "qa.http.uploads"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
