"""Every shipped mixture config builds on the real data, with the composition its comments promise."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mixlab.cli import main
from mixlab.mix.build import build_mixture
from mixlab.mix.spec import MixtureSpec

pytestmark = pytest.mark.integration

CONFIGS = Path(__file__).resolve().parents[3] / "configs" / "mixtures"

#: config -> (source, available, selected) per source, as the config's comments state them
EXPECTED = {
    "paper1_acp.yaml": [("alpaca", 985, 985), ("code", 2015, 999), ("p3", 52632, 999)],
    "shares_decontaminated.yaml": [("sharegpt", 2915, 1000), ("alpaca", 984, 500), ("code", 2001, 500)],
    "token_budget.yaml": [("alpaca", 999, None), ("code", 2015, 3023)],
    "world_chat.yaml": [("chat", 3000, 400)],
}


def test_every_shipped_config_is_covered():
    assert sorted(p.name for p in CONFIGS.glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shipped_config_builds(name, tmp_path, shared_data, smollm2_tokenizer):
    spec = MixtureSpec.from_yaml(CONFIGS / name)
    needs_tokens = any(s.tokens is not None for s in spec.sources)
    m = build_mixture(spec, tmp_path / "out", tokenizer=smollm2_tokenizer if needs_tokens else None,
                      verbose=False)
    got = [(s["name"], s["available"], s["selected"]) for s in m["sources"]]
    want = EXPECTED[name]
    assert [(n, a) for n, a, _ in got] == [(n, a) for n, a, _ in want]
    assert all(w is None or g == w for (_, _, g), (_, _, w) in zip(got, want, strict=True))
    assert m["warnings"] == []
    if needs_tokens:
        alpaca = m["sources"][0]
        assert 49_000 < alpaca["trainable_tokens"] <= 50_000 and m["max_length"] == 1024
    if name == "shares_decontaminated.yaml":
        assert m["total_rows"] == 2000
        by_eval = m["sources"][2]["dropped_decontamination_by_eval"]
        assert by_eval["../../../shared/data/humaneval/HumanEval.jsonl.gz"] == 11


def test_cli_builds_a_shipped_config_and_exports_it(tmp_path, capsys):
    out = tmp_path / "acp"
    assert main(["mix", "build", str(CONFIGS / "paper1_acp.yaml"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "2983 rows (seed 0)" in printed
    assert main(["mix", "export", str(out), "--to", "llamafactory", "--out", str(tmp_path / "lf")]) == 0
    data = json.loads((tmp_path / "lf" / "mixture.json").read_text())
    assert len(data) == 2983
    assert main(["mix", "design", "subsets", str(CONFIGS / "paper1_acp.yaml"), "--out", str(tmp_path / "arms")]) == 0
    assert len(list((tmp_path / "arms").glob("*.yaml"))) == 8
