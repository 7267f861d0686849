"""`mixlab search`: find a good mixture without paying for the grid, and check a search against a grid."""

from __future__ import annotations

import argparse
from pathlib import Path

EPILOG = """\
examples:
  # 13 runs on the world's three instruction types at 600 rows, weighted towards code
  mixlab search run configs/studies/simplex_world.yaml --budget 13 --objective "code=2,chat=1,nlp=0.5" \\
      --candidates simplex:10 --out mixlab-runs/search
  mixlab report mixlab-runs/search                                     # the report has a search section
  # the truth: the full simplex grid (every point, two seeds), then how well the search did
  mixlab study run configs/studies/simplex_world.yaml --out mixlab-runs/simplex
  mixlab search validate mixlab-runs/search --against mixlab-runs/simplex
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "search", help="recommend a mixture for your objective from a few runs (surrogates, intervals)",
        description="A search spends at most --budget fine-tuning runs of a study spec's model at its "
        "mixture.total rows (each seed counts), chosen to learn the landscape (each source alone, the even "
        "mixture, space-filling points, then expected improvement), fits surrogates (mixing law, Gaussian "
        "process, boosted trees; chosen per target by leave-one-mixture-out error), predicts every candidate "
        "with an interval and recommends the best for the objective. See docs/search.md.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    ss = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    run = ss.add_parser("run", help="run a search (resumable: finished runs are reused)")
    run.add_argument("spec", help="a study spec with mixture sources (aliases) and mixture.total; its design and "
                     "volumes are ignored")
    run.add_argument("--budget", type=int, required=True, help="fine-tuning runs at most (each seed counts)")
    run.add_argument("--objective", required=True,
                     help='weights of type averages and abilities, e.g. "code=2,chat=1,nlp=0.5" or "bullets=1"')
    run.add_argument("--candidates", default="simplex:10",
                     help="simplex:STEPS (every share vector in steps of 1/STEPS) or dirichlet:N (seeded draws); "
                     "default %(default)s")
    run.add_argument("--proxy", choices=["merge"], help="score every candidate by averaging the single-source "
                     "fine-tunes' weights, used as a prior where cross-validation says it helps")
    run.add_argument("--initial", type=int, help="runs of the initial design (default: half the budget)")
    run.add_argument("--no-continuous", dest="continuous", action="store_false",
                     help="fit every surrogate on the targets only, not also on their continuous per-item scores "
                     "(prob_gold, prob_answer) mapped back")
    run.add_argument("--out", help="search folder (default mixlab-runs/<spec name>-search)")
    run.add_argument("--workers", type=int, help="runs at once (local executor)")
    run.set_defaults(func=_run)
    val = ss.add_parser("validate", help="rank correlation, regret and noise ceiling against a grid study")
    val.add_argument("dir", help="a search folder")
    val.add_argument("--against", required=True, help="a simplex grid study folder of the same spec")
    val.set_defaults(func=_validate)


def _run(args: argparse.Namespace) -> int:
    from mixlab.search.run import SearchOptions, run_search
    from mixlab.study.spec import StudySpec

    spec = StudySpec.from_yaml(args.spec)
    out = Path(args.out or Path("mixlab-runs") / f"{spec.name}-search")
    opts = SearchOptions(args.objective, args.budget, args.candidates, args.proxy, args.initial,
                         continuous=args.continuous)
    result = run_search(spec, opts, out, workers=args.workers)
    r = result.recommendation
    shares = ", ".join(f"{a} {s:.0%}" for a, s in r["shares"].items())
    print(f"\nrecommended: {r['mixture']} ({shares} of {r['total']} rows): predicted objective {r['predicted']:.3f} "
          f"(95% interval {r['lo']:.3f} to {r['hi']:.3f}; {r['surrogate']}, leave-one-mixture-out error "
          f"{r['cv_rmse']:.3f})")
    for name, fit in result.fits.items():
        print(f"  {name:<16} {fit.name:<12} cv error {fit.cv_rmse:.4f}  ({fit.n_mixtures} mixtures)")
    print(f"written: {out}/predictions.csv, recommendation.json, search.json (mixlab report {out} for the plots)")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from mixlab.artifacts import atomic_write_json
    from mixlab.search.validate import as_dict, validate

    v = validate(args.dir, args.against)
    for line in v.lines():
        print(line)
    atomic_write_json(Path(args.dir) / "validation.json", as_dict(v))
    return 0
