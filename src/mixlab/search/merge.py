"""The merge proxy: score a mixture without training it, by averaging the weights of single-source fine-tunes.

Na et al. (arXiv 2410.15661) and Merge to Mix (arXiv 2505.16066) predict a mixture's fine-tune from a
weight-space average of per-dataset fine-tunes: for shares ``w``, ``theta = sum_j w_j theta_j`` (LoRA adapters
are merged into their base first, so the average is of the full weights: the base plus the shares' average of
the adapters' updates). Every candidate mixture is scored this way with the study's evaluation, without
training; the search then uses the proxy's objective as a prior for its surrogate if, and only if,
cross-validation says it helps (``search.json``: the error with and without it), and ``mixlab search
validate`` reports how well the proxy alone ranks a grid (on the targets, and on the tasks' continuous scores
where they report them: ``proxy.csv``'s target ``objective (continuous)``).

The single-source fine-tunes are the search's corner runs (each source alone at the spec's total rows).
"""

from __future__ import annotations

import csv
import io
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mixlab.artifacts import atomic_write_jsonl, atomic_write_text, read_jsonl
from mixlab.errors import MixlabError
from mixlab.search.candidates import Mixture
from mixlab.search.objective import Objective

log = logging.getLogger(__name__)


CONTINUOUS_OBJECTIVE = "objective (continuous)"


@dataclass
class Proxy:
    objective: dict[str, float] = field(default_factory=dict)  # mixture label -> proxy objective
    #: mixture label -> the objective on the tasks' continuous scores (prob_gold, prob_answer), where they exist
    continuous: dict[str, float] = field(default_factory=dict)
    values: dict[str, dict[str, float]] = field(default_factory=dict)  # label -> target -> value
    summary: dict[str, Any] = field(default_factory=dict)


def _corner_models(study: Any, aliases: Sequence[str]) -> dict[str, Path]:
    from mixlab.study.run_one import is_complete, run_dir

    out: dict[str, Path] = {}
    for run in study.runs:
        shares = run.coords.get("shares", {})
        alone = [a for a, s in shares.items() if s == 1.0]
        if len(alone) == 1 and alone[0] not in out and is_complete(study.out_dir, run):
            out[alone[0]] = run_dir(study.out_dir, run) / "train" / "final"
    missing = [a for a in aliases if a not in out]
    if missing:
        raise MixlabError(f"the merge proxy needs each source's fine-tune alone; missing: {', '.join(missing)}")
    return out


def _merged_state(folder: Path) -> tuple[dict[str, Any], Any, Any]:
    """A fine-tune's full weights (an adapter merged into its base), its model and tokenizer."""
    from mixlab.eval.backends import load_lm

    lm = load_lm(str(folder), backend="transformers", progress=False)
    model = lm.model  # type: ignore[attr-defined]
    return {k: v.detach().clone() for k, v in model.state_dict().items()}, model, lm.tokenizer  # type: ignore[attr-defined]


def merge_proxy(spec: Any, study: Any, candidates: Sequence[Mixture], objective: Objective, out: Path) -> Proxy:
    """Score every candidate by its weight average (cached in ``DIR/proxy/``); write ``proxy.csv``."""
    from mixlab.analysis.scores import StudyScores, continuous_rows
    from mixlab.search.run import run_spec_for
    from mixlab.study.run_one import evaluate_model

    t0 = time.time()
    aliases = list(candidates[0].aliases)
    corners = _corner_models(study, aliases)
    states, template, tokenizer = {}, None, None
    for a, folder in corners.items():
        states[a], template, tokenizer = _merged_state(folder)
    proxy = Proxy()
    rows: list[dict[str, Any]] = []
    scored = 0
    for m in candidates:
        folder = out / "proxy" / m.label
        if not (folder / "scores.jsonl").exists():
            _score_average(m, states, template, tokenizer, folder, spec, study, run_spec_for, evaluate_model)
            scored += 1
        rows += [{**r, "run_id": f"proxy:{m.label}", "mixture": m.label, "n_train": spec.mixture.total, "seed": 0}
                 for r in read_jsonl(folder / "scores.jsonl")]
    scores = StudyScores(rows)
    crows, ctasks = continuous_rows(rows)
    cscores = StudyScores(crows)
    for m in candidates:
        run = f"proxy:{m.label}"
        proxy.values[m.label] = {t.name: scores.value(run, t) for t in scores.targets()}
        proxy.objective[m.label] = objective.value(proxy.values[m.label])
        if ctasks:
            proxy.continuous[m.label] = objective.value({t.name: cscores.value(run, t) for t in cscores.targets()})
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["mixture", *[f"share_{a}" for a in aliases], "target", "value"])
    for m in candidates:
        extra = {CONTINUOUS_OBJECTIVE: proxy.continuous[m.label]} if m.label in proxy.continuous else {}
        for t, v in {**proxy.values[m.label], "objective": proxy.objective[m.label], **extra}.items():
            w.writerow([m.label, *m.shares, t, "" if not math.isfinite(v) else repr(round(v, 6))])
    atomic_write_text(out / "proxy.csv", buf.getvalue())
    proxy.summary = {"kind": "merge", "candidates_scored": len(candidates), "scored_now": scored,
                     "seconds": round(time.time() - t0, 1), "single_source_runs": {a: str(p) for a, p in corners.items()}}
    return proxy


def _score_average(m: Mixture, states: dict[str, Any], template: Any, tokenizer: Any, folder: Path, spec: Any,
                   study: Any, run_spec_for: Any, evaluate_model: Any) -> None:
    import shutil

    import torch

    avg = {}
    for key in states[m.aliases[0]]:
        first = states[m.aliases[0]][key]
        if not torch.is_floating_point(first):
            avg[key] = first
            continue
        avg[key] = sum(share * states[a][key] for a, share in zip(m.aliases, m.shares, strict=True))
    template.load_state_dict(avg)
    model_dir = folder / "model"
    shutil.rmtree(folder, ignore_errors=True)
    model_dir.mkdir(parents=True)
    template.save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    run = run_spec_for(spec, study.model, m, 0)
    rows, _ = evaluate_model(run, str(model_dir), folder)
    atomic_write_jsonl(folder / "scores.jsonl", rows)
    shutil.rmtree(model_dir, ignore_errors=True)  # the scores stay; the averaged weights are cheap to rebuild
