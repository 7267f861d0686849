"""MT-Bench, FLASK and AlpacaEval suites on the real data files, with scripted models and judges."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from judge_fakes import ScriptedLM, last_user, section

from mixlab.errors import MixlabError, SpecError
from mixlab.eval.judge.suite_factories import alpaca_eval_suite, flask_suite, mt_bench_suite
from mixlab.eval.run import evaluate


def echo_model(prefix: str = "Answer") -> ScriptedLM:
    """Answers with a fixed text naming the turn (so tests can see what the judge was shown)."""
    return ScriptedLM(lambda r: f"{prefix} to turn {(len(r.prompt) + 1) // 2}.", name=f"model-{prefix}")


def test_mt_bench_single_uses_fastchat_prompts_and_references(shared_data: Path) -> None:
    # the judge gives 9 when it was shown a reference answer, else 5
    judge = ScriptedLM(lambda r: "Rating: [[9]]" if "Reference" in last_user(r) else "Rating: [[5]]", name="judge")
    model = echo_model()
    (task,) = mt_bench_suite(data_dir=str(shared_data), judge=judge, limit=8)
    result = task.evaluate(model)
    assert sorted({r["category"] for r in result.items}) == [
        "coding", "extraction", "humanities", "math", "reasoning", "roleplay", "stem", "writing"]
    assert len(result.items) == 16  # 8 questions x 2 turns
    assert result.metrics["score"].value == pytest.approx((6 * 9 + 10 * 5) / 16)
    assert result.metrics["score_math"].value == 9.0 and result.metrics["score_writing"].value == 5.0
    assert result.metrics["score_turn2"].n == 8
    assert {r["judge_prompt"] for r in result.items} == {
        "single-v1", "single-v1-multi-turn", "single-math-v1", "single-math-v1-multi-turn"}
    assert result.counts == {"turns_not_judged": 0, "missing_reference": 0, "judged": 16, "unparseable": 0,
                             "retried": 0}
    # turn 2 was generated with the model's own turn-1 answer in the conversation
    turn2 = [r for r in model.requests if len(r.prompt) == 3]
    assert len(turn2) == 8 and all(r.prompt[1].content == "Answer to turn 1." for r in turn2)
    # the judge saw the FastChat system prompt of single grading
    assert judge.requests[0].prompt[0].role == "system"
    assert result.config["self_judged"] is False and result.chance is None


def test_mt_bench_unparseable_verdicts_are_counted_and_excluded(shared_data: Path) -> None:
    judge = ScriptedLM(lambda r: "[[7]]" if "### User" in last_user(r) else "It is good.")  # only turn 2 parses
    (task,) = mt_bench_suite(data_dir=str(shared_data), judge=judge, limit=4, judge_retries=1)
    result = task.evaluate(echo_model())
    assert result.counts["unparseable"] == 4 and result.counts["retried"] == 4
    assert result.metrics["score"].value == 7.0 and result.metrics["score"].n == 4
    assert result.metrics["score_turn1"].n == 0
    failed = [r for r in result.items if r["score"] is None]
    assert len(failed) == 4 and all(r["judge"]["raw"] == ["It is good."] * 2 for r in failed)


def test_mt_bench_pairwise_against_a_baseline_file(shared_data: Path, tmp_path: Path) -> None:
    questions = [json.loads(line) for line in (shared_data / "mt_bench" / "question.jsonl").open()]
    base = tmp_path / "baseline.jsonl"
    base.write_text("".join(json.dumps({"question_id": q["question_id"], "model_id": "base",
                                        "choices": [{"index": 0, "turns": ["no", "no"]}]}) + "\n"
                            for q in questions))

    def prefer_longer(r):  # a fair judge: the longer answer of the pair wins, wherever it is shown
        text = last_user(r)
        a = section(text, "### Assistant A:", "### User:") or section(text, "[The Start of Assistant A's Answer]",
                                                                       "[The End of Assistant A's Answer]")
        b = section(text, "### Assistant B:", "### User:") or section(text, "[The Start of Assistant B's Answer]",
                                                                       "[The End of Assistant B's Answer]")
        return "[[A]]" if len(a) > len(b) else "[[B]]"

    judge = ScriptedLM(prefer_longer)
    tasks = mt_bench_suite(data_dir=str(shared_data), judge=judge, limit=8, mode="both", baseline_answers=str(base))
    assert [t.name for t in tasks] == ["mt_bench", "mt_bench_pairwise"]
    model = echo_model()
    result = tasks[1].evaluate(model)
    assert result.metrics["win_rate"].value == 1.0 and result.metrics["win_rate"].n == 16
    assert result.metrics["flip_rate"].value == 0.0 and result.chance == 0.5
    assert result.counts["pairs_scored"] == 16 and result.counts["questions_without_baseline"] == 0
    assert {r["judge_prompt"] for r in result.items} == {
        "pair-v2", "pair-v2-multi-turn", "pair-math-v1", "pair-math-v1-multi-turn"}
    assert len(judge.requests) == 32  # every pair in both orders


def test_mt_bench_option_errors_are_reported_together(shared_data: Path) -> None:
    with pytest.raises(SpecError) as err:
        mt_bench_suite(data_dir=str(shared_data), judge=echo_model(), mode="duel")
    assert "mode: 'duel' is not valid" in str(err.value)
    with pytest.raises(SpecError, match="needs baseline_answers"):
        mt_bench_suite(data_dir=str(shared_data), judge=echo_model(), mode="pairwise")
    with pytest.raises(MixlabError, match="needs a judge model: pass --judge"):
        mt_bench_suite(data_dir=str(shared_data))
    with pytest.raises(SpecError, match="limit: 0 must be a positive integer"):
        mt_bench_suite(data_dir=str(shared_data), judge=echo_model(), limit=0)


def flask_judge(r) -> str:
    """Rates every skill listed at the end of the FLASK prompt 4, but never answers in form for Readability."""
    text = last_user(r)
    skills = re.findall(r"^(.+): \[\[r\]\]$", text, flags=re.MULTILINE)
    if "Readability" in skills:
        return "A fine answer overall."
    return "\n".join(f"{s}: [[4]]" for s in skills)


def test_flask_rates_the_annotated_skills(shared_data: Path) -> None:
    judge = ScriptedLM(flask_judge)
    (task,) = flask_suite(data_dir=str(shared_data), judge=judge, limit=12, judge_retries=0)
    result = task.evaluate(echo_model())
    parsed = [r for r in result.items if r["ratings"] is not None]
    assert len(result.items) == 12 and result.counts["judged"] == 12
    assert result.counts["unparseable"] == sum("Readability" in r["skills"] for r in result.items) > 0
    assert len(parsed) == 12 - result.counts["unparseable"]
    assert all(set(r["ratings"]) == set(r["skills"]) for r in parsed)
    assert result.metrics["score"].value == 4.0 and result.metrics["score"].n == 3 * len(parsed)
    assert any(k.startswith("group:") for k in result.metrics) and any(k.startswith("skill:") for k in result.metrics)
    assert (result.ability, result.primary, result.config["scale"]) == ("alignment", "score", "1-5")


def test_alpaca_eval_win_rate_and_length_control(shared_data: Path) -> None:
    def prefer_longer(r):
        text = last_user(r)
        a = section(text, "[Assistant A's answer]", "[End of A's answer]")
        b = section(text, "[Assistant B's answer]", "[End of B's answer]")
        return "[[A]]" if len(a) > len(b) else "[[B]]"

    model = ScriptedLM(lambda r: "x" * 300, name="padder")
    (task,) = alpaca_eval_suite(data_dir=str(shared_data), judge=ScriptedLM(prefer_longer), limit=20,
                                alpaca_eval_version=1)
    result = task.evaluate(model)
    refs = [r["baseline_output"] for r in result.items]
    expected = sum(len(b) < 300 for b in refs) / len(refs)
    assert task.name == "alpaca_eval_v1" and result.primary == "win_rate"
    assert result.metrics["win_rate"].value == pytest.approx(expected)
    assert result.metrics["avg_length"].value == 300.0
    # the judge only rewards length, so the length-controlled win rate falls back towards 0.5
    lc = result.metrics["lc_win_rate"].value
    assert abs(lc - 0.5) < abs(expected - 0.5)
    assert result.metrics["lc_win_rate"].stderr > 0


def test_suite_through_the_shared_runner_writes_tidy_rows(shared_data: Path, tmp_path: Path) -> None:
    judge = ScriptedLM(lambda r: "[[6]]")
    tasks = mt_bench_suite(data_dir=str(shared_data), judge=judge, limit=2)
    rows = evaluate(echo_model(), tasks, tmp_path)
    score = next(r for r in rows if r["metric"] == "score")
    assert score["value"] == 6.0 and score["primary"] is True and score["ability"] == "chat"
    assert (tmp_path / "items" / "mt_bench.jsonl").exists() and (tmp_path / "scores.csv").exists()


def test_judge_spec_options_and_log_from_suite_options(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mixlab.eval.judge import options

    seen = {}
    judge = ScriptedLM(lambda r: "[[6]]")

    def loader(spec, backend=None, **kw):
        seen.update(spec=spec, backend=backend, **kw)
        return judge

    monkeypatch.setattr(options, "load_lm_spec", loader)
    opts = {"data_dir": str(shared_data), "judge": "served", "judge_backend": "openai", "limit": 2,
            "judge_arg_base_url": "http://h/v1", "judge_options": {"timeout": 30},
            "judge_log": str(tmp_path / "judge_log.jsonl")}
    (task,) = mt_bench_suite(**opts)
    assert seen == {"spec": "served", "backend": "openai", "base_url": "http://h/v1", "timeout": 30}
    first = task.evaluate(echo_model())
    assert judge.calls > 0
    judge.reply = lambda r: pytest.fail("a logged judge text was asked again")
    (again,) = mt_bench_suite(**opts)
    assert again.evaluate(echo_model()).metrics["score"] == first.metrics["score"]


def test_mt_bench_both_modes_share_answers_and_a_baseline_model_answers_too(shared_data: Path) -> None:
    # ties on every pairwise prompt (their instructions name [[A]]), 8 on every rating prompt
    judge = ScriptedLM(lambda r: "[[C]]" if "[[A]]" in " ".join(m.content for m in r.prompt) else "[[8]]")
    model, baseline = echo_model("Mine"), echo_model("Base")
    single, pair = mt_bench_suite(data_dir=str(shared_data), judge=judge, limit=3, mode="both", baseline=baseline)
    single.evaluate(model)
    calls_after_single = model.calls
    result = pair.evaluate(model)
    assert model.calls == calls_after_single == 2  # one call per turn, answers re-used by the pairwise task
    assert baseline.calls == 2 and result.counts["questions_without_baseline"] == 0
    assert result.metrics["tie_share"].value == 1.0 and result.metrics["win_rate"].value == 0.5
    assert "model-Base" in result.config["baseline"]
