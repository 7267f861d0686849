"""Analysis of a study with an axis: blocks per axis value, effects within each value, the axis's own effect."""

from __future__ import annotations

import csv
import itertools

import numpy as np
import pytest

from mixlab.analysis.effects import axis_effect, describe, study_effects
from mixlab.analysis.report import build_report
from mixlab.analysis.scores import StudyScores
from mixlab.analysis.table import mixture_table
from mixlab.study.store import read_items, read_results, write_items, write_results, write_sources

TYPES = {"A": "chat", "C": "code", "P": "nlp"}
ABILITIES = {"chat_x": "chat", "code_x": "code", "nlp_x": "nlp"}
LR_CODE = -0.2  # lr=0.001 lowers code_x by 0.2 against the reference lr=0.003; nothing else


def axis_study(seeds: int = 3, items: int = 40) -> tuple[list[dict], list[dict]]:
    """Results and item rows of the 7 subsets of A, C, P at n=40 x 2 lr values x ``seeds`` seeds and one
    shared base row: each source adds 0.4 to its own type, lr=0.001 adds ``LR_CODE`` to code_x. Items
    carry fixed per-item noise (the same items in every run) and small per-run noise."""
    rng = np.random.default_rng(0)
    item_noise = {ab: (x := rng.normal(0, 0.1, items)) - x.mean() for ab in ABILITIES}  # centred: means are exact
    rows: list[dict] = []
    item_rows: list[dict] = []

    def add(mix: str, n: int, seed: int, lr: str, parts: tuple[str, ...]) -> None:
        run = f"mix={mix}" + (f",n={n},seed={seed},lr={lr}" if mix != "none" else "")
        shift = rng.normal(0, 0.01) if mix != "none" else 0.0
        for ab, kind in ABILITIES.items():
            mean = 0.1 + sum(0.4 for p in parts if TYPES[p] == kind) + (LR_CODE if lr == "0.001" and ab == "code_x"
                                                                       else 0.0)
            values = mean + shift + item_noise[ab] + rng.normal(0, 0.02, items)
            base = {"run_id": run, "mixture": mix, "n_train": n, "seed": seed, "lr": lr}
            rows.append({**base, "model": "m", "instruction_type": kind, "ability": ab, "task": ab, "metric": "acc",
                         "value": float(values.mean()), "stderr": 0.01, "n_items": items, "primary": True,
                         "chance": 0.0, "template": "t"})
            item_rows.extend([{**base, "task": ab, "ability": ab, "instruction_type": kind, "metric": "acc",
                           "item": f"{ab}-{i}", "cluster": f"c{i // 2}", "value": float(v)}
                              for i, v in enumerate(values)])

    add("none", 0, 0, "", ())  # the base is not trained: one row shared by both lr values
    for lr, seed in itertools.product(("0.003", "0.001"), range(seeds)):
        for k in (1, 2, 3):
            for parts in itertools.combinations("ACP", k):
                add("+".join(parts), 40, seed, lr, parts)
    return rows, item_rows


@pytest.fixture
def axis_dir(tmp_path):
    rows, items = axis_study()
    write_results(tmp_path, rows, ["lr"])
    write_items(tmp_path, items, ["lr"])
    write_sources(tmp_path, [{"alias": k, "name": k, "instruction_type": v} for k, v in TYPES.items()])
    return tmp_path


def test_scores_know_the_axis_its_values_and_the_shared_base(axis_dir):
    s = StudyScores(read_results(axis_dir), read_items(axis_dir))
    assert s.axes == ["lr"] and s.axis_levels("lr") == ["0.003", "0.001"]
    assert s.axis_values["mix=none"] == {"lr": ""} and s.axis_values["mix=C,n=40,seed=1,lr=0.001"] == {"lr": "0.001"}
    assert s.axis_combinations() == [{"lr": "0.003"}, {"lr": "0.001"}]
    assert s.run_where("C", 40, 1, {"lr": "0.001"}) == "mix=C,n=40,seed=1,lr=0.001"
    assert s.run_where("none", 40, 1, {"lr": "0.001"}) == "mix=none"
    low = s.where({"lr": "0.001"})
    assert low.axes == [] and len(low.coords) == 1 + 7 * 3 and low.base_run == "mix=none"


def test_the_table_has_one_block_per_axis_value(axis_dir):
    s = StudyScores(read_results(axis_dir), read_items(axis_dir))
    ref, low = (mixture_table(s.where({"lr": v}), 40) for v in ("0.003", "0.001"))
    assert ref.mixtures == low.mixtures == ["none", "A", "C", "P", "A+C", "A+P", "C+P", "A+C+P"]
    assert ref.cell("C", "code_x").mean == pytest.approx(0.5, abs=0.03)
    assert low.cell("C", "code_x").mean == pytest.approx(0.5 + LR_CODE, abs=0.03)
    assert ref.cell("none", "code_x").mean == low.cell("none", "code_x").mean  # the shared base row


def test_the_axis_effect_is_paired_and_found_where_planted(axis_dir):
    s = StudyScores(read_results(axis_dir), read_items(axis_dir))
    code = axis_effect(s, "lr", "0.001", "code_x", 40)
    assert code.source == "lr=0.001 vs lr=0.003" and code.axis == "lr"
    assert code.n_pairs == 7 and code.n_seeds == 3 and code.level == "items"  # paired over items and seeds
    assert code.effect == pytest.approx(LR_CODE, abs=0.02)
    lo, hi = code.ci
    assert lo < LR_CODE < hi and hi < 0
    chat = axis_effect(s, "lr", "0.001", "chat_x", 40)
    assert chat.effect == pytest.approx(0.0, abs=0.02) and chat.ci[0] < 0 < chat.ci[1]


def test_study_effects_per_axis_value_and_the_axis_in_one_family(axis_dir):
    s = StudyScores(read_results(axis_dir), read_items(axis_dir))
    found = study_effects(s, TYPES)
    axis = {e.target: e for e in found.effects if e.axis == "lr"}
    assert set(axis) == {"chat_x", "code_x", "nlp_x", "nlp avg", "code avg", "chat avg", "avg"}
    assert axis["code_x"].verdict == "loss" and axis["chat_x"].verdict == "no clear effect"
    assert "Setting lr=0.001 (against lr=0.003) lowers code_x by -0.2" in describe(axis["code_x"])
    by_slice = {(e.slice, e.source): e for e in found.effects if not e.axis and e.target == "code_x"}
    assert {sl for sl, _ in by_slice} == {"lr=0.003", "lr=0.001"}
    # C's effect on code within each lr value, paired within it; at lr=0.001 the pair none -> C also carries
    # the lr penalty (the shared base was not trained at any lr): (0.2 + 3 x 0.4) / 4
    for sl, want in (("lr=0.003", 0.4), ("lr=0.001", 0.35)):
        assert by_slice[(sl, "C")].effect == pytest.approx(want, abs=0.02)
        assert by_slice[(sl, "C")].verdict == "direct" and by_slice[(sl, "C")].n_pairs == 4
    assert {g.slice for g in found.gains} == {"lr=0.003", "lr=0.001"}
    q = [e.q_value for e in found.effects]  # one Benjamini-Hochberg family over source and axis effects
    assert all(0 <= x <= 1 for x in q) and len(found.effects) == 2 * 3 * 7 + 7


def test_report_and_effects_csv_carry_the_axis(axis_dir):
    html = build_report(axis_dir).read_text()
    assert "lr=0.003; n = 40 rows per source" in html and "lr=0.001; n = 40 rows per source" in html
    assert "Effects of the axes" in html and "Setting lr=0.001 (against lr=0.003)" in html
    with open(axis_dir / "effects.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    axis = [r for r in rows if r["axis"] == "lr"]
    assert len(axis) == 7 and all(r["source"] == "lr=0.001 vs lr=0.003" and r["slice"] == "" for r in axis)
    assert {r["slice"] for r in rows if not r["axis"]} == {"lr=0.003", "lr=0.001"}


def test_a_store_written_before_axes_reads_as_a_study_without_axes(synthetic_study):
    rows = read_results(synthetic_study)
    assert "lr" not in rows[0]
    s = StudyScores(rows)
    assert s.axes == [] and s.axis_combinations() == [{}] and s.where({}).coords == s.coords
    effects = study_effects(s, TYPES).effects
    assert effects and all(e.axis == "" and e.slice == "" for e in effects)
