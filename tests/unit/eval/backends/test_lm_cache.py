"""The model-call cache: re-runs hit, keys hold everything that changes an answer, a crashed run resumes."""

from __future__ import annotations

import dataclasses

import pytest

from mixlab.eval.backends.dummy import DummyLM
from mixlab.eval.lm import GenerationRequest as GR
from mixlab.eval.lm import LoglikelihoodRequest as LR
from mixlab.eval.lm_cache import CachedLM

REQS = [LR(f"Question {i}\nAnswer:", f" {c}") for i in range(30) for c in ("yes", "no")]


def test_second_run_is_answered_from_the_cache_file(tmp_path):
    path = tmp_path / "cache.sqlite"
    first_lm = DummyLM()
    first = CachedLM(first_lm, path).loglikelihood(REQS)
    again_lm = DummyLM()
    cached = CachedLM(again_lm, path)
    assert cached.loglikelihood(REQS) == first
    assert again_lm.requests_seen == 0 and cached.stats == {"hits": 60, "misses": 0}


def test_duplicate_requests_are_computed_once(tmp_path):
    inner = DummyLM(replies={"hi": "hello"})
    out = CachedLM(inner, tmp_path / "c.sqlite").generate([GR("hi")] * 5)
    assert out == [["hello"]] * 5 and inner.requests_seen == 1


def test_keys_hold_the_request_parameters(tmp_path):
    inner = DummyLM(replies={"hi": "hello there"})
    lm = CachedLM(inner, tmp_path / "c.sqlite")
    lm.generate([GR("hi", max_new_tokens=8)])
    for changed in (GR("hi", max_new_tokens=9), GR("hi", max_new_tokens=8, stop=(" ",)), GR("hi", temperature=0.7),
                    GR("hi", seed=1), GR("hi", n=2)):
        before = inner.requests_seen
        lm.generate([changed])
        assert inner.requests_seen == before + 1, changed
    assert lm.generate([GR("hi", max_new_tokens=8, stop=(" ",))]) == [["hello"]]


class NamedLM(DummyLM):
    def __init__(self, **identity):
        super().__init__()
        self.extra = identity

    def identity(self):
        return {**super().identity(), **self.extra}


def test_model_identity_is_part_of_the_key_but_batch_size_is_not(tmp_path):
    path = tmp_path / "c.sqlite"
    CachedLM(NamedLM(template="chatml:sha:1", batch_size=8), path).loglikelihood(REQS[:4])
    same = NamedLM(template="chatml:sha:1", batch_size=64)
    CachedLM(same, path).loglikelihood(REQS[:4])
    assert same.requests_seen == 0
    for other in (NamedLM(template="none", batch_size=8), NamedLM(template="chatml:sha:1", weights="other")):
        CachedLM(other, path).loglikelihood(REQS[:4])
        assert other.requests_seen == 4


class CrashingLM(DummyLM):
    """Fails on its second call, like a process killed half way."""

    def loglikelihood(self, requests):
        if self.calls["loglikelihood"] >= 1:
            raise KeyboardInterrupt
        return super().loglikelihood(requests)


def test_a_crashed_run_resumes_with_only_the_missing_chunks(tmp_path):
    path = tmp_path / "c.sqlite"
    with pytest.raises(KeyboardInterrupt):
        CachedLM(CrashingLM(), path, chunk_size=16).loglikelihood(REQS)
    resumed_inner = DummyLM()
    resumed = CachedLM(resumed_inner, path, chunk_size=16)
    results = resumed.loglikelihood(REQS)
    assert resumed_inner.requests_seen == len(REQS) - 16 and resumed.stats["hits"] == 16
    assert results == DummyLM().loglikelihood(REQS)


def test_cached_real_model_scores_equal_uncached(tiny_lm, tmp_path):
    reqs = [LR("The sky is", " blue"), LR("The sky is", " green"), LR("", "Hello")]
    gens = [GR("Once upon a time", max_new_tokens=6), GR("Number 3 is", max_new_tokens=4, stop=("\n",))]
    direct_ll, direct_gen = tiny_lm.loglikelihood(reqs), tiny_lm.generate(gens)
    cached = CachedLM(tiny_lm, tmp_path / "c.sqlite")
    assert cached.loglikelihood(reqs) == direct_ll and cached.generate(gens) == direct_gen
    reopened = CachedLM(tiny_lm, tmp_path / "c.sqlite")
    assert reopened.loglikelihood(reqs) == direct_ll and reopened.generate(gens) == direct_gen
    assert reopened.stats == {"hits": 5, "misses": 0}
    assert len(reopened.store) == 5


def test_request_keys_are_stable_text(tmp_path):
    lm = CachedLM(DummyLM(), ":memory:")
    key = lm.request_key("generate", GR("hi"))
    assert key == lm.request_key("generate", dataclasses.replace(GR("hi")))
    assert len(key) == 64 and key != lm.request_key("loglikelihood", GR("hi"))
