"""``mixlab data generate``: instruction data written by a teacher model (Self-Instruct, Evol-Instruct, answers).

    mixlab data generate self-instruct --teacher MODEL --seed-tasks FILE --n N --out FILE.jsonl [...]
    mixlab data generate evol-instruct --teacher MODEL --input FILE --n N --rounds R --out FILE.jsonl [...]
    mixlab data generate answers --teacher MODEL --input FILE --n N --out FILE.jsonl [...]

It is a ``data`` action, but this layer (above ``eval``, whose LM backends it uses) cannot be imported by
``data``; the command line hands ``add_parser`` to ``mixlab.data.cli`` (see ``mixlab.cli``).
"""

from __future__ import annotations

import argparse
from typing import Any

GENERATE_HELP = """\
Write instruction data with a teacher model. The teacher is any mixlab LM backend: a local model folder or
.gguf file (transformers), a vLLM model, or an OpenAI-compatible server (--teacher-backend openai, its address
as --teacher-arg base_url=..., the key read from the environment variable named by api_key_env, never written).

Rows are mixlab's messages form (JSON lines: id, source, messages, meta), readable by `mixlab data` and as a
mixture source; meta holds the provenance (method, teacher, prompts, generation settings, parent, round).
Beside OUT: OUT.dropped.jsonl (every dropped candidate with its reason) and manifest.json (settings and
counts: proposed, kept, dropped by reason, per round). Steps are committed one by one: the same command again
resumes where it stopped, without duplicates. See docs/generate.md.
"""

SELF_INSTRUCT_HELP = GENERATE_HELP + """
Self-Instruct (Wang et al. 2022): each proposal prompt lists 8 tasks (6 seed, 2 generated) and asks for new
ones; a new instruction is kept if it passes the paper's heuristics (4 to 150 words; no image/picture/graph/
file/map/draw/plot/go to/...; not "Write a program"; not starting with punctuation or a non-ASCII character;
not a duplicate) and its ROUGE-L with every kept instruction (seeds included) is below --rouge-threshold;
then the teacher writes an input and output for it.

example:
  mixlab data generate self-instruct --teacher ../shared/data/smollm2_135m_instruct_gguf \\
      --seed-tasks ../shared/data/alpaca/seed_tasks.jsonl.gz --n 20 --out gen/self_instruct.jsonl
"""

EVOL_INSTRUCT_HELP = GENERATE_HELP + """
Evol-Instruct (Xu et al. 2023): N instructions sampled from --input (any format `mixlab data formats` lists)
are evolved for --rounds rounds, each time by one evolution drawn at random: add_constraints, deepen,
concretize, increase_reasoning (in depth) or breadth (a new, rarer instruction of the same domain). Failed
evolutions are eliminated by the paper's rules (no information gain; the prompt's own words such as
"#Rewritten Prompt#" copied; an empty response, a short one saying "sorry", or one of stop words only) and
their parent stays in the pool for the next round.

example:
  mixlab data generate evol-instruct --teacher-backend openai --teacher NAME \\
      --teacher-arg base_url=http://localhost:8000/v1 --input alpaca.json --n 100 --rounds 2 --out gen/evol.jsonl
"""


ANSWERS_HELP = GENERATE_HELP + """
Answers (distillation, how "GPT-4 data" is made): the instructions of --input (any format `mixlab data formats`
lists; earlier turns and a system turn kept) answered anew by the teacher, replacing the last response. The
teacher's errors stay in the data: a study can compare the curated rows with the teacher's at equal volume
(a source axis over the two files). Empty answers are dropped and counted.

example:
  mixlab data generate answers --teacher mixlab-runs/quickstart/runs/mix=A,n=400,seed=0/train/final \
      --input world-chat.jsonl --n 400 --temperature 0 --out gen/chat_answers.jsonl
"""


def add_parser(actions: argparse._SubParsersAction) -> None:
    p = actions.add_parser("generate", help="write instruction data with a teacher model (self-instruct, evol-instruct, answers)",
                           description=GENERATE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(func=lambda args: p.print_help() or 2)
    methods = p.add_subparsers(dest="generate_method", metavar="METHOD")

    si = methods.add_parser("self-instruct", parents=[_common()], help="new instructions from seed tasks",
                            description=SELF_INSTRUCT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    si.add_argument("--seed-tasks", required=True, metavar="FILE",
                    help="seed tasks: JSON lines with instruction and instances [{input, output}] (Self-Instruct's "
                         "175), or Alpaca rows (instruction, input, output); .gz is read")
    si.add_argument("--n", type=int, required=True, metavar="N",
                    help="rows to keep; a re-run with a larger N continues the same output")
    si.add_argument("--seed-demos", type=int, default=6, metavar="K", help="seed tasks per proposal prompt (default 6)")
    si.add_argument("--generated-demos", type=int, default=2, metavar="K",
                    help="generated tasks per proposal prompt; seed tasks fill in while fewer exist (default 2)")
    si.add_argument("--new-per-request", type=int, default=8, metavar="K",
                    help="new tasks asked for per proposal prompt (chat style; default 8)")
    si.add_argument("--rouge-threshold", type=float, default=0.7, metavar="T",
                    help="keep an instruction only if its ROUGE-L with every kept one is below T (default 0.7)")
    si.add_argument("--max-steps", type=int, metavar="K",
                    help="stop after K steps even if fewer than N rows were kept (default: 10 x the steps N needs, + 10)")
    si.set_defaults(func=run_self_instruct, temperature_default=0.7, top_p_default=0.5, source_default="self_instruct")

    ev = methods.add_parser("evol-instruct", parents=[_common()], help="evolve instructions from a file, round by round",
                            description=EVOL_INSTRUCT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    ev.add_argument("--input", required=True, metavar="FILE",
                    help="instructions to evolve: any file `mixlab data` reads (the last user turn of each example)")
    ev.add_argument("--format", default="auto", metavar="NAME", help="format of --input (default: auto-detect)")
    ev.add_argument("--n", type=int, required=True, metavar="N",
                    help="instructions sampled from --input (seeded, in file order) to start the pool")
    ev.add_argument("--rounds", type=int, default=4, metavar="R",
                    help="rounds of evolution (the paper ran 4; default 4); a re-run with more rounds continues")
    ev.add_argument("--evolutions", default=None, metavar="LIST",
                    help="comma-separated evolutions to draw from (default: add_constraints, deepen, concretize, "
                         "increase_reasoning, breadth)")
    ev.set_defaults(func=run_evol_instruct, temperature_default=0.7, top_p_default=0.95, source_default="evol_instruct")

    an = methods.add_parser("answers", parents=[_common()], help="the instructions of a file, answered by the teacher",
                            description=ANSWERS_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    an.add_argument("--input", required=True, metavar="FILE",
                    help="the instructions: any file `mixlab data` reads (the last response is replaced)")
    an.add_argument("--format", default="auto", metavar="NAME", help="format of --input (default: auto-detect)")
    an.add_argument("--n", type=int, required=True, metavar="N",
                    help="rows sampled from --input (seeded, in file order; all of them when it has fewer)")
    an.set_defaults(func=run_answers, temperature_default=0.0, top_p_default=1.0, source_default="answers")


def _common() -> argparse.ArgumentParser:
    c = argparse.ArgumentParser(add_help=False)
    c.add_argument("--teacher", required=True, metavar="MODEL",
                   help="the teacher: a model folder, a .gguf file, a hub id, or (openai backend) the served model name")
    c.add_argument("--teacher-backend", default="transformers", metavar="NAME",
                   help="LM backend of the teacher: transformers (default), vllm, openai, dummy")
    c.add_argument("--teacher-arg", action="append", default=[], metavar="KEY=VALUE",
                   help="a backend option, repeatable: base_url=http://host:8000/v1, api_key_env=MY_KEY (the variable's "
                        "name; the key itself is read at each request and never written), timeout=300, "
                        "max_concurrency=4, gguf_file=..., num_threads=2")
    c.add_argument("--out", required=True, metavar="FILE", help="output JSON lines file; its folder gets manifest.json")
    c.add_argument("--style", choices=("chat", "text"), default="chat",
                   help="chat: prompts as a user turn with the teacher's chat template (instruct models, APIs; "
                        "default); text: raw text for the teacher to continue, as in the papers (base models)")
    c.add_argument("--temperature", type=float, metavar="T",
                   help="sampling temperature (default: 0.7; 0, greedy, for answers)")
    c.add_argument("--top-p", type=float, metavar="P",
                   help="nucleus sampling mass (default: 0.5 for self-instruct, as the paper; 0.95 for evol-instruct; "
                        "1 for answers)")
    c.add_argument("--max-new-tokens", type=int, default=512, metavar="N", help="tokens per teacher answer (default 512)")
    c.add_argument("--seed", type=int, default=0, metavar="N",
                   help="seed of every random choice and of each request's sampling (default 0)")
    c.add_argument("--batch", type=int, default=None, metavar="K",
                   help="teacher requests per step, the unit committed and resumed (default: 4 proposals for "
                        "self-instruct, 8 instructions for evol-instruct)")
    c.add_argument("--source", metavar="NAME", help="source name of the rows and prefix of their ids "
                                                     "(default: self_instruct / evol_instruct)")
    c.add_argument("--quiet", action="store_true", help="no progress bar or per-step counts on stderr")
    return c


def _setup(args: argparse.Namespace) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    from mixlab.eval.cli import parse_key_values
    from mixlab.generate.teacher import GenerationSettings, teacher_spec

    options = parse_key_values(args.teacher_arg, "--teacher-arg")
    gen = GenerationSettings(
        temperature=args.temperature if args.temperature is not None else args.temperature_default,
        top_p=args.top_p if args.top_p is not None else args.top_p_default,
        max_new_tokens=args.max_new_tokens, seed=args.seed, style=args.style)
    return gen, options, teacher_spec(args.teacher, args.teacher_backend, options)


def _teacher(args: argparse.Namespace, options: dict[str, Any], style: str) -> Any:
    from mixlab.generate.teacher import load_teacher

    return load_teacher(args.teacher, args.teacher_backend, options, style=style)


def run_self_instruct(args: argparse.Namespace) -> int:
    from mixlab.artifacts import file_sha256
    from mixlab.errors import SpecError
    from mixlab.generate.journal import Journal
    from mixlab.generate.seeds import read_seed_tasks
    from mixlab.generate.self_instruct import SelfInstructOptions, generate_self_instruct, settings_record

    gen, options, spec = _setup(args)
    opts = SelfInstructOptions(n=args.n, seed_demos=args.seed_demos, generated_demos=args.generated_demos,
                               new_per_request=args.new_per_request, rouge_threshold=args.rouge_threshold,
                               max_steps=args.max_steps, requests_per_step=args.batch or 4,
                               source=args.source or args.source_default)
    if problems := opts.problems() + gen.problems():  # every problem at once
        raise SpecError("self-instruct options", problems)
    seeds, skipped = read_seed_tasks(args.seed_tasks)
    journal = Journal.open(args.out, "self-instruct", settings_record(opts, gen, spec, file_sha256(args.seed_tasks)))
    journal.extra.update(seed_tasks={"used": len(seeds), "skipped_by_reason": skipped})
    if journal.complete and len(journal.rows) >= args.n:
        return _report(journal.write_manifest(), args.out, "already complete")
    manifest = generate_self_instruct(_teacher(args, options, gen.style), seeds, journal, opts, gen,
                                      progress=not args.quiet)
    return _report(manifest, args.out, "resumed" if journal.resumed else "")


def run_evol_instruct(args: argparse.Namespace) -> int:
    from mixlab.errors import SpecError
    from mixlab.generate.evol_instruct import (
        EvolInstructOptions,
        EvolItem,
        generate_evol_instruct,
        sample_items,
        settings_record,
    )
    from mixlab.generate.journal import Journal

    gen, options, spec = _setup(args)
    kw = {"evolutions": tuple(e.strip() for e in args.evolutions.split(",") if e.strip())} if args.evolutions else {}
    opts = EvolInstructOptions(n=args.n, rounds=args.rounds, requests_per_step=args.batch or 8,
                               source=args.source or args.source_default, **kw)
    if problems := opts.problems() + gen.problems():
        raise SpecError("evol-instruct options", problems)
    src, input_record = _read_input(args)
    items = [EvolItem(ex.id, ex.prompt, ex.id) for ex in src.examples]
    start = sample_items(items, opts.n, gen.seed)
    journal = Journal.open(args.out, "evol-instruct", settings_record(opts, gen, spec, input_record))
    done = journal.complete and journal.extra.get("rounds", 0) >= opts.rounds
    if done:
        return _report(journal.write_manifest(), args.out, "already complete")
    manifest = generate_evol_instruct(_teacher(args, options, gen.style), start, journal, opts, gen,
                                      progress=not args.quiet)
    return _report(manifest, args.out, "resumed" if journal.resumed else "")


def run_answers(args: argparse.Namespace) -> int:
    from mixlab.errors import SpecError
    from mixlab.generate.answers import AnswerOptions, generate_answers, sample_examples, settings_record
    from mixlab.generate.journal import Journal

    gen, options, spec = _setup(args)
    opts = AnswerOptions(n=args.n, requests_per_step=args.batch or 16, source=args.source or args.source_default)
    if problems := opts.problems() + gen.problems():
        raise SpecError("answers options", problems)
    src, input_record = _read_input(args)
    examples = sample_examples(src.examples, opts.n, gen.seed)
    journal = Journal.open(args.out, "answers", settings_record(opts, gen, spec, input_record))
    if journal.complete:
        return _report(journal.write_manifest(), args.out, "already complete")
    manifest = generate_answers(_teacher(args, options, gen.style), examples, journal, opts, gen,
                                progress=not args.quiet)
    return _report(manifest, args.out, "resumed" if journal.resumed else "")


def _read_input(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """``--input`` loaded as a source (an error saying why when no row converts), and what a resumed run
    must find unchanged about it."""
    from mixlab.data.load import load_source
    from mixlab.errors import MixlabError

    src = load_source(args.input, format=args.format)
    if not src.examples:
        raise MixlabError(f"{args.input}: no example could be read ({src.counts()['rejected_by_reason']}); "
                          "check --format (`mixlab data formats` lists them)")
    return src, {"sha256": src.sha256, "format": src.format, "examples": len(src.examples),
                 "rejected": len(src.rejected)}


def _report(manifest: dict[str, Any], out: str, note: str) -> int:
    from pathlib import Path

    c = manifest["counts"]
    print(f"{manifest['method']}: {c['kept']} rows kept of {c['proposed']} proposed"
          + (f" ({note})" if note else "") + (f", {manifest['rows_per_minute']} rows/minute"
                                             if manifest.get("rows_per_minute") else ""))
    for reason, k in c["dropped"].items():
        print(f"  dropped  {reason:<28} {k}")
    print(f"wrote {out}, {Path(out).parent / 'manifest.json'} and {manifest['dropped']}")
    return 0 if manifest["complete"] else 1
