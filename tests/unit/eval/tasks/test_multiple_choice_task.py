"""Multiple-choice tasks: exact prompts per format, acc / acc_norm arithmetic, chance, limits, validation."""

from __future__ import annotations

import pytest

from mixlab.data.example import Message
from mixlab.errors import SpecError
from mixlab.eval.lm import LoglikelihoodResult
from mixlab.eval.tasks.multiple_choice import (
    ChoiceItem,
    MultipleChoiceTask,
    context_chat,
    context_text,
    continuations,
)
from mixlab.eval.tasks.sampling import select_items


class ScriptedLM:
    """Returns the log-probability given for each continuation text; records what it was asked."""

    def __init__(self, scores: dict[str, float], template: str = "none"):
        self.scores = scores
        self.template = template
        self.requests: list = []

    def identity(self):
        return {"backend": "scripted", "model": "scripted", "template": self.template}

    def loglikelihood(self, requests):
        self.requests.extend(requests)
        return [LoglikelihoodResult(self.scores[r.continuation.strip()], False, 1) for r in requests]

    def generate(self, requests):
        raise AssertionError("multiple choice never generates")


ITEM = ChoiceItem("q1", "Question: Which is a mammal?", ("whale", "shark", "octopus"), gold=0)
SHOT = ChoiceItem("s1", "Question: Which is a bird?", ("cat", "owl"), gold=1)


def test_cloze_prompt_is_the_lm_eval_arc_format():
    assert context_text(ITEM, "cloze", (), "") == "Question: Which is a mammal?\nAnswer:"
    assert continuations(ITEM, "cloze", chat=False) == [" whale", " shark", " octopus"]
    with_shot = context_text(ITEM, "cloze", [SHOT], "Science.\n\n")
    assert with_shot == "Science.\n\nQuestion: Which is a bird?\nAnswer: owl\n\nQuestion: Which is a mammal?\nAnswer:"


def test_letter_prompt_lists_options_and_scores_letters():
    text = context_text(ITEM, "letter", [SHOT], "")
    assert text == ("Question: Which is a bird?\nA. cat\nB. owl\nAnswer: B\n\n"
                    "Question: Which is a mammal?\nA. whale\nB. shark\nC. octopus\nAnswer:")
    assert continuations(ITEM, "letter", chat=False) == [" A", " B", " C"]
    assert continuations(ITEM, "letter", chat=True) == ["A", "B", "C"]


def test_chat_prompt_puts_shots_in_earlier_turns():
    turns = context_chat(ITEM, "letter", [SHOT], "Science.\n\n")
    assert [m.role for m in turns] == ["user", "assistant", "user"]
    assert turns[0].content.startswith("Science.\n\nQuestion: Which is a bird?\nA. cat")
    assert turns[0].content.endswith("Answer with the letter of the correct option.")
    assert turns[1] == Message("assistant", "B")


def test_acc_and_acc_norm_follow_the_logprobs():
    # first "whale" is best in total and per character; then "shark" is best in both
    lm = ScriptedLM({"whale": -2.9, "shark": -3.0, "octopus": -5.0})
    other = ChoiceItem("q2", "Question: Which is a fish?", ("whale", "shark", "octopus"), gold=1)
    task = MultipleChoiceTask("demo", [ITEM, other], ability="science")
    result = task.evaluate(lm)
    assert [r["pred"] for r in result.items] == [0, 0]
    assert [r["pred_norm"] for r in result.items] == [0, 0]
    assert result.metrics["acc"].value == 0.5 and result.metrics["acc"].n == 2
    lm.scores.update({"whale": -3.5, "shark": -3.0})
    result = task.evaluate(lm)
    assert [r["pred"] for r in result.items] == [1, 1]
    assert result.metrics["acc"].value == 0.5  # item 1 wrong, item 2 right
    assert result.primary == "acc_norm" and result.chance == pytest.approx(1 / 3)
    assert result.config["template"] == "none" and result.config["prompt_format"] == "cloze"


def test_prob_gold_is_the_gold_choices_share_and_moves_before_accuracy():
    """Two models that both pick the wrong choice (acc 0) differ in how much they believe the right one."""
    import math

    task = MultipleChoiceTask("demo", [ITEM], ability="science")
    scores = {c: -3.0 for c in ITEM.choices}
    wrong = ITEM.choices[(ITEM.gold + 1) % len(ITEM.choices)]
    far = task.evaluate(ScriptedLM({**scores, wrong: -1.0, ITEM.choices[ITEM.gold]: -6.0}))
    near = task.evaluate(ScriptedLM({**scores, wrong: -1.0, ITEM.choices[ITEM.gold]: -1.5}))
    assert far.metrics["acc"].value == near.metrics["acc"].value == 0.0
    assert far.metrics["prob_gold"].value < near.metrics["prob_gold"].value
    lp = near.items[0]["logprobs"]
    want = math.exp(lp[ITEM.gold]) / sum(math.exp(x) for x in lp)
    assert abs(near.items[0]["prob_gold"] - want) < 1e-12


def test_one_request_per_choice_and_ties_pick_the_first():
    lm = ScriptedLM({"whale": -1.0, "shark": -1.0, "octopus": -1.0})
    result = MultipleChoiceTask("tie", [ITEM], ability="x").evaluate(lm)
    assert len(lm.requests) == 3 and result.items[0]["pred"] == 0


def test_letter_format_reports_acc_only_and_group_metrics():
    items = [ChoiceItem(f"i{k}", f"Q{k}", ("a", "b"), gold=k % 2, meta={"g": "even" if k % 2 == 0 else "odd"})
             for k in range(4)]
    lm = ScriptedLM({"A": -1.0, "B": -2.0})
    task = MultipleChoiceTask("letters", items, ability="x", prompt_format="letter", group_of=lambda it: it.meta["g"])
    result = task.evaluate(lm)
    assert set(result.metrics) == {"acc", "prob_gold", "acc_even", "acc_odd"}
    assert result.metrics["acc_even"].value == 1.0 and result.metrics["acc_odd"].value == 0.0
    assert result.chance == 0.5


def test_invalid_tasks_report_every_problem():
    bad = [ChoiceItem("x", "Q", ("a", "b"), gold=2), ChoiceItem("y", "Q", ("a",), gold=-1)]
    with pytest.raises(SpecError) as err:
        MultipleChoiceTask("bad", bad, ability="x", prompt_format="letters")
    assert len(err.value.problems) == 3 and "cloze, letter" in str(err.value)


def test_limit_is_a_seeded_subset_in_file_order():
    items = list(range(1000))
    first = select_items(items, 10, seed=0)
    assert first == select_items(items, 10, seed=0) and first == sorted(first)
    assert first != items[:10] and first != select_items(items, 10, seed=1)
    assert select_items(items, 5000) == items
