"""Chain-of-thought rows with and without their rationales: the ``gsm8k`` format and ``rationale: drop``."""

from __future__ import annotations

import json

import pytest

from mixlab.data.example import Example
from mixlab.data.formats import detect_format
from mixlab.data.load import load_source
from mixlab.data.rationale import drop_rationales, final_answer
from mixlab.errors import MixlabError, SpecError
from mixlab.mix.sources import load_sources
from mixlab.mix.spec import MixtureSpec

ROWS = [
    {"question": "Ann has 2 apples and buys 3. How many?", "answer": "2 + 3 = <<2+3=5>>5 apples.\n#### 5"},
    {"question": "Tom had 10 and gave 4. How many left?", "answer": "10 - 4 = <<10-4=6>>6\n#### 6"},
    {"question": "A broken row.", "answer": "it has steps but no final line"},
]


def _write(tmp_path, rows):
    path = tmp_path / "cot.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_gsm8k_rows_are_detected_and_keep_their_worked_answer(tmp_path):
    assert detect_format(ROWS) == "gsm8k"
    loaded = load_source(_write(tmp_path, ROWS), name="m")
    assert loaded.format == "gsm8k"
    assert [ex.response for ex in loaded.examples] == ["2 + 3 = 5 apples.\n#### 5", "10 - 4 = 6\n#### 6"]
    assert [r.reason for r in loaded.rejected] == ["no final answer"]  # quarantined, counted


def test_drop_keeps_the_final_answer_only(tmp_path):
    spec = MixtureSpec.model_validate({"sources": [
        {"name": "m", "path": str(_write(tmp_path, ROWS)), "count": 2, "rationale": "drop"}]})
    loaded = load_sources(spec)["m"]
    assert [ex.response for ex in loaded.examples] == ["#### 5", "#### 6"]
    assert [ex.prompt for ex in loaded.examples] == [ROWS[0]["question"], ROWS[1]["question"]]
    assert len(loaded.rejected) == 1


@pytest.mark.parametrize(("response", "answer"), [
    ("3 + 4 = 7. The answer is 7.", "The answer is 7."),
    ("First, 2 x 3 = 6.\nSo the final answer is 6", "So the final answer is 6"),
    ("steps\n#### 12\n", "#### 12"),
    ("Blue is a colour.", None),
])
def test_final_answer_of_any_format(response, answer):
    assert final_answer(Example.from_pair("x-0", "x", "q", response)) == answer


def test_drop_quarantines_rows_without_an_answer_and_refuses_a_source_with_none():
    from mixlab.data.load import LoadedSource

    rows = [Example.from_pair(f"x-{i}", "x", "q", r) for i, r in enumerate(["a. The answer is 1.", "no answer"])]
    out = drop_rationales(LoadedSource("x", "alpaca", "x.json", rows))
    assert [ex.response for ex in out.examples] == ["The answer is 1."]
    assert [(r.index, r.reason) for r in out.rejected] == [(1, "no final answer")]
    with pytest.raises(MixlabError, match="found no final answer in any of its 1 rows"):
        drop_rationales(LoadedSource("x", "alpaca", "x.json", rows[1:]))


def test_the_world_arith_without_rationales_is_arith_direct():
    """The embedded world's own direct variant and rationale: drop agree row for row."""
    spec = MixtureSpec.model_validate({"sources": [{"name": "a", "world": "arith", "count": 5, "rationale": "drop"},
                                                   {"name": "b", "world": "arith:direct", "count": 5}]})
    loaded = load_sources(spec)
    pairs = [[(ex.prompt, ex.response) for ex in loaded[n].examples] for n in ("a", "b")]
    assert pairs[0] == pairs[1]


def test_a_bad_rationale_value_is_a_spec_error_and_the_default_leaves_identity_alone():
    with pytest.raises(SpecError, match=r"sources\[0\].rationale: 'some' is not keep or drop"):
        MixtureSpec.model_validate({"sources": [{"name": "m", "world": "arith", "count": 5, "rationale": "some"}]})
    plain = MixtureSpec.model_validate({"sources": [{"name": "m", "world": "arith", "count": 5}]})
    kept = MixtureSpec.model_validate({"sources": [{"name": "m", "world": "arith", "count": 5, "rationale": "keep"}]})
    dropped = MixtureSpec.model_validate({"sources": [{"name": "m", "world": "arith", "count": 5,
                                                       "rationale": "drop"}]})
    assert plain.spec_hash() == kept.spec_hash() != dropped.spec_hash()
