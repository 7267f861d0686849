"""`mixlab eval judge`: single and pairwise scoring of answer files, outputs, resume, and input errors."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from judge_fakes import ScriptedLM, last_user, section

from mixlab.errors import MixlabError, SpecError
from mixlab.eval.judge import cli, options


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mixlab eval")
    cli.add_parser(p.add_subparsers(dest="action"))
    return p


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def mt_files(tmp_path: Path) -> dict[str, Path]:
    return {
        "questions": write_jsonl(tmp_path / "question.jsonl", [
            {"question_id": 1, "category": "writing", "turns": ["Write a haiku.", "Now make it sad."]},
            {"question_id": 2, "category": "math", "turns": ["What is 3*7?", "And 3*8?"]},
            {"question_id": 3, "category": "writing", "turns": ["Name a colour.", "Another one?"]},
        ]),
        "references": write_jsonl(tmp_path / "ref.jsonl", [
            {"question_id": 2, "model_id": "gpt-4", "choices": [{"index": 0, "turns": ["21", "24"]}]}]),
        "answers": write_jsonl(tmp_path / "answers.jsonl", [
            {"question_id": 1, "model_id": "my-model", "choices": [{"index": 0, "turns": ["Leaves fall", "Tears"]}]},
            {"question_id": 2, "model_id": "my-model", "choices": [{"index": 0, "turns": ["21", "25"]}]},
        ]),
    }


def use_judge(monkeypatch: pytest.MonkeyPatch, judge: ScriptedLM) -> None:
    monkeypatch.setattr(options, "load_lm_spec", lambda spec, backend=None, **kw: judge)


def test_single_scoring_writes_verdicts_summary_and_tidy_scores(
    monkeypatch: pytest.MonkeyPatch, mt_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture,
) -> None:
    judge = ScriptedLM(lambda r: "Correct per reference. Rating: [[8]]" if "Reference" in last_user(r)
                       else "Hmm, fine." if r.temperature == 0 else "Rating: [[4]]", name="judge-x")
    use_judge(monkeypatch, judge)
    out = tmp_path / "out"
    args = parser().parse_args(["judge", "--questions", str(mt_files["questions"]), "--references",
                                str(mt_files["references"]), "--answers", str(mt_files["answers"]),
                                "--judge", "judge-x", "--out", str(out)])
    assert args.func(args) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["mode"] == "single" and summary["model"] == "my-model"
    # question 3 has no answer: counted, not judged; math turns use the reference (8), writing turns retry (4)
    assert summary["counts"]["questions_without_answer"] == 1
    assert summary["counts"]["judged"] == 4 and summary["counts"]["retried"] == 2
    assert summary["metrics"]["score"]["value"] == 6.0
    lo, hi = summary["metrics"]["score"]["ci95"]
    assert lo < 6.0 < hi
    assert summary["judge_prompts"] == ["mixlab-single", "mixlab-single-multi-turn", "mixlab-single-ref",
                                        "mixlab-single-ref-multi-turn"]
    verdicts = [json.loads(line) for line in (out / "verdicts.jsonl").open()]
    writing = next(v for v in verdicts if v["question_id"] == "1" and v["turn"] == 1)
    assert writing["judge"]["raw"] == ["Hmm, fine.", "Rating: [[4]]"] and writing["score"] == 4.0
    csv_lines = (out / "scores.csv").read_text().splitlines()
    assert csv_lines[0].startswith("model,instruction_type,ability,task,metric,value")
    assert csv_lines[1].startswith("my-model,chat,chat,judge_single,score,6.0,") and csv_lines[1].endswith(",external")
    assert "score" in capsys.readouterr().out

    # a re-run resumes from the judge log: the judge is not asked again and the summary is identical
    use_judge(monkeypatch, ScriptedLM(lambda r: pytest.fail("judge asked again"), name="judge-x"))
    assert args.func(args) == 0
    again = json.loads((out / "summary.json").read_text())
    assert again["metrics"] == summary["metrics"]


def test_pairwise_alpaca_style_files_without_questions(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    mine = tmp_path / "mine.json"
    mine.write_text(json.dumps([{"instruction": f"task {i}", "output": "a detailed answer " * (i + 1),
                                 "generator": "mine"} for i in range(6)]))
    base = tmp_path / "base.json"
    base.write_text(json.dumps([{"instruction": f"task {i}", "output": "short", "generator": "ref"}
                                for i in range(5)]))

    def first_if_longer(r):
        text = last_user(r)
        a = section(text, "[Assistant A's answer]", "[End of A's answer]")
        b = section(text, "[Assistant B's answer]", "[End of B's answer]")
        return "[[A]]" if len(a) >= len(b) else "[[B]]"

    use_judge(monkeypatch, ScriptedLM(first_if_longer))
    out = tmp_path / "pair"
    args = parser().parse_args(["judge", "--answers", str(mine), "--answers", str(base), "--judge", "j",
                                "--out", str(out)])
    args.func(args)
    s = json.loads((out / "summary.json").read_text())
    assert (s["mode"], s["model"], s["baseline"]) == ("pairwise", "mine", "ref")
    assert s["counts"]["questions_without_baseline"] == 1 and s["counts"]["pairs_scored"] == 5
    assert s["metrics"]["win_rate"]["value"] == 1.0 and s["metrics"]["flip_rate"]["value"] == 0.0
    assert "lc_win_rate" in s["metrics"] and s["metrics"]["first_position_rate"]["value"] == 0.5


def test_input_errors_are_clear(monkeypatch: pytest.MonkeyPatch, mt_files: dict[str, Path], tmp_path: Path) -> None:
    use_judge(monkeypatch, ScriptedLM(lambda r: "[[5]]"))
    args = parser().parse_args(["judge", "--answers", str(mt_files["answers"]), "--judge", "j", "--out",
                                str(tmp_path / "o")])
    with pytest.raises(MixlabError, match="pass --questions"):
        args.func(args)
    three = ["--answers", str(mt_files["answers"])] * 3
    args = parser().parse_args(["judge", *three, "--judge", "j", "--out", str(tmp_path / "o")])
    with pytest.raises(SpecError, match="give 1 \\(single\\) or 2 \\(pairwise\\)"):
        args.func(args)
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"question_id": 1}, {"choices": []}])
    args = parser().parse_args(["judge", "--questions", str(mt_files["questions"]), "--answers", str(bad),
                                "--judge", "j", "--out", str(tmp_path / "o")])
    with pytest.raises(SpecError) as err:
        args.func(args)
    assert len(err.value.problems) == 2 and err.value.problems[0].startswith("record 1: needs a question id")


def test_help_explains_and_shows_examples(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(["judge", "--help"])
    text = capsys.readouterr().out
    assert "--retry-temperature" in text and "examples:" in text and "length-controlled" in text


def test_judge_backend_and_options_reach_the_loader(
    monkeypatch: pytest.MonkeyPatch, mt_files: dict[str, Path], tmp_path: Path,
) -> None:
    seen = {}

    def fake_loader(spec, backend=None, **kw):
        seen.update(spec=spec, backend=backend, **kw)
        return ScriptedLM(lambda r: "[[5]]")

    monkeypatch.setattr(options, "load_lm_spec", fake_loader)
    args = parser().parse_args([
        "judge", "--questions", str(mt_files["questions"]), "--answers", str(mt_files["answers"]),
        "--judge", "served-judge", "--judge-backend", "openai", "--judge-option", "base_url=http://h:8000/v1",
        "--judge-option", "max_retries=3", "--out", str(tmp_path / "o")])
    args.func(args)
    # texts: the backend reads each as the type its option declares (``max_retries`` an int)
    assert seen == {"spec": "served-judge", "backend": "openai", "base_url": "http://h:8000/v1", "max_retries": "3"}
    bad = parser().parse_args(["judge", "--answers", "a", "--judge", "j", "--out", "o", "--judge-option", "novalue"])
    with pytest.raises(SpecError, match="expected KEY=VALUE"):
        bad.func(bad)


def test_answer_files_accept_empty_answers_and_need_questions_unless_keyed_by_instruction(tmp_path: Path) -> None:
    from mixlab.eval.judge.files import read_answers
    from mixlab.eval.judge.scoring import score_answers

    ae = tmp_path / "ae.json"
    ae.write_text(json.dumps([{"instruction": "Say hi.", "output": "", "generator": "quiet"}]))
    answers = read_answers(ae)
    assert answers.by_id == {"Say hi.": ("",)} and answers.keyed_by_instruction and answers.model == "quiet"
    plain = write_jsonl(tmp_path / "plain.jsonl", [{"question_id": "q1", "output": "Hello"}])
    assert not read_answers(plain).keyed_by_instruction
    with pytest.raises(MixlabError, match="keyed by question ids"):
        score_answers(answers=[plain], judge=ScriptedLM(lambda r: "[[5]]"), out_dir=tmp_path / "o")
