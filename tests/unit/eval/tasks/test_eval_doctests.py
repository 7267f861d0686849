"""The worked examples in the docstrings of the evaluation modules run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "mixlab.eval.backends", "mixlab.eval.backends.batching", "mixlab.eval.backends.templates",
    "mixlab.eval.backends.dummy", "mixlab.eval.backends.identity", "mixlab.eval.lm_cache", "mixlab.eval.stats",
    "mixlab.eval.lm", "mixlab.eval.tasks.sampling", "mixlab.eval.tasks.generation", "mixlab.eval.tasks.gsm8k",
    "mixlab.eval.tasks.bbh", "mixlab.eval.tasks.multiple_choice", "mixlab.eval.cli",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def test_ability_rows_average_primary_metrics_per_ability():
    from mixlab.eval.run import ability_rows

    base = {"model": "m", "instruction_type": "nlp", "n_items": 100, "chance": 0.25, "template": "none"}
    rows = [
        {**base, "ability": "logical_reasoning", "task": "a", "metric": "exact_match", "value": 0.5, "stderr": 0.1,
         "primary": True},
        {**base, "ability": "logical_reasoning", "task": "b", "metric": "exact_match", "value": 0.7, "stderr": 0.1,
         "primary": True},
        {**base, "ability": "logical_reasoning", "task": "b", "metric": "other", "value": 0.0, "stderr": 0.0,
         "primary": False},
        {**base, "ability": "chat", "task": "j", "metric": "score_1_10", "value": 6.0, "stderr": 0.5, "primary": True},
    ]
    out = {r["ability"]: r for r in ability_rows(rows)}
    assert out["logical_reasoning"]["value"] == pytest.approx(0.6) and out["logical_reasoning"]["n_tasks"] == 2
    assert out["logical_reasoning"]["stderr"] == pytest.approx(0.0707107, abs=1e-6)
    assert out["logical_reasoning"]["ci_low"] == pytest.approx(0.6 - 1.96 * 0.0707107, abs=1e-6)
    assert out["chat"]["metric"] == "score_1_10" and out["chat"]["value"] == 6.0
