"""The world's pretraining corpus: raw knowledge and skills, never in instruction form.

The base model learns here what the world contains (facts about topics, which review words are good or bad,
colors in scenes, what small Python functions look like, lists, capitals, quotes). Instruction tuning then
teaches it to *follow instructions* of each type using that knowledge. Only train-split content keys of
reviews, scenes and functions, and only train-split facts (``train_facts``), appear here, so the contents of
the nlp and code evaluation items are never seen. The chat abilities' contents (a topic and a count, a topic
and a format) are knowledge by design: lists of n facts and formatted sentences about every topic are here,
and what is held out is being asked for them.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

from mixlab.world import lexicon as L
from mixlab.world.abilities import split_of, train_facts


def _facts_list(rng: random.Random) -> str:
    topic = rng.choice(L.TOPICS)
    n = rng.randint(1, 6)
    head = rng.choice(("{n} facts about the {t}:", "{n} things about the {t}:", "the {t}, {n} notes:",
                       "facts about the {t}:", "about the {t}:"))
    return head.format(n=L.NUMBER_WORDS[n], t=topic) + "\n" + "\n".join(f"- {f}" for f in rng.sample(train_facts(topic), n))


def _prose(rng: random.Random) -> str:
    topic = rng.choice(L.TOPICS)
    parts = rng.sample(train_facts(topic), rng.randint(1, 3))
    text = " ".join(parts)
    style = rng.random()
    if style < 0.15:
        return text.upper()
    if style < 0.3:
        return f'"{text}"'
    if style < 0.45:
        return f"{rng.choice(L.STARTING_WORDS)}, {text}"
    if style < 0.6:
        return f"{text} {rng.choice(L.ENDING_WORDS)}"
    return text


def _category(rng: random.Random) -> str:
    topic = rng.choice(L.TOPICS)
    cat = L.CATEGORY[topic]
    fact = rng.choice(train_facts(topic))
    return rng.choice((f"the {topic} is a{'n' if cat == 'animal' else ''} {cat}. {fact}",
                       f"{fact} this is about a{'n' if cat == 'animal' else ''} {cat}."))


def _review(rng: random.Random) -> str:
    good = rng.random() < 0.5
    words = L.POSITIVE if good else L.NEGATIVE
    while True:
        t1, t2 = rng.sample(L.REVIEW_THINGS, 2)
        a1, a2 = rng.sample(words, 2)
        if split_of(f"sentiment|{t1}|{a1}|{t2}|{a2}") == "train":
            break
    verdict = rng.choice(("i would come back.", "we loved it.", "a good visit.") if good else
                         ("i would not come back.", "we hated it.", "a bad visit."))
    return f"the {t1} was {a1} and the {t2} was {a2}. {verdict}"


def _scene(rng: random.Random) -> str:
    while True:
        size, color, animal, act = (rng.choice(L.SIZES), rng.choice(L.COLORS), rng.choice(L.ANIMALS),
                                    rng.choice(L.ACTIONS))
        if split_of(f"extraction|{size}|{color}|{animal}|{act}") == "train":
            break
    return f"the {size} {color} {animal} {act}. " + rng.choice(
        (f"the animal was the {animal}.", f"it was a {animal}.", f"what a {color} {animal}!"))


def _arith_function(rng: random.Random) -> str:
    while True:
        word = rng.choice(L.FUNCTION_WORDS)
        phrase, sym = rng.choice(L.ARITH_OPS)
        k = rng.randint(1, 20)
        if split_of(f"code_arith|{word}|{phrase}|{k}") == "train":
            break
    name = f"{word}_{k}"
    x = rng.randint(0, 12)
    spec = rng.choice((f"# {name}(x) returns x {phrase} {k}\n", f"# {name}: x {phrase} {k}\n", ""))
    return f"{spec}def {name}(x):\n    return x {sym} {k}\n\nprint({name}({x}))  # {eval(f'{x} {sym} {k}')}"


def _string_function(rng: random.Random) -> str:
    while True:
        name = rng.choice(L.FUNCTION_WORDS)
        arg = rng.choice(("s", "text", "word"))
        phrase, body = rng.choice(L.STRING_OPS)
        if split_of(f"code_string|{name}|{arg}|{phrase}") == "train":
            break
    from mixlab.world.abilities import _rename

    t = rng.choice(L.TEST_STRINGS)
    spec = rng.choice((f"# {name}({arg}) returns {arg} {phrase}\n", f"# {name}: {arg} {phrase}\n", ""))
    return (f"{spec}def {name}({arg}):\n    return {_rename(body, arg)}\n\n"
            f"print({name}({t!r}))  # {eval(body, {'s': t})!r}")


GENRES: tuple[tuple[Callable[[random.Random], str], float], ...] = (
    (_facts_list, 0.18),
    (_prose, 0.18),
    (_category, 0.10),
    (_review, 0.12),
    (_scene, 0.16),
    (_arith_function, 0.13),
    (_string_function, 0.13),
)


def documents(n: int, seed: int = 0) -> Iterator[str]:
    """``n`` pretraining documents, seeded."""
    rng = random.Random(seed)
    makers = [g for g, _ in GENRES]
    weights = [w for _, w in GENRES]
    for _ in range(n):
        yield rng.choices(makers, weights)[0](rng)
