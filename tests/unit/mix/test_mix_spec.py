"""The mixture spec: parsed as written, every problem reported at once, paths resolved against the file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from mixlab.errors import SpecError
from mixlab.mix.spec import MixtureSpec, SourceSpec
from spec_examples import ISSUE_SPEC


def problems(d: dict) -> list[str]:
    with pytest.raises(SpecError) as info:
        MixtureSpec.model_validate(d)
    return info.value.problems


def test_issue_spec_parses_as_written(tmp_path: Path):
    (tmp_path / "spec.yaml").write_text(ISSUE_SPEC)
    spec = MixtureSpec.from_yaml(tmp_path / "spec.yaml")
    assert spec.seed == 0 and spec.total == 2000
    assert [(s.name, s.amount, s.format) for s in spec.sources] == [
        ("chat", ("count", 300), "auto"), ("code", ("fraction", 0.1), "auto")]
    assert spec.resolve_path(spec.sources[0]) == tmp_path / "../shared/data/alpaca_en_demo_1k/alpaca_en_demo.json.gz"


def test_all_problems_reported_at_once_with_field_value_and_fix():
    found = problems({
        "seed": -1,
        "sources": [
            {"name": "a", "path": "a.json", "hf": "x/y", "count": 1.0, "frac": 0.2},
            {"name": "a", "path": "b.json", "fraction": 1.5},
            {"name": "c", "world": "chat", "share": 0.5},
            {"name": "d", "path": "d.json"},
        ],
    })
    text = "\n".join(found)
    assert len(found) == 8, text
    assert "seed: -1" in text
    assert "sources[0]: needs exactly one origin of path, hf, world (got path, hf)" in text
    assert "sources[0].count: 1.0 is not a whole number of rows; use count: 1 for one row, or fraction" in text
    assert "sources[0].frac: unknown key; did you mean 'fraction'?" in text
    assert "sources[1].name: 'a' is used twice" in text
    assert "sources[1].fraction: 1.5 is outside (0, 1]" in text and "use epochs" in text
    assert "total: needed because a source uses share" in text
    assert "sources[3]: needs exactly one amount of count, fraction, share, tokens, epochs (got none)" in text


@pytest.mark.parametrize("amount, message", [
    ({"count": 2.5}, "not a whole number of rows"),
    ({"count": True}, "not a whole number of rows >= 0"),
    ({"count": -3}, "not a whole number of rows >= 0"),
    ({"fraction": 0}, "outside (0, 1]"),
    ({"epochs": 0}, "not > 0 passes"),
    ({"tokens": 12.5}, "not a whole number of trainable tokens"),
    ({"count": 3, "epochs": 2}, "needs exactly one amount"),
])
def test_amount_values_checked(amount, message):
    found = problems({"sources": [{"name": "a", "path": "a.json", **amount}]})
    assert any(message in p for p in found), found


def test_shares_must_sum_to_one_when_every_source_uses_share():
    found = problems({"total": 100, "sources": [
        {"name": "a", "path": "a.json", "share": 0.5}, {"name": "b", "path": "b.json", "share": 0.3}]})
    assert found == ["sources[*].share: the shares sum to 0.8; when every source uses share they must sum to 1"]


def test_shares_mixed_with_other_keys_may_not_exceed_one():
    ok = MixtureSpec.model_validate({"total": 100, "sources": [
        {"name": "a", "path": "a.json", "share": 0.5}, {"name": "b", "path": "b.json", "count": 7}]})
    assert ok.sources[0].share == 0.5
    found = problems({"total": 100, "sources": [
        {"name": "a", "path": "a.json", "share": 0.7}, {"name": "b", "path": "b.json", "share": 0.6},
        {"name": "c", "path": "c.json", "count": 1}]})
    assert found == ["sources[*].share: the shares sum to 1.3 > 1; shares are parts of one mixture"]


def test_unknown_format_suggests_the_close_name():
    found = problems({"sources": [{"name": "a", "path": "a.json", "format": "sharegtp", "count": 1}]})
    assert len(found) == 1 and "did you mean 'sharegpt'" in found[0]


def test_split_only_for_hf_and_upsample_not_with_epochs():
    found = problems({"sources": [{"name": "a", "path": "a.json", "split": "test", "epochs": 2, "upsample": True}]})
    assert sorted(found) == sorted([
        "sources[0].split: only an hf source has a split",
        "sources[0].upsample: epochs repeat rows already; drop upsample",
    ])


def test_hf_and_world_sources_and_dedup_shorthand():
    spec = MixtureSpec.model_validate({"dedup": "exact", "sources": [
        {"name": "h", "hf": "owner/data", "split": "test", "subset": "en", "count": 5},
        {"name": "w", "world": "chat", "epochs": 1.5}]})
    assert spec.sources[0].origin == ("hf", "owner/data") and spec.sources[0].split == "test"
    assert spec.sources[1].origin == ("world", "chat") and spec.sources[1].amount == ("epochs", 1.5)
    assert spec.dedup.mode == "exact" and spec.dedup.across_sources is True


def test_spec_is_frozen():
    spec = MixtureSpec.model_validate({"sources": [{"name": "a", "path": "a.json", "count": 1}]})
    with pytest.raises(ValidationError):
        spec.seed = 3  # type: ignore[misc]


def test_yaml_round_trip_rewrites_relative_paths(tmp_path: Path):
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "m.yaml").write_text(
        "seed: 4\nsources:\n  - {name: a, path: ../data/a.json, count: 3, alias: A}\n")
    spec = MixtureSpec.from_yaml(tmp_path / "specs" / "m.yaml")
    out = spec.to_yaml(tmp_path / "deeper" / "more" / "copy.yaml")
    raw = yaml.safe_load(out.read_text())
    assert raw["sources"][0]["path"] == "../../data/a.json"
    again = MixtureSpec.from_yaml(out)
    assert again.resolve_path(again.sources[0]).resolve() == (tmp_path / "data" / "a.json").resolve()
    assert again.spec_hash() != spec.spec_hash()  # the path as written differs
    assert again.seed == 4 and again.sources[0].alias == "A"


def test_replace_and_with_amount_revalidate():
    spec = MixtureSpec.model_validate({"sources": [{"name": "a", "path": "a.json", "count": 3}]})
    changed = spec.replace(sources=[spec.sources[0].with_amount("fraction", 0.5)], seed=9)
    assert changed.seed == 9 and changed.sources[0].amount == ("fraction", 0.5)
    with pytest.raises(SpecError):
        spec.replace(sources=[spec.sources[0].with_amount("fraction", 2.0)])


def test_source_spec_label_defaults_to_name():
    assert SourceSpec(name="code", path="c.json", count=1).label == "code"
    assert SourceSpec(name="code", path="c.json", count=1, alias="C").label == "C"


def test_a_source_spec_built_alone_is_checked_too():
    with pytest.raises(SpecError, match="needs exactly one amount"):
        SourceSpec(name="a", path="a.json")


def test_package_exports_load_lazily():
    import mixlab.mix as mix

    assert mix.MixtureSpec is MixtureSpec and callable(mix.build_mixture) and callable(mix.design.subsets)
