"""``mixlab search run``: spend at most K fine-tuning runs, fit surrogates, predict every candidate, recommend.

The loop:

1. **Initial design**: every source alone (the corners), then the uniform mixture, then space-filling points
   (the candidate farthest from every mixture run so far), until half the budget (at least ``k + 1``) is spent.
2. **Sequential**: fit a Gaussian process to the objective and run, in batches of the executor's width, the
   candidates with the highest expected improvement (a batch is chosen greedily, each pick believed at its
   predicted mean before the next: the "kriging believer").
3. **Fit and predict**: per target (every ability, every type average, the objective), the surrogate with the
   lowest leave-one-mixture-out error predicts every candidate with an interval; the recommendation is the
   candidate with the highest predicted objective. Where the target's tasks report a continuous per-item
   score beside pass/fail (``prob_gold``, ``prob_answer``: ``analysis.scores.continuous_rows``), every
   family is also tried on the target computed from those scores and mapped back to the target's scale
   (``<family>~cont``), chosen only where its error in the target's units is lower.

Every run is an ordinary study run (cached by identity, resumable, on any executor): mixture ``A50+C25+P25`` at
the spec's ``total`` rows with seed ``s`` is the same run as in a ``simplex`` study of that spec, so a search
inside a grid's folder reuses the grid's runs. Each new mixture takes the next of the spec's seeds in turn, so
the surrogate sees seed noise and learns it. Outputs (``DIR``): ``predictions.csv``, ``recommendation.json``,
``search.json``, the study stores (``results.csv``, ``items.csv.gz``) and, with ``--proxy merge``,
``proxy.csv``.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mixlab.artifacts import atomic_write_json, atomic_write_text
from mixlab.errors import MixlabError
from mixlab.search.candidates import Mixture, parse_candidates
from mixlab.search.objective import Objective
from mixlab.search.surrogates import FAMILIES, Fit, choose, expected_improvement, pooled_sd
from mixlab.study.spec import RunSpec, StudySpec

log = logging.getLogger(__name__)

OBJECTIVE = "objective"


@dataclass(frozen=True)
class SearchOptions:
    objective: str
    budget: int
    """Fine-tuning runs the search may use (each seed counts)."""
    candidates: str = "simplex:10"
    proxy: str | None = None
    """``merge``: score weight-space averages of the single-source runs as a prior (see ``search.merge``)."""
    initial: int | None = None
    """Runs of the initial design (default: half the budget, at least one per source plus one)."""
    families: tuple[str, ...] = FAMILIES
    seed: int = 0
    continuous: bool = True
    """Also try each family on the target's continuous counterpart, where the tasks report one."""


@dataclass
class Trial:
    mixture: Mixture
    seed: int
    reason: str
    run: RunSpec | None = None


@dataclass
class SearchResult:
    out_dir: Path
    trials: list[Trial]
    fits: dict[str, Fit]
    recommendation: dict[str, Any]
    predictions: list[dict[str, Any]] = field(default_factory=list)
    continuous_targets: list[str] = field(default_factory=list)
    """Targets that had a continuous counterpart to regress on."""


def run_spec_for(spec: StudySpec, model: str, mixture: Mixture, seed: int) -> RunSpec:
    """The study run of ``mixture`` at the spec's total rows and ``seed`` (the same as a simplex study's)."""
    total = spec.mixture.total
    if total is None:
        raise MixlabError("a search needs the mixture's size: set mixture.total in the study spec (rows per run)")
    by_alias = {s.label: s for s in spec.mixture.sources}
    sources = [by_alias[a].with_amount("share", share) for a, share in zip(mixture.aliases, mixture.shares, strict=True)
               if share > 0]
    mix = spec.mixture.replace(seed=seed, total=total, sources=sources)
    return RunSpec(f"mix={mixture.label},n={total},seed={seed}", mixture.label, int(total), seed, model, mix,
                   dict(spec.train), spec.eval, {"shares": mixture.as_dict(), "volume": total})


class _Study:
    """The search folder as a study: runs executed by the spec's executor, stores collected after each batch."""

    def __init__(self, spec: StudySpec, out_dir: Path, workers: int | None, announce: Callable[[str], None]):
        from mixlab.study.executor import make_executor
        from mixlab.study.run_study import resolve_model

        self.spec, self.out_dir, self.announce = spec, out_dir, announce
        self.model = resolve_model(spec, announce)
        self.executor = make_executor(spec.executor.kind, workers or spec.executor.workers, **dict(spec.executor.options))
        self.width = max(1, int(getattr(self.executor, "workers", 1) or 1))
        self.runs: list[RunSpec] = []
        self.failed: list[str] = []

    def execute(self, runs: Sequence[RunSpec]) -> None:
        from mixlab.study.run_one import is_complete
        from mixlab.study.run_study import collect

        self.runs += [r for r in runs if r.run_id not in {x.run_id for x in self.runs}]
        todo = [r for r in runs if not is_complete(self.out_dir, r)]
        for r in runs:
            if r not in todo:
                self.announce(f"  cached  {r.run_id}")
        for outcome in self.executor.map(todo, self.out_dir):
            mark = {"done": "ok", "failed": "FAILED"}.get(outcome.status, outcome.status)
            self.announce(f"  {mark:>6}  {outcome.run_id:<36} {outcome.seconds:6.1f} s  {outcome.error or outcome.summary}")
            if outcome.status == "failed":
                self.failed.append(outcome.run_id)
        collect(self.out_dir, self.runs)

    def scores(self) -> Any:
        from mixlab.analysis.scores import StudyScores
        from mixlab.study.store import read_items, read_results

        return StudyScores(read_results(self.out_dir), read_items(self.out_dir))

    def continuous(self) -> tuple[Any, set[str]]:
        """The study's scores with each task's continuous counterpart as its value, and those tasks."""
        from mixlab.analysis.scores import StudyScores, continuous_rows
        from mixlab.study.store import read_results

        rows, tasks = continuous_rows(read_results(self.out_dir))
        return StudyScores(rows), tasks


def _table(scores: Any, trials: Sequence[Trial], objective: Objective) -> tuple[list[Trial], dict[str, np.ndarray]]:
    """Trials with scores and, per target, their values (in trial order)."""
    done = [t for t in trials if t.run is not None and t.run.run_id in scores.coords]
    targets = [x.name for x in scores.targets()]
    values: dict[str, np.ndarray] = {}
    for name in targets:
        tgt = scores.target(name)
        values[name] = np.array([scores.value(t.run.run_id, tgt) for t in done])  # type: ignore[union-attr]
    values[OBJECTIVE] = np.array([objective.value({n: float(values[n][i]) for n in objective.targets if n in values})
                                  for i in range(len(done))])
    return done, values


def _groups(trials: Sequence[Trial]) -> np.ndarray:
    index: dict[str, int] = {}
    return np.array([index.setdefault(t.mixture.label, len(index)) for t in trials])


def _initial_design(candidates: Sequence[Mixture], aliases: Sequence[str], n: int) -> list[tuple[Mixture, str]]:
    by_label = {m.label: m for m in candidates}
    picks: list[tuple[Mixture, str]] = []
    k = len(aliases)
    for i, a in enumerate(aliases):
        corner = tuple(1.0 if j == i else 0.0 for j in range(k))
        m = by_label.get(Mixture(tuple(aliases), corner).label) or Mixture(tuple(aliases), corner)
        picks.append((m, f"corner: {a} alone"))
    centre = min(candidates, key=lambda m: float(np.sum((m.vector - 1 / k) ** 2)))
    picks.append((centre, "the most even candidate"))
    while len(picks) < n:
        chosen = np.array([m.vector for m, _ in picks])
        far = max((m for m in candidates if m.label not in {p.label for p, _ in picks}),
                  key=lambda m: float(np.min(np.sum((chosen - m.vector) ** 2, axis=1))), default=None)
        if far is None:
            break
        picks.append((far, "space-filling: the candidate farthest from the mixtures run so far"))
    return picks[:n]


def run_search(spec: StudySpec, opts: SearchOptions, out_dir: str | Path, *, workers: int | None = None,
               announce: Callable[[str], None] = print) -> SearchResult:
    """Run the search of the module docstring; return what it wrote."""
    t0 = time.time()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    aliases = [s.label for s in spec.mixture.sources]
    if len(aliases) < 2:
        raise MixlabError("a search needs at least two sources with aliases in mixture.sources")
    if spec.axes:
        raise MixlabError(f"axes: a search varies the mixture only; remove axes ({', '.join(spec.axes)}) or run a "
                          "search per axis value (set the field in the spec)")
    candidates = parse_candidates(opts.candidates, aliases, opts.seed)
    study = _Study(spec, out, workers, announce)
    scores = study.scores() if (out / "results.csv").exists() else None
    objective = Objective.parse(opts.objective, scores.abilities if scores else ())
    seeds = list(spec.seeds)
    if opts.budget < len(aliases) + 1:
        raise MixlabError(f"--budget {opts.budget}: a search needs at least {len(aliases) + 1} runs (each source "
                          "alone and one mixture)")
    n_init = opts.initial or max(len(aliases) + 1, opts.budget // 2)
    trials: list[Trial] = []

    def add(picks: Sequence[tuple[Mixture, str]]) -> None:
        batch = []
        for m, why in picks:
            t = Trial(m, seeds[len(trials) % len(seeds)], why)
            t.run = run_spec_for(spec, study.model, m, t.seed)
            trials.append(t)
            batch.append(t.run)
        study.execute(batch)

    announce(f"search: {opts.objective} over {len(candidates)} candidates ({opts.candidates}), budget {opts.budget} "
             f"runs, {n_init} in the initial design")
    add(_initial_design(candidates, aliases, min(n_init, opts.budget)))
    while len(trials) < opts.budget:
        scores = study.scores()
        done, values = _table(scores, trials, objective)
        width = min(study.width, opts.budget - len(trials))
        add(_next_batch(done, values[OBJECTIVE], candidates, width))
    scores = study.scores()
    objective = Objective.parse(opts.objective, scores.abilities)
    result = _finish(spec, opts, objective, study, trials, candidates, scores, out)
    if opts.continuous and not result.continuous_targets:
        announce("search: no task reports a continuous score (prob_gold, prob_answer): every surrogate fitted "
                 "on the targets as they are (for the world suite set eval.options.prob_answer: true)")
    announce(f"search: {len(trials)} runs ({len(study.failed)} failed) in {time.time() - t0:.0f} s")
    return result


def _next_batch(done: Sequence[Trial], y: np.ndarray, candidates: Sequence[Mixture], width: int) -> list[tuple[Mixture, str]]:
    """The ``width`` candidates of highest expected improvement (kriging believer between picks)."""
    from mixlab.search.surrogates import GaussianProcess

    X = np.array([t.mixture.vector for t in done])
    ok = np.isfinite(y)
    X, y = X[ok], y[ok]
    tried = {t.mixture.label for t in done}
    pool = [m for m in candidates if m.label not in tried] or list(candidates)
    P = np.array([m.vector for m in pool])
    picks: list[tuple[Mixture, str]] = []
    for _ in range(width):
        gp = GaussianProcess().fit(X, y)
        mean, sd = gp.predict(P)
        ei = expected_improvement(mean, sd, float(np.max(y)))
        i = int(np.argmax(ei))
        picks.append((pool[i], f"expected improvement {ei[i]:.4f} (predicted {mean[i]:.3f} +- {sd[i]:.3f})"))
        X = np.vstack([X, P[i]])
        y = np.append(y, mean[i])  # believe the prediction, so the next pick goes elsewhere
        pool.pop(i)
        P = np.delete(P, i, axis=0)
        if not pool:
            break
    return picks


def _finish(spec: StudySpec, opts: SearchOptions, objective: Objective, study: _Study, trials: list[Trial],
            candidates: Sequence[Mixture], scores: Any, out: Path) -> SearchResult:
    done, values = _table(scores, trials, objective)
    if len(done) < 2:
        raise MixlabError(f"only {len(done)} search runs finished ({len(study.failed)} failed: see "
                          f"{out}/runs/*/error.txt); nothing to fit")
    X = np.array([t.mixture.vector for t in done])
    groups = _groups(done)
    prior_runs = prior_cands = None
    proxy_info: dict[str, Any] = {}
    if opts.proxy == "merge":
        from mixlab.search.merge import merge_proxy

        proxy = merge_proxy(spec, study, candidates, objective, out)
        prior_runs = np.array([proxy.objective.get(t.mixture.label, np.nan) for t in done])
        prior_cands = np.array([proxy.objective.get(m.label, np.nan) for m in candidates])
        proxy_info = proxy.summary
        if not np.isfinite(prior_runs).all() or not np.isfinite(prior_cands).all():
            prior_runs = prior_cands = None
    C = np.array([m.vector for m in candidates])
    fits: dict[str, Fit] = {}
    predictions: list[dict[str, Any]] = []
    counterparts = _counterparts(study, trials, objective, values) if opts.continuous else {}
    for name, y in values.items():
        ok = np.isfinite(y)
        if ok.sum() < 2:
            continue
        use_prior = prior_runs if name == OBJECTIVE else None
        cont = counterparts.get(name)
        fit = choose(X[ok], y[ok], groups[ok], None if use_prior is None else use_prior[ok], opts.families,
                     None if cont is None else cont[ok])
        fits[name] = fit
        mean, lo, hi = fit.predict(C, prior_cands if fit.uses_prior else None)
        observed = _observed(done, y)
        for m, p, a, b in zip(candidates, mean, lo, hi, strict=True):
            obs = observed.get(m.label)
            predictions.append({"mixture": m.label, **{f"share_{al}": s for al, s in m.as_dict().items()},
                                "target": name, "predicted": float(p), "lo": float(a), "hi": float(b),
                                "observed": obs[0] if obs else float("nan"), "runs": obs[1] if obs else 0,
                                "surrogate": fit.name})
    obj_rows = [r for r in predictions if r["target"] == OBJECTIVE]
    best = max(obj_rows, key=lambda r: r["predicted"])
    recommendation = {"mixture": best["mixture"], "shares": {a: best[f"share_{a}"] for a in candidates[0].aliases},
                      "predicted": best["predicted"], "lo": best["lo"], "hi": best["hi"],
                      "objective": objective.text, "surrogate": fits[OBJECTIVE].name,
                      "cv_rmse": fits[OBJECTIVE].cv_rmse, "total": spec.mixture.total}
    _write(out, spec, opts, objective, study, trials, done, values, fits, predictions, recommendation, proxy_info,
           sorted(counterparts))
    return SearchResult(out, trials, fits, recommendation, predictions, sorted(counterparts))


def _counterparts(study: _Study, trials: Sequence[Trial], objective: Objective,
                  values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per target, its values on the continuous scores (in the order of ``values``) where at least one of its
    tasks reports one; the objective's where one of its targets has one."""
    cscores, tasks = study.continuous()
    if not tasks:
        return {}
    _, cvalues = _table(cscores, trials, objective)
    out = {name: v for name, v in cvalues.items()
           if name != OBJECTIVE and len(v) == len(values[name])
           and any(t in tasks for a in cscores.target(name).abilities for t in cscores.tasks(a))}
    if any(t in out for t in objective.targets):
        out[OBJECTIVE] = cvalues[OBJECTIVE]
    return out


def _observed(done: Sequence[Trial], y: np.ndarray) -> dict[str, tuple[float, int]]:
    acc: dict[str, list[float]] = {}
    for t, v in zip(done, y, strict=True):
        if math.isfinite(v):
            acc.setdefault(t.mixture.label, []).append(float(v))
    return {k: (float(np.mean(v)), len(v)) for k, v in acc.items()}


def _write(out: Path, spec: StudySpec, opts: SearchOptions, objective: Objective, study: _Study, trials: list[Trial],
           done: Sequence[Trial], values: dict[str, np.ndarray], fits: dict[str, Fit], predictions: list[dict[str, Any]],
           recommendation: dict[str, Any], proxy_info: dict[str, Any], continuous: Sequence[str] = ()) -> None:
    aliases = list(trials[0].mixture.aliases)
    columns = ["mixture", *[f"share_{a}" for a in aliases], "target", "predicted", "lo", "hi", "observed", "runs",
               "surrogate"]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    w.writeheader()
    for r in predictions:
        w.writerow({k: (repr(round(v, 6)) if isinstance(v, float) and math.isfinite(v) else
                        "" if isinstance(v, float) else v) for k, v in r.items()})
    atomic_write_text(out / "predictions.csv", buf.getvalue())
    atomic_write_json(out / "recommendation.json", recommendation)
    y = values[OBJECTIVE]
    oof = fits[OBJECTIVE].oof if OBJECTIVE in fits else {}
    labels = list(dict.fromkeys(t.mixture.label for t in done))
    atomic_write_json(out / "search.json", {
        "objective": {"text": objective.text, "targets": list(objective.targets), "weights": list(objective.weights)},
        "budget": opts.budget, "candidates": opts.candidates, "total": spec.mixture.total,
        "sources": aliases, "training_runs": len(trials), "failed_runs": study.failed,
        "runs": [{"run_id": t.run.run_id if t.run else None, "mixture": t.mixture.label, "shares": t.mixture.as_dict(),
                  "seed": t.seed, "reason": t.reason} for t in trials],
        "continuous_targets": list(continuous),
        "surrogates": {name: {"chosen": f.name, "cv_rmse": f.cv_rmse, "tried": f.tried, "mixtures": f.n_mixtures,
                              "uses_prior": f.uses_prior, "uses_continuous": f.uses_counterpart,
                              **({"library": f.model.library} if hasattr(f.model, "library") else {})}
                       for name, f in fits.items()},
        "loo_objective": [{"mixture": lab, "observed": _observed(done, y).get(lab, (float("nan"), 0))[0],
                           "predicted_held_out": oof.get(i)} for i, lab in enumerate(labels)],
        "seed_noise_objective": pooled_sd(_groups(done)[np.isfinite(y)], y[np.isfinite(y)]),
        "proxy": proxy_info,
        "recommendation": recommendation,
    })
