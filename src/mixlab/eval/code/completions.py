"""From what a model wrote to the code that is run: stop sequences, code fences, re-indentation.

Base models continue the prompt: a HumanEval completion is the rest of the function body, cut where a new
top-level statement starts (the stop sequences of the Codex paper). Chat models answer in prose with a
fenced code block, usually repeating the whole function: the block is extracted, and a full definition of
the entry point simply redefines the prompt's (a function whose body is only a docstring is valid Python).

>>> humaneval_completion("    return x + 1\\ndef other():\\n    pass", entry_point="inc", reply=False)
('    return x + 1', [])
>>> humaneval_completion("```\\n\\nThis function adds one.", entry_point="inc", reply=False)
('', [])
>>> text = "Sure!\\n```python\\ndef inc(x):\\n    return x + 1\\n```\\nHope it helps."
>>> humaneval_completion(text, entry_point="inc", reply=True)
('\\ndef inc(x):\\n    return x + 1\\n', ['fenced code extracted'])
>>> mbpp_completion("def f(a):\\n    return a\\n[DONE]\\nYou are an expert")
('def f(a):\\n    return a', [])
"""

from __future__ import annotations

import re

from mixlab.eval.lm import cut_at_stop

#: where a HumanEval completion ends (Chen et al., 2021), plus the end of a code fence. ``"```\n"`` is a bare
#: fence (a Python-tagged one reads ``"```python\n"``): ``humaneval_completion`` cuts a continuation there
#: anyway, and instruct models that close the prompt's code with one then write prose up to the token limit
#: (6 of 20 items of a LoRA-tuned SmolLM2 did, and kept the whole batch generating for 256 steps)
HUMANEVAL_STOP = ("\nclass", "\ndef", "\n#", "\nif", "\nprint", "\n```", "```\n")
#: where an MBPP completion ends: the ``[DONE]`` delimiter, or the model starting the next problem
MBPP_STOP = ("[DONE]", "\nYou are an expert Python programmer", "\n```")

PYTHON_TAGS = ("python", "py", "python3")
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n(.*?)(?:\n```|\Z)", re.DOTALL)


def extract_code(text: str) -> tuple[str, bool]:
    """The first fenced code block (preferring a Python one), or the text itself; and whether a fence was found.

    >>> extract_code("Here:\\n```py\\nx = 1\\n```")
    ('x = 1', True)
    >>> extract_code("x = 1")
    ('x = 1', False)
    """
    blocks = [(m.group(1).lower(), m.group(2)) for m in _FENCE.finditer(text)]
    if not blocks:
        return text, False
    for lang, code in blocks:
        if lang in PYTHON_TAGS:
            return code, True
    return blocks[0][1], True


def defines(code: str, name: str) -> bool:
    """Whether ``code`` defines ``name`` at top level (``def name(`` or ``async def name(``)."""
    return bool(name) and re.search(rf"^(async\s+)?def\s+{re.escape(name)}\s*\(", code, re.MULTILINE) is not None


def opens_python_fence(text: str) -> bool:
    """Whether ``text`` starts with a fence tagged as Python (a chat-style answer, not a continuation).

    >>> opens_python_fence("```python\\ndef f(): pass"), opens_python_fence("```\\n\\nThis function ...")
    (True, False)
    """
    m = _FENCE.match(text.lstrip())
    return m is not None and m.group(1).lower() in PYTHON_TAGS


def humaneval_completion(text: str, *, entry_point: str, reply: bool) -> tuple[str, list[str]]:
    """What to append to a HumanEval prompt; and the notes on what was done (counted by the suites).

    ``reply=True`` (chat answers): the first fenced block anywhere is the code. ``reply=False`` (a raw
    continuation of the prompt): only a Python-tagged fence right at the start is; a bare fence there closes
    the prompt's code (instruct models do that), and everything from it on is cut.
    """
    notes: list[str] = []
    if reply or opens_python_fence(text):
        code, fenced = extract_code(text)
    else:
        code, fenced = cut_at_stop(text, ("```",)), False
    if fenced:
        notes.append("fenced code extracted")
    if defines(code, entry_point):
        # A whole function: placed after the prompt, it redefines the prompt's (docstring-only) function.
        return "\n" + code.strip("\n") + "\n", notes
    body = cut_at_stop(code, HUMANEVAL_STOP).rstrip()
    first = next((line for line in body.splitlines() if line.strip()), "")
    if first and not first.startswith((" ", "\t")):
        body = "\n".join(("    " + line) if line.strip() else line for line in body.splitlines())
        notes.append("body re-indented")
    return body, notes


def mbpp_completion(text: str) -> tuple[str, list[str]]:
    """The code of an MBPP answer: a fenced block if there is one, else the text up to ``[DONE]``."""
    notes: list[str] = []
    code, fenced = extract_code(text)
    if fenced:
        notes.append("fenced code extracted")
    code = cut_at_stop(code, MBPP_STOP)
    code = code.replace("[BEGIN]", "").strip("\n")
    return code.rstrip(), notes
