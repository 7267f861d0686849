"""Self-Instruct and Evol-Instruct runs with a deterministic fake teacher: provenance, counts that add up,
resume after a crash (the same bytes as an uninterrupted run, no duplicates), and rows that load as a source."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from generate_fakes import CrashAfter, FakeTeacher

from mixlab.data.load import load_source
from mixlab.errors import MixlabError
from mixlab.generate.evol_instruct import (
    EvolInstructOptions,
    EvolItem,
    generate_evol_instruct,
    pool_for_round,
)
from mixlab.generate.evol_instruct import settings_record as evol_settings
from mixlab.generate.journal import Journal, dropped_path
from mixlab.generate.seeds import SeedTask
from mixlab.generate.self_instruct import SelfInstructOptions, generate_self_instruct
from mixlab.generate.self_instruct import settings_record as si_settings
from mixlab.generate.teacher import GenerationSettings, teacher_from_lm

SEEDS = [SeedTask(f"seed_{i}", text, "", out) for i, (text, out) in enumerate([
    ("Give three tips for keeping a houseplant alive.", "Water it, give it light, and do not overpot it."),
    ("Translate the sentence into Spanish.", "Hola."),
    ("Summarise the story of a famous novel in two lines.", "A whale, a captain, an obsession."),
    ("Suggest a name for a bakery that sells only pies.", "Pie in the Sky."),
    ("Explain why the sky looks blue on a clear day.", "Rayleigh scattering."),
    ("Convert 25 degrees Celsius to Fahrenheit.", "77 degrees Fahrenheit."),
    ("Write a limerick about a forgetful cat.", "There once was a cat..."),
    ("List the planets of the solar system in order.", "Mercury, Venus, Earth, Mars, ..."),
])]
GEN = GenerationSettings(temperature=0.7, top_p=0.5, max_new_tokens=64, seed=3)


def _self_instruct(out: Path, n: int, lm: FakeTeacher, **kw) -> dict:
    opts = SelfInstructOptions(n=n, requests_per_step=2, **kw)
    teacher = teacher_from_lm(lm)
    journal = Journal.open(out, "self-instruct", si_settings(opts, GEN, teacher.spec, "sha-of-seeds"))
    return generate_self_instruct(teacher, SEEDS, journal, opts, GEN, progress=False)


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _adds_up(manifest: dict, out: Path) -> None:
    c = manifest["counts"]
    assert c["proposed"] == c["kept"] + sum(c["dropped"].values())
    assert c["kept"] == len(_lines(out)) == manifest["rows"]
    dropped = _lines(dropped_path(out))
    assert len(dropped) == sum(c["dropped"].values())
    for reason, k in c["dropped"].items():
        assert sum(d["reason"] == reason for d in dropped) == k
    for key in ("proposed", "kept"):
        assert sum(r[key] for r in manifest["per_round"].values()) == c[key]


def test_self_instruct_keeps_n_novel_rows_with_provenance_and_counts_that_add_up(tmp_path):
    out = tmp_path / "si" / "gen.jsonl"
    manifest = _self_instruct(out, 10, FakeTeacher())
    assert manifest["complete"] and manifest["rows"] == 10
    _adds_up(manifest, out)
    dropped = manifest["counts"]["dropped"]
    # the fake writes a keyword task, a 2-word task and a copy of a task it was shown in every proposal
    assert dropped["unsuitable keyword"] == dropped["too short"] == manifest["steps_done"] * 2
    assert dropped["duplicate"] >= manifest["steps_done"] * 2
    rows = _lines(out)
    assert len({r["id"] for r in rows}) == 10
    seed_ids = {s.id for s in SEEDS}
    for r in rows:
        m = r["meta"]
        assert m["method"] == "self-instruct" and m["teacher"]["model"] == "fake-teacher"
        assert m["generation"] == {"temperature": 0.7, "top_p": 0.5, "max_new_tokens": 64, "seed": 3, "style": "chat"}
        assert m["instruction"] in m["prompt"]["instance"] and m["prompt"]["proposal"].startswith("Come up with")
        assert len(m["parents"]) == 8 and set(m["parents"]) <= seed_ids | {x["id"] for x in rows}
        assert m["rouge_l_nearest"] < 0.7 and r["messages"][0]["content"] == m["instruction"]
    assert any(set(r["meta"]["parents"]) - seed_ids for r in rows)  # generated tasks were shown once there were some


def test_the_rows_load_back_as_a_mixlab_source(tmp_path):
    out = tmp_path / "gen.jsonl"
    _self_instruct(out, 6, FakeTeacher())
    src = load_source(out, name="generated")
    assert src.format == "messages" and not src.rejected
    assert [ex.id for ex in src.examples] == [r["id"] for r in _lines(out)]
    assert src.examples[0].source == "self_instruct" and src.examples[0].meta["method"] == "self-instruct"


def test_a_crashed_run_resumes_to_the_bytes_of_an_uninterrupted_one(tmp_path):
    whole = tmp_path / "whole" / "gen.jsonl"
    _self_instruct(whole, 12, FakeTeacher())
    broken = tmp_path / "broken" / "gen.jsonl"
    with pytest.raises(CrashAfter):
        _self_instruct(broken, 12, FakeTeacher(crash_after=3))  # dies inside the second step
    first = _lines(broken)
    assert 0 < len(first) < 12
    # a crash between the appends and the manifest: a row of an uncommitted step, and a torn line
    with open(broken, "a") as f:
        f.write(json.dumps({**first[0], "id": "ghost", "meta": {**first[0]["meta"], "step": 99}}) + "\n{\"id\": \"tor")
    lm = FakeTeacher()
    manifest = _self_instruct(broken, 12, lm)
    assert broken.read_bytes() == whole.read_bytes()
    assert dropped_path(broken).read_bytes() == dropped_path(whole).read_bytes()
    assert manifest["counts"] == json.loads((whole.parent / "manifest.json").read_text())["counts"]
    again = FakeTeacher()
    _self_instruct(broken, 12, again)  # complete: nothing asked, nothing added
    assert again.calls == 0 and broken.read_bytes() == whole.read_bytes()


def test_a_larger_n_continues_and_other_settings_are_refused(tmp_path):
    out = tmp_path / "gen.jsonl"
    _self_instruct(out, 4, FakeTeacher())
    manifest = _self_instruct(out, 9, FakeTeacher())
    assert manifest["rows"] == 9 and len({r["id"] for r in _lines(out)}) == 9
    _adds_up(manifest, out)
    with pytest.raises(MixlabError, match="rouge_threshold"):
        _self_instruct(out, 9, FakeTeacher(), rouge_threshold=0.5)


def test_a_teacher_whose_proposals_are_all_filtered_stops_at_max_steps(tmp_path):
    class Silent(FakeTeacher):
        def _answer(self, text, seed):
            return "Task 9: Draw a map."

    out = tmp_path / "gen.jsonl"
    manifest = _self_instruct(out, 3, Silent(), max_steps=2)
    assert not manifest["complete"] and manifest["rows"] == 0 and manifest["steps_done"] == 2
    assert manifest["counts"]["dropped"] == {"too short": 4}


def test_output_refuses_a_foreign_file_and_a_shared_manifest(tmp_path):
    (tmp_path / "mine.jsonl").write_text('{"id": 1}\n')
    with pytest.raises(MixlabError, match=r"no manifest\.json"):
        Journal.open(tmp_path / "mine.jsonl", "self-instruct", {})
    Journal.open(tmp_path / "a.jsonl", "self-instruct", {}).write_manifest()
    with pytest.raises(MixlabError, match="its own folder"):
        Journal.open(tmp_path / "b.jsonl", "self-instruct", {})


# ------------------------------------------------------------------------------------------------ evol
START = [EvolItem(f"in-{i}", s.instruction, f"in-{i}") for i, s in enumerate(SEEDS)]


def _evol(out: Path, rounds: int, lm: FakeTeacher) -> dict:
    opts = EvolInstructOptions(n=len(START), rounds=rounds, requests_per_step=3)
    teacher = teacher_from_lm(lm)
    journal = Journal.open(out, "evol-instruct", evol_settings(opts, GEN, teacher.spec, {"sha256": "x"}))
    return generate_evol_instruct(teacher, START, journal, opts, GEN, progress=False)


def test_evol_instruct_rounds_eliminations_and_lineage(tmp_path):
    out = tmp_path / "evol.jsonl"
    manifest = _evol(out, 3, FakeTeacher())
    _adds_up(manifest, out)
    c = manifest["counts"]
    assert c["proposed"] == 3 * len(START) and set(manifest["per_round"]) == {"1", "2", "3"}
    assert {"no information gain", "copies the evolving prompt", "response says sorry"} <= set(c["dropped"])
    rows = _lines(out)
    by_id = {r["id"]: r for r in rows} | {s.id: None for s in START}
    for r in rows:
        m = r["meta"]
        assert m["parent"] in by_id and m["root"].startswith("in-")
        parent = by_id[m["parent"]]
        assert parent is None or parent["meta"]["round"] < m["round"]
        assert m["evolution"] in ("add_constraints", "deepen", "concretize", "increase_reasoning", "breadth")
        assert m["parent_instruction"] in m["prompt"]["evolution"] and r["messages"][0]["content"] == m["instruction"]
    # the next round evolves the latest kept version of each place in the pool
    pool3 = pool_for_round(START, rows, 3)
    for i, item in enumerate(pool3):
        mine = [r for r in rows if r["meta"]["pool_index"] == i and r["meta"]["round"] < 3]
        assert item.id == (mine[-1]["id"] if mine else START[i].id)
    assert load_source(out).format == "messages"


def test_evol_resumes_after_a_crash_and_more_rounds_continue(tmp_path):
    whole = tmp_path / "a" / "evol.jsonl"
    _evol(whole, 2, FakeTeacher())
    broken = tmp_path / "b" / "evol.jsonl"
    with pytest.raises(CrashAfter):
        _evol(broken, 2, FakeTeacher(crash_after=5))
    _evol(broken, 2, FakeTeacher())
    assert broken.read_bytes() == whole.read_bytes()
    manifest = _evol(broken, 3, FakeTeacher())
    assert set(manifest["per_round"]) == {"1", "2", "3"} and manifest["complete"]
    assert len({r["id"] for r in _lines(broken)}) == manifest["rows"]
