"""``mixlab eval``: score a model on benchmark suites, or score outputs produced elsewhere.

    mixlab eval --model PATH --suite NAME[,NAME] --out DIR [--limit N] [--data-dir DIR]
    mixlab eval --list
    mixlab eval code ...      execute given code samples in the sandbox (pass@k)
    mixlab eval judge ...     score given answers with an LLM judge
    mixlab eval lm-eval ...   run lm-evaluation-harness tasks against a mixlab model or lm-eval's own

Writes ``DIR/items/<task>.jsonl`` (every prompt, output and score), ``DIR/scores.csv`` / ``scores.jsonl``
(one row per task x metric, with standard errors, chance level and the chat template used),
``DIR/abilities.csv`` (per-ability means with 95 % intervals) and ``DIR/summary.json`` (the model's
identity, every task's prompt config and counted degradations). Model calls are cached in
``DIR/cache.sqlite``: the same command again is instant, and an interrupted one resumes.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import time
from typing import Any

log = logging.getLogger("mixlab.eval")

EPILOG = """\
examples:
  mixlab eval --list
  # ARC-Easy and GSM8K on 50 items each, with the shared SmolLM2 (GGUF weights found in the folder)
  mixlab eval --model ../shared/data/smollm2_135m_instruct_gguf --suite arc_easy,gsm8k --limit 50 \\
      --data-dir ../shared/data --out runs/smollm2
  # MMLU zero-shot by cloze continuation instead of letters, no chat template
  mixlab eval --model MODEL --suite mmlu --suite-arg shots=0 --suite-arg prompt_format=cloze \\
      --chat-template none --data-dir ../shared/data --out runs/mmlu0
  # a LoRA adapter on its base; an OpenAI-compatible server (key read from $OPENAI_API_KEY)
  mixlab eval --model runs/adapter --suite bbh --limit 20 --data-dir ../shared/data --out runs/bbh
  mixlab eval --backend openai --model NAME --model-arg base_url=http://localhost:8000/v1 --suite gsm8k ...
"""

#: sub-actions under ``mixlab eval``: (name, module exposing ``add_parser``)
SUB_ACTIONS = [("code", "mixlab.eval.code.cli"), ("judge", "mixlab.eval.judge.cli")]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval", help="score a model on benchmark suites (or score given outputs: code, judge, lm-eval)",
        description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--list", action="store_true", help="list the suites and exit")
    p.add_argument("--model", metavar="PATH", help="model folder, hub id, .gguf file, adapter folder, or served name")
    p.add_argument("--suite", metavar="NAMES", help="comma-separated suite names (see --list)")
    p.add_argument("--out", metavar="DIR", help="output folder")
    p.add_argument("--limit", type=int, metavar="N", help="score a seeded random subset of N items per task")
    p.add_argument("--data-dir", metavar="DIR", help="benchmark data folder (default: $MIXLAB_DATA_DIR)")
    _add_model_options(p)
    p.add_argument("--shots", type=int, metavar="K", help="few-shot examples, for suites that take them")
    p.add_argument("--suite-arg", action="append", default=[], metavar="KEY=VALUE",
                   help="a suite option, e.g. prompt_format=cloze, chat=true, subjects=anatomy,virology")
    p.add_argument("--cache", metavar="FILE", help="model-call cache file (default: DIR/cache.sqlite)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the model-call cache")
    p.set_defaults(func=_run_eval)
    actions = p.add_subparsers(dest="eval_action", metavar="ACTION", required=False)
    for _name, module in SUB_ACTIONS:
        importlib.import_module(module).add_parser(actions)
    _add_lm_eval_parser(actions)


def _add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", default="transformers", metavar="NAME",
                   help="transformers (default), vllm, openai, dummy")
    p.add_argument("--chat-template", metavar="NAME",
                   help="auto (default: the tokenizer's), tokenizer, none, chatml, llama2, zephyr, alpaca, or a "
                        ".jinja file; recorded with every score")
    p.add_argument("--batch-size", type=int, metavar="N", help="most sequences per forward pass")
    p.add_argument("--model-arg", action="append", default=[], metavar="KEY=VALUE",
                   help="a backend option, e.g. gguf_file=model.Q4.gguf, adapter=DIR, dtype=bfloat16, "
                        "base_url=http://host/v1, api_key_env=MY_KEY")


def parse_key_values(pairs: list[str], what: str) -> dict[str, str]:
    """``KEY=VALUE`` options as a dict of texts; every malformed pair is reported (``what`` names the flag).

    Values stay text here: the backend or suite that declares an option reads it as its declared type
    (``mixlab.eval.options``), so ``chat_template=none`` stays the template named ``none`` and
    ``revision=0123`` stays a text.

    >>> parse_key_values(["shots=0", "chat=yes", "subjects=anatomy,virology", "t=.5"], "--suite-arg")
    {'shots': '0', 'chat': 'yes', 'subjects': 'anatomy,virology', 't': '.5'}
    """
    from mixlab.errors import SpecError

    out: dict[str, str] = {}
    problems = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            problems.append(f"{pair!r}: expected KEY=VALUE")
            continue
        out[key.strip()] = value.strip()
    if problems:
        raise SpecError(what, problems)
    return out


def _model_options(args: argparse.Namespace) -> dict[str, Any]:
    opts = parse_key_values(args.model_arg, "--model-arg")
    if args.chat_template is not None:
        opts["chat_template"] = args.chat_template
    if args.batch_size is not None:
        opts["batch_size"] = args.batch_size
    return opts


def _check_required(args: argparse.Namespace, names: list[str]) -> None:
    from mixlab.errors import MixlabError

    missing = [f"--{n.replace('_', '-')}" for n in names if not getattr(args, n)]
    if missing:
        raise MixlabError(f"missing {', '.join(missing)} (see mixlab eval --help; mixlab eval --list shows the suites)")


def _run_eval(args: argparse.Namespace) -> int:
    from mixlab.eval.suites import DESCRIPTIONS

    if args.list:
        width = max(len(n) for n in DESCRIPTIONS)
        for name, text in DESCRIPTIONS.items():
            print(f"{name:<{width}}  {text}")
        return 0
    _check_required(args, ["model", "suite", "out"])
    from pathlib import Path

    from mixlab.eval.backends import load_lm
    from mixlab.eval.run import evaluate
    from mixlab.eval.suites import build_suites

    suite_opts = parse_key_values(args.suite_arg, "--suite-arg")
    if args.shots is not None:
        suite_opts["shots"] = args.shots
    names = [n.strip() for n in args.suite.split(",") if n.strip()]
    tasks = build_suites(names, data_dir=args.data_dir, limit=args.limit, **suite_opts)
    started = time.perf_counter()
    lm: Any = load_lm(args.model, backend=args.backend, **_model_options(args))
    log.info("loaded %s in %.1f s; chat template %s", args.model, time.perf_counter() - started,
             lm.identity().get("template"))
    if not args.no_cache:
        from mixlab.eval.lm_cache import CachedLM

        lm = CachedLM(lm, args.cache or Path(args.out) / "cache.sqlite")
    rows = evaluate(lm, tasks, args.out, limit=args.limit, on_task=_task_logger())
    if not args.no_cache:
        log.info("cache: %d hits, %d computed", lm.stats["hits"], lm.stats["misses"])
    _print_scores(rows)
    print(f"wrote {args.out}/scores.csv, abilities.csv, summary.json and items/")
    return 0


def _task_logger():
    last = [time.perf_counter()]

    def on_task(result: Any) -> None:
        now = time.perf_counter()
        score = result.metrics.get(result.primary)
        text = f"{score.value:.3f} ± {score.stderr:.3f}" if score is not None else "no score"
        counts = f"; counted: {result.counts}" if result.counts else ""
        log.info("%s: %s %s over %d items (%.1f s)%s", result.task, result.primary, text, len(result.items),
                 now - last[0], counts)
        last[0] = now

    return on_task


def _print_scores(rows: list[dict[str, Any]]) -> None:
    shown = [r for r in rows if r["primary"]]
    if not shown:
        return
    width = max(len(str(r["task"])) for r in shown)
    print(f"{'task':<{width}}  {'metric':<22} {'value':>7} {'stderr':>7} {'chance':>7}  template")
    for r in shown:
        chance = "" if r["chance"] is None else f"{r['chance']:.3f}"
        print(f"{r['task']:<{width}}  {r['metric']:<22} {r['value']:>7.3f} {r['stderr']:>7.3f} {chance:>7}  "
              f"{r['template']}")


# ----- mixlab eval lm-eval ------------------------------------------------------------------------------------
def _add_lm_eval_parser(actions: argparse._SubParsersAction) -> None:
    from mixlab.eval.lm_eval_bridge import BUILTIN_TASKS

    p = actions.add_parser(
        "lm-eval", help="run lm-evaluation-harness tasks (local files) against a mixlab model or lm-eval's HF model",
        description="Run lm-evaluation-harness tasks offline from local task YAMLs (dataset_path: json). "
                    f"Built-in tasks on the shared data: {', '.join(BUILTIN_TASKS)}; more with --include DIR.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--model", required=True, metavar="PATH", help="model folder (or .gguf file) to evaluate")
    p.add_argument("--tasks", required=True, metavar="NAMES", help="comma-separated lm-eval task names")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (results.json, scores.csv)")
    p.add_argument("--via", choices=("mixlab", "hf"), default="mixlab",
                   help="mixlab: lm-eval drives a mixlab LM (default); hf: lm-eval's own HF model")
    p.add_argument("--include", action="append", default=[], metavar="DIR", help="more task YAML folders")
    p.add_argument("--data-dir", metavar="DIR", help="benchmark data folder for the built-in tasks")
    p.add_argument("--limit", type=int, metavar="N", help="first N documents per task (lm-eval's --limit)")
    p.add_argument("--shots", type=int, metavar="K", help="lm-eval's num_fewshot")
    _add_model_options(p)
    p.set_defaults(func=_run_lm_eval)


def _run_lm_eval(args: argparse.Namespace) -> int:
    from mixlab.eval.lm_eval_bridge import run_lm_eval

    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    rows = run_lm_eval(
        args.model, tasks, out_dir=args.out, via=args.via, include=args.include, data_dir=args.data_dir,
        limit=args.limit, num_fewshot=args.shots, backend=args.backend, model_options=_model_options(args),
    )
    _print_scores(rows)
    print(f"wrote {args.out}/results.json and scores.csv")
    return 0
