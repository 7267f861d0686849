"""A deterministic teacher for testing generation plumbing: its answers are a fixed function of the prompt and
the request's seed, and it writes a known share of bad candidates, so every filter gets work."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any

from mixlab.eval.lm import GenerationRequest, LoglikelihoodRequest, LoglikelihoodResult

TOPICS = ["tides", "volcanoes", "interest rates", "photosynthesis", "chess openings", "bread yeast", "glaciers",
          "compilers", "honey bees", "solar panels", "jazz chords", "bridges", "vaccines", "tax brackets", "comets",
          "coral reefs", "sourdough", "elections", "batteries", "origami", "typhoons", "caffeine", "sonnets"]
VERBS = ["Explain", "Describe", "Compare", "Summarise", "Classify", "Rank", "Critique", "Outline"]
WORDS = ["tides", "volcanoes", "interest", "photosynthesis", "chess", "yeast", "glaciers", "compilers", "bees",
         "solar", "jazz", "bridges", "vaccines", "taxes", "comets", "coral", "sourdough", "elections", "batteries",
         "origami", "typhoons", "caffeine", "sonnets", "lanterns", "falcons", "marathons", "tectonics", "ballots",
         "quilts", "lichens", "pianos", "satellites", "geysers", "harbours", "orchards", "dialects", "kilns",
         "monsoons", "abacus", "ferries", "mosaics", "sundials"]


class CrashAfter(RuntimeError):
    """Raised by ``FakeTeacher`` after ``crash_after`` generate calls: a run dying mid-way."""


def _h(*parts: Any) -> int:
    return int.from_bytes(hashlib.sha256("\x00".join(map(str, parts)).encode()).digest()[:8], "big")


def _text(prompt: Any) -> str:
    return prompt if isinstance(prompt, str) else prompt[-1].content


class FakeTeacher:
    def __init__(self, crash_after: int | None = None):
        self.crash_after = crash_after
        self.calls = 0
        self.requests = 0

    def identity(self) -> dict[str, Any]:
        return {"backend": "fake", "model": "fake-teacher", "template": "none"}

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[LoglikelihoodResult]:
        raise NotImplementedError

    def generate(self, requests: Sequence[GenerationRequest]) -> list[list[str]]:
        if self.crash_after is not None and self.calls >= self.crash_after:
            raise CrashAfter(f"crashed after {self.calls} calls")
        self.calls += 1
        self.requests += len(requests)
        return [[self._answer(_text(r.prompt), r.seed)] for r in requests]

    def _answer(self, text: str, seed: int) -> str:
        h = _h(text, seed)
        if text.startswith("Come up with a series"):
            return self._tasks(text, h)
        if text.startswith("Write an example input"):
            task = text.rsplit("Task: ", 1)[1].split("\n")[0]
            if "sonnets" in task:  # a teacher that ignores the format now and then
                return "I would rather not."
            return f"Input: <noinput>\nOutput: An answer about {task.lower()}"
        if "#Rewritten Prompt#:" in text or "#Created Prompt#:" in text:
            given = re.search(r"Prompt#:\n(.*?)\n\n#", text, re.S).group(1)
            kind = h % 6
            if kind == 0:
                return given  # no information gain
            if kind == 1:
                return f"#Rewritten Prompt#: {given}"  # copies the evolving prompt
            if kind == 2:
                return f"{given} Apologise politely."  # its answer will say sorry
            return f"{given} Use exactly {3 + h % 5} examples about {TOPICS[h % len(TOPICS)]}."
        if "Apologise politely" in text:
            return "Sorry, I cannot do that."
        return f"Here is a careful answer with {2 + seed % 4} worked examples and a summary."

    @staticmethod
    def _tasks(text: str, h: int) -> str:
        k = len(re.findall(r"(?m)^Task \d+:", text))
        lines = []
        for j in range(4):
            g = _h(h, j)
            verb = VERBS[g % len(VERBS)]
            words = [WORDS[(g >> (6 * i)) % len(WORDS)] for i in range(1, 7)]
            lines.append(f"{verb} {' '.join(words)}.")
        lines.append("Draw a picture of a lighthouse at night.")  # unsuitable keyword
        lines.append("Sort these.")  # too short
        first_demo = re.search(r"(?m)^Task 1: (.*)$", text).group(1)
        lines.append(first_demo)  # a copy of a task it was shown
        return "\n".join(f"Task {k + 1 + i}: {line}" for i, line in enumerate(lines))
