"""Run one study run, idempotently: build the mixture, fine-tune, evaluate, write scores, mark complete.

A run folder (``STUDY/runs/<run_id>/``) holds ``run.json`` (the spec), ``manifest.json`` (the mixture),
``mixture/`` (``train.jsonl``), ``train/`` (the model in ``final/``, ``metrics.jsonl``), ``eval/`` (per-item
records), ``item_scores.jsonl`` (the primary metric per item, with its content cluster) and ``scores.jsonl``.
``run.json`` also records the machine (CPU, BLAS, torch's CPU kernels, GPU): hardware acts like a seed. ``COMPLETE`` is written last and holds the run's identity hash: a folder
without it is unfinished and is redone; a folder whose identity differs (the spec changed) is redone too.
"""

from __future__ import annotations

import logging
import shutil
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mixlab.artifacts import atomic_write_json, atomic_write_jsonl, atomic_write_text, read_jsonl
from mixlab.study.fingerprint import environment
from mixlab.study.spec import RunSpec

log = logging.getLogger(__name__)

COMPLETE = "COMPLETE"


@dataclass(frozen=True)
class RunOutcome:
    run_id: str
    status: str  # "done", "cached", "failed"
    seconds: float = 0.0
    error: str = ""
    summary: str = ""


def run_dir(study_dir: str | Path, run: RunSpec) -> Path:
    return Path(study_dir) / "runs" / run.run_id


def is_complete(study_dir: str | Path, run: RunSpec) -> bool:
    marker = run_dir(study_dir, run) / COMPLETE
    return marker.exists() and marker.read_text().strip() == run.identity()


def run_one(run: RunSpec, study_dir: str | Path, *, sources_cache: dict[str, Any] | None = None) -> RunOutcome:
    """Run ``run`` in ``study_dir`` unless it is already complete. Never raises: failures are returned."""
    if is_complete(study_dir, run):
        return RunOutcome(run.run_id, "cached")
    folder = run_dir(study_dir, run)
    t0 = time.time()
    quiet_library_progress()
    try:
        if folder.exists():
            log.info("redoing %s: unfinished or made from a different spec", run.run_id)
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        atomic_write_json(folder / "run.json", {**run.to_dict(), "environment": environment()})
        model_dir = run.model if run.is_base else _train(run, folder, sources_cache)
        rows, items = evaluate_model(run, model_dir, folder)
        atomic_write_jsonl(folder / "item_scores.jsonl", items)
        atomic_write_jsonl(folder / "scores.jsonl", rows)
        atomic_write_text(folder / COMPLETE, run.identity() + "\n")  # last: the run is whole
    except Exception as exc:  # one failed run must not stop the study; it is reported and counted
        atomic_write_text(folder / "error.txt", traceback.format_exc())
        return RunOutcome(run.run_id, "failed", time.time() - t0, f"{type(exc).__name__}: {exc}")
    return RunOutcome(run.run_id, "done", time.time() - t0, summary=_summary(rows))


def quiet_library_progress() -> None:
    """A study reports its own progress: transformers' per-load and per-save bars would drown it."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def _train(run: RunSpec, folder: Path, sources_cache: dict[str, Any] | None) -> str:
    from mixlab.mix.build import build_mixture
    from mixlab.mix.sources import load_sources
    from mixlab.train import TrainSpec, train

    assert run.mixture is not None
    loaded = _loaded_sources(run, sources_cache, load_sources)
    manifest = build_mixture(run.mixture, folder / "mixture", loaded=loaded, progress=False, verbose=False)
    atomic_write_json(folder / "manifest.json", manifest)
    spec = TrainSpec.from_dict({**run.train, "model": run.model, "data": str(folder / "mixture"),
                                "out": str(folder / "train"), "seed": run.seed})
    result = train(spec)
    return result.final_dir


def _loaded_sources(run: RunSpec, cache: dict[str, Any] | None, load_sources: Any) -> dict[str, Any]:
    """Load each source once per process: a study builds dozens of mixtures from the same sources."""
    assert run.mixture is not None
    if cache is None:
        return load_sources(run.mixture)
    from mixlab.artifacts import content_hash

    out = {}
    for s in run.mixture.sources:
        key = content_hash({"source": {k: v for k, v in s.model_dump(mode="json").items() if k not in (
            "count", "fraction", "share", "tokens", "epochs", "upsample")}, "base": run.mixture.base_dir,
            "seed": run.mixture.seed if s.world else None})
        if key not in cache:
            cache[key] = load_sources(run.mixture, [s.name])[s.name]
        out[s.name] = cache[key]
    return out


def evaluate_model(run: RunSpec, model_dir: str, folder: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Score ``model_dir`` with ``run``'s evaluation (per-item records under ``folder/eval``): score rows and
    item rows, both with the run's design coordinates."""
    from mixlab.eval.backends import load_lm
    from mixlab.eval.run import evaluate
    from mixlab.eval.suites import build_limited

    opts: dict[str, Any] = {}
    if run.eval.batch_size:
        opts["batch_size"] = run.eval.batch_size
    lm = load_lm(str(model_dir), backend=run.eval.backend, **opts)
    tasks, limits = build_limited(list(run.eval.suites), run.eval.limit, run.eval.limits, **run.eval.options)
    rows = evaluate(lm, tasks, folder / "eval", limit=limits, model_name=_model_name(run))
    items = read_jsonl(folder / "eval" / "item_scores.jsonl") if (folder / "eval" / "item_scores.jsonl").exists() else []
    design = {"run_id": run.run_id, "mixture": run.mixture_label, "n_train": run.n_train, "seed": run.seed}
    return [{**design, **r} for r in rows], [{**design, **r} for r in items]


def _model_name(run: RunSpec) -> str:
    path = Path(run.model)
    base = (_world_name(path) if (path / "world_model.json").exists() else path.name) if path.exists() else run.model
    return base if run.is_base else f"{base}+{run.mixture_label}"


def _world_name(folder: Path) -> str:
    """``world`` for the default size's base, ``world:xs`` / ``world:s`` for the others."""
    import json

    from mixlab.world.model import size_of

    size = size_of(json.loads((folder / "world_model.json").read_text())["spec"])
    return "world" if size in ("m", None) else f"world:{size}"


def _summary(rows: list[dict[str, Any]]) -> str:
    prim = [r for r in rows if r.get("primary")]
    if not prim:
        return ""
    mean = sum(float(r["value"]) for r in prim) / len(prim)
    return f"mean score {mean:.3f}, {len(prim)} abilities"

