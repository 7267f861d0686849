"""`mixlab data generate answers`: a teacher answers a file's instructions; provenance, counts, resume."""

from __future__ import annotations

import json

import pytest
from generate_fakes import CrashAfter, FakeTeacher

from mixlab.cli import main
from mixlab.data.example import Example
from mixlab.data.load import load_source
from mixlab.generate.answers import AnswerOptions, generate_answers, sample_examples, settings_record
from mixlab.generate.journal import Journal
from mixlab.generate.teacher import GenerationSettings, teacher_from_lm


def _examples(n: int) -> list[Example]:
    out = [Example.from_pair(f"q{i:03d}", "curated", f"Explain topic number {i}.", f"Human answer {i}.",
                             instruction_type="chat", abilities=("explain",)) for i in range(n)]
    out.append(Example.from_pair("q-empty", "curated", "", "x"))  # the fake teacher answers "" to nothing
    return out


class EmptyOnBlank(FakeTeacher):
    def _answer(self, text: str, seed: int) -> str:
        return "" if not text.strip() else super()._answer(text, seed)


def _run(tmp_path, teacher, n=12, step=5):
    gen = GenerationSettings(temperature=0.0, top_p=1.0, max_new_tokens=32)
    opts = AnswerOptions(n=n, requests_per_step=step)
    examples = sample_examples(_examples(12), n, gen.seed)
    journal = Journal.open(tmp_path / "a.jsonl", "answers", settings_record(opts, gen, {"model": "fake"}, {"n": 13}))
    return generate_answers(teacher_from_lm(teacher, "fake"), examples, journal, opts, gen, progress=False)


def test_every_instruction_answered_by_the_teacher_with_its_provenance(tmp_path):
    manifest = _run(tmp_path, EmptyOnBlank(), n=13)
    rows = [json.loads(x) for x in (tmp_path / "a.jsonl").read_text().splitlines()]
    assert manifest["counts"] == {"proposed": 13, "kept": 12, "dropped": {"empty answer": 1}}
    assert [r["meta"]["parent"] for r in rows] == [f"q{i:03d}" for i in range(12)]
    first = rows[0]
    assert first["messages"][0]["content"] == "Explain topic number 0."
    assert first["messages"][-1]["content"].startswith("Here is a careful answer")  # the teacher's, not the human's
    assert first["meta"]["teacher"] and first["meta"]["generation"]["temperature"] == 0.0
    assert first["meta"]["prompt"] == [{"role": "user", "content": "Explain topic number 0."}]
    assert first["abilities"] == ["explain"] and first["instruction_type"] == "chat"
    src = load_source(str(tmp_path / "a.jsonl"))
    assert len(src.examples) == 12 and src.format == "messages"


def test_a_crashed_run_resumes_without_duplicates(tmp_path):
    with pytest.raises(CrashAfter):
        _run(tmp_path / "x", EmptyOnBlank(crash_after=1))
    _run(tmp_path / "x", EmptyOnBlank())
    _run(tmp_path / "y", EmptyOnBlank())
    assert (tmp_path / "x" / "a.jsonl").read_bytes() == (tmp_path / "y" / "a.jsonl").read_bytes()


def test_sampling_keeps_input_order_and_takes_all_when_fewer():
    exs = _examples(12)
    picked = sample_examples(exs, 5, 0)
    assert len(picked) == 5 and [exs.index(e) for e in picked] == sorted(exs.index(e) for e in picked)
    assert sample_examples(exs, 100, 0) == exs
    assert AnswerOptions(n=0).problems() == ["n: 0 must be >= 1"]


def test_the_command_with_the_world_model_as_teacher(tmp_path, capsys):
    """A real teacher (the world's base model) answers real rows; the command resumes to 'already complete'."""
    from mixlab.world.model import ensure_base_model
    from mixlab.world.source import load_world_source

    curated = tmp_path / "curated.jsonl"
    curated.write_text("".join(json.dumps(e.to_dict()) + "\n" for e in load_world_source("chat", size=6).examples))
    args = ["data", "generate", "answers", "--teacher", str(ensure_base_model()), "--input", str(curated),
            "--n", "6", "--max-new-tokens", "24", "--out", str(tmp_path / "gen" / "rows.jsonl"), "--quiet"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "answers: " in out and "of 6 proposed" in out
    rows = [json.loads(x) for x in (tmp_path / "gen" / "rows.jsonl").read_text().splitlines()]
    manifest = json.loads((tmp_path / "gen" / "manifest.json").read_text())
    assert manifest["counts"]["proposed"] == 6 and len(rows) == manifest["counts"]["kept"]
    assert all(r["meta"]["method"] == "answers" for r in rows)
    assert main(args) == 0 and "already complete" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["data", "generate", "answers", "--help"])
    assert "distillation" in capsys.readouterr().out
