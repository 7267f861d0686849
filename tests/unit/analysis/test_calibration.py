"""Proof of calibration by simulation: studies with known effects and variance components (training seed,
hardware-like per-run noise, item clusters, items, per-run item noise), analysed by mixlab's own estimator.

- the estimator alone (``paired_estimate``) on 2,000 simulated studies per regime and number of seeds:
  95 % intervals cover the truth 93-97 % of the time where training noise is present, and are conservative
  (at most 98.5 %) where it is negligible: with 2 seeds, training noise cannot be told from zero, and the
  interval keeps room for it;
- the whole pipeline (results and item stores -> ``all_effects``) on factorial studies with an interaction:
  the same coverage for every source's main effect;
- under the null (no effect anywhere), the share of studies that print any clear verdict after the
  Benjamini-Hochberg adjustment is at most 5 %.

Seeded: the figures are the same on every run (BENCHMARKS.md lists them).
"""

from __future__ import annotations

import numpy as np
import pytest

from mixlab.analysis.effects import all_effects
from mixlab.analysis.inference import paired_estimate
from mixlab.analysis.scores import StudyScores
from mixlab.analysis.simulate import ABILITIES, TYPES, Noise, simulate, true_main_effect, true_scores

#: (seed sd, hardware sd, cluster sd, item sd, per-run item sd): realistic regimes, training noise present
REGIMES = {
    "training noise dominates": (0.10, 0.05, 0.01, 0.01, 0.05),
    "items dominate": (0.02, 0.01, 0.20, 0.20, 0.10),
    "mixed": (0.03, 0.02, 0.15, 0.10, 0.30),
    "binary, world-like": (0.08, 0.04, 0.10, 0.05, None),
}
#: training noise negligible next to item noise: conservative by design at few seeds
CONSERVATIVE = {
    "no training noise, binary": (0.0, 0.0, 0.10, 0.05, None),
    "per-run item noise only": (0.01, 0.0, 0.02, 0.02, 0.50),
}


def _study(rng: np.random.Generator, k: int, params: tuple, delta: float = 0.05, clusters: int = 40):
    sd_seed, sd_hw, sd_cl, sd_item, sd_e = params
    size = rng.integers(1, 5, clusters)
    cl = np.repeat(np.arange(clusters), size)
    n = len(cl)
    if sd_e is not None:
        D = (delta + rng.normal(0, sd_seed, (k, 1)) + rng.normal(0, sd_hw, (k, 1))
             + rng.normal(0, sd_cl, clusters)[cl][None, :] + rng.normal(0, sd_item, n)[None, :]
             + rng.normal(0, sd_e, (k, n)))
    else:  # two arms' Bernoulli outcomes; uniform components keep probabilities inside (0, 1)
        shared = rng.uniform(-0.2, 0.2, n)[None, :]

        def p(mu: float) -> np.ndarray:
            return (0.5 + mu + shared + rng.uniform(-sd_seed, sd_seed, (k, 1)) * np.sqrt(3)
                    + rng.uniform(-sd_hw, sd_hw, (k, 1)) * np.sqrt(3)
                    + rng.uniform(-sd_cl, sd_cl, clusters)[cl][None, :] + rng.uniform(-sd_item, sd_item, n)[None, :])

        p1, p0 = p(delta / 2), p(-delta / 2)
        D = (rng.random((k, n)) < p1).astype(float) - (rng.random((k, n)) < p0).astype(float)
    return paired_estimate(D, clusters=cl)


def _coverage(params: tuple, k: int, n_studies: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(n_studies):
        lo, hi = _study(rng, k, params).ci()
        hits += lo <= 0.05 <= hi
    return hits / n_studies


@pytest.mark.parametrize("k", [2, 3, 5])
@pytest.mark.parametrize("regime", sorted(REGIMES))
def test_intervals_cover_the_truth_95_percent_of_the_time(regime, k):
    assert 0.93 <= _coverage(REGIMES[regime], k, 2000, seed=k) <= 0.97


@pytest.mark.parametrize("k", [2, 3, 5])
@pytest.mark.parametrize("regime", sorted(CONSERVATIVE))
def test_without_training_noise_intervals_are_conservative_not_narrow(regime, k):
    assert 0.93 <= _coverage(CONSERVATIVE[regime], k, 2000, seed=10 + k) <= 0.985


EFFECTS = {"A": {"chat_x": 0.20, "nlp_x": 0.03}, "C": {"code_x": 0.30, "chat_x": 0.05},
           "P": {"nlp_x": 0.30, "chat_x": -0.05}}


@pytest.mark.parametrize("k", [2, 3, 5])
def test_the_pipeline_covers_every_main_effect(k):
    """Factorial studies through the stores and ``all_effects``: an A-C interaction makes the main effect
    an average over arm pairs, binary item scores, clusters of 1-4 items, training noise of the size the
    world's quickstart shows (where it is smaller, two seeds are conservative: BENCHMARKS.md)."""
    rng = np.random.default_rng(100 + k)
    truth = true_scores(EFFECTS, interaction=0.04)
    hits = total = 0
    for _ in range(250):
        rows, items = simulate(rng, truth, k, Noise(seed=0.06, hardware=0.03, cluster=0.05, item=0.03, binary=True))
        for e in all_effects(StudyScores(rows, items), list(TYPES), TYPES):
            if e.target in ABILITIES:
                lo, hi = e.ci
                hits += lo <= true_main_effect(truth, e.source, e.target) <= hi
                total += 1
    assert e.level == "items" and total == 250 * 9
    assert 0.93 <= hits / total <= 0.97


def test_under_the_null_at_most_5_percent_of_studies_print_a_clear_effect():
    rng = np.random.default_rng(7)
    truth = true_scores({})
    noisy = 0
    for _ in range(500):
        rows, items = simulate(rng, truth, 3, Noise(seed=0.06, hardware=0.03, cluster=0.05, item=0.03, binary=True),
                               clusters=20)
        effects = all_effects(StudyScores(rows, items), list(TYPES), TYPES)
        noisy += any(e.clear for e in effects)
    assert noisy / 500 <= 0.05
