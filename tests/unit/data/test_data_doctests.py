"""The worked examples in the data layer's docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["mixlab.data.formats", "mixlab.data.formats.dolly", "mixlab.data.formats.gsm8k", "mixlab.data.rationale"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
