"""Self-Instruct (Wang et al. 2022, arXiv 2212.10560): new instructions bootstrapped from seed tasks.

One step: ``requests_per_step`` proposal prompts, each listing 8 tasks drawn from the pool (6 seed tasks and 2
already generated, shuffled; seed tasks fill in while fewer are generated) and asking for new ones; every
proposed instruction goes through the filters (``filters.instruction_problem``, duplicates, ROUGE-L < 0.7
against every seed and kept instruction, ``novelty.py``); the teacher then writes an input and output for each
survivor, after two seed demonstrations. Steps repeat until ``n`` rows are kept (or ``max_steps`` ran).

Each kept instruction becomes one row in mixlab's messages form (the user turn is the instruction, a blank line
and the input, as Alpaca), with its provenance in ``meta``: method, teacher, generation settings, both prompts
sent, the parent tasks shown, the step, and the ROUGE-L to its nearest kept instruction.

Simplification, stated: the paper asks the teacher whether a task is a classification and then writes the
output before the input for those; here every task is input-first (``meta["is_classification"]`` is null).

>>> opts = SelfInstructOptions(n=10)
>>> opts.seed_demos + opts.generated_demos
8
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from mixlab.data.example import Example
from mixlab.data.formats.alpaca import alpaca_prompt
from mixlab.errors import SpecError
from mixlab.generate.filters import instruction_problem, normalize
from mixlab.generate.journal import Journal
from mixlab.generate.novelty import NoveltyIndex
from mixlab.generate.progress import StepProgress
from mixlab.generate.prompts import as_prompt, instance_prompt, parse_instance, parse_tasks, proposal_prompt
from mixlab.generate.seeds import SeedTask
from mixlab.generate.teacher import GenerationSettings, Teacher

log = logging.getLogger(__name__)
METHOD = "self-instruct"


@dataclass(frozen=True)
class SelfInstructOptions:
    """What a Self-Instruct run makes (the paper's values as defaults)."""

    #: rows to keep (the run stops when it has them; a re-run with a larger n goes on)
    n: int
    #: seed tasks shown in each proposal prompt
    seed_demos: int = 6
    #: generated tasks shown in each proposal prompt (seed tasks fill in while fewer exist)
    generated_demos: int = 2
    #: new tasks asked for per proposal (chat style); a raw-text teacher continues the list freely
    new_per_request: int = 8
    #: proposal prompts per step (one teacher batch); a step is the unit that is committed and resumed
    requests_per_step: int = 4
    #: keep an instruction only if its ROUGE-L with every instruction kept so far is below this
    rouge_threshold: float = 0.7
    #: seed demonstrations (instruction, input, output) shown when asking for an instance
    instance_demos: int = 2
    #: stop after this many steps even if fewer than n rows were kept (None: 10 x the steps n needs, + 10)
    max_steps: int | None = None
    #: source name of the rows (``Example.source``) and prefix of their ids
    source: str = "self_instruct"

    def problems(self) -> list[str]:
        out = []
        for name in ("n", "new_per_request", "requests_per_step"):
            if getattr(self, name) < 1:
                out.append(f"{name}: {getattr(self, name)!r} must be >= 1")
        for name in ("seed_demos", "generated_demos", "instance_demos"):
            if getattr(self, name) < 0:
                out.append(f"{name}: {getattr(self, name)!r} must be >= 0")
        if self.seed_demos + self.generated_demos < 1:
            out.append("seed_demos + generated_demos must be >= 1: the proposal prompt needs an example")
        if not 0 < self.rouge_threshold <= 1:
            out.append(f"rouge_threshold: {self.rouge_threshold!r} must be in (0, 1]")
        if self.max_steps is not None and self.max_steps < 1:
            out.append(f"max_steps: {self.max_steps!r} must be >= 1 (or None)")
        return out

    def step_limit(self) -> int:
        if self.max_steps is not None:
            return self.max_steps
        return 10 * -(-self.n // (self.requests_per_step * self.new_per_request)) + 10


def settings_record(opts: SelfInstructOptions, gen: GenerationSettings, teacher: dict[str, Any], seeds_sha: str | None,
                    ) -> dict[str, Any]:
    """What a resumed run must share with the first (``n`` and ``max_steps`` may grow)."""
    method = {k: v for k, v in asdict(opts).items() if k not in ("n", "max_steps")}
    return {"method": method, "generation": gen.to_dict(), "teacher": teacher, "seed_tasks_sha256": seeds_sha}


def generate_self_instruct(teacher: Teacher, seeds: Sequence[SeedTask], journal: Journal,
                           opts: SelfInstructOptions, gen: GenerationSettings, *, progress: bool = True,
                           ) -> dict[str, Any]:
    """Run (or resume) Self-Instruct until ``opts.n`` rows are kept; returns the manifest."""
    if problems := opts.problems() + gen.problems():
        raise SpecError("self-instruct options", problems)
    index = NoveltyIndex()
    seen = set()
    for s in seeds:
        index.add(s.id, s.instruction)
        seen.add(normalize(s.instruction))
    for row in journal.rows:
        index.add(row["id"], row["meta"]["instruction"])
        seen.add(normalize(row["meta"]["instruction"]))
    limit = opts.step_limit()
    journal.complete = False  # until this run reaches n (a re-run may ask for more)
    with StepProgress(opts.n, len(journal.rows), "self-instruct", enabled=progress) as bar:
        while len(journal.rows) < opts.n and journal.steps_done < limit:
            step = journal.steps_done
            rows, dropped = _step(teacher, seeds, journal.rows, index, seen, opts, gen, step)
            journal.commit(step, str(step + 1), rows, dropped)
            for row in rows:
                index.add(row["id"], row["meta"]["instruction"])
                seen.add(normalize(row["meta"]["instruction"]))
            bar.update(len(rows), journal.counts)
    complete = len(journal.rows) >= opts.n
    if not complete:
        log.warning("self-instruct stopped after %d steps with %d of %d rows: the teacher's proposals were filtered "
                    "(see the counts); raise --max-steps or change the teacher or settings", journal.steps_done,
                    len(journal.rows), opts.n)
    return journal.write_manifest(complete=complete, target=opts.n, teacher_identity=teacher.record()["identity"])


def _demos(rng: random.Random, seeds: Sequence[SeedTask], kept: Sequence[dict[str, Any]],
           opts: SelfInstructOptions) -> list[tuple[str, str]]:
    """(id, instruction) pairs for one proposal prompt: generated ones first drawn, seed tasks fill in, shuffled."""
    machine = rng.sample(range(len(kept)), min(opts.generated_demos, len(kept)))
    want = opts.seed_demos + opts.generated_demos - len(machine)
    human = rng.sample(range(len(seeds)), min(want, len(seeds)))
    demos = [(kept[i]["id"], kept[i]["meta"]["instruction"]) for i in machine]
    demos += [(seeds[i].id, seeds[i].instruction) for i in human]
    rng.shuffle(demos)
    return demos


def _step(teacher: Teacher, seeds: Sequence[SeedTask], kept: Sequence[dict[str, Any]], index: NoveltyIndex,
          seen: set[str], opts: SelfInstructOptions, gen: GenerationSettings, step: int,
          ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One step: propose, filter, write instances. Returns the kept rows and the dropped candidates."""
    rng = random.Random(f"{METHOD}:{gen.seed}:{step}")
    demo_sets = [_demos(rng, seeds, kept, opts) for _ in range(opts.requests_per_step)]
    prompts = [proposal_prompt([t for _, t in d], opts.new_per_request, gen.style) for d in demo_sets]
    completions = teacher.lm.generate([gen.request(as_prompt(p, gen.style), seed_offset=step * 10_000 + r)
                                       for r, p in enumerate(prompts)])
    dropped: list[dict[str, Any]] = []
    accepted: list[dict[str, Any]] = []  # instruction, request index, rouge, nearest
    local = NoveltyIndex()  # this step's survivors, which later candidates must also differ from
    local_seen: set[str] = set()  # (the run's index and seen set grow only by committed rows: resumable)
    room = opts.n - len(kept)
    for r, texts in enumerate(completions):
        first = len(demo_sets[r]) + 1 if gen.style == "text" else None
        tasks = parse_tasks(texts[0], first)
        if not tasks:
            dropped.append({"step": step, "stage": "proposal", "reason": "no task parsed", "text": texts[0][:2000]})
        for text in tasks:
            reason, score, nearest = _filter(text, index, local, seen | local_seen, opts.rouge_threshold)
            if reason is None and len(accepted) >= room:
                reason = "surplus"  # n reached: not sent for an instance
            if reason is not None:
                dropped.append({"step": step, "stage": "instruction", "reason": reason, "text": text,
                                "rouge_l": score, "nearest": nearest})
                continue
            local_seen.add(normalize(text))
            local.add(f"step-{step}-{len(accepted)}", text)
            accepted.append({"instruction": text, "request": r, "rouge_l": score, "nearest": nearest})
    return _instances(teacher, seeds, accepted, demo_sets, prompts, opts, gen, step, rng, dropped)


def _filter(text: str, index: NoveltyIndex, local: NoveltyIndex, seen: set[str], threshold: float,
            ) -> tuple[str | None, float | None, str | None]:
    """(reason or None, nearest ROUGE-L, nearest id): heuristics, then duplicates, then ROUGE-L novelty."""
    if problem := instruction_problem(text):
        return problem, None, None
    if normalize(text) in seen:
        return "duplicate", 1.0, None
    score, nearest = max(index.nearest(text), local.nearest(text), key=lambda sn: sn[0])
    score = round(score, 4)
    return ("too similar (rouge-l)" if score >= threshold else None), score, nearest


def _instances(teacher: Teacher, seeds: Sequence[SeedTask], accepted: list[dict[str, Any]],
               demo_sets: list[list[tuple[str, str]]], prompts: list[str], opts: SelfInstructOptions,
               gen: GenerationSettings, step: int, rng: random.Random, dropped: list[dict[str, Any]],
               ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    with_output = [s for s in seeds if s.output]
    inst_prompts = []
    for a in accepted:
        demos = rng.sample(with_output, min(opts.instance_demos, len(with_output)))
        inst_prompts.append(instance_prompt(a["instruction"], [(d.instruction, d.input, d.output) for d in demos],
                                            gen.style))
    outs = teacher.lm.generate([gen.request(as_prompt(p, gen.style), seed_offset=step * 10_000 + 5_000 + k)
                                for k, p in enumerate(inst_prompts)]) if accepted else []
    rows: list[dict[str, Any]] = []
    for a, prompt, texts in zip(accepted, inst_prompts, outs, strict=True):
        parsed = parse_instance(texts[0], text_style=gen.style == "text")
        reason = "instance not parsed" if parsed is None else "empty output" if not parsed[1] else None
        if reason is not None:
            dropped.append({"step": step, "stage": "instance", "reason": reason, "text": a["instruction"],
                            "completion": texts[0][:2000]})
            continue
        assert parsed is not None
        inp, out = parsed
        rid = f"{opts.source}-{step:05d}-{len(rows):02d}"
        meta = {
            "method": METHOD, "step": step, "round": step + 1, "instruction": a["instruction"], "input": inp,
            "is_classification": None, "parents": [i for i, _ in demo_sets[a["request"]]],
            "rouge_l_nearest": a["rouge_l"], "nearest": a["nearest"],
            "prompt": {"proposal": prompts[a["request"]], "instance": prompt},
            "teacher": teacher.spec, "generation": gen.to_dict(),
        }
        rows.append(Example.from_pair(rid, opts.source, alpaca_prompt(a["instruction"], inp), out, meta=meta).to_dict())
    return rows, dropped
