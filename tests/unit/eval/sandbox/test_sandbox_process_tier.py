"""The weaker process tier, forced on Linux: what machines without namespaces (macOS, containers that forbid
``unshare``) get. It contains what it promises (docs/sandbox.md), says so once, loudly, and marks every
result and every task that used it."""

from __future__ import annotations

import logging
import time

import pytest
from test_sandbox_hostile import FILES, LIMITS, header, processes_with, programs_for, world  # noqa: F401

from mixlab.eval.sandbox import ISOLATION_ENV, PROCESS, Sandbox, SandboxLimits, pool

#: the hostile programs the process tier contains; the others (reading or writing the user's files,
#: reaching the network through ctypes, escaping the process group) are what it gives up
CONTAINED = {"big_file", "close_all_fds", "deep_recursion", "exit_zero_early", "forge_sentinel", "fork_bomb",
             "infinite_loop", "kill_parent", "memory_bomb", "monkeypatch_runner", "open_socket",
             "os_exit_zero_early", "output_flood", "read_env_secret", "recursion_error",
             "sleep_ignoring_signals", "thread_bomb", "unix_socket"}


@pytest.fixture
def forced(monkeypatch):
    """The fallback forced through the environment variable, with the once-per-process warning reset."""
    monkeypatch.setenv(ISOLATION_ENV, PROCESS)
    monkeypatch.setattr(pool, "_WARNED", False)
    return monkeypatch


def test_results_are_the_same_verdicts_marked_process(forced):
    programs = ["assert sorted([3, 1]) == [1, 3]", "assert 1 == 2", "import sys\nsys.exit(0)\nassert False",
                "import os\nos._exit(0)", "while True:\n    pass", "print('x' * 100, flush=True)\nraise ValueError('bad')"]
    with Sandbox(workers=2) as box:
        results = box.run(programs, SandboxLimits(timeout=1.0))
        assert box.tier == PROCESS and box.info["tier"] == PROCESS and box.server_pid is None
    assert [r.reason for r in results] == [
        "passed", "failed: AssertionError", "failed: exited early (sys.exit(0))", "failed: exited early (status 0)",
        "timed out", "failed: ValueError"]
    assert {r.isolation for r in results} == {PROCESS}
    assert results[5].output.startswith("x" * 100) and results[5].detail == "bad"
    assert results[0].cpu_seconds is not None and results[0].cpu_seconds < 1


def test_the_tier_says_so_once_loudly(forced, caplog):
    caplog.set_level(logging.WARNING, logger="mixlab.eval.sandbox.pool")
    for _ in range(2):
        with Sandbox(workers=1) as box:
            assert box.run(["pass"])[0].passed
    loud = [r.getMessage() for r in caplog.records if "WEAKER ISOLATION" in r.getMessage()]
    assert len(loud) == 1 and "isolation='process'" in loud[0]


def test_a_machine_without_namespaces_falls_back_on_its_own(monkeypatch):
    """As on macOS: the isolation module finds no unshare(); ``auto`` then chooses the process tier."""
    from mixlab.eval.sandbox import isolation

    monkeypatch.delenv(ISOLATION_ENV, raising=False)
    monkeypatch.setattr(pool, "_WARNED", False)
    monkeypatch.setattr(isolation, "UNAVAILABLE", "the C library has no unshare() (not Linux)")
    with Sandbox(workers=1) as box:
        assert box.run(["assert True"])[0].isolation == PROCESS
        assert box.info["reason"] == "the C library has no unshare() (not Linux)"


def test_a_task_that_ran_code_in_the_weaker_tier_counts_it(forced, tmp_path):
    from mixlab.eval.backends.dummy import DummyLM
    from mixlab.eval.run import evaluate
    from mixlab.eval.sandbox import run_programs
    from mixlab.eval.stats import Score
    from mixlab.eval.task import TaskResult

    class TwoPrograms:
        name, ability, instruction_type, chance, primary = "two", "code_x", "code", 0.0, "pass"

        def evaluate(self, lm, *, limit=None):
            passed = [r.passed for r in run_programs(["assert True", "assert False"], workers=3)]
            return TaskResult(self.name, self.ability, "code", "pass", 0.0, {"pass": Score(sum(passed) / 2, 0.0, 2)})

    forced.setattr(pool, "_SHARED", {})  # a sandbox of its own, started under the forced tier
    try:
        evaluate(DummyLM(), [TwoPrograms()], tmp_path)
    finally:
        pool._close_shared()
    import json

    task = json.loads((tmp_path / "summary.json").read_text())["tasks"]["two"]
    assert task["counts"]["weak_isolation"] == 2 and task["config"]["sandbox_isolation"] == PROCESS


def test_the_hostile_programs_it_promises_to_contain_are_contained(forced, world):  # noqa: F811
    chosen = [(p, text) for p, text in zip(FILES, programs_for(world["subs"]), strict=True) if p.stem in CONTAINED]
    assert len(chosen) == len(CONTAINED)
    with Sandbox(workers=2) as box:
        results = box.run([text for _, text in chosen], LIMITS)
        problems = []
        for (path, _), result in zip(chosen, results, strict=True):
            allowed = header(path.read_text(), "expect").split("|")
            if result.passed or result.status not in allowed:
                problems.append(f"{path.stem}: {result.status} ({result.reason}), expected {allowed}")
            if world["secret"] in result.output + result.detail:
                problems.append(f"{path.stem}: the secret leaked into the output")
        assert not problems, "\n".join(problems)
        assert [r.reason for r in box.run(["assert 2 + 2 == 4"], LIMITS)] == ["passed"]
    assert [listener.received for listener in world["listeners"]] == [[], []]
    time.sleep(0.2)
    assert processes_with(world["token"]) == [], "a process outlived its program"
