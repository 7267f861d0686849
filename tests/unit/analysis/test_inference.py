"""The inference core: crossed seeds x clusters variance, t intervals, multiplicity, probability of improvement."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mixlab.analysis.inference import (
    NO_SEED_INTERVAL,
    benjamini_hochberg,
    cluster_sums,
    crossed_estimate,
    holm,
    minimum_detectable,
    paired_estimate,
    probability_of_improvement,
)


def test_two_seeds_that_dominate_give_a_t_interval_with_one_degree_of_freedom():
    D = np.array([[0.30] * 50, [0.10] * 50])  # the seeds disagree; the items agree within a seed
    est = paired_estimate(D)
    assert est.value == pytest.approx(0.2) and est.se == pytest.approx(0.1)
    assert est.df == pytest.approx(1.0)
    lo, hi = est.ci()
    assert hi - est.value == pytest.approx(12.706 * 0.1, rel=1e-3)  # not 1.96 x 0.1
    assert lo < 0 < hi


def test_one_seed_gives_no_interval_and_says_why():
    est = paired_estimate(np.array([[1.0, 0.0, 1.0, 1.0]]))
    assert est.value == 0.75 and not est.estimable and est.note == NO_SEED_INTERVAL
    assert all(math.isnan(x) for x in est.ci()) and math.isnan(est.p_value)


def test_anova_matches_the_textbook_formula_on_a_balanced_table():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(4, 9))
    k, g = z.shape
    m, rows, cols = z.mean(), z.mean(axis=1), z.mean(axis=0)
    ms_s = g * ((rows - m) ** 2).sum() / (k - 1)
    ms_c = k * ((cols - m) ** 2).sum() / (g - 1)
    ms_e = ((z - rows[:, None] - cols[None, :] + m) ** 2).sum() / ((k - 1) * (g - 1))
    est = crossed_estimate(z)
    expect = (ms_s + ms_c - ms_e) / (k * g) if ms_c > ms_e else ms_s / (k * g)
    assert est.se ** 2 == pytest.approx(expect)
    assert est.df >= min(k - 1, g - 1)


def test_items_of_one_content_count_as_one_cluster():
    """Duplicated items add no information: cluster sums make the estimate see one cluster, not two items."""
    rng = np.random.default_rng(1)
    base = rng.normal(0, 1, (3, 30))
    dup = np.repeat(base, 2, axis=1)  # every content asked twice
    naive = paired_estimate(dup)  # 60 "independent" items
    clustered = paired_estimate(dup, clusters=np.repeat(np.arange(30), 2))
    single = paired_estimate(base)
    assert clustered.se == pytest.approx(single.se, rel=1e-9) and clustered.n_clusters == 30
    assert naive.se < clustered.se


def test_cluster_sums_keep_each_seeds_weighted_mean():
    D = np.array([[1.0, 0.0, 0.5, 1.0], [0.0, 0.0, 1.0, 1.0]])
    w = np.array([0.1, 0.2, 0.3, 0.4])
    z = cluster_sums(D, w, ["a", "a", "b", "c"])
    assert z.shape == (2, 3)
    assert z.mean(axis=1) == pytest.approx(D @ w)


def test_pairing_removes_what_both_arms_share():
    """Item difficulty shared by two arms cancels in the paired difference: a small effect is clear."""
    rng = np.random.default_rng(2)
    difficulty = rng.normal(0, 1, 200)
    a = difficulty + 0.1 + rng.normal(0, 0.05, (3, 200))
    b = difficulty + rng.normal(0, 0.05, (3, 200))
    est = paired_estimate(a - b)
    assert est.ci()[0] > 0


def test_benjamini_hochberg_and_holm_against_hand_computed_values():
    p = [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, float("nan")]
    q = benjamini_hochberg(p)
    # m = 8: q_(i) = min_{j >= i} p_(j) * 8 / j
    assert q[:8] == pytest.approx([0.008, 0.032, 0.0672, 0.0672, 0.0672, 0.08, 0.084571, 0.205], rel=1e-4)
    assert math.isnan(q[8])
    h = holm(p)
    assert h[:3] == pytest.approx([0.008, 0.056, 0.234])
    assert h[3] == pytest.approx(0.234) and max(h[:8]) <= 1.0


def test_probability_of_improvement_counts_ties_half():
    assert probability_of_improvement([1, 2], [0, 0]) == 1.0
    assert probability_of_improvement([1], [1]) == 0.5
    assert probability_of_improvement([0.1, 0.3], [0.2]) == 0.5


def test_detectable_effect_shrinks_with_seeds_and_items():
    rng = np.random.default_rng(3)
    D = 0.05 + rng.normal(0, 0.05, (3, 1)) + rng.normal(0, 0.3, (3, 80))
    est = paired_estimate(D)
    now = est.detectable()
    assert now > est.detectable(seeds=10) > est.detectable(seeds=10, clusters=320)
    assert minimum_detectable(1.0, 1e9) == pytest.approx(1.96 + 0.8416, rel=1e-3)
