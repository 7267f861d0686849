"""One view of a study's results store for every analysis: ability values, averages on a common scale, runs
by design coordinates, and item vectors for paired comparisons.

- An **ability's value** in a run is the mean of its tasks' primary metrics. Tasks on different scales (a 1-10
  judge rating beside a 0-1 accuracy) are first put on 0-1 by their declared ranges (``scale_min``,
  ``scale_max`` in ``results.csv``), so no number ever mixes scales.
- A **target** is an ability, a ``<type> avg`` (the mean of that type's abilities) or ``avg`` (every ability).
  Averages always use 0-1 values (each ability divided by its range); a single ability keeps its own scale.
- **Runs** are found by design coordinates (``mixture, n_train, seed``); the base model (``none``) is one run
  that serves every volume and seed.
- **Axes**: a study with named axes (``lr``, ``size``; ``docs/study.md``) has one results column per axis;
  each run's axis values are in ``axis_values`` (empty for a base row that every value of an axis shares).
  ``where({"lr": "0.001"})`` is the study at one combination of axis values, a ``StudyScores`` without axes
  in which every analysis works as in a study without them; ``run_where`` finds a run across values.
- **Items**: when the item store (``items.csv.gz``) covers a target's tasks, the target's value in a run is
  a weighted mean over items (weights ``1 / (abilities x tasks x items)``), with each item's content cluster:
  paired, clustered inference reads this. Otherwise comparisons fall back to run-level values (said so).

>>> rows = [{"run_id": "r", "mixture": "A", "n_train": 10, "seed": 0, "instruction_type": "chat",
...          "ability": "chat", "task": "mt", "metric": "score", "value": 7.0, "primary": True,
...          "scale_min": 1.0, "scale_max": 10.0},
...         {"run_id": "r", "mixture": "A", "n_train": 10, "seed": 0, "instruction_type": "chat",
...          "ability": "follow", "task": "if", "metric": "acc", "value": 0.5, "primary": True}]
>>> s = StudyScores(rows)
>>> s.value("r", s.target("chat")), round(s.value("r", s.target("chat avg")), 3)   # (7-1)/9 and 0.5
(7.0, 0.583)
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mixlab.study.store import ITEM_STORE_COLUMNS, RESULT_COLUMNS

TYPE_ORDER = ("nlp", "code", "chat", "math")
UNIT = (0.0, 1.0)


def primary_rows(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [r for r in rows if r.get("primary") in (True, "True", "true", 1)]


#: continuous per-item scores a task may report beside a pass/fail primary metric, on 0-1, higher is better:
#: ``prob_gold`` (multiple choice by log-likelihood: the gold choice's probability over the choices) and
#: ``prob_answer`` (the world's generation tasks: the reference answer's per-token probability, geometric mean)
CONTINUOUS_METRICS = ("prob_gold", "prob_answer")


def continuous_rows(rows: Sequence[Mapping[str, Any]]) -> tuple[list[Mapping[str, Any]], set[str]]:
    """The results rows with each task's continuous counterpart (``CONTINUOUS_METRICS``) as its primary metric
    where the task reports one, its own primary metric otherwise; and the tasks that have one. A
    ``StudyScores`` of these rows has the same targets on a smoother scale (what a surrogate can regress on).

    >>> rows = [{"run_id": "r", "task": "arc", "metric": "acc", "value": 1.0, "primary": True},
    ...         {"run_id": "r", "task": "arc", "metric": "prob_gold", "value": 0.6, "primary": False},
    ...         {"run_id": "r", "task": "code", "metric": "pass@1", "value": 0.5, "primary": True}]
    >>> out, tasks = continuous_rows(rows)
    >>> [(r["metric"], r["value"]) for r in primary_rows(out)], tasks
    ([('prob_gold', 0.6), ('pass@1', 0.5)], {'arc'})
    """
    rank = {m: i for i, m in enumerate(CONTINUOUS_METRICS)}
    best: dict[tuple[str, str], Mapping[str, Any]] = {}
    for r in rows:
        m = r.get("metric")
        if m in rank and _finite(r.get("value")) is not None:
            key = (str(r["run_id"]), str(r.get("task") or r["ability"]))
            if key not in best or rank[m] < rank[best[key]["metric"]]:
                best[key] = r
    out: list[Mapping[str, Any]] = []
    for r in rows:
        key = (str(r["run_id"]), str(r.get("task") or r["ability"]))
        if key not in best:
            out.append(r)
        elif r is best[key]:
            out.append({**r, "primary": True, "scale_min": 0.0, "scale_max": 1.0})
        elif r.get("primary") in (True, "True", "true", 1):
            out.append({**r, "primary": False})
        else:
            out.append(r)
    return out, {task for _, task in best}


def ability_order(rows: Sequence[Mapping[str, Any]]) -> tuple[list[str], dict[str, str]]:
    """Abilities in type order (nlp, code, chat, math, others), then as first seen; and each one's type."""
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


def _finite(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def scale_of(row: Mapping[str, Any]) -> tuple[float, float]:
    """A score row's declared range (0-1 when the row declares none)."""
    lo, hi = _finite(row.get("scale_min")), _finite(row.get("scale_max"))
    return (lo, hi) if lo is not None and hi is not None and hi > lo else UNIT


def normalise(value: float, scale: tuple[float, float]) -> float:
    """``value`` on 0-1 by its range: ``normalise(7, (1, 10)) == 2/3``."""
    lo, hi = scale
    return (value - lo) / (hi - lo)


def axis_columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The axis columns of a results (or item) store: every column that is not one of the store's own
    (``RESULT_COLUMNS``, ``ITEM_STORE_COLUMNS``), in column order. A store written before axes has none.

    >>> axis_columns([{"run_id": "r", "mixture": "A", "n_train": 1, "seed": 0, "lr": "0.001", "value": 1}])
    ['lr']
    """
    known = set(RESULT_COLUMNS) | set(ITEM_STORE_COLUMNS)
    return [k for k in (rows[0] if rows else {}) if k not in known]


def _text(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return str(v)


@dataclass(frozen=True)
class Target:
    """What a comparison is about: one ability, or the mean of several on 0-1."""

    name: str
    kind: str  # the instruction type of the abilities ("" for the overall average)
    abilities: tuple[str, ...]

    @property
    def is_average(self) -> bool:
        return self.name.endswith("avg")


@dataclass(frozen=True)
class ItemView:
    """Runs x items values of one target, with item weights (summing to 1) and content clusters."""

    values: np.ndarray  # runs x items
    weights: np.ndarray
    clusters: list[str]


class StudyScores:
    """The results store (and item store, when given) indexed for analysis; see the module docstring."""

    def __init__(self, rows: Sequence[Mapping[str, Any]], items: Sequence[Mapping[str, Any]] = (),
                 axes: Sequence[str] | None = None):
        prim = primary_rows(rows)
        self.rows = prim
        self._items_rows = items
        #: the study's axes (default: the results columns that are not store columns), and per run its values
        self.axes: list[str] = list(axes) if axes is not None else axis_columns(rows)
        self.axis_values: dict[str, dict[str, str]] = {}
        self.abilities, self.kinds = ability_order(prim)
        self.types = list(dict.fromkeys(self.kinds[a] for a in self.abilities))
        self.coords: dict[str, tuple[str, int, int]] = {}
        self.by_coords: dict[tuple[str, int, int], str] = {}
        self.base_run: str | None = None
        self._tasks: dict[str, dict[str, tuple[float, float]]] = defaultdict(dict)  # ability -> task -> scale
        self._task_values: dict[tuple[str, str], float] = {}  # (run, task) -> value
        self.chance: dict[str, float] = {}
        for r in prim:
            run, mix, n, seed = str(r["run_id"]), str(r["mixture"]), int(r["n_train"]), int(r["seed"])
            self.coords[run] = (mix, n, seed)
            self.axis_values[run] = {a: _text(r.get(a)) for a in self.axes}
            self.by_coords[(mix, n, seed)] = run
            if mix == "none":
                self.base_run = run
            task = str(r.get("task") or r["ability"])
            self._tasks[r["ability"]][task] = scale_of(r)
            self._task_values[(run, task)] = float(r["value"])
            c = _finite(r.get("chance"))
            if c is not None:
                self.chance.setdefault(r["ability"], c)
        self.scales = {a: self._ability_scale(a) for a in self.abilities}
        self._items: dict[tuple[str, str], dict[str, tuple[str, float]]] = defaultdict(dict)
        self._views: dict[str, tuple[dict[str, int], ItemView] | None] = {}
        for it in items:
            self._items[(str(it["run_id"]), str(it["task"]))][str(it["item"])] = (str(it["cluster"]), float(it["value"]))

    # ------------------------------------------------------------------------------------- structure
    def _ability_scale(self, ability: str) -> tuple[float, float]:
        scales = set(self._tasks[ability].values())
        return scales.pop() if len(scales) == 1 else UNIT  # mixed scales: tasks are put on 0-1 first

    def tasks(self, ability: str) -> list[str]:
        return sorted(self._tasks[ability])

    def targets(self) -> list[Target]:
        """Every ability, then each type's average, then the overall average."""
        out = [Target(a, self.kinds[a], (a,)) for a in self.abilities]
        out += [Target(f"{t} avg", t, tuple(a for a in self.abilities if self.kinds[a] == t)) for t in self.types]
        out.append(Target("avg", "", tuple(self.abilities)))
        return out

    def target(self, name: str) -> Target:
        for t in self.targets():
            if t.name == name:
                return t
        raise KeyError(f"no target {name!r}; known: {', '.join(t.name for t in self.targets())}")

    def volumes(self) -> list[int]:
        return sorted({n for (_, n, _) in self.coords.values() if n > 0})

    def seeds(self, n_train: int | None = None) -> list[int]:
        """The seeds of the trained runs (at one volume, when given)."""
        return sorted({s for (m, n, s) in self.coords.values() if m != "none" and (n_train is None or n == n_train)})

    def mixtures(self, n_train: int | None = None) -> list[str]:
        return sorted({m for (m, n, _) in self.coords.values() if m != "none" and (n_train is None or n == n_train)})

    def run(self, mixture: str, n_train: int, seed: int) -> str | None:
        """The run of an arm at a volume and seed; the base model's one run for ``none``."""
        if mixture == "none":
            return self.base_run
        return self.by_coords.get((mixture, n_train, seed))

    # ------------------------------------------------------------------------------------------ axes
    def axis_levels(self, axis: str) -> list[str]:
        """An axis's values, in the study's order (the first is the reference)."""
        return list(dict.fromkeys(v[axis] for v in self.axis_values.values() if v[axis]))

    def axis_combinations(self) -> list[dict[str, str]]:
        """Every combination of axis values (``[{}]`` without axes), the first axis slowest."""
        combos: list[dict[str, str]] = [{}]
        for a in self.axes:
            combos = [{**c, a: v} for c in combos for v in self.axis_levels(a)]
        return combos

    def matches(self, run: str, values: Mapping[str, str]) -> bool:
        """True when ``run`` belongs to the combination ``values`` (a shared base row belongs to every one)."""
        mine = self.axis_values.get(run, {})
        return all(mine.get(a, "") in ("", v) for a, v in values.items())

    def where(self, values: Mapping[str, str]) -> StudyScores:
        """The study at one combination of axis values: its runs (and shared base rows), without axes."""
        runs = {r for r in self.coords if self.matches(r, values)}
        return StudyScores([r for r in self.rows if str(r["run_id"]) in runs],
                           [it for it in self._items_rows if str(it["run_id"]) in runs], axes=())

    def run_where(self, mixture: str, n_train: int, seed: int, values: Mapping[str, str]) -> str | None:
        """The run of an arm at a volume, seed and combination of axis values (the base: ``n_train`` and
        ``seed`` are ignored)."""
        if not hasattr(self, "_by_design"):
            self._by_design: dict[tuple[str, int, int], list[str]] = defaultdict(list)
            for run, (m, n, s) in self.coords.items():
                self._by_design[(m, 0, 0) if m == "none" else (m, n, s)].append(run)
        key = (mixture, 0, 0) if mixture == "none" else (mixture, n_train, seed)
        return next((r for r in self._by_design.get(key, []) if self.matches(r, values)), None)

    # ---------------------------------------------------------------------------------------- values
    def ability_value(self, run: str, ability: str) -> float:
        """The ability's value in a run (its own scale; tasks on different scales averaged on 0-1)."""
        tasks = self.tasks(ability)
        vals = [self._task_values.get((run, t)) for t in tasks]
        if not tasks or any(v is None for v in vals):
            return float("nan")
        if self.scales[ability] == UNIT and len({self._tasks[ability][t] for t in tasks}) > 1:
            vals = [normalise(v, self._tasks[ability][t]) for v, t in zip(vals, tasks, strict=True)]  # type: ignore[arg-type]
        return statistics.fmean(vals)  # type: ignore[arg-type]

    def value(self, run: str, target: Target) -> float:
        """The target's value in a run: the ability's own, or the mean of abilities on 0-1."""
        if not target.is_average:
            return self.ability_value(run, target.abilities[0])
        vals = [normalise(self.ability_value(run, a), self.scales[a]) for a in target.abilities]
        return statistics.fmean(vals) if vals else float("nan")

    def item_view(self, runs: Sequence[str], target: Target) -> ItemView | None:
        """The target's item values for ``runs``, or ``None`` when one of them lacks item scores for one of
        the target's tasks. Items are those every run with item scores scored, so all comparisons of a
        target use the same items."""
        if target.name not in self._views:
            self._views[target.name] = self._full_view(target)
        full = self._views[target.name]
        if full is None or any(r not in full[0] for r in runs):
            return None
        index, view = full
        rows = [index[r] for r in runs]
        return ItemView(view.values[rows], view.weights, view.clusters)

    def _full_view(self, target: Target) -> tuple[dict[str, int], ItemView] | None:
        tasks = [(a, t) for a in target.abilities for t in self.tasks(a)]
        runs = sorted(r for r in self.coords if all(self._items.get((r, t)) for _, t in tasks))
        if not runs or not tasks:
            return None
        columns: list[tuple[str, str]] = []
        weights: list[float] = []
        clusters: list[str] = []
        offset: list[float] = []
        divisor: list[float] = []
        for ability, task in tasks:
            per_run = [self._items[(r, task)] for r in runs]
            common = sorted(set.intersection(*(set(p) for p in per_run)))
            if not common:
                return None
            w = 1.0 / (len(target.abilities) * len(self.tasks(ability)) * len(common))
            scale = self._tasks[ability][task]
            to_unit = target.is_average or (self.scales[ability] == UNIT and scale != UNIT)
            lo, width = (scale[0], scale[1] - scale[0]) if to_unit else (0.0, 1.0)
            for item in common:
                columns.append((task, item))
                weights.append(w)
                clusters.append(f"{task}|{per_run[0][item][0]}")
                offset.append(lo)
                divisor.append(width)
        values = np.array([[self._items[(r, t)][item][1] for t, item in columns] for r in runs])
        view = ItemView((values - np.array(offset)) / np.array(divisor), np.array(weights), clusters)
        return {r: i for i, r in enumerate(runs)}, view
