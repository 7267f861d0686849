"""Table, effects and report on synthetic results with known effects."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from mixlab.analysis.effects import (
    EFFECT_COLUMNS,
    all_effects,
    compare_arms,
    describe,
    headline_cross_effects,
    own_gains,
    source_effect,
)
from mixlab.analysis.report import build_report
from mixlab.analysis.scores import StudyScores
from mixlab.analysis.simulate import Noise, simulate, true_scores
from mixlab.analysis.table import format_table, mixture_table
from mixlab.study.store import write_items, write_results, write_sources

TYPES = {"A": "chat", "C": "code", "P": "nlp"}


def test_table_orders_base_first_and_marks_the_best(synthetic):
    t = mixture_table(synthetic(), 40)
    assert t.mixtures == ["none", "A", "C", "P", "A+C", "A+P", "C+P", "A+C+P"]
    assert t.columns[-4:] == ["nlp avg", "code avg", "chat avg", "avg"]
    assert t.best["code_x"] in {"C", "A+C", "C+P", "A+C+P"}
    assert t.cell("A", "chat_x").mean == pytest.approx(0.6, abs=0.02)
    assert t.cell("A", "chat_x").n_seeds == 3
    text = format_table(t)
    assert text.splitlines()[2].startswith("none")
    assert "±" in format_table(t, spread=True).splitlines()[3]


def test_every_tie_for_the_best_is_marked_at_the_printed_precision(synthetic):
    exact = mixture_table(synthetic(noise=0.0), 40)  # every arm with C scores code_x = 0.6 exactly
    code_rows = {"C", "A+C", "C+P", "A+C+P"}
    assert {m for m in exact.mixtures if exact.is_best(m, "code_x")} == code_rows
    starred = {line.split()[0] for line in format_table(exact).splitlines()[2:]
               if line.split()[1 + exact.columns.index("code_x")].endswith("*")}
    assert starred == code_rows
    noisy = mixture_table(synthetic(noise=0.01), 40)  # seed noise splits the tie at 3 decimals, not at 1
    assert len({m for m in noisy.mixtures if noisy.is_best(m, "code_x")}) < 4
    assert {m for m in noisy.mixtures if noisy.is_best(m, "code_x", digits=1)} == code_rows


def _with_judge(rows: list[dict]) -> list[dict]:
    """Add a 1-10 judge-rated chat ability: 3 for the base, 9 for every arm with A."""
    out = list(rows)
    for r in {r["run_id"]: r for r in rows}.values():
        v = 9.0 if "A" in r["mixture"].split("+") else 3.0
        out.append({**r, "ability": "judged", "task": "mt", "metric": "score", "value": v, "scale_min": 1.0,
                    "scale_max": 10.0, "instruction_type": "chat"})
    return out


def test_metrics_on_different_scales_are_never_averaged_raw(synthetic):
    t = mixture_table(_with_judge(synthetic(noise=0.0)), 40)
    assert t.cell("A", "judged").mean == 9.0  # the ability keeps its own scale
    # chat avg = mean of chat_x (0.6) and judged on 0-1 ((9 - 1) / 9), not of 0.6 and 9
    assert t.cell("A", "chat avg").mean == pytest.approx((0.6 + 8 / 9) / 2)
    assert t.scales == {"judged": (1.0, 10.0)}
    assert all(0 <= t.cell(m, "avg").mean <= 1 for m in t.mixtures)


def test_effects_recover_the_planted_direct_and_cross_type_effects(synthetic):
    scores = StudyScores(synthetic())
    effects = {(e.source, e.target, e.n_train): e for e in all_effects(scores, ["A", "C", "P"], TYPES)}
    e = effects[("C", "code_x", 40)]
    assert e.effect == pytest.approx(0.5, abs=0.02) and e.n_pairs == 4 and e.n_seeds == 3
    assert e.verdict == "direct" and e.level == "runs" and e.estimate.df == 2
    hurt = effects[("P", "chat_x", 40)]
    assert hurt.effect == pytest.approx(-0.2, abs=0.02) and hurt.verdict == "interference"
    none = effects[("C", "nlp_x", 40)]
    assert abs(none.effect) < 0.03 and none.verdict == "no clear effect"
    lo, hi = none.ci
    assert lo < 0 < hi


def test_verdicts_follow_the_adjusted_test_not_the_raw_interval(synthetic):
    effects = all_effects(StudyScores(synthetic(noise=0.03)), ["A", "C", "P"], TYPES)
    for e in effects:
        assert e.q_value >= e.p_value
        assert e.clear == (e.q_value <= 0.05)


def test_one_seed_prints_no_interval(synthetic):
    rows = [r for r in synthetic() if r["seed"] == 0]
    e = source_effect(StudyScores(rows), "C", "code_x", 40, "code")
    assert not e.estimate.estimable and e.verdict == "no clear effect"
    assert "1 seed: no interval for training noise" in describe(e, TYPES)


def test_headline_picks_the_clear_cross_type_effect_and_says_it_in_words(synthetic):
    effects = all_effects(StudyScores(synthetic()), ["A", "C", "P"], TYPES)
    top = headline_cross_effects(effects, TYPES, k=1)[0]
    assert (top.source, top.target) == ("P", "chat avg")
    sentence = describe(top, TYPES)
    assert sentence.startswith("Adding P (nlp) data lowers chat avg by -0.")
    assert abs(top.effect + 0.2) < 0.02
    assert "95% CI" in sentence and "q " in sentence and sentence.endswith("interference.")


def test_own_gains_are_paired_tests_against_the_base(synthetic):
    gains = own_gains(StudyScores(synthetic()), TYPES)
    assert len(gains) == 6  # 3 sources x 2 volumes
    assert all(g.clear and g.p_improvement == 1.0 for g in gains)
    flat = own_gains(StudyScores(synthetic(noise=0.5)), TYPES)
    assert not all(g.clear for g in flat)


def test_item_level_inference_is_paired_and_clustered():
    rng = np.random.default_rng(0)
    truth = true_scores({"C": {"code_x": 0.3}})
    rows, items = simulate(rng, truth, 3, Noise(binary=True))
    scores = StudyScores(rows, items)
    e = source_effect(scores, "C", "code_x", 100, "code")
    assert e.level == "items" and e.estimate.n_clusters == 30 and e.n_pairs == 4
    assert e.effect == pytest.approx(0.3, abs=0.08)
    runs_only = source_effect(StudyScores(rows), "C", "code_x", 100, "code")
    assert runs_only.effect == pytest.approx(e.effect) and runs_only.level == "runs"
    cmp = compare_arms(scores, "C", "none", "code avg", 100)
    assert cmp.estimate.value > 0.1 and 0 <= cmp.p_improvement <= 1


def test_report_and_effects_csv(tmp_path):
    rng = np.random.default_rng(1)
    rows, items = simulate(rng, true_scores({"C": {"code_x": 0.3}, "P": {"chat_x": -0.2, "nlp_x": 0.3},
                                             "A": {"chat_x": 0.3}}), 3, Noise(binary=True))
    write_results(tmp_path, rows)
    write_items(tmp_path, items)
    write_sources(tmp_path, [{"alias": k, "name": k, "instruction_type": v} for k, v in TYPES.items()])
    path = build_report(tmp_path, title="synthetic")
    doc = path.read_text()
    assert doc.count("<table>") >= 4
    assert doc.count('src="data:image/png;base64,') >= 1
    assert "Benjamini-Hochberg" in doc and "P(improvement)" in doc and "detects effects &gt;=" in doc
    assert "<td class=\"best" in doc
    assert "http://" not in doc and "https://" not in doc  # opens anywhere, offline
    with open(tmp_path / "effects.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert list(table[0]) == EFFECT_COLUMNS
    assert {r["verdict"] for r in table} <= {"direct", "transfer", "interference", "no clear effect"}
    assert len(table) == 3 * (3 + 3 + 1)  # sources x (abilities + type averages + avg) at one volume
    direct = next(r for r in table if r["source"] == "C" and r["target"] == "code avg")
    assert direct["verdict"] == "direct" and float(direct["ci_low"]) > 0 and direct["level"] == "items"
    assert all(math.isfinite(float(r["q_value"])) for r in table)


def test_no_variation_is_said_in_words_not_as_a_zero_width_interval_or_perfect_power(synthetic):
    from mixlab.analysis.effects import detectable_line

    rows = synthetic(noise=0.0)
    for r in rows:  # every run scores the same on code_x: no difference and no variation anywhere
        if r["ability"] == "code_x":
            r["value"] = 0.25
    effects = all_effects(StudyScores(rows), ["A", "C", "P"], TYPES)
    flat = next(e for e in effects if e.source == "C" and e.target == "code_x")
    assert "changes code_x by +0.000" in describe(flat, TYPES) and "no variation, no interval" in describe(flat, TYPES)
    assert detectable_line(effects, "code avg") in (None, "code avg: no variation between seeds or items, "
                                                             "power not estimable")
