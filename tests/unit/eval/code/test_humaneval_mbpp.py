"""The HumanEval / MBPP suites with a scripted LM: requests, cleaning, pass@k against the formula, timeouts
apart, chat prompts, validation at the door, and the tidy rows of ``mixlab.eval.run.evaluate``."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from mixlab.errors import SpecError
from mixlab.eval.code.completions import HUMANEVAL_STOP, MBPP_STOP
from mixlab.eval.code.humaneval_mbpp import SamplingSpec
from mixlab.eval.code.passk import pass_at_k
from mixlab.eval.lm import GenerationRequest
from mixlab.eval.run import evaluate
from mixlab.eval.suites import SUITES


class ScriptedLM:
    """Answers each request with ``reply(prompt, sample_index)``; records the requests."""

    def __init__(self, reply: Callable[[Any, int], str]):
        self.reply = reply
        self.requests: list[GenerationRequest] = []

    def identity(self) -> dict[str, Any]:
        return {"backend": "scripted", "model": "scripted", "template": "none"}

    def loglikelihood(self, requests):  # pragma: no cover - not used by code tasks
        raise NotImplementedError

    def generate(self, requests: Sequence[GenerationRequest]) -> list[list[str]]:
        self.requests.extend(requests)
        return [[self.reply(r.prompt, i) for i in range(r.n)] for r in requests]


@pytest.fixture(scope="module")
def canonical(shared_data) -> dict[str, str]:
    with gzip.open(shared_data / "humaneval" / "HumanEval.jsonl.gz", "rt") as f:
        return {row["prompt"]: row["canonical_solution"] for row in map(json.loads, f)}


def test_pass_at_k_of_the_suite_matches_the_formula(shared_data, canonical):
    prompts = list(canonical)
    correct = {p: prompts.index(p) % 4 for p in prompts}  # problem j has (j mod 4) correct samples of 10

    def reply(prompt, i):
        return canonical[prompt] if i < correct[prompt] else "    return None\n"

    lm = ScriptedLM(reply)
    (task,) = SUITES.get("humaneval")(data_dir=shared_data, n_samples=10, temperature=0.8)
    result = task.evaluate(lm, limit=8)
    assert len(lm.requests) == 8
    r0 = lm.requests[0]
    assert (r0.n, r0.temperature, r0.stop, r0.max_new_tokens) == (10, 0.8, HUMANEVAL_STOP, 512)
    cs = [correct[r.prompt] for r in lm.requests]
    assert [item["c"] for item in result.items] == cs
    assert result.metrics["pass@1"].value == pytest.approx(sum(c / 10 for c in cs) / 8)
    assert result.metrics["pass@10"].value == pytest.approx(sum(pass_at_k(10, c, 10) for c in cs) / 8)
    assert result.metrics["pass@1"].n == 8 and result.metrics["pass@1"].stderr > 0
    assert result.primary == "pass@1" and result.ability == "code" and result.chance == 0.0
    assert result.counts["samples"] == 80 and result.counts["passed"] == sum(cs)
    assert result.config["ks"] == [1, 10] and result.config["not_computed"] == {}
    assert result.config["sandbox"]["namespaces"] is not None


def test_one_greedy_sample_by_default_and_the_missing_k_is_named(shared_data, canonical):
    lm = ScriptedLM(lambda prompt, i: canonical[prompt])
    (task,) = SUITES.get("humaneval")(data_dir=shared_data)
    result = task.evaluate(lm, limit=3)
    assert lm.requests[0].n == 1 and lm.requests[0].temperature == 0.0
    assert set(result.metrics) == {"pass@1", "timeout_rate"}
    assert result.metrics["pass@1"].value == 1.0
    assert result.config["not_computed"] == {"pass@10": "n_samples=1 < 10"}


def test_limit_takes_a_seeded_subset_not_the_first_problems(shared_data, canonical):
    lm = ScriptedLM(lambda prompt, i: canonical[prompt])
    (task,) = SUITES.get("humaneval")(data_dir=shared_data)
    ids = [item["id"] for item in task.evaluate(lm, limit=5).items]
    assert len(ids) == 5 and ids != [f"HumanEval/{i}" for i in range(5)]
    assert ids == [item["id"] for item in task.evaluate(lm, limit=5).items]


def test_timeouts_are_counted_apart_from_failures(shared_data, canonical):
    loop = "    while True:\n        pass\n"
    lm = ScriptedLM(lambda prompt, i: loop if i == 0 else ("    return None\n" if i == 1 else canonical[prompt]))
    (task,) = SUITES.get("humaneval")(data_dir=shared_data, n_samples=3, temperature=0.5, ks="1", timeout=0.5)
    result = task.evaluate(lm, limit=2)
    assert result.counts["timed_out"] == 2 and result.counts["failed"] == 2 and result.counts["passed"] == 2
    assert result.metrics["timeout_rate"].value == pytest.approx(1 / 3)
    assert result.items[0]["results"][0] == "timed out"
    assert result.config["failure_reasons"]["timed out"] == 2


def test_chat_prompts_are_conversations_and_fenced_replies_are_extracted(shared_data, canonical):
    def reply(prompt, i):
        text = prompt[-1].content
        original = text.split("```python\n", 1)[1].rsplit("```", 1)[0]
        return f"Here you go:\n```python\n{original}{canonical[original]}```\nThis works."

    lm = ScriptedLM(reply)
    (task,) = SUITES.get("humaneval")(data_dir=shared_data, chat=True)
    result = task.evaluate(lm, limit=4)
    assert isinstance(lm.requests[0].prompt, tuple) and lm.requests[0].prompt[0].role == "user"
    assert lm.requests[0].stop == ()
    assert result.metrics["pass@1"].value == 1.0
    assert result.counts["fenced_code_extracted"] == 4
    assert result.config["prompt_format"] == "chat"


def test_mbpp_suite_three_shot_raw_prompt_and_done_delimiter(shared_data):
    with gzip.open(shared_data / "mbpp" / "mbpp.jsonl.gz", "rt") as f:
        rows = {r["task_id"]: r for r in map(json.loads, f)}
    by_text = {r["text"]: r["code"] for r in rows.values()}

    def reply(prompt, i):
        text = prompt.rsplit("here is your task: ", 1)[1].split(" Your code should pass", 1)[0]
        return by_text[text] + "\n[DONE]\n\nYou are an expert Python programmer, and here is your task: ..."

    lm = ScriptedLM(reply)
    (task,) = SUITES.get("mbpp")(data_dir=shared_data, timeout_factor=4)
    result = task.evaluate(lm, limit=6)
    assert lm.requests[0].stop == MBPP_STOP and lm.requests[0].prompt.endswith("[BEGIN]\n")
    assert result.metrics["pass@1"].value == 1.0, [i["results"] for i in result.items]
    assert result.config["shots"] == 3 and result.config["shot_ids"] == [2, 3, 4]
    assert all(11 <= int(i["id"].split("/")[1]) <= 510 for i in result.items)


def test_sampling_spec_reports_every_problem_at_once(shared_data):
    with pytest.raises(SpecError) as err:
        SamplingSpec(n_samples=4, temperature=0.0, ks=(1, 10), top_p=0, max_new_tokens=0)
    text = str(err.value)
    assert "4 problems" in text
    for part in ("identical greedy samples", "pass@10 needs n_samples >= 10", "top_p: 0", "max_new_tokens: 0"):
        assert part in text
    with pytest.raises(SpecError, match="shots: the chat prompt is zero-shot"):
        SUITES.get("mbpp")(data_dir=shared_data, chat=True, shots=3)
    with pytest.raises(SpecError, match="not found"):
        SUITES.get("humaneval")(data_dir=shared_data / "mbpp")


def test_runner_writes_tidy_rows_and_items(shared_data, canonical, tmp_path):
    lm = ScriptedLM(lambda prompt, i: canonical[prompt])
    tasks = SUITES.get("humaneval")(data_dir=shared_data)
    rows = evaluate(lm, tasks, tmp_path, limit=3)
    by_metric = {r["metric"]: r for r in rows}
    assert by_metric["pass@1"]["value"] == 1.0 and by_metric["pass@1"]["primary"] is True
    assert by_metric["timeout_rate"]["primary"] is False
    assert by_metric["pass@1"]["ability"] == "code" and by_metric["pass@1"]["instruction_type"] == "code"
    items = [json.loads(line) for line in (tmp_path / "items" / "humaneval.jsonl").read_text().splitlines()]
    assert len(items) == 3 and items[0]["passed"] == [True] and items[0]["outputs"]
