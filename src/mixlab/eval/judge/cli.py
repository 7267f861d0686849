"""``mixlab eval judge``: score answers produced elsewhere with an LLM judge.

One ``--answers`` file: single-answer grading (1-10 per turn). Two ``--answers`` files: pairwise grading of the
first against the second (the baseline), in both orders, with position-bias statistics and a length-controlled
win rate. Questions come from ``--questions`` (FastChat / MT-Bench shape) or, for AlpacaEval-shaped answer
files, from the instructions inside the answers. See ``docs/judges.md``.

Writes ``OUT/verdicts.jsonl`` (one line per judged item: raw judge texts of every attempt, parsed verdict,
parse problems), ``OUT/summary.json`` (metrics with standard errors and 95 % intervals, counts, judge identity,
prompts and settings), ``OUT/scores.jsonl`` / ``OUT/scores.csv`` (the tidy score rows of ``mixlab eval``) and
``OUT/judge_log.jsonl`` (every judge text, so that a re-run after a crash resumes without re-asking).
"""

from __future__ import annotations

import argparse
from typing import Any

DESCRIPTION = """\
Score answers produced elsewhere with an LLM judge.

One --answers file: single-answer grading (1-10 per turn). Two --answers files: pairwise grading of the first
against the second (the baseline), in both orders, with position-bias statistics and a length-controlled win
rate. Questions come from --questions (FastChat / MT-Bench shape) or, for AlpacaEval-shaped answer files, from
the instructions inside the answers. Unparseable verdicts are retried with sampling, then counted (never
scored). Writes OUT/verdicts.jsonl (raw judge texts of every attempt, parsed verdicts), OUT/summary.json
(metrics with standard errors and 95 % intervals, counts, judge, prompts), OUT/scores.csv and
OUT/judge_log.jsonl (a re-run resumes without asking the judge again). See docs/judges.md.
"""

EPILOG = """\
examples:
  # rate one model's MT-Bench answers (FastChat files), references for math/reasoning/coding
  mixlab eval judge --questions mt_bench/question.jsonl --references mt_bench/reference_answer/gpt-4.jsonl \\
      --judge-prompts mt_bench/judge_prompts.jsonl --answers model_answer/my-model.jsonl \\
      --judge http://localhost:8000/v1 --out runs/judge-mt
  # AlpacaEval-style win rate of my outputs against reference outputs, with length control
  mixlab eval judge --answers my_outputs.json --answers alpaca_eval/gpt4_1106_preview_model_outputs.json.gz \\
      --judge MODEL --out runs/judge-ae
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "judge", help="score given answers with an LLM judge (single 1-10 or pairwise win rate)",
        description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--answers", action="append", required=True, metavar="FILE",
                   help="answers to score (FastChat model_answer jsonl, AlpacaEval outputs json/jsonl); give twice "
                        "for pairwise: the model's, then the baseline's")
    p.add_argument("--questions", metavar="FILE", help="questions (MT-Bench/FastChat jsonl, or id + question); "
                   "optional when the answers carry their instructions (AlpacaEval files)")
    p.add_argument("--references", metavar="FILE", help="reference answers in FastChat's answer shape, used for "
                   "questions in --ref-categories")
    p.add_argument("--ref-categories", default="math,reasoning,coding", metavar="LIST",
                   help="question categories judged against the reference (default: %(default)s)")
    p.add_argument("--judge", required=True, metavar="MODEL",
                   help="the judge: a model folder, hub id or server spec (see docs/judges.md)")
    p.add_argument("--judge-backend", default="transformers", metavar="NAME",
                   help="backend that loads --judge: transformers (default), openai (an OpenAI-compatible server), "
                        "vllm")
    p.add_argument("--judge-option", action="append", default=[], metavar="KEY=VALUE",
                   help="a backend option, repeatable (e.g. base_url=http://localhost:8000/v1, "
                        "api_key_env=OPENAI_API_KEY, batch_size=8); values are read as in --model-arg "
                        "(JSON when they parse)")
    p.add_argument("--judge-prompts", metavar="FILE",
                   help="FastChat judge_prompts.jsonl to use its prompts (default: mixlab's built-in prompts)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (re-running resumes)")
    p.add_argument("--limit", type=int, metavar="N", help="judge at most N questions (representative pick)")
    p.add_argument("--max-new-tokens", type=int, default=1024, metavar="N", help="judge token budget (default: %(default)s)")
    p.add_argument("--retries", type=int, default=2, metavar="N", help="retries of an unparseable verdict (default: %(default)s)")
    p.add_argument("--retry-temperature", type=float, default=0.7, metavar="T",
                   help="sampling temperature of retries, > 0 (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="seed of retries and bootstrap (default: %(default)s)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, judge: Any = None) -> int:
    """Handler of ``mixlab eval judge``; ``judge`` (an ``LM``) overrides ``--judge`` for programmatic use."""
    from mixlab.eval.judge.scoring import score_answers

    summary = score_answers(
        answers=args.answers, questions=args.questions, references=args.references,
        ref_categories=[c for c in args.ref_categories.split(",") if c], judge=judge or args.judge,
        judge_prompts=args.judge_prompts, out_dir=args.out, limit=args.limit,
        judge_options={"judge_max_new_tokens": args.max_new_tokens, "judge_retries": args.retries,
                       "judge_retry_temperature": args.retry_temperature, "seed": args.seed},
        judge_backend=args.judge_backend, judge_backend_options=parse_options(args.judge_option),
    )
    print(format_summary(summary))
    return 0


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """``--judge-option`` pairs, read as ``mixlab eval --model-arg`` reads them (``parse_key_values``): texts that
    the judge's backend reads as the types its options declare.

    >>> parse_options(["batch_size=8", "base_url=http://h/v1", "progress=false"])
    {'batch_size': '8', 'base_url': 'http://h/v1', 'progress': 'false'}
    """
    from mixlab.eval.cli import parse_key_values

    return parse_key_values(pairs, "--judge-option")


def format_summary(summary: dict[str, Any]) -> str:
    lines = [f"{summary['mode']} judging of {summary['model']}"
             + (f" vs {summary['baseline']}" if summary.get("baseline") else "")
             + f" by {summary['judge'].get('model', '?')}"]
    for name, m in summary["metrics"].items():
        lines.append(f"  {name:<24} {m['value']:.3f} ± {m['stderr']:.3f}  (n={m['n']})")
    lines.append("  counts: " + ", ".join(f"{k}={v}" for k, v in summary["counts"].items()))
    lines.append(f"written to {summary['out_dir']}")
    return "\n".join(lines)
