"""What the judge suites share: resolving the judge model, the judge config from options, picking items.

A judge is any ``LM``: an object, or a model spec string loaded by ``mixlab.eval.backends.load_lm`` with a
backend name (``transformers`` by default; ``openai`` for an OpenAI-compatible server in real use) and backend
options.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from mixlab.artifacts import content_hash
from mixlab.errors import MixlabError, SpecError
from mixlab.eval.judge.engine import JudgeConfig
from mixlab.eval.lm import LM

log = logging.getLogger(__name__)
T = TypeVar("T")


def resolve_lm(spec: LM | str | None, role: str = "judge", *, backend: str | None = None,
               options: Mapping[str, Any] | None = None) -> LM:
    """An ``LM`` from an object or a model spec string (loaded with ``backend`` and ``options``)."""
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        raise MixlabError(
            f"this suite needs a {role} model: pass --{role} MODEL (a model folder, hub id or served model name; "
            f"see docs/judges.md) or {role}=<LM object> in Python"
        )
    if isinstance(spec, str):
        return load_lm_spec(spec, backend=backend, **dict(options or {}))
    if not isinstance(spec, LM):
        raise MixlabError(f"{role}: {type(spec).__name__} is not an LM (needs identity, loglikelihood, generate)")
    return spec


def load_lm_spec(spec: str, backend: str | None = None, **options: Any) -> LM:
    """Load a model spec with ``mixlab.eval.backends.load_lm`` (default backend ``transformers``, which also
    finds the one ``.gguf`` of a folder such as the shared SmolLM2's)."""
    from mixlab.eval.backends import load_lm

    return load_lm(spec, backend=backend or "transformers", **options)


def judge_config(options: Mapping[str, Any]) -> JudgeConfig:
    """``JudgeConfig`` from suite options ``judge_max_new_tokens``, ``judge_retries``, ``judge_retry_temperature``,
    ``seed`` (validated; all problems reported at once)."""
    kwargs: dict[str, Any] = {}
    for opt, field in (("judge_max_new_tokens", "max_new_tokens"), ("judge_retries", "retries"),
                       ("judge_retry_temperature", "retry_temperature"), ("seed", "seed"),
                       ("judge_chunk_size", "chunk_size")):
        if options.get(opt) is not None:
            kwargs[field] = options[opt]
    return JudgeConfig(**kwargs)


def check_limit(limit: Any) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise SpecError("suite options", [f"limit: {limit!r} must be a positive integer (or omitted for all)"])
    return limit


def select(items: Sequence[T], limit: int | None, *, seed: int = 0, group: Callable[[T], str] | None = None) -> list[T]:
    """Up to ``limit`` items, representative rather than the first rows of the file.

    With ``group`` (a category), items are taken round-robin over the groups in file order, so ``limit=8`` on
    MT-Bench gives one question of each of its 8 categories. Without, a seeded random sample is returned in file
    order.

    >>> select(list("aabbcc"), 3, group=lambda x: x)
    ['a', 'b', 'c']
    >>> select(list(range(10)), 3, seed=1)
    [1, 2, 4]
    """
    if limit is None or limit >= len(items):
        return list(items)
    if group is None:
        picked = sorted(random.Random(seed).sample(range(len(items)), limit))
        return [items[i] for i in picked]
    buckets: dict[str, list[int]] = {}
    for i, item in enumerate(items):
        buckets.setdefault(group(item), []).append(i)
    chosen: list[int] = []
    queues = list(buckets.values())
    while len(chosen) < limit:
        for q in queues:
            if q and len(chosen) < limit:
                chosen.append(q.pop(0))
    return [items[i] for i in sorted(chosen)]


def judge_record(judge: LM, lm: LM | None = None) -> dict[str, Any]:
    """The judge's identity for the task config; warns when a model judges itself (self-preference)."""
    ident = judge.identity()
    same = lm is not None and content_hash(lm.identity()) == content_hash(ident)
    if same:
        log.warning("the judge is the evaluated model itself: expect self-preference (see docs/judges.md)")
    return {"judge": ident, "self_judged": same}
