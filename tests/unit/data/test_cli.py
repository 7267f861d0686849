"""`mixlab data` verbs end to end on small files: inspect text/JSON, convert output + quarantine, formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mixlab.cli import main

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "data"


def test_inspect_prints_format_counts_reasons_and_duplicates(tmp_path, capsys):
    rows = [{"instruction": "Name a colour.", "output": "Blue."}, {"instruction": "Name a colour.", "output": "Blue."},
            {"instruction": "Add 2 + 2.", "output": ""}]
    p = tmp_path / "a.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["data", "inspect", str(p), "--no-near"]) == 0
    out = capsys.readouterr().out
    assert "format   alpaca" in out and "3 read -> 2 examples, 1 quarantined" in out
    assert "empty response                  1" in out and "duplicates  exact: 1" in out
    assert main(["data", "inspect", str(p), "--json"]) == 0
    prof = json.loads(capsys.readouterr().out)
    assert prof["counts"]["rejected_by_reason"] == {"empty response": 1}
    assert prof["duplicates"]["exact"] == 1 and prof["duplicates"]["near"] == 0


def test_convert_writes_messages_and_quarantine(tmp_path, capsys):
    out = tmp_path / "dolly.jsonl"
    assert main(["data", "convert", str(FIXTURES / "dolly_sample.jsonl"), "--out", str(out)]) == 0
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    q = [json.loads(x) for x in (tmp_path / "dolly.quarantine.jsonl").read_text().splitlines()]
    assert len(rows) == 8 and len(q) == 2
    assert rows[0]["messages"][0]["role"] == "user" and rows[0]["instruction_type"] in {"chat", "nlp", "math", "code"}
    assert {x["reason"] for x in q} == {"empty response", "wrong type"}
    printed = capsys.readouterr().out
    assert "10 rows read -> 8 examples, 2 quarantined" in printed
    # the written file reads back as the messages format, tags included
    assert main(["data", "inspect", str(out), "--no-near", "--tag", "none", "--json"]) == 0
    prof = json.loads(capsys.readouterr().out)
    assert prof["format"] == "messages" and prof["counts"]["examples"] == 8 and "untagged" not in prof["types"]


def test_formats_and_help(capsys):
    assert main(["data", "formats"]) == 0
    out = capsys.readouterr().out
    assert out.index("codealpaca") < out.index("alpaca ")
    with pytest.raises(SystemExit):
        main(["data", "inspect", "--help"])
    assert "quarantined (by reason)" in capsys.readouterr().out


def test_missing_file_is_a_clean_error(tmp_path, capsys):
    assert main(["data", "inspect", str(tmp_path / "nope.jsonl")]) == 2
    assert "data path not found" in capsys.readouterr().err
