"""``mixlab eval``: listing, a full run with the dummy backend, outputs in the tidy shape, cache re-use."""

from __future__ import annotations

import csv
import json
import re

import pytest

from mixlab.cli import build_parser, main
from mixlab.errors import SpecError
from mixlab.eval.cli import parse_key_values
from mixlab.eval.run import SCORE_COLUMNS
from mixlab.eval.suites import DESCRIPTIONS


def test_list_prints_every_suite(capsys):
    assert main(["eval", "--list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in DESCRIPTIONS) and "MMLU, 57 subjects" in out


def test_sub_actions_are_wired():
    parser = build_parser()
    assert parser.parse_args(["eval", "lm-eval", "--model", "m", "--tasks", "t", "--out", "o"]).eval_action == "lm-eval"
    assert parser.parse_args(["eval", "code", "--problems", "p", "--samples", "s", "--out", "o"]).eval_action == "code"
    assert parser.parse_args(["eval", "--model", "m", "--suite", "s", "--out", "o"]).eval_action is None


def test_missing_arguments_are_named(capsys):
    assert main(["eval", "--suite", "arc_easy"]) == 2
    err = capsys.readouterr().err
    assert "missing --model, --out" in err and "mixlab eval --list" in err


def test_key_values_stay_text_and_report_all_bad_pairs():
    assert parse_key_values(["shots=0", "chat=true", "x=none", "t=1.5", "s=a,b"], "w") == {
        "shots": "0", "chat": "true", "x": "none", "t": "1.5", "s": "a,b"}
    with pytest.raises(Exception, match="2 problems"):
        parse_key_values(["novalue", "=1"], "--suite-arg")


def test_option_values_keep_the_types_their_options_declare():
    """``chat_template=none`` is the template named none, ``adapter=no`` a folder, a numeric revision text."""
    from mixlab.eval.backends import options_from_kwargs
    from mixlab.eval.backends.hf import TransformersOptions

    opts = options_from_kwargs(TransformersOptions, "w", parse_key_values(
        ["chat_template=none", "adapter=no", "revision=0123", "batch_size=8", "progress=false", "max_length=none"],
        "--model-arg"))
    assert opts.chat_template == "none" and opts.adapter == "no" and opts.revision == "0123"
    assert opts.batch_size == 8 and opts.progress is False and opts.max_length is None
    with pytest.raises(SpecError) as err:
        options_from_kwargs(TransformersOptions, "w", {"batch_size": "eight", "progress": "maybe"})
    assert "batch_size: expected a whole number" in str(err.value) and "progress: expected true or false" in str(err.value)


def test_an_unknown_suite_option_is_an_error_that_lists_the_valid_ones():
    from mixlab.eval.suites import build_suites

    with pytest.raises(SpecError, match=r"shot: unknown option \(did you mean 'shots'\?\); valid options: .*shots"):
        build_suites(["arc_easy", "world"], shot=5)
    tasks = build_suites(["world"], limit="3", n_items="20")  # text from the command line reads as declared
    assert len(tasks) == 7 and tasks[0].n_items == 20
    with pytest.raises(SpecError, match="n_items: expected a whole number"):
        build_suites(["world"], n_items="many")


def test_eval_run_writes_tidy_scores_items_summary_and_reuses_the_cache(shared_data, tmp_path, caplog):
    out = tmp_path / "run"
    argv = ["eval", "--backend", "dummy", "--model", "dummy", "--suite", "arc_easy,gsm8k", "--limit", "12",
            "--data-dir", str(shared_data), "--out", str(out), "--suite-arg", "shots=0"]
    assert main(argv) == 0
    with open(out / "scores.csv") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == SCORE_COLUMNS
    assert {(r["task"], r["metric"]) for r in rows} == {
        ("arc_easy", "acc"), ("arc_easy", "acc_norm"), ("arc_easy", "prob_gold"), ("gsm8k", "exact_match_strict"),
        ("gsm8k", "exact_match_flexible")}
    assert all(r["n_items"] == "12" for r in rows)
    arc = [json.loads(line) for line in (out / "items" / "arc_easy.jsonl").read_text().splitlines()]
    assert len(arc) == 12 and {"prompt", "choices", "gold", "logprobs", "acc", "acc_norm"} <= set(arc[0])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model"]["backend"] == "dummy" and summary["tasks"]["gsm8k"]["config"]["shots"] == 0
    assert summary["tasks"]["gsm8k"]["counts"]["exact_match_flexible_no_answer"] == 12
    assert {a["ability"] for a in summary["abilities"]} == {"stem_knowledge", "math_cot"}
    first = (out / "scores.csv").read_text()
    caplog.clear()
    with caplog.at_level("INFO", logger="mixlab.eval"):
        assert main(argv) == 0
    assert re.search(r"cache: [1-9]\d+ hits, 0 computed", caplog.text)
    assert (out / "scores.csv").read_text() == first


def test_unknown_suite_suggests_names(capsys, tmp_path):
    assert main(["eval", "--backend", "dummy", "--model", "d", "--suite", "arc_esy", "--out", str(tmp_path)]) == 2
    assert "did you mean 'arc_easy'" in capsys.readouterr().err
