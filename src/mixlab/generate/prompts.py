"""The teacher prompts of both methods, and the parsers of what the teacher writes back.

Every prompt exists in two styles. ``chat``: one user turn, which the backend (or the server) renders with the
teacher's chat template; right for instruct models and the only choice for chat-only APIs. ``text``: raw text
the teacher continues, as in the papers (Self-Instruct prompted GPT-3 with "Task 9:" and let it go on); right
for base models. The exact text sent is recorded with every row.

>>> parse_tasks("Task 9: Name a fruit.\\nTask 10: Sort these words.\\n")
['Name a fruit.', 'Sort these words.']
>>> parse_instance("Input: <noinput>\\nOutput: Paris.")
('', 'Paris.')
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from mixlab.data.example import Message
from mixlab.eval.lm import Prompt

STYLES = ("chat", "text")


def as_prompt(text: str, style: str) -> Prompt:
    """The text as a chat turn or as raw text."""
    return (Message("user", text),) if style == "chat" else text


# ----------------------------------------------------------------------------------------- Self-Instruct
def proposal_prompt(instructions: Sequence[str], n_new: int, style: str) -> str:
    """Ask for ``n_new`` new tasks after numbered examples (Self-Instruct's "Come up with a series of tasks")."""
    listed = "\n".join(f"Task {i}: {' '.join(t.split())}" for i, t in enumerate(instructions, 1))
    k = len(instructions)
    if style == "text":
        return f"Come up with a series of tasks:\n\n{listed}\nTask {k + 1}:"
    return (f"Come up with a series of new tasks. Here are {k} examples:\n\n{listed}\n\n"
            f"Write {n_new} new tasks that differ from these and from each other, in the same format, one per line, "
            f"numbered Task {k + 1} to Task {k + n_new}.")


_TASK_HEAD = re.compile(r"(?im)^[ \t]*(?:\*\*)?(?:task[ \t]*)?\d+[ \t]*(?:\*\*)?[ \t]*[:.)][ \t]*(?:\*\*)?")


def parse_tasks(completion: str, first_number: int | None = None) -> list[str]:
    """The instructions in a numbered list (``Task 9: ...`` or ``9. ...``); each one's whitespace collapsed.

    A raw-text completion starts right after the prompt's last ``Task k:``; pass ``first_number=k`` so its
    first line counts as a task too.
    """
    if first_number is not None:
        completion = f"Task {first_number}: {completion.lstrip()}"
    heads = list(_TASK_HEAD.finditer(completion))
    out = []
    for i, head in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(completion)
        text = completion[head.end():end]
        text = text.split("\n\n")[0]  # a blank line ends a task: what follows is commentary
        text = " ".join(text.split()).strip(" *")
        if text:
            out.append(text)
    return out


INSTANCE_INTRO = ("Write an example input and its correct output for the last task. If the task needs no input, "
                  "write \"Input: <noinput>\".")


def instance_prompt(instruction: str, demos: Sequence[tuple[str, str, str]], style: str) -> str:
    """Ask for one input and output of ``instruction``, after a few (instruction, input, output) demonstrations."""
    shown = "\n\n".join(f"Task: {' '.join(i.split())}\nInput: {inp.strip() or '<noinput>'}\nOutput: {out.strip()}"
                        for i, inp, out in demos)
    task = f"Task: {' '.join(instruction.split())}"
    if style == "text":
        return f"{INSTANCE_INTRO}\n\n{shown}\n\n{task}\nInput:"
    return f"{INSTANCE_INTRO}\n\n{shown}\n\n{task}\n\nAnswer in the same format: a line \"Input: ...\", then \"Output: ...\"."


_OUTPUT = re.compile(r"(?im)^[ \t]*(?:\*\*)?output(?:\*\*)?[ \t]*:(?:\*\*)?")
_INPUT = re.compile(r"(?is)^\s*(?:\*\*)?input(?:\*\*)?[ \t]*:(?:\*\*)?")
_NEXT_TASK = re.compile(r"(?im)^[ \t]*task[ \t]*:")


def parse_instance(completion: str, text_style: bool = False) -> tuple[str, str] | None:
    """``(input, output)`` from ``Input: ... Output: ...``, or ``None`` when there is no ``Output:``.

    ``<noinput>`` (or an empty input) becomes ``""``. The output ends where the teacher starts another task.
    """
    if text_style:
        completion = "Input:" + completion
    found = _OUTPUT.search(completion)
    if found is None:
        return None
    inp = _INPUT.sub("", completion[: found.start()], count=1).strip()
    out = completion[found.end():]
    nxt = _NEXT_TASK.search(out)
    out = (out[: nxt.start()] if nxt else out).strip()
    if inp.lower().strip("<>").strip() in ("noinput", "no input", "none", ""):
        inp = ""
    return inp, out


# ----------------------------------------------------------------------------------------- Evol-Instruct
_DEPTH_HEAD = (
    "I want you to act as a Prompt Rewriter. Rewrite the given prompt into a more complex version that well-known "
    "AI assistants would find harder to handle, while it stays reasonable, understandable to people and possible to "
    "answer. Keep any non-text parts of #The Given Prompt#, such as tables or code. {method} The #Rewritten Prompt# "
    "may add at most 10 to 20 words to #The Given Prompt#. The words '#The Given Prompt#', '#Rewritten Prompt#', "
    "'given prompt' and 'rewritten prompt' must not appear in the #Rewritten Prompt#.\n\n"
    "#The Given Prompt#:\n{instruction}\n\n#Rewritten Prompt#:\n"
)

#: Evol-Instruct's in-depth evolutions (what each asks of the rewriter) and its in-breadth evolution
EVOLUTIONS = {
    "add_constraints": "Add one more constraint or requirement to #The Given Prompt#.",
    "deepen": "If #The Given Prompt# asks about certain issues, increase the depth and breadth of the inquiry.",
    "concretize": "Replace general concepts in #The Given Prompt# with more specific ones.",
    "increase_reasoning": "If #The Given Prompt# can be solved with a few simple steps of thinking, rewrite it to "
                          "ask explicitly for reasoning in several steps.",
    "breadth": "",
}

_BREADTH = (
    "I want you to act as a Prompt Creator. Draw inspiration from the #Given Prompt# to create a brand new prompt. "
    "The new prompt must belong to the same domain as the #Given Prompt# but be rarer. Its length and complexity "
    "should be similar to those of the #Given Prompt#. The #Created Prompt# must be reasonable, and people must be "
    "able to understand and answer it. The words '#Given Prompt#', '#Created Prompt#', 'given prompt' and "
    "'created prompt' must not appear in the #Created Prompt#.\n\n#Given Prompt#:\n{instruction}\n\n#Created Prompt#:\n"
)


def evolution_prompt(instruction: str, evolution: str) -> str:
    """The prompt that asks the teacher to evolve ``instruction`` by ``evolution`` (a key of ``EVOLUTIONS``)."""
    if evolution == "breadth":
        return _BREADTH.format(instruction=instruction.strip())
    return _DEPTH_HEAD.format(method=EVOLUTIONS[evolution], instruction=instruction.strip())


def response_prompt(instruction: str, style: str) -> str:
    """What the teacher answers: the instruction itself (chat), or the Alpaca layout for a raw-text teacher."""
    if style == "chat":
        return instruction
    return ("Below is an instruction that describes a task. Write a response that appropriately completes the "
            f"request.\n\n### Instruction:\n{instruction.strip()}\n\n### Response:\n")
