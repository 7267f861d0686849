"""What the user wants from a mixture: a weighted mean of instruction types' averages and single abilities.

``"code=2,chat=1,nlp=0.5"`` weights ``code avg`` twice as much as ``chat avg`` and four times ``nlp avg``; a
name that is an ability (``bullets=1``) weights that ability alone. The objective of a run is
``sum(w * value) / sum(|w|)``: on the 0-1 scale of the averages when every weight is positive.

>>> obj = Objective.parse("code=2,chat=1")
>>> obj.targets, obj.weights
(('code avg', 'chat avg'), (2.0, 1.0))
>>> round(obj.value({"code avg": 0.9, "chat avg": 0.3}), 6)
0.7
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mixlab.errors import SpecError

TYPES = ("nlp", "code", "chat", "math")


@dataclass(frozen=True)
class Objective:
    targets: tuple[str, ...]  # "<type> avg" or an ability name, as in results and effects
    weights: tuple[float, ...]
    text: str = ""

    @classmethod
    def parse(cls, text: str, abilities: Sequence[str] = ()) -> Objective:
        """``name=weight`` pairs, comma-separated; names are types or abilities (checked when given)."""
        targets, weights, problems = [], [], []
        for part in [p.strip() for p in text.split(",") if p.strip()]:
            name, sep, value = part.partition("=")
            name = name.strip()
            try:
                w = float(value) if sep else 1.0
            except ValueError:
                problems.append(f"{part!r}: the weight must be a number, e.g. {name}=2")
                continue
            target = f"{name} avg" if name in TYPES else name
            if abilities and name not in TYPES and name not in abilities and name != "avg":
                problems.append(f"{name!r}: neither a type ({', '.join(TYPES)}) nor an ability of the study "
                                f"({', '.join(abilities)})")
                continue
            if w == 0:
                continue
            targets.append(target)
            weights.append(w)
        if not targets and not problems:
            problems.append(f"{text!r}: give at least one name=weight, e.g. code=2,chat=1")
        if problems:
            raise SpecError("objective", problems)
        return cls(tuple(targets), tuple(weights), text)

    def value(self, values: Mapping[str, float]) -> float:
        """The objective from target values (NaN if one is missing)."""
        total = sum(abs(w) for w in self.weights)
        return sum(w * values.get(t, float("nan")) for t, w in zip(self.targets, self.weights, strict=True)) / total
