"""The worked examples in the docstrings of the analysis modules (and the typed options) run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "mixlab.analysis.inference", "mixlab.analysis.scores", "mixlab.analysis.table", "mixlab.analysis.effects",
    "mixlab.analysis.plan", "mixlab.analysis.replication", "mixlab.analysis.simulate", "mixlab.eval.options",
    "mixlab.eval.task", "mixlab.eval.suites", "mixlab.study.fingerprint",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
