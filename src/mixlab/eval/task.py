"""The ``Task`` protocol and its result: per-item records plus metrics with standard errors.

A task measures one ability. It knows its instruction type (``nlp``, ``code``, ``chat``, ``math``), its chance
level (the score of answering at random among valid answers; 0 where there is no such thing) and which metric
is its higher-is-better headline (``primary``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol

from mixlab.eval.lm import LM
from mixlab.eval.stats import Score


@dataclass
class TaskResult:
    task: str
    ability: str
    instruction_type: str
    primary: str
    chance: float | None
    metrics: dict[str, Score]
    items: list[dict[str, Any]] = field(default_factory=list)
    #: counted degradations (unparseable verdicts, timeouts, truncated prompts): never silent.
    counts: dict[str, int] = field(default_factory=dict)
    #: what the scores depend on besides the model (prompt format, shots, template).
    config: dict[str, Any] = field(default_factory=dict)
    #: the primary metric item by item: ``{"item", "cluster", "value"}`` dicts whose mean is the primary
    #: metric. ``cluster`` groups items built from the same content (one question's two turns, one topic
    #: asked in several phrasings), which are not independent. Empty: derived by ``primary_items``.
    item_scores: list[dict[str, Any]] = field(default_factory=list)
    #: ``metric -> (lowest, highest)`` possible value, for metrics not on the 0-1 scale (a 1-10 rating)
    scales: dict[str, tuple[float, float]] = field(default_factory=dict)

    def scale(self, metric: str) -> tuple[float, float]:
        """The range a metric's values live in (0-1 unless the task declares otherwise)."""
        return self.scales.get(metric, (0.0, 1.0))

    def primary_items(self) -> list[dict[str, Any]]:
        """The primary metric per item (``item_scores``, or each record's ``primary`` field keyed by its
        ``id``); empty when the task's primary metric is not a mean over items (a length-controlled win rate).

        >>> from mixlab.eval.stats import Score
        >>> r = TaskResult("t", "a", "nlp", "acc", 0.5, {"acc": Score(0.5, 0.3, 2)},
        ...                items=[{"id": "q1", "acc": 1.0}, {"id": "q2", "acc": 0.0}])
        >>> r.primary_items()
        [{'item': 'q1', 'cluster': 'q1', 'value': 1.0}, {'item': 'q2', 'cluster': 'q2', 'value': 0.0}]
        """
        out = list(self.item_scores)
        if not out:
            for rec in self.items:
                ident, value = rec.get("id"), rec.get(self.primary)
                if ident is None or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
                    return []
                out.append({"item": str(ident), "cluster": str(rec.get("cluster", ident)), "value": float(value)})
        metric = self.metrics.get(self.primary)
        if not out or metric is None or abs(sum(r["value"] for r in out) / len(out) - metric.value) > 1e-9:
            return []  # the items do not add up to the metric: no item-level view rather than a wrong one
        return out


class Task(Protocol):
    name: str
    ability: str
    instruction_type: str
    chance: float | None
    primary: str

    def evaluate(self, lm: LM, *, limit: int | None = None) -> TaskResult: ...
