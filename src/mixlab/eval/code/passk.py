"""Unbiased pass@k (Chen et al., 2021, "Evaluating Large Language Models Trained on Code").

With ``n`` samples per problem of which ``c`` pass, the probability that at least one of ``k`` samples drawn
without replacement passes is ``1 - C(n - c, k) / C(n, k)``. Averaged over problems, this is an unbiased
estimate of pass@k; taking the first k samples, or ``1 - (1 - c/n) ** k``, is not. pass@k needs ``n >= k``:
``pass_at_k`` refuses otherwise instead of returning something plausible.

>>> round(pass_at_k(n=10, c=1, k=1), 6)
0.1
>>> round(pass_at_k(n=10, c=1, k=10), 6)
1.0
>>> round(pass_at_k(n=20, c=2, k=10), 4)
0.7632
>>> pass_at_k(n=1, c=1, k=10)
Traceback (most recent call last):
...
ValueError: pass@10 needs at least 10 samples per problem; this problem has 1
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from mixlab.errors import SpecError
from mixlab.eval.stats import Score, mean_with_stderr

DEFAULT_KS = (1, 10)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k of one problem with ``n`` samples, ``c`` of them correct."""
    if not (0 <= c <= n):
        raise ValueError(f"c={c} correct samples out of n={n} is impossible")
    if k < 1:
        raise ValueError(f"k={k} must be >= 1")
    if n < k:
        raise ValueError(f"pass@{k} needs at least {k} samples per problem; this problem has {n}")
    if n - c < k:
        return 1.0
    # 1 - C(n-c, k) / C(n, k) as a product: no huge binomials, no overflow for large n.
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def parse_ks(text: str | int | Sequence[int]) -> tuple[int, ...]:
    """``"1,10"`` -> ``(1, 10)``; every problem reported at once.

    >>> parse_ks("10, 1,1"), parse_ks(5)
    ((1, 10), (5,))
    """
    raw = text.split(",") if isinstance(text, str) else [text] if isinstance(text, int) else list(text)
    ks, problems = [], []
    for part in raw:
        try:
            k = int(str(part).strip())
        except ValueError:
            problems.append(f"k: {str(part).strip()!r} is not an integer")
            continue
        if k < 1:
            problems.append(f"k: {k} must be >= 1")
        ks.append(k)
    if not raw or (not ks and not problems):
        problems.append("k: give at least one value, e.g. 1,10")
    if problems:
        raise SpecError("pass@k list", problems)
    return tuple(sorted(set(ks)))


@dataclass(frozen=True)
class PassAtK:
    """pass@k over problems: the scores that could be computed, and why the others could not."""

    scores: dict[int, Score]
    #: k -> why it was not computed (some problems have fewer than k samples)
    not_computed: dict[int, str]

    def to_dict(self) -> dict[str, object]:
        return {
            "pass_at_k": {f"pass@{k}": s.to_dict() for k, s in self.scores.items()},
            "not_computed": {f"pass@{k}": why for k, why in self.not_computed.items()},
        }


def pass_at_k_over_problems(
    counts: Mapping[str, tuple[int, int]], ks: Iterable[int], *, seed: int = 0
) -> PassAtK:
    """Mean unbiased pass@k over problems (``counts``: problem -> (n, c)) with bootstrap standard errors.

    A k larger than some problem's ``n`` is not computed, and the reason says how many problems fall short.

    >>> r = pass_at_k_over_problems({"a": (2, 1), "b": (2, 2), "c": (1, 0)}, [1, 2])
    >>> r.scores[1].value
    0.5
    >>> r.not_computed[2]
    'needs >= 2 samples per problem; 1 of 3 problems have fewer (min 1)'
    """
    scores: dict[int, Score] = {}
    not_computed: dict[int, str] = {}
    ns = [n for n, _ in counts.values()]
    for k in sorted(set(ks)):
        short = [n for n in ns if n < k]
        if not counts:
            not_computed[k] = "no problems"
        elif short:
            not_computed[k] = (
                f"needs >= {k} samples per problem; {len(short)} of {len(ns)} problems have fewer (min {min(short)})"
            )
        else:
            values = [pass_at_k(n, c, k) for n, c in counts.values()]
            scores[k] = mean_with_stderr(values, seed=seed)
    return PassAtK(scores, not_computed)
