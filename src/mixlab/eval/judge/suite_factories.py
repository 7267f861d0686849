"""Suite factories for the judge suites (registered lazily in ``mixlab.eval.suites``).

Options every judge suite reads (others are ignored, as for every suite):

- ``data_dir``: the benchmark folder (``../shared/data`` style); else ``$MIXLAB_DATA_DIR``.
- ``judge`` (required): an ``LM`` or a model spec string, loaded with ``judge_backend`` (default
  ``transformers``; ``openai`` for an OpenAI-compatible server) and backend options given as ``judge_options``
  (a dict, e.g. ``{"base_url": "http://localhost:8000/v1"}``) or one ``judge_arg_<name>`` key each (what
  ``mixlab eval --suite-arg judge_arg_base_url=...`` passes); see ``options.resolve_lm``.
- ``judge_log``: a file logging every judge text, so that a re-run asks the judge nothing twice.
- ``limit``: at most this many questions / items (representative picks, see ``options.select``).
- ``max_new_tokens``: token budget of the evaluated model's answers (default 1024).
- ``judge_max_new_tokens``, ``judge_retries``, ``judge_retry_temperature``, ``seed``: ``JudgeConfig`` fields.

Per suite:

- ``mt_bench``: ``mode`` = ``single`` (default), ``pairwise`` or ``both``; for pairwise ``baseline_answers`` (a
  FastChat answer file) or ``baseline`` (an ``LM`` or spec that answers the questions); ``judge_prompts`` (a
  FastChat prompt file; default ``DATA/mt_bench/judge_prompts.jsonl``, else mixlab's built-in prompts).
- ``flask``: ``flask_subset`` = ``full`` (default, 1,740 items) or ``hard`` (89).
- ``alpaca_eval``: ``alpaca_eval_version`` = ``2`` (default; reference gpt4_1106_preview) or ``1``
  (text_davinci_003).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mixlab.errors import SpecError
from mixlab.eval.judge.alpaca_eval import AlpacaEvalTask, load_alpaca_eval
from mixlab.eval.judge.engine import JudgeLog
from mixlab.eval.judge.files import read_answers
from mixlab.eval.judge.flask import FlaskTask, load_flask
from mixlab.eval.judge.mt_bench import AnswerMemo, MTBenchPairwiseTask, MTBenchTask, load_mt_bench
from mixlab.eval.judge.options import check_limit, judge_config, resolve_lm, select
from mixlab.eval.judge.prompts import PromptSet
from mixlab.eval.lm import LM
from mixlab.eval.suites import data_dir as resolve_data_dir
from mixlab.eval.task import Task

MT_BENCH_MODES = ("single", "pairwise", "both")


def _judge(options: dict[str, Any]) -> LM:
    """The judge ``LM``; backend options come as ``judge_options`` (a dict) and/or ``judge_arg_<name>`` keys."""
    backend_opts = dict(options.get("judge_options") or {})
    backend_opts.update({k[len("judge_arg_"):]: v for k, v in options.items() if k.startswith("judge_arg_")})
    return resolve_lm(options.get("judge"), backend=options.get("judge_backend"), options=backend_opts)


def _log(options: dict[str, Any]) -> JudgeLog | None:
    return JudgeLog(options["judge_log"]) if options.get("judge_log") else None


def _answer_tokens(options: dict[str, Any]) -> int:
    value = options.get("max_new_tokens") or 1024
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SpecError("suite options", [f"max_new_tokens: {value!r} must be a positive integer"])
    return value


def mt_bench_suite(**options: Any) -> list[Task]:
    """MT-Bench single-answer grading, and/or pairwise grading against a baseline."""
    mode = options.get("mode") or "single"
    problems = []
    if mode not in MT_BENCH_MODES:
        problems.append(f"mode: {mode!r} is not valid; use one of {', '.join(MT_BENCH_MODES)}")
    wants_pair = mode in ("pairwise", "both")
    if wants_pair and not (options.get("baseline_answers") or options.get("baseline")):
        problems.append("baseline_answers: pairwise MT-Bench needs baseline_answers (a FastChat answer file) "
                        "or baseline (a model that answers the questions)")
    if problems:
        raise SpecError("mt_bench options", problems)
    limit = check_limit(options.get("limit"))
    folder = resolve_data_dir(options.get("data_dir")) / "mt_bench"
    questions = select(load_mt_bench(folder), limit, group=lambda q: q.category)
    prompt_file = options.get("judge_prompts") or folder / "judge_prompts.jsonl"
    prompts = PromptSet(prompt_file if Path(prompt_file).is_file() or options.get("judge_prompts") else None)
    judge = _judge(options)
    common: dict[str, Any] = {"judge": judge, "prompts": prompts, "config": judge_config(options),
              "max_new_tokens": _answer_tokens(options), "memo": AnswerMemo(), "log": _log(options)}
    tasks: list[Task] = []
    if mode in ("single", "both"):
        tasks.append(MTBenchTask(questions, **common))
    if wants_pair:
        base_file = options.get("baseline_answers")
        tasks.append(MTBenchPairwiseTask(
            questions, baseline_answers=read_answers(base_file) if base_file else None,
            baseline_lm=None if base_file else resolve_lm(options.get("baseline"), role="baseline"), **common))
    return tasks


def flask_suite(**options: Any) -> list[Task]:
    """FLASK skill ratings 1-5 by the judge on each item's annotated skills."""
    limit = check_limit(options.get("limit"))
    cfg = judge_config(options)
    items, counts = load_flask(resolve_data_dir(options.get("data_dir")) / "flask", options.get("flask_subset") or "full")
    items = select(items, limit, seed=cfg.seed)
    name = "flask" if (options.get("flask_subset") or "full") == "full" else "flask_hard"
    return [FlaskTask(items, _judge(options), config=cfg, max_new_tokens=_answer_tokens(options),
                      load_counts=counts, name=name, log=_log(options))]


def alpaca_eval_suite(**options: Any) -> list[Task]:
    """AlpacaEval win rate and length-controlled win rate against the version's reference outputs."""
    version = options.get("alpaca_eval_version") or 2
    limit = check_limit(options.get("limit"))
    cfg = judge_config(options)
    questions, refs, ref_name = load_alpaca_eval(resolve_data_dir(options.get("data_dir")) / "alpaca_eval", version)
    picked = select(list(range(len(questions))), limit, seed=cfg.seed)
    return [AlpacaEvalTask(
        [questions[i] for i in picked], [refs[i] for i in picked], ref_name, _judge(options),
        version=version, config=cfg, max_new_tokens=_answer_tokens(options), log=_log(options),
        name=f"alpaca_eval_v{version}",
        primary="lc_win_rate" if version == 2 else "win_rate",
    )]
