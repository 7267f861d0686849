"""Tasks scored on generated text: prompts in chat or raw-text form, stop strings, answer extraction.

A ``GenerationTask`` builds one prompt per item (``render(item, chat)``), generates greedily, and applies
each scorer to the output. A scorer returns ``(value, details)``; details (the extracted answer, say) go into
the item record, so every score can be checked by eye.

``chat=None`` (the default) means: prompt as a conversation when the model has a chat template, as raw text
otherwise. The choice made is written into the task's config (``chat``, and ``template: none`` for raw text).

>>> def exact(output, item):
...     return float(output.strip() == item.target), {}
>>> task = GenerationTask("echo", [GenItem("1", {"q": "Say 4"}, "4")], render=lambda it, chat: it.data["q"],
...                       scorers={"em": exact}, primary="em", ability="demo", chance=0.0)
>>> from mixlab.eval.backends.dummy import DummyLM
>>> task.evaluate(DummyLM(replies={"Say 4": "4"})).metrics["em"].value
1.0
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from mixlab.eval.lm import LM, GenerationRequest, Prompt, prompt_to_json
from mixlab.eval.stats import mean_with_stderr
from mixlab.eval.task import TaskResult
from mixlab.eval.tasks.sampling import counts_since, counts_snapshot, has_chat_template, select_items

Scorer = Callable[[str, "GenItem"], tuple[float, dict[str, Any]]]


@dataclass(frozen=True)
class GenItem:
    id: str
    data: Mapping[str, Any]
    target: str
    #: chance of a random valid answer for this item (a multiple-choice item: 1 / options), else 0
    chance: float = 0.0
    meta: Mapping[str, Any] = field(default_factory=dict)


class GenerationTask:
    """A task scored on greedy generations (implements the ``Task`` protocol)."""

    def __init__(
        self,
        name: str,
        items: Sequence[GenItem],
        *,
        render: Callable[[GenItem, bool], Prompt],
        scorers: Mapping[str, Scorer],
        primary: str,
        ability: str,
        instruction_type: str = "nlp",
        chance: float | None = None,
        chat: bool | None = None,
        max_new_tokens: int = 256,
        stop: Sequence[str] | Callable[[bool], Sequence[str]] = (),
        seed: int = 0,
        config: Mapping[str, Any] | None = None,
    ):
        self.name = name
        self.items = list(items)
        self.render = render
        self.scorers = dict(scorers)
        self.primary = primary
        self.ability = ability
        self.instruction_type = instruction_type
        self._chance = chance
        self.chat = chat
        self.max_new_tokens = max_new_tokens
        self._stop = stop
        self.seed = seed
        self.extra_config = dict(config or {})

    @property
    def chance(self) -> float:
        return self._chance_of(self.items)

    def _chance_of(self, items: Sequence[GenItem]) -> float:
        """The chance given to the task, else the mean of its items' chances."""
        if self._chance is not None:
            return self._chance
        return sum(it.chance for it in items) / len(items) if items else 0.0

    def stop_for(self, chat: bool) -> tuple[str, ...]:
        return tuple(self._stop(chat) if callable(self._stop) else self._stop)

    def evaluate(self, lm: LM, *, limit: int | None = None) -> TaskResult:
        items = select_items(self.items, limit, self.seed)
        chat = has_chat_template(lm) if self.chat is None else self.chat
        stop = self.stop_for(chat)
        prompts = [self.render(it, chat) for it in items]
        requests = [GenerationRequest(p, max_new_tokens=self.max_new_tokens, stop=stop) for p in prompts]
        before = counts_snapshot(lm)
        outputs = [o[0] for o in lm.generate(requests)]
        records: list[dict[str, Any]] = []
        values: dict[str, list[float]] = {m: [] for m in self.scorers}
        for it, prompt, out in zip(items, prompts, outputs, strict=True):
            rec: dict[str, Any] = {"id": it.id, "prompt": prompt_to_json(prompt), "output": out,
                                   "target": it.target}
            for metric, scorer in self.scorers.items():
                value, details = scorer(out, it)
                rec[metric] = value
                rec.update(details)
                values[metric].append(value)
            if it.meta:
                rec["meta"] = dict(it.meta)
            records.append(rec)
        counts = counts_since(lm, before)
        for metric in self.scorers:  # outputs no answer could be read from: counted, never silent
            missing = sum(1 for r in records if r.get(f"{metric}_extracted", "") is None)
            if missing:
                counts[f"{metric}_no_answer"] = missing
        return TaskResult(
            task=self.name, ability=self.ability, instruction_type=self.instruction_type, primary=self.primary,
            chance=self._chance_of(items),
            metrics={m: mean_with_stderr(v, seed=self.seed) for m, v in values.items()},
            items=records, counts=counts, config=self.config(chat, stop),
        )

    def config(self, chat: bool, stop: Sequence[str]) -> dict[str, Any]:
        cfg = {"method": "generation, greedy", "chat": chat, "max_new_tokens": self.max_new_tokens,
               "stop": list(stop), "n_items_total": len(self.items), **self.extra_config}
        if not chat:
            cfg["template"] = "none"
        return cfg


# ----- number extraction (GSM8K and other math answers) -------------------------------------------------------
_NUMBER = re.compile(r"-?\$?\d[\d,]*(?:\.\d+)?")


def normalize_number(text: str) -> str | None:
    """A number as canonical text: ``"$1,234.50"`` -> ``"1234.5"``; None if it is not a number.

    >>> normalize_number("$1,234.50"), normalize_number("-7."), normalize_number("12/5")
    ('1234.5', '-7', None)
    """
    cleaned = text.strip().replace(",", "").replace("$", "").rstrip(".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    if value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    return format(value.normalize(), "f")


def last_number(text: str) -> str | None:
    """The last number written in ``text`` (normalized), or None.

    >>> last_number("3 + 4 = 7 apples, so the answer is 1,200.")
    '1200'
    """
    found = _NUMBER.findall(text)
    return normalize_number(found[-1]) if found else None
