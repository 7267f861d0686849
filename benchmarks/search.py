"""Mixture search against the full grid it replaces, on the embedded world.

Ground truth: a finished `simplex_world` study (every 1/10-step mixture of A/C/P at 600 rows, two seeds; run it
with `mixlab study run configs/studies/simplex_world.yaml --out GRID`). For each objective and budget (a share
of the grid's runs), three ways to pick a mixture are compared, each spending the same number of runs:

- **mixlab search**: corners, centre, space-filling points, then expected improvement; surrogates chosen by
  cross-validation (``mixlab search run``), each family tried on the targets and on their continuous scores
  (the grid's ``prob_answer``) mapped back;
- **mixlab search, targets only**: the same with ``--no-continuous`` (what regressing on the continuous
  scores adds);
- **RegMix-style**: random Dirichlet mixtures (snapped onto the grid, one seed each), gradient-boosted trees
  fitted to them, the best predicted mixture;
- **uniform**: the most even mixture, no runs at all.

Every search runs inside a hard-linked copy of the grid folder, so the runs it chooses are the grid's own runs
(same identity) and nothing is retrained: the budget counts the runs used. Prints, per objective and budget,
the rank correlation of predicted against observed objective (mean over seeds), the noise ceiling (what a perfect
predictor of the true means would reach against the grid's seed mean), the top-1 regret and the seed spread,
and for mixlab's search the share of the 66 grid means (two seeds each) inside its 95 % intervals.

    python benchmarks/search.py GRID --budgets 0.1,0.2
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from mixlab.analysis.scores import StudyScores
from mixlab.search.candidates import dirichlet_points, nearest, simplex_points
from mixlab.search.objective import Objective
from mixlab.search.run import SearchOptions, run_search
from mixlab.search.surrogates import choose
from mixlab.search.validate import _ceiling, _continuous_objective, kendall, spearman
from mixlab.study.spec import StudySpec
from mixlab.study.store import read_items, read_results

OBJECTIVES = ("nlp=1,code=1,chat=1", "code=2,chat=1,nlp=0.5", "chat=1")
SPEC = Path(__file__).resolve().parents[1] / "configs" / "studies" / "simplex_world.yaml"


def grid_truth(grid: StudyScores, objective: Objective) -> tuple[dict[str, float], dict[str, dict[int, float]]]:
    per_seed: dict[str, dict[int, float]] = {}
    for run, (mix, _n, seed) in grid.coords.items():
        vals = {t.name: grid.value(run, t) for t in grid.targets()}
        per_seed.setdefault(mix, {})[seed] = objective.value(vals)
    return {m: float(np.mean(list(s.values()))) for m, s in per_seed.items()}, per_seed


def copy_grid(grid_dir: Path, dest: Path) -> None:
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    subprocess.run(["cp", "-al", str(grid_dir / "runs"), str(dest / "runs")], check=True)


def regmix(grid: StudyScores, objective: Objective, budget: int, seed: int) -> tuple[dict[str, float], str]:
    """Trees on ``budget`` random grid mixtures (one seed each, alternating): predictions and their pick."""
    aliases = ("A", "C", "P")
    cands = simplex_points(aliases, 10)
    chosen: list = []
    for d in dirichlet_points(aliases, 50 * budget, seed):
        m = nearest(cands, d.vector)
        if m.label not in {c.label for c in chosen}:
            chosen.append(m)
        if len(chosen) == budget:
            break
    X, y = [], []
    for i, m in enumerate(chosen):
        run = grid.run(m.label, 600, i % 2)
        vals = {t.name: grid.value(run, t) for t in grid.targets()}
        X.append(m.vector)
        y.append(objective.value(vals))
    fit = choose(np.array(X), np.array(y), families=("trees",))
    pred = fit.predict(np.array([m.vector for m in cands]))[0]
    preds = {m.label: float(p) for m, p in zip(cands, pred, strict=True)}
    return preds, max(preds, key=lambda k: preds[k])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("grid", type=Path, help="a finished simplex_world study folder")
    p.add_argument("--budgets", default="0.1,0.2", help="shares of the grid's runs (default %(default)s)")
    p.add_argument("--work", type=Path, default=Path("mixlab-runs/search-bench"), help="scratch folder")
    p.add_argument("--objectives", default=";".join(OBJECTIVES), help="objectives, separated by ';'")
    args = p.parse_args()
    spec = StudySpec.from_yaml(SPEC)
    results = read_results(args.grid)
    grid = StudyScores(results, read_items(args.grid))
    n_grid = sum(1 for m, _, _ in grid.coords.values() if m != "none")
    rows = []
    for text in args.objectives.split(";"):
        objective = Objective.parse(text, grid.abilities)
        truth, per_seed = grid_truth(grid, objective)
        labels = sorted(truth)
        ceiling_s, ceiling_k = _ceiling(per_seed, labels)
        cont = _continuous_objective(results, objective, None)
        if cont:
            print(f"{text:<22} noise ceiling of the grid's objective: {ceiling_s:.3f} on the targets, "
                  f"{_ceiling(cont, sorted(cont))[0]:.3f} on the continuous scores (prob_answer)", flush=True)
        best = max(truth, key=lambda m: truth[m])
        spread = float(np.median([np.std(list(s.values()), ddof=1) for s in per_seed.values() if len(s) > 1]))
        uniform = min(simplex_points(("A", "C", "P"), 10), key=lambda m: float(np.sum((m.vector - 1 / 3) ** 2))).label
        for share in [float(x) for x in args.budgets.split(",")]:
            budget = max(4, round(share * n_grid))
            work = args.work / f"{text.replace('=', '').replace(',', '_')}-{budget}"
            searched = {}
            for method, continuous in (("mixlab search", True), ("mixlab search, targets only", False)):
                folder = work.with_name(work.name + ("" if continuous else "-targets-only"))
                copy_grid(args.grid, folder)
                t0 = time.time()
                res = run_search(spec, SearchOptions(text, budget, "simplex:10", continuous=continuous), folder,
                                 announce=lambda _m: None)
                obj_rows = [r for r in res.predictions if r["target"] == "objective"]
                pred = {r["mixture"]: r["predicted"] for r in obj_rows}
                covered = float(np.mean([r["lo"] <= truth[r["mixture"]] <= r["hi"] for r in obj_rows]))
                searched[method] = (pred, res.recommendation["mixture"], res.recommendation["surrogate"],
                                    time.time() - t0, covered)
            rm_pred, rm_rec = regmix(grid, objective, budget, seed=1)
            methods = [(m, pr, pick) for m, (pr, pick, *_) in searched.items()]
            for method, pr, pick in (*methods, ("RegMix-style trees", rm_pred, rm_rec), ("uniform", None, uniform)):
                common = [m for m in labels if pr is not None and m in pr]
                rows.append({
                    "objective": text, "budget": budget, "share": share, "method": method,
                    "spearman": spearman([pr[m] for m in common], [truth[m] for m in common]) if pr else float("nan"),
                    "kendall": kendall([pr[m] for m in common], [truth[m] for m in common]) if pr else float("nan"),
                    "ceiling_spearman": ceiling_s, "ceiling_kendall": ceiling_k, "pick": pick, "best": best,
                    "regret": truth[best] - truth[pick], "seed_spread": spread,
                    "surrogate": searched[method][2] if method in searched else "",
                    "seconds": searched[method][3] if method in searched else float("nan"),
                    "interval_coverage": searched[method][4] if method in searched else float("nan")})
                r = rows[-1]
                print(f"{text:<22} {budget:>3} runs ({share:.0%}) {method:<28} spearman {r['spearman']:6.3f} "
                      f"(ceiling {ceiling_s:.3f}) regret {r['regret']:.4f} (seed spread {spread:.4f}) pick {pick} "
                      f"best {best}" + (f" 95% intervals hold {r['interval_coverage']:.0%} of the grid's means"
                                        if method in searched else ""), flush=True)
    out = args.work / "search_benchmark.json"
    out.write_text(json.dumps(rows, indent=1))
    print(f"written {out}")


if __name__ == "__main__":
    sys.exit(main())
