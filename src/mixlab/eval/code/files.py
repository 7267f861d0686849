"""Reading the files of ``mixlab eval code``: problems (HumanEval or MBPP shape) and samples.

Every malformed line is reported at once, naming the line, the field and what was expected. Samples keep all
their fields (they are written back with the results).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mixlab.errors import MixlabError, SpecError
from mixlab.eval.code.completions import humaneval_completion, mbpp_completion
from mixlab.eval.code.problems import (
    CodeProblem,
    load_humaneval_problems,
    load_mbpp_rows,
    mbpp_problems,
    read_jsonl,
)

MAX_LISTED = 20


@dataclass(frozen=True)
class SampleRecord:
    line: int
    #: the canonical task id of the problem it answers
    task_id: str
    completion: str
    #: the record as read (written back to results.jsonl with the outcome added)
    row: dict[str, Any]


def load_problems_any(path: str | Path) -> dict[str, CodeProblem]:
    """Problems by task id. A HumanEval-shaped file as is; an MBPP file (``test_list``) zero-shot, each
    problem reachable as ``MBPP/<id>`` and ``<id>``."""
    first = next((row for _, row in read_jsonl(path)), None)
    if first is None:
        raise MixlabError(f"problems file {path} holds no problems")
    if "test_list" in first and "prompt" not in first:
        rows = load_mbpp_rows(path)
        problems = mbpp_problems(rows, ids=sorted(rows), shot_ids=())
        by_id: dict[str, CodeProblem] = {}
        for p in problems:
            by_id[p.task_id] = p
            by_id[p.task_id.split("/", 1)[1]] = p
        return by_id
    return {p.task_id: p for p in load_humaneval_problems(path)}


def load_samples(path: str | Path, problems: Mapping[str, CodeProblem]) -> list[SampleRecord]:
    """Samples in file order; malformed lines and unknown task ids are all reported in one error."""
    records: list[SampleRecord] = []
    errors: list[str] = []
    unknown: Counter[str] = Counter()
    for i, row in read_jsonl(path):
        task_id, completion = row.get("task_id"), row.get("completion")
        problems_here = []
        if not isinstance(task_id, (str, int)) or isinstance(task_id, bool):
            problems_here.append("task_id is missing or not a string")
        if not isinstance(completion, str):
            problems_here.append("completion is missing or not a string")
        if problems_here:
            errors.append(f"line {i}: " + "; ".join(problems_here))
            continue
        problem = problems.get(str(task_id))
        if problem is None:
            unknown[str(task_id)] += 1
            continue
        records.append(SampleRecord(i, problem.task_id, str(completion), row))
    if unknown:
        names = ", ".join(f"{k!r} ({v}x)" for k, v in list(unknown.items())[:5])
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        errors.append(f"task ids not in the problems file: {names}{more}")
    if errors:
        extra = [f"... {len(errors) - MAX_LISTED} more"] if len(errors) > MAX_LISTED else []
        raise SpecError(f"samples file {path}", errors[:MAX_LISTED] + extra)
    if not records:
        raise MixlabError(f"samples file {path} holds no samples")
    return records


def prepare_completions(
    records: Sequence[SampleRecord], problems: Mapping[str, CodeProblem], *, extract: bool
) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """``(task_id, completion)`` pairs to run; with ``extract`` cleaned as the suites do, and what was done
    counted (``fenced code extracted``, ``body re-indented``)."""
    pairs: list[tuple[str, str]] = []
    notes: Counter[str] = Counter()
    for record in records:
        completion = record.completion
        if extract:
            problem = problems[record.task_id]
            if problem.check_call:  # HumanEval shape: the completion continues the prompt
                completion, done = humaneval_completion(completion, entry_point=problem.entry_point, reply=True)
            else:
                completion, done = mbpp_completion(completion)
            notes.update(done)
        pairs.append((record.task_id, completion))
    return pairs, dict(notes)
