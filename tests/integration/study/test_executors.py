"""Real executors on a tiny world study: a local process pool and a real local Ray instance."""

from __future__ import annotations

import pytest

from mixlab.study.run_study import run_study
from mixlab.study.spec import StudySpec
from mixlab.study.store import read_results

pytestmark = pytest.mark.integration


def tiny_spec(kind: str, workers: int) -> StudySpec:
    return StudySpec.from_dict({
        "name": "tiny", "model": "world", "world": {"pretrain_tokens": 20000},
        "mixture": {"sources": [{"name": "code", "alias": "C", "world": "code", "count": 4},
                                {"name": "nlp", "alias": "P", "world": "nlp", "count": 4}]},
        "design": "subsets", "seeds": [0],
        "train": {"epochs": 1, "lr": 1e-3, "batch_size": 4, "max_length": 128},
        "eval": {"suites": ["world"], "limit": 3, "options": {"abilities": ["sentiment", "code_arith"]}},
        "executor": {"kind": kind, "workers": workers},
    })


def check(out, result) -> None:
    assert result.counts["done"] == 4 and result.counts["failed"] == 0, [o.error for o in result.failed]
    rows = read_results(out)
    assert {r["mixture"] for r in rows} == {"none", "C", "P", "C+P"}
    assert {r["ability"] for r in rows} == {"sentiment", "code_arith"}


def test_local_pool_runs_a_study_in_two_processes(tmp_path, monkeypatch):
    monkeypatch.setenv("MIXLAB_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "local"
    check(out, run_study(tiny_spec("local", 2), out, show_progress=False))
    again = run_study(tiny_spec("local", 2), out, show_progress=False)
    assert again.counts["cached"] == 4 and again.counts["done"] == 0


def test_ray_executor_on_a_real_local_ray_instance(tmp_path, monkeypatch):
    pytest.importorskip("ray", reason="ray is not installed (pip install 'mixlab[ray]')")
    monkeypatch.setenv("MIXLAB_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "ray"
    check(out, run_study(tiny_spec("ray", 2), out, show_progress=False))
