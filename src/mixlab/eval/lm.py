"""The one interface every model backend implements: log-likelihood and generation.

A prompt is either raw text (scored / continued as is) or a conversation (a tuple of ``Message``), which the
backend renders with its chat template. The template actually used is part of ``LM.identity()`` and is
recorded with every score, because template on/off changes scores a lot (see ``docs/footguns.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from mixlab.data.example import Message

Prompt = str | tuple[Message, ...]


def prompt_to_json(prompt: Prompt) -> str | list[dict[str, Any]]:
    """A prompt as it is written into item records: the text, or the conversation as role/content dicts."""
    return prompt if isinstance(prompt, str) else [m.to_dict() for m in prompt]


@dataclass(frozen=True)
class LoglikelihoodRequest:
    """Score ``continuation`` given ``context``: the sum of log-probabilities of its tokens."""

    context: Prompt
    continuation: str


@dataclass(frozen=True)
class LoglikelihoodResult:
    logprob: float
    is_greedy: bool
    n_tokens: int


@dataclass(frozen=True)
class GenerationRequest:
    """Generate up to ``max_new_tokens``; cut at the first ``stop`` string. ``n`` samples per request."""

    prompt: Prompt
    max_new_tokens: int = 256
    stop: tuple[str, ...] = ()
    temperature: float = 0.0
    top_p: float = 1.0
    n: int = 1
    seed: int = 0


@runtime_checkable
class LM(Protocol):
    def identity(self) -> dict[str, Any]:
        """What makes scores comparable: backend, model path/id, weights hash, chat template name + hash."""
        ...

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[LoglikelihoodResult]: ...

    def generate(self, requests: Sequence[GenerationRequest]) -> list[list[str]]:
        """One list of ``request.n`` completions per request, in request order."""
        ...


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """Cut ``text`` at the earliest stop string.

    >>> cut_at_stop("42\\nQuestion: next", ["\\nQuestion:", "</s>"])
    '42'
    """
    cut = len(text)
    for s in stop:
        if s:
            i = text.find(s)
            if i != -1:
                cut = min(cut, i)
    return text[:cut]
