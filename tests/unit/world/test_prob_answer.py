"""The world suite's continuous score: the reference answer's per-token probability (``prob_answer``)."""

from __future__ import annotations

import math

import pytest

from mixlab.data.example import Message
from mixlab.eval.lm import LoglikelihoodRequest
from mixlab.world.model import SHIPPED
from mixlab.world.suites import eval_items, world_suite


@pytest.fixture(scope="module")
def lm():
    from mixlab.eval.backends import load_lm

    return load_lm(str(SHIPPED), backend="transformers", progress=False)


def test_prob_answer_is_the_reference_answers_per_token_probability(lm):
    task = next(t for t in world_suite(limit=4, prob_answer=True) if t.ability == "topic")
    result = task.evaluate(lm, limit=4)
    probs = [r["prob_answer"] for r in result.items]
    assert len(probs) == 4 and all(0 < p <= 1 for p in probs)
    assert result.metrics["prob_answer"].value == pytest.approx(sum(probs) / 4)
    item = eval_items("topic")[0]
    [ll] = lm.loglikelihood([LoglikelihoodRequest((Message("user", item.prompt),), item.answer)])
    assert probs[0] == pytest.approx(math.exp(ll.logprob / ll.n_tokens))
    assert result.primary == "accuracy"  # the pass/fail accuracy stays the task's metric


def test_prob_answer_is_off_unless_asked(lm):
    task = world_suite(limit=2)[0]
    result = task.evaluate(lm, limit=2)
    assert "prob_answer" not in result.metrics and "prob_answer" not in result.items[0]


def test_a_backend_without_log_likelihoods_is_counted_not_fatal(lm):
    class GenerateOnly:  # a backend that generates but cannot score (a chat-only server)
        def identity(self):
            return lm.identity()

        def generate(self, requests):
            return lm.generate(requests)

        def loglikelihood(self, requests):
            raise NotImplementedError("chat endpoint: no log-likelihoods")

    task = world_suite(limit=3, prob_answer=True)[0]
    result = task.evaluate(GenerateOnly(), limit=3)
    assert result.counts["prob_answer_unavailable"] == 3
    assert "prob_answer" not in result.metrics and "accuracy" in result.metrics
