"""`mixlab study`: run a mixture study from a spec, resumably; inspect and collect study folders."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mixlab.errors import MixlabError

if TYPE_CHECKING:
    from mixlab.study.run_study import StudyResult
    from mixlab.study.spec import RunSpec, StudySpec

EPILOG = """\
examples:
  mixlab study run configs/studies/quickstart.yaml --out runs/qs     # run (or resume) every run, then report
  mixlab study expand configs/studies/quickstart.yaml                # list the runs a spec expands into
  mixlab study status runs/qs                                        # complete / unfinished / failed runs
  mixlab study run-one runs/qs 'mix=A+C,n=400,seed=1'                # one run (what Slurm array tasks call)
  mixlab study collect runs/qs                                       # rebuild results.csv from complete runs
"""


#: what ``mixlab study run`` does with a finished study: ``(result, spec, report=...) -> exit code``
Finish = Callable[..., int]


def add_parser(sub: argparse._SubParsersAction, finish: Finish | None = None) -> None:
    """Add ``mixlab study``. ``finish`` is called after ``study run`` (default ``print_outcome``): the study
    layer cannot import the analysis layer above it, so the command line hands in the step that reports."""
    p = sub.add_parser(
        "study", help="run a mixture study (design x volumes x seeds), resumably",
        description="A study expands a design over mixtures, data volumes and seeds into runs; each run builds "
        "its mixture, fine-tunes, evaluates and writes its scores; results.csv collects every score and "
        "report.html shows the table, curves and effects. Re-running skips complete runs.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    ss = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    run = ss.add_parser("run", help="run every run of a study spec that is not complete, then report")
    run.add_argument("spec", help="study spec YAML (see configs/studies/)")
    run.add_argument("--out", help="study folder (default: mixlab-runs/<spec name>)")
    run.add_argument("--workers", type=int, help="runs at once (local executor; default min(2, cores))")
    run.add_argument("--executor", choices=["local", "ray", "slurm"], help="override the spec's executor")
    run.add_argument("--no-report", action="store_true", help="skip report.html")
    run.set_defaults(func=_run, finish=finish or print_outcome)

    exp = ss.add_parser("expand", help="print the runs a spec expands into and what they cost (nothing is run)",
                        description="Print the runs, then the study's cost: training tokens (measured on a sample "
                        "of each source with the model's tokenizer), FLOPs, GPU-hours at a stated utilisation, and "
                        "evaluation items. See mixlab.study.cost for the arithmetic.")
    exp.add_argument("spec")
    exp.add_argument("--gpu", default="h100", choices=["h100", "h200", "a100"], help="GPU for GPU-hours")
    exp.add_argument("--mfu", type=float, help="model FLOPs utilisation, 0-1 (default: 0.4 at >= 1B parameters, "
                     "0.2 below)")
    exp.add_argument("--sample", type=int, default=200, help="rows per source tokenized for the estimate")
    exp.add_argument("--no-cost", action="store_true", help="list the runs only")
    exp.set_defaults(func=_expand)

    st = ss.add_parser("status", help="show which runs of a study folder are complete, unfinished or failed")
    st.add_argument("dir")
    st.set_defaults(func=_status)

    one = ss.add_parser("run-one", help="run one run of a study folder (Slurm array tasks call this)")
    one.add_argument("dir")
    one.add_argument("run_id")
    one.set_defaults(func=_run_one)

    col = ss.add_parser("collect", help="rebuild results.csv and training.csv from the complete runs")
    col.add_argument("dir")
    col.set_defaults(func=_collect)


def _run(args: argparse.Namespace) -> int:
    from mixlab.study.run_study import run_study
    from mixlab.study.spec import StudySpec

    spec = StudySpec.from_yaml(args.spec)
    if args.executor:
        spec = spec.model_copy(update={"executor": spec.executor.model_copy(update={"kind": args.executor})})
    out = Path(args.out or Path("mixlab-runs") / spec.name)
    result = run_study(spec, out, workers=args.workers)
    return args.finish(result, spec, report=not args.no_report)


def print_outcome(result: StudyResult, spec: StudySpec | None = None, *, report: bool = True) -> int:
    """Print how many runs finished, and each failure with its traceback file. Exit code 1 on failures.

    What ``mixlab study run`` does after a study when nothing else is wired in; the command line
    (``mixlab.cli.finish_study``) adds the analysis layer's table, effects and report after it.
    """
    c = result.counts
    print(f"\n{len(result.runs)} runs: {c['done']} done, {c['cached']} already complete, {c['failed']} failed "
          f"({result.seconds:.0f} s)")
    for o in result.failed:
        print(f"  FAILED {o.run_id}: {o.error} (traceback: {result.study_dir / 'runs' / o.run_id / 'error.txt'})")
    return 1 if result.failed else 0


def _expand(args: argparse.Namespace) -> int:
    from mixlab.study.spec import StudySpec, expand

    if args.mfu is not None and not 0 < args.mfu <= 1:
        raise MixlabError(f"--mfu: {args.mfu} must be in (0, 1]")
    spec = StudySpec.from_yaml(args.spec)
    runs = expand(spec)
    width = max([32, *(len(r.run_id) + 1 for r in runs)])
    for r in runs:
        print(f"{r.run_id:<{width}} {r.identity()}")
    print(f"{len(runs)} runs")
    if spec.axes:
        print("\n".join(axes_lines(spec, runs)))
    if not args.no_cost:
        from mixlab.study.cost import study_cost_lines

        try:
            lines = study_cost_lines(spec, runs, gpu=args.gpu, mfu=args.mfu, sample=args.sample)
        except OSError as exc:  # a hub source or model unreachable from here: the runs above stand
            lines = [f"cost: not estimated: a source or the model could not be read here ({exc}); the runs above "
                     "are the study (--no-cost skips the estimate)"]
        print("\n".join(lines))
    return 0


def axes_lines(spec: StudySpec, runs: list[RunSpec]) -> list[str]:
    """The cross product in words: each axis and its values, the trained runs per combination, the base rows."""
    trained = [r for r in runs if not r.is_base]
    combos = 1
    out = ["axes (crossed with the design; the first value of each is its reference):"]
    for name, ax in spec.axes.items():
        combos *= len(ax.values)
        shared = "one base row per value" if ax.changes_base else "base row shared"
        values = ", ".join(f"{lab}" for lab in ax.labels_or_default())
        out.append(f"  {name} ({ax.field}): {len(ax.values)} values [{values}]; "
                   f"{sum(1 for r in trained if r.axes.get(name) == ax.labels_or_default()[0])} trained runs each; "
                   f"{shared}")
    per = len(trained) // combos if combos else 0
    out.append(f"  {combos} combinations x {per} trained runs (arms x volumes x seeds) = {len(trained)} trained "
               f"runs, + {len(runs) - len(trained)} base row{'s' if len(runs) - len(trained) != 1 else ''} = "
               f"{len(runs)} runs")
    return out


def _status(args: argparse.Namespace) -> int:
    from mixlab.study.run_one import is_complete, run_dir
    from mixlab.study.run_study import load_runs

    runs = load_runs(args.dir)
    counts = {"complete": 0, "failed": 0, "unfinished": 0, "not started": 0}
    for r in runs:
        folder = run_dir(args.dir, r)
        state = ("complete" if is_complete(args.dir, r) else "failed" if (folder / "error.txt").exists()
                 else "unfinished" if folder.exists() else "not started")
        counts[state] += 1
        print(f"{state:<12} {r.run_id}")
    print(", ".join(f"{v} {k}" for k, v in counts.items()))
    return 0


def _run_one(args: argparse.Namespace) -> int:
    from mixlab.study.run_one import run_one
    from mixlab.study.run_study import load_runs

    runs = {r.run_id: r for r in load_runs(args.dir)}
    if args.run_id not in runs:
        raise MixlabError(f"no run '{args.run_id}' in {args.dir}; see `mixlab study status {args.dir}`")
    outcome = run_one(runs[args.run_id], args.dir)
    print(f"{outcome.status} {outcome.run_id} {outcome.seconds:.1f} s {outcome.error or outcome.summary}")
    return 1 if outcome.status == "failed" else 0


def _collect(args: argparse.Namespace) -> int:
    from mixlab.study.run_study import collect

    done, missing = collect(args.dir)
    print(f"results.csv: {done} complete runs collected, {missing} not complete")
    return 0
