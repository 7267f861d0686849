"""`mixlab mix`: build a mixture from a spec, expand designs into specs, export for other trainers.

    mixlab mix build configs/mixtures/paper1_acp.yaml --out runs/acp [--tokenizer DIR] [--cache-dir DIR]
    mixlab mix design subsets configs/mixtures/paper1_acp.yaml --out specs/acp
    mixlab mix export runs/acp --to llamafactory --out exports/acp
    mixlab mix show runs/acp
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

EPILOG = """\
amount keys (exactly one per source; see docs/mixtures.md):
  count: 300       300 rows drawn at random (a whole number; count: 1 is one row)
  fraction: 0.1    round(0.1 x available rows), drawn at random (0 < fraction <= 1)
  share: 0.25      0.25 x total rows of the final mixture (needs top-level total)
  tokens: 50000    rows drawn at random while their trainable tokens stay within 50000 (needs --tokenizer)
  epochs: 2.5      every row twice plus a seeded random half once more
For one seed, a smaller amount's rows are a subset of a larger amount's rows.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("mix", help="build mixtures with exact amounts, expand designs, export to other trainers",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = p.add_subparsers(dest="mix_verb", metavar="ACTION")
    p.set_defaults(func=lambda args: p.print_help() or 2)

    b = verbs.add_parser("build", help="build a mixture spec into train.jsonl + manifest.json",
                         epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("spec", type=Path, help="mixture spec YAML")
    b.add_argument("--out", type=Path, required=True, help="output folder (train.jsonl, selection.npy, manifest.json)")
    b.add_argument("--tokenizer", help="tokenizer folder (or hub id): tokenize each source once into the cache, "
                                       "count trainable tokens; needed by `tokens` amounts")
    b.add_argument("--template", default=None,
                   help="training template: chat (the tokenizer's chat template, default), chatml, alpaca, "
                        "dataset-name, none")
    b.add_argument("--cache-dir", type=Path, default=None,
                   help="cache folder: token caches, dedup / decontamination masks "
                        "(default $MIXLAB_CACHE/tokens, ~/.cache/mixlab/tokens)")
    b.add_argument("--quiet", action="store_true", help="do not print the composition or progress")
    b.set_defaults(func=_build)

    e = verbs.add_parser("export", help="write a built mixture for LLaMA-Factory, Axolotl, TRL or Alpaca")
    e.add_argument("mixture", type=Path, help="a folder written by `mixlab mix build`")
    e.add_argument("--to", required=True, choices=("llamafactory", "axolotl", "trl", "alpaca"))
    e.add_argument("--out", type=Path, required=True, help="output folder")
    e.add_argument("--name", default=None, help="dataset name in the trainer's config (default mixlab_<id>)")
    e.set_defaults(func=_export)

    d = verbs.add_parser("design", help="expand a spec into the mixtures of a design; print or write them",
                         formatter_class=argparse.RawDescriptionHelpFormatter, description=DESIGN_HELP)
    d.add_argument("kind", metavar="DESIGN", help="one of the designs below (hyphens read as underscores: "
                   "scale-one = scale_one)")
    d.add_argument("spec", type=Path, help="base mixture spec YAML")
    d.add_argument("--out", type=Path, default=None, help="write <label>.yaml per mixture and design.json here")
    # Each flag is the design option of the same name (mixlab.mix.design.DESIGNS); unset flags keep the
    # design's defaults.
    d.add_argument("--steps", type=int, help="simplex: grid steps (default 4); ladder: rungs (default 6)")
    d.add_argument("--total", type=int, help="simplex / dirichlet: mixture rows (default: spec total)")
    d.add_argument("--source", help="scale_one: the source (name or alias) to scale")
    d.add_argument("--factors", type=_floats, help="scale_one: comma-separated factors (default 0.25,0.5,2,4; "
                   "0 leaves it out)")
    d.add_argument("--sizes", type=_ints, help="ladder: comma-separated sizes (overrides --start/--factor/--steps)")
    d.add_argument("--start", type=int, help="ladder: first size (default 10)")
    d.add_argument("--factor", type=float, help="ladder: growth per rung (default 4)")
    d.add_argument("--per-source", action="store_true", default=None,
                   help="ladder: count n on every source, not n in total")
    d.add_argument("--n", type=int, help="dirichlet: number of mixtures (default 20)")
    d.add_argument("--alpha", type=float, help="dirichlet: concentration (default 1: uniform)")
    d.add_argument("--seed", type=int, help="dirichlet: seed of the draws (default 0)")
    d.set_defaults(func=_design)

    s = verbs.add_parser("show", help="print the composition of a built mixture")
    s.add_argument("mixture", type=Path)
    s.set_defaults(func=_show)


#: ``mixlab mix design --help``; a test keeps it equal to ``mixlab.mix.design.DESIGNS`` (names and summaries),
#: which is not imported here so that ``mixlab --help`` stays instant.
DESIGN_HELP = """\
designs (labels come from source aliases, e.g. alias: A):
  subsets        every subset of the sources, 'none' to 'A+C+P' (2^k mixtures)
  simplex        every share vector on a 1/steps grid (needs total)
  leave_one_out  the full mixture and each source left out
  scale_one      one source's amount times each factor, the others fixed
  ladder         the mixture at sizes start, start*factor, ... (nested rows)
  dirichlet      n random share vectors (seeded), for regression-based search
  single         the mixture as written (one point)
"""


def _load_tokenizer(name: str | None) -> Any:
    if not name:
        return None
    if Path(name).exists():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local folder must never reach for the hub
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(name)


def _build(args: argparse.Namespace) -> int:
    import warnings

    from mixlab.mix.build import MixtureWarning, build_mixture

    if not args.quiet:  # the composition printout already lists every warning
        warnings.simplefilter("ignore", MixtureWarning)
    build_mixture(args.spec, args.out, tokenizer=_load_tokenizer(args.tokenizer), template=args.template,
                  cache_dir=args.cache_dir, progress=not args.quiet, verbose=not args.quiet)
    return 0


def _export(args: argparse.Namespace) -> int:
    from mixlab.mix.export import export_mixture, format_report

    report = export_mixture(args.mixture, args.out, to=args.to, name=args.name)
    print(format_report(report, args.out))
    return 0


def _show(args: argparse.Namespace) -> int:
    from mixlab.mix.build import check_built, format_composition

    print(format_composition(check_built(args.mixture), args.mixture))
    return 0


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def _ints(text: str) -> list[int]:
    return [int(x) for x in _floats(text)]


def _design(args: argparse.Namespace) -> int:
    from mixlab.mix import design
    from mixlab.mix.spec import MixtureSpec

    spec = MixtureSpec.from_yaml(args.spec)
    chosen = design.get_design(args.kind)
    if chosen.name == "scale_one" and not args.source:
        from mixlab.errors import MixlabError

        raise MixlabError("scale_one needs --source NAME (the source whose amount is scaled)")
    options = {k: getattr(args, k) for k in chosen.options if getattr(args, k, None) is not None}
    points = chosen.points(spec, **options)
    design.check_unique_labels(points)
    width = max((len(p.label) for p in points), default=4)
    for p in points:
        amounts = ", ".join(f"{s.name}: {s.amount[0]} {s.amount[1]:.4g}" for s in p.spec.sources) or "(no sources)"
        total = f"  [total {p.spec.total}]" if any(s.share is not None for s in p.spec.sources) else ""
        print(f"{p.label.ljust(width)}  {amounts}{total}")
    if args.out is not None:
        index = []
        for p in points:
            path = p.spec.to_yaml(args.out / f"{p.label}.yaml")
            index.append({"label": p.label, "file": path.name, "coords": dict(p.coords),
                          "spec_hash": p.spec.spec_hash()})
        from mixlab.artifacts import atomic_write_text

        atomic_write_text(args.out / "design.json",
                          json.dumps({"design": chosen.name, "base": str(args.spec), "points": index}, indent=1) + "\n")
        print(f"wrote {len(points)} specs and design.json to {args.out}")
    return 0
