"""Multiple choice by log-likelihood: the prompt formats, the requests, and acc / acc_norm.

Two prompt formats, named in every task's config because they give very different numbers for small models
(OpenCompass #709):

- ``cloze``: the model scores each answer text as the continuation of ``<question>\\nAnswer:``. ``acc`` picks
  the highest total log-probability, ``acc_norm`` the highest log-probability per character of the answer
  (the length normalization lm-evaluation-harness uses).
- ``letter``: the options are listed as ``A. ...``; the model scores the letters `` A``, `` B``, ... (one
  token each, so all of them come from one forward pass). ``acc`` only: letters have equal length.

Both formats also report ``prob_gold``: the probability the model puts on the gold choice, its
log-probabilities normalized over the item's choices (a softmax). It is continuous per item, so it moves
before accuracy does: the score to regress on, or to compare runs by, when accuracy sits at chance.

With ``chat=True`` the question is a user turn rendered by the model's chat template and the answer is the
assistant's reply (no leading space); with ``chat=False`` (the default, as in lm-evaluation-harness) the
prompt is raw text and the template is not used, recorded as template ``none``.

>>> item = ChoiceItem("q1", "Question: 2+2?", ("3", "4"), gold=1)
>>> context_text(item, "cloze", shots=(), description="")
'Question: 2+2?\\nAnswer:'
>>> continuations(item, "letter", chat=False)
[' A', ' B']
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mixlab.data.example import Message
from mixlab.errors import SpecError
from mixlab.eval.lm import LM, LoglikelihoodRequest, Prompt, prompt_to_json
from mixlab.eval.stats import mean_with_stderr
from mixlab.eval.task import TaskResult
from mixlab.eval.tasks.sampling import counts_since, counts_snapshot, select_items

PROMPT_FORMATS = ("cloze", "letter")
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class ChoiceItem:
    """One question: ``question`` is shown as is (the suite adds prefixes like ``Question: ``)."""

    id: str
    question: str
    choices: tuple[str, ...]
    gold: int
    meta: Mapping[str, Any] = field(default_factory=dict)


def options_block(item: ChoiceItem) -> str:
    return "\n".join(f"{LETTERS[i]}. {c}" for i, c in enumerate(item.choices))


def _question_text(item: ChoiceItem, prompt_format: str) -> str:
    return f"{item.question}\n{options_block(item)}" if prompt_format == "letter" else item.question


def _answer_text(item: ChoiceItem, prompt_format: str) -> str:
    return LETTERS[item.gold] if prompt_format == "letter" else item.choices[item.gold]


def context_text(item: ChoiceItem, prompt_format: str, shots: Sequence[ChoiceItem], description: str) -> str:
    """The raw-text context: description, solved shots, then the question ending in ``Answer:``."""
    parts = [f"{_question_text(s, prompt_format)}\nAnswer: {_answer_text(s, prompt_format)}\n\n" for s in shots]
    return description + "".join(parts) + f"{_question_text(item, prompt_format)}\nAnswer:"


def context_chat(
    item: ChoiceItem, prompt_format: str, shots: Sequence[ChoiceItem], description: str
) -> tuple[Message, ...]:
    """The conversation context: shots as earlier turns; the description opens the first user turn."""
    hint = "\n\nAnswer with the letter of the correct option." if prompt_format == "letter" else ""
    turns: list[Message] = []
    for s in (*shots, item):
        turns.append(Message("user", f"{_question_text(s, prompt_format)}{hint}"))
        if s is not item:
            turns.append(Message("assistant", _answer_text(s, prompt_format)))
    if description:
        turns[0] = Message("user", description + turns[0].content)
    return tuple(turns)


def continuations(item: ChoiceItem, prompt_format: str, chat: bool) -> list[str]:
    sep = "" if chat else " "
    if prompt_format == "letter":
        return [sep + LETTERS[i] for i in range(len(item.choices))]
    return [sep + c for c in item.choices]


class MultipleChoiceTask:
    """A multiple-choice task scored by log-likelihood (implements the ``Task`` protocol).

    ``group_of`` maps an item to a group name (an MMLU subject category, say): each group gets its own
    ``acc_<group>`` metric besides the overall ones.
    """

    def __init__(
        self,
        name: str,
        items: Sequence[ChoiceItem],
        *,
        ability: str,
        instruction_type: str = "nlp",
        prompt_format: str = "cloze",
        chat: bool = False,
        shots: Sequence[ChoiceItem] | Callable[[ChoiceItem], Sequence[ChoiceItem]] = (),
        description: str | Callable[[ChoiceItem], str] = "",
        primary: str | None = None,
        group_of: Callable[[ChoiceItem], str] | None = None,
        seed: int = 0,
        config: Mapping[str, Any] | None = None,
    ):
        problems = []
        if prompt_format not in PROMPT_FORMATS:
            problems.append(f"prompt_format: {prompt_format!r} is not one of {', '.join(PROMPT_FORMATS)}")
        for it in items:
            if not 0 <= it.gold < len(it.choices):
                problems.append(f"item {it.id}: gold {it.gold} is not an index into its {len(it.choices)} choices")
        if problems:
            raise SpecError(f"task {name}", problems)
        self.name = name
        self.items = list(items)
        self.ability = ability
        self.instruction_type = instruction_type
        self.prompt_format = prompt_format
        self.chat = chat
        self._shots = shots
        self._description = description
        self.primary = primary or ("acc_norm" if prompt_format == "cloze" else "acc")
        self.group_of = group_of
        self.seed = seed
        self.extra_config = dict(config or {})
        self.chance = _chance(self.items)

    def _shots_for(self, item: ChoiceItem) -> Sequence[ChoiceItem]:
        return self._shots(item) if callable(self._shots) else self._shots

    def _description_for(self, item: ChoiceItem) -> str:
        return self._description(item) if callable(self._description) else self._description

    def context(self, item: ChoiceItem) -> Prompt:
        build = context_chat if self.chat else context_text
        return build(item, self.prompt_format, self._shots_for(item), self._description_for(item))

    def requests(
        self, items: Sequence[ChoiceItem], contexts: Sequence[Prompt] | None = None
    ) -> list[LoglikelihoodRequest]:
        """One request per (item, choice); ``contexts`` are the items' contexts when already built."""
        contexts = contexts or [self.context(it) for it in items]
        return [LoglikelihoodRequest(ctx, c) for it, ctx in zip(items, contexts, strict=True)
                for c in continuations(it, self.prompt_format, self.chat)]

    def evaluate(self, lm: LM, *, limit: int | None = None) -> TaskResult:
        items = select_items(self.items, limit, self.seed)
        contexts = [self.context(it) for it in items]  # built once: requests and item records share them
        before = counts_snapshot(lm)
        results = lm.loglikelihood(self.requests(items, contexts))
        records, cursor = [], 0
        for it, ctx in zip(items, contexts, strict=True):
            n = len(it.choices)
            records.append(self._score_item(it, ctx, [r.logprob for r in results[cursor:cursor + n]]))
            cursor += n
        return TaskResult(
            task=self.name, ability=self.ability, instruction_type=self.instruction_type, primary=self.primary,
            chance=_chance(items), metrics=self._metrics(items, records), items=records,
            counts=counts_since(lm, before), config=self.config(),
        )

    def config(self) -> dict[str, Any]:
        cfg = {"prompt_format": self.prompt_format, "chat": self.chat, "method": "loglikelihood",
               "n_items_total": len(self.items), **self.extra_config}
        if not self.chat:
            cfg["template"] = "none"  # raw-text prompts: the model's chat template is not applied
        return cfg

    def _score_item(self, item: ChoiceItem, ctx: Prompt, logprobs: list[float]) -> dict[str, Any]:
        pred, pred_norm = choice_picks(logprobs, item.choices)
        record: dict[str, Any] = {
            "id": item.id, "prompt": prompt_to_json(ctx), "choices": list(item.choices), "gold": item.gold,
            "logprobs": logprobs, "pred": pred, "acc": float(pred == item.gold),
            "prob_gold": prob_gold(logprobs, item.gold),
        }
        if self.prompt_format == "cloze":
            record["pred_norm"] = pred_norm
            record["acc_norm"] = float(pred_norm == item.gold)
        if item.meta:
            record["meta"] = dict(item.meta)
        return record

    def _metrics(self, items: Sequence[ChoiceItem], records: list[dict[str, Any]]) -> dict[str, Any]:
        metrics = {"acc": mean_with_stderr([r["acc"] for r in records], seed=self.seed)}
        if self.prompt_format == "cloze":
            metrics["acc_norm"] = mean_with_stderr([r["acc_norm"] for r in records], seed=self.seed)
        metrics["prob_gold"] = mean_with_stderr([r["prob_gold"] for r in records], seed=self.seed)
        if self.group_of is not None:
            groups: dict[str, list[float]] = {}
            for it, r in zip(items, records, strict=True):
                groups.setdefault(self.group_of(it), []).append(r["acc"])
            for g in sorted(groups):
                metrics[f"acc_{g}"] = mean_with_stderr(groups[g], seed=self.seed)
        return metrics


def choice_picks(logprobs: Sequence[float], choices: Sequence[str]) -> tuple[int, int]:
    """``(pred, pred_norm)``: the choice with the highest log-probability, and with the highest per character
    of its text (``acc_norm``); ties go to the earlier choice.

    >>> choice_picks([-4.0, -6.0, -6.0], ["ab", "abcdef", "uvwxyz"])
    (0, 1)
    """
    norm = [lp / max(1, len(c)) for lp, c in zip(logprobs, choices, strict=True)]
    return _best(logprobs), _best(norm)


def prob_gold(logprobs: Sequence[float], gold: int) -> float:
    """The gold choice's share of the probability over the choices (a softmax of their log-probabilities).

    >>> round(prob_gold([-1.0, -1.0], 0), 3), round(prob_gold([-0.1, -5.0, -5.0], 0), 3)
    (0.5, 0.985)
    """
    top = max(logprobs)
    weights = [math.exp(lp - top) for lp in logprobs]
    return weights[gold] / sum(weights)


def _best(values: Sequence[float]) -> int:
    return max(range(len(values)), key=lambda i: (values[i], -i))


def _chance(items: Sequence[ChoiceItem]) -> float:
    """Expected accuracy of a uniform random pick: the mean over items of 1 / number of choices."""
    return sum(1 / len(it.choices) for it in items) / len(items) if items else 0.0
