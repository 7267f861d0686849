"""`mixlab plan`: what a study (or a pilot) can detect, and how many seeds and items a given effect needs.

The variance components a finished study measured (training noise between seeds, item-cluster noise, and
their interaction; see ``analysis.inference``) predict the standard error of the same effects with other
numbers of seeds and items. For each target the components are averaged over the sources' cross-type effects
at the largest volume (the small effects worth planning for; ``effects.power_estimate``), and:

- *detectable now*: the smallest effect a two-sided 5 % t test finds with 80 % power at the study's size;
- *seeds needed*: the fewest seeds that detect ``--effect``, with the items as they are and with 2x, 4x
  more items (clusters grow with items).

This is the power of one test; with many effects tested, the Benjamini-Hochberg adjustment asks somewhat more.

>>> from mixlab.analysis.inference import Estimate
>>> est = Estimate(0.05, 0.02, 3.0, 4, 100, seed_var=0.0012, cluster_var=0.01, resid_var=0.05)
>>> seeds_needed(est, 0.05, clusters=100) is not None
True
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mixlab.analysis.inference import Estimate

MAX_SEEDS = 64


@dataclass(frozen=True)
class PlanRow:
    target: str
    n_train: int
    estimate: Estimate  # components averaged over the sources' effects
    detectable: float
    seeds_needed: dict[int, int | None]  # item multiplier -> seeds (None: more than MAX_SEEDS)


def seeds_needed(est: Estimate, effect: float, *, clusters: int | None = None, power: float = 0.8,
                 alpha: float = 0.05, max_seeds: int = MAX_SEEDS) -> int | None:
    """The fewest seeds (>= 2) whose detectable effect is at most ``effect``; None beyond ``max_seeds``."""
    for k in range(2, max_seeds + 1):
        if est.detectable(seeds=k, clusters=clusters, power=power, alpha=alpha) <= effect:
            return k
    return None


def plan(study_dir: str | Path, effect: float | None = None, targets: Sequence[str] | None = None, *,
         power: float = 0.8, alpha: float = 0.05) -> list[PlanRow]:
    from mixlab.analysis.effects import all_effects, power_estimate, study_sources
    from mixlab.analysis.report import load_scores, read_sources

    scores = load_scores(study_dir)
    effects = all_effects(scores, study_sources(scores), read_sources(study_dir))
    if not effects:
        return []
    n_max = max(e.n_train for e in effects)
    names = list(targets) if targets else [t.name for t in scores.targets() if t.is_average and t.kind]
    rows = []
    for name in names:
        est = power_estimate(effects, name)
        if est is None:
            continue
        need = {m: seeds_needed(est, effect, clusters=est.n_clusters * m, power=power, alpha=alpha)
                for m in (1, 2, 4)} if effect else {}
        rows.append(PlanRow(name, n_max, est, est.detectable(power=power, alpha=alpha), need))
    return rows


def format_plan(rows: Sequence[PlanRow], effect: float | None) -> str:
    head = f"{'target':<14} {'seeds':>5} {'clusters':>8} {'se':>7} {'detectable':>10}"
    if effect:
        head += f"   seeds for {effect:g} (items x1 / x2 / x4)"
    lines = [head, "-" * len(head)]
    for r in rows:
        line = (f"{r.target:<14} {r.estimate.n_seeds:>5} {r.estimate.n_clusters:>8} {r.estimate.se:>7.3f} "
                f"{r.detectable:>10.3f}")
        if r.estimate.no_variation:  # a plan from zero variance would promise any effect
            lines.append(line[:line.rfind(" ", 0, len(line) - 10)] + "   not estimable: no variation between "
                         "seeds or items (every run scored the same)")
            continue
        if effect:
            line += "   " + " / ".join(str(v) if v else f">{MAX_SEEDS}" for v in r.seeds_needed.values())
        lines.append(line)
    return "\n".join(lines)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plan", help="what a study can detect, and the seeds and items an effect needs (power planning)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  mixlab plan mixlab-runs/quickstart\n"
               "  mixlab plan mixlab-runs/pilot --effect 0.05 --target 'code avg' --target 'chat avg'")
    p.add_argument("dir", help="a study folder with results (a finished study or a pilot)")
    p.add_argument("--effect", type=float, help="the smallest effect (on the target's scale) worth detecting")
    p.add_argument("--target", action="append", help="an ability or <type> avg (default: every type average)")
    p.add_argument("--power", type=float, default=0.8, help="probability of detecting it (default 0.8)")
    p.add_argument("--alpha", type=float, default=0.05, help="two-sided test level (default 0.05)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from mixlab.errors import MixlabError

    if not (Path(args.dir) / "results.csv").exists():
        raise MixlabError(f"{args.dir} has no results.csv; run the study (or `mixlab study collect`) first")
    if args.effect is not None and not args.effect > 0:
        raise MixlabError(f"--effect {args.effect}: give a positive difference, e.g. 0.05")
    if not (0 < args.power < 1 and 0 < args.alpha < 1):
        raise MixlabError("--power and --alpha must lie between 0 and 1")
    rows = plan(args.dir, args.effect, args.target, power=args.power, alpha=args.alpha)
    if not rows:
        print("no effect with an interval: the study needs at least two seeds and arm pairs that differ by one "
              "source (see docs/analysis.md)")
        return 1
    n = rows[0].n_train
    print(f"power of {args.dir} at n = {n} ({args.power:.0%} power, {args.alpha:g} two-sided; components "
          "averaged over sources):")
    print(format_plan(rows, args.effect))
    if any(math.isnan(r.detectable) for r in rows):
        print("(nan: not estimable with one seed)")
    return 0
