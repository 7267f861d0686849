"""Exact and near dedup, decontamination: what is dropped, what is kept, and what the reports say."""

from __future__ import annotations

import random

import pytest

from mixlab.data.decontam import decontaminate, eval_texts
from mixlab.data.dedup import DedupSpec, dedup
from mixlab.data.example import Example
from mixlab.errors import SpecError

WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu",
         "nu", "xi", "omicron", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega",
         "river", "stone", "cloud", "paper", "window", "garden"]


def text(seed: int, n: int = 120) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(n))


def ex(i: str, src: str, prompt: str, resp: str = "ok") -> Example:
    return Example.from_pair(i, src, prompt, resp)


def edit(s: str, k: int, seed: int = 0) -> str:
    ws = s.split()
    rng = random.Random(seed)
    for _ in range(k):
        ws[rng.randrange(len(ws))] = "CHANGED"
    return " ".join(ws)


def test_exact_dedup_ignores_case_and_whitespace_and_keeps_the_first():
    rows = [ex("a1", "a", "Hello  World"), ex("a2", "a", "hello world"), ex("b1", "b", "HELLO WORLD\n")]
    res = dedup(rows, DedupSpec(near=False))
    assert [e.id for e in res.kept] == ["a1"]
    assert [(d.id, d.duplicate_of, d.duplicate_source) for d in res.dropped] == [("a2", "a1", "a"), ("b1", "a1", "a")]
    assert res.report["b"] == {"input": 1, "kept": 0, "exact_duplicates": 1, "near_duplicates": 0,
                               "duplicate_of_source": {"a": 1}}
    assert res.drop_mask().tolist() == [False, True, True]


def test_within_source_only_keeps_cross_source_copies():
    rows = [ex("a1", "a", "same text"), ex("b1", "b", "same text"), ex("b2", "b", "same text")]
    res = dedup(rows, DedupSpec(near=False, across_sources=False))
    assert [e.id for e in res.kept] == ["a1", "b1"]


def test_near_dedup_drops_light_edits_and_keeps_heavy_ones():
    base = text(1)
    rows = [ex("orig", "s", base), ex("light", "s", edit(base, 2)), ex("heavy", "s", edit(base, 40)),
            ex("other", "s", text(2))]
    res = dedup(rows, DedupSpec(exact=False, threshold=0.8))
    assert [d.id for d in res.dropped] == ["light"]
    assert res.dropped[0].duplicate_of == "orig" and 0.8 <= res.dropped[0].similarity < 1.0
    assert [e.id for e in res.kept] == ["orig", "heavy", "other"]


def test_near_dedup_threshold_is_respected():
    base = text(3, 200)
    edited = edit(base, 12, seed=5)  # about 12 * 5 of ~200 shingles changed: Jaccard roughly 0.55-0.7
    rows = [ex("a", "s", base), ex("b", "s", edited)]
    assert len(dedup(rows, DedupSpec(exact=False, threshold=0.9)).dropped) == 0
    assert len(dedup(rows, DedupSpec(exact=False, threshold=0.4)).dropped) == 1


def test_dedup_before_upsampling_does_not_remove_intended_repeats():
    """The pitfall: dedup runs on loaded rows; upsampling afterwards repeats kept rows on purpose."""
    rows = [ex(f"r{i}", "s", text(i)) for i in range(5)]
    kept = dedup(rows, DedupSpec()).kept
    upsampled = kept * 3  # what the mixture layer does after dedup
    assert len(kept) == 5 and len(upsampled) == 15
    assert len(dedup(upsampled, DedupSpec()).kept) == 5  # the wrong order would collapse the repeats


def test_dedup_spec_reports_every_problem():
    with pytest.raises(SpecError) as exc:
        DedupSpec(threshold=1.5, ngram=0, num_perm=4)
    assert len(exc.value.problems) == 3 and "threshold: 1.5" in exc.value.problems[0]


def test_decontamination_by_13_grams_and_short_whole_texts():
    q = "A train leaves the station at nine and travels sixty miles per hour toward the coast"
    short = "Which gas do plants absorb from the air"  # 8 words: matched whole
    train = [ex("t1", "chat", f"Please solve: {q.upper()}!"), ex("t2", "chat", "Tell me a joke."),
             ex("t3", "code", "x", "Answer: which gas do plants absorb from the air? CO2"),
             ex("t4", "code", "twelve words only here and nothing more to see in this row")]
    res = decontaminate(train, {"gsm8k": [q, "4"], "arc": [short, "CO2"]})
    assert [c.id for c in res.dropped] == ["t1", "t3"]
    assert res.report["chat"]["by_eval_set"] == {"gsm8k": 1, "arc": 0}
    assert res.report["code"] == {"input": 2, "dropped": 1, "kept": 1, "by_eval_set": {"gsm8k": 0, "arc": 1}}
    assert res.eval_sets["gsm8k"] == {"texts": 2, "texts_used": 1, "ngrams": 4}


def test_decontamination_ngram_is_configurable():
    train = [ex("t1", "s", "one two three four five six")]
    assert len(decontaminate(train, {"e": ["three four five"]}, ngram=3, min_words=3).dropped) == 1
    assert len(decontaminate(train, {"e": ["three four five"]}, ngram=13).dropped) == 0


def test_too_many_eval_sets_says_to_split_them():
    with pytest.raises(SpecError, match="eval_sets: 64 sets, at most 63 per call; split them"):
        decontaminate([], {f"set{i}": ["some words"] for i in range(64)})


def test_eval_texts_reads_fields(tmp_path):
    p = tmp_path / "mmlu.csv"
    p.write_text("question,choice0,answer\nWhat is two plus two?,four,0\n")
    assert eval_texts(p) == ["What is two plus two?", "four", "0"]
    assert eval_texts(p, ["question"]) == ["What is two plus two?"]
