"""Shared writes: JSON lines stay one row per line for every reader."""

from __future__ import annotations

from mixlab.artifacts import atomic_write_jsonl, read_jsonl


def test_jsonl_rows_with_unicode_line_breaks_stay_on_one_line(tmp_path):
    rows = [{"a": "one\u2028two\u2029three\x85four"}, {"a": "plain"}]
    path = tmp_path / "rows.jsonl"
    assert atomic_write_jsonl(path, rows) == 2
    assert len(path.read_text(encoding="utf-8").splitlines()) == 2  # str.splitlines breaks on all three
    assert read_jsonl(path) == rows
