"""``mixlab data generate``: help for every option, clear errors for bad input, a run and its re-run."""

from __future__ import annotations

import json
import socket

import pytest

from mixlab.cli import build_parser, main

SEED_ROWS = [{"id": f"t{i}", "instruction": text, "instances": [{"input": "", "output": "ok"}],
              "is_classification": False}
             for i, text in enumerate(["Give three tips for a long train journey.", "Explain what a noun is, briefly.",
                                       "Suggest a title for a book about rivers."])]
REPLY = "Task 4: Describe the rules of a board game you would invent.\n\nOutput: A game for two players."


@pytest.fixture
def seeds(tmp_path):
    path = tmp_path / "seeds.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in SEED_ROWS))
    return path


def _args(seeds, out, *more):
    return ["data", "generate", "self-instruct", "--teacher", "dummy", "--teacher-backend", "dummy",
            "--teacher-arg", f"default_reply={REPLY}", "--seed-tasks", str(seeds), "--out", str(out), "--quiet",
            *more]


def test_every_option_has_help():
    parser = build_parser()
    data = next(a for a in parser._subparsers._group_actions[0].choices["data"]._actions
                if isinstance(a, type(parser._subparsers._group_actions[0])))
    generate = data.choices["generate"]
    methods = next(a for a in generate._actions if a.__class__.__name__ == "_SubParsersAction").choices
    assert set(methods) == {"self-instruct", "evol-instruct", "answers"}
    for method in methods.values():
        for action in method._actions:
            assert action.help and len(action.help) > 10, action.dest


def test_a_run_then_a_rerun_that_adds_nothing(seeds, tmp_path, capsys):
    out = tmp_path / "gen" / "rows.jsonl"
    assert main(_args(seeds, out, "--n", "1")) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["meta"]["instruction"].startswith("Describe the rules of a board game")
    assert rows[0]["messages"][1]["content"] == "A game for two players."
    manifest = json.loads((out.parent / "manifest.json").read_text())
    assert manifest["complete"] and manifest["extra"]["seed_tasks"] == {"used": 3, "skipped_by_reason": {}}
    assert manifest["settings"]["teacher"] == {"model": "dummy", "backend": "dummy",
                                               "options": {"default_reply": REPLY}}
    assert main(_args(seeds, out, "--n", "1")) == 0
    assert "already complete" in capsys.readouterr().out
    assert out.read_text().count("\n") == 1


def test_bad_input_is_a_clear_error(seeds, tmp_path, capsys):
    assert main(_args(tmp_path / "missing.jsonl", tmp_path / "o.jsonl", "--n", "1")) == 2
    assert "seed tasks file not found" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "no instruction here"}\nnot json\n')
    assert main(_args(bad, tmp_path / "o.jsonl", "--n", "1")) == 2
    err = capsys.readouterr().err
    assert "no usable seed task in 2 rows" in err and "invalid JSON" in err and "no instruction" in err
    assert main(_args(seeds, tmp_path / "o.jsonl", "--n", "0", "--top-p", "0")) == 2
    err = capsys.readouterr().err
    assert "top_p" in err and "n: 0" in err
    assert main(["data", "generate", "evol-instruct", "--teacher", "x", "--input", str(seeds), "--n", "2",
                 "--evolutions", "deepen,widen", "--out", str(tmp_path / "e.jsonl")]) == 2
    assert "evolutions" in capsys.readouterr().err


def test_an_unreachable_teacher_fails_before_anything_is_written(seeds, tmp_path, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    out = tmp_path / "o.jsonl"
    code = main(["data", "generate", "evol-instruct", "--teacher", "m", "--teacher-backend", "openai",
                 "--teacher-arg", f"base_url=http://127.0.0.1:{port}/v1", "--teacher-arg", "max_retries=0",
                 "--input", str(seeds), "--n", "2", "--out", str(out)])
    assert code == 2
    assert "does not answer" in capsys.readouterr().err and not out.exists()
