"""The world's evaluation suite: one task per ability, held-out items, exact scorers.

Scorers: ``nlp`` abilities (and ``logic``, ``knowledge``) by exact match of the normalised answer; ``code``
abilities by running the generated function against hidden tests in mixlab's sandbox
(``mixlab.eval.sandbox``); ``chat`` abilities (and ``persona``, ``refusal``, ``story``) by the same
verifiable checks as the ``ifeval`` suite (``mixlab.eval.ifeval``), strict: every constraint of the request
must hold; ``arith`` by the final number of a worked answer. The suite scores the classic seven abilities
unless ``abilities`` names others (``all``, ``extended`` or names). With the option ``prob_answer: true``
every task also reports ``prob_answer``, the reference answer's per-token probability (one more
log-likelihood pass over the items, about half as much evaluation time again): a continuous score beside the
pass/fail accuracy, which ``mixlab search`` regresses on.

>>> tasks = world_suite(limit=5)
>>> [t.name for t in tasks][:3], tasks[0].chance
(['world/sentiment', 'world/extraction', 'world/topic'], 0.5)
"""

from __future__ import annotations

import logging
import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from mixlab.data.example import Message
from mixlab.errors import MixlabError
from mixlab.eval.lm import LM, GenerationRequest, LoglikelihoodRequest
from mixlab.eval.stats import mean_with_stderr
from mixlab.eval.task import TaskResult
from mixlab.world.abilities import Ability, WorldItem
from mixlab.world.abilities_extended import ALL as ABILITIES
from mixlab.world.abilities_extended import GROUPS

DEFAULT_ITEMS = 100
log = logging.getLogger(__name__)


@lru_cache(maxsize=32)
def eval_items(ability: str, n: int = DEFAULT_ITEMS) -> tuple[WorldItem, ...]:
    """The fixed held-out items of an ability (distinct prompts; the same for every install)."""
    a = ABILITIES[ability]
    rng = random.Random(f"world-eval|{ability}")
    items: list[WorldItem] = []
    seen: set[str] = set()
    while len(items) < n:
        item = a.draw(rng, "eval")
        if item.prompt not in seen:
            seen.add(item.prompt)
            items.append(item)
    return tuple(items)


def normalise(text: str) -> str:
    """Lower-case, first line, no article, surrounding spaces or final period: ``" The Goat.\\n"`` -> ``"goat"``."""
    first = text.strip().split("\n", 1)[0] if text.strip() else ""
    first = first.strip().lower().rstrip(".!").strip()
    return first[4:] if first.startswith("the ") else first


def extract_code(text: str) -> str:
    """The code of a response: the first fenced block if there is one, else the whole text."""
    m = re.search(r"```(?:python|py)?\n(.*?)(?:```|$)", text, re.S)
    return m.group(1) if m else text


@dataclass
class WorldTask:
    """One world ability as an evaluation task (generation, greedy)."""

    ability_def: Ability
    n_items: int = DEFAULT_ITEMS
    prob_answer: bool = False
    """Also score the reference answer's per-token probability (``prob_answer``; one log-likelihood pass)."""

    @property
    def name(self) -> str:
        return f"world/{self.ability_def.name}"

    @property
    def ability(self) -> str:
        return self.ability_def.name

    @property
    def instruction_type(self) -> str:
        return self.ability_def.instruction_type

    @property
    def chance(self) -> float:
        return self.ability_def.chance

    primary = "accuracy"

    def evaluate(self, lm: LM, *, limit: int | None = None) -> TaskResult:
        items = eval_items(self.ability, self.n_items)[: limit or None]
        requests = [
            GenerationRequest(prompt=(Message("user", it.prompt),), max_new_tokens=self.ability_def.max_new_tokens)
            for it in items
        ]
        outputs = [o[0] for o in lm.generate(requests)]
        scores, details, counts = self.score(items, outputs)
        probs = (answer_probabilities(lm, [r.prompt for r in requests], [it.answer for it in items], counts)
                 if self.prob_answer else [])
        records = [
            {"id": f"{self.ability}-{i:03d}", "cluster": it.key, "prompt": it.prompt, "output": out,
             "reference": it.answer, "score": s, **d, **({"prob_answer": probs[i]} if probs else {})}
            for i, (it, out, s, d) in enumerate(zip(items, outputs, scores, details, strict=True))
        ]
        item_scores = [{"item": r["id"], "cluster": r["cluster"], "value": r["score"]} for r in records]
        metrics = {"accuracy": mean_with_stderr(scores)}
        if probs:
            metrics["prob_answer"] = mean_with_stderr(probs)
        return TaskResult(
            task=self.name, ability=self.ability, instruction_type=self.instruction_type, primary="accuracy",
            chance=self.chance, metrics=metrics, items=records, counts=counts,
            config={"format": "generation, greedy", "scorer": _scorer_name(self.ability_def),
                    "items": len(items), "clusters": len({it.key for it in items})},
            item_scores=item_scores,
        )

    def score(self, items: Sequence[WorldItem], outputs: Sequence[str]) -> tuple[list[float], list[dict], dict]:
        scorer = _scorer_of(self.ability_def)
        if scorer == "code":
            return _score_code(items, outputs)
        if scorer == "checks":
            return _score_checks(items, outputs)
        if scorer == "final":
            finals = [final_number(o) for o in outputs]
            scores = [float(f == it.check["final"]) for it, f in zip(items, finals, strict=True)]
            return scores, [{"final": f} for f in finals], {}
        scores = [float(normalise(o) == it.check["answer"]) for it, o in zip(items, outputs, strict=True)]
        return scores, [{} for _ in items], {}


def answer_probabilities(lm: LM, prompts: Sequence[Any], answers: Sequence[str], counts: dict[str, int]) -> list[float]:
    """The reference answer's per-token probability after each prompt (the geometric mean over its tokens,
    ``exp(log-likelihood / tokens)``): a continuous score beside pass/fail, reported as ``prob_answer``.
    Empty when the backend cannot score log-likelihoods (counted as ``prob_answer_unavailable``)."""
    try:
        results = lm.loglikelihood([LoglikelihoodRequest(p, a) for p, a in zip(prompts, answers, strict=True)])
    except (NotImplementedError, MixlabError) as e:
        log.warning("prob_answer not computed: the backend cannot score log-likelihoods (%s)", e)
        counts["prob_answer_unavailable"] = len(prompts)
        return []
    return [math.exp(r.logprob / r.n_tokens) if r.n_tokens else 1.0 for r in results]


def _scorer_of(ability: Ability) -> str:
    """How an ability's items are scored, read from what its items carry (hidden tests, checks, a number)."""
    return _scorer_by_name(ability.name)


@lru_cache(maxsize=64)
def _scorer_by_name(name: str) -> str:
    check = ABILITIES[name].draw(random.Random(0), "eval").check
    return "code" if "tests" in check else "checks" if "checks" in check else "final" if "final" in check else "exact"


def _scorer_name(ability: Ability) -> str:
    return {"code": "sandboxed execution of hidden tests", "checks": "verifiable checks (strict)",
            "final": "exact match of the final number"}.get(_scorer_of(ability), "exact match")


def final_number(text: str) -> int | None:
    """The answer of a worked solution: the first number after the last "answer is", else the last number.

    >>> final_number("3 + 4 = 7. 7 - 2 = 5. the answer is 5."), final_number("it is 12"), final_number("none")
    (5, 12, None)
    """
    low = text.lower()
    if "answer is" in low and (m := re.search(r"-?\d+", low.rsplit("answer is", 1)[1])):
        return int(m.group())
    numbers = re.findall(r"-?\d+", text)
    return int(numbers[-1]) if numbers else None


#: verdicts of world programs already run in this process (program text -> (passed, reason)). The world's
#: programs are deterministic (no time, randomness or input), and trained models of one study write the
#: same program again and again: each distinct program runs once. Timeouts and sandbox errors are not kept.
_VERDICTS: dict[str, tuple[bool, str]] = {}
_MAX_VERDICTS = 50_000


def _score_code(items: Sequence[WorldItem], outputs: Sequence[str]) -> tuple[list[float], list[dict], dict]:
    from mixlab.eval.sandbox import SandboxLimits, run_programs

    programs = [_program(extract_code(o), it) for it, o in zip(items, outputs, strict=True)]
    todo = list(dict.fromkeys(p for p in programs if p not in _VERDICTS))
    fresh: dict[str, tuple[bool, str, str]] = {}
    for prog, r in zip(todo, run_programs(todo, SandboxLimits(timeout=2.0, memory_mb=512)), strict=True):
        fresh[prog] = (r.passed, r.reason, r.status)
        if r.status in ("passed", "failed") and len(_VERDICTS) < _MAX_VERDICTS:
            _VERDICTS[prog] = (r.passed, r.reason)
    verdicts = [fresh[p][:2] if p in fresh else _VERDICTS[p] for p in programs]
    scores = [float(passed) for passed, _ in verdicts]
    details = [{"result": reason} for _, reason in verdicts]
    counts = {"timed_out": sum(fresh[p][2] == "timed out" for p in programs if p in fresh)}
    return scores, details, counts


def _program(code: str, item: WorldItem) -> str:
    """The response's code, then the hidden tests. The tests call the function the response defines: a
    response that names it differently (``def f(x)`` for ``add_3``) passes if it behaves as asked."""
    entry = item.check["entry"]
    names = re.findall(r"^def\s+(\w+)\s*\(", code, re.M)
    alias = f"\n{entry} = {names[-1]}" if names and entry not in names else ""
    return f"{code}{alias}\n\n" + "\n".join(item.check["tests"]) + "\n"


def _score_checks(items: Sequence[WorldItem], outputs: Sequence[str]) -> tuple[list[float], list[dict], dict]:
    from mixlab.eval.ifeval import check_instructions, follows_all

    scores, details = [], []
    for it, out in zip(items, outputs, strict=True):
        res = check_instructions(out, it.check["checks"])
        scores.append(float(follows_all(res, "strict")))
        details.append({"checks": {r.check: r.strict for r in res}})
    return scores, details, {}


def world_suite(*, limit: int | None = None, n_items: int = DEFAULT_ITEMS, abilities: Any = None,
                prob_answer: bool | None = None, **_: Any) -> list[WorldTask]:
    """One task per world ability: the classic seven, or ``abilities`` by name or group (``classic``,
    ``extended``, ``all``); with ``prob_answer``, each also reports the reference answer's probability."""
    names = [n for a in (abilities or ["classic"]) for n in GROUPS.get(a, (a,))]
    unknown = [n for n in names if n not in ABILITIES]
    if unknown:
        from mixlab.errors import MixlabError

        raise MixlabError(f"unknown world abilities {unknown}; known: {', '.join(ABILITIES)} (groups: "
                          f"{', '.join(GROUPS)})")
    n = max(n_items, limit or 0)
    return [WorldTask(ABILITIES[name], n, bool(prob_answer)) for name in names]
