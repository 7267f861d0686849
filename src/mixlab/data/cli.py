"""`mixlab data`: inspect, convert and list instruction-data formats.

    mixlab data inspect FILE [--format auto] [--tokenizer DIR] [--json]
    mixlab data convert FILE --out OUT.jsonl [--format auto] [--tag rules] [--dedup exact]
    mixlab data formats
    mixlab data generate {self-instruct,evol-instruct} ...   (added by the command line: mixlab.generate.cli)
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

INSPECT_HELP = """\
Load FILE (a file or a folder of files: json, jsonl, csv, parquet, optionally .gz), convert every row and
print: the format, how many rows were read, converted, quarantined (by reason) or set aside, the repairs
made, the instruction-type and ability distribution (rule tagger by default), length statistics in
characters (and in tokens with --tokenizer), and exact and near duplicates.

example:
  mixlab data inspect ../shared/data/sharegpt/sharegpt_v3_unfiltered_cleaned_split_first3000.json.gz
"""

CONVERT_HELP = """\
Load FILE, convert every row to mixlab's messages form and write OUT (JSON lines: id, source, messages,
instruction_type, abilities, meta). Rows that cannot be converted go to a quarantine file beside OUT
(OUT with .quarantine.jsonl), each with its reason; the counts are printed and add up.

example:
  mixlab data convert ../shared/data/code_alpaca/code_alpaca_2k.json.gz --out code.jsonl --tag rules
"""


def add_parser(sub: argparse._SubParsersAction,
               more_actions: Sequence[Callable[[argparse._SubParsersAction], None]] = ()) -> None:
    """Add ``mixlab data``; ``more_actions`` add actions from layers above ``data`` (``generate``), which the
    command line hands in because this module may not import them."""
    p = sub.add_parser("data", help="inspect and convert instruction data (every common format)",
                       description="Inspect and convert instruction data. See docs/data.md.")
    verbs = p.add_subparsers(dest="data_verb", metavar="ACTION")
    p.set_defaults(func=lambda args: p.print_help() or 2)

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("file", metavar="FILE", help="data file or folder of data files")
    common.add_argument("--format", default="auto",
                        help="format name, or 'auto' to detect it (see `mixlab data formats`); default: auto")
    common.add_argument("--name", default=None, help="source name (default: the file name up to its first dot)")
    common.add_argument("--max-chars", type=int, default=None,
                        help="quarantine examples longer than this many characters (default: 100000)")
    common.add_argument("--tag", choices=["rules", "embedding", "none"], default="rules",
                        help="tagger for instruction type and ability (embedding needs mixlab[embed])")

    ins = verbs.add_parser("inspect", parents=[common], help="print format, counts, tags, lengths, duplicates",
                           description=INSPECT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    ins.add_argument("--tokenizer", default=None,
                     help="a Hugging Face tokenizer folder or id: also report lengths in tokens")
    ins.add_argument("--near-threshold", type=float, default=0.8,
                     help="Jaccard threshold of near duplicates (MinHash-LSH over word 5-grams); default 0.8")
    ins.add_argument("--no-near", action="store_true", help="skip near-duplicate detection (faster)")
    ins.add_argument("--json", action="store_true", help="print the profile as JSON instead of text")
    ins.set_defaults(func=run_inspect)

    con = verbs.add_parser("convert", parents=[common], help="write messages-form jsonl + quarantine file",
                           description=CONVERT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    con.add_argument("--out", required=True, help="output .jsonl path (written atomically)")
    con.add_argument("--quarantine", default=None, help="quarantine path (default: OUT.quarantine.jsonl)")
    con.add_argument("--dedup", choices=["none", "exact", "near"], default="none",
                     help="drop exact (or exact + near) duplicates before writing; default: none")
    con.set_defaults(func=run_convert)

    fm = verbs.add_parser("formats", help="list the formats and the fields that identify them")
    fm.set_defaults(func=run_formats)
    for add in more_actions:
        add(verbs)


def _load(args: argparse.Namespace) -> Any:
    from mixlab.data.load import DEFAULT_MAX_CHARS, load_source

    return load_source(args.file, format=args.format, name=args.name,
                       max_chars=args.max_chars if args.max_chars is not None else DEFAULT_MAX_CHARS)


def _token_counter(name: str) -> Any:
    import os

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(name)

    def count(texts: list[str]) -> list[int]:
        return [len(ids) for ids in tok(texts, add_special_tokens=False)["input_ids"]] if texts else []

    return count


def run_inspect(args: argparse.Namespace) -> int:
    import json

    from mixlab.data.profile import profile_source, render_profile

    src = _load(args)
    counter = _token_counter(args.tokenizer) if args.tokenizer else None
    prof = profile_source(src, tag_method=args.tag, near=not args.no_near, near_threshold=args.near_threshold,
                          count_tokens=counter, progress=not args.json)
    print(json.dumps(prof, indent=2, ensure_ascii=False) if args.json else render_profile(prof))
    return 0


def run_convert(args: argparse.Namespace) -> int:
    from pathlib import Path

    from mixlab.artifacts import atomic_write_jsonl
    from mixlab.data.dedup import DedupSpec, dedup
    from mixlab.data.tagging import tag_examples

    src = _load(args)
    examples = src.examples
    if args.tag != "none":
        examples = tag_examples(examples, method=args.tag)
    dropped = 0
    if args.dedup != "none":
        res = dedup(examples, DedupSpec(near=args.dedup == "near"), progress=True)
        examples, dropped = res.kept, len(res.dropped)
    out = Path(args.out)
    qpath = Path(args.quarantine) if args.quarantine else out.with_name(out.name.removesuffix(".jsonl")
                                                                        + ".quarantine.jsonl")
    n = atomic_write_jsonl(out, (ex.to_dict() for ex in examples))
    q = src.write_quarantine(qpath)
    c = src.counts()
    print(f"{src.format}: {c['rows_read']} rows read -> {c['examples']} examples, {q} quarantined"
          + (f", {c['unused']} unused" if c["unused"] else "") + (f", {dropped} duplicates dropped" if dropped else ""))
    for reason, k in c["rejected_by_reason"].items():
        print(f"  quarantined  {reason:<24} {k}")
    for kind, k in c["repaired"].items():
        print(f"  repaired     {kind:<24} {k}")
    print(f"wrote {n} examples to {out}\nwrote {q} quarantined rows to {qpath}")
    return 0


FORMAT_FIELDS = {
    "oasst": "flat message rows: message_id, parent_id, role, text, rank (best-ranked path per tree)",
    "natinst": "task files: Definition, Positive Examples, Instances (or flat definition/inputs/targets)",
    "self_instruct": "instruction + instances [{input, output}] (one example per instance)",
    "dolly": "instruction, context, response, category",
    "p3": "prompt, completion (trailing <|endoftext|> stripped; <dataset>_<template> file names)",
    "flan": "inputs, targets (+ _task_name, _template_idx, _template_type)",
    "codealpaca": "instruction, input, output, mostly code (tagged instruction_type=code)",
    "alpaca": "instruction, input, output (+ optional system, history)",
    "messages": "messages [{role, content}] (OpenAI chat; also mixlab train.jsonl rows)",
    "sharegpt": "conversations [{from, value}] (odd role names mapped, repairs counted)",
}


def run_formats(args: argparse.Namespace) -> int:
    from mixlab.data.formats import format_names

    print("formats in detection order (--format auto takes the first that fits half of the sampled rows):")
    for name in format_names():
        print(f"  {name:<14} {FORMAT_FIELDS.get(name, '(plugin)')}")
    return 0
