"""Cleaning what models write: stop sequences, code fences, full functions, re-indentation, MBPP delimiters."""

from __future__ import annotations

import gzip
import json

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mixlab.eval.code.completions import extract_code, humaneval_completion, mbpp_completion
from mixlab.eval.code.problems import CodeProblem, humaneval_problem

PROMPT = 'def add(a, b):\n    """Add two numbers."""\n'
PROBLEM = CodeProblem("t/0", PROMPT, "def check(f):\n    assert f(2, 3) == 5", "add", check_call="check(add)")


def program_for(text: str, reply: bool) -> str:
    completion, _ = humaneval_completion(text, entry_point="add", reply=reply)
    return PROBLEM.program(completion)


def runs(program: str) -> bool:
    scope: dict = {}
    try:
        exec(compile(program, "<test>", "exec"), scope)
    except AssertionError:
        return False
    return True


def test_base_model_continuation_is_cut_at_the_next_top_level_statement():
    text = "    return a + b\n\n\ndef main():\n    print(add(1, 2))\n\nif __name__ == '__main__':\n    main()\n"
    completion, notes = humaneval_completion(text, entry_point="add", reply=False)
    assert completion == "    return a + b"
    assert notes == []
    assert runs(program_for(text, reply=False))


def test_chat_reply_with_the_whole_function_in_a_fence_redefines_it():
    text = "Here is the function:\n\n```python\ndef add(a, b):\n    return a + b\n```\n\nIt adds a and b."
    completion, notes = humaneval_completion(text, entry_point="add", reply=True)
    assert completion.startswith("\ndef add(a, b):")
    assert notes == ["fenced code extracted"]
    assert runs(program_for(text, reply=True))


def test_raw_continuation_treats_a_bare_fence_as_the_end_of_the_code():
    # Instruct models continuing a raw prompt often close the (imagined) code block, then explain.
    text = "```\n\nThis function adds a and b and returns the sum."
    assert humaneval_completion(text, entry_point="add", reply=False) == ("", [])
    text = "    return a + b\n```\n\nThis function adds a and b."
    assert humaneval_completion(text, entry_point="add", reply=False) == ("    return a + b", [])
    # ... but a Python fence right at the start is an answer with code.
    text = "```python\ndef add(a, b):\n    return a + b\n```"
    completion, notes = humaneval_completion(text, entry_point="add", reply=False)
    assert completion.startswith("\ndef add") and notes == ["fenced code extracted"] and runs(program_for(text, reply=False))


def test_unindented_body_is_reindented_and_counted():
    completion, notes = humaneval_completion("return a + b\n", entry_point="add", reply=True)
    assert completion == "    return a + b"
    assert notes == ["body re-indented"]


def test_fence_extraction_prefers_python_and_survives_an_unclosed_fence():
    assert extract_code("```text\nhello\n```\n```python\nx = 1\n```") == ("x = 1", True)
    assert extract_code("```python\nx = 1\ny = 2") == ("x = 1\ny = 2", True)
    assert extract_code("no code here") == ("no code here", False)


def test_mbpp_answer_is_cut_at_done_and_the_next_problem():
    assert mbpp_completion("def f(x):\n    return x\n[DONE]\n\nYou are an expert Python programmer")[0] == (
        "def f(x):\n    return x"
    )
    assert mbpp_completion("[BEGIN]\ndef f(x):\n    return x\n")[0] == "def f(x):\n    return x"
    code, notes = mbpp_completion("Sure:\n```python\ndef f(x):\n    return x\n```")
    assert code == "def f(x):\n    return x" and notes == ["fenced code extracted"]


def test_cleaning_keeps_every_canonical_humaneval_solution_intact(shared_data):
    with gzip.open(shared_data / "humaneval" / "HumanEval.jsonl.gz", "rt") as f:
        rows = [json.loads(line) for line in f]
    assert len(rows) == 164
    changed = []
    for row in rows:
        problem = humaneval_problem(row)
        completion, _ = humaneval_completion(row["canonical_solution"], entry_point=problem.entry_point, reply=False)
        if completion.rstrip() != row["canonical_solution"].rstrip():
            changed.append(row["task_id"])
    assert changed == []


PIECES = ["```", "```\n", "```python\n", "```py\n", "\n", "\n\n", "def add(a, b):", "def other():", "    return a + b",
          "return a - b", "Here is the code:", " ", "#", "print(1)", "\n```", "[DONE]"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=12))
def test_stopping_generation_at_a_bare_fence_never_changes_the_completion(pieces):
    """The backend cuts its output at the first stop string; "```\\n" (a bare fence) was added to end rambling
    sooner. Whatever the model writes, the code that is run is what it was without that stop, except where a
    closing fence is glued to the end of a code line (the next test)."""
    from mixlab.eval.code.completions import HUMANEVAL_STOP
    from mixlab.eval.lm import cut_at_stop

    text = "".join(pieces)  # a raw continuation (chat replies get no stop strings)
    assume(all(i == 0 or text[i - 1] == "\n" for i in _find_all(text, "```")))
    before = tuple(s for s in HUMANEVAL_STOP if s != "```\n")
    old = humaneval_completion(cut_at_stop(text, before), entry_point="add", reply=False)
    new = humaneval_completion(cut_at_stop(text, HUMANEVAL_STOP), entry_point="add", reply=False)
    assert new == old, text


def _find_all(text: str, sub: str) -> list[int]:
    out, i = [], text.find(sub)
    while i != -1:
        out.append(i)
        i = text.find(sub, i + 1)
    return out


def test_a_closing_fence_glued_to_the_code_ends_it():
    """The one change the bare-fence stop makes: ``return a + b```\\n`` used to keep the fence in the code (a
    syntax error); the code now ends at the fence, as a bare fence ends a continuation everywhere else."""
    from mixlab.eval.code.completions import HUMANEVAL_STOP
    from mixlab.eval.lm import cut_at_stop

    text = "```python\n    return a + b```\nThat is all."
    assert humaneval_completion(cut_at_stop(text, HUMANEVAL_STOP), entry_point="add", reply=False)[0] == (
        "    return a + b")
    assert runs(program_for(cut_at_stop(text, HUMANEVAL_STOP), reply=False))
