"""`mixlab report`: the mixture table, growth curves and effects of a study folder, as HTML and text."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mixlab.analysis.scores import StudyScores


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report", help="write report.html for a study folder and print its table and effects",
        description="Reads a study's results store (results.csv, training.csv, sources.csv) and writes a "
        "self-contained report.html and effects.csv: the paper-style mixture table per data volume (base first, "
        "best per column marked), growth curves per ability, each type's gain on its own abilities, every "
        "source's effect on every ability and average with a 95% interval (seeds as replicates, item "
        "clusters) and a verdict after multiplicity control, the study's power, and per-source training loss.",
        epilog="examples:\n  mixlab report mixlab-runs/quickstart --out quickstart.html\n"
               "  mixlab report mixlab-runs/quickstart --compare mixlab-runs/quickstart-seeds100",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir", help="study folder (holding results.csv)")
    p.add_argument("--out", help="HTML file to write (default DIR/report.html)")
    p.add_argument("--title", help="report title")
    p.add_argument("--quiet", action="store_true", help="do not print the table")
    p.add_argument("--compare", metavar="OTHER", help="another study folder of the same design (other seeds, "
                   "another machine): count contradictions and how often each estimate lies in the other's "
                   "interval")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from mixlab.analysis.report import build_report
    from mixlab.errors import MixlabError

    if not (Path(args.dir) / "results.csv").exists():
        raise MixlabError(f"{args.dir} has no results.csv; run `mixlab study collect {args.dir}` first")
    if not args.quiet:
        print_summary(args.dir)
    path = build_report(args.dir, args.out, title=args.title)
    print(f"report: {path}")
    if args.compare:
        from mixlab.analysis.replication import compare_effects, read_effects

        other = Path(args.compare)
        if not (other / "effects.csv").exists():
            if not (other / "results.csv").exists():
                raise MixlabError(f"{other} has neither effects.csv nor results.csv")
            build_report(other)
        agreement = compare_effects(read_effects(args.dir), read_effects(other))
        print(f"against {other}: {agreement.summary()}")
        for line in agreement.details:
            print("  " + line)
    return 0


def print_summary(study_dir: str | Path) -> None:
    """Print the mixture table at the largest volume (one block per combination of axis values), the clear
    direct and cross-type effects, the axes' own effects and the power of the study to the terminal
    (``effects.csv`` holds every effect)."""
    from mixlab.analysis.effects import FDR, describe, detectable_line, headline_cross_effects, study_effects
    from mixlab.analysis.report import load_scores, read_sources

    scores = load_scores(study_dir)
    if not scores.coords:
        print("no complete runs yet")
        return
    for values in scores.axis_combinations():
        print_table(scores.where(values) if values else scores, values)
    types = read_sources(study_dir)
    found = study_effects(scores, types)
    if found.gains:
        ok = sum(g.clear for g in found.gains)
        print(f"\neach type on its own abilities: {ok} of {len(found.gains)} single-source gains over the base "
              "are clear (paired over seeds and item clusters, Holm 5 %)")
    effects = found.effects
    if not effects:
        return
    n_max = max(e.n_train for e in effects)
    print(f"\neffects at n = {n_max} (95% CI; verdicts after Benjamini-Hochberg, FDR {FDR:.0%}, over "
          f"{len(effects)} effects in effects.csv):")
    sources = [e for e in effects if not e.axis]
    direct = [e for e in sources if e.n_train == n_max and e.target == f"{e.source_type} avg" and e.source_type]
    for e in direct + headline_cross_effects(sources, types, k=3):
        print("  " + describe(e, types))
    axis = [e for e in effects if e.axis and e.n_train == n_max and e.target.endswith("avg")]
    if axis:
        print("axes (each value against the axis's first value, paired on mixture, volume, seed and items):")
        for e in axis:
            print("  " + describe(e, types))
    lines = [x for tt in scores.targets() if tt.is_average and tt.kind and (x := detectable_line(sources, tt.name))]
    if lines:
        print("power (80 %, 5 % two-sided): " + "; ".join(lines))
    if scores.mixtures() and all("+" not in m for m in scores.mixtures()):  # one source per arm: DoIT's readings
        print_dynamics(scores, types)


def print_dynamics(scores: StudyScores, source_types: Mapping[str, str]) -> None:
    """Growth pace (ranked) and the transfer matrix of every combination of axis values."""
    from mixlab.analysis.dynamics import format_construction, format_paces, format_transfer, study_dynamics

    for d in study_dynamics(scores, source_types):
        where = f" ({d.label})" if d.label else ""
        if d.paces:
            print(f"\n{format_paces(d.paces).replace('growth pace', 'growth pace' + where, 1)}")
        if d.transfer:
            print(f"\ntransfer{where}: " + format_transfer(d.transfer))
        if d.construction:
            print(f"\n{format_construction(d.construction).replace('data construction', 'data construction' + where, 1)}")


def print_table(scores: StudyScores, values: Mapping[str, str] | None = None) -> None:
    """One block of the mixture table: the largest volume of one combination of axis values."""
    from mixlab.analysis.table import format_table, mixture_table

    t = mixture_table(scores)
    where = f"n = {t.n_train} rows per source" if t.n_train else "all runs"
    if values:
        where = ",".join(f"{k}={v}" for k, v in values.items()) + "; " + where
    k = len(scores.seeds(t.n_train))
    print(f"\nmixture table ({where}; primary metric, mean over {k} seed{'s' if k != 1 else ''}, "
          "± = sd over seeds; averages on 0-1; * = best in column)")
    print(format_table(t, spread=True))
