"""Mixtures of the real shared files: the issue's spec, a golden hash, nested ladders, designs, real tokens."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import yaml
from mix_real_helpers import real_spec

from mixlab.mix.build import MixtureWarning, build_mixture
from mixlab.mix.design import subsets, volume_ladder
from mixlab.mix.spec import MixtureSpec
from mixlab.mix.token_cache import load_mixture_tokens
from spec_examples import ISSUE_SPEC

pytestmark = pytest.mark.integration


def row_ids(folder: Path, source: str | None = None) -> list[str]:
    rows = [json.loads(x) for x in (folder / "train.jsonl").read_text().splitlines()]
    return [r["id"] for r in rows if source is None or r["source"] == source]


def test_issue_spec_builds_as_written_from_the_repository_root(tmp_path, repo_root, shared_data):
    spec = MixtureSpec.model_validate({**yaml.safe_load(ISSUE_SPEC), "base_dir": str(repo_root)})
    with pytest.warns(MixtureWarning, match="total 2000 has no effect"):
        m = build_mixture(spec, tmp_path / "issue", verbose=False)
    got = [(s["name"], s["origin"]["format"], s["rows_read"], s["quarantined"], s["available"], s["selected"])
           for s in m["sources"]]
    assert got == [("chat", "alpaca", 999, 0, 999, 300), ("code", "codealpaca", 2017, 2, 2015, 202)]
    assert m["total_rows"] == 502 and m["seed"] == 0
    assert m["sources"][1]["amount"]["meaning"] == "fraction 0.1 of the 2015 available rows = 202 rows drawn at random"
    assert m["warnings"] == ["total 2000 has no effect: no source uses share (total only sizes share sources)"]


def test_golden_mixture_hash(tmp_path, shared_data, real_sources):
    """Pins the exact rows and order of a mixture of all four real sources; any drift in sampling, shuffling,
    conversion or serialisation changes these hashes."""
    spec = real_spec(shared_data, [
        {"name": "alpaca", "count": 50}, {"name": "code", "fraction": 0.02}, {"name": "p3", "count": 40},
        {"name": "sharegpt", "epochs": 0.01}], seed=7)
    m = build_mixture(spec, tmp_path / "gold", loaded=real_sources, verbose=False)
    assert [s["selected"] for s in m["sources"]] == [50, 40, 40, 29]
    assert {s["name"]: s["selection_hash"] for s in m["sources"]} == GOLDEN_SELECTION
    assert m["files"]["train.jsonl"] == GOLDEN_TRAIN_SHA256


GOLDEN_SELECTION = {"alpaca": "7ed84d17f2910a1d", "code": "feca2b4e983f1f5b", "p3": "0a0f0492694655bb",
                    "sharegpt": "6b8777ce0528976c"}
GOLDEN_TRAIN_SHA256 = "41ebf77836b96d6ddb80dda7eec6bce2564ed5d4efa203857ba4c6e133d22d3f"


def test_p3_volume_ladder_is_nested_on_the_real_folder(tmp_path, shared_data, real_sources):
    base = real_spec(shared_data, [{"name": "p3", "alias": "P", "count": 1}], seed=3)
    rungs = []
    for point in volume_ladder(base, start=10, factor=4, steps=4, per_source=True):
        build_mixture(point.spec, tmp_path / point.label, loaded=real_sources, verbose=False)
        rungs.append(set(row_ids(tmp_path / point.label)))
    assert [len(r) for r in rungs] == [10, 40, 160, 640]
    assert rungs[0] < rungs[1] < rungs[2] < rungs[3]
    assert len(rungs[3] & {f"p3-{i:06d}" for i in range(640)}) < 40  # random rows, not the first files


@pytest.mark.filterwarnings("ignore:the mixture has no sources")
def test_subset_arms_share_each_sources_rows(tmp_path, repo_root, real_sources):
    spec = MixtureSpec.from_yaml(repo_root / "configs" / "mixtures" / "paper1_acp.yaml")
    loaded = {"alpaca": real_sources["alpaca"], "code": real_sources["code"], "p3": real_sources["p3"]}
    rows: dict[str, dict[str, set[str]]] = {}
    for label, arm in subsets(spec):
        m = build_mixture(arm, tmp_path / label, loaded=loaded, verbose=False)
        assert (m["total_rows"] == 0) == (label == "none")
        rows[label] = {s.name: set(row_ids(tmp_path / label, s.name)) for s in arm.sources}
    assert list(rows) == ["none", "A", "C", "P", "A+C", "A+P", "C+P", "A+C+P"] and rows["none"] == {}
    for name, alias in (("alpaca", "A"), ("code", "C"), ("p3", "P")):
        arms = [label for label in rows if alias in label.split("+")]
        assert all(rows[label][name] == rows[alias][name] for label in arms), name
    assert [len(rows["A+C+P"][n]) for n in ("alpaca", "code", "p3")] == [985, 999, 999]


def test_sharegpt_conversations_keep_their_turns(tmp_path, shared_data, real_sources):
    m = build_mixture(real_spec(shared_data, [{"name": "sharegpt", "count": 300}]), tmp_path / "sg",
                      loaded=real_sources, verbose=False)
    s = m["sources"][0]
    assert (s["rows_read"], s["quarantined"], s["available"]) == (3000, 52, 2948)
    rows = [json.loads(x) for x in (tmp_path / "sg" / "train.jsonl").read_text().splitlines()]
    turns = Counter(len(r["messages"]) for r in rows)
    assert sum(turns.values()) == 300 and sum(n for k, n in turns.items() if k > 2) > 100


def test_code_alpaca_is_decontaminated_against_humaneval(tmp_path, shared_data, real_sources):
    spec = real_spec(shared_data, [{"name": "code", "fraction": 1.0}],
                     decontaminate={"against": ["humaneval/HumanEval.jsonl.gz"]})
    m = build_mixture(spec, tmp_path / "dc", loaded=real_sources, verbose=False)
    s = m["sources"][0]
    assert s["dropped_decontamination_by_eval"] == {"humaneval/HumanEval.jsonl.gz": 11}
    assert s["available"] == s["selected"] == 2015 - 11


def test_real_tokens_budget_and_cache(tmp_path, shared_data, real_sources, smollm2_tokenizer, monkeypatch):
    import mixlab.mix.token_cache as cache_mod

    spec = real_spec(shared_data, [{"name": "alpaca", "tokens": 20_000}, {"name": "code", "count": 300}],
                     max_length=1024)
    kw = {"tokenizer": smollm2_tokenizer, "cache_dir": tmp_path / "cache", "loaded": real_sources,
          "verbose": False}
    m = build_mixture(spec, tmp_path / "t", **kw)
    alpaca = m["sources"][0]
    assert 19_000 < alpaca["trainable_tokens"] <= 20_000 and alpaca["selected"] < 999
    tokens = load_mixture_tokens(tmp_path / "t", smollm2_tokenizer, cache_dir=tmp_path / "cache")
    assert tokens.tokenized_now == () and len(tokens) == m["total_rows"]
    assert tokens.trainable_by_source() == {"alpaca": alpaca["trainable_tokens"],
                                           "code": m["sources"][1]["trainable_tokens"]}
    first = tokens[0]
    text = smollm2_tokenizer.decode(first.input_ids[first.labels != -100])
    assert text.endswith("<|im_end|>")  # the end token carries loss: the model learns to stop
    calls = []
    monkeypatch.setattr(cache_mod, "encode_examples", lambda *a, **k: calls.append(1))
    bigger = real_spec(shared_data, [{"name": "alpaca", "tokens": 40_000}, {"name": "code", "epochs": 2.0}],
                       max_length=1024)
    m2 = build_mixture(bigger, tmp_path / "t2", **kw)
    assert calls == [] and m2["sources"][1]["selected"] == 4030  # a new ratio costs no tokenization
    assert set(row_ids(tmp_path / "t", "alpaca")) < set(row_ids(tmp_path / "t2", "alpaca"))
    assert np.isclose(m2["sources"][1]["upsample_factor"], 2.0)
