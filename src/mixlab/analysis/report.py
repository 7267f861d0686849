"""The HTML report of a study: the mixture table, growth curves, effects in words, training telemetry.

It reads only the results store (``results.csv``, ``items.csv.gz``, ``training.csv``, ``sources.csv``) and
writes one self-contained ``report.html`` (plots embedded as base64 PNG), so the file opens anywhere, and
``effects.csv`` (the same effects the report shows, one row per source x target x volume).
"""

from __future__ import annotations

import base64
import csv
import html
import math
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mixlab.analysis.curves import growth_fits, plot_curves
from mixlab.analysis.dynamics import dynamics_html, study_dynamics, write_dynamics
from mixlab.analysis.effects import (
    FDR,
    ArmComparison,
    StudyEffects,
    describe,
    detectable_line,
    headline_cross_effects,
    study_effects,
    write_effects,
)
from mixlab.analysis.scores import StudyScores
from mixlab.analysis.table import MixtureTable, mixture_table
from mixlab.artifacts import atomic_write_text
from mixlab.study.store import read_items, read_results, read_training

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1180px;color:#222;
line-height:1.45;padding:0 1rem}
h1{margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
.meta{color:#555;font-size:.92rem}
table{border-collapse:collapse;margin:.6rem 0 1rem;font-size:.88rem}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:right}th{background:#f4f5f7}
td:first-child,th:first-child{text-align:left}
td.best{font-weight:700;background:#e8f4e8}td.avg,th.avg{background:#f7f7fb}
.sd{color:#888;font-size:.75rem}
.clear{color:#1a7f37}.unclear{color:#9a6700}.neg{color:#b42318}
img{max-width:100%;border:1px solid #eee}
.note{color:#555;font-size:.85rem}
li{margin:.25rem 0}
"""


def read_sources(study_dir: str | Path) -> dict[str, str]:
    """``{source alias: instruction type}`` from ``sources.csv`` (empty if absent)."""
    path = Path(study_dir) / "sources.csv"
    if not path.exists():
        return {}
    with open(path, encoding="utf-8", newline="") as f:
        return {r["alias"]: r["instruction_type"] for r in csv.DictReader(f) if r.get("instruction_type")}


def table_html(t: MixtureTable, digits: int = 3) -> str:
    head = "".join(f'<th class="{"avg" if c.endswith("avg") else ""}">{html.escape(c)}</th>' for c in t.columns)
    def kind(c: str) -> str:
        scale = t.scales.get(c)
        return t.ability_type.get(c, "") + (f" ({scale[0]:g}-{scale[1]:g})" if scale else "")

    kinds = "".join(f'<th class="{"avg" if c.endswith("avg") else ""}">{html.escape(kind(c))}</th>'
                    for c in t.columns)
    body = []
    for m in t.mixtures:
        cells = []
        for c in t.columns:
            cell = t.cell(m, c)
            cls = " ".join(x for x in ("best" if t.is_best(m, c, digits) else "", "avg" if c.endswith("avg") else "") if x)
            sd = f' <span class="sd">±{cell.spread:.3f}</span>' if cell.n_seeds > 1 and not math.isnan(cell.spread) else ""
            cells.append(f'<td class="{cls}">{cell.fmt(digits)}{sd}</td>')
        body.append(f"<tr><td>{html.escape(m)}</td>{''.join(cells)}</tr>")
    chance = "".join(f"<td>{t.chance[c]:.2f}</td>" if c in t.chance else "<td></td>" for c in t.columns)
    return (f"<table><tr><th>mixture</th>{head}</tr><tr><th>type</th>{kinds}</tr>{''.join(body)}"
            f'<tr class="note"><td>chance</td>{chance}</tr></table>')


def _png(path: str) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode()


def _training_plot(training: Sequence[Mapping[str, Any]], path: str) -> str | None:
    rows = [r for r in training if r.get("source") not in ("all", None) and not math.isnan(r.get("loss") or math.nan)]
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    largest = max(int(r["n_train"]) for r in rows)
    runs = sorted({r["run_id"] for r in rows if int(r["n_train"]) == largest and int(r["seed"]) == min(
        int(x["seed"]) for x in rows)})
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    cmap = plt.get_cmap("tab10")
    sources = sorted({r["source"] for r in rows})
    styles = ["-", "--", ":", "-."]
    for i, run in enumerate(runs[:8]):
        for j, src in enumerate(sources):
            pts = sorted((r["step"], r["loss"]) for r in rows if r["run_id"] == run and r["source"] == src)
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], styles[i % 4], color=cmap(j % 10), lw=1.2,
                        label=f"{src} in {run.split(',')[0][4:]}")
    ax.set_xlabel("step")
    ax.set_ylabel("per-token loss")
    ax.set_title(f"per-source training loss (n={largest} per source, first seed)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6.5, ncol=3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def load_scores(study_dir: str | Path) -> StudyScores:
    """The study's results and item stores, indexed for analysis."""
    return StudyScores(read_results(study_dir), read_items(study_dir))


def build_report(study_dir: str | Path, out: str | Path | None = None, *, title: str | None = None,
                 meta: Mapping[str, Any] | None = None) -> Path:
    """Write ``report.html`` and ``effects.csv`` for the study in ``study_dir`` (from its results store) and
    return the report's path."""
    study_dir = Path(study_dir)
    rows = read_results(study_dir)
    scores = StudyScores(rows, read_items(study_dir))
    training = read_training(study_dir)
    source_types = read_sources(study_dir)
    found = study_effects(scores, source_types)
    write_effects(study_dir, found.effects)
    out = Path(out) if out else study_dir / "report.html"
    parts = [f"<h1>{html.escape(title or 'mixlab study: ' + study_dir.name)}</h1>", _meta_html(rows, scores, meta)]
    parts.append("<h2>Mixture table</h2><p class='note'>Primary metric of every ability (mean over seeds; "
                 "± = standard deviation over seeds); per-type and overall averages put every ability on 0-1 "
                 "by its declared range first; the best value of each column is bold. Base row first.</p>")
    slices = [(_slice(values), scores.where(values) if values else scores) for values in scores.axis_combinations()]
    table_volumes: list[int | None] = [*sorted(scores.volumes(), reverse=True)] or [None]
    for label, part in slices:  # one block per combination of axis values (one block without axes)
        for n in table_volumes:
            where = 'n = ' + str(n) + ' rows per source' if n else 'all runs'
            parts.append(f"<h3>{html.escape(label + '; ' if label else '')}{where}</h3>")
            parts.append(table_html(mixture_table(part, n)))
    with tempfile.TemporaryDirectory() as tmp:
        if scores.volumes():
            parts.append("<h2>Growth curves</h2><p class='note'>Each ability's primary score over data volume "
                         "(rows per source, log scale), one line per mixture; error bars: standard deviation "
                         "over seeds; dashed: base model; dotted: chance."
                         + (" One figure per combination of axis values." if scores.axes else "") + "</p>")
            for i, (label, part) in enumerate(slices):
                img = plot_curves(part, str(Path(tmp) / f"curves{i}.png"))
                parts.append((f"<h3>{html.escape(label)}</h3>" if label else "")
                             + f'<img alt="growth curves {html.escape(label)}" src="{_png(img)}">')
                parts.append(_fits_html(part, label))
        parts.append(_effects_html(found, scores, source_types))
        dynamics = study_dynamics(scores, source_types)
        write_dynamics(study_dir, dynamics)
        parts.append(dynamics_html(dynamics))
        parts.append(_search_html(study_dir, tmp))
        tplot = _training_plot(training, str(Path(tmp) / "training.png"))
        if tplot:
            parts.append("<h2>Training</h2><p class='note'>Per-source loss as logged during fine-tuning "
                         "(telemetry every N steps; the source of every token survives packing).</p>"
                         f'<img alt="training loss" src="{_png(tplot)}">')
    parts.append(_methods_html(found))
    doc = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title or 'mixlab report')}"
           f"</title><style>{CSS}</style></head><body>{''.join(parts)}</body></html>")
    atomic_write_text(out, doc)
    return out


def _meta_html(rows: Sequence[Mapping[str, Any]], scores: StudyScores, meta: Mapping[str, Any] | None) -> str:
    seeds = scores.seeds()
    models = sorted({r["model"] for r in rows if r["mixture"] == "none"})
    templates = sorted({r.get("template", "") for r in rows})
    items = [f"{len(scores.coords)} runs, {len(scores.mixtures())} mixtures and the base model, volumes "
             f"{scores.volumes()} rows per source, seeds {seeds}", f"base model: {', '.join(models) or '-'}",
             f"chat template(s) used in evaluation: {', '.join(t or 'none' for t in templates)}",
             *(f"axis {a}: {', '.join(scores.axis_levels(a))} (the first is the reference)" for a in scores.axes),
             f"written {time.strftime('%Y-%m-%d %H:%M')}"]
    items += [f"{k}: {v}" for k, v in (meta or {}).items()]
    return "<p class='meta'>" + "<br>".join(html.escape(i) for i in items) + "</p>"


def _slice(values: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in values.items())


def _fits_html(scores: StudyScores, label: str = "") -> str:
    fits = [f for f in growth_fits(scores) if "+" not in f.mixture]
    if not fits:
        return ""
    arms = sorted({f.mixture for f in fits})
    by = {(f.ability, f.mixture): f for f in fits}
    head = "".join(f"<th>{html.escape(a)}</th>" for a in arms)
    body = []
    for ab in scores.abilities:
        cells = "".join(f"<td>{by[(ab, a)].per_x4:+.3f}</td>" if (ab, a) in by else "<td>-</td>" for a in arms)
        body.append(f"<tr><td>{html.escape(ab)}</td><td>{html.escape(scores.kinds[ab])}</td>{cells}</tr>")
    n_points = max(f.n_points for f in fits)
    return (f"<h3>Growth pace{' (' + html.escape(label) + ')' if label else ''}</h3><p class='note'>Slope b of score = a + b·log<sub>4</sub>(n) over the volumes "
            f"({n_points} points) for each single-source arm: the gain per ×4 more data.</p>"
            f"<table><tr><th>ability</th><th>type</th>{head}</tr>{''.join(body)}</table>")


def _ci_text(lo: float, hi: float) -> str:
    return "no interval" if math.isnan(lo) else f"[{lo:+.3f}, {hi:+.3f}]"


def _q_text(q: float) -> str:
    return "-" if math.isnan(q) else ("&lt; 0.001" if q < 0.001 else f"{q:.3f}")


def _comparison_rows(comps: Sequence[ArmComparison], first: str) -> str:
    out = []
    for c in comps:
        lo, hi = c.estimate.ci()
        cls = ("clear" if c.estimate.value > 0 else "neg") if c.clear else "unclear"
        what = first.format(c=c) + (f" ({c.slice})" if c.slice else "")
        out.append(f"<tr><td>{html.escape(what)}</td><td>{html.escape(c.target)}</td><td>{c.n_train}</td>"
                   f"<td>{c.estimate.value:+.3f}</td><td>{_ci_text(lo, hi)}</td><td>{_q_text(c.q_value)}</td>"
                   f"<td>{c.p_improvement:.2f}</td><td class='{cls}'>{'yes' if c.clear else 'no'}</td></tr>")
    return "".join(out)


def _effects_html(found: StudyEffects, scores: StudyScores, source_types: Mapping[str, str]) -> str:
    effects = found.effects
    out = ["<h2>Effects</h2>"]
    head = ("<tr><th>{what}</th><th>target</th><th>n</th><th>difference</th><th>95% CI</th><th>q</th>"
            "<th>P(improvement)</th><th>clear</th></tr>")
    if found.gains:
        ok = sum(g.clear for g in found.gains)
        out.append(f"<h3>Each type on its own abilities</h3><p>Single-source arms against the base model, on the "
                   f"source's own abilities: {ok} of {len(found.gains)} gains are clear (paired over seeds and "
                   "items, Holm-adjusted for the family, 5 %). P(improvement): the chance that a run of the arm "
                   "beats the base model.</p>")
        out.append(f"<table>{head.format(what='data')}{_comparison_rows(found.gains, '{c.a}')}</table>")
    heads = headline_cross_effects(effects, source_types)
    if heads:
        out.append("<h3>Cross-type effects</h3><ul>")
        for e in heads:
            cls = {"transfer": "clear", "interference": "neg"}.get(e.verdict, "unclear")
            out.append(f"<li class='{cls}'>{html.escape(describe(e, source_types))}</li>")
        out.append("</ul>")
    if effects:
        n_max = max(e.n_train for e in effects)
        targets = list(dict.fromkeys(e.target for e in effects if e.target.endswith("avg")))
        th = "".join(f"<th>{html.escape(t)}</th>" for t in targets)
        body = []
        for sl, s in dict.fromkeys((e.slice, e.source) for e in effects if not e.axis):
            cells = []
            for t in targets:
                found_e = next((x for x in effects if x.source == s and x.slice == sl and not x.axis
                                and x.target == t and x.n_train == n_max), None)
                if found_e is None:
                    cells.append("<td>-</td>")
                    continue
                lo, hi = found_e.ci
                cls = {"interference": "neg", "no clear effect": ""}.get(found_e.verdict, "clear")
                cells.append(f"<td class='{cls}'>{found_e.effect:+.3f}<br><span class='sd'>{_ci_text(lo, hi)} "
                             f"q {_q_text(found_e.q_value)}</span><br><span class='sd'>{found_e.verdict}</span></td>")
            where = f" with {sl}" if sl else ""
            body.append(f"<tr><td>+{html.escape(s)} ({html.escape(source_types.get(s, '?'))}){html.escape(where)}"
                        f"</td>{''.join(cells)}</tr>")
        lines = [x for t in targets if t != "avg" and (x := detectable_line(effects, t))]
        power = ("<p class='note'>Power: " + "; ".join(html.escape(x) for x in lines) +
                 " (80 % power, 5 % two-sided; `mixlab plan` tells how many seeds and items a smaller effect "
                 "needs).</p>") if lines else ""
        out.append(f"<h3>All source effects at n = {n_max}</h3><p class='note'>Average change from adding the "
                   "source, over every pair of arms that differ only by it; 95% CI (t, seeds as replicates, "
                   f"item clusters); verdicts after Benjamini-Hochberg at a false discovery rate of {FDR:.0%} over "
                   f"all {len(effects)} effects (every volume and target, in effects.csv).</p>"
                   f"<table><tr><th>added</th>{th}</tr>{''.join(body)}</table>{power}")
    axis = [e for e in effects if e.axis]
    if axis:
        out.append("<h3>Effects of the axes</h3><p class='note'>Each axis value against the axis's first value "
                   "(its reference), paired on the same mixture, volume, seed and items and averaged over the "
                   "mixtures trained at both; 95% CI (t, seeds as replicates, item clusters); q from the same "
                   "Benjamini-Hochberg family as the source effects.</p><ul>")
        for e in axis:
            if e.target.endswith("avg"):
                cls = {"gain": "clear", "loss": "neg"}.get(e.verdict, "unclear")
                out.append(f"<li class='{cls}'>{html.escape(describe(e, source_types))}</li>")
        out.append("</ul>")
    if found.best:
        out.append("<h3>The best mixture against the others</h3><p class='note'>Per average, the arm with the "
                   "highest mean against each other arm; Holm-adjusted within each target.</p>")
        out.append(f"<table>{head.format(what='best vs')}{_comparison_rows(found.best, '{c.a} vs {c.b}')}</table>")
    return "".join(out)


def _search_html(study_dir: Path, tmp: str) -> str:
    """The search section, from a search folder's output files (``predictions.csv``, ``search.json``)."""
    import json

    if not ((study_dir / "predictions.csv").exists() and (study_dir / "search.json").exists()):
        return ""
    meta = json.loads((study_dir / "search.json").read_text())
    with open(study_dir / "predictions.csv", encoding="utf-8", newline="") as f:
        preds = [r for r in csv.DictReader(f) if r["target"] == "objective"]
    rec = meta["recommendation"]
    out = [f"<h2>Search</h2><p>Objective <b>{html.escape(meta['objective']['text'])}</b> over "
           f"{len(preds)} candidates ({html.escape(meta['candidates'])}) at {meta['total']} rows, "
           f"{meta['training_runs']} fine-tuning runs. Recommended: <b>{html.escape(rec['mixture'])}</b>, predicted "
           f"{rec['predicted']:.3f} (95% interval {rec['lo']:.3f} to {rec['hi']:.3f}) by the "
           f"{html.escape(rec['surrogate'])} surrogate, whose leave-one-mixture-out error is {rec['cv_rmse']:.3f}"]
    if meta.get("seed_noise_objective"):
        out.append(f"; the objective's seed-to-seed standard deviation is {meta['seed_noise_objective']:.3f}")
    out.append(".</p>")
    rows = "".join(f"<tr><td>{html.escape(t)}</td><td>{html.escape(v['chosen'])}</td><td>{v['cv_rmse']:.4f}</td>"
                   f"<td>{v['mixtures']}</td><td class='note'>{html.escape(', '.join(f'{k} {e:.4f}' for k, e in v['tried'].items()))}</td></tr>"
                   for t, v in meta["surrogates"].items())
    out.append("<table><tr><th>target</th><th>surrogate</th><th>cv error</th><th>mixtures</th><th>tried</th></tr>"
               f"{rows}</table>")
    if meta.get("continuous_targets"):
        out.append("<p class='note'>A surrogate named <code>~cont</code> was fitted on the target computed from the "
                   "tasks' continuous per-item scores (prob_gold, prob_answer) and mapped back to the target's scale; "
                   "every error is in the target's own units.</p>")
    img = _search_plot(meta, preds, str(Path(tmp) / "search.png"))
    if img:
        out.append("<p class='note'>Left: the predicted objective over the simplex of the three sources, the "
                   "trained mixtures as dots, the recommendation as a star. Right: each trained mixture's observed "
                   "objective against its prediction with that mixture held out.</p>"
                   f'<img alt="search" src="{_png(img)}">')
    return "".join(out)


def _search_plot(meta: Mapping[str, Any], preds: Sequence[Mapping[str, str]], path: str) -> str | None:
    aliases = meta["sources"]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    ax = axes[0]
    if len(aliases) == 3:
        def xy(sh: Sequence[float]) -> tuple[float, float]:
            _, c, p = sh
            return c + p / 2, p * math.sqrt(3) / 2

        pts = [xy([float(r[f"share_{a}"]) for a in aliases]) for r in preds]
        z = [float(r["predicted"]) for r in preds]
        sc = ax.tricontourf([p[0] for p in pts], [p[1] for p in pts], z, levels=14, cmap="viridis")
        fig.colorbar(sc, ax=ax, shrink=0.8, label="predicted objective")
        runs = [xy([r["shares"].get(a, 0.0) for a in aliases]) for r in meta["runs"]]
        ax.scatter([p[0] for p in runs], [p[1] for p in runs], c="white", edgecolors="black", s=28, label="trained")
        best = xy([meta["recommendation"]["shares"][a] for a in aliases])
        ax.scatter([best[0]], [best[1]], marker="*", s=220, c="red", edgecolors="black", label="recommended")
        for (x, y), name in zip([(0, 0), (1, 0), (0.5, math.sqrt(3) / 2)], aliases, strict=True):
            ax.annotate(name, (x, y), textcoords="offset points", xytext=(0, -12 if y == 0 else 5), ha="center")
        ax.set_aspect("equal")
        ax.axis("off")
        ax.legend(loc="upper right", fontsize=7)
    else:
        ax.axis("off")
        ax.text(0.5, 0.5, f"{len(aliases)} sources: no ternary map", ha="center")
    ax2 = axes[1]
    loo = [r for r in meta.get("loo_objective", []) if r.get("predicted_held_out") is not None]
    if loo:
        o = [r["observed"] for r in loo]
        p = [r["predicted_held_out"] for r in loo]
        ax2.scatter(p, o, s=18)
        lo, hi = min(o + p), max(o + p)
        ax2.plot([lo, hi], [lo, hi], color="gray", lw=0.8, ls="--")
        ax2.set_xlabel("predicted (mixture held out)")
        ax2.set_ylabel("observed (mean over its runs)")
        ax2.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _methods_html(found: StudyEffects) -> str:
    levels = {e.level for e in found.effects}
    run_level = ("<p class='note'>Some effects are computed from run-level scores only (no item scores in the "
                 "store): their intervals include item noise only through the seeds.</p>") if "runs" in levels else ""
    return ("<h2>Methods</h2><p class='note'>Scores are means over held-out items. A source's effect is the mean "
            "over arm pairs M → M+source of the paired score difference (same seed, same items), per seed, then "
            "over seeds. The seed is the unit of replication (different hardware acts like a different seed): the "
            "standard error combines the variance between seeds and between item clusters (items built from the "
            "same content move together) from a two-way seeds × clusters layout, and intervals use t quantiles "
            "with Satterthwaite degrees of freedom, so few seeds give wide intervals; with one seed no interval is "
            "given. Verdicts follow p-values adjusted for the number of effects tested (Benjamini-Hochberg, false "
            "discovery rate 5 %); comparisons of arms with the base model and with the best arm use Holm "
            "(family-wise 5 %). docs/analysis.md explains how to read them. The data for every number is in "
            "results.csv, items.csv.gz and effects.csv beside this file.</p>" + run_level)
