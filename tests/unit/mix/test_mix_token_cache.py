"""Tokenize once, compose many: caches keyed by content + tokenizer, mixtures read back without re-tokenizing."""

from __future__ import annotations

import numpy as np
import pytest
from mix_helpers import make_tokenizer

from mixlab.mix import token_cache as cache_mod
from mixlab.mix.build import build_mixture
from mixlab.mix.spec import MixtureSpec
from mixlab.mix.token_cache import gather, load_mixture_tokens


@pytest.fixture
def count_encodes(monkeypatch):
    """Count the examples the token cache asks the response-only encoder to tokenize."""
    calls = {"examples": 0}
    real = cache_mod.encode_examples

    def counting(examples, *a, **kw):
        calls["examples"] += len(examples)
        return real(examples, *a, **kw)

    monkeypatch.setattr(cache_mod, "encode_examples", counting)
    return calls


def spec(data_dir, **amounts) -> MixtureSpec:
    return MixtureSpec.model_validate({
        "sources": [{"name": n, "path": f"{n}.json", **a} for n, a in amounts.items()],
        "base_dir": str(data_dir), "max_length": 256})


def test_each_source_is_tokenized_once_and_new_ratios_cost_nothing(tmp_path, data_dir, tiny_tokenizer, count_encodes):
    kw = {"tokenizer": tiny_tokenizer, "cache_dir": tmp_path / "cache", "verbose": False}
    build_mixture(spec(data_dir, a={"count": 5}, b={"count": 5}), tmp_path / "m1", **kw)
    assert count_encodes["examples"] == 40 + 25  # whole sources, once
    build_mixture(spec(data_dir, a={"fraction": 0.9}, b={"epochs": 2.0}), tmp_path / "m2", **kw)
    build_mixture(spec(data_dir, a={"count": 1}), tmp_path / "m3", **kw)
    assert count_encodes["examples"] == 65  # new ratios, amounts and subsets: no tokenization
    assert len(list((tmp_path / "cache").iterdir())) == 2


def test_a_different_tokenizer_never_reuses_a_cache(tmp_path, data_dir, tiny_tokenizer):
    other = make_tokenizer(300)  # a different vocabulary: same name, same template, other ids
    kw = {"cache_dir": tmp_path / "cache", "verbose": False}
    build_mixture(spec(data_dir, a={"count": 3}), tmp_path / "m1", tokenizer=tiny_tokenizer, **kw)
    build_mixture(spec(data_dir, a={"count": 3}), tmp_path / "m2", tokenizer=other, **kw)
    build_mixture(spec(data_dir, a={"count": 3}), tmp_path / "m3", tokenizer=tiny_tokenizer, template="chatml", **kw)
    keys = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert len(keys) == 3  # tokenizer fingerprint and template are both in the key


def test_mixture_tokens_equal_direct_encoding_of_its_rows(tmp_path, data_dir, tiny_tokenizer):
    from mixlab.data.load import load_source
    from mixlab.data.tokenize import encode_examples

    m = build_mixture(spec(data_dir, a={"count": 7}, c={"epochs": 1.5}), tmp_path / "mix",
                      tokenizer=tiny_tokenizer, cache_dir=tmp_path / "cache", verbose=False)
    tokens = load_mixture_tokens(tmp_path / "mix", tiny_tokenizer, cache_dir=tmp_path / "cache")
    rows = load_source(tmp_path / "mix" / "train.jsonl", format="messages").examples
    direct = encode_examples(rows, tiny_tokenizer, max_length=256)
    assert len(tokens) == len(direct) == 22 and tokens.tokenized_now == ()
    for i, d in enumerate(direct):
        got = tokens[i]
        assert np.array_equal(got.input_ids, d.input_ids) and np.array_equal(got.labels, d.labels)
        assert got.source == rows[i].source
    by_source = tokens.trainable_by_source()
    assert by_source == {s["name"]: s["trainable_tokens"] for s in m["sources"]}
    assert sum(by_source.values()) == sum(d.n_trainable for d in direct) == m["trainable_tokens"]


def test_missing_cache_tokenizes_only_the_mixture_rows(tmp_path, data_dir, tiny_tokenizer, count_encodes):
    build_mixture(spec(data_dir, a={"count": 4}), tmp_path / "mix", verbose=False)
    tokens = load_mixture_tokens(tmp_path / "mix", tiny_tokenizer, cache_dir=tmp_path / "empty")
    assert tokens.tokenized_now == ("a",) and len(tokens) == 4
    assert count_encodes["examples"] == 4 and not (tmp_path / "empty").exists()


def test_tokens_amount_takes_rows_within_the_trainable_budget(tmp_path, data_dir, tiny_tokenizer):
    kw = {"tokenizer": tiny_tokenizer, "cache_dir": tmp_path / "cache", "verbose": False}
    m = build_mixture(spec(data_dir, a={"tokens": 300}), tmp_path / "t300", **kw)
    s = m["sources"][0]
    assert 0 < s["trainable_tokens"] <= 300
    per_row = s["trainable_tokens"] / s["selected"]
    assert s["trainable_tokens"] + 2 * per_row > 300  # the next row would (nearly surely) exceed the budget
    bigger = build_mixture(spec(data_dir, a={"tokens": 700}), tmp_path / "t700", **kw)
    small_ids = set((tmp_path / "t300" / "train.jsonl").read_text().splitlines())
    big_ids = set((tmp_path / "t700" / "train.jsonl").read_text().splitlines())
    assert small_ids < big_ids and 300 < bigger["sources"][0]["trainable_tokens"] <= 700


def test_manifest_records_tokenizer_and_template(tmp_path, data_dir, tiny_tokenizer):
    m = build_mixture(spec(data_dir, a={"count": 2}), tmp_path / "mix", tokenizer=tiny_tokenizer,
                      cache_dir=tmp_path / "cache", verbose=False)
    from mixlab.data.tokenize import template_id, tokenizer_fingerprint

    assert m["tokenizer"]["fingerprint"] == tokenizer_fingerprint(tiny_tokenizer)
    assert m["template_hash"] == template_id(tiny_tokenizer, "chat") and m["max_length"] == 256


def test_gather_is_a_ragged_concatenation():
    c0 = cache_mod.TokenCache(np.arange(10, dtype=np.int32), np.ones(10, bool), np.array([0, 3, 10]),
                              np.array([3, 7]), np.array([3, 7]), np.zeros(2, bool))
    c1 = cache_mod.TokenCache(np.array([100, 101], np.int32), np.array([False, True]), np.array([0, 1, 2]),
                              np.array([0, 1]), np.array([1, 1]), np.zeros(2, bool))
    ids, trained, offsets = gather([c0, c1], np.array([1, 0, 1, 0]), np.array([1, 0, 0, 0]))
    assert ids.tolist() == [101, 0, 1, 2, 100, 0, 1, 2]
    assert trained.tolist() == [True, True, True, True, False, True, True, True]
    assert offsets.tolist() == [0, 1, 4, 5, 8]
