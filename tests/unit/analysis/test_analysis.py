"""Table, effects and report on synthetic results with known effects."""

from __future__ import annotations

import pytest

from mixlab.analysis.effects import all_effects, describe, headline_cross_effects, own_gains, source_effect
from mixlab.analysis.report import build_report
from mixlab.analysis.table import format_table, mixture_table
from mixlab.study.store import write_results, write_sources

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


def test_effects_recover_the_planted_direct_and_cross_type_effects(synthetic):
    rows = synthetic()
    e = source_effect(rows, "C", "code_x", 40)
    assert e.effect == pytest.approx(0.5, abs=0.02) and e.n_pairs == 4 and e.n_seeds == 3
    hurt = source_effect(rows, "P", "chat_x", 40)
    assert hurt.effect == pytest.approx(-0.2, abs=0.02) and hurt.verdict == "interference"
    none = source_effect(rows, "C", "nlp_x", 40)
    assert abs(none.effect) < 0.03 and none.verdict == "no clear effect"
    lo, hi = none.ci
    assert lo < 0 < hi


def test_headline_picks_the_clear_cross_type_effect_and_says_it_in_words(synthetic):
    rows = synthetic()
    effects = all_effects(rows, ["A", "C", "P"], TYPES)
    top = headline_cross_effects(effects, TYPES, k=1)[0]
    assert (top.source, top.target) == ("P", "chat avg")
    sentence = describe(top, TYPES)
    assert sentence.startswith("Adding P (nlp) data lowers chat avg by -0.")
    assert abs(top.effect + 0.2) < 0.02
    assert "95% CI" in sentence and sentence.endswith("interference.")


def test_own_gains_compare_single_source_arms_with_the_seed_spread(synthetic):
    gains = own_gains(synthetic(), TYPES)
    assert len(gains) == 6  # 3 sources x 2 volumes
    assert all(g.clear for g in gains)
    flat = own_gains(synthetic(noise=0.5), TYPES)
    assert not all(g.clear for g in flat)


def test_report_is_one_self_contained_html_file(tmp_path, synthetic):
    write_results(tmp_path, synthetic())
    write_sources(tmp_path, [{"alias": k, "name": k, "instruction_type": v} for k, v in TYPES.items()])
    path = build_report(tmp_path, title="synthetic")
    doc = path.read_text()
    assert doc.count("<table>") >= 4
    assert doc.count('src="data:image/png;base64,') >= 1
    assert "interference" in doc and "Adding P (nlp) data lowers chat avg" in doc
    assert "<td class=\"best" in doc
    assert "http://" not in doc and "https://" not in doc  # opens anywhere, offline
