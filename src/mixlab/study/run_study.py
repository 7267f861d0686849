"""Run a whole study: resolve the base model, expand the design, execute the runs, collect the store.

>>> result = run_study(StudySpec.from_yaml("configs/studies/quickstart.yaml"), "runs/quickstart")  # doctest: +SKIP
>>> result.counts                                                                                 # doctest: +SKIP
{'done': 29, 'cached': 0, 'failed': 0}
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mixlab.artifacts import atomic_write_json, read_jsonl
from mixlab.study.executor import make_executor
from mixlab.study.run_one import RunOutcome, is_complete, quiet_library_progress, run_dir
from mixlab.study.spec import RunSpec, StudySpec, base_key, base_variants, expand, source_types
from mixlab.study.store import (
    TRAINING_COLUMNS,
    axis_column,
    concat,
    training_rows,
    write_items,
    write_results,
    write_sources,
    write_training,
)

log = logging.getLogger(__name__)


@dataclass
class StudyResult:
    study_dir: Path
    runs: list[RunSpec]
    outcomes: list[RunOutcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def counts(self) -> dict[str, int]:
        c = Counter(o.status for o in self.outcomes)
        return {k: c.get(k, 0) for k in ("done", "cached", "failed", "submitted")}

    @property
    def failed(self) -> list[RunOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]


def resolve_model(spec: StudySpec, announce: Callable[[str], None] = print) -> str:
    """The base model's location; ``world`` builds (once, cached) the embedded world's pretrained base."""
    from mixlab.world.model import ensure_base_model, sized, world_size

    size = world_size(spec.model)
    if size is None:
        return spec.model
    wspec = sized(size, **spec.world)
    return str(ensure_base_model(wspec, progress=_pretrain_progress(announce)))


def _pretrain_progress(announce: Callable[[str], None]) -> Callable[[int, int], None]:
    state = {"t0": time.time(), "shown": -1}

    def show(step: int, total: int) -> None:
        pct = int(100 * step / total)
        if pct // 10 != state["shown"] // 10 or step == total:
            state["shown"] = pct
            announce(f"  pretraining the world's base model: {pct:3d}% ({step}/{total} steps, "
                     f"{time.time() - state['t0']:.0f} s)")

    return show


def run_study(spec: StudySpec, study_dir: str | Path, *, workers: int | None = None,
              announce: Callable[[str], None] = print, show_progress: bool = True) -> StudyResult:
    """Run every run of ``spec`` not yet complete in ``study_dir``, then write ``results.csv``."""
    t0 = time.time()
    study_dir = Path(study_dir)
    study_dir.mkdir(parents=True, exist_ok=True)
    quiet_library_progress()  # the world's base model is built (and saved) here, in the main process
    models = {base_key(v): resolve_model(v, announce) for v in base_variants(spec)}  # one per model axis value
    model = next(iter(models.values()))
    runs = expand(spec, models)
    atomic_write_json(study_dir / "study.json", {
        "spec": spec.to_dict(), "model": model, **({"models": models} if len(models) > 1 else {}),
        "runs": [r.run_id for r in runs]})
    write_sources(study_dir, [
        {"alias": s.label, "name": s.name, "instruction_type": source_types(spec).get(s.label, "")}
        for s in spec.mixture.sources])
    pending = [r for r in runs if not is_complete(study_dir, r)]
    result = StudyResult(study_dir, runs)
    result.outcomes += [RunOutcome(r.run_id, "cached") for r in runs if r not in pending]
    if result.outcomes:
        announce(f"  {len(result.outcomes)} of {len(runs)} runs already complete: skipped")
    ex_opts = dict(spec.executor.options)
    executor = make_executor(spec.executor.kind, workers or spec.executor.workers, **ex_opts)
    with _progress(len(runs), len(result.outcomes), show_progress) as advance:
        for outcome in executor.map(pending, study_dir):
            result.outcomes.append(outcome)
            advance(outcome)
    collect(study_dir, runs)
    result.seconds = time.time() - t0
    return result


def collect(study_dir: str | Path, runs: list[RunSpec] | None = None) -> tuple[int, int]:
    """Gather every complete run's scores into ``results.csv``, its item scores into ``items.csv.gz`` and its
    telemetry into ``training.csv``.

    Returns ``(complete runs, incomplete runs)``.
    """
    study_dir = Path(study_dir)
    if runs is None:
        runs = load_runs(study_dir)
    axes = list(dict.fromkeys(a for r in runs for a in r.axes))
    score_parts, item_parts, train_parts, missing = [], [], [], 0
    for r in runs:
        if not is_complete(study_dir, r):
            missing += 1
            continue
        values = {a: r.axes.get(a, "") for a in axes}  # a base row shared by an axis's values leaves it empty
        score_parts.append([{**row, **values} for row in read_jsonl(run_dir(study_dir, r) / "scores.jsonl")])
        items_file = run_dir(study_dir, r) / "item_scores.jsonl"
        item_parts.append([{**row, **values} for row in read_jsonl(items_file)] if items_file.exists() else [])
        coords = {"run_id": r.run_id, "mixture": r.mixture_label, "n_train": r.n_train, "seed": r.seed,
                  **{axis_column(a, TRAINING_COLUMNS): v for a, v in values.items()}}
        train_parts.append(training_rows(coords, run_dir(study_dir, r) / "train" / "metrics.jsonl"))
    write_results(study_dir, concat(score_parts), axes)
    write_items(study_dir, concat(item_parts), axes)
    write_training(study_dir, concat(train_parts), axes)
    return len(score_parts), missing


def load_runs(study_dir: str | Path) -> list[RunSpec]:
    """The runs of a study folder, rebuilt from its ``study.json``."""
    import json

    meta = json.loads((Path(study_dir) / "study.json").read_text())
    spec = StudySpec.from_dict(meta["spec"])
    return expand(spec, meta.get("models") or meta["model"])


class _progress:
    """A progress bar over runs (rich), with one line per finished run; plain lines when not a terminal."""

    def __init__(self, total: int, already: int, enabled: bool):
        self.total, self.already, self.enabled = total, already, enabled
        self.t0 = time.time()

    def __enter__(self) -> Callable[[RunOutcome], None]:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = Console(stderr=False)
        self.bar = Progress(TextColumn("runs"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            TextColumn("{task.description}"), console=self.console,
                            disable=not self.enabled, transient=False)
        self.task = self.bar.add_task("", total=self.total, completed=self.already)
        self.bar.__enter__()
        return self.advance

    def advance(self, o: RunOutcome) -> None:
        mark = {"done": "ok", "cached": "cached", "failed": "FAILED", "submitted": "submitted"}[o.status]
        detail = o.error if o.status == "failed" else o.summary
        if self.enabled:
            self.bar.console.print(f"  {mark:>6}  {o.run_id:<28} {o.seconds:6.1f} s  {detail}")
        self.bar.update(self.task, advance=1, description=o.run_id)

    def __exit__(self, *exc: Any) -> None:
        self.bar.__exit__(*exc)
