"""Every judge suite end to end with the real SmolLM2-135M-Instruct as the answering model *and* the judge.

SmolLM2-135M is a weak judge: it often writes no well-formed verdict. These tests therefore check the
machinery on real text, not the verdicts: every judged item either has a verdict in range or is counted as
unparseable with every attempt's raw text kept, retries sample, and the counts add up.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mixlab.eval.ifeval.suite import ifeval_suite
from mixlab.eval.judge import cli
from mixlab.eval.judge.options import load_lm_spec
from mixlab.eval.judge.suite_factories import alpaca_eval_suite, flask_suite, mt_bench_suite

pytestmark = pytest.mark.integration

FAST = {"max_new_tokens": 24, "judge_max_new_tokens": 32, "judge_retries": 1}
# retries are exercised on the real model by the MT-Bench test; the longer-prompt suites ask once (CPU time)
ONCE = {**FAST, "judge_retries": 0}


@pytest.fixture(scope="session")
def smollm2(smollm2_dir: Path):
    """The shared SmolLM2, loaded once (mixlab.eval.backends when present, else the local judge loader)."""
    return load_lm_spec(str(smollm2_dir))


def check_verdicts(verdicts: list[dict], low: float, high: float, retries: int) -> int:
    """Each verdict is a value in range, or a failure after every retry with its raw texts; returns failures."""
    failures = 0
    for v in verdicts:
        assert 1 <= v["attempts"] <= retries + 1 and len(v["raw"]) == v["attempts"]
        if v["ok"]:
            values = v["value"].values() if isinstance(v["value"], dict) else [v["value"]]
            assert all(x in ("A", "B", "tie") or low <= x <= high for x in values)
            assert len(v["problems"]) == v["attempts"] - 1
        else:
            failures += 1
            assert v["attempts"] == retries + 1 and len(v["problems"]) == retries + 1
    return failures


def test_mt_bench_single_with_smollm2(shared_data: Path, smollm2) -> None:
    (task,) = mt_bench_suite(data_dir=str(shared_data), judge=smollm2, limit=1, **FAST)
    result = task.evaluate(smollm2)
    assert [(r["category"], r["turn"]) for r in result.items] == [("writing", 1), ("writing", 2)]
    assert all(r["output"].strip() for r in result.items)  # the model answered both turns
    failures = check_verdicts([r["judge"] for r in result.items], 1, 10, retries=1)
    assert result.counts["unparseable"] == failures
    assert result.metrics["score"].n == 2 - failures
    assert result.config["self_judged"] is True  # recorded, and warned about


def test_alpaca_eval_pairwise_both_orders_with_smollm2(shared_data: Path, smollm2) -> None:
    # AlpacaEval 1's reference outputs are short: cheaper judge prompts on CPU
    (task,) = alpaca_eval_suite(data_dir=str(shared_data), judge=smollm2, limit=1, alpaca_eval_version=1, **ONCE)
    result = task.evaluate(smollm2)
    assert len(result.items) == 1 and len(result.items[0]["output"]) > 0
    verdicts = [r[k] for r in result.items for k in ("judge_ab", "judge_ba")]
    failures = check_verdicts(verdicts, 0, 0, retries=0)
    assert result.counts["verdicts_unparseable"] == failures
    assert result.counts["pairs_scored"] + result.counts["pairs_unparseable"] == 1
    assert result.metrics["win_rate"].n == result.counts["pairs_scored"]
    assert result.metrics["avg_length"].value > 0 and result.metrics["baseline_avg_length"].value > 0


def test_flask_skill_ratings_with_smollm2(shared_data: Path, smollm2) -> None:
    (task,) = flask_suite(data_dir=str(shared_data), judge=smollm2, limit=1, **ONCE)
    result = task.evaluate(smollm2)
    (item,) = result.items
    assert len(item["skills"]) == 3
    failures = check_verdicts([item["judge"]], 1, 5, retries=0)
    assert result.counts["unparseable"] == failures
    assert result.metrics["score"].n == (0 if failures else 3)


def test_eval_judge_cli_scores_given_answers_with_smollm2(shared_data: Path, smollm2, tmp_path: Path) -> None:
    # one MT-Bench math question; the GPT-4 reference answers serve as the "given" answers
    qs = tmp_path / "q.jsonl"
    q = next(json.loads(line) for line in (shared_data / "mt_bench" / "question.jsonl").open()
             if json.loads(line)["question_id"] == 111)
    qs.write_text(json.dumps({**q, "turns": q["turns"][:1]}) + "\n")
    ref = shared_data / "mt_bench" / "reference_answer" / "gpt-4.jsonl"
    args = _parser().parse_args(["judge", "--questions", str(qs), "--answers", str(ref), "--judge", "smollm2",
                                 "--out", str(tmp_path / "out"), "--max-new-tokens", "32", "--retries", "1"])
    assert cli.run(args, judge=smollm2) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    (verdict,) = [json.loads(line) for line in (tmp_path / "out" / "verdicts.jsonl").open()]
    failures = check_verdicts([verdict["judge"]], 1, 10, retries=1)
    assert summary["counts"]["unparseable"] == failures and summary["counts"]["judged"] == 1
    # a math question: judged against the question file's own "reference" field
    assert verdict["judge_prompt"] == "mixlab-single-ref" and verdict["reference_used"] is True
    assert summary["model"] == "gpt-4"


def test_ifeval_fixture_answered_by_smollm2(smollm2, repo_root: Path) -> None:
    fixture = repo_root / "tests" / "unit" / "eval" / "ifeval" / "data" / "ifeval_sample.jsonl"
    (task,) = ifeval_suite(ifeval_file=str(fixture), limit=2, max_new_tokens=48)
    result = task.evaluate(smollm2)
    assert result.counts["prompts"] == 2 and all(r["output"].strip() for r in result.items)
    for r in result.items:  # the checks ran on the real text: loose is never below strict
        assert all(i["loose"] or not i["strict"] for i in r["instructions"])
    m = result.metrics
    assert 0 <= m["prompt_level_strict_acc"].value <= m["prompt_level_loose_acc"].value <= 1


def _parser():
    import argparse

    p = argparse.ArgumentParser()
    cli.add_parser(p.add_subparsers())
    return p
