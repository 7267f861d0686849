"""`mixlab quickstart`: the instruction-mixture paper's study on the embedded world, on a laptop CPU.

All 8 subsets of the three instruction types {none, A, C, P, A+C, A+P, C+P, A+C+P} (A = chat, C = code,
P = NLP tasks), at two nested data volumes and four seeds, fine-tuned from the same pretrained world base
model and scored on every world ability; every effect is reported with a calibrated interval and a verdict
after multiplicity control (docs/analysis.md). The spec is ``QUICKSTART`` below (also shipped as
``configs/studies/quickstart.yaml``, kept equal by a test).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

QUICKSTART: dict[str, Any] = {
    "name": "quickstart",
    "model": "world",
    "mixture": {
        "sources": [
            {"name": "chat", "alias": "A", "world": "chat", "count": 100},
            {"name": "code", "alias": "C", "world": "code", "count": 100},
            {"name": "nlp", "alias": "P", "world": "nlp", "count": 100},
        ],
    },
    "design": "subsets",
    "volumes": [100, 400],
    "seeds": [0, 1, 2, 3],  # the unit of replication: 4 seeds give t intervals with 3 degrees of freedom
    "train": {"epochs": 3, "lr": 3.0e-3, "batch_size": 8, "max_length": 128, "schedule": "linear",
              "warmup_ratio": 0.1, "log_every": 5},
    "eval": {"suites": ["world"], "limit": 100},
    "executor": {"kind": "local"},
}


def quickstart_spec(volumes: list[int] | None = None, seeds: list[int] | None = None,
                    limit: int | None = None, world: dict[str, Any] | None = None) -> Any:
    from mixlab.study.spec import StudySpec

    d = {**QUICKSTART}
    if volumes:
        d["volumes"] = volumes
    if seeds:
        d["seeds"] = seeds
    if limit:
        d["eval"] = {**d["eval"], "limit": limit}
    if world:
        d["world"] = world
    return StudySpec.from_dict(d)


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "quickstart", help="run the instruction-mixture study on the embedded world (minutes on a CPU)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Every run starts from the world's shipped base model (the same weights on every machine). "
        "Re-running the same command skips finished runs and prints the same table.")
    p.add_argument("--out", default="mixlab-runs/quickstart", help="study folder (default: %(default)s)")
    p.add_argument("--volumes", type=_ints, help="rows per source, comma-separated, increasing (default 100,400)")
    p.add_argument("--seeds", type=_ints, help="seeds, comma-separated (default 0,1,2,3); other seeds replicate "
                   "the study (compare with `mixlab report DIR --compare OTHER`)")
    p.add_argument("--limit", type=int, help="evaluation items per ability (default 100)")
    p.add_argument("--workers", type=int, help="runs at once (default min(2, cores))")
    p.add_argument("--pretrain-tokens", type=int, help="pretrain a base model of the world here with this many "
                   "tokens instead of using the shipped one (1,000,000 tokens take about 75 s on 2 cores; a "
                   "base pretrained here differs from other machines' and with it the numbers)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from mixlab.cli import finish_study
    from mixlab.study.run_study import run_study

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    world = {"pretrain_tokens": args.pretrain_tokens} if args.pretrain_tokens else None
    spec = quickstart_spec(args.volumes, args.seeds, args.limit, world)
    print(f"mixlab quickstart: {spec.design} of A (chat), C (code), P (nlp) x volumes {list(spec.volumes or [])} "
          f"x seeds {list(spec.seeds)} -> {args.out}")
    result = run_study(spec, args.out, workers=args.workers)
    return finish_study(result, spec)
