"""Surrogates: predict a target (or the objective) at any mixture from the runs trained so far.

Three families, chosen per target by leave-one-mixture-out cross-validation (every run of one mixture held out
at a time; the error is against that mixture's mean over its runs), with the one-standard-error rule: the
simplest of those whose error is within one standard error of the lowest (``one_standard_error``):

- ``law``: the Data Mixing Laws form (Ye et al. 2024), ``y = c + k * exp(t . r)`` over the share vector ``r``:
  ``k + 2`` parameters, the best with few runs;
- ``gp``: a Gaussian process on the simplex (Matern 5/2 plus a noise term learned from repeated and nearby
  runs); its interval shrinks where runs are;
- ``trees``: gradient-boosted trees (LightGBM, RegMix's choice; scikit-learn's histogram boosting when LightGBM
  is not installed, said in ``search.json``), only with enough mixtures (``TREES_MIN``).

An optional prior (``prior``, e.g. the merge proxy's score of each mixture) enters as a linear term fitted
first; the GP or the trees then model what the prior leaves. An optional continuous counterpart of the target
(``counterpart``: the same target on a continuous per-item score, e.g. the gold choice's probability beside
accuracy) adds the variants ``<family>~cont``: the family fitted on the counterpart, whose seed noise is
smaller, and mapped back to the target's scale by a straight line through the mixtures' means (target mean on
counterpart mean); cross-validation, always in the target's own units, decides whether that helps.
Intervals: the GP's posterior for ``gp``; for ``law``, ``trees`` and every ``~cont`` variant, the prediction +-
a t quantile times the cross-validated error (the same width everywhere).

>>> X = np.array([[1 - t, t] for t in np.linspace(0, 1, 9)])     # nine mixtures of two sources
>>> y = 0.2 + 0.6 * X[:, 1] ** 2
>>> fit = choose(X, y, families=("law", "gp"))
>>> fit.name, fit.cv_rmse < 0.005, sorted(fit.tried)
('gp', True, ['gp', 'law'])
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from scipy.special import stdtrit

log = logging.getLogger(__name__)

TREES_MIN = 12  # fewer mixtures than this: trees are not tried (they cannot be fitted meaningfully)
FAMILIES = ("law", "gp", "trees")


class Surrogate(Protocol):
    name: str

    def fit(self, X: np.ndarray, y: np.ndarray) -> Surrogate: ...

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Mean and, where the model has one, the standard deviation of the mean (else None)."""
        ...


# ----------------------------------------------------------------------------------- the mixing law
class MixingLaw:
    """``y = c + k exp(t . r)``, least squares from several starts (scipy)."""

    name = "law"

    def __init__(self, start: np.ndarray | None = None) -> None:
        self.start = start  # fitted parameters to start from (CV folds), instead of several starts

    def fit(self, X: np.ndarray, y: np.ndarray) -> MixingLaw:
        from scipy.optimize import least_squares

        d = X.shape[1]
        best = None
        scale = float(np.ptp(y)) or 1.0
        rng = np.random.default_rng(0)
        starts = [np.zeros(d), *(rng.normal(0, 2, d) for _ in range(3))]
        if self.start is not None:
            starts = [self.start[2:]]

        def resid(p: np.ndarray) -> np.ndarray:
            return p[0] + p[1] * np.exp(np.clip(X @ p[2:], -30, 30)) - y

        def jac(p: np.ndarray) -> np.ndarray:  # analytic: 20x fewer evaluations than finite differences
            e = np.exp(np.clip(X @ p[2:], -30, 30))
            return np.column_stack([np.ones(len(y)), e, (p[1] * e)[:, None] * X])

        for t0 in starts:
            p0 = np.concatenate([[float(np.min(y)), scale], t0]) if self.start is None else self.start
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = least_squares(resid, p0, jac=jac, method="trf", max_nfev=500)
            if best is None or res.cost < best.cost:
                best = res
        assert best is not None
        self.params = best.x
        return self

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, None]:
        p = self.params
        return p[0] + p[1] * np.exp(np.clip(X @ p[2:], -30, 30)), None


# ------------------------------------------------------------------------------ Gaussian process
class GaussianProcess:
    """scikit-learn's GP: constant x Matern(5/2) + white noise, inputs on the simplex, targets standardised."""

    name = "gp"

    def __init__(self, kernel: Any = None) -> None:
        self.kernel = kernel  # a fitted kernel: reuse its hyperparameters instead of optimising (CV folds)

    def fit(self, X: np.ndarray, y: np.ndarray) -> GaussianProcess:
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        if self.kernel is not None:
            self.gp = GaussianProcessRegressor(self.kernel, normalize_y=True, optimizer=None)
        else:
            kernel = (ConstantKernel(1.0, (1e-3, 1e3))
                      * Matern(length_scale=0.5, length_scale_bounds=(0.05, 10.0), nu=2.5)
                      + WhiteKernel(0.1, (1e-6, 1.0)))
            self.gp = GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=2, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence notes on tiny data; the CV error says how good it is
            self.gp.fit(X, y)
        return self

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean, sd = self.gp.predict(X, return_std=True)
        noise = self.gp.kernel_.k2.noise_level * float(self.gp._y_train_std) ** 2  # the white term, in y units
        return mean, np.sqrt(np.maximum(sd**2 - noise, 0.0))  # the mean's uncertainty, not a new run's

    @property
    def noise_sd(self) -> float:
        return math.sqrt(self.gp.kernel_.k2.noise_level) * float(self.gp._y_train_std)


# ---------------------------------------------------------------------------------------- trees
class BoostedTrees:
    """LightGBM when installed (RegMix's choice), else scikit-learn's histogram gradient boosting."""

    name = "trees"

    def __init__(self) -> None:
        self.library = "lightgbm"

    def fit(self, X: np.ndarray, y: np.ndarray) -> BoostedTrees:
        try:
            import lightgbm

            self.model = lightgbm.LGBMRegressor(n_estimators=200, learning_rate=0.05, num_leaves=8,
                                                min_child_samples=2, verbose=-1, random_state=0, n_jobs=1)
        except ImportError:
            from sklearn.ensemble import HistGradientBoostingRegressor

            self.library = "scikit-learn HistGradientBoosting (lightgbm not installed)"
            self.model = HistGradientBoostingRegressor(max_iter=200, learning_rate=0.05, max_leaf_nodes=8,
                                                       min_samples_leaf=2, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model.fit(X, y)
        return self

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, None]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(self.model.predict(X), dtype=np.float64), None


def make(name: str) -> Surrogate:
    families: dict[str, type[Surrogate]] = {"law": MixingLaw, "gp": GaussianProcess, "trees": BoostedTrees}
    return families[name]()


# ------------------------------------------------------------------------------ prior + selection
@dataclass
class Fit:
    """A surrogate fitted on every run, with its cross-validated error and out-of-fold predictions."""

    name: str
    model: Any
    cv_rmse: float
    n_mixtures: int
    uses_prior: bool = False
    prior_coef: tuple[float, float] = (0.0, 0.0)
    oof: dict[int, float] = field(default_factory=dict)  # mixture index -> prediction with it held out
    tried: dict[str, float] = field(default_factory=dict)  # family -> its cv error
    #: fitted on the continuous counterpart: the map back to the target (intercept, slope), else None
    via: tuple[float, float] | None = None
    #: the GP's posterior deviation times this (>= 1): calibrated on its held-out errors (``gp_calibration``)
    sd_scale: float = 1.0
    #: run-to-run noise the GP did not learn, added to its interval (``unlearned_noise``)
    extra_sd: float = 0.0

    @property
    def uses_counterpart(self) -> bool:
        return self.via is not None

    def predict(self, X: np.ndarray, prior: np.ndarray | None = None, level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mean and the ``level`` interval at ``X``."""
        mean, sd = self.model.predict(X)
        if self.uses_prior:
            assert prior is not None
            mean = mean + self.prior_coef[0] + self.prior_coef[1] * prior
        if self.via is not None:
            mean, sd = self.via[0] + self.via[1] * mean, None  # interval from the error in target units
        if sd is not None:
            half = float(stdtrit(1e9, 0.5 + level / 2)) * np.sqrt((sd * self.sd_scale) ** 2 + self.extra_sd**2)
        else:
            half = np.full(len(mean), float(stdtrit(max(self.n_mixtures - 1, 1), 0.5 + level / 2)) * self.cv_rmse)
        return mean, mean - half, mean + half


def _group_means(groups: np.ndarray, y: np.ndarray) -> dict[int, float]:
    return {int(g): float(y[groups == g].mean()) for g in np.unique(groups)}


def _fit_one(name: str, X: np.ndarray, y: np.ndarray, prior: np.ndarray | None,
             kernel: Any = None) -> tuple[Any, tuple[float, float]]:
    coef = (0.0, 0.0)
    target = y
    if prior is not None:
        A = np.column_stack([np.ones(len(prior)), prior])
        sol, *_ = np.linalg.lstsq(A, y, rcond=None)
        coef = (float(sol[0]), float(sol[1]))
        target = y - A @ sol
    model = GaussianProcess(kernel) if name == "gp" else MixingLaw(kernel) if name == "law" else make(name)
    return model.fit(X, target), coef


def _predict_one(model: Any, coef: tuple[float, float], X: np.ndarray, prior: np.ndarray | None) -> np.ndarray:
    mean, _ = model.predict(X)
    if prior is not None:
        mean = mean + coef[0] + coef[1] * prior
    return mean


def map_back(groups: np.ndarray, counterpart: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """``(a, b)`` of the straight line ``target = a + b * counterpart`` through the mixtures' means (least
    squares, one point per mixture).

    >>> a, b = map_back(np.array([0, 0, 1, 2]), np.array([0.1, 0.3, 0.4, 0.6]), np.array([0.0, 0.2, 0.4, 0.7]))
    >>> round(a, 3), round(b, 3)
    (-0.2, 1.5)
    """
    cm = np.array(list(_group_means(groups, counterpart).values()))
    ym = np.array(list(_group_means(groups, y).values()))
    if len(cm) < 2 or np.ptp(cm) == 0:
        return float(ym.mean()), 0.0
    b, a = np.polyfit(cm, ym, 1)
    return float(a), float(b)


def cross_validate(name: str, X: np.ndarray, y: np.ndarray, groups: np.ndarray,
                   prior: np.ndarray | None = None,
                   counterpart: np.ndarray | None = None) -> tuple[float, dict[int, float]]:
    """Leave-one-mixture-out RMSE against each held-out mixture's mean, and the out-of-fold predictions.
    With ``counterpart``, the family is fitted on it and the line back to ``y`` is fitted without the held-out
    mixture; the error is in ``y``'s units either way."""
    means = _group_means(groups, y)
    fitted = y if counterpart is None else counterpart
    oof = {}
    # a GP's hyperparameters are fitted once on every run and kept in the folds (one linear solve per mixture
    # instead of an optimisation), and the law's folds start from its fit on every run (one local fit instead
    # of several starts): this slightly favours both; their errors are still measured on mixtures they did not see
    kernel: Any = None
    if name in ("gp", "law"):
        warm: Any = _fit_one(name, X, fitted, prior)[0]
        kernel = warm.gp.kernel_ if name == "gp" else warm.params
    for g in means:
        train, held = groups != g, groups == g
        if len(np.unique(groups[train])) < 2:
            return float("inf"), {}
        model, coef = _fit_one(name, X[train], fitted[train], None if prior is None else prior[train], kernel)
        pred = float(_predict_one(model, coef, X[held][:1], None if prior is None else prior[held][:1])[0])
        if counterpart is not None:
            a, b = map_back(groups[train], counterpart[train], y[train])
            pred = a + b * pred
        oof[g] = pred
    err = np.array([oof[g] - means[g] for g in means])
    return float(np.sqrt(np.mean(err**2))), oof


def choose(X: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None, prior: np.ndarray | None = None,
           families: Sequence[str] = FAMILIES, counterpart: np.ndarray | None = None) -> Fit:
    """The family (with and without ``prior``, on the target and on its ``counterpart``) that the
    one-standard-error rule picks from their cross-validated errors, refitted on all runs."""
    groups = np.arange(len(y)) if groups is None else np.asarray(groups)
    if counterpart is not None and (not np.isfinite(counterpart).all() or np.ptp(counterpart) == 0):
        counterpart = None  # a counterpart missing in some run, or constant: nothing to regress on
    n_mix = len(np.unique(groups))
    tried: dict[str, tuple[float, dict[int, float]]] = {}
    for name in families:
        if name == "trees" and n_mix < TREES_MIN:
            continue
        if name == "law" and n_mix < X.shape[1] + 3:  # fewer mixtures than parameters + 1: not identifiable
            continue
        tried[name] = cross_validate(name, X, y, groups)
        if prior is not None and name != "law":  # the law's exponential is unstable on residuals near zero
            tried[f"{name}+prior"] = cross_validate(name, X, y, groups, prior)
        if counterpart is not None:
            tried[f"{name}~cont"] = cross_validate(name, X, y, groups, counterpart=counterpart)
    if not tried:
        tried["gp"] = cross_validate("gp", X, y, groups)
    best = one_standard_error(tried, _group_means(groups, y))
    base, _, with_prior = best.partition("+")
    base, _, via = base.partition("~")
    via_line = None
    scale, extra = 1.0, 0.0
    if via:
        assert counterpart is not None
        model, coef = _fit_one(base, X, counterpart, None)
        via_line = map_back(groups, counterpart, y)
    else:
        model, coef = _fit_one(base, X, y, prior if with_prior else None)
        if base == "gp":
            scale = gp_calibration(model, X, y, groups, prior if with_prior else None)
            extra = unlearned_noise(model, groups, y, tried[best][0])
    return Fit(best, model, tried[best][0], n_mix, bool(with_prior), coef, tried[best][1],
               {k: v[0] for k, v in tried.items()}, via_line, scale, extra)


def unlearned_noise(model: GaussianProcess, groups: np.ndarray, y: np.ndarray, cv_rmse: float) -> float:
    """The run-to-run noise a fitted GP leaves out of its interval. A GP learns its noise term from repeated
    and nearby runs; with every mixture run once it can pass through each run and claim an interval of width
    zero there. The noise is then taken from the repeats (the pooled standard deviation over seeds of mixtures
    run more than once) or, with no repeats, from the cross-validated error (which holds the noise and the
    surrogate's own error: wider than needed, never narrower); what the GP's noise term falls short of it
    is added to its interval.

    >>> groups, y = np.array([0, 0, 1, 1]), np.array([0.30, 0.34, 0.50, 0.54])
    >>> class Fitted: noise_sd = 0.01
    >>> round(unlearned_noise(Fitted(), groups, y, 0.1), 4)   # repeats: sd 0.0283; sqrt(0.0283^2 - 0.01^2)
    0.0265
    """
    noise = pooled_sd(groups, y)
    if noise is None:
        noise = cv_rmse if math.isfinite(cv_rmse) else 0.0
    return math.sqrt(max(0.0, noise**2 - model.noise_sd**2))


def pooled_sd(groups: np.ndarray, y: np.ndarray) -> float | None:
    """The pooled standard deviation over the runs of each mixture run more than once (seed noise); None when
    no mixture was.

    >>> round(pooled_sd(np.array([0, 0, 1, 1, 2]), np.array([0.30, 0.34, 0.50, 0.54, 0.9])), 4)
    0.0283
    """
    ids, counts = np.unique(groups, return_counts=True)
    repeated = [g for g, n in zip(ids, counts, strict=True) if n > 1]
    if not repeated:
        return None
    ss = sum(float(np.sum((y[groups == g] - y[groups == g].mean()) ** 2)) for g in repeated)
    return math.sqrt(ss / sum(int(np.sum(groups == g)) - 1 for g in repeated))


def gp_calibration(model: GaussianProcess, X: np.ndarray, y: np.ndarray, groups: np.ndarray,
                   prior: np.ndarray | None = None) -> float:
    """How much wider the GP's intervals must be to hold its held-out errors: each mixture held out in turn
    (the fitted kernel kept), its error divided by the deviation the GP claims for it (the posterior's for the
    mean, plus the noise of a mean over that mixture's runs); the root mean square of these ratios, at least 1.
    With a handful of noisy runs a GP's fitted noise and length scale are often too optimistic, and its bare
    posterior intervals then hold the truth far less often than they say (``tests/unit/search``)."""
    kernel = model.gp.kernel_
    z = []
    for g in np.unique(groups):
        train, held = groups != g, groups == g
        if len(np.unique(groups[train])) < 2:
            return 1.0
        fold, coef = _fit_one("gp", X[train], y[train], None if prior is None else prior[train], kernel)
        mean, sd = fold.predict(X[held][:1])
        if prior is not None:
            mean = mean + coef[0] + coef[1] * prior[held][:1]
        claimed = math.sqrt(float(sd[0]) ** 2 + fold.noise_sd**2 / int(held.sum()))
        z.append((float(mean[0]) - float(y[held].mean())) / max(claimed, 1e-12))
    return max(1.0, float(np.sqrt(np.mean(np.square(z))))) if z else 1.0


#: simplest first: the law's few parameters, then the GP, then the trees; a variant (a continuous counterpart
#: mapped back, a prior) after its plain form
SIMPLICITY = ("law", "law~cont", "gp", "gp~cont", "gp+prior", "trees", "trees~cont", "trees+prior")


def one_standard_error(tried: dict[str, tuple[float, dict[int, float]]], means: dict[int, float]) -> str:
    """The one-standard-error rule (Breiman et al. 1984; Hastie et al., *Elements of Statistical Learning*
    7.10): of the candidates whose held-out squared error is within one standard error (paired over the
    held-out mixtures) of the lowest, the simplest (``SIMPLICITY``). Cross-validation errors of flexible
    models differ by chance by about that much; the simpler model is then the safer choice.

    >>> means = {0: 0.0, 1: 0.0, 2: 0.0, 3: 0.0}
    >>> tried = {"gp": (0.101, {0: 0.1, 1: -0.12, 2: 0.08, 3: -0.1}), "trees": (0.1, {0: 0.1, 1: -0.1, 2: 0.1, 3: -0.1})}
    >>> one_standard_error(tried, means)            # trees' edge is within one standard error: the GP
    'gp'
    >>> tried["trees"] = (0.01, {0: 0.01, 1: -0.01, 2: 0.01, 3: -0.01})
    >>> one_standard_error(tried, means)
    'trees'
    """
    best = min(tried, key=lambda k: tried[k][0])
    groups = sorted(means)

    def squared(name: str) -> np.ndarray:
        return np.array([(tried[name][1][g] - means[g]) ** 2 for g in groups])

    if len(groups) < 3 or set(tried[best][1]) != set(groups):
        return best
    eligible = [best]
    for name, (err, oof) in tried.items():
        if name == best or set(oof) != set(groups) or not math.isfinite(err):
            continue
        d = squared(name) - squared(best)
        if float(d.mean()) <= float(d.std(ddof=1)) / math.sqrt(len(d)):
            eligible.append(name)
    rank = {n: i for i, n in enumerate(SIMPLICITY)}
    return min(eligible, key=lambda n: (rank.get(n, len(rank)), tried[n][0]))


def expected_improvement(mean: np.ndarray, sd: np.ndarray, best: float, xi: float = 0.0) -> np.ndarray:
    """EI of maximising: ``E[max(f - best - xi, 0)]`` under a normal posterior."""
    from scipy.special import ndtr

    sd = np.maximum(sd, 1e-12)
    z = (mean - best - xi) / sd
    return (mean - best - xi) * ndtr(z) + sd * np.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)
