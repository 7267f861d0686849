"""The instruction-dynamics paper's readings (DoIT, arXiv 2310.19651), with calibrated intervals.

- **Transfer matrix**: each single-source arm against the base model on every ability, at one volume: the
  diagonal is an ability's own gain, the rest is transfer (positive) or interference (negative). Every cell
  is a paired comparison (same items, every seed against the one base run), clustered over item contents;
  the Benjamini-Hochberg adjustment runs over the whole matrix.
- **Growth pace**: an ability's gain per x4 more data along a nested volume ladder, for the arm trained on
  it. The pace is a linear contrast of the ladder's runs (``sum_v w_v score_v`` with least-squares weights
  on ``log4(n)``), computed per seed on the same items and analysed like any paired difference (seeds as the
  unit of replication, item clusters crossed), so its interval is calibrated like the effects'. A ranking of
  abilities by pace says which grow fast and which slowly; two paces whose intervals overlap are not ranked.
- **Data construction** (curated against generated): an arm named after an ability and a suffix
  (``bullets_taught``: the same ability's instructions answered by a teacher) against the arm named after the
  ability alone, on that ability, at every volume both were trained at: paired over seeds and items, with
  Benjamini-Hochberg over the comparisons. Next to the two arms' growth paces it says whether the generated
  data keeps up with the curated as volume grows, or stops.

>>> import numpy as np
>>> np.round(ladder_weights([100, 400, 1600]), 3).tolist()
[-0.5, 0.0, 0.5]
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from mixlab.analysis.effects import ArmComparison, compare_arms
from mixlab.analysis.inference import Estimate, benjamini_hochberg, crossed_estimate, paired_estimate
from mixlab.analysis.scores import StudyScores, Target

FDR = 0.05


def single_arms(scores: StudyScores, n_train: int | None = None) -> list[str]:
    """The arms trained on one source (no ``+``)."""
    return [m for m in scores.mixtures(n_train) if "+" not in m]


# ----------------------------------------------------------------------------------- transfer matrix
def transfer_matrix(scores: StudyScores, n_train: int | None = None) -> list[ArmComparison]:
    """Every single-source arm minus the base model on every ability at ``n_train`` (default: the largest
    volume), BH-adjusted over all cells. Empty without a base row."""
    if scores.base_run is None:
        return []
    vols = scores.volumes()
    n = n_train if n_train is not None else (vols[-1] if vols else 0)
    cells = [compare_arms(scores, arm, "none", ability, n) for arm in single_arms(scores, n)
             for ability in scores.abilities]
    cells = [c for c in cells if math.isfinite(c.estimate.value)]
    qs = benjamini_hochberg([c.estimate.p_value for c in cells])
    return [replace(c, q_value=q) for c, q in zip(cells, qs, strict=True)]


def transfer_csv(cells: Sequence[ArmComparison]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["trained_on", "ability", "n_train", "gain", "ci_low", "ci_high", "df", "n_seeds", "q_value",
                "clear"])
    for c in cells:
        lo, hi = c.estimate.ci()
        w.writerow([c.a, c.target, c.n_train, _r(c.estimate.value), _r(lo), _r(hi), _r(c.estimate.df),
                    c.estimate.n_seeds, _r(c.q_value), c.clear])
    return out.getvalue()


def format_transfer(cells: Sequence[ArmComparison], width: int = 9) -> str:
    """The matrix as text: rows trained on, columns scored on; ``*`` marks a clear cell (BH 5 %)."""
    if not cells:
        return "transfer matrix: no base model row or no single-source arms"
    rows = list(dict.fromkeys(c.a for c in cells))
    cols = list(dict.fromkeys(c.target for c in cells))
    at = {(c.a, c.target): c for c in cells}
    head = f"{'trained on':<14}" + "".join(f"{col[:width - 1]:>{width}}" for col in cols)
    lines = [f"gain over the base model at n={cells[0].n_train} (* clear after Benjamini-Hochberg over "
             f"{len(cells)} cells)", head]
    for r in rows:
        cells_txt = []
        for col in cols:
            c = at.get((r, col))
            cells_txt.append(f"{c.estimate.value:+.2f}{'*' if c.clear else ' '}" if c else "")
        lines.append(f"{r:<14}" + "".join(f"{t:>{width}}" for t in cells_txt))
    return "\n".join(lines)


# --------------------------------------------------------------------------------------- growth pace
def ladder_weights(volumes: Sequence[int]) -> np.ndarray:
    """Least-squares slope weights on ``log4(n)``: ``sum_v w_v y_v`` is the fitted gain per x4."""
    x = np.log(np.asarray(volumes, dtype=np.float64)) / math.log(4)
    dx = x - x.mean()
    return dx / float(np.sum(dx**2))


@dataclass(frozen=True)
class Pace:
    mixture: str
    ability: str
    volumes: tuple[int, ...]
    estimate: Estimate
    level: str  # "items" (paired over the same items) or "runs"


def growth_pace(scores: StudyScores, mixture: str, target: str | Target) -> Pace:
    """The gain per x4 more data of ``target`` along ``mixture``'s volume ladder, with its inference."""
    t = scores.target(target) if isinstance(target, str) else target
    vols = [n for n in scores.volumes() if n > 0 and mixture in scores.mixtures(n)]
    seeds = [s for s in scores.seeds() if all(scores.run(mixture, n, s) for n in vols)]
    if len(vols) < 2 or not seeds:
        est = Estimate(float("nan"), float("nan"), float("nan"), len(seeds), 0, note="fewer than two volumes")
        return Pace(mixture, t.name, tuple(vols), est, "runs")
    w = ladder_weights(vols)
    runs = [[str(scores.run(mixture, n, s)) for n in vols] for s in seeds]  # every run exists (seeds above)
    flat = sorted({r for row in runs for r in row})
    view = scores.item_view(flat, t)
    if view is not None:
        index = {r: i for i, r in enumerate(flat)}
        D = np.array([np.sum([wv * view.values[index[r]] for wv, r in zip(w, row, strict=True)], axis=0)
                      for row in runs])
        return Pace(mixture, t.name, tuple(vols), paired_estimate(D, view.weights, view.clusters), "items")
    d = np.array([[float(np.dot(w, [scores.value(r, t) for r in row]))] for row in runs])
    return Pace(mixture, t.name, tuple(vols), crossed_estimate(d), "runs")


def own_ability(arm: str, abilities: Sequence[str]) -> str | None:
    """The ability an arm is named after: its name, or the longest ability its name starts with before a
    ``_``, ``-`` or ``.`` suffix (``bullets_taught`` -> ``bullets``; ``code_arith`` is an ability itself).

    >>> own_ability("code_arith_taught", ["code_arith", "code_string", "arith"]), own_ability("A", ["arith"])
    ('code_arith', None)
    """
    if arm in abilities:
        return arm
    prefixes = [a for a in abilities if len(arm) > len(a) + 1 and arm.startswith(a) and arm[len(a)] in "_-."]
    return max(prefixes, key=len) if prefixes else None


def own_paces(scores: StudyScores, source_types: Mapping[str, str] | None = None) -> list[Pace]:
    """For each single-source arm, the pace of what it trains, fastest first: the ability it is named after (a
    world source per ability, ``arith``, or ``bullets_taught``), else its type's average (``source_types``:
    ``{"C": "code"}``)."""
    types = dict(source_types or {})
    out = []
    for arm in single_arms(scores):
        if sum(1 for n in scores.volumes() if n > 0 and arm in scores.mixtures(n)) < 2:
            continue  # one volume: no ladder, no pace (nothing printed rather than an empty interval)
        if (ability := own_ability(arm, scores.abilities)) is not None:
            out.append(growth_pace(scores, arm, ability))
        elif types.get(arm) and any(t.name == f"{types[arm]} avg" for t in scores.targets()):
            out.append(growth_pace(scores, arm, f"{types[arm]} avg"))
    return sorted(out, key=lambda p: -p.estimate.value if math.isfinite(p.estimate.value) else math.inf)


def format_paces(paces: Sequence[Pace]) -> str:
    if not paces:
        return "growth pace: no single-source arm with two or more volumes"
    lines = [f"growth pace (gain per x4 more data, 95% CI; volumes {', '.join(map(str, paces[0].volumes))})"]
    for p in paces:
        ci = _ci_words(p.estimate)
        lines.append(f"  {p.ability:<14} {p.estimate.value:+.3f} {ci}  trained on {p.mixture}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ data construction
def construction_comparisons(scores: StudyScores) -> list[ArmComparison]:
    """Each arm ``<ability><sep><suffix>`` minus the arm ``<ability>`` on that ability, at every volume both
    have, BH-adjusted over all of them (an empty list when no arm has a same-ability counterpart)."""
    arms = single_arms(scores)
    cells = []
    for arm in arms:
        ability = own_ability(arm, scores.abilities)
        if ability is None or ability == arm or ability not in arms:
            continue
        for n in scores.volumes():
            if n > 0 and arm in scores.mixtures(n) and ability in scores.mixtures(n):
                cells.append(compare_arms(scores, arm, ability, ability, n))
    cells = [c for c in cells if math.isfinite(c.estimate.value)]
    qs = benjamini_hochberg([c.estimate.p_value for c in cells])
    return [replace(c, q_value=q) for c, q in zip(cells, qs, strict=True)]


def format_construction(cells: Sequence[ArmComparison]) -> str:
    lines = [f"data construction: each arm against the curated arm of its ability, on that ability (95% CI; "
             f"* clear after Benjamini-Hochberg over {len(cells)})"]
    for c in cells:
        lines.append(f"  {c.a:<18} - {c.b:<12} n={c.n_train:<5} {c.estimate.value:+.3f} {_ci_words(c.estimate)}"
                     f"{' *' if c.clear else ''}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------ per axis value, files
@dataclass(frozen=True)
class Dynamics:
    label: str  # the combination of axis values ("" without axes)
    paces: list[Pace]
    transfer: list[ArmComparison]
    construction: list[ArmComparison] = field(default_factory=list)


def study_dynamics(scores: StudyScores, source_types: Mapping[str, str] | None = None) -> list[Dynamics]:
    """Paces and the transfer matrix for every combination of axis values (one entry without axes); the
    matrix's BH family is one combination's cells."""
    out = []
    for values in scores.axis_combinations():
        part = scores.where(values) if values else scores
        label = ",".join(f"{k}={v}" for k, v in values.items())
        out.append(Dynamics(label, own_paces(part, source_types), transfer_matrix(part),
                            construction_comparisons(part)))
    return out


def write_dynamics(study_dir: str | Path, found: Sequence[Dynamics]) -> list[Path]:
    """``pace.csv``, ``transfer.csv`` and ``construction.csv`` (a ``slice`` column names the axis values) where
    there is something."""
    from mixlab.artifacts import atomic_write_text

    written = []
    paces = [(d.label, p) for d in found for p in d.paces]
    if paces:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["slice", "trained_on", "target", "volumes", "pace_per_x4", "ci_low", "ci_high", "df", "n_seeds",
                    "level"])
        for label, p in paces:
            lo, hi = p.estimate.ci()
            w.writerow([label, p.mixture, p.ability, " ".join(map(str, p.volumes)), _r(p.estimate.value), _r(lo),
                        _r(hi), _r(p.estimate.df), p.estimate.n_seeds, p.level])
        atomic_write_text(Path(study_dir) / "pace.csv", buf.getvalue())
        written.append(Path(study_dir) / "pace.csv")
    cells = [(d.label, c) for d in found for c in d.transfer]
    if cells:
        text = transfer_csv([c for _, c in cells]).splitlines()
        rows = ["slice," + text[0]] + [f"{_csv_cell(label)},{line}" for (label, _), line in zip(cells, text[1:],
                                                                                               strict=True)]
        atomic_write_text(Path(study_dir) / "transfer.csv", "\n".join(rows) + "\n")
        written.append(Path(study_dir) / "transfer.csv")
    built = [(d.label, c) for d in found for c in d.construction]
    if built:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["slice", "arm", "against", "ability", "n_train", "difference", "ci_low", "ci_high", "df",
                    "n_seeds", "q_value", "clear"])
        for label, c in built:
            lo, hi = c.estimate.ci()
            w.writerow([label, c.a, c.b, c.target, c.n_train, _r(c.estimate.value), _r(lo), _r(hi),
                        _r(c.estimate.df), c.estimate.n_seeds, _r(c.q_value), c.clear])
        atomic_write_text(Path(study_dir) / "construction.csv", buf.getvalue())
        written.append(Path(study_dir) / "construction.csv")
    return written


def _csv_cell(text: str) -> str:
    return f'"{text}"' if "," in text else text


def dynamics_html(found: Sequence[Dynamics]) -> str:
    """The report's section: growth pace per axis value (side by side) and each value's transfer matrix."""
    import html

    if not any(d.paces or d.transfer or d.construction for d in found):
        return ""
    out = ["<h2>Growth pace and transfer</h2><p class='note'>Growth pace: the gain per x4 more data of what "
           "each single-source arm trains, a least-squares contrast of the ladder's runs per seed, paired over "
           "the same items (95 % t interval, seeds as the unit, item clusters crossed). Transfer: each "
           "single-source arm minus the base model on every ability at the largest volume; <b>bold</b> = clear "
           "after Benjamini-Hochberg over the matrix's cells. Written to <code>pace.csv</code> and "
           "<code>transfer.csv</code>.</p>"]
    labelled = [d for d in found if d.paces]
    if labelled:
        targets = list(dict.fromkeys((p.mixture, p.ability) for d in labelled for p in d.paces))
        head = "".join(f"<th>{html.escape(d.label or 'pace')}</th>" for d in labelled)
        body = []
        for mix, target in targets:
            cells = []
            for d in labelled:
                p = next((p for p in d.paces if (p.mixture, p.ability) == (mix, target)), None)
                if p is None or not math.isfinite(p.estimate.value):
                    cells.append("<td></td>")
                    continue
                cells.append(f"<td>{p.estimate.value:+.3f} {html.escape(_ci_words(p.estimate))}</td>")
            body.append(f"<tr><td>{html.escape(target)} (trained on {html.escape(mix)})</td>{''.join(cells)}</tr>")
        out.append(f"<h3>Growth pace per x4 data</h3><table><tr><th>target</th>{head}</tr>{''.join(body)}</table>")
    for d in found:
        if not d.transfer:
            continue
        rows = list(dict.fromkeys(c.a for c in d.transfer))
        cols = list(dict.fromkeys(c.target for c in d.transfer))
        at = {(c.a, c.target): c for c in d.transfer}
        head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
        body = []
        for r in rows:
            tds = []
            for col in cols:
                c = at.get((r, col))
                if c is None:
                    tds.append("<td></td>")
                    continue
                lo, hi = c.estimate.ci()
                title = f"95% CI {lo:+.3f} to {hi:+.3f}, q = {c.q_value:.3g}" if math.isfinite(lo) else "one seed"
                val = f"{c.estimate.value:+.3f}"
                tds.append(f"<td title='{title}'>{'<b>' + val + '</b>' if c.clear else val}</td>")
            body.append(f"<tr><td>{html.escape(r)}</td>{''.join(tds)}</tr>")
        where = f"{d.label}; " if d.label else ""
        out.append(f"<h3>Transfer matrix ({html.escape(where)}n = {d.transfer[0].n_train}; rows: trained on, "
                   f"columns: scored on)</h3><table><tr><th></th>{head}</tr>{''.join(body)}</table>")
    built = [d for d in found if d.construction]
    if built:
        rows_html = []
        for d in built:
            for c in d.construction:
                val = f"{c.estimate.value:+.3f} {html.escape(_ci_words(c.estimate))}"
                rows_html.append(f"<tr><td>{html.escape(d.label)}</td><td>{html.escape(c.a)} - {html.escape(c.b)}"
                                 f"</td><td>{c.n_train}</td><td>{'<b>' + val + '</b>' if c.clear else val}</td></tr>")
        out.append("<h3>Data construction: generated against curated</h3><p class='note'>Each arm named after an "
                   "ability and a suffix (<code>bullets_taught</code>) minus the arm of that ability's curated "
                   "data, on that ability, at each volume (paired over seeds and items; <b>bold</b> = clear "
                   "after Benjamini-Hochberg over these rows). Written to <code>construction.csv</code>.</p>"
                   "<table><tr><th>slice</th><th>arms</th><th>n</th><th>difference (95% CI)</th></tr>"
                   f"{''.join(rows_html)}</table>")
    return "".join(out)


def _ci_words(est: Estimate) -> str:
    """The interval in words; a zero-width one says why (every seed and item gave the same contrast: pass/fail
    items at a floor or ceiling), rather than claiming certainty."""
    lo, hi = est.ci()
    if not math.isfinite(lo):
        return "(no interval: one seed)"
    if est.no_variation:
        return "(no variation over seeds and items: no interval)"
    return f"({lo:+.3f} to {hi:+.3f})"


def _r(x: float) -> object:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), 6)
