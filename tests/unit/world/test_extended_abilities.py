"""The six extended world abilities (DoIT's breadth): exact scorers, variants, groups, sizes (their held-out
contents are tested with the classic seven in test_held_out.py)."""

from __future__ import annotations

import pytest

from mixlab.errors import MixlabError
from mixlab.world import lexicon as L
from mixlab.world.abilities import ABILITIES, train_facts
from mixlab.world.abilities_extended import ALL, EXTENDED, GROUPS
from mixlab.world.model import WorldModelSpec, shipped_base
from mixlab.world.source import load_world_source, world_type
from mixlab.world.suites import WorldTask, eval_items, final_number, world_suite


def test_thirteen_abilities_and_the_classic_seven_stay_the_default():
    assert len(ALL) == 13 and list(ALL)[:7] == list(ABILITIES)
    assert [t.ability for t in world_suite()] == list(ABILITIES)
    assert [t.ability for t in world_suite(abilities=["all"])] == list(ALL)
    assert [t.ability for t in world_suite(abilities=["extended", "bullets"])] == [*EXTENDED, "bullets"]
    assert set(GROUPS) == {"classic", "extended", "all"}
    with pytest.raises(MixlabError, match="unknown world abilities \\['arithmetic'\\]"):
        world_suite(abilities=["arithmetic"])


def test_the_shipped_base_is_still_the_default_recipe():
    """The extended abilities are instruction data only: the base model (corpus, tokenizer) is unchanged."""
    assert shipped_base(WorldModelSpec()) is not None


@pytest.mark.parametrize("name", sorted(EXTENDED))
def test_the_reference_answer_scores_one_and_an_empty_or_wrong_one_zero(name):
    items = eval_items(name, 60)
    task = WorldTask(ALL[name], 60)
    assert task.score(items, [it.answer for it in items])[0] == [1.0] * 60
    assert task.score(items, [""] * 60)[0] == [0.0] * 60
    # another item's answer: wrong for most items (equal answers are possible: yes/no, the same animal)
    shifted = [items[(i + 1) % 60].answer for i in range(60)]
    assert sum(task.score(items, shifted)[0]) < 45


def test_arith_is_scored_by_its_final_number_with_or_without_steps():
    items = eval_items("arith", 20)
    task = WorldTask(ALL["arith"], 20)
    assert task.score(items, [f"the answer is {it.check['final']}." for it in items])[0] == [1.0] * 20
    assert task.score(items, [f"{it.check['final'] + 1}" for it in items])[0] == [0.0] * 20
    assert final_number("2 + 3 = 5. 5 - 1 = 4. the answer is 4.") == 4
    assert final_number("5 - 1 = 4") == 4 and final_number("no idea") is None


def test_knowledge_asks_only_about_facts_read_in_pretraining_or_predicates_no_fact_has():
    for it in eval_items("knowledge"):
        topic, pred = it.key.split("|")
        sentence = f"the {topic} {pred}."
        if it.answer == "yes":
            assert sentence in train_facts(topic)
        else:
            assert sentence not in L.facts()[topic]  # held-out facts are never asked: their truth is not taught


def test_variants_write_the_same_items_otherwise():
    steps, direct = load_world_source("arith", size=50), load_world_source("arith:direct", size=50)
    assert [e.meta["key"] for e in steps.examples] == [e.meta["key"] for e in direct.examples]
    assert all(e.messages[-1].content.startswith("the answer is") for e in direct.examples)
    assert all(" = " in e.messages[-1].content for e in steps.examples)
    assert (direct.name, direct.origin) != (steps.name, steps.origin)  # another source, not the same one renamed
    bare, named = load_world_source("nlp:none", size=30), load_world_source("nlp:name", size=30)
    templated = load_world_source("nlp", size=30)
    assert [e.meta["key"] for e in bare.examples] == [e.meta["key"] for e in templated.examples]
    assert all(e.prompt.split("\n")[0] in ("sentiment", "animal extraction", "topic classification")
               for e in named.examples)
    assert all(e.prompt in t.prompt for e, t in zip(bare.examples, templated.examples, strict=True))
    assert world_type("arith:direct") == "math" and world_type("nlp:none") == "nlp"
    with pytest.raises(MixlabError, match="variants: direct, name, none"):
        load_world_source("arith:short", size=5)
    with pytest.raises(MixlabError, match="no direct answers"):
        load_world_source("chat:direct", size=5)


def test_named_world_sizes_resolve_and_are_validated():
    from mixlab.study.spec import StudySpec
    from mixlab.world.model import SIZES, size_of, sized, world_size

    assert [world_size(m) for m in ("world", "world:xs", "world:s", "world:m", "gpt2")] == ["m", "xs", "s", "m", None]
    assert sized("m") == WorldModelSpec() and sized("xs", pretrain_tokens=10).pretrain_tokens == 10
    widths = [sized(s).hidden_size for s in SIZES]
    assert widths == sorted(widths) and len(set(widths)) == 3
    assert size_of({"hidden_size": 32, "num_layers": 2, "num_heads": 4, "intermediate_size": 96}) == "xs"
    spec = {"name": "s", "mixture": {"sources": [{"name": "a", "alias": "A", "world": "arith", "count": 5}]},
            "design": "single", "volumes": [5]}
    assert StudySpec.model_validate({**spec, "model": "world:s"}).model == "world:s"
    with pytest.raises(ValueError, match="the world's sizes are world:xs, world:s, world:m"):
        StudySpec.model_validate({**spec, "model": "world:xl"})


def test_abilities_joined_by_plus_make_one_source_of_one_type():
    src = load_world_source("sentiment+extraction:none", size=40)
    assert {e.abilities for e in src.examples} == {("sentiment",), ("extraction",)}
    assert sum(e.abilities == ("sentiment",) for e in src.examples) == 20  # equal parts
    assert world_type("sentiment+extraction") == "nlp"
    with pytest.raises(MixlabError, match="joins abilities of different types"):
        world_type("sentiment+arith")
