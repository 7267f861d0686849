"""Growth curves: each ability's primary score over data volume, per mixture, with a log-linear fit.

The instruction-dynamics paper reads abilities along a data-volume ladder growing x4 per step; each ability
has its own pace. ``growth_fits`` fits ``score = a + b * log4(n)`` per (mixture, ability) over the volumes
(the base model is not a point of the fit: it has no data), so ``b`` is the gain per x4 more data.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mixlab.analysis.scores import StudyScores
from mixlab.analysis.table import mixture_order


@dataclass(frozen=True)
class CurvePoint:
    n_train: int
    mean: float
    spread: float
    n_seeds: int


@dataclass(frozen=True)
class GrowthFit:
    mixture: str
    ability: str
    intercept: float
    per_x4: float  # gain per x4 more data
    n_points: int


def curves(rows: Sequence[Mapping[str, Any]] | StudyScores) -> dict[str, dict[str, list[CurvePoint]]]:
    """``{ability: {mixture: [points by volume]}}``; the base row is under mixture ``none`` at n=0."""
    scores = rows if isinstance(rows, StudyScores) else StudyScores(rows)
    acc: dict[tuple[str, str, int], list[float]] = defaultdict(list)
    for run, (mix, n, _) in scores.coords.items():
        for ability in scores.abilities:
            v = scores.ability_value(run, ability)
            if not math.isnan(v):
                acc[(ability, mix, n)].append(v)
    out: dict[str, dict[str, list[CurvePoint]]] = defaultdict(lambda: defaultdict(list))
    for (ability, mix, n), vals in sorted(acc.items(), key=lambda kv: kv[0][2]):
        spread = statistics.stdev(vals) if len(vals) > 1 else 0.0
        out[ability][mix].append(CurvePoint(n, statistics.fmean(vals), spread, len(vals)))
    return {a: dict(m) for a, m in out.items()}


def growth_fits(rows: Sequence[Mapping[str, Any]] | StudyScores) -> list[GrowthFit]:
    fits = []
    for ability, by_mix in curves(rows).items():
        for mix, pts in by_mix.items():
            pts = [p for p in pts if p.n_train > 0]
            if mix == "none" or len(pts) < 2:
                continue
            x = np.log([p.n_train for p in pts]) / math.log(4)
            y = np.array([p.mean for p in pts])
            b, a = np.polyfit(x, y, 1)
            fits.append(GrowthFit(mix, ability, float(a), float(b), len(pts)))
    return fits


def plot_curves(rows: Sequence[Mapping[str, Any]] | StudyScores, path: str, *,
                mixtures: Sequence[str] | None = None) -> str:
    """Draw one panel per ability (score over rows per source, log scale) and save a PNG to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scores = rows if isinstance(rows, StudyScores) else StudyScores(rows)
    abilities, kinds = scores.abilities, scores.kinds
    data = curves(scores)
    mix_all = [m for m in mixture_order(scores.mixtures()) if m != "none"]
    shown = list(mixtures) if mixtures else mix_all
    chance = scores.chance
    cols = min(4, max(1, len(abilities)))
    nrows = math.ceil(len(abilities) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(3.6 * cols, 2.9 * nrows), squeeze=False)
    cmap = plt.get_cmap("tab10")
    xs_all = sorted({p.n_train for a in data.values() for m, ps in a.items() if m != "none" for p in ps})
    for i, ability in enumerate(abilities):
        ax = axes[i // cols][i % cols]
        by_mix = data.get(ability, {})
        for j, mix in enumerate(shown):
            pts = [p for p in by_mix.get(mix, []) if p.n_train > 0]
            if not pts:
                continue
            ax.errorbar([p.n_train for p in pts], [p.mean for p in pts], yerr=[p.spread for p in pts],
                        marker="o", ms=3.5, lw=1.4, capsize=2, color=cmap(j % 10), label=mix)
        base = by_mix.get("none")
        if base:
            ax.axhline(base[0].mean, color="black", lw=1, ls="--", label="base")
        c = chance.get(ability)
        if c is not None and c > 0:
            ax.axhline(c, color="gray", lw=0.8, ls=":", label="chance")
        ax.set_xscale("log")
        if xs_all:
            ax.set_xticks(xs_all)
            ax.set_xticklabels([str(x) for x in xs_all])
            ax.minorticks_off()
        lo, hi = scores.scales[ability]  # each metric on its own range: a 1-10 rating is not clipped to 0-1
        pad = 0.03 * (hi - lo)
        ax.set_ylim(lo - pad, hi + pad)
        ax.set_title(f"{ability} ({kinds[ability]})", fontsize=10)
        ax.set_xlabel("rows per source", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for k in range(len(abilities), nrows * cols):
        axes[k // cols][k % cols].axis("off")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 10), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
