"""Worked-answer records: ``{"question", "answer"}`` where ``answer`` is the written steps and then the final
answer after ``#### `` (GSM8K's train and test files; MetaMathQA-style files converted to the same shape).

The user turn is the question; the response is the answer as written, with GSM8K's calculator annotations
(``<<2*3=6>>``) removed, so it ends in ``#### N``, the form mixlab's GSM8K scorer asks for. The final answer
line is kept in ``meta["final_answer"]``: a source read with ``rationale: drop`` trains on that line alone
(chain-of-thought data with and without its rationales, ``mixlab.data.rationale``).

>>> rec = {"question": "Ann has 2 apples and buys 3. How many?", "answer": "2 + 3 = <<2+3=5>>5\\n#### 5"}
>>> ex = Gsm8kFormat().convert(rec, "math", 0)[0]
>>> ex.response, ex.meta["final_answer"]
('2 + 3 = 5\\n#### 5', '#### 5')
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mixlab.data.example import Example
from mixlab.data.formats import FORMATS, ConversionError, require_str, row_id

_CALC = re.compile(r"<<[^>]*>>")
_FINAL = re.compile(r"^####\s*\S.*$", re.MULTILINE)


@FORMATS.register("gsm8k")
class Gsm8kFormat:
    name = "gsm8k"

    def detect(self, record: Mapping[str, Any]) -> bool:
        answer = record.get("answer")
        return isinstance(record.get("question"), str) and isinstance(answer, str) and "####" in answer

    def convert(self, record: Mapping[str, Any], source: str, index: int) -> list[Example]:
        question = require_str(record, "question", empty_reason="empty question")
        answer = _CALC.sub("", require_str(record, "answer", empty_reason="empty answer")).strip()
        finals = _FINAL.findall(answer)
        if not finals:
            raise ConversionError("no final answer", "the answer has no line starting with '#### '")
        return [Example.from_pair(row_id(source, index), source, question, answer,
                                  meta={"row": index, "final_answer": finals[-1].strip()})]
