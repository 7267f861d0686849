"""Curated against generated data on the world, end to end through `mixlab study run` and `mixlab report`: a
`bullets` arm and a `bullets_taught` arm (the same kind of instructions answered by a trained teacher) on a
nested ladder, two seeds; the report's data-construction comparison, the taught arm's growth pace on bullets,
and the teacher's provenance in the run's mixture manifest. The teacher and its pool are made small here."""

from __future__ import annotations

import csv
import json

import pytest

from mixlab.cli import main
from mixlab.world import taught

pytestmark = pytest.mark.integration

SPEC = """\
name: tiny-taught
model: world
mixture:
  sources:
    - {name: bullets, alias: bullets, world: bullets, count: 16}
    - {name: bullets_taught, alias: bullets_taught, world: "bullets:taught", count: 16}
design: subsets
design_options: {sizes: [1]}
volumes: [4, 16]
seeds: [0, 1]
train: {epochs: 2, lr: 3.0e-3, batch_size: 4, max_length: 128}
eval: {suites: [world], limit: 12, options: {abilities: [bullets, style]}}
executor: {kind: local, workers: 1}
"""


def test_generated_against_curated_runs_end_to_end(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MIXLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(taught, "POOL", 24)
    recipe = taught.TeacherRecipe
    monkeypatch.setattr(taught, "TeacherRecipe", lambda: recipe(rows=32, epochs=2))
    (tmp_path / "s.yaml").write_text(SPEC)
    assert main(["study", "run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    out = tmp_path / "out"
    assert "9 runs: 9 done" in printed
    assert "data construction: each arm against the curated arm" in printed

    with open(out / "construction.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["arm"], r["against"], r["ability"], r["n_train"]) for r in rows] == [
        ("bullets_taught", "bullets", "bullets", "4"), ("bullets_taught", "bullets", "bullets", "16")]
    assert all(r["n_seeds"] == "2" and r["ci_low"] for r in rows)
    with open(out / "pace.csv", newline="") as f:
        paces = {r["trained_on"]: r["target"] for r in csv.DictReader(f)}
    assert paces == {"bullets": "bullets", "bullets_taught": "bullets"}
    assert "Data construction: generated against curated" in (out / "report.html").read_text()

    manifest = json.loads((out / "runs" / "mix=bullets_taught,n=16,seed=0" / "mixture" / "manifest.json").read_text())
    [origin] = [e["origin"] for e in manifest["sources"] if e["name"] == "bullets_taught"]
    assert origin["value"] == "bullets:taught" and origin["sha256"]  # the generated rows' content hash
