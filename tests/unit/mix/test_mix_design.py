"""Designs expand a base spec into the mixtures a study compares; labels come from aliases."""

from __future__ import annotations

import itertools
import json
import math
from math import comb

import pytest

from mixlab.errors import SpecError
from mixlab.mix.build import build_mixture
from mixlab.mix.design import (
    dirichlet,
    geometric_sizes,
    leave_one_out,
    scale_one,
    simplex_grid,
    subsets,
    volume_ladder,
)
from mixlab.mix.spec import MixtureSpec


def base(amounts=({"fraction": 1.0}, {"fraction": 1.0}, {"count": 6}), total=None, data_dir=None) -> MixtureSpec:
    names = [("a", "A"), ("b", "C"), ("c", "P")]
    d = {"sources": [{"name": n, "alias": al, "path": f"{n}.json", **amt} for (n, al), amt in zip(names, amounts, strict=False)]}
    if total:
        d["total"] = total
    if data_dir is not None:
        d["base_dir"] = str(data_dir)
    return MixtureSpec.model_validate(d)


def test_subsets_are_the_eight_arms_of_the_instruction_mixture_paper():
    points = subsets(base())
    assert [p.label for p in points] == ["none", "A", "C", "P", "A+C", "A+P", "C+P", "A+C+P"]
    assert points[0].spec.sources == ()
    arm = dict(points)["A+P"]  # points unpack as (label, spec)
    assert [(s.name, s.amount) for s in arm.sources] == [("a", ("fraction", 1.0)), ("c", ("count", 6))]
    assert [p.label for p in subsets(base(), sizes=[2])] == ["A+C", "A+P", "C+P"]


def test_subsets_of_share_sources_keep_shares_summing_to_one():
    spec = base(({"share": 0.5}, {"share": 0.25}, {"share": 0.25}), total=100)
    for p in subsets(spec)[1:]:
        assert math.isclose(sum(s.share for s in p.spec.sources), 1.0)
    assert [s.share for s in dict(subsets(spec))["A+C"].sources] == pytest.approx([2 / 3, 1 / 3])


def test_simplex_grid_has_every_point_and_shares_sum_to_one():
    spec = base(({"share": 0.5}, {"share": 0.25}, {"share": 0.25}), total=100)
    points = simplex_grid(spec, 4)
    assert len(points) == comb(4 + 2, 2) == 15
    assert points[0].label == "A100" and "A25+C25+P50" in [p.label for p in points]
    for p in points:
        assert math.isclose(sum(p.coords["shares"].values()), 1.0)
        assert all(s.share > 0 for s in p.spec.sources) and p.spec.total == 100
    with pytest.raises(SpecError, match="total: needed"):
        simplex_grid(base(), 4)


def test_leave_one_out():
    assert [(p.label, p.coords["left_out"]) for p in leave_one_out(base())] == [
        ("A+C+P", None), ("C+P", "A"), ("A+P", "C"), ("A+C", "P")]


def test_scale_one_scales_one_amount_and_keeps_the_others():
    points = scale_one(base(), "P", (0, 0.5, 2))
    assert [p.label for p in points] == ["A+C", "A+C+Px0.5", "A+C+Px2"]
    assert [s.amount for s in points[2].spec.sources] == [("fraction", 1.0), ("fraction", 1.0), ("count", 12)]
    frac = scale_one(base(({"fraction": 0.5}, {"fraction": 1.0}, {"count": 6})), "A", (4,))[0]
    assert frac.spec.sources[0].amount == ("epochs", 2.0)  # past the whole source: explicit repeats


def test_scale_one_turns_shares_into_counts_first():
    spec = base(({"share": 0.5}, {"share": 0.25}, {"share": 0.25}), total=100)
    p = scale_one(spec, "a", (2,))[0]
    assert [s.amount for s in p.spec.sources] == [("count", 100), ("count", 25), ("count", 25)]


def test_geometric_sizes_grow_by_four():
    assert geometric_sizes(10, 4, steps=6) == [10, 40, 160, 640, 2560, 10240]
    assert geometric_sizes(10, 4, stop=10_000) == [10, 40, 160, 640, 2560]


def test_volume_ladder_builds_nested_mixtures(tmp_path, data_dir):
    spec = base(({"count": 2}, {"count": 1}, {"count": 1}), data_dir=data_dir)
    points = volume_ladder(spec, sizes=[4, 8, 16, 32])
    assert [p.label for p in points] == ["A+C+P@4", "A+C+P@8", "A+C+P@16", "A+C+P@32"]
    rows = []
    for p in points:
        m = build_mixture(p.spec, tmp_path / p.label, verbose=False)
        assert m["total_rows"] == p.coords["n"]
        rows.append({json.loads(x)["id"] for x in (tmp_path / p.label / "train.jsonl").read_text().splitlines()})
    assert all(small < large for small, large in itertools.pairwise(rows))
    assert [s["selected"] for s in m["sources"]] == [16, 8, 8]  # proportions 2:1:1 kept


def test_volume_ladder_per_source_and_bad_amounts():
    points = volume_ladder(base(), sizes=[10, 40], per_source=True)
    assert [s.amount for s in points[1].spec.sources] == [("count", 40)] * 3
    with pytest.raises(SpecError, match="keeps proportions given as share or count"):
        volume_ladder(base(), sizes=[10])


def test_dirichlet_is_seeded_and_on_the_simplex():
    spec = base(total=500)
    a, b, c = dirichlet(spec, 5, seed=3), dirichlet(spec, 5, seed=3), dirichlet(spec, 5, seed=4)
    assert [p.label for p in a] == ["dir00", "dir01", "dir02", "dir03", "dir04"]
    assert [p.coords for p in a] == [p.coords for p in b] and [p.coords for p in a] != [p.coords for p in c]
    for p in a:
        assert math.isclose(sum(s.share for s in p.spec.sources), 1.0) and p.spec.total == 500
    with pytest.raises(SpecError, match="alpha"):
        dirichlet(spec, 2, alpha=[1.0, 2.0])


def test_one_registry_names_the_designs_for_the_cli_the_study_spec_and_the_docs(repo_root):
    import re

    from mixlab.mix.cli import DESIGN_HELP
    from mixlab.mix.design import DESIGNS, get_design
    from mixlab.study.spec import StudySpec

    names = DESIGNS.names()
    assert set(names) == {"subsets", "simplex", "leave_one_out", "scale_one", "ladder", "dirichlet", "single"}
    help_rows = dict(re.findall(r"^  (\w+) +(.+)$", DESIGN_HELP, re.M))
    assert help_rows == {n: get_design(n).summary for n in names}
    docs = (repo_root / "docs" / "mixtures.md").read_text(encoding="utf-8")
    table = docs[docs.index("| design | function |"):docs.index("One registry, `mixlab.mix.design.DESIGNS`")]
    assert sorted(re.findall(r"^\| `(\w+)` \| `", table, re.M)) == names
    study_doc = (repo_root / "docs" / "study.md").read_text(encoding="utf-8")
    listed = re.search(r"^design: subsets +# (.+)$", study_doc, re.M).group(1)  # type: ignore[union-attr]
    assert sorted(listed.split(" | ")) == names
    sources = [{"name": "a", "alias": "A", "world": "chat", "count": 4},
               {"name": "b", "alias": "B", "world": "code", "count": 4}]
    for name in names:
        opts = {"source": "A"} if name == "scale_one" else {}
        spec = StudySpec.model_validate({"name": "s", "model": "world", "mixture": {"sources": sources, "total": 8},
                                         "design": name.replace("_", "-"), "design_options": opts})
        assert spec.design == name  # one spelling, whichever the YAML used


def test_a_study_reports_design_options_the_design_does_not_read():
    from mixlab.study.spec import StudySpec

    with pytest.raises(SpecError, match=r"design_options: stepz not read by the simplex design; it reads steps, total"):
        StudySpec.from_dict({"name": "s", "model": "world", "design": "simplex", "design_options": {"stepz": 2},
                             "mixture": {"total": 8, "sources": [{"name": "a", "world": "chat", "share": 1.0}]}})


def test_a_ladder_study_scales_the_whole_mixture_to_each_volume():
    from mixlab.study.spec import StudySpec, expand

    spec = StudySpec.from_dict({"name": "s", "model": "world", "design": "ladder", "volumes": [10, 40],
                                "mixture": {"sources": [{"name": "a", "alias": "A", "world": "chat", "count": 1},
                                                        {"name": "b", "alias": "B", "world": "code", "count": 3}]}})
    runs = [r for r in expand(spec) if r.mixture is not None]
    assert [r.run_id for r in runs] == ["mix=A+B@10,n=10,seed=0", "mix=A+B@40,n=40,seed=0"]
    assert [s.share for s in runs[1].mixture.sources] == [0.25, 0.75] and runs[1].mixture.total == 40
