"""A study with an lr axis on the embedded world, end to end through `mixlab study run`: run folders named by
the axis, one results column per axis, a table block per lr value, and lr's own effect in effects.csv."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SPEC = """\
name: tiny-axes
model: world
world: {pretrain_tokens: 20000}
mixture:
  sources:
    - {name: code, alias: C, world: code, count: 8}
    - {name: nlp, alias: P, world: nlp, count: 8}
design: subsets
volumes: [8]
seeds: [0, 1]
train: {epochs: 1, lr: 1.0e-3, batch_size: 4, max_length: 128}
axes:
  lr: {field: train.lr, values: [1.0e-3, 3.0e-3]}
eval: {suites: [world], limit: 10, options: {abilities: [sentiment, code_arith]}}
executor: {kind: local, workers: 2}
"""


def test_an_lr_axis_study_runs_end_to_end(tmp_path):
    (tmp_path / "axes.yaml").write_text(SPEC)
    env = {**os.environ, "MIXLAB_CACHE": str(tmp_path / "cache"),
           "PYTHONPATH": str(Path(__file__).resolve().parents[3] / "src")}
    proc = subprocess.run([sys.executable, "-m", "mixlab", "study", "run", "axes.yaml", "--out", "out"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = tmp_path / "out"
    arms = ["C", "P", "C+P"]
    want = {"mix=none"} | {f"mix={m},n=8,seed={s},lr={lr}" for m in arms for s in (0, 1) for lr in ("0.001", "0.003")}
    assert {p.name for p in (out / "runs").iterdir()} == want  # 1 shared base + 3 arms x 2 seeds x 2 lr
    assert all((out / "runs" / r / "COMPLETE").exists() for r in want)

    with open(out / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[:6] == ["run_id", "mixture", "n_train", "seed", "lr", "model"]
    assert {(r["run_id"], r["lr"]) for r in rows if r["mixture"] == "none" or (r["mixture"] == "C+P" and r["seed"] == "1")} == {
        ("mix=none", ""), ("mix=C+P,n=8,seed=1,lr=0.001", "0.001"), ("mix=C+P,n=8,seed=1,lr=0.003", "0.003")}

    text = proc.stdout
    for lr in ("0.001", "0.003"):
        assert f"mixture table (lr={lr}; n = 8 rows per source;" in text
    blocks = text.split("mixture table (")[1:]
    assert all(b.split("\n")[3].startswith("none") for b in blocks)  # each block: base row, then the arms
    assert "Setting lr=0.003 (against lr=0.001)" in text

    with open(out / "effects.csv", newline="") as f:
        effects = list(csv.DictReader(f))
    axis = [e for e in effects if e["axis"] == "lr"]
    assert {e["target"] for e in axis} >= {"sentiment", "code_arith", "avg"}
    assert all(e["source"] == "lr=0.003 vs lr=0.001" and e["n_pairs"] == "3" and e["n_seeds"] == "2" for e in axis)
    assert {e["slice"] for e in effects if not e["axis"]} == {"lr=0.001", "lr=0.003"}
    assert "Effects of the axes" in (out / "report.html").read_text()
