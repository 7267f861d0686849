"""``mixlab search validate DIR --against GRID``: how good were a search's predictions and recommendation?

The grid study (a ``simplex`` study of the same sources, total and evaluation, every point trained with
several seeds) is the truth. For every target and the objective:

- **rank correlation** (Spearman, Kendall) of the search's prediction against the grid's mean over seeds, over
  the mixtures both have;
- the **noise ceiling**: the correlation a perfect predictor of the true means would reach with that noisy
  seed mean, from the correlation between the grid's own seeds (Spearman-Brown; no predictor beats it but
  by chance);
- for the objective, the **top-1 regret**: the best grid mixture's observed objective minus the observed
  objective of the recommended mixture, against the seed spread (the median standard deviation of the
  objective over seeds): a regret inside it is as good as the grid can tell.

With ``proxy.csv`` (``--proxy merge``), the merge proxy's own rank correlation is reported too. Where the
grid's tasks report continuous per-item scores (``prob_gold``, ``prob_answer``), the objective computed from
them gets its own noise ceiling (how much better the grid ranks on the smoother scale) and the proxy's rank
correlation against it.

>>> round(spearman([1, 2, 3, 4], [10, 20, 40, 30]), 2)
0.8
"""

from __future__ import annotations

import csv
import itertools
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mixlab.errors import MixlabError
from mixlab.search.merge import CONTINUOUS_OBJECTIVE


def _ranks(x: Sequence[float]) -> np.ndarray:
    from scipy.stats import rankdata

    return np.asarray(rankdata(x), dtype=np.float64)


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    if len(a) < 3:
        return float("nan")
    ra, rb = _ranks(a), _ranks(b)
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def kendall(a: Sequence[float], b: Sequence[float]) -> float:
    from scipy.stats import kendalltau

    if len(a) < 3:
        return float("nan")
    return float(kendalltau(a, b).statistic)


@dataclass
class TargetCheck:
    target: str
    mixtures: int
    spearman: float
    kendall: float
    ceiling_spearman: float
    ceiling_kendall: float


@dataclass
class Validation:
    checks: list[TargetCheck] = field(default_factory=list)
    recommended: str = ""
    best: str = ""
    regret: float = float("nan")
    seed_spread: float = float("nan")
    proxy_spearman: float | None = None
    #: the objective on the grid's continuous scores: its noise ceiling (Spearman) and the proxy's correlation
    continuous_ceiling: float | None = None
    proxy_spearman_continuous: float | None = None
    training_runs: int = 0
    grid_runs: int = 0

    def lines(self) -> list[str]:
        out = [f"{'target':<16} {'mixtures':>8} {'spearman':>9} {'kendall':>8} {'ceiling (spearman / kendall)':>30}"]
        for c in self.checks:
            out.append(f"{c.target:<16} {c.mixtures:>8} {c.spearman:>9.3f} {c.kendall:>8.3f} "
                       f"{c.ceiling_spearman:>14.3f} / {c.ceiling_kendall:.3f}")
        out.append(f"recommended {self.recommended}; best in the grid {self.best}; top-1 regret {self.regret:.4f} "
                   f"(seed spread of the objective {self.seed_spread:.4f}: "
                   f"{'within' if self.regret <= self.seed_spread else 'beyond'} it)")
        if self.proxy_spearman is not None:
            out.append(f"merge proxy alone: spearman {self.proxy_spearman:.3f} on the objective")
        if self.continuous_ceiling is not None:
            proxy = ("" if self.proxy_spearman_continuous is None else
                     f"; merge proxy alone: spearman {self.proxy_spearman_continuous:.3f}")
            out.append(f"objective on the continuous scores (prob_gold, prob_answer): noise ceiling "
                       f"{self.continuous_ceiling:.3f}{proxy}")
        share = f" ({self.training_runs / self.grid_runs:.0%} of the grid's {self.grid_runs})" if self.grid_runs else ""
        out.append(f"the search trained {self.training_runs} runs{share}")
        return out


def _read_predictions(path: Path) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = defaultdict(dict)
    with open(path, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            out[r["target"]][r["mixture"]] = float(r["predicted"])
    return out


def validate(search_dir: str | Path, grid_dir: str | Path) -> Validation:
    import json

    from mixlab.analysis.scores import StudyScores
    from mixlab.search.objective import Objective
    from mixlab.study.store import read_items, read_results

    search_dir, grid_dir = Path(search_dir), Path(grid_dir)
    for need in (search_dir / "predictions.csv", search_dir / "search.json", grid_dir / "results.csv"):
        if not need.exists():
            raise MixlabError(f"{need} not found: run `mixlab search run` (and the grid study) first")
    meta = json.loads((search_dir / "search.json").read_text())
    preds = _read_predictions(search_dir / "predictions.csv")
    grid_rows = read_results(grid_dir)
    grid = StudyScores(grid_rows, read_items(grid_dir))
    obj = Objective(tuple(meta["objective"]["targets"]), tuple(meta["objective"]["weights"]), meta["objective"]["text"])
    total = meta.get("total")
    # grid values per mixture and seed, at the search's total
    per_seed: dict[str, dict[str, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    for run, (mix, n, seed) in grid.coords.items():
        if mix == "none" or (total and n != total):
            continue
        vals = {t.name: grid.value(run, t) for t in grid.targets()}
        vals["objective"] = obj.value(vals)
        for name, v in vals.items():
            per_seed[name][mix][seed] = v
    result = Validation(training_runs=int(meta.get("training_runs", 0)),
                        grid_runs=sum(1 for m, n, _ in grid.coords.values() if m != "none" and (not total or n == total)))
    for name in preds:
        truth = {m: float(np.mean(list(s.values()))) for m, s in per_seed.get(name, {}).items()}
        common = [m for m in preds[name] if m in truth]
        if len(common) < 3:
            continue
        p, o = [preds[name][m] for m in common], [truth[m] for m in common]
        cs, ck = _ceiling(per_seed[name], common)
        result.checks.append(TargetCheck(name, len(common), spearman(p, o), kendall(p, o), cs, ck))
    truth_obj = {m: float(np.mean(list(s.values()))) for m, s in per_seed.get("objective", {}).items()}
    rec = meta["recommendation"]["mixture"]
    if truth_obj:
        result.best = max(truth_obj, key=lambda m: truth_obj[m])
        result.recommended = rec
        result.regret = truth_obj[result.best] - truth_obj.get(rec, float("nan"))
        spreads = [float(np.std(list(s.values()), ddof=1)) for s in per_seed["objective"].values() if len(s) > 1]
        result.seed_spread = float(np.median(spreads)) if spreads else float("nan")
    proxy_file = search_dir / "proxy.csv"
    proxy: dict[str, dict[str, float]] = defaultdict(dict)
    if proxy_file.exists():
        with open(proxy_file, newline="", encoding="utf-8") as f:
            for r in csv.DictReader(f):
                proxy[r["target"]][r["mixture"]] = float(r["value"] or "nan")
    if proxy.get("objective") and truth_obj:
        result.proxy_spearman = _rank_against(proxy["objective"], truth_obj)
    cont = _continuous_objective(grid_rows, obj, total)
    if cont:
        labels = sorted(cont)
        result.continuous_ceiling = _ceiling(cont, labels)[0] if len(labels) >= 3 else None
        if proxy.get(CONTINUOUS_OBJECTIVE):
            truth_cont = {m: float(np.mean(list(s.values()))) for m, s in cont.items()}
            result.proxy_spearman_continuous = _rank_against(proxy[CONTINUOUS_OBJECTIVE], truth_cont)
    return result


def _rank_against(values: dict[str, float], truth: dict[str, float]) -> float:
    common = [m for m in values if m in truth and math.isfinite(values[m])]
    return spearman([values[m] for m in common], [truth[m] for m in common])


def _continuous_objective(rows: Sequence[Any], obj: Any, total: Any) -> dict[str, dict[int, float]]:
    """The grid's objective per mixture and seed on the tasks' continuous scores ({} when none reports one)."""
    from mixlab.analysis.scores import StudyScores, continuous_rows

    crows, tasks = continuous_rows(rows)
    if not tasks:
        return {}
    grid = StudyScores(crows)
    out: dict[str, dict[int, float]] = defaultdict(dict)
    for run, (mix, n, seed) in grid.coords.items():
        if mix != "none" and (not total or n == total):
            out[mix][seed] = obj.value({t.name: grid.value(run, t) for t in grid.targets()})
    return dict(out)


def _ceiling(by_mix: dict[str, dict[int, float]], mixtures: Sequence[str]) -> tuple[float, float]:
    """The noise ceiling: the rank correlation a perfect predictor of the true mixture means would reach with
    the grid's observed mean over its k seeds. From the mean correlation r between pairs of seeds, the
    reliability of a k-seed mean is k r / (1 + (k - 1) r) (Spearman-Brown) and the ceiling its square root, on
    Pearson's scale under normal noise (Spearman and Kendall converted through it). Predictions that beat the
    seed-to-seed correlation are expected: they are compared with a mean, not with one seed.

    >>> round(_ceiling({"a": {0: 1, 1: 1.1}, "b": {0: 2, 1: 2.2}, "c": {0: 3, 1: 2.9}}, ["a", "b", "c"])[0], 3)
    1.0
    """
    seeds = sorted(set.intersection(*(set(by_mix[m]) for m in mixtures)))
    s_vals = []
    for a, b in itertools.combinations(seeds, 2):
        s = spearman([by_mix[m][a] for m in mixtures], [by_mix[m][b] for m in mixtures])
        if math.isfinite(s):
            s_vals.append(s)
    if not s_vals:
        return float("nan"), float("nan")
    r = 2 * math.sin(math.pi * float(np.mean(s_vals)) / 6)  # Spearman -> Pearson under normality
    if r <= 0:
        return 0.0, 0.0
    k = len(seeds)
    rho = math.sqrt(k * r / (1 + (k - 1) * r))
    return 6 / math.pi * math.asin(rho / 2), 2 / math.pi * math.asin(rho)


def as_dict(v: Validation) -> dict[str, Any]:
    return {"checks": [c.__dict__ for c in v.checks], "recommended": v.recommended, "best": v.best,
            "regret": v.regret, "seed_spread": v.seed_spread, "proxy_spearman": v.proxy_spearman,
            "continuous_ceiling": v.continuous_ceiling, "proxy_spearman_continuous": v.proxy_spearman_continuous,
            "training_runs": v.training_runs, "grid_runs": v.grid_runs}
