"""MT-Bench: 80 two-turn questions in 8 categories, judged 1-10 per turn, or pairwise against a baseline.

Data (``DATA/mt_bench/``): ``question.jsonl``, ``reference_answer/gpt-4.jsonl`` (references for the math,
reasoning and coding questions) and ``judge_prompts.jsonl`` (FastChat's judge prompts, used as published).

The model answers turn 1, then turn 2 with its own first answer in the conversation (chat template of the
backend). Single-answer grading rates each turn 1-10 (``score`` = mean over all judged turns; per turn and per
category too). Pairwise grading compares each turn with a baseline's answers in both orders (``win_rate``,
ties half; inconsistent orders are ties; position-bias statistics).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mixlab.artifacts import content_hash
from mixlab.errors import MixlabError
from mixlab.eval.judge.answers import answer_questions
from mixlab.eval.judge.engine import JudgeConfig, JudgeLog
from mixlab.eval.judge.files import AnswerSet, align, attach_references, read_answers, read_questions
from mixlab.eval.judge.grading import (
    Question,
    grade_pairwise,
    grade_single,
    pairwise_summary,
    single_metrics,
)
from mixlab.eval.judge.options import judge_record, select
from mixlab.eval.judge.prompts import PromptSet
from mixlab.eval.lm import LM
from mixlab.eval.task import TaskResult


def load_mt_bench(folder: str | Path) -> list[Question]:
    """MT-Bench questions with GPT-4 reference answers attached (for the categories that use them)."""
    folder = Path(folder)
    if not (folder / "question.jsonl").is_file():
        raise MixlabError(f"MT-Bench questions not found: {folder / 'question.jsonl'} (expected DATA/mt_bench/)")
    questions = read_questions(folder / "question.jsonl")
    ref_file = folder / "reference_answer" / "gpt-4.jsonl"
    if ref_file.is_file():
        refs = read_answers(ref_file)
        # the question file's own short "reference" field is not FastChat's grading reference: replace it
        questions = [Question(q.id, q.turns, q.category, ()) for q in questions]
        questions = attach_references(questions, refs)
    return questions


@dataclass
class AnswerMemo:
    """Answers generated once per (model, questions, decoding) and shared by the single and pairwise tasks."""

    store: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)

    def get(self, lm: LM, questions: Sequence[Question], max_new_tokens: int, desc: str) -> list[tuple[str, ...]]:
        key = content_hash({"lm": lm.identity(), "q": [q.id for q in questions], "max": max_new_tokens})
        if key not in self.store:
            self.store[key] = answer_questions(lm, questions, max_new_tokens=max_new_tokens, desc=desc)
        return self.store[key]


def turn_scores(records: Sequence[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Item scores per (question, turn) that were parsed; the two turns of a question form one cluster."""
    return [{"item": f"{r['question_id']}:{r['turn']}", "cluster": str(r["question_id"]), "value": float(r[key])}
            for r in records if r.get(key) is not None]


@dataclass
class MTBenchTask:
    """Single-answer grading (1-10) of both turns."""

    questions: list[Question]
    judge: LM
    prompts: PromptSet
    config: JudgeConfig = field(default_factory=JudgeConfig)
    max_new_tokens: int = 1024
    #: resumable log of judge texts (``None``: no log)
    log: JudgeLog | None = None
    memo: AnswerMemo = field(default_factory=AnswerMemo)
    name: str = "mt_bench"
    ability: str = "chat"
    instruction_type: str = "chat"
    chance: float | None = None
    primary: str = "score"

    def evaluate(self, lm: LM, *, limit: int | None = None) -> TaskResult:
        questions = select(self.questions, limit, group=lambda q: q.category)
        answers = self.memo.get(lm, questions, self.max_new_tokens, f"{self.name}: answering")
        records, counts = grade_single(self.judge, questions, answers, self.prompts, self.config,
                                       log=self.log, desc=f"{self.name}: judging")
        return TaskResult(
            task=self.name, ability=self.ability, instruction_type=self.instruction_type, primary=self.primary,
            chance=self.chance, metrics=single_metrics(records, seed=self.config.seed), items=records,
            counts=counts, config=self._config(lm, records), item_scores=turn_scores(records, "score"),
            scales={m: (1.0, 10.0) for m in single_metrics(records) if m.startswith("score")},
        )

    def _config(self, lm: LM, records: list[dict[str, Any]]) -> dict[str, Any]:
        return {**judge_record(self.judge, lm), "judge_config": self.config.to_dict(),
                "judge_prompts": sorted({r["judge_prompt"] for r in records}), "prompt_source": self.prompts.source,
                "answer_max_new_tokens": self.max_new_tokens, "scale": "1-10"}


@dataclass
class MTBenchPairwiseTask:
    """Pairwise grading of both turns against a baseline (answers from a file, or generated by a baseline LM)."""

    questions: list[Question]
    judge: LM
    prompts: PromptSet
    baseline_answers: AnswerSet | None = None
    baseline_lm: LM | None = None
    config: JudgeConfig = field(default_factory=JudgeConfig)
    max_new_tokens: int = 1024
    #: resumable log of judge texts (``None``: no log)
    log: JudgeLog | None = None
    memo: AnswerMemo = field(default_factory=AnswerMemo)
    name: str = "mt_bench_pairwise"
    ability: str = "chat"
    instruction_type: str = "chat"
    chance: float | None = 0.5
    primary: str = "win_rate"

    def evaluate(self, lm: LM, *, limit: int | None = None) -> TaskResult:
        questions, baseline, counts = self._baseline(select(self.questions, limit, group=lambda q: q.category))
        answers = self.memo.get(lm, questions, self.max_new_tokens, f"{self.name}: answering")
        records, outcomes, grade_counts = grade_pairwise(
            self.judge, questions, answers, baseline, self.prompts, self.config, log=self.log, desc=f"{self.name}: judging")
        metrics, pair_counts = pairwise_summary(records, outcomes, seed=self.config.seed)
        config = {**judge_record(self.judge, lm), "judge_config": self.config.to_dict(),
                  "judge_prompts": sorted({r["judge_prompt"] for r in records}), "prompt_source": self.prompts.source,
                  "baseline": self._baseline_name(), "answer_max_new_tokens": self.max_new_tokens}
        return TaskResult(
            task=self.name, ability=self.ability, instruction_type=self.instruction_type, primary=self.primary,
            chance=self.chance, metrics=metrics, items=records, counts={**counts, **grade_counts, **pair_counts},
            config=config, item_scores=turn_scores(records, "score"),
        )

    def _baseline(self, questions: list[Question]) -> tuple[list[Question], list[tuple[str, ...]], dict[str, int]]:
        if self.baseline_answers is not None:
            kept, texts, missing = align(questions, self.baseline_answers)
            return kept, texts, {"questions_without_baseline": len(missing)}
        if self.baseline_lm is None:
            raise MixlabError("mt_bench pairwise needs baseline_answers (a FastChat answer file) or a baseline model")
        texts = self.memo.get(self.baseline_lm, questions, self.max_new_tokens, f"{self.name}: baseline answering")
        return questions, texts, {"questions_without_baseline": 0}

    def _baseline_name(self) -> str:
        if self.baseline_answers is not None:
            return f"{self.baseline_answers.model} ({self.baseline_answers.source})"
        return str(self.baseline_lm.identity().get("model", "baseline")) if self.baseline_lm else ""
