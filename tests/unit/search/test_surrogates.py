"""Surrogates on synthetic landscapes with known optima; candidates, objective, initial design."""

from __future__ import annotations

import numpy as np
import pytest

from mixlab.errors import SpecError
from mixlab.search.candidates import dirichlet_points, parse_candidates, simplex_points
from mixlab.search.objective import Objective
from mixlab.search.run import _initial_design, _next_batch
from mixlab.search.surrogates import choose, expected_improvement

ALIASES = ("A", "C", "P")
GRID = simplex_points(ALIASES, 10)
C = np.array([m.vector for m in GRID])


def _sample(f, n, noise, seed):
    rng = np.random.default_rng(seed)
    X = rng.dirichlet(np.ones(3), size=n)
    return X, f(X) + rng.normal(0, noise, n)


BEST = np.array([0.2, 0.5, 0.3])


def bowl(X, best=BEST):
    return 0.9 - np.sum((X - best) ** 2, axis=1)


def law(X):
    return 0.8 - 0.5 * np.exp(-4 * X[:, 1] - 1 * X[:, 2])


def test_candidates_and_labels():
    assert len(GRID) == 66 and GRID[0].label == "A100" and GRID[-1].label == "P100"
    assert all(abs(sum(m.shares) - 1) < 1e-9 for m in GRID)
    draws = dirichlet_points(ALIASES, 50, seed=3)
    assert draws == dirichlet_points(ALIASES, 50, seed=3) and all(abs(sum(m.shares) - 1) < 1e-9 for m in draws)
    with pytest.raises(SpecError, match="simplex:STEPS"):
        parse_candidates("grid:10", ALIASES)


def test_objective_parses_types_and_abilities_and_rejects_unknown_names():
    obj = Objective.parse("code=2,chat=1,bullets=0.5", abilities=["bullets", "style"])
    assert obj.targets == ("code avg", "chat avg", "bullets")
    with pytest.raises(SpecError) as err:
        Objective.parse("cod=2,chat=x", abilities=["bullets"])
    assert len(err.value.problems) == 2


def test_the_gaussian_process_finds_a_bowls_optimum_from_15_noisy_runs():
    X, y = _sample(bowl, 15, 0.01, seed=0)
    fit = choose(X, y, families=("gp", "law"))
    mean, lo, hi = fit.predict(C)
    best = C[int(np.argmax(mean))]
    assert np.sum((best - [0.2, 0.5, 0.3]) ** 2) < 0.02
    truth = bowl(C)
    covered = np.mean((lo <= truth) & (truth <= hi))
    assert covered > 0.8  # the GP's intervals hold the truth over most of the simplex


def test_the_mixing_law_wins_on_its_own_landscape():
    X, y = _sample(law, 12, 0.005, seed=1)
    fit = choose(X, y, families=("law", "gp"))
    assert fit.tried["law"] < 0.02 and fit.name == "law"
    assert abs(fit.predict(C)[0] - law(C)).max() < 0.05


def test_trees_are_tried_only_with_enough_mixtures_and_cross_validation_picks_by_error():
    X, y = _sample(bowl, 8, 0.01, seed=2)
    assert "trees" not in choose(X, y).tried
    X, y = _sample(bowl, 40, 0.01, seed=3)
    fit = choose(X, y)
    assert {"law", "gp", "trees"} <= set(fit.tried) and fit.cv_rmse == min(fit.tried.values())


def test_a_prior_is_used_only_when_it_lowers_the_cross_validated_error():
    X, y = _sample(bowl, 14, 0.01, seed=4)
    useful = bowl(X) + np.random.default_rng(5).normal(0, 0.002, len(X))  # a proxy close to the truth
    useless = np.random.default_rng(6).normal(0, 1, len(X))
    assert choose(X, y, prior=useful, families=("gp",)).uses_prior
    assert not choose(X, y, prior=useless, families=("gp",)).uses_prior


def test_repeated_runs_of_a_mixture_are_held_out_together():
    X, y = _sample(bowl, 10, 0.02, seed=7)
    X2, y2 = np.vstack([X, X]), np.concatenate([y, y + 0.01])
    groups = np.concatenate([np.arange(10), np.arange(10)])
    fit = choose(X2, y2, groups=groups, families=("gp",))
    assert fit.n_mixtures == 10 and len(fit.oof) == 10


def test_expected_improvement_prefers_promise_and_uncertainty():
    ei = expected_improvement(np.array([0.5, 0.6, 0.5]), np.array([0.01, 0.01, 0.2]), best=0.55)
    assert ei[1] > ei[0] and ei[2] > ei[0]


def test_initial_design_takes_corners_the_centre_and_spreads_out():
    picks = _initial_design(GRID, ALIASES, 6)
    labels = [m.label for m, _ in picks]
    assert labels[:3] == ["A100", "C100", "P100"] and labels[3] in ("A40+C30+P30", "A30+C40+P30", "A30+C30+P40")
    assert len(set(labels)) == 6


def test_a_batch_of_expected_improvement_picks_distinct_mixtures():
    from mixlab.search.run import Trial

    trials = [Trial(m, 0, "") for m, _ in _initial_design(GRID, ALIASES, 5)]
    y = bowl(np.array([t.mixture.vector for t in trials]))
    batch = _next_batch(trials, y, GRID, 3)
    assert len({m.label for m, _ in batch}) == 3
    assert all(m.label not in {t.mixture.label for t in trials} for m, _ in batch)


def test_a_continuous_counterpart_is_regressed_on_when_its_error_in_target_units_is_lower():
    # accuracy over 40 items is a noisy step of a smooth latent score; the counterpart (the mean gold
    # probability over the same items) tracks the latent score with little noise
    rng = np.random.default_rng(11)
    X = rng.dirichlet(np.ones(3), size=16)
    latent = bowl(X)
    accuracy = rng.binomial(40, np.clip(latent - 0.2, 0, 1)) / 40
    counterpart = 0.5 * latent + rng.normal(0, 0.003, len(X))
    fit = choose(X, accuracy, counterpart=counterpart, families=("gp",))
    assert set(fit.tried) == {"gp", "gp~cont"} and fit.tried["gp~cont"] < fit.tried["gp"]
    assert fit.name == "gp~cont" and fit.uses_counterpart
    mean, lo, hi = fit.predict(C)
    assert np.all(lo < mean) and np.all(mean < hi)  # an interval from the error in target units
    truth = np.clip(bowl(C) - 0.2, 0, 1)
    direct = choose(X, accuracy, families=("gp",)).predict(C)[0]
    assert np.abs(mean - truth).mean() < np.abs(direct - truth).mean()
    # a counterpart unrelated to the target is not used; a constant or incomplete one is not even tried
    noise = rng.normal(0, 1, len(X))
    assert not choose(X, accuracy, counterpart=noise, families=("gp",)).uses_counterpart
    assert "gp~cont" not in choose(X, accuracy, counterpart=np.full(len(X), 0.3), families=("gp",)).tried
    assert "gp~cont" not in choose(X, accuracy, counterpart=np.where(X[:, 0] > 0.5, np.nan, 0.3),
                                   families=("gp",)).tried


def test_intervals_hold_the_true_mean_with_and_without_the_continuous_counterpart():
    """Coverage over the simplex of the chosen surrogate's 95 % intervals (the GP's calibrated posterior, or the
    prediction +- t x the cross-validated error for ``~cont``), averaged over 12 noisy landscapes, each run
    at the corners (as every search's initial design) and 13 random mixtures: at least 90 %."""
    covered: dict[str, list[float]] = {"targets only": [], "with the counterpart": []}
    truth = np.clip(bowl(C) - 0.2, 0, 1)
    for seed in range(12):
        rng = np.random.default_rng(100 + seed)
        X = np.vstack([np.eye(3), rng.dirichlet(np.ones(3), size=13)])
        accuracy = rng.binomial(40, np.clip(bowl(X) - 0.2, 0, 1)) / 40
        counterpart = 0.5 * bowl(X) + rng.normal(0, 0.003, len(X))
        for how, cont in (("targets only", None), ("with the counterpart", counterpart)):
            _, lo, hi = choose(X, accuracy, counterpart=cont, families=("gp",)).predict(C)
            covered[how].append(float(np.mean((lo <= truth) & (truth <= hi))))
    assert all(np.mean(v) >= 0.9 for v in covered.values()), covered


def test_a_gp_through_single_runs_keeps_the_run_noise_in_its_interval():
    # five mixtures run once each: the GP can pass through every run and learn no noise at all; its interval
    # at a trained mixture must still hold that mixture's seed noise
    X = np.array([[1, 0, 0], [2 / 3, 1 / 3, 0], [1 / 3, 1 / 3, 1 / 3], [0, 1, 0], [0, 0, 1]], dtype=float)
    y = np.array([0.3425, 0.345, 0.335, 0.325, 0.31])  # the SmolLM2 grid's ARC accuracies, seed noise ~0.009
    fit = choose(X, y, families=("gp",))
    _, lo, hi = fit.predict(X)
    assert np.all(hi - lo > 2 * 1.96 * 0.009)
    assert fit.extra_sd >= 0.5 * fit.cv_rmse
