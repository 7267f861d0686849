"""The paper-style mixture table: rows = mixtures (base first), columns = abilities and per-type averages.

Values are each ability's primary metric, averaged over seeds; ``spread`` is the standard deviation over
seeds (0 with one seed). The best value of each column is marked.

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
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

TYPE_ORDER = ("nlp", "code", "chat", "math")


@dataclass(frozen=True)
class Cell:
    mean: float
    spread: float  # standard deviation over seeds
    stderr: float  # mean item-level standard error
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

    def cell(self, mixture: str, column: str) -> Cell:
        return self.cells.get((mixture, column), Cell(float("nan"), float("nan"), float("nan"), 0))

    def is_best(self, mixture: str, column: str, digits: int = 3) -> bool:
        """True for every mixture that ties the best value of ``column`` to ``digits`` decimals, as printed."""
        best = self.best.get(column)
        if best is None:
            return False
        return round(self.cell(mixture, column).mean, digits) == round(self.cell(best, column).mean, digits)


def primary_rows(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [r for r in rows if r.get("primary") in (True, "True", "true", 1)]


def mixture_order(labels: Sequence[str]) -> list[str]:
    """Base first, then by number of sources, then alphabetically: none, A, C, P, A+C, A+P, C+P, A+C+P."""
    uniq = sorted(set(labels), key=lambda m: (m != "none", 0 if m == "none" else m.count("+") + 1, m))
    return uniq


def ability_order(rows: Sequence[Mapping[str, Any]]) -> tuple[list[str], dict[str, str]]:
    kind: dict[str, str] = {}
    first_seen: dict[str, int] = {}
    for i, r in enumerate(rows):
        kind.setdefault(r["ability"], r["instruction_type"])
        first_seen.setdefault(r["ability"], i)
    rank = {t: i for i, t in enumerate(TYPE_ORDER)}
    order = sorted(kind, key=lambda a: (rank.get(kind[a], len(rank)), kind[a], first_seen[a]))
    return order, kind


def volumes(rows: Sequence[Mapping[str, Any]]) -> list[int]:
    return sorted({int(r["n_train"]) for r in rows if int(r["n_train"]) > 0})


def mixture_table(rows: Sequence[Mapping[str, Any]], n_train: int | None = None) -> MixtureTable:
    """The table at one data volume (default: the largest); the base row (``none``) is always included."""
    prim = primary_rows(rows)
    vols = volumes(prim)
    if n_train is None and vols:
        n_train = vols[-1]
    chosen = [r for r in prim if r["mixture"] == "none" or n_train is None or int(r["n_train"]) == n_train]
    abilities, kinds = ability_order(prim)
    types = [t for t in dict.fromkeys(kinds[a] for a in abilities)]
    columns = abilities + [f"{t} avg" for t in types] + ["avg"]
    table = MixtureTable(n_train, mixture_order([r["mixture"] for r in chosen]), abilities, kinds, columns)
    table.chance = {r["ability"]: float(r["chance"]) for r in chosen if _finite(r.get("chance"))}
    by: dict[tuple[str, str], dict[int, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
    for r in chosen:
        by[(r["mixture"], r["ability"])][int(r["seed"])].append((float(r["value"]), float(r.get("stderr") or 0)))
    for (mix, ability), per_seed in by.items():
        vals = [statistics.fmean(v for v, _ in xs) for xs in per_seed.values()]
        errs = [statistics.fmean(e for _, e in xs) for xs in per_seed.values()]
        table.cells[(mix, ability)] = _cell(vals, errs)
    for mix in table.mixtures:
        for t in types:
            _average(table, mix, f"{t} avg", [a for a in abilities if kinds[a] == t])
        _average(table, mix, "avg", abilities)
    for col in columns:
        cands = [m for m in table.mixtures if not math.isnan(table.cell(m, col).mean)]
        if cands:
            table.best[col] = max(cands, key=lambda m: table.cell(m, col).mean)
    return table


def _average(table: MixtureTable, mix: str, column: str, abilities: Sequence[str]) -> None:
    cells = [table.cell(mix, a) for a in abilities]
    if cells and all(not math.isnan(c.mean) for c in cells):
        se = math.sqrt(sum(c.stderr ** 2 for c in cells if not math.isnan(c.stderr))) / len(cells)
        table.cells[(mix, column)] = Cell(statistics.fmean(c.mean for c in cells),
                                          statistics.fmean(c.spread for c in cells), se, cells[0].n_seeds)


def _cell(vals: Sequence[float], errs: Sequence[float]) -> Cell:
    spread = statistics.stdev(vals) if len(vals) > 1 else 0.0
    return Cell(statistics.fmean(vals), spread, statistics.fmean(errs), len(vals))


def _finite(x: Any) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def format_table(table: MixtureTable, digits: int = 3) -> str:
    """Plain-text table; the best value of each column is marked with ``*``."""
    head = ["mixture", *table.columns]
    lines = [[m] + [table.cell(m, c).fmt(digits) + ("*" if table.is_best(m, c, digits) else "")
                    for c in table.columns] for m in table.mixtures]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines, strict=True)]
    out = ["  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(head, widths, strict=True)))]
    out.append("  ".join("-" * w for w in widths))
    for line in lines:
        out.append("  ".join(x.rjust(w) if i else x.ljust(w) for i, (x, w) in enumerate(zip(line, widths, strict=True))))
    return "\n".join(out)
