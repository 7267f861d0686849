"""The HTML report of a study: the mixture table, growth curves, effects in words, training telemetry.

It reads only the results store (``results.csv``, ``training.csv``, ``sources.csv``) and writes one
self-contained ``report.html`` (plots embedded as base64 PNG), so the file opens anywhere.
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
from mixlab.analysis.effects import all_effects, describe, headline_cross_effects, own_gains
from mixlab.analysis.table import MixtureTable, ability_order, mixture_table, primary_rows, volumes
from mixlab.artifacts import atomic_write_text
from mixlab.study.store import read_results, read_training

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
    kinds = "".join(f'<th class="{"avg" if c.endswith("avg") else ""}">{html.escape(t.ability_type.get(c, ""))}</th>'
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


def build_report(study_dir: str | Path, out: str | Path | None = None, *, title: str | None = None,
                 meta: Mapping[str, Any] | None = None) -> Path:
    """Write ``report.html`` for the study in ``study_dir`` (from its results store) and return its path."""
    study_dir = Path(study_dir)
    rows = read_results(study_dir)
    training = read_training(study_dir)
    source_types = read_sources(study_dir)
    out = Path(out) if out else study_dir / "report.html"
    prim = primary_rows(rows)
    parts = [f"<h1>{html.escape(title or 'mixlab study: ' + study_dir.name)}</h1>", _meta_html(rows, meta)]
    parts.append("<h2>Mixture table</h2><p class='note'>Primary metric of every ability (mean over seeds; "
                 "± = standard deviation over seeds); per-type and overall averages; the best value of each "
                 "column is bold. Base row first.</p>")
    table_volumes: list[int | None] = [*sorted(volumes(prim), reverse=True)] or [None]
    for n in table_volumes:
        parts.append(f"<h3>{'n = ' + str(n) + ' rows per source' if n else 'all runs'}</h3>")
        parts.append(table_html(mixture_table(rows, n)))
    with tempfile.TemporaryDirectory() as tmp:
        if volumes(prim):
            img = plot_curves(rows, str(Path(tmp) / "curves.png"))
            parts.append("<h2>Growth curves</h2><p class='note'>Each ability's primary score over data volume "
                         "(rows per source, log scale), one line per mixture; error bars: standard deviation "
                         "over seeds; dashed: base model; dotted: chance.</p>"
                         f'<img alt="growth curves" src="{_png(img)}">')
            parts.append(_fits_html(rows))
        parts.append(_effects_html(rows, source_types))
        tplot = _training_plot(training, str(Path(tmp) / "training.png"))
        if tplot:
            parts.append("<h2>Training</h2><p class='note'>Per-source loss as logged during fine-tuning "
                         "(telemetry every N steps; the source of every token survives packing).</p>"
                         f'<img alt="training loss" src="{_png(tplot)}">')
    parts.append(_methods_html(rows))
    doc = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title or 'mixlab report')}"
           f"</title><style>{CSS}</style></head><body>{''.join(parts)}</body></html>")
    atomic_write_text(out, doc)
    return out


def _meta_html(rows: Sequence[Mapping[str, Any]], meta: Mapping[str, Any] | None) -> str:
    runs = {r["run_id"] for r in rows}
    mixtures = sorted({r["mixture"] for r in rows})
    seeds = sorted({int(r["seed"]) for r in rows if r["mixture"] != "none"})
    models = sorted({r["model"] for r in rows if r["mixture"] == "none"})
    templates = sorted({r.get("template", "") for r in rows})
    items = [f"{len(runs)} runs, {len(mixtures)} mixtures, volumes {volumes(primary_rows(rows))} rows per source, "
             f"seeds {seeds}", f"base model: {', '.join(models) or '-'}",
             f"chat template(s) used in evaluation: {', '.join(t or 'none' for t in templates)}",
             f"written {time.strftime('%Y-%m-%d %H:%M')}"]
    items += [f"{k}: {v}" for k, v in (meta or {}).items()]
    return "<p class='meta'>" + "<br>".join(html.escape(i) for i in items) + "</p>"


def _fits_html(rows: Sequence[Mapping[str, Any]]) -> str:
    fits = [f for f in growth_fits(rows) if "+" not in f.mixture]
    if not fits:
        return ""
    arms = sorted({f.mixture for f in fits})
    abilities, kinds = ability_order(primary_rows(rows))
    by = {(f.ability, f.mixture): f for f in fits}
    head = "".join(f"<th>{html.escape(a)}</th>" for a in arms)
    body = []
    for ab in abilities:
        cells = "".join(f"<td>{by[(ab, a)].per_x4:+.3f}</td>" if (ab, a) in by else "<td>-</td>" for a in arms)
        body.append(f"<tr><td>{html.escape(ab)}</td><td>{html.escape(kinds[ab])}</td>{cells}</tr>")
    n_points = max(f.n_points for f in fits)
    return ("<h3>Growth pace</h3><p class='note'>Slope b of score = a + b·log<sub>4</sub>(n) over the volumes "
            f"({n_points} points) for each single-source arm: the gain per ×4 more data.</p>"
            f"<table><tr><th>ability</th><th>type</th>{head}</tr>{''.join(body)}</table>")


def _effects_html(rows: Sequence[Mapping[str, Any]], source_types: Mapping[str, str]) -> str:
    prim = primary_rows(rows)
    arms = {r["mixture"] for r in prim}
    sources = sorted({p for m in arms if m != "none" for p in m.split("+")})
    effects = all_effects(prim, sources, source_types)
    out = ["<h2>Effects</h2>"]
    gains = own_gains(prim, source_types)
    if gains:
        ok = sum(g.clear for g in gains)
        out.append(f"<h3>Each type on its own abilities</h3><p>Single-source arms against the base model, on the "
                   f"source's own abilities: {ok} of {len(gains)} gains exceed the seed-to-seed spread.</p>")
        lines = "".join(
            f"<tr><td>{html.escape(g.source)}</td><td>{html.escape(g.ability)}</td><td>{g.n_train}</td>"
            f"<td>{g.gain:+.3f}</td><td>{g.spread:.3f}</td><td class='{'clear' if g.clear else 'unclear'}'>"
            f"{'yes' if g.clear else 'no'}</td></tr>" for g in gains)
        out.append("<table><tr><th>data</th><th>ability</th><th>n</th><th>gain over base</th>"
                   f"<th>seed spread (sd)</th><th>gain &gt; spread</th></tr>{lines}</table>")
    heads = headline_cross_effects(effects, source_types)
    if heads:
        out.append("<h3>Cross-type effects</h3><ul>")
        for e in heads:
            cls = {"transfer": "clear", "interference": "neg"}.get(e.verdict, "unclear")
            out.append(f"<li class='{cls}'>{html.escape(describe(e, source_types))}</li>")
        out.append("</ul>")
    if effects:
        n_max = max(e.n_train for e in effects)
        targets = list(dict.fromkeys(e.target for e in effects if e.target.endswith(" avg")))
        head = "".join(f"<th>{html.escape(t)}</th>" for t in targets)
        body = []
        for s in sources:
            cells = []
            for t in targets:
                found = next((x for x in effects if x.source == s and x.target == t and x.n_train == n_max), None)
                if found is None:
                    cells.append("<td>-</td>")
                    continue
                lo, hi = found.ci
                cls = "clear" if lo > 0 else "neg" if hi < 0 else ""
                cells.append(f"<td class='{cls}'>{found.effect:+.3f}<br><span class='sd'>[{lo:+.3f}, {hi:+.3f}]</span></td>")
            body.append(f"<tr><td>+{html.escape(s)} ({html.escape(source_types.get(s, '?'))})</td>{''.join(cells)}</tr>")
        out.append(f"<h3>All source effects at n = {n_max}</h3><p class='note'>Average change from adding the "
                   "source, over every pair of arms that differ only by it (95% CI).</p>"
                   f"<table><tr><th>added</th>{head}</tr>{''.join(body)}</table>")
    return "".join(out)


def _methods_html(rows: Sequence[Mapping[str, Any]]) -> str:
    return ("<h2>Methods</h2><p class='note'>Scores are means over held-out items with bootstrap standard "
            "errors; tables average seeds. A source's effect is the mean over arm pairs M → M+source of the "
            "score difference, per seed, then averaged; its standard error adds the variance over seeds (divided "
            "by their number) and the item-level variance of the differences (arms treated as independent: "
            "conservative). Verdicts: transfer / interference when the 95% interval excludes zero. The data for "
            "every number is in results.csv beside this file.</p>")
