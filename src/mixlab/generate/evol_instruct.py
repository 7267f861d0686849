"""Evol-Instruct (WizardLM, Xu et al. 2023, arXiv 2304.12244): instructions made harder, or new ones beside them.

The pool starts as ``n`` instructions sampled (seeded, not the first rows) from any file mixlab can load. In each
round every instruction is evolved once, by one evolution drawn at random (seeded by the instruction's id): four
in-depth ones (add constraints, deepen, concretize, increase reasoning steps) and the in-breadth one (a new,
rarer instruction of the same domain); see ``prompts.EVOLUTIONS``. The teacher writes the evolved instruction,
then answers it. The paper's elimination rules (``filters.evolved_problem``, ``filters.response_problem``)
remove failed evolutions, each counted by reason. A kept evolution replaces its parent in the next round's pool;
an eliminated one leaves the parent there, to be evolved again (as the paper does).

Rows are mixlab's messages form: the evolved instruction and the teacher's response, with ``meta`` holding the
method, evolution, parent id (the instruction it evolved from) and root id (the input row), round, both prompts,
the teacher and the generation settings.

>>> EvolInstructOptions(n=4).evolutions[-1]
'breadth'
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from mixlab.data.example import Example
from mixlab.errors import SpecError
from mixlab.generate.filters import evolved_problem, response_problem
from mixlab.generate.journal import Journal
from mixlab.generate.progress import StepProgress
from mixlab.generate.prompts import EVOLUTIONS, as_prompt, evolution_prompt, response_prompt
from mixlab.generate.teacher import GenerationSettings, Teacher

log = logging.getLogger(__name__)
METHOD = "evol-instruct"


@dataclass(frozen=True)
class EvolItem:
    """An instruction in the pool: its id, text, and the id of the input row it descends from."""

    id: str
    instruction: str
    root: str


@dataclass(frozen=True)
class EvolInstructOptions:
    """What an Evol-Instruct run makes."""

    #: instructions sampled from the input (seeded) to start the pool; all of them when the input has fewer
    n: int
    #: rounds of evolution (the paper ran 4); a re-run with more rounds goes on
    rounds: int = 4
    #: evolutions drawn from, uniformly (names of ``prompts.EVOLUTIONS``)
    evolutions: tuple[str, ...] = field(default_factory=lambda: tuple(EVOLUTIONS))
    #: instructions evolved per step (one teacher batch); a step is the unit committed and resumed
    requests_per_step: int = 8
    #: source name of the rows (``Example.source``) and prefix of their ids
    source: str = "evol_instruct"

    def problems(self) -> list[str]:
        out = []
        for name in ("n", "rounds", "requests_per_step"):
            if getattr(self, name) < 1:
                out.append(f"{name}: {getattr(self, name)!r} must be >= 1")
        bad = [e for e in self.evolutions if e not in EVOLUTIONS]
        if bad or not self.evolutions:
            out.append(f"evolutions: {list(self.evolutions)!r} must be a non-empty subset of {', '.join(EVOLUTIONS)}")
        return out


def settings_record(opts: EvolInstructOptions, gen: GenerationSettings, teacher: dict[str, Any], input_record: dict[str, Any],
                    ) -> dict[str, Any]:
    """What a resumed run must share with the first (``rounds`` may grow)."""
    method = {k: v for k, v in asdict(opts).items() if k != "rounds"}
    return {"method": method, "generation": gen.to_dict(), "teacher": teacher, "input": input_record}


def sample_items(items: Sequence[EvolItem], n: int, seed: int) -> list[EvolItem]:
    """``n`` items drawn with ``seed``, in input order (all of them when there are no more than ``n``)."""
    if n >= len(items):
        return list(items)
    picked = sorted(random.Random(f"{METHOD}-sample:{seed}").sample(range(len(items)), n))
    return [items[i] for i in picked]


def generate_evol_instruct(teacher: Teacher, start: Sequence[EvolItem], journal: Journal, opts: EvolInstructOptions,
                           gen: GenerationSettings, *, progress: bool = True) -> dict[str, Any]:
    """Run (or resume) ``opts.rounds`` rounds of evolution over ``start``; returns the manifest."""
    if problems := opts.problems() + gen.problems():
        raise SpecError("evol-instruct options", problems)
    per_round = -(-len(start) // opts.requests_per_step)
    total = per_round * opts.rounds
    journal.complete = False  # until this run's last round (a re-run may ask for more rounds)
    with StepProgress(len(start) * opts.rounds, journal.counts["proposed"], "evol-instruct",
                      enabled=progress) as bar:
        while journal.steps_done < total:
            step = journal.steps_done
            round_, batch = divmod(step, per_round)
            pool = pool_for_round(start, journal.rows, round_ + 1)
            chunk = list(enumerate(pool))[batch * opts.requests_per_step:(batch + 1) * opts.requests_per_step]
            rows, dropped = _step(teacher, chunk, opts, gen, step, round_ + 1)
            journal.commit(step, str(round_ + 1), rows, dropped)
            bar.update(len(rows) + len(dropped), journal.counts)
    return journal.write_manifest(complete=True, rounds=opts.rounds, teacher_identity=teacher.record()["identity"])


def pool_for_round(start: Sequence[EvolItem], rows: Sequence[dict[str, Any]], round_: int) -> list[EvolItem]:
    """The pool of ``round_`` (1-based): the start, each place taken by its latest kept evolution."""
    pool = list(start)
    kept = {(r["meta"]["round"], r["meta"]["pool_index"]): r for r in rows}
    for r in range(1, round_):
        for i, item in enumerate(pool):
            if (row := kept.get((r, i))) is not None:
                pool[i] = EvolItem(row["id"], row["meta"]["instruction"], item.root)
    return pool


def _step(teacher: Teacher, chunk: list[tuple[int, EvolItem]], opts: EvolInstructOptions, gen: GenerationSettings,
          step: int, round_: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Evolve one batch: evolution prompts, the instruction-side rules, answers, the response-side rules."""
    kinds = [random.Random(f"{METHOD}:{gen.seed}:{round_}:{item.id}").choice(opts.evolutions) for _, item in chunk]
    evo_prompts = [evolution_prompt(item.instruction, kind) for (_, item), kind in zip(chunk, kinds, strict=True)]
    evolved = [texts[0].strip() for texts in teacher.lm.generate(
        [gen.request(as_prompt(p, gen.style), seed_offset=step * 10_000 + k) for k, p in enumerate(evo_prompts)])]
    dropped: list[dict[str, Any]] = []
    survivors = []
    for k, ((_, item), kind) in enumerate(zip(chunk, kinds, strict=True)):
        if reason := evolved_problem(item.instruction, evolved[k]):
            dropped.append({"step": step, "round": round_, "stage": "evolution", "reason": reason,
                            "parent": item.id, "evolution": kind, "text": evolved[k][:2000]})
        else:
            survivors.append(k)
    answer_prompts = {k: response_prompt(evolved[k], gen.style) for k in survivors}
    answers = teacher.lm.generate([gen.request(as_prompt(answer_prompts[k], gen.style),
                                               seed_offset=step * 10_000 + 5_000 + k) for k in survivors])
    rows = []
    for k, texts in zip(survivors, answers, strict=True):
        (i, item), kind, response = chunk[k], kinds[k], texts[0].strip()
        if reason := response_problem(response):
            dropped.append({"step": step, "round": round_, "stage": "response", "reason": reason, "parent": item.id,
                            "evolution": kind, "text": evolved[k][:2000], "response": response[:2000]})
            continue
        meta = {
            "method": METHOD, "step": step, "round": round_, "pool_index": i, "evolution": kind,
            "instruction": evolved[k], "parent": item.id, "parent_instruction": item.instruction, "root": item.root,
            "prompt": {"evolution": evo_prompts[k], "response": answer_prompts[k]},
            "teacher": teacher.spec, "generation": gen.to_dict(),
        }
        rid = f"{opts.source}-r{round_}-{i:06d}"
        rows.append(Example.from_pair(rid, opts.source, evolved[k], response, meta=meta).to_dict())
    return rows, dropped
