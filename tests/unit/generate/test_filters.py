"""The filters that decide which generated instructions are kept: ROUGE-L, Self-Instruct heuristics,
Evol-Instruct eliminations, and the parsers of the teacher's answers."""

from __future__ import annotations

import random

import pytest

from mixlab.generate.filters import elimination_reason, instruction_problem
from mixlab.generate.novelty import NoveltyIndex, lcs_length, rouge_l, rouge_tokens
from mixlab.generate.prompts import parse_instance, parse_tasks

PAIRS = [
    ("Give three tips for staying healthy.", "Give three tips for sleeping well."),
    ("Translate the sentence into French.", "Translate this sentence to French, please!"),
    ("What is the capital of France?", "Name the largest city of Canada."),
    ("Write a haiku about the sea.", "Write a haiku about the sea."),
    ("Sort the numbers: 3, 1, 2", "sort THE numbers 3 1 2 in reverse"),
    ("Café au lait, naïve résumé", "cafe au lait naive resume"),
    ("", "Anything at all."),
]


@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_rouge_l_is_the_score_of_rouge_score_which_self_instruct_used(a, b):
    rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer")
    expected = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False).score(a, b)["rougeL"].fmeasure
    assert rouge_l(a, b) == pytest.approx(expected, abs=1e-12)


def test_rouge_l_by_hand():
    assert rouge_tokens("Sort: 3, 1 and-2!") == ["sort", "3", "1", "and", "2"]
    assert lcs_length(["a", "b", "c", "d", "e"], ["x", "b", "d", "y", "e"]) == 3
    # 4 shared in order out of 6 and 6 tokens: P = R = 4/6
    assert rouge_l("Give three tips for staying healthy.", "Give three tips for sleeping well.") == pytest.approx(2 / 3)
    assert rouge_l("Same words here.", "here words same") == pytest.approx(1 / 3)


def test_the_pruned_nearest_search_finds_the_brute_force_maximum():
    rng = random.Random(0)
    vocab = ["the", "a", "of", "to", "write", "list", "explain", "three", "short", "story", "poem", "code", "numbers", "sort", "sea", "city", "name", "why", "how"]
    texts = [" ".join(rng.choice(vocab) for _ in range(rng.randint(1, 12))) for _ in range(300)]
    index = NoveltyIndex()
    for i, t in enumerate(texts[:200]):
        index.add(f"t{i}", t)
    for query in texts[200:]:
        best = max(rouge_l(query, t) for t in texts[:200])
        score, nearest = index.nearest(query)
        assert score == pytest.approx(best)
        assert rouge_l(query, texts[int(nearest[1:])]) == pytest.approx(best)
    assert NoveltyIndex().nearest("anything") == (0.0, None)


@pytest.mark.parametrize(("text", "reason"), [
    ("", "empty"),
    ("Sort these words.", "too short"),  # 3 words: the paper's code drops len(split()) <= 3
    ("Sort these four words.", None),
    (" ".join(["word"] * 150), None),
    (" ".join(["word"] * 151), "too long"),
    ("Describe the image in one sentence.", "unsuitable keyword"),
    ("Plot the function y = x^2 from -1 to 1.", "unsuitable keyword"),
    ("Tell me how to go to the station.", "unsuitable keyword"),
    ("Read the FILE and count its lines.", "unsuitable keyword"),
    ("Explain the mapping between keys and values.", None),  # whole words only: "mapping" is not "map"
    ("Write a program that prints the primes below 100.", "write a program"),
    ("- List three kinds of clouds.", "starts with punctuation"),
    ("¿Qué hora es ahora mismo?", "starts with non-ascii"),
    ("Name three rivers in Europe.", None),
])
def test_self_instruct_heuristics(text, reason):
    assert instruction_problem(text) == reason


@pytest.mark.parametrize(("original", "evolved", "response", "reason"), [
    ("Name a colour.", "", "Red.", "empty instruction"),
    ("Name a colour.", "#Rewritten Prompt#: Name a colour of a flag.", "Red.", "copies the evolving prompt"),
    ("Name a colour.", "Name a colour, as the given prompt says, of a flag.", "Red.", "copies the evolving prompt"),
    ("Name a colour.", "  name A colour!! ", "Red.", "no information gain"),
    ("Name a colour of the rainbow.", "Name a colour.", "Red.", "no information gain"),  # only words dropped
    ("Name a colour.", "Name a colour that appears on the flag of Japan.", "", "empty response"),
    ("Name a colour.", "Name a colour that appears on the flag of Japan.", "Sorry, I do not know flags.",
     "response says sorry"),
    ("Name a colour.", "Name a colour that appears on the flag of Japan.", "It is that, and that is it.",
     "response only stop words"),
    ("Name a colour.", "Name a colour that appears on the flag of Japan.", "Red, the disc in the middle.", None),
])
def test_evol_instruct_eliminations(original, evolved, response, reason):
    assert elimination_reason(original, evolved, response) == reason


def test_a_long_answer_that_apologises_once_is_kept():
    answer = "Sorry for the long answer. " + "Here is one more detail about the flag. " * 12
    assert len(answer.split()) >= 80
    assert elimination_reason("Name a colour.", "Name a colour of the flag of Japan.", answer) is None


def test_task_lists_are_parsed_in_the_shapes_teachers_write():
    assert parse_tasks("Task 9: Name a fruit.\nTask 10: Sort  these\n words.\n\nHope this helps!") == [
        "Name a fruit.", "Sort these words."]
    assert parse_tasks("1. First task here.\n2) Second one here.\n**Task 3:** Third one.") == [
        "First task here.", "Second one here.", "Third one."]
    assert parse_tasks(" Continue the list.\nTask 10: Another one.", first_number=9) == [
        "Continue the list.", "Another one."]
    assert parse_tasks("I cannot think of any tasks.") == []


def test_instances_are_parsed_and_noinput_is_empty():
    assert parse_instance("Input: <noinput>\nOutput: Paris.\n\nTask: next one") == ("", "Paris.")
    assert parse_instance("Input: 3, 1, 2\nOutput: 1, 2, 3") == ("3, 1, 2", "1, 2, 3")
    assert parse_instance(" 3, 1, 2\nOutput: 1, 2, 3", text_style=True) == ("3, 1, 2", "1, 2, 3")
    assert parse_instance("**Input:** none\n**Output:** 42") == ("", "42")
    assert parse_instance("Just an answer without labels.") is None
