"""`mixlab search run` and `validate` end to end on the README's search spec at a small size: a grid as the
truth, a search with the merge proxy, the report's search section."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.integration

SHIPPED = Path(__file__).resolve().parents[3] / "configs" / "studies" / "simplex_world.yaml"


def _small_spec() -> str:
    """The README's search spec (configs/studies/simplex_world.yaml) at a test's size: 60 rows per mixture, a
    1/3-step grid (10 mixtures), 8 items per ability; everything else (sources, recipe, prob_answer) as shipped."""
    spec = yaml.safe_load(SHIPPED.read_text())
    spec["mixture"]["total"] = 60
    spec["design_options"]["steps"] = 3
    spec["eval"]["limit"] = 8
    spec["executor"] = {"kind": "local", "workers": 2}
    assert spec["seeds"] == [0, 1] and spec["eval"]["options"]["prob_answer"] is True
    return yaml.safe_dump(spec)


def _mixlab(*args: str, env: dict) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "mixlab", *args], env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    root = tmp_path_factory.mktemp("search")
    (root / "spec.yaml").write_text(_small_spec())
    env = {**os.environ, "MIXLAB_CACHE": str(root / "cache"), "OMP_NUM_THREADS": "1"}
    _mixlab("study", "run", str(root / "spec.yaml"), "--out", str(root / "grid"), "--no-report", env=env)
    run = _mixlab("search", "run", str(root / "spec.yaml"), "--budget", "5", "--objective", "code=2,chat=1",
                  "--candidates", "simplex:3", "--proxy", "merge", "--out", str(root / "search"), env=env)
    val = _mixlab("search", "validate", str(root / "search"), "--against", str(root / "grid"), env=env)
    rep = _mixlab("report", str(root / "search"), "--quiet", env=env)
    return root, run.stdout, val.stdout, rep.stdout


def test_the_search_spends_its_budget_and_recommends_with_an_interval(searched):
    root, out, _, _ = searched
    meta = json.loads((root / "search" / "search.json").read_text())
    assert meta["training_runs"] == 5 and len(meta["runs"]) == 5
    assert [r["mixture"] for r in meta["runs"][:3]] == ["A100", "C100", "P100"]
    assert all(r["reason"] for r in meta["runs"])
    rec = json.loads((root / "search" / "recommendation.json").read_text())
    assert rec["lo"] <= rec["predicted"] <= rec["hi"] and abs(sum(rec["shares"].values()) - 1) < 1e-9
    assert "recommended:" in out and "cv error" in out
    assert meta["proxy"]["kind"] == "merge" and meta["proxy"]["candidates_scored"] == 10
    assert any(k.endswith("+prior") for k in meta["surrogates"]["objective"]["tried"])
    # every world task reports prob_answer: each target is also tried on it, mapped back to its own scale
    assert {"objective", "code avg", "code_arith"} <= set(meta["continuous_targets"])
    assert all(any(k.endswith("~cont") for k in meta["surrogates"][t]["tried"]) for t in meta["continuous_targets"])


def test_predictions_cover_every_candidate_and_target(searched):
    root, _, _, _ = searched
    with open(root / "search" / "predictions.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[:6] == ["mixture", "share_A", "share_C", "share_P", "target", "predicted"]
    targets = {r["target"] for r in rows}
    assert {"objective", "code avg", "chat avg", "nlp avg", "code_arith"} <= targets
    assert len({r["mixture"] for r in rows}) == 10  # simplex:3 over three sources
    assert all(float(r["lo"]) <= float(r["predicted"]) <= float(r["hi"]) for r in rows)
    trained = [r for r in rows if r["runs"] not in ("", "0")]
    assert len({r["mixture"] for r in trained}) == 5


def test_validate_compares_with_the_grid_and_the_report_shows_the_search(searched):
    root, _, val, _ = searched
    assert "spearman" in val and "ceiling" in val and "top-1 regret" in val and "merge proxy alone" in val
    assert "objective on the continuous scores" in val
    v = json.loads((root / "search" / "validation.json").read_text())
    assert v["proxy_spearman_continuous"] is not None and -1 <= v["proxy_spearman_continuous"] <= 1
    assert v["grid_runs"] == 20 and v["training_runs"] == 5 and v["best"] and v["recommended"]
    doc = (root / "search" / "report.html").read_text()
    assert "<h2>Search</h2>" in doc and 'alt="search"' in doc and "continuous per-item scores" in doc
