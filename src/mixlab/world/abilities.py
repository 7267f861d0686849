"""The world's abilities: how each instruction is drawn, its reference answer, and how an answer is scored.

Three instruction types mirror the instruction-mixture paper: ``nlp`` (templated tasks with many phrasings
and short answers, like P3), ``code`` (write a small Python function from a spec; scored by running hidden
tests) and ``chat`` (open requests with verifiable constraints, scored the way IFEval checks instruction
following). Each ability has a chance level: the score of a uniformly random valid answer.

Train and evaluation items never share content: every item has a *content key* (what it asks, without the
phrasing) and a key belongs to exactly one split (``split_of``), so a held-out item's content is never
trained on, under any phrasing. Facts are content too: a fact held out for the topic ability (its sentence
is what is classified) appears in no answer of any ability and nowhere in the pretraining corpus
(``train_facts``).

>>> import random
>>> item = ABILITIES["sentiment"].draw(random.Random(0), "eval")
>>> item.split, item.ability, item.answer in ("positive", "negative")
('eval', 'sentiment', True)
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from mixlab.world import lexicon as L

EVAL_SHARE = 5  # one content key in five is held out for evaluation


def split_of(key: str) -> str:
    """``"eval"`` for one content key in ``EVAL_SHARE``, else ``"train"`` (a fixed hash, not a seed)."""
    h = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big")
    return "eval" if h % EVAL_SHARE == 0 else "train"


@dataclass(frozen=True)
class WorldItem:
    ability: str
    key: str
    split: str
    prompt: str
    answer: str
    #: what the scorer needs: the gold label, the hidden tests, or the constraint checks
    check: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Ability:
    name: str
    instruction_type: str
    chance: float
    description: str
    #: (rng) -> (content key, prompt, answer, check)
    _make: Callable[[random.Random], tuple[str, str, str, dict[str, Any]]]
    max_new_tokens: int = 48

    def draw(self, rng: random.Random, split: str, max_tries: int = 1000) -> WorldItem:
        """Draw one item whose content key belongs to ``split``."""
        for _ in range(max_tries):
            key, prompt, answer, check = self._make(rng)
            if split_of(f"{self.name}|{key}") == split:
                return WorldItem(self.name, key, split, prompt, answer, check)
        raise RuntimeError(f"could not draw a {split} item for {self.name}")  # pragma: no cover


def _pick(rng: random.Random, options: tuple[str, ...]) -> str:
    return options[rng.randrange(len(options))]


def train_facts(topic: str) -> tuple[str, ...]:
    """A topic's facts whose sentences are not held out for the ``topic`` ability: the only facts that
    answers of any ability and the pretraining corpus use."""
    return _train_facts()[topic]


@lru_cache(maxsize=1)
def _train_facts() -> dict[str, tuple[str, ...]]:
    return {t: tuple(f for f in fs if split_of(f"topic|{f}") == "train") for t, fs in L.facts().items()}


# ---------------------------------------------------------------- nlp: templated tasks, short answers

SENTIMENT_TEMPLATES = (
    "Is this review positive or negative?\n{r}",
    "Review: {r}\nWas the reviewer happy? Answer positive or negative.",
    "{r}\nDid the writer like it? Reply with positive or negative.",
    "Classify the sentiment of the review as positive or negative.\n{r}",
    "Here is a review: {r}\nIs the sentiment positive or negative?",
    "Read the review and say if it is positive or negative.\n{r}",
    "{r}\nWhat is the sentiment of this text, positive or negative?",
    "Tell me whether this review is positive or negative: {r}",
)


def _sentiment(rng: random.Random) -> tuple[str, str, str, dict[str, Any]]:
    label = _pick(rng, ("positive", "negative"))
    words = L.POSITIVE if label == "positive" else L.NEGATIVE
    t1, t2 = rng.sample(L.REVIEW_THINGS, 2)
    a1, a2 = rng.sample(words, 2)
    review = f"the {t1} was {a1} and the {t2} was {a2}."
    prompt = _pick(rng, SENTIMENT_TEMPLATES).format(r=review)
    return f"{t1}|{a1}|{t2}|{a2}", prompt, label, {"answer": label, "input": review}


EXTRACTION_TEMPLATES = (
    "Which animal is mentioned in this sentence?\n{s}",
    "{s}\nWhat animal does the sentence talk about?",
    "Read the sentence and name the animal in it.\n{s}",
    "Sentence: {s}\nQuestion: which animal appears in it?",
    "Find the animal in this sentence: {s}",
    "{s}\nExtract the animal from the text above.",
)


def _extraction(rng: random.Random) -> tuple[str, str, str, dict[str, Any]]:
    size = _pick(rng, L.SIZES)
    color = _pick(rng, L.COLORS)
    animal = _pick(rng, L.ANIMALS)
    act = _pick(rng, L.ACTIONS)
    sentence = f"the {size} {color} {animal} {act}."
    prompt = _pick(rng, EXTRACTION_TEMPLATES).format(s=sentence)
    # "the goat", not "goat": the answer reuses the sentence's token for " goat" (a bare word at the start of
    # a response is a different BPE token, which a tiny model must learn to map for every animal)
    return f"{size}|{color}|{animal}|{act}", prompt, f"the {animal}", {"answer": animal, "input": sentence}


TOPIC_TEMPLATES = (
    "Is this sentence about an animal, a food or a place?\n{f}",
    "{f}\nTopic (animal, food or place):",
    "Pick the topic of the text: animal, food or place.\n{f}",
    "What kind of thing is this about, an animal, a food or a place? {f}",
    "Text: {f}\nAnswer with animal, food or place: what is the text about?",
    "Classify this sentence as animal, food or place.\n{f}",
)


def _topic(rng: random.Random) -> tuple[str, str, str, dict[str, Any]]:
    topic = _pick(rng, L.TOPICS)
    fact = _pick(rng, L.facts()[topic])
    prompt = _pick(rng, TOPIC_TEMPLATES).format(f=fact)
    label = L.CATEGORY[topic]
    return fact, prompt, label, {"answer": label, "input": fact}


# ---------------------------------------------------------------- code: functions scored by hidden tests

ARITH_TEMPLATES = (
    "Write a Python function {name}(x) that returns x {op} {k}.",
    "Write a function called {name} that takes a number x and returns x {op} {k}.",
    "Define {name}(x) in Python. It should return x {op} {k}.",
    "I need a Python function named {name}: given x, return x {op} {k}.",
    'Complete this function:\ndef {name}(x):\n    """Return x {op} {k}."""',
    "Implement {name}(x), which gives back x {op} {k}, in Python.",
)


def _code_arith(rng: random.Random) -> tuple[str, str, str, dict[str, Any]]:
    word = _pick(rng, L.FUNCTION_WORDS)
    phrase, sym = L.ARITH_OPS[rng.randrange(len(L.ARITH_OPS))]
    k = rng.randint(1, 20)
    name = f"{word}_{k}"
    prompt = _pick(rng, ARITH_TEMPLATES).format(name=name, op=phrase, k=k)
    answer = f"def {name}(x):\n    return x {sym} {k}"
    tests = [f"assert {name}({x}) == {eval(f'{x} {sym} {k}')}" for x in (0, 3, 11, -4)]
    return f"{word}|{phrase}|{k}", prompt, answer, {"entry": name, "tests": tests}


STRING_TEMPLATES = (
    "Write a Python function {name}({arg}) that returns {arg} {op}.",
    "Write a function called {name} that takes a string {arg} and returns it {op}.",
    "Define {name}({arg}) in Python. It should return the string {arg} {op}.",
    "I need a Python function named {name}: given a string {arg}, return it {op}.",
    'Complete this function:\ndef {name}({arg}):\n    """Return {arg} {op}."""',
    "Implement {name}({arg}), which gives back {arg} {op}, in Python.",
)


def _code_string(rng: random.Random) -> tuple[str, str, str, dict[str, Any]]:
    name = _pick(rng, L.FUNCTION_WORDS)
    arg = _pick(rng, ("s", "text", "word"))
    phrase, body = L.STRING_OPS[rng.randrange(len(L.STRING_OPS))]
    prompt = _pick(rng, STRING_TEMPLATES).format(name=name, arg=arg, op=phrase)
    answer = f"def {name}({arg}):\n    return {_rename(body, arg)}"
    tests = [f"assert {name}({t!r}) == {eval(body, {'s': t})!r}" for t in rng.sample(L.TEST_STRINGS, 3)]
    return f"{name}|{arg}|{phrase}", prompt, answer, {"entry": name, "tests": tests}


def _rename(body: str, arg: str) -> str:
    """Rename the variable ``s`` in a body expression: ``s[::-1]`` -> ``text[::-1]``."""
    return body.replace("s.", f"{arg}.").replace("s[", f"{arg}[").replace("s +", f"{arg} +").replace("+ s", f"+ {arg}")


# ---------------------------------------------------------------- chat: open requests with constraints

BULLET_TEMPLATES = (
    "Give me {n} bullet points about the {t}.",
    "List {n} facts about the {t} as bullet points.",
    "Write {n} bullet points that each mention the {t}.",
    "Tell me about the {t} in exactly {n} bullet points.",
    "Can you make a list of {n} points about the {t}? Use bullets.",
    "I would like {n} short bullet points on the {t}.",
)


def _bullets(rng: random.Random) -> tuple[str, str, str, dict[str, Any]]:
    topic = _pick(rng, L.TOPICS)
    n = rng.randint(2, 5)
    chosen = rng.sample(train_facts(topic), n)
    prompt = _pick(rng, BULLET_TEMPLATES).format(n=L.NUMBER_WORDS[n], t=topic)
    answer = "\n".join(f"- {f}" for f in chosen)
    checks = [{"check": "bullet_count", "n": n}, {"check": "each_bullet_mentions", "word": topic}]
    return f"{topic}|{n}", prompt, answer, {"checks": checks}


STYLE_TEMPLATES = {
    "upper": (
        "Write one sentence about the {t} in capital letters.",
        "Tell me something about the {t}. Use only upper case letters.",
        "Describe the {t} in one sentence, all in caps.",
    ),
    "end": (
        "Tell me one fact about the {t} and end your answer with the word {w}.",
        "Write a sentence about the {t}. The last word must be {w}.",
        "Say something about the {t}, then finish with the word {w}.",
    ),
    "start": (
        "Start your answer with the word {w} and tell me one fact about the {t}.",
        "Write a sentence about the {t} that begins with the word {w}.",
        "Begin with {w}, then give one fact about the {t}.",
    ),
    "quote": (
        "Give one fact about the {t} and wrap your whole answer in double quotes.",
        "Write a sentence about the {t} inside double quotation marks.",
        "Put your answer in double quotes: tell me one fact about the {t}.",
    ),
}


def _style(rng: random.Random) -> tuple[str, str, str, dict[str, Any]]:
    topic = _pick(rng, L.TOPICS)
    kind = _pick(rng, tuple(STYLE_TEMPLATES))
    fact = _pick(rng, train_facts(topic))
    checks: list[dict[str, Any]] = [{"check": "includes_keywords", "words": [topic]}]
    word = ""
    if kind == "upper":
        answer = fact.upper()
        checks.append({"check": "all_uppercase"})
    elif kind == "end":
        word = _pick(rng, L.ENDING_WORDS)
        answer = f"{fact} {word}"
        checks.append({"check": "ends_with", "phrase": word})
    elif kind == "start":
        word = _pick(rng, L.STARTING_WORDS)
        answer = f"{word}, {fact}"
        checks.append({"check": "starts_with", "phrase": word})
    else:
        answer = f'"{fact}"'
        checks.append({"check": "wrapped_in_quotes"})
    prompt = _pick(rng, STYLE_TEMPLATES[kind]).format(t=topic, w=word)
    return f"{topic}|{kind}|{word}", prompt, answer, {"checks": checks}


ABILITIES: dict[str, Ability] = {
    a.name: a
    for a in (
        Ability("sentiment", "nlp", 1 / 2, "classify a review as positive or negative", _sentiment, 8),
        Ability("extraction", "nlp", 1 / len(L.ANIMALS), "name the animal a sentence mentions", _extraction, 8),
        Ability("topic", "nlp", 1 / 3, "say whether a sentence is about an animal, a food or a place", _topic, 8),
        Ability("code_arith", "code", 0.0, "write a function doing arithmetic on x, run against tests", _code_arith, 40),
        Ability("code_string", "code", 0.0, "write a function transforming a string, run against tests", _code_string, 40),
        Ability("bullets", "chat", 0.0, "answer in exactly n bullet points that each mention the topic", _bullets, 90),
        Ability("style", "chat", 0.0, "answer about a topic under a format constraint (caps, quotes, first/last word)", _style, 40),
    )
}

TYPES: dict[str, tuple[str, ...]] = {}
for _a in ABILITIES.values():
    TYPES.setdefault(_a.instruction_type, ())
    TYPES[_a.instruction_type] += (_a.name,)
