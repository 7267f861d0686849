"""Transfer matrix and growth pace: right on known studies, and the pace's interval covers the truth."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mixlab.analysis.dynamics import (
    construction_comparisons,
    format_construction,
    format_paces,
    format_transfer,
    growth_pace,
    ladder_weights,
    own_paces,
    transfer_csv,
    transfer_matrix,
)
from mixlab.analysis.scores import StudyScores

ABILITIES = {"arith": "math", "logic": "logic", "story": "creative"}
VOLUMES = (25, 100, 400)


def ladder_study(rng: np.random.Generator, pace: dict[str, dict[str, float]], seeds: int, *, run_sd: float = 0.03,
                 cluster_sd: float = 0.05, clusters: int = 30, binary: bool = True) -> tuple[list[dict], list[dict]]:
    """Single-ability arms on a x4 ladder: true score = 0.2 + pace[arm][ability] * log4(n / 25), plus
    a per-run shift (training noise), item-cluster x run-condition effects shared by the seeds, and
    pass/fail items."""
    rows, items = [], []
    arms = list(pace)
    cond = {(a, n, ab): rng.normal(0, cluster_sd, clusters) for a in [*arms, "none"] for n in VOLUMES
            for ab in ABILITIES}
    runs = [("none", 0, 0)] + [(a, n, s) for s in range(seeds) for a in arms for n in VOLUMES]
    for arm, n, s in runs:
        run_id = f"mix={arm},n={n},seed={s}"
        shift = rng.normal(0, run_sd) if arm != "none" else 0.0
        for ab, kind in ABILITIES.items():
            step = math.log(n / 25, 4) if arm != "none" else 0.0
            mean = 0.2 + (pace[arm].get(ab, 0.0) * step if arm != "none" else 0.0) + shift
            p = np.clip(mean + cond[(arm if arm != "none" else "none", n or 25, ab)], 0, 1)
            values = (rng.random(clusters) < p).astype(float) if binary else p + rng.normal(0, 0.1, clusters)
            base = {"run_id": run_id, "mixture": arm, "n_train": n, "seed": s}
            rows.append({**base, "model": "m", "instruction_type": kind, "ability": ab, "task": ab, "metric": "acc",
                         "value": float(values.mean()), "stderr": 0.0, "n_items": clusters, "primary": True,
                         "chance": 0.0, "template": "t"})
            items += [{**base, "task": ab, "ability": ab, "instruction_type": kind, "metric": "acc",
                       "item": f"{ab}-{i}", "cluster": f"c{i}", "value": float(v)} for i, v in enumerate(values)]
    return rows, items


def test_ladder_weights_are_the_least_squares_slope():
    w = ladder_weights([25, 100, 400])
    assert np.allclose(w, [-0.5, 0.0, 0.5]) and abs(w.sum()) < 1e-12
    y = 0.1 + 0.07 * np.log([25, 100, 400]) / math.log(4)
    assert abs(float(w @ y) - 0.07) < 1e-12


def test_the_pace_of_a_noiseless_ladder_is_exact_and_ranked():
    rows, items = ladder_study(np.random.default_rng(0), {"arith": {"arith": 0.2}, "logic": {"logic": 0.05}}, 3,
                               run_sd=0.0, cluster_sd=0.0, binary=False)
    scores = StudyScores(rows, items)
    paces = own_paces(scores)
    assert [p.ability for p in paces] == ["arith", "logic"]
    assert abs(paces[0].estimate.value - 0.2) < 0.03 and paces[0].level == "items"
    assert "arith" in format_paces(paces) and "trained on arith" in format_paces(paces)


@pytest.mark.parametrize("seeds", [2, 3, 5])
def test_the_pace_interval_covers_the_true_pace(seeds):
    rng = np.random.default_rng(seeds)
    hits, n = 0, 400
    for _ in range(n):
        rows, items = ladder_study(rng, {"arith": {"arith": 0.1}}, seeds)
        est = growth_pace(StudyScores(rows, items), "arith", "arith").estimate
        lo, hi = est.ci()
        hits += lo <= 0.1 <= hi
    assert 0.92 <= hits / n <= 0.985, hits / n


def test_the_transfer_matrix_finds_the_diagonal_and_a_transfer_and_adjusts_for_the_family():
    pace = {"arith": {"arith": 0.25, "logic": 0.15}, "logic": {"logic": 0.25}, "story": {}}
    rows, items = ladder_study(np.random.default_rng(3), pace, 4, run_sd=0.01, clusters=80)
    cells = transfer_matrix(StudyScores(rows, items))
    assert len(cells) == 9 and {c.n_train for c in cells} == {400}
    clear = {(c.a, c.target) for c in cells if c.clear}
    assert {("arith", "arith"), ("logic", "logic"), ("arith", "logic")} <= clear
    assert not any(a == "story" for a, _ in clear)
    assert all(not math.isnan(c.q_value) and c.q_value >= c.estimate.p_value - 1e-12 for c in cells)
    text = format_transfer(cells)
    assert "trained on" in text and "*" in text
    assert transfer_csv(cells).splitlines()[0].startswith("trained_on,ability,n_train,gain")


def test_no_matrix_without_a_base_row():
    rows, items = ladder_study(np.random.default_rng(1), {"arith": {"arith": 0.1}}, 2)
    rows = [r for r in rows if r["mixture"] != "none"]
    assert transfer_matrix(StudyScores(rows, items)) == []


def test_the_report_section_and_files_per_axis_value(tmp_path, capsys):
    from mixlab.analysis.cli import print_dynamics
    from mixlab.analysis.dynamics import dynamics_html, study_dynamics, write_dynamics

    rows, items = ladder_study(np.random.default_rng(5), {"arith": {"arith": 0.2}, "logic": {"logic": 0.1}}, 2)
    for r in rows + items:  # two sizes: the same study twice, the base row per size
        r["size"] = "xs"
    rows2, items2 = ladder_study(np.random.default_rng(6), {"arith": {"arith": 0.3}, "logic": {"logic": 0.1}}, 2)
    for r in rows2 + items2:
        r["size"], r["run_id"] = "s", r["run_id"] + ",size=s"
    scores = StudyScores(rows + rows2, items + items2, axes=("size",))
    found = study_dynamics(scores)
    assert [d.label for d in found] == ["size=xs", "size=s"]
    assert all(len(d.paces) == 2 and len(d.transfer) == 6 for d in found)
    paths = write_dynamics(tmp_path, found)
    assert [p.name for p in paths] == ["pace.csv", "transfer.csv"]
    pace = (tmp_path / "pace.csv").read_text().splitlines()
    assert pace[0].startswith("slice,trained_on,target") and len(pace) == 5 and pace[1].startswith("size=xs,")
    assert len((tmp_path / "transfer.csv").read_text().splitlines()) == 13
    page = dynamics_html(found)
    assert "Growth pace per x4 data" in page and page.count("Transfer matrix") == 2 and "size=s" in page
    print_dynamics(scores, {})
    out = capsys.readouterr().out
    assert "growth pace (size=xs)" in out and "transfer (size=s)" in out


def test_generated_data_against_curated_at_every_volume(tmp_path, capsys):
    """An arm named ``<ability>_<suffix>`` is compared with the curated arm of its ability at each volume; its
    growth pace is the ability's; both land in the files, the report and the printed summary."""
    from mixlab.analysis.cli import print_dynamics
    from mixlab.analysis.dynamics import dynamics_html, study_dynamics, write_dynamics

    rows, items = ladder_study(np.random.default_rng(1), {"arith": {"arith": 0.2}, "arith_taught": {"arith": 0.05},
                                                          "logic": {"logic": 0.1}}, 3,
                               run_sd=0.0, cluster_sd=0.0, binary=False)
    scores = StudyScores(rows, items)
    cells = construction_comparisons(scores)
    assert [(c.a, c.b, c.target, c.n_train) for c in cells] == [("arith_taught", "arith", "arith", n) for n in VOLUMES]
    want = [0.0, -0.15, -0.30]  # 0.05 - 0.2 per x4 step from the same start
    assert all(abs(c.estimate.value - w) < 0.03 for c, w in zip(cells, want, strict=True))
    assert not cells[0].clear and cells[2].clear
    paces = {p.mixture: p for p in own_paces(scores)}
    assert paces["arith_taught"].ability == "arith" and abs(paces["arith_taught"].estimate.value - 0.05) < 0.03
    assert "arith_taught       - arith" in format_construction(cells)
    found = study_dynamics(scores)
    assert [p.name for p in write_dynamics(tmp_path, found)] == ["pace.csv", "transfer.csv", "construction.csv"]
    lines = (tmp_path / "construction.csv").read_text().splitlines()
    assert lines[0].startswith("slice,arm,against,ability,n_train,difference") and len(lines) == 4
    assert "Data construction: generated against curated" in dynamics_html(found)
    print_dynamics(scores, {})
    assert "data construction: each arm against the curated arm" in capsys.readouterr().out
    assert construction_comparisons(StudyScores(*ladder_study(np.random.default_rng(2), {"arith": {}}, 2))) == []


def test_a_contrast_with_no_variation_says_so_instead_of_a_zero_width_interval():
    from mixlab.analysis.dynamics import _ci_words
    from mixlab.analysis.inference import paired_estimate

    flat = paired_estimate(np.full((2, 10), 0.5))  # every seed and item moved by the same amount
    assert _ci_words(flat) == "(no variation over seeds and items: no interval)"
    assert _ci_words(paired_estimate(np.full((1, 10), 0.5))) == "(no interval: one seed)"
    assert " to " in _ci_words(paired_estimate(np.array([[0.1, 0.3], [0.2, 0.6]])))


def test_the_plan_does_not_promise_power_from_zero_variance():
    from mixlab.analysis.inference import Estimate
    from mixlab.analysis.plan import PlanRow, format_plan

    flat = Estimate(0.0, 0.0, 1.0, 2, 40)
    noisy = Estimate(0.05, 0.02, 3.0, 4, 100, seed_var=0.0012, cluster_var=0.01, resid_var=0.05)
    text = format_plan([PlanRow("code avg", 64, flat, 0.0, {1: 2, 2: 2, 4: 2}),
                        PlanRow("chat avg", 64, noisy, noisy.detectable(), {1: 5, 2: 4, 4: 3})], 0.05)
    assert "code avg" in text and "not estimable: no variation" in text
    assert "5 / 4 / 3" in text


def test_an_arm_at_one_volume_has_no_pace():
    rows, items = ladder_study(np.random.default_rng(3), {"arith": {"arith": 0.1}}, 2)
    keep = [r for r in rows if r["n_train"] in (0, 400)]
    scores = StudyScores(keep, [r for r in items if r["n_train"] in (0, 400)])
    assert own_paces(scores) == []
    assert format_paces([]) == "growth pace: no single-source arm with two or more volumes"
