"""The results store: one tidy table per study, one row per run x task x metric.

``results.csv`` columns (``RESULT_COLUMNS``): the design coordinates (``run_id, mixture, n_train, seed``), one
column per study axis (``lr``, ...; none without axes; empty in a base row the axis does not change), the
model, and the score (``instruction_type, ability, task, metric, value, stderr, n_items, primary, chance,
template``). ``primary`` marks each ability's one higher-is-better headline metric. Every analysis reads this
table (``read_results``); nothing reads a run folder's internals.

``items.csv.gz`` holds the primary metric of every run x item (``ITEM_STORE_COLUMNS``), with the cluster of
items built from the same content: paired, clustered inference on effects reads it (``read_items``).

``training.csv`` holds the fine-tuning telemetry of every run (``TRAINING_COLUMNS``: per-source loss and
trainable tokens every N steps), for the report's training section.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mixlab.artifacts import atomic_write_bytes, atomic_write_text
from mixlab.eval.run import ITEM_COLUMNS, SCORE_COLUMNS, rows_to_csv

DESIGN_COLUMNS = ["run_id", "mixture", "n_train", "seed"]
RESULT_COLUMNS = DESIGN_COLUMNS + SCORE_COLUMNS
ITEM_STORE_COLUMNS = DESIGN_COLUMNS + ITEM_COLUMNS
ITEMS_FILE = "items.csv.gz"
TRAINING_COLUMNS = ["run_id", "mixture", "n_train", "seed", "step", "epoch", "source", "loss", "tokens",
                    "lr", "grad_norm", "tokens_per_s"]

_INT_COLUMNS = {"n_train", "seed", "n_items", "n_clusters", "step", "tokens"}
_FLOAT_COLUMNS = {"value", "stderr", "chance", "scale_min", "scale_max", "epoch", "loss", "lr", "grad_norm",
                  "tokens_per_s"}


def with_axes(columns: Sequence[str], axes: Sequence[str]) -> list[str]:
    """``columns`` with one column per study axis after the design coordinates (``run_id ... seed``); an axis
    named like one of ``columns`` (``lr`` in ``training.csv``) is written as ``axis_<name>``.

    >>> with_axes(["run_id", "mixture", "n_train", "seed", "step", "lr"], ["lr"])
    ['run_id', 'mixture', 'n_train', 'seed', 'axis_lr', 'step', 'lr']
    """
    k = len(DESIGN_COLUMNS)
    return [*columns[:k], *(axis_column(a, columns) for a in axes), *columns[k:]]


def axis_column(axis: str, columns: Sequence[str]) -> str:
    """The column an axis is written to among ``columns``."""
    return f"axis_{axis}" if axis in columns else axis


def write_results(study_dir: str | Path, rows: Sequence[Mapping[str, Any]], axes: Sequence[str] = ()) -> Path:
    """``results.csv``; ``axes`` adds one column per study axis (a shared base row leaves it empty)."""
    path = Path(study_dir) / "results.csv"
    atomic_write_text(path, rows_to_csv([dict(r) for r in rows], with_axes(RESULT_COLUMNS, axes)))
    return path


def write_items(study_dir: str | Path, rows: Sequence[Mapping[str, Any]], axes: Sequence[str] = ()) -> Path:
    """``items.csv.gz``: one row per run x item (gzip, written atomically; fixed mtime so equal rows give
    equal bytes)."""
    path = Path(study_dir) / ITEMS_FILE
    data = gzip.compress(rows_to_csv([dict(r) for r in rows], with_axes(ITEM_STORE_COLUMNS, axes)).encode(), mtime=0)
    atomic_write_bytes(path, data)
    return path


def read_items(study_dir: str | Path) -> list[dict[str, Any]]:
    """The item-level store of a study folder (empty when absent: a store built before it existed)."""
    path = Path(study_dir) / ITEMS_FILE
    if not path.exists():
        return []
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        return [_typed(r) for r in csv.DictReader(f)]


def write_training(study_dir: str | Path, rows: Sequence[Mapping[str, Any]], axes: Sequence[str] = ()) -> Path:
    path = Path(study_dir) / "training.csv"
    atomic_write_text(path, rows_to_csv([dict(r) for r in rows], with_axes(TRAINING_COLUMNS, axes)))
    return path


def write_sources(study_dir: str | Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    """``sources.csv``: each source's alias, name and instruction type (for direct vs cross-type effects)."""
    path = Path(study_dir) / "sources.csv"
    atomic_write_text(path, rows_to_csv([dict(r) for r in rows], ["alias", "name", "instruction_type"]))
    return path


def read_results(path: str | Path) -> list[dict[str, Any]]:
    """Read ``results.csv`` (or a study folder) back into typed rows."""
    path = Path(path)
    if path.is_dir():
        path = path / "results.csv"
    with open(path, encoding="utf-8", newline="") as f:
        return [_typed(r) for r in csv.DictReader(f)]


def read_training(study_dir: str | Path) -> list[dict[str, Any]]:
    path = Path(study_dir) / "training.csv"
    if not path.exists():
        return []
    with open(path, encoding="utf-8", newline="") as f:
        return [_typed(r) for r in csv.DictReader(f)]


def _typed(row: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in row.items():
        if k in _INT_COLUMNS:
            out[k] = int(v) if v not in ("", None) else None
        elif k in _FLOAT_COLUMNS:
            out[k] = float(v) if v not in ("", None) else float("nan")
        elif k == "primary":
            out[k] = v in ("True", "true", "1")
        else:
            out[k] = v
    return out


def training_rows(run: Mapping[str, Any], metrics_path: str | Path) -> list[dict[str, Any]]:
    """Flatten a run's ``metrics.jsonl`` into ``TRAINING_COLUMNS`` rows (one per step x source, plus ``all``)."""
    path = Path(metrics_path)
    if not path.exists():
        return []
    rows = []
    base = dict(run)  # the design coordinates (and axis columns) of every row
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        m = json.loads(line)
        common = {**base, "step": m.get("step"), "epoch": m.get("epoch"), "lr": m.get("lr"),
                  "grad_norm": m.get("grad_norm"), "tokens_per_s": m.get("tokens_per_s")}
        rows.append({**common, "source": "all", "loss": m.get("loss"), "tokens": m.get("trainable_tokens")})
        for src, s in (m.get("per_source") or {}).items():
            rows.append({**common, "source": src, "loss": s.get("loss"), "tokens": s.get("tokens_total")})
    return rows


def concat(parts: Iterable[Sequence[Mapping[str, Any]]]) -> list[dict[str, Any]]:
    return [dict(r) for part in parts for r in part]
