"""What held-out means in the world, tested for every ability (docs/world.md, "Held out").

1. An evaluation item's content (its content key) never appears in any instruction data, of any source.
2. For the abilities whose answer depends on the content (nlp and code), the evaluation content never appears
   in the pretraining corpus either: a review, a scene, a fact sentence, a function's spec and body.
3. Held-out facts (the sentences the topic ability classifies) appear in no answer of any ability.
4. The chat abilities' contents (a topic and a count, a topic and a format) are world knowledge by design:
   the corpus teaches lists and formatted sentences about every topic; what is held out is the request.
"""

from __future__ import annotations

import pytest

from mixlab.world import lexicon as L
from mixlab.world.abilities import ABILITIES, train_facts
from mixlab.world.abilities_extended import ALL, EXTENDED
from mixlab.world.corpus import documents
from mixlab.world.source import load_world_source
from mixlab.world.suites import eval_items

UNSEEN_IN_PRETRAINING = ("sentiment", "extraction", "topic", "code_arith", "code_string")
KNOWLEDGE = ("bullets", "style")


@pytest.fixture(scope="module")
def corpus() -> str:
    return "\n\x00".join(documents(6000, seed=0))


@pytest.fixture(scope="module")
def instruction_data():
    """Every world source's pool at the size a large study uses, for two seeds (the six extended abilities and
    the rationale-free arith variant at 1,500 rows each)."""
    return [e for kind, size in [*((k, 3000) for k in ("chat", "code", "nlp")),
                                 *((k, 1500) for k in [*EXTENDED, "arith:direct"])]
            for seed in (0, 1) for e in load_world_source(kind, seed=seed, size=size).examples]


def test_every_ability_is_classified_as_unseen_or_knowledge():
    assert set(UNSEEN_IN_PRETRAINING) | set(KNOWLEDGE) == set(ABILITIES)


@pytest.mark.parametrize("name", sorted(ALL))
def test_evaluation_contents_never_appear_in_instruction_data(name, instruction_data):
    held = {it.key for it in eval_items(name)}
    trained = {e.meta["key"] for e in instruction_data if e.abilities == (name,)}
    assert trained and not (held & trained)
    prompts = {it.prompt for it in eval_items(name)}
    assert not any(e.prompt in prompts for e in instruction_data)


def _content_text(name: str, item) -> list[str]:
    """The text by which an item's content would show in a document."""
    if name == "sentiment":
        t1, a1, t2, a2 = item.key.split("|")
        return [f"the {t1} was {a1} and the {t2} was {a2}"]
    if name == "extraction":
        size, color, animal, act = item.key.split("|")
        return [f"the {size} {color} {animal} {act}"]
    if name == "topic":
        return [item.key]  # the fact sentence itself
    if name == "code_arith":
        return [item.answer]
    if name == "code_string":
        word, arg, phrase = item.key.split("|")
        return [item.answer, f"# {word}({arg}) returns {arg} {phrase}", f"# {word}: {arg} {phrase}"]
    raise AssertionError(name)


@pytest.mark.parametrize("name", UNSEEN_IN_PRETRAINING)
def test_content_of_nlp_and_code_items_never_appears_in_pretraining(name, corpus):
    hits = [(it.key, text) for it in eval_items(name) for text in _content_text(name, it) if text in corpus]
    assert hits == []


def test_the_corpus_does_teach_the_genres_it_should(corpus):
    """The check above could pass on an empty corpus: it must hold train contents of every kind."""
    assert corpus.count(" was ") > 500 and corpus.count("def ") > 500 and corpus.count("\n- ") > 500
    assert sum(f in corpus for t in L.TOPICS for f in train_facts(t)) > 0.9 * sum(len(train_facts(t)) for t in L.TOPICS)


def test_held_out_facts_appear_in_no_answer_and_no_document(instruction_data, corpus):
    held = {f for t in L.TOPICS for f in L.facts()[t]} - {f for t in L.TOPICS for f in train_facts(t)}
    assert len(held) >= 80  # one fact in five, over 44 topics x 12 facts
    answers = "\n".join(e.messages[-1].content for e in instruction_data)
    assert not [f for f in held if f in answers or f.upper() in answers or f in corpus]


@pytest.mark.parametrize("name", sorted(ABILITIES))
def test_each_ability_reports_its_number_of_distinct_contents(name):
    items = eval_items(name)
    clusters = {it.key for it in items}
    assert 20 <= len(clusters) <= len(items)
