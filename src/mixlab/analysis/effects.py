"""Mixture effects: what adding one source does to each ability, with uncertainty, stated in words.

The effect of source ``X`` on a score is the average, over every pair of arms that differ only by ``X``
(``M`` and ``M+X``; the base model is the empty arm), of ``score(M+X) - score(M)``. In a full factorial design
(all subsets) this is the classical main effect. It is computed per seed and averaged over seeds.

Uncertainty (conservative): ``se^2 = var_seeds(effect) / n_seeds + item_var``, where ``item_var`` propagates each
score's item-level bootstrap standard error through the pair differences (treating arms as independent,
which overstates it: the same items score every arm). The 95 % interval is ``effect +- 1.96 se``.

An effect on the source's *own* instruction type is its direct effect; on another type it is a cross-type
effect: *transfer* when the interval lies above 0, *interference* when below, otherwise *no clear effect*.

>>> rows = [{"mixture": "none", "n_train": 0, "seed": 0, "primary": True, "instruction_type": "chat",
...          "ability": "x", "value": 0.1, "stderr": 0.01}]
>>> for mix, v in {"A": 0.6, "C": 0.2, "A+C": 0.5}.items():
...     for seed in (0, 1):
...         rows.append({"mixture": mix, "n_train": 10, "seed": seed, "primary": True,
...                      "instruction_type": "chat", "ability": "x", "value": v + 0.01 * seed, "stderr": 0.01})
>>> e = source_effect(rows, "C", "x", 10)   # pairs: none -> C (+0.10, +0.11), A -> A+C (-0.1, -0.1)
>>> round(e.effect, 3), e.n_pairs, e.n_seeds
(0.003, 2, 2)
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mixlab.analysis.table import ability_order, primary_rows, volumes

Z95 = 1.96


@dataclass(frozen=True)
class Effect:
    source: str
    target: str  # an ability, or "<type> avg"
    target_type: str
    n_train: int
    effect: float
    se: float
    n_pairs: int
    n_seeds: int

    @property
    def ci(self) -> tuple[float, float]:
        return self.effect - Z95 * self.se, self.effect + Z95 * self.se

    @property
    def verdict(self) -> str:
        lo, hi = self.ci
        if lo > 0:
            return "transfer"
        if hi < 0:
            return "interference"
        return "no clear effect"


def _scores(rows: Sequence[Mapping[str, Any]], n_train: int) -> dict[tuple[str, str, int], tuple[float, float]]:
    """(mixture, ability, seed) -> (value, stderr); the base row serves every seed."""
    prim = primary_rows(rows)
    seeds = sorted({int(r["seed"]) for r in prim if r["mixture"] != "none"}) or [0]
    out = {}
    for r in prim:
        val = (float(r["value"]), float(r.get("stderr") or 0.0))
        if r["mixture"] == "none":
            for s in seeds:
                out[("none", r["ability"], s)] = val
        elif int(r["n_train"]) == n_train:
            out[(r["mixture"], r["ability"], int(r["seed"]))] = val
    return out


def _parts(label: str) -> frozenset[str]:
    return frozenset() if label == "none" else frozenset(label.split("+"))


def _label(parts: frozenset[str], known: Mapping[frozenset[str], str]) -> str | None:
    return known.get(parts)


def _target_score(scores: Mapping[tuple[str, str, int], tuple[float, float]], mix: str, abilities: Sequence[str],
                  seed: int) -> tuple[float, float] | None:
    vals = [scores[(mix, a, seed)] for a in abilities if (mix, a, seed) in scores]
    if len(vals) < len(abilities):
        return None
    k = len(vals)
    return (sum(v[0] for v in vals) / k, math.sqrt(sum(v[1] ** 2 for v in vals)) / k)


def source_effect(rows: Sequence[Mapping[str, Any]], source: str, target: str | Sequence[str], n_train: int,
                  target_name: str | None = None, target_type: str = "") -> Effect:
    """The effect of adding ``source`` on ``target`` (an ability, or several averaged) at volume ``n_train``."""
    abilities = [target] if isinstance(target, str) else list(target)
    scores = _scores(rows, n_train)
    mixtures = {m for m, _, _ in scores}
    known = {_parts(m): m for m in mixtures}
    seeds = sorted({s for _, _, s in scores})
    per_seed, item_vars, n_pairs = [], [], 0
    for seed in seeds:
        diffs, var = [], 0.0
        for parts, mix in known.items():
            if source in parts:
                continue
            with_x = known.get(parts | {source})
            if with_x is None:
                continue
            a, b = _target_score(scores, with_x, abilities, seed), _target_score(scores, mix, abilities, seed)
            if a is None or b is None:
                continue
            diffs.append(a[0] - b[0])
            var += a[1] ** 2 + b[1] ** 2
        if diffs:
            per_seed.append(statistics.fmean(diffs))
            item_vars.append(var / len(diffs) ** 2)
            n_pairs = len(diffs)
    if not per_seed:
        return Effect(source, target_name or "+".join(abilities), target_type, n_train, float("nan"),
                      float("nan"), 0, 0)
    k = len(per_seed)
    seed_var = statistics.variance(per_seed) / k if k > 1 else 0.0
    se = math.sqrt(seed_var + statistics.fmean(item_vars))
    return Effect(source, target_name or "+".join(abilities), target_type, n_train, statistics.fmean(per_seed),
                  se, n_pairs, k)


def all_effects(rows: Sequence[Mapping[str, Any]], sources: Sequence[str],
                source_types: Mapping[str, str]) -> list[Effect]:
    """Every source's effect on every ability and on every type's average, at every volume."""
    prim = primary_rows(rows)
    abilities, kinds = ability_order(prim)
    types = list(dict.fromkeys(kinds[a] for a in abilities))
    out = []
    for n in volumes(prim):
        for src in sources:
            for a in abilities:
                out.append(source_effect(prim, src, a, n, a, kinds[a]))
            for t in types:
                group = [a for a in abilities if kinds[a] == t]
                out.append(source_effect(prim, src, group, n, f"{t} avg", t))
    return [e for e in out if e.n_pairs and not math.isnan(e.effect)]


@dataclass(frozen=True)
class OwnGain:
    """A single-source arm against the base, on the source's own abilities."""

    source: str
    ability: str
    n_train: int
    gain: float  # mean over seeds of score(source) - score(base)
    spread: float  # standard deviation of score(source) over seeds
    n_seeds: int

    @property
    def clear(self) -> bool:
        return self.gain > self.spread


def own_gains(rows: Sequence[Mapping[str, Any]], source_types: Mapping[str, str]) -> list[OwnGain]:
    prim = primary_rows(rows)
    base = {r["ability"]: float(r["value"]) for r in prim if r["mixture"] == "none"}
    groups: dict[tuple[str, str, int], list[float]] = defaultdict(list)
    for r in prim:
        t = source_types.get(r["mixture"])
        if t is not None and r["instruction_type"] == t and r["ability"] in base:
            groups[(r["mixture"], r["ability"], int(r["n_train"]))].append(float(r["value"]))
    out = []
    for (src, ability, n), vals in sorted(groups.items()):
        spread = statistics.stdev(vals) if len(vals) > 1 else 0.0
        out.append(OwnGain(src, ability, n, statistics.fmean(vals) - base[ability], spread, len(vals)))
    return out


def describe(e: Effect, source_types: Mapping[str, str]) -> str:
    """One sentence: ``Adding C (code) raises chat avg by +0.052 (95% CI +0.010 to +0.094) at n=400: transfer.``"""
    lo, hi = e.ci
    kind = source_types.get(e.source, "")
    who = f"{e.source} ({kind})" if kind else e.source
    verb = "raises" if e.effect > 0 else "lowers"
    own = kind and kind == e.target_type
    verdict = ("direct effect" if own else e.verdict) if (lo > 0 or hi < 0) else "no clear effect"
    return (f"Adding {who} data {verb} {e.target} by {e.effect:+.3f} (95% CI {lo:+.3f} to {hi:+.3f}) "
            f"at n={e.n_train} per source, over {e.n_pairs} arm pairs x {e.n_seeds} seeds: {verdict}.")


def headline_cross_effects(effects: Sequence[Effect], source_types: Mapping[str, str], k: int = 4) -> list[Effect]:
    """The ``k`` largest cross-type effects on type averages at the largest volume (clear ones first)."""
    if not effects:
        return []
    n_max = max(e.n_train for e in effects)
    cross = [e for e in effects if e.n_train == n_max and e.target.endswith(" avg")
             and source_types.get(e.source) not in (None, e.target_type)]
    cross.sort(key=lambda e: (e.verdict == "no clear effect", -abs(e.effect) / (e.se or 1e-9)))
    return cross[:k]
