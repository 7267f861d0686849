"""The suite registry: a suite is a named factory that builds a list of tasks.

``SUITES.get("world")(limit=..., data_dir=...)`` returns tasks. Heavy or data-bound suites register lazily as
``"module:function"`` strings so that ``mixlab eval --list`` imports nothing heavy.

Every suite declares the options it reads, with their kinds (``OPTIONS``; see ``mixlab.eval.options``).
``build_suites`` reads each option as its declared kind and refuses an option that none of the requested
suites declares, listing the valid ones: a typo never does nothing. Options shared by several suites
(``data_dir``: the folder holding benchmark files; ``limit``; ``seed``; ``shots``) go to each of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mixlab import paths
from mixlab.errors import MixlabError
from mixlab.eval.task import Task
from mixlab.registry import Registry

SuiteFactory = Callable[..., list[Task]]

SUITES: Registry[SuiteFactory] = Registry("suite")

#: one line per suite for ``mixlab eval --list``: (abilities, what it measures)
DESCRIPTIONS: dict[str, str] = {}


#: options every suite reads
COMMON_OPTIONS = {"data_dir": "str?", "limit": "int?", "seed": "int?"}
_JUDGE = {"judge": "any", "judge_backend": "str?", "judge_options": "dict?", "judge_arg_*": "any", "judge_log": "str?",
          "judge_prompts": "str?", "max_new_tokens": "int?", "judge_max_new_tokens": "int?",
          "judge_retries": "int?", "judge_retry_temperature": "float?", "judge_chunk_size": "int?"}
_CODE = {"n_samples": "int?", "temperature": "float?", "top_p": "float?", "max_new_tokens": "int?",
         "chat": "bool?", "workers": "int?", "ks": "list?", "limits": "dict?", "timeout": "float?",
         "timeout_factor": "float?"}
_CHOICE = {"prompt_format": "str?", "chat": "bool?", "shots": "int?"}
#: suite -> the options it reads beyond ``COMMON_OPTIONS``, with their kinds
OPTIONS: dict[str, dict[str, str]] = {}


def _lazy(name: str, target: str, description: str, options: dict[str, str]) -> None:
    SUITES.register(name, target)
    DESCRIPTIONS[name] = description
    OPTIONS[name] = options


# The embedded world (no data files needed).
_lazy("world", "mixlab.world.suites:world_suite", "the embedded world's abilities: nlp, code, chat; exact scorers",
      {"n_items": "int?", "abilities": "list?", "prob_answer": "bool?"})
# Multiple choice by log-likelihood, math and reasoning by generation.
_lazy("mmlu", "mixlab.eval.tasks.mmlu:mmlu_suite", "MMLU, 57 subjects, multiple choice by log-likelihood",
      {**_CHOICE, "split": "str?", "subjects": "list?"})
_lazy("arc_easy", "mixlab.eval.tasks.arc:arc_easy_suite", "ARC-Easy, multiple choice by log-likelihood", _CHOICE)
_lazy("arc_challenge", "mixlab.eval.tasks.arc:arc_challenge_suite", "ARC-Challenge, multiple choice by log-likelihood",
      _CHOICE)
_lazy("gsm8k", "mixlab.eval.tasks.gsm8k:gsm8k_suite", "GSM8K math word problems, strict and flexible exact match",
      {"shots": "int?", "chat": "bool?", "max_new_tokens": "int?"})
_lazy("bbh", "mixlab.eval.tasks.bbh:bbh_suite", "BIG-Bench Hard, 27 tasks with chain-of-thought prompts, exact match",
      {"tasks": "list?", "chat": "bool?", "max_new_tokens": "int?"})
# Code by sandboxed execution.
_lazy("humaneval", "mixlab.eval.code.humaneval_mbpp:humaneval_suite", "HumanEval, sandboxed execution, pass@1 / pass@10",
      _CODE)
_lazy("mbpp", "mixlab.eval.code.humaneval_mbpp:mbpp_suite", "MBPP, sandboxed execution, pass@1 / pass@10",
      {**_CODE, "shots": "int?"})
# Chat and alignment by LLM judge; verifiable instruction following.
_lazy("mt_bench", "mixlab.eval.judge.suite_factories:mt_bench_suite", "MT-Bench, LLM judge 1-10 (single) and pairwise",
      {**_JUDGE, "mode": "str?", "baseline": "any", "baseline_answers": "str?"})
_lazy("flask", "mixlab.eval.judge.suite_factories:flask_suite", "FLASK skill rubrics 1-5 by LLM judge",
      {**_JUDGE, "flask_subset": "str?"})
_lazy("alpaca_eval", "mixlab.eval.judge.suite_factories:alpaca_eval_suite", "AlpacaEval win rate and length-controlled win rate",
      {**_JUDGE, "alpaca_eval_version": "int?", "baseline": "any"})
_lazy("ifeval", "mixlab.eval.ifeval.suite:ifeval_suite", "verifiable instruction following (IFEval-style checks)",
      {"ifeval_file": "str?", "max_new_tokens": "int?"})


def suite_options(names: list[str], options: dict[str, Any]) -> dict[str, Any]:
    """``options`` read as the kinds the suites ``names`` declare; an option none of them reads is an error
    that lists the valid ones. Kinds agree across suites that share an option name.

    >>> suite_options(["world"], {"limit": "20", "n_items": 100})
    {'limit': 20, 'n_items': 100}
    >>> suite_options(["world"], {"shot": 5})
    Traceback (most recent call last):
    ...
    mixlab.errors.SpecError: suite options for world has 1 problem:
      - shot: unknown option; valid options: abilities, data_dir, limit, n_items, prob_answer, seed
    """
    from mixlab.eval.options import typed_options

    declared = dict(COMMON_OPTIONS)
    for name in names:
        SUITES.get(name)  # an unknown suite is reported by the registry, with "did you mean"
        declared.update(OPTIONS.get(name, {}))
    return typed_options(options, declared, f"suite options for {', '.join(names)}")


def options_for(name: str, typed: dict[str, Any]) -> dict[str, Any]:
    """The part of one study-wide options dict (already typed) that suite ``name`` reads."""
    mine = {**COMMON_OPTIONS, **OPTIONS.get(name, {})}
    prefixes = tuple(k[:-1] for k in mine if k.endswith("*"))
    return {k: v for k, v in typed.items() if k in mine or (prefixes and k.startswith(prefixes))}


def build_suites(names: list[str], **options: Any) -> list[Task]:
    """The tasks of ``names``, every suite at the one ``limit`` option (``build_limited`` for one per suite)."""
    return build_limited(names, options.pop("limit", None), **options)[0]


def build_limited(names: list[str], limit: int | None, limits: Mapping[str, int] | None = None,
                  **options: Any) -> tuple[list[Task], dict[str, int | None]]:
    """The tasks of ``names``, each suite at its own number of items (``limits[suite]``, else ``limit``), and
    each task's limit by task name (for ``evaluate``). Options are checked against all the suites at once.

    Log-likelihood items cost a fraction of a generated answer, so a study can score 200 ARC-Easy questions
    and 20 HumanEval problems in one run: ``limits: {arc_easy: 200}`` beside ``limit: 20``.
    """
    limits = dict(limits or {})
    if unknown := sorted(set(limits) - set(names)):
        raise MixlabError(f"eval limits: {', '.join(unknown)} not among the suites ({', '.join(names)})")
    typed = suite_options(names, {"limit": limit, **options})
    tasks: list[Task] = []
    per_task: dict[str, int | None] = {}
    for name in names:
        mine = {**options_for(name, typed), "limit": limits.get(name, typed.get("limit"))}  # typed: "20" -> 20
        built = SUITES.get(name)(**mine)
        tasks.extend(built)
        per_task.update({t.name: mine["limit"] for t in built})
    return tasks, per_task


def data_dir(option: str | Path | None) -> Path:
    """Where benchmark files live: the option, else ``$MIXLAB_DATA_DIR``; a clear error otherwise."""
    value = option or paths.data_dir()
    if not value:
        raise MixlabError(
            "this suite reads benchmark files: pass --data-dir DIR (the folder with humaneval/, mmlu/, ...) "
            "or set MIXLAB_DATA_DIR"
        )
    path = Path(value)
    if not path.is_dir():
        raise MixlabError(f"benchmark data folder not found: {path}")
    return path
