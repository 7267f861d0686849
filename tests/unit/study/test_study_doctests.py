"""The worked examples in the study layer's docstrings run and give the numbers they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["mixlab.study.spec", "mixlab.study.cost"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
