"""Inference for mixture studies: seeds are the replicates, items come in clusters, differences are paired.

A study scores every arm on the same evaluation items, once per training seed. For one comparison (an arm
against another, or a source's effect averaged over arm pairs) each seed ``s`` and item ``i`` give a paired
difference ``D[s, i]``; the estimate is their weighted mean. Two kinds of noise move it:

- **training noise** (seed, and the floating-point path of the hardware, which acts like a seed): the
  whole row ``D[s, :]`` shifts from seed to seed;
- **item noise**: the evaluation items are a sample of what the ability could ask, and items built from the
  same content (a *cluster*: one topic asked in several phrasings) move together.

The items are *crossed* with the seeds (every seed sees the same items), so the variance of the mean is that
of a two-way random-effects layout of seeds x clusters, estimated from the ANOVA mean squares (``MS_seed``,
``MS_cluster``, ``MS_resid``)::

    Var(mean) = (MS_seed + MS_cluster - MS_resid) / (k G)       k seeds, G clusters

with Satterthwaite's degrees of freedom, so that two seeds give a t quantile near 12.7, not 1.96, when the
seeds dominate. Items are first summed within their cluster (the linearisation of a weighted mean, as in
cluster-robust standard errors), so unequal cluster sizes and per-ability weights are handled exactly. With
one seed the training noise cannot be estimated and no interval is given.

>>> rng = np.random.default_rng(0)
>>> D = 0.1 + rng.normal(0, 0.05, (4, 1)) + rng.normal(0, 0.3, (4, 60))   # 4 seeds x 60 items
>>> est = paired_estimate(D)
>>> round(est.value, 3), round(est.se, 3), est.n_seeds, est.n_clusters, est.df
(0.103, 0.015, 4, 60, 3.0)
>>> [round(x, 3) for x in est.ci()]     # t with 3 degrees of freedom: 3.18 standard errors
[0.056, 0.15]
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# t cdf and quantile, chi-square inverse survival: scipy.special imports in a tenth of scipy.stats' seconds
from scipy.special import chdtri, stdtr, stdtrit

NO_SEED_INTERVAL = "1 seed: no interval for training noise"


@dataclass(frozen=True)
class Estimate:
    """A mean difference with its standard error, degrees of freedom and variance components."""

    value: float
    se: float  # NaN when the training noise cannot be estimated (one seed)
    df: float
    n_seeds: int
    n_clusters: int
    #: variance components on the scale of one seed's, one cluster's contribution (for planning)
    seed_var: float = 0.0
    cluster_var: float = 0.0
    resid_var: float = 0.0
    note: str = ""

    @property
    def estimable(self) -> bool:
        return math.isfinite(self.se) and math.isfinite(self.df) and self.df > 0

    @property
    def no_variation(self) -> bool:
        """Estimable, yet every seed and item gave the same difference (pass/fail items at a floor or ceiling):
        a zero-width interval that is not certainty, and nothing to plan power from."""
        return self.estimable and self.se == 0

    def ci(self, level: float = 0.95) -> tuple[float, float]:
        """The two-sided ``level`` interval, ``value +- t(df) se``; NaNs when not estimable."""
        if not self.estimable:
            return float("nan"), float("nan")
        half = float(stdtrit(self.df, 0.5 + level / 2)) * self.se
        return self.value - half, self.value + half

    @property
    def p_value(self) -> float:
        """Two-sided p-value of ``value == 0`` (t with ``df`` degrees of freedom); NaN when not estimable."""
        if not self.estimable:
            return float("nan")
        if self.se == 0:
            return 0.0 if self.value != 0 else 1.0
        return float(2 * stdtr(self.df, -abs(self.value) / self.se))

    def variance_at(self, seeds: int, clusters: int) -> tuple[float, float]:
        """(variance, degrees of freedom) the same comparison would have with other numbers of seeds and
        clusters (items), from this study's variance components."""
        return _variance(self.seed_var, self.cluster_var, self.resid_var, seeds, clusters)

    def detectable(self, *, seeds: int | None = None, clusters: int | None = None, power: float = 0.8,
                   alpha: float = 0.05) -> float:
        """The smallest true difference detected with probability ``power`` by a two-sided level-``alpha``
        t test, with this study's variance components at ``seeds`` x ``clusters`` (default: as measured)."""
        k = seeds or self.n_seeds
        g = clusters or self.n_clusters
        if k < 2 or not self.estimable:
            return float("nan")
        var, df = self.variance_at(k, g)
        return minimum_detectable(math.sqrt(var), df, power=power, alpha=alpha)


def minimum_detectable(se: float, df: float, *, power: float = 0.8, alpha: float = 0.05) -> float:
    """``(t(1 - alpha/2) + t(power)) * se``: the effect a two-sided t test finds with probability ``power``.

    >>> round(minimum_detectable(0.01, 1e9), 4)   # normal limit: (1.96 + 0.84) x se
    0.028
    """
    if not (se >= 0 and df > 0):
        return float("nan")
    return float((stdtrit(df, 1 - alpha / 2) + stdtrit(df, power)) * se)


def _variance(seed_var: float, cluster_var: float, resid_var: float, k: int, g: int) -> tuple[float, float]:
    """Variance of the mean of a k x g crossed layout and Satterthwaite's df, from the components."""
    ms_s = g * seed_var + resid_var
    ms_c = k * cluster_var + resid_var
    return _combine(ms_s, ms_c, resid_var, k, g)


def _combine(ms_s: float, ms_c: float, ms_e: float, k: int, g: int) -> tuple[float, float]:
    """(Var(mean), df) from the mean squares of a k x g two-way layout without replication.

    ``MS_s + MS_c - MS_e`` is unbiased for ``k g Var(mean)``. The cluster part ``MS_c - MS_e`` is floored at
    zero; the seed part ``MS_s`` is never reduced, because with few seeds it is the least certain one: a
    small ``MS_s`` from two seeds is luck, not evidence that training noise is absent. The degrees of
    freedom are Satterthwaite's, never below those of the seeds (``k - 1``) or of the clusters (``G - 1``).
    The simulation in ``tests/unit/analysis/test_calibration.py`` measures the coverage this gives.
    """
    if g < 2:
        return ms_s / k, float(k - 1)
    if k < 2:
        return ms_c / g, float(g - 1)
    df_s, df_c, df_e = k - 1, g - 1, (k - 1) * (g - 1)
    if ms_c > ms_e:
        total = ms_s + ms_c - ms_e
        denom = ms_s**2 / df_s + ms_c**2 / df_c + ms_e**2 / df_e
    else:
        total = ms_s
        denom = ms_s**2 / df_s
    df = total**2 / denom if denom > 0 else float(df_s)
    return total / (k * g), max(df, float(min(df_s, df_c)))


def cluster_sums(D: np.ndarray, weights: np.ndarray | None = None,
                 clusters: Sequence[object] | None = None) -> np.ndarray:
    """Seeds x clusters contributions ``z`` whose row means are each seed's weighted mean of ``D``.

    ``z[s, c] = d_s + G * sum_{i in c} w_i (D[s, i] - d_s)`` with ``d_s = sum_i w_i D[s, i]``: the deviation
    of a cluster from its seed's mean, scaled so that clusters of any size and weight are comparable.

    >>> z = cluster_sums(np.array([[1.0, 0.0, 1.0, 1.0]]), clusters=["a", "a", "b", "c"])
    >>> z.round(4).tolist(), float(z.mean())
    ([[0.375, 0.9375, 0.9375]], 0.75)
    """
    D = np.asarray(D, dtype=np.float64)
    k, n = D.shape
    w = np.full(n, 1.0 / n) if weights is None else np.asarray(weights, dtype=np.float64) / np.sum(weights)
    if clusters is None:
        index = np.arange(n)
    else:
        _, index = np.unique(np.asarray([str(c) for c in clusters]), return_inverse=True)
    g = int(index.max()) + 1 if n else 0
    d = D @ w  # per-seed weighted means
    dev = (D - d[:, None]) * w[None, :]
    z = np.zeros((k, g))
    np.add.at(z.T, index, dev.T)
    return d[:, None] + g * z


def crossed_estimate(z: np.ndarray) -> Estimate:
    """The mean of a seeds x clusters table ``z`` with the crossed random-effects variance (see module)."""
    z = np.asarray(z, dtype=np.float64)
    k, g = z.shape
    mean = float(z.mean())
    if k < 1 or g < 1:
        return Estimate(float("nan"), float("nan"), float("nan"), k, g, note="no data")
    rows, cols = z.mean(axis=1), z.mean(axis=0)
    ms_s = g * float(np.sum((rows - mean) ** 2)) / (k - 1) if k > 1 else float("nan")
    ms_c = k * float(np.sum((cols - mean) ** 2)) / (g - 1) if g > 1 else 0.0
    if k > 1 and g > 1:
        resid = z - rows[:, None] - cols[None, :] + mean
        ms_e = float(np.sum(resid**2)) / ((k - 1) * (g - 1))
    else:
        ms_e = 0.0
    seed_var = max(0.0, (ms_s - ms_e) / g) if k > 1 else float("nan")
    cluster_var = max(0.0, (ms_c - ms_e) / k) if g > 1 else 0.0
    if k < 2:
        return Estimate(mean, float("nan"), float("nan"), k, g, seed_var, cluster_var, ms_e, NO_SEED_INTERVAL)
    var, df = _combine(ms_s, ms_c, ms_e, k, g)
    if g > 1:
        # Satterthwaite's df grows when the seeds happen to agree (a small MS_seed), exactly when the
        # interval is too narrow already. Take the df the seed mean square would give at its median-unbiased
        # upper value (true expectation below it with probability 1/2) when that is smaller.
        _, df_up = _combine(ms_s * (k - 1) / float(chdtri(k - 1, 0.5)), ms_c, ms_e, k, g)
        df = min(df, df_up)
    return Estimate(mean, math.sqrt(max(var, 0.0)), df, k, g, seed_var, cluster_var, ms_e)


def paired_estimate(D: np.ndarray, weights: np.ndarray | None = None,
                    clusters: Sequence[object] | None = None) -> Estimate:
    """The weighted mean of paired differences ``D`` (seeds x items), items grouped by ``clusters``."""
    D = np.asarray(D, dtype=np.float64)
    if D.ndim == 1:
        D = D[:, None]
    return crossed_estimate(cluster_sums(D, weights, clusters))


def pooled(estimates: Sequence[Estimate]) -> Estimate | None:
    """One estimate whose variance components, standard error and df are the means of the estimable
    ``estimates``' (for planning: the typical comparison of a study); None when none is estimable."""
    ok = [e for e in estimates if e.estimable]
    if not ok:
        return None
    return Estimate(float("nan"), statistics.fmean(e.se for e in ok), statistics.fmean(e.df for e in ok),
                    max(e.n_seeds for e in ok), round(statistics.fmean(e.n_clusters for e in ok)),
                    statistics.fmean(e.seed_var for e in ok), statistics.fmean(e.cluster_var for e in ok),
                    statistics.fmean(e.resid_var for e in ok))


# ------------------------------------------------------------------------------------- multiplicity
def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (q-values): reject at FDR ``q`` where ``q_i <= q``. NaNs stay NaN
    and do not count in the family.

    >>> [round(q, 3) for q in benjamini_hochberg([0.01, 0.04, 0.03, 0.5])]
    [0.04, 0.053, 0.053, 0.5]
    """
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = len(ok)
    if m == 0:
        return out.tolist()
    order = ok[np.argsort(p[ok], kind="stable")]
    ranked = p[order] * m / np.arange(1, m + 1)
    out[order] = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    return out.tolist()


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error control). NaNs stay NaN.

    >>> [round(q, 3) for q in holm([0.01, 0.04, 0.03, 0.5])]
    [0.04, 0.09, 0.09, 0.5]
    """
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = len(ok)
    if m == 0:
        return out.tolist()
    order = ok[np.argsort(p[ok], kind="stable")]
    stepped = p[order] * (m - np.arange(m))
    out[order] = np.minimum(1.0, np.maximum.accumulate(stepped))
    return out.tolist()


def probability_of_improvement(a: Sequence[float], b: Sequence[float]) -> float:
    """P(a run of X scores above a run of Y), over every pair of their seeds; ties count one half
    (rliable's probability of improvement, Agarwal et al. 2021).

    >>> probability_of_improvement([0.6, 0.7, 0.8], [0.5, 0.7, 0.9])
    0.5
    """
    x = np.asarray(a, dtype=np.float64)[:, None]
    y = np.asarray(b, dtype=np.float64)[None, :]
    if x.size == 0 or y.size == 0:
        return float("nan")
    return float(np.mean((x > y) + 0.5 * (x == y)))
