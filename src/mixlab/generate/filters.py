"""The rules that drop generated instructions, each with a countable reason.

Self-Instruct (Wang et al. 2022, section 2.3 and its released ``bootstrap_instructions.py``) drops a new
instruction that is too short or too long, names something a text model cannot see or make (an image, a
graph, a file, ...), asks to "Write a program" (ambiguous: write it, or run it?), starts with punctuation or a
non-ASCII character, repeats one already seen, or is too similar to one already kept (ROUGE-L >= 0.7,
``novelty.py``).

>>> instruction_problem("Describe the picture above in two sentences.")
'unsuitable keyword'
>>> instruction_problem("Sort.")
'too short'
>>> instruction_problem("List three fruits that are red.") is None
True

Evol-Instruct (Xu et al. 2023, section 3.3) eliminates an evolution when the evolved instruction brings no
information gain over the one it evolved from, when the response shows the teacher could not answer it
("sorry" in a short answer, or nothing but punctuation and stop words), or when the evolved instruction copies
the evolving prompt's own words ("#Rewritten Prompt#", "given prompt").

>>> elimination_reason("Name a colour.", "Name a colour.", "Blue.")
'no information gain'
>>> elimination_reason("Name a colour.", "Name a colour used in flags.", "I am sorry, I cannot.")
'response says sorry'
>>> elimination_reason("Name a colour.", "#Rewritten Prompt#: Name a flag colour.", "Red.")
'copies the evolving prompt'
"""

from __future__ import annotations

import re
import string

from mixlab.generate.novelty import rouge_tokens

#: Self-Instruct's word-count bounds: its code drops ``len(inst.split()) <= 3`` and ``> 150``
MIN_WORDS, MAX_WORDS = 4, 150

#: Self-Instruct's keyword list (whole words, any case): things a text-only model cannot perceive or produce
UNSUITABLE_KEYWORDS = ("image", "images", "graph", "graphs", "picture", "pictures", "file", "files", "map", "maps",
                       "draw", "plot", "go to", "video", "audio", "music", "flowchart", "diagram")
_KEYWORD_RE = re.compile(r"\b(?:" + "|".join(re.escape(k) for k in UNSUITABLE_KEYWORDS) + r")\b", re.IGNORECASE)

#: reasons of ``instruction_problem``, in the order they are checked (the first that applies is counted)
INSTRUCTION_REASONS = ("empty", "too short", "too long", "unsuitable keyword", "write a program",
                       "starts with punctuation", "starts with non-ascii")


def instruction_problem(text: str) -> str | None:
    """The first Self-Instruct heuristic that ``text`` fails, or ``None`` when it passes them all.

    Duplicates and ROUGE-L similarity need the instructions kept so far; the generator checks them after this.
    """
    text = text.strip()
    if not text:
        return "empty"
    words = len(text.split())
    if words < MIN_WORDS:
        return "too short"
    if words > MAX_WORDS:
        return "too long"
    if _KEYWORD_RE.search(text):
        return "unsuitable keyword"
    if text.startswith("Write a program"):
        return "write a program"
    if text[0] in string.punctuation:
        return "starts with punctuation"
    if not text[0].isascii():
        return "starts with non-ascii"
    return None


def normalize(text: str) -> str:
    """The form two instructions are compared in for duplicates: ROUGE tokens joined by single spaces."""
    return " ".join(rouge_tokens(text))


#: words of the evolving prompts that must not show up in an evolved instruction (Evol-Instruct rule 4)
PROMPT_WORDS = ("#the given prompt#", "#given prompt#", "#rewritten prompt#", "#created prompt#", "given prompt",
                "rewritten prompt", "created prompt")

#: Evol-Instruct rule 2: a response containing "sorry" and shorter than 80 words shows the teacher gave up
SORRY_MAX_WORDS = 80

#: common English function words (rule 3: a response made of nothing else carries no answer)
STOP_WORDS = frozenset(
    ["a", "an", "the", "and", "or", "but", "if", "then", "so", "of", "to", "in", "on", "at", "by", "for", "with", "from", "as", "is", "are", "was", "were", "be", "been", "being", "it", "its", "this", "that", "these", "those", "i", "you", "he", "she", "we", "they", "me", "him", "her", "us", "them", "my", "your", "our", "their", "not", "no", "yes", "do", "does", "did", "have", "has", "had", "will", "would", "can", "could", "should", "may", "might", "must", "here", "there", "what", "which", "who", "whom", "how", "why", "when"]
)

#: reasons of ``elimination_reason``, in the order they are checked
ELIMINATION_REASONS = ("empty instruction", "copies the evolving prompt", "no information gain", "empty response",
                       "response says sorry", "response only stop words")


def elimination_reason(original: str, evolved: str, response: str) -> str | None:
    """The Evol-Instruct rule that eliminates this evolution, or ``None`` when it is kept.

    "No information gain" is decided without a judge model: the evolved instruction is equal to the original
    after normalisation, or adds no word the original did not have (it only dropped or reordered words). The
    paper asked ChatGPT whether the two are equal; this rule is the deterministic part of that question.
    """
    return evolved_problem(original, evolved) or response_problem(response)


def evolved_problem(original: str, evolved: str) -> str | None:
    """The rules that need only the evolved instruction (checked before the teacher is asked to answer it)."""
    if not evolved.strip():
        return "empty instruction"
    lowered = evolved.lower()
    if any(w in lowered for w in PROMPT_WORDS):
        return "copies the evolving prompt"
    new_words = set(rouge_tokens(evolved)) - set(rouge_tokens(original))
    if normalize(evolved) == normalize(original) or not new_words:
        return "no information gain"
    return None


def response_problem(response: str) -> str | None:
    """The rules on the teacher's answer to the evolved instruction."""
    if not response.strip():
        return "empty response"
    if "sorry" in response.lower() and len(response.split()) < SORRY_MAX_WORDS:
        return "response says sorry"
    if all(t in STOP_WORDS for t in rouge_tokens(response)):
        return "response only stop words"
    return None
