"""Pairwise judging in both orders, with position-bias statistics.

Every pair (model answer vs baseline answer) is judged twice: once with the model as assistant A ("ab") and
once as assistant B ("ba"). Each verdict is turned into the model's view (win / loss / tie); the pair's outcome
is that view when both orders agree, and a **tie** when they disagree (an inconsistent judge has no
preference we can trust; FastChat does the same). A pair where either order stayed unparseable after retries
has **no** outcome: it is left out of the win rate and counted, never scored as a tie.

Position bias: ``flip_rate`` is the share of pairs (both orders parsed) whose verdict changes when the answers
swap places; ``first_position_rate`` is the share of decisive single-order verdicts that picked whichever
answer was shown first (0.5 = no position preference).

>>> combine("A", "B")   # model first: A wins; model second: B wins -> the model won both times
('win', True)
>>> combine("A", "A")   # the judge always picks the first answer
('tie', False)
>>> combine("tie", None) is None
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mixlab.eval.judge.engine import JudgeConfig, JudgeLog, Verdict, run_judge
from mixlab.eval.judge.verdicts import parse_pairwise
from mixlab.eval.lm import LM, Prompt
from mixlab.eval.stats import Score, mean_with_stderr

_POINTS = {"win": 1.0, "tie": 0.5, "loss": 0.0}


def model_view(choice: str, model_position: str) -> str:
    """Turn a verdict ``"A"``/``"B"``/``"tie"`` into win/loss/tie for the model shown at ``model_position``."""
    if choice == "tie":
        return "tie"
    return "win" if choice == model_position else "loss"


def combine(ab: str | None, ba: str | None) -> tuple[str, bool] | None:
    """The pair's outcome from the verdict with the model first (``ab``) and second (``ba``); ``None`` if unparsed."""
    if ab is None or ba is None:
        return None
    first, second = model_view(ab, "A"), model_view(ba, "B")
    if first == second:
        return first, True
    return "tie", False


@dataclass
class PairOutcome:
    """Both verdicts of one pair and what they mean for the model."""

    ab: Verdict
    ba: Verdict

    @property
    def combined(self) -> tuple[str, bool] | None:
        return combine(self.ab.value, self.ba.value)

    @property
    def outcome(self) -> str | None:
        c = self.combined
        return c[0] if c else None

    @property
    def consistent(self) -> bool | None:
        c = self.combined
        return c[1] if c else None

    @property
    def score(self) -> float | None:
        o = self.outcome
        return _POINTS[o] if o else None

    def to_dict(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "score": self.score, "consistent": self.consistent,
                "verdict_ab": self.ab.value, "verdict_ba": self.ba.value,
                "judge_ab": self.ab.to_dict(), "judge_ba": self.ba.to_dict()}


def judge_both_orders(
    judge: LM,
    n_pairs: int,
    render: Callable[[int, bool], Prompt],
    config: JudgeConfig | None = None,
    *,
    log: JudgeLog | None = None,
    desc: str = "pairwise judging",
) -> list[PairOutcome]:
    """Judge pairs ``0..n_pairs-1`` in both orders. ``render(i, model_first)`` builds the judge prompt."""
    prompts = [render(i, first) for i in range(n_pairs) for first in (True, False)]
    verdicts = run_judge(judge, prompts, parse_pairwise, config, log=log, desc=desc)
    return [PairOutcome(ab=verdicts[2 * i], ba=verdicts[2 * i + 1]) for i in range(n_pairs)]


def pairwise_metrics(outcomes: Sequence[PairOutcome], seed: int = 0) -> tuple[dict[str, Score], dict[str, int]]:
    """Win rate (ties count half) and position-bias statistics, each with a bootstrap standard error; counts."""
    scored = [o for o in outcomes if o.score is not None]
    metrics = {
        "win_rate": mean_with_stderr([o.score for o in outcomes if o.score is not None], seed=seed),
        "win_share": mean_with_stderr([o.outcome == "win" for o in scored], seed=seed),
        "tie_share": mean_with_stderr([o.outcome == "tie" for o in scored], seed=seed),
        "loss_share": mean_with_stderr([o.outcome == "loss" for o in scored], seed=seed),
        "flip_rate": mean_with_stderr([not o.consistent for o in scored], seed=seed),
    }
    firsts = [v.value == "A" for o in outcomes for v in (o.ab, o.ba) if v.value in ("A", "B")]
    metrics["first_position_rate"] = mean_with_stderr(firsts, seed=seed)
    counts = {
        "pairs": len(outcomes),
        "pairs_scored": len(scored),
        "pairs_unparseable": len(outcomes) - len(scored),
        "pairs_inconsistent": sum(1 for o in scored if not o.consistent),
        "verdicts_unparseable": sum(1 for o in outcomes for v in (o.ab, o.ba) if not v.ok),
        "verdicts_retried": sum(1 for o in outcomes for v in (o.ab, o.ba) if v.attempts > 1),
    }
    return metrics, counts
