"""Do two studies of the same design agree? (Other seeds, another machine: hardware acts like a seed.)

For every effect both ``effects.csv`` files hold (same source, target, volume):

- a **contradiction** is an effect clear in both with opposite signs: with calibrated intervals and a
  5 % false discovery rate this should (almost) never happen;
- **containment**: each estimate inside the other study's 95 % interval. Even with perfect intervals this
  does not always happen, since both estimates are noisy: if the two studies are independent replicates,
  ``e2 - e1`` has variance ``se1^2 + se2^2``, so ``e2`` lies inside ``e1 +- h1`` with probability
  ``2 F(h1 / sqrt(se1^2 + se2^2)) - 1`` (``F`` the normal cdf; about 0.83 when both intervals are normal
  and equally wide, more with t quantiles). ``expected`` sums these probabilities;
- **agreement of verdicts**: the same verdict in both, and the direct effects clear in both.

>>> a = [{"source": "C", "target": "code avg", "n_train": "400", "effect": "0.70", "ci_low": "0.57",
...       "ci_high": "0.83", "se": "0.04", "verdict": "direct", "source_type": "code", "target_type": "code"}]
>>> b = [{**a[0], "effect": "0.66", "ci_low": "0.50", "ci_high": "0.82", "se": "0.05"}]
>>> r = compare_effects(a, b)
>>> r.pairs, r.contradictions, r.contained, r.direct_clear_in_both, r.direct_total
(1, 0, 2, 1, 1)
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scipy.special import ndtr  # the normal cdf


@dataclass
class Agreement:
    pairs: int = 0
    contradictions: int = 0
    contained: int = 0  # estimates inside the other study's interval (2 per pair at most)
    expected_contained: float = 0.0  # what calibrated intervals of independent replicates give
    compared: int = 0  # estimates that had an interval to fall in
    same_verdict: int = 0
    direct_total: int = 0
    direct_clear_in_both: int = 0
    median_width: tuple[float, float] = (float("nan"), float("nan"))
    details: list[str] = field(default_factory=list)

    def summary(self) -> str:
        share = self.contained / self.compared if self.compared else float("nan")
        expect = self.expected_contained / self.compared if self.compared else float("nan")
        return (f"{self.pairs} effects in both: {self.contradictions} contradictions (clear in opposite "
                f"directions); {self.contained} of {self.compared} estimates inside the other study's 95% interval "
                f"({share:.0%}; calibrated intervals of independent replicates give about {expect:.0%}); "
                f"{self.same_verdict} same verdicts; direct effects clear in both: {self.direct_clear_in_both} of "
                f"{self.direct_total}; median interval width {self.median_width[0]:.3f} vs {self.median_width[1]:.3f}")


def _f(row: Mapping[str, Any], key: str) -> float:
    try:
        return float(row.get(key) or "nan")
    except ValueError:
        return float("nan")


def read_effects(path: str | Path) -> list[dict[str, str]]:
    path = Path(path)
    if path.is_dir():
        path = path / "effects.csv"
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def compare_effects(a: Sequence[Mapping[str, Any]], b: Sequence[Mapping[str, Any]]) -> Agreement:
    """How the effects of two studies of one design agree (see the module docstring)."""
    # the combination of axis values is part of an effect's name (absent from files written before axes)
    key = lambda r: (r["source"], r["target"], str(r["n_train"]), r.get("slice") or "")  # noqa: E731
    other = {key(r): r for r in b}
    out = Agreement()
    widths: tuple[list[float], list[float]] = ([], [])
    for ra in a:
        rb = other.get(key(ra))
        if rb is None:
            continue
        out.pairs += 1
        ea, eb = _f(ra, "effect"), _f(rb, "effect")
        clear_a, clear_b = ra["verdict"] != "no clear effect", rb["verdict"] != "no clear effect"
        if clear_a and clear_b and ea * eb < 0:
            out.contradictions += 1
            out.details.append(f"contradiction: {key(ra)} {ea:+.3f} vs {eb:+.3f}")
        out.same_verdict += ra["verdict"] == rb["verdict"]
        if ra.get("source_type") and ra["source_type"] == ra.get("target_type") and ra["target"].endswith(" avg"):
            out.direct_total += 1
            out.direct_clear_in_both += ra["verdict"] == "direct" and rb["verdict"] == "direct"
        sa, sb = _f(ra, "se"), _f(rb, "se")
        for (lo, hi, se_own), (e2, se2), w in (
                ((_f(ra, "ci_low"), _f(ra, "ci_high"), sa), (eb, sb), widths[0]),
                ((_f(rb, "ci_low"), _f(rb, "ci_high"), sb), (ea, sa), widths[1])):
            if math.isnan(lo) or math.isnan(hi):
                continue
            w.append(hi - lo)
            out.compared += 1
            out.contained += lo <= e2 <= hi
            spread = math.sqrt(se_own**2 + se2**2) if math.isfinite(se2) else se_own
            half = (hi - lo) / 2
            out.expected_contained += 1.0 if spread == 0 else float(2 * ndtr(half / spread) - 1)
    med = lambda xs: sorted(xs)[len(xs) // 2] if xs else float("nan")  # noqa: E731
    out.median_width = (med(widths[0]), med(widths[1]))
    return out
