"""Mixture effects: what adding one source does to each ability, how sure we are, stated in words.

The effect of source ``X`` on a target at a volume is the mean, over every pair of arms that differ only by
``X`` (``M`` and ``M+X``; the base model is the empty arm), of ``score(M+X) - score(M)``: in a full factorial
design (all subsets) the classical main effect. The inference follows the design (``analysis.inference``):

- differences are **paired**: the two arms of a pair share the seed (and with it the sampled rows of every
  source they share) and are scored on the same items;
- the **seed is the unit of replication** (hardware acts like a seed): intervals use t quantiles with
  Satterthwaite degrees of freedom, so two seeds give wide intervals, and one seed gives none;
- items built from the same content are one **cluster**;
- **multiplicity**: every effect of the table is one test of a family; verdicts follow Benjamini-Hochberg
  adjusted p-values (``q``) at a false discovery rate of 5 %. Intervals are the unadjusted 95 % ones.

Verdict (after adjustment): ``direct`` (a clear gain on the source's own instruction type, or on the overall
average, which holds it), ``transfer`` (a clear gain on another type), ``interference`` (a clear loss), else
``no clear effect``.

**Axes** (``lr``, ``size``: ``docs/study.md``): source effects are computed within each combination of axis
values (``slice`` ``lr=0.001``: the pairs share the axis values), and each axis has its own effect
(``axis_effects``): a value against the axis's reference value (its first), paired on the same mixture,
volume, seed and items, averaged over the mixtures trained at both, with the same inference. Every effect of
the study, source and axis, is one Benjamini-Hochberg family. An axis effect's verdict is ``gain``, ``loss`` or
``no clear effect``.

>>> rows = [{"run_id": "b", "mixture": "none", "n_train": 0, "seed": 0, "primary": True,
...          "instruction_type": "chat", "ability": "x", "task": "x", "value": 0.1}]
>>> for mix, v in {"A": 0.6, "C": 0.2, "A+C": 0.5}.items():
...     for seed in (0, 1, 2):
...         rows.append({"run_id": f"{mix}{seed}", "mixture": mix, "n_train": 10, "seed": seed, "primary": True,
...                      "instruction_type": "chat", "ability": "x", "task": "x", "value": v + 0.01 * seed})
>>> e = source_effect(StudyScores(rows), "C", "x", 10)   # pairs: none -> C (+0.10..0.12), A -> A+C (-0.1)
>>> round(e.effect, 3), e.n_pairs, e.n_seeds, e.level
(0.005, 2, 3, 'runs')
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from mixlab.analysis.inference import (
    NO_SEED_INTERVAL,
    Estimate,
    benjamini_hochberg,
    crossed_estimate,
    holm,
    paired_estimate,
    pooled,
    probability_of_improvement,
)
from mixlab.analysis.scores import StudyScores, Target
from mixlab.artifacts import atomic_write_text

FDR = 0.05
EFFECT_COLUMNS = ["source", "source_type", "target", "target_type", "n_train", "effect", "ci_low", "ci_high",
                  "p_value", "q_value", "verdict", "se", "df", "n_seeds", "n_pairs", "n_clusters", "level", "note",
                  "axis", "slice"]
RUN_LEVEL = "run-level scores (no item scores): item sampling noise enters only through the seeds"


@dataclass(frozen=True)
class Effect:
    """One source's effect on one target at one volume, with its test and verdict."""

    source: str
    target: str  # an ability, "<type> avg" or "avg"
    target_type: str
    n_train: int
    estimate: Estimate
    n_pairs: int
    level: str  # "items" (paired, clustered item scores) or "runs" (run-level fallback)
    source_type: str = ""
    q_value: float = float("nan")
    verdict: str = "no clear effect"
    #: the axis whose own effect this is (``source`` is then ``lr=0.001 vs lr=0.003``); empty for a source
    axis: str = ""
    #: the combination of (other) axis values the effect was computed within: ``lr=0.001``
    slice: str = ""

    @property
    def effect(self) -> float:
        return self.estimate.value

    @property
    def se(self) -> float:
        return self.estimate.se

    @property
    def n_seeds(self) -> int:
        return self.estimate.n_seeds

    @property
    def ci(self) -> tuple[float, float]:
        return self.estimate.ci()

    @property
    def p_value(self) -> float:
        return self.estimate.p_value

    @property
    def clear(self) -> bool:
        return self.verdict != "no clear effect"

    @property
    def note(self) -> str:
        notes = [self.estimate.note] if self.estimate.note else []
        if self.level == "runs":
            notes.append(RUN_LEVEL)
        return "; ".join(notes)

    def row(self) -> dict[str, object]:
        lo, hi = self.ci
        return {"source": self.source, "source_type": self.source_type, "target": self.target,
                "target_type": self.target_type, "n_train": self.n_train, "effect": self.effect, "ci_low": lo,
                "ci_high": hi, "p_value": self.p_value, "q_value": self.q_value, "verdict": self.verdict,
                "se": self.se, "df": self.estimate.df, "n_seeds": self.n_seeds, "n_pairs": self.n_pairs,
                "n_clusters": self.estimate.n_clusters, "level": self.level, "note": self.note,
                "axis": self.axis, "slice": self.slice}


def _parts(label: str) -> frozenset[str]:
    return frozenset() if label == "none" else frozenset(label.split("+"))


def contrast(scores: StudyScores, pairs: Mapping[int, Sequence[tuple[str, str]]], target: Target) -> tuple[Estimate, str]:
    """The mean of ``plus - minus`` over the (plus run, minus run) pairs of every seed, with its inference.

    Paired and clustered over items when the item store covers every run; run-level otherwise.
    """
    seeds = sorted(s for s in pairs if pairs[s])
    if not seeds:
        return Estimate(float("nan"), float("nan"), float("nan"), 0, 0, note="no seed holds both arms"), "runs"
    runs = sorted({r for s in seeds for p in pairs[s] for r in p})
    view = scores.item_view(runs, target) if runs else None
    if view is not None:
        index = {r: i for i, r in enumerate(runs)}
        D = np.array([np.mean([view.values[index[a]] - view.values[index[b]] for a, b in pairs[s]], axis=0)
                      for s in seeds])
        return paired_estimate(D, view.weights, view.clusters), "items"
    d = np.array([[np.mean([scores.value(a, target) - scores.value(b, target) for a, b in pairs[s]])]
                  for s in seeds])
    if np.isnan(d).any():
        return Estimate(float("nan"), float("nan"), float("nan"), len(seeds), 0, note="missing scores"), "runs"
    return crossed_estimate(d), "runs"


def source_pairs(scores: StudyScores, source: str, n_train: int) -> dict[int, list[tuple[str, str]]]:
    """Per seed, the (M+source, M) run pairs at ``n_train``; only arm pairs present in every seed are kept,
    so each seed averages the same pairs."""
    seeds = scores.seeds(n_train)
    labels = {_parts(m): m for m in ["none", *scores.mixtures(n_train)]}
    arm_pairs = [(labels[parts | {source}], m) for parts, m in labels.items()
                 if source not in parts and (parts | {source}) in labels]
    kept = [(a, b) for a, b in arm_pairs
            if all(scores.run(a, n_train, s) and scores.run(b, n_train, s) for s in seeds)]
    return {s: [(scores.run(a, n_train, s), scores.run(b, n_train, s)) for a, b in kept] for s in seeds}  # type: ignore[misc]


def source_effect(scores: StudyScores, source: str, target: str | Target, n_train: int,
                  source_type: str = "") -> Effect:
    """The effect of adding ``source`` on ``target`` at volume ``n_train`` (untested against the family:
    ``all_effects`` adds q-values and verdicts)."""
    t = scores.target(target) if isinstance(target, str) else target
    pairs = source_pairs(scores, source, n_train)
    n_pairs = len(next(iter(pairs.values()), []))
    if not n_pairs:
        est = Estimate(float("nan"), float("nan"), float("nan"), len(pairs), 0, note="no arm pairs differ by this source")
        return Effect(source, t.name, t.kind, n_train, est, 0, "runs", source_type)
    est, level = contrast(scores, pairs, t)
    return Effect(source, t.name, t.kind, n_train, est, n_pairs, level, source_type)


def verdict(effect: float, q: float, own: bool, level: float = FDR) -> str:
    """``direct`` / ``transfer`` / ``interference`` when the adjusted test is clear, else ``no clear effect``."""
    if not (q <= level) or effect == 0 or math.isnan(effect):
        return "no clear effect"
    if effect < 0:
        return "interference"
    return "direct" if own else "transfer"


def all_effects(scores: StudyScores, sources: Sequence[str], source_types: Mapping[str, str]) -> list[Effect]:
    """Every source's effect on every ability, every type's average and the overall average, at every
    volume; q-values and verdicts over the whole family (Benjamini-Hochberg)."""
    return adjust(raw_effects(scores, sources, source_types))


def raw_effects(scores: StudyScores, sources: Sequence[str], source_types: Mapping[str, str],
                slice_label: str = "") -> list[Effect]:
    """``all_effects`` before the family's adjustment (no q-values or verdicts)."""
    out = [source_effect(scores, src, t, n, source_types.get(src, ""))
           for n in scores.volumes() for src in sources for t in scores.targets()]
    return [replace(e, slice=slice_label) for e in out if e.n_pairs and not math.isnan(e.effect)]


def adjust(effects: Sequence[Effect]) -> list[Effect]:
    """q-values (Benjamini-Hochberg over ``effects``, one family) and verdicts."""
    qs = benjamini_hochberg([e.p_value for e in effects])
    # the overall average holds the source's own type too: a gain there is direct, not transfer
    own = [bool(e.source_type) and e.source_type in (e.target_type, "") for e in effects]
    return [replace(e, q_value=q, verdict=axis_verdict(e.effect, q) if e.axis else verdict(e.effect, q, o))
            for e, q, o in zip(effects, qs, own, strict=True)]


def axis_verdict(effect: float, q: float, level: float = FDR) -> str:
    """``gain`` / ``loss`` when the adjusted test of an axis value against its reference is clear."""
    if not (q <= level) or effect == 0 or math.isnan(effect):
        return "no clear effect"
    return "gain" if effect > 0 else "loss"


def slice_label(values: Mapping[str, str]) -> str:
    """``{"lr": "0.001", "size": "small"}`` -> ``lr=0.001,size=small`` (as in run ids)."""
    return ",".join(f"{k}={v}" for k, v in values.items())


def axis_pairs(scores: StudyScores, axis: str, value: str, rest: Mapping[str, str],
               n_train: int) -> dict[int, list[tuple[str, str]]]:
    """Per seed, the (run at ``axis=value``, run at the reference value) pairs of every trained mixture at
    ``n_train``, the other axes held at ``rest``; only mixtures present at both values in every seed."""
    ref = scores.axis_levels(axis)[0]
    seeds = scores.seeds(n_train)

    def run(m: str, s: int, v: str) -> str | None:
        return scores.run_where(m, n_train, s, {**rest, axis: v})

    kept = [m for m in scores.mixtures(n_train) if all(run(m, s, value) and run(m, s, ref) for s in seeds)]
    return {s: [(run(m, s, value), run(m, s, ref)) for m in kept] for s in seeds}  # type: ignore[misc]


def axis_effect(scores: StudyScores, axis: str, value: str, target: str | Target, n_train: int,
                rest: Mapping[str, str] | None = None) -> Effect:
    """The effect of ``axis=value`` against the axis's reference value on ``target`` at ``n_train``: the
    mean paired difference over mixtures (same mixture, volume, seed and items), the other axes at ``rest``
    (untested against the family: ``axis_effects`` adds q-values and verdicts)."""
    t = scores.target(target) if isinstance(target, str) else target
    rest = dict(rest or {})
    ref = scores.axis_levels(axis)[0]
    pairs = axis_pairs(scores, axis, value, rest, n_train)
    n_pairs = len(next(iter(pairs.values()), []))
    name = f"{axis}={value} vs {axis}={ref}"
    if not n_pairs:
        est = Estimate(float("nan"), float("nan"), float("nan"), len(pairs), 0,
                       note="no mixture was trained at both values")
        return Effect(name, t.name, t.kind, n_train, est, 0, "runs", axis=axis, slice=slice_label(rest))
    est, level = contrast(scores, pairs, t)
    return Effect(name, t.name, t.kind, n_train, est, n_pairs, level, axis=axis, slice=slice_label(rest))


def axis_effects(scores: StudyScores) -> list[Effect]:
    """Every axis value's effect against its reference, on every target, at every volume, within every
    combination of the other axes' values (unadjusted; ``study_effects`` adjusts the whole family)."""
    out = []
    for axis in scores.axes:
        others = [a for a in scores.axes if a != axis]
        rests = [{a: c[a] for a in others} for c in _unique(scores.axis_combinations(), others)]
        for rest in rests:
            for value in scores.axis_levels(axis)[1:]:
                out += [axis_effect(scores, axis, value, t, n, rest) for n in scores.volumes()
                        for t in scores.targets()]
    return [e for e in out if e.n_pairs and not math.isnan(e.effect)]


def _unique(combos: Sequence[Mapping[str, str]], keys: Sequence[str]) -> list[Mapping[str, str]]:
    seen: dict[tuple[str, ...], Mapping[str, str]] = {}
    for c in combos:
        seen.setdefault(tuple(c[k] for k in keys), c)
    return list(seen.values())


def study_sources(scores: StudyScores) -> list[str]:
    return sorted({p for m in scores.mixtures() for p in _parts(m)})


# ---------------------------------------------------------------------------------- arms compared
@dataclass(frozen=True)
class ArmComparison:
    """Arm ``a`` against arm ``b`` on a target at a volume: paired difference and probability of improvement."""

    a: str
    b: str
    target: str
    n_train: int
    estimate: Estimate
    level: str
    #: P(a run of ``a`` scores above a run of ``b``), over every pair of seeds (ties count half)
    p_improvement: float
    q_value: float = float("nan")
    #: the combination of axis values both arms were run at (``lr=0.001``; empty without axes)
    slice: str = ""

    @property
    def clear(self) -> bool:
        return self.q_value <= FDR


def compare_arms(scores: StudyScores, a: str, b: str, target: str | Target, n_train: int) -> ArmComparison:
    """``a - b`` on ``target`` at ``n_train`` (either may be ``none``, the base model)."""
    t = scores.target(target) if isinstance(target, str) else target
    seeds = [s for s in scores.seeds(n_train) if scores.run(a, n_train, s) and scores.run(b, n_train, s)]
    pairs = {s: [(scores.run(a, n_train, s), scores.run(b, n_train, s))] for s in seeds}
    est, level = contrast(scores, pairs, t)  # type: ignore[arg-type]
    va = [scores.value(scores.run(a, n_train, s), t) for s in seeds]  # type: ignore[arg-type]
    vb = [scores.value(scores.run(b, n_train, s), t) for s in seeds]  # type: ignore[arg-type]
    if b == "none":
        vb = vb[:1]  # one base run
    if a == "none":
        va = va[:1]
    return ArmComparison(a, b, t.name, n_train, est, level, probability_of_improvement(va, vb))


def own_gains(scores: StudyScores, source_types: Mapping[str, str]) -> list[ArmComparison]:
    """Each single-source arm against the base model on each ability of the source's own type, at every
    volume; adjusted for the family by Holm (family-wise error 5 %)."""
    out = []
    for n in scores.volumes():
        for src in scores.mixtures(n):
            kind = source_types.get(src)
            if kind is None or "+" in src:
                continue
            for ability in scores.abilities:
                if scores.kinds[ability] == kind:
                    out.append(compare_arms(scores, src, "none", ability, n))
    qs = holm([c.estimate.p_value for c in out])
    return [replace(c, q_value=q) for c, q in zip(out, qs, strict=True)]


def best_arm_comparisons(scores: StudyScores, n_train: int | None = None) -> list[ArmComparison]:
    """For every type average and the overall average at a volume (default the largest): the best arm
    against every other arm, Holm-adjusted within each target."""
    vols = scores.volumes()
    n = n_train if n_train is not None else (vols[-1] if vols else 0)
    out: list[ArmComparison] = []
    for t in [t for t in scores.targets() if t.is_average]:
        means = {}
        for m in scores.mixtures(n):
            vals = [scores.value(r, t) for s in scores.seeds(n) if (r := scores.run(m, n, s))]
            if vals and not any(math.isnan(v) for v in vals):
                means[m] = float(np.mean(vals))
        if len(means) < 2:
            continue
        best = max(means, key=lambda m: means[m])
        group = [c for m in sorted(means, key=lambda m: -means[m]) if m != best
                 and math.isfinite((c := compare_arms(scores, best, m, t, n)).estimate.value)]
        qs = holm([c.estimate.p_value for c in group])
        out += [replace(c, q_value=q) for c, q in zip(group, qs, strict=True)]
    return out


# --------------------------------------------------------------------------------------- in words
def _fmt_q(q: float) -> str:
    return "q < 0.001" if q < 0.001 else f"q = {q:.3f}"


def describe(e: Effect, source_types: Mapping[str, str] | None = None) -> str:
    """One sentence: ``Adding C (code) data raises chat avg by +0.052 (95% CI +0.010 to +0.094, q = 0.012)
    at n=400 per source, over 4 arm pairs x 4 seeds: transfer.``"""
    kind = e.source_type or (source_types or {}).get(e.source, "")
    who = f"{e.source} ({kind})" if kind else e.source
    verb = "raises" if e.effect > 0 else "lowers" if e.effect < 0 else "changes"
    within = f" with {e.slice}" if e.slice else ""
    where = f"at n={e.n_train} per source{within}, over {e.n_pairs} arm pairs x {e.n_seeds} seeds"
    subject = f"Adding {who} data"
    if e.axis:  # "lr=0.001 vs lr=0.003"
        value, ref = e.source.split(" vs ")
        subject = f"Setting {value} (against {ref})"
        where = f"at n={e.n_train} per source{within}, over {e.n_pairs} mixtures x {e.n_seeds} seeds"
    if not e.estimate.estimable:
        return f"{subject} {verb} {e.target} by {e.effect:+.3f} {where} ({e.estimate.note or NO_SEED_INTERVAL})."
    lo, hi = e.ci
    if e.estimate.no_variation:
        return (f"{subject} {verb} {e.target} by {e.effect:+.3f} {where}, the same on every seed and item (no "
                f"variation, no interval; {_fmt_q(e.q_value)}): {e.verdict}.")
    return (f"{subject} {verb} {e.target} by {e.effect:+.3f} (95% CI {lo:+.3f} to {hi:+.3f}, "
            f"{_fmt_q(e.q_value)}) {where}: {e.verdict}.")


def headline_cross_effects(effects: Sequence[Effect], source_types: Mapping[str, str] | None = None,
                           k: int = 4) -> list[Effect]:
    """The ``k`` strongest cross-type effects on type averages at the largest volume (clear ones first)."""
    if not effects:
        return []
    n_max = max(e.n_train for e in effects)
    types = source_types or {}
    cross = [e for e in effects if e.n_train == n_max and e.target.endswith(" avg") and e.target != "avg"
             and (e.source_type or types.get(e.source)) not in (None, "", e.target_type)]
    cross.sort(key=lambda e: (not e.clear, -abs(e.effect) / (e.se if e.se and math.isfinite(e.se) else 1e9)))
    return cross[:k]


def power_estimate(effects: Sequence[Effect], target: str) -> Estimate | None:
    """The typical comparison on ``target`` at the largest volume, for power planning: variance components
    averaged over the sources' cross-type effects (the small effects a study is powered for; a source's
    large direct effect varies from item to item in its own way), or over every source when types are
    unknown."""
    if not effects:
        return None
    n_max = max(e.n_train for e in effects)
    here = [e for e in effects if e.target == target and e.n_train == n_max and not e.axis]
    cross = [e for e in here if e.source_type and e.source_type != e.target_type]
    return pooled([e.estimate for e in (cross or here)])


def detectable_line(effects: Sequence[Effect], target: str) -> str | None:
    """``with 4 seeds this study detects effects >= 0.071 on code avg`` (80 % power, 5 % two-sided; see
    ``power_estimate``), or None."""
    est = power_estimate(effects, target)
    if est is None or not math.isfinite(mde := est.detectable()):
        return None
    if est.no_variation:  # nothing to plan from, not a study that detects everything
        return f"{target}: no variation between seeds or items, power not estimable"
    return f"with {est.n_seeds} seeds this study detects effects >= {mde:.3f} on {target}"


# --------------------------------------------------------------------------------------- the file
def effects_csv(effects: Sequence[Effect]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=EFFECT_COLUMNS, lineterminator="\n")
    w.writeheader()
    for e in effects:
        w.writerow({k: _cell(v) for k, v in e.row().items()})
    return buf.getvalue()


def _cell(v: object) -> object:
    if isinstance(v, float):
        return "" if math.isnan(v) else repr(round(v, 6))
    return v


def write_effects(study_dir: str | Path, effects: Sequence[Effect]) -> Path:
    """``effects.csv`` in the study folder: one row per source x target x volume (``EFFECT_COLUMNS``)."""
    path = Path(study_dir) / "effects.csv"
    atomic_write_text(path, effects_csv(effects))
    return path


@dataclass
class StudyEffects:
    """Everything the report and the terminal summary say about effects, computed once."""

    effects: list[Effect]
    gains: list[ArmComparison]
    best: list[ArmComparison] = field(default_factory=list)


def study_effects(scores: StudyScores, source_types: Mapping[str, str]) -> StudyEffects:
    """Every effect of a study; with axes, the source effects, gains and best-arm comparisons of every
    combination of axis values and the axes' own effects, adjusted as one family each."""
    if not scores.axes:
        return StudyEffects(all_effects(scores, study_sources(scores), source_types),
                            own_gains(scores, source_types), best_arm_comparisons(scores))
    raw: list[Effect] = []
    gains: list[ArmComparison] = []
    best: list[ArmComparison] = []
    sources = study_sources(scores)
    for values in scores.axis_combinations():
        part, label = scores.where(values), slice_label(values)
        raw += raw_effects(part, sources, source_types, label)
        gains += [replace(g, slice=label) for g in own_gains(part, source_types)]
        best += [replace(b, slice=label) for b in best_arm_comparisons(part)]
    qs = holm([g.estimate.p_value for g in gains])  # one Holm family over every combination's gains
    return StudyEffects(adjust(raw + axis_effects(scores)), [replace(g, q_value=q) for g, q in
                                                             zip(gains, qs, strict=True)], best)
