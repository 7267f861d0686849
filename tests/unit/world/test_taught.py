"""Generated data on the world: a teacher (the world base fine-tuned on curated rows) answers train-split
instructions; its real errors stay in the rows, nothing is written into them; built once and cached."""

from __future__ import annotations

import json

import pytest

from mixlab.world import taught
from mixlab.world.source import load_world_source

SMALL = taught.TeacherRecipe(rows=24, epochs=1, max_new_tokens=40)


@pytest.fixture
def small_pool(monkeypatch, tmp_path):
    monkeypatch.setenv("MIXLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(taught, "POOL", 16)
    return tmp_path / "cache"


def test_a_taught_source_answers_world_instructions_with_its_teachers_errors(small_pool):
    got = taught.load_taught_source("bullets", seed=0, recipe=SMALL)
    [folder] = small_pool.glob("world-taught-*")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["asked"] == 16 and manifest["rows"] == len(got.examples) == 16 - manifest["dropped"]
    curated = {ex.prompt: ex.response for ex in load_world_source("bullets", seed=0, size=16).examples}
    assert {ex.prompt for ex in got.examples} <= set(curated)  # the curated source's instructions
    assert all(ex.source == "bullets:taught" and ex.abilities == ("bullets",) for ex in got.examples)
    assert all(ex.meta["method"] == "taught" and ex.meta["parent"] for ex in got.examples)
    differ = sum(ex.response != curated[ex.prompt] for ex in got.examples)
    assert differ > 0  # a teacher of 24 rows and one epoch is wrong somewhere: its errors are kept
    lessons = [json.loads(x)["messages"][0]["content"] for x in (folder / "teacher_rows.jsonl").read_text().splitlines()]
    assert len(lessons) == 24 and not set(lessons) & set(curated)  # never taught the instructions it answers


def test_it_is_built_once_and_read_back_the_same(small_pool, monkeypatch):
    first = taught.load_taught_source("bullets", seed=0, recipe=SMALL)

    def no_build(*args, **kwargs):
        raise AssertionError("rebuilt a cached taught source")

    monkeypatch.setattr(taught, "_build", no_build)
    again = taught.load_taught_source("bullets", seed=0, recipe=SMALL)
    assert [(ex.prompt, ex.response) for ex in again.examples] == [(ex.prompt, ex.response) for ex in first.examples]
    assert again.sha256 == first.sha256


def test_the_variant_reaches_it_through_a_world_source(small_pool, monkeypatch):
    monkeypatch.setattr(taught, "TeacherRecipe", lambda: SMALL)
    src = load_world_source("bullets:taught")
    assert src.name == "bullets:taught" and len(src.examples) <= 16
