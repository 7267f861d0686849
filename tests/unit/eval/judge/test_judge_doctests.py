"""The worked examples in the judge and ifeval docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "mixlab.eval.judge.verdicts", "mixlab.eval.judge.engine", "mixlab.eval.judge.pairwise",
    "mixlab.eval.judge.length_control", "mixlab.eval.judge.prompts", "mixlab.eval.judge.grading",
    "mixlab.eval.judge.answers", "mixlab.eval.judge.options", "mixlab.eval.judge.flask", "mixlab.eval.judge.cli",
    "mixlab.eval.ifeval", "mixlab.eval.ifeval.checks", "mixlab.eval.ifeval.text", "mixlab.eval.ifeval.language",
    "mixlab.eval.ifeval.verify", "mixlab.eval.ifeval.ifeval_ids", "mixlab.eval.ifeval.builtin",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
