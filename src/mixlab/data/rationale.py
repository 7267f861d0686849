"""Chain-of-thought data with and without its rationales: ``rationale: drop`` on a source keeps only the final
answer of every response, so one file gives both arms of a chain-of-thought study at equal rows.

The final answer of a row is, in this order: ``meta["final_answer"]`` (set by formats that know it, e.g.
``gsm8k``'s ``#### N`` line), else the response's last line when it starts with ``####``, else the last
sentence that says "the answer is ..." (any case; Alpaca-format chain-of-thought files often end that way).
A row with none of these cannot be written without its rationale: it is quarantined with the reason
``no final answer`` (counted in the manifest, never dropped silently).

>>> from mixlab.data.example import Example
>>> ex = Example.from_pair("m-0", "m", "2 + 3 - 1?", "2 + 3 = 5. 5 - 1 = 4. The answer is 4.")
>>> final_answer(ex)
'The answer is 4.'
>>> final_answer(Example.from_pair("m-1", "m", "Name a colour.", "Blue.")) is None
True
"""

from __future__ import annotations

import dataclasses
import re

from mixlab.data.example import Example, Message, Rejected
from mixlab.data.load import LoadedSource
from mixlab.errors import MixlabError

#: values of a source's ``rationale`` field
RATIONALE = ("keep", "drop")

_HASH_LINE = re.compile(r"^####\s*\S.*$", re.MULTILINE)
_ANSWER_IS = re.compile(r"(?i)(?:^|(?<=[.!?\n]))\s*([^.!?\n]*\bthe (?:final )?answer is\b[^\n]*?)\s*$")


def final_answer(ex: Example) -> str | None:
    """The row's final answer as it should be written without the steps before it, or ``None``."""
    given = ex.meta.get("final_answer") if ex.meta else None
    if isinstance(given, str) and given.strip():
        return given.strip()
    response = ex.response.strip()
    lines = _HASH_LINE.findall(response)
    if lines:
        return lines[-1].strip()
    match = _ANSWER_IS.search(response)
    return match.group(1).strip() if match else None


def drop_rationales(loaded: LoadedSource) -> LoadedSource:
    """``loaded`` with every response replaced by its final answer; rows without one are quarantined."""
    kept: list[Example] = []
    rejected = list(loaded.rejected)
    for i, ex in enumerate(loaded.examples):
        answer = final_answer(ex)
        if answer is None:
            rejected.append(Rejected(loaded.name, int(ex.meta.get("row", i)) if ex.meta else i, "no final answer",
                                     "rationale: drop needs a '#### N' line or 'the answer is ...'",
                                     ex.response[-120:]))
            continue
        messages = (*ex.messages[:-1], Message("assistant", answer))
        kept.append(dataclasses.replace(ex, messages=messages, meta={**ex.meta, "rationale": "dropped"}))
    if loaded.examples and not kept:
        raise MixlabError(f"source '{loaded.name}': rationale: drop found no final answer in any of its "
                          f"{len(loaded.examples)} rows (a '#### N' line, or a sentence 'the answer is ...')")
    return dataclasses.replace(loaded, examples=kept, rejected=rejected)
