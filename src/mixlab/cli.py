"""The ``mixlab`` command. Each verb lives in its layer's ``cli.py`` (``mixlab train`` -> ``train/cli.py``).

A verb module exposes ``add_parser(subparsers)``, which adds its parser and sets ``func`` (called with the
parsed arguments, returning an exit code). Verb modules import heavy libraries inside ``func`` only, so that
``mixlab --help`` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from mixlab import __version__
from mixlab.errors import MixlabError

VERBS = [
    ("quickstart", "mixlab.quickstart"),
    ("data", "mixlab.data.cli"),
    ("mix", "mixlab.mix.cli"),
    ("train", "mixlab.train.cli"),
    ("eval", "mixlab.eval.cli"),
    ("study", "mixlab.study.cli"),
    ("report", "mixlab.analysis.cli"),
    ("plan", "mixlab.analysis.plan"),
    ("search", "mixlab.search.cli"),
]

DESCRIPTION = """\
mixlab runs instruction-mixture studies end to end: load and clean instruction data, compose mixtures by
explicit designs, fine-tune a model on each, score every ability, and analyse what each kind of data did.

Start with `mixlab quickstart`: a whole study on the embedded default world, on a laptop CPU, in minutes.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mixlab", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"mixlab {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for _, module in VERBS:
        importlib.import_module(module).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 0 if args.verb is None else 2
    try:
        return int(func(args) or 0)
    except MixlabError as exc:
        print(f"mixlab {args.verb}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"mixlab {args.verb}: interrupted; finished work is kept and a re-run resumes", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
