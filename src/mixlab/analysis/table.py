"""The paper-style mixture table: rows = mixtures (base first), columns = abilities and per-type averages.

Values are each ability's primary metric, averaged over seeds; ``spread`` is the standard deviation over
seeds (0 with one seed). Averages put every ability on 0-1 by its declared range first (a 1-10 judge
rating is never averaged with an accuracy). The best value of each column is marked.

>>> rows = [
...     {"run_id": "b", "mixture": "none", "n_train": 0, "seed": 0, "instruction_type": "code",
...      "ability": "x", "metric": "acc", "value": 0.1, "stderr": 0.02, "primary": True},
...     {"run_id": "c", "mixture": "C", "n_train": 10, "seed": 0, "instruction_type": "code",
...      "ability": "x", "metric": "acc", "value": 0.5, "stderr": 0.05, "primary": True}]
>>> t = mixture_table(rows, n_train=10)
>>> t.mixtures, t.columns, t.cell("C", "x").mean, t.best["x"]
(['none', 'C'], ['x', 'code avg', 'avg'], 0.5, 'C')
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mixlab.analysis.scores import (
    StudyScores,
    ability_order,
    primary_rows,
    volumes,
)

__all__ = ["Cell", "MixtureTable", "ability_order", "format_table", "mixture_order", "mixture_table",
           "primary_rows", "volumes"]


@dataclass(frozen=True)
class Cell:
    mean: float
    spread: float  # standard deviation over seeds
    n_seeds: int

    def fmt(self, digits: int = 3) -> str:
        if math.isnan(self.mean):
            return "-"
        return f"{self.mean:.{digits}f}"


@dataclass
class MixtureTable:
    n_train: int | None
    mixtures: list[str]
    abilities: list[str]
    ability_type: dict[str, str]
    columns: list[str]
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)
    #: column -> the best mixture (the first in row order among ties); ``is_best`` also marks ties
    best: dict[str, str] = field(default_factory=dict)
    chance: dict[str, float] = field(default_factory=dict)
    #: ability -> its range, for abilities not on 0-1 (averages always put abilities on 0-1 first)
    scales: dict[str, tuple[float, float]] = field(default_factory=dict)

    def cell(self, mixture: str, column: str) -> Cell:
        return self.cells.get((mixture, column), Cell(float("nan"), float("nan"), 0))

    def is_best(self, mixture: str, column: str, digits: int = 3) -> bool:
        """True for every mixture that ties the best value of ``column`` to ``digits`` decimals, as printed."""
        best = self.best.get(column)
        if best is None:
            return False
        return round(self.cell(mixture, column).mean, digits) == round(self.cell(best, column).mean, digits)


def mixture_order(labels: Sequence[str]) -> list[str]:
    """Base first, then by number of sources, then alphabetically: none, A, C, P, A+C, A+P, C+P, A+C+P."""
    uniq = sorted(set(labels), key=lambda m: (m != "none", 0 if m == "none" else m.count("+") + 1, m))
    return uniq


def mixture_table(rows: Sequence[Mapping[str, Any]] | StudyScores, n_train: int | None = None) -> MixtureTable:
    """The table at one data volume (default: the largest); the base row (``none``) is always included.

    Ability columns keep each ability's own scale; ``<type> avg`` and ``avg`` average abilities on 0-1.
    """
    scores = rows if isinstance(rows, StudyScores) else StudyScores(rows)
    vols = scores.volumes()
    if n_train is None and vols:
        n_train = vols[-1]
    targets = scores.targets()
    mixtures = mixture_order((["none"] if scores.base_run else []) + scores.mixtures(n_train))
    table = MixtureTable(n_train, mixtures, list(scores.abilities), dict(scores.kinds), [t.name for t in targets],
                         chance=dict(scores.chance),
                         scales={a: s for a, s in scores.scales.items() if s != (0.0, 1.0)})
    for mix in mixtures:
        runs = ([scores.base_run] if mix == "none" else
                [r for s in scores.seeds(n_train) if (r := scores.run(mix, n_train or 0, s)) is not None])
        for t in targets:
            vals = [v for r in runs if r is not None and not math.isnan(v := scores.value(r, t))]
            if vals:
                table.cells[(mix, t.name)] = Cell(statistics.fmean(vals),
                                                  statistics.stdev(vals) if len(vals) > 1 else 0.0, len(vals))
    for col in table.columns:
        cands = [m for m in table.mixtures if not math.isnan(table.cell(m, col).mean)]
        if cands:
            table.best[col] = max(cands, key=lambda m: table.cell(m, col).mean)
    return table


def format_table(table: MixtureTable, digits: int = 3, spread: bool = False) -> str:
    """Plain-text table; the best value of each column is marked with ``*``; with ``spread``, the averages
    also show their standard deviation over seeds (``0.876±0.012``)."""
    head = ["mixture", *table.columns]

    def text(m: str, c: str) -> str:
        cell = table.cell(m, c)
        out = cell.fmt(digits) + ("*" if table.is_best(m, c, digits) else "")
        if spread and c.endswith("avg") and cell.n_seeds > 1:
            out += f"±{cell.spread:.{digits}f}"
        return out

    lines = [[m] + [text(m, c) for c in table.columns] for m in table.mixtures]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines, strict=True)]
    out = ["  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(head, widths, strict=True)))]
    out.append("  ".join("-" * w for w in widths))
    for line in lines:
        out.append("  ".join(x.rjust(w) if i else x.ljust(w) for i, (x, w) in enumerate(zip(line, widths, strict=True))))
    return "\n".join(out)
