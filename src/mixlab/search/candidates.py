"""The mixtures a search may recommend: share vectors over the sources' aliases.

``simplex:STEPS`` is every share vector on a grid of step ``1/STEPS`` (66 points for 3 sources at 10 steps);
``dirichlet:N`` is ``N`` seeded draws from a flat Dirichlet, for more sources than a grid can hold. A mixture
is labelled like the simplex design's points (``A50+C25+P25``), so a search's runs and a grid study's runs of
the same mixture, total and seed are the same run.

>>> [m.label for m in parse_candidates("simplex:2", ["A", "C"])]
['A100', 'A50+C50', 'C100']
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mixlab.errors import SpecError


@dataclass(frozen=True)
class Mixture:
    aliases: tuple[str, ...]
    shares: tuple[float, ...]  # summing to 1, one per alias (0: left out)

    @property
    def label(self) -> str:
        return "+".join(f"{a}{_pct(s)}" for a, s in zip(self.aliases, self.shares, strict=True) if s > 0)

    def as_dict(self) -> dict[str, float]:
        return dict(zip(self.aliases, self.shares, strict=True))

    @property
    def vector(self) -> np.ndarray:
        return np.asarray(self.shares, dtype=np.float64)


def _pct(share: float) -> str:
    return f"{round(100 * share, 1):g}"


def simplex_points(aliases: Sequence[str], steps: int) -> list[Mixture]:
    """Every share vector with shares in multiples of ``1/steps``, the first alias's largest first."""
    k = len(aliases)
    out = []
    for bars in itertools.combinations(range(steps + k - 1), k - 1):
        cuts = (-1, *bars, steps + k - 1)
        parts = [cuts[i + 1] - cuts[i] - 1 for i in range(k)]
        out.append(Mixture(tuple(aliases), tuple(p / steps for p in parts)))
    return sorted(out, key=lambda m: tuple(-s for s in m.shares))


def dirichlet_points(aliases: Sequence[str], n: int, seed: int = 0) -> list[Mixture]:
    """``n`` share vectors from a flat Dirichlet, rounded to 0.1 % (labels stay short), seeded."""
    draws = np.random.default_rng(seed).dirichlet(np.ones(len(aliases)), size=n)
    out = []
    for d in draws:
        r = np.round(d, 3)
        r[np.argmax(r)] += 1 - r.sum()
        out.append(Mixture(tuple(aliases), tuple(float(x) for x in r)))
    return out


def parse_candidates(text: str, aliases: Sequence[str], seed: int = 0) -> list[Mixture]:
    """``simplex:STEPS`` or ``dirichlet:N`` (see module docstring)."""
    kind, _, arg = text.partition(":")
    try:
        value = int(arg)
    except ValueError:
        value = 0
    if kind == "simplex" and value >= 1:
        return simplex_points(aliases, value)
    if kind == "dirichlet" and value >= 1:
        return dirichlet_points(aliases, value, seed)
    raise SpecError("candidates", [f"{text!r}: use simplex:STEPS (e.g. simplex:10) or dirichlet:N (e.g. dirichlet:200)"])


def nearest(points: Sequence[Mixture], target: np.ndarray) -> Mixture:
    """The candidate closest to a share vector (for snapping a random draw onto a grid)."""
    return min(points, key=lambda m: float(np.sum((m.vector - target) ** 2)))
