"""The HumanEval and MBPP suites: generate n samples per problem, run them in the sandbox, unbiased pass@k.

Prompt formats (named in every task's config, because they change scores):

* ``chat=False`` (default, the standard protocols): the raw prompt is continued. HumanEval: the function's
  signature and docstring, the completion cut at the Codex stop sequences. MBPP: the three-shot prompt of
  Austin et al. (task ids 2, 3, 4; ``shots=0`` for none), the answer cut at ``[DONE]``.
* ``chat=True``: one user turn rendered with the model's chat template, asking for the code in a fenced
  block; the block is extracted from the reply.

Sampling: ``n_samples`` per problem. The default temperature is 0 (greedy) for one sample and 0.8 for more;
several greedy samples would be identical, so ``n_samples > 1`` with ``temperature=0`` is refused. pass@k is
computed for the ``ks`` asked (default: 1 and 10, those that ``n_samples`` allows; the others are named in
``config["not_computed"]``). Timeouts are counted apart from failures (``counts["timed_out"]``, metric
``timeout_rate``).

>>> tasks = humaneval_suite(data_dir="../shared/data", n_samples=1)   # doctest: +SKIP
>>> tasks[0].name, tasks[0].primary                                    # doctest: +SKIP
('humaneval', 'pass@1')
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mixlab.data.example import Message
from mixlab.errors import SpecError
from mixlab.eval.code.completions import HUMANEVAL_STOP, MBPP_STOP, humaneval_completion, mbpp_completion
from mixlab.eval.code.passk import DEFAULT_KS, pass_at_k
from mixlab.eval.code.problems import (
    MBPP_SHOT_IDS,
    MBPP_TEST_IDS,
    CodeProblem,
    load_humaneval_problems,
    load_mbpp_rows,
    mbpp_problems,
)
from mixlab.eval.code.scoring import score_samples
from mixlab.eval.lm import LM, GenerationRequest, Prompt
from mixlab.eval.sandbox import SandboxLimits
from mixlab.eval.stats import mean_with_stderr
from mixlab.eval.suites import data_dir as resolve_data_dir
from mixlab.eval.task import TaskResult
from mixlab.eval.tasks.sampling import counts_since, counts_snapshot, select_items

HUMANEVAL_FILE = "humaneval/HumanEval.jsonl.gz"
MBPP_FILE = "mbpp/mbpp.jsonl.gz"
GREEDY_T, SAMPLING_T = 0.0, 0.8

CHAT_HUMANEVAL = (
    "Complete the following Python function. Reply with the whole function in one ```python code block.\n\n"
    "```python\n{prompt}```"
)
CHAT_MBPP = (
    "{text}\nYour code should pass these tests:\n\n{tests}\n\n"
    "Reply with the Python code in one ```python code block."
)


@dataclass(frozen=True)
class SamplingSpec:
    """How samples are drawn and scored; validated at the door, all problems reported at once.

    >>> SamplingSpec(n_samples=4, temperature=0.0)
    Traceback (most recent call last):
    ...
    mixlab.errors.SpecError: code sampling has 1 problem:
      - temperature: 0.0 with n_samples=4 gives 4 identical greedy samples; use temperature > 0 (e.g. 0.8)
    """

    n_samples: int = 1
    #: ``None``: 0 (greedy) for one sample, 0.8 for several
    temperature: float | None = None
    top_p: float = 0.95
    max_new_tokens: int = 512
    #: pass@k values; ``None``: those of (1, 10) that ``n_samples`` allows
    ks: tuple[int, ...] | None = None
    chat: bool = False
    seed: int = 0
    limits: SandboxLimits = field(default_factory=SandboxLimits)
    workers: int | None = None

    def __post_init__(self) -> None:
        problems = []
        n = self.n_samples
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            problems.append(f"n_samples: {n!r} must be an integer >= 1")
            n = 1
        t = self.temperature
        if t is not None and (not isinstance(t, (int, float)) or t < 0):
            problems.append(f"temperature: {t!r} must be >= 0")
        elif t is not None and t == 0 and n > 1:
            problems.append(f"temperature: {t} with n_samples={n} gives {n} identical greedy samples; "
                            "use temperature > 0 (e.g. 0.8)")
        if not 0 < self.top_p <= 1:
            problems.append(f"top_p: {self.top_p!r} must be in (0, 1]")
        if not isinstance(self.max_new_tokens, int) or self.max_new_tokens < 1:
            problems.append(f"max_new_tokens: {self.max_new_tokens!r} must be an integer >= 1")
        for k in self.ks or ():
            if not isinstance(k, int) or k < 1:
                problems.append(f"ks: {k!r} must be an integer >= 1")
            elif k > n:
                problems.append(f"ks: pass@{k} needs n_samples >= {k} (got {n}); unbiased pass@k needs n >= k")
        if self.workers is not None and (not isinstance(self.workers, int) or self.workers < 1):
            problems.append(f"workers: {self.workers!r} must be an integer >= 1")
        if problems:
            raise SpecError("code sampling", problems)

    @property
    def effective_temperature(self) -> float:
        if self.temperature is not None:
            return float(self.temperature)
        return GREEDY_T if self.n_samples == 1 else SAMPLING_T

    @property
    def effective_ks(self) -> tuple[int, ...]:
        return self.ks if self.ks else tuple(k for k in DEFAULT_KS if k <= self.n_samples)

    @property
    def skipped_ks(self) -> dict[str, str]:
        """Default ks that ``n_samples`` does not allow, with the reason (recorded, never silent)."""
        if self.ks:
            return {}
        return {f"pass@{k}": f"n_samples={self.n_samples} < {k}" for k in DEFAULT_KS if k > self.n_samples}


class CodeTask:
    """One code benchmark as a ``Task``: ability ``code``, headline ``pass@1``, chance 0."""

    ability = "code"
    instruction_type = "code"
    chance = 0.0
    primary = "pass@1"

    def __init__(self, name: str, problems: Sequence[CodeProblem], *, kind: str, spec: SamplingSpec,
                 default_limit: int | None = None, config: dict[str, Any] | None = None):
        self.name, self.problems, self.kind, self.spec = name, list(problems), kind, spec
        self.default_limit = default_limit
        self.base_config = dict(config or {})

    # -- prompts and cleaning ------------------------------------------------------------------------
    def prompt(self, problem: CodeProblem) -> Prompt:
        if not self.spec.chat:
            return problem.prompt
        if self.kind == "humaneval":
            text = CHAT_HUMANEVAL.format(prompt=problem.prompt)
        else:
            tests = problem.test.split("\n")
            text = CHAT_MBPP.format(text=problem.meta.get("text", ""), tests="\n".join(t for t in tests if t.startswith("assert")))
        return (Message("user", text),)

    def stop(self) -> tuple[str, ...]:
        if self.spec.chat:
            return ()  # a chat reply ends with the model's end-of-turn token; fences are extracted after
        return HUMANEVAL_STOP if self.kind == "humaneval" else MBPP_STOP

    def clean(self, problem: CodeProblem, text: str) -> tuple[str, list[str]]:
        if self.kind == "humaneval":
            return humaneval_completion(text, entry_point=problem.entry_point, reply=self.spec.chat)
        return mbpp_completion(text)

    # -- the Task protocol ---------------------------------------------------------------------------
    def evaluate(self, lm: LM, *, limit: int | None = None) -> TaskResult:
        spec = self.spec
        problems = select_items(self.problems, limit if limit is not None else self.default_limit, seed=spec.seed)
        before = counts_snapshot(lm)
        requests = [
            GenerationRequest(self.prompt(p), max_new_tokens=spec.max_new_tokens, stop=self.stop(),
                              temperature=spec.effective_temperature, top_p=spec.top_p, n=spec.n_samples,
                              seed=spec.seed)
            for p in problems
        ]
        outputs = lm.generate(requests)
        notes: Counter[str] = Counter()
        pairs, cleaned = [], []
        for problem, texts in zip(problems, outputs, strict=True):
            if len(texts) != spec.n_samples:
                raise SpecError(f"{self.name} generation", [
                    f"{problem.task_id}: the backend returned {len(texts)} samples, {spec.n_samples} were asked"])
            row = []
            for text in texts:
                completion, done = self.clean(problem, text)
                notes.update(done)
                notes["empty completions"] += int(not completion.strip())
                pairs.append((problem.task_id, completion))
                row.append(completion)
            cleaned.append(row)
        by_id = {p.task_id: p for p in problems}
        scored = score_samples(by_id, pairs, ks=spec.effective_ks, limits=spec.limits, workers=spec.workers,
                               seed=spec.seed)
        return self._result(problems, outputs, cleaned, scored, notes, counts_since(lm, before))

    def _result(self, problems, outputs, cleaned, scored, notes, backend_counts) -> TaskResult:
        spec, n = self.spec, self.spec.n_samples
        items, timeout_rates = [], []
        for j, problem in enumerate(problems):
            results = scored.results[j * n:(j + 1) * n]
            prompt = self.prompt(problem)
            timeout_rates.append(sum(r.timed_out for r in results) / n)
            items.append({
                "id": problem.task_id,
                "prompt": prompt if isinstance(prompt, str) else prompt[-1].content,
                "outputs": outputs[j],
                "completions": cleaned[j],
                "results": [r.reason for r in results],
                "passed": [r.passed for r in results],
                "n": n,
                "c": scored.counts[problem.task_id][1],
            })
        metrics = {f"pass@{k}": s for k, s in scored.pass_at_k.scores.items()}
        metrics["timeout_rate"] = mean_with_stderr(timeout_rates, seed=spec.seed)
        status = scored.summary["counts"]
        counts = {
            "samples": len(scored.results), "passed": status["passed"], "failed": status["failed"],
            "timed_out": status["timed out"], "sandbox_errors": status["error"],
            **{k.replace(" ", "_"): v for k, v in notes.items() if v}, **backend_counts,
        }
        config = {
            **self.base_config,
            "prompt_format": "chat" if spec.chat else "raw continuation",
            "n_samples": n, "temperature": spec.effective_temperature, "top_p": spec.top_p,
            "max_new_tokens": spec.max_new_tokens, "seed": spec.seed, "stop": list(self.stop()),
            "ks": list(spec.effective_ks), "not_computed": {**spec.skipped_ks, **scored.pass_at_k.to_dict()["not_computed"]},
            "limits": spec.limits.to_dict(), "sandbox": scored.summary["sandbox"],
            "failure_reasons": scored.summary["reasons"],
        }
        k = int(self.primary.removeprefix("pass@"))
        item_scores = [{"item": it["id"], "cluster": it["id"], "value": pass_at_k(it["n"], it["c"], k)}
                       for it in items if it["n"] >= k]
        return TaskResult(self.name, self.ability, self.instruction_type, self.primary, self.chance, metrics,
                          items, counts, config, item_scores=item_scores)


# -- suite factories (registered lazily in mixlab.eval.suites) ------------------------------------------
_SPEC_KEYS = ("n_samples", "temperature", "top_p", "max_new_tokens", "chat", "seed", "workers")


def _spec(options: dict[str, Any], default_timeout: float) -> SamplingSpec:
    kwargs = {k: options[k] for k in _SPEC_KEYS if options.get(k) is not None}
    ks = options.get("ks")
    if ks is not None:
        from mixlab.eval.code.passk import parse_ks

        kwargs["ks"] = parse_ks(ks)
    limits = options.get("limits")
    if limits is None:
        limits = SandboxLimits(timeout=float(options.get("timeout") or default_timeout),
                               timeout_factor=options.get("timeout_factor"))
    return SamplingSpec(limits=limits, **kwargs)


def _source(options: dict[str, Any], relative: str) -> Path:
    path = resolve_data_dir(options.get("data_dir")) / relative
    if not path.is_file():
        raise SpecError("code suite", [f"data_dir: {path} not found (expected the shared data layout: {relative})"])
    return path


def humaneval_suite(**options: Any) -> list[CodeTask]:
    """Suite ``humaneval`` (164 problems). Options: ``data_dir``, ``limit``, ``n_samples``, ``temperature``,
    ``top_p``, ``max_new_tokens``, ``chat``, ``ks``, ``timeout`` (default 3 s), ``timeout_factor``, ``workers``,
    ``seed``."""
    path = _source(options, HUMANEVAL_FILE)
    spec = _spec(options, default_timeout=3.0)
    return [CodeTask("humaneval", load_humaneval_problems(path), kind="humaneval", spec=spec,
                     default_limit=options.get("limit"), config={"source": HUMANEVAL_FILE, "shots": 0})]


def mbpp_suite(**options: Any) -> list[CodeTask]:
    """Suite ``mbpp`` (test ids 11-510). Options as ``humaneval``, plus ``shots`` (3: task ids 2, 3, 4, the
    default for raw prompts; 0: none, the only choice with ``chat``); the default timeout is 5 s (a few
    reference solutions take seconds)."""
    path = _source(options, MBPP_FILE)
    chat = bool(options.get("chat"))
    shots = options.get("shots")
    shots = (0 if chat else 3) if shots is None else shots
    if shots not in (0, 3):
        raise SpecError("mbpp suite", [f"shots: {shots!r} must be 3 (task ids 2, 3, 4) or 0"])
    if chat and shots:
        raise SpecError("mbpp suite", ["shots: the chat prompt is zero-shot; use shots=0 with chat=True"])
    shot_ids = MBPP_SHOT_IDS if shots == 3 else ()
    spec = _spec(options, default_timeout=5.0)
    problems = mbpp_problems(load_mbpp_rows(path), ids=MBPP_TEST_IDS, shot_ids=shot_ids)
    return [CodeTask("mbpp", problems, kind="mbpp", spec=spec, default_limit=options.get("limit"),
                     config={"source": MBPP_FILE, "shots": len(shot_ids), "shot_ids": list(shot_ids),
                             "test_ids": "11-510"})]
