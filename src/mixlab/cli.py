"""The ``mixlab`` command. Each verb lives in its layer's ``cli.py`` (``mixlab train`` -> ``train/cli.py``).

A verb module exposes ``add_parser(subparsers)``, which adds its parser and sets ``func`` (called with the
parsed arguments, returning an exit code). Verb modules import heavy libraries inside ``func`` only, so that
``mixlab --help`` is instant.

This module and ``quickstart`` are the command line, the top layer (docs/architecture.md): a verb module
uses its own layer and those below, and what spans layers is composed here. ``mixlab study run`` ends with
the analysis of the study (``finish_study``), which the study layer, below analysis, cannot import.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from typing import Any

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


def _wiring() -> dict[str, dict[str, Any]]:
    """What the command line hands to verbs of lower layers: the study's analysis, and ``mixlab data generate``
    (a ``data`` action that uses the eval layer's LM backends, so it lives in ``generate/``, above ``data``)."""
    from mixlab.generate.cli import add_parser as add_generate

    return {"study": {"finish": finish_study}, "data": {"more_actions": [add_generate]}}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mixlab", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"mixlab {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    wiring = _wiring()
    for name, module in VERBS:
        importlib.import_module(module).add_parser(sub, **wiring.get(name, {}))
    return parser


def finish_study(result: Any, spec: Any, *, report: bool = True) -> int:
    """After a study ran: the outcome, then the table and headline effects, and ``report.html``.

    Exit code 1 when a run failed. Used by ``mixlab study run`` and ``mixlab quickstart``.
    """
    from mixlab.analysis.cli import print_summary
    from mixlab.analysis.report import build_report
    from mixlab.study.cli import print_outcome

    code = print_outcome(result)
    if result.counts["submitted"]:  # a cluster executor: the runs are queued, nothing to analyse yet
        return 0
    print_summary(result.study_dir)
    if report:
        path = build_report(result.study_dir, meta={"spec": spec.name, "seconds": round(result.seconds)})
        print(f"report: {path}")
    print(f"results: {result.study_dir / 'results.csv'}")
    return code


#: the dependencies' own progress bars are off in every mixlab command, whose output is mixlab's progress
#: (their documented switches; set one to 0 to see those bars again)
QUIET_LIBRARIES = {"HF_HUB_DISABLE_PROGRESS_BARS": "1", "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"}


def main(argv: list[str] | None = None) -> int:
    for name, value in QUIET_LIBRARIES.items():
        os.environ.setdefault(name, value)
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
