"""Run tasks against an ``LM`` and write per-item records and a tidy per-task summary.

Output folder layout::

    OUT/items/<task>.jsonl   one record per item (prompt, output, score fields)
    OUT/item_scores.jsonl    the primary metric per item, with its content cluster (paired analyses)
    OUT/scores.jsonl         one row per task x metric (the tidy shape below)
    OUT/scores.csv           the same rows as CSV
    OUT/abilities.csv        per ability: the mean of its tasks' primary metric with a 95 % interval
    OUT/summary.json         the model's identity, each task's config and counted degradations, abilities

Scores are rewritten after every task, so an interrupted evaluation keeps what it finished.

A study calls exactly this function for every run.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mixlab.artifacts import atomic_write_jsonl, atomic_write_text, canonical_json, content_hash
from mixlab.eval.lm import LM
from mixlab.eval.sandbox.limits import PROCESS
from mixlab.eval.sandbox.pool import PROGRAMS_RUN
from mixlab.eval.stats import Score, combine_means
from mixlab.eval.task import Task, TaskResult

#: the tidy score shape shared by ``mixlab eval`` and a study's ``results.csv``
SCORE_COLUMNS = [
    "model", "instruction_type", "ability", "task", "metric", "value", "stderr", "n_items", "n_clusters",
    "primary", "chance", "scale_min", "scale_max", "template",
]
#: the per-item shape: the primary metric of every item, with the cluster of items built from one content
ITEM_COLUMNS = ["task", "ability", "instruction_type", "metric", "item", "cluster", "value"]


def evaluate(
    lm: LM,
    tasks: Sequence[Task],
    out_dir: str | Path | None = None,
    *,
    limit: int | Mapping[str, int | None] | None = None,
    model_name: str | None = None,
    on_task: Callable[[TaskResult], None] | None = None,
) -> list[dict[str, Any]]:
    """Evaluate ``lm`` on ``tasks``; return tidy score rows (and write them when ``out_dir`` is given).

    ``limit``: items per task, one number for all or a number per task name (``suites.build_limited``)."""
    ident = lm.identity()
    model = model_name or str(ident.get("model", "model"))
    template = str(ident.get("template", ""))
    rows: list[dict[str, Any]] = []
    per_item: list[dict[str, Any]] = []
    summaries: dict[str, Any] = {}
    for task in tasks:
        weak_before = PROGRAMS_RUN[PROCESS]
        result = task.evaluate(lm, limit=limit.get(task.name) if isinstance(limit, Mapping) else limit)
        _count_weak_isolation(result, PROGRAMS_RUN[PROCESS] - weak_before)
        rows.extend(score_rows(result, model=model, template=template))
        per_item.extend(item_rows(result))
        summaries[result.task] = task_summary(result)
        if out_dir is not None:
            atomic_write_jsonl(Path(out_dir) / "items" / f"{result.task}.jsonl", result.items)
            atomic_write_jsonl(Path(out_dir) / "item_scores.jsonl", per_item)
            write_scores(out_dir, rows)
            write_summary(out_dir, ident, summaries, rows)
        if on_task is not None:
            on_task(result)
    if out_dir is not None:
        write_scores(out_dir, rows)
        write_summary(out_dir, ident, summaries, rows)
    return rows


def _count_weak_isolation(result: TaskResult, programs: int) -> None:
    """A task whose code ran in the sandbox's weaker process tier says so: a counted degradation, and the tier
    in its config (``summary.json``)."""
    if programs:
        result.counts["weak_isolation"] = result.counts.get("weak_isolation", 0) + programs
        result.config["sandbox_isolation"] = PROCESS


def task_summary(result: TaskResult) -> dict[str, Any]:
    return {"ability": result.ability, "instruction_type": result.instruction_type, "primary": result.primary,
            "chance": result.chance, "n_items": len(result.items), "config": result.config,
            "counts": result.counts}


def ability_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (model, ability, primary metric): the macro mean over its tasks with a 95 % interval.

    Only primary metrics are aggregated, and only within one metric name: a judge's 1-10 score is never
    averaged with an accuracy.
    """
    groups: dict[tuple[str, str, str, str], list[Score]] = {}
    for r in rows:
        if not r.get("primary"):
            continue
        key = (str(r["model"]), str(r["instruction_type"]), str(r["ability"]), str(r["metric"]))
        groups.setdefault(key, []).append(Score(float(r["value"]), float(r["stderr"]), int(r["n_items"])))
    out = []
    for (model, itype, ability, metric), scores in sorted(groups.items()):
        out.append({"model": model, "instruction_type": itype, "ability": ability, "metric": metric,
                    **combine_means(scores)})
    return out


ABILITY_COLUMNS = ["model", "instruction_type", "ability", "metric", "value", "stderr", "ci_low", "ci_high",
                   "n_tasks", "n_items"]


def write_summary(out_dir: str | Path, identity: dict[str, Any], tasks: dict[str, Any],
                  rows: list[dict[str, Any]]) -> None:
    from mixlab.artifacts import atomic_write_json

    out = Path(out_dir)
    abilities = ability_rows(rows)
    atomic_write_text(out / "abilities.csv", rows_to_csv(abilities, ABILITY_COLUMNS))
    atomic_write_json(out / "summary.json", {"model": identity, "tasks": tasks, "abilities": abilities})


def item_rows(result: TaskResult) -> list[dict[str, Any]]:
    """``ITEM_COLUMNS`` rows of a task's primary metric (none when it is not a mean over items)."""
    head = {"task": result.task, "ability": result.ability, "instruction_type": result.instruction_type,
            "metric": result.primary}
    return [{**head, **r} for r in result.primary_items()]


def score_rows(result: TaskResult, *, model: str, template: str) -> list[dict[str, Any]]:
    # a task that prompts with raw text records template "none" in its config: the model's template was unused
    template = str(result.config.get("template", template))
    items = result.primary_items()
    n_clusters = len({r["cluster"] for r in items}) if items else None
    rows = []
    for metric, score in result.metrics.items():
        lo, hi = result.scale(metric)
        rows.append({
            "model": model,
            "instruction_type": result.instruction_type,
            "ability": result.ability,
            "task": result.task,
            "metric": metric,
            "value": score.value,
            "stderr": score.stderr,
            "n_items": score.n,
            "n_clusters": n_clusters if metric == result.primary else None,
            "primary": metric == result.primary,
            "chance": result.chance,
            "scale_min": lo,
            "scale_max": hi,
            "template": template,
        })
    return rows


def write_scores(out_dir: str | Path, rows: list[dict[str, Any]]) -> None:
    out = Path(out_dir)
    atomic_write_jsonl(out / "scores.jsonl", rows)
    atomic_write_text(out / "scores.csv", rows_to_csv(rows))


def rows_to_csv(rows: list[dict[str, Any]], columns: list[str] | None = None) -> str:
    cols = columns or (list(rows[0]) if rows else SCORE_COLUMNS)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: _fmt(r.get(k)) for k in cols})
    return buf.getvalue()


def _fmt(v: Any) -> Any:
    if isinstance(v, float):
        return "" if v != v else repr(round(v, 6))  # NaN -> empty cell
    return v


def template_id(template: str | None) -> str:
    """A short, stable name for a chat template: ``none`` or ``sha:<12 hex>``."""
    return "none" if not template else f"sha:{content_hash(canonical_json(template), 12)}"
