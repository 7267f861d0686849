"""Answers by a teacher: the instructions of a dataset, answered anew by a model (distillation).

How much of "GPT-4 data" is made: a curated set's instructions, with the responses of a stronger model instead
of the human ones. The rows keep each instruction (and its earlier turns) and replace the last response with
the teacher's; the teacher's errors stay in the data, nothing checks them, which is the point when a study
compares curated with generated data at equal volume. An empty answer is dropped and counted.

Every row records its teacher, the prompt it saw, the generation settings and its parent (the input row's
id); a run is committed step by step (``journal.Journal``) and resumes where it stopped.

>>> opts = AnswerOptions(n=2)
>>> opts.problems(), AnswerOptions(n=0).problems()
([], ['n: 0 must be >= 1'])
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from mixlab.data.example import Example, Message
from mixlab.errors import SpecError
from mixlab.generate.journal import Journal
from mixlab.generate.progress import StepProgress
from mixlab.generate.prompts import as_prompt
from mixlab.generate.teacher import GenerationSettings, Teacher

METHOD = "answers"


@dataclass(frozen=True)
class AnswerOptions:
    """What an answers run makes."""

    #: input rows answered (seeded sample, kept in input order; all of them when the input has fewer)
    n: int
    #: rows answered per step (one teacher batch): the unit committed and resumed
    requests_per_step: int = 16
    #: source name of the rows (``Example.source``) and prefix of their ids
    source: str = "answers"

    def problems(self) -> list[str]:
        return [f"{k}: {getattr(self, k)!r} must be >= 1" for k in ("n", "requests_per_step") if getattr(self, k) < 1]


def settings_record(opts: AnswerOptions, gen: GenerationSettings, teacher: dict[str, Any],
                    input_record: dict[str, Any]) -> dict[str, Any]:
    """What a resumed run must share with the first."""
    return {"method": asdict(opts), "generation": gen.to_dict(), "teacher": teacher, "input": input_record}


def sample_examples(examples: Sequence[Example], n: int, seed: int) -> list[Example]:
    """``n`` examples drawn with ``seed``, in input order (all of them when there are no more than ``n``)."""
    if n >= len(examples):
        return list(examples)
    picked = sorted(random.Random(f"{METHOD}-sample:{seed}").sample(range(len(examples)), n))
    return [examples[i] for i in picked]


def generate_answers(teacher: Teacher, examples: Sequence[Example], journal: Journal, opts: AnswerOptions,
                     gen: GenerationSettings, *, progress: bool = True) -> dict[str, Any]:
    """Answer ``examples`` (already sampled) step by step, or resume; returns the manifest."""
    if problems := opts.problems() + gen.problems():
        raise SpecError("answers options", problems)
    total = -(-len(examples) // opts.requests_per_step)
    with StepProgress(len(examples), journal.counts["proposed"], "answers", enabled=progress) as bar:
        while journal.steps_done < total:
            step = journal.steps_done
            chunk = examples[step * opts.requests_per_step:(step + 1) * opts.requests_per_step]
            rows, dropped = _step(teacher, chunk, opts, gen, step)
            journal.commit(step, "1", rows, dropped)
            bar.update(len(rows) + len(dropped), journal.counts)
    return journal.write_manifest(complete=True, teacher_identity=teacher.record()["identity"])


def _conversation(ex: Example) -> tuple[Message, ...]:
    """The turns before the last response (a system turn and earlier turns included)."""
    last = max(i for i, m in enumerate(ex.messages) if m.role == "assistant") if any(
        m.role == "assistant" for m in ex.messages) else len(ex.messages)
    return tuple(ex.messages[:last])


def _step(teacher: Teacher, chunk: Sequence[Example], opts: AnswerOptions, gen: GenerationSettings,
          step: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    # chat: the conversation as the teacher's chat turns; text: the last instruction as raw text to continue
    prompts = [_conversation(ex) if gen.style == "chat" else (Message("user", ex.prompt),) for ex in chunk]
    asked = [p if gen.style == "chat" else as_prompt(p[-1].content, "text") for p in prompts]
    outputs = teacher.lm.generate([gen.request(p, seed_offset=step * 10_000 + k) for k, p in enumerate(asked)])
    rows, dropped = [], []
    for ex, prompt, texts in zip(chunk, prompts, outputs, strict=True):
        answer = texts[0].strip()
        if not answer:
            dropped.append({"step": step, "reason": "empty answer", "parent": ex.id, "text": ex.prompt[:2000]})
            continue
        meta = {"method": METHOD, "step": step, "parent": ex.id, "parent_source": ex.source,
                "prompt": [{"role": m.role, "content": m.content} for m in prompt],
                "teacher": teacher.spec, "generation": gen.to_dict()}
        row = Example(id=f"{opts.source}-{ex.id}", source=opts.source,
                      messages=(*prompt, Message("assistant", answer)), instruction_type=ex.instruction_type,
                      abilities=ex.abilities, meta=meta)
        rows.append(row.to_dict())
    return rows, dropped
