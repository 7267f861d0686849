"""The noise ceiling is what a perfect predictor of the true means reaches against a grid's k-seed mean."""

from __future__ import annotations

import numpy as np

from mixlab.search.validate import _ceiling, spearman


def test_the_ceiling_matches_a_perfect_predictor_on_simulated_grids():
    rng = np.random.default_rng(0)
    reached, ceilings, pairs = [], [], []
    for _ in range(300):
        truth = rng.normal(size=40)
        seeds = {s: truth + rng.normal(scale=0.6, size=40) for s in range(2)}
        by_mix = {f"m{i}": {s: float(seeds[s][i]) for s in seeds} for i in range(40)}
        mean = (seeds[0] + seeds[1]) / 2
        reached.append(spearman(list(truth), list(mean)))
        ceilings.append(_ceiling(by_mix, list(by_mix))[0])
        pairs.append(spearman(list(seeds[0]), list(seeds[1])))
    # the seed-to-seed correlation is far below what the perfect predictor reaches; the ceiling is not
    assert abs(np.mean(ceilings) - np.mean(reached)) < 0.02
    assert np.mean(pairs) < np.mean(reached) - 0.05


def test_no_ceiling_without_two_seeds():
    ceiling = _ceiling({"a": {0: 1.0}, "b": {0: 2.0}, "c": {0: 3.0}}, ["a", "b", "c"])
    assert all(np.isnan(c) for c in ceiling)
