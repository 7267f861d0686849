"""Calibration of mixlab's effect intervals, measured by simulation (no training; numpy only).

Prints, for each regime of variance components and 2, 3, 5 seeds, how often the 95 % interval of
``analysis.inference.paired_estimate`` covers the true effect over ``--studies`` simulated studies, the
median interval width, and the same for the whole pipeline (stores -> ``all_effects``) on factorial studies,
plus the share of null studies that print any clear verdict after the Benjamini-Hochberg adjustment.

    python benchmarks/calibration.py --studies 4000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit" / "analysis"))

from test_calibration import CONSERVATIVE, EFFECTS, REGIMES, _study

from mixlab.analysis.effects import all_effects
from mixlab.analysis.scores import StudyScores
from mixlab.analysis.simulate import ABILITIES, TYPES, Noise, simulate, true_main_effect, true_scores


def core(n: int) -> None:
    print(f"estimator alone, {n} studies per cell: coverage (median width)")
    print(f"{'regime':<32}" + "".join(f"{f'{k} seeds':>20}" for k in (2, 3, 5)))
    for name, params in {**REGIMES, **{f"{k} [conservative]": v for k, v in CONSERVATIVE.items()}}.items():
        cells = []
        for k in (2, 3, 5):
            rng = np.random.default_rng(1000 + k)
            hits, widths = 0, []
            for _ in range(n):
                lo, hi = _study(rng, k, params).ci()
                hits += lo <= 0.05 <= hi
                widths.append(hi - lo)
            cells.append(f"{hits / n:.3f} ({np.median(widths):.3f})")
        print(f"{name:<32}" + "".join(f"{c:>20}" for c in cells))


def pipeline(n: int) -> None:
    truth = true_scores(EFFECTS, interaction=0.04)
    regimes = {"training noise as in the world": Noise(seed=0.06, hardware=0.03, cluster=0.05, item=0.03, binary=True),
               "smaller training noise": Noise(seed=0.04, hardware=0.02, cluster=0.05, item=0.03, binary=True)}
    for name, noise in regimes.items():
        for k in (2, 3, 5):
            rng = np.random.default_rng(2000 + k)
            hits = total = 0
            for _ in range(n):
                rows, items = simulate(rng, truth, k, noise)
                for e in all_effects(StudyScores(rows, items), list(TYPES), TYPES):
                    if e.target in ABILITIES:
                        lo, hi = e.ci
                        hits += lo <= true_main_effect(truth, e.source, e.target) <= hi
                        total += 1
            print(f"pipeline ({name}), factorial A/C/P with an interaction, binary items, {k} seeds: coverage "
                  f"{hits / total:.3f} over {total} intervals ({n} studies)")
    rng = np.random.default_rng(7)
    noisy = 0
    noise = regimes["training noise as in the world"]
    for _ in range(n):
        rows, items = simulate(rng, true_scores({}), 3, noise, clusters=20)
        noisy += any(e.clear for e in all_effects(StudyScores(rows, items), list(TYPES), TYPES))
    print(f"null studies (no effect anywhere, 3 seeds, 21 effects each): {noisy / n:.3f} print a clear verdict "
          f"after Benjamini-Hochberg ({n} studies)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--studies", type=int, default=2000, help="simulated studies per cell (estimator alone)")
    p.add_argument("--pipeline-studies", type=int, default=500, help="simulated factorial studies per seed count")
    args = p.parse_args()
    t0 = time.time()
    core(args.studies)
    pipeline(args.pipeline_studies)
    print(f"({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
