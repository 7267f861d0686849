"""The world's closed vocabulary: topics with their facts, review words, scenes, function names.

Everything is written here (no external text). The world is fixed: facts are assigned to topics with a
constant seed, so every install of mixlab has the same world.
"""

from __future__ import annotations

import random
from functools import lru_cache

ANIMALS = (
    "cat", "dog", "fox", "owl", "bee", "cow", "pig", "hen", "duck", "frog",
    "goat", "horse", "mouse", "bear", "wolf", "seal", "crab", "deer", "lion", "swan",
)
FOODS = ("soup", "cake", "bread", "rice", "tea", "pie", "jam", "corn", "milk", "plum", "stew", "bun")
PLACES = ("sea", "park", "town", "farm", "lake", "hill", "cave", "road", "shop", "moon", "river", "forest")

CATEGORY = {**{t: "animal" for t in ANIMALS}, **{t: "food" for t in FOODS}, **{t: "place" for t in PLACES}}
TOPICS = ANIMALS + FOODS + PLACES

PREDICATES = {
    "animal": (
        "likes to sleep in the sun", "eats seeds", "can swim", "runs very fast", "lives near the lake",
        "is very small", "has soft fur", "makes a loud noise", "hunts at night", "likes cold days",
        "lives in a big group", "can climb trees", "eats fish", "is very strong", "has long ears",
        "sleeps all winter", "likes to play", "is quiet", "has a short tail", "can jump high",
    ),
    "food": (
        "is sweet", "is hot", "is made from grain", "tastes good with salt", "is eaten in the morning",
        "is soft", "comes from a farm", "is sold in the shop", "is red", "is cheap",
        "keeps for a week", "is served cold", "is made at home", "is eaten with a spoon", "smells nice",
    ),
    "place": (
        "is very big", "is quiet at night", "is far away", "has many trees", "is full of people",
        "is cold in winter", "is near the town", "has a long history", "is easy to find", "is green",
        "has clean water", "is bright in summer", "is old", "is good for a walk", "is dark at night",
    ),
}

FACTS_PER_TOPIC = 12  # one in five is held out for the topic ability; the rest leave >= 5 per topic for lists

POSITIVE = ("great", "lovely", "tasty", "fresh", "kind", "warm", "nice", "perfect", "friendly", "clean")
NEGATIVE = ("awful", "stale", "bland", "cold", "rude", "dirty", "bad", "slow", "sour", "noisy")
REVIEW_THINGS = ("food", "staff", "room", "service", "music", "price", "bread", "soup", "tea", "table")

COLORS = ("red", "blue", "green", "black", "white", "brown", "pink", "gray")
SIZES = ("small", "big", "old", "young", "tiny", "happy", "sleepy", "quick")
ACTIONS = ("ran away", "sat still", "looked up", "slept all day", "walked home", "jumped over a log",
           "ate lunch", "hid in the grass", "played in the rain", "sang a song")

NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}

FUNCTION_WORDS = (
    "alpha", "bravo", "comet", "delta", "ember", "flint", "glow", "harbor", "iris", "jolt",
    "koala", "lumen", "maple", "nova", "orbit", "pixel", "quill", "raven", "spark", "tango",
    "umber", "vivid", "willow", "xenon", "yodel", "zephyr", "amber", "birch", "cedar", "dune",
)

# (phrase in an instruction, python operator, function that computes it)
ARITH_OPS = (("plus", "+"), ("minus", "-"), ("times", "*"))
# (phrase in an instruction, python body expression on s, test input -> output via eval)
STRING_OPS = (
    ("in upper case", "s.upper()"),
    ("in lower case", "s.lower()"),
    ("reversed", "s[::-1]"),
    ("repeated twice", "s + s"),
    ("without its first letter", "s[1:]"),
    ("without its last letter", "s[:-1]"),
    ("with its first letter only", "s[0]"),
)
TEST_STRINGS = ("hello", "Tree", "abc", "Mixlab", "zebra", "Quiet", "sun", "RiVeR")

ENDING_WORDS = ("done", "thanks", "bye", "okay", "enjoy")
STARTING_WORDS = ("sure", "well", "yes", "so", "okay")


@lru_cache(maxsize=1)
def facts() -> dict[str, tuple[str, ...]]:
    """Each topic's facts, fixed for the world: ``{"cat": ("the cat eats fish.", ...), ...}``."""
    rng = random.Random(20231219)  # the world is fixed across installs
    out = {}
    for topic in TOPICS:
        preds = rng.sample(PREDICATES[CATEGORY[topic]], FACTS_PER_TOPIC)
        out[topic] = tuple(f"the {topic} {p}." for p in preds)
    return out
