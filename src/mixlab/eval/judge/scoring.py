"""Scoring answer files with a judge (the engine of ``mixlab eval judge``), resumable and fully recorded."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mixlab.artifacts import atomic_write_json, atomic_write_jsonl
from mixlab.errors import MixlabError, SpecError
from mixlab.eval.judge.engine import JudgeLog
from mixlab.eval.judge.files import (
    align,
    attach_references,
    questions_from_answers,
    read_answers,
    read_questions,
)
from mixlab.eval.judge.grading import (
    Question,
    grade_pairwise,
    grade_single,
    length_metrics,
    pairwise_summary,
    single_metrics,
)
from mixlab.eval.judge.options import check_limit, judge_config, resolve_lm, select
from mixlab.eval.judge.prompts import PromptSet
from mixlab.eval.lm import LM
from mixlab.eval.run import score_rows, write_scores
from mixlab.eval.stats import Score
from mixlab.eval.task import TaskResult


def _questions(questions: str | Path | None, answer_sets: Sequence[Any], references: str | Path | None) -> list[Question]:
    if questions:
        qs = read_questions(questions)
    else:
        if not answer_sets[0].keyed_by_instruction:
            raise MixlabError(f"{answer_sets[0].source}: answers are keyed by question ids, not instructions: "
                              "pass --questions FILE with the questions")
        qs = questions_from_answers(answer_sets[0])
    if references:
        qs = attach_references(qs, read_answers(references))
    return qs


def score_answers(
    *,
    answers: Sequence[str | Path],
    judge: LM | str,
    out_dir: str | Path,
    questions: str | Path | None = None,
    references: str | Path | None = None,
    ref_categories: Sequence[str] = ("math", "reasoning", "coding"),
    judge_prompts: str | Path | None = None,
    limit: int | None = None,
    judge_options: dict[str, Any] | None = None,
    judge_backend: str | None = None,
    judge_backend_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Judge one answer file (single 1-10) or two (pairwise, first vs baseline); write outputs; return the summary."""
    if len(answers) not in (1, 2):
        raise SpecError("mixlab eval judge", [f"--answers: got {len(answers)} files; give 1 (single) or 2 (pairwise)"])
    cfg = judge_config(judge_options or {})
    sets = [read_answers(a) for a in answers]
    qs = select(_questions(questions, sets, references), check_limit(limit), group=lambda q: q.category or "")
    kept, texts, missing = align(qs, sets[0])
    counts: dict[str, int] = {"questions": len(qs), "questions_without_answer": len(missing)}
    baseline: list[tuple[str, ...]] = []
    if len(sets) == 2:
        kept_b, baseline, missing_b = align(kept, sets[1])
        keep = {q.id for q in kept_b}
        texts = [t for q, t in zip(kept, texts, strict=True) if q.id in keep]
        kept = kept_b
        counts["questions_without_baseline"] = len(missing_b)
    if not kept:
        raise MixlabError("no question has an answer in every --answers file; check that the ids match")
    lm = resolve_lm(judge, backend=judge_backend, options=judge_backend_options)
    prompts = PromptSet(judge_prompts)
    out = Path(out_dir)
    log = JudgeLog(out / "judge_log.jsonl")
    if len(sets) == 1:
        records, grade_counts = grade_single(lm, kept, texts, prompts, cfg, ref_categories=ref_categories, log=log)
        metrics = single_metrics(records, seed=cfg.seed)
        mode, primary, chance = "single", "score", None
    else:
        records, outcomes, grade_counts = grade_pairwise(lm, kept, texts, baseline, prompts, cfg,
                                                         ref_categories=ref_categories, log=log)
        metrics, pair_counts = pairwise_summary(records, outcomes, seed=cfg.seed)
        grade_counts.update(pair_counts)
        metrics.update(length_metrics(records, outcomes, seed=cfg.seed))
        mode, primary, chance = "pairwise", "win_rate", 0.5
    counts.update(grade_counts)
    summary = {
        "mode": mode, "model": sets[0].model, "baseline": sets[1].model if len(sets) == 2 else None,
        "judge": lm.identity(), "judge_config": cfg.to_dict(), "prompt_source": prompts.source,
        "judge_prompts": sorted({r["judge_prompt"] for r in records}), "ref_categories": list(ref_categories),
        "inputs": {"answers": [str(a) for a in answers], "questions": str(questions) if questions else None,
                   "references": str(references) if references else None},
        "primary": primary, "metrics": {k: _with_ci(v) for k, v in metrics.items()}, "counts": counts,
        "out_dir": str(out),
    }
    atomic_write_jsonl(out / "verdicts.jsonl", records)
    atomic_write_json(out / "summary.json", summary)
    result = TaskResult(task=f"judge_{mode}", ability="chat", instruction_type="chat", primary=primary,
                        chance=chance, metrics=metrics, counts=counts)
    # the answers were generated elsewhere: their chat template is unknown here, and says so
    write_scores(out, score_rows(result, model=sets[0].model, template="external"))
    return summary


def _with_ci(score: Score) -> dict[str, Any]:
    """A score as a dict with its normal-approximation 95 % interval (value ± 1.96 stderr)."""
    d: dict[str, Any] = score.to_dict()
    ok = not (math.isnan(score.stderr) or math.isnan(score.value))
    d["ci95"] = [score.value - 1.96 * score.stderr, score.value + 1.96 * score.stderr] if ok else None
    return d
