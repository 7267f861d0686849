"""Grading answers with a judge: single-answer ratings and both-order pairwise comparisons, turn by turn.

Shared by the MT-Bench and AlpacaEval suites and by ``mixlab eval judge``. A question has one or two user
turns (MT-Bench has two); turn 1 is judged with a single-turn prompt, turn 2 with a multi-turn prompt that
shows the whole conversation and asks about the second answer (FastChat's protocol). Questions in a
reference category (math, reasoning, coding for MT-Bench) are judged against their reference answers.

>>> q = Question("q1", ("2+2?",), "math", ("4",))
>>> single_fields(q, ("It is 4.",), turn=1, reference=True)
{'question': '2+2?', 'answer': 'It is 4.', 'ref_answer_1': '4'}
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from mixlab.eval.judge.engine import JudgeConfig, JudgeLog, run_judge
from mixlab.eval.judge.length_control import length_controlled_win_rate
from mixlab.eval.judge.pairwise import PairOutcome, judge_both_orders, pairwise_metrics
from mixlab.eval.judge.prompts import JudgePrompt, PromptSet
from mixlab.eval.judge.verdicts import parse_rating
from mixlab.eval.lm import LM
from mixlab.eval.stats import Score, mean_with_stderr

#: MT-Bench's categories judged against a reference answer (FastChat's NEED_REF_CATS)
REFERENCE_CATEGORIES = ("math", "reasoning", "coding")
#: the judge prompts cover at most two user turns
MAX_TURNS = 2


@dataclass(frozen=True)
class Question:
    """A question to answer: its user turns, a category, and reference answers per turn (may be empty)."""

    id: str
    turns: tuple[str, ...]
    category: str = ""
    references: tuple[str, ...] = ()


@dataclass(frozen=True)
class Job:
    """One judge call's subject: question ``q`` (index), ``turn`` (1-based), with or without the reference."""

    q: int
    turn: int
    reference: bool


def plan_jobs(
    questions: Sequence[Question], ref_categories: Collection[str] = REFERENCE_CATEGORIES,
) -> tuple[list[Job], dict[str, int]]:
    """One job per (question, judged turn); counts turns beyond ``MAX_TURNS`` and missing references."""
    jobs: list[Job] = []
    counts = {"turns_not_judged": 0, "missing_reference": 0}
    for i, q in enumerate(questions):
        wants_ref = q.category in ref_categories
        for turn in range(1, min(len(q.turns), MAX_TURNS) + 1):
            has_ref = len(q.references) >= turn and all(r.strip() for r in q.references[:turn])
            if wants_ref and not has_ref:
                counts["missing_reference"] += 1
            jobs.append(Job(i, turn, wants_ref and has_ref))
        counts["turns_not_judged"] += max(0, len(q.turns) - MAX_TURNS)
    return jobs, counts


def single_fields(q: Question, answer: Sequence[str], *, turn: int, reference: bool) -> dict[str, str]:
    """Template fields of a single-answer prompt (FastChat's names)."""
    if turn == 1:
        out = {"question": q.turns[0], "answer": answer[0]}
    else:
        out = {"question_1": q.turns[0], "question_2": q.turns[1], "answer_1": answer[0], "answer_2": answer[1]}
    if reference:
        out.update({f"ref_answer_{k + 1}": q.references[k] for k in range(turn)})
    return out


def pair_fields(q: Question, a: Sequence[str], b: Sequence[str], *, turn: int, reference: bool) -> dict[str, str]:
    """Template fields of a pairwise prompt; ``a`` is shown as assistant A."""
    if turn == 1:
        out = {"question": q.turns[0], "answer_a": a[0], "answer_b": b[0]}
    else:
        out = {"question_1": q.turns[0], "question_2": q.turns[1], "answer_a_1": a[0], "answer_a_2": a[1],
               "answer_b_1": b[0], "answer_b_2": b[1]}
    if reference:
        out.update({f"ref_answer_{k + 1}": q.references[k] for k in range(turn)})
    return out


def _prompt_for(prompts: PromptSet, kind: str, job: Job) -> JudgePrompt:
    return prompts.get(kind, multi_turn=job.turn > 1, reference=job.reference)


def grade_single(
    judge: LM, questions: Sequence[Question], answers: Sequence[Sequence[str]], prompts: PromptSet,
    config: JudgeConfig | None = None, *, ref_categories: Collection[str] = REFERENCE_CATEGORIES,
    log: JudgeLog | None = None, desc: str = "judging answers",
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Rate every (question, turn) answer 1-10. Returns per-item records and counts."""
    jobs, counts = plan_jobs(questions, ref_categories)
    used = [_prompt_for(prompts, "single", j) for j in jobs]
    rendered = [p.render(**single_fields(questions[j.q], answers[j.q], turn=j.turn, reference=j.reference))
                for j, p in zip(jobs, used, strict=True)]
    verdicts = run_judge(judge, rendered, parse_rating, config, log=log, desc=desc)
    records = []
    for j, p, v in zip(jobs, used, verdicts, strict=True):
        q = questions[j.q]
        records.append({
            "question_id": q.id, "category": q.category, "turn": j.turn, "question": q.turns[j.turn - 1],
            "output": answers[j.q][j.turn - 1], "score": v.value, "judge_prompt": p.name,
            "reference_used": j.reference, "judge": v.to_dict(),
        })
    counts.update(_verdict_counts(verdicts))
    return records, counts


def grade_pairwise(
    judge: LM, questions: Sequence[Question], answers: Sequence[Sequence[str]], baseline: Sequence[Sequence[str]],
    prompts: PromptSet, config: JudgeConfig | None = None, *,
    ref_categories: Collection[str] = REFERENCE_CATEGORIES, log: JudgeLog | None = None,
    desc: str = "pairwise judging",
) -> tuple[list[dict[str, Any]], list[PairOutcome], dict[str, int]]:
    """Compare ``answers`` with ``baseline`` per (question, turn), in both orders. Records, outcomes, counts."""
    jobs, counts = plan_jobs(questions, ref_categories)

    def render(k: int, model_first: bool) -> Any:
        j = jobs[k]
        q, mine, base = questions[j.q], answers[j.q], baseline[j.q]
        a, b = (mine, base) if model_first else (base, mine)
        return _prompt_for(prompts, "pairwise", j).render(**pair_fields(q, a, b, turn=j.turn, reference=j.reference))

    outcomes = judge_both_orders(judge, len(jobs), render, config, log=log, desc=desc)
    records = []
    for j, o in zip(jobs, outcomes, strict=True):
        q = questions[j.q]
        records.append({
            "question_id": q.id, "category": q.category, "turn": j.turn, "question": q.turns[j.turn - 1],
            "output": answers[j.q][j.turn - 1], "baseline_output": baseline[j.q][j.turn - 1],
            "judge_prompt": _prompt_for(prompts, "pairwise", j).name, "reference_used": j.reference,
            **o.to_dict(),
        })
    return records, outcomes, counts


def _verdict_counts(verdicts: Sequence[Any]) -> dict[str, int]:
    return {
        "judged": len(verdicts),
        "unparseable": sum(1 for v in verdicts if not v.ok),
        "retried": sum(1 for v in verdicts if v.attempts > 1),
    }


def single_metrics(records: Sequence[dict[str, Any]], seed: int = 0) -> dict[str, Score]:
    """``score`` (mean rating over parsed items), per turn and per category, each with a bootstrap stderr."""
    scored = [r for r in records if r["score"] is not None]
    metrics = {"score": mean_with_stderr([r["score"] for r in scored], seed=seed)}
    for turn in sorted({r["turn"] for r in records}):
        metrics[f"score_turn{turn}"] = mean_with_stderr([r["score"] for r in scored if r["turn"] == turn], seed=seed)
    for cat in sorted({r["category"] for r in records if r["category"]}):
        metrics[f"score_{cat}"] = mean_with_stderr([r["score"] for r in scored if r["category"] == cat], seed=seed)
    return metrics


def pairwise_summary(
    records: Sequence[dict[str, Any]], outcomes: Sequence[PairOutcome], seed: int = 0,
) -> tuple[dict[str, Score], dict[str, int]]:
    """Pairwise metrics (win rate, shares, position bias) plus a win rate per category and per turn."""
    metrics, counts = pairwise_metrics(outcomes, seed=seed)
    groups: dict[str, list[float]] = {}
    for r, o in zip(records, outcomes, strict=True):
        if o.score is None:
            continue
        groups.setdefault(f"win_rate_turn{r['turn']}", []).append(o.score)
        if r["category"]:
            groups.setdefault(f"win_rate_{r['category']}", []).append(o.score)
    for name in sorted(groups):
        metrics[name] = mean_with_stderr(groups[name], seed=seed)
    return metrics, counts


def length_metrics(
    records: Sequence[dict[str, Any]], outcomes: Sequence[PairOutcome], seed: int = 0,
) -> dict[str, Score]:
    """AlpacaEval's length view of pairwise records: the length-controlled win rate and both mean lengths."""
    scored = [(len(r["output"]) - len(r["baseline_output"]), o.score)
              for r, o in zip(records, outcomes, strict=True) if o.score is not None]
    return {
        "lc_win_rate": length_controlled_win_rate([s for _, s in scored], [d for d, _ in scored], seed=seed),
        "avg_length": mean_with_stderr([len(r["output"]) for r in records], seed=seed),
        "baseline_avg_length": mean_with_stderr([len(r["baseline_output"]) for r in records], seed=seed),
    }
