"""Question and answer files in the shapes people already have: FastChat (MT-Bench) and AlpacaEval.

Questions (JSON lines, or a JSON array; ``.gz`` allowed):

- FastChat / MT-Bench: ``{"question_id": 81, "category": "writing", "turns": ["...", "..."]}``
- AlpacaEval: ``{"instruction": "...", "dataset": "oasst"}`` (the instruction is the question's id)
- plain: ``{"id": "q1", "question": "..."}`` (or ``"prompt"``), optional ``"category"``

Answers:

- FastChat ``model_answer``: ``{"question_id": 81, "model_id": "m", "choices": [{"turns": ["...", "..."]}]}``
  (FastChat's ``reference_answer/*.jsonl`` has the same shape)
- AlpacaEval ``model_outputs.json``: ``{"instruction": "...", "output": "...", "generator": "m"}``
- plain: ``{"question_id": "q1", "turns": [...]}`` or ``{"question_id": "q1", "output": "..."}``

A malformed record is an error that names the file, line and field (all problems at once), never skipped.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mixlab.errors import MixlabError, SpecError
from mixlab.eval.judge.grading import Question


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """JSON-lines or a JSON array (optionally gzipped) as a list of objects."""
    path = Path(path)
    if not path.is_file():
        raise MixlabError(f"file not found: {path}")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        text = f.read()
    if text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except ValueError as exc:
            raise MixlabError(f"{path}: not valid JSON ({exc})") from exc
    else:
        rows, problems = [], []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError as exc:
                    problems.append(f"line {n}: not valid JSON ({exc})")
        if problems:
            raise SpecError(str(path), problems[:20])
    bad = [f"record {i + 1}: expected a JSON object" for i, r in enumerate(rows) if not isinstance(r, dict)]
    if bad:
        raise SpecError(str(path), bad[:20])
    return rows


def _qid(row: Mapping[str, Any]) -> str | None:
    for key in ("question_id", "id", "instruction"):
        if key in row and row[key] is not None:
            return str(row[key])
    return None


def _answer_turns(row: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The answer text(s) of a record; an empty string is a (bad, but real) answer, not a missing one."""
    choices = row.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], Mapping):
        return _turns(choices[0].get("turns"))
    for key in ("turns", "output", "answer"):
        if key in row:
            return _turns(row[key])
    return None


def _turns(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Sequence) and value and all(isinstance(t, str) for t in value):
        return tuple(value)
    return None


def parse_question(row: Mapping[str, Any]) -> Question | str:
    """A ``Question`` from one record, or the problem with it."""
    turns = _turns(row.get("turns") or row.get("question") or row.get("prompt") or row.get("instruction"))
    qid = str(row["question_id"]) if "question_id" in row else _qid(row)
    if qid is None:
        return "no id: give 'question_id', 'id' or 'instruction'"
    if turns is None:
        return f"question {qid}: no turns: give 'turns' (list of strings), 'question', 'prompt' or 'instruction'"
    refs = _turns(row.get("reference")) or ()
    return Question(qid, turns, str(row.get("category") or row.get("dataset") or ""), refs)


def read_questions(path: str | Path) -> list[Question]:
    out, problems, seen = [], [], set()
    for i, row in enumerate(read_records(path), 1):
        q = parse_question(row)
        if isinstance(q, str):
            problems.append(f"record {i}: {q}")
        elif q.id in seen:
            problems.append(f"record {i}: duplicate question id {q.id!r}")
        else:
            seen.add(q.id)
            out.append(q)
    if problems:
        raise SpecError(f"questions file {path}", problems[:20])
    return out


@dataclass(frozen=True)
class AnswerSet:
    """Answers of one model: turns per question id (for AlpacaEval files the id is the instruction)."""

    model: str
    by_id: dict[str, tuple[str, ...]]
    source: str
    #: the ids are the instructions themselves (AlpacaEval files): the file needs no separate questions
    keyed_by_instruction: bool = False


def read_answers(path: str | Path, model: str | None = None) -> AnswerSet:
    rows = read_records(path)
    by_id: dict[str, tuple[str, ...]] = {}
    problems = []
    names = set()
    by_instruction = bool(rows) and all("question_id" not in r and "id" not in r and "instruction" in r for r in rows)
    for i, row in enumerate(rows, 1):
        qid = _qid(row)
        turns = _answer_turns(row)
        if qid is None or turns is None:
            problems.append(f"record {i}: needs a question id ('question_id'/'id'/'instruction') and answer "
                            "text ('choices[0].turns', 'turns', 'output' or 'answer')")
            continue
        if qid in by_id:
            problems.append(f"record {i}: duplicate answer for question {qid!r}")
        by_id[qid] = turns
        names.add(str(row.get("model_id") or row.get("generator") or ""))
    if problems:
        raise SpecError(f"answers file {path}", problems[:20])
    names.discard("")
    name = model or (names.pop() if len(names) == 1 else Path(path).name.split(".")[0])
    return AnswerSet(name, by_id, str(path), by_instruction)


def questions_from_answers(answers: AnswerSet) -> list[Question]:
    """AlpacaEval-style files carry the instruction itself: each answered instruction is a one-turn question."""
    return [Question(qid, (qid,)) for qid in answers.by_id]


def attach_references(questions: Sequence[Question], refs: AnswerSet) -> list[Question]:
    """Questions with reference answers (by question id) filled in where the reference file has them."""
    return [Question(q.id, q.turns, q.category, refs.by_id.get(q.id, q.references)) for q in questions]


def align(questions: Sequence[Question], answers: AnswerSet) -> tuple[list[Question], list[tuple[str, ...]], list[str]]:
    """The questions that ``answers`` answers (all turns), their answers, and the ids left out (missing or short)."""
    kept, texts, missing = [], [], []
    for q in questions:
        a = answers.by_id.get(q.id)
        if a is None or len(a) < min(len(q.turns), 2):
            missing.append(q.id)
            continue
        kept.append(q)
        texts.append(a)
    return kept, texts, missing
