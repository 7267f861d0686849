"""mixlab's own IFEval-format prompts, for studies on a machine without IFEval's data file.

Google's IFEval (541 prompts) is not shipped with mixlab; ``ifeval_file: builtin`` uses these instead: a fixed
set of ``N_PROMPTS`` records in IFEval's format (``prompt``, ``instruction_id_list``, ``kwargs``), generated
here from writing tasks x topics x one or two verifiable instructions that IFEval's registry names and
mixlab checks. They measure the same kind of ability with the same checkers, but they are not IFEval:
their scores are not comparable with published IFEval numbers (the suite records ``source: builtin``).

The set is the same on every install: a fixed seed, no randomness at import.

>>> records = builtin_records()
>>> len(records), records[0]["key"]
(200, 'builtin-0')
>>> sorted(records[0])
['instruction_id_list', 'key', 'kwargs', 'prompt']
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

N_PROMPTS = 200
SEED = 20240101

TASKS = (
    "Write a short blog post about {t}.", "Write a letter to a friend about {t}.",
    "Explain {t} to a ten-year-old.", "Write a product description for {t}.", "Write a short story about {t}.",
    "Give advice to someone who wants to learn about {t}.", "Write a brief news report about {t}.",
    "Describe {t} for a travel guide.", "Write a short speech about {t}.", "Summarize what people like about {t}.",
)
TOPICS = (
    "owls", "a rainy morning", "the history of bicycles", "public libraries", "learning to swim", "volcanoes",
    "a small bakery", "city gardens", "the moon landing", "board games", "winter in the mountains", "honeybees",
    "an old lighthouse", "recycling", "street food", "the first day at a new job", "jazz music", "coral reefs",
    "a train journey", "homemade bread", "solar panels", "chess", "a lost umbrella", "the night sky",
    "a village market", "paper airplanes", "rivers", "a museum of clocks", "camping", "kindness to strangers",
)
KEYWORDS = ("lantern", "harvest", "window", "promise", "bridge", "silver", "journey", "quiet")
END_PHRASES = ("Is there anything else I can help with?", "Let me know if you have additional questions.")


@dataclass(frozen=True)
class Instruction:
    """One verifiable instruction: its IFEval id, how it is phrased, its kwargs, and its kind (a prompt gets one
    ``form`` or ``case`` instruction, and at most one ``content`` one; ids in ``conflicts`` never meet)."""

    id: str
    kind: str
    make: Callable[[random.Random, str], tuple[str, dict[str, Any]]]
    conflicts: tuple[str, ...] = ()


def _fixed(text: str) -> Callable[[random.Random, str], tuple[str, dict[str, Any]]]:
    return lambda rng, task: (text, {})


def _n(text: str, key: str, values: tuple[int, ...], **extra: Any) -> Callable[..., tuple[str, dict[str, Any]]]:
    def make(rng: random.Random, task: str) -> tuple[str, dict[str, Any]]:
        n = rng.choice(values)
        return text.format(n=n), {key: n, **extra}
    return make


def _keywords(rng: random.Random, task: str) -> tuple[str, dict[str, Any]]:
    a, b = rng.sample(KEYWORDS, 2)
    return f"Include the keywords {a} and {b} in the response.", {"keywords": [a, b]}


def _forbidden(rng: random.Random, task: str) -> tuple[str, dict[str, Any]]:
    a, b = rng.sample(("very", "really", "amazing", "good", "thing"), 2)
    return f"Do not include the words {a} or {b} in the response.", {"forbidden_words": [a, b]}


def _frequency(rng: random.Random, task: str) -> tuple[str, dict[str, Any]]:
    word, n = rng.choice(KEYWORDS), rng.choice((2, 3))
    return (f"In your response, the word {word} should appear at least {n} times.",
            {"keyword": word, "frequency": n, "relation": "at least"})


def _end(rng: random.Random, task: str) -> tuple[str, dict[str, Any]]:
    phrase = rng.choice(END_PHRASES)
    return f"Finish your response with this exact phrase: {phrase} No other words should follow it.", {
        "end_phrase": phrase}


def _repeat(rng: random.Random, task: str) -> tuple[str, dict[str, Any]]:
    return ("First repeat the request word for word without change, then give your answer (do not say anything "
            "before repeating the request; the request to repeat does not include this sentence).",
            {"prompt_to_repeat": task})


def _words(rng: random.Random, task: str) -> tuple[str, dict[str, Any]]:
    if rng.random() < 0.5:
        n = rng.choice((40, 60, 80))
        return f"Answer with at least {n} words.", {"relation": "at least", "num_words": n}
    n = rng.choice((30, 50))
    return f"Answer with less than {n} words.", {"relation": "less than", "num_words": n}


INSTRUCTIONS = (
    Instruction("punctuation:no_comma", "content", _fixed("Do not use any commas in your response."),
                conflicts=("detectable_format:json_format",)),
    Instruction("length_constraints:number_words", "content", _words),
    Instruction("length_constraints:number_sentences", "content",
                _n("Answer in less than {n} sentences.", "num_sentences", (4, 6), relation="less than")),
    Instruction("keywords:existence", "content", _keywords),
    Instruction("keywords:forbidden_words", "content", _forbidden),
    Instruction("keywords:frequency", "content", _frequency),
    Instruction("change_case:english_lowercase", "case",
                _fixed("Your entire response should be in English, and in all lowercase letters. No capital "
                       "letters are allowed.")),
    Instruction("change_case:english_capital", "case",
                _fixed("Your entire response should be in English, and in all capital letters.")),
    Instruction("detectable_format:number_bullet_lists", "form",
                _n("Your answer must contain exactly {n} bullet points. Use markdown bullet points such as:\n"
                   "* This is point 1.", "num_bullets", (2, 3, 4))),
    Instruction("detectable_format:title", "form",
                _fixed("Your answer must contain a title, wrapped in double angular brackets, such as "
                       "<<a day to remember>>.")),
    Instruction("detectable_format:json_format", "form",
                _fixed("Wrap your entire output in JSON format. You can use markdown ticks such as ```.")),
    Instruction("detectable_format:number_highlighted_sections", "form",
                _n("Highlight at least {n} sections in your answer with markdown, i.e. *highlighted section*.",
                   "num_highlights", (2, 3))),
    Instruction("detectable_format:multiple_sections", "form",
                _n("Your response must have {n} sections. Mark the beginning of each section with SECTION X, "
                   "such as: SECTION 1.", "num_sections", (2, 3), section_spliter="SECTION")),
    Instruction("detectable_content:postscript", "form",
                lambda rng, task: ("At the end of your response, please explicitly add a postscript starting "
                                   "with P.S.", {"postscript_marker": "P.S."})),
    Instruction("detectable_content:number_placeholders", "form",
                _n("The response must contain at least {n} placeholders represented by square brackets, such "
                   "as [address].", "num_placeholders", (2, 3))),
    Instruction("length_constraints:number_paragraphs", "form",
                _n("There should be {n} paragraphs. Paragraphs are separated with the markdown divider: ***",
                   "num_paragraphs", (2, 3))),
    Instruction("startend:quotation", "form", _fixed("Wrap your entire response with double quotation marks.")),
    Instruction("startend:end_checker", "form", _end),
    Instruction("combination:two_responses", "form",
                _fixed("Give two different responses. Responses and only responses should be separated by 6 "
                       "asterisk symbols: ******.")),
    Instruction("combination:repeat_prompt", "form", _repeat),
)


def _compatible(first: Instruction, content: Instruction) -> bool:
    if first.id == "combination:repeat_prompt":
        return False  # the request to repeat is the task alone
    if first.kind == "case":  # a keyword or forbidden word has its own capitals; counts are case-free
        return content.id in ("punctuation:no_comma", "length_constraints:number_words")
    return content.id not in first.conflicts and first.id not in content.conflicts


def builtin_records(n: int = N_PROMPTS, seed: int = SEED) -> list[dict[str, Any]]:
    """``n`` IFEval-format records: a task, then one ``form`` or ``case`` instruction and, for half of them, one
    ``content`` instruction that does not conflict with it (keyed ``builtin-0``, ``builtin-1``, ...)."""
    rng = random.Random(seed)
    first = [i for i in INSTRUCTIONS if i.kind in ("form", "case")]
    content = [i for i in INSTRUCTIONS if i.kind == "content"]
    out = []
    for k in range(n):
        task = TASKS[k % len(TASKS)].format(t=TOPICS[(k * 7) % len(TOPICS)])
        chosen = [first[k % len(first)]]
        allowed = [c for c in content if _compatible(chosen[0], c)]
        if rng.random() < 0.5 and allowed:
            chosen.append(rng.choice(allowed))
        texts, kwargs = [], []
        for inst in chosen:
            text, kw = inst.make(rng, task)
            texts.append(text)
            kwargs.append(kw)
        out.append({"key": f"builtin-{k}", "prompt": " ".join([task, *texts]),
                    "instruction_id_list": [i.id for i in chosen], "kwargs": kwargs})
    return out
