"""The README's first command end to end, at a reduced size: `make demo` runs a whole mixture study.

Checks that the study learns (each type's data raises its own abilities beyond the intervals, with three
seeds), the contract of the study folder (results.csv, items.csv.gz, effects.csv, run folders with the
machine recorded, report) and that re-running the same command skips every finished run and prints the
same table.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SMALL = "--volumes 50,200 --seeds 0,1,2 --limit 30 --workers 2"  # the shipped base: no pretraining
RUNS = 1 + 7 * 2 * 3


def _table(stdout: str) -> str:
    m = re.search(r"mixture table .*?\n(.*?)\n\n", stdout, re.S)
    assert m, stdout[-3000:]
    return m.group(1)


@pytest.fixture(scope="module")
def demo(tmp_path_factory, repo_root):
    out = tmp_path_factory.mktemp("demo") / "qs"
    env = {**os.environ, "MIXLAB_CACHE": str(out.parent / "cache"), "OMP_NUM_THREADS": "1"}
    venv = Path(sys.prefix)
    cmd = ["make", "-C", str(repo_root), "demo", f"VENV={venv}", f"OUT={out}", f"ARGS={SMALL}"]
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1500)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]
    return out, env, first.stdout


def test_the_study_learns_each_types_abilities_beyond_the_intervals(demo):
    out, _, stdout = demo
    with open(out / "effects.csv", newline="") as f:
        effects = list(csv.DictReader(f))
    direct = {r["source"]: r for r in effects if r["n_train"] == "200" and r["target"] == f"{r['source_type']} avg"}
    assert set(direct) == {"A", "C", "P"}
    for src, row in direct.items():
        assert row["verdict"] == "direct", (src, row)
        assert float(row["ci_low"]) > 0.05 and float(row["q_value"]) <= 0.05 and row["level"] == "items"
    assert "direct." in stdout and "q " in stdout


def test_demo_writes_the_study_folder_contract(demo):
    out, _, stdout = demo
    with open(out / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    cols = set(rows[0])
    assert {"run_id", "mixture", "n_train", "seed", "model", "instruction_type", "ability", "metric", "value",
            "primary", "n_clusters", "scale_min", "scale_max"} <= cols
    runs = {r["run_id"] for r in rows}
    assert len(runs) == RUNS
    assert {r["mixture"] for r in rows} == {"none", "A", "C", "P", "A+C", "A+P", "C+P", "A+C+P"}
    abilities = {r["ability"] for r in rows}
    assert len(abilities) >= 6 and {r["instruction_type"] for r in rows} >= {"nlp", "code", "chat"}
    primary = [r for r in rows if r["primary"] == "True"]
    assert len(primary) == len(runs) * len(abilities)  # one headline metric per ability and run
    assert all(1 <= int(r["n_clusters"]) <= 30 for r in primary)
    with gzip.open(out / "items.csv.gz", "rt", newline="") as f:
        items = list(csv.DictReader(f))
    assert len(items) == len(runs) * len(abilities) * 30 and {r["run_id"] for r in items} == runs
    for run in runs:
        folder = out / "runs" / run
        assert (folder / "COMPLETE").exists() and (folder / "scores.jsonl").exists()
        env = json.loads((folder / "run.json").read_text())["environment"]
        assert env["cpu"] and env["torch"] and "blas" in env and "torch_cpu_capability" in env
        if run != "mix=none":
            manifest = (folder / "manifest.json").read_text()
            assert '"seed"' in manifest and '"sources"' in manifest
    report = (out / "report.html").read_text()
    assert report.count("<table>") >= 3 and "data:image/png;base64," in report and "95% CI" in report
    assert "mixture table" in stdout and "report:" in stdout


def test_nested_volumes_share_rows(demo):
    out, _, _ = demo
    small = (out / "runs" / "mix=A+C+P,n=50,seed=0" / "mixture" / "train.jsonl").read_text().splitlines()
    large = (out / "runs" / "mix=A+C+P,n=200,seed=0" / "mixture" / "train.jsonl").read_text().splitlines()
    ids = lambda lines: {re.search(r'"id": "([^"]+)"', line).group(1) for line in lines}  # noqa: E731
    assert len(small) == 150 and len(large) == 600
    assert ids(small) <= ids(large)


def test_rerunning_skips_finished_runs_and_gives_the_same_table(demo):
    out, env, stdout = demo
    again = subprocess.run([sys.executable, "-m", "mixlab", "quickstart", "--out", str(out), *SMALL.split()],
                           env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"{RUNS} runs: 0 done, {RUNS} already complete, 0 failed" in again.stdout
    assert _table(again.stdout) == _table(stdout)
